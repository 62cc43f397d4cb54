/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/math.h>. */
#ifndef SHIM_LINUX_MATH_H
#define SHIM_LINUX_MATH_H

#define __round_mask(x, y)	((__typeof__(x))((y) - 1))
#define round_up(x, y)		((((x) - 1) | __round_mask(x, y)) + 1)
#define round_down(x, y)	((x) & ~__round_mask(x, y))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define roundup(x, y)		((((x) + ((y) - 1)) / (y)) * (y))
#define rounddown(x, y)		((x) - ((x) % (y)))

#endif
