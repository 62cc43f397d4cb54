/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices pvbounce must not take: behind a translating IOMMU, already on
 * somebody else's DMA ops (see ../shared/CONTRACT.md, "Devices pvbounce
 * refuses"), or with DMA that is not cache-coherent.
 */
#ifndef PVBOUNCE_REFUSE_H
#define PVBOUNCE_REFUSE_H

#include <linux/types.h>

struct pci_dev;

/*
 * Fault injection for tests, debugfs fail/noncoherent (0600): N makes the
 * Nth device checked from now count as not cache-coherent; 0 (the
 * default) is off.
 */
extern u32 pvb_fail_noncoherent;

int pvb_refuse_check(struct pci_dev *pdev);

#endif /* PVBOUNCE_REFUSE_H */
