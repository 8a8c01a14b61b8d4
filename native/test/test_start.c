/* Start sections and the other guest code WAMR would run while it
 * instantiates (test/fixtures/wat/): host calls from them (WASI and the Ocre
 * API), proc_exit and traps there, imports as start function or _start, and
 * a kill of a busy loop there while another container of the same image
 * starts. Every case runs in the interpreter, and in AOT when the compiler
 * was built (OCRE_AOTC). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "aotstore.h"
#include "testlib.h"

static ocre_tier_t tier = OCRE_TIER_INTERPRETER;

static char *run(const char *image, const char **capabilities, int *status, struct ocre_exit_info *info)
{
	struct ocre_container_args args = {.capabilities = capabilities, .tier = tier};
	return test_run_capture(image, NULL, &args, 8u << 20, status, info);
}

static void expect(const char *image, const char **capabilities, const char *out, int status, ocre_exit_reason_t reason,
                   const char *message)
{
	struct ocre_exit_info info;
	int got = -1;
	char *text = run(image, capabilities, &got, &info);

	CHECK_STR(text, out);
	CHECK_INT(got, status);
	CHECK_INT(info.reason, reason);
	if (message)
		CHECK_STR(info.message, message);
	free(text);
}

static void start_section_calls_wasi(void)
{
	expect("start-hostcall.wasm", NULL, "start\nmain\n", 0, OCRE_EXIT_REASON_EXIT, "");
}

static void start_section_calls_ocre_api(void)
{
	const char *granted[] = {"ocre:api", NULL};
	/* ocre_sleep needs no capability; a stateful call is -EACCES without it (SPEC §4) */
	expect("start-ocre-api.wasm", granted, "0y\n", 0, OCRE_EXIT_REASON_EXIT, "");
	expect("start-ocre-api.wasm", NULL, "0n\n", 0, OCRE_EXIT_REASON_EXIT, "");
}

static void proc_exit_in_start_section_ends_the_run(void)
{
	expect("start-exit.wasm", NULL, "", 7, OCRE_EXIT_REASON_EXIT, "");
}

static void trap_in_start_section(void)
{
	expect("start-trap.wasm", NULL, "", OCRE_EXIT_STATUS_TRAP, OCRE_EXIT_REASON_TRAP, "unreachable");
}

static void imported_entry_points(void)
{
	const char *unlinked = "failed to call unlinked import function (ocre-test, missing)";
	expect("start-import.wasm", NULL, "", OCRE_EXIT_STATUS_TRAP, OCRE_EXIT_REASON_TRAP, unlinked);
	expect("export-import-start.wasm", NULL, "", OCRE_EXIT_STATUS_TRAP, OCRE_EXIT_REASON_TRAP, unlinked);
}

/* An import of the wrong type re-exported as _start: start fails, saying why. */
static void wrong_type_start_is_refused(void)
{
	struct ocre_container_args args = {.tier = tier};
	struct ocre_container *c = ocre_context_create_container(test_context(), "export-wasi-start.wasm", NULL, NULL,
	                                                         true, &args, -1, -1, -1);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_start(c), OCRE_ERR_RUNTIME);
	CHECK(strstr(ocre_last_error_message(), "its _start function takes or returns values") != NULL);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_ERROR);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static struct ocre_container *spinner(const char *image, int *out_fd)
{
	struct ocre_container_args args = {.tier = tier};
	struct ocre_container *c;
	int out[2];

	test_pipe(out);
	c = ocre_context_create_container(test_context(), image, NULL, NULL, true, &args, -1, out[1], -1);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	*out_fd = out[0];
	return c;
}

static void end_killed(struct ocre_container *c)
{
	struct ocre_exit_info info;
	int status = -1;

	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_KILLED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

/* A busy loop in a start section is killable, and a second container of the
 * same image gets through instantiation meanwhile (reaches its own loop). */
static void busy_start_section_is_killable(void)
{
	struct ocre_container *a, *b;
	int a_out, b_out;

	a = spinner("start-spin.wasm", &a_out);
	if (!a)
		return;
	CHECK(test_read_until(a_out, "spinning", 10000));
	b = spinner("start-spin.wasm", &b_out);
	if (b) {
		CHECK(test_read_until(b_out, "spinning", 10000));
		end_killed(b);
	}
	end_killed(a);
	close(a_out);
	close(b_out);
}

/* __post_instantiate / __wasm_call_ctors loops (no host call to synchronize
 * on: the kill may land before or inside them; either way the run ends). */
static void busy_instantiation_hooks_are_killable(void)
{
	int out;
	struct ocre_container *c = spinner("post-instantiate-spin.wasm", &out);
	if (!c)
		return;
	test_sleep_ms(20); /* let it reach the loop (not a timing assertion) */
	end_killed(c);
	close(out);
}

/* Destroying the context ends a container looping in its start section. */
static void context_destroy_ends_a_busy_start_section(void)
{
	char path[1200];
	struct ocre_context *ctx2;
	struct ocre_container *c;
	struct ocre_container_args args = {.tier = tier};
	const char *dir = test_tmpdir("start-destroy");
	int out[2];

	ctx2 = ocre_create_context(dir);
	CHECK(ctx2 != NULL);
	if (!ctx2)
		return;
	snprintf(path, sizeof(path), "%s/start-spin.wasm", test_images_dir());
	{
		char to[1300];
		snprintf(to, sizeof(to), "%s/images/start-spin.wasm", dir);
		CHECK(copy_file(path, to));
	}
	test_pipe(out);
	args.tier = OCRE_TIER_INTERPRETER; /* the new workdir has no AOT store */
	c = ocre_context_create_container(ctx2, "start-spin.wasm", NULL, NULL, true, &args, -1, out[1], -1);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		close(out[1]);
		CHECK(test_read_until(out[0], "spinning", 10000));
	}
	CHECK_INT(ocre_destroy_context(ctx2), 0);
	close(out[0]);
}

static void all_cases(void)
{
	RUN(start_section_calls_wasi);
	RUN(start_section_calls_ocre_api);
	RUN(proc_exit_in_start_section_ends_the_run);
	RUN(trap_in_start_section);
	RUN(imported_entry_points);
	RUN(wrong_type_start_is_refused);
	RUN(busy_start_section_is_killable);
	RUN(busy_instantiation_hooks_are_killable);
}

static const char *const wat_fixtures[] = {
    "start-hostcall.wasm",    "start-ocre-api.wasm", "start-exit.wasm",
    "start-trap.wasm",        "start-import.wasm",   "export-import-start.wasm",
    "export-wasi-start.wasm", "start-spin.wasm",     "post-instantiate-spin.wasm",
};

int main(void)
{
	size_t i;

	test_setup();
	fprintf(stderr, "-- interpreter\n");
	all_cases();
	RUN(context_destroy_ends_a_busy_start_section);
	if (!aot_store_setup()) {
		fprintf(stderr, "start: AOT cases skipped: the compiler ocre-aotc was not built (LLVM 15 not found; "
		                "apt-get install llvm-15-dev)\n");
	} else {
		bool compiled = true;
		for (i = 0; i < sizeof(wat_fixtures) / sizeof(wat_fixtures[0]); i++)
			if (!compile(wat_fixtures[i])) {
				fprintf(stderr, "FAIL could not compile %s\n", wat_fixtures[i]);
				test_failures++;
				compiled = false;
			}
		if (compiled) {
			fprintf(stderr, "-- aot\n");
			tier = OCRE_TIER_AOT;
			all_cases();
		}
	}
	test_teardown();
	return test_finish();
}
