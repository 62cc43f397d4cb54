/* SPDX-License-Identifier: GPL-2.0 */
/* Test-side controls of the userspace shim (shim.c). */
#ifndef SHIM_H
#define SHIM_H

/* Make the nth allocation from now fail (1 = the next); 0 = never. */
void shim_fail_nth(long n);
/* Allocations made and not yet freed. */
long shim_live_allocs(void);
/* Allocations ever made, and ever refused by shim_fail_nth(). */
unsigned long shim_total_allocs(void);
unsigned long shim_failed_allocs(void);

#endif
