// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce's dma_map_ops.  Each attached device has its own copy of the ops
 * table inside its struct pvb_device, so every op finds its device's pool
 * and counters with container_of() and no lookup or lock.
 *
 * Streaming mappings go direct when the backend says the buffer is
 * bus-contiguous and reachable by the device (and force is off), else they
 * bounce through the device's pool.  Coherent memory and dma_alloc_pages()
 * come straight from the backend: bus-contiguous, naturally aligned to
 * their size, below the coherent mask and 2^address_bits.
 *
 * Each bounced mapping and each coherent allocation holds a reference of its
 * device (src/device_ref.c) until it is given back, so that a device whose
 * driver left some out keeps these ops and its pool until the last is back.
 * Every op finds its device under rcu_read_lock(), or under
 * preempt_disable() where it cannot sleep and copies little (dev_rcu(),
 * short_copy()), and all but the coherent allocation (which takes its
 * reference there and may sleep after) run under it: a device's teardown
 * swaps its ops back and waits for a grace period before it frees anything,
 * so an op that found our ops (a direct unmap holds no reference) is done by
 * then, and one that comes after the swap finds the ops are no longer ours
 * and leaves the state alone.
 * The table itself (and the module text) outlive a caller that read
 * dev->dma_ops before the swap and reaches the op after it, and the ops that
 * may sleep (the coherent allocation, mmap, get_sgtable) run inside the SRCU
 * domain pvb_sleepers, which a forced teardown and module exit wait for:
 * see "The ops table" in src/device_ref.c.
 */
#include <linux/delay.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/stacktrace.h>
#include <asm/processor.h>
#include <pvbounce/device.h>
#include <pvbounce/device_ref.h>
#include <pvbounce/log.h>
#include <pvbounce/pvbounce.h>
#include <pvbounce/trace.h>

/**
 * struct pvb_coherent - a live coherent or dma_alloc_pages() allocation.
 * @node: on pvb_device.coh_list.
 * @chunk: the backend chunk holding it, or (@from_pool) its first page,
 *	order and bus address inside the device's pool.
 * @from_pool: carved out of the bounce pool (backend had no chunk at once).
 * @plain: Xen: pages that were contiguous as allocated, no exchange made.
 * @orphan: made by a driver since unbound (counted in pd->coh_orphans).
 */
struct pvb_coherent {
	struct list_head node;
	struct pvb_chunk chunk;
	bool from_pool;
	bool plain;
	bool orphan;
};

/* The most a bounced op copies with preemption off: see short_copy(). */
#define PVB_FAST_COPY	4096

/* Counters: this CPU's copy, one instruction each, nothing shared written. */
#define stat_add(pd, field, v)	this_cpu_add((pd)->stats->field, (v))
#define stat_inc(pd, field)	this_cpu_inc((pd)->stats->field)

/*
 * May a bounced map, unmap or sync of @size bytes run with preemption off,
 * the direct path's RCU read side (map_fast()), rather than under
 * rcu_read_lock(), two calls with PREEMPT_RCU?  When it copies at most
 * PVB_FAST_COPY bytes, which take well under a microsecond.  Not in poison
 * mode (an unmap fills its whole mapping, up to max_mapping_kb), nor on
 * PREEMPT_RT, whose spinlocks (the slot areas') sleep.  A refused map then
 * searches every area with preemption off, as a map in softirq does.
 */
static __always_inline bool short_copy(size_t size)
{
	return !IS_ENABLED(CONFIG_PREEMPT_RT) && size <= PVB_FAST_COPY &&
	       !pvb_cfg.poison;
}

static __always_inline void stat_max(struct pvb_dev_stats __percpu *st, u64 v)
{
	u64 old = this_cpu_read(st->largest_request);

	while (unlikely(old < v)) {
		u64 seen = this_cpu_cmpxchg(st->largest_request, old, v);

		if (seen == old)
			break;
		old = seen;
	}
}

static bool to_device(enum dma_data_direction dir)
{
	return dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL;
}

static bool from_device(enum dma_data_direction dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

/* The widest bus address a streaming mapping of @dev may use. */
static u64 stream_limit(struct device *dev)
{
	u64 mask = dev->dma_mask ? *dev->dma_mask : DMA_BIT_MASK(32);

	return min_not_zero(mask, dev->bus_dma_limit);
}

/*
 * The driver behind a misuse: the first two return addresses outside
 * pvbounce are the DMA API's entry (dma_unmap_page_attrs(), ...) and its
 * caller.  Only on the report path.
 */
static void misuse_caller(unsigned long *api, unsigned long *caller)
{
	unsigned long entries[16];
	unsigned int n, i;

	*api = 0;
	*caller = 0;
	n = stack_trace_save(entries, ARRAY_SIZE(entries), 0);
	for (i = 0; i < n; i++) {
		if (within_module(entries[i], THIS_MODULE))
			continue;
		if (!*api) {
			*api = entries[i];
			continue;
		}
		*caller = entries[i];
		return;
	}
}

static noinline void report_misuse_slow(struct pvb_device *pd,
					unsigned int misuse, const char *op,
					dma_addr_t bus, size_t size)
{
	unsigned long api, caller;

	stat_inc(pd, misuse);
	/* Clamping and unknown addresses are always worth a line. */
	if (!pvb_cfg.poison &&
	    !(misuse & (PVB_MISUSE_CLAMPED | PVB_MISUSE_UNKNOWN |
			PVB_MISUSE_NOT_START)))
		return;
	misuse_caller(&api, &caller);
	pvb_dev_err_ratelimited(pd->pdev,
				"DMA-API misuse: %s of %zu bytes at %pad by %pS (via %pS):%s%s%s%s%s%s%s\n",
				op, size, &bus, (void *)caller, (void *)api,
				misuse & PVB_MISUSE_UNKNOWN ? " not in any live mapping" : "",
				misuse & PVB_MISUSE_NOT_START ? " not the start of its mapping" : "",
				misuse & PVB_MISUSE_SIZE ? " size differs from the map" : "",
				misuse & PVB_MISUSE_DIR ? " direction differs from the map" : "",
				misuse & PVB_MISUSE_CLAMPED ? " runs past the mapping (clamped)" : "",
				misuse & PVB_MISUSE_CPU_WROTE_TO ? " the CPU changed a DMA_TO_DEVICE buffer after map without sync_for_device (the device saw older data)" : "",
				misuse & PVB_MISUSE_CPU_WROTE_FROM ? " the CPU wrote a DMA_FROM_DEVICE buffer the device owned (before sync_for_cpu or unmap; the write is lost)" : "");
}

/* Count and report what an unmap or sync found wrong (@misuse), if anything. */
static __always_inline void report_misuse(struct pvb_device *pd,
					  unsigned int misuse, const char *op,
					  dma_addr_t bus, size_t size)
{
	if (unlikely(misuse))
		report_misuse_slow(pd, misuse, op, bus, size);
}

static void syncs_on(struct pvb_device *pd, struct device *dev);

/*
 * The bounced half of map_phys().  @quiet: a refusal for want of room is
 * counted but not logged, as map_sg tries that part again.  (A driver's
 * DMA_ATTR_NO_WARN does not silence it: nvme passes it for every
 * scatter-gather list, and a refusal must name its reason.)
 */
static __always_inline dma_addr_t bounce(struct pvb_device *pd,
					 struct device *dev, phys_addr_t phys,
					 size_t size, enum dma_data_direction dir,
					 bool quiet, u64 limit, int *err)
{
	struct pvb_pool *pool = pd->pool;
	struct pvb_bounce b = {
		.orig = phys,
		.size = size,
		.dir = dir,
		.min_align_mask = dma_get_min_align_mask(dev),
		.boundary_mask = dma_get_seg_boundary(dev),
		.owner = pd->owner,
	};
	dma_addr_t bus;
	int ret;

	/* The mapping's reference; refused once the device is torn down. */
	if (unlikely(!pvb_dev_get(pd))) {
		pvb_dev_err_ratelimited(pd->pdev,
					"map of %zu bytes refused: the device is being detached\n",
					size);
		ret = -EIO;
		goto err_noref;
	}
	ret = pvb_pool_map(pool, &b, &bus);
	if (unlikely(ret && !size)) {
		pvb_dev_err_ratelimited(pd->pdev,
					"map of 0 bytes at %pa refused: a mapping needs at least one byte (a driver bug)\n",
					&phys);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_ZERO);
		ret = -EINVAL;
		goto err;
	}
	if (ret == -E2BIG || ret == -EINVAL) {
		stat_inc(pd, errors_too_large);
		pvb_dev_err_ratelimited(pd->pdev,
					"map of %zu bytes refused: can never fit a %zu KiB segment (largest bounced mapping %zu bytes with min_align_mask %#llx, boundary mask %#llx); raise max_mapping_kb\n",
					size, pool->seg_size >> 10,
					pvb_slots_max_mapping(&pool->slots, b.min_align_mask),
					b.min_align_mask, b.boundary_mask);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_TOO_LARGE);
		goto err;
	}
	if (ret) {
		stat_inc(pd, errors_pool_full);
		if (!quiet)
			pvb_dev_err_ratelimited(pd->pdev,
						"map of %zu bytes refused: pool %s full (%u of %u slots used)%s\n",
						size, pool->name,
						pvb_slots_used(&pool->slots),
						pool->slots.nslabs,
						pvb_pool_growing(pool) ? ", growing (pool_max_mb)" :
						"; raise pool_mb or give the device a private pool (devices=...@size)");
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_POOL_FULL);
		goto err;
	}
	if (bus + size - 1 > limit) {
		pvb_pool_undo(pool, bus);
		stat_inc(pd, errors_mask);
		pvb_dev_err_ratelimited(pd->pdev,
					"map of %zu bytes refused: bounce address %pad is beyond the device's DMA mask %#llx; lower address_bits\n",
					size, &bus, limit);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_MASK);
		ret = -EIO;
		goto err;
	}
	syncs_on(pd, dev);
	pvb_dev_mapped(pd);
	stat_inc(pd, bounced_maps);
	if (to_device(dir))
		stat_add(pd, bytes_to_device, size);
	trace_pvbounce_map(pd->pdev, phys, bus, size, dir, true);
	return bus;

err:
	pvb_dev_put(pd);	/* not the last: the caller's ops are ours */
err_noref:
	stat_inc(pd, map_errors);
	if (err)
		*err = ret == -ENOMEM ? -ENOMEM : -EIO;
	return DMA_MAPPING_ERROR;
}

/*
 * bounce() out of line, for map_sg: a part that goes direct then builds no
 * request on the stack (and needs no stack canary).
 */
static noinline dma_addr_t map_bounced(struct pvb_device *pd,
				       struct device *dev, phys_addr_t phys,
				       size_t size, enum dma_data_direction dir,
				       bool quiet, u64 limit, int *err)
{
	return bounce(pd, dev, phys, size, dir, quiet, limit, err);
}

/*
 * DMA_ATTR_REQUIRE_COHERENT (RDMA, HMM) forbids bouncing: the caller shares
 * the memory with the device as it is.  A buffer the device cannot reach
 * directly is refused, under force too.  Out of line like map_bounced().
 */
static noinline dma_addr_t refuse_coherent(struct pvb_device *pd,
					   phys_addr_t phys, size_t size,
					   u64 limit, int *err)
{
	pvb_dev_err_ratelimited(pd->pdev,
				"map of %zu bytes at %pa refused: the caller requires it unbounced (DMA_ATTR_REQUIRE_COHERENT) and the device cannot reach it directly (not bus-contiguous below its DMA mask %#llx)\n",
				size, &phys, limit);
	trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_REQUIRE_COHERENT);
	stat_inc(pd, map_errors);
	if (err)
		*err = -EIO;
	return DMA_MAPPING_ERROR;
}

/*
 * pvb_native_range_ok() against stream_limit() as dma-direct's
 * dma_capable() reads it: the DMA API refuses a device without a dma_mask
 * before it calls any op (dma_map_page_attrs(), dma_map_sg_attrs(),
 * dma_map_phys()), and bus_dma_limit 0 means none.
 */
static __always_inline bool native_direct_ok(struct device *dev,
					     phys_addr_t phys, size_t size)
{
	u64 end = phys + size - 1, limit = dev->bus_dma_limit;

	return size && end >= phys && end <= *dev->dma_mask &&
	       (!limit || end <= limit);
}

/*
 * The direct half of map_phys(), inline in the op: true, with *@bus and the
 * map counted, when @phys goes to the device as it is (force off, or a
 * mapping that requires coherence, and the device reaches the buffer).
 * @xen: the xen backend (pvb_backend_xen_key), a constant where the caller
 * knows it: the native path then calls nothing.  @force_seen: the caller
 * found force off or the attribute set already.  The counters through one
 * per-CPU pointer, read once.
 */
static __always_inline bool map_direct(struct pvb_device *pd,
				       struct device *dev, phys_addr_t phys,
				       size_t size,
				       enum dma_data_direction dir,
				       unsigned long attrs, bool xen,
				       bool force_seen, dma_addr_t *bus)
{
	struct pvb_dev_stats __percpu *st = pd->stats;

	if (!force_seen && pvb_cfg.force &&
	    !(attrs & PVB_ATTR_REQUIRE_COHERENT))
		return false;
	if (xen ? !pvb_xen_direct_ok(phys, size, stream_limit(dev),
				     dma_get_seg_boundary(dev)) :
	    !native_direct_ok(dev, phys, size))
		return false;
	this_cpu_inc(st->maps);
	stat_max(st, size);
	this_cpu_inc(st->direct_maps);
	if (to_device(dir))
		this_cpu_add(st->bytes_to_device, size);
	*bus = xen ? pvb_xen_phys_to_bus(phys) : phys;
	trace_pvbounce_map(pd->pdev, phys, *bus, size, dir, false);
	return true;
}

/*
 * Map @size bytes at @phys for @dev.  On failure *@err (when not NULL) says
 * why, for callers that must return an errno (map_sg).  @quiet: see
 * bounce().  A mapping that requires coherence goes direct whenever the
 * device reaches it, force or not, and is never bounced.  @inline_bounce:
 * bounce() inline (map_slow()), not called (map_sg).
 */
static __always_inline dma_addr_t map_phys(struct pvb_device *pd,
					    struct device *dev,
					    phys_addr_t phys, size_t size,
					    enum dma_data_direction dir,
					    unsigned long attrs, bool quiet,
					    int *err, bool inline_bounce)
{
	u64 limit = stream_limit(dev);
	dma_addr_t bus;

	if (map_direct(pd, dev, phys, size, dir, attrs,
		       static_branch_unlikely(&pvb_backend_xen_key), false,
		       &bus))
		return bus;
	stat_inc(pd, maps);
	stat_max(pd->stats, size);
	if (attrs & PVB_ATTR_REQUIRE_COHERENT)
		return refuse_coherent(pd, phys, size, limit, err);
	if (inline_bounce)
		return bounce(pd, dev, phys, size, dir, quiet, limit, err);
	return map_bounced(pd, dev, phys, size, dir, quiet, limit, err);
}

/*
 * The device behind @dev's ops, inside an ops call, or NULL when they are no
 * longer ours: the DMA API read our ops, then the device's teardown put the
 * old ones back before this call got here (a direct mapping's late unmap,
 * which holds no reference).  Under rcu_read_lock(), or preempt_disable()
 * (the fast halves and short_copy()'s bounces: an RCU reader too, for which
 * the teardown's synchronize_rcu() waits as well): the state found stays
 * valid until the read side ends (the teardown waits for a grace period
 * after the swap before it frees anything).
 */
static struct pvb_device *dev_rcu(struct device *dev)
{
	const struct dma_map_ops *ops = get_dma_ops(dev);

	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(), "pvbounce op outside RCU");
	if (unlikely(!pvb_is_our_ops(ops)))
		return NULL;
	return container_of(ops, struct pvb_device, ops);
}

/*
 * @seg: pvb_pool_seg_of(pd->pool, @bus), the one lookup of the unmap
 * (negative: a direct mapping, nothing to undo).
 */
static __always_inline void unmap_bus(struct pvb_device *pd, int seg,
				      dma_addr_t bus, size_t size,
				      enum dma_data_direction dir,
				      unsigned long attrs)
{
	unsigned int misuse;

	stat_inc(pd, unmaps);
	if (from_device(dir))
		stat_add(pd, bytes_from_device, size);
	if (seg < 0)
		return;
	misuse = pvb_pool_unmap_seg(pd->pool, seg, bus, size, dir,
				    !(attrs & DMA_ATTR_SKIP_CPU_SYNC),
				    pd->owner);
	report_misuse(pd, misuse, "unmap", bus, size);
	/* Given back: its reference goes (not for an unknown address). */
	if (!(misuse & (PVB_MISUSE_UNKNOWN | PVB_MISUSE_NOT_START)))
		pvb_dev_unmapped(pd);
}

/* @seg: pvb_pool_seg_of(pd->pool, @bus), as for unmap_bus(). */
static __always_inline void sync_bus(struct pvb_device *pd, int seg,
				     dma_addr_t bus, size_t size,
				     enum dma_data_direction dir, bool for_cpu)
{
	unsigned int misuse;
	size_t copied;

	stat_inc(pd, syncs);
	if (seg < 0)
		return;
	misuse = pvb_pool_sync_seg(pd->pool, seg, bus, size, dir, for_cpu,
				   pd->owner, &copied);
	if (for_cpu)
		stat_add(pd, bytes_from_device, copied);
	else
		stat_add(pd, bytes_to_device, copied);
	report_misuse(pd, misuse, for_cpu ? "sync_for_cpu" : "sync_for_device",
		      bus, size);
}

/*
 * unmap_bus() for every part of a list, the counters and the references
 * of the mappings given back once for the list.
 */
static void unmap_sg(struct pvb_device *pd, struct scatterlist *sgl,
		     int nents, enum dma_data_direction dir,
		     unsigned long attrs)
{
	bool copy = !(attrs & DMA_ATTR_SKIP_CPU_SYNC);
	unsigned int misuse, freed = 0;
	struct scatterlist *sg;
	u64 bytes = 0;
	int i, seg;

	for_each_sg(sgl, sg, nents, i) {
		bytes += sg_dma_len(sg);
		seg = pvb_pool_seg_of(pd->pool, sg->dma_address);
		if (seg < 0)
			continue;
		misuse = pvb_pool_unmap_seg(pd->pool, seg, sg->dma_address,
					    sg_dma_len(sg), dir, copy,
					    pd->owner);
		report_misuse(pd, misuse, "unmap", sg->dma_address,
			      sg_dma_len(sg));
		/* Given back: its reference goes (not for an unknown address). */
		if (!(misuse & (PVB_MISUSE_UNKNOWN | PVB_MISUSE_NOT_START)))
			freed++;
	}
	stat_add(pd, unmaps, nents);
	if (from_device(dir))
		stat_add(pd, bytes_from_device, bytes);
	if (freed)
		pvb_dev_unmapped_many(pd, freed);
}

static void pvb_unmap_sg(struct device *dev, struct scatterlist *sgl,
			 int nents, enum dma_data_direction dir,
			 unsigned long attrs)
{
	struct pvb_device *pd;

	rcu_read_lock();
	pd = dev_rcu(dev);
	/* not ours any more: nothing was bounced (those hold references) */
	if (likely(pd))
		unmap_sg(pd, sgl, nents, dir, attrs);
	rcu_read_unlock();
}

/* Undo the first @nents mappings of a map_sg that could not be completed. */
static void undo_sg(struct pvb_device *pd, struct scatterlist *sgl, int nents)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		stat_inc(pd, unmaps);
		if (pvb_pool_owns(pd->pool, sg->dma_address)) {
			pvb_pool_undo(pd->pool, sg->dma_address);
			pvb_dev_unmapped(pd);
		}
	}
}

/*
 * map_phys() for a part of a list, out of line with bounce() called: a part
 * that goes direct then costs map_sg's loop one call.
 */
static noinline dma_addr_t map_part(struct pvb_device *pd, struct device *dev,
				    phys_addr_t phys, size_t size,
				    enum dma_data_direction dir,
				    unsigned long attrs, bool quiet, int *err)
{
	return map_phys(pd, dev, phys, size, dir, attrs, quiet, err, false);
}

static bool map_sg_one(struct pvb_device *pd, struct device *dev,
		       struct scatterlist *sg, enum dma_data_direction dir,
		       unsigned long attrs, bool quiet, int *err)
{
	sg->dma_address = map_part(pd, dev, sg_phys(sg), sg->length, dir,
				   attrs, quiet, err);
	if (sg->dma_address == DMA_MAPPING_ERROR)
		return false;
	sg_dma_len(sg) = sg->length;
	return true;
}

/*
 * map_sg's second try after part @r (@refused) found no room: that part
 * first, then the others in order.  The parts mapped before it each took
 * the first place they fit, which may have split the one free run that
 * would have held it.
 */
static int map_sg_refused_first(struct pvb_device *pd, struct device *dev,
				struct scatterlist *sgl, int nents,
				struct scatterlist *refused, int r,
				enum dma_data_direction dir,
				unsigned long attrs)
{
	struct scatterlist *sg;
	int i, err = -EIO;

	if (!map_sg_one(pd, dev, refused, dir, attrs, false, &err))
		return err;
	for_each_sg(sgl, sg, nents, i) {
		if (i != r && !map_sg_one(pd, dev, sg, dir, attrs, false, &err))
			goto err_undo;
	}
	return nents;

err_undo:
	/* parts 0..i-1, @refused among them if it came before part i */
	undo_sg(pd, sgl, i);
	if (r > i)
		undo_sg(pd, refused, 1);
	return err;
}

/* Parts of a list whose slots map_sg_batch() takes under one lock. */
#define SG_BATCH	16

/* Give back the first @n bounced parts of a list map_sg_batch() gave up. */
static void unbatch_sg(struct pvb_pool *pool, struct scatterlist *sgl, int n)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, n, i)
		pvb_pool_undo(pool, sg->dma_address);
}

/*
 * map_sg under force (every part bounces), the common case: the slots of
 * up to SG_BATCH parts taken in this CPU's area under one lock, their
 * copies made after it, one reference taken and the counters written
 * once for the list.  Anything else (a part the area has no room for, one
 * refused, a bounce beyond the mask, poison mode, the device going): what
 * it took is given back, nothing counted or logged, and it returns false;
 * map_sg() then maps the list part by part, which says why.
 */
static bool map_sg_batch(struct pvb_device *pd, struct device *dev,
			 struct scatterlist *sgl, int nents,
			 enum dma_data_direction dir)
{
	struct pvb_pool *pool = pd->pool;
	struct pvb_bounce b = {
		.dir = dir,
		.min_align_mask = dma_get_min_align_mask(dev),
		.boundary_mask = dma_get_seg_boundary(dev),
		.owner = pd->owner,
	};
	u64 limit = stream_limit(dev), bytes = 0;
	struct scatterlist *sg = sgl, *start;
	size_t largest = 0;
	void *cpu[SG_BATCH];
	int i = 0, k, j;

	if (unlikely(pool->poison) || unlikely(!pvb_dev_get(pd)))
		return false;
	while (i < nents) {
		struct pvb_slots_batch sb;
		bool ok = true;

		start = sg;
		pvb_pool_batch_begin(pool, &sb);
		for (k = 0; k < SG_BATCH && i < nents; k++, i++,
		     sg = sg_next(sg)) {
			b.orig = sg_phys(sg);
			b.size = sg->length;
			if (pvb_pool_batch_map(pool, &sb, &b, &sg->dma_address,
					       &cpu[k])) {
				ok = false;
				break;
			}
			sg_dma_len(sg) = sg->length;
			if (sg->dma_address + sg->length - 1 > limit) {
				ok = false;
				k++;
				i++;
				break;
			}
			bytes += sg->length;
			largest = max_t(size_t, largest, sg->length);
		}
		pvb_pool_batch_end(pool, &sb, k);
		if (!ok) {
			unbatch_sg(pool, sgl, i);
			pvb_dev_put(pd);
			return false;
		}
		for (j = 0; j < k; j++, start = sg_next(start))
			memcpy(cpu[j], phys_to_virt(sg_phys(start)),
			       start->length);
	}
	syncs_on(pd, dev);
	pvb_dev_get_more(pd, nents - 1);
	pvb_dev_mapped_many(pd, nents);
	stat_add(pd, maps, nents);
	stat_max(pd->stats, largest);
	stat_add(pd, bounced_maps, nents);
	if (to_device(dir))
		stat_add(pd, bytes_to_device, bytes);
	if (trace_pvbounce_map_enabled())
		for_each_sg(sgl, sg, nents, i)
			trace_pvbounce_map(pd->pdev, sg_phys(sg),
					   sg->dma_address, sg->length, dir,
					   true);
	return true;
}

static int map_sg(struct pvb_device *pd, struct device *dev,
		  struct scatterlist *sgl, int nents,
		  enum dma_data_direction dir, unsigned long attrs)
{
	struct scatterlist *sg;
	int i, err = -EIO;

	if (pvb_cfg.force && !(attrs & PVB_ATTR_REQUIRE_COHERENT) &&
	    likely(nents > 0) && map_sg_batch(pd, dev, sgl, nents, dir))
		return nents;

	/*
	 * A part after the first refused for room is tried again below:
	 * that refusal is not logged, the second try's is.
	 */
	for_each_sg(sgl, sg, nents, i) {
		if (!map_sg_one(pd, dev, sg, dir, attrs, i > 0, &err))
			goto err_undo;
	}
	return nents;

err_undo:
	undo_sg(pd, sgl, i);
	/* Pool full: once more, the part that did not fit placed first. */
	if (err == -ENOMEM && i > 0)
		return map_sg_refused_first(pd, dev, sgl, nents, sg, i, dir,
					    attrs);
	return err;
}

static int pvb_map_sg(struct device *dev, struct scatterlist *sgl, int nents,
		      enum dma_data_direction dir, unsigned long attrs)
{
	struct pvb_device *pd;
	int ret = -EIO;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (likely(pd))
		ret = map_sg(pd, dev, sgl, nents, dir, attrs);
	rcu_read_unlock();
	return ret;
}

/*
 * A sync of an address in chunk @seg of @fast's pool (NULL: no longer
 * ours), called with preemption off by sync_single(), which found them;
 * it turns preemption back on.  A copy short_copy() allows is made before
 * that, else it looks again under rcu_read_lock(): the device found is
 * @fast's (the lookup holds) unless it was detached and attached anew in
 * between.  Out of line, so that the direct case keeps its few registers.
 */
static noinline void sync_slow(struct device *dev, struct pvb_device *fast,
			       int seg, dma_addr_t bus, size_t size,
			       enum dma_data_direction dir, bool for_cpu)
{
	struct pvb_device *pd;

	if (likely(fast) && short_copy(size)) {
		sync_bus(fast, seg, bus, size, dir, for_cpu);
		preempt_enable();
		return;
	}
	preempt_enable();
	rcu_read_lock();
	pd = dev_rcu(dev);
	if (likely(pd))
		sync_bus(pd, pd == fast ? seg : pvb_pool_seg_of(pd->pool, bus),
			 bus, size, dir, for_cpu);
	rcu_read_unlock();
}

/*
 * A direct mapping's sync (an address in no chunk of the pool: the one
 * lookup) is counted here under preempt_disable(), as in map_fast(); the
 * rest goes to sync_slow() with the chunk found, preemption still off.
 */
static __always_inline void sync_single(struct device *dev, dma_addr_t bus,
					size_t size,
					enum dma_data_direction dir,
					bool for_cpu)
{
	struct pvb_device *pd;
	int seg = -1;

	preempt_disable();
	pd = dev_rcu(dev);
	if (likely(pd)) {
		seg = pvb_pool_seg_of(pd->pool, bus);
		if (seg < 0) {
			this_cpu_inc(pd->stats->syncs);
			preempt_enable();
			return;
		}
	}
	sync_slow(dev, pd, seg, bus, size, dir, for_cpu);
}

static void pvb_sync_single_for_cpu(struct device *dev, dma_addr_t bus,
				    size_t size, enum dma_data_direction dir)
{
	sync_single(dev, bus, size, dir, true);
}

static void pvb_sync_single_for_device(struct device *dev, dma_addr_t bus,
				       size_t size, enum dma_data_direction dir)
{
	sync_single(dev, bus, size, dir, false);
}

static void sync_sg(struct device *dev, struct scatterlist *sgl, int nents,
		    enum dma_data_direction dir, bool for_cpu)
{
	struct pvb_device *pd;
	struct scatterlist *sg;
	int i;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (likely(pd))
		for_each_sg(sgl, sg, nents, i)
			sync_bus(pd, pvb_pool_seg_of(pd->pool,
						     sg->dma_address),
				 sg->dma_address, sg_dma_len(sg), dir, for_cpu);
	rcu_read_unlock();
}

static void pvb_sync_sg_for_cpu(struct device *dev, struct scatterlist *sgl,
				int nents, enum dma_data_direction dir)
{
	sync_sg(dev, sgl, nents, dir, true);
}

static void pvb_sync_sg_for_device(struct device *dev, struct scatterlist *sgl,
				   int nents, enum dma_data_direction dir)
{
	sync_sg(dev, sgl, nents, dir, false);
}

static void ops_set_syncs(struct dma_map_ops *ops)
{
	WRITE_ONCE(ops->sync_single_for_cpu, pvb_sync_single_for_cpu);
	WRITE_ONCE(ops->sync_single_for_device, pvb_sync_single_for_device);
	WRITE_ONCE(ops->sync_sg_for_cpu, pvb_sync_sg_for_cpu);
	WRITE_ONCE(ops->sync_sg_for_device, pvb_sync_sg_for_device);
}

/*
 * Syncs where the kernel can skip them (PVB_LAZY_SYNC, compat.h): a device
 * whose mappings have all gone direct needs none, so its ops start without
 * sync ops, and dma_set_mask() then lets the DMA API skip every
 * dma_sync_*() of the device before it calls anything (as it does for
 * dma-direct): page_pool and NIC drivers sync each packet.  The first
 * bounced mapping installs them, and every bounced mapping clears the
 * device's skip flag if set before its address is returned (swiotlb's
 * dma_reset_need_sync() on each bounce): whoever syncs that mapping learnt
 * its address after this, through the driver's own ordering, and so sees
 * both.  dma_set_mask() finds sync ops from then on and keeps the flag
 * clear; one racing a map (which could set it again) is mended by the
 * next bounce, as with swiotlb.
 */
static void syncs_on(struct pvb_device *pd, struct device *dev)
{
	if (unlikely(!READ_ONCE(pd->ops.sync_sg_for_device))) {
		ops_set_syncs(&pd->ops);
		smp_wmb();	/* the ops before the flag that sends syncs to them */
	}
	/*
	 * Every bounce, not only the one that installed them: another CPU's
	 * first bounce may have installed the ops and not yet cleared the
	 * flag, or a dma_set_mask() racing a map have set it again.
	 */
	if (unlikely(pvb_dev_skip_sync(dev)))
		pvb_dev_reset_need_sync(dev);
}

/*
 * Coherent memory and dma_alloc_pages(): one backend chunk per allocation,
 * so it is bus-contiguous and naturally aligned to its (power of two) size.
 * When the backend cannot make one at once (atomic callers get a single
 * try), it comes out of the device's bounce pool, which already lies below
 * 2^address_bits; pool memory is only handed out to coherent masks that
 * reach the whole pool, and never with rebind=1: unload may hand a driver
 * that still holds the memory back to its old ops, whose free must get a
 * whole allocation of the buddy allocator, as a backend chunk is (dma-direct
 * and swiotlb-xen both free_pages() it at the order of its size).
 */
/*
 * Xen: pages that happen to be machine-contiguous, aligned to their size and
 * below @mask already are what a chunk would be; taking them as they are
 * skips an exchange (a hypercall and a TLB flush of every vCPU) at alloc and
 * at free, as swiotlb-xen does.  Not while fail/chunk_alloc is armed: a test
 * wants the next allocation to go to the backend.
 */
static bool xen_plain_pages(unsigned int order, u64 mask, gfp_t gfp,
			    struct pvb_chunk *c)
{
	size_t size = PAGE_SIZE << order;
	struct page *page;
	dma_addr_t bus;

	if (!static_branch_unlikely(&pvb_backend_xen_key) ||
	    READ_ONCE(pvb_fail_chunk_alloc))
		return false;
	/* Only a try: no reclaim effort for pages that may not fit. */
	page = alloc_pages(gfp | __GFP_ZERO | __GFP_NOWARN |
			   (order ? __GFP_NORETRY : 0), order);
	if (!page)
		return false;
	bus = pvb_be_phys_to_bus(page_to_phys(page));
	if (bus == DMA_MAPPING_ERROR || (bus & (size - 1)) ||
	    !pvb_be_range_ok(page_to_phys(page), size, mask)) {
		__free_pages(page, order);
		return false;
	}
	c->page = page;
	c->order = order;
	c->bus = bus;
	return true;
}

/*
 * The device behind @dev's ops with a reference for a new allocation, or
 * NULL once its teardown is under way.  Taken under RCU (dev_rcu()); the
 * reference keeps the state from then on, through the allocation's sleeps.
 */
static struct pvb_device *dev_get(struct device *dev)
{
	struct pvb_device *pd;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (pd && unlikely(!pvb_dev_get(pd)))
		pd = NULL;
	rcu_read_unlock();
	return pd;
}

/* debugfs fail/coherent_delay_ms: milliseconds, 0 off (tests only). */
u32 pvb_fail_coherent_delay_ms;

/*
 * A coherent allocation that found its device sleeps here, with its
 * reference, when a test asks (fail/coherent_delay_ms): a task asleep inside
 * the op while the module is unloaded.  Only an allocation that may block
 * (@gfp): one made under a spinlock or in an interrupt does not sleep.
 */
static void coherent_window(gfp_t gfp)
{
	u32 ms = READ_ONCE(pvb_fail_coherent_delay_ms);

	if (unlikely(ms) && gfpflags_allow_blocking(gfp))
		msleep(ms);
}

static struct pvb_coherent *coherent_get(struct device *dev, size_t size,
					 gfp_t gfp)
{
	u64 mask = min(dev->coherent_dma_mask, pvb_cfg.limit_mask);
	struct pvb_device *pd = dev_get(dev);	/* the allocation's reference */
	struct pvb_coherent *co;
	struct pvb_pool *pool;
	unsigned long flags;
	void *cpu;
	int ret;

	if (unlikely(!pd))
		return NULL;
	coherent_window(gfp);
	pool = pd->pool;
	co = kzalloc(sizeof(*co), gfp & GFP_KERNEL);
	if (!co)
		goto err_put;
	gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM | __GFP_ZERO |
		 __GFP_COMP);
	if (xen_plain_pages(get_order(size), mask, gfp, &co->chunk)) {
		co->plain = true;
		ret = 0;
	} else {
		ret = pvb_chunk_alloc(pvb_cfg.backend, get_order(size), mask,
				      gfp, &co->chunk);
	}
	/* Backend chunks and pool carvings both come zeroed. */
	if (ret && pvb_cfg.rebind) {
		kfree(co);
		pvb_dev_err_ratelimited(pd->pdev,
					"coherent allocation of %zu bytes below %#llx failed (%d): not carved from the bounce pool with rebind=1, since unload may hand it to the old DMA ops\n",
					size, mask, ret);
		goto err_put;
	}
	if (ret) {
		cpu = mask >= pool->bus_top ?
		      pvb_pool_alloc_coherent(pool, size, &co->chunk.bus) : NULL;
		if (!cpu) {
			kfree(co);
			pvb_dev_err_ratelimited(pd->pdev,
						"coherent allocation of %zu bytes below %#llx failed (%d; pool %s: %u of %u slots used)\n",
						size, mask, ret, pool->name,
						pvb_slots_used(&pool->slots),
						pool->slots.nslabs);
			goto err_put;
		}
		co->chunk.page = virt_to_page(cpu);
		co->chunk.order = get_order(size);
		co->from_pool = true;
	}
	spin_lock_irqsave(&pd->coh_lock, flags);
	list_add(&co->node, &pd->coh_list);
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	stat_inc(pd, coherent_allocs);
	trace_pvbounce_coherent(pd->pdev, size, co->chunk.bus,
				co->from_pool ? PVB_COH_POOL :
				co->plain ? PVB_COH_PLAIN : PVB_COH_CHUNK);
	return co;

err_put:
	pvb_dev_put(pd);	/* @pd is not touched after it */
	return NULL;
}

static void coherent_release(struct pvb_device *pd, struct pvb_coherent *co)
{
	if (co->plain)
		__free_pages(co->chunk.page, co->chunk.order);
	else if (!co->from_pool)
		pvb_cfg.backend->chunk_free(&co->chunk);
	else if (pvb_pool_free_coherent(pd->pool, co->chunk.bus))
		pvb_dev_err(pd->pdev, "coherent memory at %pad not in pool %s\n",
			    &co->chunk.bus, pd->pool->name);
	kfree(co);
}

/*
 * A coherent free, under rcu_read_lock() (nothing in it sleeps; a Xen chunk
 * goes back with hypercalls): a free that found our ops just before a
 * forced teardown at unload (the driver's records forgotten, the memory
 * leaked) must not touch the freed state.
 */
static void coherent_put(struct device *dev, struct page *page,
			 dma_addr_t bus)
{
	struct pvb_coherent *co, *found = NULL;
	struct pvb_device *pd;
	unsigned long flags;
	bool orphan = false;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (unlikely(!pd))
		goto out;	/* forgotten at unload: leaked, as said then */
	spin_lock_irqsave(&pd->coh_lock, flags);
	list_for_each_entry(co, &pd->coh_list, node) {
		if (co->chunk.page == page && co->chunk.bus == bus) {
			list_del(&co->node);
			found = co;
			orphan = co->orphan;
			if (orphan)
				pd->coh_orphans--;
			break;
		}
	}
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	if (!found) {
		report_misuse(pd, PVB_MISUSE_UNKNOWN, "coherent free", bus, 0);
		goto out;
	}
	coherent_release(pd, found);
	if (orphan && READ_ONCE(pd->pinned))
		pvb_dev_unpin_if_done(pd, true);
	/*
	 * Nothing of @pd after this: the last reference of an ended device
	 * has its teardown queued (never run here: a caller may have
	 * interrupts off).
	 */
	pvb_dev_put(pd);
out:
	rcu_read_unlock();
}

/**
 * pvb_coherent_count() - coherent allocations of a device still out.
 * @pd: attached device.
 *
 * Return: the number on its list (a snapshot).
 */
size_t pvb_coherent_count(struct pvb_device *pd)
{
	unsigned long flags;
	size_t n;

	spin_lock_irqsave(&pd->coh_lock, flags);
	n = list_count_nodes(&pd->coh_list);
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	return n;
}

/**
 * pvb_coherent_orphan_all() - mark the allocations live now as an unbound
 *	driver's.
 * @pd: device whose driver was just unbound (under the device's lock).
 *
 * Their frees count down @pd->coh_orphans (the pin, pvb_dev_unbound()).
 * A driver bound since keeps its own.
 *
 * Return: the number of live allocations.
 */
size_t pvb_coherent_orphan_all(struct pvb_device *pd)
{
	struct pvb_coherent *co;
	unsigned long flags;
	size_t n = 0;

	spin_lock_irqsave(&pd->coh_lock, flags);
	list_for_each_entry(co, &pd->coh_list, node) {
		if (!co->orphan) {
			co->orphan = true;
			pd->coh_orphans++;
		}
		n++;
	}
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	return n;
}

/**
 * pvb_coherent_forget_all() - drop the records of what a driver left allocated.
 * @pd: device being torn down at unload (no driver bound any more).
 *
 * The memory itself is not freed: a device whose driver went without
 * freeing it may still write there.  It stays allocated (leaked), and so
 * does pool memory carved for it, which keeps its pool alive.
 *
 * Return: number of allocations that were still live.
 */
unsigned int pvb_coherent_forget_all(struct pvb_device *pd)
{
	struct pvb_coherent *co, *tmp;
	unsigned long flags;
	unsigned int n = 0;

	spin_lock_irqsave(&pd->coh_lock, flags);
	list_for_each_entry_safe(co, tmp, &pd->coh_list, node) {
		list_del(&co->node);
		kfree(co);
		n++;
	}
	pd->coh_orphans = 0;
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	return n;
}

/*
 * The ops that may sleep (below) run inside pvb_sleepers from their first
 * instruction to their last before the return: a forced teardown and module
 * exit wait for them (see "The ops table" in src/device_ref.c).
 */
static void *pvb_alloc(struct device *dev, size_t size, dma_addr_t *bus,
		       gfp_t gfp, unsigned long attrs)
{
	int idx = srcu_read_lock(&pvb_sleepers);
	struct pvb_coherent *co = coherent_get(dev, size, gfp);
	void *cpu = NULL;

	if (co) {
		*bus = co->chunk.bus;
		cpu = page_address(co->chunk.page);
	}
	srcu_read_unlock(&pvb_sleepers, idx);
	return cpu;
}

static void pvb_free(struct device *dev, size_t size, void *cpu,
		     dma_addr_t bus, unsigned long attrs)
{
	coherent_put(dev, virt_to_page(cpu), bus);
}

static struct page *pvb_alloc_pages(struct device *dev, size_t size,
				    dma_addr_t *bus,
				    enum dma_data_direction dir, gfp_t gfp)
{
	int idx = srcu_read_lock(&pvb_sleepers);
	struct pvb_coherent *co = coherent_get(dev, size, gfp);
	struct page *page = NULL;

	if (co) {
		*bus = co->chunk.bus;
		page = co->chunk.page;
	}
	srcu_read_unlock(&pvb_sleepers, idx);
	return page;
}

static void pvb_free_pages(struct device *dev, size_t size, struct page *page,
			   dma_addr_t bus, enum dma_data_direction dir)
{
	coherent_put(dev, page, bus);
}

static int pvb_mmap(struct device *dev, struct vm_area_struct *vma,
		    void *cpu, dma_addr_t bus, size_t size,
		    unsigned long attrs)
{
	int idx = srcu_read_lock(&pvb_sleepers);
	unsigned long count = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned long user_count = vma_pages(vma);
	unsigned long off = vma->vm_pgoff;
	int ret = -ENXIO;

	if (off < count && user_count <= count - off)
		ret = remap_pfn_range(vma, vma->vm_start,
				      page_to_pfn(virt_to_page(cpu)) + off,
				      user_count << PAGE_SHIFT,
				      vma->vm_page_prot);
	srcu_read_unlock(&pvb_sleepers, idx);
	return ret;
}

static int pvb_get_sgtable(struct device *dev, struct sg_table *sgt,
			   void *cpu, dma_addr_t bus, size_t size,
			   unsigned long attrs)
{
	int idx = srcu_read_lock(&pvb_sleepers);
	int ret = sg_alloc_table(sgt, 1, GFP_KERNEL);

	if (!ret)
		sg_set_page(sgt->sgl, virt_to_page(cpu), PAGE_ALIGN(size), 0);
	srcu_read_unlock(&pvb_sleepers, idx);
	return ret;
}

/*
 * MMIO is never bounced: its bus address is its physical address, natively
 * and on a Xen PV guest where the p2m identity-maps it (dom0's view of the
 * host's MMIO; swiotlb-xen's callers get the address untranslated too).
 * The backend's own translation checks that for every page; anything else
 * (RAM, a foreign or unmapped frame) is refused rather than handed out as a
 * wrong address.  (dma_map_resource(), or DMA_ATTR_MMIO on dma_map_phys().)
 */
static dma_addr_t map_mmio(struct pvb_device *pd, struct device *dev,
			   phys_addr_t phys, size_t size,
			   enum dma_data_direction dir)
{
	const struct pvb_backend *be = pvb_cfg.backend;
	u64 limit = stream_limit(dev);
	dma_addr_t bus;

	stat_inc(pd, maps);
	if (!size) {
		pvb_dev_err_ratelimited(pd->pdev,
					"resource map of 0 bytes at %pa refused: a mapping needs at least one byte (a driver bug)\n",
					&phys);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_ZERO);
		goto err;
	}
	if (phys + size - 1 < phys) {
		pvb_dev_err_ratelimited(pd->pdev,
					"resource at %pa (%zu bytes) refused: the range wraps past the end of the address space\n",
					&phys, size);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_WRAP);
		goto err;
	}
	bus = pvb_be_phys_to_bus(phys);
	if (bus != phys || !pvb_be_range_ok(phys, size, U64_MAX)) {
		pvb_dev_err_ratelimited(pd->pdev,
					"resource at %pa (%zu bytes) refused: not identity-mapped by the %s backend (bus %pad); only MMIO that bus addresses 1:1 can be mapped\n",
					&phys, size, be->name, &bus);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_NOT_IDENTITY);
		goto err;
	}
	if (phys + size - 1 > limit) {
		stat_inc(pd, errors_mask);
		pvb_dev_err_ratelimited(pd->pdev,
					"resource at %pa (%zu bytes) is beyond the device's DMA mask %#llx\n",
					&phys, size, limit);
		trace_pvbounce_refuse(pd->pdev, size, PVB_REFUSE_MASK);
		goto err;
	}
	stat_inc(pd, direct_maps);
	trace_pvbounce_map(pd->pdev, phys, phys, size, dir, false);
	return phys;

err:
	stat_inc(pd, map_errors);
	return DMA_MAPPING_ERROR;
}

/* map_slow() inside its read side. */
static __always_inline dma_addr_t map_read_side(struct device *dev,
						phys_addr_t phys, size_t size,
						enum dma_data_direction dir,
						unsigned long attrs)
{
	struct pvb_device *pd = dev_rcu(dev);

	if (unlikely(!pd))
		return DMA_MAPPING_ERROR;	/* detached under the call */
	if (attrs & PVB_ATTR_MMIO)
		return map_mmio(pd, dev, phys, size, dir);
	return map_phys(pd, dev, phys, size, dir, attrs, false, NULL, true);
}

/*
 * The streaming op's all but direct cases, under preempt_disable() when
 * short_copy() allows, else under rcu_read_lock().
 */
static noinline dma_addr_t map_slow(struct device *dev, phys_addr_t phys,
				    size_t size, enum dma_data_direction dir,
				    unsigned long attrs)
{
	dma_addr_t bus;

	if (short_copy(size)) {
		preempt_disable();
		bus = map_read_side(dev, phys, size, dir, attrs);
		preempt_enable();
	} else {
		rcu_read_lock();
		bus = map_read_side(dev, phys, size, dir, attrs);
		rcu_read_unlock();
	}
	return bus;
}

/*
 * The streaming op's fast half: a direct mapping, the default path, is made
 * here under preempt_disable() (dev_rcu()): two per-CPU instructions where
 * PREEMPT_RCU's rcu_read_lock() and rcu_read_unlock() are two calls, and
 * nothing in it may sleep or take long.  Anything else (bounced, refused,
 * MMIO, detached) goes to map_slow(), which looks the device up again.
 */
static __always_inline dma_addr_t map_fast(struct device *dev,
					   phys_addr_t phys, size_t size,
					   enum dma_data_direction dir,
					   unsigned long attrs, bool xen)
{
	struct pvb_device *pd;
	dma_addr_t bus;

	/* force=1 bounces: straight to the slow path */
	if (unlikely(pvb_cfg.force) && !(attrs & PVB_ATTR_REQUIRE_COHERENT))
		return map_slow(dev, phys, size, dir, attrs);
	preempt_disable();
	pd = dev_rcu(dev);
	if (likely(pd) && likely(!(attrs & PVB_ATTR_MMIO)) &&
	    map_direct(pd, dev, phys, size, dir, attrs, xen, true, &bus)) {
		preempt_enable();
		return bus;
	}
	preempt_enable();
	return map_slow(dev, phys, size, dir, attrs);
}

static noinline dma_addr_t map_fast_xen(struct device *dev, phys_addr_t phys,
					size_t size,
					enum dma_data_direction dir,
					unsigned long attrs)
{
	return map_fast(dev, phys, size, dir, attrs, true);
}

/*
 * The streaming op for RAM and MMIO alike (7.x's map_phys; see compat.h),
 * inline in the older kernels' map_page and map_resource.
 */
static __always_inline dma_addr_t pvb_map_phys(struct device *dev, phys_addr_t phys,
			       size_t size, enum dma_data_direction dir,
			       unsigned long attrs)
{
	if (static_branch_unlikely(&pvb_backend_xen_key))
		return map_fast_xen(dev, phys, size, dir, attrs);
	return map_fast(dev, phys, size, dir, attrs, false);
}

/*
 * The unmap of a bounced, misused or MMIO mapping (@seg negative for MMIO),
 * called with preemption off by pvb_unmap_phys(), which it turns back on;
 * @fast and @seg as for sync_slow(), and as there a mapping whose copy
 * short_copy() allows is given back before that, the rest under RCU.
 */
static noinline void unmap_slow(struct device *dev, struct pvb_device *fast,
				int seg, dma_addr_t bus, size_t size,
				enum dma_data_direction dir,
				unsigned long attrs)
{
	struct pvb_device *pd;

	if (seg >= 0 && short_copy(size)) {
		unmap_bus(fast, seg, bus, size, dir, attrs);
		preempt_enable();
		return;
	}
	preempt_enable();
	rcu_read_lock();
	pd = dev_rcu(dev);
	/* not ours any more: nothing was bounced (those hold references) */
	if (likely(pd)) {
		if (attrs & PVB_ATTR_MMIO)
			stat_inc(pd, unmaps);	/* nothing was bounced */
		else
			unmap_bus(pd, pd == fast ? seg :
				  pvb_pool_seg_of(pd->pool, bus),
				  bus, size, dir, attrs);
	}
	rcu_read_unlock();
}

/*
 * A direct mapping's unmap (an address in no chunk of the pool: the one
 * lookup) is counted here under preempt_disable(), as in map_fast(); the
 * rest goes to unmap_slow() with the chunk found, preemption still off.
 */
static __always_inline void pvb_unmap_phys(struct device *dev, dma_addr_t bus, size_t size,
			   enum dma_data_direction dir, unsigned long attrs)
{
	struct pvb_dev_stats __percpu *st;
	struct pvb_device *pd;
	int seg = -1;

	preempt_disable();
	pd = dev_rcu(dev);
	if (unlikely(!pd)) {
		/* not ours any more: nothing was bounced (those hold references) */
		preempt_enable();
		return;
	}
	if (likely(!(attrs & PVB_ATTR_MMIO))) {
		seg = pvb_pool_seg_of(pd->pool, bus);
		if (seg < 0) {
			st = pd->stats;
			this_cpu_inc(st->unmaps);
			if (from_device(dir))
				this_cpu_add(st->bytes_from_device, size);
			preempt_enable();
			return;
		}
	}
	unmap_slow(dev, pd, seg, bus, size, dir, attrs);
}

/* map_page and map_resource on kernels before map_phys ops */
PVB_DEFINE_PHYS_OPS(pvb_map_phys, pvb_unmap_phys)

static int pvb_dma_supported(struct device *dev, u64 mask)
{
	struct pvb_device *pd;
	int ret = 0;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (unlikely(!pd) || mask >= pd->pool->bus_top)
		ret = 1;	/* not ours any more: the old ops decide */
	else
		pvb_dev_err(pd->pdev,
			    "DMA mask %#llx refused: narrower than the bounce pool %s (top %pad); lower address_bits (now %u)\n",
			    mask, pd->pool->name, &pd->pool->bus_top,
			    pvb_cfg.address_bits);
	rcu_read_unlock();
	return ret;
}

static u64 pvb_get_required_mask(struct device *dev)
{
	u64 mask = DMA_BIT_MASK(64);
	struct pvb_device *pd;

	rcu_read_lock();
	pd = dev_rcu(dev);
	/* Everything bounces under force: the pool's reach is enough. */
	if (likely(pd) && pvb_cfg.force)
		mask = DMA_BIT_MASK(fls64(pd->pool->bus_top));
	rcu_read_unlock();
	return mask;
}

/*
 * Can no streaming mapping of @dev bounce?  Natively, without force, a
 * device that reaches every address the CPU can give memory (2^phys_bits,
 * which memory hot-plugged later stays below too) gets every buffer
 * directly.  On Xen a buffer that is not machine-contiguous bounces
 * whatever the mask.
 */
static bool never_bounces(struct device *dev)
{
	if (pvb_cfg.force || static_branch_unlikely(&pvb_backend_xen_key))
		return false;
	return stream_limit(dev) >= DMA_BIT_MASK(boot_cpu_data.x86_phys_bits);
}

/*
 * The largest bounced mapping, or no limit (as dma-direct's) where nothing
 * can bounce: NVMe then sees its own transfer size.
 */
static size_t pvb_max_mapping_size(struct device *dev)
{
	size_t max = SIZE_MAX;
	struct pvb_device *pd;

	rcu_read_lock();
	pd = dev_rcu(dev);
	if (likely(pd) && !never_bounces(dev))
		max = pvb_slots_max_mapping(&pd->pool->slots,
					    dma_get_min_align_mask(dev));
	rcu_read_unlock();
	return max;
}

/**
 * pvb_dma_ops_init() - fill a device's ops table with pvbounce's ops.
 * @ops: the table inside a struct pvb_device.
 *
 * Where the kernel can skip syncs (PVB_LAZY_SYNC) the sync ops are left out
 * until the device's first bounced mapping (syncs_on()).
 */
void pvb_dma_ops_init(struct dma_map_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->alloc = pvb_alloc;
	ops->free = pvb_free;
	ops->PVB_OPS_ALLOC_PAGES = pvb_alloc_pages;
	ops->free_pages = pvb_free_pages;
	ops->mmap = pvb_mmap;
	ops->get_sgtable = pvb_get_sgtable;
	pvb_ops_set_phys(ops, pvb_map_phys, pvb_unmap_phys);
	ops->map_sg = pvb_map_sg;
	ops->unmap_sg = pvb_unmap_sg;
	if (!PVB_LAZY_SYNC)
		ops_set_syncs(ops);	/* else at the first bounce */
	ops->dma_supported = pvb_dma_supported;
	ops->get_required_mask = pvb_get_required_mask;
	ops->max_mapping_size = pvb_max_mapping_size;
}

/**
 * pvb_is_our_ops() - are these ops a pvbounce device's?
 * @ops: a device's dma_ops.
 *
 * Return: true if @ops was filled by pvb_dma_ops_init().
 */
bool pvb_is_our_ops(const struct dma_map_ops *ops)
{
	return ops && pvb_ops_is_phys(ops, pvb_map_phys);
}
