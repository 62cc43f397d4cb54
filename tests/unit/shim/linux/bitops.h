/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/bitops.h>: the bit searches slots.c uses. */
#ifndef SHIM_LINUX_BITOPS_H
#define SHIM_LINUX_BITOPS_H

#include <linux/types.h>

/* Index of the lowest set bit; @w must not be 0. */
static inline unsigned int __ffs64(u64 w)
{
	return __builtin_ctzll(w);
}

/* 1 + index of the highest set bit, or 0 for 0. */
static inline int fls64(u64 w)
{
	return w ? 64 - __builtin_clzll(w) : 0;
}

#endif
