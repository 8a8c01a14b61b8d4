/* Releasing the buffers of the loaders that read into malloc'd memory
 * (file_read.c, file_fread.c). */
#include <stdlib.h>

#include <ocre/platform/file.h>

int ocre_unload_file(void *buffer, size_t size)
{
	if (!buffer || !size)
		return -1;
	free(buffer);
	return 0;
}
