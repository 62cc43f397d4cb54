// SPDX-License-Identifier: GPL-2.0
/*
 * Bounce pools: bus-contiguous chunks obtained from a backend, handed to the
 * slot allocator as equal segments, and the copies in and out of them.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/cpumask.h>
#include <linux/io.h>
#include <linux/atomic.h>
#include <pvbounce/pool.h>

/* debugfs fail/chunk_alloc: see backend.h. */
u32 pvb_fail_chunk_alloc;

/**
 * pvb_fail_countdown() - count a fault-injection knob down.
 * @knob: N: the Nth call from now must fail; 0: off.
 *
 * Context: any; lock-free.
 * Return: true for the call that must fail (the knob then reads 0 again).
 */
bool pvb_fail_countdown(u32 *knob)
{
	u32 n = READ_ONCE(*knob), old;

	while (n) {
		old = cmpxchg(knob, n, n - 1);
		if (old == n)
			return n == 1;
		n = old;
	}
	return false;
}

/**
 * pvb_chunk_alloc() - a backend chunk, with fault injection for tests.
 * @be: backend.
 * @order: as for struct pvb_backend's @chunk_alloc.
 * @mask: as there.
 * @gfp: as there.
 * @c: as there.
 *
 * Every chunk allocation (pool chunks and coherent memory) goes through
 * here, so that debugfs fail/chunk_alloc can make one fail with -ENOMEM as
 * a real shortage would.
 *
 * Return: as @be->chunk_alloc().
 */
int pvb_chunk_alloc(const struct pvb_backend *be, unsigned int order,
		    u64 mask, gfp_t gfp, struct pvb_chunk *c)
{
	if (unlikely(pvb_fail_countdown(&pvb_fail_chunk_alloc))) {
		pr_warn_ratelimited("%s backend: order %u chunk allocation failed as asked by fail/chunk_alloc\n",
				    be->name, order);
		return -ENOMEM;
	}
	return be->chunk_alloc(order, mask, gfp, c);
}

static int grow_chunks(struct pvb_pool *p, unsigned int *cap)
{
	unsigned int ncap = *cap ? *cap * 2 : 64;
	struct pvb_chunk *n;

	n = kvcalloc(ncap, sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	if (p->chunks) {
		memcpy(n, p->chunks, p->nchunks * sizeof(*n));
		kvfree(p->chunks);
	}
	p->chunks = n;
	*cap = ncap;
	return 0;
}

static void free_chunks(struct pvb_pool *p)
{
	unsigned int i;

	for (i = 0; i < p->nchunks; i++) {
		p->be->chunk_free(&p->chunks[i]);
		/*
		 * A Xen chunk goes back in hypercalls only, with no scheduling
		 * point: a large pool (or a slow machine) would otherwise hold
		 * the CPU past RCU's stall timeout on a kernel that preempts
		 * only where asked (Debian's default, voluntary).
		 */
		cond_resched();
	}
	kvfree(p->chunks);
	p->chunks = NULL;
	p->nchunks = 0;
}

/*
 * Obtain @bytes in chunks of @order pages, stepping the order down whenever
 * the backend is short of chunks that large (-ENOMEM), but never below
 * @floor (the smallest segment a pool may have: PVB_MIN_SEG_SIZE).  Chunks
 * already had at a larger order are kept (the pool is cut into segments of
 * the smallest order used).  A shortage at @floor, or any other error, ends
 * the search with what was had so far.  Returns the smallest order used
 * (the pool's segment order) or a negative errno if nothing was had.
 */
static int get_chunks(struct pvb_pool *p, size_t bytes, unsigned int order,
		      unsigned int floor)
{
	unsigned int cap = 0, min_order = order;
	size_t got = 0;
	int ret = 0;	/* nothing asked (bytes == 0): nothing had, -ENOMEM */

	while (got < bytes) {
		struct pvb_chunk c;

		if (p->nchunks == cap) {
			ret = grow_chunks(p, &cap);
			if (ret)
				break;
		}
		ret = pvb_chunk_alloc(p->be, order, p->mask,
				      GFP_KERNEL | __GFP_NOWARN, &c);
		if (ret) {
			/* Only a shortage is worth a smaller order. */
			if (ret != -ENOMEM)
				break;
			if (order <= floor) {
				if (p->nchunks)
					pr_warn("pool %s: no more %lu KiB chunks below %#llx (%d) after %zu KiB; %lu KiB is the smallest segment\n",
						p->name, (PAGE_SIZE << order) >> 10,
						p->mask, ret, got >> 10,
						PVB_MIN_SEG_SIZE >> 10);
				break;
			}
			order--;
			pr_warn("pool %s: no %lu KiB chunk below %#llx (%d) after %zu KiB; trying %lu KiB (keeping the %u chunks had)\n",
				p->name, (PAGE_SIZE << (order + 1)) >> 10,
				p->mask, ret, got >> 10,
				(PAGE_SIZE << order) >> 10, p->nchunks);
			continue;
		}
		p->chunks[p->nchunks++] = c;
		min_order = min(min_order, order);
		got += PAGE_SIZE << order;
	}
	if (!p->nchunks)
		return ret ? ret : -ENOMEM;
	return min_order;
}

/*
 * The slot allocator over @nsegs segments: a fixed one, or for a pool that
 * may grow to @max_bytes one sized for that (falling back to a fixed one,
 * with a message, if the lookup table below the mask would be too large).
 */
static int pool_slots_init(struct pvb_pool *p, const struct pvb_seg *segs,
			   unsigned int nsegs, size_t max_bytes)
{
	/* Growth needs a direct table of at most 2^20 entries over [0, hi]. */
	u64 hi = min_t(u64, p->mask, ((u64)p->seg_size << 20) - 1);
	int ret;

	if (max_bytes > (size_t)nsegs * p->seg_size) {
		ret = pvb_slots_init_growable(&p->slots, segs, nsegs,
					      p->seg_size, num_possible_cpus(),
					      DIV_ROUND_UP(max_bytes, p->seg_size),
					      hi);
		if (ret != -E2BIG)
			return ret;
		pr_warn("pool %s: cannot grow: a chunk lies above %#llx, the top of the range growth can track; fixed size\n",
			p->name, hi);
	}
	return pvb_slots_init(&p->slots, segs, nsegs, p->seg_size,
			      num_possible_cpus());
}

/**
 * pvb_pool_create() - make a bounce pool.
 * @p: pool to fill in (zeroed by the caller or not; all fields are set).
 * @name: PVB_COMMON_POOL or the owning device's name, for messages.
 * @be: backend giving bus-contiguous chunks.
 * @bytes: size wanted; the size obtained may be smaller and is logged.
 *	A pool that can grow grows towards it later.
 * @max_bytes: size the pool may grow to under load (0, or not above what
 *	was obtained: fixed size).  Its metadata is allocated now.
 * @seg_size: wanted segment (largest mapping) size, a power of two.
 * @mask: every bus byte of the pool must be at or below it.
 *
 * Return: 0, or a negative errno with a logged reason.
 */
int pvb_pool_create(struct pvb_pool *p, const char *name,
		    const struct pvb_backend *be, size_t bytes, size_t max_bytes,
		    size_t seg_size, u64 mask)
{
	unsigned int i, j, nsegs = 0, per, floor;
	struct pvb_seg *segs;
	int order, ret;

	memset(p, 0, sizeof(*p));
	if (bytes > PVB_POOL_MAX_BYTES) {
		pr_err("pool %s: %zu MiB asked, more than a pool may be (%llu MiB); no pool\n",
		       name, bytes >> 20, PVB_POOL_MAX_BYTES >> 20);
		return -EINVAL;
	}
	/* Growth (4x a private pool's size) stops at the largest pool too. */
	max_bytes = min_t(u64, max_bytes, PVB_POOL_MAX_BYTES);
	strscpy(p->name, name, sizeof(p->name));
	p->be = be;
	p->mask = mask;
	p->target = bytes;
	mutex_init(&p->resize_lock);

	floor = get_order(min_t(size_t, seg_size, PVB_MIN_SEG_SIZE));
	order = get_chunks(p, bytes, get_order(seg_size), floor);
	if (order < 0) {
		pr_err("pool %s: could not get a single %lu KiB chunk below %#llx from the %s backend (%d); no pool\n",
		       name, PAGE_SIZE << floor >> 10, mask, be->name, order);
		ret = order;
		goto err_chunks;
	}
	p->seg_size = PAGE_SIZE << order;
	if (p->seg_size < seg_size)
		pr_warn("pool %s: largest mapping reduced to %zu KiB (max_mapping_kb asked %zu)\n",
			name, p->seg_size >> 10, seg_size >> 10);

	for (i = 0; i < p->nchunks; i++)
		nsegs += 1U << (p->chunks[i].order - order);
	segs = kvcalloc(nsegs, sizeof(*segs), GFP_KERNEL);
	if (!segs) {
		pr_err("pool %s: no memory for its table of %u segments\n",
		       name, nsegs);
		ret = -ENOMEM;
		goto err_chunks;
	}
	for (i = 0, nsegs = 0; i < p->nchunks; i++) {
		struct pvb_chunk *c = &p->chunks[i];

		p->bus_top = max_t(dma_addr_t, p->bus_top,
				   c->bus + (PAGE_SIZE << c->order) - 1);
		per = 1U << (c->order - order);
		for (j = 0; j < per; j++, nsegs++) {
			segs[nsegs].bus = c->bus + (dma_addr_t)j * p->seg_size;
			segs[nsegs].cpu = page_address(c->page) + j * p->seg_size;
		}
	}
	ret = pool_slots_init(p, segs, nsegs, max_bytes);
	kvfree(segs);
	if (ret) {
		pr_err("pool %s: slot allocator setup failed (%d)\n", name, ret);
		goto err_chunks;
	}
	/* DMA_NONE at every slot but live mappings' (see pool_grow.c). */
	p->dir = kvmalloc(p->slots.max_slabs, GFP_KERNEL);
	if (!p->dir) {
		pr_err("pool %s: no memory for its table of %u slot directions\n",
		       name, p->slots.max_slabs);
		ret = -ENOMEM;
		goto err_slots;
	}
	memset(p->dir, DMA_NONE, p->slots.max_slabs);
	if (p->slots.growable) {
		/* Chunks may come from anywhere below the tracked range. */
		p->bus_top = p->slots.bus_span;
		ret = pvb_pool_grow_init(p, max_bytes);
		if (ret) {
			pr_err("pool %s: growth could not be set up (%d)\n",
			       name, ret);
			goto err_dir;
		}
	}
	pr_info("pool %s: %zu KiB in %u chunks, %zu KiB segments, below %#llx, %s backend%s%s\n",
		name, pvb_pool_bytes(p) >> 10, p->nchunks, p->seg_size >> 10,
		mask, be->name,
		pvb_pool_bytes(p) < bytes ? " (less than asked" : "",
		pvb_pool_bytes(p) >= bytes ? "" : p->grow ?
		": growing towards it in the background)" : ")");
	if (p->grow)
		pr_info("pool %s: may grow to %zu KiB under load (pool_max_mb)\n",
			name, (size_t)pvb_pool_max_slabs(p) << PVB_SLOT_SHIFT >> 10);
	pvb_pool_grow_start(p);
	return 0;

err_dir:
	kvfree(p->dir);
	p->dir = NULL;
err_slots:
	pvb_slots_destroy(&p->slots);
err_chunks:
	free_chunks(p);
	return ret;
}

/**
 * pvb_pool_destroy() - give a pool's memory back to the backend.
 * @p: pool made by pvb_pool_create(); its mappings should all be gone.
 *
 * A pool that still has slots in use (a driver went without unmapping, or
 * left coherent memory carved from it) is not given back: a device may still
 * write there.  Its memory stays allocated (leaked) and a line says so.
 */
void pvb_pool_destroy(struct pvb_pool *p)
{
	unsigned int used;
	size_t bytes;
	unsigned int i;

	pvb_pool_grow_exit(p);
	used = pvb_slots_used(&p->slots);
	bytes = pvb_pool_bytes(p);
	kvfree(p->dir);
	p->dir = NULL;
	pvb_slots_destroy(&p->slots);
	if (used) {
		pr_err("pool %s: %u slots still in use at teardown: its %zu KiB are leaked, not freed, since a device may still write them\n",
		       p->name, used, bytes >> 10);
		for (i = 0; i < p->nchunks; i++)
			p->chunks[i].page = NULL;
		p->nchunks = 0;
	}
	free_chunks(p);
}

/**
 * pvb_pool_owns() - is a bus address inside a pool?
 * @p: pool.
 * @bus: address.
 *
 * Return: true if @bus lies in one of @p's chunks.
 */
bool pvb_pool_owns(struct pvb_pool *p, dma_addr_t bus)
{
	return pvb_slots_owns(&p->slots, bus);
}

/*
 * The mapping holding @bus, in one lookup: without a lock (the caller owns
 * its mapping), or under the area lock when the pool is in poison (debug)
 * mode, where a misbehaving driver racing its own unmaps gets a consistent
 * answer.  @seg: pvb_pool_seg_of(@p, @bus).  -ERANGE when no chunk of the
 * pool holds @bus, else -ENOENT when no live mapping does.
 */
static int pool_find(struct pvb_pool *p, int seg, dma_addr_t bus,
		     struct pvb_mapping *m)
{
	if (seg < 0)
		return -ERANGE;
	if (unlikely(p->poison))
		return pvb_slots_find_seg(&p->slots, seg, bus, m);
	return pvb_slots_find_owned_seg(&p->slots, seg, bus, m);
}

static bool dir_to_device(enum dma_data_direction dir)
{
	return dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL;
}

static bool dir_from_device(enum dma_data_direction dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

/* The slot allocator's request for a buffer @b. */
static inline struct pvb_map_req map_req(const struct pvb_bounce *b)
{
	return (struct pvb_map_req) {
		.orig = b->orig,
		.size = b->size,
		.min_align_mask = b->min_align_mask,
		.align_mask = b->align_mask,
		.boundary_mask = b->boundary_mask,
		.owner = b->owner,
	};
}

/**
 * pvb_pool_map() - take slots for a buffer and fill them.
 * @p: pool.
 * @b: the buffer and the device's rules.
 * @bus: bus address of the bounce copy, on success.
 *
 * The bounce slots always receive the caller's data, whatever the direction:
 * a device that writes only part of a DMA_FROM_DEVICE buffer must leave the
 * rest as it was (CVE-2022-0854), and no earlier user's data may show.
 *
 * Return: 0, -E2BIG (can never fit), -ENOMEM (pool full now), -EINVAL.
 */
int pvb_pool_map(struct pvb_pool *p, const struct pvb_bounce *b,
		 dma_addr_t *bus)
{
	struct pvb_map_req req = map_req(b);
	struct pvb_mapping m;
	int ret;

	ret = pvb_slots_alloc(&p->slots, &req, raw_smp_processor_id(), &m);
	if (static_branch_unlikely(&pvb_grow_key))
		pvb_pool_grow_note(p, ret);
	if (ret)
		return ret;
	p->dir[m.index] = b->dir;
	memcpy(m.cpu, phys_to_virt(b->orig), b->size);
	if (unlikely(p->poison) && b->dir == DMA_FROM_DEVICE)
		memset(phys_to_virt(b->orig), PVB_POISON_BYTE, b->size);
	*bus = m.bus;
	return 0;
}

/**
 * pvb_pool_batch_begin() - start taking slots for many buffers at once.
 * @p: pool, not in poison mode.
 * @sb: the batch.
 *
 * This CPU's area is locked (interrupts off) until pvb_pool_batch_end():
 * in between only pvb_pool_batch_map().
 */
void pvb_pool_batch_begin(struct pvb_pool *p, struct pvb_slots_batch *sb)
	__acquires(&sb->area->lock)
{
	pvb_slots_batch_begin(&p->slots, raw_smp_processor_id(), sb);
}

/**
 * pvb_pool_batch_map() - take slots for one buffer of a batch.
 * @p: pool.
 * @sb: batch begun by pvb_pool_batch_begin().
 * @b: the buffer and the device's rules.
 * @bus: bus address of its bounce copy, on success.
 * @cpu: kernel address of the bounce copy, on success: the caller fills it
 *	with the buffer's data (pvb_pool_map()'s copy) after the batch ends.
 *
 * Return: 0; -EAGAIN when the area has no room for it (end the batch and
 * map it with pvb_pool_map()); -EINVAL or -E2BIG as pvb_pool_map().
 */
int pvb_pool_batch_map(struct pvb_pool *p, struct pvb_slots_batch *sb,
		       const struct pvb_bounce *b, dma_addr_t *bus, void **cpu)
	__must_hold(&sb->area->lock)
{
	struct pvb_map_req req = map_req(b);
	struct pvb_mapping m;
	int ret;

	ret = pvb_slots_batch_alloc(&p->slots, sb, &req, &m);
	if (ret)
		return ret;
	p->dir[m.index] = b->dir;
	*bus = m.bus;
	*cpu = m.cpu;
	return 0;
}

/**
 * pvb_pool_batch_end() - end a batch begun by pvb_pool_batch_begin().
 * @p: pool.
 * @sb: the batch.
 * @taken: buffers it mapped (for the growth work's word).
 */
void pvb_pool_batch_end(struct pvb_pool *p, struct pvb_slots_batch *sb,
			unsigned int taken)
	__releases(&sb->area->lock)
{
	pvb_slots_batch_end(&p->slots, sb);
	if (taken && static_branch_unlikely(&pvb_grow_key))
		pvb_pool_grow_note(p, 0);
}

/*
 * Poison mode: did the CPU write [off, off + len) of @m's buffer while the
 * device owned it?  A DMA_TO_DEVICE buffer must still equal its bounce copy
 * (made at map or by the last sync_for_device).  A DMA_FROM_DEVICE buffer
 * was filled with PVB_POISON_BYTE at map (and sync_for_device); each byte
 * must still be the pattern, or the bounce copy's byte where sync_for_cpu
 * brought it back.  Bidirectional buffers are not checked.
 */
static unsigned int cpu_wrote(const struct pvb_mapping *m,
			      enum dma_data_direction dir, size_t off,
			      size_t len)
{
	const u8 *orig = phys_to_virt(m->orig + off), *copy = m->cpu + off;
	size_t i;

	if (dir == DMA_TO_DEVICE)
		return memcmp(orig, copy, len) ? PVB_MISUSE_CPU_WROTE_TO : 0;
	if (dir != DMA_FROM_DEVICE)
		return 0;
	for (i = 0; i < len; i++)
		if (orig[i] != PVB_POISON_BYTE && orig[i] != copy[i])
			return PVB_MISUSE_CPU_WROTE_FROM;
	return 0;
}

/* Clamp [bus, bus + *size) to the mapping @m; report what was cut. */
static unsigned int clamp_to(const struct pvb_mapping *m, dma_addr_t bus,
			     size_t *size)
{
	size_t off = bus - m->bus;

	if (off + *size > m->size) {
		*size = m->size - off;
		return PVB_MISUSE_CLAMPED;
	}
	return 0;
}

/**
 * pvb_pool_unmap() - copy back (if asked) and release a bounced mapping.
 * @p: pool.
 * @bus: address pvb_pool_map() gave.
 * @size: size the caller unmaps; a larger one is clamped.
 * @dir: direction the caller unmaps with.
 * @copy: copy the device's data back (false for DMA_ATTR_SKIP_CPU_SYNC).
 * @owner: the device unmapping (&struct pvb_bounce's @owner): a mapping of
 *	another owner at @bus is unknown to it; the slots given back are
 *	handed out next to it only (see pvb_slots_alloc()).
 *
 * PVB_MISUSE_UNKNOWN and PVB_MISUSE_NOT_START mean nothing was given back
 * (nor copied, for UNKNOWN): the caller keeps the mapping's reference.
 * UNKNOWN also when the free itself fails, as when two CPUs unmap the
 * same address at once: only one of them gives the mapping back.
 *
 * Return: PVB_MISUSE_* flags for what was wrong (0 if nothing), or
 * PVB_POOL_NOT_OURS alone when no chunk of @p holds @bus (nothing done).
 */
unsigned int pvb_pool_unmap(struct pvb_pool *p, dma_addr_t bus, size_t size,
			    enum dma_data_direction dir, bool copy, u64 owner)
{
	return pvb_pool_unmap_seg(p, pvb_pool_seg_of(p, bus), bus, size, dir,
				  copy, owner);
}

/**
 * pvb_pool_unmap_seg() - pvb_pool_unmap() with the lookup already made.
 * @p: pool.
 * @seg: pvb_pool_seg_of(@p, @bus).
 * @bus: address pvb_pool_map() gave.
 * @size: size the caller unmaps.
 * @dir: direction the caller unmaps with.
 * @copy: copy the device's data back.
 * @owner: the device unmapping.
 *
 * Return: as pvb_pool_unmap().
 */
unsigned int pvb_pool_unmap_seg(struct pvb_pool *p, int seg, dma_addr_t bus,
				size_t size, enum dma_data_direction dir,
				bool copy, u64 owner)
{
	struct pvb_mapping m;
	unsigned int misuse = 0;
	int ret = pool_find(p, seg, bus, &m);

	if (ret == -ERANGE)
		return PVB_POOL_NOT_OURS;
	if (ret || m.owner != owner || p->dir[m.index] == DMA_NONE)
		return PVB_MISUSE_UNKNOWN;
	if (m.bus != bus)
		return PVB_MISUSE_NOT_START;
	if (size != m.size)
		misuse |= PVB_MISUSE_SIZE;
	if (dir != p->dir[m.index])
		misuse |= PVB_MISUSE_DIR;
	misuse |= clamp_to(&m, bus, &size);
	if (p->poison)
		misuse |= cpu_wrote(&m, p->dir[m.index], 0, size);
	if (copy && dir_from_device(p->dir[m.index]))
		memcpy(phys_to_virt(m.orig), m.cpu, size);
	if (p->poison)
		memset(m.cpu, PVB_POISON_BYTE, m.size);
	if (pvb_slots_free_mapping(&p->slots, &m))
		return misuse | PVB_MISUSE_UNKNOWN;
	return misuse;
}

/**
 * pvb_pool_undo() - release a bounced mapping whose map is being undone.
 * @p: pool; @bus must lie in it.
 * @bus: address pvb_pool_map() gave a moment ago, for a map the caller could
 *	not complete (map_sg's later part refused, a bounce beyond the mask).
 *
 * Nothing is copied back and nothing is checked: the device never had the
 * mapping.  A poisoned DMA_FROM_DEVICE buffer gets its data back from the
 * bounce copy, as if never mapped.  The slots do not become the next ones
 * handed out (pvb_slots_undo_mapping()), so a retry places its parts anew.
 */
void pvb_pool_undo(struct pvb_pool *p, dma_addr_t bus)
{
	struct pvb_mapping m;

	if (WARN_ON_ONCE(pool_find(p, pvb_pool_seg_of(p, bus), bus, &m) ||
			 m.bus != bus))
		return;
	if (p->poison) {
		if (p->dir[m.index] == DMA_FROM_DEVICE)
			memcpy(phys_to_virt(m.orig), m.cpu, m.size);
		memset(m.cpu, PVB_POISON_BYTE, m.size);
	}
	pvb_slots_undo_mapping(&p->slots, &m);
}

/*
 * Poison mode, a sync of [off, off + len) of @m: sync_for_cpu ends the
 * device's ownership, so check the CPU left the buffer alone until now;
 * sync_for_device of a DMA_FROM_DEVICE buffer gives the range back to the
 * device, so poison it again (a CPU read before the next sync_for_cpu or
 * unmap sees the pattern; the bounce copy keeps the data).
 */
static unsigned int poison_sync(struct pvb_pool *p, const struct pvb_mapping *m,
				size_t off, size_t len, bool for_cpu)
{
	enum dma_data_direction mdir = p->dir[m->index];

	if (for_cpu)
		return cpu_wrote(m, mdir, off, len);
	if (mdir == DMA_FROM_DEVICE)
		memset(phys_to_virt(m->orig + off), PVB_POISON_BYTE, len);
	return 0;
}

/**
 * pvb_pool_sync() - copy part of a bounced mapping one way.
 * @p: pool.
 * @bus: any address inside a live mapping.
 * @size: bytes from @bus; clamped to the mapping's end.
 * @dir: direction of the sync call.
 * @for_cpu: true for sync_for_cpu (device to memory), false for device.
 * @owner: the device syncing (&struct pvb_bounce's @owner): a mapping of
 *	another owner at @bus is unknown to it, and nothing is copied.
 * @copied: bytes copied.
 *
 * Only the requested range moves.  A sync for the device of a
 * DMA_FROM_DEVICE mapping copies nothing: the device may still be writing
 * the rest of it (ath9k relies on this).  A sync of memory from
 * pvb_pool_alloc_coherent() moves nothing and is no misuse.
 *
 * Return: PVB_MISUSE_* flags, or PVB_POOL_NOT_OURS alone when no chunk of
 * @p holds @bus (nothing done).
 */
unsigned int pvb_pool_sync(struct pvb_pool *p, dma_addr_t bus, size_t size,
			   enum dma_data_direction dir, bool for_cpu,
			   u64 owner, size_t *copied)
{
	return pvb_pool_sync_seg(p, pvb_pool_seg_of(p, bus), bus, size, dir,
				 for_cpu, owner, copied);
}

/**
 * pvb_pool_sync_seg() - pvb_pool_sync() with the lookup already made.
 * @p: pool.
 * @seg: pvb_pool_seg_of(@p, @bus).
 * @bus: any address inside a live mapping.
 * @size: bytes from @bus.
 * @dir: direction of the sync call.
 * @for_cpu: sync_for_cpu (true) or sync_for_device.
 * @owner: the device syncing.
 * @copied: bytes copied.
 *
 * Return: as pvb_pool_sync().
 */
unsigned int pvb_pool_sync_seg(struct pvb_pool *p, int seg, dma_addr_t bus,
			       size_t size, enum dma_data_direction dir,
			       bool for_cpu, u64 owner, size_t *copied)
{
	struct pvb_mapping m;
	unsigned int misuse;
	size_t off;
	int ret;

	*copied = 0;
	ret = pool_find(p, seg, bus, &m);
	if (ret == -ERANGE)
		return PVB_POOL_NOT_OURS;
	if (ret)
		return PVB_MISUSE_UNKNOWN;
	/*
	 * Memory carved out by pvb_pool_alloc_coherent() (dma_alloc_pages()
	 * may get it) is the device's own: no bounce copy, nothing to sync.
	 */
	if (p->dir[m.index] == DMA_NONE)
		return 0;
	if (m.owner != owner)
		return PVB_MISUSE_UNKNOWN;
	misuse = clamp_to(&m, bus, &size);
	if (dir != p->dir[m.index])
		misuse |= PVB_MISUSE_DIR;
	off = bus - m.bus;
	if (unlikely(p->poison))
		misuse |= poison_sync(p, &m, off, size, for_cpu);
	if (for_cpu && dir_from_device(dir)) {
		memcpy(phys_to_virt(m.orig + off), m.cpu + off, size);
		*copied = size;
	} else if (!for_cpu && dir_to_device(dir)) {
		memcpy(m.cpu + off, phys_to_virt(m.orig + off), size);
		*copied = size;
	}
	return misuse;
}

/**
 * pvb_pool_alloc_coherent() - carve coherent memory out of a pool.
 * @p: pool.
 * @size: bytes; rounded up to whole pages.
 * @bus: bus address of the memory, on success.
 *
 * The fallback when the backend cannot make a chunk at once (an atomic
 * caller below a tight address limit): the pool already lies below the
 * limit and is bus-contiguous inside a segment.  The memory is zeroed,
 * page aligned and naturally aligned to its size in bus address.
 *
 * Return: kernel address, or NULL if no fitting run is free (or @size is
 * larger than a segment).
 */
void *pvb_pool_alloc_coherent(struct pvb_pool *p, size_t size,
			      dma_addr_t *bus)
{
	struct pvb_map_req req = {
		.size = PAGE_ALIGN(size),
		.align_mask = (PAGE_SIZE << get_order(size)) - 1,
	};
	struct pvb_mapping m;

	if (!size || pvb_slots_alloc(&p->slots, &req, raw_smp_processor_id(),
				     &m))
		return NULL;
	p->dir[m.index] = DMA_NONE;
	memset(m.cpu, 0, req.size);
	*bus = m.bus;
	return m.cpu;
}

/**
 * pvb_pool_free_coherent() - give back memory from pvb_pool_alloc_coherent().
 * @p: pool.
 * @bus: the bus address it returned.
 *
 * Return: 0, or -ENOENT if @bus is not such an allocation (nothing freed).
 */
int pvb_pool_free_coherent(struct pvb_pool *p, dma_addr_t bus)
{
	struct pvb_mapping m;

	if (pvb_slots_find(&p->slots, bus, &m) || m.bus != bus ||
	    p->dir[m.index] != DMA_NONE)
		return -ENOENT;
	if (p->poison)
		memset(m.cpu, PVB_POISON_BYTE, m.size);
	return pvb_slots_free_mapping(&p->slots, &m);
}
