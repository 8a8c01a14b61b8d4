/* libFuzzer harness for the image load path: the bytes of a candidate image
 * go through the engine's loader exactly as ocre_context_create_container
 * would (file on disk -> mmap -> WAMR load). Built on demand by
 * scripts/fuzz-c.sh (clang, -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocre/ocre.h>

static struct ocre_context *ctx;
static char image_path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/ocre-fuzz-XXXXXX";
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir) || ocre_initialize(NULL) != 0)
		abort();
	ocre_log_set_level(OCRE_LOG_LEVEL_NONE);
	ctx = ocre_create_context(dir);
	if (!ctx)
		abort();
	snprintf(image_path, sizeof(image_path), "%s/images/fuzz.wasm", dir);
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
	c = ocre_context_create_container(ctx, "fuzz.wasm", NULL, "fuzz", true, NULL, -1, -1, -1);
	if (c)
		ocre_context_remove_container(ctx, c);
	return 0;
}
