#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

int test_checks, test_failures;
const char *test_current = "";
static struct ocre_context *ctx;
static unsigned tmp_counter;

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	test_failures++;
	fprintf(stderr, "FAIL %s (%s:%d): ", test_current, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void test_run(const char *name, void (*fn)(void))
{
	int before = test_failures;
	uint64_t t0 = test_now_us();
	test_current = name;
	fn();
	fprintf(stderr, "%s %s (%.1f ms)\n", test_failures == before ? "ok  " : "FAIL", name,
	        (double)(test_now_us() - t0) / 1000.0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;
	if (in < 0) {
		fprintf(stderr, "cannot open %s: %s\n", from, strerror(errno));
		exit(2);
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		fprintf(stderr, "cannot create %s: %s\n", to, strerror(errno));
		exit(2);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			exit(2);
	close(in);
	close(out);
}

const char *test_tmpdir(const char *tag)
{
	static char path[8][512];
	static int slot;
	const char *base = getenv("OCRE_TEST_TMP");
	char *p = path[slot++ % 8];
	char cmd[600];

	if (!base)
		base = "/tmp/ocre-c-tests";
	snprintf(p, 512, "%s/%d-%u-%s", base, (int)getpid(), tmp_counter++, tag);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", p, p);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make %s\n", p);
		exit(2);
	}
	return p;
}

static char images[600];

const char *test_images_dir(void)
{
	return images;
}

void test_setup(void)
{
	const char *fixtures = getenv("OCRE_FIXTURES");
	const char *workdir = test_tmpdir("workdir");
	char from[1200], to[1200];
	struct dirent *e;
	DIR *d;

	if (!fixtures) {
		fprintf(stderr, "OCRE_FIXTURES is not set (run through ctest)\n");
		exit(2);
	}
	if (ocre_initialize(NULL) != 0) {
		fprintf(stderr, "ocre_initialize failed: %s\n", ocre_last_error_message());
		exit(2);
	}
	snprintf(images, sizeof(images), "%s/images", workdir);
	mkdir(workdir, 0755);
	mkdir(images, 0755);
	d = opendir(fixtures);
	if (!d) {
		fprintf(stderr, "cannot open %s\n", fixtures);
		exit(2);
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".wasm") != 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", fixtures, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", images, e->d_name);
		copy_file(from, to);
	}
	closedir(d);
	ctx = ocre_create_context(workdir);
	if (!ctx) {
		fprintf(stderr, "ocre_create_context failed: %s\n", ocre_last_error_message());
		exit(2);
	}
}

void test_teardown(void)
{
	if (ctx)
		ocre_destroy_context(ctx);
	ctx = NULL;
	ocre_deinitialize();
}

struct ocre_context *test_context(void)
{
	return ctx;
}

int test_finish(void)
{
	fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);
	return test_failures ? 1 : 0;
}

struct ocre_container *test_create(const char *image, const char *id, bool detached, const char **argv, int stdin_fd,
                                   int stdout_fd, int stderr_fd)
{
	struct ocre_container_args args = {.argv = argv};
	return ocre_context_create_container(ctx, image, NULL, id, detached, &args, stdin_fd, stdout_fd, stderr_fd);
}

char *test_run_capture(const char *image, const char *id, const struct ocre_container_args *args, size_t memory_limit,
                       int *status, struct ocre_exit_info *info)
{
	struct ocre_container *c;
	int out[2];
	char *text;

	test_pipe(out);
	c = ocre_context_create_container(ctx, image, NULL, id, true, args, -1, out[1], -1);
	CHECK(c != NULL);
	if (!c) {
		close(out[0]);
		close(out[1]);
		return strdup("");
	}
	if (memory_limit)
		CHECK_INT(ocre_container_set_memory_limit(c, memory_limit), 0);
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]); /* the run has its own copy; EOF comes when it ends */
	text = test_read_all(out[0]);
	close(out[0]);
	CHECK_INT(ocre_container_wait(c, status), 0);
	if (info)
		CHECK_INT(ocre_container_get_exit(c, info), 0);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_STOPPED);
	CHECK_INT(ocre_context_remove_container(ctx, c), 0);
	return text;
}

void test_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0) {
		perror("pipe2");
		exit(2);
	}
}

char *test_read_all(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

bool test_read_until(int fd, const char *needle, unsigned timeout_ms)
{
	char buf[8192];
	size_t len = 0;
	uint64_t deadline = test_now_us() + (uint64_t)timeout_ms * 1000;

	while (test_now_us() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, needle))
			return true;
		if (len > sizeof(buf) / 2) { /* keep the tail */
			memmove(buf, buf + len - 256, 256);
			len = 256;
		}
	}
	return false;
}

uint64_t test_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void test_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *test_thread_stat(const char *tid, char *buf, size_t size)
{
	char path[64], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p + 2 : NULL;
}

int test_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}
