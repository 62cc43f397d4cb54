/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/mm.h>: the page geometry (x86-64); a struct
 * page pointer is the page's own address.
 */
#ifndef SHIM_LINUX_MM_H
#define SHIM_LINUX_MM_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)

struct page;

static inline void *page_address(const struct page *page)
{
	return (void *)page;
}

/* Smallest order whose pages hold @size bytes. */
static inline int get_order(unsigned long size)
{
	int order = 0;

	size = (size - 1) >> PAGE_SHIFT;
	while (size) {
		order++;
		size >>= 1;
	}
	return order;
}

#endif
