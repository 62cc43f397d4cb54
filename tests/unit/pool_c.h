/* SPDX-License-Identifier: GPL-2.0 */
/*
 * src/pool.c built in userspace against the shim, for the t_pool_*.c tests:
 * pool_grow.c's calls are stubs, as for a pool of fixed size.  Included
 * once, by one test program.
 */
#ifndef PVB_TEST_POOL_C_H
#define PVB_TEST_POOL_C_H

#include "slots_test.h"
/* The kernel's u64 is unsigned long long, the shim's unsigned long. */
#pragma GCC diagnostic ignored "-Wformat"
#include <linux/bug.h>
#include "../../src/pool.c"
#pragma GCC diagnostic warning "-Wformat"

DEFINE_STATIC_KEY_FALSE(pvb_grow_key);

void pvb_pool_grow_note(struct pvb_pool *p, int ret)
{
}

bool pvb_pool_growing(const struct pvb_pool *p)
{
	return false;
}

int pvb_pool_grow_init(struct pvb_pool *p, size_t max_bytes)
{
	return 0;
}

void pvb_pool_grow_start(struct pvb_pool *p)
{
}

void pvb_pool_grow_exit(struct pvb_pool *p)
{
}

unsigned int pvb_pool_max_slabs(const struct pvb_pool *p)
{
	return p->slots.max_slabs;
}

#endif
