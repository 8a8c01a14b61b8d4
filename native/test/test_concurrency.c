/* 8 threads hammer one context with create/start/pause/unpause/kill/stop/
 * wait/remove for OCRE_TEST_SECONDS (default 10): no deadlock (a watchdog
 * aborts), no crash, and every container is accounted for. Run under
 * ThreadSanitizer by `npm run test:tsan`. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"

#define THREADS 8

static volatile int stop_flag;
static int ops[THREADS];
static int errors_seen[THREADS];

static unsigned next_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static void *worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	unsigned seed = 0x9e3779b9u * (unsigned)(idx + 1);
	static const char *const images[] = {"spin.wasm", "sleeper.wasm", "ticker.wasm", "hello.wasm", "cat.wasm"};

	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		const char *image = images[next_rand(&seed) % 5];
		const char *argv[] = {"30", NULL};
		struct ocre_container_args args = {.argv = strcmp(image, "spin.wasm") ? argv : NULL};
		struct ocre_container *c =
		    ocre_context_create_container(test_context(), image, NULL, NULL, true, &args, -1, -1, -1);
		int steps = 1 + (int)(next_rand(&seed) % 6), status, i;

		if (!c) {
			errors_seen[idx]++;
			continue;
		}
		if (ocre_container_start(c) != 0)
			errors_seen[idx]++;
		for (i = 0; i < steps; i++) {
			switch (next_rand(&seed) % 6) {
			case 0:
				ocre_container_pause(c);
				break;
			case 1:
				ocre_container_unpause(c);
				break;
			case 2:
				ocre_container_get_status(c);
				break;
			case 3:
				ocre_container_wait_timeout(c, &status, 1);
				break;
			case 4:
				ocre_container_stop_async(c, next_rand(&seed) % 3);
				break;
			default:
				ocre_container_kill(c);
				break;
			}
			/* a second thread's view of someone else's container */
			{
				struct ocre_container *list[64];
				int n = ocre_context_get_containers_retained(test_context(), list, 64), k;
				for (k = 0; k < n; k++) {
					ocre_container_get_status(list[k]);
					ocre_container_release(list[k]);
				}
			}
			ops[idx]++;
		}
		ocre_container_kill(c);
		if (ocre_container_wait(c, &status) != 0 && ocre_last_error() != OCRE_ERR_STATE)
			errors_seen[idx]++;
		if (ocre_context_remove_container(test_context(), c) != 0)
			errors_seen[idx]++;
		ops[idx] += 3;
	}
	return NULL;
}

static void *watchdog(void *arg)
{
	unsigned seconds = (unsigned)(uintptr_t)arg; /* by value: this thread may first run after the caller returned */
	sleep(seconds);
	fprintf(stderr, "watchdog: no progress after %u s: deadlock\n", seconds);
	abort();
}

static void eight_threads_hammer_one_context(void)
{
	pthread_t threads[THREADS], dog;
	const char *env = getenv("OCRE_TEST_SECONDS");
	unsigned seconds = env ? (unsigned)atoi(env) : 10, limit;
	int i, total = 0, errors = 0;

	limit = seconds * 6 + 60;
	pthread_create(&dog, NULL, watchdog, (void *)(uintptr_t)limit);
	pthread_detach(dog);
	for (i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
	sleep(seconds);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		total += ops[i];
		errors += errors_seen[i];
	}
	fprintf(stderr, "     %d operations in %u s on %d threads\n", total, seconds, THREADS);
	CHECK(total > THREADS);
	CHECK_INT(errors, 0);
	CHECK_INT(ocre_context_get_container_count(test_context()), 0);
}

int main(void)
{
	test_setup();
	RUN(eight_threads_hammer_one_context);
	test_teardown();
	return test_finish();
}
