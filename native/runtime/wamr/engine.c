/* The "wamr/wasip1" engine: WASI preview1 commands on WAMR's fast interpreter.
 *
 * Per container: the module is loaded once at create; each start instantiates
 * it on the container thread, runs its entry points (start function, hooks,
 * `_start`: entry.c) in an exec env of our own, and frees the instance at the
 * end of the run.
 *
 * Kill: a busy loop is ended through the exec env's terminate flag (bit 0 of
 * suspend_flags, checked by the interpreter at every branch); host calls that
 * block (sleep, stdin read, stdout write) wait on our condition variable or
 * eventfd instead of the OS, so a kill wakes them (see wasi.c).
 *
 * This file: init, deinit, the control calls made from other threads (kill,
 * stop, pause, unpause) and the vtable. A container's create and destroy are
 * in engine_create.c, its run on the container thread in engine_run.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "module_cache.h"
#include "version.h"
#include "wasm_exec_env.h"
#include "wasm_runtime_common.h"

#include <ocre/platform/memory.h>
#include <ocre/runtime/support.h>
#include <ocre/runtime/wamr.h>

LOG_MODULE_REGISTER(wamr_engine);

#ifndef WAMR_VERSION_MAJOR
#error "WAMR's core/version.h did not define WAMR_VERSION_MAJOR"
#endif
#if WAMR_VERSION_MAJOR != 1
#error "this engine is written against WAMR 1.x (exec env suspend flags, WASI context layout)"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

const char *ocre_wamr_version(void)
{
	return STR(WAMR_VERSION_MAJOR) "." STR(WAMR_VERSION_MINOR) "." STR(WAMR_VERSION_PATCH);
}

/* ---- init / deinit ---- */

static void *alloc_fn(unsigned int size)
{
	return user_malloc(size);
}

static void free_fn(void *ptr)
{
	user_free(ptr);
}

static void *realloc_fn(void *ptr, unsigned int size)
{
	return user_realloc(ptr, size);
}

static int wamr_init(void)
{
	RuntimeInitArgs args;

	memset(&args, 0, sizeof(args));
	args.mem_alloc_type = Alloc_With_Allocator;
	args.mem_alloc_option.allocator.malloc_func = (void *)alloc_fn;
	args.mem_alloc_option.allocator.free_func = (void *)free_fn;
	args.mem_alloc_option.allocator.realloc_func = (void *)realloc_fn;
	args.max_thread_num = 1; /* one thread per container; no wasi-threads */
	if (!wasm_runtime_full_init(&args)) {
		ocre_fail(OCRE_ERR_RUNTIME, "WAMR failed to initialise");
		return -1;
	}
	if (!ocre_wasi_register() || !ocre_api_register() || !ocre_api_timers_start()) {
		wasm_runtime_destroy();
		ocre_api_timers_shutdown();
		ocre_fail(OCRE_ERR_RUNTIME,
		          "could not register the WASI overrides and the Ocre API, or start its timer thread");
		return -1;
	}
	ocre_wamr_reservations_open();
	LOG_INF("WAMR %s initialised", ocre_wamr_version());
	return 0;
}

static int wamr_deinit(void)
{
	ocre_api_timers_shutdown();
	ocre_wamr_module_cache_clear();
	wasm_runtime_destroy();
	ocre_wamr_reservations_close();
	return 0;
}

/* ---- control from other threads ---- */

static void wake_locked(struct wamr_container *wc)
{
	pthread_cond_broadcast(&wc->cond);
	if (wc->wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(wc->wake_fd, &one, sizeof(one));
		(void)n; /* a full eventfd is already awake */
	}
}

static int wamr_kill(void *ctx)
{
	struct wamr_container *wc = ctx;

	pthread_mutex_lock(&wc->lock);
	wc->kill_flag = true;
	/* Bit 0 of suspend_flags ends the interpreter loop at its next branch.
	 * Atomic so the interpreter thread sees it promptly. */
	if (wc->exec_env)
		__atomic_fetch_or(&wc->exec_env->suspend_flags.flags, 1u, __ATOMIC_SEQ_CST);
	wake_locked(wc);
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

static int wamr_stop(void *ctx)
{
	struct wamr_container *wc = ctx;

	pthread_mutex_lock(&wc->lock);
	wc->stop_flag = true; /* stdin now reads as end-of-file */
	wake_locked(wc);
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

static int wamr_pause(void *ctx)
{
	struct wamr_container *wc = ctx;

	pthread_mutex_lock(&wc->lock);
	wc->pause_flag = true;
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

static int wamr_unpause(void *ctx)
{
	struct wamr_container *wc = ctx;

	pthread_mutex_lock(&wc->lock);
	wc->pause_flag = false;
	wake_locked(wc);
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

static const char *wamr_tier(void *ctx)
{
	return ((struct wamr_container *)ctx)->image->aot ? "aot" : "interpreter";
}

/* Native stack host calls may use below a run's guest frames (WASI calls,
 * logging, a signal frame, WAMR's own guard). */
#define WAMR_HOST_STACK (64u * 1024u)

/* Compiled code keeps its frames on the thread's own stack: an AOT
 * container's thread gets its stack size (the interpreter's frames live in
 * the WASM stack WAMR allocates, on any thread). */
static size_t wamr_thread_stack_size(void *ctx)
{
	struct wamr_container *wc = ctx;
	return wc->image->aot ? (size_t)wc->stack_size + WAMR_HOST_STACK : 0;
}

static unsigned long long wamr_events_dropped(void *ctx)
{
	return __atomic_load_n(&((struct wamr_container *)ctx)->events_dropped, __ATOMIC_RELAXED);
}

static ocre_exit_reason_t wamr_exit_reason(void *ctx, char *message, size_t size)
{
	struct wamr_container *wc = ctx;
	ocre_exit_reason_t reason;

	pthread_mutex_lock(&wc->lock);
	reason = wc->reason;
	if (message && size)
		snprintf(message, size, "%s", wc->message);
	pthread_mutex_unlock(&wc->lock);
	return reason;
}

const struct ocre_runtime_vtable ocre_wamr_engine = {
    .runtime_name = OCRE_RUNTIME_WAMR_WASIP1,
    .init = wamr_init,
    .deinit = wamr_deinit,
    .create = ocre_wamr_create,
    .create_with = ocre_wamr_create_with,
    .destroy = ocre_wamr_destroy,
    .thread_execute = ocre_wamr_thread_execute,
    .stop = wamr_stop,
    .kill = wamr_kill,
    .pause = wamr_pause,
    .unpause = wamr_unpause,
    .exit_reason = wamr_exit_reason,
    .set_stdio = ocre_wamr_set_stdio,
    .configure = ocre_wamr_configure,
    .prepare = ocre_wamr_prepare,
    .tier = wamr_tier,
    .events_dropped = wamr_events_dropped,
    .take_output = ocre_wamr_take_output,
    .thread_stack_size = wamr_thread_stack_size,
};
