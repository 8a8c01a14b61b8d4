/* ocre-oci: the container process (see process.h). */
#define _GNU_SOURCE
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocre/ocre.h>

#include "log.h"
#include "state.h"

#define OCI_CONTAINER_ID "oci"
#define EXIT_CANNOT_START 126 /* as a shell says of a command it cannot execute */

static struct ocre_container *container;
static unsigned stop_grace_ms;

static void report(int sync_fd, const char *msg)
{
	size_t len = strlen(msg), off = 0;

	while (off < len) {
		ssize_t n = write(sync_fd, msg + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(sync_fd);
}

static void __attribute__((noreturn, format(printf, 2, 3))) fail_create(int sync_fd, const char *fmt, ...)
{
	char msg[OCI_ERR_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(sync_fd, msg);
	_exit(1);
}

/* ocre's own log records: to the --log file, never to the container's stderr. */
static void log_sink(const struct ocre_log_record *r, void *user_data)
{
	static const char *const levels[] = {"none", "error", "warning", "info", "debug"};
	oci_note(levels[r->level <= OCRE_LOG_LEVEL_DBG ? r->level : 0], "%s: %s", r->module, r->message);
}

static void *signal_thread(void *arg)
{
	int sfd = *(int *)arg;
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return NULL;
		/* a stop request; a repeated one neither shortens nor resets the grace */
		ocre_container_stop_async(container, stop_grace_ms ? stop_grace_ms : UINT_MAX);
	}
}

static int write_proc(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* A mount namespace of this process alone: directly as root (or with
 * CAP_SYS_ADMIN, as under rootless Podman), else inside a new user namespace
 * that maps the caller's uid and gid to themselves (files the module creates
 * stay the caller's). errno set on failure. */
static int enter_mount_namespace(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	int saved;

	if (unshare(CLONE_NEWNS) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	saved = errno;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		errno = saved;
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_proc("/proc/self/setgroups", "deny\n") != 0 || write_proc("/proc/self/uid_map", map) != 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_proc("/proc/self/gid_map", map);
}

/* The ocre working directory of this container: images/<module> links to the
 * module in the rootfs; containers/oci, the private directory of the
 * `filesystem` capability (the guest's "/"), is the rootfs bind-mounted in a
 * mount namespace of this process alone (read-only for root.readonly). The
 * mount goes away with the process; from outside, containers/oci stays an
 * empty directory, so deleting the state never touches the rootfs. Must run
 * before any thread exists (unshare(CLONE_NEWNS) refuses threaded callers). */
static const char *setup_workdir(const struct oci_config *cfg, const char *state_dir, int sync_fd, char **image)
{
	static char work[PATH_MAX];
	char path[PATH_MAX + 64];
	const char *base = strrchr(cfg->module, '/') + 1;
	size_t i;
	bool ok = base[0] != '.' && base[0] != '\0';

	for (i = 0; ok && base[i]; i++)
		ok = (base[i] >= 'a' && base[i] <= 'z') || (base[i] >= '0' && base[i] <= '9') || strchr("._-", base[i]);
	*image = strdup(ok ? base : "module.wasm");
	if (!*image || snprintf(work, sizeof(work), "%s/work", state_dir) >= (int)sizeof(work))
		fail_create(sync_fd, "state directory path too long");
	if (mkdir(work, 0700) != 0)
		fail_create(sync_fd, "cannot create %s: %s", work, strerror(errno));
	snprintf(path, sizeof(path), "%s/images", work);
	if (mkdir(path, 0700) != 0)
		fail_create(sync_fd, "cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/images/%s", work, *image);
	if (symlink(cfg->module, path) != 0)
		fail_create(sync_fd, "cannot link %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/containers", work);
	if (mkdir(path, 0700) != 0)
		fail_create(sync_fd, "cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/containers/" OCI_CONTAINER_ID, work);
	if (mkdir(path, 0700) != 0)
		fail_create(sync_fd, "cannot create %s: %s", path, strerror(errno));
	if (enter_mount_namespace() != 0)
		fail_create(
		    sync_fd,
		    "cannot create a mount namespace (ocre-oci needs root, or unprivileged user namespaces): %s",
		    strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		fail_create(sync_fd, "cannot make the mounts private: %s", strerror(errno));
	if (mount(cfg->root, path, NULL, MS_BIND | MS_REC, NULL) != 0)
		fail_create(sync_fd, "cannot bind %s: %s", cfg->root, strerror(errno));
	if (cfg->root_readonly && mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
		fail_create(sync_fd, "cannot make %s read-only: %s", cfg->root, strerror(errno));
	return work;
}

static char **mount_specs(const struct oci_config *cfg, int sync_fd)
{
	char **v = calloc(cfg->n_mounts + 1, sizeof(*v));
	size_t i;

	if (!v)
		fail_create(sync_fd, "out of memory");
	for (i = 0; i < cfg->n_mounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		if (strchr(m->source, ':') || strchr(m->destination, ':'))
			fail_create(sync_fd, "mount %s -> %s: paths with ':' cannot be mapped", m->source,
			            m->destination);
		if (asprintf(&v[i], "%s:%s%s", m->source, m->destination, m->readonly ? ":ro" : "") < 0)
			fail_create(sync_fd, "out of memory");
	}
	return v;
}

/* Close what the engine's runtime invocation left open (conmon's and the
 * shim's pipes, --preserve-fds): a long-lived container process must not keep
 * them, and a WASI module cannot use them. Keeps stdio and @p keep. */
static void close_inherited_fds(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[256], n = 0, i;

	while (d && (e = readdir(d)) != NULL && n < (int)(sizeof(fds) / sizeof(fds[0]))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd > 2 && fd != keep && fd != dirfd(d))
			fds[n++] = fd;
	}
	if (d)
		closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Block until `start` writes a byte to the fifo; a stop signal first ends the process. */
static void wait_for_start(int fifo, int sfd)
{
	struct pollfd p[2] = {{.fd = fifo, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	struct signalfd_siginfo si;
	char byte;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_CANNOT_START);
		}
		if (p[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				_exit(128 + (int)si.ssi_signo);
		}
		if (p[0].revents & POLLIN) {
			if (read(fifo, &byte, 1) == 1)
				break;
		}
	}
	close(fifo);
}

void oci_container_process(const struct oci_config *cfg, const char *state_dir, int sync_fd, int console_slave)
{
	struct ocre_container_args args = {0};
	struct ocre_exit_info info;
	struct ocre_context *ctx;
	const char *workdir;
	char *image = NULL, *fifo_path;
	sigset_t stop_signals;
	pthread_t thread;
	int sfd, fifo, status = 0;

	if (console_slave >= 0) {
		if (setsid() < 0 || ioctl(console_slave, TIOCSCTTY, 0) != 0)
			fail_create(sync_fd, "cannot make the console the controlling terminal: %s", strerror(errno));
		if (dup2(console_slave, 0) < 0 || dup2(console_slave, 1) < 0 || dup2(console_slave, 2) < 0)
			fail_create(sync_fd, "cannot attach the console: %s", strerror(errno));
	}
	close_inherited_fds(sync_fd); /* also the console's own fd, now on 0-2 */
	/* before any thread exists, so that every thread inherits the mask */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) != 0 || (sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC)) < 0)
		fail_create(sync_fd, "cannot set up signal handling: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	if (!(fifo_path = oci_state_fifo(state_dir)))
		fail_create(sync_fd, "out of memory");
	if ((fifo = open(fifo_path, O_RDWR | O_CLOEXEC)) < 0)
		fail_create(sync_fd, "cannot open %s: %s", fifo_path, strerror(errno));
	free(fifo_path);
	workdir = setup_workdir(cfg, state_dir, sync_fd, &image);

	ocre_log_set_sink(log_sink, NULL);
	if (ocre_initialize(NULL) != 0)
		fail_create(sync_fd, "cannot initialise the ocre library: %s", ocre_last_error_message());
	if (!(ctx = ocre_create_context(workdir)))
		fail_create(sync_fd, "%s", ocre_last_error_message());
	args.argv = (const char **)cfg->args;
	args.envp = (const char **)cfg->env;
	args.capabilities = (const char **)cfg->capabilities;
	args.mounts = (const char **)mount_specs(cfg, sync_fd);
	args.tier = OCRE_TIER_INTERPRETER;
	args.restore_directory = true; /* containers/oci is the bind-mounted rootfs */
	container = ocre_context_create_container(ctx, image, NULL, OCI_CONTAINER_ID, true, &args, -1, -1, -1);
	if (!container)
		fail_create(sync_fd, "%s", ocre_last_error_message());
	if (cfg->memory_limit &&
	    ocre_container_set_memory_limit(container,
	                                    cfg->memory_limit > SIZE_MAX ? SIZE_MAX : (size_t)cfg->memory_limit) != 0)
		fail_create(sync_fd, "%s", ocre_last_error_message());
	stop_grace_ms = cfg->stop_grace_ms;
	oci_note("info", "container process %d: %s loaded, waiting for start", (int)getpid(), cfg->module);
	report(sync_fd, "ok");

	wait_for_start(fifo, sfd);
	if (ocre_container_start_async(container) != 0) {
		fprintf(stderr, "ocre-oci: cannot start: %s\n", ocre_last_error_message());
		_exit(EXIT_CANNOT_START);
	}
	if (pthread_create(&thread, NULL, signal_thread, &sfd) != 0) {
		fprintf(stderr, "ocre-oci: cannot start the signal thread\n");
		ocre_container_kill(container);
	}
	if (ocre_container_wait(container, &status) != 0)
		status = EXIT_CANNOT_START;
	if (ocre_container_get_exit(container, &info) == 0 && info.reason == OCRE_EXIT_REASON_TRAP && info.message[0])
		fprintf(stderr, "ocre-oci: %s\n", info.message);
	oci_note("info", "container process %d: exited with status %d", (int)getpid(), status);
	fflush(NULL);
	/* The process ends with the container: the OS frees the rest, and no
	 * teardown can race with a late stop request on the signal thread. */
	_exit(status & 0xff);
}
