// SPDX-License-Identifier: GPL-2.0
/*
 * Slot allocator micro-benchmark (not a test): alloc + free latency for
 * 1, 2 and 4 threads at 512 B, 4 KiB and 64 KiB on a 64 MiB pool of
 * 256 KiB segments with 4 areas.  Each thread keeps a ring of LIVE
 * mappings (allocates one, frees the oldest), so searches meet a partly
 * used pool; thread t passes cpu_hint t.  Built -O2 without sanitizers;
 * the shim's spinlock is a pthread mutex.
 *
 * The second table times the calls pool.c makes for a map, one sync and an
 * unmap: alloc; find; find + free.  With the O(1) API (slots.h defines
 * PVB_SEG_NONE) those are find_owned() and free_mapping(); built against
 * an older slots.h the same source times find() and free(bus), so the two
 * builds compare like with like.
 *
 * The third table is the cost per map against the number of areas (2, 8,
 * 32, 128 on the same pool: one per CPU of up to a 128-CPU host), 4 KiB
 * maps, each thread on its own area, for 1 and 2 threads, with the
 * throughput of 2 threads over 1 (by wall clock and by CPU time).  A shared or loaded machine makes every
 * figure noisy: the load average is printed with them (tests/unit/
 * t_slots_areas.c counts the reads of other areas instead, exactly).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/errno.h>
#include <pvbounce/slots.h>

#define POOL		(64UL << 20)
#define SEG		(256UL << 10)
#define NAREAS		4
#define LIVE		16
#define OPS		200000

static struct pvb_slots pool;

struct arg {
	unsigned int id;
	unsigned int hint;
	bool pool_path;
	size_t size;
	double ns;
	double cpu_ns;
	unsigned long fails;
};

static double clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* What pool.c's sync does with the allocator: one lookup. */
static void sync_one(dma_addr_t bus)
{
	struct pvb_mapping m;

#ifdef PVB_SEG_NONE
	if (pvb_slots_find_owned(&pool, bus, &m))
#else
	if (pvb_slots_find(&pool, bus, &m))
#endif
		abort();
}

/* What pool.c's unmap does with the allocator: look up, then free. */
static void unmap(dma_addr_t bus)
{
	struct pvb_mapping m;

#ifdef PVB_SEG_NONE
	if (pvb_slots_find_owned(&pool, bus, &m) ||
	    pvb_slots_free_mapping(&pool, &m))
#else
	if (pvb_slots_find(&pool, bus, &m) || pvb_slots_free(&pool, bus))
#endif
		abort();
}

static void *run(void *p)
{
	struct arg *a = p;
	dma_addr_t ring[LIVE] = { 0 };
	struct pvb_mapping m;
	unsigned long i;
	double t0, c0;

	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (i = 0; i < OPS; i++) {
		struct pvb_map_req r = {
			.orig = i * 0x1234567ULL, .size = a->size,
			.min_align_mask = 0xfff,
		};
		unsigned int k = i % LIVE;

		if (ring[k] && a->pool_path)
			unmap(ring[k]);
		else if (ring[k])
			pvb_slots_free(&pool, ring[k]);
		ring[k] = 0;
		if (pvb_slots_alloc(&pool, &r, a->hint, &m)) {
			a->fails++;
		} else {
			ring[k] = m.bus;
			if (a->pool_path)
				sync_one(m.bus + a->size / 2);
		}
	}
	for (i = 0; i < LIVE; i++)
		if (ring[i])
			pvb_slots_free(&pool, ring[i]);
	a->ns = (clock_ns(CLOCK_MONOTONIC) - t0) / OPS;
	a->cpu_ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / OPS;
	return NULL;
}

static void bench(unsigned int nthreads, unsigned int hint_step, size_t size,
		  bool pool_path, double *wall, double *cpu)
{
	struct arg args[4];
	pthread_t th[4];
	double sum = 0, csum = 0;
	unsigned int i;

	for (i = 0; i < nthreads; i++) {
		args[i] = (struct arg){ .id = i, .hint = i * hint_step,
					.size = size, .pool_path = pool_path };
		pthread_create(&th[i], NULL, run, &args[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		sum += args[i].ns;
		csum += args[i].cpu_ns;
		if (args[i].fails)
			fprintf(stderr, "thread %u: %lu allocations failed\n", i,
				args[i].fails);
	}
	*wall = sum / nthreads;
	*cpu = csum / nthreads;
}

/* The first three fields of /proc/loadavg, or "?". */
static const char *loadavg(void)
{
	static char buf[64];
	FILE *f = fopen("/proc/loadavg", "r");
	char *sp;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return "?";
	}
	fclose(f);
	sp = strchr(buf, ' ');
	if (sp)
		sp = strchr(sp + 1, ' ');
	if (sp)
		sp = strchr(sp + 1, ' ');
	if (sp)
		*sp = 0;
	return buf;
}

/* bench() @runs times; the least wall clock and the least CPU time. */
static void bench_best(unsigned int runs, unsigned int nthreads,
		       unsigned int hint_step, double *wall, double *cpu)
{
	unsigned int r;

	for (r = 0; r < runs; r++) {
		double w, c;

		bench(nthreads, hint_step, 4096, false, &w, &c);
		if (!r || w < *wall)
			*wall = w;
		if (!r || c < *cpu)
			*cpu = c;
	}
}

/*
 * Per-map cost against the number of areas: alloc + free of 4 KiB, each
 * thread on its own area (hints 0 and nareas / 2), in steady state at the
 * high-water mark (each ring keeps LIVE mappings); best of 5 runs.  The
 * throughput of 2 threads over 1 by wall clock needs 2 idle cores; by CPU
 * time it is what 2 threads would do on cores of their own.
 */
static int by_areas(const struct pvb_seg *segs, unsigned int nsegs)
{
	static const unsigned int nareas[] = { 2, 8, 32, 128 };
	unsigned int i;

	printf("ns per alloc+free of 4 KiB against the number of areas, per thread, best of 5: wall clock (thread CPU time); ops/s of all threads by wall clock; 2 threads' throughput over 1's by wall clock (by CPU time); load average %s\n",
	       loadavg());
	printf("%-6s %16s %16s %10s %10s %14s\n", "areas", "1 thread", "2 threads",
	       "1 thr op/s", "2 thr op/s", "2 / 1");
	for (i = 0; i < 4; i++) {
		double w1, c1, w2, c2;

		if (pvb_slots_init(&pool, segs, nsegs, SEG, nareas[i]) ||
		    pool.nareas != nareas[i]) {
			fprintf(stderr, "init with %u areas failed\n", nareas[i]);
			return 1;
		}
		bench_best(5, 1, 0, &w1, &c1);
		bench_best(5, 2, nareas[i] / 2, &w2, &c2);
		printf("%-6u %7.0f (%6.0f) %7.0f (%6.0f) %10.3g %10.3g %6.2f (%5.2f)\n",
		       nareas[i], w1, c1, w2, c2, 1e9 / w1, 2e9 / w2,
		       2 * w1 / w2, 2 * c1 / c2);
		pvb_slots_destroy(&pool);
	}
	return 0;
}

int main(void)
{
	static const size_t sizes[] = { 512, 4096, 65536 };
	static const char *const names[] = { "512 B", "4 KiB", "64 KiB" };
	static const unsigned int threads[] = { 1, 2, 4 };
	unsigned int nsegs = POOL / SEG, i, t, p;
	double wall[3][3], cpu[3][3];
	struct pvb_seg *segs = calloc(nsegs, sizeof(*segs));

	for (i = 0; i < nsegs; i++)
		segs[i].bus = 0x100000000ULL + (u64)i * SEG;
	if (pvb_slots_init(&pool, segs, nsegs, SEG, NAREAS)) {
		fprintf(stderr, "init failed\n");
		return 1;
	}
	printf("slot allocator: %lu MiB pool, %lu KiB segments, %d areas, %d live mappings per thread, min_align_mask 0xfff\n",
	       POOL >> 20, SEG >> 10, NAREAS, LIVE);
	for (p = 0; p < 2; p++) {
		for (i = 0; i < 3; i++)
			for (t = 0; t < 3; t++)
				bench(threads[t], 1, sizes[i], p, &wall[i][t], &cpu[i][t]);
		printf(p ? "ns per alloc + find + find&free (pool.c's map, sync, unmap), per thread: wall clock (thread CPU time)\n" :
			   "ns per alloc+free, per thread: wall clock (thread CPU time)\n");
		printf("%-8s %16s %16s %16s\n", "size", "1 thread", "2 threads", "4 threads");
		for (i = 0; i < 3; i++) {
			printf("%-8s", names[i]);
			for (t = 0; t < 3; t++)
				printf(" %7.0f (%6.0f)", wall[i][t], cpu[i][t]);
			printf("\n");
		}
	}
	pvb_slots_destroy(&pool);
	if (by_areas(segs, nsegs))
		return 1;
	printf("(%ld CPUs online; load average %s)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), loadavg());
	free(segs);
	return 0;
}
