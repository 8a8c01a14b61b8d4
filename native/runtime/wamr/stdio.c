/* Handing a run's stdio fds to WAMR, with ownership decided on structured
 * state (never on WAMR's error text).
 *
 * WAMR 1.1.2 takes the stdio fds given to wasm_runtime_set_wasi_args_ex() in
 * the middle of wasm_runtime_init_wasi(): a failed instantiation may have
 * closed them (a failure after that step, or a trapping start function) or
 * not (memory or tables over the limit, argv/env that do not fit), and only
 * its message says which. So the run's fds never go through that call:
 *
 *  - WAMR instantiates with three placeholders, duplicates of a sealed,
 *    empty memfd that only the running thread duplicates (no guest code
 *    runs during instantiation: entry.c). So after a failed instantiation
 *    fstat() tells, without a race, whether a placeholder number is still
 *    ours (its inode: close it) or was closed by WAMR (and possibly reused
 *    by another thread since: leave it).
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
#include <stdlib.h>
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

/* Each thread that runs containers keeps one placeholder file: a sealed,
 * empty memfd that only that thread duplicates (runs on one thread are
 * serialized), so its inode tells the placeholders of the current run from
 * anything else. Made on the thread's first run, closed when it exits.
 * Per-run duplicates cost three fcntl()s; a memfd per run would cost ~8 us. */
struct keeper {
	int fd;
	dev_t dev;
	ino_t ino;
};

static pthread_key_t keeper_key;
static pthread_once_t keeper_once = PTHREAD_ONCE_INIT;
static bool keeper_key_made;

static void keeper_free(void *arg)
{
	struct keeper *k = arg;
	close(k->fd);
	free(k);
}

static void keeper_key_init(void)
{
	keeper_key_made = pthread_key_create(&keeper_key, keeper_free) == 0;
}

static struct keeper *thread_keeper(void)
{
	struct keeper *k;
	struct stat st;
	int fd, high;

	pthread_once(&keeper_once, keeper_key_init);
	if (!keeper_key_made) {
		errno = EAGAIN;
		return NULL;
	}
	k = pthread_getspecific(keeper_key);
	if (k)
		return k;
	fd = memfd_create("ocre-stdio", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0 ||
	    fstat(fd, &st) != 0)
		goto fail_fd;
	if (fd <= 2) {
		/* the process had no stdio of its own: keep it off 0-2 */
		high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		fd = high;
		if (fd < 0)
			return NULL;
	}
	k = malloc(sizeof(*k));
	if (!k) {
		errno = ENOMEM;
		goto fail_fd;
	}
	k->fd = fd;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	if (pthread_setspecific(keeper_key, k) != 0) {
		free(k);
		errno = EAGAIN;
		goto fail_fd;
	}
	return k;

fail_fd:
	close(fd);
	return NULL;
}

int ocre_wamr_stdio_placeholders(struct wamr_stdio_placeholders *ph, char *error, size_t error_size)
{
	struct keeper *k = thread_keeper();
	int i;

	ph->fd[0] = ph->fd[1] = ph->fd[2] = -1;
	if (!k)
		goto fail;
	ph->dev = k->dev;
	ph->ino = k->ino;
	for (i = 0; i < 3; i++) {
		/* above 2: WAMR never closes fds 0-2, and treats these as its own */
		ph->fd[i] = fcntl(k->fd, F_DUPFD_CLOEXEC, 3);
		if (ph->fd[i] < 0)
			goto fail;
	}
	return 0;

fail:
	snprintf(error, error_size, "cannot create stdio placeholders: %s", strerror(errno));
	for (i = 0; i < 3; i++)
		if (ph->fd[i] >= 0)
			close(ph->fd[i]);
	ph->fd[0] = ph->fd[1] = ph->fd[2] = -1;
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
}

void ocre_wamr_stdio_install(wasm_module_inst_t inst, int run_fds[3])
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
}
