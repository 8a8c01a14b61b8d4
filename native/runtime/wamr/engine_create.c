/* The "wamr/wasip1" engine: a container's engine side: create (argv, preopens,
 * capabilities, the loaded module), configure, stdio for the next run,
 * prepare and destroy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "module_cache.h"
#include "wasm_exec_env.h"
#include "wasm_runtime_common.h"

#include <ocre/platform/memory.h>
#include <ocre/runtime/support.h>
#include <ocre/runtime/wamr.h>

static void free_container(struct wamr_container *wc)
{
	int i;

	if (wc->image)
		ocre_wamr_module_put(wc->image);
	ocre_strv_free(wc->argv);
	ocre_strv_free(wc->envp);
	for (i = 0; i < wc->ndirs; i++) {
		free(wc->dirs[i].host);
		free(wc->dirs[i].guest);
		free(wc->dirs[i].real);
	}
	free(wc->dirs);
	free(wc->dir_hosts);
	if (wc->wake_fd >= 0)
		close(wc->wake_fd);
	free(wc->output[1].data);
	free(wc->output[2].data);
	pthread_cond_destroy(&wc->cond);
	pthread_mutex_destroy(&wc->lock);
	free(wc->id);
	free(wc);
}

static bool add_dir(struct wamr_container *wc, const char *host, size_t host_len, const char *guest, size_t guest_len,
                    bool readonly)
{
	struct wamr_dir *d = &wc->dirs[wc->ndirs];
	size_t i, n = 0;

	d->host = strndup(host, host_len);
	d->guest = malloc(guest_len + 1);
	d->readonly = readonly;
	if (!d->host || !d->guest) {
		free(d->host);
		free(d->guest);
		return false;
	}
	/* the guest path normalized: no repeated or trailing slashes (the core
	 * refused "." and ".." components) */
	for (i = 0; i < guest_len; i++)
		if (guest[i] != '/' || n == 0 || d->guest[n - 1] != '/')
			d->guest[n++] = guest[i];
	while (n > 1 && d->guest[n - 1] == '/')
		n--;
	d->guest[n] = '\0';
	d->real = realpath(d->host, NULL); /* for path_symlink's depth; NULL: no links there */
	wc->dir_hosts[wc->ndirs] = d->host;
	wc->ndirs++;
	return true;
}

static bool parse_sha256(const char *hex, uint8_t out[32])
{
	int i, v;

	if (strlen(hex) != 64)
		return false;
	for (i = 0; i < 64; i++) {
		char c = hex[i];
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return true;
}

void *ocre_wamr_create_with(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                            const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                            int stderr_fd, const struct ocre_engine_options *options)
{
	struct wamr_container *wc;
	const char *image_name = strrchr(img_path, '/');
	size_t nmounts = ocre_strv_len(mounts), i;
	int pass;
	const char **argv0;
	pthread_condattr_t cattr;

	image_name = image_name ? image_name + 1 : img_path;
	wc = calloc(1, sizeof(*wc));
	if (!wc) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&wc->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&wc->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	wc->wake_fd = -1;
	wc->capture_read[0] = wc->capture_read[1] = wc->capture_read[2] = -1;
	wc->stack_size = CONFIG_OCRE_WASM_STACK_SIZE;
	wc->max_open_files = CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES;
	wc->output_limit = CONFIG_OCRE_DEFAULT_OUTPUT_LIMIT;
	wc->fds[0] = stdin_fd;
	wc->fds[1] = stdout_fd;
	wc->fds[2] = stderr_fd;
	wc->id = strdup(id);

	/* argv[0] is the image name, as a shell would give a program its name */
	argv0 = calloc(ocre_strv_len(argv) + 2, sizeof(char *));
	if (!argv0)
		goto err_nomem;
	argv0[0] = image_name;
	for (i = 0; argv && argv[i]; i++)
		argv0[i + 1] = argv[i];
	wc->argv = ocre_strv_dup(argv0);
	free(argv0);
	wc->envp = ocre_strv_dup(envp);
	wc->dirs = calloc(nmounts + 1, sizeof(*wc->dirs));
	wc->dir_hosts = calloc(nmounts + 2, sizeof(char *));
	if (!wc->id || !wc->argv || !wc->envp || !wc->dirs || !wc->dir_hosts)
		goto err_nomem;
	wc->argc = (int)ocre_strv_len((const char *const *)wc->argv);
	wc->envc = (int)ocre_strv_len((const char *const *)wc->envp);

	/* Preopens: the guest's "/" first (the private directory, or a mount
	 * at "/": the core allows only one of them), then the other mounts in
	 * order. */
	if (workdir && !add_dir(wc, workdir, strlen(workdir), "/", 1, false))
		goto err_nomem;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nmounts; i++) {
			const char *m = mounts[i], *colon = strchr(m, ':'), *dst = colon + 1, *opt = strchr(dst, ':');
			size_t dst_len = opt ? (size_t)(opt - dst) : strlen(dst);
			if ((pass == 0) != (strspn(dst, "/") == dst_len))
				continue;
			if (!add_dir(wc, m, (size_t)(colon - m), dst, dst_len, opt && strcmp(opt, ":ro") == 0))
				goto err_nomem;
		}
	}
	for (i = 0; capabilities && capabilities[i]; i++)
		if (strcmp(capabilities[i], "networking") == 0)
			wc->networking = true;
		else if (strcmp(capabilities[i], "ocre:api") == 0)
			wc->ocre_api = true;

	wc->context = options->context;
	{
		const struct ocre_container_args *args = ocre_create_arguments();
		uint8_t expected[32];
		bool pinned = args && args->image_sha256;

		if (pinned && !parse_sha256(args->image_sha256, expected)) {
			ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "image_sha256 must be 64 hex digits");
			goto err_free;
		}
		wc->image = ocre_wamr_module_get(img_path, image_name, options->tier, pinned ? expected : NULL);
	}
	if (!wc->image)
		goto err_free;
	return wc;

err_nomem:
	ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
err_free:
	free_container(wc);
	return NULL;
}

void *ocre_wamr_create(const char *id, const char *img_path, const char *workdir, const char **capabilities,
                       const char **argv, const char **envp, const char **mounts, int stdin_fd, int stdout_fd,
                       int stderr_fd)
{
	const struct ocre_engine_options defaults = {.tier = OCRE_TIER_AUTO, .context = NULL};
	return ocre_wamr_create_with(id, img_path, workdir, capabilities, argv, envp, mounts, stdin_fd, stdout_fd,
	                             stderr_fd, &defaults);
}

int ocre_wamr_destroy(void *ctx)
{
	if (!ctx)
		return -1;
	free_container(ctx);
	return 0;
}

int ocre_wamr_configure(void *ctx, const struct ocre_container_args *args)
{
	struct wamr_container *wc = ctx;
	size_t stack = args && args->stack_size ? args->stack_size : CONFIG_OCRE_WASM_STACK_SIZE;

	if (stack < 4096 || stack > CONFIG_OCRE_WASM_STACK_SIZE_MAX) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "stack size %zu is out of range (4 KiB to %u MiB)", stack,
		          CONFIG_OCRE_WASM_STACK_SIZE_MAX >> 20);
		return -1;
	}
	wc->stack_size = (uint32_t)stack;
	wc->max_open_files = args && args->max_open_files ? args->max_open_files : CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES;
	wc->output_limit = args && args->output_limit ? args->output_limit : CONFIG_OCRE_DEFAULT_OUTPUT_LIMIT;
	return 0;
}

int ocre_wamr_set_stdio(void *ctx, int stdin_fd, int stdout_fd, int stderr_fd)
{
	struct wamr_container *wc = ctx;
	pthread_mutex_lock(&wc->lock);
	wc->fds[0] = stdin_fd;
	wc->fds[1] = stdout_fd;
	wc->fds[2] = stderr_fd;
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

int ocre_wamr_prepare(void *ctx)
{
	struct wamr_container *wc = ctx;
	pthread_mutex_lock(&wc->lock);
	wc->kill_flag = wc->pause_flag = wc->stop_flag = false;
	wc->reason = OCRE_EXIT_REASON_NONE;
	wc->message[0] = '\0';
	if (wc->wake_fd >= 0) {
		uint64_t drain;
		while (read(wc->wake_fd, &drain, sizeof(drain)) > 0)
			;
	}
	pthread_mutex_unlock(&wc->lock);
	return 0;
}
