/* Private to the container files of the core (container*.c): the container
 * object, its run phases and the helpers they share. The rest of the core
 * uses internal.h.
 *
 * Locking: c->lock protects the mutable fields below it. Lock order is
 * context lock -> container lock -> timer lock. Engine stop/kill/pause/unpause
 * are non-blocking and are called with c->lock held. Event callbacks run with
 * no lock held. */
#ifndef OCRE_CORE_CONTAINER_H
#define OCRE_CORE_CONTAINER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

/* Where the current run is in its hand-over between start() and its thread
 * (protected by c->lock). Each change is made in one place:
 *
 *   NONE -> HANDED           start_impl(): a pool thread was reserved for it
 *   HANDED -> ANNOUNCED      announce_running(): RUNNING was delivered, so
 *                            the run may deliver EXITED
 *   HANDED -> NOT_BEGUN      container_run(): the engine could not begin it
 *                            while start() waits (start() reports it)
 *   ANNOUNCED -> DONE        container_run(): its thread is done with the
 *                            container; EXITED goes out next (c->delivering_exit)
 *   NOT_BEGUN -> NONE        start_impl(): the failure reported (-> ERROR)
 *   DONE -> NONE             observe_locked(): EXITED -> STOPPED
 *
 * start() without the handshake (start_async) announces before handing the
 * run over, so its runs never wait in HANDED; a run that cannot begin then
 * ends as a trap. */
enum run_phase {
	RUN_NONE,
	RUN_HANDED,
	RUN_ANNOUNCED,
	RUN_NOT_BEGUN,
	RUN_DONE,
};

struct ocre_container {
	/* immutable after creation */
	char *id;
	char *image;
	const struct ocre_runtime_vtable *engine;
	bool detached;
	char *private_dir;             /* the `filesystem` capability's directory, or NULL */
	struct ocre_thread_pool *pool; /* the context's threads */

	int refs;                    /* atomic */
	struct ocre_container *next; /* protected by the context's lock */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* status, phase and cb_inflight changes */
	void *engine_ctx;    /* NULL once removed: read it only where lock_live() succeeded */
	const char *tier;    /* the engine's tier name (static), fixed at create: readable after remove */
	int fds[3];          /* the caller's stdio fds (not owned), -1 = the process's own */
	int run_fds[3];      /* this run's duplicates of fds (owned by the run), -1 = none */
	ocre_container_status_t status;
	bool removed;
	bool kill_requested;
	pthread_t thread;      /* the pool thread of the current run (phase != RUN_NONE) */
	enum run_phase phase;  /* of the current run; RUN_NONE: none, or its end observed */
	bool delivering_exit;  /* the run's thread is delivering EXITED (from DONE until it returns) */
	bool stopped_deferred; /* observed meanwhile: the run's thread delivers STOPPED after EXITED */
	bool closing;          /* the context is being destroyed: no more starts */
	size_t memory_limit;
	int nice;            /* niceness of its runs, above the starting thread's */
	size_t thread_stack; /* native stack its runs need (0: the default), fixed at create */
	size_t args_size;    /* bytes argv (with argv[0]) and envp take in the guest's runtime */
	sem_t ready;
	struct ocre_exit_info exit;
	struct {
		void *data; /* malloc'd */
		size_t size;
		bool truncated;
	} output[3]; /* what the last run wrote to its OCRE_STDIO_CAPTURE streams 1, 2 (until taken) */
	ocre_container_event_cb cb;
	void *cb_data;
	int cb_inflight;
};

/* ---- container.c: the object, its events and locking ---- */

/* Deliver @p status to the event callback (no lock held). */
void ocre_container_fire_event(struct ocre_container *c, ocre_container_status_t status);
/* TRANSITION EXITED -> STOPPED if the run is over (see container.c). */
bool ocre_container_observe_locked(struct ocre_container *c);
/* Wait (lock held) until the run's thread has delivered EXITED and a STOPPED
 * observed meanwhile: wait() returns, and start() begins, only after them.
 * Not on the run's own thread. (remove() does not wait: the events of a run
 * that just ended may still reach a callback that is left installed.)
 * The wait lets the lock go: returns false if c was removed meanwhile. */
bool ocre_container_settle_locked(struct ocre_container *c);
/* Lock c, observe it, and fail with NOT_FOUND if removed; OCRE_OK with the lock held. */
int ocre_container_lock_live(struct ocre_container *c, bool *observed);
/* Unlock, fire STOPPED if observed, and fail with OCRE_ERR_NOT_FOUND (c was removed). */
int ocre_container_unlock_removed(struct ocre_container *c, bool observed);
/* Unlock, fire STOPPED if observed, and fail with OCRE_ERR_STATE for @p what. */
int ocre_container_unlock_and_fail_state(struct ocre_container *c, bool observed, const char *what);
/* Check stdio fds (OCRE_STDIO_IGNORE, -1 = the process's own, or an open fd) into @p out. */
int ocre_container_check_fds(const struct ocre_runtime_vtable *engine, int out[3], int in0, int in1, int in2);

/* ---- container_create.c ---- */

/* OCRE_OK if argv and envp fit in @p limit bytes of container memory. */
int ocre_container_check_args_fit(const struct ocre_container *c, size_t limit);

/* ---- container_run.c ---- */

/* Close the run's duplicates of the caller's stdio. */
void ocre_container_close_run_fds(struct ocre_container *c);

#endif
