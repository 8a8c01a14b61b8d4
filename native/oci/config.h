/* ocre-oci: the part of an OCI bundle's config.json (runtime spec 1.x) that
 * a WebAssembly container uses, read and checked before anything runs. */
#ifndef OCRE_OCI_CONFIG_H
#define OCRE_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/** A bind mount of a host directory (the only kind a wasm container can use). */
struct oci_mount {
	char *source;      /**< absolute host path of a directory */
	char *destination; /**< absolute guest path, not "/" */
	bool readonly;
};

/** Everything owned by the struct; free with oci_config_free(). */
struct oci_config {
	char *bundle;             /**< absolute, resolved */
	char *root;               /**< root.path, absolute and resolved: the guest's "/" */
	bool root_readonly;       /**< root.readonly: the guest's "/" is read-only */
	char *module;             /**< host path of the module (process.args[0] resolved in root) */
	char **args;              /**< process.args after the first, NULL-terminated */
	char **env;               /**< process.env, NULL-terminated ("K=V" each) */
	char *cwd;                /**< process.cwd (absolute guest path) */
	bool terminal;            /**< process.terminal */
	struct oci_mount *mounts; /**< directory bind mounts */
	size_t n_mounts;
	size_t n_skipped_mounts; /**< kernel file systems (proc, sysfs, ...) and file binds: nothing to map */
	char *annotations;       /**< the annotations object as compact JSON ("{}" when absent) */
	char **capabilities;     /**< ocre capabilities, NULL-terminated ("filesystem" always) */
	uint64_t memory_limit;   /**< linux.resources.memory.limit, 0 = default */
	unsigned stop_grace_ms;  /**< annotation run.ocre.stop-grace-ms; 0 = until the engine kills */
};

/** Results of the parsing functions below. */
#define OCI_CONFIG_OK 0
#define OCI_CONFIG_INVALID (-1)  /**< the bundle cannot run: the reason is in err */
#define OCI_CONFIG_NOT_WASM (-2) /**< a valid bundle whose process.args[0] is not WebAssembly (a native image) */

/**
 * Parse @p json (the text of @p bundle/config.json; @p bundle absolute) into
 * @p cfg, checking every field used and resolving paths against the bundle and
 * the root file system. On failure returns OCI_CONFIG_INVALID or
 * OCI_CONFIG_NOT_WASM with a one-line reason in @p err and leaves @p cfg empty
 * (nothing to free).
 */
int oci_config_parse(const char *json, size_t len, const char *bundle, struct oci_config *cfg, char *err);

/** Read and parse BUNDLE/config.json (@p bundle may be relative). As oci_config_parse(). */
int oci_config_load(const char *bundle, struct oci_config *cfg, char *err);

/** Free what @p cfg holds and zero it. Safe on a zeroed struct. */
void oci_config_free(struct oci_config *cfg);

/** Whether @p id is a usable container id: 1-1024 of [A-Za-z0-9_+.-], not starting with ".". */
bool oci_valid_id(const char *id);

#endif
