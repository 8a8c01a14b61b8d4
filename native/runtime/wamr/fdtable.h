/* A guest's fd table, read from the engine's host functions.
 *
 * WAMR 1.1.2 keeps its fd objects private to posix.c; their layout is
 * mirrored here (the WAMR version is pinned by scripts/fetch-wamr.mjs's
 * integrity check). Only the container's own thread changes its fd table (no
 * wasi-threads), and host functions run on that thread: no lock is needed to
 * read it there. */
#ifndef OCRE_WAMR_FDTABLE_H
#define OCRE_WAMR_FDTABLE_H

#include "refcount.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

struct wamr_fd_object {
	struct refcount refcount;
	__wasi_filetype_t type;
	int number; /* the host fd */
};
struct wamr_fd_entry {
	struct wamr_fd_object *object;
	__wasi_rights_t rights_base;
	__wasi_rights_t rights_inheriting;
};

/* The entry of guest fd @p fd of the calling guest, or NULL (no such fd). */
static inline struct wamr_fd_entry *ocre_wamr_fd_entry(wasm_exec_env_t exec_env, uint32_t fd)
{
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(wasm_runtime_get_module_inst(exec_env));
	struct fd_table *ft = wasi ? wasi->curfds : NULL;
	struct wamr_fd_entry *e;

	if (!ft || fd >= ft->size)
		return NULL;
	e = &((struct wamr_fd_entry *)ft->entries)[fd];
	return e->object ? e : NULL;
}

#endif
