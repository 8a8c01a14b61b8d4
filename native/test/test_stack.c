/* Recursion depth ladder in both tiers (hostile.wasm `recurse N`): typical
 * depths run with the default stack in the interpreter and in AOT alike; a
 * runaway recursion traps with the same message in both; a container's own
 * stack_size moves the limit in both tiers. */
#include <stdlib.h>

#include "aotstore.h"
#include "testlib.h"

static char *recurse(ocre_tier_t tier, const char *depth, size_t stack_size, int *status, struct ocre_exit_info *info)
{
	const char *argv[] = {"recurse", depth, NULL};
	struct ocre_container_args args = {.argv = argv, .tier = tier, .stack_size = stack_size};
	return test_run_capture("hostile.wasm", NULL, &args, 0, status, info);
}

static void ladder(ocre_tier_t tier)
{
	static const char *const depths[] = {"10", "100", "1000", "3000", "6000"};
	struct ocre_exit_info info;
	char expect[64], *out;
	size_t i;
	int status = -1;

	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		out = recurse(tier, depths[i], 0, &status, NULL);
		snprintf(expect, sizeof(expect), "depth %s\n", depths[i]);
		CHECK_STR(out, expect);
		CHECK_INT(status, 0);
		free(out);
	}
	out = recurse(tier, "10000000", 0, &status, &info);
	CHECK_STR(out, "");
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	CHECK_STR(info.message, "call stack overflow");
	free(out);
}

static void interpreter_ladder(void)
{
	struct ocre_exit_info info;
	int status = -1;
	char *out;

	ladder(OCRE_TIER_INTERPRETER);
	/* 64 KiB: a thousand calls no longer fit; 8 MiB: a hundred thousand do */
	out = recurse(OCRE_TIER_INTERPRETER, "1000", 64 * 1024, &status, &info);
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	CHECK_STR(info.message, "call stack overflow");
	free(out);
	out = recurse(OCRE_TIER_INTERPRETER, "100000", 8u << 20, &status, NULL);
	CHECK_STR(out, "depth 100000\n");
	free(out);
}

/* AOT frames live on the container thread's native stack, which follows the
 * container's stack_size as the interpreter's WASM stack does: 64 KiB still
 * traps at a depth of 100,000; 8 MiB runs it (before, the thread's fixed
 * 256 KiB trapped whatever stack_size said). */
static void aot_ladder(void)
{
	struct ocre_exit_info info;
	int status = -1;
	char *out;

	ladder(OCRE_TIER_AOT);
	out = recurse(OCRE_TIER_AOT, "100000", 64 * 1024, &status, &info);
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	CHECK_STR(info.message, "call stack overflow");
	free(out);
	out = recurse(OCRE_TIER_AOT, "100000", 8u << 20, &status, NULL);
	CHECK_STR(out, "depth 100000\n");
	CHECK_INT(status, 0);
	free(out);
}

int main(void)
{
	test_setup();
	RUN(interpreter_ladder);
	if (!aot_store_setup()) {
		fprintf(stderr, "stack: AOT cases skipped: the compiler ocre-aotc was not built (LLVM 15 not found; "
		                "apt-get install llvm-15-dev)\n");
	} else if (!compile("hostile.wasm")) {
		fprintf(stderr, "FAIL could not compile hostile.wasm\n");
		test_failures++;
	} else {
		RUN(aot_ladder);
	}
	test_teardown();
	return test_finish();
}
