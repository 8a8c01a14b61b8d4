/* path_symlink, checked lexically against the preopen the link lives in.
 *
 * WAMR 1.1.2 checks a link's target with realpath() relative to the host
 * process's working directory: a guest could probe whether any host path
 * exists (the answer differs) and plant links that lead out of its mount for
 * host programs that follow them. Here the target is only text, judged where
 * the link will be:
 *  - absolute targets are refused (they name host paths);
 *  - the link's directory is opened through WAMR's sandboxed path
 *    resolution, and its real depth D below the preopen's root measured;
 *  - the target may start with at most D ".." components and contain none
 *    after its first name ("a/../.." could climb out through a symlink "a").
 * A link made this way resolves inside the preopen whatever the links it
 * passes through, since each of those was held to the same rule. The link is
 * then created with symlinkat() in that directory; nothing is ever resolved
 * against the host's working directory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "fdtable.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

/* Components of @p path below @p root, or -1 if it is not below it. */
static int depth_below(const char *path, const char *root)
{
	size_t n = strlen(root);
	int depth = 0;

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0' && !(n == 1 && root[0] == '/')))
		return -1;
	for (path += n; *path; path++)
		if (*path == '/' && path[1] && path[1] != '/')
			depth++;
	return depth;
}

/* The depth of the directory open as host fd @p dirfd below the deepest
 * preopen root that contains it, or -1. */
static int preopen_depth(struct wamr_container *wc, int dirfd)
{
	char link[64], real[PATH_MAX];
	ssize_t n;
	int i, best = -1, best_len = -1;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n <= 0)
		return -1;
	real[n] = '\0';
	for (i = 0; i < wc->ndirs; i++) {
		int d, len;
		if (!wc->dirs[i].real)
			continue;
		d = depth_below(real, wc->dirs[i].real);
		len = (int)strlen(wc->dirs[i].real);
		if (d >= 0 && len > best_len) {
			best = d;
			best_len = len;
		}
	}
	return best;
}

/* Is @p target (@p len bytes, no NUL) a relative path that stays inside when
 * resolved from a directory @p depth components below the preopen root? */
static bool target_stays_inside(const char *target, size_t len, int depth)
{
	size_t i = 0;
	bool named = false;

	if (len == 0 || target[0] == '/' || memchr(target, '\0', len))
		return false;
	while (i < len) {
		size_t j = i;
		while (j < len && target[j] != '/')
			j++;
		if (j - i == 2 && target[i] == '.' && target[i + 1] == '.') {
			if (named || --depth < 0)
				return false;
		} else if (j - i > 0 && !(j - i == 1 && target[i] == '.')) {
			named = true;
		}
		i = j + 1;
	}
	return true;
}

uint32_t ocre_wasi_path_symlink(wasm_exec_env_t exec_env, void *old_path, uint32_t old_len, uint32_t fd, void *new_path,
                                uint32_t new_len)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(inst);
	const char *target = (const char *)(uintptr_t)old_path, *link = (const char *)(uintptr_t)new_path;
	size_t target_len = (size_t)(uint32_t)old_len, link_len = (size_t)(uint32_t)new_len, name_len, base_at;
	const struct wamr_fd_entry *dir;
	char *parent = NULL, *base = NULL, *text = NULL;
	__wasi_fd_t parent_fd = (__wasi_fd_t)-1;
	uint32_t err;
	int depth;

	if (!ocre_wasi_checkpoint(wc)) {
		wasm_runtime_set_exception(inst, OCRE_KILLED_EXCEPTION);
		return __WASI_EINTR;
	}
	if (!wasi || !(dir = ocre_wamr_fd_entry(exec_env, (uint32_t)fd)))
		return __WASI_EBADF;
	if (!(dir->rights_base & __WASI_RIGHT_PATH_SYMLINK))
		return __WASI_ENOTCAPABLE; /* a read-only mount */
	if (link_len == 0 || memchr(link, '\0', link_len))
		return __WASI_ENOENT;
	if (target[0] == '/' && target_len > 0)
		return __WASI_EPERM;
	/* split the link's path: its directory (opened through the sandbox)
	 * and its name, which keeps its trailing slashes: symlinkat() then
	 * fails as POSIX says (ENOENT, or EEXIST when it exists) */
	for (name_len = link_len; name_len > 1 && link[name_len - 1] == '/'; name_len--)
		;
	for (base_at = name_len; base_at > 0 && link[base_at - 1] != '/'; base_at--)
		;
	if ((name_len - base_at == 1 && link[base_at] == '.') ||
	    (name_len - base_at == 2 && link[base_at] == '.' && link[base_at + 1] == '.'))
		return __WASI_EEXIST;
	parent = base_at ? strndup(link, base_at) : strdup(".");
	base = strndup(link + base_at, link_len - base_at);
	text = strndup(target, target_len);
	if (!parent || !base || !text) {
		err = __WASI_ENOMEM;
		goto out;
	}
	/* the parent, resolved without following a final symlink, as a
	 * directory; it takes one fd slot briefly (refused at the limit) */
	if (!ocre_wasi_fd_room(exec_env)) {
		err = __WASI_EMFILE;
		goto out;
	}
	err = wasmtime_ssp_path_open(wasi->curfds, (__wasi_fd_t)fd, __WASI_LOOKUP_SYMLINK_FOLLOW, parent,
	                             strlen(parent), __WASI_O_DIRECTORY, 0, 0, 0, &parent_fd);
	if (err)
		goto out;
	dir = ocre_wamr_fd_entry(exec_env, parent_fd);
	depth = dir ? preopen_depth(wc, dir->object->number) : -1;
	if (depth < 0 || !target_stays_inside(target, target_len, depth)) {
		err = __WASI_EPERM;
		goto out;
	}
	err = symlinkat(text, dir->object->number, base) == 0 ? 0
	      : errno == EEXIST                               ? __WASI_EEXIST
	      : errno == ENOENT                               ? __WASI_ENOENT
	      : errno == ENOSPC                               ? __WASI_ENOSPC
	      : errno == EACCES || errno == EPERM             ? __WASI_EACCES
	      : errno == ENAMETOOLONG                         ? __WASI_ENAMETOOLONG
	                                                      : __WASI_EIO;
out:
	if (parent_fd != (__wasi_fd_t)-1 && wasmtime_ssp_fd_close(wasi->curfds, wasi->prestats, parent_fd) != 0)
		err = err ? err : __WASI_EIO;
	free(parent);
	free(base);
	free(text);
	return err;
}
