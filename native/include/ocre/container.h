/**
 * @file container.h
 * @brief Containers and their state machine.
 *
 *     CREATED --start--> RUNNING --(exits)--> EXITED --(observed)--> STOPPED
 *                         |   ^                                        |
 *                   pause v   | unpause                 start (restart)
 *                         PAUSED                                       |
 *     failure to start --> ERROR            STOPPED <------------------+
 *
 * Every function is thread-safe. A container pointer stays valid until it is
 * removed; a caller that may race with removal holds a reference with
 * ocre_container_retain() (getters then keep working on the removed container,
 * and lifecycle calls fail with OCRE_ERR_NOT_FOUND).
 */
#ifndef OCRE_CONTAINER_H
#define OCRE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <ocre/runtime/vtable.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_container;

typedef enum {
	OCRE_CONTAINER_STATUS_UNKNOWN = 0,
	OCRE_CONTAINER_STATUS_CREATED,
	OCRE_CONTAINER_STATUS_RUNNING,
	OCRE_CONTAINER_STATUS_PAUSED,
	OCRE_CONTAINER_STATUS_EXITED,
	OCRE_CONTAINER_STATUS_STOPPED,
	OCRE_CONTAINER_STATUS_ERROR,
} ocre_container_status_t;

/** Largest niceness a container's runs may be given (Linux's range ends at 19). */
#define OCRE_NICE_MAX 19

/** Default grace period of ocre_container_stop(), in milliseconds. */
#define OCRE_STOP_DEFAULT_GRACE_MS 10000

/**
 * Start (CREATED or STOPPED only) on a thread of the context (a parked one
 * is reused). Returns once the engine has begun the run (the instance
 * exists and can be killed). An attached (not detached) container is then
 * waited for: the call returns after it exits (its status is then in
 * ocre_container_get_exit()). The stdio fds given at creation or with
 * ocre_container_set_stdio() must be open when this is called; the run
 * works on its own duplicates, so they may be closed once it returns.
 * @return 0; OCRE_ERR_STATE; OCRE_ERR_RUNTIME/OCRE_ERR_NO_MEMORY/OCRE_ERR_IO
 *         if no thread could be had, a stdio fd could not be duplicated or
 *         the engine could not begin the run, e.g. instantiate the module
 *         (state becomes ERROR).
 */
int ocre_container_start(struct ocre_container *container);

/**
 * Like ocre_container_start(), but returns as soon as the run is handed to
 * its thread, before the engine begins it, and never waits for the exit,
 * whatever the detached flag. For embedders (such as the Node addon) that
 * learn about the exit from the event callback.
 *
 * The run can be killed, stopped and paused from the moment this returns:
 * the requests are recorded and the run acts on them before the guest
 * executes anything. RUNNING is delivered before this returns, so it always
 * precedes EXITED.
 *
 * Failures found before the hand-over (state, stdio duplication, no thread)
 * are this call's error and the state becomes ERROR, as with
 * ocre_container_start(). A run the engine then cannot begin (e.g. the
 * module's initial memory is over the memory limit, or it exports no
 * `_start`) is not an error of this call: the run ends at once with status
 * OCRE_EXIT_STATUS_TRAP, reason OCRE_EXIT_REASON_TRAP and the engine's
 * message in ocre_container_get_exit(); the container goes RUNNING ->
 * EXITED -> STOPPED and may be restarted or removed.
 */
int ocre_container_start_async(struct ocre_container *container);

/**
 * Current status. An EXITED container is observed here: its thread is joined
 * and STOPPED is returned. UNKNOWN for NULL.
 */
ocre_container_status_t ocre_container_get_status(struct ocre_container *container);

/** The id. Owned by the container; valid while it is (NULL for NULL). */
const char *ocre_container_get_id(const struct ocre_container *container);

/** The image file name. Owned by the container; valid while it is. */
const char *ocre_container_get_image(const struct ocre_container *container);

/** Engine name. Owned by the library; static for the library's lifetime. */
const char *ocre_container_get_runtime(const struct ocre_container *container);

/**
 * The execution tier chosen at creation: "aot" (the image's verified AOT
 * artifact) or "interpreter". Static strings; NULL for NULL.
 */
const char *ocre_container_get_tier(const struct ocre_container *container);

/**
 * Ocre API events (timer expiries, messages, GPIO changes) this container
 * dropped because its event queue was full or its heap could not take a
 * message, over every run so far. 0 for NULL, a removed container, or an
 * engine without the Ocre API.
 */
unsigned long long ocre_container_get_events_dropped(struct ocre_container *container);

/** Park a RUNNING container at its next host call. 0, OCRE_ERR_STATE. */
int ocre_container_pause(struct ocre_container *container);

/** Resume a PAUSED container. 0, OCRE_ERR_STATE. */
int ocre_container_unpause(struct ocre_container *container);

/**
 * Stop with the default grace period and wait for the exit: asks the
 * container to finish (stdin reads see end-of-file), kills it after
 * OCRE_STOP_DEFAULT_GRACE_MS. 0 (also if already stopped), OCRE_ERR_STATE
 * for CREATED/ERROR.
 */
int ocre_container_stop(struct ocre_container *container);

/**
 * Like ocre_container_stop() with a grace period of @p grace_ms (0: kill at
 * once), but does not wait: returns at once, the kill (if needed) happens on
 * the library's timer thread. Observe the end with wait() or the event callback.
 */
int ocre_container_stop_async(struct ocre_container *container, unsigned grace_ms);

/**
 * Kill a RUNNING or PAUSED container: it ends within milliseconds (also from
 * a busy loop, a WASI sleep, or a blocked stdin read) with status
 * OCRE_EXIT_STATUS_KILLED. Does not wait. 0; OCRE_ERR_STATE otherwise
 * (killing a container that already exited is 0).
 */
int ocre_container_kill(struct ocre_container *container);

/**
 * Wait for a RUNNING/PAUSED container to exit; for a STOPPED one return the
 * last status at once. @p status may be NULL.
 * @return 0; OCRE_ERR_STATE for CREATED/ERROR.
 */
int ocre_container_wait(struct ocre_container *container, int *status);

/** Like ocre_container_wait() but gives up after @p timeout_ms (OCRE_ERR_TIMEOUT). */
int ocre_container_wait_timeout(struct ocre_container *container, int *status, unsigned timeout_ms);

/**
 * Hand over what the last run wrote to @p stream (1: stdout, 2: stderr) when
 * that stream is OCRE_STDIO_CAPTURE: *@p data (malloc'd, the caller frees
 * it; NULL when *@p size is 0) and whether the run was killed for writing
 * more than its output limit (*@p truncated; may be NULL). Once taken, or
 * for a stream that is not captured, the next call gets 0 bytes. A new run
 * discards what the previous one left. The output stays with the container
 * after its removal (e.g. by the context's destruction), until released.
 * @return OCRE_OK; OCRE_ERR_INVALID_ARGUMENT (NULL, another stream),
 *         OCRE_ERR_STATE (running or paused), OCRE_ERR_UNSUPPORTED (the
 *         engine has no capture).
 */
int ocre_container_take_output(struct ocre_container *container, int stream, void **data, size_t *size,
                               bool *truncated);

/** Whether the container was created detached. false for NULL. */
bool ocre_container_is_detached(struct ocre_container *container);

/** How the last run ended. */
struct ocre_exit_info {
	int status;                /**< exit status (valid when reason != NONE) */
	ocre_exit_reason_t reason; /**< NONE while never run or running */
	char message[256];         /**< trap/engine message; "" otherwise */
	unsigned runs;             /**< number of completed runs */
};

/** Copy the last run's exit information into @p info. 0 or OCRE_ERR_INVALID_ARGUMENT. */
int ocre_container_get_exit(struct ocre_container *container, struct ocre_exit_info *info);

/**
 * Replace the stdio of the next run (CREATED or STOPPED only). Same rules as
 * at creation: OCRE_STDIO_IGNORE discards, other fds < 0 mean the process's
 * own; others must stay open until
 * the next ocre_container_start() returns.
 */
int ocre_container_set_stdio(struct ocre_container *container, int stdin_fd, int stdout_fd, int stderr_fd);

/**
 * Niceness of the container's runs from its next start on (ocre-node
 * addition): 0..OCRE_NICE_MAX, added to the niceness of the
 * thread that created the run's thread; the default is its context's
 * (ocre_context_set_container_nice()). A running container keeps the
 * niceness it started with.
 * @return 0; OCRE_ERR_INVALID_ARGUMENT (out of range), OCRE_ERR_NOT_FOUND
 *         (removed).
 */
int ocre_container_set_nice(struct ocre_container *container, int nice);

/** The niceness its next run gets (see ocre_container_set_nice()); -1 for NULL. */
int ocre_container_get_nice(struct ocre_container *container);

/**
 * Limit the container's memory (its WebAssembly linear memory) to @p bytes
 * from the next start on; 0 restores the default
 * (CONFIG_OCRE_DEFAULT_MEMORY_LIMIT, 256 MiB). Past the limit memory.grow
 * fails, as it would at the module's own maximum. Any state but removed.
 * OCRE_ERR_INVALID_ARGUMENT (limit unchanged) when the container's arguments
 * and environment (strings, terminators and one pointer each) take more than
 * @p bytes: they live in container memory.
 */
int ocre_container_set_memory_limit(struct ocre_container *container, size_t bytes);

/** The memory limit in bytes. 0 for NULL. */
size_t ocre_container_get_memory_limit(struct ocre_container *container);

/**
 * Event callback: called after each status change (RUNNING, PAUSED, EXITED,
 * STOPPED, ERROR) on the thread that made the change (often the container
 * thread). No lock is held during the call, but it must not block for long.
 * It may call the getters; it must not wait for the container, nor replace
 * the callback.
 */
typedef void (*ocre_container_event_cb)(struct ocre_container *container, ocre_container_status_t status,
                                        void *user_data);

/**
 * Install (or with NULL remove) the event callback. When this returns, no
 * call of the previous callback is still running, so its user_data may be
 * freed.
 */
int ocre_container_set_event_callback(struct ocre_container *container, ocre_container_event_cb cb, void *user_data);

/** Take a reference: the memory stays valid until the matching release. */
void ocre_container_retain(struct ocre_container *container);
/** Drop a reference taken with ocre_container_retain(). */
void ocre_container_release(struct ocre_container *container);

/** Convert a status to "created", "running", ... ("unknown"). Static storage. */
const char *ocre_container_status_name(ocre_container_status_t status);

#ifdef __cplusplus
}
#endif
#endif
