/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/bits.h>. */
#ifndef SHIM_LINUX_BITS_H
#define SHIM_LINUX_BITS_H

#ifndef BIT
#define BIT(nr)		(1UL << (nr))
#endif

#endif
