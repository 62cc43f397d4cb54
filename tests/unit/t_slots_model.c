// SPDX-License-Identifier: GPL-2.0
/*
 * Reference model for the slot allocator: random sequences of alloc, free,
 * find and bogus free on small pools, over many seeds and geometries, with
 * every step checked against the model in slots_test.h:
 *
 *  - no two live runs overlap, no run crosses a segment or a boundary;
 *  - every alignment rule holds (align_mask, page, min_align_mask bits);
 *  - -ENOMEM only when a brute-force search of the pool finds no free run
 *    meeting every rule (the allocator is exact: no fragmentation loss);
 *  - -E2BIG exactly when brute force finds no run even in the empty pool;
 *  - -EINVAL exactly for size 0 or a mask that is not 2^k - 1;
 *  - used and hiwater equal the model's after every step;
 *  - find() of any address answers exactly the live mapping whose
 *    [bus, bus + size) holds it; free() of anything but a live mapping's
 *    bus is -ENOENT and changes nothing.
 */
#include "slots_test.h"

enum prop {
	P_OVERLAP, P_RULES, P_NOMEM, P_E2BIG, P_EINVAL, P_ACCT, P_FIND, P_FREE,
	P_NR
};

static const char *const prop_name[P_NR] = {
	[P_OVERLAP] = "model: no overlap between live runs",
	[P_RULES] = "model: every run in one segment, inside the boundary, aligned, min_align_mask bits kept",
	[P_NOMEM] = "model: -ENOMEM only when brute force finds no free run (exact search)",
	[P_E2BIG] = "model: -E2BIG exactly when no run fits the empty pool",
	[P_EINVAL] = "model: -EINVAL exactly for size 0 or malformed masks",
	[P_ACCT] = "model: used and hiwater exact after every step",
	[P_FIND] = "model: find() answers exactly the mapping holding an address",
	[P_FREE] = "model: free() of a non-mapping address is -ENOENT and changes nothing",
};

static unsigned long fails[P_NR], events[P_NR];
/* Outcomes met, so that no property holds vacuously. */
static unsigned long n_ok, n_nomem, n_e2big, n_einval;

#define mexpect(p, cond, ...) ({					\
	bool __ok = (cond);						\
	events[p]++;							\
	if (!__ok && ++fails[p] <= 3) {					\
		printf("# %s: ", prop_name[p]);				\
		printf(__VA_ARGS__);					\
		printf(" (%s:%d)\n", __FILE__, __LINE__);		\
	}								\
	__ok;								\
})

struct live {
	struct pvb_map_req req;
	struct pvb_mapping m;
	int id;
};

struct config {
	unsigned int nsegs;
	size_t seg_size;
	unsigned int nareas;
	enum tlayout layout;
	u64 base;
	unsigned int seeds;
	unsigned int steps;
};

static const struct config configs[] = {
	/* one segment, one area */
	{ 1, 16 << 10, 1, LAYOUT_CONTIG, 0x100000, 200, 300 },
	/* out-of-order segments, page- but not segment-aligned bases */
	{ 4, 8 << 10, 4, LAYOUT_SHUFFLED, 0x7000, 300, 400 },
	/* 5 segments over 4 areas, above 4 GiB */
	{ 5, 16 << 10, 4, LAYOUT_SHUFFLED, 0x3fffff000ULL, 300, 400 },
	{ 3, 64 << 10, 2, LAYOUT_SHUFFLED, 0x12345000, 200, 500 },
	/* segments of 2 slots, asked for 8 areas (gets 4) */
	{ 6, 4 << 10, 8, LAYOUT_CONTIG, 0xfff000, 200, 300 },
	/* segments of one slot */
	{ 3, 2 << 10, 2, LAYOUT_SHUFFLED, 0x800, 200, 200 },
	/* production-like segments */
	{ 4, 256 << 10, 2, LAYOUT_SHUFFLED, 0x40000000, 20, 1500 },
};

static u64 rnd_mask(u64 *rng, unsigned int maxbits)
{
	unsigned int k = rnd_below(rng, maxbits + 1);

	return k ? (1ULL << k) - 1 : 0;
}

static struct pvb_map_req rnd_req(u64 *rng, const struct tpool *p)
{
	struct pvb_map_req r = { .orig = rnd(rng) };
	unsigned int segbits = ilog2(p->seg_size);
	u64 x = rnd_below(rng, 100);

	if (x < 45)
		r.size = 1 + rnd_below(rng, 3 * SLOT);
	else if (x < 75)
		r.size = 1 + rnd_below(rng, p->seg_size);
	else if (x < 85)
		r.size = p->seg_size - rnd_below(rng, 3 * SLOT);
	else if (x < 95)
		r.size = TPAGE * (1 + rnd_below(rng, 4));
	else
		r.size = p->seg_size + rnd_below(rng, 2);
	if (r.size > p->seg_size + 1 || !r.size)
		r.size = 1;

	if (rnd_below(rng, 100) < 55)
		r.min_align_mask = rnd_mask(rng, segbits + 2);
	if (rnd_below(rng, 100) < 35)
		r.align_mask = rnd_mask(rng, segbits + 1);
	x = rnd_below(rng, 100);
	if (x < 10)
		r.boundary_mask = ~0ULL;
	else if (x < 45)
		r.boundary_mask = (1ULL << (11 + rnd_below(rng, segbits - 9))) - 1;

	/* Now and then a malformed request. */
	x = rnd_below(rng, 200);
	if (x == 0)
		r.size = 0;
	else if (x == 1)
		r.min_align_mask = 0x1234;
	else if (x == 2)
		r.align_mask = 0x1800;
	else if (x == 3)
		r.boundary_mask = 0xfffe;
	return r;
}

static bool req_valid(const struct pvb_map_req *r)
{
	return r->size && tmask_ok(r->min_align_mask) &&
	       tmask_ok(r->align_mask) && tmask_ok(r->boundary_mask);
}

static void check_acct(struct tpool *p)
{
	mexpect(P_ACCT, pvb_slots_used(&p->s) == p->used &&
		pvb_slots_hiwater(&p->s) == p->hiwater,
		"used %u hiwater %u, model %u %u", pvb_slots_used(&p->s),
		pvb_slots_hiwater(&p->s), p->used, p->hiwater);
}

/* Which live mapping holds bus address x in [bus, bus + size)? */
static const struct live *holder(const struct live *lv, unsigned int n, u64 x)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (x >= lv[i].m.bus && x - lv[i].m.bus < lv[i].m.size)
			return &lv[i];
	return NULL;
}

static bool is_live_bus(const struct live *lv, unsigned int n, u64 x)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (lv[i].m.bus == x)
			return true;
	return false;
}

static void check_find(struct tpool *p, const struct live *lv, unsigned int n,
		       u64 x)
{
	const struct live *h = holder(lv, n, x);
	struct pvb_mapping m;
	int ret = pvb_slots_find(&p->s, x, &m);

	if (h)
		mexpect(P_FIND, !ret && m.bus == h->m.bus && m.size == h->m.size &&
			m.orig == h->m.orig && m.index == h->m.index &&
			m.cpu == h->m.cpu,
			"find(%#llx) = %d bus %#llx, want mapping at %#llx",
			(unsigned long long)x, ret, (unsigned long long)m.bus,
			(unsigned long long)h->m.bus);
	else
		mexpect(P_FIND, ret == -ENOENT, "find(%#llx) = %d, want -ENOENT",
			(unsigned long long)x, ret);
	mexpect(P_FIND, pvb_slots_contains(&p->s, x) == (tseg_of(p, x) >= 0),
		"contains(%#llx)", (unsigned long long)x);
}

static u64 rnd_addr(u64 *rng, const struct tpool *p)
{
	unsigned int seg = rnd_below(rng, p->nsegs);

	switch (rnd_below(rng, 4)) {
	case 0:		/* just outside a segment */
		return rnd_below(rng, 2) ? p->segs[seg].bus - 1 :
					   p->segs[seg].bus + p->seg_size;
	default:
		return p->segs[seg].bus + rnd_below(rng, p->seg_size);
	}
}

static void run_one(const struct config *c, u64 seed)
{
	u64 rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	struct live *lv;
	unsigned int n = 0, step, i, cap;
	struct tpool p;
	int next_id = 0;

	if (tpool_make(&p, c->nsegs, c->seg_size, c->nareas, c->layout,
		       c->base, &rng)) {
		mexpect(P_RULES, false, "pool init failed");
		return;
	}
	cap = p.s.nslabs;
	lv = calloc(cap, sizeof(*lv));

	for (step = 0; step < c->steps; step++) {
		u64 op = rnd_below(&rng, 100);

		if (op < 60 || !n) {
			struct pvb_map_req r = rnd_req(&rng, &p);
			bool fits_now = req_valid(&r) && tbrute_fit(&p, &r, true);
			bool fits_empty = req_valid(&r) && tbrute_fit(&p, &r, false);
			struct pvb_mapping m;
			int ret;

			ret = pvb_slots_alloc(&p.s, &r, rnd(&rng), &m);
			if (!req_valid(&r)) {
				n_einval++;
				mexpect(P_EINVAL, ret == -EINVAL, "malformed request gave %d", ret);
			} else if (!fits_empty) {
				n_e2big++;
				mexpect(P_E2BIG, ret == -E2BIG,
					"size %zu min %#llx align %#llx bnd %#llx orig %#llx: %d, want -E2BIG",
					r.size, (unsigned long long)r.min_align_mask,
					(unsigned long long)r.align_mask,
					(unsigned long long)r.boundary_mask,
					(unsigned long long)r.orig, ret);
			} else if (!fits_now) {
				n_nomem++;
				mexpect(P_NOMEM, ret == -ENOMEM, "no free run: %d, want -ENOMEM", ret);
			} else {
				mexpect(P_NOMEM, ret == 0,
					"size %zu min %#llx align %#llx bnd %#llx orig %#llx: %d, but brute force finds a run",
					r.size, (unsigned long long)r.min_align_mask,
					(unsigned long long)r.align_mask,
					(unsigned long long)r.boundary_mask,
					(unsigned long long)r.orig, ret);
				mexpect(P_E2BIG, ret != -E2BIG, "-E2BIG for a request that fits");
			}
			if (!ret) {
				unsigned long before = tap.check_fails;

				n_ok++;
				int first;
				struct trule t;
				u64 j;

				/* The new run is free in the model. */
				trule_of(&r, &t);
				first = tslot_of(&p, m.bus - t.off);
				for (j = 0; first >= 0 && j < t.nslots; j++)
					if (!mexpect(P_OVERLAP,
						     first + j < cap && p.owner[first + j] < 0,
						     "new run at slot %d overlaps run %d",
						     first, p.owner[first + j]))
						break;

				tcheck_map(&p, &r, &m, next_id);
				/* tcheck_map reports through expect(): file them. */
				mexpect(P_RULES, tap.check_fails == before,
					"mapping breaks a rule (see above)");
				tap.check_fails = before;
				lv[n].req = r;
				lv[n].m = m;
				lv[n].id = next_id++;
				n++;
			}
		} else if (op < 90) {
			unsigned int k = rnd_below(&rng, n);
			int ret = pvb_slots_free(&p.s, lv[k].m.bus);

			mexpect(P_FREE, ret == 0, "free of live %#llx: %d",
				(unsigned long long)lv[k].m.bus, ret);
			tforget_map(&p, &lv[k].req, &lv[k].m);
			lv[k] = lv[--n];
		} else {
			u64 x = rnd_below(&rng, 2) && n ?
				lv[rnd_below(&rng, n)].m.bus + 1 + rnd_below(&rng, 3) :
				rnd_addr(&rng, &p);
			unsigned int used = pvb_slots_used(&p.s);

			if (!is_live_bus(lv, n, x))
				mexpect(P_FREE, pvb_slots_free(&p.s, x) == -ENOENT &&
					pvb_slots_used(&p.s) == used,
					"bogus free of %#llx", (unsigned long long)x);
		}
		check_acct(&p);

		/* find(): inside every live mapping, and random addresses. */
		for (i = 0; i < n; i++) {
			const struct live *l = &lv[i];

			check_find(&p, lv, n, l->m.bus);
			check_find(&p, lv, n, l->m.bus + l->m.size - 1);
			check_find(&p, lv, n, l->m.bus + rnd_below(&rng, l->m.size));
			check_find(&p, lv, n, l->m.bus - 1);
			check_find(&p, lv, n, l->m.bus + l->m.size);
		}
		check_find(&p, lv, n, rnd_addr(&rng, &p));
	}

	/* Everything freed: nothing left in use, the whole pool allocatable. */
	while (n) {
		mexpect(P_FREE, pvb_slots_free(&p.s, lv[n - 1].m.bus) == 0, "final free");
		tforget_map(&p, &lv[n - 1].req, &lv[n - 1].m);
		n--;
	}
	check_acct(&p);
	free(lv);
	tpool_free(&p);
}

int main(void)
{
	const struct config *c;
	unsigned int seed, k;

	for_each_case(c, configs)
		for (seed = 0; seed < c->seeds; seed++)
			run_one(c, seed + 1000 * (c - configs));

	diag("requests: %lu mapped, %lu proven -ENOMEM, %lu proven -E2BIG, %lu malformed",
	     n_ok, n_nomem, n_e2big, n_einval);
	if (!n_ok || !n_nomem || !n_e2big || !n_einval)
		fails[P_NOMEM]++;
	for (k = 0; k < P_NR; k++) {
		diag("%s: %lu checks", prop_name[k], events[k]);
		ok(!fails[k] && events[k] > 0, "%s", prop_name[k]);
	}
	return tap_done();
}
