/* The "wamr/wasip1" engine: private declarations shared by its files. */
#ifndef OCRE_WAMR_ENGINE_H
#define OCRE_WAMR_ENGINE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "module_cache.h"
#include "wasm_export.h"

#include <ocre/ocre.h>

/* One preopened directory: host path, the path the guest sees, read-only? */
struct wamr_dir {
	char *host;
	char *guest;
	bool readonly;
};

struct wamr_container {
	/* set at create, immutable afterwards */
	char *id;
	struct wamr_module *image;
	char **argv; /* argv[0] = image name */
	int argc;
	char **envp;
	int envc;
	struct wamr_dir *dirs; /* preopened at wasi fd 3 + index */
	int ndirs;
	const char **dir_hosts; /* views for wasm_runtime_set_wasi_args_ex */
	bool networking;
	bool ocre_api; /* the Ocre host API may be called */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* monotonic clock: kill, pause and stop changes */
	int fds[3];          /* stdio for the next run (owned by the core) */
	bool kill_flag;
	bool pause_flag;
	bool stop_flag;
	int wake_fd;               /* eventfd that interrupts blocking stdio, lazily made, -1 */
	wasm_exec_env_t exec_env;  /* of the current run, NULL outside it */
	wasm_module_inst_t inst;   /* of the current run */
	int run_fds[3];            /* host fds of the current run's stdio */
	ocre_exit_reason_t reason; /* of the last run */
	char message[256];
};

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

/* stdio.c: the run's stdio, handed to WAMR only once it has instantiated */
struct wamr_stdio_placeholders {
	int fd[3]; /* what WAMR instantiates with; -1 once given up */
	dev_t dev; /* identity of this run's placeholder file */
	ino_t ino;
};
/* 0, or -1 with the reason in @p error. */
int ocre_wamr_stdio_placeholders(struct wamr_stdio_placeholders *ph, char *error, size_t error_size);
/* After a failed instantiation: close the placeholders WAMR did not take. */
void ocre_wamr_stdio_discard(struct wamr_stdio_placeholders *ph);
/* After a successful one: put @p run_fds in WASI slots 0-2 (WAMR owns them
 * from then on). A slot left closed (by the start function, or on failure)
 * gets -1 in @p run_fds and its fd is closed. */
void ocre_wamr_stdio_install(wasm_module_inst_t inst, int run_fds[3]);

/* ocre_api.c */
bool ocre_api_register(void);

/* engine.c */
struct wamr_container *ocre_wamr_from_exec_env(wasm_exec_env_t exec_env);
#define OCRE_KILLED_EXCEPTION "ocre: killed"

/* log_bridge.c */
int ocre_wamr_vprintf(const char *format, va_list ap);

#endif
