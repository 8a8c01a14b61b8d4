/* Containers: the object (references, the context's list), its events, its
 * locking and observation, and the calls that read or set its fields. The
 * state machine is spread over container_create.c (create, remove),
 * container_run.c (start and the run's thread) and container_control.c
 * (pause, unpause, kill, stop, wait). Each state transition happens in
 * exactly one function, marked "TRANSITION". Locking: see container.h. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "container.h"

LOG_MODULE_REGISTER(container);

const char *ocre_container_status_name(ocre_container_status_t status)
{
	switch (status) {
	case OCRE_CONTAINER_STATUS_CREATED:
		return "created";
	case OCRE_CONTAINER_STATUS_RUNNING:
		return "running";
	case OCRE_CONTAINER_STATUS_PAUSED:
		return "paused";
	case OCRE_CONTAINER_STATUS_EXITED:
		return "exited";
	case OCRE_CONTAINER_STATUS_STOPPED:
		return "stopped";
	case OCRE_CONTAINER_STATUS_ERROR:
		return "error";
	default:
		return "unknown";
	}
}

struct ocre_container *ocre_container_list_next_locked(struct ocre_container *c)
{
	return c->next;
}

void ocre_container_list_set_next_locked(struct ocre_container *c, struct ocre_container *next)
{
	c->next = next;
}

/* ---- references ---- */

void ocre_container_retain(struct ocre_container *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void ocre_container_release(struct ocre_container *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* Last reference: the engine side was freed by removal (or never made). */
	if (c->engine_ctx)
		c->engine->destroy(c->engine_ctx);
	free(c->output[1].data);
	free(c->output[2].data);
	sem_destroy(&c->ready);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c->private_dir);
	free(c->image);
	free(c->id);
	free(c);
}

/* ---- helpers ---- */

int ocre_container_check_fds(const struct ocre_runtime_vtable *engine, int out[3], int in0, int in1, int in2)
{
	int in[3] = {in0, in1, in2}, i;

	for (i = 0; i < 3; i++) {
		if (in[i] == OCRE_STDIO_CAPTURE) {
			if (i == 0)
				return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "stdin cannot be OCRE_STDIO_CAPTURE");
			if (!engine->take_output)
				return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot capture output",
				                 engine->runtime_name);
			out[i] = OCRE_STDIO_CAPTURE;
			continue;
		}
		out[i] = in[i] == OCRE_STDIO_IGNORE ? OCRE_STDIO_IGNORE : in[i] < 0 ? -1 : in[i];
		if (out[i] >= 0 && fcntl(out[i], F_GETFD) < 0)
			return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "stdio fd %d is not open", out[i]);
	}
	return OCRE_OK;
}

void ocre_container_fire_event(struct ocre_container *c, ocre_container_status_t status)
{
	ocre_container_event_cb cb;
	void *data;

	pthread_mutex_lock(&c->lock);
	cb = c->cb;
	data = c->cb_data;
	if (cb)
		c->cb_inflight++;
	pthread_mutex_unlock(&c->lock);
	if (!cb)
		return;
	cb(c, status, data);
	pthread_mutex_lock(&c->lock);
	if (--c->cb_inflight == 0)
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* TRANSITION: EXITED -> STOPPED. The first observer waits until the run's
 * thread is done with the container (phase DONE, set just before it delivers
 * EXITED). Returns true when it made the transition and the caller is to
 * fire STOPPED after unlocking; false also when EXITED is still being
 * delivered: the run's thread then fires STOPPED after it, so that
 * listeners always see EXITED first. Never waits on the run's own thread,
 * which does not observe while it delivers EXITED. */
bool ocre_container_observe_locked(struct ocre_container *c)
{
	if (c->status != OCRE_CONTAINER_STATUS_EXITED || c->phase == RUN_NONE)
		return false;
	if ((c->phase != RUN_DONE || c->delivering_exit) && pthread_equal(pthread_self(), c->thread))
		return false;
	while (c->phase != RUN_DONE && c->phase != RUN_NONE)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->status != OCRE_CONTAINER_STATUS_EXITED || c->phase != RUN_DONE)
		return false; /* another observer was first */
	c->phase = RUN_NONE;
	c->status = OCRE_CONTAINER_STATUS_STOPPED;
	pthread_cond_broadcast(&c->cond);
	if (c->delivering_exit) {
		/* EXITED is being delivered (whoever it woke may be the one
		 * looking): STOPPED follows it, from the run's thread. */
		c->stopped_deferred = true;
		return false;
	}
	return true;
}

bool ocre_container_settle_locked(struct ocre_container *c)
{
	while (c->delivering_exit && !pthread_equal(pthread_self(), c->thread))
		pthread_cond_wait(&c->cond, &c->lock);
	return !c->removed;
}

int ocre_container_unlock_removed(struct ocre_container *c, bool observed)
{
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return ocre_fail(OCRE_ERR_NOT_FOUND, "container %s has been removed", c->id);
}

/* Lock c, observe it, and fail with NOT_FOUND if removed, also when it was
 * removed while the observation waited for the run (the lock is let go
 * there). On success returns OCRE_OK with the lock held. */
int ocre_container_lock_live(struct ocre_container *c, bool *observed)
{
	if (!c)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container is NULL");
	pthread_mutex_lock(&c->lock);
	*observed = !c->removed && ocre_container_observe_locked(c);
	if (c->removed)
		return ocre_container_unlock_removed(c, *observed);
	return OCRE_OK;
}

int ocre_container_unlock_and_fail_state(struct ocre_container *c, bool observed, const char *what)
{
	ocre_container_status_t st = c->status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return ocre_fail(OCRE_ERR_STATE, "cannot %s container %s: it is %s", what, c->id,
	                 ocre_container_status_name(st));
}

/* ---- fields ---- */

ocre_container_status_t ocre_container_get_status(struct ocre_container *c)
{
	ocre_container_status_t st;
	bool observed = false;

	if (!c)
		return OCRE_CONTAINER_STATUS_UNKNOWN;
	pthread_mutex_lock(&c->lock);
	observed = ocre_container_observe_locked(c);
	st = c->status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return st;
}

const char *ocre_container_get_id(const struct ocre_container *c)
{
	return c ? c->id : NULL;
}

const char *ocre_container_get_image(const struct ocre_container *c)
{
	return c ? c->image : NULL;
}

const char *ocre_container_get_runtime(const struct ocre_container *c)
{
	return c ? c->engine->runtime_name : NULL;
}

const char *ocre_container_get_tier(const struct ocre_container *c)
{
	return c ? c->tier : NULL; /* immutable after create; valid after remove */
}

unsigned long long ocre_container_get_events_dropped(struct ocre_container *c)
{
	unsigned long long n = 0;

	if (!c || !c->engine->events_dropped)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->engine_ctx)
		n = c->engine->events_dropped(c->engine_ctx);
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool ocre_container_is_detached(struct ocre_container *c)
{
	return c ? c->detached : false;
}

int ocre_container_get_exit(struct ocre_container *c, struct ocre_exit_info *info)
{
	if (!c || !info)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container or info is NULL");
	pthread_mutex_lock(&c->lock);
	*info = c->exit;
	pthread_mutex_unlock(&c->lock);
	return OCRE_OK;
}

int ocre_container_take_output(struct ocre_container *c, int stream, void **data, size_t *size, bool *truncated)
{
	bool observed = false;

	if (!c || !data || !size || (stream != 1 && stream != 2))
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container, data or size is NULL, or stream is not 1 or 2");
	*data = NULL;
	*size = 0;
	if (truncated)
		*truncated = false;
	if (!c->engine->take_output)
		return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot capture output", c->engine->runtime_name);
	pthread_mutex_lock(&c->lock);
	if (!c->removed)
		observed = ocre_container_observe_locked(c);
	if (c->status == OCRE_CONTAINER_STATUS_RUNNING || c->status == OCRE_CONTAINER_STATUS_PAUSED ||
	    (c->status == OCRE_CONTAINER_STATUS_EXITED && c->phase != RUN_DONE && c->phase != RUN_NONE))
		return ocre_container_unlock_and_fail_state(c, observed, "take the output of");
	/* the run's thread moved it here at the end of the run (container_run.c) */
	*data = c->output[stream].data;
	*size = c->output[stream].size;
	if (truncated)
		*truncated = c->output[stream].truncated;
	memset(&c->output[stream], 0, sizeof(c->output[stream]));
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_set_stdio(struct ocre_container *c, int stdin_fd, int stdout_fd, int stderr_fd)
{
	int fds[3];
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED)
		return ocre_container_unlock_and_fail_state(c, observed, "change the stdio of");
	if (!c->engine->set_stdio) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot change stdio", c->engine->runtime_name);
	}
	if ((ret = ocre_container_check_fds(c->engine, fds, stdin_fd, stdout_fd, stderr_fd)) != OCRE_OK) {
		pthread_mutex_unlock(&c->lock);
		return ret;
	}
	if (c->engine->set_stdio(c->engine_ctx, fds[0], fds[1], fds[2]) != 0) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_RUNTIME, "engine failed to change stdio of %s", c->id);
	}
	memcpy(c->fds, fds, sizeof(fds));
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_set_event_callback(struct ocre_container *c, ocre_container_event_cb cb, void *user_data)
{
	if (!c)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container is NULL");
	pthread_mutex_lock(&c->lock);
	c->cb = cb;
	c->cb_data = user_data;
	while (c->cb_inflight > 0)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return OCRE_OK;
}

int ocre_container_set_memory_limit(struct ocre_container *c, size_t bytes)
{
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (!bytes)
		bytes = CONFIG_OCRE_DEFAULT_MEMORY_LIMIT;
	ret = ocre_container_check_args_fit(c, bytes);
	if (ret == OCRE_OK)
		c->memory_limit = bytes;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return ret;
}

size_t ocre_container_get_memory_limit(struct ocre_container *c)
{
	size_t v;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->memory_limit;
	pthread_mutex_unlock(&c->lock);
	return v;
}

int ocre_container_set_nice(struct ocre_container *c, int nice)
{
	bool observed = false;
	int ret;

	if (nice < 0 || nice > OCRE_NICE_MAX)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "niceness %d is not in 0..%d", nice, OCRE_NICE_MAX);
	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	c->nice = nice;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_get_nice(struct ocre_container *c)
{
	int v;
	if (!c)
		return -1;
	pthread_mutex_lock(&c->lock);
	v = c->nice;
	pthread_mutex_unlock(&c->lock);
	return v;
}

void ocre_container_mark_closing(struct ocre_container *c)
{
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_mutex_unlock(&c->lock);
}
