/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounce pool: bus-contiguous chunks from a backend, cut into slots by the
 * slot allocator.  The common pool serves every attached device without a
 * private one; a selector with @size gives its device a pool of its own.
 */
#ifndef PVBOUNCE_POOL_H
#define PVBOUNCE_POOL_H

#include <pvbounce/slots.h>
#include <pvbounce/backend.h>
#include <pvbounce/pool_limits.h>
#include <linux/bits.h>
#include <linux/dma-direction.h>
#include <linux/jump_label.h>
#include <linux/mutex.h>

struct pvb_grow;

/* Name of the pool that serves every device without a private one. */
#define PVB_COMMON_POOL "common"

/**
 * struct pvb_pool - a bounce pool.
 * @name: "common" or the owning device's PCI name (for messages).
 * @be: backend that made the chunks.
 * @mask: every bus byte of the pool is at or below this.
 * @seg_size: segment size actually used (may be below max_mapping_kb if the
 *	backend could only give smaller chunks, never below PVB_MIN_SEG_SIZE).
 * @bus_top: highest bus address of any byte in the pool.
 * @nchunks: entries used in @chunks.
 * @chunks: the chunks, in allocation order.
 * @slots: the slot allocator over the chunks.
 * @dir: DMA direction of each live mapping, indexed by its head slot;
 *	DMA_NONE marks coherent memory carved out of the pool.
 * @poison: debug mode: fill freed slots with PVB_POISON_BYTE; fill a
 *	DMA_FROM_DEVICE buffer with it while the device owns the buffer (a
 *	CPU read before sync_for_cpu sees the pattern); report CPU writes
 *	to a buffer the device owns (PVB_MISUSE_CPU_WROTE_*).
 * @target: bytes asked for (pool_mb or @size): a growable pool that got
 *	less at creation grows towards it, and never shrinks below it.
 * @resize_lock: held while @chunks and @nchunks change (growth, shrink) and
 *	by readers of the chunk list.
 * @grow: growth state (src/pool_grow.c), NULL for a pool of fixed size.
 * @grows: chunks added under load.
 * @shrinks: chunks given back when idle.
 * @grow_failures: chunks the backend could not give when growth wanted one.
 * @full_growing: maps refused as "pool full, growing".
 */
struct pvb_pool {
	char name[32];
	u8 *dir;
	const struct pvb_backend *be;
	u64 mask;
	size_t seg_size;
	dma_addr_t bus_top;
	unsigned int nchunks;
	struct pvb_chunk *chunks;
	struct pvb_slots slots;
	bool poison;
	size_t target;
	struct mutex resize_lock;
	struct pvb_grow *grow;
	unsigned long grows;
	unsigned long shrinks;
	unsigned long grow_failures;
	atomic_long_t full_growing;
};

#define PVB_POISON_BYTE 0x6b

/*
 * Smallest segment (largest mapping) a pool is ever cut into, whatever the
 * backend is short of: the contract's smallest max_mapping_kb.  Below it a
 * device with a min_align_mask (NVMe) may not be able to map anything.
 */
#define PVB_MIN_SEG_SIZE (256UL << 10)

/* What pvb_pool_unmap()/pvb_pool_sync() found wrong in the caller's request. */
#define PVB_MISUSE_UNKNOWN	BIT(0)	/* address in no live mapping of the caller */
#define PVB_MISUSE_NOT_START	BIT(1)	/* unmap not at a mapping's start */
#define PVB_MISUSE_SIZE		BIT(2)	/* unmap size differs from map size */
#define PVB_MISUSE_DIR		BIT(3)	/* direction differs from map's */
#define PVB_MISUSE_CLAMPED	BIT(4)	/* range ran past the mapping; clamped */
/* poison only: the CPU wrote a DMA_TO_DEVICE buffer after map (or the last
 * sync_for_device) without a sync_for_device: the device saw older data */
#define PVB_MISUSE_CPU_WROTE_TO		BIT(5)
/* poison only: the CPU wrote a DMA_FROM_DEVICE buffer while the device
 * owned it (before sync_for_cpu or unmap): the write is lost */
#define PVB_MISUSE_CPU_WROTE_FROM	BIT(6)

/*
 * pvb_pool_unmap()/pvb_pool_sync(): no chunk of the pool holds the address
 * (a direct mapping's): nothing was done, and it is no misuse.
 */
#define PVB_POOL_NOT_OURS	BIT(31)

/**
 * struct pvb_bounce - a request to bounce a buffer through a pool.
 * @orig: physical address of the caller's buffer.
 * @size: bytes.
 * @dir: DMA direction.
 * @min_align_mask: device's min_align_mask.
 * @boundary_mask: device's segment boundary mask.
 * @align_mask: explicit alignment of the slot run (0 = none).
 * @owner: the device mapping: its owner token (pvb_slots_new_owner(), one
 *	per attach).  Only that owner may unmap or sync the mapping; slots a
 *	device has just given back go to it again, not to another device of
 *	the pool, while the pool has other room.
 */
struct pvb_bounce {
	phys_addr_t orig;
	size_t size;
	enum dma_data_direction dir;
	u64 min_align_mask;
	u64 boundary_mask;
	u64 align_mask;
	u64 owner;
};

int pvb_pool_create(struct pvb_pool *p, const char *name,
		    const struct pvb_backend *be, size_t bytes, size_t max_bytes,
		    size_t seg_size, u64 mask);
void pvb_pool_destroy(struct pvb_pool *p);
int pvb_pool_map(struct pvb_pool *p, const struct pvb_bounce *b,
		 dma_addr_t *bus);
unsigned int pvb_pool_unmap(struct pvb_pool *p, dma_addr_t bus, size_t size,
			    enum dma_data_direction dir, bool copy, u64 owner);
void pvb_pool_undo(struct pvb_pool *p, dma_addr_t bus);
unsigned int pvb_pool_sync(struct pvb_pool *p, dma_addr_t bus, size_t size,
			   enum dma_data_direction dir, bool for_cpu,
			   u64 owner, size_t *copied);
unsigned int pvb_pool_unmap_seg(struct pvb_pool *p, int seg, dma_addr_t bus,
				size_t size, enum dma_data_direction dir,
				bool copy, u64 owner);
unsigned int pvb_pool_sync_seg(struct pvb_pool *p, int seg, dma_addr_t bus,
			       size_t size, enum dma_data_direction dir,
			       bool for_cpu, u64 owner, size_t *copied);
bool pvb_pool_owns(struct pvb_pool *p, dma_addr_t bus);
void pvb_pool_batch_begin(struct pvb_pool *p, struct pvb_slots_batch *sb)
	__acquires(&sb->area->lock);
int pvb_pool_batch_map(struct pvb_pool *p, struct pvb_slots_batch *sb,
		       const struct pvb_bounce *b, dma_addr_t *bus,
		       void **cpu)
	__must_hold(&sb->area->lock);
void pvb_pool_batch_end(struct pvb_pool *p, struct pvb_slots_batch *sb,
			unsigned int taken)
	__releases(&sb->area->lock);

/**
 * pvb_pool_seg_of() - the chunk (segment) of a pool holding a bus address.
 * @p: pool.
 * @bus: address.
 *
 * The one lookup of an unmap or sync, inline: pvb_slots_seg_of().
 *
 * Return: the segment, for pvb_pool_unmap_seg() and pvb_pool_sync_seg(),
 * or -1 when no chunk of @p holds @bus.
 */
static inline int pvb_pool_seg_of(const struct pvb_pool *p, dma_addr_t bus)
{
	return pvb_slots_seg_of(&p->slots, bus);
}
void *pvb_pool_alloc_coherent(struct pvb_pool *p, size_t size,
			      dma_addr_t *bus);
int pvb_pool_free_coherent(struct pvb_pool *p, dma_addr_t bus);

/* pool_grow.c: pools that grow under load and shrink when idle. */
DECLARE_STATIC_KEY_FALSE(pvb_grow_key);
extern unsigned int pvb_pool_max_mb;
extern u32 pvb_shrink_idle_ms;

/**
 * pvb_pool_max_bytes() - what the common pool may grow to, by pool_max_mb.
 * @target: its pool_mb in bytes.
 *
 * Return: 0 (fixed size) or max(@target, pool_max_mb MiB).
 */
static inline size_t pvb_pool_max_bytes(size_t target)
{
	size_t max = (size_t)READ_ONCE(pvb_pool_max_mb) << 20;

	return max ? max_t(size_t, max, target) : 0;
}

int pvb_pool_grow_init(struct pvb_pool *p, size_t max_bytes);
void pvb_pool_grow_start(struct pvb_pool *p);
void pvb_pool_grow_exit(struct pvb_pool *p);
void pvb_pool_grow_note(struct pvb_pool *p, int ret);
bool pvb_pool_growing(const struct pvb_pool *p);
unsigned int pvb_pool_max_slabs(const struct pvb_pool *p);
void pvb_pool_resized(struct pvb_pool *p, size_t old_bytes, size_t new_bytes);

/**
 * pvb_pool_set_poison() - debug (poison) mode on or off for a new pool.
 * @p: pool just made, not yet in use.
 * @on: pvb_cfg.poison.
 *
 * Poisoned slots and misuse checks, and plain next-fit in the allocator
 * (see &struct pvb_slots.next_fit).
 */
static inline void pvb_pool_set_poison(struct pvb_pool *p, bool on)
{
	p->poison = on;
	p->slots.next_fit = on;
}

/**
 * pvb_pool_bytes() - bytes of bounce space in a pool.
 * @p: pool.
 *
 * Return: slots times slot size.
 */
static inline size_t pvb_pool_bytes(const struct pvb_pool *p)
{
	return (size_t)p->slots.nslabs << PVB_SLOT_SHIFT;
}

#endif /* PVBOUNCE_POOL_H */
