/* Guard-region reservations, recycled (WAMR patch 0011's hooks).
 *
 * With hardware bounds checks every linear memory is an 8 GiB reservation:
 * its first pages accessible, the rest PROT_NONE, so that any 32-bit index
 * plus offset that is out of bounds faults. Mapping and unmapping 8 GiB per
 * run (and faulting its pages in again) cost a short run a third of its
 * time (BENCHMARKS.md, Issue 19, cold cycle). A reservation given back is
 * kept instead, up to RESERVATIONS_MAX of them holding at most KEPT_BYTES of
 * accessible pages between them, and the next instantiation takes it.
 *
 * A run never sees what an earlier run left in memory: a reservation is
 * zeroed (memset of its accessible pages) before it is kept, and everything
 * past what the next run asks for is made inaccessible again. A reservation
 * whose accessible part is over KEEP_MAX, or that finds no room, is unmapped
 * as before; kept ones unused for IDLE_SECONDS are unmapped at the next take
 * or give, and all of them when the engine shuts down. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "wasm_runtime_common.h"

#include <ocre/platform/log.h>

LOG_MODULE_REGISTER(wamr_reservations);

#ifdef OS_ENABLE_HW_BOUND_CHECK

#define RESERVATION_SIZE ((size_t)8 << 30)
#define RESERVATIONS_MAX 16
#define KEEP_MAX ((size_t)1 << 20)   /* accessible bytes zeroed in place at most */
#define KEPT_BYTES ((size_t)8 << 20) /* accessible bytes kept in all */
#define IDLE_SECONDS 10

struct reservation {
	uint8_t *mem;
	size_t rw;    /* its accessible (and zero) prefix */
	time_t since; /* kept since (CLOCK_MONOTONIC seconds) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct reservation kept[RESERVATIONS_MAX];
static int kept_count;
static size_t kept_bytes;
static bool closed = true; /* until ocre_wamr_reservations_open() */
static unsigned long taken, reused;

static time_t now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t page_round(uint64_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size_t)((size + page - 1) & ~((uint64_t)page - 1));
}

static void unmap(uint8_t *mem)
{
	if (munmap(mem, RESERVATION_SIZE) != 0)
		LOG_ERR("munmap of a linear memory reservation: %s", strerror(errno));
}

/* Remove kept[i] (lock held); the caller owns it afterwards. */
static struct reservation remove_locked(int i)
{
	struct reservation r = kept[i];

	kept[i] = kept[--kept_count];
	kept_bytes -= r.rw;
	return r;
}

/* Unmap what has been kept for too long (lock held). Unmapped under the
 * lock: rare, and munmap of a reservation never waits for another one. */
static void expire_locked(time_t now)
{
	int i = 0;

	while (i < kept_count) {
		if (now - kept[i].since >= IDLE_SECONDS)
			unmap(remove_locked(i).mem);
		else
			i++;
	}
}

/* The kept reservation that fits @p want best: the same accessible size,
 * else the largest smaller one (its pages are made accessible, which needs
 * no flush), else the smallest larger one. -1 if none is kept. */
static int best_locked(size_t want)
{
	int i, best = -1;

	for (i = 0; i < kept_count; i++) {
		size_t rw = kept[i].rw;
		if (rw == want)
			return i;
		if (best < 0)
			best = i;
		else if (rw < want && (kept[best].rw > want || rw > kept[best].rw))
			best = i;
		else if (rw > want && kept[best].rw > want && rw < kept[best].rw)
			best = i;
	}
	return best;
}

static uint8 *reservation_take(uint64 rw_size)
{
	size_t want = page_round(rw_size);
	struct reservation r = {NULL, 0, 0};
	int i;

	pthread_mutex_lock(&lock);
	expire_locked(now_seconds());
	if ((i = best_locked(want)) >= 0)
		r = remove_locked(i);
	taken++;
	if (r.mem)
		reused++;
	pthread_mutex_unlock(&lock);

	if (!r.mem) {
		r.mem = mmap(NULL, RESERVATION_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r.mem == MAP_FAILED)
			return NULL;
	}
	if (r.rw < want) {
		if (mprotect(r.mem + r.rw, want - r.rw, PROT_READ | PROT_WRITE) != 0) {
			unmap(r.mem);
			return NULL;
		}
	} else if (r.rw > want) {
		/* Zero already; inaccessible again, and its pages returned. */
		if (mprotect(r.mem + want, r.rw - want, PROT_NONE) != 0 ||
		    madvise(r.mem + want, r.rw - want, MADV_DONTNEED) != 0) {
			unmap(r.mem);
			return NULL;
		}
	}
	return r.mem;
}

static bool room_locked(size_t rw)
{
	return !closed && kept_count < RESERVATIONS_MAX && kept_bytes + rw <= KEPT_BYTES;
}

static void reservation_give(uint8 *mem, uint64 rw_size)
{
	size_t rw = page_round(rw_size);
	time_t now = now_seconds();
	bool room;

	pthread_mutex_lock(&lock);
	expire_locked(now);
	room = rw <= KEEP_MAX && room_locked(rw);
	pthread_mutex_unlock(&lock);
	if (room) {
		/* Outside the lock: zeroing is the slow part. Every accessible
		 * page, resident or not: a page swapped out still holds the
		 * run's data. */
		memset(mem, 0, rw);
		pthread_mutex_lock(&lock);
		if (room_locked(rw)) {
			kept[kept_count++] = (struct reservation){mem, rw, now};
			kept_bytes += rw;
			mem = NULL;
		}
		pthread_mutex_unlock(&lock);
	}
	if (mem)
		unmap(mem);
}

void ocre_wamr_reservations_open(void)
{
	pthread_mutex_lock(&lock);
	closed = false;
	pthread_mutex_unlock(&lock);
	wasm_runtime_set_reservation_hooks(reservation_take, reservation_give);
}

void ocre_wamr_reservations_close(void)
{
	pthread_mutex_lock(&lock);
	closed = true; /* an orphaned run that ends later unmaps its own */
	while (kept_count > 0)
		unmap(remove_locked(kept_count - 1).mem);
	pthread_mutex_unlock(&lock);
}

void ocre_wamr_reservations_stats(unsigned long *taken_out, unsigned long *reused_out, int *kept_out)
{
	pthread_mutex_lock(&lock);
	*taken_out = taken;
	*reused_out = reused;
	*kept_out = kept_count;
	pthread_mutex_unlock(&lock);
}

#else /* software bounds checks: linear memory comes from the allocator */

void ocre_wamr_reservations_open(void)
{
}

void ocre_wamr_reservations_close(void)
{
}

void ocre_wamr_reservations_stats(unsigned long *taken_out, unsigned long *reused_out, int *kept_out)
{
	*taken_out = 0;
	*reused_out = 0;
	*kept_out = 0;
}

#endif
