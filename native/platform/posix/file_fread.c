/* Image loader: fdopen(3) + malloc + fread(3); released by file_heap.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "file_open.h"

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	size_t len;
	char *buffer;
	FILE *f;
	int fd = ocre_file_open_image(path, size, &len);

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "rb")))
		return ocre_file_fail(fd);
	buffer = malloc(len);
	if (buffer && fread(buffer, 1, len, f) != len) {
		errno = ferror(f) ? EIO : EINVAL; /* EINVAL: the file shrank under us */
		free(buffer);
		buffer = NULL;
	}
	if (!buffer) {
		int saved = errno;
		fclose(f);
		errno = saved;
		return NULL;
	}
	fclose(f);
	*size = len;
	return buffer;
}
