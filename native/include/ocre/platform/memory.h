/**
 * @file platform/memory.h
 * @brief The allocator handed to the engine for container (application) memory.
 * On POSIX these are libc's malloc/free/realloc.
 */
#ifndef OCRE_PLATFORM_MEMORY_H
#define OCRE_PLATFORM_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *user_malloc(size_t size);
void user_free(void *ptr);
void *user_realloc(void *ptr, size_t size);

/**
 * Cap the size of any single allocation made through user_malloc/realloc on
 * the calling thread (0: no cap). The core sets it on each container thread
 * to the container's memory limit, so a guest's linear memory cannot grow
 * past it: memory.grow returns -1 and malloc in the guest returns NULL.
 */
void ocre_memory_set_thread_limit(size_t bytes);

/** The calling thread's cap (0: none). An engine whose runtime maps a linear
 * memory itself (WAMR with guard regions) applies it to that memory. */
size_t ocre_memory_get_thread_limit(void);

#ifdef __cplusplus
}
#endif
#endif
