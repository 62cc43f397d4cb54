// SPDX-License-Identifier: GPL-2.0
/*
 * Batches (pvb_slots_batch_begin(), _alloc(), _end()): map_sg takes the
 * runs of many parts under one area lock.  A batch must place every run
 * where pvb_slots_alloc() one call at a time would have, refuse with
 * -EAGAIN (changing nothing) where that call would have gone on to another
 * area, and leave the same counters (slots in use, high-water mark).
 *
 * Two pools of the same layout get the same requests: pool A one
 * pvb_slots_alloc() each, pool B in batches, falling back to
 * pvb_slots_alloc() after -EAGAIN as map_sg does; both free the same
 * mappings.  Every address, every error and both counters must agree.
 */
#include "slots_test.h"

#define KB(x)	((size_t)(x) << 10)
#define LIVE	96

struct live {
	struct pvb_mapping a, b;
	bool on;
};

static void random_req(u64 *rng, struct pvb_map_req *r)
{
	static const u64 mins[] = { 0, 0, 0xfff, 0x3f };
	static const u64 bounds[] = { 0, 0, 0xffff, 0xffffffff };

	*r = treq(rnd(rng) & 0xffffffffULL,
		  1 + rnd_below(rng, rnd_below(rng, 3) ? KB(16) : KB(100)),
		  mins[rnd_below(rng, 4)], 0, bounds[rnd_below(rng, 4)]);
	r->owner = 1 + rnd_below(rng, 2);
	if (!rnd_below(rng, 50))
		r->size = 0;	/* -EINVAL */
	if (!rnd_below(rng, 50))
		r->size = KB(300);	/* -E2BIG */
}

static void test_same_as_one_by_one(unsigned int nareas, u64 seed)
{
	struct tpool A, B;
	struct live live[LIVE] = { 0 };
	u64 rng = seed, lay = seed;
	unsigned int round, mism = 0, eagain = 0, batched = 0;

	if (tpool_make(&A, 8, KB(256), nareas, LAYOUT_SHUFFLED, 0x10000000,
		       &lay))
		abort();
	lay = seed;
	if (tpool_make(&B, 8, KB(256), nareas, LAYOUT_SHUFFLED, 0x10000000,
		       &lay))
		abort();
	for (round = 0; round < 3000; round++) {
		unsigned int hint = rnd_below(&rng, 8), n = 1 + rnd_below(&rng, 20);
		struct pvb_slots_batch sb;
		bool open = true;
		unsigned int k;

		pvb_slots_batch_begin(&B.s, hint, &sb);
		for (k = 0; k < n; k++) {
			struct pvb_map_req r;
			struct pvb_mapping ma, mb;
			unsigned int slot = rnd_below(&rng, LIVE);
			int ra, rb;

			random_req(&rng, &r);
			if (live[slot].on)
				continue;	/* frees come after the batch */
			ra = pvb_slots_alloc(&A.s, &r, hint, &ma);
			if (!open) {
				pvb_slots_batch_begin(&B.s, hint, &sb);
				open = true;
			}
			rb = pvb_slots_batch_alloc(&B.s, &sb, &r, &mb);
			if (rb == -EAGAIN) {
				eagain++;
				pvb_slots_batch_end(&B.s, &sb);
				open = false;
				rb = pvb_slots_alloc(&B.s, &r, hint, &mb);
			} else if (!rb) {
				batched++;
			}
			if (ra != rb || (!ra && (ma.bus != mb.bus ||
						 ma.index != mb.index ||
						 ma.head != mb.head ||
						 ma.size != mb.size ||
						 ma.owner != mb.owner))) {
				if (!mism++)
					diag("round %u part %u: one by one %d %#llx, batch %d %#llx",
					     round, k, ra, (unsigned long long)ma.bus,
					     rb, (unsigned long long)mb.bus);
				continue;
			}
			if (!ra) {
				live[slot].a = ma;
				live[slot].b = mb;
				live[slot].on = true;
			}
		}
		if (open)
			pvb_slots_batch_end(&B.s, &sb);
		if (pvb_slots_used(&A.s) != pvb_slots_used(&B.s) ||
		    pvb_slots_hiwater(&A.s) != pvb_slots_hiwater(&B.s)) {
			if (!mism++)
				diag("round %u: used %u/%u, hiwater %u/%u", round,
				     pvb_slots_used(&A.s), pvb_slots_used(&B.s),
				     pvb_slots_hiwater(&A.s),
				     pvb_slots_hiwater(&B.s));
		}
		/* free some of the live ones, in both, the same way */
		for (k = rnd_below(&rng, 24); k; k--) {
			struct live *l = &live[rnd_below(&rng, LIVE)];
			bool undo = !rnd_below(&rng, 4);

			if (!l->on)
				continue;
			if ((undo ? pvb_slots_undo_mapping(&A.s, &l->a) :
			     pvb_slots_free_mapping(&A.s, &l->a)) ||
			    (undo ? pvb_slots_undo_mapping(&B.s, &l->b) :
			     pvb_slots_free_mapping(&B.s, &l->b))) {
				if (!mism++)
					diag("round %u: a free failed", round);
			}
			l->on = false;
		}
	}
	expect(!mism, "%u mismatches", mism);
	expect(eagain > 0 && batched > 1000, "%u -EAGAIN, %u batched runs",
	       eagain, batched);
	point("%u areas: batches place every run where pvb_slots_alloc() does, same counters (seed %llu)",
	      nareas, (unsigned long long)seed);
	tpool_free(&A);
	tpool_free(&B);
}

/* -EAGAIN changes nothing; the full search then finds the other area. */
static void test_eagain(void)
{
	struct pvb_map_req r = treq(0, KB(64), 0, 0, 0);
	struct pvb_slots_batch sb;
	struct pvb_mapping m;
	struct tpool P;
	unsigned int k = 0, used;
	u64 rng = 1;
	int ret;

	/* 2 areas of 2 segments of 256 KiB: 8 runs of 64 KiB each */
	if (tpool_make(&P, 4, KB(256), 2, LAYOUT_CONTIG, 0x100000, &rng))
		abort();
	r.owner = 1;
	pvb_slots_batch_begin(&P.s, 0, &sb);
	while (!(ret = pvb_slots_batch_alloc(&P.s, &sb, &r, &m)))
		k++;
	expect(ret == -EAGAIN && k == 8, "%d after %u runs", ret, k);
	expect(pvb_slots_batch_alloc(&P.s, &sb, &r, &m) == -EAGAIN,
	       "a second try");
	r.size = 0;
	expect(pvb_slots_batch_alloc(&P.s, &sb, &r, &m) == -EINVAL, "size 0");
	r.size = KB(257);
	expect(pvb_slots_batch_alloc(&P.s, &sb, &r, &m) == -E2BIG, "257 KiB");
	pvb_slots_batch_end(&P.s, &sb);
	used = pvb_slots_used(&P.s);
	expect(used == 8 * KB(64) / SLOT && pvb_slots_hiwater(&P.s) == used,
	       "used %u, hiwater %u", used, pvb_slots_hiwater(&P.s));
	r.size = KB(64);
	ret = pvb_slots_alloc(&P.s, &r, 0, &m);
	expect(!ret && m.bus >= 0x100000 + 2 * KB(256),
	       "the full search: %d at %#llx", ret, (unsigned long long)m.bus);
	point("a full area: -EAGAIN, nothing changed; pvb_slots_alloc() finds the other");
	tpool_free(&P);
}

/* The high-water mark after a batch: exact, and credit reused after. */
static void test_hiwater(void)
{
	struct pvb_map_req r = treq(0x1000, 4096, 0xfff, 0, 0);
	struct pvb_mapping m[16];
	struct pvb_slots_batch sb;
	struct tpool P;
	unsigned int i, round;
	u64 rng = 2;

	if (tpool_make(&P, 8, KB(256), 4, LAYOUT_CONTIG, 0x100000, &rng))
		abort();
	r.owner = 1;
	for (round = 0; round < 2; round++) {
		pvb_slots_batch_begin(&P.s, 1, &sb);
		for (i = 0; i < 16; i++)
			if (pvb_slots_batch_alloc(&P.s, &sb, &r, &m[i]))
				abort();
		pvb_slots_batch_end(&P.s, &sb);
		expect(pvb_slots_used(&P.s) == 32 && pvb_slots_hiwater(&P.s) == 32,
		       "round %u: used %u, hiwater %u", round,
		       pvb_slots_used(&P.s), pvb_slots_hiwater(&P.s));
		for (i = 0; i < 16; i++)
			if (pvb_slots_free_mapping(&P.s, &m[i]))
				abort();
	}
	expect(pvb_slots_used(&P.s) == 0, "%u used", pvb_slots_used(&P.s));
	point("16 runs in a batch: used and high-water mark exact, twice");
	tpool_free(&P);
}

int main(void)
{
	test_same_as_one_by_one(1, 11);
	test_same_as_one_by_one(4, 12);
	test_same_as_one_by_one(8, 13);
	test_eagain();
	test_hiwater();
	return tap_done();
}
