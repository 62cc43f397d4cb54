// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/pvbounce/: what debugfs shows, for kernels where lockdown
 * (Secure Boot) turns debugfs off.  One value per file, all read-only.
 *
 *   /sys/kernel/pvbounce/
 *     backend  nslabs  used  used_hiwater          (the common pool)
 *     nslabs_max  grows  shrinks
 *     0000:00:03.0/
 *       maps unmaps bounced_maps ... misuse        (every PVB_DEV_STATS() counter)
 *       driver                                     (the bound driver's name, or -)
 *       nslabs used used_hiwater                   (only with a private pool)
 *       nslabs_max grows shrinks
 *
 * The multi-line chunk list (debugfs "pool") has no sysfs twin: sysfs files
 * hold one value.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <pvbounce/pvbounce.h>
#include <pvbounce/device.h>
#include <pvbounce/stats.h>

static struct kobject *pvb_kobj;

/* A device's directory: the kobject finds its device through this. */
struct pvb_sysfs_dev {
	struct kobject kobj;
	struct pvb_device *pd;
};

static const struct kobj_type pvb_dev_ktype;

static struct pvb_device *kobj_to_pd(struct kobject *kobj)
{
	return container_of(kobj, struct pvb_sysfs_dev, kobj)->pd;
}

/* The pool a directory shows: the common pool at the top, else the device's own. */
static struct pvb_pool *kobj_pool(struct kobject *kobj)
{
	if (kobj->ktype == &pvb_dev_ktype)
		return &kobj_to_pd(kobj)->private_pool;
	return &pvb_common_pool;
}

static ssize_t backend_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	const struct pvb_backend *be = pvb_cfg.backend;

	return sysfs_emit(buf, "%s\n", be ? be->name : "-");
}

static ssize_t nslabs_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(kobj_pool(kobj)->slots.nslabs));
}

static ssize_t nslabs_max_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvb_pool_max_slabs(kobj_pool(kobj)));
}

static ssize_t grows_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(kobj_pool(kobj)->grows));
}

static ssize_t shrinks_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(kobj_pool(kobj)->shrinks));
}

static ssize_t used_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", pvb_slots_used(&kobj_pool(kobj)->slots));
}

static ssize_t used_hiwater_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  pvb_slots_hiwater(&kobj_pool(kobj)->slots));
}

static struct kobj_attribute backend_attr = __ATTR_RO(backend);
static struct kobj_attribute nslabs_attr = __ATTR_RO(nslabs);
static struct kobj_attribute used_attr = __ATTR_RO(used);
static struct kobj_attribute used_hiwater_attr = __ATTR_RO(used_hiwater);
static struct kobj_attribute nslabs_max_attr = __ATTR_RO(nslabs_max);
static struct kobj_attribute grows_attr = __ATTR_RO(grows);
static struct kobj_attribute shrinks_attr = __ATTR_RO(shrinks);

static struct attribute *root_attrs[] = {
	&backend_attr.attr,
	&nslabs_attr.attr,
	&used_attr.attr,
	&used_hiwater_attr.attr,
	&nslabs_max_attr.attr,
	&grows_attr.attr,
	&shrinks_attr.attr,
	NULL
};

static const struct attribute_group root_group = {
	.attrs = root_attrs,
};

/* Per-device counters: one attribute per PVB_DEV_STATS() entry. */
struct pvb_stat_attr {
	struct kobj_attribute ka;
	size_t offset;
};

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct pvb_stat_attr *sa = container_of(attr, struct pvb_stat_attr, ka);
	struct pvb_device *pd = kobj_to_pd(kobj);

	return sysfs_emit(buf, "%llu\n", pvb_stat_read(pd->stats, sa->offset));
}

#define STAT_ATTR(field)						\
	static struct pvb_stat_attr stat_attr_##field = {		\
		.ka = __ATTR(field, 0444, stat_show, NULL),		\
		.offset = offsetof(struct pvb_dev_stats, field),	\
	};
PVB_DEV_STATS(STAT_ATTR)
#undef STAT_ATTR

#define STAT_ATTR_PTR(field) &stat_attr_##field.ka.attr,
static struct attribute *dev_stat_attrs[] = {
	PVB_DEV_STATS(STAT_ATTR_PTR)
	NULL
};
#undef STAT_ATTR_PTR

static const struct attribute_group dev_stat_group = {
	.attrs = dev_stat_attrs,
};

/* The driver bound to the device now, as debugfs "devices" names it. */
static ssize_t driver_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	/* As dev_driver_string(): the driver may be unbinding now. */
	const struct device_driver *drv =
		READ_ONCE(kobj_to_pd(kobj)->pdev->dev.driver);

	return sysfs_emit(buf, "%s\n", drv ? drv->name : "-");
}

static struct kobj_attribute driver_attr = __ATTR_RO(driver);

static struct attribute *dev_info_attrs[] = {
	&driver_attr.attr,
	NULL
};

static const struct attribute_group dev_info_group = {
	.attrs = dev_info_attrs,
};

static struct attribute *dev_pool_attrs[] = {
	&nslabs_attr.attr,
	&used_attr.attr,
	&used_hiwater_attr.attr,
	&nslabs_max_attr.attr,
	&grows_attr.attr,
	&shrinks_attr.attr,
	NULL
};

static umode_t dev_pool_visible(struct kobject *kobj, struct attribute *attr,
				int n)
{
	return kobj_to_pd(kobj)->has_private ? attr->mode : 0;
}

static const struct attribute_group dev_pool_group = {
	.attrs = dev_pool_attrs,
	.is_visible = dev_pool_visible,
};

static const struct attribute_group *dev_groups[] = {
	&dev_stat_group,
	&dev_info_group,
	&dev_pool_group,
	NULL
};

static void pvb_sysfs_dev_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct pvb_sysfs_dev, kobj));
}

static const struct kobj_type pvb_dev_ktype = {
	.release = pvb_sysfs_dev_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = dev_groups,
};

/**
 * pvb_sysfs_init() - create /sys/kernel/pvbounce/ with the common pool's files.
 *
 * Call after the common pool exists.
 *
 * Context: process.
 * Return: 0 or -ENOMEM (or another -errno from sysfs).
 */
int pvb_sysfs_init(void)
{
	int ret;

	pvb_kobj = kobject_create_and_add("pvbounce", kernel_kobj);
	if (!pvb_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(pvb_kobj, &root_group);
	if (ret) {
		kobject_put(pvb_kobj);
		pvb_kobj = NULL;
	}
	return ret;
}

/**
 * pvb_sysfs_exit() - remove /sys/kernel/pvbounce/.
 *
 * Every device directory must have been removed with
 * pvb_sysfs_remove_device() before.
 *
 * Context: process.
 */
void pvb_sysfs_exit(void)
{
	kobject_put(pvb_kobj);
	pvb_kobj = NULL;
}

/**
 * pvb_sysfs_add_device() - create /sys/kernel/pvbounce/<pci address>/.
 * @pd: the attached device; @pd->has_private must be final (it decides
 *	whether the pool files appear).
 *
 * Sets @pd->kobj on success, leaves it NULL on failure.
 *
 * Context: process; may hold pvb_lock.
 * Return: 0, -ENODEV if pvb_sysfs_init() did not succeed, -ENOMEM, or
 * another -errno from sysfs (e.g. -EEXIST for a name already present).
 */
int pvb_sysfs_add_device(struct pvb_device *pd)
{
	struct pvb_sysfs_dev *sd;
	int ret;

	pd->kobj = NULL;
	if (!pvb_kobj)
		return -ENODEV;
	sd = kzalloc(sizeof(*sd), GFP_KERNEL);
	if (!sd)
		return -ENOMEM;
	sd->pd = pd;
	ret = kobject_init_and_add(&sd->kobj, &pvb_dev_ktype, pvb_kobj, "%s",
				   pci_name(pd->pdev));
	if (ret) {
		kobject_put(&sd->kobj);	/* frees sd */
		return ret;
	}
	pd->kobj = &sd->kobj;
	return 0;
}

/**
 * pvb_sysfs_remove_device() - remove a device's directory.
 * @pd: the device; nothing happens if it has none.
 *
 * Returns once no reader is inside one of its files, so @pd may be freed
 * afterwards.
 *
 * Context: process; may hold pvb_lock.
 */
void pvb_sysfs_remove_device(struct pvb_device *pd)
{
	if (!pd->kobj)
		return;
	kobject_del(pd->kobj);	/* drains active readers */
	kobject_put(pd->kobj);
	pd->kobj = NULL;
}
