// SPDX-License-Identifier: GPL-2.0
/*
 * Native backend (bare metal, HVM): the bus address is the physical address.
 * A chunk below a limit comes from the zones that can hold it, the widest
 * first: for a limit between two zone boundaries (say 28 bits, inside
 * ZONE_DMA32) the zone that spans it is tried, and the buddy allocator's
 * pages above the limit are held back while it is asked again, but only a
 * small fixed budget of them (the buddy hands out high addresses first, so
 * an unbounded search would drain the zone for everyone); then the next
 * zone down, which lies wholly below the limit, is used.
 */
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/dma-mapping.h>
#include <linux/printk.h>
#include <pvbounce/backend.h>

/*
 * Misplaced chunks one chunk_alloc() may hold back per zone: this many
 * bytes' worth, and at least PVB_NATIVE_MIN_HELD chunks.
 */
#define PVB_NATIVE_HELD_BYTES	(16UL << 20)
#define PVB_NATIVE_MIN_HELD	4U

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
	return pvb_native_range_ok(phys, size, mask);
}

/* A zone to take chunks from, and whether all of it lies below the limit. */
struct native_zone {
	gfp_t gfp;
	const char *name;
	bool all_below;
};

/*
 * The zones to try for @mask, widest first, into @z; the last one (if any)
 * lies wholly below @mask on x86 (ZONE_DMA: 16 MiB, ZONE_DMA32: 4 GiB).
 * Return: how many.
 */
static unsigned int zones_for(u64 mask, struct native_zone z[3])
{
	bool dma = IS_ENABLED(CONFIG_ZONE_DMA);
	bool dma32 = IS_ENABLED(CONFIG_ZONE_DMA32);
	unsigned int n = 0;

	if (mask > DMA_BIT_MASK(32) || (!dma32 && mask > DMA_BIT_MASK(24)))
		z[n++] = (struct native_zone){ 0, "Normal", mask == U64_MAX };
	if (dma32 && mask > DMA_BIT_MASK(24))
		z[n++] = (struct native_zone){ GFP_DMA32, "DMA32",
					       mask >= DMA_BIT_MASK(32) };
	if (dma)
		z[n++] = (struct native_zone){ GFP_DMA, "DMA",
					       mask >= DMA_BIT_MASK(24) };
	return n;
}

static bool chunk_fits(struct page *page, unsigned int order, u64 mask)
{
	return native_range_ok(page_to_phys(page), PAGE_SIZE << order, mask);
}

/*
 * One zone: a fitting chunk, holding back up to @budget misplaced ones
 * meanwhile (all freed before returning).  *@held says how many were.
 */
static struct page *zone_alloc(gfp_t gfp, unsigned int order, u64 mask,
			       unsigned int budget, unsigned int *held)
{
	struct page *page, *tmp, *found = NULL;
	LIST_HEAD(list);

	*held = 0;
	for (;;) {
		page = alloc_pages(gfp, order);
		if (!page)
			break;
		if (chunk_fits(page, order, mask)) {
			found = page;
			break;
		}
		if (*held >= budget) {
			__free_pages(page, order);
			break;
		}
		list_add(&page->lru, &list);
		(*held)++;
	}
	list_for_each_entry_safe(page, tmp, &list, lru) {
		list_del(&page->lru);
		__free_pages(page, order);
	}
	return found;
}

/*
 * native_chunk_alloc - see struct pvb_backend.  Sleeping callers may hold
 * back a budget of misplaced chunks per zone; atomic ones get one try per
 * zone.  What a sleeping caller's search had to pass over, where it found
 * the chunk, or that it found none, is logged.
 */
static int native_chunk_alloc(unsigned int order, u64 mask, gfp_t gfp,
			      struct pvb_chunk *c)
{
	unsigned int i, n, budget, held, total = 0;
	struct native_zone z[3];
	struct page *page = NULL;

	if (order > PVB_MAX_PAGE_ORDER)
		return -EINVAL;
	budget = 0;
	if (gfpflags_allow_blocking(gfp)) {
		budget = max_t(unsigned int, PVB_NATIVE_MIN_HELD,
			       PVB_NATIVE_HELD_BYTES >> (PAGE_SHIFT + order));
		gfp |= __GFP_NORETRY;
	}
	gfp = (gfp & ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM)) | __GFP_NOWARN;
	n = zones_for(mask, z);
	for (i = 0; i < n && !page; i++) {
		page = zone_alloc(gfp | z[i].gfp, order, mask,
				  z[i].all_below ? 0 : budget, &held);
		total += held;
		if (held)
			pr_info_ratelimited("native: order %u chunk below %#llx: ZONE_%s gave %u chunks above it (held, then freed)%s\n",
					    order, mask, z[i].name, held,
					    page ? "; found one" :
					    i + 1 < n ? "; trying the next zone down" : "");
		else if (page && i && budget)
			pr_info_ratelimited("native: order %u chunk below %#llx taken from ZONE_%s\n",
					    order, mask, z[i].name);
	}
	if (!page) {
		/* Atomic callers have a fallback and say so themselves. */
		if (budget)
			pr_info_ratelimited("native: no order %u chunk below %#llx in ZONE_%s%s (%u misplaced chunks passed over)\n",
					    order, mask, n ? z[0].name : "-",
					    n > 1 ? " or below" : "", total);
		return -ENOMEM;
	}
	/* Zeroed here, not by __GFP_ZERO: misplaced chunks need no clearing. */
	memset(page_address(page), 0, PAGE_SIZE << order);
	c->page = page;
	c->order = order;
	c->bus = page_to_phys(page);
	return 0;
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
