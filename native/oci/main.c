/* ocre-oci: an OCI runtime (the runc command line) that runs WebAssembly
 * images as ocre containers, one host process per container. See
 * docs/oci.md; the commands are below, the container process in process.c. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ocre/ocre.h>

#include "args.h"
#include "config.h"
#include "console.h"
#include "delegate.h"
#include "log.h"
#include "process.h"
#include "state.h"

#define OCI_SPEC_VERSION "1.0.2"
#define OCI_RUNTIME_VERSION "0.1.0"

static const char usage[] =
    "usage: ocre-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND ...\n"
    "\n"
    "An OCI runtime for WebAssembly images (the runc command line): each container\n"
    "runs the module named by process.args[0] in its root file system.\n"
    "\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID\n"
    "  start ID\n"
    "  state ID\n"
    "  kill [--all] ID [SIGNAL]      TERM/INT/HUP/QUIT: stop, KILL: kill\n"
    "  delete [--force] ID\n"
    "  ps [--format table|json] ID\n"
    "  list [--format table|json]\n"
    "  features\n"
    "  --version\n";

static int write_file_atomic(const char *path, const char *text)
{
	char *tmp = NULL;
	int fd, ret = -1;
	size_t len = strlen(text);

	if (asprintf(&tmp, "%s.ocre-oci.tmp", path) < 0)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		ret = write(fd, text, len) == (ssize_t)len ? 0 : -1;
		if (close(fd) != 0 || ret != 0 || rename(tmp, path) != 0) {
			ret = -1;
			unlink(tmp);
		}
	}
	free(tmp);
	return ret;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path), *p;
	int ret = 0;

	if (!copy)
		return -1;
	for (p = copy + 1; *p && ret == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST)
			ret = -1;
		*p = '/';
	}
	if (ret == 0 && mkdir(copy, mode) != 0 && errno != EEXIST)
		ret = -1;
	free(copy);
	return ret;
}

static void rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Read the child's report: "ok", or the reason it could not create. */
static int read_report(int fd, char *msg, size_t size)
{
	size_t got = 0;

	while (got < size - 1) {
		ssize_t n = read(fd, msg + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	return strcmp(msg, "ok") == 0 ? 0 : -1;
}

/* A native image: hand it to the runtime named by OCRE_OCI_DELEGATE, if any. */
static int create_delegated(const struct oci_args *a, int argc, char **argv, const char *why)
{
	const char *delegate = getenv("OCRE_OCI_DELEGATE");
	char *dir;
	int status;

	if (!delegate || !*delegate) {
		oci_error("create %s: %s", a->id, why);
		return 1;
	}
	if (delegate[0] != '/' || access(delegate, X_OK) != 0) {
		oci_error("create %s: OCRE_OCI_DELEGATE=%s is not an absolute path of an executable", a->id, delegate);
		return 1;
	}
	if (mkdir_p(a->root, 0711) != 0) {
		oci_error("create %s: cannot create the state root %s: %s", a->id, a->root, strerror(errno));
		return 1;
	}
	if (oci_delegate_mark(a->root, a->id, delegate) != 0)
		return 1;
	oci_note("info", "create %s: not WebAssembly, handed to %s", a->id, delegate);
	status = oci_delegate_run(a, argc, argv, delegate);
	if (status != 0 && (dir = oci_state_dir(a->root, a->id)) != NULL) {
		oci_remove_tree(dir);
		free(dir);
	}
	return status;
}

static int cmd_create(const struct oci_args *a, int argc, char **argv)
{
	char err[OCI_ERR_MAX], msg[OCI_ERR_MAX + 64], created[64], pidbuf[32], *dir = NULL, *fifo = NULL;
	struct oci_config cfg;
	struct oci_state st = {0};
	int sync[2], status, ret;
	pid_t pid;

	if ((ret = oci_config_load(a->bundle, &cfg, err)) == OCI_CONFIG_NOT_WASM)
		return create_delegated(a, argc, argv, err);
	if (ret != OCI_CONFIG_OK) {
		oci_error("create %s: %s", a->id, err);
		return 1;
	}
	if (cfg.terminal && !a->console_socket) {
		oci_error("create %s: process.terminal is true but no --console-socket was given", a->id);
		goto out_cfg;
	}
	if (mkdir_p(a->root, 0711) != 0) {
		oci_error("create %s: cannot create the state root %s: %s", a->id, a->root, strerror(errno));
		goto out_cfg;
	}
	if (!(dir = oci_state_dir(a->root, a->id)) || !(fifo = oci_state_fifo(dir))) {
		oci_error("out of memory");
		goto out_cfg;
	}
	if (mkdir(dir, 0700) != 0) {
		if (errno == EEXIST)
			oci_error("container \"%s\" already exists", a->id);
		else
			oci_error("create %s: cannot create %s: %s", a->id, dir, strerror(errno));
		goto out_cfg;
	}
	if (mkfifo(fifo, 0600) != 0) {
		oci_error("create %s: cannot create %s: %s", a->id, fifo, strerror(errno));
		goto out_dir;
	}
	if (pipe2(sync, O_CLOEXEC) != 0) {
		oci_error("create %s: pipe: %s", a->id, strerror(errno));
		goto out_dir;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		oci_error("create %s: fork: %s", a->id, strerror(errno));
		close(sync[0]);
		close(sync[1]);
		goto out_dir;
	}
	if (pid == 0) {
		int slave = -1;
		close(sync[0]);
		if (cfg.terminal && (slave = oci_console_open(a->console_socket, err)) < 0) {
			ssize_t ignored = write(sync[1], err, strlen(err));
			(void)ignored;
			_exit(1);
		}
		oci_container_process(&cfg, dir, sync[1], slave);
	}
	close(sync[1]);
	if (read_report(sync[0], msg, sizeof(msg)) != 0) {
		close(sync[0]);
		waitpid(pid, &status, 0);
		oci_error("create %s: %s", a->id, msg[0] ? msg : "the container process ended during create");
		goto out_dir;
	}
	close(sync[0]);
	rfc3339_now(created, sizeof(created));
	st.id = (char *)a->id;
	st.dir = dir;
	st.bundle = cfg.bundle;
	st.rootfs = cfg.root;
	st.created = created;
	st.annotations = cfg.annotations;
	st.pid = pid;
	st.starttime = oci_process_starttime(pid);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (st.starttime == 0 || oci_state_save(&st, err) != 0 ||
	    (a->pid_file && write_file_atomic(a->pid_file, pidbuf) != 0)) {
		oci_error("create %s: %s", a->id,
		          st.starttime == 0 ? "the container process ended during create"
		          : err[0]          ? err
		                            : "cannot write the pid file");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		goto out_dir;
	}
	if (cfg.n_skipped_mounts)
		oci_note("info", "create %s: %zu mounts skipped (kernel file systems and file binds)", a->id,
		         cfg.n_skipped_mounts);
	free(fifo);
	free(dir);
	oci_config_free(&cfg);
	return 0;
out_dir:
	oci_remove_tree(dir);
out_cfg:
	free(fifo);
	free(dir);
	oci_config_free(&cfg);
	return 1;
}

static int cmd_start(const struct oci_args *a)
{
	char err[OCI_ERR_MAX], *fifo;
	struct oci_state st;
	const char *status;
	int fd, ret = 1;

	if (oci_state_load(a->root, a->id, &st, err) != 0) {
		oci_error("%s", err);
		return 1;
	}
	status = oci_state_status(&st);
	if (strcmp(status, "created") != 0) {
		oci_error("cannot start container \"%s\": it is %s", a->id, status);
		goto out;
	}
	if (!(fifo = oci_state_fifo(st.dir))) {
		oci_error("out of memory");
		goto out;
	}
	/* The container process holds the fifo open for reading: ENXIO means it is gone. */
	fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		oci_error("cannot start container \"%s\": %s", a->id,
		          errno == ENOENT ? "it has already been started" : strerror(errno));
	} else {
		/* unlinked first: once start returns, state says running */
		if (unlink(fifo) != 0 && errno == ENOENT)
			oci_error("cannot start container \"%s\": it has already been started", a->id);
		else if (write(fd, "1", 1) != 1)
			oci_error("cannot start container \"%s\": %s", a->id, strerror(errno));
		else
			ret = 0;
		close(fd);
	}
	free(fifo);
out:
	oci_state_free(&st);
	return ret;
}

static int cmd_state(const struct oci_args *a)
{
	char err[OCI_ERR_MAX], *json;
	struct oci_state st;

	if (oci_state_load(a->root, a->id, &st, err) != 0) {
		oci_error("%s", err);
		return 1;
	}
	json = oci_state_json(&st);
	oci_state_free(&st);
	if (!json) {
		oci_error("out of memory");
		return 1;
	}
	printf("%s\n", json);
	cJSON_free(json);
	return 0;
}

static int cmd_kill(const struct oci_args *a)
{
	char err[OCI_ERR_MAX];
	struct oci_state st;
	int sig = oci_signal_number(a->signal), ret = 1;

	if (oci_state_load(a->root, a->id, &st, err) != 0) {
		oci_error("%s", err);
		return 1;
	}
	if (strcmp(oci_state_status(&st), "stopped") == 0) {
		oci_error("cannot kill container \"%s\": container not running", a->id);
	} else if (sig == SIGWINCH) {
		ret = 0; /* a terminal resize: the console's size is read by the guest, if at all, through the pty */
	} else if (sig != SIGKILL && sig != SIGTERM && sig != SIGINT && sig != SIGHUP && sig != SIGQUIT) {
		oci_error("cannot send signal %s to container \"%s\": a WebAssembly container takes TERM, INT, HUP "
		          "or QUIT (stop) and KILL",
		          a->signal, a->id);
	} else if (kill(st.pid, sig) != 0) {
		oci_error("cannot kill container \"%s\": %s", a->id, strerror(errno));
	} else {
		ret = 0;
	}
	oci_state_free(&st);
	return ret;
}

/* Wait until @p pid (not our child) has ended: a pidfd polls readable then. */
static void wait_gone(pid_t pid, unsigned long long starttime)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p;

	if (fd >= 0) {
		p.fd = fd;
		p.events = POLLIN;
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		close(fd);
		return;
	}
	while (oci_process_alive(pid, starttime)) /* kernels without pidfd_open (< 5.3) */
		usleep(1000);
}

static int cmd_delete(const struct oci_args *a)
{
	char err[OCI_ERR_MAX], *dir;
	struct oci_state st;
	const char *status;
	int ret = 1;

	if (oci_state_load(a->root, a->id, &st, err) != 0) {
		/* a create that failed half-way leaves no state.json: clean up, as runc does */
		if ((dir = oci_valid_id(a->id) ? oci_state_dir(a->root, a->id) : NULL) != NULL) {
			oci_remove_tree(dir);
			free(dir);
		}
		if (a->force)
			return 0;
		oci_error("%s", err);
		return 1;
	}
	status = oci_state_status(&st);
	if (strcmp(status, "running") == 0 && !a->force) {
		oci_error("cannot delete container \"%s\" that is not stopped: running (use --force)", a->id);
		goto out;
	}
	if (strcmp(status, "stopped") != 0) {
		if (kill(st.pid, SIGKILL) != 0 && errno != ESRCH) {
			oci_error("cannot kill container \"%s\": %s", a->id, strerror(errno));
			goto out;
		}
		wait_gone(st.pid, st.starttime);
	}
	if (oci_remove_tree(st.dir) != 0) {
		oci_error("cannot remove %s: %s", st.dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	oci_state_free(&st);
	return ret;
}

static int cmd_ps(const struct oci_args *a)
{
	char err[OCI_ERR_MAX];
	struct oci_state st;
	bool alive;

	if (oci_state_load(a->root, a->id, &st, err) != 0) {
		oci_error("%s", err);
		return 1;
	}
	alive = strcmp(oci_state_status(&st), "stopped") != 0;
	if (a->json)
		alive ? printf("[%d]\n", (int)st.pid) : printf("[]\n");
	else
		alive ? printf("PID\n%d\n", (int)st.pid) : printf("PID\n");
	oci_state_free(&st);
	return 0;
}

static int cmd_list(const struct oci_args *a)
{
	DIR *d = opendir(a->root);
	struct dirent *e;
	cJSON *arr = a->json ? cJSON_CreateArray() : NULL;
	char err[OCI_ERR_MAX], *text;

	if (!a->json)
		printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	while (d && (e = readdir(d)) != NULL) {
		struct oci_state st;
		const char *status;
		cJSON *item;

		if (e->d_name[0] == '.' || oci_state_load(a->root, e->d_name, &st, err) != 0)
			continue;
		status = oci_state_status(&st);
		if (a->json && (item = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(item, "id", st.id);
			cJSON_AddNumberToObject(item, "pid", strcmp(status, "stopped") == 0 ? 0 : st.pid);
			cJSON_AddStringToObject(item, "status", status);
			cJSON_AddStringToObject(item, "bundle", st.bundle);
			cJSON_AddStringToObject(item, "created", st.created);
			cJSON_AddItemToArray(arr, item);
		} else if (!a->json) {
			printf("%-24s %-8d %-10s %-40s %s\n", st.id, strcmp(status, "stopped") == 0 ? 0 : (int)st.pid,
			       status, st.bundle, st.created);
		}
		oci_state_free(&st);
	}
	if (d)
		closedir(d);
	if (a->json) {
		text = arr ? cJSON_PrintUnformatted(arr) : NULL;
		printf("%s\n", text ? text : "[]");
		cJSON_free(text);
		cJSON_Delete(arr);
	}
	return 0;
}

static int cmd_features(void)
{
	/* runtime-spec features.md; nothing of linux.* is applied to a wasm container */
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"" OCI_SPEC_VERSION "\",\n"
	       "  \"hooks\": [],\n"
	       "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\"],\n"
	       "  \"annotations\": {\n"
	       "    \"org.opencontainers.runtime-spec.features.runtime\": \"ocre-oci\",\n"
	       "    \"run.ocre.version\": \"%s\",\n"
	       "    \"run.ocre.capabilities\": \"comma-separated ocre capabilities (networking, ocre:api)\",\n"
	       "    \"run.ocre.stop-grace-ms\": \"kill this long after a stop signal (default: when the engine "
	       "kills)\"\n"
	       "  }\n"
	       "}\n",
	       ocre_version());
	return 0;
}

int main(int argc, char **argv)
{
	struct oci_args a;
	char err[OCI_ERR_MAX], *delegate, *dir;

	if (oci_args_parse(argc, argv, &a, err) != 0) {
		fprintf(stderr, "ocre-oci: %s\n", err);
		return 1;
	}
	oci_log_setup(a.log, a.log_json);
	if (a.id && a.command != OCI_CMD_CREATE && a.command != OCI_CMD_HELP &&
	    (delegate = oci_delegate_of(a.root, a.id)) != NULL) {
		int status = oci_delegate_run(&a, argc, argv, delegate);
		if (a.command == OCI_CMD_DELETE && status == 0 && (dir = oci_state_dir(a.root, a.id)) != NULL) {
			oci_remove_tree(dir);
			free(dir);
		}
		free(delegate);
		return status;
	}
	switch (a.command) {
	case OCI_CMD_VERSION:
		printf("ocre-oci version " OCI_RUNTIME_VERSION "\nspec: " OCI_SPEC_VERSION "\nocre: %s\n",
		       ocre_version());
		return 0;
	case OCI_CMD_HELP:
		fputs(usage, stdout);
		return 0;
	case OCI_CMD_CREATE:
		return cmd_create(&a, argc, argv);
	case OCI_CMD_START:
		return cmd_start(&a);
	case OCI_CMD_STATE:
		return cmd_state(&a);
	case OCI_CMD_KILL:
		return cmd_kill(&a);
	case OCI_CMD_DELETE:
		return cmd_delete(&a);
	case OCI_CMD_PS:
		return cmd_ps(&a);
	case OCI_CMD_LIST:
		return cmd_list(&a);
	case OCI_CMD_FEATURES:
		return cmd_features();
	default:
		fputs(usage, stderr);
		return 2;
	}
}
