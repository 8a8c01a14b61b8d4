/**
 * @file platform/file.h
 * @brief Image loading. One implementation is compiled, chosen in CMake
 * (OCRE_FILE_LOADER): mmap (default: a private mapping of files on filesystems
 * that cannot be written at all, such as squashfs or erofs, so unmodified
 * pages stay shared with the page cache; a private copy of any other file, so
 * that nothing done to the file later reaches the loaded module), read (open +
 * malloc + read) or fread (fopen + fread). Every loader returns memory that
 * later changes to the file (truncation, rewrites in place) cannot affect.
 *
 * Buffers are writable: WAMR's loader rewrites strings in place and keeps
 * pointing into the buffer, which must live as long as the loaded module.
 */
#ifndef OCRE_PLATFORM_FILE_H
#define OCRE_PLATFORM_FILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Load the whole file at @p path into memory.
 * @param size  receives the size in bytes
 * @return the buffer, to be released with ocre_unload_file(); NULL on failure
 *         (errno set; empty files are a failure with errno EINVAL).
 */
void *ocre_load_file(const char *path, size_t *size);

/** Release a buffer from ocre_load_file(). Returns 0, or -1 on bad input. */
int ocre_unload_file(void *buffer, size_t size);

#ifdef __cplusplus
}
#endif
#endif
