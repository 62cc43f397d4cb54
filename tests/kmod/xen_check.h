/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Independent check of Xen PV bounce memory for the test module: reads the
 * guest's p2m, Xen's M2P and the live page tables itself and maps machine
 * frames by machine frame number, never asking pvbounce.
 */
#ifndef PVBT_XEN_CHECK_H
#define PVBT_XEN_CHECK_H

#include <linux/types.h>

bool pvbt_xen_active(void);
int pvbt_xen_check_range(void *cpu, dma_addr_t bus, size_t size,
			 char *why, size_t len);
dma_addr_t pvbt_xen_phys_to_bus(phys_addr_t phys);
void *pvbt_xen_dev_view(dma_addr_t bus, size_t size);
u64 pvbt_xen_ram_last_bus(void);

#endif /* PVBT_XEN_CHECK_H */
