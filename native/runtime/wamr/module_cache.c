/* The module cache of the "wamr/wasip1" engine (module_cache.h): lookup by
 * file version and tier, load and AOT verification on a miss, LRU eviction
 * of unused entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot.h"
#include "config.h"
#include "engine.h"
#include "module_cache.h"

#include <ocre/platform/file.h>
#include <ocre/platform/log.h>
#include <ocre/runtime/support.h>
#include <ocre/runtime/wamr.h>

LOG_MODULE_REGISTER(wamr_module_cache);

/* WAMR calls made on a thread WAMR did not create (a caller's, a libuv pool
 * thread) are wrapped in a thread environment, as WAMR's embedding rules ask. */
static bool enter_wamr_thread(void)
{
	if (wasm_runtime_thread_env_inited())
		return false;
	return wasm_runtime_init_thread_env();
}

static void leave_wamr_thread(bool entered)
{
	if (entered)
		wasm_runtime_destroy_thread_env();
}

/* Loaded modules; unused ones stay, within CONFIG_OCRE_MODULE_CACHE_IDLE(_BYTES). */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wamr_module *cache;
static unsigned idle_count;
static size_t idle_bytes;
static uint64_t use_seq;

static void image_free(struct wamr_module *m)
{
	if (m->module) {
		bool entered = enter_wamr_thread();
		wasm_runtime_unload(m->module);
		leave_wamr_thread(entered);
	}
	if (m->buf && m->aot)
		free(m->buf); /* the verified artifact, read privately (aot.c) */
	else if (m->buf)
		ocre_unload_file(m->buf, m->buf_size);
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
}

static bool same_file(const struct wamr_module *m, const char *path, const struct stat *st)
{
	return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
	       m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       strcmp(m->path, path) == 0;
}

/* Does cache entry @p m serve a create of this image at @p tier, given the
 * artifact files probed now? */
static bool entry_matches(const struct wamr_module *m, ocre_tier_t tier, const struct ocre_aot_probe *probe)
{
	if (tier == OCRE_TIER_INTERPRETER)
		return !m->aot; /* any interpreted module of this file version */
	if (!m->probed || m->artifact_present != probe->present)
		return false;
	return !probe->present || (ocre_aot_same_files(&m->artifact_st, &probe->artifact_st) &&
	                           ocre_aot_same_files(&m->meta_st, &probe->meta_st));
}

static wasm_module_t load_module(uint8_t *buf, size_t size, char *error, size_t error_size)
{
	bool entered = enter_wamr_thread();
	wasm_module_t module = wasm_runtime_load(buf, (uint32_t)size, error, (uint32_t)error_size);
	leave_wamr_thread(entered);
	return module;
}

static void fail_changed(const char *image_name)
{
	ocre_fail(OCRE_ERR_IMAGE_CHANGED,
	          "image %s changed after it was validated (its content is not the one checked)", image_name);
}

struct wamr_module *ocre_wamr_module_get(const char *path, const char *image_name, ocre_tier_t tier,
                                         const uint8_t *expected_sha256)
{
	struct wamr_module *m, **pp, *stale = NULL;
	struct ocre_aot_probe probe;
	char error[256] = "", why[200] = "";
	uint8_t *artifact = NULL;
	size_t artifact_size = 0;
	enum ocre_aot_verdict verdict = OCRE_AOT_NONE;
	struct stat st;

	if (stat(path, &st) != 0) {
		ocre_fail(OCRE_ERR_IMAGE_NOT_FOUND, "cannot read image %s: %s", path, strerror(errno));
		return NULL;
	}
	memset(&probe, 0, sizeof(probe));
	if (tier != OCRE_TIER_INTERPRETER && ocre_aot_probe(path, &probe) != 0) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	/* unused modules of earlier versions of this file go (a replaced
	 * image must not hold the old one's memory until evicted) */
	pthread_mutex_lock(&cache_lock);
	for (pp = &cache; (m = *pp);) {
		if (m->refs == 0 && strcmp(m->path, path) == 0 && !same_file(m, path, &st)) {
			*pp = m->next;
			idle_count--;
			idle_bytes -= m->buf_size;
			m->next = stale;
			stale = m;
			continue;
		}
		pp = &m->next;
	}
	pthread_mutex_unlock(&cache_lock);
	while ((m = stale)) {
		stale = m->next;
		image_free(m);
	}

	pthread_mutex_lock(&cache_lock);
	for (m = cache; m; m = m->next) {
		if (!same_file(m, path, &st) || !entry_matches(m, tier, &probe))
			continue;
		if (tier == OCRE_TIER_AOT && !m->aot) {
			pthread_mutex_unlock(&cache_lock);
			ocre_aot_probe_free(&probe);
			ocre_fail(OCRE_ERR_NO_AOT, "image %s: %s", image_name, m->note);
			return NULL;
		}
		if (expected_sha256 && memcmp(m->image_sha256, expected_sha256, 32) != 0) {
			pthread_mutex_unlock(&cache_lock);
			ocre_aot_probe_free(&probe);
			fail_changed(image_name);
			return NULL;
		}
		if (m->refs++ == 0) {
			idle_count--;
			idle_bytes -= m->buf_size;
		}
		pthread_mutex_unlock(&cache_lock);
		ocre_aot_probe_free(&probe);
		return m;
	}
	/* Loaded under the cache lock: concurrent creates of one new image
	 * load it once. Loading is short (a parse of the bytes; for an AOT
	 * artifact, digests of the image and the artifact). */
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		free(m);
		pthread_mutex_unlock(&cache_lock);
		ocre_aot_probe_free(&probe);
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	m->probed = tier != OCRE_TIER_INTERPRETER;
	m->artifact_present = probe.present;
	m->artifact_st = probe.artifact_st;
	m->meta_st = probe.meta_st;
	m->buf = ocre_load_file(path, &m->buf_size);
	if (!m->buf) {
		ocre_fail(OCRE_ERR_IMAGE_NOT_FOUND, "cannot read image %s: %s", path, strerror(errno));
		goto fail;
	}
	if (m->buf_size > UINT32_MAX) {
		ocre_fail(OCRE_ERR_INVALID_IMAGE, "image %s is larger than 4 GiB", image_name);
		goto fail;
	}
	/* Only WebAssembly is loaded from images/: WAMR would also take an AOT
	 * file (native code) there, which only the verified path below may load. */
	if (m->buf_size < 4 || memcmp(m->buf, "\0asm", 4) != 0) {
		ocre_fail(OCRE_ERR_INVALID_IMAGE, "image %s is not a WebAssembly binary module", image_name);
		goto fail;
	}
	ocre_sha256(m->buf, m->buf_size, m->image_sha256);
	if (expected_sha256 && memcmp(m->image_sha256, expected_sha256, 32) != 0) {
		fail_changed(image_name);
		goto fail;
	}
	if (tier != OCRE_TIER_INTERPRETER) {
		verdict = ocre_aot_verify(&probe, ocre_wamr_version(), m->buf, m->buf_size, &artifact, &artifact_size,
		                          why, sizeof(why));
		if (verdict == OCRE_AOT_REJECTED) {
			ocre_fail(OCRE_ERR_AOT_REJECTED,
			          "image %s: %s (run it with the interpreter tier, or recompile it)", image_name, why);
			goto fail;
		}
		if (verdict != OCRE_AOT_OK && tier == OCRE_TIER_AOT) {
			ocre_fail(OCRE_ERR_NO_AOT, "image %s: %s", image_name, why);
			goto fail;
		}
	}
	if (verdict == OCRE_AOT_OK) {
		ocre_unload_file(m->buf, m->buf_size);
		m->buf = artifact;
		m->buf_size = artifact_size;
		m->aot = true;
	} else {
		snprintf(m->note, sizeof(m->note), "%s", why);
	}
	m->module = load_module(m->buf, m->buf_size, error, sizeof(error));
	if (!m->module) {
		ocre_fail(m->aot ? OCRE_ERR_AOT_REJECTED : OCRE_ERR_INVALID_IMAGE, "image %s%s: %s", image_name,
		          m->aot ? " (AOT artifact)" : "", error[0] ? error : "WAMR cannot load it");
		goto fail;
	}
	ocre_wamr_entry_detach(m);
	m->refs = 1;
	m->next = cache;
	cache = m;
	pthread_mutex_unlock(&cache_lock);
	if (m->aot)
		LOG_DBG("loaded %s (AOT artifact %s, %zu bytes)", path, probe.artifact_path, m->buf_size);
	else if (verdict == OCRE_AOT_STALE)
		LOG_DBG("loaded %s (%zu bytes, interpreted: %s)", path, m->buf_size, why);
	else
		LOG_DBG("loaded %s (%zu bytes)", path, m->buf_size);
	ocre_aot_probe_free(&probe);
	return m;

fail:
	pthread_mutex_unlock(&cache_lock);
	ocre_aot_probe_free(&probe);
	image_free(m);
	return NULL;
}

/* Unlink and return the least recently used idle entry, or NULL. Cache lock held. */
static struct wamr_module *evict_one_locked(void)
{
	struct wamr_module **pp, **victim = NULL, *m;

	for (pp = &cache; *pp; pp = &(*pp)->next)
		if ((*pp)->refs == 0 && (!victim || (*pp)->last_use < (*victim)->last_use))
			victim = pp;
	if (!victim)
		return NULL;
	m = *victim;
	*victim = m->next;
	idle_count--;
	idle_bytes -= m->buf_size;
	return m;
}

void ocre_wamr_module_put(struct wamr_module *m)
{
	struct wamr_module *victims = NULL, *v;

	pthread_mutex_lock(&cache_lock);
	if (--m->refs == 0) {
		m->last_use = ++use_seq;
		idle_count++;
		idle_bytes += m->buf_size;
		while (idle_count > CONFIG_OCRE_MODULE_CACHE_IDLE || idle_bytes > CONFIG_OCRE_MODULE_CACHE_IDLE_BYTES) {
			v = evict_one_locked();
			v->next = victims;
			victims = v;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	while ((v = victims)) {
		victims = v->next;
		image_free(v);
	}
}

void ocre_wamr_module_cache_clear(void)
{
	struct wamr_module *m;

	pthread_mutex_lock(&cache_lock);
	while ((m = cache)) {
		cache = m->next;
		if (m->refs != 0)
			LOG_ERR("module %s still has %d users at deinit", m->path, m->refs);
		image_free(m);
	}
	idle_count = 0;
	idle_bytes = 0;
	pthread_mutex_unlock(&cache_lock);
}
