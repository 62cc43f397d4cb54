/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/io.h>: a "physical" address is the process's
 * own virtual address, so phys_to_virt() is the identity.
 */
#ifndef SHIM_LINUX_IO_H
#define SHIM_LINUX_IO_H

#include <stdint.h>
#include <linux/types.h>

static inline void *phys_to_virt(phys_addr_t p)
{
	return (void *)(uintptr_t)p;
}

#endif
