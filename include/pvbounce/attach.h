/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching devices (src/attach.c): it owns the devices= selectors, the
 * list of attached devices and the locks around them (the order is stated
 * at the top of attach.c).
 */
#ifndef PVBOUNCE_ATTACH_H
#define PVBOUNCE_ATTACH_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <pvbounce/selector.h>

struct pci_dev;

#define PVB_MAX_SELECTORS 32

extern struct mutex pvb_lock;		/* innermost: selectors, device list */
extern struct list_head pvb_devices;	/* struct pvb_device, under pvb_lock */

extern u32 pvb_fail_attach_delay_ms;	/* debugfs fail/attach_delay_ms */

void pvb_attach_recheck(struct pci_dev *pdev);
void pvb_attach_select(const struct pvb_selector *sel, unsigned int n);
int pvb_attach_init(void);
void pvb_attach_exit(void);

#endif /* PVBOUNCE_ATTACH_H */
