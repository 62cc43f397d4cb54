/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/bitops.h>: the bit operations slots.c uses. */
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

#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

/* Index of the lowest set bit; @w must not be 0. */
static inline unsigned long __ffs(unsigned long w)
{
	return __builtin_ctzl(w);
}

/* Atomic, as the kernel's. */
static inline void set_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_or(&addr[nr / BITS_PER_LONG], 1UL << (nr % BITS_PER_LONG),
			  __ATOMIC_RELAXED);
}

static inline void clear_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_and(&addr[nr / BITS_PER_LONG], ~(1UL << (nr % BITS_PER_LONG)),
			   __ATOMIC_RELAXED);
}

#endif
