/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How large a bounce pool may be.  Kernel-agnostic: the devices= parser
 * (selector.c, built into the unit tests too) and the pools share it.
 */
#ifndef PVBOUNCE_POOL_LIMITS_H
#define PVBOUNCE_POOL_LIMITS_H

/*
 * The largest pool, growth included: 16 GiB, pool_mb's and pool_max_mb's
 * maximum too.  Its metadata (a 16-byte head record and a direction byte
 * per 2 KiB slot, sized at creation for the most the pool may grow to)
 * stays below the 2 GiB a kvmalloc() may ask for (past INT_MAX it WARNs,
 * which panics a panic_on_warn machine).
 */
#define PVB_POOL_MAX_BYTES	(16ULL << 30)

#endif /* PVBOUNCE_POOL_LIMITS_H */
