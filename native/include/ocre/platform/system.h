/**
 * @file platform/system.h
 * @brief Operating-system services the core needs beyond POSIX threads:
 * scheduling of container threads and random bytes. One implementation per
 * platform (native/platform/posix/system.c on Linux).
 */
#ifndef OCRE_PLATFORM_SYSTEM_H
#define OCRE_PLATFORM_SYSTEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Lower the calling thread's scheduling priority below that of the threads
 * that start containers (normally the one running the caller's event loop),
 * as the platform's configuration says. Called once by each container
 * thread. Failure (e.g. a seccomp filter) only costs fairness: it is logged
 * at debug level, never reported.
 */
void ocre_platform_lower_thread_priority(void);

/**
 * Fill @p buf with @p size random bytes (not for keys: ids only). Never
 * fails: falls back to a clock-derived value where the OS source does.
 */
void ocre_platform_random(void *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
