/* Written the way Ocre's own sample runner is: one context on a working
 * directory, one attached container from an image of its store, the exit
 * status, then everything torn down. Only Ocre's API (<ocre/ocre.h>), so it
 * must compile and run unchanged against ocre-node's headers and libocre.a.
 *
 * Usage: mini_runner WORKDIR IMAGE   (exit 0 when the image ran and exited 0) */
#include <stdio.h>
#include <stdlib.h>

#include <ocre/ocre.h>

LOG_MODULE_REGISTER(mini_runner, 3);

int main(int argc, char *argv[])
{
	struct ocre_context *context;
	struct ocre_container *container;
	int status = -1;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s WORKDIR IMAGE\n", argv[0]);
		return 2;
	}

	__ocre_log_level = 3; /* Ocre's way to pick the level */

	ret = ocre_initialize(NULL);
	if (ret) {
		LOG_ERR("ocre_initialize failed: %d", ret);
		return 1;
	}

	context = ocre_create_context(argv[1]);
	if (!context) {
		LOG_ERR("could not create a context on %s", argv[1]);
		ocre_deinitialize();
		return 1;
	}
	LOG_INF("working directory %s", ocre_context_get_working_directory(context));

	container = ocre_context_create_container(context, argv[2], "wamr/wasip1", "runner", false, NULL, -1, -1, -1);
	if (!container) {
		LOG_ERR("could not create a container from %s", argv[2]);
		ocre_destroy_context(context);
		ocre_deinitialize();
		return 1;
	}

	/* attached: returns when the container has exited */
	ret = ocre_container_start(container);
	if (ret == 0)
		ret = ocre_container_wait(container, &status);
	printf("%s exited with status %d\n", ocre_container_get_id(container), status);

	if (ocre_container_get_status(container) != OCRE_CONTAINER_STATUS_STOPPED)
		ret = 1;
	if (ocre_context_remove_container(context, container))
		ret = 1;
	if (ocre_destroy_context(context))
		ret = 1;
	ocre_deinitialize();
	return ret == 0 && status == 0 && __ocre_log_level == 3 && ocre_log_get_level() == OCRE_LOG_LEVEL_INF ? 0 : 1;
}
