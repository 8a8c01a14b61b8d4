/* ocre-oci: the state directory of a container (see state.h). */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "log.h"

char *oci_state_dir(const char *root, const char *id)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", root, id) < 0 ? NULL : p;
}

char *oci_state_fifo(const char *dir)
{
	char *p = NULL;
	return asprintf(&p, "%s/exec.fifo", dir) < 0 ? NULL : p;
}

unsigned long long oci_process_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after "pid (comm)": field 3 is the state, field 22 the start time */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0; /* exited: a zombie until its parent (the engine's monitor) reaps it */
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

bool oci_process_alive(pid_t pid, unsigned long long starttime)
{
	return pid > 0 && starttime != 0 && oci_process_starttime(pid) == starttime;
}

const char *oci_state_status(const struct oci_state *st)
{
	char *fifo;
	bool created;

	if (!oci_process_alive(st->pid, st->starttime))
		return "stopped";
	fifo = oci_state_fifo(st->dir);
	created = fifo && access(fifo, F_OK) == 0;
	free(fifo);
	return created ? "created" : "running";
}

int oci_state_save(const struct oci_state *st, char *err)
{
	cJSON *doc = cJSON_CreateObject(), *ann = cJSON_Parse(st->annotations ? st->annotations : "{}");
	char *text = NULL, *tmp = NULL, *final = NULL;
	int ret = -1, fd;
	size_t len, off = 0;

	if (!doc || !ann || !cJSON_AddStringToObject(doc, "id", st->id) ||
	    !cJSON_AddNumberToObject(doc, "pid", st->pid) ||
	    !cJSON_AddNumberToObject(doc, "starttime", (double)st->starttime) ||
	    !cJSON_AddStringToObject(doc, "bundle", st->bundle) ||
	    !cJSON_AddStringToObject(doc, "rootfs", st->rootfs) ||
	    !cJSON_AddStringToObject(doc, "created", st->created) || !cJSON_AddItemToObject(doc, "annotations", ann)) {
		cJSON_Delete(ann);
		oci_errf(err, "out of memory");
		goto out;
	}
	if (!(text = cJSON_PrintUnformatted(doc)) || asprintf(&tmp, "%s/.state.json.tmp", st->dir) < 0 ||
	    asprintf(&final, "%s/state.json", st->dir) < 0) {
		tmp = final = NULL;
		oci_errf(err, "out of memory");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		oci_errf(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			oci_errf(err, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0 || rename(tmp, final) != 0) {
		oci_errf(err, "cannot write %s: %s", final, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(text);
	free(tmp);
	free(final);
	cJSON_Delete(doc);
	return ret;
}

static char *dup_string(const cJSON *doc, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, name);
	return cJSON_IsString(m) ? strdup(m->valuestring) : NULL;
}

int oci_state_load(const char *root, const char *id, struct oci_state *st, char *err)
{
	char *file = NULL, buf[65536];
	cJSON *doc = NULL;
	const cJSON *pid, *start, *ann;
	ssize_t n;
	int fd;

	memset(st, 0, sizeof(*st));
	if (!oci_valid_id(id))
		return oci_errf(err, "invalid container id \"%s\"", id);
	if (!(st->dir = oci_state_dir(root, id)) || !(st->id = strdup(id)) ||
	    asprintf(&file, "%s/state.json", st->dir) < 0) {
		oci_state_free(st);
		return oci_errf(err, "out of memory");
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	free(file);
	if (fd < 0) {
		oci_state_free(st);
		if (errno == ENOENT)
			return oci_errf(err, "container \"%s\" does not exist", id);
		return oci_errf(err, "container \"%s\": cannot read its state: %s", id, strerror(errno));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		doc = cJSON_Parse(buf);
	}
	pid = cJSON_GetObjectItemCaseSensitive(doc, "pid");
	start = cJSON_GetObjectItemCaseSensitive(doc, "starttime");
	ann = cJSON_GetObjectItemCaseSensitive(doc, "annotations");
	if (!cJSON_IsNumber(pid) || !cJSON_IsNumber(start) || !cJSON_IsObject(ann) ||
	    !(st->bundle = dup_string(doc, "bundle")) || !(st->rootfs = dup_string(doc, "rootfs")) ||
	    !(st->created = dup_string(doc, "created")) || !(st->annotations = cJSON_PrintUnformatted(ann))) {
		cJSON_Delete(doc);
		oci_state_free(st);
		return oci_errf(err, "container \"%s\": its state file is damaged", id);
	}
	st->pid = (pid_t)pid->valuedouble;
	st->starttime = (unsigned long long)start->valuedouble;
	cJSON_Delete(doc);
	return 0;
}

void oci_state_free(struct oci_state *st)
{
	free(st->id);
	free(st->dir);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->annotations);
	memset(st, 0, sizeof(*st));
}

char *oci_state_json(const struct oci_state *st)
{
	cJSON *doc = cJSON_CreateObject(), *ann = cJSON_Parse(st->annotations ? st->annotations : "{}");
	const char *status = oci_state_status(st);
	char *text = NULL;

	if (doc && ann && cJSON_AddStringToObject(doc, "ociVersion", "1.0.2") &&
	    cJSON_AddStringToObject(doc, "id", st->id) && cJSON_AddStringToObject(doc, "status", status) &&
	    cJSON_AddNumberToObject(doc, "pid", strcmp(status, "stopped") == 0 ? 0 : st->pid) &&
	    cJSON_AddStringToObject(doc, "bundle", st->bundle) && cJSON_AddStringToObject(doc, "rootfs", st->rootfs) &&
	    cJSON_AddStringToObject(doc, "created", st->created) && cJSON_AddItemToObject(doc, "annotations", ann)) {
		ann = NULL;
		text = cJSON_Print(doc);
	}
	cJSON_Delete(ann);
	cJSON_Delete(doc);
	return text;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int oci_remove_tree(const char *path)
{
	/* FTW_PHYS: the links to the rootfs and the module are removed, never followed */
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0 : -1;
}
