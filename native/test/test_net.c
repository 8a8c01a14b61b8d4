/* The `networking` capability: WASI sockets reach a TCP server on 127.0.0.1
 * with it, and are refused without it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

static int server_fd;
static char received[256];

/* Accept one connection, read the message, answer, close. */
static void *serve_one(void *arg)
{
	int fd = accept(server_fd, NULL, NULL);
	ssize_t n;
	(void)arg;
	if (fd < 0)
		return NULL;
	n = read(fd, received, sizeof(received) - 1);
	if (n > 0)
		received[n] = '\0';
	if (write(fd, "pong:", 5) != 5 || write(fd, received, strlen(received)) < 0)
		perror("write");
	close(fd);
	return NULL;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&addr, &len);
	*port = ntohs(addr.sin_port);
	return fd;
}

static char *run_net(const char **caps, int port, int *status)
{
	char port_text[16];
	const char *argv[] = {"connect", "127.0.0.1", port_text, "ping", NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = caps};

	snprintf(port_text, sizeof(port_text), "%d", port);
	return test_run_capture("net.wasm", NULL, &args, 0, status, NULL);
}

static void networking_capability_allows_tcp(void)
{
	const char *caps[] = {"networking", NULL};
	pthread_t server;
	int port = 0, status = -1;
	char *out;

	server_fd = listen_loopback(&port);
	CHECK(server_fd >= 0);
	pthread_create(&server, NULL, serve_one, NULL);
	out = run_net(caps, port, &status);
	pthread_join(server, NULL);
	close(server_fd);
	CHECK_STR(received, "ping");
	CHECK_STR(out, "pong:ping");
	CHECK_INT(status, 0);
	free(out);
}

static void without_networking_sockets_are_refused(void)
{
	int port = 0, status = -1;
	char *out;

	server_fd = listen_loopback(&port);
	out = run_net(NULL, port, &status);
	close(server_fd);
	CHECK_STR(out, "error: connect: Permission denied\n");
	CHECK_INT(status, 1);
	free(out);
}

int main(void)
{
	test_setup();
	RUN(networking_capability_allows_tcp);
	RUN(without_networking_sockets_are_refused);
	test_teardown();
	return test_finish();
}
