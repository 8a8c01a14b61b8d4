/* Image loader: private copy-on-write mmap(2) of the whole file (the default).
 * The file is opened read-only; writes (WAMR's loader) touch private copies. */
#include <sys/mman.h>
#include <unistd.h>

#include "file_open.h"

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	size_t len;
	void *buffer;
	int fd = ocre_file_open_image(path, size, &len);

	if (fd < 0)
		return NULL;
	buffer = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (buffer == MAP_FAILED)
		return ocre_file_fail(fd);
	close(fd);
	*size = len;
	return buffer;
}

int ocre_unload_file(void *buffer, size_t size)
{
	if (!buffer || !size)
		return -1;
	return munmap(buffer, size);
}
