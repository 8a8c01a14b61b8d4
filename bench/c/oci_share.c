/* ocre-oci's own share of a container's life, in CPU time (what a loaded
 * machine does not distort): `create`, `start`, and the container process
 * (module load + run + exit), each measured with wait4()'s rusage. This
 * process makes itself a child subreaper (as conmon and containerd's shim
 * are), so the container process, orphaned when `create` exits, becomes its
 * child and its rusage and exit status can be collected.
 *
 *   cc -O2 -o oci_share bench/c/oci_share.c
 *   oci_share OCRE_OCI STATE_ROOT BUNDLE N
 *
 * Prints one JSON line: medians in microseconds (wall and CPU), max RSS in KiB. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e6 + ru->ru_utime.tv_usec + ru->ru_stime.tv_usec;
}

/* Run argv with stdout on /dev/null; its CPU time, or -1 if it failed. */
static double run(char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return cpu_us(&ru);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int n = argc > 4 ? atoi(argv[4]) : 0, i;
	double *create = calloc((size_t)n + 1, sizeof(double)), *start = calloc((size_t)n + 1, sizeof(double));
	double *proc = calloc((size_t)n + 1, sizeof(double)), *wall = calloc((size_t)n + 1, sizeof(double));
	long maxrss = 0;

	if (n < 1 || !create || !start || !proc || !wall || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "usage: oci_share OCRE_OCI STATE_ROOT BUNDLE N\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		char id[32];
		char *c[] = {argv[1], "--root", argv[2], "create", "--bundle", argv[3], id, NULL};
		char *s[] = {argv[1], "--root", argv[2], "start", id, NULL};
		char *d[] = {argv[1], "--root", argv[2], "delete", id, NULL};
		struct rusage ru;
		double t0 = now_us();
		int status;
		pid_t pid;

		snprintf(id, sizeof(id), "share%d", i);
		if ((create[i] = run(c)) < 0 || (start[i] = run(s)) < 0) {
			fprintf(stderr, "oci_share: create/start of %s failed\n", id);
			return 1;
		}
		/* the only child left is the orphaned container process */
		if ((pid = wait4(-1, &status, 0, &ru)) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "oci_share: the container process of %s did not exit 0\n", id);
			return 1;
		}
		wall[i] = now_us() - t0;
		proc[i] = cpu_us(&ru);
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		run(d);
	}
	printf("{\"n\":%d,\"wallUs\":%.0f,\"createCpuUs\":%.0f,\"startCpuUs\":%.0f,\"processCpuUs\":%.0f,"
	       "\"maxRssKiB\":%ld}\n",
	       n, median(wall, n), median(create, n), median(start, n), median(proc, n), maxrss);
	return 0;
}
