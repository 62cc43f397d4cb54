/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/dma-mapping.h>: what pvbounce's headers name. */
#ifndef SHIM_LINUX_DMA_MAPPING_H
#define SHIM_LINUX_DMA_MAPPING_H

#include <linux/types.h>
#include <linux/dma-direction.h>

struct device;

static inline unsigned long dma_get_seg_boundary(struct device *dev)
{
	return ~0UL;
}

#endif
