/* The image loaders' common start (file_open.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_open.h"

int ocre_file_open_image(const char *path, const size_t *size, size_t *len)
{
	struct stat st;
	int fd;

	if (!path || !size) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		ocre_file_fail(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	*len = (size_t)st.st_size;
	return fd;
}

void *ocre_file_fail(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
	return NULL;
}
