/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/sort.h> (the swap functions are ignored). */
#ifndef SHIM_LINUX_SORT_H
#define SHIM_LINUX_SORT_H

#include <linux/types.h>

typedef int (*cmp_func_t)(const void *a, const void *b);
typedef int (*cmp_r_func_t)(const void *a, const void *b, const void *priv);

void sort_r(void *base, size_t num, size_t size, cmp_r_func_t cmp,
	    void *swap, const void *priv);
void sort(void *base, size_t num, size_t size, cmp_func_t cmp, void *swap);

#endif
