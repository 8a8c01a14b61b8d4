/**
 * @file error.h
 * @brief Error codes and the per-thread last-error message.
 *
 * Every failing public call sets the calling thread's last error (a code and a
 * human-readable message with detail, e.g. WAMR's loader text) before it
 * returns. The message stays valid until the next failing ocre call on the same
 * thread; copy it if you need it longer. Successful calls leave it unchanged.
 */
#ifndef OCRE_ERROR_H
#define OCRE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** Error codes. Int-returning ocre calls return one of these (0 = success). */
typedef enum {
	OCRE_OK = 0,
	OCRE_ERR_INVALID_ARGUMENT,   /**< NULL or malformed argument */
	OCRE_ERR_INVALID_NAME,       /**< image or container id breaks the naming rules */
	OCRE_ERR_INVALID_MOUNT,      /**< mount is not "/abs/src:/abs/dst[:ro]" */
	OCRE_ERR_INVALID_CAPABILITY, /**< unknown capability name */
	OCRE_ERR_IMAGE_NOT_FOUND,    /**< no such file in workdir/images/ */
	OCRE_ERR_INVALID_IMAGE,      /**< the engine refused to load the image */
	OCRE_ERR_EXISTS,             /**< id or private directory exists; this process already has the workdir open */
	OCRE_ERR_NOT_FOUND,          /**< no such container */
	OCRE_ERR_STATE,              /**< the call is not allowed in the container's current state */
	OCRE_ERR_RUNTIME,            /**< unknown runtime, or the engine failed */
	OCRE_ERR_NO_MEMORY,          /**< allocation failed */
	OCRE_ERR_IO,                 /**< a file-system or OS call failed (errno text in the message) */
	OCRE_ERR_NOT_INITIALIZED,    /**< ocre_initialize() has not been called */
	OCRE_ERR_UNSUPPORTED,        /**< the engine does not implement this operation */
	OCRE_ERR_TIMEOUT,            /**< a timed wait expired */
	OCRE_ERR_NO_AOT,             /**< the AOT tier was required but the image has no matching AOT artifact */
	OCRE_ERR_AOT_REJECTED,       /**< the image's AOT artifact failed verification (tampered or foreign) */
	OCRE_ERR_IMAGE_CHANGED,      /**< the image's content is not the one the caller validated (image_sha256) */
	OCRE_ERR_BUSY,               /**< another process holds the working directory's lock */
	OCRE_ERR__COUNT
} ocre_err_t;

/** Short English description of @p err. Static storage; never NULL. */
const char *ocre_strerror(int err);

/**
 * Stable machine-readable name of @p err, e.g. "ERR_OCRE_INVALID_NAME"
 * ("OK" for OCRE_OK). Static storage; never NULL. These strings never change.
 */
const char *ocre_error_code(int err);

/** Code of the last failing call on this thread (OCRE_OK if none yet). */
ocre_err_t ocre_last_error(void);

/**
 * Message of the last failing call on this thread ("" if none). Owned by the
 * library; valid until the next failing call on this thread.
 */
const char *ocre_last_error_message(void);

/** Forget this thread's last error. */
void ocre_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif /* OCRE_ERROR_H */
