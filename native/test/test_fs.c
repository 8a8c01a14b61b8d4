/* Mounts at guest paths, the sandbox around them, read-only mounts, and the
 * `filesystem` capability's private directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

/* Run fs.wasm with @p argv (NULL-terminated) and the given capabilities and
 * mounts; returns its stdout, *status its exit status. */
static char *fs_run(const char *id, const char **caps, const char **mounts, const char **argv, int *status)
{
	struct ocre_container_args args = {.argv = argv, .capabilities = caps, .mounts = mounts};
	return test_run_capture("fs.wasm", id, &args, 0, status, NULL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	char *text;
	if (fd < 0)
		return strdup("(missing)");
	text = test_read_all(fd);
	close(fd);
	return text;
}

#define EXPECT_RUN(id, caps, mounts, expected_out, expected_status, ...)                                               \
	do {                                                                                                           \
		const char *argv_[] = {__VA_ARGS__, NULL};                                                             \
		int st_ = -1;                                                                                          \
		char *out_ = fs_run(id, caps, mounts, argv_, &st_);                                                    \
		CHECK_STR(out_, expected_out);                                                                         \
		CHECK_INT(st_, expected_status);                                                                       \
		free(out_);                                                                                            \
	} while (0)

static void mount_is_seen_at_its_guest_path(void)
{
	const char *host = test_tmpdir("data");
	char mount[700], file[700];
	const char *mounts[] = {mount, NULL};
	char *text;

	snprintf(mount, sizeof(mount), "%s:/data", host);
	snprintf(file, sizeof(file), "%s/in.txt", host);
	write_file(file, "from host");
	EXPECT_RUN("m1", NULL, mounts, "from host", 0, "read", "/data/in.txt");
	EXPECT_RUN("m2", NULL, mounts, "ok\n", 0, "write", "/data/out.txt", "from guest");
	snprintf(file, sizeof(file), "%s/out.txt", host);
	text = read_file(file);
	CHECK_STR(text, "from guest");
	free(text);
	EXPECT_RUN("m3", NULL, mounts, "in.txt\nout.txt\n", 0, "ls", "/data");
	/* the host path means nothing inside the guest */
	{
		const char *argv[] = {"read", file, NULL};
		int st = -1;
		char *out = fs_run("m4", NULL, mounts, argv, &st);
		CHECK(strncmp(out, "error: ", 7) == 0);
		CHECK_INT(st, 1);
		free(out);
	}
}

static void mount_cannot_be_escaped(void)
{
	const char *base = test_tmpdir("escape");
	char inner[700], secret[700], link[700], mount[800];
	const char *mounts[] = {mount, NULL};
	int st;

	snprintf(inner, sizeof(inner), "%s/inner", base);
	snprintf(secret, sizeof(secret), "%s/secret.txt", base);
	snprintf(link, sizeof(link), "%s/inner/link", base);
	mkdir(inner, 0755);
	write_file(secret, "do not read");
	CHECK_INT(symlink(secret, link), 0);
	snprintf(mount, sizeof(mount), "%s:/data", inner);

	{
		static const char *const attempts[] = {"/data/../secret.txt", "/data/link",    "/data/../../etc/passwd",
		                                       "/etc/passwd",         "../secret.txt", NULL};
		int i;
		for (i = 0; attempts[i]; i++) {
			const char *argv[] = {"read", attempts[i], NULL};
			char *out = fs_run("esc", NULL, mounts, argv, &st);
			if (strncmp(out, "error: ", 7) != 0 || st != 1)
				test_fail(__FILE__, __LINE__, "reading %s escaped the mount: \"%s\" (status %d)",
				          attempts[i], out, st);
			free(out);
		}
	}
	/* writing through the symlink does not touch the target either */
	{
		const char *argv[] = {"write", "/data/link", "overwritten", NULL};
		char *out = fs_run("esc-w", NULL, mounts, argv, &st), *after;
		CHECK_INT(st, 1);
		free(out);
		after = read_file(secret);
		CHECK_STR(after, "do not read");
		free(after);
	}
}

static void no_capabilities_no_host_files(void)
{
	const char *argv[] = {"read", "/etc/passwd", NULL};
	int st = -1;
	char *out = fs_run("nocap", NULL, NULL, argv, &st);
	CHECK(strncmp(out, "error: ", 7) == 0);
	CHECK_INT(st, 1);
	free(out);
	EXPECT_RUN("nocap2", NULL, NULL, "error: Capabilities insufficient\n", 1, "ls", "/");
}

static void readonly_mount_rejects_writes(void)
{
	const char *host = test_tmpdir("ro");
	char mount[700], file[700];
	const char *mounts[] = {mount, NULL};
	char *text;
	int st;

	snprintf(mount, sizeof(mount), "%s:/ro:ro", host);
	snprintf(file, sizeof(file), "%s/keep.txt", host);
	write_file(file, "original");
	EXPECT_RUN("ro1", NULL, mounts, "original", 0, "read", "/ro/keep.txt");
	{
		static const char *const writes[][4] = {
		    {"write", "/ro/keep.txt", "changed", NULL}, {"write", "/ro/new.txt", "x", NULL},
		    {"append", "/ro/keep.txt", "more", NULL},   {"rm", "/ro/keep.txt", NULL, NULL},
		    {"mkdir", "/ro/sub", NULL, NULL},
		};
		size_t i;
		for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
			char *out = fs_run("ro-w", NULL, mounts, (const char **)writes[i], &st);
			if (strncmp(out, "error: ", 7) != 0 || st != 1)
				test_fail(__FILE__, __LINE__, "%s %s on a read-only mount: \"%s\" (status %d)",
				          writes[i][0], writes[i][1], out, st);
			free(out);
		}
	}
	text = read_file(file);
	CHECK_STR(text, "original");
	free(text);
	snprintf(file, sizeof(file), "%s/new.txt", host);
	CHECK(access(file, F_OK) != 0);
}

static void filesystem_capability_private_dir(void)
{
	const char *caps[] = {"filesystem", NULL};
	const char *write_argv[] = {"write", "/state.txt", "kept", NULL};
	const char *read_argv[] = {"read", "/state.txt", NULL};
	struct ocre_container_args wargs = {.argv = write_argv, .capabilities = caps};
	struct ocre_container_args rargs = {.argv = read_argv, .capabilities = caps};
	char dir[1024], file[1100];
	struct ocre_container *c, *other;
	struct stat st;
	int status = -1, out[2];
	char *text;

	c = ocre_context_create_container(test_context(), "fs.wasm", NULL, "keeper", true, &wargs, -1, -1, -1);
	CHECK(c != NULL);
	snprintf(dir, sizeof(dir), "%s/containers/keeper", ocre_context_get_working_directory(test_context()));
	snprintf(file, sizeof(file), "%s/state.txt", dir);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode)); /* created at create */
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	text = read_file(file);
	CHECK_STR(text, "kept");
	free(text);
	/* a restart sees the same directory */
	CHECK_INT(ocre_container_start(c), 0);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK(stat(file, &st) == 0);

	/* another filesystem container has its own, empty, directory */
	test_pipe(out);
	other = ocre_context_create_container(test_context(), "fs.wasm", NULL, "other", true, &rargs, -1, out[1], -1);
	CHECK_INT(ocre_container_start(other), 0);
	close(out[1]);
	text = test_read_all(out[0]);
	close(out[0]);
	CHECK_STR(text, "error: No such file or directory\n");
	free(text);
	CHECK_INT(ocre_container_wait(other, &status), 0);
	CHECK_INT(status, 1);
	CHECK_INT(ocre_context_remove_container(test_context(), other), 0);

	/* removal deletes the directory */
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	CHECK(stat(dir, &st) != 0);
}

/* A private directory already there (a crashed process's, someone else's)
 * fails creation with OCRE_ERR_EXISTS and is left alone; restore_directory
 * reuses it (but never through a symlink). */
static void leftover_private_dir_is_refused_unless_restored(void)
{
	const char *caps[] = {"filesystem", NULL};
	const char *read_argv[] = {"read", "/left.txt", NULL};
	struct ocre_container_args args = {.argv = read_argv, .capabilities = caps};
	char dir[1024], file[1100], target[1024];
	struct ocre_container *c;
	int status = -1;
	char *text;

	snprintf(dir, sizeof(dir), "%s/containers/crashed", ocre_context_get_working_directory(test_context()));
	snprintf(file, sizeof(file), "%s/left.txt", dir);
	CHECK_INT(mkdir(dir, 0700), 0);
	write_file(file, "before the crash");
	CHECK(ocre_context_create_container(test_context(), "fs.wasm", NULL, "crashed", true, &args, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_EXISTS);
	CHECK(strstr(ocre_last_error_message(), "already exists") != NULL);
	text = read_file(file);
	CHECK_STR(text, "before the crash");
	free(text);

	args.restore_directory = true;
	text = test_run_capture("fs.wasm", "crashed", &args, 0, &status, NULL);
	CHECK_STR(text, "before the crash");
	CHECK_INT(status, 0);
	free(text);

	/* a symlink where the directory should be is not followed */
	snprintf(target, sizeof(target), "%s", test_tmpdir("restore-target"));
	CHECK_INT(symlink(target, dir), 0);
	c = ocre_context_create_container(test_context(), "fs.wasm", NULL, "crashed", true, &args, -1, -1, -1);
	CHECK(c == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_IO);
	CHECK_INT(unlink(dir), 0);
}

/* A mount source that vanished after create: the run ends with a one-line
 * message naming it (not WAMR's "...: 2\n"), and every stdio fd is closed. */
static void vanished_mount_source(void)
{
	char src[1024], mount[1100], expected[1300];
	const char *mounts[] = {mount, NULL};
	const char *argv[] = {"ls", "/data", NULL};
	struct ocre_container_args args = {.argv = argv, .mounts = mounts};
	struct ocre_container *c;
	struct ocre_exit_info info;
	int status = -1, out[2];
	char *text;

	snprintf(src, sizeof(src), "%s/gone", test_tmpdir("vanish"));
	CHECK_INT(mkdir(src, 0755), 0);
	snprintf(mount, sizeof(mount), "%s:/data", src);
	test_pipe(out);
	c = ocre_context_create_container(test_context(), "fs.wasm", NULL, "vanish", true, &args, -1, out[1], -1);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(rmdir(src), 0);
	CHECK_INT(ocre_container_start_async(c), 0);
	close(out[1]);
	text = test_read_all(out[0]); /* end-of-file: the run's copy was closed */
	close(out[0]);
	CHECK_STR(text, "");
	free(text);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, OCRE_EXIT_STATUS_TRAP);
	CHECK_INT(ocre_container_get_exit(c, &info), 0);
	snprintf(expected, sizeof(expected), "cannot open %s, mounted at /data: No such file or directory", src);
	CHECK_STR(info.message, expected);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static char *hostile_run(const char **mounts, const char **argv, int *status)
{
	struct ocre_container_args args = {.argv = argv, .mounts = mounts};
	return test_run_capture("hostile.wasm", NULL, &args, 0, status, NULL);
}

#define EXPECT_SYMLINK(mounts, target, link, expected)                                                                 \
	do {                                                                                                           \
		const char *argv_[] = {"symlink", target, link, NULL};                                                 \
		int st_ = -1;                                                                                          \
		char *out_ = hostile_run(mounts, argv_, &st_);                                                         \
		CHECK_STR(out_, expected);                                                                             \
		CHECK_INT(st_, 0);                                                                                     \
		free(out_);                                                                                            \
	} while (0)

/* Link targets are judged as text where the link is: absolute targets and
 * ones that climb out of the mount are refused, nothing is resolved on the
 * host (a missing or existing host path gives the same answer). */
static void symlinks_cannot_point_out(void)
{
	const char *dir = test_tmpdir("links");
	char mount[1200], path[1300], target[64];
	const char *mounts[] = {mount, NULL};
	const char *perm = "error: Operation not permitted\n";
	ssize_t n;

	snprintf(mount, sizeof(mount), "%s:/data", dir);
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK_INT(mkdir(path, 0700), 0);
	EXPECT_SYMLINK(mounts, "/etc/passwd", "/data/abs", perm);
	EXPECT_SYMLINK(mounts, "..", "/data/up", perm);
	EXPECT_SYMLINK(mounts, "../../etc", "/data/sub/up2", perm);
	EXPECT_SYMLINK(mounts, "sub/../..", "/data/through", perm);
	EXPECT_SYMLINK(mounts, "sub/../x", "/data/named-then-up", perm);
	EXPECT_SYMLINK(mounts, "", "/data/empty", perm);
	/* inside: created as given */
	EXPECT_SYMLINK(mounts, "x.txt", "/data/in", "ok\n");
	EXPECT_SYMLINK(mounts, "../x.txt", "/data/sub/in2", "ok\n");
	EXPECT_SYMLINK(mounts, "./sub//y", "/data/in3", "ok\n");
	/* the same answer whether or not a host path of that name exists */
	EXPECT_SYMLINK(mounts, "tmp", "/data/probe1", "ok\n");
	EXPECT_SYMLINK(mounts, "no-such-host-path-anywhere", "/data/probe2", "ok\n");
	EXPECT_SYMLINK(mounts, "x", "/data/in", "error: File exists\n");
	snprintf(path, sizeof(path), "%s/sub/in2", dir);
	n = readlink(path, target, sizeof(target) - 1);
	CHECK_INT(n, 8);
	target[n > 0 ? n : 0] = '\0';
	CHECK_STR(target, "../x.txt");
	snprintf(path, sizeof(path), "%s/abs", dir);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
}

/* Mount destinations: repeated and trailing slashes are dropped, "." and
 * ".." components refused. */
static void mount_destinations_are_normalized(void)
{
	const char *dir = test_tmpdir("norm");
	char mount[1200], path[1300], bad[1200];
	const char *mounts[] = {mount, NULL};
	const char *bads[] = {bad, NULL};
	const char *cases[] = {"/data/../x", "/./data", "/data/.", "/..", NULL};
	struct ocre_container_args args = {.mounts = bads};
	int i;

	snprintf(path, sizeof(path), "%s/f.txt", dir);
	write_file(path, "x");
	snprintf(mount, sizeof(mount), "%s://data//", dir);
	EXPECT_RUN("norm1", NULL, mounts, "f.txt\n", 0, "ls", "/data");
	for (i = 0; cases[i]; i++) {
		snprintf(bad, sizeof(bad), "%s:%s", dir, cases[i]);
		CHECK(ocre_context_create_container(test_context(), "fs.wasm", NULL, NULL, true, &args, -1, -1, -1) ==
		      NULL);
		CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_MOUNT);
		CHECK(strstr(ocre_last_error_message(), ". or .. components") != NULL);
	}
}

/* A mount at "/" is the guest's root (fd 3 whatever the order), mounts
 * nested under it still hold their paths; a relative destination such as "."
 * is a preopen under that name; "/" with the filesystem capability, or a
 * destination twice, is refused. */
static void root_and_relative_mounts(void)
{
	const char *root = test_tmpdir("root"), *data = test_tmpdir("rootdata");
	char m_root[700], m_data[700], m_dot[700], m_root2[700], path[800];
	const char *mounts[] = {m_data, m_root, NULL};
	const char *dot[] = {m_dot, NULL};
	const char *twice[] = {m_root, m_root2, NULL};
	const char *caps[] = {"filesystem", NULL};
	struct ocre_container_args args = {.mounts = mounts, .capabilities = caps};

	snprintf(path, sizeof(path), "%s/r.txt", root);
	write_file(path, "r");
	snprintf(path, sizeof(path), "%s/d.txt", data);
	write_file(path, "d");
	snprintf(m_root, sizeof(m_root), "%s:/", root);
	snprintf(m_root2, sizeof(m_root2), "%s://", data);
	snprintf(m_data, sizeof(m_data), "%s:/data", data);
	snprintf(m_dot, sizeof(m_dot), "%s:.", root);
	EXPECT_RUN("root1", NULL, mounts, "r.txt\n", 0, "ls", "/");
	EXPECT_RUN("root2", NULL, mounts, "d", 0, "read", "/data/d.txt");
	EXPECT_RUN("root3", NULL, mounts, "r", 0, "read", "r.txt");
	EXPECT_RUN("dot1", NULL, dot, "r.txt\n", 0, "ls", ".");
	CHECK(ocre_context_create_container(test_context(), "fs.wasm", NULL, NULL, true, &args, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_MOUNT);
	CHECK(strstr(ocre_last_error_message(), "already the guest's /") != NULL);
	args.capabilities = NULL;
	args.mounts = twice;
	CHECK(ocre_context_create_container(test_context(), "fs.wasm", NULL, NULL, true, &args, -1, -1, -1) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_MOUNT);
	CHECK(strstr(ocre_last_error_message(), "destination / is mounted twice") != NULL);
}

/* The WASI calls the engine implements itself (wasi_preopen.c,
 * wasi_checks.c), through the wasi-edge fixture: "CALL ERRNO" lines. */
static void wasi_edges(void)
{
	static const struct {
		const char *cmd, *out;
	} cases[] = {
	    {"close-preopen", "close 0\nprestat 8\nfdstat 8\n"},
	    {"renumber-onto", "open 0\nrenumber 0\nprestat 8\nfdstat-from 8\nfilestat 0\n"},
	    {"renumber-from", "open 0\nrenumber 0\nname 0\nmoved /e\nprestat-from 8\n"},
	    {"renumber-self", "renumber 0\nstill open\n"},
	    {"fd-count", "open 16 33\n"},
	    {"shutdown", "stdout 57\nbadfd 8\n"},
	    {"set-times", "create 0\natim+now 28\nmtim+now 28\natim 0\n"},
	    {"symlink-slash", "missing/ 44\nmkdir 0\ndir/ 20\ndir 20\n"},
	};
	const char *host = test_tmpdir("edge");
	char mount[700];
	const char *mounts[] = {mount, NULL};
	size_t i;

	snprintf(mount, sizeof(mount), "%s:/e", host);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {cases[i].cmd, "/e", "10", NULL};
		struct ocre_container_args args = {.argv = argv, .mounts = mounts, .max_open_files = 16};
		int status = -1;
		char *out;

		if (strcmp(cases[i].cmd, "set-times") == 0)
			argv[2] = "f";
		if (strcmp(cases[i].cmd, "renumber-self") == 0 || strcmp(cases[i].cmd, "shutdown") == 0)
			argv[1] = NULL;
		else if (strcmp(cases[i].cmd, "fd-count") != 0 && strcmp(cases[i].cmd, "set-times") != 0)
			argv[2] = NULL;
		out = test_run_capture("wasi-edge.wasm", NULL, &args, 0, &status, NULL);
		CHECK_STR(out, cases[i].out);
		CHECK_INT(status, 0);
		free(out);
	}
}

/* A guest opening files without end stops at its open-file limit (EMFILE in
 * the guest), default or its own; nothing else in the process is affected. */
static void open_files_are_limited_per_container(void)
{
	const char *caps[] = {"filesystem", NULL};
	const char *argv[] = {"openmany", "/", NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = caps};
	int status = -1;
	char *out;

	/* default 128: stdio (3) and the "/" preopen (1) count */
	out = test_run_capture("hostile.wasm", NULL, &args, 0, &status, NULL);
	CHECK_STR(out, "opened 124: No file descriptors available\n");
	CHECK_INT(status, 0);
	free(out);
	args.max_open_files = 10;
	out = test_run_capture("hostile.wasm", NULL, &args, 0, &status, NULL);
	CHECK_STR(out, "opened 6: No file descriptors available\n");
	free(out);
	/* an out-of-range stack size is refused at create */
	args.stack_size = 1;
	CHECK(ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, -1, -1, -1) ==
	      NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
}

/* WAMR numbers a new fd at random among the free slots; ignored stdio
 * leaves 0-2 empty (the engine serves them without a host fd): patch 0011
 * keeps new fds off them, else an opened file could become the guest's
 * stdout. Stdin and stdout ignored, 100 files opened: none below 3 (without
 * the patch, one of them is 0 or 1 nearly every time). */
static void new_fds_never_take_ignored_stdio_numbers(void)
{
	const char *caps[] = {"filesystem", NULL};
	const char *argv[] = {"lowest-fd", "/", "100", NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = caps};
	struct ocre_container *c;
	int err[2], status = -1;
	char *text;

	test_pipe(err);
	c = ocre_context_create_container(test_context(), "hostile.wasm", NULL, NULL, true, &args, OCRE_STDIO_IGNORE,
	                                  OCRE_STDIO_IGNORE, err[1]);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(ocre_container_start(c), 0);
	close(err[1]);
	text = test_read_all(err[0]);
	close(err[0]);
	CHECK(text && strncmp(text, "lowest ", 7) == 0 && atoi(text + 7) >= 3);
	if (text && !(strncmp(text, "lowest ", 7) == 0 && atoi(text + 7) >= 3))
		fprintf(stderr, "     guest said: %s", text);
	free(text);
	if (!c)
		return;
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, 0);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
}

static void mounts_and_private_dir_together(void)
{
	const char *host = test_tmpdir("both");
	char mount[700], file[700];
	const char *caps[] = {"filesystem", NULL};
	const char *mounts[] = {mount, NULL};
	char *text;

	snprintf(mount, sizeof(mount), "%s:/srv/data", host);
	EXPECT_RUN("both1", caps, mounts, "ok\n", 0, "write", "/srv/data/a.txt", "mounted");
	EXPECT_RUN("both2", caps, mounts, "ok\n", 0, "mkdir", "/srv2");
	snprintf(file, sizeof(file), "%s/a.txt", host);
	text = read_file(file);
	CHECK_STR(text, "mounted");
	free(text);
}

int main(void)
{
	test_setup();
	RUN(mount_is_seen_at_its_guest_path);
	RUN(mount_cannot_be_escaped);
	RUN(no_capabilities_no_host_files);
	RUN(readonly_mount_rejects_writes);
	RUN(filesystem_capability_private_dir);
	RUN(mounts_and_private_dir_together);
	RUN(leftover_private_dir_is_refused_unless_restored);
	RUN(vanished_mount_source);
	RUN(open_files_are_limited_per_container);
	RUN(new_fds_never_take_ignored_stdio_numbers);
	RUN(symlinks_cannot_point_out);
	RUN(mount_destinations_are_normalized);
	RUN(root_and_relative_mounts);
	RUN(wasi_edges);
	test_teardown();
	return test_finish();
}
