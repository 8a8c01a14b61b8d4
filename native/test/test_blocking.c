/* Kill ends a container blocked in any WASI call that waits on another party
 * (fixture hostile.wasm): sock_accept, sock_recv, sock_send to a peer that
 * does not read, fd_read and poll_oneoff on a FIFO in a mount, fd_write to a
 * full pipe after fd_renumber(1, 0); and destroying the context ends one
 * blocked in recv. Latencies are printed, not asserted (bench/ has them). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static const char *net_caps[] = {"networking", NULL};

/* A listening TCP socket on 127.0.0.1 (ephemeral port, written to @p port). */
static int listener(char port[8])
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_INT(listen(fd, 4), 0);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	snprintf(port, 8, "%u", ntohs(addr.sin_port));
	return fd;
}

static int free_port(char port[8])
{
	int fd = listener(port);
	close(fd);
	return 0;
}

/* Start hostile.wasm with @p argv, wait for "ready" on its stderr, let it
 * block, kill it, and check it ends killed. @p out: its stdout (-1: a pipe
 * read by nobody but drained here at the end). */
static void kill_blocked(const char *label, const char **argv, const char **caps, const char **mounts, int out)
{
	struct ocre_container_args args = {.argv = argv, .capabilities = caps, .mounts = mounts};
	struct ocre_exit_info info;
	struct ocre_container *c;
	int err[2], status = -1;
	uint64_t t0, dt;

	test_pipe(err);
	c = ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, -1, out, err[1]);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(ocre_container_start(c), 0);
	close(err[1]);
	CHECK(test_read_until(err[0], "ready", 10000));
	test_sleep_ms(50); /* let it enter the call (not a timing assertion) */
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_RUNNING);
	t0 = test_now_us();
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	dt = test_now_us() - t0;
	fprintf(stderr, "     kill latency %-16s %8.3f ms\n", label, (double)dt / 1000.0);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_KILLED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	close(err[0]);
}

static void kill_in_sock_accept(void)
{
	char port[8];
	const char *argv[] = {"accept", port, NULL};
	free_port(port);
	kill_blocked("sock_accept", argv, net_caps, NULL, -1);
}

static void kill_in_sock_recv(void)
{
	char port[8];
	const char *argv[] = {"recv", "127.0.0.1", port, NULL};
	int l = listener(port);
	kill_blocked("sock_recv", argv, net_caps, NULL, -1);
	close(l);
}

static void kill_in_sock_send(void)
{
	char port[8];
	const char *argv[] = {"send", "127.0.0.1", port, NULL};
	int l = listener(port); /* the connection waits in the backlog, never read */
	kill_blocked("sock_send", argv, net_caps, NULL, -1);
	close(l);
}

static void fifo_case(const char *cmd, const char *label)
{
	char mount[1200], fifo[1300];
	const char *dir = test_tmpdir("fifo");
	const char *argv[] = {cmd, "/data/fifo", NULL};
	const char *mounts[] = {mount, NULL};
	int keep;

	snprintf(mount, sizeof(mount), "%s:/data", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	keep = open(fifo, O_RDWR | O_CLOEXEC); /* a writer that never writes */
	CHECK(keep >= 0);
	kill_blocked(label, argv, NULL, mounts, -1);
	close(keep);
}

static void kill_in_fifo_read(void)
{
	fifo_case("read", "fd_read fifo");
}

static void kill_in_fifo_poll(void)
{
	fifo_case("poll", "poll_oneoff fifo");
}

static void kill_in_write_to_full_pipe_after_renumber(void)
{
	const char *argv[] = {"renumber-write", NULL};
	int out[2];
	test_pipe(out); /* nobody reads: the pipe fills */
	kill_blocked("fd_write renum", argv, NULL, NULL, out[1]);
	close(out[0]);
	close(out[1]);
}

/* Destroying a context ends its container blocked in recv. */
static void destroy_context_ends_a_blocked_recv(void)
{
	char port[8], img[1200], to[1300];
	const char *argv[] = {"recv", "127.0.0.1", port, NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = net_caps};
	const char *dir = test_tmpdir("blocked-destroy");
	struct ocre_context *ctx2 = ocre_create_context(dir);
	struct ocre_container *c;
	int l = listener(port), err[2];

	CHECK(ctx2 != NULL);
	if (!ctx2)
		return;
	snprintf(img, sizeof(img), "%s/hostile.wasm", test_images_dir());
	snprintf(to, sizeof(to), "%s/images/hostile.wasm", dir);
	{
		char cmd[3000];
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", img, to);
		CHECK_INT(system(cmd), 0);
	}
	test_pipe(err);
	c = ocre_context_create_container(ctx2, "hostile.wasm", NULL, NULL, true, &args, -1, -1, err[1]);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		CHECK(test_read_until(err[0], "ready", 10000));
		test_sleep_ms(50);
	}
	close(err[1]);
	CHECK_INT(ocre_destroy_context(ctx2), 0);
	close(err[0]);
	close(l);
}

int main(void)
{
	test_setup();
	RUN(kill_in_sock_accept);
	RUN(kill_in_sock_recv);
	RUN(kill_in_sock_send);
	RUN(kill_in_fifo_read);
	RUN(kill_in_fifo_poll);
	RUN(kill_in_write_to_full_pipe_after_renumber);
	RUN(destroy_context_ends_a_blocked_recv);
	test_teardown();
	return test_finish();
}
