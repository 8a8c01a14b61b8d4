/* The Ocre API contract: NULL and invalid arguments for every function,
 * naming and mount rules, ids, runtimes, contexts, and extra engines. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static void null_arguments_never_crash(void)
{
	struct ocre_container *list[4];
	int status;

	CHECK(ocre_context_create_container(NULL, "hello.wasm", NULL, NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	CHECK(ocre_context_create_container(test_context(), NULL, NULL, NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_NAME);
	CHECK(ocre_context_get_container_by_id(NULL, "x") == NULL);
	CHECK(ocre_context_get_container_by_id(test_context(), NULL) == NULL);
	CHECK(ocre_context_remove_container(NULL, NULL) != 0);
	CHECK(ocre_context_remove_container(test_context(), NULL) != 0);
	CHECK_INT(ocre_context_get_container_count(NULL), -1);
	CHECK_INT(ocre_context_get_containers(NULL, list, 4), -1);
	CHECK_INT(ocre_context_get_containers(test_context(), NULL, 4), -1);
	CHECK_INT(ocre_context_get_containers(test_context(), list, -1), -1);
	CHECK(ocre_context_get_working_directory(NULL) == NULL);
	CHECK(ocre_destroy_context(NULL) != 0);

	CHECK(ocre_container_start(NULL) != 0);
	CHECK(ocre_container_start_async(NULL) != 0);
	CHECK_INT(ocre_container_get_status(NULL), OCRE_CONTAINER_STATUS_UNKNOWN);
	CHECK(ocre_container_get_id(NULL) == NULL);
	CHECK(ocre_container_get_image(NULL) == NULL);
	CHECK(ocre_container_get_runtime(NULL) == NULL);
	CHECK(ocre_container_pause(NULL) != 0);
	CHECK(ocre_container_unpause(NULL) != 0);
	CHECK(ocre_container_stop(NULL) != 0);
	CHECK(ocre_container_stop_async(NULL, 0) != 0);
	CHECK(ocre_container_kill(NULL) != 0);
	CHECK(ocre_container_wait(NULL, &status) != 0);
	CHECK(ocre_container_wait_timeout(NULL, &status, 1) != 0);
	CHECK(!ocre_container_is_detached(NULL));
	CHECK(ocre_container_get_exit(NULL, NULL) != 0);
	CHECK(ocre_container_set_stdio(NULL, -1, -1, -1) != 0);
	CHECK(ocre_container_set_event_callback(NULL, NULL, NULL) != 0);
	CHECK(ocre_container_set_memory_limit(NULL, 1) != 0);
	CHECK_INT(ocre_container_get_memory_limit(NULL), 0);
	ocre_container_retain(NULL);
	ocre_container_release(NULL);
	CHECK_STR(ocre_container_status_name(OCRE_CONTAINER_STATUS_PAUSED), "paused");
	CHECK_STR(ocre_error_code(OCRE_ERR_INVALID_NAME), "ERR_OCRE_INVALID_NAME");
	CHECK_STR(ocre_error_code(-5), "ERR_OCRE_UNKNOWN");
	CHECK(strlen(ocre_strerror(OCRE_ERR__COUNT)) > 0);
}

static void invalid_names_are_rejected(void)
{
	static const char *const bad[] = {"",           ".",      "..",    ".hidden", "/x",       "a/b",      "-rf",
	                                  "UPPER.wasm", "sp ace", "tab\t", "a:b",     "\xc3\xa9", "--x.wasm", NULL};
	static const char *const good_ids[] = {"a", "web-1", "x_y.z", "0", NULL};
	char long_name[300];
	int i;

	for (i = 0; bad[i]; i++) {
		ocre_clear_error();
		if (test_create(bad[i], NULL, true, NULL, -1, -1, -1) != NULL ||
		    ocre_last_error() != OCRE_ERR_INVALID_NAME)
			test_fail(__FILE__, __LINE__, "image name \"%s\" was not rejected as invalid", bad[i]);
		ocre_clear_error();
		if (test_create("hello.wasm", bad[i], true, NULL, -1, -1, -1) != NULL ||
		    ocre_last_error() != OCRE_ERR_INVALID_NAME)
			test_fail(__FILE__, __LINE__, "container id \"%s\" was not rejected as invalid", bad[i]);
	}
	CHECK(test_create("hello.wasm", "-rf", true, NULL, -1, -1, -1) == NULL);
	CHECK_STR(ocre_last_error_message(), "container id '-rf' must not start with '-'");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(test_create("hello.wasm", long_name, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_NAME);
	for (i = 0; good_ids[i]; i++) {
		struct ocre_container *c = test_create("hello.wasm", good_ids[i], true, NULL, -1, -1, -1);
		CHECK(c != NULL);
		CHECK_STR(ocre_container_get_id(c), good_ids[i]);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
	/* nothing was left on disk by the failures */
	CHECK_INT(ocre_context_get_container_count(test_context()), 0);
}

static void invalid_mounts_and_capabilities_are_rejected(void)
{
	static const char *const bad[] = {
	    "relative:/data", "/tmp", "/tmp:", "/tmp:./x", "/tmp:a/../b", "/tmp:/x:rx", "/does/not/exist:/x", "", NULL};
	int i;

	for (i = 0; bad[i]; i++) {
		const char *mounts[] = {bad[i], NULL};
		struct ocre_container_args args = {.mounts = mounts};
		ocre_clear_error();
		if (ocre_context_create_container(test_context(), "hello.wasm", NULL, NULL, true, &args, -1, -1, -1) ||
		    ocre_last_error() != OCRE_ERR_INVALID_MOUNT)
			test_fail(__FILE__, __LINE__, "mount \"%s\" was not rejected", bad[i]);
	}
	{
		const char *mounts[] = {"/tmp:/data:ro", "/tmp:/data2:rw", NULL};
		struct ocre_container_args args = {.mounts = mounts};
		struct ocre_container *c =
		    ocre_context_create_container(test_context(), "hello.wasm", NULL, NULL, true, &args, -1, -1, -1);
		CHECK(c != NULL);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
	{
		const char *caps[] = {"filesystem", "teleport", NULL};
		struct ocre_container_args args = {.capabilities = caps};
		CHECK(ocre_context_create_container(test_context(), "hello.wasm", NULL, "tele", true, &args, -1, -1,
		                                    -1) == NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_CAPABILITY);
		/* the filesystem directory of the failed create is not left behind */
		char dir[1024];
		struct stat st;
		snprintf(dir, sizeof(dir), "%s/containers/tele", ocre_context_get_working_directory(test_context()));
		CHECK(stat(dir, &st) != 0);
	}
	{
		const char *envp[] = {"NOEQUALS", NULL};
		struct ocre_container_args args = {.envp = envp};
		CHECK(ocre_context_create_container(test_context(), "hello.wasm", NULL, NULL, true, &args, -1, -1,
		                                    -1) == NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	}
	CHECK(test_create("hello.wasm", NULL, true, NULL, 987, -1, -1) == NULL); /* fd not open */
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_get_container_count(test_context()), 0);
}

static void images_and_runtimes(void)
{
	char bad[1024];
	FILE *f;

	CHECK(test_create("missing.wasm", NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_NOT_FOUND);
	CHECK(ocre_context_create_container(test_context(), "hello.wasm", "nope/1", NULL, true, NULL, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_RUNTIME);
	CHECK(ocre_context_create_container(test_context(), "hello.wasm", "", NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_RUNTIME);
	{
		struct ocre_container *c = ocre_context_create_container(test_context(), "hello.wasm", "wamr/wasip1",
		                                                         NULL, true, NULL, -1, -1, -1);
		CHECK(c != NULL);
		CHECK_STR(ocre_container_get_runtime(c), "wamr/wasip1");
		CHECK_STR(ocre_container_get_image(c), "hello.wasm");
		CHECK_INT(strlen(ocre_container_get_id(c)), 8); /* random 8-hex id */
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
	/* a file that is not WebAssembly fails at create with the loader's reason */
	snprintf(bad, sizeof(bad), "%s/images/garbage.wasm", ocre_context_get_working_directory(test_context()));
	f = fopen(bad, "w");
	fputs("this is not wasm", f);
	fclose(f);
	CHECK(test_create("garbage.wasm", NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_IMAGE);
	CHECK(strstr(ocre_last_error_message(), "garbage.wasm") != NULL);
	/* the store answers for its images' sizes: callers need not know its layout */
	CHECK_INT((int)ocre_context_get_image_size(test_context(), "garbage.wasm"), (int)strlen("this is not wasm"));
	unlink(bad);
	CHECK(ocre_context_get_image_size(test_context(), "hello.wasm") > 8);
	CHECK_INT((int)ocre_context_get_image_size(test_context(), "garbage.wasm"), -1);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_NOT_FOUND);
	CHECK_INT((int)ocre_context_get_image_size(test_context(), "../hello.wasm"), -1);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_NAME);
	CHECK_INT((int)ocre_context_get_image_size(NULL, "hello.wasm"), -1);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	snprintf(bad, sizeof(bad), "%s/images/a-dir.wasm", ocre_context_get_working_directory(test_context()));
	CHECK_INT(mkdir(bad, 0755), 0);
	CHECK_INT((int)ocre_context_get_image_size(test_context(), "a-dir.wasm"), -1);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_NOT_FOUND);
	rmdir(bad);
}

static void ids_count_list_and_lookup(void)
{
	struct ocre_container *a = test_create("hello.wasm", "a", true, NULL, -1, -1, -1);
	struct ocre_container *b = test_create("hello.wasm", "b", false, NULL, -1, -1, -1);
	struct ocre_container *list[8];

	CHECK(a && b);
	CHECK(test_create("hello.wasm", "a", true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_EXISTS);
	CHECK_INT(ocre_context_get_container_count(test_context()), 2);
	CHECK_INT(ocre_context_get_containers(test_context(), list, 8), 2);
	CHECK(list[0] == a && list[1] == b);
	CHECK_INT(ocre_context_get_containers(test_context(), list, 1), 1);
	CHECK(ocre_context_get_container_by_id(test_context(), "b") == b);
	CHECK(ocre_context_get_container_by_id(test_context(), "zzz") == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_NOT_FOUND);
	CHECK(ocre_container_is_detached(a));
	CHECK(!ocre_container_is_detached(b));
	CHECK_INT(ocre_container_get_status(a), OCRE_CONTAINER_STATUS_CREATED);
	CHECK_INT(ocre_context_remove_container(test_context(), a), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), b), 0);
	CHECK_INT(ocre_context_get_container_count(test_context()), 0);
}

static void remove_is_refused_while_running(void)
{
	struct ocre_container *c = test_create("spin.wasm", "busy", true, NULL, -1, -1, -1);
	int status;

	ocre_container_retain(c); /* keep the memory to prove getters survive removal */
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_start(c), OCRE_ERR_STATE);
	CHECK_INT(ocre_context_remove_container(test_context(), c), OCRE_ERR_STATE);
	CHECK_INT(ocre_container_pause(c), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), OCRE_ERR_STATE);
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), OCRE_ERR_NOT_FOUND);
	CHECK_STR(ocre_container_get_id(c), "busy");
	CHECK_INT(ocre_container_start(c), OCRE_ERR_NOT_FOUND);
	ocre_container_release(c);
}

/* Every getter of a retained container answers after remove (the engine's
 * context is gone by then), and every control call says it was removed. */
static void getters_work_after_remove(void)
{
	struct ocre_exit_info info;
	struct ocre_container *c = test_create("hello.wasm", "gone", true, NULL, -1, -1, -1);
	int status = -1;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_set_memory_limit(c, 4u << 20), 0);
	ocre_container_retain(c);
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK_STR(ocre_container_get_id(c), "gone");
	CHECK_STR(ocre_container_get_image(c), "hello.wasm");
	CHECK_STR(ocre_container_get_runtime(c), "wamr/wasip1");
	CHECK_STR(ocre_container_get_tier(c), "interpreter");
	CHECK_INT(ocre_container_get_memory_limit(c), 4u << 20);
	CHECK(ocre_container_is_detached(c));
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.status, 0);
	CHECK_INT(ocre_container_start(c), OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_kill(c), OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_pause(c), OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_set_memory_limit(c, 1u << 20), OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_set_stdio(c, -1, -1, -1), OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_get_memory_limit(c), 4u << 20);
	ocre_container_release(c);
}

static void one_context_per_workdir(void)
{
	const char *wd = ocre_context_get_working_directory(test_context());
	char relative[] = "relative/dir";
	struct ocre_context *other;
	struct stat st;
	char path[1024];

	CHECK(ocre_create_context(wd) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_EXISTS);
	CHECK(ocre_create_context(relative) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	other = ocre_create_context(test_tmpdir("second"));
	CHECK(other != NULL);
	snprintf(path, sizeof(path), "%s/images", ocre_context_get_working_directory(other));
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/containers", ocre_context_get_working_directory(other));
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_INT(ocre_destroy_context(other), 0);
	CHECK(ocre_destroy_context(other) != 0); /* gone: rejected, not a crash */
	CHECK_INT(ocre_initialize(NULL), OCRE_ERR_EXISTS);
}

/* An open workdir is flock()ed (workdir/.lock): another holder of that lock
 * (another process; here another open file description) cannot open it
 * (OCRE_ERR_BUSY), and it is free again once the context is destroyed. */
static void an_open_workdir_is_locked(void)
{
	const char *dir = test_tmpdir("locked");
	struct ocre_context *ctx;
	char lock[1024];
	int fd;

	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	ctx = ocre_create_context(dir);
	CHECK(ctx != NULL);
	fd = open(lock, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK);
	CHECK_INT(ocre_destroy_context(ctx), 0);
	CHECK_INT(flock(fd, LOCK_EX | LOCK_NB), 0); /* released */

	/* held by someone else: refused, and nothing of a context is left */
	CHECK(ocre_create_context(dir) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_BUSY);
	CHECK(strstr(ocre_last_error_message(), "in use by another process") != NULL);
	CHECK_STR(ocre_error_code(OCRE_ERR_BUSY), "ERR_OCRE_BUSY");
	close(fd);
	ctx = ocre_create_context(dir);
	CHECK(ctx != NULL);
	CHECK_INT(ocre_destroy_context(ctx), 0);
}

static void destroy_context_with_running_containers(void)
{
	struct ocre_context *ctx = ocre_create_context(test_tmpdir("busy-ctx"));
	const char *images = ocre_context_get_working_directory(test_context());
	char cmd[2048];
	uint64_t t0;
	int i;

	snprintf(cmd, sizeof(cmd), "cp %s/images/*.wasm %s/images/", images, ocre_context_get_working_directory(ctx));
	CHECK_INT(system(cmd), 0);
	for (i = 0; i < 6; i++) {
		const char *argv[] = {"60", NULL};
		const char *image = i % 3 == 0 ? "spin.wasm" : i % 3 == 1 ? "sleeper.wasm" : "ticker.wasm";
		struct ocre_container_args args = {.argv = i % 3 == 0 ? NULL : argv};
		struct ocre_container *c =
		    ocre_context_create_container(ctx, image, NULL, NULL, true, &args, -1, -1, -1);
		CHECK(c != NULL);
		CHECK_INT(ocre_container_start(c), 0);
		if (i == 5)
			CHECK_INT(ocre_container_pause(c), 0);
	}
	ocre_context_create_container(ctx, "hello.wasm", NULL, "never-started", true, NULL, -1, -1, -1);
	t0 = test_now_us();
	CHECK_INT(ocre_destroy_context(ctx), 0);
	CHECK(test_now_us() - t0 < 2000000);
}

struct racer {
	struct ocre_container *c;
	int result;
};

static void *start_later(void *arg)
{
	struct racer *r = arg;
	r->result = ocre_container_start(r->c);
	return NULL;
}

static void destroy_wins_against_a_racing_start(void)
{
	int round;
	for (round = 0; round < 50; round++) {
		struct ocre_context *ctx = ocre_create_context(test_tmpdir("race"));
		char cmd[2048];
		struct racer r;
		pthread_t t;

		snprintf(cmd, sizeof(cmd), "cp %s/spin.wasm %s/images/", getenv("OCRE_FIXTURES"),
		         ocre_context_get_working_directory(ctx));
		CHECK_INT(system(cmd), 0);
		r.c = ocre_context_create_container(ctx, "spin.wasm", NULL, NULL, true, NULL, -1, -1, -1);
		ocre_container_retain(r.c);
		pthread_create(&t, NULL, start_later, &r);
		CHECK_INT(ocre_destroy_context(ctx), 0);
		pthread_join(t, NULL);
		/* either the start came first and destroy killed it, or it was refused */
		CHECK(r.result == OCRE_OK || r.result == OCRE_ERR_STATE || r.result == OCRE_ERR_NOT_FOUND);
		CHECK(ocre_container_get_status(r.c) != OCRE_CONTAINER_STATUS_RUNNING);
		ocre_container_release(r.c);
	}
}

/* ---- an extra engine through the vtable ---- */

static int fake_runs;
static int fake_init(void)
{
	return 0;
}
static void *fake_create(const char *id, const char *img, const char *wd, const char **caps, const char **argv,
                         const char **envp, const char **mounts, int i, int o, int e)
{
	static int token;
	return &token;
}
static int fake_destroy(void *ctx)
{
	return 0;
}
static int fake_execute(void *ctx, sem_t *sem)
{
	fake_runs++;
	sem_post(sem);
	return 5;
}

static const struct ocre_runtime_vtable fake_engine = {
    .runtime_name = "test/fake",
    .init = fake_init,
    .create = fake_create,
    .destroy = fake_destroy,
    .thread_execute = fake_execute,
};
static const struct ocre_runtime_vtable nameless_engine = {.runtime_name = NULL};

static void extra_engines_are_registered(void)
{
	const struct ocre_runtime_vtable *const engines[] = {&fake_engine, NULL};
	const struct ocre_runtime_vtable *const dup[] = {&fake_engine, &fake_engine, NULL};
	const struct ocre_runtime_vtable *const bad[] = {&nameless_engine, NULL};
	struct ocre_context *ctx;
	struct ocre_container *c;
	char cmd[2048];
	int status = -1;

	test_teardown();
	CHECK_INT(ocre_initialize(dup), OCRE_ERR_EXISTS);
	CHECK(!ocre_is_initialized());
	CHECK_INT(ocre_initialize(bad), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_initialize(engines), 0);
	ctx = ocre_create_context(test_tmpdir("fake"));
	snprintf(cmd, sizeof(cmd), "cp %s/hello.wasm %s/images/", getenv("OCRE_FIXTURES"),
	         ocre_context_get_working_directory(ctx));
	CHECK_INT(system(cmd), 0);
	c = ocre_context_create_container(ctx, "hello.wasm", "test/fake", NULL, true, NULL, -1, -1, -1);
	CHECK(c != NULL);
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 5);
	CHECK_INT(fake_runs, 1);
	/* optional members missing: a clear UNSUPPORTED, not a crash */
	CHECK_INT(ocre_container_set_stdio(c, -1, -1, -1), OCRE_ERR_UNSUPPORTED);
	CHECK_INT(ocre_destroy_context(ctx), 0);
	ocre_deinitialize();
	CHECK(ocre_create_context(test_tmpdir("uninit")) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_NOT_INITIALIZED);
	test_setup();
}

int main(void)
{
	test_setup();
	RUN(null_arguments_never_crash);
	RUN(invalid_names_are_rejected);
	RUN(invalid_mounts_and_capabilities_are_rejected);
	RUN(images_and_runtimes);
	RUN(ids_count_list_and_lookup);
	RUN(remove_is_refused_while_running);
	RUN(getters_work_after_remove);
	RUN(one_context_per_workdir);
	RUN(an_open_workdir_is_locked);
	RUN(destroy_context_with_running_containers);
	RUN(destroy_wins_against_a_racing_start);
	RUN(extra_engines_are_registered);
	test_teardown();
	return test_finish();
}
