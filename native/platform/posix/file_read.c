/* Image loader: open(2) + malloc + read(2). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	struct stat st;
	char *buffer = NULL;
	size_t done = 0;
	int fd, saved;

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
	buffer = malloc((size_t)st.st_size);
	if (!buffer)
		goto err_close;
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buffer + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* the file shrank under us */
			goto err_free;
		}
		done += (size_t)n;
	}
	close(fd);
	*size = done;
	return buffer;

err_free:
	saved = errno;
	free(buffer);
	errno = saved;
err_close:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

int ocre_unload_file(void *buffer, size_t size)
{
	if (!buffer || !size)
		return -1;
	free(buffer);
	return 0;
}
