/* C-level costs of the core, for finding where time and memory go (the
 * published comparison with node:wasi is `npm run bench`).
 *   cycle WORKDIR N          median/p99 of create+start+wait+remove (trivial.wasm)
 *   cycle-async WORKDIR N    the same with ocre_container_start_async() (what the addon calls)
 *   sleepers WORKDIR N       RSS and threads with N containers asleep
 * Build: cmake -S . -B build/core && cmake --build build/core &&
 *        cc -O2 bench/c/cycle.c -Inative/include build/core/libocre.a -lpthread -lm -ldl -o cycle
 * WORKDIR/images/ must hold trivial.wasm and sleeper.wasm (test/fixtures). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocre/ocre.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	struct ocre_context *ctx;
	int n, i;

	if (argc < 4) {
		fprintf(stderr, "usage: cycle|sleepers WORKDIR N\n");
		return 2;
	}
	n = atoi(argv[3]);
	ocre_initialize(NULL);
	ctx = ocre_create_context(argv[2]);
	if (!ctx) {
		fprintf(stderr, "%s\n", ocre_last_error_message());
		return 1;
	}
	if (strcmp(argv[1], "cycle") == 0 || strcmp(argv[1], "cycle-async") == 0) {
		bool async = strcmp(argv[1], "cycle-async") == 0;
		double *t = malloc(sizeof(double) * (size_t)n);
		for (i = 0; i < n; i++) {
			double t0 = now_us();
			struct ocre_container *c =
			    ocre_context_create_container(ctx, "trivial.wasm", NULL, NULL, true, NULL, -1, -1, -1);
			int st;
			if (!c) {
				fprintf(stderr, "create: %s\n", ocre_last_error_message());
				return 1;
			}
			if (async)
				ocre_container_start_async(c);
			else
				ocre_container_start(c);
			ocre_container_wait(c, &st);
			ocre_context_remove_container(ctx, c);
			t[i] = now_us() - t0;
		}
		qsort(t, (size_t)n, sizeof(double), cmp);
		printf("%s: n=%d median=%.1f us p99=%.1f us\n", argv[1], n, t[n / 2], t[n * 99 / 100]);
	} else {
		long before = rss_kb();
		const char *args[] = {"60", NULL};
		struct ocre_container_args a = {.argv = args};
		for (i = 0; i < n; i++) {
			struct ocre_container *c =
			    ocre_context_create_container(ctx, "sleeper.wasm", NULL, NULL, true, &a, -1, -1, -1);
			if (!c || ocre_container_start(c) != 0) {
				fprintf(stderr, "at %d: %s\n", i, ocre_last_error_message());
				break;
			}
		}
		usleep(500000);
		printf("sleepers: n=%d rss_before=%ld KB rss_after=%ld KB per_container=%.1f KB\n", i, before, rss_kb(),
		       (double)(rss_kb() - before) / i);
	}
	ocre_destroy_context(ctx);
	ocre_deinitialize();
	return 0;
}
