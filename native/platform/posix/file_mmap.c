/* Image loader: private copy-on-write mmap(2) of the whole file (the default).
 * The file is opened read-only; writes (WAMR's loader) touch private copies. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	struct stat st;
	void *buffer;
	int fd;

	if (!path || !size) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto err_close;
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto err_close;
	}
	buffer = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (buffer == MAP_FAILED)
		goto err_close;
	close(fd);
	*size = (size_t)st.st_size;
	return buffer;

err_close : {
	int saved = errno;
	close(fd);
	errno = saved;
}
	return NULL;
}

int ocre_unload_file(void *buffer, size_t size)
{
	if (!buffer || !size)
		return -1;
	return munmap(buffer, size);
}
