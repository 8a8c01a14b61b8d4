/**
 * @file context.h
 * @brief Contexts: one per working directory, owning its containers.
 *
 * Layout of a working directory:
 *     <workdir>/images/<image>          images
 *     <workdir>/containers/<id>/        private dirs (the `filesystem` capability)
 *     <workdir>/.lock                   flock()ed by the process using the workdir
 */
#ifndef OCRE_CONTEXT_H
#define OCRE_CONTEXT_H

#include <stdbool.h>

#include <ocre/runtime/vtable.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_context;
struct ocre_container;

/** NULL-terminated string arrays. The core copies them; they need not outlive the call. */
struct ocre_container_args {
	const char **argv;         /**< arguments after argv[0] (argv[0] is the image name) */
	const char **envp;         /**< "KEY=VALUE" entries */
	const char **capabilities; /**< "filesystem", "networking", "ocre:api" */
	const char **mounts;       /**< "/host/abs:GUEST" or "/host/abs:GUEST:ro"; GUEST absolute ("/": the root, not
	                                with the "filesystem" capability) or relative ("."), each at most once */
	/**
	 * Execution tier (ocre-node addition; zero-initialised structs get
	 * OCRE_TIER_AUTO): AUTO runs the image's AOT artifact when one compiled by
	 * this store for this exact image verifies, else interprets it; AOT
	 * requires that artifact (OCRE_ERR_NO_AOT otherwise); INTERPRETER never
	 * loads native code. A tampered or foreign artifact fails creation with
	 * OCRE_ERR_AOT_REJECTED under AUTO and AOT; only INTERPRETER runs such an
	 * image. See native/runtime/wamr/aot.c for the artifact files.
	 */
	ocre_tier_t tier;
	/**
	 * The `filesystem` capability's private directory workdir/containers/<id>/
	 * (ocre-node addition; zero-initialised structs get false): a new
	 * container starts with a new, empty one, and creation fails with
	 * OCRE_ERR_EXISTS if one is already there (left by a process that died,
	 * or put there by someone else), never reusing it by accident. true:
	 * reuse that directory if it exists (a supervisor re-creating its
	 * containers after a restart); it must be a real directory, not a
	 * symlink. Without the capability this has no effect.
	 */
	bool restore_directory;
	/**
	 * Most fds the guest may hold open at once, counting its stdio and
	 * preopened directories (ocre-node addition; 0:
	 * CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES, 128). Opening more (path_open,
	 * sock_open, sock_accept) fails with EMFILE in the guest, so one
	 * container cannot exhaust the process's fds.
	 */
	unsigned max_open_files;
	/**
	 * WebAssembly stack in bytes (ocre-node addition; 0:
	 * CONFIG_OCRE_WASM_STACK_SIZE). The interpreter's frames live there;
	 * see docs/platform.md for recursion depths in both tiers.
	 */
	size_t stack_size;
	/**
	 * SHA-256 (64 hex digits) of the image content the caller validated, or
	 * NULL (ocre-node addition). The engine reads the image once into memory
	 * it owns and loads exactly those bytes; with this set, it refuses them
	 * (OCRE_ERR_IMAGE_CHANGED) unless they hash to this value, so a file
	 * swapped after the caller's own check never reaches the loader.
	 */
	const char *image_sha256;
	/**
	 * Bytes kept of each OCRE_STDIO_CAPTURE stream per run (ocre-node
	 * addition; 0: CONFIG_OCRE_DEFAULT_OUTPUT_LIMIT, 1 MiB; SIZE_MAX: no
	 * limit). A run that writes more to such a stream keeps the first
	 * output_limit bytes and is killed (see OCRE_STDIO_CAPTURE).
	 */
	size_t output_limit;
};

/**
 * As a stdio fd: the guest's stream is discarded, like /dev/null (reads see
 * end-of-file, writes succeed) and costs no host fd. The guest's fd of that
 * stream does not exist for other calls (fd_fdstat_get says EBADF), except
 * that fd_renumber onto it works as onto /dev/null.
 */
#define OCRE_STDIO_IGNORE (-2)

/**
 * As stdout_fd or stderr_fd (ocre-node addition): the run's output on that
 * stream is kept in memory, for ocre_container_take_output() once the run
 * has ended, with no host fd, pipe or reader thread. The guest sees its fd as
 * with OCRE_STDIO_IGNORE; its writes succeed. A run that writes more than
 * the container's output_limit (struct ocre_container_args) to it keeps the
 * first output_limit bytes and is killed there (exit status
 * OCRE_EXIT_STATUS_KILLED, reason OCRE_EXIT_REASON_KILLED; the stream is
 * reported truncated). Not for stdin (OCRE_ERR_INVALID_ARGUMENT), nor for an
 * engine without the capture (OCRE_ERR_UNSUPPORTED).
 */
#define OCRE_STDIO_CAPTURE (-3)

/**
 * Create a context on @p workdir (absolute path; NULL for
 * CONFIG_OCRE_DEFAULT_WORKING_DIRECTORY). Creates workdir/, images/ and
 * containers/ if missing. The context holds an exclusive flock() on
 * workdir/.lock until it is destroyed (the kernel drops it if the process
 * dies): one process at a time uses a working directory.
 * @return the context, or NULL (last error: OCRE_ERR_NOT_INITIALIZED,
 *         OCRE_ERR_INVALID_ARGUMENT for a relative path, OCRE_ERR_EXISTS if a
 *         live context of this process already uses this workdir,
 *         OCRE_ERR_BUSY if another process does, OCRE_ERR_IO).
 */
struct ocre_context *ocre_create_context(const char *workdir);

/**
 * Kill every running container, wait for all, remove them, free the context.
 * The pointer is invalid afterwards. Returns 0, or an error for NULL / an
 * unknown context.
 *
 * The wait is bounded: runs end at their kill, but one that has not ended
 * CONFIG_OCRE_DESTROY_TIMEOUT_MS (default 5000) after it (a host function
 * that never returns, e.g. a hung device provider) does not hold this call.
 * It then returns OCRE_ERR_TIMEOUT with that container's id in the last
 * error; the context is destroyed all the same (the pointer is invalid, the
 * workdir is released), and the stuck run's thread, detached, frees what the
 * context still holds when it ends. Such a container is not removed (its
 * private directory stays) and delivers no more events. From its kill on a
 * run calls no sensor or GPIO provider: the providers may be freed once this
 * returns.
 */
int ocre_destroy_context(struct ocre_context *context);

/**
 * Create a container (state CREATED). The image is loaded now, so a bad image
 * fails here, not at start.
 * @param image        file name in workdir/images/ (naming rules: [a-z0-9._-], not starting with '.' or '-')
 * @param runtime      engine name, or NULL for the best engine for the image
 * @param container_id id (same rules), or NULL for a random 8-hex-digit id
 * @param detached     recorded; ocre_container_start() of an attached
 *                     container waits for its exit
 * @param arguments    may be NULL
 * @param stdin_fd, stdout_fd, stderr_fd  OCRE_STDIO_IGNORE: discarded (no host
 *                     fd); OCRE_STDIO_CAPTURE (stdout, stderr): kept in
 *                     memory; other values < 0: the process's own. Otherwise
 *                     the caller's fds, which must stay open until each
 *                     ocre_container_start() has returned: every run gets its
 *                     own duplicates, closed when the run ends (so a reader
 *                     of a stdout pipe sees end-of-file when the container
 *                     exits, once the caller has closed its own write end).
 * @return the container (owned by the context; valid until removed), or NULL
 *         with the reason in the last error (OCRE_ERR_INVALID_ARGUMENT when
 *         argv and envp take more than the default memory limit; see
 *         ocre_container_set_memory_limit()). On failure nothing is left on disk.
 */
struct ocre_container *ocre_context_create_container(struct ocre_context *context, const char *image,
                                                     const char *runtime, const char *container_id, bool detached,
                                                     const struct ocre_container_args *arguments, int stdin_fd,
                                                     int stdout_fd, int stderr_fd);

/** The container with @p id, or NULL (last error OCRE_ERR_NOT_FOUND). */
struct ocre_container *ocre_context_get_container_by_id(struct ocre_context *context, const char *id);

/**
 * Remove a container in state CREATED, STOPPED or ERROR (an EXITED container
 * is first observed, becoming STOPPED). Deletes its private directory. The
 * pointer is invalid afterwards (unless retained with ocre_container_retain()).
 * It does not wait for the event callback: the EXITED and STOPPED of a run
 * that just ended may still reach a callback left installed while or after
 * this returns (remove the callback first to stop them).
 * @return 0, OCRE_ERR_STATE while running or paused, OCRE_ERR_NOT_FOUND.
 */
int ocre_context_remove_container(struct ocre_context *context, struct ocre_container *container);

/** Number of containers, or -1 for a NULL/unknown context. */
int ocre_context_get_container_count(struct ocre_context *context);

/**
 * Fill @p containers with up to @p max_size containers (creation order).
 * @return the number written, or -1 on bad arguments.
 */
int ocre_context_get_containers(struct ocre_context *context, struct ocre_container **containers, int max_size);

/**
 * Like ocre_context_get_containers(), but takes a reference on each container
 * returned (under the context's lock), so they stay valid even if another
 * thread removes them. Release each with ocre_container_release().
 */
int ocre_context_get_containers_retained(struct ocre_context *context, struct ocre_container **containers,
                                         int max_size);

/** The context's working directory. Owned by the context. NULL for NULL. */
const char *ocre_context_get_working_directory(const struct ocre_context *context);

/**
 * Niceness given to the runs of containers created from now on in @p context
 * (ocre-node addition): 0..OCRE_NICE_MAX (container.h), added to the niceness of the
 * thread that starts the run's thread (normally the process's). Default
 * CONFIG_OCRE_CONTAINER_NICE (0): containers compete for the CPU like any
 * other thread, so a CPU-bound one is not starved by other busy processes.
 * Higher values let the process's own threads (its event loop) and other
 * processes win the CPU from busy containers, at the cost of those
 * containers' throughput (and how soon a busy one notices a kill) when the
 * host is loaded. Change a single container with ocre_container_set_nice().
 * @return 0; OCRE_ERR_INVALID_ARGUMENT for an unknown context or a value
 *         out of range.
 */
int ocre_context_set_container_nice(struct ocre_context *context, int nice);

/** The niceness new containers of @p context get, or -1 for an unknown context. */
int ocre_context_get_container_nice(struct ocre_context *context);

/**
 * Size in bytes of image @p image of the context's image store, without
 * loading it (ocre-node addition: lets a caller choose how to create).
 * @return the size, or -1 with the last error set: OCRE_ERR_INVALID_ARGUMENT,
 *         OCRE_ERR_INVALID_NAME, or OCRE_ERR_IMAGE_NOT_FOUND (missing, or not
 *         a regular file).
 */
long long ocre_context_get_image_size(struct ocre_context *context, const char *image);

#ifdef __cplusplus
}
#endif
#endif
