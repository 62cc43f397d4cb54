// SPDX-License-Identifier: GPL-2.0
/*
 * Edge cases of the slot allocator, one named test each.  Pools here are
 * LAYOUT_CONTIG at a page-aligned base unless said otherwise:
 *
 *   bus:  base          base+S        base+2S
 *         | slot 0 1 2 ..| slot S ...  |
 */
#include "slots_test.h"

#define KB(x)	((size_t)(x) << 10)

static int alloc(struct tpool *p, u64 orig, size_t size, u64 min, u64 align,
		 u64 bnd, unsigned int hint, struct pvb_mapping *m)
{
	struct pvb_map_req r = treq(orig, size, min, align, bnd);

	return pvb_slots_alloc(&p->s, &r, hint, m);
}

static void test_size_one(void)
{
	struct pvb_mapping m, f;
	struct tpool p;
	u64 rng = 1;

	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x100000, &rng);
	expect(!alloc(&p, 0x12345, 1, 0, 0, 0, 0, &m), "alloc");
	expect(pvb_slots_used(&p.s) == 1, "used %u", pvb_slots_used(&p.s));
	expect(m.bus == 0x100000 && m.size == 1 && m.index == 0, "bus %#llx",
	       (unsigned long long)m.bus);
	expect(!pvb_slots_find(&p.s, m.bus, &f) && f.bus == m.bus, "find");
	expect(pvb_slots_find(&p.s, m.bus + 1, &f) == -ENOENT, "find past 1 byte");
	expect(!pvb_slots_free(&p.s, m.bus), "free");
	tpool_free(&p);
	point("size 1 byte: one slot, find() covers exactly that byte");
}

static void test_one_slot(void)
{
	struct pvb_mapping m;
	struct tpool p;
	u64 rng = 2;

	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x100000, &rng);
	expect(!alloc(&p, 0x4000, SLOT, 0x7ff, 0, 0, 0, &m), "aligned 2 KiB");
	expect(pvb_slots_used(&p.s) == 1, "aligned 2 KiB takes %u slots",
	       pvb_slots_used(&p.s));
	expect(!pvb_slots_free(&p.s, m.bus), "free");
	expect(!alloc(&p, 0x4010, SLOT, 0x7ff, 0, 0, 0, &m), "offset 2 KiB");
	expect(pvb_slots_used(&p.s) == 2, "2 KiB at offset 0x10 takes %u slots",
	       pvb_slots_used(&p.s));
	expect((m.bus & 0x7ff) == 0x10, "offset kept");
	expect(!pvb_slots_free(&p.s, m.bus), "free");
	tpool_free(&p);
	point("exactly one slot: 2 KiB aligned takes 1 slot, at an offset 2");
}

static void test_one_segment(void)
{
	struct pvb_mapping m[3];
	struct tpool p;
	u64 rng = 3;

	tpool_make(&p, 2, KB(64), 1, LAYOUT_SHUFFLED, 0x300000, &rng);
	expect(!alloc(&p, 0, KB(64), 0, 0, 0, 0, &m[0]), "first segment");
	expect(!alloc(&p, 0, KB(64), 0xfff, 0, 0, 0, &m[1]), "second segment");
	expect(pvb_slots_used(&p.s) == 64, "used %u", pvb_slots_used(&p.s));
	expect(alloc(&p, 0, 1, 0, 0, 0, 0, &m[2]) == -ENOMEM, "pool full");
	expect(tseg_of(&p, m[0].bus) != tseg_of(&p, m[1].bus) &&
	       (m[0].bus - p.segs[tseg_of(&p, m[0].bus)].bus) == 0, "whole segments");
	expect(!pvb_slots_free(&p.s, m[0].bus) && !pvb_slots_free(&p.s, m[1].bus), "free");
	tpool_free(&p);
	point("exactly one segment: a segment-sized mapping takes a whole segment");
}

static void test_segment_plus_one(void)
{
	struct pvb_mapping m;
	struct tpool p;
	u64 rng = 4;

	tpool_make(&p, 2, KB(256), 2, LAYOUT_CONTIG, 0, &rng);
	expect(alloc(&p, 0, KB(256) + 1, 0, 0, 0, 0, &m) == -E2BIG, "seg + 1");
	expect(alloc(&p, 0, (size_t)-1, 0, 0, 0, 0, &m) == -E2BIG, "SIZE_MAX");
	/* A segment's worth at an offset kept by min_align_mask: one slot too many. */
	expect(alloc(&p, 1, KB(256), 0x7ff, 0, 0, 0, &m) == -E2BIG, "seg at offset");
	/* A 3-slot run can never stay inside a 4 KiB boundary. */
	expect(alloc(&p, 0, 4097, 0, 0, 0xfff, 0, &m) == -E2BIG, "over boundary");
	/*
	 * Under a 1 MiB min_align_mask, orig's bits ask for bus 0xff000 modulo
	 * 1 MiB: neither segment ([0, 256K) and [256K, 512K)) has it.
	 */
	expect(alloc(&p, 0xff000, 1, 0xfffff, 0, 0, 0, &m) == -E2BIG, "pattern");
	expect(pvb_slots_used(&p.s) == 0 && pvb_slots_hiwater(&p.s) == 0, "untouched");
	tpool_free(&p);
	point("one byte more than a segment (or than it can ever hold) fails with -E2BIG");
}

static void test_min_align_wide(void)
{
	struct pvb_mapping m;
	struct tpool p;
	u64 rng = 5;

	tpool_make(&p, 2, KB(256), 1, LAYOUT_SHUFFLED, 0x801000, &rng);
	expect(!alloc(&p, 0xabc3a10, 100, 0x3fff, 0, 0, 0, &m), "alloc");
	expect((m.bus & 0x3fff) == 0x3a10, "bus %#llx", (unsigned long long)m.bus);
	expect(pvb_slots_used(&p.s) == 1, "no padding slots: used %u",
	       pvb_slots_used(&p.s));
	expect(!pvb_slots_free(&p.s, m.bus), "free");
	expect(!alloc(&p, 0xe123, 4096, 0xffff, 0, 0, 0, &m), "alloc page");
	expect((m.bus & 0xffff) == 0xe123, "bus %#llx", (unsigned long long)m.bus);
	expect(pvb_slots_used(&p.s) == 3, "page at 0x123: 3 slots, used %u",
	       pvb_slots_used(&p.s));
	expect(!pvb_slots_free(&p.s, m.bus), "free");
	tpool_free(&p);
	point("min_align_mask wider than a slot: bits kept, no padding slots wasted");
}

static void test_boundary(u64 bnd, const char *name)
{
	static const size_t sizes[] = { 1, 2048, 2049, 4096, 5000, 6144 };
	struct pvb_mapping m[200];
	struct pvb_map_req r[200];
	struct tpool p;
	unsigned int n = 0, i, tries;
	u64 rng = bnd;

	/* Bases deliberately not aligned to the boundary. */
	tpool_make(&p, 2, KB(256), 2, LAYOUT_SHUFFLED, 0x3000, &rng);
	for (tries = 0; tries < 5000 && n < 200; tries++) {
		int ret;

		r[n] = treq(rnd(&rng), sizes[rnd_below(&rng, 6)],
			    rnd_below(&rng, 2) ? 0x7ff : 0, 0, bnd);
		ret = pvb_slots_alloc(&p.s, &r[n], tries, &m[n]);
		if (ret == -E2BIG) {
			expect(!tbrute_fit(&p, &r[n], false), "-E2BIG but fits");
			continue;
		}
		if (ret) {
			expect(ret == -ENOMEM && !tbrute_fit(&p, &r[n], true),
			       "ret %d", ret);
			continue;
		}
		tcheck_map(&p, &r[n], &m[n], n);	/* boundary checked here */
		n++;
	}
	expect(n > 50, "%u mappings", n);
	for (i = 0; i < n; i++)
		expect(!pvb_slots_free(&p.s, m[i].bus), "free");
	tpool_free(&p);

	/* After one slot at a boundary's start, a 2-slot run skips to the next. */
	tpool_make(&p, 1, KB(64), 1, LAYOUT_CONTIG, 0x40000, &rng);
	expect(!alloc(&p, 0, 1, 0, 0, bnd, 0, &m[0]), "one slot");
	expect(!alloc(&p, 0, 4096, 0x7ff, 0, bnd, 0, &m[1]), "two slots");
	expect(m[1].bus == 0x41000, "2-slot run at %#llx", (unsigned long long)m[1].bus);
	expect(alloc(&p, 0, 4097 + (bnd > 0xfff ? KB(50) : 0), 0, 0, bnd, 0, &m[2]) ==
	       (bnd > 0xfff ? 0 : -E2BIG), "run as long as the window");
	tpool_free(&p);
	point("boundary mask %s: no run crosses it", name);
}

static void test_odd_segment_count(void)
{
	static const struct { unsigned int nsegs, want, got; } g[] = {
		{ 5, 4, 4 }, { 5, 8, 4 }, { 5, 3, 2 }, { 5, 0, 1 }, { 1, 16, 1 },
		{ 7, 7, 4 }, { 3, 2, 2 }, { 12, 64, 8 },
	};
	unsigned int gi, i, n;
	u64 rng = 6;

	for (gi = 0; gi < TAP_ARRAY_SIZE(g); gi++) {
		struct pvb_mapping m;
		struct tpool p;

		tpool_make(&p, g[gi].nsegs, KB(8), g[gi].want, LAYOUT_SHUFFLED,
			   0x10000, &rng);
		expect(p.s.nareas == g[gi].got, "%u segs, %u areas wanted: %u",
		       g[gi].nsegs, g[gi].want, p.s.nareas);
		expect(p.s.nslabs == g[gi].nsegs * 4, "nslabs %u", p.s.nslabs);
		/* Every single slot can be had, whatever the hint. */
		for (n = 0; ; n++) {
			struct pvb_map_req r = treq(rnd(&rng), 1 + rnd_below(&rng, SLOT), 0, 0, 0);

			if (pvb_slots_alloc(&p.s, &r, rnd(&rng), &m))
				break;
			tcheck_map(&p, &r, &m, n);
		}
		expect(n == p.s.nslabs, "%u of %u slots", n, p.s.nslabs);
		for (i = 0; i < p.s.nslabs; i++)
			expect(!pvb_slots_free(&p.s, tslot_bus(&p, i)), "free %u", i);
		tpool_free(&p);
	}
	point("pool whose nslabs is not a multiple of nareas * seg_slots: every slot usable, none beyond");
}

static void test_wrap_around(void)
{
	struct pvb_mapping m[8], x;
	struct tpool p;
	unsigned int i;
	u64 rng = 7;

	/* One area, one segment of 8 slots. */
	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x20000, &rng);
	for (i = 0; i < 6; i++)
		expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &m[i]) && m[i].index == i,
		       "slot %u", i);
	expect(!pvb_slots_free(&p.s, m[0].bus) && !pvb_slots_free(&p.s, m[1].bus),
	       "free 0, 1");
	/* Cursor at 6: slots 6 and 7, then wrap to 0. */
	expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &m[6]) && m[6].index == 6, "slot 6");
	expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &m[7]) && m[7].index == 7, "slot 7");
	expect(!alloc(&p, 0, 2 * SLOT, 0, 0, 0, 0, &m[0]) && m[0].index == 0,
	       "2 slots at 0 after the wrap: %u", m[0].index);
	expect(!pvb_slots_free(&p.s, m[7].bus) && !pvb_slots_free(&p.s, m[0].bus),
	       "free 7, 0-1");
	/* Free: 0, 1, 7.  A run never wraps from 7 to 0: 3 slots do not fit. */
	expect(alloc(&p, 0, 3 * SLOT, 0, 0, 0, 0, &x) == -ENOMEM, "no wrapping run");
	expect(!alloc(&p, 0, 2 * SLOT, 0, 0, 0, 0, &x) && x.index == 0, "2 at 0");
	tpool_free(&p);

	/* One area of 3 segments; cursor in the last one, room only in the first. */
	tpool_make(&p, 3, KB(8), 1, LAYOUT_SHUFFLED, 0x20000, &rng);
	expect(!alloc(&p, 0, KB(8), 0, 0, 0, 0, &m[0]) && m[0].index == 0, "seg 0");
	expect(!alloc(&p, 0, KB(8), 0, 0, 0, 0, &m[1]) && m[1].index == 4, "seg 1");
	expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &m[2]) && m[2].index == 8, "slot 8");
	expect(!pvb_slots_free(&p.s, m[0].bus), "free seg 0");
	/* Cursor at 9: slots 9-11 hold 3, the 4 are found after the wrap. */
	expect(!alloc(&p, 0, 4 * SLOT, 0, 0, 0, 0, &m[3]) && m[3].index == 0,
	       "4 slots wrap back to 0: %u", m[3].index);
	/* 3 slots below a page (no page alignment): 4000 bytes at offset 0x7ff. */
	expect(!alloc(&p, 0x7ff, 4000, 0x7ff, 0, 0, 0, &m[4]) && m[4].index == 9,
	       "3 slots at 9: %u", m[4].index);
	tpool_free(&p);
	point("wrap-around at the end of an area: the search goes back to the area's start");
}

static void test_full_then_free_all(void)
{
	struct pvb_mapping *m;
	struct pvb_map_req *r;
	struct tpool p;
	unsigned int n = 0, i;
	u64 rng = 8;

	tpool_make(&p, 3, KB(64), 2, LAYOUT_SHUFFLED, 0x9000, &rng);
	m = calloc(p.s.nslabs, sizeof(*m));
	r = calloc(p.s.nslabs, sizeof(*r));
	for (i = 0; i < 10000 && n < p.s.nslabs; i++) {
		r[n] = treq(rnd(&rng), i < 5000 ? 1 + rnd_below(&rng, KB(12)) : 1,
			    rnd_below(&rng, 2) ? 0xfff : 0, 0, 0);
		if (!pvb_slots_alloc(&p.s, &r[n], i, &m[n]))
			tcheck_map(&p, &r[n], &m[n], n), n++;
	}
	expect(pvb_slots_used(&p.s) == p.s.nslabs, "full: used %u of %u",
	       pvb_slots_used(&p.s), p.s.nslabs);
	expect(alloc(&p, 0, 1, 0, 0, 0, 0, &m[0]) == -ENOMEM, "full");
	for (i = 0; i < n; i++)
		expect(!pvb_slots_free(&p.s, m[i].bus), "free %u", i);
	expect(pvb_slots_used(&p.s) == 0 && pvb_slots_hiwater(&p.s) == p.s.nslabs,
	       "used %u hiwater %u", pvb_slots_used(&p.s), pvb_slots_hiwater(&p.s));
	for (i = 0; i < 3; i++)
		expect(!alloc(&p, 0, KB(64), 0, 0, 0, i, &m[i]), "whole segment %u", i);
	free(m);
	free(r);
	tpool_free(&p);
	point("full pool then free all: back to empty, every segment whole again");
}

static void test_find_inside(void)
{
	struct pvb_mapping m, f;
	struct tpool p;
	u64 rng = 9, off;
	int bad = 0;

	tpool_make(&p, 2, KB(64), 2, LAYOUT_SHUFFLED, 0x4000, &rng);
	/* 64 KiB alignment, min_align_mask bits 0x1100: one padding slot. */
	expect(!alloc(&p, 0x51100, 3 * SLOT + 5, 0xffff, 0xffff, 0, 0, &m), "alloc");
	expect(pvb_slots_used(&p.s) == 6, "2 padding + 4 slots: used %u",
	       pvb_slots_used(&p.s));
	for (off = 0; off < m.size; off++)
		if (pvb_slots_find(&p.s, m.bus + off, &f) || f.bus != m.bus ||
		    f.size != m.size || f.orig != 0x51100 || f.index != m.index)
			bad++;
	expect(!bad, "%d addresses inside the mapping not found", bad);
	expect(pvb_slots_find(&p.s, m.bus + m.size, &f) == -ENOENT, "just past");
	expect(pvb_slots_find(&p.s, m.bus - 1, &f) == -ENOENT, "padding before");
	expect(pvb_slots_find(&p.s, m.bus - 0x1100, &f) == -ENOENT, "run start");
	tpool_free(&p);
	point("find() from inside a mapping's 2nd and later slots; padding and tail are not the mapping");
}

static void test_free_bad(void)
{
	struct pvb_mapping m, m2, f;
	struct tpool p;
	u64 rng = 10;
	u64 bad[8];
	unsigned int i;

	tpool_make(&p, 2, KB(64), 2, LAYOUT_SHUFFLED, 0x4000, &rng);
	expect(!alloc(&p, 0x1100, 3 * SLOT, 0xfff, 0, 0, 0, &m), "alloc");
	expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &m2), "alloc 2");
	bad[0] = m.bus + 1;		/* inside, not the start */
	bad[1] = m.bus + SLOT;		/* a later slot of the run */
	bad[2] = m.bus - 0x100;		/* the run's first slot (padding) */
	bad[3] = m.bus + m.size;	/* the tail */
	bad[4] = p.segs[0].bus - 1;	/* outside the pool */
	bad[5] = 0;
	bad[6] = ~0ULL;
	bad[7] = m2.bus + SLOT;		/* a free slot */
	for (i = 0; i < 8; i++) {
		if (tseg_of(&p, bad[i]) >= 0 && tslot_of(&p, bad[i]) == tslot_of(&p, m2.bus))
			continue;
		expect(pvb_slots_free(&p.s, bad[i]) == -ENOENT, "free(%#llx)",
		       (unsigned long long)bad[i]);
	}
	expect(pvb_slots_used(&p.s) == 4 + 1, "used %u", pvb_slots_used(&p.s));
	expect(!pvb_slots_find(&p.s, m.bus, &f) && f.bus == m.bus, "still live");
	expect(!pvb_slots_free(&p.s, m.bus), "real free");
	expect(pvb_slots_free(&p.s, m.bus) == -ENOENT, "double free");
	expect(pvb_slots_used(&p.s) == 1, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("free() of a non-start or unknown address gives -ENOENT and changes nothing");
}

static void test_einval(void)
{
	static const struct { u64 min, align, bnd; size_t size; } c[] = {
		{ 0, 0, 0, 0 }, { 0x1000, 0, 0, 1 }, { 0, 0x17ff, 0, 1 },
		{ 0, 0, 0x10000, 1 }, { 0xfff0, 0, 0, 1 }, { 0, 0, ~1ULL, 1 },
	};
	struct pvb_mapping m;
	struct tpool p;
	unsigned int i;
	u64 rng = 11;

	tpool_make(&p, 1, KB(64), 1, LAYOUT_CONTIG, 0, &rng);
	for (i = 0; i < TAP_ARRAY_SIZE(c); i++)
		expect(alloc(&p, 0, c[i].size, c[i].min, c[i].align, c[i].bnd, 0, &m) ==
		       -EINVAL, "case %u", i);
	/* The widest masks are masks: B == orig exactly, at bus 0 here. */
	expect(!alloc(&p, 0, 1, ~0ULL >> 1, 0, ~0ULL, 0, &m) && m.bus == 0,
	       "widest masks");
	tpool_free(&p);
	point("malformed masks and size 0 give -EINVAL");
}

static void test_areas(void)
{
	struct pvb_mapping m;
	struct tpool p;
	unsigned int a, i;
	u64 rng = 12;

	/* 4 areas of one 4-slot segment each, table order = area order. */
	tpool_make(&p, 4, KB(8), 4, LAYOUT_SHUFFLED, 0x8000, &rng);
	for (a = 0; a < 4; a++) {
		expect(!alloc(&p, 0, 1, 0, 0, 0, a + 4 * 7, &m), "hint %u", a);
		expect(m.index / 4 == a, "hint %u allocated in area %u", a, m.index / 4);
	}
	/* Fill areas 1-3 with hint 1: spills over in order, area 0 last. */
	for (i = 0; i < 9; i++)
		expect(!alloc(&p, 0, 1, 0, 0, 0, 1, &m) && m.index >= 4, "fill %u: %u", i, m.index);
	for (i = 0; i < 3; i++)
		expect(!alloc(&p, 0, 1, 0, 0, 0, 1, &m) && m.index < 4,
		       "then area 0: %u", m.index);
	expect(alloc(&p, 0, 1, 0, 0, 0, 3, &m) == -ENOMEM, "full");
	tpool_free(&p);
	point("cpu_hint picks the first area; every other area is tried before -ENOMEM");
}

static void test_cpu_null(void)
{
	struct pvb_seg segs[2] = { { 0x10000, NULL }, { 0x4000, NULL } };
	struct pvb_slots s;
	struct pvb_map_req r = treq(0x123, 100, 0xfff, 0, 0);
	struct pvb_mapping m;

	expect(!pvb_slots_init(&s, segs, 2, KB(8), 2), "init");
	expect(!pvb_slots_alloc(&s, &r, 0, &m), "alloc");
	expect(m.cpu == NULL && m.bus == 0x10123, "cpu %p bus %#llx", m.cpu,
	       (unsigned long long)m.bus);
	pvb_slots_destroy(&s);
	point("segments without cpu addresses give mappings with cpu NULL");
}

static void test_max_mapping_values(void)
{
	static const struct { size_t seg; u64 mask; size_t want; } c[] = {
		{ KB(256), 0, KB(256) }, { KB(256), 0x1, KB(254) },
		{ KB(256), 0x7ff, KB(254) }, { KB(256), 0xfff, KB(252) },
		{ KB(256), 0xffff, KB(192) }, { KB(256), 0x3ffff, 0 },
		{ KB(256), ~0ULL, 0 }, { KB(4096), 0xfff, KB(4092) },
		{ KB(2), 0x7ff, 0 }, { KB(4), 0x3, KB(2) },
	};
	unsigned int i;

	for (i = 0; i < TAP_ARRAY_SIZE(c); i++) {
		struct tpool p;
		u64 rng = i;

		tpool_make(&p, 1, c[i].seg, 1, LAYOUT_CONTIG, 0, &rng);
		expect(pvb_slots_max_mapping(&p.s, c[i].mask) == c[i].want,
		       "seg %zu mask %#llx: %zu want %zu", c[i].seg,
		       (unsigned long long)c[i].mask,
		       pvb_slots_max_mapping(&p.s, c[i].mask), c[i].want);
		tpool_free(&p);
	}
	point("pvb_slots_max_mapping() = segment - round_up(min_align_mask, slot)");
}

static void test_hiwater(void)
{
	struct pvb_mapping a, b, c;
	struct tpool p;
	u64 rng = 13;

	tpool_make(&p, 1, KB(64), 1, LAYOUT_CONTIG, 0, &rng);
	expect(!alloc(&p, 0, 3 * SLOT, 0, 0, 0, 0, &a), "a");
	expect(!alloc(&p, 0, 2 * SLOT, 0, 0, 0, 0, &b), "b");
	expect(pvb_slots_hiwater(&p.s) == 5, "hiwater 5");
	expect(!pvb_slots_free(&p.s, a.bus), "free a");
	expect(!alloc(&p, 0, 1, 0, 0, 0, 0, &c), "c");
	expect(pvb_slots_used(&p.s) == 3 && pvb_slots_hiwater(&p.s) == 5,
	       "used %u hiwater %u", pvb_slots_used(&p.s), pvb_slots_hiwater(&p.s));
	expect(!alloc(&p, 0, 4 * SLOT, 0, 0, 0, 0, &a), "a again");
	expect(pvb_slots_used(&p.s) == 7 && pvb_slots_hiwater(&p.s) == 7,
	       "used %u hiwater %u", pvb_slots_used(&p.s), pvb_slots_hiwater(&p.s));
	tpool_free(&p);
	point("used and hiwater count slots, padding included");
}

int main(void)
{
	test_size_one();
	test_one_slot();
	test_one_segment();
	test_segment_plus_one();
	test_min_align_wide();
	test_boundary(0xfff, "4 KiB");
	test_boundary(0xffff, "64 KiB");
	test_odd_segment_count();
	test_wrap_around();
	test_full_then_free_all();
	test_find_inside();
	test_free_bad();
	test_einval();
	test_areas();
	test_cpu_null();
	test_max_mapping_values();
	test_hiwater();
	return tap_done();
}
