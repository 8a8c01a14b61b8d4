/* A small test harness for the C tests: checks that count and report, fresh
 * working directories with the fixtures installed as images, and helpers for
 * capturing a container's output. */
#ifndef OCRE_TESTLIB_H
#define OCRE_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ocre/ocre.h>

extern int test_checks, test_failures;
extern const char *test_current;

void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		test_checks++;                                                                                         \
		if (!(cond))                                                                                           \
			test_fail(__FILE__, __LINE__, "CHECK(%s) failed (last error: %s)", #cond,                      \
			          ocre_last_error_message());                                                          \
	} while (0)

#define CHECK_INT(a, b)                                                                                                \
	do {                                                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                                                    \
		test_checks++;                                                                                         \
		if (a_ != b_)                                                                                          \
			test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld (last error: %s)", #a, a_, #b,  \
			          b_, ocre_last_error_message());                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                                                \
	do {                                                                                                           \
		const char *a_ = (a), *b_ = (b);                                                                       \
		test_checks++;                                                                                         \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                                 \
			test_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",         \
			          b_ ? b_ : "(null)");                                                                 \
	} while (0)

#define RUN(fn) test_run(#fn, fn)
void test_run(const char *name, void (*fn)(void));

/* ocre_initialize(NULL) (checked) and a context on a fresh workdir holding
 * every fixture as an image. */
void test_setup(void);
void test_teardown(void);
struct ocre_context *test_context(void);
/* <workdir>/images of the test context. */
const char *test_images_dir(void);
/* A fresh empty directory under the test scratch area. Static storage per call. */
const char *test_tmpdir(const char *tag);
/* Exit code for main(): prints the summary line. */
int test_finish(void);

/* Create a container from @p image with argv (NULL-terminated, may be NULL). */
struct ocre_container *test_create(const char *image, const char *id, bool detached, const char **argv, int stdin_fd,
                                   int stdout_fd, int stderr_fd);

/* Create a container of @p image (id may be NULL) with @p args, stdout to a
 * pipe, and optionally a memory limit (0: default); start it, read its stdout
 * to the end, wait, copy its exit info (if @p info), remove it. Returns the
 * output (malloc'd) and the status in *status. */
char *test_run_capture(const char *image, const char *id, const struct ocre_container_args *args, size_t memory_limit,
                       int *status, struct ocre_exit_info *info);

/* A pipe with both ends CLOEXEC. */
void test_pipe(int fds[2]);
/* Read @p fd until EOF into a malloc'd NUL-terminated string. */
char *test_read_all(int fd);
/* Read until @p needle has been seen (or EOF / timeout). Returns true if seen. */
bool test_read_until(int fd, const char *needle, unsigned timeout_ms);
uint64_t test_now_us(void);
/* Number of fds this process has open. */
int test_open_fds(void);
/* Read /proc/self/task/@p tid/stat into @p buf; returns its field 3 (the
 * state) onwards, the text after the command's closing parenthesis and
 * space, or NULL if it cannot be read. */
const char *test_thread_stat(const char *tid, char *buf, size_t size);
void test_sleep_ms(unsigned ms);

#endif
