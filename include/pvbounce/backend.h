/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Translation backends: the only code that differs between bare metal/HVM
 * (native: bus == phys) and a Xen PV guest (bus == machine address, found
 * through the p2m; contiguity made with XENMEM_exchange).
 */
#ifndef PVBOUNCE_BACKEND_H
#define PVBOUNCE_BACKEND_H

#include <linux/types.h>
#include <linux/gfp.h>
#include <linux/jump_label.h>
#include <linux/dma-mapping.h>

struct page;

/**
 * struct pvb_chunk - 2^@order pages that are contiguous in bus address.
 * @page: first page (pages are contiguous in pseudo-physical address too).
 * @order: buddy order.
 * @bus: bus address of the first byte, aligned to the chunk's size.
 */
struct pvb_chunk {
	struct page *page;
	unsigned int order;
	dma_addr_t bus;
};

/**
 * struct pvb_backend - translation hooks.
 * @name: "native" or "xen", as debugfs shows it.
 * @phys_to_bus: bus address of a (pseudo-)physical address.
 * @bus_to_phys: inverse of @phys_to_bus; only defined for addresses this
 *	module handed out or that belong to the guest.
 * @range_ok: true if [@phys, @phys + @size) is contiguous in bus address and
 *	its last byte is at or below @mask.
 * @chunk_alloc: allocate 2^@order zeroed pages, contiguous and naturally
 *	aligned in bus address, with the last byte at or below @mask.  @gfp is the caller's
 *	context (GFP_KERNEL or GFP_ATOMIC plus modifiers).  Return: 0,
 *	-ENOMEM when memory is short, another -errno with a logged reason.
 * @chunk_free: undo @chunk_alloc (pages and, on Xen, machine frames back).
 */
struct pvb_backend {
	const char *name;
	dma_addr_t (*phys_to_bus)(phys_addr_t phys);
	phys_addr_t (*bus_to_phys)(dma_addr_t bus);
	bool (*range_ok)(phys_addr_t phys, size_t size, u64 mask);
	int (*chunk_alloc)(unsigned int order, u64 mask, gfp_t gfp,
			   struct pvb_chunk *c);
	void (*chunk_free)(struct pvb_chunk *c);
};

extern const struct pvb_backend pvb_backend_native;
extern const struct pvb_backend pvb_backend_xen;

/*
 * The streaming hot path does not go through the ops table: the backend is
 * fixed at load, so a static key picks the Xen translation (a direct call)
 * or the native one (inline), with no indirect (retpolined) call per map.
 */
DECLARE_STATIC_KEY_FALSE(pvb_backend_xen_key);

dma_addr_t pvb_xen_phys_to_bus(phys_addr_t phys);
bool pvb_xen_range_ok(phys_addr_t phys, size_t size, u64 mask);
bool pvb_xen_direct_ok(phys_addr_t phys, size_t size, u64 mask, u64 boundary);

/**
 * pvb_native_range_ok() - the native backend's range check.
 * @phys: start.
 * @size: bytes.
 * @mask: highest bus address allowed.
 *
 * Return: true if [@phys, @phys + @size) is non-empty, does not wrap and
 * ends at or below @mask (bus == phys).
 */
static inline bool pvb_native_range_ok(phys_addr_t phys, size_t size, u64 mask)
{
	return size && phys + size - 1 >= phys && phys + size - 1 <= mask;
}

/**
 * pvb_be_phys_to_bus() - the load-time backend's phys_to_bus, no indirect call.
 * @phys: (pseudo-)physical address.
 *
 * Return: its bus address.
 */
static inline dma_addr_t pvb_be_phys_to_bus(phys_addr_t phys)
{
	if (static_branch_unlikely(&pvb_backend_xen_key))
		return pvb_xen_phys_to_bus(phys);
	return phys;
}

/**
 * pvb_be_range_ok() - the load-time backend's range_ok, no indirect call.
 * @phys: start.
 * @size: bytes.
 * @mask: highest bus address allowed.
 *
 * Return: as &struct pvb_backend.range_ok.
 */
static inline bool pvb_be_range_ok(phys_addr_t phys, size_t size, u64 mask)
{
	if (static_branch_unlikely(&pvb_backend_xen_key))
		return pvb_xen_range_ok(phys, size, mask);
	return pvb_native_range_ok(phys, size, mask);
}

/**
 * pvb_be_direct_ok() - may a streaming mapping skip the bounce?
 * @dev: the device.
 * @phys: start.
 * @size: bytes.
 * @mask: highest bus address allowed.
 *
 * pvb_be_range_ok(); on Xen also the device's segment boundary, checked on
 * the machine range (see pvb_xen_direct_ok()).  Natively bus == phys, and
 * the boundary is the caller's to keep as with dma-direct.
 *
 * Return: true if [@phys, @phys + @size) may be mapped directly.
 */
static inline bool pvb_be_direct_ok(struct device *dev, phys_addr_t phys,
				    size_t size, u64 mask)
{
	if (static_branch_unlikely(&pvb_backend_xen_key))
		return pvb_xen_direct_ok(phys, size, mask,
					 dma_get_seg_boundary(dev));
	return pvb_native_range_ok(phys, size, mask);
}

/*
 * Fault injection for tests, debugfs fail/ (0600): N makes the Nth event from
 * now fail, 0 (the default) is off.  chunk_alloc: any backend chunk
 * allocation (pool chunks and coherent memory), failing with -ENOMEM as a
 * shortage would; xen_exchange: the XENMEM_exchange of a Xen chunk.
 */
extern u32 pvb_fail_chunk_alloc;
extern u32 pvb_fail_xen_exchange;

bool pvb_fail_countdown(u32 *knob);
int pvb_chunk_alloc(const struct pvb_backend *be, unsigned int order,
		    u64 mask, gfp_t gfp, struct pvb_chunk *c);

/**
 * pvb_backend_xen_usable() - can the xen backend run here?
 *
 * Return: true on a Xen PV guest.
 */
bool pvb_backend_xen_usable(void);

#endif /* PVBOUNCE_BACKEND_H */
