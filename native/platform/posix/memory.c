/* Container memory on POSIX: libc, with a per-thread cap on single
 * allocations (the guest's linear memory is the one that grows). */
#include <stdlib.h>

#include <ocre/platform/memory.h>

static __thread size_t thread_limit;

void ocre_memory_set_thread_limit(size_t bytes)
{
	thread_limit = bytes;
}

size_t ocre_memory_get_thread_limit(void)
{
	return thread_limit;
}

void *user_malloc(size_t size)
{
	if (thread_limit && size > thread_limit)
		return NULL;
	return malloc(size);
}

void user_free(void *ptr)
{
	free(ptr);
}

void *user_realloc(void *ptr, size_t size)
{
	if (thread_limit && size > thread_limit)
		return NULL;
	return realloc(ptr, size);
}
