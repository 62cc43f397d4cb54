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
#include <linux/spinlock.h>
#include <linux/atomic.h>

#define PVB_SLOT_SHIFT		11
#define PVB_SLOT_SIZE		(1UL << PVB_SLOT_SHIFT)
#define PVB_MIN_SEG_SIZE	(256UL << 10)
#define PVB_MAX_SEG_SIZE	(4096UL << 10)

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
 */
struct pvb_map_req {
	u64 orig;
	size_t size;
	u64 min_align_mask;
	u64 align_mask;
	u64 boundary_mask;
};

/**
 * struct pvb_mapping - a live mapping as the allocator remembers it.
 * @bus: bus address returned for the mapping (data start).
 * @cpu: kernel address of the data start in the pool (NULL if segs had none).
 * @orig: @orig of the request.
 * @size: @size of the request.
 * @index: slot index holding @bus.
 */
struct pvb_mapping {
	dma_addr_t bus;
	void *cpu;
	u64 orig;
	size_t size;
	unsigned int index;
};

struct pvb_slot;
struct pvb_area;

/**
 * struct pvb_slots - a slot pool.  Fields are private to slots.c except
 * where noted; read statistics through the accessors below.
 * @nslabs: slots in the pool (public, read-only).
 * @seg_slots: slots per segment (public, read-only).
 * @seg_shift: log2(@seg_slots).
 * @nsegs: segments in the pool.
 * @nareas: areas, a power of two; area i holds segments
 *	[i * nsegs / nareas, (i + 1) * nsegs / nareas).
 * @segs: copy of the caller's segment table.
 * @seg_by_bus: segment numbers sorted by bus address.
 * @slot: per-slot metadata.
 * @area: the areas, each with its lock.
 * @used: slots in use now.
 * @hiwater: most slots ever in use at once.
 */
struct pvb_slots {
	unsigned int nslabs;
	unsigned int seg_slots;
	unsigned int seg_shift;
	unsigned int nsegs;
	unsigned int nareas;
	struct pvb_seg *segs;
	unsigned int *seg_by_bus;
	struct pvb_slot *slot;
	struct pvb_area *area;
	atomic_t used;
	atomic_t hiwater;
};

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
 * under its own lock), and it takes bounded time whatever the masks.
 * May be called in any context (area locks are taken irqsave).
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
 * pvb_slots_find() - find the live mapping that contains a bus address.
 * @s: pool.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Addresses in a mapping's alignment padding (before its @bus) or in the
 * unused tail of its last slot (from @bus + @size on) are in no mapping.
 *
 * Return: 0, or -ENOENT if @bus is outside the pool or in no live mapping.
 */
int pvb_slots_find(struct pvb_slots *s, dma_addr_t bus, struct pvb_mapping *m);

/**
 * pvb_slots_free() - give back the whole run of a mapping (padding included).
 * @s: pool.
 * @bus: exactly the @bus of a live mapping.
 *
 * Return: 0, or -ENOENT if @bus is not the start of a live mapping (the pool
 * is left untouched).
 */
int pvb_slots_free(struct pvb_slots *s, dma_addr_t bus);

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
 * Return: number of slots (padding included).
 */
unsigned int pvb_slots_used(const struct pvb_slots *s);

/**
 * pvb_slots_hiwater() - most slots ever in use at once.
 * @s: pool.
 *
 * Return: number of slots.
 */
unsigned int pvb_slots_hiwater(const struct pvb_slots *s);

#endif /* PVBOUNCE_SLOTS_H */
