/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices pvbounce must not take: behind a translating IOMMU, or already on
 * somebody else's DMA ops (see ../shared/CONTRACT.md, "Devices pvbounce
 * refuses").
 */
#ifndef PVBOUNCE_REFUSE_H
#define PVBOUNCE_REFUSE_H

struct pci_dev;

int pvb_refuse_check(struct pci_dev *pdev);

#endif /* PVBOUNCE_REFUSE_H */
