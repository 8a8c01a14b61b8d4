/**
 * @file platform/system.h
 * @brief Operating-system services the core needs beyond POSIX threads:
 * scheduling of container threads and random bytes. One implementation per
 * platform (native/platform/posix/system.c on Linux).
 */
#ifndef OCRE_PLATFORM_SYSTEM_H
#define OCRE_PLATFORM_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Give the calling thread the scheduling policy the platform's configuration
 * asks for container threads (Linux: SCHED_IDLE when
 * CONFIG_OCRE_CONTAINER_SCHED_IDLE is set; SCHED_BATCH by default). Called once
 * by each container thread. Failure (e.g. a seccomp filter) only costs
 * fairness: it is logged at debug level, never reported.
 */
void ocre_platform_container_thread_init(void);

/**
 * The calling container thread is about to wait for something outside it (a
 * sleep's deadline, a timer, I/O). Where container threads start under a
 * policy whose wake-ups never preempt (Linux: SCHED_BATCH, so that the
 * thread that hands a container its run is not preempted by it), the thread
 * leaves it for the rest of its job, so that the end of the wait runs at
 * once (otherwise a woken sleeper waits for the running thread's slice: up
 * to a scheduler tick). Cheap when already done (no system call).
 */
void ocre_platform_container_thread_waits(void);

/**
 * The calling container thread finished a job: back to the policy of
 * ocre_platform_container_thread_init() if ocre_platform_container_thread_waits()
 * changed it. Cheap when it did not.
 */
void ocre_platform_container_thread_job_done(void);

/**
 * Wait on the CPU, up to @p max_us microseconds, until the pointer at @p slot
 * is no longer NULL or the bool at @p stop is true (both read with acquire
 * loads), letting any other thread that wants this CPU run first (Linux:
 * sched_yield() between checks). For a thread that expects work within
 * microseconds: it is then running when the work comes, instead of being
 * woken on a CPU that may have to be woken first.
 * @return true if @p slot was set in time. False at once where the process
 * may use only one CPU (nothing else could set it meanwhile).
 */
bool ocre_platform_spin_for(void *const *slot, const bool *stop, unsigned max_us);

/** The calling thread's niceness (-20..19; 0 where it cannot be read). */
int ocre_platform_thread_nice(void);

/**
 * Set the calling thread's niceness to @p nice (clamped to -20..19). Raising
 * it needs no privilege; lowering it may (RLIMIT_NICE, CAP_SYS_NICE).
 * @return 0, or -1 (logged at debug level) where the OS refused.
 */
int ocre_platform_set_thread_nice(int nice);

/**
 * Fill @p buf with @p size random bytes (not for keys: ids only). Never
 * fails: falls back to a clock-derived value where the OS source does.
 */
void ocre_platform_random(void *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
