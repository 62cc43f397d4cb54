// SPDX-License-Identifier: GPL-2.0
/*
 * Threads allocating, finding and freeing at once on every area of one
 * pool, checked against a shared overlap checker: one ownership byte per
 * 2 KiB slot, claimed with an atomic exchange when a run is handed out and
 * released just before the run is freed.  Each mapping is also filled with
 * its owner's pattern and checked before it is freed.
 */
#include <pthread.h>
#include <unistd.h>
#include "slots_test.h"

#define KB(x)		((size_t)(x) << 10)
#define NTHREADS	6
#define OPS		100000
#define LIVE		24

static struct tpool pool;
static u8 *own;			/* ownership byte per slot: 0 or thread + 1 */
static unsigned long area_hits[8];

struct worker {
	unsigned int id;
	unsigned long overlaps, corrupt, find_bad, free_bad, alloc_bad, maps;
	unsigned int max_used;
};

struct held {
	struct pvb_map_req r;
	struct pvb_mapping m;
};

static unsigned int area_of_index(unsigned int idx)
{
	unsigned int seg = idx / pool.seg_slots, a;

	/* Area a holds segments [a * nsegs / nareas, (a + 1) * nsegs / nareas). */
	for (a = 0; a + 1 < pool.s.nareas; a++)
		if (seg < (a + 1) * pool.nsegs / pool.s.nareas)
			break;
	return a;
}

static bool pattern_ok(const struct held *h, u8 v)
{
	const u8 *p = h->m.cpu;
	size_t i;

	for (i = 0; i < h->m.size; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void release(struct worker *w, struct held *h)
{
	struct trule t;
	unsigned int k, first;

	trule_of(&h->r, &t);
	if (!pattern_ok(h, w->id + 1))
		w->corrupt++;
	first = tslot_of(&pool, h->m.bus - t.off);
	for (k = 0; k < t.nslots; k++)
		__atomic_store_n(&own[first + k], 0, __ATOMIC_SEQ_CST);
	if (pvb_slots_free(&pool.s, h->m.bus))
		w->free_bad++;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct held held[LIVE];
	unsigned int n = 0, op;
	u64 rng = 0x1234567 + w->id;

	for (op = 0; op < OPS; op++) {
		u64 x = rnd_below(&rng, 100);

		if (n < LIVE && (x < 55 || !n)) {
			struct held *h = &held[n];
			static const u64 mins[] = { 0, 0, 0x7ff, 0xfff, 0x3fff };
			struct trule t;
			unsigned int k, first;
			int ret;

			h->r = treq(rnd(&rng), 1 + rnd_below(&rng, rnd_below(&rng, 4) ? KB(6) : KB(40)),
				    mins[rnd_below(&rng, 5)],
				    rnd_below(&rng, 4) ? 0 : 0x3fff,
				    rnd_below(&rng, 3) ? 0 : 0xffff);
			ret = pvb_slots_alloc(&pool.s, &h->r,
					      rnd_below(&rng, 4) ? w->id : rnd(&rng), &h->m);
			if (ret) {
				/* -E2BIG only if no run fits even the empty pool. */
				if (ret != -ENOMEM &&
				    !(ret == -E2BIG && !tbrute_fit(&pool, &h->r, false))) {
					w->alloc_bad++;
					printf("# alloc: %d for size %zu min %#llx align %#llx bnd %#llx orig %#llx\n",
					       ret, h->r.size, (unsigned long long)h->r.min_align_mask,
					       (unsigned long long)h->r.align_mask,
					       (unsigned long long)h->r.boundary_mask,
					       (unsigned long long)h->r.orig);
				}
				continue;
			}
			w->maps++;
			__atomic_add_fetch(&area_hits[area_of_index(h->m.index)], 1,
					   __ATOMIC_RELAXED);
			if (pvb_slots_used(&pool.s) > w->max_used)
				w->max_used = pvb_slots_used(&pool.s);
			trule_of(&h->r, &t);
			first = tslot_of(&pool, h->m.bus - t.off);
			for (k = 0; k < t.nslots; k++)
				if (__atomic_exchange_n(&own[first + k], w->id + 1,
							__ATOMIC_SEQ_CST))
					w->overlaps++;
			memset(h->m.cpu, w->id + 1, h->m.size);
			n++;
		} else if (x < 85 && n) {
			unsigned int k = rnd_below(&rng, n);

			release(w, &held[k]);
			held[k] = held[--n];
		} else if (n) {
			struct held *h = &held[rnd_below(&rng, n)];
			struct pvb_mapping f;

			if (pvb_slots_find(&pool.s, h->m.bus + rnd_below(&rng, h->m.size), &f) ||
			    f.bus != h->m.bus || f.size != h->m.size || f.cpu != h->m.cpu)
				w->find_bad++;
		}
	}
	while (n)
		release(w, &held[--n]);
	return NULL;
}

int main(void)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned long overlaps = 0, corrupt = 0, find_bad = 0, free_bad = 0;
	unsigned long alloc_bad = 0, maps = 0;
	unsigned int i, max_used = 0, areas_hit = 0;
	u64 rng = 99;

	alarm(300);	/* a deadlock or livelock fails the test */
	if (tpool_make(&pool, 8, KB(64), 4, LAYOUT_SHUFFLED, 0x7000000, &rng))
		return 1;
	own = calloc(pool.s.nslabs, 1);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		overlaps += w[i].overlaps;
		corrupt += w[i].corrupt;
		find_bad += w[i].find_bad;
		free_bad += w[i].free_bad;
		alloc_bad += w[i].alloc_bad;
		maps += w[i].maps;
		if (w[i].max_used > max_used)
			max_used = w[i].max_used;
	}
	diag("%d threads, %lu mappings, most slots seen in use %u of %u", NTHREADS,
	     maps, max_used, pool.s.nslabs);
	for (i = 0; i < pool.s.nareas; i++) {
		diag("area %u: %lu mappings", i, area_hits[i]);
		areas_hit += area_hits[i] > 0;
	}

	is_int(overlaps, 0, "threads: no slot handed to two live mappings at once");
	is_int(corrupt, 0, "threads: every mapping's bytes intact until it is freed");
	ok(!find_bad && !free_bad && !alloc_bad,
	   "threads: find() and free() of own mappings always succeed, alloc fails only as it must (%lu %lu %lu)",
	   find_bad, free_bad, alloc_bad);
	ok(pvb_slots_used(&pool.s) == 0 && pvb_slots_hiwater(&pool.s) >= max_used &&
	   pvb_slots_hiwater(&pool.s) <= pool.s.nslabs,
	   "threads: used back to 0, max seen <= hiwater <= nslabs (%u, %u)",
	   pvb_slots_used(&pool.s), pvb_slots_hiwater(&pool.s));
	ok(areas_hit == pool.s.nareas && maps > NTHREADS * OPS / 4,
	   "threads: every area served mappings");
	free(own);
	tpool_free(&pool);
	return tap_done();
}
