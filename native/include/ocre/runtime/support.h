/**
 * @file runtime/support.h
 * @brief What the core offers engines: failing with a reason (the last
 *        error), string vectors, SHA-256. An engine (native/runtime/<name>/)
 *        includes this and the other public headers, never the core's private
 *        ones.
 */
#ifndef OCRE_RUNTIME_SUPPORT_H
#define OCRE_RUNTIME_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <ocre/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Set the calling thread's last error (ocre_last_error(),
 * ocre_last_error_message()) to @p code with a printf-style message, and
 * return @p code: `return ocre_fail(OCRE_ERR_INVALID_IMAGE, "...")`. How a
 * vtable call that returns NULL or an error reports why.
 */
int ocre_fail(ocre_err_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * A malloc'd copy of the NULL-terminated vector @p v and of its strings
 * (NULL @p v: an empty vector). NULL when out of memory. Free with
 * ocre_strv_free().
 */
char **ocre_strv_dup(const char **v);
/** Free a vector of ocre_strv_dup() (NULL is fine). */
void ocre_strv_free(char **v);
/** Number of strings before the NULL (0 for a NULL @p v). */
size_t ocre_strv_len(const char *const *v);

struct ocre_container_args;

/**
 * During a vtable create() call, on its thread: the caller's full arguments
 * (NULL when it passed none, and outside create()). For what create()'s own
 * parameters do not carry, e.g. image_sha256, which must be checked before
 * the image's bytes reach a loader.
 */
const struct ocre_container_args *ocre_create_arguments(void);

/** SHA-256 (FIPS 180-4) in steps: init, update any number of times, final. */
struct ocre_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
};
void ocre_sha256_init(struct ocre_sha256 *s);
void ocre_sha256_update(struct ocre_sha256 *s, const void *data, size_t size);
void ocre_sha256_final(struct ocre_sha256 *s, uint8_t out[32]);
/** SHA-256 of one buffer. */
void ocre_sha256(const void *data, size_t size, uint8_t out[32]);
/** HMAC-SHA-256 (RFC 2104) of @p data under @p key. */
void ocre_hmac_sha256(const void *key, size_t key_size, const void *data, size_t size, uint8_t out[32]);
/** Lower-case hex of @p bytes into @p out (2 * @p size + 1 chars, NUL-terminated). */
void ocre_hex(const uint8_t *bytes, size_t size, char *out);

#ifdef __cplusplus
}
#endif
#endif
