/* Library state: initialisation, the engine registry, the registry of live
 * contexts (one per workdir), and the timer thread that ends stop() grace
 * periods. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#include <ocre/runtime/builtin.h>

LOG_MODULE_REGISTER(library);

#define OCRE_MAX_ENGINES 16

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static bool initialized;
static const struct ocre_runtime_vtable *engines[OCRE_MAX_ENGINES];
static int engine_count;

struct context_entry {
	struct ocre_context *ctx;
	char *workdir;
	struct context_entry *next;
};
static struct context_entry *contexts;

uint64_t ocre_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- engines ---- */

static int add_engine_locked(const struct ocre_runtime_vtable *vt)
{
	int i;

	if (!vt->runtime_name || !*vt->runtime_name || !vt->create || !vt->destroy || !vt->thread_execute)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT,
		                 "engine vtable needs a name, create, destroy and thread_execute");
	for (i = 0; i < engine_count; i++)
		if (strcmp(engines[i]->runtime_name, vt->runtime_name) == 0)
			return ocre_fail(OCRE_ERR_EXISTS, "engine '%s' is registered twice", vt->runtime_name);
	if (engine_count == OCRE_MAX_ENGINES)
		return ocre_fail(OCRE_ERR_NO_MEMORY, "more than %d engines", OCRE_MAX_ENGINES);
	if (vt->init && vt->init() != 0)
		return ocre_fail(OCRE_ERR_RUNTIME, "engine '%s' failed to initialise", vt->runtime_name);
	engines[engine_count++] = vt;
	return OCRE_OK;
}

static void deinit_engines_locked(void)
{
	while (engine_count > 0) {
		const struct ocre_runtime_vtable *vt = engines[--engine_count];
		if (vt->deinit)
			vt->deinit();
		engines[engine_count] = NULL;
	}
}

int ocre_initialize(const struct ocre_runtime_vtable *const vtable[])
{
	int ret = OCRE_OK, i;

	pthread_mutex_lock(&lib_lock);
	if (initialized) {
		pthread_mutex_unlock(&lib_lock);
		return ocre_fail(OCRE_ERR_EXISTS, "ocre is already initialized");
	}
	for (i = 0; ret == OCRE_OK && ocre_builtin_engines[i].vtable; i++)
		ret = add_engine_locked(ocre_builtin_engines[i].vtable);
	for (i = 0; ret == OCRE_OK && vtable && vtable[i]; i++)
		ret = add_engine_locked(vtable[i]);
	if (ret != OCRE_OK)
		deinit_engines_locked();
	else
		initialized = true;
	pthread_mutex_unlock(&lib_lock);
	if (ret == OCRE_OK)
		LOG_INF("initialized with %d engine(s)", engine_count);
	return ret;
}

void ocre_deinitialize(void)
{
	pthread_mutex_lock(&lib_lock);
	if (!initialized) {
		pthread_mutex_unlock(&lib_lock);
		return;
	}
	while (contexts) {
		struct ocre_context *ctx = contexts->ctx;
		pthread_mutex_unlock(&lib_lock);
		ocre_destroy_context(ctx); /* unregisters itself */
		pthread_mutex_lock(&lib_lock);
	}
	pthread_mutex_unlock(&lib_lock);
	ocre_timer_shutdown();
	pthread_mutex_lock(&lib_lock);
	deinit_engines_locked();
	initialized = false;
	pthread_mutex_unlock(&lib_lock);
	LOG_INF("deinitialized");
}

int ocre_is_initialized(void)
{
	int v;
	pthread_mutex_lock(&lib_lock);
	v = initialized;
	pthread_mutex_unlock(&lib_lock);
	return v;
}

static char version_text[64];

static void make_version(void)
{
	const struct ocre_builtin_engine *e = &ocre_builtin_engines[0];

	if (e->vtable && e->product && e->product_version)
		snprintf(version_text, sizeof(version_text), OCRE_VERSION " (%s %s)", e->product, e->product_version());
	else
		snprintf(version_text, sizeof(version_text), OCRE_VERSION);
}

const char *ocre_version(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, make_version);
	return version_text;
}

const struct ocre_runtime_vtable *ocre_find_engine(const char *name)
{
	const struct ocre_runtime_vtable *found = NULL;
	int i;

	pthread_mutex_lock(&lib_lock);
	for (i = 0; i < engine_count; i++)
		if (strcmp(engines[i]->runtime_name, name) == 0)
			found = engines[i];
	pthread_mutex_unlock(&lib_lock);
	return found;
}

const struct ocre_runtime_vtable *ocre_default_engine(void)
{
	const struct ocre_runtime_vtable *vt = ocre_builtin_engines[0].vtable;

	return vt ? ocre_find_engine(vt->runtime_name) : NULL;
}

/* ---- contexts ---- */

int ocre_register_context(struct ocre_context *ctx, const char *workdir)
{
	struct context_entry *e;

	pthread_mutex_lock(&lib_lock);
	if (!initialized) {
		pthread_mutex_unlock(&lib_lock);
		return ocre_fail(OCRE_ERR_NOT_INITIALIZED, "call ocre_initialize() first");
	}
	for (e = contexts; e; e = e->next) {
		if (strcmp(e->workdir, workdir) == 0) {
			pthread_mutex_unlock(&lib_lock);
			return ocre_fail(OCRE_ERR_EXISTS, "a context is already open on %s", workdir);
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->workdir = strdup(workdir))) {
		free(e);
		pthread_mutex_unlock(&lib_lock);
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	}
	e->ctx = ctx;
	e->next = contexts;
	contexts = e;
	pthread_mutex_unlock(&lib_lock);
	return OCRE_OK;
}

void ocre_unregister_context(struct ocre_context *ctx)
{
	struct context_entry **pp, *e;

	pthread_mutex_lock(&lib_lock);
	for (pp = &contexts; (e = *pp); pp = &e->next) {
		if (e->ctx == ctx) {
			*pp = e->next;
			free(e->workdir);
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&lib_lock);
}

bool ocre_context_is_registered(struct ocre_context *ctx)
{
	struct context_entry *e;
	bool found = false;

	pthread_mutex_lock(&lib_lock);
	for (e = contexts; e && !found; e = e->next)
		found = e->ctx == ctx;
	pthread_mutex_unlock(&lib_lock);
	return found;
}

/* ---- stop timer ----
 * One thread for the whole library, started on first use. Each entry holds a
 * reference on its container, so a removed container is never touched freed.
 * Lock order: container lock, then timer_lock (kill runs without timer_lock). */

struct timer_entry {
	struct ocre_container *c;
	uint64_t deadline;
	struct timer_entry *next;
};

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static struct timer_entry *timers;
static pthread_t timer_thread;
static bool timer_running, timer_quit;

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&timer_lock);
	while (!timer_quit) {
		struct timer_entry **pp, *e, *due = NULL;
		uint64_t now = ocre_monotonic_ms(), next = UINT64_MAX;

		for (pp = &timers; (e = *pp);) {
			if (e->deadline <= now && !due) {
				*pp = e->next;
				due = e;
				continue;
			}
			if (e->deadline < next)
				next = e->deadline;
			pp = &e->next;
		}
		if (due) {
			pthread_mutex_unlock(&timer_lock);
			LOG_INF("container %s: grace period over, killing", ocre_container_get_id(due->c));
			ocre_container_kill(due->c);
			ocre_container_release(due->c);
			free(due);
			pthread_mutex_lock(&timer_lock);
			continue;
		}
		if (next == UINT64_MAX) {
			pthread_cond_wait(&timer_cond, &timer_lock);
		} else {
			struct timespec ts = {.tv_sec = (time_t)(next / 1000),
			                      .tv_nsec = (long)(next % 1000) * 1000000};
			pthread_cond_timedwait(&timer_cond, &timer_lock, &ts);
		}
	}
	pthread_mutex_unlock(&timer_lock);
	return NULL;
}

int ocre_timer_schedule_kill(struct ocre_container *c, unsigned delay_ms)
{
	struct timer_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	pthread_mutex_lock(&timer_lock);
	if (!timer_running) {
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&timer_cond, &attr);
		pthread_condattr_destroy(&attr);
		timer_quit = false;
		if (pthread_create(&timer_thread, NULL, timer_main, NULL) != 0) {
			pthread_cond_destroy(&timer_cond);
			pthread_mutex_unlock(&timer_lock);
			free(e);
			return ocre_fail(OCRE_ERR_RUNTIME, "could not start the timer thread");
		}
		timer_running = true;
	}
	ocre_container_retain(c);
	e->c = c;
	e->deadline = ocre_monotonic_ms() + delay_ms;
	e->next = timers;
	timers = e;
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
	return OCRE_OK;
}

void ocre_timer_cancel(struct ocre_container *c)
{
	struct timer_entry **pp, *e, *found = NULL;

	pthread_mutex_lock(&timer_lock);
	for (pp = &timers; (e = *pp);) {
		if (e->c == c) {
			*pp = e->next;
			e->next = found;
			found = e;
			continue;
		}
		pp = &e->next;
	}
	pthread_mutex_unlock(&timer_lock);
	while (found) {
		e = found;
		found = e->next;
		ocre_container_release(e->c);
		free(e);
	}
}

void ocre_timer_shutdown(void)
{
	struct timer_entry *e;

	pthread_mutex_lock(&timer_lock);
	if (!timer_running) {
		pthread_mutex_unlock(&timer_lock);
		return;
	}
	timer_quit = true;
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
	pthread_join(timer_thread, NULL);
	pthread_mutex_lock(&timer_lock);
	timer_running = false;
	pthread_cond_destroy(&timer_cond);
	e = timers;
	timers = NULL;
	pthread_mutex_unlock(&timer_lock);
	while (e) {
		struct timer_entry *next = e->next;
		ocre_container_release(e->c);
		free(e);
		e = next;
	}
}
