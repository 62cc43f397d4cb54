/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/cc_platform.h>: cc_platform_has() answers from
 * shim_cc_attrs, a bit per attribute, which a test sets (0: no memory
 * encryption, as on every machine the tests run on).
 */
#ifndef SHIM_LINUX_CC_PLATFORM_H
#define SHIM_LINUX_CC_PLATFORM_H

#include <stdbool.h>

enum cc_attr {
	CC_ATTR_MEM_ENCRYPT,
	CC_ATTR_HOST_MEM_ENCRYPT,
	CC_ATTR_GUEST_MEM_ENCRYPT,
	CC_ATTR_GUEST_STATE_ENCRYPT,
	CC_ATTR_GUEST_UNROLL_STRING_IO,
	CC_ATTR_GUEST_SEV_SNP,
	CC_ATTR_HOST_SEV_SNP,
};

extern unsigned long shim_cc_attrs;

static inline bool cc_platform_has(enum cc_attr attr)
{
	return shim_cc_attrs & (1UL << attr);
}

#endif
