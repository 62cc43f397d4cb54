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
 * allocations and its pin.  pvb_lock guards the selectors, pvb_ready and the list of attached
 * devices; a device is attached or detached only with its own lock and
 * pvb_lock held, so the decision "no driver is bound" stays true while it is
 * acted on.  pvb_scan_lock serialises the passes over the whole bus (load,
 * devices= writes, unload); pvb_ready is written holding both it and
 * pvb_lock, so either one is enough to read it.  The bus notifier takes a
 * device's lock (ADD/REMOVED) or runs under it (BIND/UNBOUND) and then only
 * pvb_lock: an SR-IOV PF's lock may be held while its VFs are added, which
 * is why nothing that holds pvb_lock ever waits for a device.  A device
 * leaves the list under both locks when it is ended (src/device_ref.c owns
 * what follows): if its driver still has mappings or coherent memory out,
 * it keeps pvbounce's ops until the last is back, and a work item tears it
 * down under the device's lock alone (nothing waits for that work: it holds
 * a module reference instead); if not, the path that ended it waits an RCU
 * grace period and tears it down itself, under the locks it holds.  Its
 * debugfs and sysfs files go with the teardown, which waits for their
 * readers: so no per-device file may take pvb_lock (only the top-level
 * debugfs "devices" does, and it goes after every detach).
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <pvbounce/attach.h>
#include <pvbounce/device.h>
#include <pvbounce/device_ref.h>
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

	/* Ended, not yet torn down: its last driver's mappings are out. */
	if (pvb_is_our_ops(get_dma_ops(&pdev->dev))) {
		pvb_dev_warn(pdev, "not attached again while its last driver's mappings are still out: write devices= again once it is detached\n");
		return -EBUSY;
	}
	ret = pvb_refuse_check(pdev);
	if (ret)
		return ret;
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		goto err_nomem;
	pd->stats = alloc_percpu(struct pvb_dev_stats);
	if (!pd->stats)
		goto err_nomem_pd;
	if (pvb_dev_ref_init(pd))
		goto err_nomem_stats;
	pd->owner = pvb_slots_new_owner();
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
	pd->pdev = pci_dev_get(pdev);
	pd->old_ops = pdev->dev.dma_ops;
	pd->old_skip_sync = pvb_dev_skip_sync(&pdev->dev);
	set_dma_ops(&pdev->dev, &pd->ops);
	/* What dma_set_mask() makes of it: no sync op, no sync to call. */
	pvb_dev_assign_skip_sync(&pdev->dev, !pd->ops.sync_single_for_cpu);
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
	pvb_dev_ref_exit(pd);
	free_percpu(pd->stats);
	kfree(pd);
	return ret;

err_nomem_stats:
	free_percpu(pd->stats);
err_nomem_pd:
	kfree(pd);
err_nomem:
	pvb_dev_err(pdev, "not attached: out of memory for its state\n");
	return -ENOMEM;
}

/*
 * Give a device (locked, no driver bound, nothing of its driver out) its old
 * ops back and forget it.  The teardown waits an RCU grace period: a late
 * ops call racing the decision is done before anything is freed.
 */
static void detach(struct pvb_device *pd)
	__must_hold(&pvb_lock)
{
	list_del(&pd->node);
	/*
	 * A mapping racing the decision (a caller's bug: no driver is bound)
	 * holds its reference for as long as it lives: after a second, the
	 * teardown is left to it.
	 */
	pvb_dev_end_now(pd, "detached", HZ);
}

/*
 * How long unload waits for the mappings and coherent memory of a driver it
 * released (or that went just before) to come back.  A driver's teardown
 * may end in a work item after its remove(): 6.1's nvme frees its doorbell
 * buffers when the controller's last reference goes, which a failed probe's
 * removal work holds for a moment, and a process with the disk open for as
 * long as it keeps it.
 */
#define PVB_UNLOAD_COHERENT_WAIT	(5 * HZ)

/*
 * A device that left the bus (its driver is gone, under its lock).  Memory
 * the driver still holds is freed later, when the last reference to the
 * driver's own state goes (nvme frees its doorbell buffers when a process
 * that had the disk open closes it), and pages it mapped may be unmapped
 * later too (page_pool): that must come back through pvbounce's ops, which
 * know where the memory came from, not through the old ops.  So such a
 * device keeps our ops, and the module a reference, until the last is back;
 * it leaves the list now, so a device plugged in at the same address is a
 * new one.
 */
static void detach_removed(struct pvb_device *pd)
	__must_hold(&pvb_lock)
{
	struct pci_dev *pdev = pd->pdev;
	size_t coh, maps;

	list_del(&pd->node);
	coh = pvb_coherent_count(pd);
	maps = pvb_dev_live_maps(pd);
	if (coh)
		pvb_dev_info(pdev, "removed while its driver still holds %zu coherent allocations: they go back through pvbounce's ops when freed (pvbounce stays loaded until then)\n",
			     coh);
	if (maps)
		pvb_dev_info(pdev, "removed while its driver still holds %zu streaming mappings: they go back through pvbounce's ops when unmapped (pvbounce stays loaded until then)\n",
			     maps);
	if (!coh && !maps) {
		pvb_dev_end_now(pd, "detached", HZ);
		return;
	}
	/* Unloading: the module cannot wait for the driver; as before. */
	if (!pvb_dev_end_later(pd, coh ?
			       "last coherent allocation of the removed device freed: detached" :
			       "last streaming mapping of the removed device unmapped: detached"))
		pvb_dev_end_now(pd, "detached", HZ);
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
		size_t coh = pvb_coherent_count(pd);
		size_t maps = pvb_dev_live_maps(pd);

		/*
		 * Unmaps and frees of a gone driver's memory must still find
		 * our ops: the device keeps them, off the list, until the
		 * last is back, then detaches by itself.  (If the module is
		 * being unloaded, the unload ends it.)
		 */
		if (coh || maps) {
			list_del(&pd->node);
			if (!pvb_dev_end_later(pd, "everything its last driver left out is back: detached")) {
				list_add_tail(&pd->node, &pvb_devices);
				return;
			}
			pvb_dev_warn(pdev, "%zu coherent allocations and %zu streaming mappings of its last driver are still out: stays attached until they are back, then detaches (pvbounce stays loaded until then)\n",
				     coh, maps);
			return;
		}
		detach(pd);
		pd = NULL;
	}
	if (s && !pd && on_bus(pdev))
		attach(pdev, s);
}

/**
 * pvb_attach_recheck() - apply devices= to a device whose end, deferred
 *	until its last driver's leftovers came back, has just finished.
 * @pdev: the device, locked by the caller.
 *
 * A devices= write that asked for another pool (or the same device again)
 * while the leftovers were out attaches it now; nothing happens once
 * unload has begun or when the device left the bus.
 */
void pvb_attach_recheck(struct pci_dev *pdev)
{
	mutex_lock(&pvb_lock);
	reconsider(pdev, false);
	mutex_unlock(&pvb_lock);
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
		if (action == BUS_NOTIFY_UNBOUND_DRIVER)
			pvb_dev_unbound(pd);
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
 * Mappings and coherent memory still out once no driver is bound are waited
 * for, up to PVB_UNLOAD_COHERENT_WAIT: their unmaps and frees must reach the
 * ops that made them.  The wait holds pvb_scan_lock only, which no unmap or
 * free takes, and neither the device's lock (the driver's own teardown may
 * take it) nor pvb_lock; the decision is made under both.  @pdev's
 * pvb_device cannot go meanwhile: with pvb_ready cleared and the notifier
 * gone, only this path detaches.  The 5 s are counted once per device: a
 * driver bound again during the wait (by whoever binds it in a loop) is
 * released, and what it leaves after the deadline is leaked, so that unload
 * ends.
 */
static void detach_for_unload(struct pci_dev *pdev)
	__must_hold(&pvb_scan_lock)
{
	unsigned long deadline = 0;
	struct pvb_device *pd;
	bool released = false, waited = false;
	size_t coh, maps;

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
		coh = pd ? pvb_coherent_count(pd) : 0;
		maps = pd ? pvb_dev_live_maps(pd) : 0;
		if ((!coh && !maps) ||
		    (waited && time_after_eq(jiffies, deadline)))
			break;
		mutex_unlock(&pvb_lock);
		device_unlock(&pdev->dev);
		if (!waited) {
			/* from now: the driver's remove may have been slow */
			deadline = jiffies + PVB_UNLOAD_COHERENT_WAIT;
			waited = true;
			if (coh)
				pvb_dev_info(pdev, "unloading: waiting up to %d s for the %zu coherent allocations its driver still holds\n",
					     PVB_UNLOAD_COHERENT_WAIT / HZ, coh);
			if (maps)
				pvb_dev_info(pdev, "unloading: waiting up to %d s for the %zu streaming mappings its driver still holds\n",
					     PVB_UNLOAD_COHERENT_WAIT / HZ, maps);
		}
		/* unload only: a poll is simpler than a wake-up in every put */
		msleep(20);
	}
	if (pd) {
		list_del(&pd->node);
		/*
		 * Nothing out: the teardown follows an RCU grace period (HZ
		 * for a mapping racing this, a caller's bug).  Something
		 * still out after the wait (rebind=1, a disk still open):
		 * torn down now, said and leaked (README).
		 */
		if (pvb_dev_end_now(pd, "detached", coh || maps ? 1 : HZ) &&
		    waited)
			pvb_dev_info(pdev, "unloading: the driver's coherent allocations came back\n");
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
