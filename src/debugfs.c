// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/pvbounce/: the common pool, the attached devices and one
 * directory of counters per device.
 *
 *   pvbounce/
 *     backend  pool  nslabs  used  used_hiwater  devices
 *     grows  shrinks  nslabs_max  grow_failures  full_growing
 *     0000:00:03.0/
 *       maps unmaps bounced_maps ... misuse    (every PVB_DEV_STATS() counter)
 *       driver                                 (bound driver's name, or -)
 *       pool nslabs used used_hiwater grows    (only with a private pool)
 *       shrinks nslabs_max grow_failures full_growing
 *     fail/                                    (fault injection, 0600)
 *       chunk_alloc                            the Nth backend chunk fails
 *       xen_exchange                           the Nth XENMEM_exchange fails
 *                                              (xen backend only)
 *       attach_delay_ms                        sleep this long in the race
 *                                              windows of attach.c
 *       coherent_delay_ms                      a coherent allocation sleeps
 *                                              this long inside the op
 *       shrink_idle_ms                         idle delay before a grown
 *                                              chunk goes (0: 10 s)
 *       noncoherent                            the Nth device checked
 *                                              counts as not cache-coherent
 *                                              (refused)
 *
 * The fail/ files read and write a decimal N (0: off, the default); the
 * knob counts down as the events happen.  Every other file is a read-only
 * seq_file; the inode's private data is the object
 * shown (a counter or a pool), so one show function serves many files.
 * debugfs_create_file() wraps the fops in a proxy that makes removal wait
 * for readers, so a device's files can go while someone reads them.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <pvbounce/attach.h>
#include <pvbounce/pvbounce.h>
#include <pvbounce/device.h>
#include <pvbounce/refuse.h>
#include <pvbounce/stats.h>

static struct dentry *pvb_dbg_root;

static const struct pvb_stat_desc dev_stats[] = {
	PVB_DEV_STATS(PVB_STAT_DESC)
};

/*
 * A counter file's private data is the counter's per-CPU pointer, carried
 * as an integer: where __percpu is a named address space (7.x built with
 * gcc-14), a pointer cast between it and void * is an error.
 */
static int counter_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%llu\n",
		   pvb_stat_fold((u64 __percpu __force *)(unsigned long)m->private, false));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counter);

static int counter_max_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%llu\n",
		   pvb_stat_fold((u64 __percpu __force *)(unsigned long)m->private, true));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counter_max);

/* One line per chunk: bus start, bus end (inclusive), slots, all hex. */
static int pool_show(struct seq_file *m, void *v)
{
	struct pvb_pool *p = m->private;
	unsigned int i;
	int ret;

	/* Growth and shrink change the list under the same lock. */
	ret = mutex_lock_interruptible(&p->resize_lock);
	if (ret)
		return ret;
	for (i = 0; i < p->nchunks; i++) {
		const struct pvb_chunk *c = &p->chunks[i];
		u64 size = (u64)PAGE_SIZE << c->order;

		seq_printf(m, "%#llx %#llx %#llx\n", (u64)c->bus,
			   (u64)c->bus + size - 1, size >> PVB_SLOT_SHIFT);
	}
	mutex_unlock(&p->resize_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pool);

/* Growth (pool_grow.c): chunks added, given back, failed; the limit. */
static int grows_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%lu\n", READ_ONCE(p->grows));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(grows);

static int shrinks_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%lu\n", READ_ONCE(p->shrinks));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shrinks);

static int grow_failures_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%lu\n", READ_ONCE(p->grow_failures));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(grow_failures);

static int full_growing_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%ld\n", atomic_long_read(&p->full_growing));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(full_growing);

static int nslabs_max_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%u\n", pvb_pool_max_slabs(p));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nslabs_max);

static int nslabs_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%u\n", READ_ONCE(p->slots.nslabs));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nslabs);

static int used_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%u\n", pvb_slots_used(&p->slots));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(used);

static int used_hiwater_show(struct seq_file *m, void *v)
{
	const struct pvb_pool *p = m->private;

	seq_printf(m, "%u\n", pvb_slots_hiwater(&p->slots));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(used_hiwater);

static int backend_show(struct seq_file *m, void *v)
{
	const struct pvb_backend *be = pvb_cfg.backend;

	seq_printf(m, "%s\n", be ? be->name : "-");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(backend);

/* <pci address> <driver or -> <maps> <bounced> <direct> */
#define STAT(pd, field) \
	pvb_stat_read((pd)->stats, offsetof(struct pvb_dev_stats, field))

static int devices_show(struct seq_file *m, void *v)
{
	struct pvb_device *pd;
	int ret;

	ret = mutex_lock_interruptible(&pvb_lock);
	if (ret)
		return ret;
	list_for_each_entry(pd, &pvb_devices, node) {
		/* As dev_driver_string(): the driver may be unbinding now. */
		const struct device_driver *drv = READ_ONCE(pd->pdev->dev.driver);

		seq_printf(m, "%s %s %llu %llu %llu\n", pci_name(pd->pdev),
			   drv ? drv->name : "-",
			   STAT(pd, maps), STAT(pd, bounced_maps),
			   STAT(pd, direct_maps));
	}
	mutex_unlock(&pvb_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devices);

#undef STAT

/* A device's "driver" file; the inode's private data is the device. */
static int driver_show(struct seq_file *m, void *v)
{
	const struct pvb_device *pd = m->private;
	/* As dev_driver_string(): the driver may be unbinding now. */
	const struct device_driver *drv = READ_ONCE(pd->pdev->dev.driver);

	seq_printf(m, "%s\n", drv ? drv->name : "-");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(driver);

/* fail/: fault injection for tests, root only, off unless written. */
static void fail_files(struct dentry *root)
{
	struct dentry *dir = debugfs_create_dir("fail", root);

	if (IS_ERR(dir))
		return;
	debugfs_create_u32("chunk_alloc", 0600, dir, &pvb_fail_chunk_alloc);
	debugfs_create_u32("attach_delay_ms", 0600, dir,
			   &pvb_fail_attach_delay_ms);
	debugfs_create_u32("coherent_delay_ms", 0600, dir,
			   &pvb_fail_coherent_delay_ms);
	debugfs_create_u32("shrink_idle_ms", 0600, dir, &pvb_shrink_idle_ms);
	debugfs_create_u32("noncoherent", 0600, dir, &pvb_fail_noncoherent);
	if (pvb_cfg.backend == &pvb_backend_xen)
		debugfs_create_u32("xen_exchange", 0600, dir,
				   &pvb_fail_xen_exchange);
}

static void pool_files(struct dentry *dir, struct pvb_pool *p)
{
	debugfs_create_file("pool", 0444, dir, p, &pool_fops);
	debugfs_create_file("nslabs", 0444, dir, p, &nslabs_fops);
	debugfs_create_file("used", 0444, dir, p, &used_fops);
	debugfs_create_file("used_hiwater", 0444, dir, p, &used_hiwater_fops);
	debugfs_create_file("grows", 0444, dir, p, &grows_fops);
	debugfs_create_file("shrinks", 0444, dir, p, &shrinks_fops);
	debugfs_create_file("grow_failures", 0444, dir, p, &grow_failures_fops);
	debugfs_create_file("full_growing", 0444, dir, p, &full_growing_fops);
	debugfs_create_file("nslabs_max", 0444, dir, p, &nslabs_max_fops);
}

/**
 * pvb_debugfs_init() - create /sys/kernel/debug/pvbounce/ and its global files.
 *
 * Call after the common pool exists.  Failure (debugfs absent or disabled)
 * only leaves the directory missing; pvb_debugfs_add_device() copes.
 *
 * Context: process.
 */
void pvb_debugfs_init(void)
{
	struct dentry *root = debugfs_create_dir("pvbounce", NULL);

	if (IS_ERR(root))
		return;
	pvb_dbg_root = root;
	debugfs_create_file("backend", 0444, root, NULL, &backend_fops);
	debugfs_create_file("devices", 0444, root, NULL, &devices_fops);
	pool_files(root, &pvb_common_pool);
	fail_files(root);
}

/**
 * pvb_debugfs_exit() - remove /sys/kernel/debug/pvbounce/.
 *
 * Waits for readers of its files; a reader of ``devices`` takes pvb_lock, so
 * the caller must not hold it.  Per-device directories still present go too.
 *
 * Context: process, pvb_lock not held.
 */
void pvb_debugfs_exit(void)
{
	debugfs_remove(pvb_dbg_root);
	pvb_dbg_root = NULL;
}

/**
 * pvb_debugfs_add_device() - create the directory of an attached device.
 * @pd: the device; @pd->has_private and @pd->private_pool must be final.
 *
 * Sets @pd->dbg, or leaves it NULL when debugfs is unavailable.
 *
 * Context: process; may hold pvb_lock.
 */
void pvb_debugfs_add_device(struct pvb_device *pd)
{
	struct dentry *dir;
	unsigned int i;

	pd->dbg = NULL;
	if (!pvb_dbg_root)
		return;
	dir = debugfs_create_dir(pci_name(pd->pdev), pvb_dbg_root);
	if (IS_ERR(dir))
		return;
	for (i = 0; i < ARRAY_SIZE(dev_stats); i++) {
		size_t off = dev_stats[i].offset;

		debugfs_create_file(dev_stats[i].name, 0444, dir,
				    (void *)(__force unsigned long)
				    pvb_stat_field(pd->stats, off),
				    pvb_stat_is_max(off) ? &counter_max_fops :
							   &counter_fops);
	}
	debugfs_create_file("driver", 0444, dir, pd, &driver_fops);
	if (pd->has_private)
		pool_files(dir, &pd->private_pool);
	pd->dbg = dir;
}

/**
 * pvb_debugfs_remove_device() - remove the directory of a device.
 * @pd: the device; nothing happens if it has none.
 *
 * Returns once no reader is inside one of its files, so @pd (and its private
 * pool) may be freed afterwards.
 *
 * Context: process; may hold pvb_lock.
 */
void pvb_debugfs_remove_device(struct pvb_device *pd)
{
	debugfs_remove(pd->dbg);
	pd->dbg = NULL;
}
