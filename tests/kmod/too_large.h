/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A buffer one page larger than a whole segment of a device's pool, whose
 * map pvbounce refuses as too_large under force=1: the largest mapping
 * (dma_max_mapping_size()), plus the worst min_align_mask padding (a buffer
 * whose offset needs none may map up to the whole segment), plus a page.
 */
#ifndef PVBOUNCE_TEST_TOO_LARGE_H
#define PVBOUNCE_TEST_TOO_LARGE_H

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>

/*
 * pvb_too_large_pages() - pages for a map one page larger than a segment.
 * @dev: a device attached to pvbounce.
 * @n: set to the size of the map.
 * @order: set to the order of the pages (free them with __free_pages()).
 *
 * Return: the pages, or NULL: none that large (@order above the page
 * allocator's largest, or no contiguous memory).
 */
static inline struct page *pvb_too_large_pages(struct device *dev, size_t *n,
					       unsigned int *order)
{
	*n = dma_max_mapping_size(dev) +
	     ALIGN(dma_get_min_align_mask(dev), 2048) + PAGE_SIZE;
	*order = get_order(*n);
	if (*order > PVB_MAX_PAGE_ORDER)
		return NULL;
	return alloc_pages(GFP_KERNEL | __GFP_NOWARN, *order);
}

#endif /* PVBOUNCE_TEST_TOO_LARGE_H */
