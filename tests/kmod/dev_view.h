/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test modules' data and device view: deterministic bytes to fill a
 * buffer with, a bus address as the device would use it, and the memory a
 * bus address names as the device sees it (natively the linear map, as a
 * Xen PV guest the machine frames through xen_check.c, never pvbounce).
 */
#ifndef PVBT_DEV_VIEW_H
#define PVBT_DEV_VIEW_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/types.h>
#include "xen_check.h"

/* Deterministic bytes, different for every seed. */
static inline void pvbt_fill(void *p, size_t n, u32 seed)
{
	u32 x = seed * 2654435761u + 0x9e3779b9u;
	u8 *b = p;

	while (n--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*b++ = x >> 24;
	}
}

/* The bus address of guest memory at @phys, as the device would use it. */
static inline dma_addr_t pvbt_bus_of(bool xen, phys_addr_t phys)
{
	return xen ? pvbt_xen_phys_to_bus(phys) : phys;
}

/* Natively, the memory [bus, bus + size) names, or NULL. */
static inline u8 *pvbt_native_view(dma_addr_t bus, size_t size)
{
	if (!pfn_valid(PHYS_PFN(bus)) || !pfn_valid(PHYS_PFN(bus + size - 1)))
		return NULL;
	return phys_to_virt(bus);
}

/* The memory [bus, bus + size) names, as the device sees it, or NULL. */
static inline u8 *pvbt_dev_view(bool xen, dma_addr_t bus, size_t size)
{
	return xen ? pvbt_xen_dev_view(bus, size) : pvbt_native_view(bus, size);
}

/*
 * blocks searched for memory above a mask, how much may be held, and how
 * much memory the search leaves available to the rest of the system
 */
#define PVBT_HIGH_ORDER	9
#define PVBT_HOLD_MAX	(1536UL << 20)
#define PVBT_KEEP_AVAIL	(192UL << 20)

/*
 * The bus address of the last byte of RAM: natively the end of the last
 * node, as a Xen PV guest the host's highest machine frame.
 */
static inline u64 pvbt_ram_last_bus(bool xen)
{
	unsigned long top = 0;
	int nid;

	if (xen)
		return pvbt_xen_ram_last_bus();
	for_each_online_node(nid)
		top = max(top, node_end_pfn(nid));
	return PFN_PHYS((u64)top) - 1;
}

/*
 * An order PVBT_HIGH_ORDER block whose bus address lies above @limit, or
 * NULL.  The buddy allocator hands out low addresses first (boot memory is
 * freed to it in ascending order), so blocks are taken and held until one
 * lies above the limit, then the others given back.  There is no search
 * when no RAM lies above the limit, and it stops after PVBT_HOLD_MAX bytes
 * or when less than PVBT_KEEP_AVAIL would be left available: a search that
 * took all of a 1 GiB Xen dom0's memory could starve the rest of the
 * system.  Free the block with __free_pages(p, PVBT_HIGH_ORDER).
 */
static inline struct page *pvbt_block_above(bool xen, u64 limit)
{
	struct page *p, *found = NULL, *n;
	unsigned long held = 0;
	LIST_HEAD(rejects);

	if (pvbt_ram_last_bus(xen) <= limit)
		return NULL;
	while (!found && held < PVBT_HOLD_MAX &&
	       si_mem_available() > (long)(PVBT_KEEP_AVAIL >> PAGE_SHIFT)) {
		p = alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY,
				PVBT_HIGH_ORDER);
		if (!p)
			break;
		if (pvbt_bus_of(xen, page_to_phys(p)) > limit) {
			found = p;
			break;
		}
		list_add(&p->lru, &rejects);
		held += PAGE_SIZE << PVBT_HIGH_ORDER;
	}
	list_for_each_entry_safe(p, n, &rejects, lru) {
		list_del(&p->lru);
		__free_pages(p, PVBT_HIGH_ORDER);
	}
	return found;
}

#endif /* PVBT_DEV_VIEW_H */
