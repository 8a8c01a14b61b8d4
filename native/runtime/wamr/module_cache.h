/* The module cache of the "wamr/wasip1" engine: loaded images shared by the
 * containers created from them, and kept loaded for a while when unused.
 *
 * An entry is one file version (device, inode, size, mtime of the image and,
 * for the AUTO and AOT tiers, of its AOT record and artifact) loaded at one
 * tier. ocre_wamr_module_get() takes a reference (loading and, for AOT,
 * verifying on a miss); ocre_wamr_module_put() drops it. Unused entries stay
 * within CONFIG_OCRE_MODULE_CACHE_IDLE entries and
 * CONFIG_OCRE_MODULE_CACHE_IDLE_BYTES bytes, least recently used evicted
 * first; an unused entry of an earlier version of a file goes at the next get
 * of that file. */
#ifndef OCRE_WAMR_MODULE_CACHE_H
#define OCRE_WAMR_MODULE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "wasm_export.h"

#include <ocre/runtime/vtable.h>

#define OCRE_WAMR_NO_FUNC ((uint32_t)-1)

/* The guest code a run calls, as function indices (OCRE_WAMR_NO_FUNC: none),
 * taken off the module at load so that WAMR's instantiation runs none of it
 * (see entry.c). */
struct wamr_entry {
	uint32_t post_inst; /* `__post_instantiate`, () -> () */
	uint32_t start;     /* the start section's function */
	uint32_t ctors;     /* `__wasm_call_ctors` for modules without WASI imports */
	uint32_t main;      /* `_start` */
	bool main_ok;       /* `_start` has type () -> () */
};

/* A loaded image, shared by every container created from the same file
 * (same device, inode, size and modification time). */
struct wamr_module {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint8_t *buf; /* the bytes WAMR loaded from (wasm, or the AOT artifact); must outlive the module */
	size_t buf_size;
	wasm_module_t module;
	bool aot; /* module is the image's verified AOT artifact */
	struct wamr_entry entry;
	uint8_t image_sha256[32]; /* of the image bytes read at load (what was validated and loaded) */
	/* The AOT artifact files seen when this entry was made (for AUTO/AOT
	 * lookups): present, and their versions. An interpreted entry made
	 * because the artifact was stale keeps why in note. */
	bool probed;
	bool artifact_present;
	struct stat artifact_st, meta_st;
	char note[200];
	int refs;             /* protected by the cache lock; 0: idle, kept for reuse */
	uint64_t last_use;    /* when it last became idle (LRU eviction) */
	pthread_mutex_t lock; /* WAMR keeps WASI args on the module: set + instantiate under it */
	struct wamr_module *next;
};

/* The loaded module of the image at @p path (named @p image_name in
 * messages) for @p tier, with a reference taken; NULL with the last error
 * set (OCRE_ERR_IMAGE_NOT_FOUND, _INVALID_IMAGE, _NO_AOT, _AOT_REJECTED,
 * _NO_MEMORY, _IMAGE_CHANGED). With @p expected_sha256 (32 bytes), only
 * bytes with that digest are loaded or served (checked before WAMR sees
 * them). Any thread. */
struct wamr_module *ocre_wamr_module_get(const char *path, const char *image_name, ocre_tier_t tier,
                                         const uint8_t *expected_sha256);
/* Drop a reference of ocre_wamr_module_get(). Any thread. */
void ocre_wamr_module_put(struct wamr_module *m);
/* Free every entry (at engine deinit, when no container is left). */
void ocre_wamr_module_cache_clear(void);

#endif
