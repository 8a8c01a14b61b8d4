/* The "wamr/wasip1" engine: a run on the container thread: its stdio
 * duplicates, instantiation, the guest's entry points (entry.c) and the
 * exit status, reason and message. */
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
#include "wasm_exec_env.h"
#include "wasm_runtime.h"
#include "wasm_runtime_common.h"

#include <ocre/platform/memory.h>
#include <ocre/runtime/support.h>
#include <ocre/runtime/wamr.h>

/* The container whose run is on this thread (set by wamr_thread_execute). */
static __thread struct wamr_container *running;

struct wamr_container *ocre_wamr_from_exec_env(wasm_exec_env_t exec_env)
{
	struct wamr_container *wc = exec_env ? wasm_runtime_get_user_data(exec_env) : NULL;
	return wc ? wc : running;
}

/* Close the run's stdio fds that were never handed to WAMR. */
static void close_run_fds(struct wamr_container *wc)
{
	int i;

	pthread_mutex_lock(&wc->lock);
	for (i = 0; i < 3; i++) {
		if (wc->run_fds[i] >= 0)
			close(wc->run_fds[i]);
		wc->run_fds[i] = -1;
	}
	pthread_mutex_unlock(&wc->lock);
}

static void set_result(struct wamr_container *wc, ocre_exit_reason_t reason, const char *message)
{
	size_t n;

	pthread_mutex_lock(&wc->lock);
	wc->reason = reason;
	snprintf(wc->message, sizeof(wc->message), "%s", message ? message : "");
	/* one line: some WAMR messages end in a newline */
	for (n = strlen(wc->message); n > 0 && (wc->message[n - 1] == '\n' || wc->message[n - 1] == ' '); n--)
		wc->message[n - 1] = '\0';
	pthread_mutex_unlock(&wc->lock);
}

static void release_api(struct wamr_container *wc)
{
	struct ocre_api *api;

	pthread_mutex_lock(&wc->lock);
	api = wc->api;
	wc->api = NULL;
	pthread_mutex_unlock(&wc->lock);
	ocre_api_free(api);
}

/* Every preopen (mount source, private directory) must still be a directory
 * we can open; say which one is not. (WAMR would fail the instantiation with
 * "error while pre-opening directory <path>: <errno number>".) */
static bool check_preopens(struct wamr_container *wc, char *error, size_t error_size)
{
	int i, fd;

	for (i = 0; i < wc->ndirs; i++) {
		fd = open(wc->dirs[i].host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(error, error_size, "cannot open %s, mounted at %s: %s", wc->dirs[i].host,
			         wc->dirs[i].guest, strerror(errno));
			return false;
		}
		close(fd);
	}
	return true;
}

/* With guard regions (OS_ENABLE_HW_BOUND_CHECK) WAMR maps the default linear
 * memory itself (an 8 GiB reservation, pages made accessible as it grows)
 * instead of allocating it through user_malloc()/user_realloc(), whose
 * per-thread cap is the container's memory limit: apply the same cap here.
 * The same outcome as with software checks: an initial memory over the limit
 * fails the instantiation as the allocation did, and memory.grow past it
 * returns -1 (a size in bytes over the limit is refused, one at it is not). */
static bool cap_linear_memory(wasm_module_inst_t inst, bool aot, char *error, size_t error_size)
{
#ifdef OS_ENABLE_HW_BOUND_CHECK
	WASMMemoryInstance *m = wasm_get_default_memory((WASMModuleInstance *)inst);
	size_t limit = ocre_memory_get_thread_limit();
	uint64_t max_pages;

	if (!m || !limit || !m->num_bytes_per_page)
		return true;
	if ((uint64_t)m->num_bytes_per_page * m->cur_page_count > limit) {
		snprintf(error, error_size, "%s module instantiate failed: allocate memory failed",
		         aot ? "AOT" : "WASM");
		return false;
	}
	max_pages = limit / m->num_bytes_per_page;
	if (m->max_page_count > max_pages)
		m->max_page_count = (uint32_t)max_pages;
#else
	(void)inst, (void)aot, (void)error, (void)error_size;
#endif
	return true;
}

static const char *const ip_pool[] = {"0.0.0.0/0", "::/0"};
static const char *const ns_pool[] = {"*"};

int ocre_wamr_thread_execute(void *ctx, sem_t *sem)
{
	struct wamr_container *wc = ctx;
	wasm_module_inst_t inst = NULL;
	wasm_exec_env_t exec_env = NULL;
	uint32_t entries[4];
	struct wamr_stdio_placeholders ph;
	char error[256] = "";
	const char *exception;
	int status, i;
	bool ok, killed;

	if (!wasm_runtime_init_thread_env()) {
		set_result(wc, OCRE_EXIT_REASON_TRAP, "WAMR could not set up the container thread");
		return -1;
	}
	running = wc;
	wc->proc_exited = false;
	ocre_wamr_output_reset(wc); /* the last run's, not taken */

	/* Every run gets duplicates numbered above 2: WAMR closes an instance's
	 * fds > 2 when it is freed (so readers see end-of-file at exit), and
	 * built with BH_VPRINTF it would send writes to host fds 1 and 2 through
	 * its log hook instead of writev(). */
	pthread_mutex_lock(&wc->lock);
	for (i = 0; i < 3; i++)
		wc->run_fds[i] = -1; /* the last run's went with its instance */
	for (i = 0; i < 3; i++) {
		int from = wc->fds[i] >= 0 ? wc->fds[i] : i;
		/* A discarded stream costs no fd: its WASI slot stays empty
		 * (stdio.c), and fd_read/fd_write serve it (wasi_io.c). */
		wc->ignored[i] = wc->fds[i] == OCRE_STDIO_IGNORE;
		wc->captured[i] = wc->fds[i] == OCRE_STDIO_CAPTURE;
		if (wc->ignored[i])
			continue;
		if (wc->captured[i]) {
			/* a pipe of its own, written to memory (output.c) */
			wc->run_fds[i] = ocre_wamr_output_open(wc, i, error, sizeof(error));
			if (wc->run_fds[i] < 0) {
				pthread_mutex_unlock(&wc->lock);
				close_run_fds(wc);
				set_result(wc, OCRE_EXIT_REASON_TRAP, error);
				goto fail_thread_env;
			}
			continue;
		}
		wc->run_fds[i] = fcntl(from, F_DUPFD_CLOEXEC, 3);
		if (wc->run_fds[i] < 0) {
			snprintf(error, sizeof(error), "cannot duplicate stdio fd %d: %s", from, strerror(errno));
			pthread_mutex_unlock(&wc->lock);
			close_run_fds(wc);
			set_result(wc, OCRE_EXIT_REASON_TRAP, error);
			goto fail_thread_env;
		}
	}
	/* The Ocre API state exists before instantiation: start sections may use it. */
	if (wc->ocre_api && !(wc->api = ocre_api_new(wc, wc->context))) {
		pthread_mutex_unlock(&wc->lock);
		close_run_fds(wc);
		set_result(wc, OCRE_EXIT_REASON_TRAP, "out of memory for the Ocre API state");
		goto fail_thread_env;
	}
	pthread_mutex_unlock(&wc->lock);
	if (!check_preopens(wc, error, sizeof(error)) || ocre_wamr_stdio_placeholders(&ph, error, sizeof(error)) != 0) {
		close_run_fds(wc);
		set_result(wc, OCRE_EXIT_REASON_TRAP, error);
		goto fail_thread_env;
	}

	/* The module is shared and WAMR reads the WASI args from it while it
	 * instantiates: set this container's and instantiate under its lock.
	 * No guest code runs in here (entry.c), so the lock is held briefly. */
	pthread_mutex_lock(&wc->image->lock);
	wasm_runtime_set_wasi_args_ex(wc->image->module, wc->dir_hosts, (uint32_t)wc->ndirs, NULL, 0,
	                              (const char **)wc->envp, (uint32_t)wc->envc, wc->argv, wc->argc, ph.fd[0],
	                              ph.fd[1], ph.fd[2]);
	if (wc->networking) {
		wasm_runtime_set_wasi_addr_pool(wc->image->module, (const char **)ip_pool, 2);
		wasm_runtime_set_wasi_ns_lookup_pool(wc->image->module, (const char **)ns_pool, 1);
	} else {
		wasm_runtime_set_wasi_addr_pool(wc->image->module, NULL, 0);
		wasm_runtime_set_wasi_ns_lookup_pool(wc->image->module, NULL, 0);
	}
	inst = wasm_runtime_instantiate(wc->image->module, wc->stack_size, CONFIG_OCRE_WASM_HEAP_SIZE, error,
	                                sizeof(error));
	pthread_mutex_unlock(&wc->image->lock);
	if (inst && !cap_linear_memory(inst, wc->image->aot, error, sizeof(error))) {
		wasm_runtime_deinstantiate(inst);
		inst = NULL;
	}
	if (!inst) {
		/* The run's fds were never handed over (see stdio.c). */
		ocre_wamr_stdio_discard(&ph);
		close_run_fds(wc);
		set_result(wc, OCRE_EXIT_REASON_TRAP, error[0] ? error : "WAMR could not instantiate the module");
		goto fail_thread_env;
	}
	/* before any guest code runs (entry.c): the start function has stdio */
	pthread_mutex_lock(&wc->lock);
	ocre_wamr_stdio_install(inst, wc->run_fds, &ph);
	ocre_wamr_output_attach(wc, inst);
	pthread_mutex_unlock(&wc->lock);
	if (!wc->image->entry.main_ok) {
		set_result(wc, OCRE_EXIT_REASON_TRAP,
		           wc->image->entry.main == OCRE_WAMR_NO_FUNC
		               ? "the module is not a WASI command: it exports no _start function"
		               : "the module is not a WASI command: its _start function takes or returns values");
		goto fail_inst;
	}
	exec_env = wasm_runtime_create_exec_env(inst, wc->stack_size);
	if (!exec_env) {
		set_result(wc, OCRE_EXIT_REASON_TRAP, "WAMR could not create an execution environment");
		goto fail_inst;
	}
	wasm_runtime_set_user_data(exec_env, wc);
	ocre_wasi_restrict(wc, inst);
	ocre_wasi_preopens_reset(wc);

	pthread_mutex_lock(&wc->lock);
	wc->inst = inst;
	wc->exec_env = exec_env;
	killed = wc->kill_flag;
	pthread_mutex_unlock(&wc->lock);
	sem_post(sem); /* from here a kill takes effect */

	/* The guest's code, in WAMR's order (see entry.c), until one of them
	 * traps, exits or is killed. */
	entries[0] = wc->image->entry.post_inst;
	entries[1] = wc->image->entry.start;
	entries[2] = wc->image->entry.ctors;
	entries[3] = wc->image->entry.main;
	ok = true;
	for (i = 0; i < 4 && ok && !killed && !wc->proc_exited; i++) {
		if (entries[i] == OCRE_WAMR_NO_FUNC)
			continue;
		ok = ocre_wamr_entry_call(wc->image, exec_env, inst, entries[i]);
		pthread_mutex_lock(&wc->lock);
		killed = wc->kill_flag;
		pthread_mutex_unlock(&wc->lock);
	}

	pthread_mutex_lock(&wc->lock);
	wc->exec_env = NULL;
	wc->inst = NULL;
	killed = wc->kill_flag;
	pthread_mutex_unlock(&wc->lock);
	release_api(wc); /* timers, subscriptions, queued events: gone now */

	exception = wasm_runtime_get_exception(inst);
	if (killed) {
		status = OCRE_EXIT_STATUS_KILLED;
		set_result(wc, OCRE_EXIT_REASON_KILLED, "");
	} else if (wc->proc_exited || ok) {
		/* proc_exit, wherever called (a start function included), ends the
		 * run; WAMR keeps its code in the WASI context (0 if main returned). */
		status = (int)(wasm_runtime_get_wasi_exit_code(inst) & 0xff);
		set_result(wc, OCRE_EXIT_REASON_EXIT, "");
	} else {
		const char *text = exception ? exception : "unknown failure";
		if (strncmp(text, "Exception: ", 11) == 0)
			text += 11;
		/* The same guest overflows a different stack per tier: the
		 * interpreter's operand stack, or the native stack under AOT.
		 * One message for both, so a trap reads the same in either. */
		if (strcmp(text, "wasm operand stack overflow") == 0 || strcmp(text, "native stack overflow") == 0)
			text = "call stack overflow";
		status = OCRE_EXIT_STATUS_TRAP;
		set_result(wc, OCRE_EXIT_REASON_TRAP, text);
	}
	wasm_runtime_destroy_exec_env(exec_env);
	wasm_runtime_deinstantiate(inst);
	ocre_wamr_output_end_run(wc);
	running = NULL;
	wasm_runtime_destroy_thread_env();
	return status;

fail_inst:
	wasm_runtime_deinstantiate(inst);
fail_thread_env:
	ocre_wamr_output_end_run(wc);
	running = NULL;
	release_api(wc);
	wasm_runtime_destroy_thread_env();
	return -1;
}
