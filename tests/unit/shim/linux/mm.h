/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/mm.h>: only the page geometry (x86-64). */
#ifndef SHIM_LINUX_MM_H
#define SHIM_LINUX_MM_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#endif
