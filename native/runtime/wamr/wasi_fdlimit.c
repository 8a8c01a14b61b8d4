/* The per-container open-file limit (ocre_container_args.max_open_files).
 *
 * WAMR 1.1.2 lets a guest open fds until the host process runs out
 * (EMFILE), which then fails every other container and the host itself. The
 * calls that add an fd to the guest's table (path_open, sock_open,
 * sock_accept) are refused with EMFILE once the table holds max_open_files
 * entries (stdio and preopened directories count, as they do for
 * RLIMIT_NOFILE). Closing one makes room again. */
#include "engine.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

#define ORIGINAL(exec_env) wasm_runtime_get_function_attachment(exec_env)

bool ocre_wasi_fd_room(wasm_exec_env_t exec_env)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(wasm_runtime_get_module_inst(exec_env));
	/* only this thread changes the table: no lock needed to read it */
	return !wasi || !wasi->curfds || wasi->curfds->used < wc->max_open_files;
}

static bool enter(wasm_exec_env_t exec_env, uint32_t *err)
{
	if (!ocre_wasi_checkpoint(ocre_wamr_from_exec_env(exec_env))) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		*err = __WASI_EINTR;
		return false;
	}
	if (!ocre_wasi_fd_room(exec_env)) {
		*err = __WASI_EMFILE;
		return false;
	}
	return true;
}

/* path_open(dirfd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, fd_out) */
uint32_t ocre_wasi_path_open(wasm_exec_env_t exec_env, uint32_t a1, uint32_t a2, void *a3, uint32_t a4, uint32_t a5,
                             uint64_t a6, uint64_t a7, uint32_t a8, void *a9)
{
	uint32_t err;
	if (!enter(exec_env, &err))
		return err;
	return ocre_wasi_open_nonblocking(exec_env, a1, a2, a3, a4, a5, a6, a7, a8, a9);
}

/* sock_open(poolfd, af, socktype, sockfd_out) */
uint32_t ocre_wasi_sock_open(wasm_exec_env_t exec_env, uint32_t a1, uint32_t a2, uint32_t a3, void *a4)
{
	uint32_t err;
	if (!enter(exec_env, &err))
		return err;
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t, uint32_t, uint32_t, void *))ORIGINAL(exec_env))(exec_env, a1,
	                                                                                                a2, a3, a4) &
	       0xffffu;
}
