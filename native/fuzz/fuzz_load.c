/* libFuzzer harness for the C API on untrusted modules, no V8 in front: the
 * bytes of a candidate image go through ocre_context_create_container (file
 * on disk -> read -> WAMR load) and, when it loads, a run: start (WAMR
 * instantiates: imports resolved, memories, tables, data and element
 * segments, the start function), a few milliseconds of guest code, a kill,
 * wait and remove. Built on demand by scripts/fuzz-c.sh (clang,
 * -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocre/ocre.h>

/* how long a loaded module runs before it is killed */
#define RUN_MS 10

static struct ocre_context *ctx;
static char workdir[64];
static char image_path[512];

/* each fuzzing process (one per -fork job) removes its own workdir */
static void cleanup(void)
{
	char cmd[128];

	if (ctx)
		ocre_destroy_context(ctx);
	ctx = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_load: could not remove %s\n", workdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(workdir, sizeof(workdir), "/tmp/ocre-libfuzz-XXXXXX");
	if (!mkdtemp(workdir) || ocre_initialize(NULL) != 0)
		abort();
	ocre_log_set_level(OCRE_LOG_LEVEL_NONE);
	ctx = ocre_create_context(workdir);
	if (!ctx)
		abort();
	atexit(cleanup);
	snprintf(image_path, sizeof(image_path), "%s/images/fuzz.wasm", workdir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(image_path, "wb");
	struct ocre_container *c;

	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	c = ocre_context_create_container(ctx, "fuzz.wasm", NULL, "fuzz", true, NULL, OCRE_STDIO_IGNORE,
	                                  OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE);
	if (!c)
		return 0;
	/* a small memory limit: a module asking for more fails to instantiate */
	ocre_container_set_memory_limit(c, 16u << 20);
	if (ocre_container_start_async(c) == 0) {
		if (ocre_container_wait_timeout(c, NULL, RUN_MS) == OCRE_ERR_TIMEOUT) {
			ocre_container_kill(c);
			ocre_container_wait(c, NULL);
		}
	}
	if (ocre_context_remove_container(ctx, c) != 0)
		abort(); /* a stopped container must always be removable */
	return 0;
}
