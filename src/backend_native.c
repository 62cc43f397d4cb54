// SPDX-License-Identifier: GPL-2.0
/*
 * Native backend (bare metal, HVM): the bus address is the physical address.
 * Chunks below a limit come from the zone that covers it; for limits between
 * ZONE_DMA and ZONE_DMA32 (say 28 bits) pages above the limit are held back
 * and the allocation is retried, so the pool can still be placed low.
 */
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/dma-mapping.h>
#include <pvbounce/backend.h>

/* How many misplaced chunks one chunk_alloc() may hold back and retry past. */
#define PVB_NATIVE_MAX_REJECTS 8192

static dma_addr_t native_phys_to_bus(phys_addr_t phys)
{
	return phys;
}

static phys_addr_t native_bus_to_phys(dma_addr_t bus)
{
	return bus;
}

static bool native_range_ok(phys_addr_t phys, size_t size, u64 mask)
{
	return size && phys + size - 1 >= phys && phys + size - 1 <= mask;
}

static gfp_t zone_for(u64 mask)
{
	if (mask < DMA_BIT_MASK(32) && IS_ENABLED(CONFIG_ZONE_DMA) &&
	    mask <= DMA_BIT_MASK(24))
		return GFP_DMA;
	if (mask < DMA_BIT_MASK(64) && IS_ENABLED(CONFIG_ZONE_DMA32) &&
	    mask <= DMA_BIT_MASK(32))
		return GFP_DMA32;
	return 0;
}

static bool chunk_fits(struct page *page, unsigned int order, u64 mask)
{
	return native_range_ok(page_to_phys(page), PAGE_SIZE << order, mask);
}

/*
 * native_chunk_alloc - see struct pvb_backend.  Pages the buddy allocator
 * returns above @mask are kept aside until a fitting one turns up (or memory
 * or patience runs out), then all of them are freed.
 */
static int native_chunk_alloc(unsigned int order, u64 mask, gfp_t gfp,
			      struct pvb_chunk *c)
{
	unsigned int rejects = 0, max_rejects;
	struct page *page, *tmp;
	LIST_HEAD(held);
	int ret = -ENOMEM;

	if (order > PVB_MAX_PAGE_ORDER)
		return -EINVAL;
	/* Sleeping callers may search; atomic ones get one try. */
	max_rejects = gfpflags_allow_blocking(gfp) ? PVB_NATIVE_MAX_REJECTS : 0;
	gfp |= zone_for(mask) | __GFP_NOWARN;
	if (max_rejects)
		gfp |= __GFP_NORETRY;
	for (;;) {
		page = alloc_pages(gfp, order);
		if (!page)
			break;
		if (chunk_fits(page, order, mask)) {
			/* Zeroed here, not by __GFP_ZERO: rejects need no clearing. */
			memset(page_address(page), 0, PAGE_SIZE << order);
			c->page = page;
			c->order = order;
			c->bus = page_to_phys(page);
			ret = 0;
			break;
		}
		if (rejects++ >= max_rejects) {
			__free_pages(page, order);
			break;
		}
		list_add(&page->lru, &held);
	}
	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		__free_pages(page, order);
	}
	return ret;
}

static void native_chunk_free(struct pvb_chunk *c)
{
	__free_pages(c->page, c->order);
	c->page = NULL;
}

const struct pvb_backend pvb_backend_native = {
	.name = "native",
	.phys_to_bus = native_phys_to_bus,
	.bus_to_phys = native_bus_to_phys,
	.range_ok = native_range_ok,
	.chunk_alloc = native_chunk_alloc,
	.chunk_free = native_chunk_free,
};
