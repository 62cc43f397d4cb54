/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvbounce slot allocator: swiotlb-style 2 KiB slots grouped in segments,
 * spread over per-CPU areas.  Kernel-agnostic: the same slots.c is built
 * into the module and into the userspace unit tests (tests/unit/shim).
 *
 * Layout of a pool (segments need not be bus-contiguous with each other):
 *
 *   slot index: 0 ........ S-1 | S ....... 2S-1 | ...        (S = seg_slots)
 *   segment:    seg[0]          | seg[1]         | ...
 *   bus:        seg[0].bus + i*SLOT               seg[1].bus + ...
 *   area:       [ area 0: whole segments ][ area 1 ] ...
 *
 * Every rule on a mapping (alignment, min_align_mask, boundary) is computed
 * on bus addresses, because on a Xen PV guest the bus (machine) address and
 * the pseudo-physical address of a slot differ.
 */
#ifndef PVBOUNCE_SLOTS_H
#define PVBOUNCE_SLOTS_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/cache.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>

#define PVB_SLOT_SHIFT		11
#define PVB_SLOT_SIZE		(1UL << PVB_SLOT_SHIFT)
#define PVB_MIN_SEG_SIZE	(256UL << 10)
#define PVB_MAX_SEG_SIZE	(4096UL << 10)
/* Drift of an area's count before it is added to the pool-wide one. */
#define PVB_USED_BATCH		64

/**
 * struct pvb_seg - one bus-contiguous segment handed to the allocator.
 * @bus: bus address of the first byte (what the device sees).
 * @cpu: kernel virtual address of the first byte (NULL allowed in tests).
 */
struct pvb_seg {
	dma_addr_t bus;
	void *cpu;
};

/**
 * struct pvb_map_req - what a mapping asks of the allocator.
 * @orig: address of the original buffer (phys); only its low bits matter,
 *	through @min_align_mask.
 * @size: bytes to map, at least 1.
 * @min_align_mask: device's min_align_mask (2^k - 1, or 0): the returned bus
 *	address B satisfies (B & mask) == (orig & mask).
 * @align_mask: explicit alignment (2^k - 1, or 0): the run of slots taken
 *	starts at a bus address aligned to @align_mask + 1.  Requests of
 *	PAGE_SIZE or more are always page aligned in this sense.
 * @boundary_mask: device's segment boundary mask (2^k - 1; 0 or ~0 = none):
 *	the run of slots taken never crosses a multiple of @boundary_mask + 1.
 * @owner: who maps: a token from pvb_slots_new_owner() (one per attach of
 *	a device, never reused), or 0 for memory no device maps (coherent
 *	carve-outs).  It is recorded with the mapping: only that owner can
 *	free it with pvb_slots_free_mapping().  The runs an owner has just
 *	given back are handed out again to that owner only, while free slots
 *	elsewhere in the pool can serve the others (see pvb_slots_alloc()).
 */
struct pvb_map_req {
	u64 orig;
	size_t size;
	u64 min_align_mask;
	u64 align_mask;
	u64 boundary_mask;
	u64 owner;
};

/**
 * struct pvb_mapping - a live mapping as the allocator remembers it.
 * @bus: bus address returned for the mapping (data start).
 * @cpu: kernel address of the data start in the pool (NULL if segs had none).
 * @orig: @orig of the request.
 * @size: @size of the request.
 * @index: slot index holding @bus.
 * @head: slot index of the first slot of the mapping's run (@index less the
 *	alignment padding's whole slots), so that a free finds its run in O(1).
 * @owner: the mapping's owner as recorded at alloc (the request's @owner);
 *	the lookups fill it in too, so a caller compares it with its own
 *	before it touches the mapping.
 */
struct pvb_mapping {
	dma_addr_t bus;
	void *cpu;
	u64 orig;
	size_t size;
	unsigned int index;
	unsigned int head;
	u64 owner;
};

struct pvb_head;
struct pvb_area;

/* seg_tab entry of a bucket where no segment starts. */
#define PVB_SEG_NONE		((u32)~0U)

/**
 * struct pvb_seg_info - a segment as the pool keeps it (private).
 * @bus: bus address of the first byte.
 * @cpu: kernel virtual address of the first byte, or NULL.
 * @area: area holding the segment.
 * @present: the segment holds memory and is in the allocator's view
 *	(always, in a pool that cannot grow); an absent one of a growable
 *	pool is covered by one reserved run that no search can take.
 */
struct pvb_seg_info {
	dma_addr_t bus;
	void *cpu;
	unsigned int area;
	unsigned int present;
};

/**
 * struct pvb_slots_stats - the pool-wide counters, written rarely (private).
 * @approx: slots in use as the areas last reported them: each area adds its
 *	own count here only when it has drifted by PVB_USED_BATCH or more.
 * @hiwater: most slots in use at once (see pvb_slots_hiwater()).
 * @gather_lock: serialises moving credit between areas (slots.c).
 *
 * On a cache line of their own, away from the read-mostly fields; written
 * when a batch is folded or an allocation is short of its area's credit.
 */
struct pvb_slots_stats {
	atomic_t approx;
	atomic_t hiwater;
	spinlock_t gather_lock;
} ____cacheline_aligned_in_smp;

/**
 * struct pvb_slots - a slot pool.  Fields are private to slots.c except
 * where noted; read statistics through the accessors below.
 * @nslabs: slots in the pool now (public, read-only; changes as a growable
 *	pool gains and loses segments).
 * @seg_slots: slots per segment (public, read-only).
 * @seg_shift: log2(@seg_slots).
 * @bus_shift: log2 of the segment size in bytes.
 * @nsegs: segment numbers in the pool (present or not).
 * @nareas: areas, a power of two; area i holds segment numbers
 *	[i * nsegs / nareas, (i + 1) * nsegs / nareas) (recorded per segment
 *	in &struct pvb_seg_info, so no division is ever needed).
 * @hash_bits: 0 if @seg_tab is a direct table, else log2 of its entries as
 *	an open-addressing hash.
 * @tab_len: entries in @seg_tab.
 * @bus_lo: lowest bus address of the pool.
 * @bus_span: highest bus address of the pool less @bus_lo.
 * @tab_base: @bus_lo rounded down to a multiple of the segment size.
 * @live_lo: lowest bus address of any segment ever present.
 * @live_hi: highest bus address of any segment ever present: every lookup
 *	starts with [@live_lo, @live_hi] (a growable pool's table spans all of
 *	[0, bus_hi]; its range only widens as segments come, so a lookup of a
 *	live mapping's address never misses it).
 * @seg_tab: bus to segment.  Bus space is cut into buckets of one segment
 *	size; at most one segment starts in a bucket, and a segment covers
 *	part of its start bucket and, if it is not aligned to its size, of the
 *	next one.  Table: entry k holds the segment starting in bucket
 *	(@tab_base >> @bus_shift) + k, or PVB_SEG_NONE.  Hash: the segments
 *	keyed by the absolute bucket their start is in.
 * @segs: the segments, in the caller's order (a growable pool places
 *	them area by area and keeps the other numbers absent until added).
 * @map_words: u64 words of each segment in @used_map and @start_map.
 * @used_map: per segment, a bit per used slot.
 * @start_map: per segment, a bit per slot that starts a used run.
 * @head: per slot, meaningful at the first slot of a used run: the mapping.
 * @area: the areas, each with its lock and counters.
 * @listed: a bit per area that may hold credit (set under the area's lock
 *	when it gets some; cleared by a gather that takes it all).
 * @max_slabs: slot numbers run from 0 to @max_slabs - 1 (@nslabs for a
 *	pool that cannot grow, its capacity for one that can; public).
 * @growable: segments may be added and removed (pvb_slots_add_seg()).
 * @stats: counters written by allocations, on their own cache line.
 * @next_fit: public, written before use: never step an area's cursor back
 *	onto the run just given back (see give_run()).  Debug (poison) pools
 *	set it, so that a stale unmap or a device writing after unmap meets a
 *	free slot, which is reported, rather than the very next mapping.
 */
struct pvb_slots {
	unsigned int nslabs;
	unsigned int seg_slots;
	unsigned int seg_shift;
	unsigned int bus_shift;
	unsigned int nsegs;
	unsigned int nareas;
	unsigned int hash_bits;
	unsigned int tab_len;
	dma_addr_t bus_lo;
	dma_addr_t bus_span;
	dma_addr_t tab_base;
	dma_addr_t live_lo;
	dma_addr_t live_hi;
	const u32 *seg_tab;
	struct pvb_seg_info *segs;
	unsigned int map_words;
	u64 *used_map;
	u64 *start_map;
	struct pvb_head *head;
	struct pvb_area *area;
	unsigned long *listed;
	unsigned int max_slabs;
	bool growable;
	struct pvb_slots_stats stats;
	bool next_fit;
};

int pvb_slots_seg_hashed(const struct pvb_slots *s, dma_addr_t bus);

/**
 * pvb_slots_in_range() - may a bus address lie in the pool? (inline)
 * @s: pool.
 * @bus: address.
 *
 * Two comparisons and no table: false means no segment covers @bus (a
 * direct mapping's address, for the unmap and sync of one).
 *
 * Return: true if @bus lies between the pool's lowest and highest segment.
 */
static inline bool pvb_slots_in_range(const struct pvb_slots *s, dma_addr_t bus)
{
	return bus >= READ_ONCE(s->live_lo) && bus <= READ_ONCE(s->live_hi);
}

/**
 * pvb_slots_seg_of() - segment covering a bus address, in O(1).
 * @s: pool.
 * @bus: address.
 *
 * A range check, then one table entry (two if @bus lies in the part of an
 * unaligned segment that spills into the next bucket); pools whose segments
 * are too sparse for a bounded table use a hash.
 *
 * Return: the segment's number in the caller's table, or -1.
 */
static inline int pvb_slots_seg_of(const struct pvb_slots *s, dma_addr_t bus)
{
	u64 k;
	u32 seg;

	if (!pvb_slots_in_range(s, bus))
		return -1;
	if (unlikely(s->hash_bits))
		return pvb_slots_seg_hashed(s, bus);
	k = (bus - s->tab_base) >> s->bus_shift;
	seg = s->seg_tab[k];
	if (seg == PVB_SEG_NONE || bus < s->segs[seg].bus) {
		if (!k)
			return -1;
		seg = s->seg_tab[k - 1];
		if (seg == PVB_SEG_NONE)
			return -1;
	}
	if ((bus - s->segs[seg].bus) >> s->bus_shift)
		return -1;
	return seg;
}

/**
 * pvb_slots_owns() - is a bus address inside the pool's segments? (inline)
 * @s: pool.
 * @bus: address.
 *
 * The same answer as pvb_slots_contains(), without a function call for
 * pools with a direct table.
 *
 * Return: true if some segment covers @bus.
 */
static inline bool pvb_slots_owns(const struct pvb_slots *s, dma_addr_t bus)
{
	return pvb_slots_seg_of(s, bus) >= 0;
}

/**
 * pvb_slots_init() - set up a pool over a table of segments.
 * @s: pool to initialise.
 * @segs: @nsegs segments, each @seg_size bytes, bus-contiguous inside, in
 *	any bus order; the bus address of each is a multiple of
 *	min(@seg_size, PAGE_SIZE) (it need not be a multiple of @seg_size).
 * @nsegs: number of segments, at least 1.
 * @seg_size: bytes per segment: a power of two from PVB_SLOT_SIZE up to
 *	PVB_MAX_SEG_SIZE (production pools use PVB_MIN_SEG_SIZE or more).
 * @nareas: wanted number of areas (rounded down to a power of two and to at
 *	most @nsegs; 0 means 1).
 *
 * Segments may overlap in neither bus nor cpu address (bus overlap, bus
 * misalignment and a segment running past the top of the bus address space
 * are refused with -EINVAL; cpu addresses are not checked).  On failure @s
 * holds nothing to destroy.
 *
 * Return: 0, -EINVAL for bad geometry, -ENOMEM.
 */
int pvb_slots_init(struct pvb_slots *s, const struct pvb_seg *segs,
		   unsigned int nsegs, size_t seg_size, unsigned int nareas);

int pvb_slots_init_growable(struct pvb_slots *s, const struct pvb_seg *segs,
			    unsigned int nsegs, size_t seg_size,
			    unsigned int nareas, unsigned int max_segs,
			    dma_addr_t bus_hi);
int pvb_slots_add_seg(struct pvb_slots *s, dma_addr_t bus, void *cpu);
int pvb_slots_remove_seg(struct pvb_slots *s, unsigned int seg);
bool pvb_slots_seg_busy(const struct pvb_slots *s, unsigned int seg);

/**
 * pvb_slots_new_owner() - a new owner token, for one attach of a device.
 *
 * Tokens come from one 64-bit counter: never 0, never handed out twice, so
 * a device attached later never inherits the hot runs or the mappings of
 * one torn down (as a reused pvb_device address would).
 *
 * Return: the token.
 */
u64 pvb_slots_new_owner(void);

/**
 * pvb_slots_destroy() - free the pool's metadata (not the segments).
 * @s: pool; live mappings are forgotten.
 */
void pvb_slots_destroy(struct pvb_slots *s);

/**
 * pvb_slots_alloc() - take a run of slots for a mapping.
 * @s: pool.
 * @req: the request.
 * @cpu_hint: area to search first (e.g. smp_processor_id()); every other
 *	area is tried before failing.
 * @m: filled in on success.
 *
 * The search is exact: it fails with -ENOMEM only if no free run satisfying
 * every rule exists anywhere in the pool (each area is looked at once,
 * under its own lock, keeping out of another owner's hot runs, see below;
 * if that found nothing and some area kept @req out of hot runs, every
 * area is looked at once more in full, whatever its hot runs are by
 * then), and it takes bounded time whatever the masks.
 * May be called in any context (area locks are taken irqsave).
 *
 * Hot runs: the runs an owner gave back last in an area, where its cursor
 * stands, are that owner's next allocation there (memory still in the
 * CPU's caches).  Another owner's search in that area starts after them
 * and stops before them; only when no other free run in the whole pool
 * fits does it take them.  So a device that writes after its driver
 * unmapped (a firmware bug) does not write into another device's next
 * mapping while the pool has room.
 *
 * Return: 0; -E2BIG if @req can never be satisfied by this pool even when
 * it is empty (size plus alignment padding larger than a segment, a run
 * that cannot avoid crossing @boundary_mask, or a min_align_mask pattern
 * no segment's bus addresses can take); -EINVAL for malformed masks or
 * size 0; -ENOMEM if no free run satisfying every rule exists now.
 */
int pvb_slots_alloc(struct pvb_slots *s, const struct pvb_map_req *req,
		    unsigned int cpu_hint, struct pvb_mapping *m);

/**
 * struct pvb_slots_batch - runs taken under one area lock (map_sg).
 * @area: the area whose lock the batch holds (private).
 * @flags: its irqsave flags (private).
 * @short_by: credit the runs taken were short of (private).
 */
struct pvb_slots_batch {
	struct pvb_area *area;
	unsigned long flags;
	unsigned int short_by;
};

void pvb_slots_batch_begin(struct pvb_slots *s, unsigned int cpu_hint,
			   struct pvb_slots_batch *b)
	__acquires(&b->area->lock);
int pvb_slots_batch_alloc(struct pvb_slots *s, struct pvb_slots_batch *b,
			  const struct pvb_map_req *req, struct pvb_mapping *m)
	__must_hold(&b->area->lock);
void pvb_slots_batch_end(struct pvb_slots *s, struct pvb_slots_batch *b)
	__releases(&b->area->lock);

/**
 * pvb_slots_find() - find the live mapping that contains a bus address.
 * @s: pool.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Addresses in a mapping's alignment padding (before its @bus) or in the
 * unused tail of its last slot (from @bus + @size on) are in no mapping.
 * The lookup is O(1) and reads the mapping under its area's lock, so the
 * answer is consistent whoever else is mapping and unmapping: the checked
 * variant, for callers that cannot vouch for @bus.
 *
 * Return: 0, or -ENOENT if @bus is outside the pool or in no live mapping.
 */
int pvb_slots_find(struct pvb_slots *s, dma_addr_t bus, struct pvb_mapping *m);

/**
 * pvb_slots_find_owned() - pvb_slots_find() without a lock, for the owner.
 * @s: pool.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * The fast path of sync and unmap: the metadata of a live mapping does not
 * change until it is freed, so a caller that owns the mapping holding @bus
 * gets exactly what pvb_slots_find() would give.  For an address in no
 * live mapping the answer is -ENOENT too, unless other CPUs are taking or
 * giving back the same slots at that moment: then it may be -ENOENT or a
 * mapping that was live during the call.  Whatever the races, @m->cpu to
 * @m->cpu + @m->size lies inside one segment and @m->index below @nslabs.
 * The caller checks @m->owner against its own token before it uses @m.
 *
 * Return: 0, or -ENOENT.
 */
int pvb_slots_find_owned(const struct pvb_slots *s, dma_addr_t bus,
			 struct pvb_mapping *m);
int pvb_slots_find_seg(struct pvb_slots *s, int seg, dma_addr_t bus,
		       struct pvb_mapping *m);
int pvb_slots_find_owned_seg(const struct pvb_slots *s, int seg,
			     dma_addr_t bus, struct pvb_mapping *m);

/**
 * pvb_slots_free() - give back the whole run of a mapping (padding included).
 * @s: pool.
 * @bus: exactly the @bus of a live mapping.
 *
 * The run becomes hot for the mapping's owner (see pvb_slots_alloc()).
 *
 * Return: 0, or -ENOENT if @bus is not the start of a live mapping (the pool
 * is left untouched).
 */
int pvb_slots_free(struct pvb_slots *s, dma_addr_t bus);

/**
 * pvb_slots_free_mapping() - give back a mapping already looked up.
 * @s: pool.
 * @m: the mapping as pvb_slots_alloc(), pvb_slots_find() or
 *	pvb_slots_find_owned() gave it.
 *
 * pvb_slots_free(@m->bus) without the bus lookup or a search: one lock
 * round trip, O(1) under it.  The run becomes hot for @m->owner.  Under
 * the lock it checks that @m->index is the slot of @m->bus and that a live
 * mapping of owner @m->owner starting at @m->bus has its run's first slot
 * at @m->head and covers @m->index, so a stale or made-up @m, or one
 * another owner's mapping has replaced since the lookup, frees nothing.
 *
 * Return: 0, or -ENOENT (the pool is left untouched).
 */
int pvb_slots_free_mapping(struct pvb_slots *s, const struct pvb_mapping *m);

/**
 * pvb_slots_undo_mapping() - give back a mapping whose map is being undone.
 * @s: pool.
 * @m: as for pvb_slots_free_mapping().
 *
 * pvb_slots_free_mapping() for a run taken by a map that could not be
 * completed (map_sg giving back its first parts): the area's next search
 * does not start on these slots again, so trying the map again places its
 * parts differently.
 *
 * Return: 0, or -ENOENT (the pool is left untouched).
 */
int pvb_slots_undo_mapping(struct pvb_slots *s, const struct pvb_mapping *m);

/**
 * pvb_slots_contains() - is a bus address inside the pool's segments?
 * @s: pool.
 * @bus: address.
 *
 * Return: true if some segment covers @bus.
 */
bool pvb_slots_contains(struct pvb_slots *s, dma_addr_t bus);

/**
 * pvb_slots_max_mapping() - largest size that always fits an empty segment.
 * @s: pool.
 * @min_align_mask: the device's min_align_mask.
 *
 * A request of this size with this min_align_mask (any @orig, no
 * align_mask, no boundary) succeeds on an empty pool.
 *
 * Return: segment size less the worst-case alignment padding
 * (round_up(@min_align_mask, PVB_SLOT_SIZE)), or 0 if that is all of it.
 */
size_t pvb_slots_max_mapping(const struct pvb_slots *s, u64 min_align_mask);

/**
 * pvb_slots_used() - slots in use now.
 * @s: pool.
 *
 * The sum of the areas' counters (nothing pool-wide is written per
 * mapping).  Exact when no allocation or free runs at the same time;
 * otherwise a snapshot, never above pvb_slots_hiwater().
 *
 * Return: number of slots (padding included).
 */
unsigned int pvb_slots_used(const struct pvb_slots *s);

/**
 * pvb_slots_hiwater() - most slots ever in use at once.
 * @s: pool.
 *
 * Exact when allocations and frees do not overlap in time.  The mark less
 * the slots in use is kept as credit spread over the areas: a free adds to
 * its area's, an allocation spends its area's and only when that is short
 * gathers the rest from the areas that hold some, one at a time; what none
 * has raises the mark.  No sum over the areas: an allocation reads other
 * areas only when its own is short, a bounded number of them amortised.
 * With concurrent callers, a gather that comes up short looks again until
 * it finds no area listed, so slots given back meanwhile are not counted
 * as a peak; the mark may lag the slots in use while an allocation short
 * of credit is still gathering.
 *
 * Return: number of slots.
 */
unsigned int pvb_slots_hiwater(const struct pvb_slots *s);

#endif /* PVBOUNCE_SLOTS_H */
