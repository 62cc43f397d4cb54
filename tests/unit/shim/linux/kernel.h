/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/kernel.h>. */
#ifndef SHIM_LINUX_KERNEL_H
#define SHIM_LINUX_KERNEL_H

#include <stdio.h>
#include <linux/types.h>
#include <linux/limits.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/log2.h>
#include <linux/build_bug.h>
#include <linux/printk.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

#endif
