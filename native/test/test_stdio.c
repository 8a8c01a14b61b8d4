/* stdio: pipes in and out (large data), stdout to a file, stderr kept apart,
 * new stdio for a restart, and the event callback. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testlib.h"

struct feeder {
	int fd;
	const char *data;
	size_t len;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t done = 0;
	while (done < f->len) {
		ssize_t n = write(f->fd, f->data + done, f->len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

static void cat_round_trips_a_megabyte(void)
{
	size_t len = 1 << 20, i;
	char *data = malloc(len), *out;
	int in[2], outp[2], status = -1;
	struct ocre_container *c;
	struct feeder f;
	pthread_t t;

	for (i = 0; i < len; i++)
		data[i] = (char)('a' + (i * 7) % 26);
	data[len - 1] = '\0'; /* binary-safe: includes a NUL */
	test_pipe(in);
	test_pipe(outp);
	c = test_create("cat.wasm", "cat", true, NULL, in[0], outp[1], -1);
	CHECK_INT(ocre_container_start(c), 0);
	close(in[0]);
	close(outp[1]);
	f.fd = in[1];
	f.data = data;
	f.len = len;
	pthread_create(&t, NULL, feed, &f);
	{
		size_t cap = len + 1, got = 0;
		ssize_t n;
		out = malloc(cap);
		while ((n = read(outp[0], out + got, cap - got)) > 0)
			got += (size_t)n;
		CHECK_INT(got, len);
		CHECK(memcmp(out, data, len) == 0);
	}
	pthread_join(t, NULL);
	close(outp[0]);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	free(out);
	free(data);
}

static void stdout_to_a_file_and_stderr_apart(void)
{
	const char *path = test_tmpdir("out");
	char file[700];
	const char *argv[] = {"3", NULL};
	struct ocre_container *c;
	int fd, err[2], status = -1;
	char *text;

	snprintf(file, sizeof(file), "%s/stdout.txt", path);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	test_pipe(err);
	c = test_create("hello.wasm", "to-file", true, NULL, -1, fd, err[1]);
	CHECK_INT(ocre_container_start(c), 0);
	close(err[1]);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	close(fd);
	text = test_read_all(err[0]);
	CHECK_STR(text, ""); /* hello writes nothing to stderr */
	free(text);
	close(err[0]);
	fd = open(file, O_RDONLY);
	text = test_read_all(fd);
	close(fd);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	/* chatty writes only to stderr */
	test_pipe(err);
	{
		int outp[2];
		test_pipe(outp);
		c = test_create("chatty.wasm", "chatty", true, argv, -1, outp[1], err[1]);
		CHECK_INT(ocre_container_start(c), 0);
		close(outp[1]);
		close(err[1]);
		text = test_read_all(err[0]);
		CHECK_STR(text, "line 0\nline 1\nline 2\n");
		free(text);
		text = test_read_all(outp[0]);
		CHECK_STR(text, "");
		free(text);
		close(outp[0]);
		close(err[0]);
	}
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void new_stdio_for_a_restart(void)
{
	struct ocre_container *c;
	int a[2], b[2], status;
	char *text;

	test_pipe(a);
	c = test_create("hello.wasm", "restdio", true, NULL, -1, a[1], -1);
	CHECK_INT(ocre_container_start(c), 0);
	close(a[1]);
	text = test_read_all(a[0]);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	free(text);
	close(a[0]);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	test_pipe(b);
	CHECK_INT(ocre_container_set_stdio(c, -1, b[1], -1), 0);
	CHECK_INT(ocre_container_start(c), 0);
	close(b[1]);
	text = test_read_all(b[0]);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	free(text);
	close(b[0]);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_container_set_stdio(c, 999, -1, -1), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[256];

/* OCRE_STDIO_IGNORE: reads see end-of-file, writes succeed, and no host fd
 * is used for it (sleepers started with all three ignored add none). */
static void ignored_stdio_costs_no_fd(void)
{
	struct ocre_container *c, *sleepers[20];
	const char *sleep_argv[] = {"60", NULL};
	int out[2], status = -1, before, i;
	char *text;

	/* cat: stdin ignored reads end-of-file at once */
	test_pipe(out);
	c = test_create("cat.wasm", NULL, true, NULL, OCRE_STDIO_IGNORE, out[1], OCRE_STDIO_IGNORE);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	text = test_read_all(out[0]);
	close(out[0]);
	CHECK_STR(text, "");
	free(text);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	/* hello: stdout ignored, the write succeeds (exit 0) */
	CHECK_INT(ocre_container_set_stdio(c, OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE), 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	c = test_create("hello.wasm", NULL, true, NULL, OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, 0);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}

	before = test_open_fds();
	for (i = 0; i < 20; i++) {
		sleepers[i] = test_create("sleeper.wasm", NULL, true, sleep_argv, OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE,
		                          OCRE_STDIO_IGNORE);
		CHECK(sleepers[i] != NULL);
		if (sleepers[i])
			CHECK_INT(ocre_container_start(sleepers[i]), 0);
	}
	CHECK_INT(test_open_fds(), before);
	for (i = 0; i < 20; i++) {
		if (!sleepers[i])
			continue;
		CHECK_INT(ocre_container_kill(sleepers[i]), 0);
		CHECK_INT(ocre_container_wait(sleepers[i], &status), 0);
		CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
		CHECK_INT(ocre_context_remove_container(test_context(), sleepers[i]), 0);
	}
}

/* Create @p image with stdout and stderr captured (stdin ignored), output
 * limit @p limit (0: the default), run it to its end; its status in *status. */
static struct ocre_container *run_captured(const char *image, const char **argv, size_t limit, int *status)
{
	struct ocre_container_args args = {.argv = argv, .output_limit = limit};
	struct ocre_container *c = ocre_context_create_container(
	    test_context(), image, NULL, NULL, true, &args, OCRE_STDIO_IGNORE, OCRE_STDIO_CAPTURE, OCRE_STDIO_CAPTURE);
	CHECK(c != NULL);
	if (!c)
		return NULL;
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, status), 0);
	return c;
}

/* The captured bytes of @p stream as a NUL-terminated string (malloc'd). */
static char *take_text(struct ocre_container *c, int stream, size_t *size, bool *truncated)
{
	void *data = NULL;
	char *text;

	CHECK_INT(ocre_container_take_output(c, stream, &data, size, truncated), 0);
	text = malloc(*size + 1);
	if (*size)
		memcpy(text, data, *size);
	text[*size] = '\0';
	free(data);
	return text;
}

/* OCRE_STDIO_CAPTURE: the output is kept in memory (no fd) and handed over
 * once; a new run drops what the last one left; past the output limit the
 * run keeps the first bytes and is killed. */
static void captured_output_is_kept_in_memory(void)
{
	const char *lines[] = {"3", NULL}, *many[] = {"100000", NULL};
	struct ocre_exit_info info;
	struct ocre_container *c;
	int status = -1, before = test_open_fds();
	size_t size = 1;
	bool truncated = true;
	char *text;

	c = run_captured("hello.wasm", NULL, 0, &status);
	if (!c)
		return;
	CHECK_INT(status, 0);
	CHECK_INT(test_open_fds(), before);
	text = take_text(c, 1, &size, &truncated);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	CHECK(!truncated);
	free(text);
	text = take_text(c, 1, &size, &truncated); /* taken: nothing left */
	CHECK_INT((int)size, 0);
	free(text);
	text = take_text(c, 2, &size, NULL); /* stderr: nothing written */
	CHECK_INT((int)size, 0);
	free(text);
	/* two runs, nothing taken in between: only the last run's output */
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	text = take_text(c, 1, &size, &truncated);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	/* stderr, within the limit */
	c = run_captured("chatty.wasm", lines, 0, &status);
	if (!c)
		return;
	CHECK_INT(status, 0);
	text = take_text(c, 2, &size, &truncated);
	CHECK_STR(text, "line 0\nline 1\nline 2\n");
	CHECK(!truncated);
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	/* over the limit: the first 10 bytes, killed */
	c = run_captured("chatty.wasm", many, 10, &status);
	if (!c)
		return;
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_KILLED);
	text = take_text(c, 2, &size, &truncated);
	CHECK_STR(text, "line 0\nlin");
	CHECK(truncated);
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	/* no limit: all of it (1,088,890 bytes: over the default 1 MiB) */
	c = run_captured("chatty.wasm", many, SIZE_MAX, &status);
	if (!c)
		return;
	CHECK_INT(status, 0);
	text = take_text(c, 2, &size, &truncated);
	CHECK_INT((int)size, 1088890);
	CHECK(!truncated);
	CHECK(size >= 11 && strcmp(text + size - 11, "line 99999\n") == 0);
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK_INT(test_open_fds(), before);
}

/* A captured stream is a pipe to the guest, like a piped one: the same
 * answers to fdstat/filestat, renumbering keeps it captured, and once the
 * guest closes it its writes fail with EBADF. */
static void captured_output_is_a_pipe_to_the_guest(void)
{
	const char *host = test_tmpdir("capture");
	char mount[700];
	const char *mounts[] = {mount, NULL}, *argv[] = {"stdout-stat", "/e", NULL};
	struct ocre_container_args args = {.argv = argv, .mounts = mounts};
	const char *want_out = "fdstat 0 6\nfilestat 0 6\nmoved\n";
	const char *want_err = "renumber 0\nwrite 0\nclose 0\nwrite after close 8\n";
	struct ocre_container *c;
	int out[2], err[2], status = -1;
	size_t size;
	bool truncated;
	char *text;

	snprintf(mount, sizeof(mount), "%s:/e", host);
	/* piped: the reference */
	test_pipe(out);
	test_pipe(err);
	c = ocre_context_create_container(test_context(), "wasi-edge.wasm", NULL, NULL, true, &args, OCRE_STDIO_IGNORE,
	                                  out[1], err[1]);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		close(out[1]);
		close(err[1]);
		text = test_read_all(out[0]);
		CHECK_STR(text, want_out);
		free(text);
		text = test_read_all(err[0]);
		CHECK_STR(text, want_err);
		free(text);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, 0);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	} else {
		close(out[1]);
		close(err[1]);
	}
	close(out[0]);
	close(err[0]);
	/* captured: the same */
	c = ocre_context_create_container(test_context(), "wasi-edge.wasm", NULL, NULL, true, &args, OCRE_STDIO_IGNORE,
	                                  OCRE_STDIO_CAPTURE, OCRE_STDIO_CAPTURE);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	text = take_text(c, 1, &size, &truncated);
	CHECK_STR(text, want_out);
	free(text);
	text = take_text(c, 2, &size, &truncated);
	CHECK_STR(text, want_err);
	free(text);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void capture_errors(void)
{
	const char *sleep_argv[] = {"60", NULL};
	struct ocre_container *c;
	void *data = (void *)1;
	size_t size = 1;
	int status;

	/* not for stdin */
	CHECK(test_create("hello.wasm", NULL, true, NULL, OCRE_STDIO_CAPTURE, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	c = test_create("sleeper.wasm", NULL, true, sleep_argv, OCRE_STDIO_IGNORE, OCRE_STDIO_CAPTURE, -1);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_set_stdio(c, OCRE_STDIO_CAPTURE, -1, -1), OCRE_ERR_INVALID_ARGUMENT);
	/* bad arguments */
	CHECK_INT(ocre_container_take_output(c, 0, &data, &size, NULL), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_container_take_output(c, 3, &data, &size, NULL), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_container_take_output(c, 1, NULL, &size, NULL), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_container_take_output(c, 1, &data, NULL, NULL), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_container_take_output(NULL, 1, &data, &size, NULL), OCRE_ERR_INVALID_ARGUMENT);
	/* never ran: nothing */
	CHECK_INT(ocre_container_take_output(c, 1, &data, &size, NULL), 0);
	CHECK(data == NULL && size == 0);
	/* while it runs */
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_take_output(c, 1, &data, &size, NULL), OCRE_ERR_STATE);
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	/* a killed run keeps what it wrote (the kill may come before the line),
	 * also once removed (a context's close() removes what it killed) */
	ocre_container_retain(c);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK_INT(ocre_container_take_output(c, 1, &data, &size, NULL), 0);
	CHECK(size == 0 || (size == 9 && memcmp(data, "sleeping\n", 9) == 0));
	free(data);
	CHECK_INT(ocre_container_take_output(c, 1, &data, &size, NULL), 0);
	CHECK_INT((int)size, 0);
	ocre_container_release(c);
}

static void on_event(struct ocre_container *c, ocre_container_status_t status, void *data)
{
	pthread_mutex_lock(&ev_lock);
	strncat(events, ocre_container_status_name(status), sizeof(events) - strlen(events) - 2);
	strcat(events, " ");
	pthread_mutex_unlock(&ev_lock);
	(void)c;
	(void)data;
}

static void events_follow_the_state_machine(void)
{
	const char *argv[] = {"60", NULL};
	struct ocre_container *c = test_create("sleeper.wasm", "events", true, argv, -1, -1, -1);
	int status;

	CHECK_INT(ocre_container_set_event_callback(c, on_event, NULL), 0);
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_set_stdio(c, -1, -1, -1), OCRE_ERR_STATE); /* not while running */
	CHECK_INT(ocre_container_pause(c), 0);
	CHECK_INT(ocre_container_unpause(c), 0);
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(ocre_container_set_event_callback(c, NULL, NULL), 0);
	pthread_mutex_lock(&ev_lock);
	CHECK_STR(events, "running paused running exited stopped ");
	pthread_mutex_unlock(&ev_lock);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void fast_exits_still_announce_running_first(void)
{
	int i, status;
	for (i = 0; i < 200; i++) {
		struct ocre_container *c = test_create("trivial.wasm", "fast", true, NULL, -1, -1, -1);
		pthread_mutex_lock(&ev_lock);
		events[0] = '\0';
		pthread_mutex_unlock(&ev_lock);
		CHECK_INT(ocre_container_set_event_callback(c, on_event, NULL), 0);
		CHECK_INT(ocre_container_start(c), 0);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(ocre_container_set_event_callback(c, NULL, NULL), 0);
		pthread_mutex_lock(&ev_lock);
		if (strcmp(events, "running exited stopped ") != 0) {
			test_fail(__FILE__, __LINE__, "run %d: events \"%s\"", i, events);
			i = 200;
		}
		pthread_mutex_unlock(&ev_lock);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
}

/* While a run's thread delivers EXITED, a start() of the same container
 * waits for the delivery, letting the container's lock go: a remove() in
 * that window must make the start fail with NOT_FOUND, not run a removed
 * container (it crashed the process, found by the soak). */
static sem_t exited_entered, exited_release;

static void block_in_exited(struct ocre_container *c, ocre_container_status_t status, void *data)
{
	on_event(c, status, data);
	if (status == OCRE_CONTAINER_STATUS_EXITED) {
		sem_post(&exited_entered);
		while (sem_wait(&exited_release) != 0)
			;
	}
}

static pid_t starter_tid; /* atomic */

static void *start_in_thread(void *arg)
{
	static int ret;
	__atomic_store_n(&starter_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	ret = ocre_container_start(arg);
	return &ret;
}

/* The thread @p tid is asleep (blocked: in start()'s wait for the delivery). */
static bool thread_sleeping(pid_t tid)
{
	char id[16], buf[256];
	const char *state;

	snprintf(id, sizeof(id), "%d", (int)tid);
	state = test_thread_stat(id, buf, sizeof(buf));
	return state && state[0] == 'S';
}

static void a_remove_while_exited_is_delivered_fails_a_waiting_start(void)
{
	struct ocre_container *c = test_create("trivial.wasm", "settle", true, NULL, -1, -1, -1);
	uint64_t until;
	pthread_t t;
	pid_t tid;
	void *ret;

	CHECK_INT(sem_init(&exited_entered, 0, 0), 0);
	CHECK_INT(sem_init(&exited_release, 0, 0), 0);
	pthread_mutex_lock(&ev_lock);
	events[0] = '\0';
	pthread_mutex_unlock(&ev_lock);
	ocre_container_retain(c); /* the starting thread's, past the remove */
	CHECK_INT(ocre_container_set_event_callback(c, block_in_exited, NULL), 0);
	CHECK_INT(ocre_container_start(c), 0);
	while (sem_wait(&exited_entered) != 0)
		;
	__atomic_store_n(&starter_tid, 0, __ATOMIC_RELEASE);
	CHECK_INT(pthread_create(&t, NULL, start_in_thread, c), 0);
	/* Let the start reach its wait: its thread asleep (bounded; had it not
	 * got there, it would find the container removed: the same outcome). */
	until = test_now_us() + 10000000u;
	while ((!(tid = __atomic_load_n(&starter_tid, __ATOMIC_ACQUIRE)) || !thread_sleeping(tid)) &&
	       test_now_us() < until)
		test_sleep_ms(1);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	sem_post(&exited_release);
	CHECK_INT(pthread_join(t, &ret), 0);
	CHECK_INT(*(int *)ret, OCRE_ERR_NOT_FOUND);
	CHECK_INT(ocre_container_set_event_callback(c, NULL, NULL), 0);
	pthread_mutex_lock(&ev_lock);
	CHECK_STR(events, "running exited stopped ");
	pthread_mutex_unlock(&ev_lock);
	ocre_container_release(c);
	sem_destroy(&exited_entered);
	sem_destroy(&exited_release);
}

/* Arguments larger than the memory limit are refused (their copy lives in
 * container memory), and runs whose instantiation fails, before WAMR's WASI
 * set-up (memory over the limit) or after it (here: none in the fixtures),
 * give back every stdio fd: the pipe's reader sees end-of-file each time. */
static void failed_instantiations_leak_no_fd(void)
{
	static char big[100000];
	const char *argv[] = {big, NULL};
	struct ocre_container *c;
	int before, i, status, out[2];
	char buf[16];

	memset(big, 'x', sizeof(big) - 1);
	c = test_create("hello.wasm", "big-args", true, argv, -1, -1, -1);
	CHECK(c != NULL);
	CHECK_INT(ocre_container_set_memory_limit(c, 65536), OCRE_ERR_INVALID_ARGUMENT);
	CHECK(strstr(ocre_last_error_message(), "arguments and environment take 100") != NULL);
	CHECK_INT(ocre_container_get_memory_limit(c), 256u << 20); /* unchanged */
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);

	c = test_create("hello.wasm", "no-memory", true, NULL, -1, -1, -1);
	CHECK(c != NULL);
	CHECK_INT(ocre_container_set_memory_limit(c, 4096), 0); /* less than one page */
	before = test_open_fds();
	for (i = 0; i < 20; i++) {
		test_pipe(out);
		CHECK_INT(ocre_container_set_stdio(c, out[0], out[1], out[1]), 0);
		CHECK_INT(ocre_container_start_async(c), 0);
		close(out[1]);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
		CHECK_INT(read(out[0], buf, sizeof(buf)), 0); /* end-of-file: no copy left open */
		close(out[0]);
	}
	CHECK_INT(test_open_fds(), before);

	/* A process without a stdin of its own: WAMR then instantiates with
	 * placeholders made for the run (not its fds 0-2), which go the same way. */
	{
		int saved = fcntl(0, F_DUPFD_CLOEXEC, 3);
		struct ocre_container *hello;
		char *text;

		CHECK(saved >= 0);
		close(0);
		for (i = 0; i < 5; i++) {
			test_pipe(out);
			CHECK_INT(ocre_container_set_stdio(c, OCRE_STDIO_IGNORE, out[1], out[1]), 0);
			CHECK_INT(ocre_container_start_async(c), 0);
			close(out[1]);
			CHECK_INT(ocre_container_wait(c, &status), 0);
			CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
			CHECK_INT(read(out[0], buf, sizeof(buf)), 0);
			close(out[0]);
		}
		test_pipe(out);
		hello = test_create("hello.wasm", "no-stdin", true, NULL, OCRE_STDIO_IGNORE, out[1], -1);
		CHECK(hello != NULL);
		CHECK_INT(ocre_container_start_async(hello), 0);
		close(out[1]);
		text = test_read_all(out[0]);
		close(out[0]);
		CHECK_STR(text, "Hello from WebAssembly!\n");
		free(text);
		CHECK_INT(ocre_container_wait(hello, &status), 0);
		CHECK_INT(status, 0);
		CHECK_INT(ocre_context_remove_container(test_context(), hello), 0);
		CHECK_INT(dup2(saved, 0), 0);
		close(saved);
	}
	CHECK_INT(test_open_fds(), before);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

int main(void)
{
	test_setup();
	RUN(cat_round_trips_a_megabyte);
	RUN(stdout_to_a_file_and_stderr_apart);
	RUN(new_stdio_for_a_restart);
	RUN(ignored_stdio_costs_no_fd);
	RUN(captured_output_is_kept_in_memory);
	RUN(captured_output_is_a_pipe_to_the_guest);
	RUN(capture_errors);
	RUN(events_follow_the_state_machine);
	RUN(fast_exits_still_announce_running_first);
	RUN(a_remove_while_exited_is_delivered_fails_a_waiting_start);
	RUN(failed_instantiations_leak_no_fd);
	test_teardown();
	return test_finish();
}
