/* Containers: the state machine, the container thread, and every public
 * container call. Each state transition happens in exactly one function,
 * marked "TRANSITION".
 *
 * Locking: c->lock protects the mutable fields below it. Lock order is
 * context lock -> container lock -> timer lock. Engine stop/kill/pause/unpause
 * are non-blocking and are called with c->lock held. Event callbacks run with
 * no lock held. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"

#include <ocre/platform/memory.h>

LOG_MODULE_REGISTER(container);

/* Where the current run is in its hand-over between start() and its thread
 * (protected by c->lock). Each change is made in one place:
 *
 *   NONE -> HANDED           start_impl(): a pool thread was reserved for it
 *   HANDED -> ANNOUNCED      announce_running(): RUNNING was delivered, so
 *                            the run may deliver EXITED
 *   HANDED -> NOT_BEGUN      container_run(): the engine could not begin it
 *                            while start() waits (start() reports it)
 *   ANNOUNCED -> DONE        container_finish(): its thread is done with the
 *                            container and parked again
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
	pthread_t thread;     /* the pool thread of the current run (phase != RUN_NONE) */
	enum run_phase phase; /* of the current run; RUN_NONE: none, or its end observed */
	bool closing;         /* the context is being destroyed: no more starts */
	size_t memory_limit;
	int nice;         /* niceness of its runs, above the starting thread's */
	size_t args_size; /* bytes argv (with argv[0]) and envp take in the guest's runtime */
	sem_t ready;
	struct ocre_exit_info exit;
	ocre_container_event_cb cb;
	void *cb_data;
	int cb_inflight;
};

/* The arguments of the engine create() in progress on this thread. */
static __thread const struct ocre_container_args *create_arguments;

const struct ocre_container_args *ocre_create_arguments(void)
{
	return create_arguments;
}

const char *ocre_container_status_name(ocre_container_status_t status)
{
	switch (status) {
	case OCRE_CONTAINER_STATUS_CREATED:
		return "created";
	case OCRE_CONTAINER_STATUS_RUNNING:
		return "running";
	case OCRE_CONTAINER_STATUS_PAUSED:
		return "paused";
	case OCRE_CONTAINER_STATUS_EXITED:
		return "exited";
	case OCRE_CONTAINER_STATUS_STOPPED:
		return "stopped";
	case OCRE_CONTAINER_STATUS_ERROR:
		return "error";
	default:
		return "unknown";
	}
}

struct ocre_container *ocre_container_list_next_locked(struct ocre_container *c)
{
	return c->next;
}

void ocre_container_list_set_next_locked(struct ocre_container *c, struct ocre_container *next)
{
	c->next = next;
}

/* ---- references ---- */

void ocre_container_retain(struct ocre_container *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void ocre_container_release(struct ocre_container *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* Last reference: the engine side was freed by removal (or never made). */
	if (c->engine_ctx)
		c->engine->destroy(c->engine_ctx);
	sem_destroy(&c->ready);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c->private_dir);
	free(c->image);
	free(c->id);
	free(c);
}

/* ---- helpers ---- */

static int check_fds(int out[3], int in0, int in1, int in2)
{
	int in[3] = {in0, in1, in2}, i;

	for (i = 0; i < 3; i++) {
		out[i] = in[i] == OCRE_STDIO_IGNORE ? OCRE_STDIO_IGNORE : in[i] < 0 ? -1 : in[i];
		if (out[i] >= 0 && fcntl(out[i], F_GETFD) < 0)
			return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "stdio fd %d is not open", out[i]);
	}
	return OCRE_OK;
}

static void fire_event(struct ocre_container *c, ocre_container_status_t status)
{
	ocre_container_event_cb cb;
	void *data;

	pthread_mutex_lock(&c->lock);
	cb = c->cb;
	data = c->cb_data;
	if (cb)
		c->cb_inflight++;
	pthread_mutex_unlock(&c->lock);
	if (!cb)
		return;
	cb(c, status, data);
	pthread_mutex_lock(&c->lock);
	if (--c->cb_inflight == 0)
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* TRANSITION: EXITED -> STOPPED. The first observer waits until the run's
 * thread is done with the container (EXITED delivered; the thread then
 * parks for another run). Returns true when it made the transition (the
 * caller then fires STOPPED after unlocking). Never waits on the run's own
 * thread. */
static bool observe_locked(struct ocre_container *c)
{
	if (c->status != OCRE_CONTAINER_STATUS_EXITED || c->phase == RUN_NONE)
		return false;
	if (c->phase != RUN_DONE && pthread_equal(pthread_self(), c->thread))
		return false;
	while (c->phase != RUN_DONE && c->phase != RUN_NONE)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->status != OCRE_CONTAINER_STATUS_EXITED || c->phase != RUN_DONE)
		return false; /* another observer was first */
	c->phase = RUN_NONE;
	c->status = OCRE_CONTAINER_STATUS_STOPPED;
	pthread_cond_broadcast(&c->cond);
	return true;
}

/* Lock c, observe it, and fail with NOT_FOUND if removed.
 * On success returns OCRE_OK with the lock held. */
static int lock_live(struct ocre_container *c, bool *observed)
{
	if (!c)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container is NULL");
	pthread_mutex_lock(&c->lock);
	if (c->removed) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_NOT_FOUND, "container %s has been removed", c->id);
	}
	*observed = observe_locked(c);
	return OCRE_OK;
}

static int unlock_and_fail_state(struct ocre_container *c, bool observed, const char *what)
{
	ocre_container_status_t st = c->status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return ocre_fail(OCRE_ERR_STATE, "cannot %s container %s: it is %s", what, c->id,
	                 ocre_container_status_name(st));
}

/* ---- creation ---- */

/* What the engine copies of argv (argv[0] = @p image) and envp: strings with
 * their terminators, and a pointer per entry plus one. */
static size_t args_size(const char *image, const struct ocre_container_args *args)
{
	size_t n = strlen(image) + 1 + 2 * sizeof(char *), i;

	for (i = 0; args && args->argv && args->argv[i]; i++)
		n += strlen(args->argv[i]) + 1 + sizeof(char *);
	n += sizeof(char *);
	for (i = 0; args && args->envp && args->envp[i]; i++)
		n += strlen(args->envp[i]) + 1 + sizeof(char *);
	return n;
}

/* OCRE_OK if argv and envp fit in @p limit bytes of container memory. */
static int check_args_fit(const struct ocre_container *c, size_t limit)
{
	if (c->args_size <= limit)
		return OCRE_OK;
	return ocre_fail(
	    OCRE_ERR_INVALID_ARGUMENT,
	    "container %s: its arguments and environment take %zu bytes, more than its memory limit of %zu "
	    "bytes",
	    c->id, c->args_size, limit);
}

static bool has_capability(const struct ocre_container_args *args, const char *cap)
{
	size_t i;
	for (i = 0; args && args->capabilities && args->capabilities[i]; i++)
		if (strcmp(args->capabilities[i], cap) == 0)
			return true;
	return false;
}

struct ocre_container *ocre_container_new(struct ocre_context *ctx, const char *id, const char *image,
                                          const char *image_path, const struct ocre_runtime_vtable *engine,
                                          bool detached, const struct ocre_container_args *args, int stdin_fd,
                                          int stdout_fd, int stderr_fd)
{
	struct ocre_container *c = calloc(1, sizeof(*c));
	struct ocre_engine_options options;
	bool made_dir = false;
	pthread_condattr_t cattr;

	if (!c) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	c->fds[0] = c->fds[1] = c->fds[2] = -1;
	c->run_fds[0] = c->run_fds[1] = c->run_fds[2] = -1;
	c->refs = 1; /* the context's */
	c->pool = ocre_context_pool(ctx);
	c->engine = engine;
	c->detached = detached;
	c->status = OCRE_CONTAINER_STATUS_CREATED;
	c->memory_limit = CONFIG_OCRE_DEFAULT_MEMORY_LIMIT;
	c->nice = ocre_context_container_nice(ctx);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	sem_init(&c->ready, 0, 0);

	c->id = strdup(id);
	c->image = strdup(image);
	if (!c->id || !c->image) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		goto err_free;
	}
	if (check_fds(c->fds, stdin_fd, stdout_fd, stderr_fd) != OCRE_OK)
		goto err_free;
	c->args_size = args_size(image, args);
	if (check_args_fit(c, c->memory_limit) != OCRE_OK)
		goto err_free;

	if (has_capability(args, "filesystem")) {
		c->private_dir = ocre_path_join(ocre_context_containers_dir(ctx), id);
		if (!c->private_dir) {
			ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
			goto err_free;
		}
		if (mkdir(c->private_dir, 0700) == 0) {
			made_dir = true;
		} else if (errno != EEXIST) {
			ocre_fail(OCRE_ERR_IO, "cannot create %s: %s", c->private_dir, strerror(errno));
			goto err_free;
		} else if (!args->restore_directory) {
			ocre_fail(
			    OCRE_ERR_EXISTS,
			    "container %s: its private directory %s already exists (left by an earlier process?); "
			    "delete it, or restore it explicitly",
			    id, c->private_dir);
			goto err_free;
		} else {
			struct stat st;
			if (lstat(c->private_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
				ocre_fail(OCRE_ERR_IO, "container %s: cannot restore %s: not a directory", id,
				          c->private_dir);
				goto err_free;
			}
			LOG_INF("container %s: restoring %s", id, c->private_dir);
		}
	}

	ocre_clear_error();
	create_arguments = args;
	options.tier = args ? args->tier : OCRE_TIER_AUTO;
	options.context = ctx;
	if (engine->create_with)
		c->engine_ctx = engine->create_with(
		    id, image_path, c->private_dir, args ? args->capabilities : NULL, args ? args->argv : NULL,
		    args ? args->envp : NULL, args ? args->mounts : NULL, c->fds[0], c->fds[1], c->fds[2], &options);
	else if (options.tier == OCRE_TIER_AOT)
		ocre_fail(OCRE_ERR_NO_AOT, "engine '%s' has no AOT tier", engine->runtime_name);
	else
		c->engine_ctx = engine->create(id, image_path, c->private_dir, args ? args->capabilities : NULL,
		                               args ? args->argv : NULL, args ? args->envp : NULL,
		                               args ? args->mounts : NULL, c->fds[0], c->fds[1], c->fds[2]);
	create_arguments = NULL;
	if (!c->engine_ctx) {
		if (ocre_last_error() == OCRE_OK)
			ocre_fail(OCRE_ERR_RUNTIME, "engine '%s' could not create container %s", engine->runtime_name,
			          id);
		goto err_dir;
	}
	if (engine->configure && engine->configure(c->engine_ctx, args) != 0) {
		if (ocre_last_error() == OCRE_OK)
			ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "engine '%s' refused the arguments of container %s",
			          engine->runtime_name, id);
		engine->destroy(c->engine_ctx);
		c->engine_ctx = NULL;
		goto err_dir;
	}
	c->tier = engine->tier ? engine->tier(c->engine_ctx) : "interpreter";
	LOG_INF("container %s created from %s (%s)", id, image, engine->runtime_name);
	return c;

err_dir:
	if (made_dir)
		ocre_rm_rf(c->private_dir);
err_free:
	ocre_container_release(c);
	return NULL;
}

/* Called with the context lock held. */
int ocre_container_remove_from_context_locked(struct ocre_container *c)
{
	bool observed = false;
	void *engine_ctx;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED &&
	    c->status != OCRE_CONTAINER_STATUS_ERROR)
		return unlock_and_fail_state(c, observed, "remove");
	c->removed = true;
	engine_ctx = c->engine_ctx;
	c->engine_ctx = NULL;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);

	ocre_timer_cancel(c);
	c->engine->destroy(engine_ctx);
	if (c->private_dir && ocre_rm_rf(c->private_dir) != 0)
		LOG_WRN("container %s: could not delete %s: %s", c->id, c->private_dir, strerror(errno));
	LOG_INF("container %s removed", c->id);
	return OCRE_OK;
}

/* ---- the container thread ---- */

static void close_run_fds(struct ocre_container *c)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (c->run_fds[i] >= 0)
			close(c->run_fds[i]);
		c->run_fds[i] = -1;
	}
}

/* A run on a pool thread, up to EXITED delivered; container_finish() follows
 * once the thread is parked again. The run holds a reference on the
 * container (taken by start) that container_finish() drops. */
static void container_run(void *arg)
{
	struct ocre_container *c = arg;
	ocre_exit_reason_t reason = OCRE_EXIT_REASON_NONE;
	char message[sizeof(c->exit.message)] = "";
	bool killed;
	int status;

	pthread_mutex_lock(&c->lock);
	ocre_memory_set_thread_limit(c->memory_limit);
	killed = c->kill_requested;
	pthread_mutex_unlock(&c->lock);

	if (killed) {
		/* Killed before its thread began: nothing to instantiate. */
		sem_post(&c->ready);
		status = OCRE_EXIT_STATUS_KILLED;
		reason = OCRE_EXIT_REASON_KILLED;
	} else {
		status = c->engine->thread_execute(c->engine_ctx, &c->ready);
		if (c->engine->exit_reason)
			reason = c->engine->exit_reason(c->engine_ctx, message, sizeof(message));
	}
	/* The engine has its own duplicates (or is done with ours). No lock:
	 * only the run touches run_fds between start and its end. */
	close_run_fds(c);

	if (status < 0) {
		pthread_mutex_lock(&c->lock);
		if (c->phase == RUN_HANDED) {
			/* The run never began and start() waits: it reports the failure
			 * and moves to ERROR. */
			c->phase = RUN_NOT_BEGUN;
			snprintf(c->exit.message, sizeof(c->exit.message), "%s",
			         message[0] ? message : "the engine could not start the container");
			pthread_mutex_unlock(&c->lock);
			return; /* container_finish() lets start() go */
		}
		pthread_mutex_unlock(&c->lock);
		/* start() has returned already: the run ends as an engine failure
		 * at run time (docs: ocre_container_start_async()). */
		status = OCRE_EXIT_STATUS_TRAP;
		reason = OCRE_EXIT_REASON_TRAP;
		if (!message[0])
			snprintf(message, sizeof(message), "the engine could not start the container");
	}

	ocre_timer_cancel(c);

	/* TRANSITION: RUNNING/PAUSED -> EXITED */
	pthread_mutex_lock(&c->lock);
	if (reason == OCRE_EXIT_REASON_NONE)
		reason = c->kill_requested && status == OCRE_EXIT_STATUS_KILLED ? OCRE_EXIT_REASON_KILLED
		                                                                : OCRE_EXIT_REASON_EXIT;
	c->exit.status = status;
	c->exit.reason = reason;
	snprintf(c->exit.message, sizeof(c->exit.message), "%s", message);
	c->exit.runs++;
	c->status = OCRE_CONTAINER_STATUS_EXITED;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	LOG_INF("container %s exited with status %d (%s)%s%s", c->id, status,
	        reason == OCRE_EXIT_REASON_KILLED ? "killed"
	        : reason == OCRE_EXIT_REASON_TRAP ? "trap"
	                                          : "exit",
	        message[0] ? ": " : "", message);

	/* Listeners see RUNNING before EXITED: wait until start() delivered it
	 * (start_async() delivers it before the run is handed over). */
	pthread_mutex_lock(&c->lock);
	while (c->phase == RUN_HANDED)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	fire_event(c, OCRE_CONTAINER_STATUS_EXITED);
}

/* The run's last step, on its thread, parked again by now: the run is done
 * with the container (an observer may move it to STOPPED and start the next
 * run, which may take this same thread). */
static void container_finish(void *arg)
{
	struct ocre_container *c = arg;
	bool failed;

	pthread_mutex_lock(&c->lock);
	failed = c->phase == RUN_NOT_BEGUN;
	if (!failed)
		c->phase = RUN_DONE;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (failed)
		sem_post(&c->ready); /* start() waits: it reports the failure */
	ocre_container_release(c);   /* the run's reference */
}

/* ---- lifecycle calls ---- */

/* TRANSITION: RUNNING -> ERROR (the run could not begin). Called with c->lock
 * held after the CREATED/STOPPED -> RUNNING transition; unlocks, fires the
 * events and fails with @p code and the message. */
static int fail_start_unlock(struct ocre_container *c, bool observed, ocre_err_t code, const char *message)
{
	char copy[sizeof(c->exit.message) + 128];

	snprintf(copy, sizeof(copy), "%s", message);
	c->status = OCRE_CONTAINER_STATUS_ERROR;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	fire_event(c, OCRE_CONTAINER_STATUS_ERROR);
	return ocre_fail(code, "%s", copy);
}

/* Give the run its own duplicates of the caller's stdio (above 2, close on
 * exec), so the caller may close its fds as soon as start() returns. */
static int dup_run_fds_locked(struct ocre_container *c, char *message, size_t size)
{
	int i, pass[3];

	for (i = 0; i < 3; i++) {
		pass[i] = c->fds[i]; /* -1 (the process's own) or OCRE_STDIO_IGNORE go as they are */
		if (c->fds[i] < 0)
			continue;
		c->run_fds[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3);
		if (c->run_fds[i] < 0) {
			snprintf(message, size, "cannot duplicate stdio fd %d of container %s: %s", c->fds[i], c->id,
			         strerror(errno));
			close_run_fds(c);
			return OCRE_ERR_IO;
		}
	}
	for (i = 0; i < 3; i++)
		if (c->run_fds[i] >= 0)
			pass[i] = c->run_fds[i];
	if (c->engine->set_stdio(c->engine_ctx, pass[0], pass[1], pass[2]) != 0) {
		snprintf(message, size, "engine %s could not take the stdio of container %s", c->engine->runtime_name,
		         c->id);
		close_run_fds(c);
		return OCRE_ERR_RUNTIME;
	}
	return OCRE_OK;
}

/* Deliver RUNNING, then let the run deliver EXITED (listeners see RUNNING
 * first). Phase HANDED -> ANNOUNCED. */
static void announce_running(struct ocre_container *c)
{
	fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
	pthread_mutex_lock(&c->lock);
	c->phase = RUN_ANNOUNCED;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* @p wait_ready: return only once the engine has begun the run (the ready
 * handshake), so that a failure to begin is this call's error (ERROR state).
 * Otherwise return as soon as the run is handed to its thread: it can be
 * killed, stopped or paused from then on (the engine's flags are checked
 * before anything runs), and a failure to begin ends the run instead. */
static int start_impl(struct ocre_container *c, bool wait_for_exit, bool wait_ready)
{
	char message[sizeof(c->exit.message) + 128];
	struct ocre_worker *w;
	bool observed = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		if (observed)
			fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return ocre_fail(OCRE_ERR_STATE, "cannot start container %s: its context is being destroyed", c->id);
	}
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED)
		return unlock_and_fail_state(c, observed, "start");

	/* TRANSITION: CREATED/STOPPED -> RUNNING */
	c->status = OCRE_CONTAINER_STATUS_RUNNING;
	c->kill_requested = false;
	c->exit.reason = OCRE_EXIT_REASON_NONE;
	c->exit.status = 0;
	c->exit.message[0] = '\0';
	/* An engine that cannot take per-run stdio reads the caller's fds on the
	 * run's thread: the caller's fds must then outlive the handshake. */
	if (!c->engine->set_stdio)
		wait_ready = true;
	while (sem_trywait(&c->ready) == 0)
		; /* the previous run's handshake, if nobody waited for it */

	if (c->engine->prepare && c->engine->prepare(c->engine_ctx) != 0) {
		snprintf(message, sizeof(message), "engine could not prepare container %s", c->id);
		return fail_start_unlock(c, observed, OCRE_ERR_RUNTIME, message);
	}
	if (c->engine->set_stdio && (ret = dup_run_fds_locked(c, message, sizeof(message))) != OCRE_OK)
		return fail_start_unlock(c, observed, (ocre_err_t)ret, message);
	w = ocre_pool_reserve(c->pool, c->nice, &c->thread);
	if (!w) {
		close_run_fds(c);
		snprintf(message, sizeof(message), "cannot start a thread for container %s: %s", c->id,
		         ocre_last_error_message());
		return fail_start_unlock(c, observed, OCRE_ERR_RUNTIME, message);
	}
	c->phase = RUN_HANDED;
	ocre_container_retain(c); /* the run's, dropped by container_finish() */
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);

	if (!wait_ready) {
		/* RUNNING is delivered before the run is handed over, so it always
		 * precedes EXITED and the thread never waits for it. */
		announce_running(c);
		ocre_pool_dispatch(w, container_run, container_finish, c);
		if (wait_for_exit)
			return ocre_container_wait(c, NULL);
		return OCRE_OK;
	}

	ocre_pool_dispatch(w, container_run, container_finish, c);
	while (sem_wait(&c->ready) != 0 && errno == EINTR)
		;

	pthread_mutex_lock(&c->lock);
	if (c->phase == RUN_NOT_BEGUN) {
		/* Posted by container_finish(): the thread is done with the
		 * container and parked. */
		c->phase = RUN_NONE;
		snprintf(message, sizeof(message), "container %s failed to start: %s", c->id, c->exit.message);
		return fail_start_unlock(c, false, OCRE_ERR_RUNTIME, message);
	}
	pthread_mutex_unlock(&c->lock);
	announce_running(c);

	if (wait_for_exit)
		return ocre_container_wait(c, NULL);
	return OCRE_OK;
}

int ocre_container_start(struct ocre_container *c)
{
	return start_impl(c, c && !c->detached, true);
}

int ocre_container_start_async(struct ocre_container *c)
{
	return start_impl(c, false, false);
}

ocre_container_status_t ocre_container_get_status(struct ocre_container *c)
{
	ocre_container_status_t st;
	bool observed = false;

	if (!c)
		return OCRE_CONTAINER_STATUS_UNKNOWN;
	pthread_mutex_lock(&c->lock);
	observed = observe_locked(c);
	st = c->status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return st;
}

const char *ocre_container_get_id(const struct ocre_container *c)
{
	return c ? c->id : NULL;
}

const char *ocre_container_get_image(const struct ocre_container *c)
{
	return c ? c->image : NULL;
}

const char *ocre_container_get_runtime(const struct ocre_container *c)
{
	return c ? c->engine->runtime_name : NULL;
}

const char *ocre_container_get_tier(const struct ocre_container *c)
{
	return c ? c->tier : NULL; /* immutable after create; valid after remove */
}

unsigned long long ocre_container_get_events_dropped(struct ocre_container *c)
{
	unsigned long long n = 0;

	if (!c || !c->engine->events_dropped)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->engine_ctx)
		n = c->engine->events_dropped(c->engine_ctx);
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool ocre_container_is_detached(struct ocre_container *c)
{
	return c ? c->detached : false;
}

int ocre_container_pause(struct ocre_container *c)
{
	bool observed = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_RUNNING)
		return unlock_and_fail_state(c, observed, "pause");
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
	fire_event(c, OCRE_CONTAINER_STATUS_PAUSED);
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

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_PAUSED)
		return unlock_and_fail_state(c, observed, "unpause");
	ret = unpause_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (ret == OCRE_OK)
		fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
	return ret;
}

int ocre_container_kill(struct ocre_container *c)
{
	bool observed = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
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
			fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return OCRE_OK; /* already ended: nothing to kill */
	default:
		return unlock_and_fail_state(c, observed, "kill");
	}
}

int ocre_container_stop_async(struct ocre_container *c, unsigned grace_ms)
{
	bool observed = false, unpaused = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	switch (c->status) {
	case OCRE_CONTAINER_STATUS_RUNNING:
	case OCRE_CONTAINER_STATUS_PAUSED:
		break;
	case OCRE_CONTAINER_STATUS_EXITED:
	case OCRE_CONTAINER_STATUS_STOPPED:
		pthread_mutex_unlock(&c->lock);
		if (observed)
			fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
		return OCRE_OK;
	default:
		return unlock_and_fail_state(c, observed, "stop");
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
		fire_event(c, OCRE_CONTAINER_STATUS_RUNNING);
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

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
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
		return unlock_and_fail_state(c, observed, "wait for");
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
				fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
			return ocre_fail(OCRE_ERR_TIMEOUT, "container %s still running after %u ms", c->id,
			                 *timeout_ms);
		}
	}
	if (observe_locked(c))
		observed = true;
	if (status)
		*status = c->exit.status;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
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

int ocre_container_get_exit(struct ocre_container *c, struct ocre_exit_info *info)
{
	if (!c || !info)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container or info is NULL");
	pthread_mutex_lock(&c->lock);
	*info = c->exit;
	pthread_mutex_unlock(&c->lock);
	return OCRE_OK;
}

int ocre_container_set_stdio(struct ocre_container *c, int stdin_fd, int stdout_fd, int stderr_fd)
{
	int fds[3];
	bool observed = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED)
		return unlock_and_fail_state(c, observed, "change the stdio of");
	if (!c->engine->set_stdio) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_UNSUPPORTED, "engine %s cannot change stdio", c->engine->runtime_name);
	}
	if ((ret = check_fds(fds, stdin_fd, stdout_fd, stderr_fd)) != OCRE_OK) {
		pthread_mutex_unlock(&c->lock);
		return ret;
	}
	if (c->engine->set_stdio(c->engine_ctx, fds[0], fds[1], fds[2]) != 0) {
		pthread_mutex_unlock(&c->lock);
		return ocre_fail(OCRE_ERR_RUNTIME, "engine failed to change stdio of %s", c->id);
	}
	memcpy(c->fds, fds, sizeof(fds));
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_set_event_callback(struct ocre_container *c, ocre_container_event_cb cb, void *user_data)
{
	if (!c)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container is NULL");
	pthread_mutex_lock(&c->lock);
	c->cb = cb;
	c->cb_data = user_data;
	while (c->cb_inflight > 0)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return OCRE_OK;
}

int ocre_container_set_memory_limit(struct ocre_container *c, size_t bytes)
{
	bool observed = false;
	int ret;

	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (!bytes)
		bytes = CONFIG_OCRE_DEFAULT_MEMORY_LIMIT;
	ret = check_args_fit(c, bytes);
	if (ret == OCRE_OK)
		c->memory_limit = bytes;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return ret;
}

size_t ocre_container_get_memory_limit(struct ocre_container *c)
{
	size_t v;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->memory_limit;
	pthread_mutex_unlock(&c->lock);
	return v;
}

int ocre_container_set_nice(struct ocre_container *c, int nice)
{
	bool observed = false;
	int ret;

	if (nice < 0 || nice > OCRE_NICE_MAX)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "niceness %d is not in 0..%d", nice, OCRE_NICE_MAX);
	if ((ret = lock_live(c, &observed)) != OCRE_OK)
		return ret;
	c->nice = nice;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);
	return OCRE_OK;
}

int ocre_container_get_nice(struct ocre_container *c)
{
	int v;
	if (!c)
		return -1;
	pthread_mutex_lock(&c->lock);
	v = c->nice;
	pthread_mutex_unlock(&c->lock);
	return v;
}

void ocre_container_mark_closing(struct ocre_container *c)
{
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_mutex_unlock(&c->lock);
}
