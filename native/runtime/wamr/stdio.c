/* Handing a run's stdio fds to WAMR, with ownership decided on structured
 * state (never on WAMR's error text).
 *
 * WAMR 1.1.2 takes the stdio fds given to wasm_runtime_set_wasi_args_ex() in
 * the middle of wasm_runtime_init_wasi(): a failed instantiation may have
 * closed them (a failure after that step, or a trapping start function) or
 * not (memory or tables over the limit, argv/env that do not fit), and only
 * its message says which. So the run's fds never go through that call:
 *
 *  - WAMR instantiates with three placeholders: the process's own fds 0-2
 *    (WAMR never closes fds 0-2, so they are never at stake), or, in a
 *    process without them, duplicates of a sealed,
 *    empty memfd made for this run only (no guest code runs during
 *    instantiation: entry.c). Its inode belongs to this run, so
 *    after a failed instantiation fstat() tells, without a race, whether a
 *    placeholder number is still ours (close it) or was closed by WAMR (and
 *    possibly reused by another thread since: leave it).
 *    At most PLACEHOLDER_SETS runs hold such a set at once (others wait for
 *    one: instantiation runs no guest code, so the wait is short), so a
 *    burst of starts costs at most 3 x PLACEHOLDER_SETS fds, never EMFILE
 *    in proportion to the burst.
 *  - After a successful instantiation the placeholders in WASI slots 0-2 are
 *    closed through WASI and the run's fds inserted in their place: WAMR then
 *    owns them and closes them when the instance is freed. Each insertion
 *    reports whether it took the fd. A discarded stream (OCRE_STDIO_IGNORE)
 *    leaves its slot empty: no host fd (wasi_io.c serves it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "wasm_runtime_common.h"
#include "wasmtime_ssp.h"

/* WAMR's (sandboxed-system-primitives/src/posix.h, not on our include path):
 * inserts host fd @p out at WASI fd @p in; see ocre_wamr_stdio_install() for
 * when it takes the fd. */
bool fd_table_insert_existing(struct fd_table *, __wasi_fd_t, int);

#define PLACEHOLDER_SETS 4

static pthread_mutex_t sets_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sets_free = PTHREAD_COND_INITIALIZER;
static unsigned sets_used; /* memfd placeholder sets held by runs */

static void take_set(struct wamr_stdio_placeholders *ph)
{
	pthread_mutex_lock(&sets_lock);
	while (sets_used >= PLACEHOLDER_SETS)
		pthread_cond_wait(&sets_free, &sets_lock);
	sets_used++;
	pthread_mutex_unlock(&sets_lock);
	ph->held = true;
}

static void give_set(struct wamr_stdio_placeholders *ph)
{
	if (!ph->held)
		return;
	ph->held = false;
	pthread_mutex_lock(&sets_lock);
	sets_used--;
	pthread_cond_signal(&sets_free);
	pthread_mutex_unlock(&sets_lock);
}

int ocre_wamr_stdio_placeholders(struct wamr_stdio_placeholders *ph, char *error, size_t error_size)
{
	struct stat st;
	int fd, i;

	ph->fd[0] = ph->fd[1] = ph->fd[2] = -1;
	ph->held = false;
	/* The process's own 0-2, when it has them: WAMR never closes those
	 * (they are only fstat()ed, no guest code runs before the hand-over),
	 * so nothing is owned and nothing is opened. */
	if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
		return 0;
	take_set(ph);
	fd = memfd_create("ocre-stdio", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(error, error_size, "cannot create stdio placeholders: %s", strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0 ||
	    fstat(fd, &st) != 0)
		goto fail;
	ph->dev = st.st_dev;
	ph->ino = st.st_ino;
	ph->fd[0] = fd;
	for (i = 1; i < 3; i++) {
		/* above 2: WAMR never closes fds 0-2, and treats these as its own */
		ph->fd[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (ph->fd[i] < 0)
			goto fail;
	}
	if (fd <= 2) {
		/* the process had no stdio of its own: keep the placeholders above 2 */
		ph->fd[0] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		fd = -1;
		if (ph->fd[0] < 0)
			goto fail;
	}
	return 0;

fail:
	snprintf(error, error_size, "cannot create stdio placeholders: %s", strerror(errno));
	if (fd >= 0 && fd != ph->fd[0])
		close(fd);
	for (i = 0; i < 3; i++)
		if (ph->fd[i] >= 0)
			close(ph->fd[i]);
	ph->fd[0] = ph->fd[1] = ph->fd[2] = -1;
	give_set(ph);
	return -1;
}

void ocre_wamr_stdio_discard(struct wamr_stdio_placeholders *ph)
{
	struct stat st;
	int i;

	for (i = 0; i < 3; i++) {
		if (ph->fd[i] >= 0 && fstat(ph->fd[i], &st) == 0 && st.st_dev == ph->dev && st.st_ino == ph->ino)
			close(ph->fd[i]);
		ph->fd[i] = -1;
	}
	give_set(ph);
}

void ocre_wamr_stdio_install(wasm_module_inst_t inst, int run_fds[3], struct wamr_stdio_placeholders *ph)
{
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(inst);
	int i;

	for (i = 0; i < 3; i++) {
		/* A slot the start function closed stays closed. Otherwise the
		 * slot was just freed, so the table needs no growth and an
		 * insertion can only fail before it takes the fd (no memory for
		 * its fd object, or fstat() failed): then the fd is still ours. */
		if (!wasi || wasmtime_ssp_fd_close(wasi->curfds, wasi->prestats, (__wasi_fd_t)i) != 0 ||
		    run_fds[i] < 0 || !fd_table_insert_existing(wasi->curfds, (__wasi_fd_t)i, run_fds[i])) {
			if (run_fds[i] >= 0)
				close(run_fds[i]);
			run_fds[i] = -1;
		}
	}
	/* the placeholders were closed through WASI: the set is free */
	give_set(ph);
}
