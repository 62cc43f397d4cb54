/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/bug.h>.  A WARN in the code under test is a
 * bug: it prints where and aborts, so the test binary fails.  No BUG_ON.
 */
#ifndef SHIM_LINUX_BUG_H
#define SHIM_LINUX_BUG_H

#include <linux/types.h>
#include <linux/build_bug.h>

void shim_warn(const char *file, int line, const char *cond);

#define WARN_ON(cond) ({						\
	bool __c = !!(cond);						\
	if (__c)							\
		shim_warn(__FILE__, __LINE__, #cond);			\
	__c;								\
})
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define WARN(cond, ...)		WARN_ON(cond)
#define WARN_ONCE(cond, ...)	WARN_ON(cond)

#endif
