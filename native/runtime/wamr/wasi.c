/* WASI preview1 overrides registered in front of WAMR's own implementation.
 *
 * WAMR resolves an import against the most recently registered native table
 * first, so registering every wasi_snapshot_preview1 function again after
 * wasm_runtime_full_init() lets us:
 *  - make every host call a pause/kill checkpoint (generic trampolines that
 *    then call WAMR's function, kept as the symbol's attachment);
 *  - replace the calls WAMR 1.1.2 gets wrong for us:
 *      poll_oneoff           sleeps on a condition variable a kill/pause wakes;
 *                            with fds, one ppoll() with the wake eventfd
 *      fd_read, fd_write, sock_accept/connect/recv/send..., path_open of
 *                            a FIFO: never block in the OS longer than a
 *                            kill (wasi_io.c)
 *      path_open, sock_open  the open-file limit (wasi_fdlimit.c)
 *      path_symlink          targets checked lexically (wasi_symlink.c)
 *      fd_prestat_get/dir_name, fd_close, fd_renumber  preopens under their
 *                            guest names, closable and renumberable
 *                            (wasi_preopen.c)
 *      fd_filestat_set_times, sock_shutdown  argument checks (wasi_checks.c)
 *  - before a long sleep, hand the OS back the all-zero pages of the run's
 *    linear memory and operand stack (see release_zero_pages).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "wasm_exec_env.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

#include <ocre/platform/log.h>
#include <ocre/platform/system.h>

LOG_MODULE_REGISTER(wamr_wasi);

/* A host call gets its parameters in the C types WAMR's invokeNative passes for
 * its signature: 'i' and '~' a uint32_t, '*' and '$' a native pointer, 'I' a
 * uint64_t. Each trampoline and override is declared with exactly those types,
 * so it forwards them unchanged on every ABI (on 32-bit ARM a uint64_t takes
 * an aligned register pair: an all-uint64_t prototype would shift them). */
typedef uint32_t W;
typedef void *P;
typedef uint64_t L;

/* ---- checkpoints ---- */

static void kill_guest(wasm_exec_env_t exec_env)
{
	wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
}

bool ocre_wasi_checkpoint(struct wamr_container *wc)
{
	bool killed;

	pthread_mutex_lock(&wc->lock);
	while (wc->pause_flag && !wc->kill_flag)
		pthread_cond_wait(&wc->cond, &wc->lock);
	killed = wc->kill_flag;
	pthread_mutex_unlock(&wc->lock);
	return !killed;
}

#define CHECKPOINT(exec_env)                                                                                           \
	do {                                                                                                           \
		if (!ocre_wasi_checkpoint(ocre_wamr_from_exec_env(exec_env))) {                                        \
			kill_guest(exec_env);                                                                          \
			return __WASI_EINTR;                                                                           \
		}                                                                                                      \
	} while (0)

#define ORIGINAL(exec_env) wasm_runtime_get_function_attachment(exec_env)

/* ---- generic trampolines, one per parameter shape of WAMR's WASI table ---- */

/* A shape is a signature's parameters in W/P/L letters (see above). */
#define TRAMPOLINE(shape, params, args)                                                                                \
	static uint32_t trampoline_##shape params                                                                      \
	{                                                                                                              \
		CHECKPOINT(exec_env);                                                                                  \
		return ((uint32_t(*) params)ORIGINAL(exec_env))args & 0xffffu;                                         \
	}

TRAMPOLINE(0, (wasm_exec_env_t exec_env), (exec_env))
TRAMPOLINE(PP, (wasm_exec_env_t exec_env, P a1, P a2), (exec_env, a1, a2))
TRAMPOLINE(PPPPWP, (wasm_exec_env_t exec_env, P a1, P a2, P a3, P a4, W a5, P a6), (exec_env, a1, a2, a3, a4, a5, a6))
TRAMPOLINE(PPWP, (wasm_exec_env_t exec_env, P a1, P a2, W a3, P a4), (exec_env, a1, a2, a3, a4))
TRAMPOLINE(PW, (wasm_exec_env_t exec_env, P a1, W a2), (exec_env, a1, a2))
TRAMPOLINE(PWWPW, (wasm_exec_env_t exec_env, P a1, W a2, W a3, P a4, W a5), (exec_env, a1, a2, a3, a4, a5))
TRAMPOLINE(W, (wasm_exec_env_t exec_env, W a1), (exec_env, a1))
TRAMPOLINE(WL, (wasm_exec_env_t exec_env, W a1, L a2), (exec_env, a1, a2))
TRAMPOLINE(WLL, (wasm_exec_env_t exec_env, W a1, L a2, L a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WLLW, (wasm_exec_env_t exec_env, W a1, L a2, L a3, W a4), (exec_env, a1, a2, a3, a4))
TRAMPOLINE(WLP, (wasm_exec_env_t exec_env, W a1, L a2, P a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WLWP, (wasm_exec_env_t exec_env, W a1, L a2, W a3, P a4), (exec_env, a1, a2, a3, a4))
TRAMPOLINE(WP, (wasm_exec_env_t exec_env, W a1, P a2), (exec_env, a1, a2))
TRAMPOLINE(WPP, (wasm_exec_env_t exec_env, W a1, P a2, P a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WPW, (wasm_exec_env_t exec_env, W a1, P a2, W a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WPWLP, (wasm_exec_env_t exec_env, W a1, P a2, W a3, L a4, P a5), (exec_env, a1, a2, a3, a4, a5))
TRAMPOLINE(WPWP, (wasm_exec_env_t exec_env, W a1, P a2, W a3, P a4), (exec_env, a1, a2, a3, a4))
TRAMPOLINE(WPWPWP, (wasm_exec_env_t exec_env, W a1, P a2, W a3, P a4, W a5, P a6), (exec_env, a1, a2, a3, a4, a5, a6))
TRAMPOLINE(WPWWP, (wasm_exec_env_t exec_env, W a1, P a2, W a3, W a4, P a5), (exec_env, a1, a2, a3, a4, a5))
TRAMPOLINE(WPWWPP, (wasm_exec_env_t exec_env, W a1, P a2, W a3, W a4, P a5, P a6), (exec_env, a1, a2, a3, a4, a5, a6))
TRAMPOLINE(WPWWPW, (wasm_exec_env_t exec_env, W a1, P a2, W a3, W a4, P a5, W a6), (exec_env, a1, a2, a3, a4, a5, a6))
TRAMPOLINE(WW, (wasm_exec_env_t exec_env, W a1, W a2), (exec_env, a1, a2))
TRAMPOLINE(WWP, (wasm_exec_env_t exec_env, W a1, W a2, P a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WWPWLLW, (wasm_exec_env_t exec_env, W a1, W a2, P a3, W a4, L a5, L a6, W a7),
           (exec_env, a1, a2, a3, a4, a5, a6, a7))
TRAMPOLINE(WWPWP, (wasm_exec_env_t exec_env, W a1, W a2, P a3, W a4, P a5), (exec_env, a1, a2, a3, a4, a5))
TRAMPOLINE(WWPWWLLWP, (wasm_exec_env_t exec_env, W a1, W a2, P a3, W a4, W a5, L a6, L a7, W a8, P a9),
           (exec_env, a1, a2, a3, a4, a5, a6, a7, a8, a9))
TRAMPOLINE(WWPWWPW, (wasm_exec_env_t exec_env, W a1, W a2, P a3, W a4, W a5, P a6, W a7),
           (exec_env, a1, a2, a3, a4, a5, a6, a7))
TRAMPOLINE(WWW, (wasm_exec_env_t exec_env, W a1, W a2, W a3), (exec_env, a1, a2, a3))
TRAMPOLINE(WWWP, (wasm_exec_env_t exec_env, W a1, W a2, W a3, P a4), (exec_env, a1, a2, a3, a4))

static const struct {
	const char *shape;
	void *fn;
} trampolines[] = {
    {"", (void *)trampoline_0},
    {"PP", (void *)trampoline_PP},
    {"PPPPWP", (void *)trampoline_PPPPWP},
    {"PPWP", (void *)trampoline_PPWP},
    {"PW", (void *)trampoline_PW},
    {"PWWPW", (void *)trampoline_PWWPW},
    {"W", (void *)trampoline_W},
    {"WL", (void *)trampoline_WL},
    {"WLL", (void *)trampoline_WLL},
    {"WLLW", (void *)trampoline_WLLW},
    {"WLP", (void *)trampoline_WLP},
    {"WLWP", (void *)trampoline_WLWP},
    {"WP", (void *)trampoline_WP},
    {"WPP", (void *)trampoline_WPP},
    {"WPW", (void *)trampoline_WPW},
    {"WPWLP", (void *)trampoline_WPWLP},
    {"WPWP", (void *)trampoline_WPWP},
    {"WPWPWP", (void *)trampoline_WPWPWP},
    {"WPWWP", (void *)trampoline_WPWWP},
    {"WPWWPP", (void *)trampoline_WPWWPP},
    {"WPWWPW", (void *)trampoline_WPWWPW},
    {"WW", (void *)trampoline_WW},
    {"WWP", (void *)trampoline_WWP},
    {"WWPWLLW", (void *)trampoline_WWPWLLW},
    {"WWPWP", (void *)trampoline_WWPWP},
    {"WWPWWLLWP", (void *)trampoline_WWPWWLLWP},
    {"WWPWWPW", (void *)trampoline_WWPWWPW},
    {"WWW", (void *)trampoline_WWW},
    {"WWWP", (void *)trampoline_WWWP},
};

/* proc_exit returns nothing */
static void trampoline_proc_exit(wasm_exec_env_t exec_env, W code)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);

	if (!ocre_wasi_checkpoint(wc)) {
		kill_guest(exec_env);
		return;
	}
	wc->proc_exited = true; /* only this thread reads it, after the call */
	((void (*)(wasm_exec_env_t, W))ORIGINAL(exec_env))(exec_env, code);
}

/* ---- poll_oneoff: sleeps that a kill or pause interrupts ---- */

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static clockid_t host_clock(__wasi_clockid_t id)
{
	switch (id) {
	case __WASI_CLOCK_REALTIME:
		return CLOCK_REALTIME;
	case __WASI_CLOCK_PROCESS_CPUTIME_ID:
		return CLOCK_PROCESS_CPUTIME_ID;
	case __WASI_CLOCK_THREAD_CPUTIME_ID:
		return CLOCK_THREAD_CPUTIME_ID;
	default:
		return CLOCK_MONOTONIC;
	}
}

/* Monotonic deadline (ns) of a clock subscription. */
static uint64_t clock_deadline(const __wasi_subscription_clock_t *clk, uint64_t mono_now)
{
	if (clk->flags & __WASI_SUBSCRIPTION_CLOCK_ABSTIME) {
		uint64_t now = now_ns(host_clock(clk->clock_id));
		return clk->timeout <= now ? mono_now : mono_now + (clk->timeout - now);
	}
	return clk->timeout > UINT64_MAX - mono_now ? UINT64_MAX : mono_now + clk->timeout;
}

/* ---- idle trim ---- */

static bool page_is_zero(const uint8_t *p, size_t size)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Give the OS back the pages wholly inside [begin, end) that hold only
 * zeros. WAMR 1.1.2 mallocs and memsets the linear memory and the exec env
 * (with its operand stack), so all of it is resident from instantiation on,
 * whether the guest uses it or not. MADV_DONTNEED on private anonymous
 * memory (what malloc hands out) makes such a page read as zeros again when
 * next touched: the content does not change. Called on the run's own thread
 * while it is in a host call: nothing else reads or writes this memory. */
static void release_zero_pages(uint8_t *begin, uint8_t *end)
{
	static size_t page;
	uint8_t *p, *last, *run = NULL;

	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	p = (uint8_t *)(((uintptr_t)begin + page - 1) & ~(uintptr_t)(page - 1));
	last = (uint8_t *)((uintptr_t)end & ~(uintptr_t)(page - 1));
	for (; p < last; p += page) {
		if (page_is_zero(p, page)) {
			if (!run)
				run = p;
			continue;
		}
		if (run)
			madvise(run, (size_t)(p - run), MADV_DONTNEED);
		run = NULL;
	}
	if (run)
		madvise(run, (size_t)(last - run), MADV_DONTNEED);
}

/* Give the OS back the pages wholly inside [begin, end), whatever they hold:
 * for memory that is never read before it is written again. */
static void release_pages(uint8_t *begin, uint8_t *end)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = (uint8_t *)(((uintptr_t)begin + page - 1) & ~(uintptr_t)(page - 1));
	uint8_t *last = (uint8_t *)((uintptr_t)end & ~(uintptr_t)(page - 1));

	if (p < last)
		madvise(p, (size_t)(last - p), MADV_DONTNEED);
}

/* Before a sleep of CONFIG_OCRE_IDLE_TRIM_MS or more: a sleeping container
 * then costs the pages it actually uses, not its whole initial memory and
 * operand stack (a sleeper: ~220 KB resident before, ~60 KB after). The
 * operand stack past its top holds no frame: nothing reads it before a new
 * frame writes it (WAMR patch 0012 no longer zeroes it up front), so its
 * pages go whatever an earlier frame left in them. Its live frames (below
 * the top: a few KiB while asleep) stay. */
static void trim_before_sleep(struct wamr_container *wc)
{
	wasm_exec_env_t exec_env = wc->exec_env; /* only this thread changes it */
	uint32_t app_start = 0, app_end = 0;
	uint8_t *base;

	if (!exec_env || !wc->inst)
		return;
	if (wasm_runtime_get_app_addr_range(wc->inst, 0, &app_start, &app_end) && app_end > 0 &&
	    (base = wasm_runtime_addr_app_to_native(wc->inst, 0)) != NULL)
		release_zero_pages(base, base + app_end);
	release_pages(exec_env->wasm_stack.s.top, exec_env->wasm_stack.s.top_boundary);
}

/* Sleep until @p deadline (monotonic ns) on the container's condition
 * variable. Stays parked past the deadline while paused. false if killed. */
static bool interruptible_sleep(struct wamr_container *wc, uint64_t deadline)
{
	bool killed;

	if (deadline >= now_ns(CLOCK_MONOTONIC) + (uint64_t)CONFIG_OCRE_IDLE_TRIM_MS * 1000000ull)
		trim_before_sleep(wc);
	ocre_platform_container_thread_waits();
	pthread_mutex_lock(&wc->lock);
	for (;;) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		struct timespec ts;
		if (wc->kill_flag)
			break;
		if (wc->pause_flag) {
			pthread_cond_wait(&wc->cond, &wc->lock);
			continue;
		}
		if (now >= deadline)
			break;
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		pthread_cond_timedwait(&wc->cond, &wc->lock, &ts);
	}
	killed = wc->kill_flag;
	pthread_mutex_unlock(&wc->lock);
	return !killed;
}

bool ocre_wasi_sleep_ms(struct wamr_container *wc, unsigned ms)
{
	return interruptible_sleep(wc, now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ull);
}

static uint32_t ocre_poll_oneoff(wasm_exec_env_t exec_env, P in_p, P out_p, W nsubs_u, P nevents_p)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const __wasi_subscription_t *in = (const __wasi_subscription_t *)(uintptr_t)in_p;
	__wasi_event_t *out = (__wasi_event_t *)(uintptr_t)out_p;
	uint32_t *nevents_app = (uint32_t *)(uintptr_t)nevents_p;
	uint32_t nsubs = (uint32_t)nsubs_u, i, n = 0;
	uint64_t mono = now_ns(CLOCK_MONOTONIC), first = UINT64_MAX;
	bool only_clocks = true;

	CHECKPOINT(exec_env);
	if (nsubs == 0)
		return __WASI_EINVAL;
	if ((uint64_t)nsubs * sizeof(*in) > UINT32_MAX ||
	    !wasm_runtime_validate_native_addr(inst, (void *)in, nsubs * (uint32_t)sizeof(*in)) ||
	    !wasm_runtime_validate_native_addr(inst, out, nsubs * (uint32_t)sizeof(*out)) ||
	    !wasm_runtime_validate_native_addr(inst, nevents_app, sizeof(uint32_t)))
		return __WASI_EFAULT;
	for (i = 0; i < nsubs; i++) {
		if (in[i].u.type != __WASI_EVENTTYPE_CLOCK) {
			only_clocks = false;
			continue;
		}
		uint64_t d = clock_deadline(&in[i].u.u.clock, mono);
		if (d < first)
			first = d;
	}

	if (only_clocks) {
		uint64_t now;
		if (!interruptible_sleep(wc, first)) {
			kill_guest(exec_env);
			return __WASI_EINTR;
		}
		now = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < nsubs; i++) {
			if (clock_deadline(&in[i].u.u.clock, mono) > now)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].userdata = in[i].userdata;
			out[n].type = __WASI_EVENTTYPE_CLOCK;
			n++;
		}
		*nevents_app = n;
		return 0;
	}

	/* fd subscriptions: one poll of their host fds and the wake eventfd
	 * (wasi_io.c), so a kill or pause ends the wait at once */
	{
		uint32_t err = ocre_wasi_poll_fds(exec_env, in, out, nsubs, first, &n);
		if (err)
			return err;
		if (n == 0) {
			/* the guest's own timeout(s) expired */
			uint64_t t = now_ns(CLOCK_MONOTONIC);
			for (i = 0; i < nsubs; i++) {
				if (in[i].u.type != __WASI_EVENTTYPE_CLOCK ||
				    clock_deadline(&in[i].u.u.clock, mono) > t)
					continue;
				memset(&out[n], 0, sizeof(out[n]));
				out[n].userdata = in[i].userdata;
				out[n].type = __WASI_EVENTTYPE_CLOCK;
				n++;
			}
		}
		*nevents_app = n;
		return 0;
	}
}

/* ---- read-only mounts ---- */

#define WRITE_RIGHTS                                                                                                   \
	(__WASI_RIGHT_FD_DATASYNC | __WASI_RIGHT_FD_SYNC | __WASI_RIGHT_FD_WRITE | __WASI_RIGHT_FD_ALLOCATE |          \
	 __WASI_RIGHT_PATH_CREATE_DIRECTORY | __WASI_RIGHT_PATH_CREATE_FILE | __WASI_RIGHT_PATH_LINK_SOURCE |          \
	 __WASI_RIGHT_PATH_LINK_TARGET | __WASI_RIGHT_PATH_RENAME_SOURCE | __WASI_RIGHT_PATH_RENAME_TARGET |           \
	 __WASI_RIGHT_PATH_FILESTAT_SET_SIZE | __WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                                  \
	 __WASI_RIGHT_FD_FILESTAT_SET_SIZE | __WASI_RIGHT_FD_FILESTAT_SET_TIMES | __WASI_RIGHT_PATH_SYMLINK |          \
	 __WASI_RIGHT_PATH_REMOVE_DIRECTORY | __WASI_RIGHT_PATH_UNLINK_FILE)

void ocre_wasi_restrict(struct wamr_container *wc, wasm_module_inst_t inst)
{
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(inst);
	int i;

	for (i = 0; wasi && i < wc->ndirs; i++) {
		__wasi_fdstat_t st;
		__wasi_fd_t fd = (__wasi_fd_t)(3 + i);
		if (!wc->dirs[i].readonly)
			continue;
		/* Rights only shrink, and files opened through the directory
		 * inherit them: nothing under a read-only mount is writable. */
		if (wasmtime_ssp_fd_fdstat_get(wasi->curfds, fd, &st) != 0 ||
		    wasmtime_ssp_fd_fdstat_set_rights(wasi->curfds, fd,
		                                      st.fs_rights_base & ~(__wasi_rights_t)WRITE_RIGHTS,
		                                      st.fs_rights_inheriting & ~(__wasi_rights_t)WRITE_RIGHTS) != 0)
			LOG_ERR("container %s: could not make %s read-only", wc->id, wc->dirs[i].guest);
	}
}

/* ---- registration ---- */

uint32_t get_libc_wasi_export_apis(NativeSymbol **p_libc_wasi_apis);

static const struct {
	const char *name;
	void *fn;
} overrides[] = {
    {"fd_read", (void *)ocre_wasi_fd_read},
    {"fd_write", (void *)ocre_wasi_fd_write},
    {"sock_accept", (void *)ocre_wasi_sock_accept},
    {"sock_connect", (void *)ocre_wasi_sock_connect},
    {"fd_renumber", (void *)ocre_wasi_fd_renumber},
    {"path_open", (void *)ocre_wasi_path_open},
    {"path_symlink", (void *)ocre_wasi_path_symlink},
    {"sock_open", (void *)ocre_wasi_sock_open},
    {"sock_recv", (void *)ocre_wasi_sock_recv},
    {"sock_recv_from", (void *)ocre_wasi_sock_recv},
    {"sock_send", (void *)ocre_wasi_sock_send},
    {"sock_send_to", (void *)ocre_wasi_sock_send_to},
    {"fd_prestat_get", (void *)ocre_wasi_fd_prestat_get},
    {"fd_prestat_dir_name", (void *)ocre_wasi_fd_prestat_dir_name},
    {"fd_close", (void *)ocre_wasi_fd_close},
    {"fd_filestat_set_times", (void *)ocre_wasi_fd_filestat_set_times},
    {"sock_shutdown", (void *)ocre_wasi_sock_shutdown},
    {"poll_oneoff", (void *)ocre_poll_oneoff},
    {"proc_exit", (void *)trampoline_proc_exit},
};

/* The parameter shape of a WAMR signature such as "(i*~I)i", in W/P/L
 * letters; false if it has a type no WASI function takes. */
static bool signature_shape(const char *signature, char *shape, size_t size)
{
	const char *p;
	size_t n = 0;
	for (p = signature + 1; *p && *p != ')'; p++) {
		if (n + 1 >= size)
			return false;
		if (*p == 'i' || *p == '~')
			shape[n++] = 'W';
		else if (*p == '*' || *p == '$')
			shape[n++] = 'P';
		else if (*p == 'I')
			shape[n++] = 'L';
		else
			return false;
	}
	shape[n] = '\0';
	return true;
}

static void *trampoline_for(const char *signature)
{
	char shape[16];
	size_t i;
	if (!signature_shape(signature, shape, sizeof(shape)))
		return NULL;
	for (i = 0; i < sizeof(trampolines) / sizeof(trampolines[0]); i++)
		if (strcmp(trampolines[i].shape, shape) == 0)
			return trampolines[i].fn;
	return NULL;
}

bool ocre_wasi_register(void)
{
	/* WAMR keeps (and sorts) the array while the runtime lives; it is built
	 * once per process and reused if the runtime is initialised again. */
	static NativeSymbol *ours;
	static uint32_t n;
	NativeSymbol *wamr_table;
	uint32_t i, k;

	if (ours)
		return wasm_runtime_register_natives("wasi_snapshot_preview1", ours, n);
	n = get_libc_wasi_export_apis(&wamr_table);
	ours = calloc(n, sizeof(*ours));
	if (!ours)
		return false;
	for (i = 0; i < n; i++) {
		ours[i].symbol = wamr_table[i].symbol;
		ours[i].signature = wamr_table[i].signature;
		ours[i].attachment = wamr_table[i].func_ptr;
		ours[i].func_ptr = trampoline_for(wamr_table[i].signature);
		for (k = 0; k < sizeof(overrides) / sizeof(overrides[0]); k++)
			if (strcmp(overrides[k].name, wamr_table[i].symbol) == 0)
				ours[i].func_ptr = overrides[k].fn;
		if (!ours[i].func_ptr) {
			LOG_ERR("WASI function %s: no trampoline for signature %s", wamr_table[i].symbol,
			        wamr_table[i].signature);
			free(ours);
			ours = NULL;
			return false;
		}
	}
	return wasm_runtime_register_natives("wasi_snapshot_preview1", ours, n);
}
