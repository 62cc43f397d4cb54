// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace shim runtime: the counting allocator behind <linux/slab.h>,
 * WARN and sort.
 *
 * Every allocation is counted; at exit a leak fails the test binary.
 * shim_fail_nth(n) makes the nth allocation from now fail (1 = the next
 * one), so init error paths can be walked one by one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include "shim.h"

static long live;		/* allocations not yet freed */
static unsigned long total;	/* allocations ever made */
static long fail_in;		/* fail when this counts down to 0 */
static unsigned long failed;	/* allocations refused */

unsigned long shim_cc_attrs;
void (*shim_lock_hook)(spinlock_t *l);
char shim_last_msg[512];

void *shim_alloc(size_t n, size_t size, bool zero)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	if (__atomic_load_n(&fail_in, __ATOMIC_RELAXED) > 0 &&
	    __atomic_sub_fetch(&fail_in, 1, __ATOMIC_RELAXED) == 0) {
		__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	/* Cache-line aligned like kmalloc of such objects, for UBSan. */
	if (posix_memalign(&p, 64, bytes ? bytes : 1))
		return NULL;
	memset(p, zero ? 0 : 0xa5, bytes);
	__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total, 1, __ATOMIC_RELAXED);
	return p;
}

void shim_free(const void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	free((void *)p);
}

void shim_fail_nth(long n)
{
	__atomic_store_n(&fail_in, n, __ATOMIC_RELAXED);
}

long shim_live_allocs(void)
{
	return __atomic_load_n(&live, __ATOMIC_RELAXED);
}

unsigned long shim_total_allocs(void)
{
	return __atomic_load_n(&total, __ATOMIC_RELAXED);
}

unsigned long shim_failed_allocs(void)
{
	return __atomic_load_n(&failed, __ATOMIC_RELAXED);
}

void shim_warn(const char *file, int line, const char *cond)
{
	fprintf(stderr, "# WARNING at %s:%d: %s\n", file, line, cond);
	fflush(NULL);
	abort();
}

static void report_leaks(void)
{
	long n = shim_live_allocs();

	if (n) {
		printf("# shim: %ld allocation(s) leaked\n", n);
		fflush(NULL);
		_exit(99);
	}
}

__attribute__((constructor)) static void shim_setup(void)
{
	atexit(report_leaks);
}

/* Insertion sort: stable, and our tables are small. */
void sort_r(void *base, size_t num, size_t size, cmp_r_func_t cmp,
	    void *swap, const void *priv)
{
	char *b = base;
	char tmp[256];
	size_t i, j;

	(void)swap;
	if (size > sizeof(tmp))
		abort();
	for (i = 1; i < num; i++) {
		memcpy(tmp, b + i * size, size);
		for (j = i; j > 0 && cmp(b + (j - 1) * size, tmp, priv) > 0; j--)
			memcpy(b + j * size, b + (j - 1) * size, size);
		memcpy(b + j * size, tmp, size);
	}
}

static int cmp_plain(const void *a, const void *b, const void *priv)
{
	return ((cmp_func_t)priv)(a, b);
}

void sort(void *base, size_t num, size_t size, cmp_func_t cmp, void *swap)
{
	sort_r(base, num, size, cmp_plain, swap, (const void *)cmp);
}
