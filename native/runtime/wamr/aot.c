/* AOT artifacts: finding and verifying the native code compiled for an image.
 *
 * An AOT file is native code, so only artifacts compiled by this product, in
 * this store, for this exact image, are ever loaded. This file owns the
 * record format: the image store (lib/aot.ts, `ocre image build`) formats,
 * signs and reads records only through ocre_aot_record_sign(),
 * ocre_aot_record_get() and ocre_aot_inspect() (<ocre/runtime/wamr.h>, via
 * the addon). Next to <workdir>/images/<name>:
 *
 *   images/.aot/<name>.meta          its record, mode 0600 (text, see below)
 *   images/.aot/<name>.<hex16>.aot   the artifact it names (WAMR AOT format),
 *                                    mode 0600; <hex16> starts its digest
 *   images/.aot/key                  32 random bytes, mode 0600, one per store
 *
 * A recompile writes the new artifact under its new name, then renames the
 * new record over the old one (the switch is atomic), then deletes the old
 * artifact: a reader never pairs a record with another compile's artifact.
 *
 * The record is "key value" lines:
 *
 *   ocre-aot 1
 *   image <name>
 *   artifact <file name>      in images/.aot/
 *   image-sha256 <hex>        the image the artifact was compiled from
 *   artifact-sha256 <hex>     the artifact's digest
 *   artifact-size <bytes>
 *   wamr <x.y.z>              the WAMR the compiler was built from
 *   target <arch>             x86_64 or aarch64: this build's
 *   cpu <llvm cpu name>       x86-64 / generic unless compiled with --cpu
 *   features <llvm features or ->
 *   opt <0..3>
 *   bounds guard|software     how the code checks memory bounds: "guard"
 *                             (none in the code: the runtime's guard regions
 *                             trap) or "software"; must equal this build's
 *                             OCRE_AOT_BOUNDS (wamr-features.cmake), so a
 *                             runtime with software checks never runs code
 *                             that relies on guard regions
 *   machine <hex or ->        for CPU-specific code: this machine's fingerprint
 *   created <ISO 8601 time>
 *   mac <hex>                 HMAC-SHA-256 under the store key of every byte above
 *
 * Verdicts: OK (load it); NONE or STALE (no artifact, or one for another image
 * version, WAMR, CPU: the interpreter runs the image unless the AOT tier is
 * required); REJECTED (the record's MAC or the artifact's digest does not
 * match, or a file is writable by others: tampered or foreign, never loaded,
 * and the interpreter only runs the image if the caller asks for it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aot.h"
#include <ocre/runtime/support.h>

#define KEY_SIZE OCRE_AOT_KEY_SIZE

/* ---- the record ---- */

const char *const ocre_aot_record_fields[] = {
    "image", "artifact", "image-sha256", "artifact-sha256", "artifact-size", "wamr",    "target",
    "cpu",   "features", "opt",          "bounds",          "machine",       "created", NULL,
};

const char *ocre_aot_target(void)
{
	return OCRE_AOT_TARGET;
}

const char *ocre_aot_bounds(void)
{
	return OCRE_AOT_BOUNDS;
}

int ocre_aot_record_sign(const char *const values[], const uint8_t key[OCRE_AOT_KEY_SIZE],
                         char out[OCRE_AOT_RECORD_MAX])
{
	uint8_t mac[32];
	char mac_hex[65];
	size_t len = 0, i;
	int n;

	n = snprintf(out, OCRE_AOT_RECORD_MAX, "ocre-aot 1\n");
	len = (size_t)n;
	for (i = 0; ocre_aot_record_fields[i]; i++) {
		const char *v = values[i];
		if (!v || !*v || strchr(v, '\n'))
			return -1;
		n = snprintf(out + len, OCRE_AOT_RECORD_MAX - len, "%s %s\n", ocre_aot_record_fields[i], v);
		if (n < 0 || (size_t)n >= OCRE_AOT_RECORD_MAX - len)
			return -1;
		len += (size_t)n;
	}
	/* the MAC line comes last: it covers every byte before it */
	ocre_hmac_sha256(key, KEY_SIZE, out, len, mac);
	ocre_hex(mac, 32, mac_hex);
	n = snprintf(out + len, OCRE_AOT_RECORD_MAX - len, "mac %s\n", mac_hex);
	if (n < 0 || (size_t)n >= OCRE_AOT_RECORD_MAX - len)
		return -1;
	return (int)(len + (size_t)n);
}

/* ---- this machine's fingerprint (recorded for --cpu native artifacts) ---- */

static char fingerprint[65];
static pthread_once_t fingerprint_once = PTHREAD_ONCE_INIT;

/* The value of the first "<field>\t...: value" line of /proc/cpuinfo. */
static void cpuinfo_field(const char *text, const char *field, const char **value, size_t *len)
{
	size_t flen = strlen(field);
	const char *p = text;

	*value = "";
	*len = 0;
	while (p && *p) {
		const char *eol = strchr(p, '\n'), *colon;
		size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
		if (line_len > flen && strncmp(p, field, flen) == 0 &&
		    (p[flen] == '\t' || p[flen] == ' ' || p[flen] == ':')) {
			colon = memchr(p, ':', line_len);
			if (colon) {
				const char *v = colon + 1;
				while (*v == ' ')
					v++;
				*value = v;
				*len = line_len - (size_t)(v - p);
				return;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
}

static void compute_fingerprint(void)
{
	static const char *const fields[] = {"model name", "flags", "Features", "CPU implementer", "CPU part"};
	char *text = NULL;
	size_t size = 0, used = 0, len, i;
	const char *value;
	struct ocre_sha256 s;
	uint8_t digest[32];
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f) {
		for (;;) {
			if (used + 4096 + 1 > size) {
				char *bigger = realloc(text, size = size ? size * 2 : 65536);
				if (!bigger)
					break;
				text = bigger;
			}
			size_t n = fread(text + used, 1, size - used - 1, f);
			if (n == 0)
				break;
			used += n;
		}
		fclose(f);
	}
	if (text)
		text[used] = '\0';
	ocre_sha256_init(&s);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cpuinfo_field(text ? text : "", fields[i], &value, &len);
		if (i)
			ocre_sha256_update(&s, "\n", 1);
		ocre_sha256_update(&s, value, len);
	}
	ocre_sha256_final(&s, digest);
	ocre_hex(digest, 32, fingerprint);
	free(text);
}

const char *ocre_aot_machine_fingerprint(void)
{
	pthread_once(&fingerprint_once, compute_fingerprint);
	return fingerprint;
}

/* ---- probing ---- */

/* "<dir of img_path>/.aot/<name><suffix>" */
static char *sibling(const char *img_path, const char *name, const char *suffix)
{
	const char *slash = strrchr(img_path, '/');
	int dir_len = slash ? (int)(slash - img_path) : 0;
	size_t size = (size_t)dir_len + strlen(name) + strlen(suffix) + 8;
	char *p = malloc(size);

	if (p)
		snprintf(p, size, "%.*s/.aot/%s%s", dir_len, img_path, name, suffix);
	return p;
}

/* Read a small owner-only file; -1 with @p why set otherwise. */
static ssize_t read_private(const char *path, const char *what, char *buf, size_t size, struct stat *st, char *why,
                            size_t why_size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(why, why_size, "cannot read its %s: %s", what, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || (st->st_mode & 077) || st->st_uid != geteuid()) {
		snprintf(why, why_size, "its %s is not a regular file private to this user", what);
		close(fd);
		return -1;
	}
	while ((size_t)total < size) {
		n = read(fd, buf + total, size - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

int ocre_aot_probe(const char *img_path, struct ocre_aot_probe *p)
{
	const char *name = strrchr(img_path, '/');
	char file[NAME_MAX + 1];
	ssize_t len;

	memset(p, 0, sizeof(*p));
	name = name ? name + 1 : img_path;
	p->meta_path = sibling(img_path, name, ".meta");
	p->key_path = sibling(img_path, "key", "");
	if (!p->meta_path || !p->key_path) {
		ocre_aot_probe_free(p);
		return -1;
	}
	if (lstat(p->meta_path, &p->meta_st) != 0)
		return 0; /* no record: no artifact */
	p->present = true;
	len = read_private(p->meta_path, "AOT record", p->meta, sizeof(p->meta), &p->meta_st, p->problem,
	                   sizeof(p->problem));
	if (len < 0)
		return 0;
	if ((size_t)len >= sizeof(p->meta) || memchr(p->meta, '\0', (size_t)len)) {
		snprintf(p->problem, sizeof(p->problem), "its AOT record is malformed");
		return 0;
	}
	p->meta[len] = '\0';
	if (!ocre_aot_record_get(p->meta, "artifact", file, sizeof(file)) || !file[0] || strchr(file, '/') ||
	    file[0] == '.') {
		snprintf(p->problem, sizeof(p->problem), "its AOT record is malformed");
		return 0;
	}
	if (!(p->artifact_path = sibling(img_path, file, ""))) {
		ocre_aot_probe_free(p);
		return -1;
	}
	if (lstat(p->artifact_path, &p->artifact_st) != 0)
		memset(&p->artifact_st, 0, sizeof(p->artifact_st)); /* verify says why */
	return 0;
}

void ocre_aot_probe_free(struct ocre_aot_probe *p)
{
	free(p->artifact_path);
	free(p->meta_path);
	free(p->key_path);
	p->artifact_path = p->meta_path = p->key_path = NULL;
}

bool ocre_aot_same_files(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* ---- verification ---- */

/* The value of "<key> " in the record, copied to @p out (NUL-terminated). */
bool ocre_aot_record_get(const char *meta, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = meta;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			size_t vlen = len - klen - 1;
			if (vlen >= size)
				return false;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

/* The file's bytes in a malloc'd buffer of @p expect + 1 bytes at most
 * (*size says how many were there); NULL with errno set. */
static uint8_t *read_whole(const char *path, size_t expect, size_t *size)
{
	uint8_t *buf = malloc(expect + 1);
	size_t total = 0;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (total < expect + 1) {
		n = read(fd, buf + total, expect + 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	*size = total; /* expect + 1: longer than recorded, refused by the caller */
	return buf;
}

static bool equal_ct(const char *a, const char *b, size_t n)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Steps 1 and 2 of the verification, and the artifact file's metadata:
 * everything but its bytes. On OK, @p declared and @p art_hex hold the
 * artifact's recorded size and digest. */
static enum ocre_aot_verdict check_record(const struct ocre_aot_probe *p, const char *wamr_version,
                                          const char *image_hex, unsigned long long *declared, char art_hex[65],
                                          char *why, size_t why_size)
{
	char key[KEY_SIZE + 1], value[160], mac_hex[65];
	const char *meta = p->meta;
	uint8_t digest[32];
	const char *mac_line;
	ssize_t key_len;
	struct stat key_st;

	if (!p->present) {
		snprintf(why, why_size, "it has no AOT artifact");
		return OCRE_AOT_NONE;
	}
	if (p->problem[0]) {
		snprintf(why, why_size, "%s", p->problem);
		return OCRE_AOT_REJECTED;
	}

	/* 1. The record is ours: its MAC under this store's key. */
	key_len = read_private(p->key_path, "store key", key, KEY_SIZE + 1, &key_st, why, why_size);
	if (key_len < 0)
		return OCRE_AOT_REJECTED;
	if (key_len != KEY_SIZE) {
		snprintf(why, why_size, "the store key is malformed");
		return OCRE_AOT_REJECTED;
	}
	mac_line = strstr(meta, "\nmac ");
	if (strncmp(meta, "ocre-aot 1\n", 11) != 0 || !mac_line || strlen(mac_line) < 5 + 64 ||
	    !(mac_line[69] == '\0' || (mac_line[69] == '\n' && mac_line[70] == '\0'))) {
		/* the MAC line must be the last: nothing unsigned may follow it */
		snprintf(why, why_size, "its AOT record is malformed");
		return OCRE_AOT_REJECTED;
	}
	ocre_hmac_sha256(key, KEY_SIZE, meta, (size_t)(mac_line + 1 - meta), digest);
	ocre_hex(digest, 32, mac_hex);
	if (!equal_ct(mac_hex, mac_line + 5, 64)) {
		snprintf(why, why_size,
		         "its AOT record was not written by this store (MAC mismatch): tampered or foreign");
		return OCRE_AOT_REJECTED;
	}

	/* 2. It was made for this image, runtime and machine. */
	if (!ocre_aot_record_get(meta, "wamr", value, sizeof(value)) || strcmp(value, wamr_version) != 0) {
		snprintf(why, why_size, "its AOT artifact was compiled for WAMR %s, not %s", value, wamr_version);
		return OCRE_AOT_STALE;
	}
	if (!ocre_aot_record_get(meta, "target", value, sizeof(value)) || strcmp(value, OCRE_AOT_TARGET) != 0 ||
	    !ocre_aot_record_get(meta, "bounds", value, sizeof(value)) || strcmp(value, OCRE_AOT_BOUNDS) != 0) {
		snprintf(why, why_size, "its AOT artifact was compiled for another target or bounds-check mode");
		return OCRE_AOT_STALE;
	}
	if (!ocre_aot_record_get(meta, "machine", value, sizeof(value))) {
		snprintf(why, why_size, "its AOT record is malformed");
		return OCRE_AOT_REJECTED;
	}
	if (strcmp(value, "-") != 0 && strcmp(value, ocre_aot_machine_fingerprint()) != 0) {
		snprintf(why, why_size, "its AOT artifact was compiled for another CPU (--cpu on another machine)");
		return OCRE_AOT_STALE;
	}
	if (!ocre_aot_record_get(meta, "image-sha256", value, sizeof(value)) || strcmp(value, image_hex) != 0) {
		snprintf(why, why_size, "its AOT artifact was compiled from another version of the image");
		return OCRE_AOT_STALE;
	}

	/* 3a. The artifact file is the one recorded, as far as its metadata tells. */
	if (!ocre_aot_record_get(meta, "artifact-sha256", art_hex, 65) || strlen(art_hex) != 64 ||
	    !ocre_aot_record_get(meta, "artifact-size", value, sizeof(value)) || sscanf(value, "%llu", declared) != 1) {
		snprintf(why, why_size, "its AOT record is malformed");
		return OCRE_AOT_REJECTED;
	}
	if (!p->artifact_st.st_ino) {
		/* recompiled meanwhile (the old artifact is deleted after the
		 * switch): not tampering; the next create sees the new record */
		snprintf(why, why_size, "its AOT artifact is missing (being recompiled?)");
		return OCRE_AOT_STALE;
	}
	if (!S_ISREG(p->artifact_st.st_mode) || (p->artifact_st.st_mode & 077) || p->artifact_st.st_uid != geteuid()) {
		snprintf(why, why_size, "its AOT artifact is not a regular file private to this user");
		return OCRE_AOT_REJECTED;
	}
	if ((unsigned long long)p->artifact_st.st_size != *declared || *declared > UINT32_MAX) {
		snprintf(why, why_size, "its AOT artifact does not match its recorded size: tampered");
		return OCRE_AOT_REJECTED;
	}
	return OCRE_AOT_OK;
}

enum ocre_aot_verdict ocre_aot_verify(const struct ocre_aot_probe *p, const char *wamr_version, const uint8_t *image,
                                      size_t image_size, uint8_t **artifact, size_t *artifact_size, char *why,
                                      size_t why_size)
{
	char image_hex[65], art_hex[65], hex[65];
	uint8_t digest[32];
	unsigned long long declared = 0;
	enum ocre_aot_verdict verdict;
	uint8_t *buf;
	size_t size;

	*artifact = NULL;
	*artifact_size = 0;
	ocre_sha256(image, image_size, digest);
	ocre_hex(digest, 32, image_hex);
	verdict = check_record(p, wamr_version, image_hex, &declared, art_hex, why, why_size);
	if (verdict != OCRE_AOT_OK)
		return verdict;

	/* 3b. Its bytes are the ones recorded. Read into private memory (not
	 * mapped: a mapping would show later writes to the file) and hashed in
	 * the buffer WAMR then loads from: what is checked is what runs. */
	if (!(buf = read_whole(p->artifact_path, (size_t)declared, &size))) {
		snprintf(why, why_size, "cannot read its AOT artifact: %s", strerror(errno));
		return OCRE_AOT_REJECTED;
	}
	ocre_sha256(buf, size, digest);
	ocre_hex(digest, 32, hex);
	if (size != declared || !equal_ct(hex, art_hex, 64) || size < 4 || memcmp(buf, "\0aot", 4) != 0) {
		free(buf);
		snprintf(why, why_size, "its AOT artifact does not match its recorded digest: tampered");
		return OCRE_AOT_REJECTED;
	}
	*artifact = buf;
	*artifact_size = size;
	return OCRE_AOT_OK;
}

enum ocre_aot_verdict ocre_aot_inspect(const char *img_path, const char *image_sha256, char record[OCRE_AOT_RECORD_MAX],
                                       char *why, size_t why_size)
{
	struct ocre_aot_probe p;
	enum ocre_aot_verdict verdict = OCRE_AOT_NONE;
	unsigned long long declared = 0;
	char art_hex[65];

	record[0] = '\0';
	snprintf(why, why_size, "it has no AOT artifact");
	if (ocre_aot_probe(img_path, &p) != 0) {
		snprintf(why, why_size, "out of memory");
		return OCRE_AOT_NONE;
	}
	if (p.artifact_path) /* read, and it names an artifact */
		snprintf(record, OCRE_AOT_RECORD_MAX, "%s", p.meta);
	if (image_sha256)
		verdict = check_record(&p, ocre_wamr_version(), image_sha256, &declared, art_hex, why, why_size);
	ocre_aot_probe_free(&p);
	return verdict;
}
