/**
 * @file runtime/vtable.h
 * @brief The engine interface. An engine runs one image per container.
 *
 * Lifecycle guarantees the core gives an engine, per engine context:
 * - create() is called once, from any thread, at container creation;
 * - thread_execute() runs on the container's own thread, once per start, never
 *   twice at the same time;
 * - stop/kill/pause/unpause may be called from any thread while
 *   thread_execute() runs, including before it has posted its semaphore
 *   (then they must make the run end or park as soon as it begins);
 * - destroy() is called once, after the last thread_execute() returned.
 * Optional members may be NULL; the core then reports OCRE_ERR_UNSUPPORTED.
 */
#ifndef OCRE_RUNTIME_VTABLE_H
#define OCRE_RUNTIME_VTABLE_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_container_args;

/** Exit statuses with a fixed meaning (ordinary WASI exit codes are 0..125). */
#define OCRE_EXIT_STATUS_TRAP 134   /**< 128 + SIGABRT: the module trapped */
#define OCRE_EXIT_STATUS_KILLED 137 /**< 128 + SIGKILL: killed (Docker's convention) */

/** Why a run ended. */
typedef enum {
	OCRE_EXIT_REASON_NONE = 0, /**< has not run to an end yet */
	OCRE_EXIT_REASON_EXIT,     /**< main returned or proc_exit was called */
	OCRE_EXIT_REASON_KILLED,   /**< kill, or stop after its grace period */
	OCRE_EXIT_REASON_TRAP,     /**< a WebAssembly trap or an engine failure at run time */
} ocre_exit_reason_t;

/** How an image is executed (ocre-node addition). */
typedef enum {
	OCRE_TIER_AUTO = 0,    /**< the image's verified AOT artifact if it has one, else the interpreter */
	OCRE_TIER_INTERPRETER, /**< always the interpreter */
	OCRE_TIER_AOT,         /**< the verified AOT artifact, or fail */
} ocre_tier_t;

struct ocre_context;

/** What create_with() gets beyond Ocre's create() (ocre-node addition). */
struct ocre_engine_options {
	/** The requested execution tier (engines without tiers treat AUTO and
	 * INTERPRETER alike and fail AOT with OCRE_ERR_NO_AOT). */
	ocre_tier_t tier;
	/** The context the container belongs to: its message bus and device
	 * providers (<ocre/messaging.h>, <ocre/devices.h>). Outlives the engine
	 * context. */
	struct ocre_context *context;
};

struct ocre_runtime_vtable {
	/** Unique engine name, e.g. "wamr/wasip1". */
	const char *const runtime_name;

	/** Called once by ocre_initialize(). 0 on success. */
	int (*init)(void);
	/** Called once by ocre_deinitialize(), after every context is destroyed. */
	int (*deinit)(void);

	/**
	 * Prepare an instance of @p img_path (loaded here, not run). Ocre's
	 * signature; the core calls create_with() instead when it is set.
	 * @param id            container id
	 * @param workdir       the container's private directory (the `filesystem`
	 *                      capability), or NULL
	 * @param capabilities, argv, envp, mounts  NULL-terminated arrays (may be
	 *                      NULL); argv does not include argv[0]
	 * @param stdin_fd, stdout_fd, stderr_fd  the caller's fds (-1: the process's
	 *                      own; OCRE_STDIO_IGNORE: discarded; OCRE_STDIO_CAPTURE:
	 *                      kept, see take_output); valid until thread_execute() has posted its
	 *                      semaphore: the engine duplicates them for each run
	 * @return an engine context, or NULL with the reason in the last error.
	 */
	void *(*create)(const char *id, const char *img_path, const char *workdir, const char **capabilities,
	                const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
	                int stderr_fd);
	/** Free an engine context. */
	int (*destroy)(void *runtime_context);

	/**
	 * Run the instance to its end on the calling thread. Post @p sem exactly
	 * once, as soon as kill() can take effect (or on early failure).
	 * @return the exit status (0..255; OCRE_EXIT_STATUS_TRAP/KILLED for those).
	 */
	int (*thread_execute)(void *runtime_context, sem_t *sem);

	/** Ask the run to finish (e.g. stdin reads see end-of-file). Non-blocking. */
	int (*stop)(void *runtime_context);
	/** Make the run end promptly with OCRE_EXIT_STATUS_KILLED. Non-blocking. */
	int (*kill)(void *runtime_context);
	/** Park the run at its next host call. Non-blocking. */
	int (*pause)(void *runtime_context);
	/** Let a paused run continue. */
	int (*unpause)(void *runtime_context);

	/* ---- ocre-node additions (may be NULL) ---- */

	/**
	 * create() with the options below; used instead of create() when set.
	 * An engine without it runs every container at OCRE_TIER_AUTO (the core
	 * refuses OCRE_TIER_AOT with OCRE_ERR_NO_AOT) and gets no context.
	 */
	void *(*create_with)(const char *id, const char *img_path, const char *workdir, const char **capabilities,
	                     const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
	                     int stderr_fd, const struct ocre_engine_options *options);

	/**
	 * Why the last run ended, with a message for traps (e.g. "integer divide
	 * by zero"). @p message receives a NUL-terminated string (may be empty).
	 */
	ocre_exit_reason_t (*exit_reason)(void *runtime_context, char *message, size_t message_size);

	/** Replace the stdio fds used by the next run (same rules as create). */
	int (*set_stdio)(void *runtime_context, int stdin_fd, int stdout_fd, int stderr_fd);

	/**
	 * Called before each start, before the container thread exists: reset
	 * per-run state (a kill may arrive between this and thread_execute()).
	 */
	int (*prepare)(void *runtime_context);

	/**
	 * Called once right after create() with the caller's arguments (which
	 * may be NULL), for the limits create() does not take: max_open_files,
	 * stack_size. 0, or -1 with the last error set (OCRE_ERR_INVALID_ARGUMENT).
	 */
	int (*configure)(void *runtime_context, const struct ocre_container_args *arguments);

	/** The tier this container runs in: "aot" or "interpreter", a static
	 *  string. Called once, right after create(); the core keeps the answer. */
	const char *(*tier)(void *runtime_context);

	/** Ocre API events dropped so far (full queue), every run. Any thread. */
	unsigned long long (*events_dropped)(void *runtime_context);

	/**
	 * Hand over the output the last run wrote to OCRE_STDIO_CAPTURE stream
	 * @p stream (1 or 2): malloc'd bytes (the caller frees them; NULL for
	 * none), their count, and whether the output limit ended the run.
	 * Called by the core on the run's thread right after thread_execute()
	 * (the core keeps the bytes). An engine without it gets no
	 * OCRE_STDIO_CAPTURE.
	 */
	int (*take_output)(void *runtime_context, int stream, void **data, size_t *size, bool *truncated);

	/**
	 * Native stack, in bytes, the container's runs need on their thread
	 * (compiled code keeps its frames there); 0 or NULL: the platform's
	 * CONFIG_OCRE_CONTAINER_STACK_SIZE. Called once, after configure().
	 */
	size_t (*thread_stack_size)(void *runtime_context);
};

#ifdef __cplusplus
}
#endif
#endif
