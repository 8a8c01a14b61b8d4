/* Contexts: a working directory and the containers created in it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"

LOG_MODULE_REGISTER(context);

static const char *const known_capabilities[] = {"filesystem", "networking", "ocre:api", NULL};

struct ocre_context {
	pthread_mutex_t lock;
	char *workdir;
	char *images_dir;
	char *containers_dir;
	struct ocre_container *head; /* creation order */
	struct ocre_container *tail;
	struct ocre_thread_pool *pool; /* the containers' threads */
	struct ocre_bus *bus;          /* messaging (messaging.c) */
	struct ocre_devices *devices;  /* sensor and GPIO providers (devices.c) */
	int lock_fd;                   /* <workdir>/.lock, flock()ed exclusively while the context lives */
	int container_nice;            /* niceness of new containers (atomic) */
	bool closing;
};

/* The working directory's lock: one process at a time (flock() on
 * <workdir>/.lock, released by the kernel if the process dies). Returns the
 * fd, or -1 with the last error set (OCRE_ERR_BUSY if another holds it). */
static int lock_workdir(const char *workdir)
{
	char *path = ocre_path_join(workdir, ".lock");
	int fd;

	if (!path) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ocre_fail(OCRE_ERR_IO, "cannot open the lock file %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			ocre_fail(OCRE_ERR_BUSY, "working directory %s is in use by another process (it holds %s)",
			          workdir, path);
		else
			ocre_fail(OCRE_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

const char *ocre_context_containers_dir(const struct ocre_context *ctx)
{
	return ctx->containers_dir;
}

int ocre_context_container_nice(struct ocre_context *ctx)
{
	return __atomic_load_n(&ctx->container_nice, __ATOMIC_RELAXED);
}

struct ocre_thread_pool *ocre_context_pool(const struct ocre_context *ctx)
{
	return ctx->pool;
}

struct ocre_bus *ocre_context_bus(const struct ocre_context *ctx)
{
	return ctx->bus;
}

struct ocre_devices *ocre_context_devices(const struct ocre_context *ctx)
{
	return ctx->devices;
}

static bool valid_context(struct ocre_context *ctx)
{
	if (!ctx) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "context is NULL");
		return false;
	}
	if (!ocre_context_is_registered(ctx)) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "not a live context");
		return false;
	}
	return true;
}

struct ocre_context *ocre_create_context(const char *workdir)
{
	struct ocre_context *ctx;
	char *resolved = NULL;

	if (!ocre_is_initialized()) {
		ocre_fail(OCRE_ERR_NOT_INITIALIZED, "call ocre_initialize() first");
		return NULL;
	}
	if (!workdir)
		workdir = CONFIG_OCRE_DEFAULT_WORKING_DIRECTORY;
	if (workdir[0] != '/') {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "working directory '%s' is not an absolute path", workdir);
		return NULL;
	}
	if (ocre_mkdir_p(workdir, 0755) != 0) {
		ocre_fail(OCRE_ERR_IO, "cannot create working directory %s: %s", workdir, strerror(errno));
		return NULL;
	}
	/* One context per directory, however it is spelled. */
	resolved = realpath(workdir, NULL);
	if (!resolved) {
		ocre_fail(OCRE_ERR_IO, "cannot resolve %s: %s", workdir, strerror(errno));
		return NULL;
	}

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		goto err_resolved;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->lock_fd = -1;
	ctx->container_nice = CONFIG_OCRE_CONTAINER_NICE;
	ctx->workdir = resolved;
	ctx->images_dir = ocre_path_join(resolved, "images");
	ctx->containers_dir = ocre_path_join(resolved, "containers");
	if (!ctx->images_dir || !ctx->containers_dir) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		goto err_ctx;
	}
	if (ocre_mkdir_p(ctx->images_dir, 0755) != 0 || ocre_mkdir_p(ctx->containers_dir, 0755) != 0) {
		ocre_fail(OCRE_ERR_IO, "cannot create %s/images and containers: %s", resolved, strerror(errno));
		goto err_ctx;
	}
	ctx->bus = ocre_bus_new();
	ctx->devices = ocre_devices_new();
	if (!ctx->bus || !ctx->devices) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		goto err_bus;
	}
	ctx->pool = ocre_pool_new();
	if (!ctx->pool)
		goto err_bus;
	/* Registered first: a second context of this process is EXISTS, of
	 * another process BUSY. */
	if (ocre_register_context(ctx, resolved) != OCRE_OK)
		goto err_pool;
	ctx->lock_fd = lock_workdir(resolved);
	if (ctx->lock_fd < 0)
		goto err_registered;
	LOG_INF("context opened on %s", resolved);
	return ctx;

err_registered:
	ocre_unregister_context(ctx);
err_pool:
	ocre_pool_destroy(ctx->pool);
err_bus:
	ocre_bus_free(ctx->bus);
	ocre_devices_free(ctx->devices);
err_ctx:
	free(ctx->images_dir);
	free(ctx->containers_dir);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
	free(resolved);
	return NULL;
err_resolved:
	ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	free(resolved);
	return NULL;
}

static uint64_t ocre_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What is left of a destroyed context once no run uses it. */
static void free_context(void *arg)
{
	struct ocre_context *ctx = arg;

	ocre_bus_free(ctx->bus);
	ocre_devices_free(ctx->devices);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->images_dir);
	free(ctx->containers_dir);
	free(ctx->workdir);
	free(ctx);
}

int ocre_destroy_context(struct ocre_context *ctx)
{
	struct ocre_container **all = NULL, *c;
	const char *stuck = NULL;
	char stuck_id[128] = "";
	int n = 0, i, nstuck = 0;
	uint64_t t0;

	if (!valid_context(ctx))
		return ocre_last_error();

	/* Refuse new containers, then take a reference on every existing one. */
	pthread_mutex_lock(&ctx->lock);
	if (ctx->closing) {
		pthread_mutex_unlock(&ctx->lock);
		return ocre_fail(OCRE_ERR_STATE, "context is already being destroyed");
	}
	ctx->closing = true;
	for (c = ctx->head; c; c = ocre_container_list_next_locked(c))
		n++;
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all) {
		ctx->closing = false;
		pthread_mutex_unlock(&ctx->lock);
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	}
	for (i = 0, c = ctx->head; c; c = ocre_container_list_next_locked(c), i++) {
		ocre_container_retain(c);
		ocre_container_mark_closing(c); /* a racing start() now fails: nothing restarts behind us */
		all[i] = c;
	}
	pthread_mutex_unlock(&ctx->lock);

	for (i = 0; i < n; i++)
		ocre_container_kill(all[i]); /* STATE for created/stopped ones: fine */
	/* Every run ends at its kill, unless a host function never returns (a
	 * provider that hangs, an unkillable system call): wait
	 * CONFIG_OCRE_DESTROY_TIMEOUT_MS for all of them together, no longer. */
	t0 = ocre_now_ms();
	for (i = 0; i < n; i++) {
		uint64_t spent = ocre_now_ms() - t0;
		unsigned left =
		    spent >= CONFIG_OCRE_DESTROY_TIMEOUT_MS ? 0 : CONFIG_OCRE_DESTROY_TIMEOUT_MS - (unsigned)spent;
		ocre_container_status_t st = ocre_container_get_status(all[i]);
		if ((st == OCRE_CONTAINER_STATUS_RUNNING || st == OCRE_CONTAINER_STATUS_PAUSED) &&
		    ocre_container_wait_timeout(all[i], NULL, left) == OCRE_ERR_TIMEOUT) {
			/* its run may still end: it must call nobody back */
			ocre_container_set_event_callback(all[i], NULL, NULL);
			if (!stuck)
				stuck = ocre_container_get_id(all[i]);
			nstuck++;
		}
	}
	pthread_mutex_lock(&ctx->lock);
	for (i = 0; i < n; i++) {
		ocre_container_status_t st = ocre_container_get_status(all[i]);
		/* a stuck run keeps its container (its own reference) until it ends */
		if (st != OCRE_CONTAINER_STATUS_RUNNING && st != OCRE_CONTAINER_STATUS_PAUSED &&
		    ocre_container_remove_from_context_locked(all[i]) != OCRE_OK)
			LOG_ERR("container %s could not be removed: %s", ocre_container_get_id(all[i]),
			        ocre_last_error_message());
		ocre_container_release(all[i]); /* the context's reference */
	}
	ctx->head = ctx->tail = NULL;
	pthread_mutex_unlock(&ctx->lock);
	if (stuck)
		snprintf(stuck_id, sizeof(stuck_id), "%s", stuck); /* before our reference goes */
	for (i = 0; i < n; i++)
		ocre_container_release(all[i]); /* ours */
	free(all);

	close(ctx->lock_fd); /* another process may open the workdir from now on */
	ocre_unregister_context(ctx);
	if (stuck) {
		/* The stuck runs still use the context (its bus, devices and pool):
		 * the last of them to end frees it. */
		LOG_ERR("context on %s destroyed with %d container(s) still running %u ms after their kill (first: %s)",
		        ctx->workdir, nstuck, CONFIG_OCRE_DESTROY_TIMEOUT_MS, stuck_id);
		ocre_pool_orphan(ctx->pool, free_context, ctx);
		return ocre_fail(
		    OCRE_ERR_TIMEOUT,
		    "container %s did not end within %u ms of its kill (%d in all): the context is destroyed, "
		    "its thread is left to end by itself",
		    stuck_id, CONFIG_OCRE_DESTROY_TIMEOUT_MS, nstuck);
	}
	/* Every run has ended: end and join the parked threads. */
	ocre_pool_destroy(ctx->pool);
	LOG_INF("context on %s destroyed", ctx->workdir);
	free_context(ctx);
	return OCRE_OK;
}

static struct ocre_container *find_locked(struct ocre_context *ctx, const char *id)
{
	struct ocre_container *c;
	for (c = ctx->head; c; c = ocre_container_list_next_locked(c))
		if (strcmp(ocre_container_get_id(c), id) == 0)
			return c;
	return NULL;
}

static bool private_dir_exists(struct ocre_context *ctx, const char *id)
{
	char *path = ocre_path_join(ctx->containers_dir, id);
	struct stat st;
	bool exists = path && lstat(path, &st) == 0;

	free(path);
	return exists;
}

/* The destination of mount @p mount (after its ':'), normalized as the guest
 * sees it: no repeated or trailing slashes; "." alone names the working
 * directory. NULL (the error set) if it is empty or has a "." or ".."
 * component. */
static char *mount_destination(const char *mount, const char *rest, size_t dlen)
{
	size_t i, seg = 0, n = 0;
	char *dst;

	if (dlen == 0)
		return ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': destination is empty", mount), NULL;
	if (!(dlen == 1 && rest[0] == '.') && !(dlen == 2 && rest[0] == '.' && rest[1] == '/')) {
		/* a destination names one directory, as typed: no "." or ".." */
		for (i = 0; i <= dlen; i++) {
			if (i < dlen && rest[i] != '/')
				continue;
			if ((i - seg == 1 && rest[seg] == '.') ||
			    (i - seg == 2 && rest[seg] == '.' && rest[seg + 1] == '.'))
				return ocre_fail(OCRE_ERR_INVALID_MOUNT,
				                 "mount '%s': destination must not contain . or .. components", mount),
				       NULL;
			seg = i + 1;
		}
	}
	if (!(dst = malloc(dlen + 1)))
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory"), NULL;
	for (i = 0; i < dlen; i++)
		if (rest[i] != '/' || n == 0 || dst[n - 1] != '/')
			dst[n++] = rest[i];
	while (n > 1 && dst[n - 1] == '/')
		n--;
	dst[n] = '\0';
	return dst;
}

/* Checks one mount SOURCE:DESTINATION[:ro|:rw]; on success *@p dst is its
 * normalized destination (to free). */
static int check_mount(const char *mount, char **dst)
{
	const char *colon = strchr(mount, ':');
	const char *rest, *opt;
	char *src;
	struct stat st;
	int ok;

	if (mount[0] != '/')
		return ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': source must be an absolute path", mount);
	if (!colon)
		return ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': expected SOURCE:DESTINATION", mount);
	rest = colon + 1;
	opt = strchr(rest, ':');
	if (opt && strcmp(opt, ":ro") != 0 && strcmp(opt, ":rw") != 0)
		return ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': option must be ro or rw", mount);
	if (!(*dst = mount_destination(mount, rest, opt ? (size_t)(opt - rest) : strlen(rest))))
		return ocre_last_error();
	src = strndup(mount, (size_t)(colon - mount));
	if (!src)
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	ok = stat(src, &st) == 0 && S_ISDIR(st.st_mode);
	if (!ok) {
		int ret = ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': source %s is not a directory", mount, src);
		free(src);
		return ret;
	}
	free(src);
	return OCRE_OK;
}

/* Every mount valid, no destination twice, and no mount at "/" when the
 * `filesystem` capability's directory is the guest's "/". */
static int check_mounts(const struct ocre_container_args *args)
{
	size_t i, j, n = 0;
	char **dsts;
	bool filesystem = false;
	int ret = OCRE_OK;

	for (i = 0; args && args->capabilities && args->capabilities[i]; i++)
		filesystem = filesystem || strcmp(args->capabilities[i], "filesystem") == 0;
	while (args && args->mounts && args->mounts[n])
		n++;
	if (n == 0)
		return OCRE_OK;
	if (!(dsts = calloc(n, sizeof(*dsts))))
		return ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	for (i = 0; i < n && ret == OCRE_OK; i++) {
		if ((ret = check_mount(args->mounts[i], &dsts[i])) != OCRE_OK)
			break;
		if (filesystem && strcmp(dsts[i], "/") == 0)
			ret = ocre_fail(OCRE_ERR_INVALID_MOUNT,
			                "mount '%s': the filesystem capability's directory is already the guest's /",
			                args->mounts[i]);
		for (j = 0; j < i && ret == OCRE_OK; j++)
			if (strcmp(dsts[i], dsts[j]) == 0)
				ret = ocre_fail(OCRE_ERR_INVALID_MOUNT, "mount '%s': destination %s is mounted twice",
				                args->mounts[i], dsts[i]);
	}
	for (i = 0; i < n; i++)
		free(dsts[i]);
	free(dsts);
	return ret;
}

static int check_capability(const char *cap)
{
	int i;
	for (i = 0; known_capabilities[i]; i++)
		if (strcmp(cap, known_capabilities[i]) == 0)
			return OCRE_OK;
	return ocre_fail(OCRE_ERR_INVALID_CAPABILITY,
	                 "unknown capability '%s' (known: filesystem, networking, ocre:api)", cap);
}

struct ocre_container *ocre_context_create_container(struct ocre_context *ctx, const char *image, const char *runtime,
                                                     const char *container_id, bool detached,
                                                     const struct ocre_container_args *args, int stdin_fd,
                                                     int stdout_fd, int stderr_fd)
{
	const struct ocre_runtime_vtable *engine;
	struct ocre_container *c = NULL;
	char *image_path = NULL;
	char random_id[9];
	struct stat st;
	size_t i;

	if (!valid_context(ctx))
		return NULL;
	if (ocre_check_name("image name", image) != OCRE_OK)
		return NULL;
	if (container_id && ocre_check_name("container id", container_id) != OCRE_OK)
		return NULL;
	if (runtime) {
		engine = *runtime ? ocre_find_engine(runtime) : NULL;
		if (!engine) {
			ocre_fail(OCRE_ERR_RUNTIME, "unknown runtime '%s'", runtime);
			return NULL;
		}
	} else {
		engine = ocre_default_engine();
	}
	for (i = 0; args && args->capabilities && args->capabilities[i]; i++)
		if (check_capability(args->capabilities[i]) != OCRE_OK)
			return NULL;
	if (check_mounts(args) != OCRE_OK)
		return NULL;
	for (i = 0; args && args->envp && args->envp[i]; i++) {
		const char *eq = strchr(args->envp[i], '=');
		if (!eq || eq == args->envp[i]) {
			ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "environment entry '%s' is not KEY=VALUE", args->envp[i]);
			return NULL;
		}
	}
	if (args && (args->tier < OCRE_TIER_AUTO || args->tier > OCRE_TIER_AOT)) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "unknown tier %d", (int)args->tier);
		return NULL;
	}

	image_path = ocre_path_join(ctx->images_dir, image);
	if (!image_path) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	if (stat(image_path, &st) != 0 || !S_ISREG(st.st_mode)) {
		ocre_fail(OCRE_ERR_IMAGE_NOT_FOUND, "image '%s' not found in %s", image, ctx->images_dir);
		free(image_path);
		return NULL;
	}

	pthread_mutex_lock(&ctx->lock);
	if (ctx->closing) {
		ocre_fail(OCRE_ERR_STATE, "context is being destroyed");
		goto out;
	}
	if (container_id) {
		if (find_locked(ctx, container_id)) {
			ocre_fail(OCRE_ERR_EXISTS, "container id '%s' is already in use", container_id);
			goto out;
		}
	} else {
		/* never the id of a leftover private directory either */
		do
			ocre_random_id(random_id);
		while (find_locked(ctx, random_id) || private_dir_exists(ctx, random_id));
		container_id = random_id;
	}
	/* Loading the module happens here, under the context lock, so that two
	 * creates of one id cannot both succeed. It is short (mmap + parse). */
	c = ocre_container_new(ctx, container_id, image, image_path, engine, detached, args, stdin_fd, stdout_fd,
	                       stderr_fd);
	if (c) {
		if (ctx->tail)
			ocre_container_list_set_next_locked(ctx->tail, c);
		else
			ctx->head = c;
		ctx->tail = c;
	}
out:
	pthread_mutex_unlock(&ctx->lock);
	free(image_path);
	return c;
}

struct ocre_container *ocre_context_get_container_by_id(struct ocre_context *ctx, const char *id)
{
	struct ocre_container *c;

	if (!valid_context(ctx))
		return NULL;
	if (!id) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "id is NULL");
		return NULL;
	}
	pthread_mutex_lock(&ctx->lock);
	c = find_locked(ctx, id);
	pthread_mutex_unlock(&ctx->lock);
	if (!c)
		ocre_fail(OCRE_ERR_NOT_FOUND, "no container '%s'", id);
	return c;
}

int ocre_context_remove_container(struct ocre_context *ctx, struct ocre_container *container)
{
	struct ocre_container *c, *prev = NULL;
	int ret;

	if (!valid_context(ctx))
		return ocre_last_error();
	if (!container)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "container is NULL");
	pthread_mutex_lock(&ctx->lock);
	for (c = ctx->head; c && c != container; c = ocre_container_list_next_locked(c))
		prev = c;
	if (!c) {
		pthread_mutex_unlock(&ctx->lock);
		return ocre_fail(OCRE_ERR_NOT_FOUND, "container is not in this context");
	}
	ret = ocre_container_remove_from_context_locked(c);
	if (ret == OCRE_OK) {
		struct ocre_container *next = ocre_container_list_next_locked(c);
		if (prev)
			ocre_container_list_set_next_locked(prev, next);
		else
			ctx->head = next;
		if (ctx->tail == c)
			ctx->tail = prev;
		ocre_container_list_set_next_locked(c, NULL);
	}
	pthread_mutex_unlock(&ctx->lock);
	if (ret == OCRE_OK)
		ocre_container_release(c); /* the context's reference */
	return ret;
}

int ocre_context_get_container_count(struct ocre_context *ctx)
{
	struct ocre_container *c;
	int n = 0;

	if (!valid_context(ctx))
		return -1;
	pthread_mutex_lock(&ctx->lock);
	for (c = ctx->head; c; c = ocre_container_list_next_locked(c))
		n++;
	pthread_mutex_unlock(&ctx->lock);
	return n;
}

static int list_containers(struct ocre_context *ctx, struct ocre_container **containers, int max_size, bool retain)
{
	struct ocre_container *c;
	int n = 0;

	if (!valid_context(ctx))
		return -1;
	if (!containers || max_size < 0) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "containers is NULL or max_size is negative");
		return -1;
	}
	pthread_mutex_lock(&ctx->lock);
	for (c = ctx->head; c && n < max_size; c = ocre_container_list_next_locked(c)) {
		if (retain)
			ocre_container_retain(c);
		containers[n++] = c;
	}
	pthread_mutex_unlock(&ctx->lock);
	return n;
}

int ocre_context_get_containers(struct ocre_context *ctx, struct ocre_container **containers, int max_size)
{
	return list_containers(ctx, containers, max_size, false);
}

int ocre_context_get_containers_retained(struct ocre_context *ctx, struct ocre_container **containers, int max_size)
{
	return list_containers(ctx, containers, max_size, true);
}

const char *ocre_context_get_working_directory(const struct ocre_context *ctx)
{
	if (!ctx || !ocre_context_is_registered((struct ocre_context *)ctx))
		return NULL;
	return ctx->workdir;
}

int ocre_context_set_container_nice(struct ocre_context *ctx, int nice)
{
	if (!valid_context(ctx))
		return ocre_last_error();
	if (nice < 0 || nice > OCRE_NICE_MAX)
		return ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "niceness %d is not in 0..%d", nice, OCRE_NICE_MAX);
	__atomic_store_n(&ctx->container_nice, nice, __ATOMIC_RELAXED);
	return OCRE_OK;
}

int ocre_context_get_container_nice(struct ocre_context *ctx)
{
	if (!valid_context(ctx))
		return -1;
	return ocre_context_container_nice(ctx);
}

long long ocre_context_get_image_size(struct ocre_context *ctx, const char *image)
{
	struct stat st;
	char *path;
	int rc;

	if (!valid_context(ctx))
		return -1;
	if (ocre_check_name("image name", image) != OCRE_OK)
		return -1;
	if (!(path = ocre_path_join(ctx->images_dir, image))) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	rc = stat(path, &st);
	free(path);
	if (rc != 0 || !S_ISREG(st.st_mode)) {
		ocre_fail(OCRE_ERR_IMAGE_NOT_FOUND, "image '%s' not found in %s", image, ctx->images_dir);
		return -1;
	}
	return (long long)st.st_size;
}
