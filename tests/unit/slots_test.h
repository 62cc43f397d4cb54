/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the slot allocator tests: test pools with real backing
 * memory, an independent model of the rules, and a brute-force search.
 *
 * A test pool (tpool) has nsegs segments of seg_size bytes.  Slot numbers
 * follow the segment table (slot k*S..k*S+S-1 is segment k, S = seg_slots)
 * whatever the bus order; the model maps a bus address back to a slot by a
 * linear scan of the table, independently of the allocator's sorted table.
 *
 *   LAYOUT_CONTIG   seg0 seg1 seg2 ...      at base, bus order = table order
 *   LAYOUT_SHUFFLED   seg2 . seg0 .. seg1   page-aligned (not seg-aligned)
 *                                           bases, gaps, table order shuffled
 *
 * cpu addresses are separate malloc()s, so bus != cpu and ASan catches any
 * access the allocator's cpu pointers would make outside a segment.
 */
#ifndef PVB_SLOTS_TEST_H
#define PVB_SLOTS_TEST_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <stdlib.h>
#include <string.h>
#include <pvbounce/slots.h>
#include "tap.h"
#include "shim.h"

#define SLOT		PVB_SLOT_SIZE

/*
 * Areas read by calls besides the one each works in (slots.c counts them
 * when built with -DPVB_COUNT_AREA_READS, as the tests are).
 */
extern unsigned long pvb_area_reads;
#define TPAGE		4096ULL

/* xorshift64*: deterministic per seed. */
static inline u64 rnd(u64 *st)
{
	u64 x = *st ? *st : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline u64 rnd_below(u64 *st, u64 n)
{
	return n ? rnd(st) % n : 0;
}

enum tlayout { LAYOUT_CONTIG, LAYOUT_SHUFFLED };

struct tpool {
	struct pvb_slots s;
	unsigned int nsegs;
	unsigned int seg_slots;
	size_t seg_size;
	struct pvb_seg *segs;
	u8 **mem;		/* backing memory of each segment */
	int *owner;		/* model: id of the live run holding a slot, or -1 */
	unsigned int used;	/* model: slots in use */
	unsigned int hiwater;	/* model: most slots in use */
};

/* Build the segment table (no allocator yet); base is page aligned. */
static inline void tpool_layout(struct tpool *p, unsigned int nsegs,
				size_t seg_size, enum tlayout layout,
				u64 base, u64 *rng)
{
	u64 step = seg_size < TPAGE ? seg_size : TPAGE;
	unsigned int i;
	u64 pos = base;

	memset(p, 0, sizeof(*p));
	p->nsegs = nsegs;
	p->seg_size = seg_size;
	p->seg_slots = seg_size / SLOT;
	p->segs = calloc(nsegs, sizeof(*p->segs));
	p->mem = calloc(nsegs, sizeof(*p->mem));
	p->owner = malloc(sizeof(int) * nsegs * p->seg_slots);
	for (i = 0; i < nsegs * p->seg_slots; i++)
		p->owner[i] = -1;
	for (i = 0; i < nsegs; i++) {
		p->mem[i] = malloc(seg_size);
		memset(p->mem[i], 0, seg_size);
		if (layout == LAYOUT_SHUFFLED)
			pos += step * rnd_below(rng, 5);
		p->segs[i].bus = pos;
		p->segs[i].cpu = p->mem[i];
		pos += seg_size;
	}
	if (layout == LAYOUT_SHUFFLED) {
		for (i = nsegs - 1; i > 0; i--) {
			unsigned int j = rnd_below(rng, i + 1);
			dma_addr_t t = p->segs[i].bus;

			p->segs[i].bus = p->segs[j].bus;
			p->segs[j].bus = t;
		}
	}
}

static inline int tpool_make(struct tpool *p, unsigned int nsegs,
			     size_t seg_size, unsigned int nareas,
			     enum tlayout layout, u64 base, u64 *rng)
{
	tpool_layout(p, nsegs, seg_size, layout, base, rng);
	return pvb_slots_init(&p->s, p->segs, nsegs, seg_size, nareas);
}

static inline void tpool_free(struct tpool *p)
{
	unsigned int i;

	pvb_slots_destroy(&p->s);
	for (i = 0; i < p->nsegs; i++)
		free(p->mem[i]);
	free(p->mem);
	free(p->segs);
	free(p->owner);
	memset(p, 0, sizeof(*p));
}

/* Segment (table index) holding bus address @bus, or -1: linear scan. */
static inline int tseg_of(const struct tpool *p, u64 bus)
{
	unsigned int i;

	for (i = 0; i < p->nsegs; i++)
		if (bus >= p->segs[i].bus && bus - p->segs[i].bus < p->seg_size)
			return i;
	return -1;
}

static inline int tslot_of(const struct tpool *p, u64 bus)
{
	int seg = tseg_of(p, bus);

	if (seg < 0)
		return -1;
	return seg * p->seg_slots + (bus - p->segs[seg].bus) / SLOT;
}

static inline u64 tslot_bus(const struct tpool *p, unsigned int idx)
{
	return p->segs[idx / p->seg_slots].bus + (u64)(idx % p->seg_slots) * SLOT;
}

/* The rules, written out from slots.h independently of slots.c. */
struct trule {
	u64 amask;	/* A */
	u64 off;	/* B - R */
	u64 nslots;
	u64 bmask;	/* ~0 when none */
};

static inline bool tmask_ok(u64 m)
{
	return (m & (m + 1)) == 0;
}

static inline void trule_of(const struct pvb_map_req *r, struct trule *t)
{
	t->amask = r->align_mask | (SLOT - 1);
	if (r->size >= TPAGE)
		t->amask |= TPAGE - 1;
	t->off = r->orig & r->min_align_mask & t->amask;
	t->nslots = (t->off + r->size + SLOT - 1) / SLOT;
	t->bmask = r->boundary_mask ? r->boundary_mask : ~0ULL;
}

/* Does a run of t->nslots at slot @j of segment @seg meet every rule? */
static inline bool trun_ok(const struct tpool *p, const struct pvb_map_req *r,
			   const struct trule *t, unsigned int seg,
			   unsigned int j, bool check_owner)
{
	u64 R = p->segs[seg].bus + (u64)j * SLOT;
	u64 i;

	if (R & t->amask)
		return false;
	if (((R + t->off) & r->min_align_mask) != (r->orig & r->min_align_mask))
		return false;
	if (j + t->nslots > p->seg_slots)
		return false;
	if ((R ^ (R + t->nslots * SLOT - 1)) & ~t->bmask)
		return false;
	if (check_owner)
		for (i = 0; i < t->nslots; i++)
			if (p->owner[seg * p->seg_slots + j + i] >= 0)
				return false;
	return true;
}

/* Brute force: is there any run meeting every rule (and free, if asked)? */
static inline bool tbrute_fit(const struct tpool *p, const struct pvb_map_req *r,
			      bool check_owner)
{
	struct trule t;
	unsigned int seg, j;

	trule_of(r, &t);
	if (t.nslots > p->seg_slots)
		return false;
	for (seg = 0; seg < p->nsegs; seg++)
		for (j = 0; j < p->seg_slots; j++)
			if (trun_ok(p, r, &t, seg, j, check_owner))
				return true;
	return false;
}

/*
 * Check a fresh mapping against every rule and the model; mark its run as
 * owned by @id.  Returns the failures found (0 = all good); each is
 * reported through expect().
 */
static inline int tcheck_map(struct tpool *p, const struct pvb_map_req *r,
			     const struct pvb_mapping *m, int id)
{
	unsigned long before = tap.check_fails;
	struct trule t;
	u64 R, i;
	int seg;

	trule_of(r, &t);
	R = m->bus - t.off;
	seg = tseg_of(p, R);
	expect((m->bus & r->min_align_mask) == (r->orig & r->min_align_mask),
	       "bus %#llx keeps orig %#llx & min_align_mask %#llx",
	       (unsigned long long)m->bus, (unsigned long long)r->orig,
	       (unsigned long long)r->min_align_mask);
	expect(!(R & t.amask), "run start %#llx aligned to %#llx",
	       (unsigned long long)R, (unsigned long long)t.amask + 1);
	if (r->size >= TPAGE)
		expect(!(R & (TPAGE - 1)), "run of %zu bytes page aligned", r->size);
	if (!expect(seg >= 0, "run start %#llx in the pool", (unsigned long long)R))
		return 1;
	expect((R - p->segs[seg].bus) / SLOT + t.nslots <= p->seg_slots,
	       "run %#llx+%llu slots stays in its segment",
	       (unsigned long long)R, (unsigned long long)t.nslots);
	expect(!((R ^ (R + t.nslots * SLOT - 1)) & ~t.bmask),
	       "run %#llx+%llu slots does not cross boundary %#llx",
	       (unsigned long long)R, (unsigned long long)t.nslots,
	       (unsigned long long)t.bmask);
	expect(m->index == (unsigned int)tslot_of(p, m->bus), "index %u",
	       m->index);
	expect(m->index < p->s.nslabs, "index %u below nslabs", m->index);
	expect(m->orig == r->orig && m->size == r->size, "orig/size recorded");
	expect(m->cpu == p->mem[seg] + (m->bus - p->segs[seg].bus),
	       "cpu address matches bus offset in segment %d", seg);
	if (tap.check_fails != before)
		return tap.check_fails - before;
	for (i = 0; i < t.nslots; i++) {
		unsigned int k = tslot_of(p, R) + i;

		if (!expect(p->owner[k] < 0, "slot %u of new run already owned by %d",
			    k, p->owner[k]))
			break;
		p->owner[k] = id;
	}
	p->used += t.nslots;
	if (p->used > p->hiwater)
		p->hiwater = p->used;
	/* Touch every byte through the cpu address: ASan checks the bounds. */
	memset(m->cpu, id & 0xff, m->size);
	return tap.check_fails - before;
}

/* Model side of freeing the mapping @m made by request @r. */
static inline void tforget_map(struct tpool *p, const struct pvb_map_req *r,
			       const struct pvb_mapping *m)
{
	struct trule t;
	u64 i;

	trule_of(r, &t);
	for (i = 0; i < t.nslots; i++)
		p->owner[tslot_of(p, m->bus - t.off) + i] = -1;
	p->used -= t.nslots;
}

/* A request with the given fields. */
static inline struct pvb_map_req treq(u64 orig, size_t size, u64 min,
				      u64 align, u64 boundary)
{
	struct pvb_map_req r = {
		.orig = orig, .size = size, .min_align_mask = min,
		.align_mask = align, .boundary_mask = boundary,
	};

	return r;
}

#endif
