/* ocre-oci: the console of a terminal container (see console.h). */
#define _GNU_SOURCE
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "log.h"

static int send_fd(int sock, int fd, const char *name)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {0};
	struct cmsghdr *cmsg;

	memset(control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int oci_console_open(const char *socket_path, char *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int master, slave = -1, sock;
	char *name;

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return oci_errf(err, "console socket path %s is too long", socket_path);
	strcpy(addr.sun_path, socket_path);
	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return oci_errf(err, "cannot open a pseudo-terminal: %s", strerror(errno));
	if (grantpt(master) != 0 || unlockpt(master) != 0 || !(name = ptsname(master))) {
		oci_errf(err, "cannot set up the pseudo-terminal: %s", strerror(errno));
		goto out_master;
	}
	if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		oci_errf(err, "cannot open %s: %s", name, strerror(errno));
		goto out_master;
	}
	if ((sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		oci_errf(err, "console socket: %s", strerror(errno));
		goto out_slave;
	}
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0 || send_fd(sock, master, name) != 0) {
		oci_errf(err, "cannot hand the console to %s: %s", socket_path, strerror(errno));
		close(sock);
		goto out_slave;
	}
	close(sock);
	close(master);
	return slave;
out_slave:
	close(slave);
out_master:
	close(master);
	return -1;
}
