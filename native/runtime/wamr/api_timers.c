/* The Ocre application API: timers. Ids 1..OCRE_API_TIMERS per container.
 *
 * One thread serves every running timer of every container: a binary heap
 * ordered by deadline (CLOCK_MONOTONIC, ns), waited on with a timed
 * condition wait. An expiry posts a timer event to the container's queue,
 * whatever the container is doing (a paused one keeps queueing up to the
 * queue bound). Periodic timers keep their phase: the next deadline is the
 * last one plus the interval, unless the thread fell a whole interval behind.
 *
 * The thread is started at engine init, on the initialising thread: a
 * thread inherits its creator's scheduling, and a container thread runs at a
 * lowered priority (CONFIG_OCRE_CONTAINER_NICE) that would make every
 * container's timers late on a busy host. Its timer slack is 1 ns. */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "engine.h"

#define NS_PER_MS 1000000ull
#define INTERVAL_MAX 65535

struct ocre_api_timer {
	struct ocre_api *api;
	uint32_t id;
	bool created;
	bool periodic;
	uint32_t interval_ms;
	uint64_t deadline; /* ns */
	size_t slot;       /* index in the heap while running, else SIZE_MAX */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static struct ocre_api_timer **heap;
static size_t heap_len, heap_cap;
static pthread_t thread;
static bool thread_running, thread_quit;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the heap (lock held) ---- */

static void heap_set(size_t i, struct ocre_api_timer *t)
{
	heap[i] = t;
	t->slot = i;
}

static void sift_up(size_t i)
{
	struct ocre_api_timer *t = heap[i];
	while (i > 0 && heap[(i - 1) / 2]->deadline > t->deadline) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, t);
}

static void sift_down(size_t i)
{
	struct ocre_api_timer *t = heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= heap_len)
			break;
		if (c + 1 < heap_len && heap[c + 1]->deadline < heap[c]->deadline)
			c++;
		if (heap[c]->deadline >= t->deadline)
			break;
		heap_set(i, heap[c]);
		i = c;
	}
	heap_set(i, t);
}

static bool heap_push(struct ocre_api_timer *t)
{
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct ocre_api_timer **h = realloc(heap, cap * sizeof(*h));
		if (!h)
			return false;
		heap = h;
		heap_cap = cap;
	}
	heap_set(heap_len++, t);
	sift_up(t->slot);
	return true;
}

static void heap_remove(struct ocre_api_timer *t)
{
	size_t i = t->slot;

	if (i == SIZE_MAX)
		return;
	t->slot = SIZE_MAX;
	if (i == --heap_len)
		return;
	t = heap[heap_len];
	heap_set(i, t);
	sift_down(i);
	sift_up(t->slot);
}

/* ---- the thread ---- */

static void *timer_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* expiries on time, not batched (default slack 50 µs) */
	pthread_mutex_lock(&lock);
	while (!thread_quit) {
		uint64_t now = now_ns();
		struct ocre_api_timer *t;

		if (heap_len == 0) {
			pthread_cond_wait(&cond, &lock);
			continue;
		}
		t = heap[0];
		if (t->deadline > now) {
			struct timespec ts = {.tv_sec = (time_t)(t->deadline / 1000000000ull),
			                      .tv_nsec = (long)(t->deadline % 1000000000ull)};
			pthread_cond_timedwait(&cond, &lock, &ts);
			continue;
		}
		{
			struct ocre_api_event ev = {.type = OCRE_API_RESOURCE_TIMER, .id = t->id};
			ocre_api_post(t->api, &ev);
		}
		if (t->periodic) {
			uint64_t interval = (uint64_t)t->interval_ms * NS_PER_MS;
			t->deadline += interval;
			if (t->deadline <= now)
				t->deadline = now + interval; /* a whole period behind: skip, do not burst */
			sift_down(0);
		} else {
			heap_remove(t);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Lock held. */
static bool ensure_thread_locked(void)
{
	pthread_condattr_t attr;

	if (thread_running)
		return true;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &attr);
	pthread_condattr_destroy(&attr);
	thread_quit = false;
	if (pthread_create(&thread, NULL, timer_main, NULL) != 0) {
		pthread_cond_destroy(&cond);
		return false;
	}
	thread_running = true;
	return true;
}

bool ocre_api_timers_start(void)
{
	bool ok;

	pthread_mutex_lock(&lock);
	ok = ensure_thread_locked();
	pthread_mutex_unlock(&lock);
	return ok;
}

void ocre_api_timers_shutdown(void)
{
	pthread_mutex_lock(&lock);
	if (!thread_running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	thread_quit = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	thread_running = false;
	pthread_cond_destroy(&cond);
	free(heap); /* every run has ended: no timer is left in it */
	heap = NULL;
	heap_len = heap_cap = 0;
	pthread_mutex_unlock(&lock);
}

unsigned ocre_api_timers_live(void)
{
	unsigned n;
	pthread_mutex_lock(&lock);
	n = (unsigned)heap_len;
	pthread_mutex_unlock(&lock);
	return n;
}

bool ocre_api_timers_init(struct ocre_api *api)
{
	uint32_t i;

	api->timers = calloc(OCRE_API_TIMERS, sizeof(*api->timers));
	if (!api->timers)
		return false;
	for (i = 0; i < OCRE_API_TIMERS; i++) {
		api->timers[i].api = api;
		api->timers[i].id = i + 1;
		api->timers[i].slot = SIZE_MAX;
	}
	return true;
}

void ocre_api_timers_release(struct ocre_api *api)
{
	uint32_t i;

	if (!api->timers)
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < OCRE_API_TIMERS; i++)
		heap_remove(&api->timers[i]);
	pthread_mutex_unlock(&lock);
	free(api->timers);
	api->timers = NULL;
}

/* ---- host functions ---- */

/* The created timer @p id of the caller (lock held), or NULL. */
static struct ocre_api_timer *find_locked(struct ocre_api *api, int id)
{
	if (id < 1 || id > OCRE_API_TIMERS || !api->timers[id - 1].created)
		return NULL;
	return &api->timers[id - 1];
}

static int api_timer_create(wasm_exec_env_t exec_env, int id)
{
	struct ocre_api *api;
	int err = 0;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	if (id < 1 || id > OCRE_API_TIMERS)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (api->timers[id - 1].created)
		err = -EEXIST;
	else
		api->timers[id - 1].created = true;
	pthread_mutex_unlock(&lock);
	return err;
}

/* Stop timer @p id; @p forget: delete it too. */
static int timer_remove(wasm_exec_env_t exec_env, int id, bool forget)
{
	struct ocre_api_timer *t;
	struct ocre_api *api;
	int err = 0;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	pthread_mutex_lock(&lock);
	if ((t = find_locked(api, id))) {
		heap_remove(t);
		if (forget)
			t->created = false;
	} else {
		err = -EINVAL;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int api_timer_delete(wasm_exec_env_t exec_env, int id)
{
	return timer_remove(exec_env, id, true);
}

static int api_timer_start(wasm_exec_env_t exec_env, int id, int interval, int periodic)
{
	struct ocre_api_timer *t;
	struct ocre_api *api;
	int err = 0;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	if (interval < 1 || interval > INTERVAL_MAX)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (!(t = find_locked(api, id))) {
		err = -EINVAL;
	} else if (!ensure_thread_locked()) {
		err = -EAGAIN;
	} else {
		heap_remove(t);
		t->interval_ms = (uint32_t)interval;
		t->periodic = periodic != 0;
		t->deadline = now_ns() + (uint64_t)interval * NS_PER_MS;
		if (!heap_push(t))
			err = -ENOMEM;
		else if (t->slot == 0)
			pthread_cond_signal(&cond); /* a new earliest deadline */
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int api_timer_stop(wasm_exec_env_t exec_env, int id)
{
	return timer_remove(exec_env, id, false);
}

/* Milliseconds until the next expiry (rounded up), 0 when not running. */
static int api_timer_get_remaining(wasm_exec_env_t exec_env, int id)
{
	struct ocre_api_timer *t;
	struct ocre_api *api;
	int err = 0;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	pthread_mutex_lock(&lock);
	if (!(t = find_locked(api, id))) {
		err = -EINVAL;
	} else if (t->slot != SIZE_MAX) {
		uint64_t now = now_ns();
		err = t->deadline > now ? (int)((t->deadline - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static NativeSymbol natives[] = {
    {"ocre_timer_create", (void *)api_timer_create, "(i)i", NULL},
    {"ocre_timer_delete", (void *)api_timer_delete, "(i)i", NULL},
    {"ocre_timer_start", (void *)api_timer_start, "(iii)i", NULL},
    {"ocre_timer_stop", (void *)api_timer_stop, "(i)i", NULL},
    {"ocre_timer_get_remaining", (void *)api_timer_get_remaining, "(i)i", NULL},
};

bool ocre_api_timers_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0]));
}
