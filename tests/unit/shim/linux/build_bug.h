/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/build_bug.h>. */
#ifndef SHIM_LINUX_BUILD_BUG_H
#define SHIM_LINUX_BUILD_BUG_H

#undef static_assert
#define static_assert(expr, ...) __shim_static_assert(expr, ##__VA_ARGS__, #expr)
#define __shim_static_assert(expr, msg, ...) _Static_assert(expr, msg)
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

#endif
