/* The Ocre application API: calls into the context's sensor and GPIO
 * providers (<ocre/devices.h>). The container thread waits on its own
 * condition variable, which a completion, a kill and an unpause signal. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "engine.h"

static void wake(void *arg)
{
	struct wamr_container *wc = arg;

	pthread_mutex_lock(&wc->lock);
	pthread_cond_broadcast(&wc->cond);
	pthread_mutex_unlock(&wc->lock);
}

int ocre_api_device_call(struct ocre_api *api, wasm_exec_env_t exec_env, enum ocre_device_op op, unsigned unit,
                         unsigned channel, int arg, double *value)
{
	struct wamr_container *wc = api->wc;
	struct ocre_device_call *call;
	bool done, killed;
	int result = 0;

	/* A killed run calls no provider: one that outlived a bounded context
	 * destroy must not reach providers its embedder has released since. */
	pthread_mutex_lock(&wc->lock);
	killed = wc->kill_flag;
	pthread_mutex_unlock(&wc->lock);
	if (killed) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return -EINTR;
	}
	call = ocre_device_call_start(api->context, op, unit, channel, arg, wake, wc, &result);
	if (!call)
		return result;
	pthread_mutex_lock(&wc->lock);
	while (!(done = ocre_device_call_done(call, &result, value)) && !wc->kill_flag)
		pthread_cond_wait(&wc->cond, &wc->lock);
	killed = !done;
	pthread_mutex_unlock(&wc->lock);
	ocre_device_call_release(call); /* a late completion is dropped */
	if (killed) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return -EINTR;
	}
	return result;
}

bool ocre_api_valid_name(const char *name)
{
	size_t n = name ? strnlen(name, OCRE_DEVICE_NAME_MAX + 1) : 0;
	return n > 0 && n <= OCRE_DEVICE_NAME_MAX;
}
