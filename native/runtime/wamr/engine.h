/* The "wamr/wasip1" engine: private declarations shared by its files. */
#ifndef OCRE_WAMR_ENGINE_H
#define OCRE_WAMR_ENGINE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "module_cache.h"
#include "wasm_export.h"
#include "wasmtime_ssp.h"

#include <ocre/ocre.h>

/* One preopened directory: host path, the path the guest sees, read-only? */
struct wamr_dir {
	char *host;
	char *guest;
	char *real; /* realpath of host at create (NULL if it failed) */
	bool readonly;
	int fd; /* the guest fd it is at in the current run, -1 once closed (wasi_preopen.c) */
};

/* What a run wrote to a captured stream (output.c). */
struct wamr_output {
	uint8_t *data; /* malloc'd */
	size_t len, cap;
	bool truncated; /* the output limit ended the run */
};

struct wamr_container {
	/* set at create, immutable afterwards */
	char *id;
	struct wamr_module *image;
	char **argv; /* argv[0] = image name */
	int argc;
	char **envp;
	int envc;
	struct wamr_dir *dirs; /* preopened at wasi fd 3 + index; the guest's "/" (if any) first */
	int ndirs;
	const char **dir_hosts; /* views for wasm_runtime_set_wasi_args_ex */
	bool networking;
	bool ocre_api;                /* the Ocre host API may be called */
	struct ocre_context *context; /* from create_with(), or NULL */
	unsigned max_open_files;      /* fds the guest may hold (stdio and preopens included) */
	uint32_t stack_size;          /* WebAssembly stack of each run */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* monotonic clock: kill, pause and stop changes */
	int fds[3];          /* stdio for the next run (owned by the core) */
	bool kill_flag;
	bool pause_flag;
	bool stop_flag;
	bool proc_exited;         /* the run called proc_exit (its code is in the WASI context) */
	int wake_fd;              /* eventfd that interrupts blocking stdio, lazily made, -1 */
	wasm_exec_env_t exec_env; /* of the current run, NULL outside it */
	wasm_module_inst_t inst;  /* of the current run */
	int run_fds[3];           /* host fds of the current run's stdio (owned by WAMR once instantiated), -1: none */
	bool ignored[3];          /* the run's stdio stream i is discarded: no fd in the guest's table */
	bool captured[3];         /* the run's stream i (1, 2) is OCRE_STDIO_CAPTURE: kept in output[i] */
	void *capture_object[3];  /* the WAMR fd object of captured stream i while the guest has it (output.c) */
	int capture_read[3];      /* the read end of its pipe during the run, -1 */
	struct wamr_output output[3]; /* captured output of the last run (output.c) */
	size_t output_limit;          /* bytes kept per captured stream per run */
	struct ocre_api *api;         /* Ocre API state of the current run (ocre:api only), NULL outside it */
	uint64_t events_dropped;      /* Ocre API events dropped on a full queue, every run (atomic) */
	ocre_exit_reason_t reason;    /* of the last run */
	char message[256];
};

/* output.c: captured stdout/stderr */
/* Drop what the last run left (the container thread, before a run). */
void ocre_wamr_output_reset(struct wamr_container *wc);
/* The pipe of captured stream @p stream for a run: its write end (the run's
 * stdio fd), or -1 with @p error set. */
int ocre_wamr_output_open(struct wamr_container *wc, int stream, char *error, size_t error_size);
/* After the run's stdio was installed in @p inst: note the captured fds' objects. */
void ocre_wamr_output_attach(struct wamr_container *wc, wasm_module_inst_t inst);
/* 1 or 2 when guest fd @p fd is a captured stream, else 0. */
int ocre_wamr_output_stream(wasm_exec_env_t exec_env, struct wamr_container *wc, uint32_t fd);
/* Guest fd @p fd is about to be closed (fd_close, fd_renumber onto it). */
void ocre_wamr_output_forget(wasm_exec_env_t exec_env, struct wamr_container *wc, uint32_t fd);
/* The run ended (or failed to begin): close the pipes' read ends. */
void ocre_wamr_output_end_run(struct wamr_container *wc);
/* fd_write to captured stream @p stream: keeps the bytes up to the output
 * limit; past it, keeps what fits and kills the run (EINTR, exception set). */
uint32_t ocre_wamr_output_write(wasm_exec_env_t exec_env, struct wamr_container *wc, int stream,
                                const void *iovs_native, uint32_t iovs_len, uint32_t *written);
/* The vtable's take_output. */
int ocre_wamr_take_output(void *ctx, int stream, void **data, size_t *size, bool *truncated);

/* wasi.c */
bool ocre_wasi_register(void);
/* Park while paused; false (with the instance's exception set) once killed.
 * Called on the container thread at every host call. */
bool ocre_wasi_checkpoint(struct wamr_container *wc);
/* Sleep @p ms on the container's condition variable (kill/pause aware).
 * false if killed. */
bool ocre_wasi_sleep_ms(struct wamr_container *wc, unsigned ms);
/* Apply read-only rights to read-only mounts of a new instance. */
void ocre_wasi_restrict(struct wamr_container *wc, wasm_module_inst_t inst);

/* Overrides of WASI functions are declared with the C types WAMR's
 * invokeNative passes for their signature: 'i' and '~' a uint32_t, '*' and
 * '$' a native pointer, 'I' a uint64_t (see wasi.c: other prototypes break
 * the 32-bit ARM ABI). */

/* wasi_io.c: overrides of the calls that may block on an fd */
uint32_t ocre_wasi_fd_read(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, void *nread);
uint32_t ocre_wasi_fd_write(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, void *nwritten);
uint32_t ocre_wasi_fd_renumber(wasm_exec_env_t exec_env, uint32_t from, uint32_t to);
uint32_t ocre_wasi_sock_accept(wasm_exec_env_t exec_env, uint32_t fd, uint32_t flags, void *fd_new);
uint32_t ocre_wasi_sock_recv(wasm_exec_env_t exec_env, uint32_t fd, void *a2, uint32_t a3, uint32_t a4, void *a5,
                             void *a6);
uint32_t ocre_wasi_sock_send(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, uint32_t flags,
                             void *sent);
uint32_t ocre_wasi_sock_connect(wasm_exec_env_t exec_env, uint32_t fd, void *addr);
/* WAMR's path_open (same parameters) that never blocks in the OS on a FIFO
 * (see wasi_io.c); called by wasi_fdlimit.c's override. */
uint32_t ocre_wasi_open_nonblocking(wasm_exec_env_t exec_env, uint32_t dirfd, uint32_t dirflags, void *path,
                                    uint32_t path_len, uint32_t oflags, uint64_t rights_base,
                                    uint64_t rights_inheriting, uint32_t fdflags, void *fd_out);
uint32_t ocre_wasi_sock_send_to(wasm_exec_env_t exec_env, uint32_t fd, void *a2, uint32_t a3, uint32_t a4, void *a5,
                                void *a6);

/* poll_oneoff's fd subscriptions (@p deadline: monotonic ns of the first
 * clock, UINT64_MAX for none): events in @p out, *@p nevents 0 when the
 * deadline passed first. 0 or a WASI errno (EINTR: killed). */
uint32_t ocre_wasi_poll_fds(wasm_exec_env_t exec_env, const __wasi_subscription_t *in, __wasi_event_t *out,
                            uint32_t nsubs, uint64_t deadline, uint32_t *nevents);

/* wasi_preopen.c: preopens under their guest names, closable, renumberable */
/* Every preopen at its first fd (3 + index): at each instantiation. */
void ocre_wasi_preopens_reset(struct wamr_container *wc);
uint32_t ocre_wasi_fd_prestat_get(wasm_exec_env_t exec_env, uint32_t fd, void *prestat);
uint32_t ocre_wasi_fd_prestat_dir_name(wasm_exec_env_t exec_env, uint32_t fd, void *path, uint32_t path_len);
uint32_t ocre_wasi_fd_close(wasm_exec_env_t exec_env, uint32_t fd);
/* fd_renumber itself (after the checkpoint; wasi_io.c's override calls it). */
uint32_t ocre_wasi_renumber(wasm_exec_env_t exec_env, uint32_t from, uint32_t to);

/* wasi_checks.c: argument checks WAMR misses */
uint32_t ocre_wasi_fd_filestat_set_times(wasm_exec_env_t exec_env, uint32_t fd, uint64_t atim, uint64_t mtim,
                                         uint32_t fstflags);
uint32_t ocre_wasi_sock_shutdown(wasm_exec_env_t exec_env, uint32_t fd, uint32_t how);

/* wasi_symlink.c */
uint32_t ocre_wasi_path_symlink(wasm_exec_env_t exec_env, void *old_path, uint32_t old_len, uint32_t fd, void *new_path,
                                uint32_t new_len);

/* wasi_fdlimit.c: the open-file limit */
/* Whether the guest may open one more fd (max_open_files). */
bool ocre_wasi_fd_room(wasm_exec_env_t exec_env);
uint32_t ocre_wasi_path_open(wasm_exec_env_t exec_env, uint32_t a1, uint32_t a2, void *a3, uint32_t a4, uint32_t a5,
                             uint64_t a6, uint64_t a7, uint32_t a8, void *a9);
uint32_t ocre_wasi_sock_open(wasm_exec_env_t exec_env, uint32_t a1, uint32_t a2, uint32_t a3, void *a4);
/* stdio.c: the run's stdio, handed to WAMR only once it has instantiated */
struct wamr_stdio_placeholders {
	int fd[3]; /* what WAMR instantiates with; -1 once given up */
	dev_t dev; /* identity of this run's placeholder file */
	ino_t ino;
	bool held; /* one of the bounded memfd sets is this run's */
};
/* 0, or -1 with the reason in @p error. */
int ocre_wamr_stdio_placeholders(struct wamr_stdio_placeholders *ph, char *error, size_t error_size);
/* After a failed instantiation: close the placeholders WAMR did not take
 * (and free the run's placeholder set). */
void ocre_wamr_stdio_discard(struct wamr_stdio_placeholders *ph);
/* After a successful one: put @p run_fds in WASI slots 0-2 (WAMR owns them
 * from then on). A slot whose fd is -1 (a discarded stream) is left empty; a
 * slot the insertion fails for gets -1 in @p run_fds and its fd is closed. */
void ocre_wamr_stdio_install(wasm_module_inst_t inst, int run_fds[3], struct wamr_stdio_placeholders *ph);

/* ocre_api.c */
bool ocre_api_register(void);

/* entry.c */
/* At load: take the entry points off @p m->module into @p m->entry. */
void ocre_wamr_entry_detach(struct wamr_module *m);
/* Call function @p index (type () -> ()) of @p inst in @p exec_env. false
 * with the instance's exception set if it trapped (or exited, see
 * proc_exited). */
bool ocre_wamr_entry_call(const struct wamr_module *m, wasm_exec_env_t exec_env, wasm_module_inst_t inst,
                          uint32_t index);

/* engine_create.c: the vtable's create, destroy, configure, set_stdio and
 * prepare (see <ocre/runtime/vtable.h>) */
void *ocre_wamr_create_with(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                            const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                            int stderr_fd, const struct ocre_engine_options *options);
void *ocre_wamr_create(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                       const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                       int stderr_fd);
int ocre_wamr_destroy(void *ctx);
int ocre_wamr_configure(void *ctx, const struct ocre_container_args *args);
int ocre_wamr_set_stdio(void *ctx, int stdin_fd, int stdout_fd, int stderr_fd);
int ocre_wamr_prepare(void *ctx);

/* engine_run.c: the vtable's thread_execute */
int ocre_wamr_thread_execute(void *ctx, sem_t *sem);
/* The container a host function was called for. Every host function (WASI
 * override, Ocre API) finds its container here, and nowhere else: the exec
 * env's user data when WAMR passes the run's exec env, else the container
 * whose run is on this thread (a thread-local set for the whole run,
 * instantiation included). Never NULL inside a host call. */
struct wamr_container *ocre_wamr_from_exec_env(wasm_exec_env_t exec_env);
#define OCRE_KILLED_EXCEPTION "ocre: killed"

/* reservations.c: guard-region reservations recycled across runs (with
 * hardware bounds checks; no-ops otherwise). Open at engine init, closed
 * (everything kept unmapped) at deinit. The stats are for tests: how many
 * reservations instantiations took, how many of those were kept ones, and
 * how many are kept now. */
void ocre_wamr_reservations_open(void);
void ocre_wamr_reservations_close(void);
void ocre_wamr_reservations_stats(unsigned long *taken, unsigned long *reused, int *kept);

/* log_bridge.c */
int ocre_wamr_vprintf(const char *format, va_list ap);

#endif
