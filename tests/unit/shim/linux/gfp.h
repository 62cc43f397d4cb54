/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/gfp.h>: the flags live in the slab shim. */
#ifndef SHIM_LINUX_GFP_H
#define SHIM_LINUX_GFP_H

#include <linux/slab.h>

#endif
