// SPDX-License-Identifier: GPL-2.0
/*
 * Growable pools (pvb_slots_init_growable(), pvb_slots_add_seg(),
 * pvb_slots_remove_seg()): the API one call at a time, then segments added
 * and removed by one thread while others allocate, find and free.
 *
 * Bus positions used here: position k is at BASE + k * 2 * SEG (a gap of
 * one segment between any two), each with its own malloc()ed memory.
 *
 *   bus:  | pos0 | .... | pos1 | .... | pos2 | ...
 *   pool: starts with some positions, gains and loses others
 */
#include <pthread.h>
#include <unistd.h>
#include "slots_test.h"

#define KB(x)		((size_t)(x) << 10)
#define SEG		KB(64)
#define BASE		0x10000000ULL
#define BUS_HI		0x3fffffffULL
#define NPOS		32
#define NTHREADS	4
#define OPS		60000
#define LIVE		16

static u8 *mem[NPOS];
static int present[NPOS];	/* 1 from just before add until just after remove */
static unsigned long removed[NPOS];	/* successful removals at each position */

static u64 pos_bus(unsigned int k)
{
	return BASE + (u64)k * 2 * SEG;
}

static int pos_of(u64 bus)
{
	u64 d = bus - BASE;

	if (bus < BASE || d / SEG % 2 || d / (2 * SEG) >= NPOS)
		return -1;
	return d / (2 * SEG);
}

static struct pvb_seg seg_at(unsigned int k)
{
	return (struct pvb_seg){ .bus = pos_bus(k), .cpu = mem[k] };
}

/* Allocate single slots until the pool is full; returns how many. */
static unsigned int fill(struct pvb_slots *s, struct pvb_mapping *out,
			 unsigned int max)
{
	struct pvb_map_req r = { .size = SLOT };
	unsigned int n = 0;

	while (n < max && !pvb_slots_alloc(s, &r, n, &out[n]))
		n++;
	return n;
}

static void test_api(void)
{
	struct pvb_seg segs[2] = { seg_at(0), seg_at(1) };
	unsigned int S = SEG / SLOT, n, i, in_new;
	struct pvb_mapping *m = calloc(NPOS * S + 1, sizeof(*m));
	struct pvb_map_req r = { .size = SLOT };
	struct pvb_slots s, f;
	struct pvb_mapping x;
	int seg, seg2, ret;

	is_int(pvb_slots_init_growable(&s, segs, 2, SEG, 2, 8, BUS_HI), 0,
	       "api: a growable pool of 2 segments, capacity 8");
	ok(s.nslabs == 2 * S && s.max_slabs == 8 * S && s.growable,
	   "api: nslabs counts present slots (%u), max_slabs the capacity (%u)",
	   s.nslabs, s.max_slabs);
	ok(pvb_slots_owns(&s, pos_bus(0)) && pvb_slots_owns(&s, pos_bus(1) + SEG - 1) &&
	   !pvb_slots_owns(&s, pos_bus(2)) && !pvb_slots_owns(&s, pos_bus(0) + SEG),
	   "api: lookups find the present segments only");

	n = fill(&s, m, NPOS * S);
	ok(n == 2 * S && pvb_slots_used(&s) == 2 * S,
	   "api: a full pool hands out exactly its present slots (%u)", n);
	is_int(pvb_slots_alloc(&s, &r, 0, &x), -ENOMEM, "api: full pool: -ENOMEM");

	seg = pvb_slots_add_seg(&s, pos_bus(5), mem[5]);
	ok(seg >= 0 && s.nslabs == 3 * S && pvb_slots_owns(&s, pos_bus(5) + 100),
	   "api: add_seg: segment %d, nslabs %u, in the lookup", seg, s.nslabs);
	n = fill(&s, m + 2 * S, NPOS * S);
	for (i = 0, in_new = 0; i < n; i++)
		in_new += pos_of(m[2 * S + i].bus) == 5 &&
			  m[2 * S + i].cpu == mem[5] + (m[2 * S + i].bus - pos_bus(5));
	ok(n == S && in_new == S, "api: the added segment serves %u of %u new slots", in_new, n);
	ok(!pvb_slots_find(&s, m[2 * S].bus, &x) && x.bus == m[2 * S].bus,
	   "api: find in the added segment");

	is_int(pvb_slots_remove_seg(&s, seg), -EBUSY, "api: remove_seg of a used segment: -EBUSY");
	ok(s.nslabs == 3 * S && pvb_slots_owns(&s, pos_bus(5)),
	   "api: a refused removal changes nothing");
	for (i = 0; i < S - 1; i++)
		pvb_slots_free_mapping(&s, &m[2 * S + i]);
	is_int(pvb_slots_remove_seg(&s, seg), -EBUSY, "api: one slot left in use: still -EBUSY");
	pvb_slots_free_mapping(&s, &m[3 * S - 1]);
	is_int(pvb_slots_remove_seg(&s, seg), 0, "api: empty segment removed");
	ok(s.nslabs == 2 * S && !pvb_slots_owns(&s, pos_bus(5)) &&
	   pvb_slots_find(&s, pos_bus(5), &x) == -ENOENT &&
	   pvb_slots_free(&s, pos_bus(5)) == -ENOENT,
	   "api: removed: out of nslabs and of the lookups");
	is_int(pvb_slots_alloc(&s, &r, 0, &x), -ENOMEM,
	       "api: no allocation in a removed segment (pool full again)");
	is_int(pvb_slots_remove_seg(&s, seg), -EINVAL, "api: removing it again: -EINVAL");

	is_int(pvb_slots_add_seg(&s, pos_bus(6) + TPAGE, mem[6]), -EINVAL,
	       "api: add_seg of a segment not aligned to its size: -EINVAL");
	is_int(pvb_slots_add_seg(&s, BUS_HI + 1, mem[6]), -EINVAL,
	       "api: add_seg above bus_hi: -EINVAL");
	is_int(pvb_slots_add_seg(&s, pos_bus(0), mem[6]), -EEXIST,
	       "api: add_seg over a present segment: -EEXIST");
	for (i = 6, ret = 0; i < NPOS && ret >= 0; i++)
		ret = pvb_slots_add_seg(&s, pos_bus(i), mem[i]);
	ok(ret == -ENOSPC && s.nslabs == 8 * S,
	   "api: add_seg beyond the capacity: -ENOSPC (%d), nslabs %u", ret, s.nslabs);

	/* Everything freed, one removed segment comes back somewhere else. */
	for (i = 0; i < 2 * S; i++)
		pvb_slots_free_mapping(&s, &m[i]);
	seg2 = -1;
	for (i = 6; i < NPOS; i++)
		if (pvb_slots_owns(&s, pos_bus(i)))
			break;
	ret = pvb_slots_remove_seg(&s, pvb_slots_seg_of(&s, pos_bus(i)));
	if (!ret)
		seg2 = pvb_slots_add_seg(&s, pos_bus(NPOS - 1) + 0, mem[NPOS - 1]);
	ok(!ret && seg2 >= 0 && pvb_slots_seg_of(&s, pos_bus(NPOS - 1)) == seg2 &&
	   !pvb_slots_owns(&s, pos_bus(i)),
	   "api: a segment number freed by a removal is used again at another address");
	n = fill(&s, m, NPOS * S);
	ok(n == 8 * S, "api: all %u present slots allocatable after the changes (%u)",
	   8 * S, n);
	ok(pvb_slots_seg_busy(&s, 0), "api: seg_busy of a full segment");
	pvb_slots_destroy(&s);

	is_int(pvb_slots_init_growable(&s, segs, 2, SEG, 2, 8, pos_bus(1)), -E2BIG,
	       "api: init with a segment above bus_hi: -E2BIG");
	segs[1].bus += TPAGE;
	is_int(pvb_slots_init_growable(&s, segs, 2, SEG, 2, 8, BUS_HI), -EINVAL,
	       "api: init with a segment not aligned to its size: -EINVAL");
	segs[1].bus -= TPAGE;
	is_int(pvb_slots_init(&f, segs, 2, SEG, 2), 0, "api: a fixed pool");
	ok(!f.growable && f.max_slabs == f.nslabs &&
	   pvb_slots_add_seg(&f, pos_bus(4), mem[4]) == -EINVAL &&
	   pvb_slots_remove_seg(&f, 0) == -EINVAL &&
	   pvb_slots_seg_of(&f, pos_bus(1)) == 1,
	   "api: a fixed pool neither grows nor shrinks, numbering as given");
	pvb_slots_destroy(&f);
	free(m);
}

/* Concurrent part. */
static struct pvb_slots pool;
static u8 *own;		/* per slot number: 0 or thread + 1 */

struct worker {
	unsigned int id;
	unsigned long maps, overlaps, corrupt, gone, find_bad, free_bad, alloc_bad;
};

struct held {
	struct pvb_map_req r;
	struct pvb_mapping m;
	unsigned long gen;	/* removed[] of its position when mapped */
};

static void release(struct worker *w, struct held *h)
{
	struct trule t;
	unsigned int k, first;
	size_t i;

	/* Its segment must not have been removed while it lived. */
	if (__atomic_load_n(&removed[pos_of(h->m.bus)], __ATOMIC_SEQ_CST) != h->gen)
		w->gone++;
	trule_of(&h->r, &t);
	for (i = 0; i < h->m.size; i++)
		if (((u8 *)h->m.cpu)[i] != w->id + 1) {
			w->corrupt++;
			break;
		}
	first = h->m.index - (unsigned int)(t.off / SLOT);
	for (k = 0; k < t.nslots; k++)
		__atomic_store_n(&own[first + k], 0, __ATOMIC_SEQ_CST);
	if (pvb_slots_free_mapping(&pool, &h->m))
		w->free_bad++;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct held held[LIVE];
	unsigned int n = 0, op;
	u64 rng = 0xabcdef + w->id;

	for (op = 0; op < OPS; op++) {
		u64 x = rnd_below(&rng, 100);

		if (n < LIVE && (x < 55 || !n)) {
			static const u64 mins[] = { 0, 0, 0x7ff, 0xfff };
			struct held *h = &held[n];
			struct trule t;
			unsigned int k, first;
			int ret, pos;

			h->r = treq(rnd(&rng), 1 + rnd_below(&rng, KB(16)),
				    mins[rnd_below(&rng, 4)],
				    rnd_below(&rng, 4) ? 0 : 0x3fff,
				    rnd_below(&rng, 3) ? 0 : 0xffff);
			ret = pvb_slots_alloc(&pool, &h->r, w->id, &h->m);
			if (ret) {
				w->alloc_bad += ret != -ENOMEM;
				continue;
			}
			w->maps++;
			pos = pos_of(h->m.bus);
			h->gen = pos < 0 ? 0 : __atomic_load_n(&removed[pos], __ATOMIC_SEQ_CST);
			if (pos < 0 || !__atomic_load_n(&present[pos], __ATOMIC_SEQ_CST) ||
			    h->m.cpu != mem[pos] + (h->m.bus - pos_bus(pos)))
				w->gone++;
			trule_of(&h->r, &t);
			first = h->m.index - (unsigned int)(t.off / SLOT);
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
			u64 b = h->m.bus + rnd_below(&rng, h->m.size);

			if ((op & 1 ? pvb_slots_find(&pool, b, &f) :
				      pvb_slots_find_owned(&pool, b, &f)) ||
			    f.bus != h->m.bus || f.size != h->m.size || f.cpu != h->m.cpu)
				w->find_bad++;
		}
	}
	while (n)
		release(w, &held[--n]);
	return NULL;
}

static volatile int stop;

struct changer {
	unsigned long adds, removes, busy, bad;
};

static void *change(void *arg)
{
	struct changer *c = arg;
	u64 rng = 4242;
	int seg_of_pos[NPOS];
	unsigned int k;

	for (k = 0; k < NPOS; k++)
		seg_of_pos[k] = k < 4 ? pvb_slots_seg_of(&pool, pos_bus(k)) : -1;
	while (!stop) {
		k = 4 + rnd_below(&rng, NPOS - 4);	/* never the first four */
		if (seg_of_pos[k] < 0) {
			int seg;

			__atomic_store_n(&present[k], 1, __ATOMIC_SEQ_CST);
			seg = pvb_slots_add_seg(&pool, pos_bus(k), mem[k]);
			if (seg == -ENOSPC) {
				__atomic_store_n(&present[k], 0, __ATOMIC_SEQ_CST);
				continue;
			}
			if (seg < 0)
				c->bad++;
			seg_of_pos[k] = seg;
			c->adds++;
		} else {
			int ret = pvb_slots_remove_seg(&pool, seg_of_pos[k]);

			if (ret == -EBUSY) {
				c->busy++;
				continue;
			}
			if (ret) {
				c->bad++;
				continue;
			}
			__atomic_add_fetch(&removed[k], 1, __ATOMIC_SEQ_CST);
			__atomic_store_n(&present[k], 0, __ATOMIC_SEQ_CST);
			/* A mapping left in it would see its bytes change. */
			memset(mem[k], 0xee, SEG);
			seg_of_pos[k] = -1;
			c->removes++;
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct pvb_seg segs[4] = { seg_at(0), seg_at(1), seg_at(2), seg_at(3) };
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS], ch;
	struct changer c = { 0 };
	unsigned long maps = 0, overlaps = 0, corrupt = 0, gone = 0, bad = 0;
	unsigned int i;

	for (i = 0; i < 4; i++)
		present[i] = 1;
	if (pvb_slots_init_growable(&pool, segs, 4, SEG, 4, 16, BUS_HI)) {
		ok(0, "threads: growable pool");
		return;
	}
	own = calloc(pool.max_slabs, 1);
	pthread_create(&ch, NULL, change, &c);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		maps += w[i].maps;
		overlaps += w[i].overlaps;
		corrupt += w[i].corrupt;
		gone += w[i].gone;
		bad += w[i].find_bad + w[i].free_bad + w[i].alloc_bad;
	}
	stop = 1;
	pthread_join(ch, NULL);
	diag("%d threads, %lu mappings; %lu segments added, %lu removed, %lu removals refused (busy)",
	     NTHREADS, maps, c.adds, c.removes, c.busy);
	ok(c.adds > 50 && c.removes > 50 && c.busy > 0 && !c.bad,
	   "threads: segments were added and removed while maps ran, refused while busy");
	is_int(overlaps, 0, "threads: no slot handed to two live mappings at once");
	is_int(gone, 0, "threads: every mapping lies in a segment present while it lives, never removed under it");
	is_int(corrupt, 0, "threads: no mapping's bytes changed (a removed segment is poisoned)");
	is_int(bad, 0, "threads: find, free and alloc of own mappings behave");
	ok(pvb_slots_used(&pool) == 0, "threads: used back to 0");
	free(own);
	pvb_slots_destroy(&pool);
}

int main(void)
{
	unsigned int k;

	alarm(300);	/* a deadlock or livelock fails the test */
	for (k = 0; k < NPOS; k++)
		mem[k] = calloc(1, SEG);
	test_api();
	test_threads();
	for (k = 0; k < NPOS; k++)
		free(mem[k]);
	return tap_done();
}
