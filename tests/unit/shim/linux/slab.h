/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/slab.h>: a counting allocator (shim.c) that
 * reports leaks at exit and can be told to fail the Nth allocation.
 */
#ifndef SHIM_LINUX_SLAB_H
#define SHIM_LINUX_SLAB_H

#include <linux/types.h>

#define GFP_KERNEL	0x1u
#define GFP_ATOMIC	0x2u
#define GFP_NOWAIT	0x4u
#define __GFP_ZERO	0x100u
#define __GFP_NOWARN	0x200u

void *shim_alloc(size_t n, size_t size, bool zero);
void shim_free(const void *p);

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	return shim_alloc(1, size, gfp & __GFP_ZERO);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc(1, size, true);
}

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return shim_alloc(n, size, gfp & __GFP_ZERO);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc(n, size, true);
}

static inline void kfree(const void *p)
{
	shim_free(p);
}

#define kvmalloc(size, gfp)		kmalloc(size, gfp)
#define kvzalloc(size, gfp)		kzalloc(size, gfp)
#define kvmalloc_array(n, size, gfp)	kmalloc_array(n, size, gfp)
#define kvcalloc(n, size, gfp)		kcalloc(n, size, gfp)
#define kvfree(p)			kfree(p)

#endif
