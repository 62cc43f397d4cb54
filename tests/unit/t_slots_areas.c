// SPDX-License-Identifier: GPL-2.0
/*
 * Work per map that does not grow with the number of areas: the same maps
 * on pools of 2, 8, 32 and 128 areas (one per CPU of a 128-CPU host) read
 * other areas a bounded number of times per map, counted by slots.c
 * (pvb_area_reads).  used_hiwater stays exact meanwhile (the calls do not
 * overlap).
 *
 *   per-CPU rings  8 "CPUs" round robin, each freeing its oldest mapping
 *                  and mapping a new one (1-4 slots) on its own area, the
 *                  way pool.c maps with cpu_hint = smp_processor_id()
 *   rotating       one ring whose maps go to the next area each time, so
 *                  every slot given back is in another area than the next
 *                  map's (the worst placement for per-area bookkeeping)
 *
 * Each starts on an empty pool: the ramp to the first peak is counted too.
 *
 * And a race, played in order through the shim's lock hook: while a map
 * short of credit gathers it, an area it has passed over is given a run
 * back and one it has not visited yet spends its credit; the mark must not
 * count the slots given back as a new peak.  And areas listed again and
 * again while a gather runs (others giving a run back and spending it before
 * it comes by): the gather, interrupts off in the kernel, ends anyway.
 */
#include <linux/spinlock.h>
#include "slots_test.h"

#define KB(x)		((size_t)(x) << 10)
#define NCPU		8
#define LIVE		16
#define MAPS		40000
/* Reads of other areas allowed per map, on average, whatever the areas. */
#define READS_PER_MAP	2

struct ring {
	struct pvb_mapping m[LIVE];
	unsigned int nsl[LIVE];
	unsigned int next;
};

struct acct {
	unsigned int used, hiwater;
	unsigned long bad;
};

static void acct_check(struct acct *a, const struct pvb_slots *s)
{
	/* pvb_slots_used() sums the areas: not counted as the maps' reads. */
	unsigned long reads = pvb_area_reads;

	if (pvb_slots_used(s) != a->used || pvb_slots_hiwater(s) != a->hiwater) {
		if (++a->bad <= 3)
			diag("used %u hiwater %u, model %u %u", pvb_slots_used(s),
			     pvb_slots_hiwater(s), a->used, a->hiwater);
	}
	pvb_area_reads = reads;
}

/* Free the ring's oldest mapping (if any), map a new one with @hint. */
static void ring_step(struct tpool *p, struct ring *r, unsigned int hint,
		      struct acct *ac, u64 *rng)
{
	unsigned int k = r->next++ % LIVE;
	size_t size = 1 + rnd_below(rng, 4 * SLOT);
	struct pvb_map_req q = treq(rnd(rng), size, 0, 0, 0);

	if (r->nsl[k]) {
		expect(!pvb_slots_free_mapping(&p->s, &r->m[k]), "free");
		ac->used -= r->nsl[k];
		r->nsl[k] = 0;
	}
	if (!pvb_slots_alloc(&p->s, &q, hint, &r->m[k])) {
		r->nsl[k] = (size + SLOT - 1) / SLOT;
		ac->used += r->nsl[k];
		if (ac->used > ac->hiwater)
			ac->hiwater = ac->used;
	} else {
		expect(0, "map %u refused", r->next);
	}
}

static void ring_drain(struct tpool *p, struct ring *r)
{
	unsigned int k;

	for (k = 0; k < LIVE; k++)
		if (r->nsl[k])
			expect(!pvb_slots_free_mapping(&p->s, &r->m[k]), "drain");
}

/* Reads of other areas per map, for @nareas areas; @rotate: the second scenario. */
static double reads_per_map(unsigned int nareas, bool rotate)
{
	static struct ring rings[NCPU];
	struct acct ac = { 0 };
	unsigned long reads;
	struct tpool p;
	unsigned int i;
	u64 rng = 77;

	memset(rings, 0, sizeof(rings));
	/* 128 segments of 128 slots: up to 128 areas, 16384 slots. */
	expect(!tpool_make(&p, 128, KB(256), nareas, LAYOUT_CONTIG, 0x100000000ULL, &rng) &&
	       p.s.nareas == nareas, "pool of %u areas", nareas);
	pvb_area_reads = 0;
	for (i = 0; i < MAPS; i++) {
		unsigned int cpu = i % NCPU;

		if (rotate) {
			ring_step(&p, &rings[0], i, &ac, &rng);
		} else {
			/* CPU c maps on area c * nareas / NCPU (CPUs share 2 areas). */
			ring_step(&p, &rings[cpu], cpu * nareas / NCPU, &ac, &rng);
		}
		acct_check(&ac, &p.s);
	}
	reads = pvb_area_reads;
	for (i = 0; i < NCPU; i++)
		ring_drain(&p, &rings[i]);
	expect(!ac.bad, "used/hiwater wrong after %lu maps", ac.bad);
	expect(pvb_slots_used(&p.s) == 0 && pvb_slots_hiwater(&p.s) == ac.hiwater,
	       "drained: used %u hiwater %u, model hiwater %u",
	       pvb_slots_used(&p.s), pvb_slots_hiwater(&p.s), ac.hiwater);
	tpool_free(&p);
	diag("%-14s %3u areas: %lu reads of other areas in %d maps (%.3f per map), hiwater %u",
	     rotate ? "rotating" : "per-CPU rings", nareas, reads, MAPS,
	     (double)reads / MAPS, ac.hiwater);
	return (double)reads / MAPS;
}

static void test_reads(bool rotate)
{
	static const unsigned int nareas[] = { 2, 8, 32, 128 };
	double r[4];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		r[i] = reads_per_map(nareas[i], rotate);
		expect(r[i] <= READS_PER_MAP, "%u areas: %.3f reads of other areas per map, want <= %d",
		       nareas[i], r[i], READS_PER_MAP);
	}
	/* Flat: from 32 areas (more than the maps spread over) to 128. */
	expect(r[3] <= r[2] + 0.25, "128 areas %.3f reads per map, 32 areas %.3f",
	       r[3], r[2]);
	point(rotate ?
	      "rotating areas: reads of other areas per map bounded from 2 to 128 areas, flat from 32; hiwater exact" :
	      "per-CPU rings: reads of other areas per map bounded from 2 to 128 areas, flat from 32; hiwater exact");
}

static struct tpool rp;
static struct pvb_mapping ry, rz;
static int race_step;

/*
 * Runs before each spin_lock_irqsave(): after the gather lock, before the
 * first area lock of the gather, as another CPU would: give back Y (area
 * 0, already passed over: unlisted when the pass read the map), then map 5
 * slots on area 1, spending the credit the gather is about to look for.
 */
static void race_hook(spinlock_t *l)
{
	if (race_step == 0 && l == &rp.s.stats.gather_lock) {
		race_step = 1;
	} else if (race_step == 1) {
		race_step = 2;
		expect(!pvb_slots_free_mapping(&rp.s, &ry), "give Y back");
		expect(!pvb_slots_alloc(&rp.s, &(struct pvb_map_req){ .size = 5 * SLOT },
					1, &rz) && rz.index >= 32, "Z on area 1");
		race_step = 3;
	}
}

static void test_race(void)
{
	struct pvb_mapping x, g;
	u64 rng = 5;

	/* Two areas of one 32-slot segment each. */
	expect(!tpool_make(&rp, 2, KB(64), 2, LAYOUT_CONTIG, 0x400000, &rng) &&
	       rp.s.nareas == 2, "pool");
	expect(!pvb_slots_alloc(&rp.s, &(struct pvb_map_req){ .size = 5 * SLOT }, 1, &x) &&
	       x.index >= 32, "X on area 1");
	expect(!pvb_slots_alloc(&rp.s, &(struct pvb_map_req){ .size = 5 * SLOT }, 0, &ry) &&
	       ry.index < 32, "Y on area 0");
	/* Used 10, the mark 10; X back: 5 slots of credit on area 1. */
	expect(!pvb_slots_free_mapping(&rp.s, &x), "give X back");
	/* G on area 0, which has no credit: the gather meets the race. */
	shim_lock_hook = race_hook;
	expect(!pvb_slots_alloc(&rp.s, &(struct pvb_map_req){ .size = 3 * SLOT }, 0, &g) &&
	       g.index < 32, "G on area 0");
	shim_lock_hook = NULL;
	expect(race_step == 3, "the race was played (step %d)", race_step);
	/* In use: 5 + 3 - 5 + 5 = 8 at most, and 10 before. */
	expect(pvb_slots_used(&rp.s) == 8 && pvb_slots_hiwater(&rp.s) == 10,
	       "used %u hiwater %u, want 8 and 10", pvb_slots_used(&rp.s),
	       pvb_slots_hiwater(&rp.s));
	tpool_free(&rp);
	point("a gather passed over an area given runs back: no peak counted that never was");
}

static struct tpool lp;
static struct pvb_mapping la, lb;
static bool l_gathering, l_in_hook;
static unsigned int l_plays;
static spinlock_t *l_lock[3], **l_record;

/* (the first lock a call takes: its area's, struct pvb_area being slots.c's) */
static void record_hook(spinlock_t *l)
{
	if (l_record && !*l_record)
		*l_record = l;
}

/* Give @m back and take it again on area @area: listed, no credit. */
static void relist(struct pvb_mapping *m, unsigned int area)
{
	expect(!pvb_slots_free_mapping(&lp.s, m) &&
	       !pvb_slots_alloc(&lp.s, &(struct pvb_map_req){ .size = 5 * SLOT },
				area, m), "relist area %u", area);
}

/*
 * Before the gather locks area 1, another CPU lists area 2 again (with no
 * credit left to take), and before it locks area 2, area 1: every pass
 * finds listed areas, for as long as the other CPUs go on (here up to
 * 1000 times).
 */
static void relist_hook(spinlock_t *l)
{
	if (l_in_hook)
		return;
	if (l == &lp.s.stats.gather_lock)
		l_gathering = true;
	if (!l_gathering || l_plays >= 1000)
		return;
	l_in_hook = true;
	if (l == l_lock[1]) {
		relist(&lb, 2);
		l_plays++;
	} else if (l == l_lock[2]) {
		relist(&la, 1);
		l_plays++;
	}
	l_in_hook = false;
}

static void test_relisting(void)
{
	struct pvb_mapping y, g;
	u64 rng = 9;

	/* Four areas of one 32-slot segment each (a power of two). */
	expect(!tpool_make(&lp, 4, KB(64), 4, LAYOUT_CONTIG, 0x400000, &rng) &&
	       lp.s.nareas == 4, "pool");
	expect(!pvb_slots_alloc(&lp.s, &(struct pvb_map_req){ .size = 5 * SLOT }, 0, &y) &&
	       !pvb_slots_alloc(&lp.s, &(struct pvb_map_req){ .size = 5 * SLOT }, 1, &la) &&
	       !pvb_slots_alloc(&lp.s, &(struct pvb_map_req){ .size = 5 * SLOT }, 2, &lb),
	       "5 slots on each area");
	shim_lock_hook = record_hook;
	l_record = &l_lock[1];
	relist(&la, 1);
	l_record = &l_lock[2];
	relist(&lb, 2);
	l_record = NULL;
	expect(l_lock[1] && l_lock[2] && l_lock[1] != l_lock[2], "area locks seen");
	/* G on area 0, which has no credit: a gather, which others harry. */
	shim_lock_hook = relist_hook;
	expect(!pvb_slots_alloc(&lp.s, &(struct pvb_map_req){ .size = 3 * SLOT }, 0, &g),
	       "G on area 0");
	shim_lock_hook = NULL;
	expect(l_plays >= 2 && l_plays <= 16,
	       "the gather passed %u times over areas listed again (at most 16: it gives up after a few passes)",
	       l_plays);
	expect(pvb_slots_used(&lp.s) == 18 && pvb_slots_hiwater(&lp.s) == 18,
	       "used %u hiwater %u, want 18 and 18", pvb_slots_used(&lp.s),
	       pvb_slots_hiwater(&lp.s));
	tpool_free(&lp);
	point("areas listed again and again while a gather runs: it ends after a few passes, the mark right");
}

int main(void)
{
	test_reads(false);
	test_reads(true);
	test_race();
	test_relisting();
	return tap_done();
}
