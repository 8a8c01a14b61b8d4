/* WASI I/O that a kill, stop or pause can interrupt.
 *
 * A guest can block in the OS on any fd that is not a regular file: pipes
 * and FIFOs (its stdio, or a FIFO in a mount), sockets (accept, recv, send),
 * terminals. WAMR 1.1.2 calls read(2)/write(2)/accept(2)/... directly, and
 * those only return when the other side acts. So every call that may block
 * is preceded by a poll(2) of the fd's host fd together with the container's
 * wake eventfd (which kill, stop and unpause signal), and only runs once the
 * fd is ready:
 *  - reads (fd_read, sock_recv, sock_recv_from) and sock_accept: ready means
 *    data (or a connection) is there, so the call returns without blocking;
 *  - writes (fd_write on a stream, sock_send): ready means some room, but a
 *    write larger than the room would still block, so the engine writes
 *    itself, at most the room a pipe has (F_GETPIPE_SZ - FIONREAD) and on
 *    sockets with MSG_DONTWAIT, and reports a partial write (WASI allows it;
 *    libc loops).
 * The host fd comes from WAMR's fd table by the guest's fd number at the time
 * of the call, so fds the guest renumbered (fd_renumber(1, 0)) or opened
 * itself are covered like its stdio. An fd the guest made non-blocking is
 * left alone (it expects EAGAIN, not a wait). Regular files and directories
 * never block and are not polled.
 *
 * Opens and connects, which block in the OS before there is an fd to poll,
 * are made non-blocking: path_open opens with O_NONBLOCK (a FIFO without a
 * writer opens at once, its read then waits as above; one without a reader
 * is opened again every OPEN_RETRY_MS in a kill-aware sleep) and clears it
 * unless the guest asked for it; sock_connect waits for EINPROGRESS to end
 * like the other calls.
 *
 * Stop: a read of the run's stdin returns end-of-file once drained (as if
 * its writer had closed it). Pause: a paused container parks before the call
 * and in the wait. */
#define _GNU_SOURCE /* F_GETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fdtable.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

/* WAMR's (sandboxed-system-primitives/src/posix.h, see stdio.c) */
bool fd_table_insert_existing(struct fd_table *, __wasi_fd_t, int);

#include <ocre/platform/log.h>
#include <ocre/platform/system.h>

LOG_MODULE_REGISTER(wamr_wasi_io);

#define ORIGINAL(exec_env) wasm_runtime_get_function_attachment(exec_env)

/* How often an open of a FIFO for writing looks for a reader again (a kill
 * or pause ends the wait at once). */
#define OPEN_RETRY_MS 10

/* The host fd behind guest fd @p fd if a call on it may block (not a regular
 * file or directory, not made non-blocking), else -1. */
static int blocking_host_fd(wasm_exec_env_t exec_env, uint32_t fd, __wasi_rights_t *rights)
{
	struct wamr_fd_entry *e = ocre_wamr_fd_entry(exec_env, fd);
	int flags;

	if (!e || e->object->type == __WASI_FILETYPE_REGULAR_FILE || e->object->type == __WASI_FILETYPE_DIRECTORY)
		return -1;
	flags = fcntl(e->object->number, F_GETFL);
	if (flags < 0 || (flags & O_NONBLOCK))
		return -1;
	if (rights)
		*rights = e->rights_base;
	return e->object->number;
}

/* ---- discarded stdio: no host fd, served as /dev/null would ---- */

/* Is guest fd @p fd a discarded stdio stream (still absent from the table:
 * the guest may have put another fd there since)? */
static bool discarded(wasm_exec_env_t exec_env, struct wamr_container *wc, uint32_t fd)
{
	return fd <= 2 && wc->ignored[fd] && !ocre_wamr_fd_entry(exec_env, fd);
}

/* Writes to a discarded stream: all of it, as /dev/null takes it. */
static uint32_t discard_write(wasm_exec_env_t exec_env, const void *iovs_native, uint32_t iovs_len, uint32_t *written)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const uint32_t *gio = iovs_native; /* {buf_offset, buf_len} pairs */
	uint64_t total = 0;
	uint32_t i;

	if ((uint64_t)iovs_len * 8 > UINT32_MAX ||
	    !wasm_runtime_validate_native_addr(inst, (void *)gio, iovs_len * 8) ||
	    !wasm_runtime_validate_native_addr(inst, written, sizeof(*written)))
		return __WASI_EFAULT;
	for (i = 0; i < iovs_len; i++) {
		if (!wasm_runtime_validate_app_addr(inst, gio[2 * i], gio[2 * i + 1]))
			return __WASI_EFAULT;
		total += gio[2 * i + 1];
	}
	*written = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	return 0;
}

/* The host fd behind guest fd @p fd (any type), or -1. */
static int any_host_fd(wasm_exec_env_t exec_env, uint32_t fd)
{
	struct wamr_fd_entry *e = ocre_wamr_fd_entry(exec_env, fd);
	return e ? e->object->number : -1;
}

static int wake_fd_locked(struct wamr_container *wc)
{
	if (wc->wake_fd < 0)
		wc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return wc->wake_fd;
}

static int bytes_available(int fd)
{
	int n = 0;
	if (ioctl(fd, FIONREAD, &n) != 0)
		return 0;
	return n;
}

static void kill_guest(wasm_exec_env_t exec_env)
{
	wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
}

/* The start of every override: the caller's container, parked while it is
 * paused; NULL once it is killed (the guest's exception set). */
static struct wamr_container *enter_call(wasm_exec_env_t exec_env)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);

	if (ocre_wasi_checkpoint(wc))
		return wc;
	kill_guest(exec_env);
	return NULL;
}

/* Take the container's lock and park while it is paused. false if killed
 * (lock released, exception set); true with the lock held. */
static bool park_locked(wasm_exec_env_t exec_env, struct wamr_container *wc)
{
	pthread_mutex_lock(&wc->lock);
	while (wc->pause_flag && !wc->kill_flag)
		pthread_cond_wait(&wc->cond, &wc->lock);
	if (wc->kill_flag) {
		pthread_mutex_unlock(&wc->lock);
		kill_guest(exec_env);
		return false;
	}
	return true;
}

/* Wait until @p host_fd is ready for @p events. false if killed (exception
 * set); true when ready or when the fd cannot be polled (the call then
 * reports the error). With @p stopped, a stop request with nothing left to
 * read sets *stopped. */
static bool wait_fd(wasm_exec_env_t exec_env, struct wamr_container *wc, int host_fd, short events, bool *stopped)
{
	for (;;) {
		struct pollfd pfd[2];
		int wake, n;

		if (!park_locked(exec_env, wc))
			return false;
		if (stopped && wc->stop_flag) {
			pthread_mutex_unlock(&wc->lock);
			/* like closing the pipe's write end: what was written is
			 * still read, then end-of-file */
			*stopped = bytes_available(host_fd) == 0;
			return true;
		}
		wake = wake_fd_locked(wc);
		pthread_mutex_unlock(&wc->lock);
		if (wake < 0)
			return true; /* no eventfd (fd limit): WAMR's blocking call */

		pfd[0].fd = host_fd;
		pfd[0].events = events;
		pfd[1].fd = wake;
		pfd[1].events = POLLIN;
		ocre_platform_container_thread_waits();
		n = poll(pfd, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (pfd[0].revents & POLLNVAL))
			return true;
		if (pfd[1].revents & POLLIN) {
			uint64_t drain;
			while (read(wake, &drain, sizeof(drain)) > 0)
				;
			continue; /* re-check kill/pause/stop */
		}
		if (pfd[0].revents)
			return true;
	}
}

static int run_stdin(struct wamr_container *wc)
{
	int fd;
	pthread_mutex_lock(&wc->lock);
	fd = wc->run_fds[0];
	pthread_mutex_unlock(&wc->lock);
	return fd;
}

uint32_t ocre_wasi_fd_read(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, void *nread)
{
	struct wamr_container *wc;
	bool stopped = false;
	int host;

	if (!(wc = enter_call(exec_env)))
		return __WASI_EINTR;
	if (discarded(exec_env, wc, (uint32_t)fd)) {
		uint32_t *out = (uint32_t *)(uintptr_t)nread;
		if (!wasm_runtime_validate_native_addr(wasm_runtime_get_module_inst(exec_env), out, sizeof(*out)))
			return __WASI_EFAULT;
		*out = 0; /* end-of-file */
		return 0;
	}
	host = blocking_host_fd(exec_env, (uint32_t)fd, NULL);
	if (host >= 0) {
		if (!wait_fd(exec_env, wc, host, POLLIN, host == run_stdin(wc) ? &stopped : NULL))
			return __WASI_EINTR;
		if (stopped) {
			wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
			uint32_t *out = (uint32_t *)(uintptr_t)nread;
			if (!wasm_runtime_validate_native_addr(inst, out, sizeof(uint32_t)))
				return __WASI_EFAULT;
			*out = 0; /* end-of-file: the container was asked to stop */
			return 0;
		}
	}
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t, void *, uint32_t, void *))ORIGINAL(exec_env))(
		   exec_env, fd, iovs, iovs_len, nread) &
	       0xffffu;
}

/* ---- writes that never block for longer than a kill ---- */

struct guest_iovec {
	uint32_t buf_offset;
	uint32_t buf_len;
};

static uint16_t wasi_errno(int e)
{
	switch (e) {
	case EPIPE:
		return __WASI_EPIPE;
	case ECONNRESET:
		return __WASI_ECONNRESET;
	case ENOTCONN:
		return __WASI_ENOTCONN;
	case ENOSPC:
		return __WASI_ENOSPC;
	case EFBIG:
		return __WASI_EFBIG;
	case EBADF:
		return __WASI_EBADF;
	case EINVAL:
		return __WASI_EINVAL;
	case EDESTADDRREQ:
		return __WASI_EDESTADDRREQ;
	case EMSGSIZE:
		return __WASI_EMSGSIZE;
	case ENOBUFS:
	case ENOMEM:
		return __WASI_ENOMEM;
	default:
		return __WASI_EIO;
	}
}

/* How many bytes a write to @p fd can take without blocking (a guess for
 * anything but pipes, where it is exact). */
static size_t write_room(int fd, bool socket)
{
	int size, used;

	if (socket)
		return SIZE_MAX; /* MSG_DONTWAIT takes what fits */
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size <= 0)
		return SIZE_MAX; /* not a pipe: a terminal or device */
	used = bytes_available(fd);
	return size > used ? (size_t)(size - used) : 1;
}

/* Write the guest's iovecs to stream @p host, waiting (killable) for room,
 * never more than fits: a partial count in *@p written. 0 or a WASI errno. */
static uint32_t stream_write(wasm_exec_env_t exec_env, struct wamr_container *wc, int host, const void *iovs_native,
                             uint32_t iovs_len, uint32_t *written)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const struct guest_iovec *gio = iovs_native;
	struct iovec io[64];
	struct stat st;
	bool socket;
	uint32_t i;

	if ((uint64_t)iovs_len * sizeof(*gio) > UINT32_MAX ||
	    !wasm_runtime_validate_native_addr(inst, (void *)gio, iovs_len * (uint32_t)sizeof(*gio)) ||
	    !wasm_runtime_validate_native_addr(inst, written, sizeof(*written)))
		return __WASI_EFAULT;
	for (i = 0; i < iovs_len; i++)
		if (!wasm_runtime_validate_app_addr(inst, gio[i].buf_offset, gio[i].buf_len))
			return __WASI_EFAULT;
	socket = fstat(host, &st) == 0 && S_ISSOCK(st.st_mode);

	for (;;) {
		size_t room, total = 0;
		int n = 0;
		ssize_t r;

		if (!wait_fd(exec_env, wc, host, POLLOUT, NULL))
			return __WASI_EINTR;
		room = write_room(host, socket);
		for (i = 0; i < iovs_len && n < (int)(sizeof(io) / sizeof(io[0])) && total < room; i++) {
			size_t len = gio[i].buf_len;
			if (len == 0)
				continue;
			if (len > room - total)
				len = room - total;
			io[n].iov_base = wasm_runtime_addr_app_to_native(inst, gio[i].buf_offset);
			io[n].iov_len = len;
			total += len;
			n++;
		}
		if (n == 0) {
			*written = 0;
			return 0;
		}
		if (socket) {
			struct msghdr msg;
			memset(&msg, 0, sizeof(msg));
			msg.msg_iov = io;
			msg.msg_iovlen = (size_t)n;
			r = sendmsg(host, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			r = writev(host, io, n);
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue; /* the room went meanwhile: wait again */
		if (r < 0)
			return wasi_errno(errno);
		*written = (uint32_t)r;
		return 0;
	}
}

/* The host fd of guest fd @p fd if it may block and the guest may write to
 * it, else -1 (WAMR's own function then serves, or reports the missing
 * right). */
static int writable_host_fd(wasm_exec_env_t exec_env, uint32_t fd)
{
	__wasi_rights_t rights = 0;
	int host = blocking_host_fd(exec_env, fd, &rights);

	return host >= 0 && (rights & __WASI_RIGHT_FD_WRITE) ? host : -1;
}

uint32_t ocre_wasi_fd_write(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, void *nwritten)
{
	struct wamr_container *wc;
	int host, stream;

	if (!(wc = enter_call(exec_env)))
		return __WASI_EINTR;
	if (discarded(exec_env, wc, (uint32_t)fd))
		return discard_write(exec_env, (const void *)(uintptr_t)iovs, (uint32_t)iovs_len,
		                     (uint32_t *)(uintptr_t)nwritten);
	if ((stream = ocre_wamr_output_stream(exec_env, wc, (uint32_t)fd)) != 0)
		return ocre_wamr_output_write(exec_env, wc, stream, (const void *)(uintptr_t)iovs, (uint32_t)iovs_len,
		                              (uint32_t *)(uintptr_t)nwritten);
	if ((host = writable_host_fd(exec_env, (uint32_t)fd)) < 0)
		return ((uint32_t(*)(wasm_exec_env_t, uint32_t, void *, uint32_t, void *))ORIGINAL(exec_env))(
			   exec_env, fd, iovs, iovs_len, nwritten) &
		       0xffffu;
	return stream_write(exec_env, wc, host, (const void *)(uintptr_t)iovs, (uint32_t)iovs_len,
	                    (uint32_t *)(uintptr_t)nwritten);
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen) */
uint32_t ocre_wasi_sock_send(wasm_exec_env_t exec_env, uint32_t fd, void *iovs, uint32_t iovs_len, uint32_t flags,
                             void *sent)
{
	struct wamr_container *wc;
	int host = -1;

	if (!(wc = enter_call(exec_env)))
		return __WASI_EINTR;
	if ((uint32_t)flags != 0 || (host = writable_host_fd(exec_env, (uint32_t)fd)) < 0)
		return ((uint32_t(*)(wasm_exec_env_t, uint32_t, void *, uint32_t, uint32_t, void *))ORIGINAL(exec_env))(
			   exec_env, fd, iovs, iovs_len, flags, sent) &
		       0xffffu;
	return stream_write(exec_env, wc, host, (const void *)(uintptr_t)iovs, (uint32_t)iovs_len,
	                    (uint32_t *)(uintptr_t)sent);
}

/* Calls whose first argument is the fd and that block until it is readable
 * (sock_accept, sock_recv, sock_recv_from) or writable (sock_send_to): wait,
 * then WAMR's function, called with the same parameter types. */
static bool wait_for(wasm_exec_env_t exec_env, uint32_t fd, short events)
{
	struct wamr_container *wc;
	int host;

	if (!(wc = enter_call(exec_env)))
		return false;
	host = blocking_host_fd(exec_env, (uint32_t)fd, NULL);
	return host < 0 || wait_fd(exec_env, wc, host, events, NULL);
}

uint32_t ocre_wasi_sock_accept(wasm_exec_env_t exec_env, uint32_t fd, uint32_t flags, void *fd_new)
{
	if (!wait_for(exec_env, fd, POLLIN))
		return __WASI_EINTR;
	if (!ocre_wasi_fd_room(exec_env))
		return __WASI_EMFILE; /* the connection stays queued */
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t, uint32_t, void *))ORIGINAL(exec_env))(exec_env, fd, flags,
	                                                                                      fd_new) &
	       0xffffu;
}

/* sock_recv, sock_recv_from, sock_send_to: (fd, data, data_len, flags,
 * pointer, pointer): wait for @p events, then WAMR's function. */
static uint32_t wait_then_call6(wasm_exec_env_t exec_env, short events, uint32_t fd, void *a2, uint32_t a3, uint32_t a4,
                                void *a5, void *a6)
{
	if (!wait_for(exec_env, fd, events))
		return __WASI_EINTR;
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t, void *, uint32_t, uint32_t, void *, void *))ORIGINAL(exec_env))(
		   exec_env, fd, a2, a3, a4, a5, a6) &
	       0xffffu;
}

/* sock_recv and sock_recv_from: (fd, ri_data, ri_data_len, ri_flags, ro_data_len|src_addr, ro_flags|ro_data_len) */
uint32_t ocre_wasi_sock_recv(wasm_exec_env_t exec_env, uint32_t fd, void *a2, uint32_t a3, uint32_t a4, void *a5,
                             void *a6)
{
	return wait_then_call6(exec_env, POLLIN, fd, a2, a3, a4, a5, a6);
}

/* sock_send_to: (fd, si_data, si_data_len, si_flags, dest_addr, so_data_len) (datagrams) */
uint32_t ocre_wasi_sock_send_to(wasm_exec_env_t exec_env, uint32_t fd, void *a2, uint32_t a3, uint32_t a4, void *a5,
                                void *a6)
{
	return wait_then_call6(exec_env, POLLOUT, fd, a2, a3, a4, a5, a6);
}

/* sock_connect(fd, addr): a connect on a blocking socket waits for the
 * peer's answer (a full accept queue: minutes of SYN retries). It is made
 * non-blocking for the call, and EINPROGRESS is waited for like the other
 * calls (kill, pause), its outcome read with SO_ERROR. */
uint32_t ocre_wasi_sock_connect(wasm_exec_env_t exec_env, uint32_t fd, void *addr)
{
	typedef uint32_t (*connect_fn)(wasm_exec_env_t, uint32_t, void *);
	struct wamr_container *wc;
	int host, flags, soerr = 0;
	socklen_t len = sizeof(soerr);
	uint32_t err;

	if (!(wc = enter_call(exec_env)))
		return __WASI_EINTR;
	host = blocking_host_fd(exec_env, (uint32_t)fd, NULL);
	if (host < 0 || (flags = fcntl(host, F_GETFL)) < 0 || fcntl(host, F_SETFL, flags | O_NONBLOCK) != 0)
		return ((connect_fn)ORIGINAL(exec_env))(exec_env, fd, addr) & 0xffffu;
	err = ((connect_fn)ORIGINAL(exec_env))(exec_env, fd, addr) & 0xffffu;
	if (err == __WASI_EINPROGRESS) {
		if (!wait_fd(exec_env, wc, host, POLLOUT, NULL)) {
			err = __WASI_EINTR;
		} else {
			/* wait_fd() without an eventfd (fd exhaustion) did not wait */
			struct pollfd p = {.fd = host, .events = POLLOUT};
			while (poll(&p, 1, -1) < 0 && errno == EINTR)
				;
			if (getsockopt(host, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
				soerr = errno;
			err = soerr ? wasi_errno(soerr) : 0;
		}
	}
	fcntl(host, F_SETFL, flags);
	return err;
}

/* Is @p path (@p len bytes, relative to guest directory fd @p dirfd) a FIFO?
 * Only asked after WAMR's own sandboxed lookup opened it with ENXIO; a link
 * is not followed. */
static bool is_fifo(wasm_exec_env_t exec_env, uint32_t dirfd, const char *path, uint32_t len)
{
	char name[PATH_MAX];
	struct stat st;
	int dir = any_host_fd(exec_env, dirfd);

	if (dir < 0 || len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, path, len);
	name[len] = '\0';
	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode);
}

uint32_t ocre_wasi_open_nonblocking(wasm_exec_env_t exec_env, uint32_t dirfd, uint32_t dirflags, void *path,
                                    uint32_t path_len, uint32_t oflags, uint64_t rights_base,
                                    uint64_t rights_inheriting, uint32_t fdflags, void *fd_out)
{
	typedef uint32_t (*open_fn)(wasm_exec_env_t, uint32_t, uint32_t, void *, uint32_t, uint32_t, uint64_t, uint64_t,
	                            uint32_t, void *);
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	bool asked = (fdflags & __WASI_FDFLAG_NONBLOCK) != 0;
	uint32_t err;

	for (;;) {
		err = ((open_fn)ORIGINAL(exec_env))(exec_env, dirfd, dirflags, path, path_len, oflags, rights_base,
		                                    rights_inheriting, fdflags | __WASI_FDFLAG_NONBLOCK, fd_out) &
		      0xffffu;
		if (err == 0) {
			/* WAMR validated fd_out and wrote the new fd there */
			int host = asked ? -1 : any_host_fd(exec_env, *(uint32_t *)fd_out), flags;
			if (host >= 0 && (flags = fcntl(host, F_GETFL)) >= 0)
				fcntl(host, F_SETFL, flags & ~O_NONBLOCK);
			return 0;
		}
		/* ENXIO: a FIFO opened for writing that has no reader yet */
		if (err != __WASI_ENXIO || asked || !is_fifo(exec_env, dirfd, path, path_len))
			return err;
		if (!ocre_wasi_sleep_ms(wc, OPEN_RETRY_MS)) {
			kill_guest(exec_env);
			return __WASI_EINTR;
		}
	}
}

/* ---- poll_oneoff with fd subscriptions ---- */

uint32_t ocre_wasi_poll_fds(wasm_exec_env_t exec_env, const __wasi_subscription_t *in, __wasi_event_t *out,
                            uint32_t nsubs, uint64_t deadline, uint32_t *nevents)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	struct pollfd *pfd = calloc((size_t)nsubs + 1, sizeof(*pfd));
	uint32_t i, n = 0;

	if (!pfd)
		return __WASI_ENOMEM;
	for (i = 0; i < nsubs; i++) {
		pfd[i].fd = -1; /* clocks: poll() ignores negative fds */
		if (in[i].u.type == __WASI_EVENTTYPE_FD_READ || in[i].u.type == __WASI_EVENTTYPE_FD_WRITE) {
			int host = any_host_fd(exec_env, in[i].u.u.fd_readwrite.fd);
			if (host < 0) {
				/* a closed guest fd: an event with its error, at once */
				memset(&out[n], 0, sizeof(out[n]));
				out[n].userdata = in[i].userdata;
				out[n].type = in[i].u.type;
				out[n].error = __WASI_EBADF;
				n++;
				continue;
			}
			pfd[i].fd = host;
			pfd[i].events = in[i].u.type == __WASI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
		}
	}
	while (n == 0) {
		struct timespec ts, *timeout = NULL;
		uint64_t now;
		int wake, r;

		if (!park_locked(exec_env, wc)) {
			free(pfd);
			return __WASI_EINTR;
		}
		wake = wake_fd_locked(wc);
		pthread_mutex_unlock(&wc->lock);
		pfd[nsubs].fd = wake;
		pfd[nsubs].events = POLLIN;
		if (deadline != UINT64_MAX) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
			if (deadline <= now) {
				ts.tv_sec = 0;
				ts.tv_nsec = 0;
			} else {
				ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
				ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
			}
			timeout = &ts;
		}
		ocre_platform_container_thread_waits();
		r = ppoll(pfd, (nfds_t)nsubs + 1, timeout, NULL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(pfd);
			return __WASI_EIO;
		}
		if (wake >= 0 && (pfd[nsubs].revents & POLLIN)) {
			uint64_t drain;
			while (read(wake, &drain, sizeof(drain)) > 0)
				;
			if (r == 1)
				continue; /* only the wake-up: re-check kill/pause */
		}
		for (i = 0; i < nsubs; i++) {
			short rev = pfd[i].fd >= 0 ? pfd[i].revents : 0;
			if (!rev)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].userdata = in[i].userdata;
			out[n].type = in[i].u.type;
			if (rev & POLLNVAL) {
				out[n].error = __WASI_EBADF;
			} else if ((rev & POLLERR) && !(rev & (POLLIN | POLLOUT))) {
				out[n].error = __WASI_EIO;
			} else {
				if (in[i].u.type == __WASI_EVENTTYPE_FD_READ)
					out[n].u.fd_readwrite.nbytes = (__wasi_filesize_t)bytes_available(pfd[i].fd);
				if (rev & POLLHUP)
					out[n].u.fd_readwrite.flags = __WASI_EVENT_FD_READWRITE_HANGUP;
			}
			n++;
		}
		if (n == 0 && r == 0)
			break; /* the guest's timeout: the caller reports its clocks */
	}
	free(pfd);
	*nevents = n;
	return 0;
}

/* fd_renumber(from, to) onto a discarded stdio stream: renumbering needs an
 * fd in slot `to`, so one /dev/null goes there first (renumbering closes it);
 * the guest sees what it would with /dev/null as that stream. The renumbering
 * itself is wasi_preopen.c's. */
uint32_t ocre_wasi_fd_renumber(wasm_exec_env_t exec_env, uint32_t from, uint32_t to)
{
	struct wamr_container *wc;
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(wasm_runtime_get_module_inst(exec_env));

	if (!(wc = enter_call(exec_env)))
		return __WASI_EINTR;
	if (wasi && discarded(exec_env, wc, (uint32_t)to) && any_host_fd(exec_env, (uint32_t)from) >= 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC), fd = nul < 0 ? -1 : fcntl(nul, F_DUPFD_CLOEXEC, 3);
		if (nul >= 0)
			close(nul);
		if (fd < 0)
			return __WASI_ENFILE;
		if (!fd_table_insert_existing(wasi->curfds, (__wasi_fd_t)to, fd)) {
			close(fd);
			return __WASI_ENOMEM;
		}
	}
	return ocre_wasi_renumber(exec_env, from, to);
}
