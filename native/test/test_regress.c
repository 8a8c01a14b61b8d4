/* Modules that WAMR 1.1.2 mishandled (test/fixtures/regress/, fixed by
 * native/runtime/wamr/patches/), through the C API alone, no V8 in front:
 * the malformed ones (regress/*.wasm) are refused with a clear error, the
 * valid ones (regress/valid/*.wasm, and the block-params-unreachable
 * fixture) load, instantiate and run. Under ASan+UBSan (npm run test:asan)
 * an over-read, a leak on the loader's error path or undefined behaviour
 * fails this. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testlib.h"

static void copy_to_images(const char *dir, const char *name)
{
	char from[1200], to[1200], buf[65536];
	FILE *in, *out;
	size_t n;

	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s", test_images_dir(), name);
	in = fopen(from, "rb");
	out = fopen(to, "wb");
	CHECK(in && out);
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(fwrite(buf, 1, n, out) == n);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

/* Every regress fixture: create fails with OCRE_ERR_INVALID_IMAGE and the
 * loader's message; the context stays usable (a good image runs afterwards). */
static void malformed_modules_are_refused(void)
{
	char dir[1000];
	const char *fixtures = getenv("OCRE_FIXTURES");
	struct ocre_container *c;
	struct rusage ru;
	struct dirent *e;
	int count = 0, status = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/regress", fixtures);
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".wasm") != 0)
			continue;
		copy_to_images(dir, e->d_name);
		c = ocre_context_create_container(test_context(), e->d_name, NULL, NULL, true, NULL, -1, -1, -1);
		if (c) {
			test_fail(__FILE__, __LINE__, "%s: loaded", e->d_name);
			ocre_context_remove_container(test_context(), c);
			continue;
		}
		CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_IMAGE);
		CHECK(strstr(ocre_last_error_message(), "WASM module load failed") != NULL);
		count++;
	}
	if (d)
		closedir(d);
	CHECK(count >= 3);
	/* a few KB of module never cost the host gigabytes (patch 0005) */
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	if (ru.ru_maxrss > 512 * 1024)
		test_fail(__FILE__, __LINE__, "peak RSS %ld KiB loading the regress modules", ru.ru_maxrss);
	free(test_run_capture("hello.wasm", NULL, NULL, 0, &status, NULL));
	CHECK_INT(status, 0);
}

static void run_valid(const char *image)
{
	int status = -1;

	free(test_run_capture(image, NULL, NULL, 0, &status, NULL));
	if (status != 0)
		test_fail(__FILE__, __LINE__, "%s: exit status %d, expected 0 (%s)", image, status,
		          ocre_last_error_message());
}

/* Valid modules that reached a WAMR defect: each runs to exit 0. */
static void valid_modules_run(void)
{
	char dir[1000];
	const char *fixtures = getenv("OCRE_FIXTURES");
	struct dirent *e;
	int count = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/regress/valid", fixtures);
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".wasm") != 0)
			continue;
		copy_to_images(dir, e->d_name);
		run_valid(e->d_name);
		count++;
	}
	if (d)
		closedir(d);
	CHECK(count >= 1);
	run_valid("block-params-unreachable.wasm");
}

int main(void)
{
	test_setup();
	RUN(malformed_modules_are_refused);
	RUN(valid_modules_run);
	test_teardown();
	return test_finish();
}
