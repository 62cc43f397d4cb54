/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference pvbounce cares about, in one place.
 * Force-included into every module source by Kbuild; feature code has no
 * version checks of its own.  Supported: Debian 12's 6.1 and 6.12 series.
 */
#ifndef PVBOUNCE_COMPAT_H
#define PVBOUNCE_COMPAT_H

#ifdef __KERNEL__
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#error "pvbounce supports Linux 6.1 to 6.12 (Debian 12's two kernel series)"
#endif

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

/* The page-allocation op was renamed in 6.8. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define PVB_OPS_ALLOC_PAGES alloc_pages_op
#else
#define PVB_OPS_ALLOC_PAGES alloc_pages
#endif

/* Largest buddy order one can ask alloc_pages() for (MAX_ORDER was exclusive). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define PVB_MAX_PAGE_ORDER MAX_PAGE_ORDER
#else
#define PVB_MAX_PAGE_ORDER (MAX_ORDER - 1)
#endif

/*
 * 6.11+ lets a device skip sync calls when its ops were direct; once our
 * ops are installed every sync must reach us.
 */
#if defined(CONFIG_DMA_NEED_SYNC)
#define pvb_dev_force_sync(dev) ((dev)->dma_skip_sync = false)
#else
#define pvb_dev_force_sync(dev) do { } while (0)
#endif

/*
 * 6.12 sends a device with dev->dma_iommu set straight to iommu-dma,
 * whatever dev->dma_ops says; 6.1 had no such flag and put iommu_dma_ops
 * in dev->dma_ops instead (which the foreign-ops check sees).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && defined(CONFIG_IOMMU_DMA)
#define pvb_dev_dma_iommu(dev) ((dev)->dma_iommu)
#else
#define pvb_dev_dma_iommu(dev) false
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
