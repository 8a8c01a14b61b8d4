/* Containers: the calls that control a run from other threads: pause,
 * unpause, kill, stop and wait. */
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

LOG_MODULE_DECLARE(container);

int ocre_container_pause(struct ocre_container *c)
{
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_RUNNING)
		return ocre_container_unlock_and_fail_state(c, observed, "pause");
	if (!c->engine->pause) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot pause", c->engine->runtime_name);
	}
	if (c->engine->pause(c->engine_ctx) != 0) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_RUNTIME, "engine %s failed to pause %s", c->engine->runtime_name, c->id);
	}
	/* TRANSITION: RUNNING -> PAUSED */
	c->status = OCRE_CONTAINER_STATUS_PAUSED;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_PAUSED);
	return OCRE_OK;
}

/* TRANSITION: PAUSED -> RUNNING. Called with c->lock held. */
static int unpause_locked(struct ocre_container *c)
{
	if (!c->engine->unpause)
		return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot unpause", c->engine->runtime_name);
	if (c->engine->unpause(c->engine_ctx) != 0)
		return ocre_fail(OCRE_ERR_RUNTIME, "engine %s failed to unpause %s", c->engine->runtime_name, c->id);
	c->status = OCRE_CONTAINER_STATUS_RUNNING;
	pthread_cond_broadcast(&c->cond);
	return OCRE_OK;
}

int ocre_container_unpause(struct ocre_container *c)
{
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_PAUSED)
		return ocre_container_unlock_and_fail_state(c, observed, "unpause");
	ret = unpause_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (ret == OCRE_OK)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
	return ret;
}

int ocre_container_kill(struct ocre_container *c)
{
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	switch (c->status) {
	case OCRE_CONTAINER_STATUS_RUNNING:
	case OCRE_CONTAINER_STATUS_PAUSED:
		if (!c->engine->kill) {
			pthread_mutex_unlock(&c->lock);
			return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot kill", c->engine->runtime_name);
		}
		c->kill_requested = true;
		ret = c->engine->kill(c->engine_ctx) == 0
		          ? OCRE_OK
		          : ocre_fail(OCRE_ERR_RUNTIME, "engine failed to kill container %s", c->id);
		pthread_mutex_unlock(&c->lock);
		if (ret == OCRE_OK)
			LOG_DBG("container %s: kill requested", c->id);
		return ret;
	case OCRE_CONTAINER_STATUS_EXITED:
	case OCRE_CONTAINER_STATUS_STOPPED:
		pthread_mutex_unlock(&c->lock);
		if (observed)
			ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return OCRE_OK; /* already ended: nothing to kill */
	default:
		return ocre_container_unlock_and_fail_state(c, observed, "kill");
	}
}

int ocre_container_stop_async(struct ocre_container *c, unsigned grace_ms)
{
	bool observed = false, unpaused = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	switch (c->status) {
	case OCRE_CONTAINER_STATUS_RUNNING:
	case OCRE_CONTAINER_STATUS_PAUSED:
		break;
	case OCRE_CONTAINER_STATUS_EXITED:
	case OCRE_CONTAINER_STATUS_STOPPED:
		pthread_mutex_unlock(&c->lock);
		if (observed)
			ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return OCRE_OK;
	default:
		return ocre_container_unlock_and_fail_state(c, observed, "stop");
	}
	/* A paused container cannot finish by itself: let it run its grace period. */
	if (c->status == OCRE_CONTAINER_STATUS_PAUSED && grace_ms > 0) {
		if ((ret = unpause_locked(c)) != OCRE_OK) {
			pthread_mutex_unlock(&c->lock);
			return ret;
		}
		unpaused = true;
	}
	if (c->engine->stop && grace_ms > 0)
		c->engine->stop(c->engine_ctx);
	pthread_mutex_unlock(&c->lock);
	if (unpaused)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
	LOG_DBG("container %s: stop requested, grace %u ms", c->id, grace_ms);
	if (grace_ms == 0)
		return ocre_container_kill(c);
	return ocre_timer_schedule_kill(c, grace_ms);
}

int ocre_container_stop(struct ocre_container *c)
{
	int ret = ocre_container_stop_async(c, OCRE_STOP_DEFAULT_GRACE_MS);
	if (ret != OCRE_OK)
		return ret;
	return ocre_container_wait(c, NULL);
}

static int wait_impl(struct ocre_container *c, int *status, const unsigned *timeout_ms)
{
	struct timespec deadline;
	bool observed = false;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (timeout_ms) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += *timeout_ms / 1000;
		deadline.tv_nsec += (long)(*timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	if (c->status == OCRE_CONTAINER_STATUS_CREATED || c->status == OCRE_CONTAINER_STATUS_ERROR)
		return ocre_container_unlock_and_fail_state(c, observed, "wait for");
	if (c->phase != RUN_NONE && c->phase != RUN_DONE && pthread_equal(pthread_self(), c->thread)) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_STATE, "container %s cannot wait for itself", c->id);
	}
	while (c->status == OCRE_CONTAINER_STATUS_RUNNING || c->status == OCRE_CONTAINER_STATUS_PAUSED) {
		if (!timeout_ms) {
			pthread_cond_wait(&c->cond, &c->lock);
		} else if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT &&
		           (c->status == OCRE_CONTAINER_STATUS_RUNNING || c->status == OCRE_CONTAINER_STATUS_PAUSED)) {
			pthread_mutex_unlock(&c->lock);
			if (observed)
				ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
			return ocre_fail(OCRE_ERR_TIMEOUT, "container %s still running after %u ms", c->id,
			                 *timeout_ms);
		}
	}
	if (ocre_container_observe_locked(c))
		observed = true;
	(void)ocre_container_settle_locked(c); /* its events are out when this returns */
	if (status)
		*status = c->exit.status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_wait(struct ocre_container *c, int *status)
{
	return wait_impl(c, status, NULL);
}

int ocre_container_wait_timeout(struct ocre_container *c, int *status, unsigned timeout_ms)
{
	return wait_impl(c, status, &timeout_ms);
}
