/* Container threads: a per-context pool of parked threads.
 *
 * A run takes a parked thread (or a new one) with ocre_pool_reserve(), then
 * hands it its job with ocre_pool_dispatch(). Creating, exiting and joining
 * a thread per run costs more than the run of a small module; a parked
 * thread is woken with one condition signal instead.
 *
 * Each job runs at the niceness its reservation asks for, added to the
 * niceness the thread was created with. A thread can raise its niceness
 * without privilege but not lower it again, so a reservation takes a parked
 * thread already at that niceness, else one below it (raised), else a new
 * thread (created at the creator's niceness).
 *
 * A finished job parks its thread again, unless CONFIG_OCRE_THREAD_POOL_IDLE
 * threads are parked already; a thread parked for CONFIG_OCRE_THREAD_POOL_IDLE_MS
 * ends. One parked thread per pool at a time (the spinner) first waits on
 * its CPU for up to CONFIG_OCRE_THREAD_POOL_SPIN_US, yielding to any other
 * thread, and reservations take it first: a run started soon after another
 * one ended (a loop of run() calls) finds its thread running instead of
 * waking it, which on an idle CPU (or vCPU) costs more than the run.
 *
 * Threads that ended are joined by the next reserve and by
 * ocre_pool_destroy(), which ends and joins every thread: no thread outlives
 * its context. The exception is ocre_pool_orphan(), for a context destroyed
 * while a container's run would not end after its kill (a host function that
 * never returns): the threads still in a job are detached and the pool (with
 * what the caller hands over) is freed by the last of them when it ends.
 *
 * Locking: pool->lock protects everything below it; it nests inside a
 * container's lock (context -> container -> pool) and no other lock is taken
 * while it is held. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "internal.h"

#include <ocre/platform/system.h>

LOG_MODULE_REGISTER(threads);

/* Orphaned threads still running, in all pools (ocre_pool_orphans_live()). */
static atomic_int orphans_live;

struct ocre_worker {
	struct ocre_thread_pool *pool;
	pthread_t thread;
	pthread_cond_t cond; /* fn set, or the pool closes */
	void (*fn)(void *);  /* the job handed over, NULL while parked */
	void (*finish)(void *);
	void *arg;
	size_t stack;       /* its stack size: jobs that need more take another thread */
	int base_nice;      /* the thread's niceness when it was created */
	int nice;           /* added to base_nice now */
	int want_nice;      /* what the reservation asks for the job */
	bool reserved;      /* taken by ocre_pool_reserve(): a job follows */
	bool busy;          /* in a job (from taking it to after its finish) */
	bool detached;      /* orphaned while busy: frees itself at its end */
	bool ended;         /* returned from worker_main: join it */
	unsigned long jobs; /* jobs taken (the thread's own) */
	bool parked_early;  /* by its job (ocre_pool_park_early()), with the outcome in park */
	bool park;
	struct ocre_worker *next_idle; /* in pool->idle while parked */
	struct ocre_worker *next;      /* in pool->all until joined */
};

struct ocre_thread_pool {
	pthread_mutex_t lock;
	struct ocre_worker *all;  /* every thread not yet joined */
	struct ocre_worker *idle; /* parked, most recently parked first */
	int idle_count;
	int ended_count;              /* threads in `all` that have ended */
	bool closing;                 /* written under the lock, read by the spinner without it */
	struct ocre_worker *spinner;  /* parked and spinning (CONFIG_OCRE_THREAD_POOL_SPIN_US) */
	int orphans;                  /* detached busy threads still running (ocre_pool_orphan) */
	void (*orphans_done)(void *); /* called by the last of them, then the pool is freed */
	void *orphans_arg;
};

static void deadline_after_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void unlink_idle_locked(struct ocre_thread_pool *pool, struct ocre_worker *w)
{
	struct ocre_worker **pp;

	for (pp = &pool->idle; *pp; pp = &(*pp)->next_idle) {
		if (*pp == w) {
			*pp = w->next_idle;
			w->next_idle = NULL;
			pool->idle_count--;
			return;
		}
	}
}

/* The worker the calling thread is (NULL on other threads). */
static __thread struct ocre_worker *current_worker;

/* Put @p w in the idle list if there is room (lock held). */
static bool park_locked(struct ocre_thread_pool *pool, struct ocre_worker *w)
{
	bool park = !pool->closing && pool->idle_count < CONFIG_OCRE_THREAD_POOL_IDLE;

	if (park) {
		w->next_idle = pool->idle;
		pool->idle = w;
		pool->idle_count++;
	}
	return park;
}

void ocre_pool_park_early(void)
{
	struct ocre_worker *w = current_worker;

	if (!w || w->parked_early)
		return;
	/* the job's scheduling ends here: whoever its end lets go sees the
	 * thread back under its between-jobs policy */
	ocre_platform_container_thread_job_done();
	pthread_mutex_lock(&w->pool->lock);
	w->park = park_locked(w->pool, w);
	w->parked_early = true;
	pthread_mutex_unlock(&w->pool->lock);
}

static void *worker_main(void *arg)
{
	struct ocre_worker *w = arg;
	struct ocre_thread_pool *pool = w->pool;
	struct timespec deadline;
	void (*fn)(void *), (*finish)(void *);
	void *job;
	bool park;
	int want;

	current_worker = w;
	ocre_platform_container_thread_init();
	w->base_nice = ocre_platform_thread_nice();
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		/* Parked (or reserved, waiting for the job). Spin first if no
		 * other thread of the pool does (not before the first job: a
		 * new thread is always reserved). */
		if (!w->fn && !pool->spinner && !pool->closing && !w->reserved && w->jobs > 0) {
			pool->spinner = w;
			pthread_mutex_unlock(&pool->lock);
			ocre_platform_spin_for((void *const *)&w->fn, &pool->closing, CONFIG_OCRE_THREAD_POOL_SPIN_US);
			pthread_mutex_lock(&pool->lock);
			if (pool->spinner == w)
				pool->spinner = NULL;
		}
		deadline_after_ms(&deadline, CONFIG_OCRE_THREAD_POOL_IDLE_MS);
		while (!w->fn) {
			if (w->reserved)
				pthread_cond_wait(&w->cond, &pool->lock); /* the job is on its way */
			else if (pool->closing)
				goto end;
			else if (pthread_cond_timedwait(&w->cond, &pool->lock, &deadline) == ETIMEDOUT && !w->fn &&
			         !w->reserved)
				goto end;
		}
		fn = w->fn;
		finish = w->finish;
		job = w->arg;
		w->fn = NULL;
		w->finish = NULL;
		w->arg = NULL;
		w->reserved = false;
		want = w->want_nice;
		w->busy = true;
		w->jobs++;
		pthread_mutex_unlock(&pool->lock);

		if (w->nice != want) {
			/* Only raised (take_idle_locked): refused only where the OS
			 * forbids setpriority altogether, which costs fairness only. */
			ocre_platform_set_thread_nice(w->base_nice + want);
			w->nice = want;
		}
		fn(job);
		ocre_platform_container_thread_job_done();

		/* Parked before the job's finish (or earlier, by the job itself:
		 * ocre_pool_park_early()), so that whoever the job's end lets go
		 * (a container's observer, about to start the next run) finds
		 * this thread: a new job handed over meanwhile waits in w->fn. */
		pthread_mutex_lock(&pool->lock);
		park = w->parked_early ? w->park : park_locked(pool, w);
		w->parked_early = false;
		pthread_mutex_unlock(&pool->lock);
		if (finish)
			finish(job);
		pthread_mutex_lock(&pool->lock);
		w->busy = false;
		if (!park || w->detached)
			goto end;
	}
end:
	unlink_idle_locked(pool, w);
	if (w->detached) {
		struct ocre_worker **pp;
		bool last;
		for (pp = &pool->all; *pp != w; pp = &(*pp)->next)
			;
		*pp = w->next;
		last = --pool->orphans == 0;
		pthread_mutex_unlock(&pool->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		if (last) {
			pool->orphans_done(pool->orphans_arg);
			pthread_mutex_destroy(&pool->lock);
			free(pool);
		}
		atomic_fetch_sub(&orphans_live, 1); /* last: everything above is freed */
		return NULL;
	}
	w->ended = true;
	pool->ended_count++;
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* Join and free the threads that have ended. Called with pool->lock held;
 * joining an ended thread does not wait for anything that needs the lock. */
static void reap_locked(struct ocre_thread_pool *pool)
{
	struct ocre_worker **pp = &pool->all, *w;

	while (pool->ended_count > 0 && *pp) {
		w = *pp;
		if (!w->ended) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		pool->ended_count--;
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->cond);
		free(w);
	}
}

struct ocre_thread_pool *ocre_pool_new(void)
{
	struct ocre_thread_pool *pool = calloc(1, sizeof(*pool));

	if (!pool) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	return pool;
}

/* The parked thread best placed to run at niceness @p nice: one at that
 * niceness, else the highest one below it. NULL if every one is above. */
static struct ocre_worker *take_idle_locked(struct ocre_thread_pool *pool, int nice, size_t stack)
{
	struct ocre_worker *w, *best = NULL;

	/* The spinner first: it is running. */
	w = pool->spinner;
	if (w && w->stack >= stack && w->nice == nice)
		best = w;
	for (w = best ? NULL : pool->idle; w; w = w->next_idle) {
		if (w->stack < stack)
			continue;
		if (w->nice == nice) {
			best = w;
			break;
		}
		if (w->nice < nice && (!best || w->nice > best->nice))
			best = w;
	}
	if (best) {
		unlink_idle_locked(pool, best);
		if (best == pool->spinner)
			pool->spinner = NULL; /* spinning still: for this reservation's job */
	}
	return best;
}

struct ocre_worker *ocre_pool_reserve(struct ocre_thread_pool *pool, int nice, size_t stack, pthread_t *thread)
{
	struct ocre_worker *w;
	pthread_condattr_t cattr;
	pthread_attr_t attr;
	int rc;

	pthread_mutex_lock(&pool->lock);
	if (pool->closing) {
		pthread_mutex_unlock(&pool->lock);
		ocre_fail(OCRE_ERR_STATE, "the context is being destroyed");
		return NULL;
	}
	if (pool->ended_count > 0)
		reap_locked(pool);
	if (stack < CONFIG_OCRE_CONTAINER_STACK_SIZE)
		stack = CONFIG_OCRE_CONTAINER_STACK_SIZE;
	w = take_idle_locked(pool, nice, stack);
	if (w) {
		w->want_nice = nice;
		w->reserved = true;
		*thread = w->thread;
		pthread_mutex_unlock(&pool->lock);
		return w;
	}

	w = calloc(1, sizeof(*w));
	if (!w) {
		pthread_mutex_unlock(&pool->lock);
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	w->pool = pool;
	w->stack = stack;
	w->want_nice = nice;
	w->reserved = true;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	rc = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_unlock(&pool->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		ocre_fail(OCRE_ERR_RUNTIME, "cannot create a thread: %s", strerror(rc));
		return NULL;
	}
	w->next = pool->all;
	pool->all = w;
	*thread = w->thread;
	pthread_mutex_unlock(&pool->lock);
	return w;
}

void ocre_pool_dispatch(struct ocre_worker *w, void (*fn)(void *), void (*finish)(void *), void *arg)
{
	struct ocre_thread_pool *pool = w->pool;

	pthread_mutex_lock(&pool->lock);
	w->finish = finish;
	w->arg = arg;
	__atomic_store_n(&w->fn, fn, __ATOMIC_RELEASE); /* last: a spinning thread reads it unlocked */
	pthread_mutex_unlock(&pool->lock);
	/* Signalled after unlocking, so the woken thread does not block on the
	 * lock. A reserved thread neither ends nor is freed before its job. */
	pthread_cond_signal(&w->cond);
}

void ocre_pool_destroy(struct ocre_thread_pool *pool)
{
	struct ocre_worker *w;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	__atomic_store_n(&pool->closing, true, __ATOMIC_RELEASE); /* read by a spinner unlocked */
	for (w = pool->all; w; w = w->next)
		pthread_cond_signal(&w->cond);
	/* Threads still running a job's tail (after its container was seen to
	 * exit) end when they finish it. */
	while (pool->all) {
		w = pool->all;
		pool->all = w->next;
		pthread_mutex_unlock(&pool->lock);
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->cond);
		free(w);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void ocre_pool_orphan(struct ocre_thread_pool *pool, void (*done)(void *), void *arg)
{
	struct ocre_worker *w, **pp;

	pthread_mutex_lock(&pool->lock);
	__atomic_store_n(&pool->closing, true, __ATOMIC_RELEASE); /* read by a spinner unlocked */
	pool->orphans_done = done;
	pool->orphans_arg = arg;
	for (w = pool->all; w; w = w->next)
		pthread_cond_signal(&w->cond);
	/* Detach the threads in a job; join the others (parked ones end now). */
	pp = &pool->all;
	while ((w = *pp)) {
		if (w->busy || w->fn) {
			pthread_detach(w->thread);
			w->detached = true;
			pool->orphans++;
			atomic_fetch_add(&orphans_live, 1);
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (w->ended)
			pool->ended_count--;
		pthread_mutex_unlock(&pool->lock);
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->cond);
		free(w);
		pthread_mutex_lock(&pool->lock);
		pp = &pool->all; /* the list may have changed meanwhile */
	}
	if (pool->orphans > 0) {
		pthread_mutex_unlock(&pool->lock);
		return; /* the last orphan calls done() and frees the pool */
	}
	pthread_mutex_unlock(&pool->lock);
	done(arg);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

int ocre_pool_orphans_live(void)
{
	return atomic_load(&orphans_live);
}
