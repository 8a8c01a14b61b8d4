/* The image loader libocre.a was linked with (built once per loader:
 * OCRE_TEST_FILE_LOADERS): whole files in a writable buffer that does not
 * write back, and every refusal with its errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocre/platform/file.h>

#include "testlib.h"

static char dir[512];

static void make_file(const char *name, const void *data, size_t size, char *path, size_t path_size)
{
	int fd;

	snprintf(path, path_size, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, data, size), (long long)size);
	close(fd);
}

static void loads_the_whole_file_privately(void)
{
	static uint8_t data[200000];
	char path[600];
	uint8_t *buf, *again;
	size_t size = 0, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	make_file("big.bin", data, sizeof(data), path, sizeof(path));
	buf = ocre_load_file(path, &size);
	CHECK(buf != NULL);
	if (!buf)
		return;
	CHECK_INT(size, sizeof(data));
	CHECK(memcmp(buf, data, sizeof(data)) == 0);
	/* writable (WAMR rewrites in place), and the file never changes */
	buf[0] ^= 0xff;
	buf[sizeof(data) - 1] ^= 0xff;
	again = ocre_load_file(path, &size);
	CHECK(again != NULL);
	if (again) {
		CHECK(memcmp(again, data, sizeof(data)) == 0);
		CHECK_INT(ocre_unload_file(again, size), 0);
	}
	CHECK_INT(ocre_unload_file(buf, sizeof(data)), 0);
}

static void refusals_set_errno(void)
{
	char path[600];
	size_t size = 123;

	errno = 0;
	CHECK(ocre_load_file(NULL, &size) == NULL);
	CHECK_INT(errno, EINVAL);
	snprintf(path, sizeof(path), "%s/none.bin", dir);
	errno = 0;
	CHECK(ocre_load_file(path, NULL) == NULL);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK(ocre_load_file(path, &size) == NULL);
	CHECK_INT(errno, ENOENT);
	make_file("empty.bin", "", 0, path, sizeof(path));
	errno = 0;
	CHECK(ocre_load_file(path, &size) == NULL);
	CHECK_INT(errno, EINVAL);
	errno = 0;
	CHECK(ocre_load_file(dir, &size) == NULL);
	CHECK_INT(errno, EISDIR);
	errno = 0;
	CHECK(ocre_load_file("/dev/null", &size) == NULL); /* not a regular file */
	CHECK_INT(errno, EINVAL);
	CHECK_INT(size, 123); /* untouched on failure */
	CHECK_INT(ocre_unload_file(NULL, 10), -1);
	CHECK_INT(ocre_unload_file(path, 0), -1);
}

static void no_fd_is_left_open(void)
{
	char path[600];
	size_t size;
	void *buf;
	int before, after, i;

	make_file("small.bin", "\0asm\1\0\0\0", 8, path, sizeof(path));
	before = dup(0);
	close(before);
	for (i = 0; i < 50; i++) {
		buf = ocre_load_file(path, &size);
		CHECK(buf != NULL);
		if (buf)
			ocre_unload_file(buf, size);
		CHECK(ocre_load_file(dir, &size) == NULL);
	}
	after = dup(0);
	close(after);
	CHECK_INT(after, before); /* the lowest free fd is the same: nothing leaked */
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("file"));
	RUN(loads_the_whole_file_privately);
	RUN(refusals_set_errno);
	RUN(no_fd_is_left_open);
	return test_finish();
}
