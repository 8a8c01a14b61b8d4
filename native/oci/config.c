/* ocre-oci: config.json -> struct oci_config (see config.h). JSON by cJSON. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "log.h"

#define CONFIG_MAX_BYTES (4u << 20) /* runc refuses nothing smaller than this in practice */

bool oci_valid_id(const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > 1024 || id[0] == '.') /* ".", "..", and ROOT/.delegate */
		return false;
	for (i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '+' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *p = malloc(la + strlen(b) + 2);

	if (p)
		sprintf(p, "%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
	return p;
}

/* realpath(base/rel) that must stay at or below @p base (itself resolved). */
static char *resolve_inside(const char *base, const char *rel, const char *what, char *err)
{
	char *joined = join(base, rel), *real;
	size_t lb = strlen(base);

	if (!joined) {
		oci_errf(err, "out of memory");
		return NULL;
	}
	real = realpath(joined, NULL);
	if (!real) {
		oci_errf(err, "%s %s: %s", what, rel, strerror(errno));
		free(joined);
		return NULL;
	}
	free(joined);
	if (strcmp(base, "/") != 0 && (strncmp(real, base, lb) != 0 || (real[lb] != '/' && real[lb] != '\0'))) {
		oci_errf(err, "%s %s resolves to %s, outside %s", what, rel, real, base);
		free(real);
		return NULL;
	}
	return real;
}

static void free_strv(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A JSON array of strings -> NULL-terminated copy (skipping the first @p skip). */
static char **strv(const cJSON *arr, size_t skip, const char *what, char *err)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **v = calloc(n + 1, sizeof(*v));
	const cJSON *item;

	if (!v) {
		oci_errf(err, "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(item, arr)
	{
		if (!cJSON_IsString(item)) {
			oci_errf(err, "config.json: %s[%zu] must be a string", what, i);
			goto bad;
		}
		if (i >= skip && !(v[i - skip] = strdup(item->valuestring))) {
			oci_errf(err, "out of memory");
			goto bad;
		}
		i++;
	}
	return v;
bad:
	free_strv(v);
	return NULL;
}

/* Optional member of a given cJSON type: NULL when absent, error when of another type. */
static const cJSON *member(const cJSON *obj, const char *name, cJSON_bool (*is)(const cJSON *), const char *type,
                           const char *path, bool required, char *err, bool *bad)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!m || cJSON_IsNull(m)) {
		if (required) {
			oci_errf(err, "config.json: %s%s is required", path, name);
			*bad = true;
		}
		return NULL;
	}
	if (!is(m)) {
		oci_errf(err, "config.json: %s%s must be %s", path, name, type);
		*bad = true;
		return NULL;
	}
	return m;
}

static bool has_dotdot(const char *p)
{
	const char *s = p;
	while ((s = strstr(s, "..")) != NULL) {
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
		s += 2;
	}
	return false;
}

/* A guest path made absolute and lexical: "." dropped, ".." stops at "/"
 * (as in a chroot), so that it can never name a host path. Malloc'd. */
static char *guest_path(const char *cwd, const char *path)
{
	char *out = malloc(strlen(cwd) + strlen(path) + 3), *copy, *tok, *save = NULL;
	size_t n = 0;

	if (!out || asprintf(&copy, "%s/%s", path[0] == '/' ? "" : cwd, path) < 0) {
		free(out);
		return NULL;
	}
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (n > 0 && out[--n] != '/')
				;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, tok, strlen(tok));
		n += strlen(tok);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(copy);
	return out;
}

/* process.args[0] -> the module's host path: absolute in root, relative to
 * cwd, or a bare name looked up in PATH (from process.env) as runc does. */
static char *find_module(struct oci_config *cfg, const char *arg0, char *err)
{
	char *path = NULL, *found = NULL;
	struct stat st;
	const char *search = "/usr/local/bin:/usr/bin:/bin";
	size_t i;

	if (arg0[0] == '\0')
		return oci_errf(err, "config.json: process.args[0] is empty"), NULL;
	if (strchr(arg0, '/')) {
		path = guest_path(cfg->cwd, arg0);
		if (!path)
			return oci_errf(err, "out of memory"), NULL;
		found = resolve_inside(cfg->root, path, "process.args[0]", err);
		free(path);
	} else {
		for (i = 0; cfg->env && cfg->env[i]; i++)
			if (strncmp(cfg->env[i], "PATH=", 5) == 0)
				search = cfg->env[i] + 5;
		while (*search && !found) {
			const char *end = strchr(search, ':');
			size_t n = end ? (size_t)(end - search) : strlen(search);
			char *dir = strndup(search, n), *cand = dir ? guest_path("/", dir) : NULL, *file;
			char tmp[OCI_ERR_MAX];

			if (!dir || !cand) {
				free(dir);
				free(cand);
				return oci_errf(err, "out of memory"), NULL;
			}
			file = cand && dir[0] == '/' ? join(cand, arg0) : NULL;
			if (file)
				found = resolve_inside(cfg->root, file, "process.args[0]", tmp);
			free(file);
			if (found && (stat(found, &st) != 0 || !S_ISREG(st.st_mode))) {
				free(found);
				found = NULL;
			}
			free(dir);
			free(cand);
			search += n + (end ? 1 : 0);
		}
		if (!found)
			return oci_errf(err, "executable file `%s` not found in $PATH of the root file system", arg0),
			       NULL;
	}
	if (!found)
		return NULL;
	if (stat(found, &st) != 0 || !S_ISREG(st.st_mode)) {
		oci_errf(err, "process.args[0] %s is not a regular file in the root file system", arg0);
		free(found);
		return NULL;
	}
	return found;
}

/* The WebAssembly magic, so a native image fails here, clearly. */
static int check_wasm(const char *path, const char *arg0, char *err)
{
	unsigned char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return oci_errf(err, "cannot open %s: %s", arg0, strerror(errno));
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != 4 || memcmp(magic, "\0asm", 4) != 0) {
		oci_errf(err,
		         "%s is not a WebAssembly module: ocre-oci runs wasm images only "
		         "(set OCRE_OCI_DELEGATE to crun or runc to hand native images to it)",
		         arg0);
		return OCI_CONFIG_NOT_WASM;
	}
	return 0;
}

static bool option_is(const cJSON *opts, const char *name)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, opts)
	{
		if (cJSON_IsString(o) && strcmp(o->valuestring, name) == 0)
			return true;
	}
	return false;
}

static int parse_mounts(const cJSON *mounts, struct oci_config *cfg, char *err)
{
	size_t n = (size_t)cJSON_GetArraySize(mounts), i = 0;
	const cJSON *m;

	cfg->mounts = calloc(n ? n : 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return oci_errf(err, "out of memory");
	cJSON_ArrayForEach(m, mounts)
	{
		char path[32];
		bool bad = false;
		const cJSON *dst, *src, *type, *opts, *o;
		struct stat st;
		char *source;
		bool ro = false;

		snprintf(path, sizeof(path), "mounts[%zu].", i++);
		if (!cJSON_IsObject(m))
			return oci_errf(err, "config.json: mounts[%zu] must be an object", i - 1);
		dst = member(m, "destination", cJSON_IsString, "a string", path, true, err, &bad);
		src = member(m, "source", cJSON_IsString, "a string", path, false, err, &bad);
		type = member(m, "type", cJSON_IsString, "a string", path, false, err, &bad);
		opts = member(m, "options", cJSON_IsArray, "an array", path, false, err, &bad);
		if (bad)
			return -1;
		cJSON_ArrayForEach(o, opts)
		{
			if (!cJSON_IsString(o))
				return oci_errf(err, "config.json: %soptions must hold strings", path);
			if (strcmp(o->valuestring, "ro") == 0)
				ro = true;
			else if (strcmp(o->valuestring, "rw") == 0)
				ro = false;
		}
		if (dst->valuestring[0] != '/' || has_dotdot(dst->valuestring))
			return oci_errf(err, "config.json: %sdestination %s must be an absolute path without ..", path,
			                dst->valuestring);
		if (strcmp(dst->valuestring, "/") == 0)
			return oci_errf(err, "config.json: %sdestination must not be /", path);
		if (!((type && strcmp(type->valuestring, "bind") == 0) || option_is(opts, "bind") ||
		      option_is(opts, "rbind"))) {
			cfg->n_skipped_mounts++; /* proc, sysfs, tmpfs, ...: kernel file systems */
			continue;
		}
		if (!src)
			return oci_errf(err, "config.json: %ssource is required for a bind mount", path);
		if (src->valuestring[0] == '/') {
			source = realpath(src->valuestring, NULL);
			if (!source)
				return oci_errf(err, "config.json: %ssource %s: %s", path, src->valuestring,
				                strerror(errno));
		} else if (!(source = resolve_inside(cfg->bundle, src->valuestring, "mount source", err))) {
			return -1;
		}
		if (stat(source, &st) != 0 || !S_ISDIR(st.st_mode)) {
			free(source); /* a file bind (/etc/hosts, ...): WASI preopens are directories */
			cfg->n_skipped_mounts++;
			continue;
		}
		cfg->mounts[cfg->n_mounts].source = source;
		cfg->mounts[cfg->n_mounts].readonly = ro;
		if (!(cfg->mounts[cfg->n_mounts++].destination = strdup(dst->valuestring)))
			return oci_errf(err, "out of memory");
	}
	return 0;
}

static int parse_annotations(const cJSON *ann, struct oci_config *cfg, char *err)
{
	const cJSON *a;
	char *end;
	unsigned long v;

	cJSON_ArrayForEach(a, ann)
	{
		if (!cJSON_IsString(a))
			return oci_errf(err, "config.json: annotations.%s must be a string", a->string);
		if (strcmp(a->string, "run.ocre.stop-grace-ms") == 0) {
			errno = 0;
			v = strtoul(a->valuestring, &end, 10);
			if (errno || end == a->valuestring || *end || v > UINT_MAX || a->valuestring[0] == '-')
				return oci_errf(err,
				                "config.json: annotation run.ocre.stop-grace-ms must be milliseconds");
			cfg->stop_grace_ms = (unsigned)v;
		} else if (strcmp(a->string, "run.ocre.capabilities") == 0) {
			/* comma-separated, added to "filesystem"; ocre checks the names */
			const char *s = a->valuestring;
			size_t n = 2, k = 1;
			for (end = a->valuestring; *end; end++)
				n += *end == ',';
			free_strv(cfg->capabilities);
			if (!(cfg->capabilities = calloc(n + 1, sizeof(char *))) ||
			    !(cfg->capabilities[0] = strdup("filesystem")))
				return oci_errf(err, "out of memory");
			while (*s) {
				size_t len = strcspn(s, ",");
				if (len && !(cfg->capabilities[k++] = strndup(s, len)))
					return oci_errf(err, "out of memory");
				s += len + (s[len] == ',');
			}
		}
	}
	if (!(cfg->annotations = ann ? cJSON_PrintUnformatted(ann) : strdup("{}")))
		return oci_errf(err, "out of memory");
	return 0;
}

static int parse(const cJSON *doc, struct oci_config *cfg, char *err)
{
	const cJSON *ver, *root, *rpath, *rro, *proc, *args, *env, *cwd, *term, *mounts, *ann, *lx, *res, *mem, *limit;
	bool bad = false;
	size_t i;
	int ret;

	if (!cJSON_IsObject(doc))
		return oci_errf(err, "config.json: the document must be a JSON object");
	ver = member(doc, "ociVersion", cJSON_IsString, "a string", "", true, err, &bad);
	if (bad)
		return -1;
	if (strncmp(ver->valuestring, "1.", 2) != 0)
		return oci_errf(err, "config.json: ociVersion %s is not supported (1.x only)", ver->valuestring);
	root = member(doc, "root", cJSON_IsObject, "an object", "", true, err, &bad);
	if (bad)
		return -1;
	rpath = member(root, "path", cJSON_IsString, "a string", "root.", true, err, &bad);
	rro = member(root, "readonly", cJSON_IsBool, "a boolean", "root.", false, err, &bad);
	proc = member(doc, "process", cJSON_IsObject, "an object", "", true, err, &bad);
	if (bad)
		return -1;
	args = member(proc, "args", cJSON_IsArray, "an array", "process.", true, err, &bad);
	env = member(proc, "env", cJSON_IsArray, "an array", "process.", false, err, &bad);
	cwd = member(proc, "cwd", cJSON_IsString, "a string", "process.", true, err, &bad);
	term = member(proc, "terminal", cJSON_IsBool, "a boolean", "process.", false, err, &bad);
	mounts = member(doc, "mounts", cJSON_IsArray, "an array", "", false, err, &bad);
	ann = member(doc, "annotations", cJSON_IsObject, "an object", "", false, err, &bad);
	lx = member(doc, "linux", cJSON_IsObject, "an object", "", false, err, &bad);
	res = lx ? member(lx, "resources", cJSON_IsObject, "an object", "linux.", false, err, &bad) : NULL;
	mem = res ? member(res, "memory", cJSON_IsObject, "an object", "linux.resources.", false, err, &bad) : NULL;
	limit =
	    mem ? member(mem, "limit", cJSON_IsNumber, "a number", "linux.resources.memory.", false, err, &bad) : NULL;
	if (bad)
		return -1;
	if (cJSON_GetArraySize(args) < 1)
		return oci_errf(err, "config.json: process.args must name the module to run");
	if (cwd->valuestring[0] != '/')
		return oci_errf(err, "config.json: process.cwd must be an absolute path");
	if (limit && limit->valuedouble > 0)
		cfg->memory_limit = limit->valuedouble >= 1.8e19 ? UINT64_MAX : (uint64_t)limit->valuedouble;

	if (rpath->valuestring[0] == '/') {
		if (!(cfg->root = realpath(rpath->valuestring, NULL)))
			return oci_errf(err, "config.json: root.path %s: %s", rpath->valuestring, strerror(errno));
	} else if (!(cfg->root = resolve_inside(cfg->bundle, rpath->valuestring, "root.path", err))) {
		return -1;
	}
	{
		struct stat st;
		if (stat(cfg->root, &st) != 0 || !S_ISDIR(st.st_mode))
			return oci_errf(err, "config.json: root.path %s is not a directory", rpath->valuestring);
	}
	if (!(cfg->cwd = strdup(cwd->valuestring)))
		return oci_errf(err, "out of memory");
	cfg->terminal = term && cJSON_IsTrue(term);
	if (!(cfg->env = env ? strv(env, 0, "process.env", err) : calloc(1, sizeof(char *))))
		return env ? -1 : oci_errf(err, "out of memory");
	for (i = 0; cfg->env[i]; i++)
		if (!strchr(cfg->env[i], '=') || cfg->env[i][0] == '=')
			return oci_errf(err, "config.json: process.env[%zu] \"%s\" is not KEY=VALUE", i, cfg->env[i]);
	if (!(cfg->args = strv(args, 1, "process.args", err)))
		return -1;
	if (!(cfg->module = find_module(cfg, cJSON_GetArrayItem(args, 0)->valuestring, err)))
		return -1;
	if ((ret = check_wasm(cfg->module, cJSON_GetArrayItem(args, 0)->valuestring, err)) != 0)
		return ret;
	/* from here on, errors are about a wasm container (a native one was decided above) */
	cfg->root_readonly = rro && cJSON_IsTrue(rro);
	if (mounts && parse_mounts(mounts, cfg, err) != 0)
		return -1;
	if (parse_annotations(ann, cfg, err) != 0)
		return -1;
	if (!cfg->capabilities) {
		if (!(cfg->capabilities = calloc(2, sizeof(char *))) || !(cfg->capabilities[0] = strdup("filesystem")))
			return oci_errf(err, "out of memory");
	}
	return 0;
}

int oci_config_parse(const char *json, size_t len, const char *bundle, struct oci_config *cfg, char *err)
{
	const char *end = NULL;
	cJSON *doc;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	if (!json || !bundle || bundle[0] != '/')
		return oci_errf(err, "internal: bad arguments to oci_config_parse");
	doc = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!doc)
		return oci_errf(err, "config.json: malformed JSON at byte %zu",
		                end && end >= json ? (size_t)(end - json) : 0);
	while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end && end < json + len) {
		cJSON_Delete(doc);
		return oci_errf(err, "config.json: trailing data after the JSON document at byte %zu",
		                (size_t)(end - json));
	}
	if (!(cfg->bundle = strdup(bundle))) {
		cJSON_Delete(doc);
		return oci_errf(err, "out of memory");
	}
	ret = parse(doc, cfg, err);
	cJSON_Delete(doc);
	if (ret != 0)
		oci_config_free(cfg);
	return ret;
}

int oci_config_load(const char *bundle, struct oci_config *cfg, char *err)
{
	char *dir, *file, *buf = NULL;
	struct stat st;
	int fd, ret = -1;
	size_t got = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (!(dir = realpath(bundle, NULL)))
		return oci_errf(err, "bundle %s: %s", bundle, strerror(errno));
	if (!(file = join(dir, "config.json"))) {
		free(dir);
		return oci_errf(err, "out of memory");
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		oci_errf(err, "cannot open %s: %s", file, strerror(errno));
		goto out_free;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		oci_errf(err, "%s is not a regular file of at most %u bytes", file, CONFIG_MAX_BYTES);
		goto out_close;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		oci_errf(err, "out of memory");
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			oci_errf(err, "cannot read %s: %s", file, n < 0 ? strerror(errno) : "file shrank");
			goto out_close;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	ret = oci_config_parse(buf, got, dir, cfg, err);
out_close:
	close(fd);
out_free:
	free(buf);
	free(file);
	free(dir);
	return ret;
}

void oci_config_free(struct oci_config *cfg)
{
	size_t i;

	free(cfg->bundle);
	free(cfg->root);
	free(cfg->module);
	free_strv(cfg->args);
	free_strv(cfg->env);
	free(cfg->cwd);
	for (i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].source);
		free(cfg->mounts[i].destination);
	}
	free(cfg->mounts);
	free(cfg->annotations);
	free_strv(cfg->capabilities);
	memset(cfg, 0, sizeof(*cfg));
}
