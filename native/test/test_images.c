/* Image files changed by other programs while containers of them exist:
 * truncated, rewritten in place (`cp other.wasm images/app.wasm`), replaced.
 * The loaded module never sees it (no SIGBUS, no new bytes); the next create
 * loads the new content (or refuses it, saying why). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include <ocre/runtime/support.h>

static void image_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", test_images_dir(), name);
}

/* Write @p from's bytes over @p to in place (same inode, truncated first). */
static void overwrite_in_place(const char *from_name, const char *to_name)
{
	char from[1200], to[1200], buf[65536];
	int in, out;
	ssize_t n;

	image_path(from, sizeof(from), from_name);
	image_path(to, sizeof(to), to_name);
	in = open(from, O_RDONLY);
	out = open(to, O_WRONLY | O_TRUNC);
	CHECK(in >= 0 && out >= 0);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, (size_t)n) == n);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static char *run_container(struct ocre_container *c, int *status)
{
	int out[2];
	char *text;

	test_pipe(out);
	CHECK_INT(ocre_container_set_stdio(c, -1, out[1], -1), 0);
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	text = test_read_all(out[0]);
	close(out[0]);
	CHECK_INT(ocre_container_wait(c, status), 0);
	return text;
}

static void changed_files_never_reach_a_loaded_module(void)
{
	char path[1200], *text;
	struct ocre_container *c, *d;
	int status = -1;

	image_path(path, sizeof(path), "changing.wasm");
	{
		char from[1200], cmd[2600];
		image_path(from, sizeof(from), "hello.wasm");
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, path);
		CHECK_INT(system(cmd), 0);
	}
	c = test_create("changing.wasm", NULL, true, NULL, -1, -1, -1);
	CHECK(c != NULL);
	if (!c)
		return;

	/* truncated to nothing: the container still runs what it was created from */
	CHECK_INT(truncate(path, 0), 0);
	text = run_container(c, &status);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	CHECK_INT(status, 0);
	free(text);
	/* a create now sees the empty file: refused with a reason */
	CHECK(test_create("changing.wasm", NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_NOT_FOUND);

	/* rewritten in place with another program: same answer, twice */
	overwrite_in_place("exit-code.wasm", "changing.wasm");
	text = run_container(c, &status);
	CHECK_STR(text, "Hello from WebAssembly!\n");
	CHECK_INT(status, 0);
	free(text);

	/* a new container gets the new content */
	d = test_create("changing.wasm", NULL, true, (const char *[]){"5", NULL}, -1, -1, -1);
	CHECK(d != NULL);
	if (d) {
		text = run_container(d, &status);
		CHECK_INT(status, 5);
		free(text);
		/* truncated to half: d keeps running its own copy */
		CHECK_INT(truncate(path, 100), 0);
		text = run_container(d, &status);
		CHECK_INT(status, 5);
		free(text);
		CHECK_INT(ocre_context_remove_container(test_context(), d), 0);
	}
	/* and the half file is refused (WAMR's reason) */
	CHECK(test_create("changing.wasm", NULL, true, NULL, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_IMAGE);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	unlink(path);
}

static void file_sha256(const char *name, char hex[65])
{
	char path[1200];
	int fd;
	char *bytes;
	struct stat st;
	uint8_t digest[32];

	image_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	bytes = malloc((size_t)st.st_size);
	CHECK(bytes && read(fd, bytes, (size_t)st.st_size) == st.st_size);
	close(fd);
	ocre_sha256(bytes, (size_t)st.st_size, digest);
	ocre_hex(digest, 32, hex);
	free(bytes);
}

/* image_sha256: the engine loads exactly the bytes the caller validated, or
 * refuses; a file rewritten after the caller's check is refused. */
static void loaded_bytes_are_the_validated_bytes(void)
{
	char path[1200], from[1200], cmd[2600], hello_sha[65], wrong[65];
	struct ocre_container_args args = {0};
	struct ocre_container *c;

	image_path(path, sizeof(path), "pinned.wasm");
	image_path(from, sizeof(from), "hello.wasm");
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, path);
	CHECK_INT(system(cmd), 0);
	file_sha256("pinned.wasm", hello_sha);
	args.image_sha256 = hello_sha;
	c = ocre_context_create_container(test_context(), "pinned.wasm", NULL, NULL, true, &args, -1, -1, -1);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	memcpy(wrong, hello_sha, sizeof(wrong));
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	args.image_sha256 = wrong;
	CHECK(ocre_context_create_container(test_context(), "pinned.wasm", NULL, NULL, true, &args, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_CHANGED);
	/* validated as hello, then swapped for another module: refused */
	overwrite_in_place("exit-code.wasm", "pinned.wasm");
	args.image_sha256 = hello_sha;
	CHECK(ocre_context_create_container(test_context(), "pinned.wasm", NULL, NULL, true, &args, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IMAGE_CHANGED);
	args.image_sha256 = "not hex";
	CHECK(ocre_context_create_container(test_context(), "pinned.wasm", NULL, NULL, true, &args, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	unlink(path);
}

int main(void)
{
	test_setup();
	RUN(changed_files_never_reach_a_loaded_module);
	RUN(loaded_bytes_are_the_validated_bytes);
	test_teardown();
	return test_finish();
}
