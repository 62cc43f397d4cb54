// SPDX-License-Identifier: GPL-2.0
/*
 * The O(1) paths of the slot allocator: bus -> segment over dense, shuffled,
 * unaligned, above-4G and sparse (hashed) layouts against a linear scan;
 * segment -> area; pvb_slots_find_owned() against pvb_slots_find();
 * pvb_slots_free_mapping() and its refusals; used/hiwater exact when calls
 * do not overlap, whether or not the pool-wide approximate count lets an
 * allocation skip the sum; and threads allocating, looking up and freeing
 * through the lock-free paths while another thread throws bogus addresses
 * at them.
 */
#include <pthread.h>
#include <unistd.h>
#include "slots_test.h"

#define KB(x)		((size_t)(x) << 10)
#define MB(x)		((size_t)(x) << 20)

/* Segment holding @x by a linear scan of @segs, or -1. */
static int scan_seg(const struct pvb_seg *segs, unsigned int n, size_t seg,
		    u64 x)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (x >= segs[i].bus && x - segs[i].bus < seg)
			return i;
	return -1;
}

static bool overlaps(const struct pvb_seg *segs, unsigned int n, size_t seg,
		     u64 bus)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (bus < segs[i].bus + seg && segs[i].bus < bus + seg)
			return true;
	return false;
}

static bool same_map(const struct pvb_mapping *a, const struct pvb_mapping *b)
{
	return a->bus == b->bus && a->cpu == b->cpu && a->orig == b->orig &&
	       a->size == b->size && a->index == b->index;
}

enum kind { DENSE, SHUFFLED, ADJACENT_UNALIGNED, SPARSE, SPARSE_UNALIGNED, EXTREMES };

struct layout {
	const char *name;
	enum kind kind;
	unsigned int nsegs;
	size_t seg;
	u64 base;
	unsigned int bits;	/* SPARSE*: bus addresses below 2^bits */
	bool want_hash;
};

static const struct layout layouts[] = {
	{ "dense, aligned, above 4G", DENSE, 64, KB(64), 0x100000000ULL, 0, false },
	{ "dense, aligned, at 0", DENSE, 8, KB(256), 0, 0, false },
	{ "shuffled, page aligned, gaps", SHUFFLED, 40, KB(64), 0x7000, 0, false },
	{ "shuffled across 4G", SHUFFLED, 40, KB(256), 0xfff00000ULL, 0, false },
	{ "adjacent, every one unaligned", ADJACENT_UNALIGNED, 33, KB(16), 0x3000, 0, false },
	{ "adjacent, unaligned, 8 KiB", ADJACENT_UNALIGNED, 17, KB(8), 0x5000, 0, false },
	{ "sparse below 2^44, aligned", SPARSE, 32, KB(256), 0, 44, true },
	{ "sparse below 2^52, page aligned", SPARSE_UNALIGNED, 50, KB(64), 0, 52, true },
	{ "sparse below 2^40, one segment", SPARSE, 1, KB(4096), 0, 40, false },
	{ "bus 0 and the top of the bus space", EXTREMES, 6, KB(8), 0, 64, true },
};

static struct pvb_seg *make_layout(const struct layout *l, u64 *rng)
{
	struct pvb_seg *segs = calloc(l->nsegs, sizeof(*segs));
	u64 page = l->seg < TPAGE ? l->seg : TPAGE;
	u64 pos = l->base;
	unsigned int i, j;

	for (i = 0; i < l->nsegs; i++) {
		switch (l->kind) {
		case DENSE:
			segs[i].bus = l->base + i * l->seg;
			break;
		case SHUFFLED:
			pos += page * rnd_below(rng, 6);
			segs[i].bus = pos;
			pos += l->seg;
			break;
		case ADJACENT_UNALIGNED:
			segs[i].bus = l->base + i * l->seg;
			break;
		case SPARSE:
		case SPARSE_UNALIGNED:
			do {
				u64 unit = l->kind == SPARSE ? l->seg : page;
				u64 top = (1ULL << l->bits) - l->seg;

				segs[i].bus = rnd_below(rng, top / unit) * unit;
			} while (overlaps(segs, i, l->seg, segs[i].bus));
			break;
		case EXTREMES:
			if (i == 0)
				segs[i].bus = 0;
			else if (i == 1)
				segs[i].bus = ~0ULL - l->seg + 1;
			else if (i == 2)
				segs[i].bus = 0xfffffffffffff000ULL - 4 * l->seg;
			else
				do {
					segs[i].bus = rnd(rng) & ~(page - 1);
				} while (segs[i].bus > ~0ULL - l->seg ||
					 overlaps(segs, i, l->seg, segs[i].bus));
			break;
		}
	}
	if (l->kind == SHUFFLED || l->kind == ADJACENT_UNALIGNED)
		for (i = l->nsegs - 1; i > 0; i--) {
			dma_addr_t t;

			j = rnd_below(rng, i + 1);
			t = segs[i].bus;
			segs[i].bus = segs[j].bus;
			segs[j].bus = t;
		}
	return segs;
}

static void probe(const struct pvb_slots *s, const struct pvb_seg *segs,
		  const struct layout *l, u64 x, unsigned long *bad)
{
	int want = scan_seg(segs, l->nsegs, l->seg, x);
	int got = pvb_slots_seg_of(s, x);

	if (got != want || pvb_slots_owns(s, x) != (want >= 0) ||
	    pvb_slots_contains((struct pvb_slots *)s, x) != (want >= 0)) {
		if (++*bad <= 3)
			diag("%s: bus %#llx: segment %d, want %d", l->name,
			     (unsigned long long)x, got, want);
	}
}

static void test_layout(const struct layout *l, u64 seed)
{
	u64 rng = seed;
	struct pvb_seg *segs = make_layout(l, &rng);
	unsigned long bad = 0, probes = 0;
	struct pvb_slots s;
	u64 lo = ~0ULL, hi = 0;
	unsigned int i, k;
	int ret;

	ret = pvb_slots_init(&s, segs, l->nsegs, l->seg, 4);
	if (!expect(!ret, "%s: init %d", l->name, ret)) {
		free(segs);
		return;
	}
	expect(!!s.hash_bits == l->want_hash, "%s: %s, want %s", l->name,
	       s.hash_bits ? "hash" : "table", l->want_hash ? "hash" : "table");
	/* The lookup's memory is bounded whatever the spread. */
	expect(s.tab_len <= 16 * l->nsegs + 1024, "%s: %u table entries for %u segments",
	       l->name, s.tab_len, l->nsegs);
	if (s.hash_bits)
		expect(s.tab_len <= 4 * l->nsegs && s.tab_len >= 2 * l->nsegs,
		       "%s: hash of %u entries for %u segments", l->name,
		       s.tab_len, l->nsegs);

	for (i = 0; i < l->nsegs; i++) {
		u64 b = segs[i].bus, e = b + l->seg - 1;
		static const s64 d[] = { -4097, -2049, -2048, -1, 0, 1, 2047, 2048 };

		lo = b < lo ? b : lo;
		hi = e > hi ? e : hi;
		for (k = 0; k < TAP_ARRAY_SIZE(d); k++) {
			probe(&s, segs, l, b + d[k], &bad);
			probe(&s, segs, l, e - d[k], &bad);
			probes += 2;
		}
		for (k = 0; k < 16; k++, probes++)
			probe(&s, segs, l, b + rnd_below(&rng, l->seg), &bad);
		/* Where the next bucket starts: the spill of an unaligned one. */
		probe(&s, segs, l, (b | (l->seg - 1)) + 1, &bad);
		probe(&s, segs, l, b & ~(u64)(l->seg - 1), &bad);
		probes += 2;
	}
	for (k = 0; k < 4000; k++, probes++) {
		u64 span = hi - lo;
		u64 x = lo + (span + 1 ? rnd_below(&rng, span + 1) : rnd(&rng));

		if (k % 4 == 0)
			x = rnd(&rng);
		probe(&s, segs, l, x, &bad);
	}
	probe(&s, segs, l, 0, &bad);
	probe(&s, segs, l, ~0ULL, &bad);
	probe(&s, segs, l, lo - 1, &bad);
	probe(&s, segs, l, hi + 1, &bad);
	expect(!bad, "%s: %lu of %lu lookups wrong", l->name, bad, probes);

	/* Segments keep their areas' formula. */
	for (i = 0; i < l->nsegs; i++) {
		unsigned int a = 0;

		while (i >= (u64)(a + 1) * l->nsegs / s.nareas)
			a++;
		expect(s.segs[i].area == a, "%s: segment %u in area %u, want %u",
		       l->name, i, s.segs[i].area, a);
	}

	/* A mapping in every segment is found from any of its bytes. */
	for (i = 0; i < l->nsegs; i++) {
		struct pvb_map_req r = treq(rnd(&rng), 1 + rnd_below(&rng, l->seg / 2),
					    0x7ff, 0, 0);
		struct pvb_mapping m, f, g;
		u64 x;

		ret = pvb_slots_alloc(&s, &r, i, &m);
		if (ret)
			continue;
		x = m.bus + rnd_below(&rng, m.size);
		expect(scan_seg(segs, l->nsegs, l->seg, m.bus) >= 0, "%s: mapping in the pool",
		       l->name);
		expect(!pvb_slots_find_owned(&s, x, &f) && !pvb_slots_find(&s, x, &g) &&
		       same_map(&f, &m) && same_map(&g, &m),
		       "%s: find_owned/find(%#llx) give the mapping at %#llx", l->name,
		       (unsigned long long)x, (unsigned long long)m.bus);
		expect(!pvb_slots_free_mapping(&s, &f), "%s: free_mapping", l->name);
	}
	expect(pvb_slots_used(&s) == 0, "%s: used %u at the end", l->name,
	       pvb_slots_used(&s));
	pvb_slots_destroy(&s);
	free(segs);
}

static void test_layouts(void)
{
	const struct layout *l;
	unsigned int seed;

	for_each_case(l, layouts)
		for (seed = 1; seed <= 8; seed++)
			test_layout(l, seed * 7919 + (l - layouts));
	point("bus -> segment in O(1) equals a linear scan: dense, shuffled, unaligned, above 4G, sparse (hash), extremes");
}

static void test_table_bound(void)
{
	/* Two segments far apart: a table would need 2^40 entries. */
	struct pvb_seg segs[3] = { { 0, NULL }, { 1ULL << 60, NULL }, { 1ULL << 50, NULL } };
	struct pvb_slots s;

	expect(!pvb_slots_init(&s, segs, 3, KB(64), 1), "init");
	expect(s.hash_bits && s.tab_len <= 16, "hash of %u entries", s.tab_len);
	expect(pvb_slots_owns(&s, (1ULL << 60) + KB(64) - 1) &&
	       !pvb_slots_owns(&s, (1ULL << 60) + KB(64)) &&
	       pvb_slots_owns(&s, 1ULL << 50) && !pvb_slots_owns(&s, (1ULL << 50) - 1),
	       "lookups");
	pvb_slots_destroy(&s);
	expect(!pvb_slots_owns(&s, 0) && !pvb_slots_owns(&s, ~0ULL),
	       "a destroyed pool owns nothing");
	point("segments spread over 2^60: a bounded hash, not a table");
}

/* find_owned() and find() agree everywhere when nothing runs concurrently. */
static void test_find_owned(void)
{
	unsigned long bad = 0, n = 0;
	unsigned int round;
	u64 rng = 77;

	for (round = 0; round < 40; round++) {
		struct tpool p;
		unsigned int i, k;

		tpool_make(&p, 5, KB(16), 4, LAYOUT_SHUFFLED, 0x1000000 + round * MB(1), &rng);
		for (i = 0; i < 30; i++) {
			struct pvb_map_req r = treq(rnd(&rng), 1 + rnd_below(&rng, KB(9)),
						    rnd_below(&rng, 2) ? 0xfff : 0,
						    rnd_below(&rng, 3) ? 0 : 0x1fff, 0);
			struct pvb_mapping m;

			if (!pvb_slots_alloc(&p.s, &r, rnd(&rng), &m) && rnd_below(&rng, 3) == 0)
				pvb_slots_free(&p.s, m.bus);
		}
		for (k = 0; k < 2000; k++, n++) {
			u64 x = p.segs[rnd_below(&rng, p.nsegs)].bus - 8 +
				rnd_below(&rng, p.seg_size + 16);
			struct pvb_mapping a, b;
			int ra = pvb_slots_find_owned(&p.s, x, &a);
			int rb = pvb_slots_find(&p.s, x, &b);

			if (ra != rb || (!ra && !same_map(&a, &b)))
				bad++;
		}
		tpool_free(&p);
	}
	expect(!bad, "%lu of %lu addresses differ", bad, n);
	point("find_owned() answers exactly as find() (padding, tails, free slots, outside)");
}

static void test_free_mapping(void)
{
	struct pvb_mapping m, m2, f, stale, bogus;
	struct tpool p;
	u64 rng = 5;
	int ret;

	/* One area, one segment of 8 slots. */
	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x200000, &rng);
	/* 5 KiB at orig offset 0x923, min_align_mask 0xfff: slots 0-3, bus in slot 1. */
	ret = pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .orig = 0x5923, .size = KB(5),
			      .min_align_mask = 0xfff }, 0, &m);
	expect(!ret && m.bus == 0x200923 && m.index == 1 && pvb_slots_used(&p.s) == 4,
	       "alloc: %d bus %#llx index %u used %u", ret, (unsigned long long)m.bus,
	       m.index, pvb_slots_used(&p.s));
	ret = pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .size = 1 }, 0, &m2);
	expect(!ret && m2.index == 4, "second mapping in slot %u", m2.index);
	expect(!pvb_slots_find_owned(&p.s, m.bus + KB(2), &f) && same_map(&f, &m),
	       "found from inside");

	bogus = f;
	bogus.bus++;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "bus not the start");
	bogus = f;
	bogus.index = p.s.nslabs;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "index out of range");
	bogus.index = 6;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "index of a free slot");
	bogus.index = m2.index;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT,
	       "index of another mapping");
	bogus = m2;
	bogus.index = m.index;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT,
	       "the other way round");
	/* @head: the O(1) free checks the run it names. */
	bogus = f;
	bogus.head = f.index + 1;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "head after index");
	bogus.head = m2.head;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "head of another live run");
	bogus.head = p.s.nslabs;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT, "head out of range");
	bogus = m2;
	bogus.head = m.head;
	expect(pvb_slots_free_mapping(&p.s, &bogus) == -ENOENT,
	       "the other mapping's head with this bus");
	expect(pvb_slots_used(&p.s) == 5, "nothing freed: used %u", pvb_slots_used(&p.s));

	expect(!pvb_slots_free_mapping(&p.s, &f), "free_mapping");
	expect(pvb_slots_used(&p.s) == 1 && pvb_slots_hiwater(&p.s) == 5, "used 1 hiwater 5");
	expect(pvb_slots_free_mapping(&p.s, &f) == -ENOENT, "second free_mapping");
	expect(pvb_slots_find_owned(&p.s, m.bus, &f) == -ENOENT, "gone for find_owned");

	/* The same slots taken by a mapping starting elsewhere: stale m frees nothing. */
	stale = m;
	ret = pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .orig = 0x5100, .size = KB(5),
			      .min_align_mask = 0xfff }, 0, &m);
	expect(!ret && m.bus == 0x200100 && m.index == 0, "realloc over the old run at %#llx",
	       (unsigned long long)m.bus);
	expect(pvb_slots_free_mapping(&p.s, &stale) == -ENOENT &&
	       pvb_slots_used(&p.s) == 3 + 1, "stale mapping refused: used %u",
	       pvb_slots_used(&p.s));
	expect(!pvb_slots_free_mapping(&p.s, &m) && !pvb_slots_free_mapping(&p.s, &m2) &&
	       pvb_slots_used(&p.s) == 0, "freed");
	tpool_free(&p);
	point("free_mapping(): frees a looked-up mapping, refuses stale and made-up ones");
}

/* Model of used/hiwater, exact after every call. */
struct acct {
	unsigned int used, hiwater;
	unsigned long bad, steps;
};

static void acct_check(struct acct *a, const struct pvb_slots *s)
{
	a->steps++;
	if (pvb_slots_used(s) != a->used || pvb_slots_hiwater(s) != a->hiwater) {
		if (++a->bad <= 3)
			diag("used %u hiwater %u, model %u %u", pvb_slots_used(s),
			     pvb_slots_hiwater(s), a->used, a->hiwater);
	}
}

static void test_hiwater_areas(void)
{
	struct pvb_mapping a0[10], a1[10], b[5];
	struct acct ac = { 0 };
	struct tpool p;
	unsigned int i;
	u64 rng = 3;

	/* One 32-slot segment per area. */
	tpool_make(&p, 4, KB(64), 4, LAYOUT_CONTIG, 0x400000, &rng);
	for (i = 0; i < 10; i++)
		expect(!pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .size = 1 }, 0, &a0[i]) &&
		       a0[i].index < 32, "area 0");
	for (i = 0; i < 10; i++)
		pvb_slots_free(&p.s, a0[i].bus);
	for (i = 0; i < 10; i++)
		expect(!pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .size = 1 }, 1, &a1[i]) &&
		       a1[i].index >= 32 && a1[i].index < 64, "area 1");
	/* Area 0 below its own peak, the pool above its peak. */
	for (i = 0; i < 5; i++)
		expect(!pvb_slots_alloc(&p.s, &(struct pvb_map_req){ .size = 1 }, 0, &b[i]),
		       "area 0 again");
	ac.used = ac.hiwater = 15;
	acct_check(&ac, &p.s);
	expect(!ac.bad, "hiwater %u, want 15", pvb_slots_hiwater(&p.s));
	tpool_free(&p);

	/*
	 * A pool large enough that most allocations are far below the mark:
	 * ramps up and down over many batches of PVB_USED_BATCH, random areas.
	 */
	{
		struct pvb_mapping *live;
		unsigned int *nsl, n = 0, step, cap;

		memset(&ac, 0, sizeof(ac));
		tpool_make(&p, 64, KB(256), 8, LAYOUT_SHUFFLED, 0x100000000ULL, &rng);
		cap = p.s.nslabs;
		live = calloc(cap, sizeof(*live));
		nsl = calloc(cap, sizeof(*nsl));
		for (step = 0; step < 60000; step++) {
			/* Phases: fill, drain, refill to near the peak, and so on. */
			unsigned int phase = (step / 3000) % 4;
			unsigned int up = phase == 0 ? 80 : phase == 1 ? 15 : phase == 2 ? 60 : 45;

			if ((rnd_below(&rng, 100) < up || !n) && n < cap) {
				size_t size = 1 + rnd_below(&rng, rnd_below(&rng, 3) ? KB(8) : KB(80));
				struct pvb_map_req r = treq(rnd(&rng), size, 0, 0, 0);

				if (!pvb_slots_alloc(&p.s, &r, rnd(&rng), &live[n])) {
					nsl[n] = (size + SLOT - 1) / SLOT;
					ac.used += nsl[n];
					if (ac.used > ac.hiwater)
						ac.hiwater = ac.used;
					n++;
				}
			} else {
				unsigned int k = rnd_below(&rng, n);

				expect(!pvb_slots_free_mapping(&p.s, &live[k]), "free");
				ac.used -= nsl[k];
				live[k] = live[--n];
				nsl[k] = nsl[n];
			}
			acct_check(&ac, &p.s);
		}
		while (n) {
			n--;
			pvb_slots_free_mapping(&p.s, &live[n]);
			ac.used -= nsl[n];
			acct_check(&ac, &p.s);
		}
		diag("large pool: %lu steps, hiwater %u of %u slots", ac.steps,
		     ac.hiwater, cap);
		expect(!ac.bad, "%lu of %lu steps wrong", ac.bad, ac.steps);
		expect(ac.hiwater > 20 * PVB_USED_BATCH, "the mark is far above the batch margin");
		free(live);
		free(nsl);
		tpool_free(&p);
	}
	point("used and hiwater exact when calls do not overlap: across areas, and far below the mark");
}

/* Threads through the lock-free paths, plus a thread of bogus calls. */
#define NWORKERS	4
#define TOPS		60000
#define TLIVE		20

static struct tpool tp;
static u8 *own;
static volatile int stop;

struct tworker {
	unsigned int id;
	unsigned long overlaps, corrupt, find_bad, free_bad, maps;
};

struct theld {
	struct pvb_map_req r;
	struct pvb_mapping m;
};

static void trelease(struct tworker *w, struct theld *h)
{
	struct pvb_mapping f;
	unsigned int k, first = tslot_of(&tp, h->m.bus);
	const u8 *c = h->m.cpu;
	size_t i;

	for (i = 0; i < h->m.size; i++)
		if (c[i] != w->id + 1) {
			w->corrupt++;
			break;
		}
	/* pool.c's unmap: look up from the start, then free what was found. */
	if (pvb_slots_find_owned(&tp.s, h->m.bus, &f) || !same_map(&f, &h->m)) {
		w->find_bad++;
		f = h->m;
	}
	for (k = 0; k < (h->m.size + SLOT - 1) / SLOT; k++)
		__atomic_store_n(&own[first + k], 0, __ATOMIC_SEQ_CST);
	if (pvb_slots_free_mapping(&tp.s, &f))
		w->free_bad++;
}

static void *tworker(void *arg)
{
	struct tworker *w = arg;
	struct theld held[TLIVE];
	unsigned int n = 0, op;
	u64 rng = 0xabcdef + w->id;

	for (op = 0; op < TOPS; op++) {
		u64 x = rnd_below(&rng, 100);

		if (n < TLIVE && (x < 50 || !n)) {
			struct theld *h = &held[n];
			unsigned int k, first;

			/* min_align_mask 0: every mapping starts on a slot. */
			h->r = treq(rnd(&rng), 1 + rnd_below(&rng, rnd_below(&rng, 4) ? KB(6) : KB(30)),
				    0, rnd_below(&rng, 4) ? 0 : 0x1fff, 0);
			if (pvb_slots_alloc(&tp.s, &h->r, rnd_below(&rng, 3) ? w->id : rnd(&rng),
					    &h->m))
				continue;
			w->maps++;
			first = tslot_of(&tp, h->m.bus);
			for (k = 0; k < (h->m.size + SLOT - 1) / SLOT; k++)
				if (__atomic_exchange_n(&own[first + k], w->id + 1, __ATOMIC_SEQ_CST))
					w->overlaps++;
			memset(h->m.cpu, w->id + 1, h->m.size);
			n++;
		} else if (x < 80) {
			unsigned int k = rnd_below(&rng, n);

			trelease(w, &held[k]);
			held[k] = held[--n];
		} else {
			struct theld *h = &held[rnd_below(&rng, n)];
			struct pvb_mapping f;

			/* pool.c's sync: any byte of the mapping. */
			if (pvb_slots_find_owned(&tp.s, h->m.bus + rnd_below(&rng, h->m.size), &f) ||
			    !same_map(&f, &h->m))
				w->find_bad++;
		}
	}
	while (n)
		trelease(w, &held[--n]);
	return NULL;
}

struct tbogus {
	unsigned long calls, unsafe, frees, stats_bad, found;
};

/* A found mapping must lie in one segment's memory, whatever the races. */
static bool mapping_safe(const struct pvb_mapping *m, u64 x)
{
	int seg = tseg_of(&tp, m->bus);

	return seg >= 0 && m->index < tp.s.nslabs && m->size &&
	       m->bus - tp.segs[seg].bus + m->size <= tp.seg_size &&
	       m->cpu == tp.mem[seg] + (m->bus - tp.segs[seg].bus) &&
	       x >= m->bus && x - m->bus < m->size;
}

static void *tbogus(void *arg)
{
	struct tbogus *b = arg;
	unsigned int last_hi = 0;
	u64 rng = 4242;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned int seg = rnd_below(&rng, tp.nsegs), used, hi;
		u64 x = tp.segs[seg].bus + rnd_below(&rng, tp.seg_size);
		struct pvb_mapping m;

		b->calls++;
		if (!pvb_slots_find_owned(&tp.s, x, &m)) {
			b->found++;
			if (!mapping_safe(&m, x))
				b->unsafe++;
		}
		if (!pvb_slots_find(&tp.s, x, &m) && !mapping_safe(&m, x))
			b->unsafe++;
		/* Never a mapping's start (those are slot aligned): must fail. */
		if (pvb_slots_free(&tp.s, x | 1) != -ENOENT)
			b->frees++;
		m.bus = x | 0x10;
		m.index = rnd_below(&rng, tp.s.nslabs + 4);
		if (pvb_slots_free_mapping(&tp.s, &m) != -ENOENT)
			b->frees++;
		hi = pvb_slots_hiwater(&tp.s);
		used = pvb_slots_used(&tp.s);
		if (hi < last_hi || hi > tp.s.nslabs ||
		    used > pvb_slots_hiwater(&tp.s))
			b->stats_bad++;
		last_hi = hi;
	}
	return NULL;
}

static void test_threads(void)
{
	struct tworker w[NWORKERS];
	pthread_t th[NWORKERS], bt;
	struct tbogus b = { 0 };
	unsigned long overlaps = 0, corrupt = 0, find_bad = 0, free_bad = 0, maps = 0;
	unsigned int i;
	u64 rng = 31;

	alarm(300);
	tpool_make(&tp, 12, KB(64), 4, LAYOUT_SHUFFLED, 0xfff00000ULL, &rng);
	own = calloc(tp.s.nslabs, 1);
	pthread_create(&bt, NULL, tbogus, &b);
	for (i = 0; i < NWORKERS; i++) {
		w[i] = (struct tworker){ .id = i };
		pthread_create(&th[i], NULL, tworker, &w[i]);
	}
	for (i = 0; i < NWORKERS; i++) {
		pthread_join(th[i], NULL);
		overlaps += w[i].overlaps;
		corrupt += w[i].corrupt;
		find_bad += w[i].find_bad;
		free_bad += w[i].free_bad;
		maps += w[i].maps;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(bt, NULL);
	diag("%d workers, %lu mappings; bogus thread: %lu rounds, %lu lock-free hits",
	     NWORKERS, maps, b.calls, b.found);
	expect(!overlaps && !corrupt, "overlaps %lu corrupt %lu", overlaps, corrupt);
	expect(!find_bad && !free_bad, "own mappings: find_owned wrong %lu, free_mapping failed %lu",
	       find_bad, free_bad);
	expect(maps > NWORKERS * TOPS / 4, "%lu mappings", maps);
	expect(!b.unsafe, "%lu lookups of bogus addresses outside one segment", b.unsafe);
	expect(!b.frees, "%lu bogus frees not refused", b.frees);
	expect(!b.stats_bad, "%lu times used > hiwater, hiwater going down or past nslabs",
	       b.stats_bad);
	expect(b.calls > 0, "bogus thread ran");
	expect(pvb_slots_used(&tp.s) == 0 && pvb_slots_hiwater(&tp.s) <= tp.s.nslabs,
	       "used %u hiwater %u at the end", pvb_slots_used(&tp.s),
	       pvb_slots_hiwater(&tp.s));
	free(own);
	tpool_free(&tp);
	point("threads: lock-free find and free_mapping of own mappings, bogus calls refused or memory-safe");
}

/*
 * The area's last run given back is the next one handed out (hot memory);
 * with next_fit (poison pools) the cursor moves on instead.  Two segments
 * of 8 slots in one area:
 *
 *   LIFO:      a [0]  free a  b [0]      (b reuses a's slot)
 *   next_fit:  a [0]  free a  b [1]
 */
static void test_reuse_last(void)
{
	struct pvb_map_req one = { .size = 100 };
	struct pvb_mapping a, b, c;
	struct tpool p;
	u64 rng = 7;
	int k;

	for (k = 0; k < 2; k++) {
		tpool_make(&p, 2, KB(16), 1, LAYOUT_CONTIG, 0x300000, &rng);
		p.s.next_fit = k;
		expect(!pvb_slots_alloc(&p.s, &one, 0, &a) && a.index == 0, "a in slot %u", a.index);
		expect(!pvb_slots_free_mapping(&p.s, &a), "a freed");
		expect(!pvb_slots_alloc(&p.s, &one, 0, &b) && b.index == (k ? 1U : 0U),
		       "%s: b in slot %u", k ? "next_fit" : "reuse", b.index);
		/* not the last run given back: the cursor stays */
		expect(!pvb_slots_alloc(&p.s, &one, 0, &c) && c.index == b.index + 1, "c after b");
		expect(!pvb_slots_free_mapping(&p.s, &b), "b freed");
		expect(!pvb_slots_alloc(&p.s, &one, 0, &a) && a.index == c.index + 1,
		       "%s: b was not the last run taken: next slot %u", k ? "next_fit" : "reuse",
		       a.index);
		tpool_free(&p);
	}
	point("the area's last run given back is reused next; next_fit moves on");
}

/*
 * A map in two parts (map_sg) whose second part finds no room gives the
 * first back and tries again.  The retry must not land the first part on
 * the same slots, or it fails the same way forever.  One area: segment 0
 * held whole, segment 1 (32 slots) free but for the first part:
 *
 *   seg 1:  0 ........ 11 [e1 12-15] 16 ............ 31
 *
 * The second part, 24 slots, fits once e1 sits at 24 or beyond (or at 4
 * or before).  Two ways of giving e1 back:
 *   free: pvb_slots_free_mapping(), as a driver undoing its own page maps
 *         does (the area's refusal keeps the cursor);
 *   undo: pvb_slots_undo_mapping(), as map_sg does, with another map and
 *         unmap of one slot between the refusal and the undo (that map
 *         ends the refusal; the undo moves on all the same).
 */
static void test_retry_after_refusal(void)
{
	struct pvb_map_req seg = { .size = KB(64) }, f12 = { .size = 12 * SLOT };
	struct pvb_map_req e1 = { .size = 4 * SLOT }, e2 = { .size = 24 * SLOT };
	struct pvb_map_req one = { .size = 100 };
	struct pvb_mapping held, fill, m1, m2, x, y;
	unsigned int tries, first = 0;
	struct tpool p;
	u64 rng = 9;
	int ret, k;

	for (k = 0; k < 2; k++) {
		const char *how = k ? "undo" : "free";

		tpool_make(&p, 2, KB(64), 1, LAYOUT_CONTIG, 0x400000, &rng);
		expect(!pvb_slots_alloc(&p.s, &seg, 0, &held) && held.index == 0,
		       "%s: segment 0 held", how);
		expect(!pvb_slots_alloc(&p.s, &f12, 0, &fill) && fill.index == 32,
		       "%s: 12 slots at 32", how);
		expect(!pvb_slots_alloc(&p.s, &e1, 0, &m1) && m1.index == 44,
		       "%s: first part at 44", how);
		expect(!pvb_slots_free_mapping(&p.s, &fill), "%s: the 12 given back", how);
		expect(!pvb_slots_free_mapping(&p.s, &m1), "%s: first part given back", how);
		ret = -ENOMEM;
		for (tries = 1; tries <= 8; tries++) {
			expect(!pvb_slots_alloc(&p.s, &e1, 0, &m1), "%s: try %u: first part",
			       how, tries);
			if (tries == 1)
				first = m1.index;
			ret = pvb_slots_alloc(&p.s, &e2, 0, &m2);
			if (!ret)
				break;
			expect(ret == -ENOMEM, "%s: try %u: second part %d", how, tries, ret);
			if (k) {
				expect(!pvb_slots_alloc(&p.s, &one, 0, &x) &&
				       !pvb_slots_free_mapping(&p.s, &x),
				       "%s: try %u: a map and unmap in between", how, tries);
				expect(!pvb_slots_undo_mapping(&p.s, &m1), "%s: try %u: undone",
				       how, tries);
			} else {
				expect(!pvb_slots_free_mapping(&p.s, &m1), "%s: try %u: given back",
				       how, tries);
			}
		}
		expect(!ret, "%s: the two parts fit on try %u (first part first at slot %u, last at %u)",
		       how, tries, first, m1.index);
		if (!ret) {
			expect(!pvb_slots_free_mapping(&p.s, &m2), "%s: second part freed", how);
			expect(!pvb_slots_free_mapping(&p.s, &m1), "%s: first part freed", how);
		}
		/* the refusal is over: the last run given back is reused again */
		expect(!pvb_slots_alloc(&p.s, &one, 0, &x) &&
		       !pvb_slots_free_mapping(&p.s, &x) &&
		       !pvb_slots_alloc(&p.s, &one, 0, &y) && y.index == x.index,
		       "%s: hot reuse back after the refusal (slot %u, then %u)", how,
		       x.index, y.index);
		expect(!pvb_slots_free_mapping(&p.s, &y), "%s: freed", how);
		expect(!pvb_slots_free_mapping(&p.s, &held), "%s: segment 0 freed", how);
		expect(pvb_slots_used(&p.s) == 0, "%s: used %u", how, pvb_slots_used(&p.s));
		tpool_free(&p);
	}
	point("a map undone after a refusal and tried again gets another placement (no livelock)");
}

int main(void)
{
	test_layouts();
	test_table_bound();
	test_find_owned();
	test_free_mapping();
	test_reuse_last();
	test_retry_after_refusal();
	test_hiwater_areas();
	test_threads();
	return tap_done();
}
