// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing devices: the devices= selectors are matched against the PCI
 * devices present at load, against hot-plugged ones (PCI bus notifier, before
 * their driver probes) and again when devices= is written at run time.  A
 * matching device without a driver gets its own copy of pvbounce's ops; one
 * with a driver is left alone unless rebind=1.
 *
 * Lock order: pvb_lock, then a device's lock.  The bind/unbind notifications
 * arrive under the device lock and so never take pvb_lock.
 */
#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <pvbounce/device.h>
#include <pvbounce/log.h>
#include <pvbounce/pvbounce.h>
#include <pvbounce/refuse.h>

DEFINE_MUTEX(pvb_lock);
LIST_HEAD(pvb_devices);

static struct pvb_device *find_attached(struct pci_dev *pdev)
	__must_hold(&pvb_lock)
{
	struct pvb_device *pd;

	list_for_each_entry(pd, &pvb_devices, node)
		if (pd->pdev == pdev)
			return pd;
	return NULL;
}

static const struct pvb_selector *match(struct pci_dev *pdev,
					const struct pvb_selector *sel,
					unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pvb_selector_match(&sel[i], pci_domain_nr(pdev->bus),
				       pdev->bus->number, pdev->devfn,
				       pdev->vendor, pdev->device))
			return &sel[i];
	return NULL;
}

/* Give @pdev (no driver bound) pvbounce's ops. */
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
		return -ENOMEM;
	pd->pool_request = s->pool_bytes;
	if (s->pool_bytes) {
		ret = pvb_pool_create(&pd->private_pool, pci_name(pdev),
				      pvb_cfg.backend, s->pool_bytes,
				      pvb_cfg.seg_size, pvb_cfg.limit_mask);
		if (ret) {
			pvb_dev_err(pdev, "not attached: private pool of %llu KiB failed (%d)\n",
				    s->pool_bytes >> 10, ret);
			kfree(pd);
			return ret;
		}
		pd->private_pool.poison = pvb_cfg.poison;
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
}

/* Give a device (no driver bound) its old ops back and forget it. */
static void detach(struct pvb_device *pd)
	__must_hold(&pvb_lock)
{
	struct pci_dev *pdev = pd->pdev;
	unsigned int left;

	list_del(&pd->node);
	pvb_sysfs_remove_device(pd);
	pvb_debugfs_remove_device(pd);
	set_dma_ops(&pdev->dev, pd->old_ops);
	left = pvb_coherent_release_all(pd);
	if (left)
		pvb_dev_warn(pdev, "%u coherent allocations left by the driver freed\n",
			     left);
	if (pd->has_private)
		pvb_pool_destroy(&pd->private_pool);
	pvb_dev_info(pdev, "detached\n");
	kfree(pd);
	pci_dev_put(pdev);
}

/* Attach @pdev if it matches and has no driver; say why not otherwise. */
static void consider(struct pci_dev *pdev, const struct pvb_selector *sel,
		     unsigned int n, bool quiet_if_bound)
	__must_hold(&pvb_lock)
{
	const struct pvb_selector *s = match(pdev, sel, n);

	if (!s || find_attached(pdev))
		return;
	device_lock(&pdev->dev);
	if (!pdev->dev.driver)
		attach(pdev, s);
	else if (!quiet_if_bound)
		pvb_dev_warn(pdev, "driver %s is bound: left alone (unbind it first, or load with rebind=1)\n",
			     pdev->dev.driver->name);
	device_unlock(&pdev->dev);
}

static int bus_notify(struct notifier_block *nb, unsigned long action,
		      void *data)
{
	struct device *dev = data;
	struct pvb_selector *sel;
	struct pvb_device *pd;
	unsigned int n;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		sel = kcalloc(PVB_MAX_SELECTORS, sizeof(*sel), GFP_KERNEL);
		if (!sel)
			break;
		mutex_lock(&pvb_lock);
		n = pvb_selectors_copy(sel);
		consider(to_pci_dev(dev), sel, n, false);
		mutex_unlock(&pvb_lock);
		kfree(sel);
		break;
	case BUS_NOTIFY_BIND_DRIVER:
		/* A bound driver may hold mappings: pin the module. */
		if (pvb_is_our_ops(dev->dma_ops) && !pvb_cfg.rebind) {
			pd = pvb_dev_of(dev);
			if (!pd->holds_module_ref && try_module_get(THIS_MODULE))
				pd->holds_module_ref = true;
		}
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
	case BUS_NOTIFY_DRIVER_NOT_BOUND:
		if (pvb_is_our_ops(dev->dma_ops)) {
			pd = pvb_dev_of(dev);
			if (pd->holds_module_ref) {
				pd->holds_module_ref = false;
				module_put(THIS_MODULE);
			}
		}
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		mutex_lock(&pvb_lock);
		pd = find_attached(to_pci_dev(dev));
		if (pd)
			detach(pd);
		mutex_unlock(&pvb_lock);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block pvb_nb = {
	.notifier_call = bus_notify,
};

/*
 * With rebind=1, release the drivers of matching bound devices, attach, and
 * probe again so that the drivers come back on pvbounce's ops.
 */
static void rebind_bound(const struct pvb_selector *sel, unsigned int n)
{
	struct pci_dev *pdev = NULL;

	for_each_pci_dev(pdev) {
		if (!match(pdev, sel, n) || !pdev->dev.driver)
			continue;
		mutex_lock(&pvb_lock);
		if (find_attached(pdev)) {
			mutex_unlock(&pvb_lock);
			continue;
		}
		mutex_unlock(&pvb_lock);
		pvb_dev_info(pdev, "rebinding driver %s onto pvbounce\n",
			     pdev->dev.driver->name);
		device_release_driver(&pdev->dev);
		mutex_lock(&pvb_lock);
		consider(pdev, sel, n, false);
		mutex_unlock(&pvb_lock);
		if (device_attach(&pdev->dev) < 0)
			pvb_dev_err(pdev, "driver did not bind again\n");
	}
}

/**
 * pvb_attach_rescan() - apply the current devices= list to unbound devices.
 *
 * Attached devices without a driver whose selector went away (or changed
 * its private pool) are detached; matching unbound devices are attached.
 */
void pvb_attach_rescan(void)
{
	struct pvb_device *pd, *tmp;
	struct pci_dev *pdev = NULL;
	struct pvb_selector *sel;
	unsigned int n;

	sel = kcalloc(PVB_MAX_SELECTORS, sizeof(*sel), GFP_KERNEL);
	if (!sel)
		return;
	mutex_lock(&pvb_lock);
	n = pvb_selectors_copy(sel);
	list_for_each_entry_safe(pd, tmp, &pvb_devices, node) {
		struct pci_dev *p = pci_dev_get(pd->pdev);
		const struct pvb_selector *s = match(p, sel, n);

		device_lock(&p->dev);
		if (!p->dev.driver && (!s || s->pool_bytes != pd->pool_request))
			detach(pd);
		device_unlock(&p->dev);
		pci_dev_put(p);
	}
	for_each_pci_dev(pdev)
		consider(pdev, sel, n, false);
	mutex_unlock(&pvb_lock);
	kfree(sel);
}

/**
 * pvb_attach_init() - attach present devices and watch for new ones.
 *
 * Return: 0 or the notifier registration's error.
 */
int pvb_attach_init(void)
{
	struct pvb_selector *sel;
	struct pci_dev *pdev = NULL;
	unsigned int n;
	int ret;

	sel = kcalloc(PVB_MAX_SELECTORS, sizeof(*sel), GFP_KERNEL);
	if (!sel)
		return -ENOMEM;
	ret = bus_register_notifier(&pci_bus_type, &pvb_nb);
	if (ret) {
		pr_err("cannot watch the PCI bus (%d)\n", ret);
		goto out;
	}
	mutex_lock(&pvb_lock);
	n = pvb_selectors_copy(sel);
	for_each_pci_dev(pdev)
		consider(pdev, sel, n, pvb_cfg.rebind);
	mutex_unlock(&pvb_lock);
	if (pvb_cfg.rebind)
		rebind_bound(sel, n);
out:
	kfree(sel);
	return ret;
}

/**
 * pvb_attach_exit() - give every attached device its old ops back.
 *
 * Drivers can only still be bound with rebind=1 (otherwise they pin the
 * module); they are released and probed again on their old ops.
 */
void pvb_attach_exit(void)
{
	struct pvb_device *pd;

	bus_unregister_notifier(&pci_bus_type, &pvb_nb);
	mutex_lock(&pvb_lock);
	while ((pd = list_first_entry_or_null(&pvb_devices, struct pvb_device,
					      node))) {
		struct pci_dev *pdev = pci_dev_get(pd->pdev);
		bool bound = pdev->dev.driver;

		if (bound) {
			mutex_unlock(&pvb_lock);
			device_release_driver(&pdev->dev);
			mutex_lock(&pvb_lock);
		}
		device_lock(&pdev->dev);
		if (find_attached(pdev) == pd)
			detach(pd);
		device_unlock(&pdev->dev);
		if (bound) {
			mutex_unlock(&pvb_lock);
			if (device_attach(&pdev->dev) < 0)
				pvb_dev_err(pdev, "driver did not bind again\n");
			mutex_lock(&pvb_lock);
		}
		pci_dev_put(pdev);
	}
	mutex_unlock(&pvb_lock);
}
