/**
 * @file wamr.h
 * @brief The built-in "wamr/wasip1" engine's own public calls (ocre-node
 *        additions): its vtable, its WAMR version and its AOT artifact records.
 *
 * AOT records are owned here (native/runtime/wamr/aot.c): their format, their
 * signature and their verification. The image store (lib/aot.ts) writes and
 * reads them only through these calls.
 */
#ifndef OCRE_RUNTIME_WAMR_H
#define OCRE_RUNTIME_WAMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ocre/runtime/vtable.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the engine (the default one). */
#define OCRE_RUNTIME_WAMR_WASIP1 "wamr/wasip1"

/** The engine's vtable (registered by ocre_initialize() from <ocre/runtime/builtin.h>). */
extern const struct ocre_runtime_vtable ocre_wamr_engine;

/** The WAMR version the engine was built from, e.g. "1.1.2". Static storage. */
const char *ocre_wamr_version(void);

/**
 * This machine's CPU fingerprint (hex SHA-256 of /proc/cpuinfo's first
 * "model name", "flags", "Features", "CPU implementer" and "CPU part"
 * values, newline-joined): what binds an AOT artifact compiled with
 * `--cpu native` to the machine. Static storage.
 */
const char *ocre_aot_machine_fingerprint(void);

/** The architecture AOT artifacts must be compiled for: this build's ("x86_64", "aarch64"). */
const char *ocre_aot_target(void);

/** How the AOT code this build loads (and its ocre-aotc writes) checks wasm
 * memory bounds: "guard" (no checks in the code: the runtime's guard regions
 * trap, 64-bit targets) or "software". An artifact's record must say the same. */
const char *ocre_aot_bounds(void);

/** Size of the buffer that holds any record (a longer one is malformed). */
#define OCRE_AOT_RECORD_MAX 4096
/** Size of a store key (`images/.aot/key`). */
#define OCRE_AOT_KEY_SIZE 32

/**
 * The fields of a record, in their order, NULL-terminated: "image",
 * "artifact", "image-sha256", "artifact-sha256", "artifact-size", "wamr",
 * "target", "cpu", "features", "opt", "bounds", "machine", "created".
 */
extern const char *const ocre_aot_record_fields[];

/**
 * Write a signed record: @p values[i] is the value of
 * ocre_aot_record_fields[i] (all present, non-empty, one line each), signed
 * with the store @p key.
 * @return the record's length in @p out (NUL-terminated), or -1 if a value is
 *         missing, empty, contains a newline, or the record does not fit.
 */
int ocre_aot_record_sign(const char *const values[], const uint8_t key[OCRE_AOT_KEY_SIZE],
                         char out[OCRE_AOT_RECORD_MAX]);

/**
 * The value of field @p key of @p record, copied to @p out (NUL-terminated).
 * @return false if there is no such field or it does not fit in @p size.
 */
bool ocre_aot_record_get(const char *record, const char *key, char *out, size_t size);

/** What the engine does with an image's AOT artifact. */
enum ocre_aot_verdict {
	OCRE_AOT_NONE,     /**< no artifact: interpret */
	OCRE_AOT_STALE,    /**< an artifact for another image version, WAMR or CPU: interpret */
	OCRE_AOT_OK,       /**< verified: load it */
	OCRE_AOT_REJECTED, /**< failed verification: never load it */
};

/**
 * Read the record of the image at @p img_path (its text into @p record, empty
 * if there is none or it is unreadable) and, if @p image_sha256 (lower-case
 * hex) is not NULL, judge it as the engine would, except for hashing the
 * artifact's bytes (the engine does that at load): its signature, WAMR
 * version, target, machine, image digest, and the artifact file's presence,
 * ownership and size. With a NULL @p image_sha256 only reads the record.
 * @return the verdict (OCRE_AOT_NONE without a digest), @p why saying why it
 *         is not OK, as a phrase about the image ("it has no AOT artifact").
 */
enum ocre_aot_verdict ocre_aot_inspect(const char *img_path, const char *image_sha256, char record[OCRE_AOT_RECORD_MAX],
                                       char *why, size_t why_size);

#ifdef __cplusplus
}
#endif
#endif
