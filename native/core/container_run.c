/* Containers: start, and the run on its pool thread up to its end (the
 * CREATED/STOPPED -> RUNNING -> EXITED transitions, stdio duplicates, the
 * ready handshake). */
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

#include <ocre/platform/memory.h>

LOG_MODULE_DECLARE(container);

void ocre_container_close_run_fds(struct ocre_container *c)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (c->run_fds[i] >= 0)
			close(c->run_fds[i]);
		c->run_fds[i] = -1;
	}
}

/* Move what the run wrote to its captured streams from the engine into the
 * container, where it outlives a removal (ocre_container_take_output()). */
static void keep_output(struct ocre_container *c)
{
	int i;

	if (!c->engine->take_output)
		return;
	for (i = 1; i < 3; i++) {
		void *data = NULL;
		size_t size = 0;
		bool truncated = false;
		if (c->fds[i] != OCRE_STDIO_CAPTURE ||
		    c->engine->take_output(c->engine_ctx, i, &data, &size, &truncated) != 0)
			continue;
		pthread_mutex_lock(&c->lock);
		free(c->output[i].data);
		c->output[i].data = data;
		c->output[i].size = size;
		c->output[i].truncated = truncated;
		pthread_mutex_unlock(&c->lock);
	}
}

/* A run on a pool thread, up to EXITED delivered; container_finish() follows
 * once the thread is parked again. The run holds a reference on the
 * container (taken by start) that container_finish() drops. */
static void container_run(void *arg)
{
	struct ocre_container *c = arg;
	ocre_exit_reason_t reason = OCRE_EXIT_REASON_NONE;
	char message[sizeof(c->exit.message)] = "";
	bool killed, stopped;
	int status;

	pthread_mutex_lock(&c->lock);
	ocre_memory_set_thread_limit(c->memory_limit);
	killed = c->kill_requested;
	pthread_mutex_unlock(&c->lock);

	if (killed) {
		/* Killed before its thread began: nothing to instantiate. */
		sem_post(&c->ready);
		status = OCRE_EXIT_STATUS_KILLED;
		reason = OCRE_EXIT_REASON_KILLED;
	} else {
		status = c->engine->thread_execute(c->engine_ctx, &c->ready);
		if (c->engine->exit_reason)
			reason = c->engine->exit_reason(c->engine_ctx, message, sizeof(message));
	}
	/* The engine has its own duplicates (or is done with ours). No lock:
	 * only the run touches run_fds between start and its end. */
	ocre_container_close_run_fds(c);
	keep_output(c);

	if (status < 0) {
		pthread_mutex_lock(&c->lock);
		if (c->phase == RUN_HANDED) {
			/* The run never began and start() waits: it reports the failure
			 * and moves to ERROR. */
			c->phase = RUN_NOT_BEGUN;
			snprintf(c->exit.message, sizeof(c->exit.message), "%s",
			         message[0] ? message : "the engine could not start the container");
			pthread_mutex_unlock(&c->lock);
			return; /* container_finish() lets start() go */
		}
		pthread_mutex_unlock(&c->lock);
		/* start() has returned already: the run ends as an engine failure
		 * at run time (docs: ocre_container_start_async()). */
		status = OCRE_EXIT_STATUS_TRAP;
		reason = OCRE_EXIT_REASON_TRAP;
		if (!message[0])
			snprintf(message, sizeof(message), "the engine could not start the container");
	}

	ocre_timer_cancel(c);

	/* TRANSITION: RUNNING/PAUSED -> EXITED */
	pthread_mutex_lock(&c->lock);
	if (reason == OCRE_EXIT_REASON_NONE)
		reason = c->kill_requested && status == OCRE_EXIT_STATUS_KILLED ? OCRE_EXIT_REASON_KILLED
		                                                                : OCRE_EXIT_REASON_EXIT;
	c->exit.status = status;
	c->exit.reason = reason;
	snprintf(c->exit.message, sizeof(c->exit.message), "%s", message);
	c->exit.runs++;
	c->status = OCRE_CONTAINER_STATUS_EXITED;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	LOG_INF("container %s exited with status %d (%s)%s%s", c->id, status,
	        reason == OCRE_EXIT_REASON_KILLED ? "killed"
	        : reason == OCRE_EXIT_REASON_TRAP ? "trap"
	                                          : "exit",
	        message[0] ? ": " : "", message);

	/* Listeners see RUNNING before EXITED: wait until start() delivered it
	 * (start_async() delivers it before the run is handed over). Then the
	 * run is done with the container (DONE) before EXITED goes out, so that
	 * whoever the event wakes (the addon's JS thread, reading the state)
	 * never waits for this thread to get the CPU back. A STOPPED observed
	 * meanwhile goes out after EXITED, from here; a new start waits for
	 * both (start_impl()). */
	ocre_pool_park_early(); /* a restart it lets go finds this thread */
	pthread_mutex_lock(&c->lock);
	while (c->phase == RUN_HANDED)
		pthread_cond_wait(&c->cond, &c->lock);
	c->phase = RUN_DONE;
	c->delivering_exit = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_EXITED);
	pthread_mutex_lock(&c->lock);
	stopped = c->stopped_deferred;
	c->stopped_deferred = false;
	if (!stopped)
		c->delivering_exit = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (stopped) {
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		pthread_mutex_lock(&c->lock);
		c->delivering_exit = false;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* The run's last step, on its thread, parked again by now: a run that could
 * not begin lets start() report it; every run drops its reference. */
static void container_finish(void *arg)
{
	struct ocre_container *c = arg;
	bool failed;

	pthread_mutex_lock(&c->lock);
	failed = c->phase == RUN_NOT_BEGUN;
	pthread_mutex_unlock(&c->lock);
	if (failed)
		sem_post(&c->ready); /* start() waits: it reports the failure */
	ocre_container_release(c);   /* the run's reference */
}

/* TRANSITION: RUNNING -> ERROR (the run could not begin). Called with c->lock
 * held after the CREATED/STOPPED -> RUNNING transition; unlocks, fires the
 * events and fails with @p code and the message. */
static int fail_start_unlock(struct ocre_container *c, bool observed, ocre_err_t code, const char *message)
{
	char copy[sizeof(c->exit.message) + 128];

	snprintf(copy, sizeof(copy), "%s", message);
	c->status = OCRE_CONTAINER_STATUS_ERROR;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_ERROR);
	return ocre_fail(code, "%s", copy);
}

/* Give the run its own duplicates of the caller's stdio (above 2, close on
 * exec), so the caller may close its fds as soon as start() returns. */
static int dup_run_fds_locked(struct ocre_container *c, char *message, size_t size)
{
	int i, pass[3];

	for (i = 0; i < 3; i++) {
		pass[i] = c->fds[i]; /* -1 (the process's own), OCRE_STDIO_IGNORE or _CAPTURE go as they are */
		if (c->fds[i] < 0)
			continue;
		c->run_fds[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3);
		if (c->run_fds[i] < 0) {
			snprintf(message, size, "cannot duplicate stdio fd %d of container %s: %s", c->fds[i], c->id,
			         strerror(errno));
			ocre_container_close_run_fds(c);
			return OCRE_ERR_IO;
		}
	}
	for (i = 0; i < 3; i++)
		if (c->run_fds[i] >= 0)
			pass[i] = c->run_fds[i];
	if (c->engine->set_stdio(c->engine_ctx, pass[0], pass[1], pass[2]) != 0) {
		snprintf(message, size, "engine %s could not take the stdio of container %s", c->engine->runtime_name,
		         c->id);
		ocre_container_close_run_fds(c);
		return OCRE_ERR_RUNTIME;
	}
	return OCRE_OK;
}

/* Deliver RUNNING, then let the run deliver EXITED (listeners see RUNNING
 * first). Phase HANDED -> ANNOUNCED. */
static void announce_running(struct ocre_container *c)
{
	ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
	pthread_mutex_lock(&c->lock);
	c->phase = RUN_ANNOUNCED;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* @p wait_ready: return only once the engine has begun the run (the ready
 * handshake), so that a failure to begin is this call's error (ERROR state).
 * Otherwise return as soon as the run is handed to its thread: it can be
 * killed, stopped or paused from then on (the engine's flags are checked
 * before anything runs), and a failure to begin ends the run instead. */
static int start_impl(struct ocre_container *c, bool wait_for_exit, bool wait_ready)
{
	char message[sizeof(c->exit.message) + 128];
	struct ocre_worker *w;
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	/* The previous run's EXITED (and a STOPPED observed meanwhile) go out
	 * before this run's RUNNING. */
	if (!ocre_container_settle_locked(c)) /* removed meanwhile */
		return ocre_container_unlock_removed(c, observed);
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		if (observed)
			ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return ocre_fail(OCRE_ERR_STATE, "cannot start container %s: its context is being destroyed", c->id);
	}
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED)
		return ocre_container_unlock_and_fail_state(c, observed, "start");

	/* TRANSITION: CREATED/STOPPED -> RUNNING */
	c->status = OCRE_CONTAINER_STATUS_RUNNING;
	c->kill_requested = false;
	c->exit.reason = OCRE_EXIT_REASON_NONE;
	c->exit.status = 0;
	c->exit.message[0] = '\0';
	/* An engine that cannot take per-run stdio reads the caller's fds on the
	 * run's thread: the caller's fds must then outlive the handshake. */
	if (!c->engine->set_stdio)
		wait_ready = true;
	while (sem_trywait(&c->ready) == 0)
		; /* the previous run's handshake, if nobody waited for it */

	if (c->engine->prepare && c->engine->prepare(c->engine_ctx) != 0) {
		snprintf(message, sizeof(message), "engine could not prepare container %s", c->id);
		return fail_start_unlock(c, observed, OCRE_ERR_RUNTIME, message);
	}
	if (c->engine->set_stdio && (ret = dup_run_fds_locked(c, message, sizeof(message))) != OCRE_OK)
		return fail_start_unlock(c, observed, (ocre_err_t)ret, message);
	w = ocre_pool_reserve(c->pool, c->nice, c->thread_stack, &c->thread);
	if (!w) {
		ocre_container_close_run_fds(c);
		snprintf(message, sizeof(message), "cannot start a thread for container %s: %s", c->id,
		         ocre_last_error_message());
		return fail_start_unlock(c, observed, OCRE_ERR_RUNTIME, message);
	}
	c->phase = RUN_HANDED;
	ocre_container_retain(c); /* the run's, dropped by container_finish() */
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);

	if (!wait_ready) {
		/* RUNNING is delivered before the run is handed over, so it always
		 * precedes EXITED and the thread never waits for it. */
		announce_running(c);
		ocre_pool_dispatch(w, container_run, container_finish, c);
		if (wait_for_exit)
			return ocre_container_wait(c, NULL);
		return OCRE_OK;
	}

	ocre_pool_dispatch(w, container_run, container_finish, c);
	while (sem_wait(&c->ready) != 0 && errno == EINTR)
		;

	pthread_mutex_lock(&c->lock);
	if (c->phase == RUN_NOT_BEGUN) {
		/* Posted by container_finish(): the thread is done with the
		 * container and parked. */
		c->phase = RUN_NONE;
		snprintf(message, sizeof(message), "container %s failed to start: %s", c->id, c->exit.message);
		return fail_start_unlock(c, false, OCRE_ERR_RUNTIME, message);
	}
	pthread_mutex_unlock(&c->lock);
	announce_running(c);

	if (wait_for_exit)
		return ocre_container_wait(c, NULL);
	return OCRE_OK;
}

int ocre_container_start(struct ocre_container *c)
{
	return start_impl(c, c && !c->detached, true);
}

int ocre_container_start_async(struct ocre_container *c)
{
	return start_impl(c, false, false);
}
