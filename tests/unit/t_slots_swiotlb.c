// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's swiotlb bug history, as regression tests of the slot
 * allocator.  Each test names the bug it guards against.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "slots_test.h"

#define KB(x)	((size_t)(x) << 10)

/* Allocate until -ENOMEM with requests from @gen; check each; free all. */
struct fill_stats {
	unsigned int maps;
	unsigned int nomem;
};

static void free_all(struct tpool *p, struct pvb_mapping *m,
		     struct pvb_map_req *r, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		expect(!pvb_slots_free(&p->s, m[i].bus), "free %#llx",
		       (unsigned long long)m[i].bus);
		tforget_map(p, &r[i], &m[i]);
	}
	expect(pvb_slots_used(&p->s) == 0, "used %u after freeing all",
	       pvb_slots_used(&p->s));
}

/*
 * NVMe, 2021 ("swiotlb: respect min_align_mask"): the bounce address must
 * keep the bits of the original address under the device's
 * min_align_mask, whatever the pool's fill and segment placement.
 */
static void test_nvme_min_align(void)
{
	static const u64 masks[] = { 0x7ff, 0xfff, 0x3fff, 0xffff };
	static const size_t sizes[] = { 1, 512, 4096, 8192 + 100, KB(64) };
	u64 rng = 1;
	unsigned int mi, round;

	for (mi = 0; mi < TAP_ARRAY_SIZE(masks); mi++) {
		for (round = 0; round < 4; round++) {
			struct pvb_mapping *m;
			struct pvb_map_req *r;
			struct tpool p;
			unsigned int n = 0;

			tpool_make(&p, 4, KB(256), 2, LAYOUT_SHUFFLED,
				   0x80003000ULL, &rng);
			m = calloc(p.s.nslabs, sizeof(*m));
			r = calloc(p.s.nslabs, sizeof(*r));
			for (;;) {
				u64 orig = rnd(&rng);
				int ret;

				/* The NVMe case: PRP data at an offset in a page. */
				if (n % 3 == 0)
					orig = (orig & ~0xfffULL) | 0x200;
				r[n] = treq(orig, sizes[rnd_below(&rng, 5)],
					    masks[mi], 0, 0);
				ret = pvb_slots_alloc(&p.s, &r[n], n, &m[n]);
				if (ret) {
					expect(ret == -ENOMEM, "ret %d", ret);
					break;
				}
				tcheck_map(&p, &r[n], &m[n], n);
				n++;
			}
			expect(n > 10, "%u mappings", n);
			free_all(&p, m, r, n);
			free(m);
			free(r);
			tpool_free(&p);
		}
	}
	point("NVMe 2021: min_align_mask bits of the original address kept in the bounce address");
}

/*
 * CVE-2024-35814 and its series (2024): combining an explicit alignment
 * with min_align_mask made swiotlb hand out overlapping slots.  Every
 * combination, filling a pool to -ENOMEM, must give disjoint runs that
 * follow every rule.
 */
static void test_cve_2024_35814(void)
{
	static const size_t sizes[] = { 1, 2048, 2049, 4096, 5000, KB(16) + 3 };
	u64 rng = 2;
	unsigned int a, k, si;
	unsigned long total = 0;

	/* align_mask 0, 2^10-1 .. 2^17-1; min_align_mask 0, 2^0-1 .. 2^17-1 */
	for (a = 0; a <= 8; a++) {
		for (k = 0; k <= 18; k++) {
			u64 align = a ? (1ULL << (a + 9)) - 1 : 0;
			u64 min = k ? (1ULL << (k - 1)) - 1 : 0;
			struct pvb_mapping m[160];
			struct pvb_map_req r[160];
			struct tpool p;
			unsigned int n = 0;

			tpool_make(&p, 2, KB(64), 2, LAYOUT_SHUFFLED, 0x5000, &rng);
			for (si = 0; n < 160 && si < 1000; si++) {
				int ret;

				r[n] = treq(rnd(&rng), sizes[si % 6], min, align, 0);
				ret = pvb_slots_alloc(&p.s, &r[n], si, &m[n]);
				if (ret == -E2BIG) {
					expect(!tbrute_fit(&p, &r[n], false),
					       "-E2BIG but fits the empty pool");
					continue;
				}
				if (ret) {
					expect(ret == -ENOMEM, "ret %d", ret);
					expect(!tbrute_fit(&p, &r[n], true),
					       "-ENOMEM with a free run (align %#llx min %#llx)",
					       (unsigned long long)align,
					       (unsigned long long)min);
					break;
				}
				tcheck_map(&p, &r[n], &m[n], n);
				n++;
			}
			total += n;
			free_all(&p, m, r, n);
			tpool_free(&p);
		}
	}
	expect(total > 1000, "%lu mappings made", total);
	point("CVE-2024-35814 series: every align_mask x min_align_mask combination gives disjoint, rule-abiding runs");
}

/*
 * "swiotlb: align mappings of PAGE_SIZE or more to a page" (the kernel's
 * 2021-2024 fixes): a mapping of a page or more starts its run on a page,
 * even when the free slots left by 2 KiB mappings are page-odd.
 */
static void test_page_aligned(void)
{
	static const size_t sizes[] = { 4096, 4097, 8192, KB(64) };
	static const u64 mins[] = { 0, 0x7ff, 0xfff };
	u64 rng = 3;
	unsigned int si, mi;

	for (si = 0; si < TAP_ARRAY_SIZE(sizes); si++) {
		for (mi = 0; mi < TAP_ARRAY_SIZE(mins); mi++) {
			struct pvb_mapping m1, m2;
			struct pvb_map_req r1 = treq(0, 100, 0, 0, 0);
			struct pvb_map_req r2;
			struct tpool p;

			tpool_make(&p, 1, KB(256), 1, LAYOUT_CONTIG, 0x10000, &rng);
			/* One 2 KiB slot taken: the cursor is page-odd. */
			expect(!pvb_slots_alloc(&p.s, &r1, 0, &m1), "first");
			tcheck_map(&p, &r1, &m1, 1);
			r2 = treq(rnd(&rng), sizes[si], mins[mi], 0, 0);
			expect(!pvb_slots_alloc(&p.s, &r2, 0, &m2), "second");
			tcheck_map(&p, &r2, &m2, 2);
			expect(!((m2.bus - (r2.orig & mins[mi])) & 0xfff),
			       "size %zu min %#llx: bus %#llx", sizes[si],
			       (unsigned long long)mins[mi],
			       (unsigned long long)m2.bus);
			if (!mins[mi])
				expect(!(m2.bus & 0xfff), "page aligned bus");
			tpool_free(&p);
		}
	}
	point("mappings of PAGE_SIZE or more are page aligned");
}

/*
 * "swiotlb: fix the maximum mapping size with min_align_mask" (2024): a
 * mapping of pvb_slots_max_mapping() bytes must succeed on an empty pool
 * for any original address, since the size accounts for the padding.
 */
static void test_max_mapping(void)
{
	static const size_t segs[] = { KB(256), KB(512), KB(4096) };
	static const u64 masks[] = { 0, 0x1ff, 0x7ff, 0xfff, 0x1fff, 0xffff, 0x1ffff, 0x3ffff };
	u64 rng = 4;
	unsigned int si, mi, k;

	for (si = 0; si < TAP_ARRAY_SIZE(segs); si++) {
		struct tpool p;

		tpool_make(&p, 3, segs[si], 2, LAYOUT_SHUFFLED, 0x1000, &rng);
		for (mi = 0; mi < TAP_ARRAY_SIZE(masks); mi++) {
			size_t max = pvb_slots_max_mapping(&p.s, masks[mi]);
			u64 pad = masks[mi] ? (masks[mi] + 1 < SLOT ? SLOT : masks[mi] + 1) : 0;
			u64 want = pad < segs[si] ? segs[si] - pad : 0;

			expect(max == want, "seg %zu mask %#llx: max %zu, want %llu",
			       segs[si], (unsigned long long)masks[mi], max,
			       (unsigned long long)want);
			for (k = 0; max && k < 40; k++) {
				u64 orig = k == 0 ? masks[mi] : k == 1 ? 0 :
					   k == 2 ? masks[mi] & ~0x7ffULL : rnd(&rng);
				struct pvb_map_req r = treq(orig, max, masks[mi], 0, 0);
				struct pvb_mapping m;
				int ret = pvb_slots_alloc(&p.s, &r, k, &m);

				if (!expect(!ret, "seg %zu mask %#llx orig %#llx size %zu: %d",
					    segs[si], (unsigned long long)masks[mi],
					    (unsigned long long)orig, max, ret))
					continue;
				tcheck_map(&p, &r, &m, 1);
				expect(!pvb_slots_free(&p.s, m.bus), "free");
				tforget_map(&p, &r, &m);
			}
		}
		tpool_free(&p);
	}
	point("max-size mapping with min_align_mask succeeds on an empty pool");
}

/*
 * "swiotlb: fix slot leak of the alignment padding" (pad_slots, 2024): the
 * slots before an aligned mapping's start are freed with it.
 */
static void test_padding_freed(void)
{
	struct tpool p;
	u64 rng = 5;
	unsigned int i, n;
	struct pvb_mapping m;
	int bad_used = 0, bad_find = 0;

	tpool_make(&p, 2, KB(256), 2, LAYOUT_SHUFFLED, 0x200000, &rng);
	for (i = 0; i < 5000; i++) {
		/* 64 KiB alignment with the min_align_mask bits at 0xf800: 31 padding slots. */
		u64 low = (rnd_below(&rng, 32) << 11) | rnd_below(&rng, 0x800);
		struct pvb_map_req r = treq((rnd(&rng) & ~0xffffULL) | low,
					    1 + rnd_below(&rng, 3000),
					    0xffff, 0xffff, 0);
		struct trule t;

		if (i % 2) {	/* NVMe-like: a page of data at an odd offset */
			r = treq((rnd(&rng) & ~0xfffULL) | 0xa00, 4096, 0xfff, 0, 0);
		}
		trule_of(&r, &t);
		expect(!pvb_slots_alloc(&p.s, &r, i, &m), "alloc %u", i);
		if (pvb_slots_used(&p.s) != t.nslots)
			bad_used++;
		if (t.off >= SLOT &&
		    (pvb_slots_find(&p.s, m.bus - t.off, &m) != -ENOENT ||
		     pvb_slots_free(&p.s, m.bus - t.off) != -ENOENT))
			bad_find++;
		expect(!pvb_slots_free(&p.s, m.bus), "free %u", i);
		expect(pvb_slots_used(&p.s) == 0, "used %u after free",
		       pvb_slots_used(&p.s));
	}
	expect(!bad_used, "%d times used != run with padding", bad_used);
	expect(!bad_find, "%d times padding counted as the mapping", bad_find);
	/* Nothing leaked: the whole pool still goes, one slot at a time. */
	for (n = 0; ; n++) {
		struct pvb_map_req r = treq(0, 1, 0, 0, 0);

		if (pvb_slots_alloc(&p.s, &r, n, &m))
			break;
	}
	expect(n == p.s.nslabs, "%u of %u slots allocatable", n, p.s.nslabs);
	tpool_free(&p);
	point("padding slots before an aligned mapping are freed with it (no leak)");
}

/*
 * "swiotlb: fix infinite loop with min_align_mask" (2024): searching an
 * exhausted pool must end, also with many threads at it at once.
 */
struct exhaust_arg {
	struct tpool *p;
	unsigned int id;
	unsigned int rounds;
	unsigned int unexpected;
};

static void *exhaust_thread(void *argp)
{
	struct exhaust_arg *a = argp;
	u64 rng = a->id + 77;
	unsigned int i;

	for (i = 0; i < a->rounds; i++) {
		struct pvb_map_req r = treq(rnd(&rng), SLOT + 1 + rnd_below(&rng, 6000),
					    rnd_below(&rng, 2) ? 0xfff : 0x3fff, 0, 0);
		struct pvb_mapping m;

		if (pvb_slots_alloc(&a->p->s, &r, rnd(&rng), &m) != -ENOMEM)
			a->unexpected++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_exhausted_bounded(void)
{
	enum { NTHREADS = 8 };
	struct exhaust_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	struct pvb_mapping m;
	struct tpool p;
	u64 rng = 6;
	unsigned int i, phase;
	double t0, t;

	/* A watchdog: a hang kills the binary, and prove sees it fail. */
	alarm(120);
	tpool_make(&p, 16, KB(256), 4, LAYOUT_SHUFFLED, 0x100000000ULL, &rng);
	for (i = 0; i < p.s.nslabs; i++) {
		struct pvb_map_req r = treq(0, SLOT, 0, 0, 0);

		expect(!pvb_slots_alloc(&p.s, &r, i, &m), "fill %u", i);
	}
	for (phase = 0; phase < 2; phase++) {
		if (phase == 1) {
			/*
			 * Free every other slot: lots of 1-slot holes, none
			 * of which fits a 2-slot request.
			 */
			for (i = 0; i < p.s.nslabs; i += 2)
				expect(!pvb_slots_free(&p.s, tslot_bus(&p, i)),
				       "free slot %u", i);
		}
		t0 = now();
		for (i = 0; i < NTHREADS; i++) {
			args[i] = (struct exhaust_arg){ &p, i, 300, 0 };
			pthread_create(&th[i], NULL, exhaust_thread, &args[i]);
		}
		for (i = 0; i < NTHREADS; i++) {
			pthread_join(th[i], NULL);
			expect(!args[i].unexpected, "thread %u: %u allocations did not fail with -ENOMEM",
			       i, args[i].unexpected);
		}
		t = now() - t0;
		diag("phase %u: %d threads x 300 failing allocations in %.3f s", phase,
		     NTHREADS, t);
		expect(t < 60, "took %.1f s", t);
	}
	alarm(0);
	tpool_free(&p);
	point("exhausted pool with min_align_mask fails in bounded time with many threads");
}

/*
 * CVE-2023-52790 ("swiotlb: fix out-of-bounds TLB allocations with
 * CONFIG_SWIOTLB_DYNAMIC"): a pool whose slot count is not a multiple of
 * the area size handed out slots past its end.  Here: segment counts that
 * are not multiples of the area count; every slot handed out must be in
 * the pool, and exactly nslabs single slots fit.
 */
static void test_cve_2023_52790(void)
{
	static const struct { unsigned int nsegs, nareas; size_t seg; } g[] = {
		{ 5, 4, KB(8) }, { 3, 2, KB(16) }, { 7, 4, KB(4) }, { 9, 8, KB(256) },
		{ 1, 4, KB(32) }, { 6, 4, KB(2) },
	};
	u64 rng = 7;
	unsigned int gi, n, round;

	for (gi = 0; gi < TAP_ARRAY_SIZE(g); gi++) {
		for (round = 0; round < 2; round++) {
			struct pvb_mapping *m;
			struct pvb_map_req *r;
			struct tpool p;

			tpool_make(&p, g[gi].nsegs, g[gi].seg, g[gi].nareas,
				   LAYOUT_SHUFFLED, 0x40000, &rng);
			m = calloc(p.s.nslabs + 1, sizeof(*m));
			r = calloc(p.s.nslabs + 1, sizeof(*r));
			for (n = 0; n <= p.s.nslabs; n++) {
				size_t size = round ? 1 + rnd_below(&rng, min_t(size_t, g[gi].seg, 3 * SLOT)) : SLOT;
				int ret;

				r[n] = treq(rnd(&rng), size, 0, 0, 0);
				ret = pvb_slots_alloc(&p.s, &r[n], rnd(&rng), &m[n]);
				if (ret) {
					expect(ret == -ENOMEM, "ret %d", ret);
					expect(!tbrute_fit(&p, &r[n], true), "-ENOMEM but a run is free");
					break;
				}
				/* tcheck_map: index < nslabs, run inside a segment. */
				tcheck_map(&p, &r[n], &m[n], n);
			}
			if (!round)
				expect(n == p.s.nslabs, "%u segs %u areas: %u of %u single slots",
				       g[gi].nsegs, g[gi].nareas, n, p.s.nslabs);
			free_all(&p, m, r, n);
			free(m);
			free(r);
			tpool_free(&p);
		}
	}
	point("CVE-2023-52790: slot count not a multiple of the area never hands out slots past the end");
}

int main(void)
{
	test_nvme_min_align();
	test_cve_2024_35814();
	test_page_aligned();
	test_max_mapping();
	test_padding_freed();
	test_exhausted_bounded();
	test_cve_2023_52790();
	return tap_done();
}
