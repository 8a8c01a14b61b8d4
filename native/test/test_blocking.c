/* Kill ends a container blocked in any WASI call that waits on another party
 * (fixture hostile.wasm): sock_accept, sock_recv, poll_oneoff on a socket,
 * sock_send to a peer that does not read, sock_connect to a peer whose accept
 * queue is full, fd_read
 * and poll_oneoff on a FIFO in a mount, path_open of a FIFO without a writer
 * or a reader, fd_write to a full pipe after fd_renumber(1, 0); stop ends one
 * blocked in connect, and destroying the context ends ones blocked in recv,
 * connect and the open of a FIFO. Latencies are printed, not asserted
 * (bench/ has them). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static const char *net_caps[] = {"networking", NULL};

/* A TCP socket listening on 127.0.0.1 with @p backlog (ephemeral port,
 * written to @p port). */
static int listening(char port[8], int backlog)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_INT(listen(fd, backlog), 0);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	snprintf(port, 8, "%u", ntohs(addr.sin_port));
	return fd;
}

static int listener(char port[8])
{
	return listening(port, 4);
}

/* A listener on 127.0.0.1 whose accept queue is full (backlog 0, one
 * connection queued): the kernel drops further SYNs, so a connect to it waits
 * for minutes of retries. @p client: the queued connection. */
static int full_listener(char port[8], int *client)
{
	struct sockaddr_in addr;
	struct pollfd p;
	int fd = listening(port, 0);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)atoi(port));
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(*client >= 0);
	connect(*client, (struct sockaddr *)&addr, sizeof(addr));
	p.fd = *client;
	p.events = POLLOUT;
	CHECK_INT(poll(&p, 1, 10000), 1); /* queued: the queue is full now */
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
static void kill_blocked_in(const char *label, const char **argv, const char **caps, const char **mounts, int in,
                            int out)
{
	struct ocre_container_args args = {.argv = argv, .capabilities = caps, .mounts = mounts};
	struct ocre_exit_info info;
	struct ocre_container *c;
	int err[2], status = -1;
	uint64_t t0, dt;

	test_pipe(err);
	c = ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, in, out, err[1]);
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

static void kill_blocked(const char *label, const char **argv, const char **caps, const char **mounts, int out)
{
	kill_blocked_in(label, argv, caps, mounts, -1, out);
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

static void kill_in_sock_poll(void)
{
	char port[8];
	const char *argv[] = {"pollsock", "127.0.0.1", port, NULL};
	int l = listener(port);
	kill_blocked("poll_oneoff sock", argv, net_caps, NULL, -1);
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

static void kill_in_sock_connect(void)
{
	char port[8];
	const char *argv[] = {"connect", "127.0.0.1", port, NULL};
	int client, l = full_listener(port, &client);
	kill_blocked("sock_connect", argv, net_caps, NULL, -1);
	close(client);
	close(l);
}

/* Stop: the grace period passes (connect does not end by itself), then the
 * kill ends it. */
static void stop_ends_a_blocked_connect(void)
{
	char port[8];
	const char *argv[] = {"connect", "127.0.0.1", port, NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = net_caps};
	struct ocre_container *c;
	int client, l = full_listener(port, &client), err[2], status = -1;

	test_pipe(err);
	c = ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, -1, -1, err[1]);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		CHECK(test_read_until(err[0], "ready", 10000));
		CHECK_INT(ocre_container_stop_async(c, 100), 0);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
	close(err[0]);
	close(err[1]);
	close(client);
	close(l);
}

/* A FIFO in a fresh mounted directory: @p mount gets "DIR:/data", @p fifo its host path. */
static void make_fifo(const char *tag, char mount[1200], char fifo[1300])
{
	const char *dir = test_tmpdir(tag);

	snprintf(mount, 1200, "%s:/data", dir);
	snprintf(fifo, 1300, "%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
}

/* path_open of a FIFO nobody holds: for reading it waits for a writer, for
 * writing for a reader. */
static void kill_in_fifo_open(void)
{
	static const char *const cmds[] = {"open-read", "open-write"};
	char mount[1200], fifo[1300];
	const char *mounts[] = {mount, NULL};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *argv[] = {cmds[i], "/data/fifo", NULL};
		make_fifo(cmds[i], mount, fifo);
		kill_blocked(cmds[i], argv, NULL, mounts, -1);
	}
}

/* The other side of a FIFO, played by the test: each returns its fd. */
static int writer_writes_x(const char *fifo)
{
	int fd = open(fifo, O_RDWR | O_CLOEXEC); /* never blocks */
	CHECK_INT(write(fd, "x", 1), 1);
	return fd;
}

static int reader_reads_x(const char *fifo)
{
	struct pollfd p;
	char byte = 0;
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	p.fd = fd;
	p.events = POLLIN;
	CHECK_INT(poll(&p, 1, 10000), 1);
	CHECK_INT(read(fd, &byte, 1), 1);
	CHECK_INT(byte, 'x');
	return fd;
}

/* Start hostile.wasm with @p argv and @p mounts, wait for its "ready", let
 * @p other_side(@p fifo) act, and check the guest then ends as it would in
 * the OS: "done" printed, status 0. */
static void ends_when_the_other_side_acts(const char **argv, const char **mounts, const char *fifo,
                                          int (*other_side)(const char *))
{
	struct ocre_container_args args = {.argv = argv, .mounts = mounts};
	struct ocre_container *c;
	int out[2], err[2], status = -1, other = -1;
	char *text;

	test_pipe(out);
	test_pipe(err);
	c = ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, -1, out[1], err[1]);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(ocre_container_start(c), 0);
		CHECK(test_read_until(err[0], "ready", 10000));
		other = other_side(fifo);
		close(out[1]);
		text = test_read_all(out[0]);
		CHECK_STR(text, "done\n");
		free(text);
		CHECK_INT(ocre_container_wait(c, &status), 0);
		CHECK_INT(status, 0);
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	} else {
		close(out[1]);
	}
	close(out[0]);
	close(err[0]);
	close(err[1]);
	if (other >= 0)
		close(other);
}

/* Those opens still end as they would in the OS once the other side comes:
 * the reader reads what a writer wrote, the writer's byte reaches a reader. */
static void fifo_open_ends_when_the_other_side_comes(void)
{
	char mount[1200], fifo[1300];
	const char *mounts[] = {mount, NULL};
	const char *read_argv[] = {"open-read", "/data/fifo", NULL}, *write_argv[] = {"open-write", "/data/fifo", NULL};

	make_fifo("fifo-open-r", mount, fifo);
	ends_when_the_other_side_acts(read_argv, mounts, fifo, writer_writes_x);
	make_fifo("fifo-open-w", mount, fifo);
	ends_when_the_other_side_acts(write_argv, mounts, fifo, reader_reads_x);
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

/* The same waits still end normally: data arriving in the FIFO wakes the
 * poll and the read (exit 0, "done"). */
static void fifo_data_ends_the_wait(void)
{
	char mount[1200], fifo[1300];
	const char *mounts[] = {mount, NULL};
	const char *poll_argv[] = {"poll", "/data/fifo", NULL}, *read_argv[] = {"read", "/data/fifo", NULL};

	make_fifo("fifo-data", mount, fifo);
	ends_when_the_other_side_acts(poll_argv, mounts, fifo, writer_writes_x);
	ends_when_the_other_side_acts(read_argv, mounts, fifo, writer_writes_x);
}

static void kill_in_write_to_full_pipe_after_renumber(void)
{
	const char *argv[] = {"renumber-write", NULL};
	int out[2];
	test_pipe(out); /* nobody reads: the pipe fills */
	kill_blocked("fd_write renum", argv, NULL, NULL, out[1]);
	/* stdin discarded: renumbering onto it works as onto /dev/null */
	kill_blocked_in("renum ignored", argv, NULL, NULL, OCRE_STDIO_IGNORE, out[1]);
	close(out[0]);
	close(out[1]);
}

/* Destroying a context ends a container of it blocked in the call that
 * hostile.wasm @p argv makes (the image copied into a fresh workdir). */
static void destroy_context_ends(const char **argv, const char **caps, const char **mounts)
{
	char img[1200], to[1300], cmd[3000];
	struct ocre_container_args args = {.argv = argv, .capabilities = caps, .mounts = mounts};
	const char *dir = test_tmpdir("blocked-destroy");
	struct ocre_context *ctx2 = ocre_create_context(dir);
	struct ocre_container *c;
	int err[2];

	CHECK(ctx2 != NULL);
	if (!ctx2)
		return;
	snprintf(img, sizeof(img), "%s/hostile.wasm", test_images_dir());
	snprintf(to, sizeof(to), "%s/images/hostile.wasm", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", img, to);
	CHECK_INT(system(cmd), 0);
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
}

static void destroy_context_ends_blocked_calls(void)
{
	char port[8], mount[1200], fifo[1300];
	const char *recv_argv[] = {"recv", "127.0.0.1", port, NULL};
	const char *connect_argv[] = {"connect", "127.0.0.1", port, NULL};
	const char *open_argv[] = {"open-read", "/data/fifo", NULL};
	const char *mounts[] = {mount, NULL};
	int l = listener(port), client;

	destroy_context_ends(recv_argv, net_caps, NULL);
	close(l);
	l = full_listener(port, &client);
	destroy_context_ends(connect_argv, net_caps, NULL);
	close(client);
	close(l);
	make_fifo("fifo-destroy", mount, fifo);
	destroy_context_ends(open_argv, NULL, mounts);
}

int main(void)
{
	test_setup();
	RUN(kill_in_sock_accept);
	RUN(kill_in_sock_recv);
	RUN(kill_in_sock_poll);
	RUN(kill_in_sock_send);
	RUN(kill_in_fifo_read);
	RUN(kill_in_fifo_poll);
	RUN(fifo_data_ends_the_wait);
	RUN(kill_in_write_to_full_pipe_after_renumber);
	RUN(kill_in_sock_connect);
	RUN(stop_ends_a_blocked_connect);
	RUN(kill_in_fifo_open);
	RUN(fifo_open_ends_when_the_other_side_comes);
	RUN(destroy_context_ends_blocked_calls);
	test_teardown();
	return test_finish();
}
