/* Image loader: open(2) + malloc + read(2); released by file_heap.c. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "file_open.h"

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	size_t len, done = 0;
	char *buffer;
	int fd = ocre_file_open_image(path, size, &len);

	if (fd < 0)
		return NULL;
	buffer = malloc(len);
	if (!buffer)
		return ocre_file_fail(fd);
	while (done < len) {
		ssize_t n = read(fd, buffer + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = n == 0 ? EIO : errno; /* EIO: the file shrank under us */
			free(buffer);
			errno = saved;
			return ocre_file_fail(fd);
		}
		done += (size_t)n;
	}
	close(fd);
	*size = done;
	return buffer;
}
