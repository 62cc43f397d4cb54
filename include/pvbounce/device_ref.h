/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's lifetime (src/device_ref.c): every reference its mappings and
 * allocations hold, the module pin of a driver that left some behind, and
 * the teardown once the last one is back.  The ops (dma_ops.c) take and put
 * references; attaching (attach.c) starts and ends a device.
 */
#ifndef PVBOUNCE_DEVICE_REF_H
#define PVBOUNCE_DEVICE_REF_H

#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/percpu-refcount.h>
#include <linux/srcu.h>
#include <pvbounce/device.h>

/* pvb_device.end_mode */
#define PVB_END_LIVE	0	/* attached: the attachment holds its reference */
#define PVB_END_WAIT	1	/* a waiter in process context tears it down */
#define PVB_END_WORK	2	/* end_work tears it down (holds a module ref) */
#define PVB_END_DONE	3	/* the waiter was told */

/*
 * The ops that may sleep inside pvbounce's text (the coherent allocation,
 * mmap, get_sgtable) run inside this SRCU domain, from their first
 * instruction to their last before the return: a forced teardown and
 * module exit wait for them (src/device_ref.c, "The ops table").
 */
extern struct srcu_struct pvb_sleepers;

int pvb_dev_ref_module_init(void);
void pvb_dev_ref_module_exit(void);
int pvb_dev_ref_init(struct pvb_device *pd);
void pvb_dev_ref_exit(struct pvb_device *pd);
size_t pvb_dev_live_maps(struct pvb_device *pd);
void pvb_dev_unpin_if_done(struct pvb_device *pd, bool coherent);
void pvb_dev_unbound(struct pvb_device *pd);
bool pvb_dev_end_later(struct pvb_device *pd, const char *how);
bool pvb_dev_end_now(struct pvb_device *pd, const char *how,
		     unsigned long timeout);

/**
 * pvb_dev_get() - a reference for a new mapping or allocation.
 * @pd: device whose ops are running.
 *
 * Per-CPU while attached; fails only once the device's last reference is
 * gone (its teardown is under way): the caller then refuses.
 *
 * Return: true if a reference was taken.
 */
static inline bool pvb_dev_get(struct pvb_device *pd)
{
	return percpu_ref_tryget(&pd->ref);
}

/**
 * pvb_dev_put() - give back what pvb_dev_get() took.
 * @pd: device; it may be torn down (by a work item) once this returns, so
 *	nothing of @pd may be touched after.
 */
static inline void pvb_dev_put(struct pvb_device *pd)
{
	percpu_ref_put(&pd->ref);
}

/**
 * pvb_dev_mapped() - a bounced streaming mapping was made (its reference
 *	taken with pvb_dev_get()).
 * @pd: device.
 */
static inline void pvb_dev_mapped(struct pvb_device *pd)
{
	this_cpu_inc(*pd->live_maps);
}

/**
 * pvb_dev_unmapped() - a bounced streaming mapping the pool confirmed live
 *	was given back: its reference goes.
 * @pd: device; may be torn down once this returns.
 *
 * While an unbound driver's leftovers pin the module, the last one back
 * drops the pin (pvb_dev_unpin_if_done(), only then: one read otherwise).
 */
static inline void pvb_dev_unmapped(struct pvb_device *pd)
{
	this_cpu_dec(*pd->live_maps);
	if (unlikely(READ_ONCE(pd->pinned)))
		pvb_dev_unpin_if_done(pd, false);
	pvb_dev_put(pd);
}

/**
 * pvb_dev_get_more() - references for more mappings, holding one already.
 * @pd: device whose ops are running; the caller holds a reference.
 * @n: references to add.
 */
static inline void pvb_dev_get_more(struct pvb_device *pd, unsigned long n)
{
	percpu_ref_get_many(&pd->ref, n);
}

/**
 * pvb_dev_mapped_many() - pvb_dev_mapped() for @n mappings at once.
 * @pd: device.
 * @n: bounced mappings made, each with its reference.
 */
static inline void pvb_dev_mapped_many(struct pvb_device *pd, unsigned int n)
{
	this_cpu_add(*pd->live_maps, n);
}

/**
 * pvb_dev_unmapped_many() - pvb_dev_unmapped() for @n mappings at once.
 * @pd: device; may be torn down once this returns.
 * @n: bounced mappings the pool confirmed live and gave back.
 */
static inline void pvb_dev_unmapped_many(struct pvb_device *pd,
					 unsigned int n)
{
	this_cpu_sub(*pd->live_maps, n);
	if (unlikely(READ_ONCE(pd->pinned)))
		pvb_dev_unpin_if_done(pd, false);
	percpu_ref_put_many(&pd->ref, n);
}

#endif /* PVBOUNCE_DEVICE_REF_H */
