/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/ctype.h>. */
#ifndef SHIM_LINUX_CTYPE_H
#define SHIM_LINUX_CTYPE_H

#include <ctype.h>

#endif
