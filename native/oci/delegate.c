/* ocre-oci: running a delegate runtime (see delegate.h). */
#define _GNU_SOURCE
#include "delegate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define DELEGATE_MARK "delegate"
#define DELEGATE_ROOT ".delegate"

char *oci_delegate_of(const char *root, const char *id)
{
	char path[4096], buf[4096];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/" DELEGATE_MARK, root, id) >= (int)sizeof(path))
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int oci_delegate_mark(const char *root, const char *id, const char *delegate)
{
	char path[4096];
	size_t len = strlen(delegate);
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", root, id) >= (int)sizeof(path)) {
		oci_error("create %s: state path too long", id);
		return -1;
	}
	if (mkdir(path, 0700) != 0) {
		if (errno == EEXIST)
			oci_error("container \"%s\" already exists", id);
		else
			oci_error("create %s: cannot create %s: %s", id, path, strerror(errno));
		return -1;
	}
	strcat(path, "/" DELEGATE_MARK);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, delegate, len) != (ssize_t)len || close(fd) != 0) {
		oci_error("create %s: cannot write %s: %s", id, path, strerror(errno));
		if (fd >= 0)
			unlink(path);
		path[strlen(path) - strlen("/" DELEGATE_MARK)] = '\0';
		rmdir(path);
		return -1;
	}
	return 0;
}

/* Is argv[i] the --root option (then *skip is how many words it takes)? */
static bool is_root_option(char **argv, int i, int argc, int *skip)
{
	const char *s = argv[i];

	s += s[1] == '-' ? 2 : 1;
	if (strcmp(s, "root") == 0) {
		*skip = i + 1 < argc ? 2 : 1;
		return true;
	}
	*skip = 1;
	return strncmp(s, "root=", 5) == 0;
}

int oci_delegate_run(const struct oci_args *a, int argc, char **argv, const char *delegate)
{
	char **v = calloc((size_t)argc + 4, sizeof(char *)), *droot = NULL;
	int n = 0, i, skip, status;
	pid_t pid;

	if (!v || asprintf(&droot, "%s/" DELEGATE_ROOT, a->root) < 0) {
		free(v);
		oci_error("out of memory");
		return 1;
	}
	v[n++] = (char *)delegate;
	v[n++] = "--root";
	v[n++] = droot;
	for (i = 1; i < a->command_index; i += skip)
		if (!is_root_option(argv, i, argc, &skip))
			v[n++] = argv[i];
	for (i = a->command_index; i < argc; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execv(delegate, v);
		fprintf(stderr, "ocre-oci: cannot run the delegate runtime %s: %s\n", delegate, strerror(errno));
		_exit(127);
	}
	free(v);
	free(droot);
	if (pid < 0) {
		oci_error("cannot run the delegate runtime %s: %s", delegate, strerror(errno));
		return 1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
