/* Captured output (OCRE_STDIO_CAPTURE): a run's stdout or stderr kept in
 * memory, up to the container's output limit, for
 * ocre_container_take_output().
 *
 * The guest gets a real pipe as that stream, made by the run's thread, so
 * that its fd is exactly what a piped stream is for every call (fdstat and
 * filestat say a socket stream, poll says writable, renumber moves it), but
 * the fd_write override (wasi_io.c) appends what is written to that pipe's
 * fd object to memory instead of writing it: nothing is ever in the pipe and
 * nobody reads it. The object is recognised by its address, forgotten when
 * the guest closes it (fd_close, or fd_renumber onto it). The read end is
 * held until the run ends (a pipe without a reader would not poll writable).
 * The bytes are written by the run's thread and taken between runs, under
 * wc->lock. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "fdtable.h"

/* A fd numbered above 2 (WAMR closes only those with the instance), close on exec. */
static int above_stdio(int fd)
{
	int moved;

	if (fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

int ocre_wamr_output_open(struct wamr_container *wc, int stream, char *error, size_t error_size)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(error, error_size, "cannot make the pipe of a captured stream: %s", strerror(errno));
		return -1;
	}
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		snprintf(error, error_size, "cannot make the pipe of a captured stream: %s", strerror(errno));
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return -1;
	}
	wc->capture_read[stream] = p[0];
	return p[1];
}

void ocre_wamr_output_attach(struct wamr_container *wc, wasm_module_inst_t inst)
{
	WASIContext *wasi = wasm_runtime_get_wasi_ctx(inst);
	struct fd_table *ft = wasi ? wasi->curfds : NULL;
	int i;

	for (i = 1; i < 3; i++) {
		wc->capture_object[i] = NULL;
		if (wc->captured[i] && ft && (uint32_t)i < ft->size)
			wc->capture_object[i] = ((struct wamr_fd_entry *)ft->entries)[i].object;
	}
}

int ocre_wamr_output_stream(wasm_exec_env_t exec_env, struct wamr_container *wc, uint32_t fd)
{
	struct wamr_fd_entry *e;
	int i;

	if (!wc->capture_object[1] && !wc->capture_object[2])
		return 0;
	if (!(e = ocre_wamr_fd_entry(exec_env, fd)))
		return 0;
	for (i = 1; i < 3; i++)
		if (wc->capture_object[i] && e->object == wc->capture_object[i])
			return i;
	return 0;
}

void ocre_wamr_output_forget(wasm_exec_env_t exec_env, struct wamr_container *wc, uint32_t fd)
{
	int i = ocre_wamr_output_stream(exec_env, wc, fd);

	if (i)
		wc->capture_object[i] = NULL; /* the guest closes it: its address may be reused */
}

void ocre_wamr_output_end_run(struct wamr_container *wc)
{
	int i;

	for (i = 1; i < 3; i++) {
		wc->capture_object[i] = NULL;
		if (wc->capture_read[i] >= 0)
			close(wc->capture_read[i]);
		wc->capture_read[i] = -1;
	}
}

/* First allocation: most captured outputs (a line, a small report) fit. */
#define OUTPUT_FIRST_CAPACITY 1024

void ocre_wamr_output_reset(struct wamr_container *wc)
{
	int i;

	pthread_mutex_lock(&wc->lock);
	for (i = 1; i < 3; i++) {
		free(wc->output[i].data);
		memset(&wc->output[i], 0, sizeof(wc->output[i]));
	}
	pthread_mutex_unlock(&wc->lock);
}

/* Append @p size bytes (lock held); false when out of memory. */
static bool append_locked(struct wamr_output *o, const uint8_t *p, size_t size)
{
	if (size > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : OUTPUT_FIRST_CAPACITY;
		uint8_t *grown;
		while (cap - o->len < size)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (!(grown = realloc(o->data, cap)))
			return false;
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, p, size);
	o->len += size;
	return true;
}

uint32_t ocre_wamr_output_write(wasm_exec_env_t exec_env, struct wamr_container *wc, int stream,
                                const void *iovs_native, uint32_t iovs_len, uint32_t *written)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const uint32_t *gio = iovs_native; /* {buf_offset, buf_len} pairs */
	struct wamr_output *o = &wc->output[stream];
	uint64_t total = 0;
	bool over = false, nomem = false;
	uint32_t i;

	if ((uint64_t)iovs_len * 8 > UINT32_MAX ||
	    !wasm_runtime_validate_native_addr(inst, (void *)gio, iovs_len * 8) ||
	    !wasm_runtime_validate_native_addr(inst, written, sizeof(*written)))
		return __WASI_EFAULT;
	for (i = 0; i < iovs_len; i++)
		if (!wasm_runtime_validate_app_addr(inst, gio[2 * i], gio[2 * i + 1]))
			return __WASI_EFAULT;
	pthread_mutex_lock(&wc->lock);
	for (i = 0; i < iovs_len && !over && !nomem; i++) {
		const uint8_t *p = wasm_runtime_addr_app_to_native(inst, gio[2 * i]);
		size_t n = gio[2 * i + 1], room = wc->output_limit - o->len;
		if (n > room) {
			/* like child_process's maxBuffer: keep the limit, end the run */
			n = room;
			over = true;
		}
		if (n > 0 && !append_locked(o, p, n))
			nomem = true;
		else
			total += n;
	}
	if (over) {
		o->truncated = true;
		wc->kill_flag = true; /* the run ends as killed (engine_run.c) */
	}
	pthread_mutex_unlock(&wc->lock);
	if (over) {
		wasm_runtime_set_exception(inst, OCRE_KILLED_EXCEPTION);
		return __WASI_EINTR;
	}
	if (nomem && total == 0)
		return __WASI_ENOMEM;
	*written = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	return 0;
}

int ocre_wamr_take_output(void *ctx, int stream, void **data, size_t *size, bool *truncated)
{
	struct wamr_container *wc = ctx;
	struct wamr_output *o;

	if (stream != 1 && stream != 2)
		return -1;
	o = &wc->output[stream];
	pthread_mutex_lock(&wc->lock);
	*data = o->data;
	*size = o->len;
	*truncated = o->truncated;
	memset(o, 0, sizeof(*o));
	pthread_mutex_unlock(&wc->lock);
	if (*size == 0) {
		free(*data);
		*data = NULL;
	}
	return 0;
}
