/* Runs: output, exit codes, argv/env, traps, restart, attached start,
 * start_async() failures, and the reuse of container threads. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"

/* Run @p image to its end with stdout captured; returns stdout, sets *status. */
static char *run_capture(const char *image, const char **argv, const char **envp, int *status,
                         struct ocre_exit_info *info)
{
	struct ocre_container_args args = {.argv = argv, .envp = envp};
	return test_run_capture(image, NULL, &args, 0, status, info);
}

static void hello_prints_and_exits_zero(void)
{
	struct ocre_exit_info info;
	int status = -1;
	char *out = run_capture("hello.wasm", NULL, NULL, &status, &info);
	CHECK_STR(out, "Hello from WebAssembly!\n");
	CHECK_INT(status, 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_EXIT);
	CHECK_STR(info.message, "");
	free(out);
}

static void exit_codes_from_main_and_proc_exit(void)
{
	static const int codes[] = {0, 1, 3, 42, 125, 255};
	size_t i;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char num[16];
		const char *argv_ret[] = {num, NULL};
		const char *argv_exit[] = {num, "proc", NULL};
		int status = -1;
		snprintf(num, sizeof(num), "%d", codes[i]);
		free(run_capture("exit-code.wasm", argv_ret, NULL, &status, NULL));
		CHECK_INT(status, codes[i]);
		status = -1;
		free(run_capture("exit-code.wasm", argv_exit, NULL, &status, NULL));
		CHECK_INT(status, codes[i]);
	}
}

static void args_and_env_reach_the_guest(void)
{
	const char *argv[] = {"--port", "80", "with space", NULL};
	const char *envp[] = {"A=1", "EMPTY=", "K=v=w", NULL};
	int status = -1;
	char *out = run_capture("args-env.wasm", argv, envp, &status, NULL);
	CHECK_STR(out, "argc=4\nargv[0]=args-env.wasm\nargv[1]=--port\nargv[2]=80\nargv[3]=with space\n"
	               "env:A=1\nenv:EMPTY=\nenv:K=v=w\n");
	CHECK_INT(status, 0);
	free(out);
}

static void traps_end_with_trap_status_and_message(void)
{
	static const struct {
		const char *mode;
		const char *message;
	} traps[] = {
	    {"unreachable", "unreachable"},
	    {"oob", "out of bounds memory access"},
	    {"divzero", "integer divide by zero"},
	    {"stack", "stack overflow"},
	    {"indirect", "indirect call type mismatch"},
	};
	size_t i;
	for (i = 0; i < sizeof(traps) / sizeof(traps[0]); i++) {
		const char *argv[] = {traps[i].mode, NULL};
		struct ocre_exit_info info;
		int status = -1;
		char *out = run_capture("trap.wasm", argv, NULL, &status, &info);
		char expected[64];
		snprintf(expected, sizeof(expected), "trap: %s\n", traps[i].mode);
		CHECK_STR(out, expected);
		CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
		CHECK_INT(info.reason, OCRE_EXIT_REASON_TRAP);
		if (!strstr(info.message, traps[i].message))
			test_fail(__FILE__, __LINE__, "trap %s: message \"%s\" lacks \"%s\"", traps[i].mode,
			          info.message, traps[i].message);
		free(out);
	}
}

/* Run trap.wasm MODE with a memory limit (0: the default); returns stdout. */
static char *run_limited(const char *mode, size_t limit, int *status)
{
	const char *argv[] = {mode, NULL};
	struct ocre_container_args args = {.argv = argv};
	return test_run_capture("trap.wasm", NULL, &args, limit, status, NULL);
}

static void memory_limit_stops_growth(void)
{
	int status = -1;
	char *out;

	/* 16 MiB = 256 pages; the module starts with 2 */
	out = run_limited("grow", 16u << 20, &status);
	CHECK_STR(out, "trap: grow\ngrew 254 pages\n");
	CHECK_INT(status, 0);
	free(out);
	out = run_limited("malloc", 16u << 20, &status);
	CHECK(strncmp(out, "trap: malloc\nallocated ", 23) == 0);
	CHECK(atoi(out + 23) >= 8 && atoi(out + 23) < 16);
	CHECK_INT(status, 0);
	free(out);
	/* the default limit applies without a call (256 MiB: 4094 pages more);
	 * skipped in sanitizer builds, whose realloc copies every growth */
	if (!getenv("OCRE_TEST_SLOW")) {
		struct ocre_container *c = test_create("trap.wasm", NULL, true, NULL, -1, -1, -1);
		CHECK_INT(ocre_container_get_memory_limit(c), 256u << 20);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
		out = run_limited("grow", 0, &status);
		CHECK_STR(out, "trap: grow\ngrew 4094 pages\n");
		free(out);
	}
}

static void restart_runs_again_and_keeps_exit_info(void)
{
	const char *argv[] = {"7", NULL};
	struct ocre_container *c = test_create("exit-code.wasm", "restart", true, argv, -1, -1, -1);
	struct ocre_exit_info info;
	int status = -1, i;

	CHECK(c != NULL);
	for (i = 1; i <= 3; i++) {
		CHECK_INT(ocre_container_start(c), 0);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, 7);
		CHECK_INT(ocre_container_get_exit(c, &info), 0);
		CHECK_INT(info.runs, i);
		/* wait on a stopped container returns the last status at once */
		status = -1;
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, 7);
	}
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void attached_start_returns_after_exit(void)
{
	const char *argv[] = {"0.2", NULL};
	struct ocre_container *c = test_create("sleeper.wasm", "attached", false, argv, -1, -1, -1);
	uint64_t t0 = test_now_us();
	CHECK(c != NULL);
	CHECK(!ocre_container_is_detached(c));
	CHECK_INT(ocre_container_start(c), 0);
	CHECK(test_now_us() - t0 >= 150000); /* it slept 0.2 s before start returned */
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void exited_is_observed_once_into_stopped(void)
{
	struct ocre_container *c = test_create("trivial.wasm", "observe", true, NULL, -1, -1, -1);
	struct ocre_exit_info info = {0};
	uint64_t deadline;
	CHECK(c != NULL);
	CHECK_INT(ocre_container_start(c), 0);
	/* the run ends by itself; the first status query moves EXITED to STOPPED */
	deadline = test_now_us() + 5000000;
	while (test_now_us() < deadline) {
		ocre_container_get_exit(c, &info);
		if (info.reason != OCRE_EXIT_REASON_NONE)
			break;
		test_sleep_ms(1);
	}
	CHECK_INT(info.reason, OCRE_EXIT_REASON_EXIT);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void uname_needs_no_capability(void)
{
	const char *uname_argv[] = {"uname", NULL};
	const char *caps[] = {"ocre:api", NULL};
	struct ocre_container_args args = {.argv = uname_argv, .capabilities = caps};
	int status = -1;
	char *text;

	/* granted or not, uname answers (SPEC §4: it needs no capability) */
	text = test_run_capture("ocre-api.wasm", NULL, &args, 0, &status, NULL);
	CHECK(strncmp(text, "ocre-node (Linux) ", 18) == 0);
	CHECK_INT(status, 0);
	free(text);

	text = run_capture("ocre-api.wasm", uname_argv, NULL, &status, NULL);
	CHECK(strncmp(text, "ocre-node (Linux) ", 18) == 0);
	CHECK_INT(status, 0);
	free(text);
}

static void ocre_sleep_is_killable(void)
{
	const char *argv[] = {"sleep", "60000", NULL};
	const char *caps[] = {"ocre:api", NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = caps};
	struct ocre_container *c;
	int out[2], status = -1;
	uint64_t t0;

	test_pipe(out);
	c = ocre_context_create_container(test_context(), "ocre-api.wasm", NULL, NULL, true, &args, -1, out[1], -1);
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	CHECK(test_read_until(out[0], "sleeping", 5000));
	t0 = test_now_us();
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK(test_now_us() - t0 < 1000000);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	close(out[0]);
}

static void containers_of_one_image_keep_their_own_args(void)
{
	const char *a_argv[] = {"first", NULL}, *b_argv[] = {"second", NULL};
	const char *a_env[] = {"WHO=a", NULL}, *b_env[] = {"WHO=b", NULL};
	int status;
	char *a = run_capture("args-env.wasm", a_argv, a_env, &status, NULL);
	char *b = run_capture("args-env.wasm", b_argv, b_env, &status, NULL);
	CHECK_STR(a, "argc=2\nargv[0]=args-env.wasm\nargv[1]=first\nenv:WHO=a\n");
	CHECK_STR(b, "argc=2\nargv[0]=args-env.wasm\nargv[1]=second\nenv:WHO=b\n");
	free(a);
	free(b);
}

static void a_replaced_image_file_is_loaded_again(void)
{
	const char *wd = ocre_context_get_working_directory(test_context());
	char swap[1024], cmd[4400];
	struct ocre_container *first, *second;
	int status = -1;

	snprintf(swap, sizeof(swap), "%s/images/swap.wasm", wd);
	snprintf(cmd, sizeof(cmd), "cp %s/images/hello.wasm %s", wd, swap);
	CHECK_INT(system(cmd), 0);
	first = test_create("swap.wasm", "swap-1", true, NULL, -1, -1, -1);
	/* replace the file (a new inode, as an image store's rename does) */
	snprintf(cmd, sizeof(cmd), "cp %s/images/exit-code.wasm %s.tmp && mv %s.tmp %s", wd, swap, swap, swap);
	CHECK_INT(system(cmd), 0);
	{
		const char *argv[] = {"9", NULL};
		second = test_create("swap.wasm", "swap-2", true, argv, -1, -1, -1);
	}
	CHECK(first && second);
	CHECK_INT(ocre_container_start(second), 0);
	CHECK_INT(ocre_container_wait(second, &status), 0);
	CHECK_INT(status, 9); /* exit-code.wasm ran, not the old hello */
	CHECK_INT(ocre_context_remove_container(test_context(), first), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), second), 0);
	unlink(swap);
}

/* Threads of this process (/proc/self/status). */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* Runs one after another share a parked thread: each gets its own stdio,
 * args, env, memory limit and exit information, and no thread is added. */
static void reused_threads_give_each_run_fresh_state(void)
{
	const char *argv[] = {"x", NULL};
	const char *envp[] = {"RUN=second", NULL};
	int before, i, status;
	char *out;

	free(run_capture("hello.wasm", NULL, NULL, &status, NULL)); /* a thread is parked now */
	before = thread_count();
	for (i = 0; i < 10; i++) {
		struct ocre_exit_info info;
		out = run_capture("hello.wasm", NULL, NULL, &status, &info);
		CHECK_STR(out, "Hello from WebAssembly!\n");
		CHECK_INT(status, 0);
		CHECK_INT(info.runs, 1);
		free(out);
		out = run_capture("args-env.wasm", argv, envp, &status, NULL);
		CHECK_STR(out, "argc=2\nargv[0]=args-env.wasm\nargv[1]=x\nenv:RUN=second\n");
		free(out);
		out = run_limited("grow", 1u << 20, &status); /* 16 pages: 14 more than the initial 2 */
		CHECK_STR(out, "trap: grow\ngrew 14 pages\n");
		free(out);
		out = run_limited("grow", 4u << 20, &status); /* the previous run's limit is gone */
		CHECK_STR(out, "trap: grow\ngrew 62 pages\n");
		free(out);
		out = run_capture("exit-code.wasm", (const char *[]){"3", NULL}, NULL, &status, NULL);
		CHECK_INT(status, 3);
		free(out);
	}
	CHECK(thread_count() <= before);
}

/* With start_async() the engine begins the run after the call returned: a
 * run it cannot begin (here: the initial memory is over the limit) ends
 * like a trap, with status 134, reason TRAP and the engine's message, and
 * the container can be restarted. The waiting start reports it instead. */
static void start_async_failure_ends_the_run(void)
{
	const char *argv[] = {"grow", NULL};
	struct ocre_container *c;
	struct ocre_exit_info info;
	struct pollfd pfd;
	int status = -1, out[2];

	test_pipe(out);
	c = test_create("trap.wasm", "fails-late", true, argv, -1, out[1], -1);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_set_memory_limit(c, 65536), 0); /* it needs 2 pages */
	CHECK_INT(ocre_container_start_async(c), 0);
	close(out[1]);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	/* no copy of the stdout pipe is left open by the run that never began */
	pfd.fd = out[0];
	pfd.events = POLLIN;
	CHECK_INT(poll(&pfd, 1, 5000), 1);
	CHECK(pfd.revents & POLLHUP);
	close(out[0]);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_TRAP);
	CHECK_INT(info.runs, 1);
	CHECK(info.message[0] != '\0');
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	/* the waiting start reports the same failure as its error: state ERROR */
	CHECK_INT(ocre_container_set_stdio(c, -1, -1, -1), 0);
	CHECK_INT(ocre_container_start(c), OCRE_ERR_RUNTIME);
	CHECK(strstr(ocre_last_error_message(), "failed to start") != NULL);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_ERROR);
	CHECK_INT(ocre_container_wait(c, &status), OCRE_ERR_STATE);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	/* a container that failed late runs normally once the limit allows it */
	c = test_create("trap.wasm", "fails-late", true, argv, -1, -1, -1);
	CHECK_INT(ocre_container_set_memory_limit(c, 65536), 0);
	CHECK_INT(ocre_container_start_async(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	CHECK_INT(ocre_container_set_memory_limit(c, 1u << 20), 0);
	CHECK_INT(ocre_container_start_async(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.runs, 2);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

/* A sleep of CONFIG_OCRE_IDLE_TRIM_MS (1 s) or more hands the all-zero pages
 * of the linear memory and the operand stack back to the OS: the guest
 * finds every byte as it left it, and zero pages still zero and writable. */
static void memory_is_unchanged_across_a_long_sleep(void)
{
	const char *argv[] = {"1.1", NULL};
	int status = -1;
	char *out = run_capture("memkeep.wasm", argv, NULL, &status, NULL);
	CHECK_STR(out, "kept\n");
	CHECK_INT(status, 0);
	free(out);
}

/* Parked threads belong to their context: at most
 * CONFIG_OCRE_THREAD_POOL_IDLE (64) stay parked, and destroying the context
 * ends and joins every one of them. */
static void destroying_a_context_joins_its_parked_threads(void)
{
	const char *wd = test_tmpdir("pool");
	const char *argv[] = {"60", NULL};
	struct ocre_container *cs[80];
	struct ocre_context *ctx2;
	char cmd[2400];
	int before, i, status, devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/images && cp %s/images/sleeper.wasm %s/images/", wd,
	         ocre_context_get_working_directory(test_context()), wd);
	CHECK_INT(system(cmd), 0);
	before = thread_count();
	ctx2 = ocre_create_context(wd);
	CHECK(ctx2 != NULL);
	if (!ctx2)
		return;
	for (i = 0; i < 80; i++) {
		struct ocre_container_args args = {.argv = argv};
		cs[i] = ocre_context_create_container(ctx2, "sleeper.wasm", NULL, NULL, true, &args, -1, devnull, -1);
		CHECK(cs[i] != NULL);
		CHECK_INT(ocre_container_start_async(cs[i]), 0);
	}
	CHECK(thread_count() >= before + 80); /* all asleep at once: a thread each */
	for (i = 0; i < 80; i++) {
		CHECK_INT(ocre_container_kill(cs[i]), 0);
		CHECK_INT(ocre_container_wait(cs[i], &status), 0);
		CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
		CHECK_INT(ocre_context_remove_container(ctx2, cs[i]), 0);
	}
	/* every run has ended: at most 64 threads stay parked */
	for (i = 0; i < 100 && thread_count() > before + 64; i++)
		test_sleep_ms(10);
	CHECK(thread_count() <= before + 64);
	CHECK(thread_count() > before); /* parked, not ended */
	CHECK_INT(ocre_destroy_context(ctx2), 0);
	CHECK_INT(thread_count(), before);
	close(devnull);
}

int main(void)
{
	test_setup();
	RUN(hello_prints_and_exits_zero);
	RUN(exit_codes_from_main_and_proc_exit);
	RUN(args_and_env_reach_the_guest);
	RUN(traps_end_with_trap_status_and_message);
	RUN(memory_limit_stops_growth);
	RUN(restart_runs_again_and_keeps_exit_info);
	RUN(attached_start_returns_after_exit);
	RUN(exited_is_observed_once_into_stopped);
	RUN(containers_of_one_image_keep_their_own_args);
	RUN(a_replaced_image_file_is_loaded_again);
	RUN(uname_needs_no_capability);
	RUN(ocre_sleep_is_killable);
	RUN(reused_threads_give_each_run_fresh_state);
	RUN(start_async_failure_ends_the_run);
	RUN(destroying_a_context_joins_its_parked_threads);
	RUN(memory_is_unchanged_across_a_long_sleep);
	test_teardown();
	return test_finish();
}
