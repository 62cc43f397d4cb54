// SPDX-License-Identifier: GPL-2.0
/*
 * Devices pvbounce must not take (placeholder: filled in by the IOMMU work).
 */
#include <linux/pci.h>
#include <pvbounce/refuse.h>

/**
 * pvb_refuse_check() - may pvbounce give @pdev its ops?
 * @pdev: a selected device with no driver bound.
 *
 * Return: 0 if it may; a negative errno, with one logged line naming the
 * device, the reason and what to do, if it must be left alone.
 */
int pvb_refuse_check(struct pci_dev *pdev)
{
	return 0;
}
