/* Written the way Ocre's multi-container demo is: several detached
 * containers with arguments and environment, listed, looked up by id,
 * paused, resumed, killed and waited for; the name rule and the build
 * configuration from <ocre/common.h>. Only Ocre's API.
 *
 * Usage: multi_container WORKDIR   (the store must hold hello.wasm and sleeper.wasm) */
#include <stdio.h>
#include <string.h>

#include <ocre/common.h>
#include <ocre/ocre.h>
#include <ocre/platform/config.h>

LOG_MODULE_DECLARE(multi_container, CONFIG_OCRE_LOG_LEVEL);

#define N_SLEEPERS 3

static int failures;

static void expect(int ok, const char *what)
{
	if (!ok) {
		LOG_ERR("failed: %s", what);
		fprintf(stderr, "failed: %s\n", what);
		failures++;
	}
}

int main(int argc, char *argv[])
{
	const char *sleeper_argv[] = {"60", NULL};
	const char *envp[] = {"DEMO=1", NULL};
	struct ocre_container_args args = {.argv = sleeper_argv, .envp = envp, .capabilities = NULL, .mounts = NULL};
	struct ocre_container *containers[N_SLEEPERS + 1];
	struct ocre_container *listed[8];
	struct ocre_context *context;
	char id[16];
	int i, n, status;

	if (argc != 2)
		return 2;
	printf("ocre %s (%s), built %s\n", ocre_build_configuration.version, ocre_build_configuration.build_info,
	       ocre_build_configuration.build_date);
	expect(ocre_is_valid_name("sleeper.wasm") == 1, "a valid name");
	expect(ocre_is_valid_name(".hidden") == 0 && ocre_is_valid_name("a/b") == 0 && ocre_is_valid_name("") == 0 &&
	           ocre_is_valid_name(NULL) == 0,
	       "invalid names");

	if (ocre_initialize(NULL) != 0)
		return 1;
	context = ocre_create_context(argv[1]);
	if (!context)
		return 1;

	for (i = 0; i < N_SLEEPERS; i++) {
		snprintf(id, sizeof(id), "sleeper-%d", i);
		containers[i] =
		    ocre_context_create_container(context, "sleeper.wasm", NULL, id, true, &args, -1, -1, -1);
		expect(containers[i] != NULL, "create a sleeper");
		expect(containers[i] && ocre_container_start(containers[i]) == 0, "start a sleeper");
		expect(ocre_container_is_detached(containers[i]), "detached");
	}
	containers[N_SLEEPERS] =
	    ocre_context_create_container(context, "hello.wasm", NULL, NULL, false, NULL, -1, -1, -1);
	expect(containers[N_SLEEPERS] != NULL, "create hello");

	expect(ocre_context_get_container_count(context) == N_SLEEPERS + 1, "count");
	n = ocre_context_get_containers(context, listed, 8);
	expect(n == N_SLEEPERS + 1, "list");
	expect(ocre_context_get_container_by_id(context, "sleeper-1") == containers[1], "by id");
	expect(strcmp(ocre_container_get_image(containers[0]), "sleeper.wasm") == 0, "image");

	expect(ocre_container_pause(containers[0]) == 0, "pause");
	expect(ocre_container_get_status(containers[0]) == OCRE_CONTAINER_STATUS_PAUSED, "paused");
	expect(ocre_container_unpause(containers[0]) == 0, "unpause");
	expect(ocre_container_get_status(containers[0]) == OCRE_CONTAINER_STATUS_RUNNING, "running");

	status = -1;
	expect(ocre_container_start(containers[N_SLEEPERS]) == 0, "run hello");
	expect(ocre_container_wait(containers[N_SLEEPERS], &status) == 0 && status == 0, "hello exits 0");

	for (i = 0; i < N_SLEEPERS; i++) {
		status = -1;
		expect(ocre_container_kill(containers[i]) == 0, "kill");
		expect(ocre_container_wait(containers[i], &status) == 0 && status == 137, "killed: 137");
		expect(ocre_context_remove_container(context, containers[i]) == 0, "remove");
	}
	/* NULL arguments are failures, never crashes */
	expect(ocre_container_start(NULL) != 0 && ocre_container_get_id(NULL) == NULL, "NULL container");
	expect(ocre_context_get_container_count(NULL) == -1, "NULL context");

	expect(ocre_destroy_context(context) == 0, "destroy (removes hello)");
	ocre_deinitialize();
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
