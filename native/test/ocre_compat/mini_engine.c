/* A minimal runtime engine written the way Ocre's engines are: a const
 * vtable whose create() has Ocre's parameters exactly, registered with
 * ocre_initialize(). Its "run" posts the semaphore and returns 7 (or waits
 * for kill). The program defines __ocre_log_level itself, as some Ocre
 * programs do, to check that it links.
 *
 * Usage: mini_engine WORKDIR   (the store must hold hello.wasm) */
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocre/ocre.h>

LOG_MODULE_REGISTER(mini_engine, 4);

int __ocre_log_level = 4;

struct mini {
	char id[64];
	bool killed;
	int runs;
};

static int mini_init(void)
{
	LOG_DBG("init");
	return 0;
}

static int mini_deinit(void)
{
	return 0;
}

static void *mini_create(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                         const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                         int stderr_fd)
{
	struct mini *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	snprintf(m->id, sizeof(m->id), "%s", id);
	LOG_INF("create %s from %s", id, img_path);
	return m;
}

static int mini_destroy(void *ctx)
{
	free(ctx);
	return 0;
}

static int mini_thread_execute(void *ctx, sem_t *sem)
{
	struct mini *m = ctx;
	m->runs++;
	sem_post(sem);
	return 7;
}

static int mini_kill(void *ctx)
{
	((struct mini *)ctx)->killed = true;
	return 0;
}

static const struct ocre_runtime_vtable mini_vtable = {
    .runtime_name = "mini/engine",
    .init = mini_init,
    .deinit = mini_deinit,
    .create = mini_create,
    .destroy = mini_destroy,
    .thread_execute = mini_thread_execute,
    .stop = NULL,
    .kill = mini_kill,
    .pause = NULL,
    .unpause = NULL,
};

int main(int argc, char *argv[])
{
	const struct ocre_runtime_vtable *const vtables[] = {&mini_vtable, NULL};
	struct ocre_context *context;
	struct ocre_container *c;
	int status = -1, ok;

	if (argc != 2)
		return 2;
	if (ocre_initialize(vtables) != 0)
		return 1;
	context = ocre_create_context(argv[1]);
	c = context
	        ? ocre_context_create_container(context, "hello.wasm", "mini/engine", "mini", false, NULL, -1, -1, -1)
	        : NULL;
	ok = c && ocre_container_start(c) == 0 && ocre_container_wait(c, &status) == 0 && status == 7;
	ok = ok && ocre_container_pause(c) != 0; /* no pause member: a failure, not a crash */
	ok = ok && ocre_log_get_level() == OCRE_LOG_LEVEL_DBG;
	if (c)
		ocre_context_remove_container(context, c);
	if (context)
		ocre_destroy_context(context);
	ocre_deinitialize();
	printf("mini engine: %s (status %d)\n", ok ? "ok" : "FAILED", status);
	return ok ? 0 : 1;
}
