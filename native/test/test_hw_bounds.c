/* Bounds checks of wasm memory accesses and the SIGSEGV handler behind them
 * (WAMR built with guard regions on 64-bit targets, patch 0007; software
 * checks elsewhere: then the same cases must give the same results).
 *
 *   - every kind of out-of-bounds access traps with "out of bounds memory
 *     access" (the bounds.wasm and bounds-empty.wasm fixtures), and a host
 *     call given a buffer past the end traps too, as with software checks;
 *   - a fault that is not a container's (here: on a thread that ran wasm and
 *     on one that never did) reaches the SIGSEGV handler installed before
 *     the runtime, with the original fault address;
 *   - a genuine null-pointer dereference in host code still kills the
 *     process with SIGSEGV (a child process; the runtime's handler then
 *     chains to the default action). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aotstore.h"
#include "testlib.h"

/* WAMR's (libocre.a holds it): what every container thread does first. */
bool wasm_runtime_init_thread_env(void);
void wasm_runtime_destroy_thread_env(void);

static ocre_tier_t tier = OCRE_TIER_INTERPRETER;

static void run_bounds(const char *image, const char *mode, int expect_status, const char *expect_message,
                       const char *expect_stdout)
{
	const char *argv[] = {mode, NULL};
	struct ocre_container_args args = {.argv = mode ? argv : NULL, .tier = tier};
	struct ocre_exit_info info;
	int status = -1;
	char *out = test_run_capture(image, NULL, &args, 0, &status, &info);

	if (status != expect_status || strcmp(info.message, expect_message) != 0 || !out ||
	    strcmp(out, expect_stdout) != 0)
		test_fail(__FILE__, __LINE__, "%s %s (%s): status %d, message \"%s\", stdout \"%s\"", image,
		          mode ? mode : "", tier == OCRE_TIER_AOT ? "aot" : "interpreter", status, info.message,
		          out ? out : "(null)");
	free(out);
}

static void out_of_bounds_accesses_trap(void)
{
	static const char *const modes[] = {"load-end", "store-end", "far", "offset", "host"};
	char expect[64];
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(expect, sizeof(expect), "bounds: %s\n", modes[i]);
		run_bounds("bounds.wasm", modes[i], 134, "out of bounds memory access", expect);
	}
	run_bounds("bounds.wasm", "grow", 134, "out of bounds memory access", "bounds: grow\ngrew to 3 pages\n");
	run_bounds("bounds.wasm", "ok", 0, "", "bounds: ok\n");
	run_bounds("bounds-empty.wasm", NULL, 134, "out of bounds memory access", "");
}

/* ---- reservations reused across runs (patch 0011, reservations.c) ---- */

/* The engine's (libocre.a holds it). */
void ocre_wamr_reservations_stats(unsigned long *taken, unsigned long *reused, int *kept);

/* Runs one after another on the same context, so that each takes the
 * reservation the one before gave back: one that filled and grew its memory
 * to 1 MiB, then one whose memory is smaller (what lies past its end must
 * trap again), then one that checks every byte of its memory and of what it
 * grows to is zero. With software checks (no reservations) the same runs
 * give the same results. */
static void reservations_are_reused_and_never_show_old_data(void)
{
	unsigned long taken0, reused0, taken1, reused1;
	int kept, i;

	ocre_wamr_reservations_stats(&taken0, &reused0, &kept);
	for (i = 0; i < 3; i++) {
		run_bounds("memory-dirty.wasm", NULL, 0, "", "");
		run_bounds("bounds.wasm", "load-end", 134, "out of bounds memory access", "bounds: load-end\n");
		run_bounds("memory-dirty.wasm", NULL, 0, "", "");
		run_bounds("memory-clean.wasm", NULL, 0, "", "");
	}
	ocre_wamr_reservations_stats(&taken1, &reused1, &kept);
	if (strcmp(ocre_aot_bounds(), "guard") == 0) {
		/* every run but the first took a kept one */
		if (taken1 - taken0 != 12 || reused1 - reused0 < 11)
			test_fail(__FILE__, __LINE__,
			          "%lu reservations taken, %lu of them kept ones (expected 12, >= 11)", taken1 - taken0,
			          reused1 - reused0);
	} else {
		CHECK(taken1 == 0 && reused1 == 0);
	}
}

/* ---- faults that are not a container's ---- */

static sigjmp_buf probe_jmp;
static void *volatile probe_addr;
static volatile int probe_hits;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	probe_addr = si->si_addr;
	probe_hits++;
	siglongjmp(probe_jmp, 1);
}

static uint8_t *volatile guard_page;

/* Touch the PROT_NONE page: the handler installed before the runtime's must
 * see it, with its address. */
static bool fault_reaches_previous_handler(void)
{
	int before = probe_hits;

	probe_addr = NULL;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		(void)*(volatile uint8_t *)(guard_page + 8);
		return false; /* not reached: the page is inaccessible */
	}
	return probe_hits == before + 1 && probe_addr == guard_page + 8;
}

static void *thread_with_env(void *arg)
{
	bool *ok = arg;

	*ok = wasm_runtime_init_thread_env() && fault_reaches_previous_handler();
	wasm_runtime_destroy_thread_env();
	return NULL;
}

static void foreign_faults_reach_the_previous_handler(void)
{
	pthread_t t;
	bool ok = false;

	/* the main thread (never ran wasm) */
	CHECK(fault_reaches_previous_handler());
	/* a thread whose WAMR thread environment is set up, like a container's */
	CHECK(pthread_create(&t, NULL, thread_with_env, &ok) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(ok);
	/* and containers still trap afterwards */
	run_bounds("bounds.wasm", "far", 134, "out of bounds memory access", "bounds: far\n");
}

/* ---- a genuine host fault still crashes ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

struct with_field {
	char pad[16];
	int field;
};

static struct with_field *volatile no_struct;

static void host_null_dereference_kills_the_process(void)
{
	pid_t pid = fork();
	int status = 0;

	CHECK(pid >= 0);
	if (pid == 0) {
		/* a process with no handler of its own: the runtime's chains to the
		 * default action */
		test_setup();
		run_bounds("bounds.wasm", "far", 134, "out of bounds memory access", "bounds: far\n");
		/* a member of a NULL struct pointer: address 16 */
		(void)*(volatile int *)&no_struct->field;
		_exit(42); /* survived: the fault was swallowed */
	}
	CHECK(waitpid(pid, &status, 0) == pid);
#ifdef UNDER_ASAN
	/* ASan's handler was there first: it reports the fault and exits 1 */
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 42)
		test_fail(__FILE__, __LINE__, "ASan did not report the fault (status 0x%x)", status);
#else
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
		test_fail(__FILE__, __LINE__, "the child was not killed by SIGSEGV (status 0x%x)", status);
#endif
}

int main(void)
{
	struct sigaction sa;

	/* first, while this process has neither threads nor handlers */
	RUN(host_null_dereference_kills_the_process);

	/* before the runtime exists: the handler a host (Node) would have */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	guard_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(guard_page != MAP_FAILED);

	test_setup();
	RUN(out_of_bounds_accesses_trap);
	RUN(reservations_are_reused_and_never_show_old_data);
	RUN(foreign_faults_reach_the_previous_handler);
	if (aot_store_setup() && compile("bounds.wasm") && compile("bounds-empty.wasm") &&
	    compile("memory-dirty.wasm") && compile("memory-clean.wasm")) {
		tier = OCRE_TIER_AOT;
		RUN(out_of_bounds_accesses_trap);
		RUN(reservations_are_reused_and_never_show_old_data);
		RUN(foreign_faults_reach_the_previous_handler);
	} else {
		printf("SKIP the AOT tier: ocre-aotc was not built (LLVM 15 not found at build time)\n");
	}
	test_teardown();
	return test_finish();
}
