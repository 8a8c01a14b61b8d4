/* Preopened directories: their guest names, closing and renumbering them.
 *
 * WAMR 1.1.2 gets three things wrong here:
 *  - "map dirs" are ignored: its prestat table holds each preopen's host
 *    path, which fd_prestat_get / fd_prestat_dir_name would show the guest;
 *  - fd_close of a preopen and fd_renumber from or onto one fail with
 *    ENOTSUP (a guest cannot drop a directory it was given, and programs
 *    that dup2() over fd 3 abort);
 *  - fd_renumber counts one fd too few each time: its table's `used` drifts
 *    below the fds really open, which defeats the open-file limit of
 *    wasi_fdlimit.c and keeps the table from growing until it is full, when
 *    the next open spins forever looking for a free slot; and
 *    fd_renumber(n, n) closes n, then uses it (the host process crashed).
 * So the engine keeps its own table: wamr_dir.fd is the guest fd each preopen
 * is at (-1 once closed), set at every instantiation (3 + index). Names come
 * from it; closing a preopen drops it there and from WAMR's prestat table
 * (which then lets the fd close); renumbering is done here: `to` is closed as
 * fd_close would, `from`'s entry moves to `to`, and a preopen moves with its
 * fd (the guest's libc finds it under its name at the new number), as in
 * wasmtime. Only the container's own thread touches its fd tables. */
#include <string.h>

#include "engine.h"
#include "fdtable.h"
#include "locking.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

/* WAMR's private prestat entry (posix.c; the version is pinned) */
struct wamr_prestat {
	const char *dir;
};

#define ORIGINAL(exec_env) wasm_runtime_get_function_attachment(exec_env)

/* The WASI ABI's prestat: a tag (0: a directory) and the name's length. */
struct wasi_prestat_abi {
	uint8_t tag;
	uint8_t pad[3];
	uint32_t name_len;
};

static bool enter(wasm_exec_env_t exec_env)
{
	if (ocre_wasi_checkpoint(ocre_wamr_from_exec_env(exec_env)))
		return true;
	wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
	return false;
}

void ocre_wasi_preopens_reset(struct wamr_container *wc)
{
	int i;

	for (i = 0; i < wc->ndirs; i++)
		wc->dirs[i].fd = 3 + i;
}

/* The preopen at guest fd @p fd, or NULL. */
static struct wamr_dir *preopen_at(struct wamr_container *wc, uint32_t fd)
{
	int i;

	for (i = 0; i < wc->ndirs; i++)
		if (wc->dirs[i].fd >= 0 && (uint32_t)wc->dirs[i].fd == fd)
			return &wc->dirs[i];
	return NULL;
}

/* Drop WAMR's prestat entry of @p fd, if any: the fd is no longer a preopen
 * for WAMR (fd_close then closes it; path_link stops checking against it). */
static void drop_wamr_prestat(WASIContext *wasi, uint32_t fd)
{
	struct fd_prestats *pt = wasi->prestats;
	struct wamr_prestat *p;

	if (!pt)
		return;
	rwlock_wrlock(&pt->lock);
	if (fd < pt->size) {
		p = &((struct wamr_prestat *)pt->prestats)[fd];
		if (p->dir) {
			wasm_runtime_free((void *)p->dir);
			p->dir = NULL;
		}
	}
	rwlock_unlock(&pt->lock);
}

uint32_t ocre_wasi_fd_prestat_get(wasm_exec_env_t exec_env, uint32_t fd, void *prestat)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const struct wamr_dir *dir;
	struct wasi_prestat_abi *p = prestat;

	if (!enter(exec_env))
		return __WASI_EINTR;
	if (!(dir = preopen_at(ocre_wamr_from_exec_env(exec_env), fd)))
		return __WASI_EBADF;
	if (!wasm_runtime_validate_native_addr(inst, p, sizeof(*p)))
		return __WASI_EFAULT;
	memset(p, 0, sizeof(*p));
	p->tag = 0; /* __WASI_PREOPENTYPE_DIR */
	p->name_len = (uint32_t)strlen(dir->guest);
	return 0;
}

uint32_t ocre_wasi_fd_prestat_dir_name(wasm_exec_env_t exec_env, uint32_t fd, void *path, uint32_t path_len)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const struct wamr_dir *dir;
	size_t len;

	if (!enter(exec_env))
		return __WASI_EINTR;
	if (!(dir = preopen_at(ocre_wamr_from_exec_env(exec_env), fd)))
		return __WASI_EBADF;
	len = strlen(dir->guest);
	if (path_len < len)
		return __WASI_ENAMETOOLONG;
	if (!wasm_runtime_validate_native_addr(inst, path, path_len))
		return __WASI_EFAULT;
	memcpy(path, dir->guest, len); /* not NUL-terminated, as WASI says */
	return 0;
}

uint32_t ocre_wasi_fd_close(wasm_exec_env_t exec_env, uint32_t fd)
{
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(wasm_runtime_get_module_inst(exec_env));
	struct wamr_dir *dir;

	if (!enter(exec_env))
		return __WASI_EINTR;
	ocre_wamr_output_forget(exec_env, ocre_wamr_from_exec_env(exec_env), fd);
	if (wasi && (dir = preopen_at(ocre_wamr_from_exec_env(exec_env), fd)) && ocre_wamr_fd_entry(exec_env, fd)) {
		drop_wamr_prestat(wasi, fd);
		dir->fd = -1;
	}
	return ((uint32_t(*)(wasm_exec_env_t, uint32_t))ORIGINAL(exec_env))(exec_env, fd) & 0xffffu;
}

uint32_t ocre_wasi_renumber(wasm_exec_env_t exec_env, uint32_t from, uint32_t to)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(wasm_runtime_get_module_inst(exec_env));
	struct wamr_fd_entry *entries;
	struct wamr_dir *moved, *closed;
	uint32_t err;

	if (!wasi || !wasi->curfds)
		return __WASI_EINVAL;
	if (!ocre_wamr_fd_entry(exec_env, from) || !ocre_wamr_fd_entry(exec_env, to))
		return __WASI_EBADF;
	if (from == to)
		return 0;
	moved = preopen_at(wc, from);
	closed = preopen_at(wc, to);
	/* `to` closes as fd_close would (a preopen there ends) */
	ocre_wamr_output_forget(exec_env, wc, to);
	drop_wamr_prestat(wasi, to);
	if (closed)
		closed->fd = -1;
	err = wasmtime_ssp_fd_close(wasi->curfds, wasi->prestats, (__wasi_fd_t)to);
	if (err)
		return err;
	/* `from`'s entry (object and rights) moves to the free slot `to`: as
	 * many fds are open as after the close */
	drop_wamr_prestat(wasi, from);
	rwlock_wrlock(&wasi->curfds->lock);
	entries = (struct wamr_fd_entry *)wasi->curfds->entries;
	entries[to] = entries[from];
	entries[from].object = NULL;
	rwlock_unlock(&wasi->curfds->lock);
	if (moved)
		moved->fd = (int)to;
	return 0;
}
