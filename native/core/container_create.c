/* Containers: creation (arguments, the private directory, the engine's
 * create) and removal. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "container.h"

LOG_MODULE_DECLARE(container);

/* The arguments of the engine create() in progress on this thread. */
static __thread const struct ocre_container_args *create_arguments;

const struct ocre_container_args *ocre_create_arguments(void)
{
	return create_arguments;
}

/* What the engine copies of argv (argv[0] = @p image) and envp: strings with
 * their terminators, and a pointer per entry plus one. */
static size_t args_size(const char *image, const struct ocre_container_args *args)
{
	size_t n = strlen(image) + 1 + 2 * sizeof(char *), i;

	for (i = 0; args && args->argv && args->argv[i]; i++)
		n += strlen(args->argv[i]) + 1 + sizeof(char *);
	n += sizeof(char *);
	for (i = 0; args && args->envp && args->envp[i]; i++)
		n += strlen(args->envp[i]) + 1 + sizeof(char *);
	return n;
}

/* OCRE_OK if argv and envp fit in @p limit bytes of container memory. */
int ocre_container_check_args_fit(const struct ocre_container *c, size_t limit)
{
	if (c->args_size <= limit)
		return OCRE_OK;
	return ocre_fail(
	    OCRE_ERR_INVALID_ARGUMENT,
	    "container %s: its arguments and environment take %zu bytes, more than its memory limit of %zu "
	    "bytes",
	    c->id, c->args_size, limit);
}

static bool has_capability(const struct ocre_container_args *args, const char *cap)
{
	size_t i;
	for (i = 0; args && args->capabilities && args->capabilities[i]; i++)
		if (strcmp(args->capabilities[i], cap) == 0)
			return true;
	return false;
}

struct ocre_container *ocre_container_new(struct ocre_context *ctx, const char *id, const char *image,
                                          const char *image_path, const struct ocre_runtime_vtable *engine,
                                          bool detached, const struct ocre_container_args *args, int stdin_fd,
                                          int stdout_fd, int stderr_fd)
{
	struct ocre_container *c = calloc(1, sizeof(*c));
	struct ocre_engine_options options;
	bool made_dir = false;
	pthread_condattr_t cattr;

	if (!c) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	c->fds[0] = c->fds[1] = c->fds[2] = -1;
	c->run_fds[0] = c->run_fds[1] = c->run_fds[2] = -1;
	c->refs = 1; /* the context's */
	c->pool = ocre_context_pool(ctx);
	c->engine = engine;
	c->detached = detached;
	c->status = OCRE_CONTAINER_STATUS_CREATED;
	c->memory_limit = CONFIG_OCRE_DEFAULT_MEMORY_LIMIT;
	c->nice = ocre_context_container_nice(ctx);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	sem_init(&c->ready, 0, 0);

	c->id = strdup(id);
	c->image = strdup(image);
	if (!c->id || !c->image) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		goto err_free;
	}
	if (ocre_container_check_fds(c->engine, c->fds, stdin_fd, stdout_fd, stderr_fd) != OCRE_OK)
		goto err_free;
	c->args_size = args_size(image, args);
	if (ocre_container_check_args_fit(c, c->memory_limit) != OCRE_OK)
		goto err_free;

	if (has_capability(args, "filesystem")) {
		c->private_dir = ocre_path_join(ocre_context_containers_dir(ctx), id);
		if (!c->private_dir) {
			ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
			goto err_free;
		}
		if (mkdir(c->private_dir, 0700) == 0) {
			made_dir = true;
		} else if (errno != EEXIST) {
			ocre_fail(OCRE_ERR_IO, "cannot create %s: %s", c->private_dir, strerror(errno));
			goto err_free;
		} else if (!args->restore_directory) {
			ocre_fail(
			    OCRE_ERR_EXISTS,
			    "container %s: its private directory %s already exists (left by an earlier process?); "
			    "delete it, or restore it explicitly",
			    id, c->private_dir);
			goto err_free;
		} else {
			struct stat st;
			if (lstat(c->private_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
				ocre_fail(OCRE_ERR_IO, "container %s: cannot restore %s: not a directory", id,
				          c->private_dir);
				goto err_free;
			}
			LOG_INF("container %s: restoring %s", id, c->private_dir);
		}
	}

	ocre_clear_error();
	create_arguments = args;
	options.tier = args ? args->tier : OCRE_TIER_AUTO;
	options.context = ctx;
	if (engine->create_with)
		c->engine_ctx = engine->create_with(
		    id, image_path, c->private_dir, args ? args->capabilities : NULL, args ? args->argv : NULL,
		    args ? args->envp : NULL, args ? args->mounts : NULL, c->fds[0], c->fds[1], c->fds[2], &options);
	else if (options.tier == OCRE_TIER_AOT)
		ocre_fail(OCRE_ERR_NO_AOT, "engine '%s' has no AOT tier", engine->runtime_name);
	else
		c->engine_ctx = engine->create(id, image_path, c->private_dir, args ? args->capabilities : NULL,
		                               args ? args->argv : NULL, args ? args->envp : NULL,
		                               args ? args->mounts : NULL, c->fds[0], c->fds[1], c->fds[2]);
	create_arguments = NULL;
	if (!c->engine_ctx) {
		if (ocre_last_error() == OCRE_OK)
			ocre_fail(OCRE_ERR_RUNTIME, "engine '%s' could not create container %s", engine->runtime_name,
			          id);
		goto err_dir;
	}
	if (engine->configure && engine->configure(c->engine_ctx, args) != 0) {
		if (ocre_last_error() == OCRE_OK)
			ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "engine '%s' refused the arguments of container %s",
			          engine->runtime_name, id);
		engine->destroy(c->engine_ctx);
		c->engine_ctx = NULL;
		goto err_dir;
	}
	c->tier = engine->tier ? engine->tier(c->engine_ctx) : "interpreter";
	c->thread_stack = engine->thread_stack_size ? engine->thread_stack_size(c->engine_ctx) : 0;
	LOG_INF("container %s created from %s (%s)", id, image, engine->runtime_name);
	return c;

err_dir:
	if (made_dir)
		ocre_rm_rf(c->private_dir);
err_free:
	ocre_container_release(c);
	return NULL;
}

/* Called with the context lock held. */
int ocre_container_remove_from_context_locked(struct ocre_container *c)
{
	bool observed = false;
	void *engine_ctx;
	int ret;

	if ((ret = ocre_container_lock_live(c, &observed)) != OCRE_OK)
		return ret;
	if (c->status != OCRE_CONTAINER_STATUS_CREATED && c->status != OCRE_CONTAINER_STATUS_STOPPED &&
	    c->status != OCRE_CONTAINER_STATUS_ERROR)
		return ocre_container_unlock_and_fail_state(c, observed, "remove");
	c->removed = true;
	engine_ctx = c->engine_ctx;
	c->engine_ctx = NULL;
	pthread_mutex_unlock(&c->lock);
	if (observed)
		ocre_container_fire_event(c, OCRE_CONTAINER_STATUS_STOPPED);

	ocre_timer_cancel(c);
	c->engine->destroy(engine_ctx);
	if (c->private_dir && ocre_rm_rf(c->private_dir) != 0)
		LOG_WRN("container %s: could not delete %s: %s", c->id, c->private_dir, strerror(errno));
	LOG_INF("container %s removed", c->id);
	return OCRE_OK;
}
