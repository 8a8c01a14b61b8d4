/* Image loader: fopen(3) + malloc + fread(3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <ocre/platform/file.h>

void *ocre_load_file(const char *path, size_t *size)
{
	struct stat st;
	char *buffer = NULL;
	FILE *f;
	int saved;

	if (!path || !size) {
		errno = EINVAL;
		return NULL;
	}
	f = fopen(path, "rbe");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0)
		goto err_close;
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto err_close;
	}
	buffer = malloc((size_t)st.st_size);
	if (!buffer)
		goto err_close;
	if (fread(buffer, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		errno = ferror(f) ? EIO : EINVAL;
		goto err_free;
	}
	fclose(f);
	*size = (size_t)st.st_size;
	return buffer;

err_free:
	saved = errno;
	free(buffer);
	errno = saved;
err_close:
	saved = errno;
	fclose(f);
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
