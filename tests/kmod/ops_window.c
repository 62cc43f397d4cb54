// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_ops_window: plays the DMA API's caller that read a device's
 * dma_ops, was preempted before it called the op, and calls it after the
 * device's teardown (and while pvbounce is being unloaded).  The DMA API
 * does exactly that, without any lock, for an unmap of a direct mapping
 * (which holds no reference of its device).
 *
 *   insmod pvbounce_ops_window.ko dev=0000:00:04.0
 *   echo 1 >/sys/module/pvbounce_ops_window/parameters/hold
 *   echo >/sys/module/pvbounce/parameters/devices     # the teardown
 *   echo 1 >/sys/module/pvbounce_ops_window/parameters/release
 *
 * A write to hold starts a thread that reads the device's dma_ops, copies
 * the table, calls its max_mapping_size (held_max), and then stays between
 * that read and the next call without sleeping voluntarily (at nice 19,
 * cond_resched() only: an RCU Tasks grace period cannot end meanwhile, a
 * normal one can).
 * A write to release lets it go on: it compares the table with its copy
 * (table_intact: 1 if unchanged, 0 if not, -1 before) and, only if
 * unchanged, calls max_mapping_size through the table it read (late_max),
 * then ends; the write returns when it has.
 *
 * A write to alloc plays a caller asleep inside one of pvbounce's ops: the
 * writer itself allocates one page of coherent memory on dev (with
 * pvbounce's debugfs fail/coherent_delay_ms set, it sleeps inside the op),
 * and allocated says how it went (1 allocated, 0 failed, -1 before).  A
 * write to free frees it (through whichever ops dev has then); rmmod frees
 * it too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/string.h>

static char *dev_name_param = "";
module_param_named(dev, dev_name_param, charp, 0444);
MODULE_PARM_DESC(dev, "PCI name of a device attached to pvbounce");

static int table_intact = -1;
module_param(table_intact, int, 0444);
/*
 * A kernel built without preemption (no CONFIG_TASKS_RCU) cannot preempt a
 * caller between its read and its call, and the window's thread can hold it
 * only by yielding in cond_resched(), which there ends an RCU grace period:
 * the window cannot be shown (the scenario skips it).
 */
static bool can_hold = IS_ENABLED(CONFIG_TASKS_RCU);
module_param(can_hold, bool, 0444);
MODULE_PARM_DESC(can_hold, "Y: the kernel can preempt a caller inside the window (CONFIG_TASKS_RCU)");
MODULE_PARM_DESC(table_intact, "read-only: 1 if the ops table read before the teardown was unchanged after it, 0 if not, -1 before a release");

static unsigned long held_max, late_max;
module_param(held_max, ulong, 0444);
MODULE_PARM_DESC(held_max, "read-only: max_mapping_size called right after the read of the ops");
module_param(late_max, ulong, 0444);
MODULE_PARM_DESC(late_max, "read-only: max_mapping_size called through the same table after the release");

static int allocated = -1;
module_param(allocated, int, 0444);
MODULE_PARM_DESC(allocated, "read-only: 1 if the last write to alloc got its coherent page, 0 if not, -1 before");

static DEFINE_MUTEX(window_lock);
static DEFINE_MUTEX(coh_lock);
static struct device *coh_dev;
static void *coh_cpu;
static dma_addr_t coh_bus;
static struct device *window_dev;
static const struct dma_map_ops *window_ops;
static struct dma_map_ops window_copy;
static bool window_release;
static DECLARE_COMPLETION(window_started);
static DECLARE_COMPLETION(window_done);
static struct task_struct *window_task;

static int window_fn(void *unused)
{
	const struct dma_map_ops *ops = get_dma_ops(window_dev);
	bool copied = false;

	/*
	 * Lowest priority: being preempted does not end the window (only a
	 * voluntary switch would), and the spin then takes no CPU from the
	 * teardown and the unload it waits for.
	 */
	set_user_nice(current, MAX_NICE);
	window_ops = ops;
	if (ops && ops->max_mapping_size) {
		memcpy(&window_copy, ops, sizeof(window_copy));
		copied = true;
		held_max = ops->max_mapping_size(window_dev);
	}
	complete(&window_started);
	/* the window: no voluntary sleep until released */
	while (!READ_ONCE(window_release)) {
		cpu_relax();
		cond_resched();
	}
	if (copied) {
		table_intact = !memcmp(&window_copy, ops, sizeof(window_copy));
		if (table_intact)
			late_max = ops->max_mapping_size(window_dev);
	}
	/* no instruction of ours after the completion: rmmod may follow it */
	kthread_complete_and_exit(&window_done, 0);
}

/* The device dev= names (a reference held), or NULL, said. */
static struct device *find_dev(void)
{
	struct device *dev;

	dev = bus_find_device_by_name(&pci_bus_type, NULL, dev_name_param);
	if (!dev)
		pr_err("no PCI device %s\n", dev_name_param);
	return dev;
}

static int hold_set(const char *val, const struct kernel_param *kp)
{
	struct device *dev;
	int ret = 0;

	mutex_lock(&window_lock);
	if (window_task) {
		ret = -EBUSY;
		goto out;
	}
	dev = find_dev();
	if (!dev) {
		ret = -ENODEV;
		goto out;
	}
	window_dev = dev;
	window_release = false;
	table_intact = -1;
	held_max = late_max = 0;
	reinit_completion(&window_started);
	reinit_completion(&window_done);
	window_task = kthread_run(window_fn, NULL, "pvb_ops_window");
	if (IS_ERR(window_task)) {
		ret = PTR_ERR(window_task);
		window_task = NULL;
		put_device(dev);
		goto out;
	}
	wait_for_completion(&window_started);
	if (!window_ops || !window_ops->max_mapping_size)
		pr_warn("%s: its dma_ops have no max_mapping_size\n",
			dev_name_param);
	pr_info("%s: holding its dma_ops (%ps) between read and call\n",
		dev_name_param, window_ops);
out:
	mutex_unlock(&window_lock);
	return ret;
}

static void window_end(void)
{
	WRITE_ONCE(window_release, true);
	wait_for_completion(&window_done);
	window_task = NULL;
	put_device(window_dev);
	window_dev = NULL;
}

static int release_set(const char *val, const struct kernel_param *kp)
{
	int ret = 0;

	mutex_lock(&window_lock);
	if (window_task) {
		window_end();
		pr_info("%s: released: table %s, late max_mapping_size %lu\n",
			dev_name_param, table_intact ? "intact" : "CHANGED",
			late_max);
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&window_lock);
	return ret;
}

static int alloc_set(const char *val, const struct kernel_param *kp)
{
	struct device *dev;
	int ret = 0;

	mutex_lock(&coh_lock);
	if (coh_dev) {
		ret = -EBUSY;
		goto out;
	}
	dev = find_dev();
	if (!dev) {
		ret = -ENODEV;
		goto out;
	}
	allocated = -1;
	pr_info("%s: allocating a coherent page\n", dev_name_param);
	coh_cpu = dma_alloc_coherent(dev, PAGE_SIZE, &coh_bus, GFP_KERNEL);
	allocated = !!coh_cpu;
	if (!coh_cpu) {
		put_device(dev);
		pr_info("%s: coherent allocation failed\n", dev_name_param);
		goto out;
	}
	coh_dev = dev;
	pr_info("%s: coherent page at %pad\n", dev_name_param, &coh_bus);
out:
	mutex_unlock(&coh_lock);
	return ret;
}

static void coh_free(void)
{
	dma_free_coherent(coh_dev, PAGE_SIZE, coh_cpu, coh_bus);
	put_device(coh_dev);
	coh_dev = NULL;
	coh_cpu = NULL;
}

static int free_set(const char *val, const struct kernel_param *kp)
{
	int ret = 0;

	mutex_lock(&coh_lock);
	if (coh_dev)
		coh_free();
	else
		ret = -EINVAL;
	mutex_unlock(&coh_lock);
	return ret;
}

static const struct kernel_param_ops hold_ops = { .set = hold_set };
static const struct kernel_param_ops release_ops = { .set = release_set };
module_param_cb(hold, &hold_ops, NULL, 0200);
MODULE_PARM_DESC(hold, "write: start a thread that reads dev's dma_ops and waits before calling them");
module_param_cb(release, &release_ops, NULL, 0200);
MODULE_PARM_DESC(release, "write: let that thread check the table and call through it, wait for it");
static const struct kernel_param_ops alloc_ops = { .set = alloc_set };
static const struct kernel_param_ops free_ops = { .set = free_set };
module_param_cb(alloc, &alloc_ops, NULL, 0200);
MODULE_PARM_DESC(alloc, "write: allocate a coherent page on dev in the writer's context");
module_param_cb(free, &free_ops, NULL, 0200);
MODULE_PARM_DESC(free, "write: free the coherent page");

static int __init window_init(void)
{
	return 0;
}

static void __exit window_exit(void)
{
	mutex_lock(&window_lock);
	if (window_task)
		window_end();
	mutex_unlock(&window_lock);
	mutex_lock(&coh_lock);
	if (coh_dev)
		coh_free();
	mutex_unlock(&coh_lock);
}

module_init(window_init);
module_exit(window_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvbounce test: a DMA API caller between its read of dma_ops and the call, or asleep inside an op");
