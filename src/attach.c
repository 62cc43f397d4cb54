// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing devices: the devices= selectors are matched against the PCI
 * devices present at load, against hot-plugged ones (PCI bus notifier, before
 * their driver probes) and again when devices= is written at run time.  A
 * matching device without a driver gets its own copy of pvbounce's ops; one
 * with a driver is left alone unless rebind=1.
 *
 * Locking, the whole of it: pvb_scan_lock, then a device's lock, then
 * pvb_lock.  pvb_lock is innermost: nothing takes another lock while holding
 * it but a device's coh_lock, a spinlock around its list of coherent
 * allocations.  pvb_lock guards the selectors, pvb_ready and the list of attached
 * devices; a device is attached or detached only with its own lock and
 * pvb_lock held, so the decision "no driver is bound" stays true while it is
 * acted on.  pvb_scan_lock serialises the passes over the whole bus (load,
 * devices= writes, unload); pvb_ready is written holding both it and
 * pvb_lock, so either one is enough to read it.  The bus notifier takes a
 * device's lock (ADD/REMOVED) or runs under it (BIND/UNBOUND) and then only
 * pvb_lock: an SR-IOV PF's lock may be held while its VFs are added, which
 * is why nothing that holds pvb_lock ever waits for a device.  A device
 * removed from the bus leaves the list under both locks; if its driver still
 * held coherent memory, the last dma_free_coherent() ends it later with no
 * lock held (finish_departed(): nothing else can reach it then).  detach()
 * removes a device's debugfs and sysfs files under pvb_lock, which waits
 * for their readers: so no per-device file may take pvb_lock (only the
 * top-level debugfs "devices" does, and it goes after every detach).
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <pvbounce/attach.h>
#include <pvbounce/device.h>
#include <pvbounce/log.h>
#include <pvbounce/pvbounce.h>
#include <pvbounce/refuse.h>

static DEFINE_MUTEX(pvb_scan_lock);
DEFINE_MUTEX(pvb_lock);
LIST_HEAD(pvb_devices);

static struct pvb_selector selectors[PVB_MAX_SELECTORS];	/* pvb_lock */
static unsigned int nselectors;					/* pvb_lock */
static bool pvb_ready;				/* pvb_scan_lock + pvb_lock */

/* debugfs fail/attach_delay_ms: milliseconds, 0 off (tests only). */
u32 pvb_fail_attach_delay_ms;

/*
 * Sleep where a race with another path would have its window if the locking
 * were wrong (tests widen the windows through fail/attach_delay_ms): before a
 * devices= write takes any lock, in unload between the notifier's removal and
 * the decisions, in a hot-plug before the device's lock.
 */
static void race_window(void)
{
	u32 ms = READ_ONCE(pvb_fail_attach_delay_ms);

	if (unlikely(ms))
		msleep(ms);
}

static struct pvb_device *find_attached(struct pci_dev *pdev)
	__must_hold(&pvb_lock)
{
	struct pvb_device *pd;

	lockdep_assert_held(&pvb_lock);
	list_for_each_entry(pd, &pvb_devices, node)
		if (pd->pdev == pdev)
			return pd;
	return NULL;
}

static const struct pvb_selector *match(struct pci_dev *pdev)
	__must_hold(&pvb_lock)
{
	unsigned int i;

	lockdep_assert_held(&pvb_lock);
	for (i = 0; i < nselectors; i++)
		if (pvb_selector_match(&selectors[i], pci_domain_nr(pdev->bus),
				       pdev->bus->number, pdev->devfn,
				       pdev->vendor, pdev->device))
			return &selectors[i];
	return NULL;
}

/* Give @pdev (locked, no driver bound) pvbounce's ops. */
static int attach(struct pci_dev *pdev, const struct pvb_selector *s)
	__must_hold(&pvb_lock)
{
	struct pvb_device *pd;
	int ret;

	ret = pvb_refuse_check(pdev);
	if (ret)
		return ret;
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		goto err_nomem;
	pd->stats = alloc_percpu(struct pvb_dev_stats);
	if (!pd->stats)
		goto err_nomem_pd;
	pd->pool_request = s->pool_bytes;
	if (s->pool_bytes) {
		/* pool_max_mb lets a private pool grow to 4x its @size. */
		ret = pvb_pool_create(&pd->private_pool, pci_name(pdev),
				      pvb_cfg.backend, s->pool_bytes,
				      READ_ONCE(pvb_pool_max_mb) ? 4 * s->pool_bytes : 0,
				      pvb_cfg.seg_size, pvb_cfg.limit_mask);
		if (ret) {
			pvb_dev_err(pdev, "not attached: private pool of %llu KiB failed (%d)\n",
				    s->pool_bytes >> 10, ret);
			goto err_stats;
		}
		pvb_pool_set_poison(&pd->private_pool, pvb_cfg.poison);
		pd->has_private = true;
		pd->pool = &pd->private_pool;
	} else {
		pd->pool = &pvb_common_pool;
	}
	pvb_dma_ops_init(&pd->ops);
	spin_lock_init(&pd->coh_lock);
	INIT_LIST_HEAD(&pd->coh_list);
	atomic_set(&pd->coh_refs, 1);
	pd->pdev = pci_dev_get(pdev);
	pd->old_ops = pdev->dev.dma_ops;
	set_dma_ops(&pdev->dev, &pd->ops);
	pvb_dev_force_sync(&pdev->dev);
	list_add_tail(&pd->node, &pvb_devices);
	pvb_debugfs_add_device(pd);
	if (pvb_sysfs_add_device(pd))
		pvb_dev_warn(pdev, "no /sys/kernel/pvbounce/%s/ counters\n",
			     pci_name(pdev));
	pvb_dev_info(pdev, "attached: %s pool, %zu KiB%s\n",
		     pd->has_private ? "private" : "common",
		     pvb_pool_bytes(pd->pool) >> 10,
		     pvb_cfg.force ? ", every mapping bounced" : "");
	return 0;

err_stats:
	free_percpu(pd->stats);
	kfree(pd);
	return ret;

err_nomem_pd:
	kfree(pd);
err_nomem:
	pvb_dev_err(pdev, "not attached: out of memory for its state\n");
	return -ENOMEM;
}

/*
 * The end of every attached device, once it is off the list and out of
 * debugfs and sysfs: its old ops back, its private pool and state freed,
 * @how logged.
 */
static void release(struct pvb_device *pd, const char *how)
{
	struct pci_dev *pdev = pd->pdev;

	/*
	 * Someone replaced our ops while the device was unbound (on 6.1,
	 * writing its iommu_group type installs the IOMMU's): theirs stay.
	 */
	if (get_dma_ops(&pdev->dev) == &pd->ops)
		set_dma_ops(&pdev->dev, pd->old_ops);
	else
		pvb_dev_warn(pdev, "DMA ops changed while attached (to %ps): left as they are\n",
			     get_dma_ops(&pdev->dev));
	if (pd->has_private)
		pvb_pool_destroy(&pd->private_pool);
	pvb_dev_info(pdev, "%s\n", how);
	free_percpu(pd->stats);
	kfree(pd);
	pci_dev_put(pdev);
}

/*
 * Give a device (locked, no driver bound) its old ops back and forget it.
 * Memory a departed driver left allocated is not freed: the device may still
 * write it.  It is leaked, and said so.
 */
static void detach(struct pvb_device *pd)
	__must_hold(&pvb_lock)
{
	unsigned int left;

	list_del(&pd->node);
	pvb_sysfs_remove_device(pd);
	pvb_debugfs_remove_device(pd);
	left = pvb_coherent_forget_all(pd);
	if (left)
		pvb_dev_err(pd->pdev, "%u coherent allocations left by the driver: leaked, not freed, since the device may still write them\n",
			    left);
	/*
	 * A free already past the list (not forgotten) still uses @pd until
	 * it puts its reference, a matter of microseconds; the forgotten
	 * ones keep theirs for good.  (Bounded: an allocation racing the
	 * detach, a caller's bug, would never put its own.)
	 */
	wait_var_event_timeout(&pd->coh_refs, pvb_coherent_live(pd) <= left,
			       HZ);
	release(pd, "detached");
}

/* The end of a device that departed: its old ops back, its state freed. */
static void finish_departed(struct pvb_device *pd)
{
	release(pd, pd->held_coherent ?
		"last coherent allocation of the removed device freed: detached" :
		"detached");
	/*
	 * The reference detach_removed() took.  What is left of this module's
	 * code after it is two returns, against the whole of an rmmod before
	 * the module's memory goes: the usual window of a reference that
	 * module code drops itself.
	 */
	module_put(THIS_MODULE);
}

/**
 * pvb_coherent_unref() - drop a reference of a device's coherent memory.
 * @pd: device; one of its coherent allocations was just given back.
 *
 * While a device is attached its attachment holds a reference too, so this
 * only counts.  For a device removed from the bus while its driver still
 * held coherent memory (detach_removed()), the last allocation given back
 * ends it: old ops restored, state freed, module reference dropped.
 *
 * Context: as dma_free_coherent() (process context).  @pd may be gone on
 * return.
 */
void pvb_coherent_unref(struct pvb_device *pd)
{
	/*
	 * wake_up_var() only hashes the address: harmless if a departed
	 * device was freed meanwhile.  The fully ordered decrement pairs
	 * with the waiter's check (coherent_wait_back()).
	 */
	if (atomic_dec_and_test(&pd->coh_refs))
		finish_departed(pd);
	else
		wake_up_var(&pd->coh_refs);
}

/*
 * How long unload waits for the coherent memory of a driver it released (or
 * that went just before) to come back.  A driver's teardown may end in a
 * work item after its remove(): 6.1's nvme frees its doorbell buffers when
 * the controller's last reference goes, which a failed probe's removal work
 * holds for a moment, and a process with the disk open for as long as it
 * keeps it.
 */
#define PVB_UNLOAD_COHERENT_WAIT	(5 * HZ)

/*
 * Wait (no lock of the device held: the driver's own teardown may take it)
 * until @pd's coherent allocations are all back or @deadline passes.
 */
static void coherent_wait_back(struct pvb_device *pd, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	if (left > 0)
		wait_var_event_timeout(&pd->coh_refs, !pvb_coherent_live(pd),
				       left);
}

/*
 * A device that left the bus (its driver is gone, under its lock).  Coherent
 * memory the driver still holds is freed later, when the last reference to
 * the driver's own state goes (nvme frees its doorbell buffers when a
 * process that had the disk open closes it): that must come back through
 * pvbounce's ops, which know where the memory came from, not through the old
 * ops.  So such a device keeps our ops, and the module a reference, until
 * the last allocation is freed; it leaves the list (and debugfs, sysfs) now,
 * so a device plugged in at the same address is a new one.
 */
static void detach_removed(struct pvb_device *pd)
	__must_hold(&pvb_lock)
{
	struct pci_dev *pdev = pd->pdev;
	unsigned long flags;
	size_t left;

	/* Unloading: the module cannot wait for the driver; as before. */
	if (!try_module_get(THIS_MODULE)) {
		detach(pd);
		return;
	}
	list_del(&pd->node);
	pvb_sysfs_remove_device(pd);
	pvb_debugfs_remove_device(pd);
	spin_lock_irqsave(&pd->coh_lock, flags);
	left = list_count_nodes(&pd->coh_list);
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	if (left) {
		pd->held_coherent = true;
		pvb_dev_info(pdev, "removed while its driver still holds %zu coherent allocations: they go back through pvbounce's ops when freed (pvbounce stays loaded until then)\n",
			     left);
	}
	/*
	 * The attachment's reference.  The count, not the list, decides: a
	 * free running on another CPU has left the list but still uses @pd
	 * until it puts its reference.
	 */
	pvb_coherent_unref(pd);
}

/*
 * Is @pdev still on the PCI bus?  A pass over the bus may hold a reference to
 * a device that was removed (and detached) while the pass waited for its
 * lock: it must not be attached again.  The driver core takes a device off
 * the bus list before BUS_NOTIFY_REMOVED_DEVICE and puts it on before
 * BUS_NOTIFY_ADD_DEVICE.
 */
static bool on_bus(struct pci_dev *pdev)
{
	struct pci_dev *p;

	p = pci_get_domain_bus_and_slot(pci_domain_nr(pdev->bus),
					pdev->bus->number, pdev->devfn);
	pci_dev_put(p);
	return p == pdev;
}

/*
 * Bring @pdev (locked) in line with the selectors: attach it if it matches
 * and has no driver, detach it if it has no driver and its selector went away
 * or asks for another pool.  @quiet_if_bound: no message for a bound match.
 */
static void reconsider(struct pci_dev *pdev, bool quiet_if_bound)
	__must_hold(&pvb_lock)
{
	const struct pvb_selector *s;
	struct pvb_device *pd;

	lockdep_assert_held(&pvb_lock);
	device_lock_assert(&pdev->dev);
	if (!pvb_ready)
		return;
	s = match(pdev);
	pd = find_attached(pdev);
	if (pdev->dev.driver) {
		if (s && !pd && !quiet_if_bound)
			pvb_dev_warn(pdev, "driver %s is bound: left alone (unbind it first, or load with rebind=1)\n",
				     pdev->dev.driver->name);
		return;
	}
	if (pd && (!s || s->pool_bytes != pd->pool_request)) {
		size_t left = pvb_coherent_live(pd);

		/*
		 * Frees of a gone driver's memory must still find our ops;
		 * the next devices= write or the unload detaches it.
		 */
		if (left) {
			pvb_dev_warn(pdev, "%zu coherent allocations of its last driver are still out: stays attached until they are freed and devices= is written again\n",
				     left);
			return;
		}
		detach(pd);
		pd = NULL;
	}
	if (s && !pd && on_bus(pdev))
		attach(pdev, s);
}

/* reconsider() with the locks taken in order. */
static void reconsider_locked(struct pci_dev *pdev, bool quiet_if_bound)
{
	device_lock(&pdev->dev);
	mutex_lock(&pvb_lock);
	reconsider(pdev, quiet_if_bound);
	mutex_unlock(&pvb_lock);
	device_unlock(&pdev->dev);
}

/* A bound driver may hold mappings: pin the module while it is bound. */
static void driver_bound(struct pci_dev *pdev, struct pvb_device *pd)
{
	if (pvb_cfg.rebind || pd->holds_module_ref)
		return;
	if (try_module_get(THIS_MODULE)) {
		pd->holds_module_ref = true;
		pvb_dev_info(pdev, "driver %s bound: pvbounce cannot be unloaded until it is unbound\n",
			     pdev->dev.driver->name);
	}
}

static int bus_notify(struct notifier_block *nb, unsigned long action,
		      void *data)
{
	struct device *dev = data;
	struct pci_dev *pdev = to_pci_dev(dev);
	struct pvb_device *pd;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		/* Before the driver probes: the device's lock is free. */
		race_window();
		reconsider_locked(pdev, false);
		break;
	case BUS_NOTIFY_BIND_DRIVER:
		/* Under the device's lock, before probe. */
		if (pvb_is_our_ops(dev->dma_ops))
			driver_bound(pdev, pvb_dev_of(dev));
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
	case BUS_NOTIFY_DRIVER_NOT_BOUND:
		/*
		 * Under the device's lock: the driver is gone (UNBOUND) or
		 * its probe failed (NOT_BOUND, sent while dev->driver is
		 * still set, so reconsider() leaves the device as it is).
		 */
		if (!pvb_is_our_ops(dev->dma_ops))
			break;
		pd = pvb_dev_of(dev);
		if (action == BUS_NOTIFY_UNBOUND_DRIVER) {
			size_t left = pvb_coherent_pin(pd);

			if (left)
				pvb_dev_info(pdev, "driver unbound while %zu of its coherent allocations are still out (e.g. a disk still open): pvbounce stays loaded and attached until they are freed\n",
					     left);
		}
		if (pd->holds_module_ref) {
			pd->holds_module_ref = false;
			module_put(THIS_MODULE);
		}
		/* A devices= change made while it was bound applies now. */
		mutex_lock(&pvb_lock);
		reconsider(pdev, false);
		mutex_unlock(&pvb_lock);
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		device_lock(dev);
		mutex_lock(&pvb_lock);
		pd = find_attached(pdev);
		if (pd)
			detach_removed(pd);
		mutex_unlock(&pvb_lock);
		device_unlock(dev);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block pvb_nb = {
	.notifier_call = bus_notify,
};

/* Every PCI device, each decided under its lock. */
static void scan(bool quiet_if_bound)
	__must_hold(&pvb_scan_lock)
{
	struct pci_dev *pdev = NULL;

	lockdep_assert_held(&pvb_scan_lock);
	for_each_pci_dev(pdev)
		reconsider_locked(pdev, quiet_if_bound);
}

static bool matches(struct pci_dev *pdev)
{
	bool ret;

	mutex_lock(&pvb_lock);
	ret = match(pdev) && !find_attached(pdev);
	mutex_unlock(&pvb_lock);
	return ret;
}

/*
 * With rebind=1, release the drivers of matching bound devices, attach, and
 * probe again so that the drivers come back on pvbounce's ops.
 */
static void rebind_bound(void)
	__must_hold(&pvb_scan_lock)
{
	struct pci_dev *pdev = NULL;

	for_each_pci_dev(pdev) {
		const struct device_driver *drv = READ_ONCE(pdev->dev.driver);

		if (!drv || !matches(pdev) || pvb_refuse_check(pdev))
			continue;
		pvb_dev_info(pdev, "rebinding driver %s onto pvbounce\n",
			     drv->name);
		device_release_driver(&pdev->dev);
		reconsider_locked(pdev, false);
		if (device_attach(&pdev->dev) <= 0)	/* 0: no driver bound */
			pvb_dev_err(pdev, "driver did not bind again\n");
	}
}

/**
 * pvb_attach_select() - take a new devices= list and apply it.
 * @sel: parsed selectors.
 * @n: how many.
 *
 * Before load (parameters on the insmod line) the list is only kept; once
 * the module is up, unbound devices are attached or detached at once, and
 * bound ones when their driver goes.  After unload has begun, nothing
 * happens (a write racing rmmod).
 *
 * Context: process; takes pvb_scan_lock and device locks.
 */
void pvb_attach_select(const struct pvb_selector *sel, unsigned int n)
{
	race_window();
	mutex_lock(&pvb_scan_lock);
	mutex_lock(&pvb_lock);
	memcpy(selectors, sel, n * sizeof(*sel));
	nselectors = n;
	mutex_unlock(&pvb_lock);
	if (pvb_ready)
		scan(false);
	mutex_unlock(&pvb_scan_lock);
}

/**
 * pvb_attach_init() - attach present devices and watch for new ones.
 *
 * Return: 0 or the notifier registration's error.
 */
int pvb_attach_init(void)
{
	int ret;

	mutex_lock(&pvb_scan_lock);
	mutex_lock(&pvb_lock);
	pvb_ready = true;
	mutex_unlock(&pvb_lock);
	ret = bus_register_notifier(&pci_bus_type, &pvb_nb);
	if (ret) {
		pr_err("cannot watch the PCI bus (%d)\n", ret);
		mutex_lock(&pvb_lock);
		pvb_ready = false;
		mutex_unlock(&pvb_lock);
		goto out;
	}
	scan(pvb_cfg.rebind);
	if (pvb_cfg.rebind)
		rebind_bound();
out:
	mutex_unlock(&pvb_scan_lock);
	return ret;
}

/*
 * Detach @pdev, releasing a driver bound to it first (probed again after).
 * Coherent memory still out once no driver is bound is waited for, up to
 * PVB_UNLOAD_COHERENT_WAIT: its frees must reach the ops that made it.
 * @pdev's pvb_device cannot go meanwhile: with pvb_ready cleared and the
 * notifier gone, only this path detaches.  The wait holds pvb_scan_lock,
 * which no free of coherent memory takes.  The 5 s are counted once per
 * device: a driver bound again during the wait (by whoever binds it in a
 * loop) is released, and what it leaves after the deadline is leaked, so
 * that unload ends.
 */
static void detach_for_unload(struct pci_dev *pdev)
	__must_hold(&pvb_scan_lock)
{
	unsigned long deadline = 0;
	struct pvb_device *pd;
	bool released = false, waited = false;
	size_t left;

	for (;;) {
		device_lock(&pdev->dev);
		if (pdev->dev.driver) {
			device_unlock(&pdev->dev);
			device_release_driver(&pdev->dev);
			released = true;
			continue;
		}
		mutex_lock(&pvb_lock);
		pd = find_attached(pdev);
		left = pd ? pvb_coherent_live(pd) : 0;
		if (!left || (waited && time_after_eq(jiffies, deadline)))
			break;
		mutex_unlock(&pvb_lock);
		device_unlock(&pdev->dev);
		if (!waited) {
			/* from now: the driver's remove may have been slow */
			deadline = jiffies + PVB_UNLOAD_COHERENT_WAIT;
			waited = true;
			pvb_dev_info(pdev, "unloading: waiting up to %d s for the %zu coherent allocations its driver still holds\n",
				     PVB_UNLOAD_COHERENT_WAIT / HZ, left);
		}
		coherent_wait_back(pd, deadline);
	}
	if (pd) {
		/* rebind=1, a disk still open: cannot wait longer (README) */
		if (left)
			pvb_dev_err(pdev, "unloading while the released driver still holds %zu coherent allocations (a disk still open?): freed later, they reach the old DMA ops\n",
				    left);
		else if (waited)
			pvb_dev_info(pdev, "unloading: the driver's coherent allocations came back\n");
		detach(pd);
	}
	mutex_unlock(&pvb_lock);
	device_unlock(&pdev->dev);
	if (released && device_attach(&pdev->dev) <= 0)	/* 0: no driver bound */
		pvb_dev_err(pdev, "driver did not bind again\n");
}

/**
 * pvb_attach_exit() - give every attached device its old ops back.
 *
 * First stops new entries (pvb_ready cleared, notifier gone: devices= writes
 * and hot-plugs attach nothing more), then decides each attached device
 * under its lock.  A driver is normally only still bound with rebind=1
 * (otherwise it pins the module), or if it probed while unload began; it is
 * released and probed again on the old ops.
 */
void pvb_attach_exit(void)
{
	struct pvb_device *pd;
	struct pci_dev *pdev;

	mutex_lock(&pvb_scan_lock);
	mutex_lock(&pvb_lock);
	pvb_ready = false;
	mutex_unlock(&pvb_lock);
	bus_unregister_notifier(&pci_bus_type, &pvb_nb);
	race_window();
	for (;;) {
		mutex_lock(&pvb_lock);
		pd = list_first_entry_or_null(&pvb_devices, struct pvb_device,
					      node);
		pdev = pd ? pci_dev_get(pd->pdev) : NULL;
		mutex_unlock(&pvb_lock);
		if (!pdev)
			break;
		detach_for_unload(pdev);
		pci_dev_put(pdev);
	}
	mutex_unlock(&pvb_scan_lock);
}
