/* ocre-oci's own parsing: the command line (runc's), config.json (good and
 * bad bundles: each bad one a clear error, never a crash) and the state file.
 * The commands themselves run in test/oci.test.ts (and under Podman). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "config.h"
#include "state.h"
#include "testlib.h"

static char err[OCI_ERR_MAX];

/* ---- command line ---- */

static int parse(struct oci_args *a, const char *line)
{
	char *copy = strdup(line), *argv[64], *tok, *save = NULL;
	static char *keep[16];
	static int nkeep;
	int argc = 0;

	argv[argc++] = "ocre-oci";
	for (tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	/* the parsed struct points into argv: keep the last few lines alive */
	free(keep[nkeep % 16]);
	keep[nkeep++ % 16] = copy;
	err[0] = '\0';
	return oci_args_parse(argc, argv, a, err);
}

static void check_parse_error(const char *line, const char *expect)
{
	struct oci_args a;
	CHECK_INT(parse(&a, line), -1);
	if (!strstr(err, expect))
		test_fail(__FILE__, __LINE__, "'%s': error \"%s\" lacks \"%s\"", line, err, expect);
}

static void test_args_create_as_conmon_calls_it(void)
{
	struct oci_args a;

	CHECK_INT(parse(&a, "--root /run/x --log /tmp/l.json --log-format json --systemd-cgroup create --bundle /b "
	                    "--pid-file /p --console-socket /s --no-pivot --no-new-keyring --preserve-fds 2 abc-123"),
	          0);
	CHECK_INT(a.command, OCI_CMD_CREATE);
	CHECK_STR(a.root, "/run/x");
	CHECK_STR(a.log, "/tmp/l.json");
	CHECK(a.log_json);
	CHECK_STR(a.bundle, "/b");
	CHECK_STR(a.pid_file, "/p");
	CHECK_STR(a.console_socket, "/s");
	CHECK_STR(a.id, "abc-123");

	CHECK_INT(parse(&a, "--root=/r --log-format=text create -b=/b2 --pid-file=/p2 X_y.z+1"), 0);
	CHECK_STR(a.root, "/r");
	CHECK(!a.log_json);
	CHECK_STR(a.bundle, "/b2");
	CHECK_STR(a.pid_file, "/p2");
	CHECK_STR(a.id, "X_y.z+1");

	CHECK_INT(parse(&a, "create id1"), 0);
	if (geteuid() == 0 && !getenv("XDG_RUNTIME_DIR"))
		CHECK_STR(a.root, OCI_DEFAULT_ROOT);
	CHECK_STR(a.bundle, ".");
	CHECK(a.pid_file == NULL && a.console_socket == NULL && a.log == NULL);
	CHECK_INT(parse(&a, "-root /single create -bundle /b id1"), 0);
	CHECK_STR(a.root, "/single");
	CHECK_STR(a.bundle, "/b");
}

static void test_args_other_commands(void)
{
	struct oci_args a;

	CHECK_INT(parse(&a, "start c"), 0);
	CHECK_INT(a.command, OCI_CMD_START);
	CHECK_INT(parse(&a, "state c"), 0);
	CHECK_INT(a.command, OCI_CMD_STATE);
	CHECK_INT(parse(&a, "kill c"), 0);
	CHECK_INT(a.command, OCI_CMD_KILL);
	CHECK_STR(a.signal, "TERM");
	CHECK_INT(parse(&a, "kill --all c 9"), 0);
	CHECK_STR(a.signal, "9");
	CHECK_INT(parse(&a, "kill c SIGKILL"), 0);
	CHECK_INT(oci_signal_number(a.signal), SIGKILL);
	CHECK_INT(parse(&a, "delete c"), 0);
	CHECK(!a.force);
	CHECK_INT(parse(&a, "delete --force c"), 0);
	CHECK(a.force);
	CHECK_INT(parse(&a, "delete -f=true c"), 0);
	CHECK(a.force);
	CHECK_INT(parse(&a, "delete --force=false c"), 0);
	CHECK(!a.force);
	CHECK_INT(parse(&a, "ps --format json c"), 0);
	CHECK_INT(a.command, OCI_CMD_PS);
	CHECK(a.json);
	CHECK_INT(parse(&a, "list -f table -q"), 0);
	CHECK_INT(a.command, OCI_CMD_LIST);
	CHECK(!a.json);
	CHECK_INT(parse(&a, "features"), 0);
	CHECK_INT(a.command, OCI_CMD_FEATURES);
	CHECK_INT(parse(&a, "--version"), 0);
	CHECK_INT(a.command, OCI_CMD_VERSION);
	CHECK_INT(parse(&a, "--root /r -v"), 0);
	CHECK_INT(a.command, OCI_CMD_VERSION);
	CHECK_INT(parse(&a, "--help"), 0);
	CHECK_INT(a.command, OCI_CMD_HELP);
	CHECK_INT(parse(&a, "create --help"), 0);
	CHECK_INT(a.command, OCI_CMD_HELP);
	CHECK_INT(parse(&a, "start -- c"), 0);
	CHECK_STR(a.id, "c");
}

static void test_args_errors(void)
{
	check_parse_error("", "no command");
	check_parse_error("--root /r", "no command");
	check_parse_error("frobnicate c", "unknown command \"frobnicate\"");
	check_parse_error("exec c /bin/sh", "\"exec\" is not supported");
	check_parse_error("pause c", "\"pause\" is not supported");
	check_parse_error("start", "a container id is required");
	check_parse_error("create --bundle /b", "a container id is required");
	check_parse_error("start a b", "too many arguments");
	check_parse_error("kill a 9 x", "too many arguments");
	check_parse_error("start a/b", "invalid container id");
	check_parse_error("start ..", "invalid container id");
	check_parse_error("start .", "invalid container id");
	check_parse_error("start .delegate", "invalid container id");
	check_parse_error("state a:b", "invalid container id");
	check_parse_error("--bogus create c", "unknown option --bogus");
	check_parse_error("create --bogus c", "unknown option --bogus");
	check_parse_error("start --bundle /b c", "unknown option --bundle");
	check_parse_error("create c --bundle", "--bundle needs a value");
	check_parse_error("--root", "--root needs a value");
	check_parse_error("--root relative start c", "--root must be an absolute path");
	check_parse_error("--log-format xml start c", "--log-format must be text or json");
	check_parse_error("delete --force=yes c", "--force takes no value");
	check_parse_error("ps --format yaml c", "--format must be table or json");
	check_parse_error("kill c BOGUS", "unknown signal \"BOGUS\"");
	check_parse_error("kill c 0", "unknown signal");
	check_parse_error("kill c 65", "unknown signal");
	check_parse_error("start c create", "too many arguments");
	{
		char id[1100];
		memset(id, 'a', sizeof(id) - 1);
		id[sizeof(id) - 1] = '\0';
		CHECK(!oci_valid_id(id));
		id[1024] = '\0';
		CHECK(oci_valid_id(id));
		CHECK(!oci_valid_id(""));
		CHECK(!oci_valid_id(NULL));
	}
}

static void test_default_root(void)
{
	char buf[64];
	const char *full = "         0          0 4294967295\n";
	const char *rootless = "         0       1000          1\n         1     100000      65536\n";

	/* runc's rule: a user's state goes under $XDG_RUNTIME_DIR; root's too inside a user namespace
	 * (rootless Podman: its runtime runs as the namespace's root, which owns that directory) */
	CHECK(oci_use_xdg_runtime_dir(1000, full, 1000));
	CHECK(oci_use_xdg_runtime_dir(1000, NULL, -1));
	CHECK(!oci_use_xdg_runtime_dir(0, full, 0));
	CHECK(!oci_use_xdg_runtime_dir(0, NULL, 0));
	CHECK(oci_use_xdg_runtime_dir(0, rootless, 0));
	CHECK(!oci_use_xdg_runtime_dir(0, rootless, 1000)); /* not owned by the namespace's root */
	CHECK(!oci_use_xdg_runtime_dir(0, rootless, -1));
	CHECK_STR(oci_default_root(true, "/run/user/1000", buf, sizeof buf), "/run/user/1000/ocre-oci");
	CHECK_STR(oci_default_root(false, "/run/user/1000", buf, sizeof buf), OCI_DEFAULT_ROOT);
	CHECK_STR(oci_default_root(true, NULL, buf, sizeof buf), OCI_DEFAULT_ROOT);
	CHECK_STR(oci_default_root(true, "", buf, sizeof buf), OCI_DEFAULT_ROOT);
	CHECK_STR(oci_default_root(true, "relative/dir", buf, sizeof buf), OCI_DEFAULT_ROOT);
	/* too long for the buffer: not truncated, the fixed default instead */
	CHECK_STR(oci_default_root(true, "/a-long-runtime-directory-name-xxxxxxxxxxxxxxxxxxxxxxxxx", buf, sizeof buf),
	          OCI_DEFAULT_ROOT);
}

static void test_signal_names(void)
{
	CHECK_INT(oci_signal_number("TERM"), SIGTERM);
	CHECK_INT(oci_signal_number("sigterm"), SIGTERM);
	CHECK_INT(oci_signal_number("15"), 15);
	CHECK_INT(oci_signal_number("KILL"), SIGKILL);
	CHECK_INT(oci_signal_number("SIGINT"), SIGINT);
	CHECK_INT(oci_signal_number("WINCH"), SIGWINCH);
	CHECK_INT(oci_signal_number("15x"), -1);
	CHECK_INT(oci_signal_number("SIG"), -1);
	CHECK_INT(oci_signal_number(""), -1);
	CHECK_INT(oci_signal_number(NULL), -1);
}

/* ---- config.json ---- */

static char bundle[PATH_MAX];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(fwrite(data, 1, len, f), len);
		fclose(f);
	}
}

static void copy_fixture(const char *name, const char *dst)
{
	char src[PATH_MAX], buf[65536];
	FILE *in;
	size_t n;
	FILE *out;

	snprintf(src, sizeof(src), "%s/%s", getenv("OCRE_FIXTURES"), name);
	in = fopen(src, "rb");
	out = fopen(dst, "wb");
	CHECK(in && out);
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

/* bundle/{rootfs/{app.wasm,bin/tool.wasm,native,escape->/etc/passwd,file},data/,hostfile} */
static void make_bundle(void)
{
	char p[PATH_MAX + 64];
	const char *dir = test_tmpdir("oci-bundle");
	char *real = realpath(dir, NULL);

	snprintf(bundle, sizeof(bundle), "%s", real);
	free(real);
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/rootfs/bin", bundle);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/data", bundle);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/rootfs/app.wasm", bundle);
	copy_fixture("hello.wasm", p);
	snprintf(p, sizeof(p), "%s/rootfs/bin/tool.wasm", bundle);
	copy_fixture("args-env.wasm", p);
	snprintf(p, sizeof(p), "%s/rootfs/native", bundle);
	write_file(p, "\177ELF\2\1\1\0", 8);
	snprintf(p, sizeof(p), "%s/rootfs/short", bundle);
	write_file(p, "\0a", 2);
	snprintf(p, sizeof(p), "%s/hostfile", bundle);
	write_file(p, "x", 1);
	snprintf(p, sizeof(p), "%s/rootfs/escape.wasm", bundle);
	CHECK_INT(symlink("/etc/passwd", p), 0);
}

/* Parse a config whose text is @p text with the bundle path substituted for every "@B". */
static int parse_config(struct oci_config *cfg, const char *text)
{
	char json[16384];
	const char *s = text;
	size_t n = 0, lb = strlen(bundle);

	while (*s && n + lb + 1 < sizeof(json)) {
		if (s[0] == '@' && s[1] == 'B') {
			memcpy(json + n, bundle, lb);
			n += lb;
			s += 2;
		} else {
			json[n++] = *s++;
		}
	}
	json[n] = '\0';
	return oci_config_parse(json, n, bundle, cfg, err);
}

#define PROC_OK "\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\"}"
#define ROOT_OK "\"root\":{\"path\":\"rootfs\"}"
#define V "\"ociVersion\":\"1.0.2\""

static void check_config_result(const char *json, int code, const char *expect)
{
	struct oci_config cfg;
	int ret = parse_config(&cfg, json);

	CHECK_INT(ret, code);
	if (ret == code && !strstr(err, expect))
		test_fail(__FILE__, __LINE__, "config %s: error \"%s\" lacks \"%s\"", json, err, expect);
	CHECK(cfg.root == NULL && cfg.args == NULL && cfg.mounts == NULL); /* left empty */
}

static void check_config_error(const char *json, const char *expect)
{
	check_config_result(json, OCI_CONFIG_INVALID, expect);
}

static void test_config_minimal(void)
{
	struct oci_config cfg;
	char expect[PATH_MAX + 32];

	make_bundle();
	CHECK_INT(parse_config(&cfg, "{" V "," ROOT_OK "," PROC_OK "}"), 0);
	snprintf(expect, sizeof(expect), "%s/rootfs", bundle);
	CHECK_STR(cfg.root, expect);
	snprintf(expect, sizeof(expect), "%s/rootfs/app.wasm", bundle);
	CHECK_STR(cfg.module, expect);
	CHECK(cfg.args && cfg.args[0] == NULL);
	CHECK(cfg.env && cfg.env[0] == NULL);
	CHECK_STR(cfg.cwd, "/");
	CHECK(!cfg.terminal);
	CHECK(!cfg.root_readonly);
	CHECK_INT(cfg.n_mounts, 0);
	CHECK_STR(cfg.annotations, "{}");
	CHECK_STR(cfg.capabilities[0], "filesystem");
	CHECK(cfg.capabilities[1] == NULL);
	CHECK_INT(cfg.memory_limit, 0);
	CHECK_INT(cfg.stop_grace_ms, 0);
	oci_config_free(&cfg);
	oci_config_free(&cfg); /* zeroed: a second free is harmless */
}

static void test_config_full(void)
{
	struct oci_config cfg;
	char expect[PATH_MAX + 32];

	CHECK_INT(parse_config(&cfg,
	                       "{" V ",\"root\":{\"path\":\"@B/rootfs\",\"readonly\":true},"
	                       "\"process\":{\"terminal\":true,\"args\":[\"tool.wasm\",\"a\",\"b c\"],"
	                       "\"env\":[\"PATH=/nowhere:/bin\",\"X=1=2\"],\"cwd\":\"/bin\",\"user\":{\"uid\":0}},"
	                       "\"mounts\":["
	                       "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	                       "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
	                       "\"options\":[\"rbind\",\"ro\"]},"
	                       "{\"destination\":\"/rw\",\"source\":\"@B/data\",\"options\":[\"bind\",\"ro\",\"rw\"]},"
	                       "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"@B/hostfile\"}],"
	                       "\"annotations\":{\"a\":\"b\",\"run.ocre.capabilities\":\"ocre:api,networking\","
	                       "\"run.ocre.stop-grace-ms\":\"2500\"},"
	                       "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864}},\"namespaces\":[]},"
	                       "\"hostname\":\"h\"}"),
	          0);
	snprintf(expect, sizeof(expect), "%s/rootfs/bin/tool.wasm", bundle);
	CHECK_STR(cfg.module, expect); /* found through process.env's PATH */
	CHECK_STR(cfg.args[0], "a");
	CHECK_STR(cfg.args[1], "b c");
	CHECK(cfg.args[2] == NULL);
	CHECK_STR(cfg.env[1], "X=1=2");
	CHECK_STR(cfg.cwd, "/bin");
	CHECK(cfg.terminal);
	CHECK(cfg.root_readonly);
	CHECK_INT(cfg.n_mounts, 2);
	CHECK_INT(cfg.n_skipped_mounts, 2); /* proc, and the file bind */
	snprintf(expect, sizeof(expect), "%s/data", bundle);
	CHECK_STR(cfg.mounts[0].source, expect);
	CHECK_STR(cfg.mounts[0].destination, "/data");
	CHECK(cfg.mounts[0].readonly);
	CHECK_STR(cfg.mounts[1].destination, "/rw");
	CHECK(!cfg.mounts[1].readonly); /* the last of ro/rw wins */
	CHECK(strstr(cfg.annotations, "\"a\":\"b\"") != NULL);
	CHECK_STR(cfg.capabilities[0], "filesystem");
	CHECK_STR(cfg.capabilities[1], "ocre:api");
	CHECK_STR(cfg.capabilities[2], "networking");
	CHECK(cfg.capabilities[3] == NULL);
	CHECK_INT(cfg.stop_grace_ms, 2500);
	CHECK_INT(cfg.memory_limit, 67108864);
	oci_config_free(&cfg);

	/* a relative args[0] with a slash is relative to process.cwd */
	CHECK_INT(parse_config(&cfg, "{" V "," ROOT_OK ",\"process\":{\"args\":[\"bin/tool.wasm\"],\"cwd\":\"/\"}}"),
	          0);
	snprintf(expect, sizeof(expect), "%s/rootfs/bin/tool.wasm", bundle);
	CHECK_STR(cfg.module, expect);
	oci_config_free(&cfg);
}

static void test_config_malformed(void)
{
	char deep[5000];
	size_t i;

	check_config_error("", "malformed JSON");
	check_config_error("{", "malformed JSON");
	check_config_error("{\"ociVersion\":\"1.0.2\",}", "malformed JSON at byte");
	check_config_error("nul", "malformed JSON");
	check_config_error("{} trailing", "trailing data");
	check_config_error("[1,2]", "must be a JSON object");
	check_config_error("\"text\"", "must be a JSON object");
	check_config_error("null", "must be a JSON object");
	for (i = 0; i < 2400; i++)
		deep[i] = '[';
	deep[i] = '\0';
	check_config_error(deep, "malformed JSON"); /* cJSON's nesting limit, no stack overflow */
}

static void test_config_missing_and_wrong_types(void)
{
	check_config_error("{" ROOT_OK "," PROC_OK "}", "ociVersion is required");
	check_config_error("{\"ociVersion\":1," ROOT_OK "," PROC_OK "}", "ociVersion must be a string");
	check_config_error("{\"ociVersion\":\"2.0.0\"," ROOT_OK "," PROC_OK "}", "ociVersion 2.0.0 is not supported");
	check_config_error("{" V "," PROC_OK "}", "root is required");
	check_config_error("{" V ",\"root\":\"rootfs\"," PROC_OK "}", "root must be an object");
	check_config_error("{" V ",\"root\":{}," PROC_OK "}", "root.path is required");
	check_config_error("{" V ",\"root\":{\"path\":7}," PROC_OK "}", "root.path must be a string");
	check_config_error("{" V ",\"root\":{\"path\":\"rootfs\",\"readonly\":\"yes\"}," PROC_OK "}",
	                   "root.readonly must be a boolean");
	check_config_error("{" V ",\"root\":{\"path\":\"nope\"}," PROC_OK "}", "No such file or directory");
	check_config_error("{" V ",\"root\":{\"path\":\"hostfile\"}," PROC_OK "}", "is not a directory");
	check_config_error("{" V "," ROOT_OK "}", "process is required");
	check_config_error("{" V "," ROOT_OK ",\"process\":[]}", "process must be an object");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"cwd\":\"/\"}}", "process.args is required");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":\"/app.wasm\",\"cwd\":\"/\"}}",
	                   "process.args must be an array");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[],\"cwd\":\"/\"}}",
	                   "process.args must name the module");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\",3],\"cwd\":\"/\"}}",
	                   "process.args[1] must be a string");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\"]}}", "process.cwd is required");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"rel\"}}",
	                   "process.cwd must be an absolute path");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\",\"env\":\"A=1\"}}",
	                   "process.env must be an array");
	check_config_error("{" V "," ROOT_OK
	                   ",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\",\"env\":[\"NOEQ\"]}}",
	                   "process.env[0] \"NOEQ\" is not KEY=VALUE");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\",\"env\":[1]}}",
	                   "process.env[0] must be a string");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/app.wasm\"],\"cwd\":\"/\",\"terminal\":1}}",
	                   "process.terminal must be a boolean");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"annotations\":[]}", "annotations must be an object");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"annotations\":{\"a\":1}}",
	                   "annotations.a must be a string");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"annotations\":{\"run.ocre.stop-grace-ms\":\"soon\"}}",
	                   "stop-grace-ms must be milliseconds");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"annotations\":{\"run.ocre.stop-grace-ms\":\"-1\"}}",
	                   "stop-grace-ms must be milliseconds");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
	                   "linux.resources.memory.limit must be a number");
	check_config_error("{" V "," ROOT_OK "," PROC_OK ",\"linux\":7}", "linux must be an object");
}

static void test_config_module_checks(void)
{
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/missing.wasm\"],\"cwd\":\"/\"}}",
	                   "process.args[0] /missing.wasm: No such file or directory");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"\"],\"cwd\":\"/\"}}",
	                   "process.args[0] is empty");
	/* a native image is its own result, so that it can be handed to another runtime */
	check_config_result("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/native\"],\"cwd\":\"/\"}}",
	                    OCI_CONFIG_NOT_WASM, "/native is not a WebAssembly module");
	check_config_result("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/short\"],\"cwd\":\"/\"}}",
	                    OCI_CONFIG_NOT_WASM, "/short is not a WebAssembly module");
	/* ... even with what only a wasm container refuses (a pod's pause container has a read-only root) */
	check_config_result("{" V ",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	                    "\"process\":{\"args\":[\"/native\"],\"cwd\":\"/\"}}",
	                    OCI_CONFIG_NOT_WASM, "/native is not a WebAssembly module");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/bin\"],\"cwd\":\"/\"}}",
	                   "is not a regular file");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"nothere.wasm\"],\"cwd\":\"/\"}}",
	                   "executable file `nothere.wasm` not found in $PATH");
}

static void test_config_paths_escaping(void)
{
	check_config_error("{" V ",\"root\":{\"path\":\"../\"}," PROC_OK "}", "outside");
	check_config_error("{" V ",\"root\":{\"path\":\"rootfs/../..\"}," PROC_OK "}", "outside");
	/* ".." stops at the guest's "/", as in a chroot: never a host path */
	check_config_error("{" V "," ROOT_OK
	                   ",\"process\":{\"args\":[\"/../../../../../../../../../../../../etc/passwd\"],"
	                   "\"cwd\":\"/\"}}",
	                   "process.args[0] /etc/passwd: No such file or directory");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"/escape.wasm\"],\"cwd\":\"/\"}}", "outside");
	check_config_error("{" V "," ROOT_OK ",\"process\":{\"args\":[\"../hostfile\"],\"cwd\":\"/\"}}",
	                   "process.args[0] /hostfile: No such file or directory");
	{
		struct oci_config cfg;
		CHECK_INT(parse_config(&cfg, "{" V "," ROOT_OK
		                             ",\"process\":{\"args\":[\"../../app.wasm\"],\"cwd\":\"/bin\"}}"),
		          0);
		CHECK(cfg.module && strstr(cfg.module, "/rootfs/app.wasm") != NULL);
		oci_config_free(&cfg);
	}
	{
		/* each "mounts" value, refused with the message */
		static const struct {
			const char *mounts;
			const char *error;
		} cases[] = {
		    {"{}", "mounts must be an array"},
		    {"[1]", "mounts[0] must be an object"},
		    {"[{\"type\":\"bind\",\"source\":\"/tmp\"}]", "mounts[0].destination is required"},
		    {"[{\"destination\":\"rel\",\"type\":\"bind\"}]", "must be an absolute path without .."},
		    {"[{\"destination\":\"/a/../b\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
		     "must be an absolute path without .."},
		    {"[{\"destination\":\"/\",\"type\":\"bind\",\"source\":\"/tmp\"}]", "destination must not be /"},
		    {"[{\"destination\":\"/d\",\"type\":\"bind\"}]", "source is required for a bind mount"},
		    {"[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"../..\"}]", "outside"},
		    {"[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"/no/such/dir\"}]",
		     "No such file or directory"},
		    {"[{\"destination\":\"/d\",\"type\":7,\"source\":\"/tmp\"}]", "mounts[0].type must be a string"},
		    {"[{\"destination\":\"/d\",\"options\":[\"bind\",1],\"source\":\"/tmp\"}]",
		     "mounts[0].options must hold strings"},
		};
		char json[512];
		size_t i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(json, sizeof(json), "{" V "," ROOT_OK "," PROC_OK ",\"mounts\":%s}", cases[i].mounts);
			check_config_error(json, cases[i].error);
		}
	}
}

static void test_config_load(void)
{
	struct oci_config cfg;
	char p[PATH_MAX + 32];

	CHECK_INT(oci_config_load("/no/such/bundle", &cfg, err), -1);
	CHECK(strstr(err, "bundle /no/such/bundle") != NULL);
	CHECK_INT(oci_config_load(bundle, &cfg, err), -1);
	CHECK(strstr(err, "config.json: No such file or directory") != NULL);
	snprintf(p, sizeof(p), "%s/config.json", bundle);
	write_file(p, "{" V "," ROOT_OK "," PROC_OK "}", strlen("{" V "," ROOT_OK "," PROC_OK "}"));
	CHECK_INT(oci_config_load(bundle, &cfg, err), 0);
	CHECK_STR(cfg.bundle, bundle);
	oci_config_free(&cfg);
	write_file(p, "{\"ociVersion\":", 14);
	CHECK_INT(oci_config_load(bundle, &cfg, err), -1);
	CHECK(strstr(err, "malformed JSON") != NULL);
	unlink(p);
	CHECK_INT(mkdir(p, 0700), 0);
	CHECK_INT(oci_config_load(bundle, &cfg, err), -1);
	CHECK(strstr(err, "is not a regular file") != NULL);
	rmdir(p);
}

/* Mutations of a valid config (flipped, inserted and deleted bytes,
 * truncations): each parse is a success or a clear error, never a crash (the
 * ASan build checks the memory side). Deterministic. */
static void test_config_mutations_never_crash(void)
{
	static const char base[] =
	    "{" V ",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"/bin/tool.wasm\",\"a\"],"
	    "\"env\":[\"PATH=/bin\"],\"cwd\":\"/\",\"terminal\":false},\"mounts\":[{\"destination\":\"/d\","
	    "\"type\":\"bind\",\"source\":\"data\",\"options\":[\"ro\"]}],\"annotations\":{\"run.ocre.capabilities\":"
	    "\"networking\",\"run.ocre.stop-grace-ms\":\"5\"},\"linux\":{\"resources\":{\"memory\":{\"limit\":1}}}}";
	static const char alphabet[] = "{}[]\":,.0123456789-/\\ eE+tfnul\0\xff";
	uint32_t rng = 12345;
	int i, ok = 0, bad = 0;
	struct oci_config cfg;
	char buf[sizeof(base) + 16];

	for (i = 0; i < 3000; i++) {
		size_t len = sizeof(base) - 1, k, edits;
		memcpy(buf, base, len);
		rng = rng * 1103515245u + 12345u;
		edits = 1 + (rng >> 16) % 4;
		for (k = 0; k < edits && len > 0; k++) {
			size_t at;
			rng = rng * 1103515245u + 12345u;
			at = (rng >> 8) % len;
			switch ((rng >> 4) % 4) {
			case 0: /* replace */
				buf[at] = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			case 2: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			default: /* truncate */
				len = at;
				break;
			}
		}
		if (oci_config_parse(buf, len, bundle, &cfg, err) == OCI_CONFIG_OK) {
			ok++;
			CHECK(cfg.module != NULL && cfg.args != NULL && cfg.env != NULL && cfg.capabilities != NULL);
			oci_config_free(&cfg);
		} else {
			bad++;
			CHECK(err[0] != '\0' && strchr(err, '\n') == NULL); /* one line, never empty */
			CHECK(cfg.root == NULL && cfg.module == NULL);
		}
	}
	CHECK(ok > 0 && bad > 0);
}

/* ---- state ---- */

static void test_state_roundtrip_and_damage(void)
{
	const char *root = test_tmpdir("oci-root");
	struct oci_state st = {0}, back;
	char dir[PATH_MAX + 16], file[PATH_MAX + 32], *json;

	snprintf(dir, sizeof(dir), "%s/c1", root);
	CHECK_INT(mkdir(dir, 0700), 0);
	st.id = "c1";
	st.dir = dir;
	st.bundle = "/b";
	st.rootfs = "/b/rootfs";
	st.created = "2026-01-01T00:00:00.000000000Z";
	st.annotations = "{\"k\":\"v\"}";
	st.pid = getpid();
	st.starttime = oci_process_starttime(getpid());
	CHECK(st.starttime != 0);
	CHECK_INT(oci_state_save(&st, err), 0);
	CHECK_INT(oci_state_load(root, "c1", &back, err), 0);
	CHECK_INT(back.pid, getpid());
	CHECK_STR(back.bundle, "/b");
	CHECK_STR(oci_state_status(&back), "running"); /* alive, no fifo */
	json = oci_state_json(&back);
	CHECK(json && strstr(json, "\"status\":\t\"running\"") && strstr(json, "\"k\":\t\"v\""));
	free(json);
	back.starttime++; /* a recycled pid is not our container */
	CHECK_STR(oci_state_status(&back), "stopped");
	oci_state_free(&back);

	CHECK_INT(oci_state_load(root, "nope", &back, err), -1);
	CHECK(strstr(err, "container \"nope\" does not exist") != NULL);
	CHECK_INT(oci_state_load(root, "../etc", &back, err), -1);
	CHECK(strstr(err, "invalid container id") != NULL);
	snprintf(file, sizeof(file), "%s/state.json", dir);
	write_file(file, "{\"pid\":\"x\"}", 11);
	CHECK_INT(oci_state_load(root, "c1", &back, err), -1);
	CHECK(strstr(err, "state file is damaged") != NULL);
	write_file(file, "garbage", 7);
	CHECK_INT(oci_state_load(root, "c1", &back, err), -1);
	CHECK(strstr(err, "state file is damaged") != NULL);
	CHECK_INT(oci_remove_tree(dir), 0);
	CHECK(access(dir, F_OK) != 0);
}

int main(void)
{
	RUN(test_args_create_as_conmon_calls_it);
	RUN(test_args_other_commands);
	RUN(test_args_errors);
	RUN(test_default_root);
	RUN(test_signal_names);
	RUN(test_config_minimal);
	RUN(test_config_full);
	RUN(test_config_malformed);
	RUN(test_config_missing_and_wrong_types);
	RUN(test_config_module_checks);
	RUN(test_config_paths_escaping);
	RUN(test_config_load);
	RUN(test_config_mutations_never_crash);
	RUN(test_state_roundtrip_and_damage);
	return test_finish();
}
