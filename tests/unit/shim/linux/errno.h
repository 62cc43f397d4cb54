/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/errno.h>: the UAPI values (glibc's <errno.h>
 * includes <linux/errno.h> too, so this must stay a superset of it).
 */
#ifndef SHIM_LINUX_ERRNO_H
#define SHIM_LINUX_ERRNO_H

#include_next <linux/errno.h>
#include <errno.h>

#ifndef ENOTSUPP
#define ENOTSUPP	524
#endif

#endif
