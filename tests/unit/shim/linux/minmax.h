/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/minmax.h> (no type checks: the kernel build has them). */
#ifndef SHIM_LINUX_MINMAX_H
#define SHIM_LINUX_MINMAX_H

#define min(x, y)	({ __typeof__(x) _x = (x); __typeof__(y) _y = (y); _x < _y ? _x : _y; })
#define max(x, y)	({ __typeof__(x) _x = (x); __typeof__(y) _y = (y); _x > _y ? _x : _y; })
#define min_t(t, x, y)	({ t _x = (x); t _y = (y); _x < _y ? _x : _y; })
#define max_t(t, x, y)	({ t _x = (x); t _y = (y); _x > _y ? _x : _y; })
#define clamp(v, lo, hi) min(max(v, lo), hi)
#define clamp_t(t, v, lo, hi) min_t(t, max_t(t, v, lo), hi)
#define swap(a, b) \
	do { __typeof__(a) _t = (a); (a) = (b); (b) = _t; } while (0)

#endif
