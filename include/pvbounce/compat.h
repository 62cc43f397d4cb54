/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference pvbounce cares about, in one place.
 * Force-included into every module source by Kbuild; feature code has no
 * version checks of its own.  Supported, exactly what is built and tested:
 * the 6.1 and 6.12 series (Debian 12's, and Debian 13's 6.12) and the 7.3
 * series (trixie-backports).  Other series are refused; what is known of
 * them (6.4 to 6.7's inclusive MAX_ORDER) is kept below for when one is
 * tested.
 */
#ifndef PVBOUNCE_COMPAT_H
#define PVBOUNCE_COMPAT_H

#ifdef __KERNEL__
#include <linux/version.h>

#define PVB_SERIES(a, b) \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(a, b, 0) && \
	 LINUX_VERSION_CODE < KERNEL_VERSION(a, (b) + 1, 0))
#if !PVB_SERIES(6, 1) && !PVB_SERIES(6, 12) && !PVB_SERIES(7, 3)
#error "pvbounce supports the Linux 6.1, 6.12 and 7.3 series (Debian 12's and 13's kernels)"
#endif
#undef PVB_SERIES

/* 6.1 calls it CONFIG_DMA_OPS, 6.12 CONFIG_ARCH_HAS_DMA_OPS. */
#if !defined(CONFIG_DMA_OPS) && !defined(CONFIG_ARCH_HAS_DMA_OPS)
#error "pvbounce needs per-device dma_map_ops (CONFIG_DMA_OPS / CONFIG_ARCH_HAS_DMA_OPS)"
#endif

/*
 * x86-64 only: DMA there is cache-coherent, and pvbounce's ops never sync
 * CPU caches (nor do its refusals cover another architecture's rules);
 * counters are read per CPU in one access (stats.h); Xen PV is 64-bit only.
 */
#ifndef CONFIG_X86_64
#error "pvbounce supports x86-64 only (its DMA ops never sync CPU caches)"
#endif

/*
 * RCU Tasks, for src/device_ref.c's ops tables.  A kernel built without
 * preemption has no CONFIG_TASKS_RCU: there call_rcu_tasks() is call_rcu()
 * (a task between its read of dev->dma_ops and its call into the op cannot
 * be preempted, so an ordinary grace period waits for it), and
 * rcu_barrier_tasks() is declared but not built: rcu_barrier() waits for
 * those callbacks.
 */
#ifdef CONFIG_TASKS_RCU
#define pvb_rcu_barrier_tasks()	rcu_barrier_tasks()
#else
#define pvb_rcu_barrier_tasks()	rcu_barrier()
#endif

/* The page-allocation op was renamed in 6.8. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define PVB_OPS_ALLOC_PAGES alloc_pages_op
#else
#define PVB_OPS_ALLOC_PAGES alloc_pages
#endif

/*
 * Largest buddy order one can ask alloc_pages() for: MAX_ORDER was
 * exclusive up to 6.3, inclusive in 6.4 to 6.7 (NR_PAGE_ORDERS is
 * MAX_ORDER + 1 there), and renamed MAX_PAGE_ORDER in 6.8.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define PVB_MAX_PAGE_ORDER MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define PVB_MAX_PAGE_ORDER MAX_ORDER
#else
#define PVB_MAX_PAGE_ORDER (MAX_ORDER - 1)
#endif

/*
 * 7.x keeps struct device's DMA booleans as bits of dev->flags behind
 * accessors (dev_dma_skip_sync(), dev_dma_iommu(), ...).  Checked on 7.3;
 * the release that changed it is not pinned down (6.13 to 7.2 are refused
 * above).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define PVB_DEV_FLAG_ACCESSORS 1
#endif

/*
 * Skipping syncs (CONFIG_DMA_NEED_SYNC: 6.12 and 7.3; 6.1 has no such
 * switch and calls the ops' sync for every sync).  The device's skip flag
 * makes dma_sync_*() return at once; dma_set_mask() sets it when the ops
 * have no sync op and clears it when they have one (kernel/dma/mapping.c,
 * dma_setup_need_sync(); nothing else computes it), and
 * dma_reset_need_sync() clears it, as swiotlb does on its first bounce.
 * page_pool, AF_XDP's pool and drivers read it per sync (dma_dev_need_sync(),
 * dma_need_sync()); none caches it for a device.  7.x keeps the flag
 * behind accessors.
 *
 * PVB_LAZY_SYNC: an attached device's ops start without sync ops and get
 * them on its first bounced mapping (src/dma_ops.c); 0 where the kernel
 * would not skip (pvbounce's ops then always have them, as before).
 * pvb_dev_skip_sync() / pvb_dev_assign_skip_sync(): read and write the
 * flag (false and nothing without it); pvb_dev_force_sync(): every sync
 * reaches the ops (the benchmark's do-nothing ops).
 */
#ifdef CONFIG_DMA_NEED_SYNC
#define PVB_LAZY_SYNC 1
#define pvb_dev_reset_need_sync(dev) dma_reset_need_sync(dev)
#ifdef PVB_DEV_FLAG_ACCESSORS
#define pvb_dev_skip_sync(dev) dev_dma_skip_sync(dev)
#define pvb_dev_assign_skip_sync(dev, v) dev_assign_dma_skip_sync(dev, v)
#else
#define pvb_dev_skip_sync(dev) ((dev)->dma_skip_sync)
#define pvb_dev_assign_skip_sync(dev, v) ((dev)->dma_skip_sync = (v))
#endif
#else
#define PVB_LAZY_SYNC 0
#define pvb_dev_reset_need_sync(dev) do { } while (0)
#define pvb_dev_skip_sync(dev) false
#define pvb_dev_assign_skip_sync(dev, v) do { } while (0)
#endif
#define pvb_dev_force_sync(dev) pvb_dev_assign_skip_sync(dev, false)

/*
 * 6.12 sends a device with dev->dma_iommu set straight to iommu-dma,
 * whatever dev->dma_ops says; 6.1 had no such flag and put iommu_dma_ops
 * in dev->dma_ops instead (which the foreign-ops check sees).
 */
#if defined(CONFIG_IOMMU_DMA) && defined(PVB_DEV_FLAG_ACCESSORS)
#define pvb_dev_dma_iommu(dev) dev_dma_iommu(dev)
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && defined(CONFIG_IOMMU_DMA)
#define pvb_dev_dma_iommu(dev) ((dev)->dma_iommu)
#else
#define pvb_dev_dma_iommu(dev) false
#endif

/*
 * Streaming ops.  7.x has one pair for RAM and MMIO alike,
 * map_phys(dev, phys, size, dir, attrs) and unmap_phys(), with
 * DMA_ATTR_MMIO marking MMIO (dma_map_resource() is dma_map_phys() with
 * it).  Before, RAM came through map_page/unmap_page and MMIO through
 * map_resource/unmap_resource.  pvbounce writes the 7.x pair:
 * PVB_DEFINE_PHYS_OPS(map, unmap) makes the older ops from it, with
 * PVB_ATTR_MMIO set by the resource ones (a bit of attrs that those
 * kernels' DMA API never uses, seen only by @map and @unmap), and
 * pvb_ops_set_phys() / pvb_ops_is_phys() fill and recognise the table
 * (PVB_OPS_PHYS_INIT() in a static initializer).
 * Checked on 7.3; 6.19 is believed to be the first with map_phys ops
 * (6.13 to 7.2 are refused above).
 *
 * DMA_ATTR_REQUIRE_COHERENT (7.x; RDMA umem, HMM): the mapping must never
 * be bounced; 0 where the kernel has no such attribute.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define PVB_ATTR_MMIO DMA_ATTR_MMIO
#define PVB_ATTR_REQUIRE_COHERENT DMA_ATTR_REQUIRE_COHERENT
#define PVB_DEFINE_PHYS_OPS(map, unmap)
#define pvb_ops_set_phys(ops, map, unmap) \
	do { (ops)->map_phys = (map); (ops)->unmap_phys = (unmap); } while (0)
#define pvb_ops_is_phys(ops, map) ((ops)->map_phys == (map))
#define PVB_OPS_PHYS_INIT(map, unmap) .map_phys = (map), .unmap_phys = (unmap)
/* the MMIO way of the op itself, for tests that call it directly */
#define pvb_ops_has_mmio(ops) ((ops)->map_phys != NULL)
#define pvb_ops_map_mmio(ops, dev, phys, size, dir, attrs) \
	(ops)->map_phys(dev, phys, size, dir, (attrs) | DMA_ATTR_MMIO)
#define pvb_ops_unmap_mmio(ops, dev, bus, size, dir, attrs) \
	(ops)->unmap_phys(dev, bus, size, dir, (attrs) | DMA_ATTR_MMIO)
/* the DMA API's MMIO mapping as 7.x drivers ask for it */
#define pvb_dma_map_mmio(dev, phys, size, dir) \
	dma_map_phys(dev, phys, size, dir, DMA_ATTR_MMIO)
#define pvb_dma_unmap_mmio(dev, bus, size, dir) \
	dma_unmap_phys(dev, bus, size, dir, DMA_ATTR_MMIO)
#else
#define PVB_ATTR_MMIO (1UL << 63)
#define PVB_ATTR_REQUIRE_COHERENT 0UL
#define PVB_DEFINE_PHYS_OPS(map, unmap)					\
static dma_addr_t map##_page(struct device *dev, struct page *page,	\
			     unsigned long offset, size_t size,		\
			     enum dma_data_direction dir,		\
			     unsigned long attrs)			\
{									\
	return map(dev, page_to_phys(page) + offset, size, dir, attrs);	\
}									\
static dma_addr_t map##_resource(struct device *dev, phys_addr_t phys,	\
				 size_t size, enum dma_data_direction dir, \
				 unsigned long attrs)			\
{									\
	return map(dev, phys, size, dir, attrs | PVB_ATTR_MMIO);	\
}									\
static void unmap##_page(struct device *dev, dma_addr_t bus,		\
			 size_t size, enum dma_data_direction dir,	\
			 unsigned long attrs)				\
{									\
	unmap(dev, bus, size, dir, attrs);				\
}									\
static void unmap##_resource(struct device *dev, dma_addr_t bus,	\
			     size_t size, enum dma_data_direction dir,	\
			     unsigned long attrs)			\
{									\
	unmap(dev, bus, size, dir, attrs | PVB_ATTR_MMIO);		\
}
#define pvb_ops_set_phys(ops, map, unmap) do {				\
	(ops)->map_page = map##_page;					\
	(ops)->unmap_page = unmap##_page;				\
	(ops)->map_resource = map##_resource;				\
	(ops)->unmap_resource = unmap##_resource;			\
} while (0)
#define pvb_ops_is_phys(ops, map) ((ops)->map_page == map##_page)
#define PVB_OPS_PHYS_INIT(map, unmap)					\
	.map_page = map##_page, .unmap_page = unmap##_page,		\
	.map_resource = map##_resource, .unmap_resource = unmap##_resource
#define pvb_ops_has_mmio(ops) ((ops)->map_resource != NULL)
#define pvb_ops_map_mmio(ops, dev, phys, size, dir, attrs) \
	(ops)->map_resource(dev, phys, size, dir, attrs)
#define pvb_ops_unmap_mmio(ops, dev, bus, size, dir, attrs) \
	(ops)->unmap_resource(dev, bus, size, dir, attrs)
#define pvb_dma_map_mmio(dev, phys, size, dir) \
	dma_map_resource(dev, phys, size, dir, 0)
#define pvb_dma_unmap_mmio(dev, bus, size, dir) \
	dma_unmap_resource(dev, bus, size, dir, 0)
#endif

/*
 * Trace events: 6.10 took __assign_str()'s source argument away (the
 * __string() field names it already).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define PVB_ASSIGN_STR(dst, src) __assign_str(dst)
#else
#define PVB_ASSIGN_STR(dst, src) __assign_str(dst, src)
#endif

#endif /* __KERNEL__ */
#endif /* PVBOUNCE_COMPAT_H */
