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
 * eventfd instead of the OS, so a kill wakes them (see wasi.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

/* The container whose run is on this thread (set by wamr_thread_execute). */
static __thread struct wamr_container *running;

struct wamr_container *ocre_wamr_from_exec_env(wasm_exec_env_t exec_env)
{
	struct wamr_container *wc = exec_env ? wasm_runtime_get_user_data(exec_env) : NULL;
	return wc ? wc : running;
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
	if (!ocre_wasi_register() || !ocre_api_register()) {
		wasm_runtime_destroy();
		ocre_fail(OCRE_ERR_RUNTIME, "could not register the WASI overrides and the Ocre API");
		return -1;
	}
	LOG_INF("WAMR %s initialised", ocre_wamr_version());
	return 0;
}

static int wamr_deinit(void)
{
	ocre_api_timers_shutdown();
	ocre_wamr_module_cache_clear();
	wasm_runtime_destroy();
	return 0;
}

/* ---- create / destroy ---- */

static void free_container(struct wamr_container *wc)
{
	int i;

	if (wc->image)
		ocre_wamr_module_put(wc->image);
	ocre_strv_free(wc->argv);
	ocre_strv_free(wc->envp);
	for (i = 0; i < wc->ndirs; i++) {
		free(wc->dirs[i].host);
		free(wc->dirs[i].guest);
		free(wc->dirs[i].real);
	}
	free(wc->dirs);
	free(wc->dir_hosts);
	if (wc->wake_fd >= 0)
		close(wc->wake_fd);
	pthread_cond_destroy(&wc->cond);
	pthread_mutex_destroy(&wc->lock);
	free(wc->id);
	free(wc);
}

static bool add_dir(struct wamr_container *wc, const char *host, size_t host_len, const char *guest, size_t guest_len,
                    bool readonly)
{
	struct wamr_dir *d = &wc->dirs[wc->ndirs];
	size_t i, n = 0;

	d->host = strndup(host, host_len);
	d->guest = malloc(guest_len + 1);
	d->readonly = readonly;
	if (!d->host || !d->guest) {
		free(d->host);
		free(d->guest);
		return false;
	}
	/* the guest path normalized: no repeated or trailing slashes (the core
	 * refused "." and ".." components) */
	for (i = 0; i < guest_len; i++)
		if (guest[i] != '/' || n == 0 || d->guest[n - 1] != '/')
			d->guest[n++] = guest[i];
	while (n > 1 && d->guest[n - 1] == '/')
		n--;
	d->guest[n] = '\0';
	d->real = realpath(d->host, NULL); /* for path_symlink's depth; NULL: no links there */
	wc->dir_hosts[wc->ndirs] = d->host;
	wc->ndirs++;
	return true;
}

static bool parse_sha256(const char *hex, uint8_t out[32])
{
	int i, v;

	if (strlen(hex) != 64)
		return false;
	for (i = 0; i < 64; i++) {
		char c = hex[i];
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return true;
}

static void *wamr_create_with(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                              const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                              int stderr_fd, const struct ocre_engine_options *options)
{
	struct wamr_container *wc;
	const char *image_name = strrchr(img_path, '/');
	size_t nmounts = ocre_strv_len(mounts), i;
	int pass;
	const char **argv0;
	pthread_condattr_t cattr;

	image_name = image_name ? image_name + 1 : img_path;
	wc = calloc(1, sizeof(*wc));
	if (!wc) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&wc->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&wc->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	wc->wake_fd = -1;
	wc->stack_size = CONFIG_OCRE_WASM_STACK_SIZE;
	wc->max_open_files = CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES;
	wc->fds[0] = stdin_fd;
	wc->fds[1] = stdout_fd;
	wc->fds[2] = stderr_fd;
	wc->id = strdup(id);

	/* argv[0] is the image name, as a shell would give a program its name */
	argv0 = calloc(ocre_strv_len(argv) + 2, sizeof(char *));
	if (!argv0)
		goto err_nomem;
	argv0[0] = image_name;
	for (i = 0; argv && argv[i]; i++)
		argv0[i + 1] = argv[i];
	wc->argv = ocre_strv_dup(argv0);
	free(argv0);
	wc->envp = ocre_strv_dup(envp);
	wc->dirs = calloc(nmounts + 1, sizeof(*wc->dirs));
	wc->dir_hosts = calloc(nmounts + 2, sizeof(char *));
	if (!wc->id || !wc->argv || !wc->envp || !wc->dirs || !wc->dir_hosts)
		goto err_nomem;
	wc->argc = (int)ocre_strv_len((const char *const *)wc->argv);
	wc->envc = (int)ocre_strv_len((const char *const *)wc->envp);

	/* Preopens: the guest's "/" first (the private directory, or a mount
	 * at "/": the core allows only one of them), then the other mounts in
	 * order. */
	if (workdir && !add_dir(wc, workdir, strlen(workdir), "/", 1, false))
		goto err_nomem;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nmounts; i++) {
			const char *m = mounts[i], *colon = strchr(m, ':'), *dst = colon + 1, *opt = strchr(dst, ':');
			size_t dst_len = opt ? (size_t)(opt - dst) : strlen(dst);
			if ((pass == 0) != (strspn(dst, "/") == dst_len))
				continue;
			if (!add_dir(wc, m, (size_t)(colon - m), dst, dst_len, opt && strcmp(opt, ":ro") == 0))
				goto err_nomem;
		}
	}
	for (i = 0; capabilities && capabilities[i]; i++)
		if (strcmp(capabilities[i], "networking") == 0)
			wc->networking = true;
		else if (strcmp(capabilities[i], "ocre:api") == 0)
			wc->ocre_api = true;

	wc->context = options->context;
	{
		const struct ocre_container_args *args = ocre_create_arguments();
		uint8_t expected[32];
		bool pinned = args && args->image_sha256;

		if (pinned && !parse_sha256(args->image_sha256, expected)) {
			ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "image_sha256 must be 64 hex digits");
			goto err_free;
		}
		wc->image = ocre_wamr_module_get(img_path, image_name, options->tier, pinned ? expected : NULL);
	}
	if (!wc->image)
		goto err_free;
	return wc;

err_nomem:
	ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
err_free:
	free_container(wc);
	return NULL;
}

static void *wamr_create(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                         const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                         int stderr_fd)
{
	const struct ocre_engine_options defaults = {.tier = OCRE_TIER_AUTO, .context = NULL};
	return wamr_create_with(id, img_path, workdir, capabilities, argv, envp, mounts, stdin_fd, stdout_fd, stderr_fd,
	                        &defaults);
}

static int wamr_destroy(void *ctx)
{
	if (!ctx)
		return -1;
	free_container(ctx);
	return 0;
}

static int wamr_configure(void *ctx, const struct ocre_container_args *args)
{
	struct wamr_container *wc = ctx;
	size_t stack = args && args->stack_size ? args->stack_size : CONFIG_OCRE_WASM_STACK_SIZE;

	if (stack < 4096 || stack > CONFIG_OCRE_WASM_STACK_SIZE_MAX) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "stack size %zu is out of range (4 KiB to %u MiB)", stack,
		          CONFIG_OCRE_WASM_STACK_SIZE_MAX >> 20);
		return -1;
	}
	wc->stack_size = (uint32_t)stack;
	wc->max_open_files = args && args->max_open_files ? args->max_open_files : CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES;
	return 0;
}

static int wamr_set_stdio(void *ctx, int stdin_fd, int stdout_fd, int stderr_fd)
{
	struct wamr_container *wc = ctx;
	pthread_mutex_lock(&wc->lock);
	wc->fds[0] = stdin_fd;
	wc->fds[1] = stdout_fd;
	wc->fds[2] = stderr_fd;
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

static int wamr_prepare(void *ctx)
{
	struct wamr_container *wc = ctx;
	pthread_mutex_lock(&wc->lock);
	wc->kill_flag = wc->pause_flag = wc->stop_flag = false;
	wc->reason = OCRE_EXIT_REASON_NONE;
	wc->message[0] = '\0';
	if (wc->wake_fd >= 0) {
		uint64_t drain;
		while (read(wc->wake_fd, &drain, sizeof(drain)) > 0)
			;
	}
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

/* ---- the run ---- */

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

static const char *const ip_pool[] = {"0.0.0.0/0", "::/0"};
static const char *const ns_pool[] = {"*"};

static int wamr_thread_execute(void *ctx, sem_t *sem)
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
		if (wc->ignored[i])
			continue;
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
	if (!inst) {
		/* The run's fds were never handed over (see stdio.c). */
		ocre_wamr_stdio_discard(&ph);
		close_run_fds(wc);
		set_result(wc, OCRE_EXIT_REASON_TRAP, error[0] ? error : "WAMR could not instantiate the module");
		goto fail_thread_env;
	}
	/* before any guest code runs (entry.c): the start function has stdio */
	pthread_mutex_lock(&wc->lock);
	ocre_wamr_stdio_install(inst, wc->run_fds);
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
	running = NULL;
	wasm_runtime_destroy_thread_env();
	return status;

fail_inst:
	wasm_runtime_deinstantiate(inst);
fail_thread_env:
	running = NULL;
	release_api(wc);
	wasm_runtime_destroy_thread_env();
	return -1;
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
    .create = wamr_create,
    .create_with = wamr_create_with,
    .destroy = wamr_destroy,
    .thread_execute = wamr_thread_execute,
    .stop = wamr_stop,
    .kill = wamr_kill,
    .pause = wamr_pause,
    .unpause = wamr_unpause,
    .exit_reason = wamr_exit_reason,
    .set_stdio = wamr_set_stdio,
    .configure = wamr_configure,
    .prepare = wamr_prepare,
    .tier = wamr_tier,
    .events_dropped = wamr_events_dropped,
};
