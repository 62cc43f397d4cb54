// SPDX-License-Identifier: GPL-2.0
/*
 * Slot allocator set-up and tear-down: geometry checks, area rounding,
 * every init failure path through the failing allocator, and the bus ->
 * segment lookup over segments in any bus order.
 */
#include "slots_test.h"

#define KB(x)	((size_t)(x) << 10)

static void test_bad_geometry(void)
{
	static const struct {
		const char *what;
		unsigned int nsegs;
		size_t seg;
		u64 bus0, bus1;
	} c[] = {
		{ "no segment", 0, KB(256), 0, 0 },
		{ "segment size 0", 2, 0, 0, KB(256) },
		{ "segment size not a power of two", 2, KB(3), 0, KB(64) },
		{ "segment smaller than a slot", 2, KB(1), 0, KB(64) },
		{ "segment larger than the maximum", 2, KB(8192), 0, KB(8192) },
		{ "overlapping segments", 2, KB(256), 0x100000, 0x13f000 },
		{ "duplicate segments", 2, KB(256), 0x100000, 0x100000 },
		{ "overlap the other way", 2, KB(256), 0x13f000, 0x100000 },
		{ "bus not page aligned", 2, KB(256), 0x100800, 0x200000 },
		{ "small segment not aligned to its size", 2, KB(2), 0x400, 0x1000 },
		{ "segment past the top of the bus space", 2, KB(8), 0, ~0ULL - 0xfff },
	};
	long live = shim_live_allocs();
	unsigned int i;

	for (i = 0; i < TAP_ARRAY_SIZE(c); i++) {
		struct pvb_seg segs[2] = { { c[i].bus0, NULL }, { c[i].bus1, NULL } };
		struct pvb_slots s;
		int ret = pvb_slots_init(&s, segs, c[i].nsegs, c[i].seg, 1);

		expect(ret == -EINVAL, "%s: %d", c[i].what, ret);
		if (!ret)
			pvb_slots_destroy(&s);
	}
	expect(shim_live_allocs() == live, "%ld allocations left",
	       shim_live_allocs() - live);
	point("init refuses bad geometry with -EINVAL and allocates nothing");
}

static void test_good_geometry(void)
{
	static const struct { unsigned int nsegs; size_t seg; u64 bus0, bus1; } c[] = {
		{ 2, KB(2), 0x800, 0x1000 },		/* 2 KiB segments, 2 KiB aligned */
		{ 2, KB(256), 0x101000, 0x141000 },	/* page, not segment aligned */
		{ 2, KB(4096), 0x7fc00000, 0x7f800000 },/* adjacent, reversed */
		{ 2, KB(8), ~0ULL - 0x3fff, 0 },	/* ends at the top */
	};
	unsigned int i;

	for (i = 0; i < TAP_ARRAY_SIZE(c); i++) {
		struct pvb_seg segs[2] = { { c[i].bus0, NULL }, { c[i].bus1, NULL } };
		struct pvb_map_req r = treq(0, c[i].seg, 0, 0, 0);
		struct pvb_mapping m;
		struct pvb_slots s;
		int ret = pvb_slots_init(&s, segs, c[i].nsegs, c[i].seg, 2);

		if (!expect(!ret, "case %u: %d", i, ret))
			continue;
		expect(s.nslabs == 2 * c[i].seg / SLOT && s.seg_slots == c[i].seg / SLOT,
		       "case %u geometry", i);
		expect(!pvb_slots_alloc(&s, &r, 0, &m) && !pvb_slots_alloc(&s, &r, 0, &m),
		       "case %u: both segments whole", i);
		expect(pvb_slots_contains(&s, c[i].bus0 + c[i].seg - 1) &&
		       pvb_slots_contains(&s, c[i].bus1), "case %u contains", i);
		pvb_slots_destroy(&s);
	}
	point("init accepts page-aligned (not segment-aligned), adjacent and top-of-space segments");
}

static void test_init_failures(void)
{
	struct pvb_seg segs[4] = {
		{ 0x40000, NULL }, { 0x0, NULL }, { 0x100000, NULL }, { 0x80000, NULL },
	};
	long live = shim_live_allocs();
	unsigned int nth, failures = 0;
	struct pvb_slots s;
	int ret;

	for (nth = 1; nth < 20; nth++) {
		shim_fail_nth(nth);
		ret = pvb_slots_init(&s, segs, 4, KB(256), 4);
		shim_fail_nth(0);
		if (!ret)
			break;
		failures++;
		expect(ret == -ENOMEM, "fail #%u: %d", nth, ret);
		expect(shim_live_allocs() == live, "fail #%u: %ld allocations leaked",
		       nth, shim_live_allocs() - live);
	}
	diag("init makes %u allocations; each failure walked", failures);
	expect(failures >= 4, "only %u failure points", failures);
	expect(!ret, "init succeeds once no allocation fails");
	if (!ret) {
		struct pvb_map_req r = treq(0, 100, 0, 0, 0);
		struct pvb_mapping m;

		expect(!pvb_slots_alloc(&s, &r, 0, &m), "usable");
		pvb_slots_destroy(&s);
	}
	expect(shim_live_allocs() == live, "destroy leaves %ld allocations",
	       shim_live_allocs() - live);
	point("every init allocation failure returns -ENOMEM and leaks nothing");
}

static void test_destroy_with_live(void)
{
	long live = shim_live_allocs();
	struct pvb_mapping m;
	struct tpool p;
	unsigned int i;
	u64 rng = 3;

	tpool_make(&p, 4, KB(64), 4, LAYOUT_SHUFFLED, 0x10000, &rng);
	for (i = 0; i < 20; i++) {
		struct pvb_map_req r = treq(rnd(&rng), 1 + rnd_below(&rng, KB(8)), 0, 0, 0);

		expect(!pvb_slots_alloc(&p.s, &r, i, &m), "alloc");
	}
	tpool_free(&p);	/* destroys with 20 live mappings */
	expect(shim_live_allocs() == live, "%ld allocations left",
	       shim_live_allocs() - live);
	point("destroy with live mappings frees all metadata");
}

static void test_sorted_lookup(void)
{
	enum { N = 64 };
	struct pvb_mapping m;
	struct tpool p;
	unsigned int i, seg;
	u64 rng = 4;
	int bad = 0;

	tpool_make(&p, N, KB(4), 8, LAYOUT_SHUFFLED, 0x123000, &rng);
	for (seg = 0; seg < N; seg++) {
		u64 b = p.segs[seg].bus;

		if (!pvb_slots_contains(&p.s, b) ||
		    !pvb_slots_contains(&p.s, b + KB(4) - 1) ||
		    pvb_slots_contains(&p.s, b - 1) != (tseg_of(&p, b - 1) >= 0) ||
		    pvb_slots_contains(&p.s, b + KB(4)) != (tseg_of(&p, b + KB(4)) >= 0))
			bad++;
	}
	expect(!bad, "%d segments misplaced by contains()", bad);
	expect(!pvb_slots_contains(&p.s, 0) && !pvb_slots_contains(&p.s, ~0ULL),
	       "far outside");
	/*
	 * min_align_mask 0xfff with orig at 0x800: only the second slot of
	 * each 4 KiB segment will do, so one mapping per segment, each found
	 * through its bus address.
	 */
	for (i = 0; i < N; i++) {
		struct pvb_map_req r = treq(0x800, 2000, 0xfff, 0, 0);
		struct pvb_mapping f;

		if (!expect(!pvb_slots_alloc(&p.s, &r, i, &m), "alloc %u", i))
			break;
		expect(tslot_of(&p, m.bus) == (int)m.index, "index %u", m.index);
		expect(!pvb_slots_find(&p.s, m.bus + 1999, &f) && f.index == m.index,
		       "find");
	}
	{
		struct pvb_map_req r = treq(0x800, 2000, 0xfff, 0, 0);

		expect(pvb_slots_alloc(&p.s, &r, 0, &m) == -ENOMEM, "65th");
		expect(pvb_slots_used(&p.s) == N, "used %u", pvb_slots_used(&p.s));
	}
	tpool_free(&p);
	point("bus lookup through the sorted segment table, segments in any bus order");
}

int main(void)
{
	test_bad_geometry();
	test_good_geometry();
	test_init_failures();
	test_destroy_with_live();
	test_sorted_lookup();
	return tap_done();
}
