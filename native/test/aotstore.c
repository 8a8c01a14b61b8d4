/* The image store's AOT side as the store writes it, for the C tests: the
 * store key, artifacts compiled with ocre-aotc (OCRE_AOTC) and their signed
 * records. */
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

static const char *aotc;
uint8_t store_key[32];

void hex_of(const void *data, size_t size, char out[65])
{
	uint8_t d[32];
	ocre_sha256(data, size, d);
	ocre_hex(d, 32, out);
}

/* ---- artifacts, made as the image store makes them (lib/aot.ts) ---- */

void path_in_images(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", test_images_dir(), rel);
}

char *slurp(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	char *text;

	if (fd < 0)
		return NULL;
	text = test_read_all(fd);
	close(fd);
	*size = strlen(text); /* callers use it on text or check separately */
	return text;
}

bool write_file(const char *path, const void *data, size_t size, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, size) == (ssize_t)size;
	fchmod(fd, mode);
	close(fd);
	return ok;
}

bool file_digest(const char *path, char hex[65], size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);
	bool ok;

	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	buf = malloc((size_t)st.st_size + 1);
	ok = buf && read(fd, buf, (size_t)st.st_size) == st.st_size;
	close(fd);
	if (ok)
		hex_of(buf, (size_t)st.st_size, hex);
	*size = (size_t)st.st_size;
	free(buf);
	return ok;
}

/* Write the record of artifact images/.aot/<artifact> for image <name>;
 * @p image_sha / @p wamr / @p machine override what a correct record says
 * (NULL: correct). */
const char *record_bounds;

void write_record(const char *name, const char *artifact, const char *image_sha, const char *wamr, const char *machine)
{
	char path[1200], img_hex[65], art_hex[65], text[OCRE_AOT_RECORD_MAX], tmp[1200], size_text[32];
	size_t img_size, art_size;

	path_in_images(path, sizeof(path), name);
	CHECK(file_digest(path, img_hex, &img_size));
	snprintf(path, sizeof(path), "%s/.aot/%s", test_images_dir(), artifact);
	CHECK(file_digest(path, art_hex, &art_size));
	snprintf(size_text, sizeof(size_text), "%zu", art_size);
	const char *values[] = {name,
	                        artifact,
	                        image_sha ? image_sha : img_hex,
	                        art_hex,
	                        size_text,
	                        wamr ? wamr : "1.1.2",
	                        OCRE_AOT_TARGET,
	                        "x86-64",
	                        "-",
	                        "3",
	                        record_bounds ? record_bounds : ocre_aot_bounds(),
	                        machine ? machine : "-",
	                        "2026-11-28T00:00:00.000Z"};
	CHECK(ocre_aot_record_sign(values, store_key, text) > 0);
	/* as the store does it: a new file renamed over the record */
	snprintf(path, sizeof(path), "%s/.aot/%s.meta", test_images_dir(), name);
	snprintf(tmp, sizeof(tmp), "%s/.aot/.tmp-record", test_images_dir());
	CHECK(write_file(tmp, text, strlen(text), 0600));
	CHECK_INT(rename(tmp, path), 0);
}

/* The artifact path the current record of <name> names. */
void current_artifact(const char *name, char *out, size_t size)
{
	char path[1200], *text, *line;
	size_t len;

	snprintf(path, sizeof(path), "%s/.aot/%s.meta", test_images_dir(), name);
	text = slurp(path, &len);
	out[0] = '\0';
	if (text && (line = strstr(text, "\nartifact ")) != NULL) {
		char *eol = strchr(line + 10, '\n');
		if (eol)
			*eol = '\0';
		snprintf(out, size, "%s/.aot/%s", test_images_dir(), line + 10);
	}
	free(text);
}

bool copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	bool ok = true;
	int in = open(from, O_RDONLY), out;

	unlink(to); /* a new inode, as the store's atomic rename gives */
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (in < 0 || out < 0)
		ok = false;
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

/* Compile images/<name> to images/.aot/<name>.aot with ocre-aotc (once per
 * name; later calls restore that first output) and record it. */
bool compile(const char *name)
{
	static char kept_dir[600];
	char in[1200], out[1200], kept[1200], hex[65], artifact[300];
	size_t size;
	int status;
	pid_t pid;

	if (!kept_dir[0])
		snprintf(kept_dir, sizeof(kept_dir), "%s", test_tmpdir("aot-compiled"));
	path_in_images(in, sizeof(in), name);
	snprintf(kept, sizeof(kept), "%s/%s.aot", kept_dir, name);
	if (access(kept, F_OK) != 0) {
		pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			execl(aotc, aotc, in, kept, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return false;
	}
	if (!file_digest(kept, hex, &size))
		return false;
	snprintf(artifact, sizeof(artifact), "%s.%.16s.aot", name, hex);
	snprintf(out, sizeof(out), "%s/.aot/%s", test_images_dir(), artifact);
	if (!copy_file(kept, out))
		return false;
	write_record(name, artifact, NULL, NULL, NULL);
	return true;
}

bool aot_store_setup(void)
{
	char path[1200];
	int i;

	aotc = getenv("OCRE_AOTC");
	if (!aotc || !*aotc)
		return false;
	for (i = 0; i < 32; i++)
		store_key[i] = (uint8_t)(i * 37 + 11);
	path_in_images(path, sizeof(path), ".aot");
	mkdir(path, 0700);
	path_in_images(path, sizeof(path), ".aot/key");
	CHECK(write_file(path, store_key, sizeof(store_key), 0600));
	return true;
}
