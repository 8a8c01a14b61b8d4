/* Linux services of the core (platform/system.h): container thread
 * priority (SCHED_BATCH until a job's first wait, or SCHED_IDLE, and a
 * niceness on the thread's own id), short waits on the CPU (sched_yield),
 * and random ids (getrandom). */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#include <ocre/platform/log.h>
#include <ocre/platform/system.h>

LOG_MODULE_REGISTER(threads);

/* Linux scheduling attributes are per thread: the policy and the niceness
 * of the thread's own id. */

#if CONFIG_OCRE_CONTAINER_SCHED_BATCH && defined(SCHED_BATCH) && !CONFIG_OCRE_CONTAINER_SCHED_IDLE
/* The calling container thread runs under SCHED_BATCH (false: under
 * SCHED_OTHER since its job's first wait, or the switch failed). */
static __thread bool batch;

static void set_policy(int policy)
{
	struct sched_param param;

	memset(&param, 0, sizeof(param));
	/* the niceness is kept: sched_setscheduler() leaves it alone */
	if (sched_setscheduler(0, policy, &param) != 0)
		LOG_DBG("sched_setscheduler(%d): %s", policy, strerror(errno));
	else
		batch = policy == SCHED_BATCH;
}
#endif

void ocre_platform_container_thread_init(void)
{
#if CONFIG_OCRE_CONTAINER_SCHED_IDLE && defined(SCHED_IDLE)
	struct sched_param param;

	memset(&param, 0, sizeof(param));
	if (sched_setscheduler(0, SCHED_IDLE, &param) == 0)
		return;
	LOG_DBG("SCHED_IDLE: %s", strerror(errno));
#elif CONFIG_OCRE_CONTAINER_SCHED_BATCH && defined(SCHED_BATCH)
	set_policy(SCHED_BATCH);
#endif
}

void ocre_platform_container_thread_waits(void)
{
#if CONFIG_OCRE_CONTAINER_SCHED_BATCH && defined(SCHED_BATCH) && !CONFIG_OCRE_CONTAINER_SCHED_IDLE
	if (batch)
		set_policy(SCHED_OTHER);
#endif
}

void ocre_platform_container_thread_job_done(void)
{
#if CONFIG_OCRE_CONTAINER_SCHED_BATCH && defined(SCHED_BATCH) && !CONFIG_OCRE_CONTAINER_SCHED_IDLE
	if (!batch)
		set_policy(SCHED_BATCH);
#endif
}

/* CPUs this process may run on (sched_getaffinity), read once. */
static int usable_cpus(void)
{
	static int count; /* 0: not read yet */
	int n = __atomic_load_n(&count, __ATOMIC_RELAXED);
	cpu_set_t set;

	if (n == 0) {
		n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
		__atomic_store_n(&count, n, __ATOMIC_RELAXED);
	}
	return n;
}

static long elapsed_us(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - from->tv_sec) * 1000000L + (now.tv_nsec - from->tv_nsec) / 1000;
}

bool ocre_platform_spin_for(void *const *slot, const bool *stop, unsigned max_us)
{
	struct timespec start;
	unsigned i;

	if (max_us == 0 || usable_cpus() < 2)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 1;; i++) {
		if (__atomic_load_n(slot, __ATOMIC_ACQUIRE))
			return true;
		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return false;
		/* Any thread runnable on this CPU (the event loop, woken by
		 * the run that just ended) goes first. */
		sched_yield();
		if (i % 8 == 0 && elapsed_us(&start) >= (long)max_us)
			return false;
	}
}

int ocre_platform_thread_nice(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int now;

	errno = 0;
	now = getpriority(PRIO_PROCESS, (id_t)tid);
	return now == -1 && errno != 0 ? 0 : now;
}

int ocre_platform_set_thread_nice(int nice)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (nice > 19)
		nice = 19;
	if (nice < -20)
		nice = -20;
	if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0) {
		LOG_DBG("setpriority(%d): %s", nice, strerror(errno));
		return -1;
	}
	return 0;
}

void ocre_platform_random(void *buf, size_t size)
{
	unsigned char *out = buf;
	size_t i;

	if (getrandom(buf, size, 0) == (ssize_t)size)
		return;
	/* getrandom cannot fail for a few bytes after boot; fall back to the clock anyway */
	{
		struct timespec ts;
		unsigned v;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec ^ (unsigned)getpid();
		for (i = 0; i < size; i++)
			out[i] = (unsigned char)(v >> (8 * (i % sizeof(v))));
	}
}
