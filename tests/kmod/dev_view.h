/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test modules' data and device view: deterministic bytes to fill a
 * buffer with, a bus address as the device would use it, and the memory a
 * bus address names as the device sees it (natively the linear map, as a
 * Xen PV guest the machine frames through xen_check.c, never pvbounce).
 */
#ifndef PVBT_DEV_VIEW_H
#define PVBT_DEV_VIEW_H

#include <linux/mm.h>
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

#endif /* PVBT_DEV_VIEW_H */
