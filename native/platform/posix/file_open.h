/* What the image loaders (file_mmap.c, file_read.c, file_fread.c) share:
 * opening the image and refusing what is not a non-empty regular file. */
#ifndef OCRE_POSIX_FILE_OPEN_H
#define OCRE_POSIX_FILE_OPEN_H

#include <stddef.h>

/* Open @p path read-only (close on exec) as a non-empty regular file: its fd,
 * with its size in @p len; or -1 with errno set (EINVAL for a NULL @p path or
 * @p size -- the loader caller's out-pointer, only checked here --, an empty
 * file or a file that is not regular, EISDIR for a directory, or open()'s and
 * fstat()'s own). */
int ocre_file_open_image(const char *path, const size_t *size, size_t *len);

/* Close @p fd keeping errno; returns NULL (`return ocre_file_fail(fd);`). */
void *ocre_file_fail(int fd);

#endif
