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
/* <linux/cc_platform.h>: a bit per enum cc_attr the platform "has". */
extern unsigned long shim_cc_attrs;
/* The text of the last pr_*() message (pr_fmt prefix included). */
extern char shim_last_msg[512];

#endif
