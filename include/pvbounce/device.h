/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An attached device: its own copy of pvbounce's dma_map_ops (so the ops find
 * their device with container_of, no lookup), the ops it had before, the pool
 * that serves it and its counters.
 */
#ifndef PVBOUNCE_DEVICE_H
#define PVBOUNCE_DEVICE_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/dma-map-ops.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/percpu-refcount.h>
#include <linux/workqueue.h>
#include <pvbounce/pool.h>

/**
 * struct pvb_dev_stats - per-device counters, as debugfs and sysfs show them.
 *
 * One copy per CPU, written only by its own CPU with this_cpu_*() (nothing
 * shared is written per map); a reader sums the copies (pvb_stat_read()).
 * All are monotonic since attach except @largest_request, a maximum (the
 * reader takes the largest copy).
 */
struct pvb_dev_stats {
	u64 maps;
	u64 unmaps;
	u64 bounced_maps;
	u64 direct_maps;
	u64 bytes_to_device;
	u64 bytes_from_device;
	u64 map_errors;
	u64 errors_too_large;
	u64 errors_pool_full;
	u64 errors_mask;
	u64 largest_request;
	u64 syncs;
	u64 coherent_allocs;
	u64 misuse;
};

/**
 * struct pvb_device - one attached PCI device.
 * @ops: this device's dma_map_ops; dev->dma_ops points here while attached.
 * @pdev: the device (a reference is held while attached).
 * @old_ops: dev->dma_ops before attach, restored on detach.
 * @old_skip_sync: the device's DMA skip-sync flag before attach (what the
 *	kernel computed for @old_ops), restored with them (compat.h).
 * @pool: pool serving the device: &@private_pool or the common pool.
 * @owner: owner token of this attach (pvb_slots_new_owner()), on its mappings.
 * @private_pool: used when the selector asked for "@size".
 * @has_private: @private_pool is live.
 * @pool_request: private pool size the selector asked for (0: common).
 * @stats: counters, one copy per CPU.
 * @node: on the global list of attached devices (under pvb_lock).
 * @dbg: debugfs directory, or NULL.
 * @kobj: /sys/kernel/pvbounce/<pci name>/, or NULL.
 * @holds_module_ref: a module reference is held while a driver is bound.
 * @coh_lock: protects @coh_list.
 * @coh_list: live coherent allocations (struct pvb_coherent).
 * @ref: the device's lifetime (src/device_ref.c): the attachment holds
 *	the first reference, each live bounced streaming mapping and each
 *	live coherent allocation one more.  When the attachment ends, the
 *	last reference back tears the device down.
 * @live_maps: bounced streaming mappings made minus those given back, one
 *	count per CPU (a CPU's own may go negative); the sum is what is out.
 * @end_mode: how the teardown runs once @ref reaches zero (PVB_END_*).
 * @end_how: the line logged when it is done.
 * @drained: completed when @ref reaches zero under PVB_END_WAIT.
 * @end_work: the teardown under PVB_END_WORK (holds a module reference).
 * @pinned: (under @coh_lock) a module reference held because a driver
 *	was unbound while its mappings or coherent memory were still out:
 *	see pvb_dev_unbound().
 * @coh_orphans: (under @coh_lock) live allocations of unbound drivers.
 * @free_rcu: the state (and so @ops) is freed an RCU Tasks grace period
 *	after its teardown (see src/device_ref.c, "The ops table").
 */
struct pvb_device {
	struct dma_map_ops ops;
	struct pci_dev *pdev;
	const struct dma_map_ops *old_ops;
	bool old_skip_sync;
	struct pvb_pool *pool;
	u64 owner;
	struct pvb_pool private_pool;
	bool has_private;
	u64 pool_request;
	struct pvb_dev_stats __percpu *stats;
	struct list_head node;
	struct dentry *dbg;
	struct kobject *kobj;
	bool holds_module_ref;
	spinlock_t coh_lock;
	struct list_head coh_list;
	struct percpu_ref ref;
	long __percpu *live_maps;
	atomic_t end_mode;
	const char *end_how;
	struct completion drained;
	struct work_struct end_work;
	bool pinned;
	unsigned int coh_orphans;
	struct rcu_head free_rcu;
};

/**
 * pvb_dev_of() - the pvb_device behind a device whose ops are ours.
 * @dev: a device attached to pvbounce.
 *
 * Return: the attached device's state.
 */
static inline struct pvb_device *pvb_dev_of(struct device *dev)
{
	return container_of(get_dma_ops(dev), struct pvb_device, ops);
}

/* dma_ops.c */
extern u32 pvb_fail_coherent_delay_ms;	/* debugfs fail/coherent_delay_ms */
void pvb_dma_ops_init(struct dma_map_ops *ops);
bool pvb_is_our_ops(const struct dma_map_ops *ops);
unsigned int pvb_coherent_forget_all(struct pvb_device *pd);
size_t pvb_coherent_orphan_all(struct pvb_device *pd);
size_t pvb_coherent_count(struct pvb_device *pd);

/* debugfs.c: every function tolerates debugfs being unavailable. */
void pvb_debugfs_init(void);
void pvb_debugfs_exit(void);
void pvb_debugfs_add_device(struct pvb_device *pd);
void pvb_debugfs_remove_device(struct pvb_device *pd);

/* sysfs.c: /sys/kernel/pvbounce/, readable under lockdown. */
int pvb_sysfs_init(void);
void pvb_sysfs_exit(void);
int pvb_sysfs_add_device(struct pvb_device *pd);
void pvb_sysfs_remove_device(struct pvb_device *pd);

#endif /* PVBOUNCE_DEVICE_H */
