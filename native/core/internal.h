/* Private declarations shared by the core's files. Not installed. */
#ifndef OCRE_CORE_INTERNAL_H
#define OCRE_CORE_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ocre/ocre.h>
#include <ocre/runtime/support.h> /* ocre_fail, ocre_strv_*, ocre_sha256* (error.c, util/) */

#define OCRE_VERSION "0.1.0" /* the library's version (package.json's) */

/* ---- util/names.c ---- */
/* 0 if @p name follows the naming rules (SPEC §4), else OCRE_ERR_INVALID_NAME set as last error. */
int ocre_check_name(const char *what, const char *name);
/* Fill @p out (9 bytes) with a random 8-hex-digit id. */
void ocre_random_id(char out[9]);

/* ---- util/strings.c ---- */
char *ocre_path_join(const char *a, const char *b); /* malloc'd "a/b" */

/* ---- util/fsutil.c ---- */
int ocre_mkdir_p(const char *path, int mode); /* 0 or -1 (errno) */
int ocre_rm_rf(const char *path);             /* 0 or -1 (errno); missing path is 0 */

/* ---- library.c ---- */
const struct ocre_runtime_vtable *ocre_find_engine(const char *name);
const struct ocre_runtime_vtable *ocre_default_engine(void);
/* Contexts registry: returns OCRE_OK or an error (set as last error). */
int ocre_register_context(struct ocre_context *ctx, const char *workdir);
void ocre_unregister_context(struct ocre_context *ctx);
bool ocre_context_is_registered(struct ocre_context *ctx);
/* Stop timer: kill @p c at @p deadline_ms (CLOCK_MONOTONIC) unless cancelled. */
int ocre_timer_schedule_kill(struct ocre_container *c, unsigned delay_ms);
void ocre_timer_cancel(struct ocre_container *c);
void ocre_timer_shutdown(void);

/* ---- threads.c ---- */
struct ocre_thread_pool;
struct ocre_worker;
struct ocre_thread_pool *ocre_pool_new(void); /* NULL with the last error set */
/* Take a parked thread, or start one, for one job (its id in @p thread) that
 * runs at niceness @p nice (0..19) above the thread's creator's. NULL with
 * the last error set. Must be followed by ocre_pool_dispatch(). */
struct ocre_worker *ocre_pool_reserve(struct ocre_thread_pool *pool, int nice, size_t stack, pthread_t *thread);
/* Run fn(arg) on the reserved thread, then park it (it may be reserved
 * again from then on), then run finish(arg) (may be NULL): the job's last
 * step, which must not wait for another job. */
void ocre_pool_dispatch(struct ocre_worker *w, void (*fn)(void *), void (*finish)(void *), void *arg);
/* Called by a job on its own thread: park the thread now rather than when
 * the job returns, so that a reservation made from now on may take it (the
 * next job then starts once this one has returned), and put it back under
 * its between-jobs scheduling policy. No-op elsewhere. */
void ocre_pool_park_early(void);
/* End and join every thread (no reservation may be outstanding); free. */
void ocre_pool_destroy(struct ocre_thread_pool *pool);
/* Like ocre_pool_destroy(), but for threads whose job may never end: those
 * in a job are detached, and the last of them to end calls @p done(@p arg)
 * and frees the pool; with none, that happens before this returns. */
void ocre_pool_orphan(struct ocre_thread_pool *pool, void (*done)(void *), void *arg);
/* Orphaned threads (of every pool) that have not ended yet. */
int ocre_pool_orphans_live(void);

/* ---- container.c ---- */
struct ocre_container *ocre_container_new(struct ocre_context *ctx, const char *id, const char *image,
                                          const char *image_path, const struct ocre_runtime_vtable *engine,
                                          bool detached, const struct ocre_container_args *args, int stdin_fd,
                                          int stdout_fd, int stderr_fd);
/* Refuse further starts (the context is being destroyed). */
void ocre_container_mark_closing(struct ocre_container *c);
/* Detach from the context and free the engine side; 0 or OCRE_ERR_STATE. Caller holds the context lock. */
int ocre_container_remove_from_context_locked(struct ocre_container *c);
/* The context's list of containers (caller holds the context lock). */
struct ocre_container *ocre_container_list_next_locked(struct ocre_container *c);
void ocre_container_list_set_next_locked(struct ocre_container *c, struct ocre_container *next);

/* ---- context.c ---- */
const char *ocre_context_containers_dir(const struct ocre_context *ctx);
struct ocre_thread_pool *ocre_context_pool(const struct ocre_context *ctx);
int ocre_context_container_nice(struct ocre_context *ctx); /* niceness of new containers */
struct ocre_bus *ocre_context_bus(const struct ocre_context *ctx);
struct ocre_devices *ocre_context_devices(const struct ocre_context *ctx);

/* ---- devices.c ---- */
struct ocre_devices *ocre_devices_new(void); /* NULL: no memory */
void ocre_devices_free(struct ocre_devices *devices);

/* ---- messaging.c ---- */
struct ocre_bus *ocre_bus_new(void); /* NULL: no memory */
void ocre_bus_free(struct ocre_bus *bus);

uint64_t ocre_monotonic_ms(void);

#endif
