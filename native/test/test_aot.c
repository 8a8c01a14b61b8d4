/* The AOT tier from C: SHA-256/HMAC test vectors (what verifies artifacts),
 * then, when the compiler was built (OCRE_AOTC, needs LLVM 15), artifacts
 * compiled and recorded the way the image store does it: selection by tier,
 * identical results, kill of an AOT busy loop, and every way an artifact is
 * refused (tampered, foreign record, loose permissions, stale, smuggled into
 * images/ as an image). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aot.h"
#include "internal.h"
#include "aotstore.h"
#include "testlib.h"

static void sha256_vectors(void)
{
	static const char *million_a_digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char hex[65];
	uint8_t mac[32];
	char *a = malloc(1000000);
	struct ocre_sha256 s;
	size_t i;

	hex_of("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(a, 'a', 1000000);
	hex_of(a, 1000000, hex);
	CHECK_STR(hex, million_a_digest);
	/* the same in uneven pieces */
	ocre_sha256_init(&s);
	for (i = 0; i < 1000000; i += 997)
		ocre_sha256_update(&s, a + i, 1000000 - i < 997 ? 1000000 - i : 997);
	ocre_sha256_final(&s, mac);
	ocre_hex(mac, 32, hex);
	CHECK_STR(hex, million_a_digest);
	free(a);
	/* RFC 4231 test cases 2 and 6 (a key longer than the block) */
	ocre_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	ocre_hex(mac, 32, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	{
		uint8_t key[131];
		const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
		memset(key, 0xaa, sizeof(key));
		ocre_hmac_sha256(key, sizeof(key), data, strlen(data), mac);
		ocre_hex(mac, 32, hex);
		CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	}
}

/* The record format's one owner: sign, read back, refuse what would not
 * round-trip (the store writes records only through ocre_aot_record_sign). */
static void record_format(void)
{
	static const uint8_t key[OCRE_AOT_KEY_SIZE] = {1, 2, 3};
	const char *values[] = {"a.wasm",
	                        "a.wasm.0123456789abcdef.aot",
	                        "aa",
	                        "bb",
	                        "12",
	                        "1.1.2",
	                        "x86_64",
	                        "x86-64",
	                        "-",
	                        "3",
	                        "software",
	                        "-",
	                        "2026-11-28T00:00:00.000Z"};
	char text[OCRE_AOT_RECORD_MAX], value[64], mac_hex[65], *mac;
	uint8_t mac_bytes[32];
	size_t i;
	int n;

	for (i = 0; ocre_aot_record_fields[i]; i++)
		;
	CHECK_INT((int)i, (int)(sizeof(values) / sizeof(values[0])));
	n = ocre_aot_record_sign(values, key, text);
	CHECK(n > 0);
	CHECK_INT((int)strlen(text), n);
	CHECK(strncmp(text, "ocre-aot 1\nimage a.wasm\nartifact a.wasm.0123456789abcdef.aot\n", 52) == 0);
	for (i = 0; ocre_aot_record_fields[i]; i++) {
		CHECK(ocre_aot_record_get(text, ocre_aot_record_fields[i], value, sizeof(value)));
		CHECK_STR(value, values[i]);
	}
	CHECK(!ocre_aot_record_get(text, "nope", value, sizeof(value)));
	CHECK(!ocre_aot_record_get(text, "created", value, 5)); /* does not fit */
	/* the MAC is the last line and covers every byte before it */
	mac = strstr(text, "\nmac ");
	CHECK(mac != NULL);
	ocre_hmac_sha256(key, sizeof(key), text, (size_t)(mac + 1 - text), mac_bytes);
	ocre_hex(mac_bytes, 32, mac_hex);
	CHECK(strncmp(mac + 5, mac_hex, 64) == 0);
	CHECK_STR(mac + 5 + 64, "\n");
	/* a value that is empty, missing or spans lines is refused */
	values[2] = "";
	CHECK_INT(ocre_aot_record_sign(values, key, text), -1);
	values[2] = NULL;
	CHECK_INT(ocre_aot_record_sign(values, key, text), -1);
	values[2] = "aa\nmac 00";
	CHECK_INT(ocre_aot_record_sign(values, key, text), -1);
	values[2] = "aa";
	{
		static char huge[OCRE_AOT_RECORD_MAX];
		memset(huge, 'f', sizeof(huge) - 1);
		values[8] = huge;
		CHECK_INT(ocre_aot_record_sign(values, key, text), -1);
	}
}

/* ---- the module cache ---- */

static int loads;
static char load_path_suffix[64];

static void count_loads(const struct ocre_log_record *r, void *user_data)
{
	(void)user_data;
	if (strncmp(r->message, "loaded ", 7) == 0 && strstr(r->message, load_path_suffix))
		__atomic_fetch_add(&loads, 1, __ATOMIC_SEQ_CST);
}

static void create_remove(const char *image)
{
	struct ocre_container *c = test_create(image, NULL, true, NULL, -1, -1, -1);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

/* An image's module is loaded once and kept while unused; a replaced file is
 * loaded again; many images evict the least recently used. */
static void modules_are_cached_while_unused(void)
{
	char from[1200], to[1200], tmp[1300];
	int i;

	snprintf(load_path_suffix, sizeof(load_path_suffix), "/cache-me.wasm ");
	path_in_images(from, sizeof(from), "hello.wasm");
	path_in_images(to, sizeof(to), "cache-me.wasm");
	CHECK(copy_file(from, to));
	ocre_log_set_level(OCRE_LOG_LEVEL_DBG);
	ocre_log_set_sink(count_loads, NULL);
	create_remove("cache-me.wasm");
	create_remove("cache-me.wasm");
	create_remove("cache-me.wasm");
	CHECK_INT(loads, 1);
	/* replaced (a new inode, as the store's rename gives): loaded again */
	snprintf(tmp, sizeof(tmp), "%s.new", to);
	path_in_images(from, sizeof(from), "exit-code.wasm");
	CHECK(copy_file(from, tmp));
	CHECK_INT(rename(tmp, to), 0);
	create_remove("cache-me.wasm");
	CHECK_INT(loads, 2);
	/* 20 other images in use once each push it out of the idle cache (16) */
	for (i = 0; i < 20; i++) {
		char name[64];
		snprintf(name, sizeof(name), "filler-%d.wasm", i);
		path_in_images(to, sizeof(to), name);
		CHECK(copy_file(from, to));
		create_remove(name);
	}
	create_remove("cache-me.wasm");
	CHECK_INT(loads, 3);
	ocre_log_set_sink(NULL, NULL);
	ocre_log_set_level(OCRE_LOG_LEVEL_INF);
}

static void compile_fixtures(void)
{
	CHECK(compile("hello.wasm"));
	CHECK(compile("trap.wasm"));
	CHECK(compile("spin.wasm"));
	CHECK(compile("exit-code.wasm"));
	CHECK(compile("args-env.wasm"));
}

static struct ocre_container *create_tier(const char *image, ocre_tier_t tier, const char **argv)
{
	struct ocre_container_args args = {.argv = argv, .tier = tier};
	return ocre_context_create_container(test_context(), image, NULL, NULL, true, &args, -1, -1, -1);
}

static char *run_tier(const char *image, ocre_tier_t tier, const char **argv, int *status, struct ocre_exit_info *info)
{
	struct ocre_container_args args = {.argv = argv, .tier = tier};
	/* 8 MiB: `trap grow` stops at the same page in both tiers, quickly
	 * (growing to the 256 MiB default page by page is slow under ASan) */
	return test_run_capture(image, NULL, &args, 8u << 20, status, info);
}

static void tier_is_chosen(void)
{
	struct ocre_container *c;

	c = create_tier("hello.wasm", OCRE_TIER_AUTO, NULL);
	CHECK(c != NULL);
	CHECK_STR(ocre_container_get_tier(c), "aot");
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	c = create_tier("hello.wasm", OCRE_TIER_INTERPRETER, NULL);
	CHECK(c != NULL);
	CHECK_STR(ocre_container_get_tier(c), "interpreter");
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	/* an image without an artifact: AUTO interprets, AOT refuses */
	c = create_tier("sleeper.wasm", OCRE_TIER_AUTO, NULL);
	CHECK(c != NULL);
	CHECK_STR(ocre_container_get_tier(c), "interpreter");
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK(create_tier("sleeper.wasm", OCRE_TIER_AOT, NULL) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_NO_AOT);
	CHECK(strstr(ocre_last_error_message(), "has no AOT artifact") != NULL);
	{
		struct ocre_container_args bad = {.tier = (ocre_tier_t)7};
		CHECK(ocre_context_create_container(test_context(), "hello.wasm", NULL, NULL, true, &bad, -1, -1, -1) ==
		      NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	}
}

static void same_results_in_both_tiers(void)
{
	static const char *cases[][4] = {
	    {"hello.wasm", NULL},
	    {"exit-code.wasm", "7", NULL},
	    {"exit-code.wasm", "9", "proc", NULL},
	    {"args-env.wasm", "a b", "c", NULL},
	    {"trap.wasm", "unreachable", NULL},
	    {"trap.wasm", "oob", NULL},
	    {"trap.wasm", "divzero", NULL},
	    {"trap.wasm", "indirect", NULL},
	    {"trap.wasm", "stack", NULL},
	    {"trap.wasm", "cstack", NULL},
	    {"trap.wasm", "grow", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ocre_exit_info ia, ii;
		int sa = -1, si = -2;
		char *oa = run_tier(cases[i][0], OCRE_TIER_AOT, &cases[i][1], &sa, &ia);
		char *oi = run_tier(cases[i][0], OCRE_TIER_INTERPRETER, &cases[i][1], &si, &ii);
		CHECK(oa && oi);
		CHECK_STR(oa, oi);
		CHECK_INT(sa, si);
		CHECK_INT(ia.reason, ii.reason);
		CHECK_STR(ia.message, ii.message);
		if (sa != si || strcmp(ia.message, ii.message) != 0)
			fprintf(stderr, "     %s %s: aot %d '%s', interpreter %d '%s'\n", cases[i][0],
			        cases[i][1] ? cases[i][1] : "", sa, ia.message, si, ii.message);
		free(oa);
		free(oi);
	}
}

static void kill_aot_busy_loop(void)
{
	const char *argv[] = {NULL};
	struct ocre_exit_info info;
	struct ocre_container *c;
	int out[2], status = -1;
	uint64_t t0, dt;

	test_pipe(out);
	{
		struct ocre_container_args args = {.argv = argv, .tier = OCRE_TIER_AOT};
		c = ocre_context_create_container(test_context(), "spin.wasm", NULL, NULL, true, &args, -1, out[1], -1);
	}
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(ocre_container_get_tier(c), "aot");
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	CHECK(test_read_until(out[0], "spinning", 5000));
	test_sleep_ms(20);
	/* pause parks only at host calls; a pure loop keeps running, kill still ends it */
	t0 = test_now_us();
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	dt = test_now_us() - t0;
	fprintf(stderr, "     kill latency aot busy %8.3f ms\n", (double)dt / 1000.0);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	CHECK_INT(info.reason, OCRE_EXIT_REASON_KILLED);
	CHECK(dt < (getenv("OCRE_TEST_SLOW") ? 1000000u : 100000u));
	/* and it runs again from the same module (stdio: the process's own) */
	{
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		CHECK_INT(ocre_container_set_stdio(c, -1, devnull, -1), 0);
		CHECK_INT(ocre_container_start(c), 0);
		close(devnull);
	}
	test_sleep_ms(5);
	CHECK_INT(ocre_container_kill(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_KILLED);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	close(out[0]);
}

/* Expect both AUTO and AOT to fail with @p code and INTERPRETER to work. */
static void expect_refused(const char *image, int code, const char *phrase)
{
	struct ocre_container *c;

	CHECK(create_tier(image, OCRE_TIER_AUTO, NULL) == NULL);
	CHECK_INT(ocre_last_error(), code);
	if (phrase && !strstr(ocre_last_error_message(), phrase))
		test_fail(__FILE__, __LINE__, "'%s' does not say '%s'", ocre_last_error_message(), phrase);
	CHECK(create_tier(image, OCRE_TIER_AOT, NULL) == NULL);
	CHECK_INT(ocre_last_error(), code);
	c = create_tier(image, OCRE_TIER_INTERPRETER, NULL);
	CHECK(c != NULL);
	CHECK_STR(ocre_container_get_tier(c), "interpreter");
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void tampered_artifact_is_refused(void)
{
	char path[1200];
	size_t size;
	char *bytes;
	int fd;

	CHECK(compile("exit-code.wasm"));
	current_artifact("exit-code.wasm", path, sizeof(path));
	/* flip one byte in the middle of the code */
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	{
		struct stat st;
		unsigned char b;
		fstat(fd, &st);
		pread(fd, &b, 1, st.st_size / 2);
		b ^= 0x40;
		pwrite(fd, &b, 1, st.st_size / 2);
	}
	close(fd);
	expect_refused("exit-code.wasm", OCRE_ERR_AOT_REJECTED, "tampered");

	/* a record rewritten without the store key (a foreign artifact) */
	CHECK(compile("exit-code.wasm"));
	snprintf(path, sizeof(path), "%s/.aot/exit-code.wasm.meta", test_images_dir());
	bytes = slurp(path, &size);
	CHECK(bytes && strstr(bytes, "cpu x86-64"));
	if (bytes) {
		memcpy(strstr(bytes, "cpu x86-64"), "cpu x86-65", 10);
		CHECK(write_file(path, bytes, size, 0600));
		free(bytes);
	}
	expect_refused("exit-code.wasm", OCRE_ERR_AOT_REJECTED, "MAC mismatch");

	/* unsigned lines appended after the MAC */
	CHECK(compile("exit-code.wasm"));
	snprintf(path, sizeof(path), "%s/.aot/exit-code.wasm.meta", test_images_dir());
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK(write(fd, "machine -\n", 10) == 10);
	close(fd);
	expect_refused("exit-code.wasm", OCRE_ERR_AOT_REJECTED, "malformed");

	/* an artifact readable by others */
	CHECK(compile("exit-code.wasm"));
	current_artifact("exit-code.wasm", path, sizeof(path));
	CHECK_INT(chmod(path, 0644), 0);
	expect_refused("exit-code.wasm", OCRE_ERR_AOT_REJECTED, "private");

	/* a missing store key */
	CHECK(compile("exit-code.wasm"));
	path_in_images(path, sizeof(path), ".aot/key");
	CHECK_INT(rename(path, "/tmp/ocre-test-aot-key"), 0);
	expect_refused("exit-code.wasm", OCRE_ERR_AOT_REJECTED, "store key");
	CHECK_INT(rename("/tmp/ocre-test-aot-key", path), 0);

	/* a record naming a missing artifact (a recompile between the switch
	 * and the delete looks the same): interpreted, not refused */
	CHECK(compile("exit-code.wasm"));
	current_artifact("exit-code.wasm", path, sizeof(path));
	CHECK_INT(unlink(path), 0);
	{
		struct ocre_container *c = create_tier("exit-code.wasm", OCRE_TIER_AUTO, NULL);
		CHECK(c != NULL);
		CHECK_STR(ocre_container_get_tier(c), "interpreter");
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
		CHECK(create_tier("exit-code.wasm", OCRE_TIER_AOT, NULL) == NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_NO_AOT);
	}

	/* and once recompiled, it is used again */
	CHECK(compile("exit-code.wasm"));
	{
		struct ocre_container *c = create_tier("exit-code.wasm", OCRE_TIER_AUTO, NULL);
		CHECK(c != NULL);
		CHECK_STR(ocre_container_get_tier(c), "aot");
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	}
}

static void stale_artifact_is_not_used(void)
{
	struct ocre_container *c;
	int round;

	/* recorded for another image version, WAMR, machine, or bounds-check
	 * mode (code without checks never runs where no guard regions trap) */
	for (round = 0; round < 4; round++) {
		char artifact[1200];
		CHECK(compile("args-env.wasm"));
		current_artifact("args-env.wasm", artifact, sizeof(artifact));
		record_bounds = round == 3 ? (strcmp(ocre_aot_bounds(), "guard") == 0 ? "software" : "guard") : NULL;
		write_record("args-env.wasm", strrchr(artifact, '/') + 1,
		             round == 0 ? "0000000000000000000000000000000000000000000000000000000000000000" : NULL,
		             round == 1 ? "9.9.9" : NULL,
		             round == 2 ? "1111111111111111111111111111111111111111111111111111111111111111" : NULL);
		c = create_tier("args-env.wasm", OCRE_TIER_AUTO, NULL);
		CHECK(c != NULL);
		CHECK_STR(ocre_container_get_tier(c), "interpreter");
		CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
		/* twice: the second comes from the module cache, same answer */
		CHECK(create_tier("args-env.wasm", OCRE_TIER_AOT, NULL) == NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_NO_AOT);
		CHECK(create_tier("args-env.wasm", OCRE_TIER_AOT, NULL) == NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_NO_AOT);
	}
	record_bounds = NULL;
	/* this machine's fingerprint is accepted */
	CHECK(compile("args-env.wasm"));
	{
		char artifact[1200];
		current_artifact("args-env.wasm", artifact, sizeof(artifact));
		write_record("args-env.wasm", strrchr(artifact, '/') + 1, NULL, NULL, ocre_aot_machine_fingerprint());
	}
	c = create_tier("args-env.wasm", OCRE_TIER_AOT, NULL);
	CHECK(c != NULL);
	CHECK_STR(ocre_container_get_tier(c), "aot");
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void artifact_as_image_is_refused(void)
{
	char from[1200], to[1200];

	/* native code dropped into images/ under an image name never runs */
	current_artifact("hello.wasm", from, sizeof(from));
	path_in_images(to, sizeof(to), "native.wasm");
	CHECK(copy_file(from, to));
	CHECK(create_tier("native.wasm", OCRE_TIER_INTERPRETER, NULL) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_IMAGE);
	CHECK(strstr(ocre_last_error_message(), "not a WebAssembly binary module") != NULL);
	CHECK(create_tier("native.wasm", OCRE_TIER_AUTO, NULL) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_IMAGE);
	unlink(to);
}

int main(void)
{
	test_setup();
	RUN(sha256_vectors);
	RUN(record_format);
	RUN(modules_are_cached_while_unused);
	if (!aot_store_setup()) {
		fprintf(stderr, "aot: AOT cases skipped: the compiler ocre-aotc was not built (LLVM 15 not found; "
		                "apt-get install llvm-15-dev)\n");
	} else {
		RUN(compile_fixtures);
		RUN(tier_is_chosen);
		RUN(same_results_in_both_tiers);
		RUN(kill_aot_busy_loop);
		RUN(tampered_artifact_is_refused);
		RUN(stale_artifact_is_not_used);
		RUN(artifact_as_image_is_refused);
	}
	test_teardown();
	return test_finish();
}
