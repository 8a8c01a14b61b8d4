/* Argument checks WAMR 1.1.2 misses, in front of its implementation.
 *
 *  fd_filestat_set_times  accepts ATIM with ATIM_NOW (or MTIM with MTIM_NOW)
 *                         and picks one; WASI says EINVAL (its
 *                         path_filestat_set_times already checks)
 *  sock_shutdown          shutdown()s any fd and reports success whatever
 *                         happened, ignoring `how` (always both
 *                         directions): here a non-socket is ENOTSOCK, `how`
 *                         must be RD, WR or both (EINVAL), and the call's
 *                         own error (ENOTCONN...) is reported */
#include <errno.h>
#include <sys/socket.h>

#include "engine.h"
#include "fdtable.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

#define ORIGINAL(exec_env) wasm_runtime_get_function_attachment(exec_env)

static bool enter(wasm_exec_env_t exec_env)
{
	if (ocre_wasi_checkpoint(ocre_wamr_from_exec_env(exec_env)))
		return true;
	wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
	return false;
}

uint32_t ocre_wasi_fd_filestat_set_times(wasm_exec_env_t exec_env, uint32_t fd, uint64_t atim, uint64_t mtim,
                                         uint32_t fstflags)
{
	if (!enter(exec_env))
		return __WASI_EINTR;
	if (((fstflags & __WASI_FILESTAT_SET_ATIM) && (fstflags & __WASI_FILESTAT_SET_ATIM_NOW)) ||
	    ((fstflags & __WASI_FILESTAT_SET_MTIM) && (fstflags & __WASI_FILESTAT_SET_MTIM_NOW)))
		return __WASI_EINVAL;
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t, uint64_t, uint64_t, uint32_t))ORIGINAL(exec_env))(
		   exec_env, fd, atim, mtim, fstflags) &
	       0xffffu;
}

uint32_t ocre_wasi_sock_shutdown(wasm_exec_env_t exec_env, uint32_t fd, uint32_t how)
{
	const struct wamr_fd_entry *e;
	int host_how;

	if (!enter(exec_env))
		return __WASI_EINTR;
	if (!(e = ocre_wamr_fd_entry(exec_env, fd)))
		return __WASI_EBADF;
	if (e->object->type != __WASI_FILETYPE_SOCKET_STREAM && e->object->type != __WASI_FILETYPE_SOCKET_DGRAM)
		return __WASI_ENOTSOCK;
	switch (how) {
	case __WASI_SHUT_RD:
		host_how = SHUT_RD;
		break;
	case __WASI_SHUT_WR:
		host_how = SHUT_WR;
		break;
	case __WASI_SHUT_RD | __WASI_SHUT_WR:
		host_how = SHUT_RDWR;
		break;
	default:
		return __WASI_EINVAL;
	}
	if (shutdown(e->object->number, host_how) == 0)
		return 0;
	switch (errno) {
	case ENOTCONN:
		return __WASI_ENOTCONN;
	case ENOTSOCK:
		return __WASI_ENOTSOCK;
	case EINVAL:
		return __WASI_EINVAL;
	case EBADF:
		return __WASI_EBADF;
	default:
		return __WASI_EIO;
	}
}
