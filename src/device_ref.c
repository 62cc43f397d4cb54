// SPDX-License-Identifier: GPL-2.0
/*
 * The lifetime of an attached device, in one place.
 *
 * References: a percpu_ref per device.  The attachment holds the first; each
 * bounced streaming mapping and each coherent allocation takes one when it is
 * made and gives it back when the pool (or the list of coherent allocations)
 * confirms it was live, so a double unmap or a free of an unknown address
 * cannot underflow it.  Direct (unbounced) mappings hold none: nothing of
 * pvbounce's is in them.  On the hot path a get or put is a per-CPU
 * increment; @live_maps counts the bounced mappings per CPU for messages and
 * the pin.
 *
 * The end: attach.c ends a device (devices= no longer selects it, it left
 * the bus, unload) by killing the ref: the attachment's reference goes and
 * the ref counts atomically from then on.  The device keeps pvbounce's ops
 * until the last reference is back, so late unmaps (page_pool pages, skbs in
 * socket queues, a disk held open) still find the ops and the pool that made
 * them.  Then, in process context, the teardown: the old ops back, an RCU
 * grace period for ops calls still running (the streaming ops run under
 * rcu_read_lock(), or preempt_disable() on their direct paths and short
 * bounces, which synchronize_rcu() waits for alike), the private pool
 * destroyed, the state freed.  The last
 * put may come from atomic context (a dma_free_coherent() with interrupts
 * off, an unmap in softirq), so it never tears down itself: it completes a
 * waiter (PVB_END_WAIT: attach.c's own paths, which may sleep) or queues
 * @end_work (PVB_END_WORK), which holds a module reference until it is done.
 *
 * The pin: a driver unbound while its mappings or coherent memory are still
 * out may give them back later.  Until it has, the module holds a reference
 * (rmmod is refused), which the last of them back drops.
 *
 * The ops table: a device's dma_map_ops live inside its struct pvb_device.
 * The DMA API reads dev->dma_ops, then the op's pointer from that table,
 * then calls it, all before our op's rcu_read_lock(): a caller preempted in
 * between (PREEMPT_RCU, preempt=full, 7.x's lazy preemption) holds no RCU
 * read lock, so the teardown's synchronize_rcu() does not wait for it.  Such
 * a late call is legal (a direct mapping's unmap holds no reference), and
 * it must find the table and our text still there; inside the op, dev_rcu()
 * reads dev->dma_ops again and leaves the device alone once they are no
 * longer ours.  So:
 *  - the table is freed (with the rest of the state) by call_rcu_tasks()
 *    queued after the old ops are back: an RCU Tasks grace period waits for
 *    every task to switch voluntarily (or be in user space or idle), which
 *    none does between the DMA API's read of dev->dma_ops and its entry
 *    into our op (the DMA API does not sleep there);
 *  - the table is cleared just before it is freed: a call that reached it
 *    too late (a bug) oopses on a NULL pointer rather than calling what the
 *    freed memory holds;
 *  - the ops that may sleep inside our text (the coherent allocation, which
 *    holds a reference of its device across its sleeps, and
 *    dma_mmap_coherent()'s and dma_get_sgtable()'s page table and sg table
 *    allocations, which touch no state of the device) run inside the SRCU
 *    domain pvb_sleepers, entered by their first instruction and left just
 *    before their return.  A sleeping task is quiescent for RCU Tasks; an
 *    SRCU reader is not quiescent for SRCU.  The instructions between the
 *    DMA API's read and the entry, and between the exit and the return,
 *    cannot sleep voluntarily: RCU Tasks covers them;
 *  - a teardown forced at unload (something still out after the wait: the
 *    state goes although a reference is held) waits, after the swap and
 *    before it frees anything, for the readers of pvb_sleepers: a
 *    coherent allocation asleep with its reference has then put its
 *    record on the list (forgotten with the others) or given its
 *    reference back, and one that enters after the swap finds the ops are
 *    no longer ours;
 *  - module exit, after every device's teardown, waits with
 *    rcu_barrier_tasks() for those frees: every caller that had read one
 *    of our tables is then done or inside one of our ops (a grace period
 *    after each swap has ended); then for the readers of pvb_sleepers
 *    (those inside the ops that may sleep); then for an RCU Tasks grace
 *    period (their last instructions after leaving the domain); then the
 *    module text may go.
 * Before its teardown a device's table is alive and the module loaded
 * (module exit tears every device down before the barrier).
 */
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <linux/string.h>
#include <pvbounce/attach.h>
#include <pvbounce/device.h>
#include <pvbounce/device_ref.h>
#include <pvbounce/log.h>

/*
 * The teardowns queued by the last reference.  Our own queue: module exit
 * destroys it, which waits for a work item's last instructions after its
 * module_put() (the module can go once the count is 0).
 */
static struct workqueue_struct *end_wq;

/* The ops that may sleep: see "The ops table" above. */
DEFINE_SRCU(pvb_sleepers);

/**
 * pvb_dev_live_maps() - bounced streaming mappings of a device still out.
 * @pd: device.
 *
 * Return: the sum of the per-CPU counts (a snapshot).
 */
size_t pvb_dev_live_maps(struct pvb_device *pd)
{
	long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(*per_cpu_ptr(pd->live_maps, cpu));
	return n > 0 ? n : 0;
}

/**
 * pvb_dev_unpin_if_done() - drop the pin once an unbound driver's leftovers
 *	are all back.
 * @pd: device whose pin may be held; one of its mappings was just given
 *	back, and its reference is still held by the caller.
 * @coherent: it was a coherent allocation of the unbound driver (for the
 *	message), not a streaming mapping.
 *
 * Context: any (the unmap path).
 */
void pvb_dev_unpin_if_done(struct pvb_device *pd, bool coherent)
{
	unsigned long flags;
	bool unpin = false;

	/* Our decrement before the others' read: of two last ones, one sees both. */
	smp_mb();
	if (pvb_dev_live_maps(pd))
		return;
	spin_lock_irqsave(&pd->coh_lock, flags);
	if (pd->pinned && !pd->coh_orphans) {
		pd->pinned = false;
		unpin = true;
	}
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	if (!unpin)
		return;
	if (coherent)
		pvb_dev_info(pd->pdev, "last coherent allocation of the unbound driver freed: pvbounce may be unloaded\n");
	else
		pvb_dev_info(pd->pdev, "last streaming mapping of the unbound driver unmapped: pvbounce may be unloaded\n");
	module_put(THIS_MODULE);
}

/**
 * pvb_dev_unbound() - a driver went: pin the module while its leftovers are out.
 * @pd: device whose driver was just unbound (under the device's lock).
 *
 * A driver's state may outlive its unbind: 6.1's nvme frees its doorbell
 * buffers when the controller's last reference goes, which an open disk
 * holds; page_pool and skbs in socket queues unmap pages after remove().
 * Those must reach pvbounce's ops, which know where the memory came from:
 * while any is out, the module holds a reference (rmmod is refused) that
 * the last one back drops.  A driver bound since keeps its own.
 */
void pvb_dev_unbound(struct pvb_device *pd)
{
	size_t coh = pvb_coherent_orphan_all(pd);
	size_t maps = pvb_dev_live_maps(pd);
	unsigned long flags;
	bool pinned = false;

	if (coh)
		pvb_dev_info(pd->pdev, "driver unbound while %zu of its coherent allocations are still out (e.g. a disk still open): pvbounce stays loaded and attached until they are freed\n",
			     coh);
	if (maps)
		pvb_dev_info(pd->pdev, "driver unbound while %zu of its streaming mappings are still out: pvbounce stays loaded and attached until they are unmapped\n",
			     maps);
	if (!coh && !maps)
		return;
	spin_lock_irqsave(&pd->coh_lock, flags);
	if (!pd->pinned && try_module_get(THIS_MODULE)) {
		pd->pinned = true;
		pinned = true;
	}
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	if (!pinned)
		return;
	/*
	 * An unmap that read pinned as false before it was set did not look
	 * for the last one: once every ops call running now is done (they run
	 * under rcu_read_lock() or preempt_disable()), count again.
	 */
	synchronize_rcu();
	pvb_dev_unpin_if_done(pd, !!coh);
}

/* An RCU Tasks grace period after the teardown: see "The ops table" above. */
static void free_after_callers(struct rcu_head *head)
{
	struct pvb_device *pd = container_of(head, struct pvb_device, free_rcu);

	memset(&pd->ops, 0, sizeof(pd->ops));
	kfree(pd);
}

/* Unloading with some of a released driver's memory out: said, and leaked. */
static void leftovers(struct pvb_device *pd)
{
	size_t coh = pvb_coherent_count(pd), maps = pvb_dev_live_maps(pd);
	unsigned int left;

	if (coh)
		pvb_dev_err(pd->pdev, "unloading while the released driver still holds %zu coherent allocations (a disk still open?): freed later, they reach the old DMA ops\n",
			    coh);
	if (maps)
		pvb_dev_err(pd->pdev, "unloading while the released driver still holds %zu streaming mappings: unmapped later, they reach the old DMA ops and their data is not copied back\n",
			    maps);
	left = pvb_coherent_forget_all(pd);
	if (left)
		pvb_dev_err(pd->pdev, "%u coherent allocations left by the driver: leaked, not freed, since the device may still write them\n",
			    left);
}

/*
 * The end of a device whose last reference is back (or, @forced at unload,
 * with some still out): its old ops back, its private pool and state freed,
 * @pd->end_how logged.  Off the list already; its files are removed here if
 * attach.c left them for the last reference.
 */
static void teardown(struct pvb_device *pd, bool forced)
{
	struct pci_dev *pdev = pd->pdev;
	unsigned long flags;
	bool unpin;

	/* Sleeps: never from the put of the last reference (atomic callers). */
	might_sleep();
	WARN_ON_ONCE(irqs_disabled() || in_atomic());
	pvb_sysfs_remove_device(pd);
	pvb_debugfs_remove_device(pd);
	/*
	 * Someone replaced our ops while the device was unbound (on 6.1,
	 * writing its iommu_group type installs the IOMMU's): theirs stay.
	 */
	if (get_dma_ops(&pdev->dev) == &pd->ops) {
		/*
		 * The old ops' skip flag first: once they are back, their own
		 * first bounce (swiotlb's) may clear it, which must stay.
		 * Ours need it no more: no bounced mapping is left (each holds
		 * a reference), or a forced teardown gives them up.
		 */
		pvb_dev_assign_skip_sync(&pdev->dev, pd->old_skip_sync);
		set_dma_ops(&pdev->dev, pd->old_ops);
	} else {
		/* (whatever they are, their syncs must reach them) */
		pvb_dev_force_sync(&pdev->dev);
		pvb_dev_warn(pdev, "DMA ops changed while attached (to %ps): left as they are\n",
			     get_dma_ops(&pdev->dev));
	}
	/* Ops calls that found our ops before the swap are done after this. */
	synchronize_rcu();
	if (forced) {
		/*
		 * And those that may sleep: a coherent allocation asleep with
		 * its reference now has its record on the list, or gave the
		 * reference back (see "The ops table" above).
		 */
		synchronize_srcu(&pvb_sleepers);
		leftovers(pd);
	}
	if (pd->has_private)
		pvb_pool_destroy(&pd->private_pool);
	pvb_dev_info(pdev, "%s\n", pd->end_how);
	spin_lock_irqsave(&pd->coh_lock, flags);
	unpin = pd->pinned;
	pd->pinned = false;
	spin_unlock_irqrestore(&pd->coh_lock, flags);
	/* a driver bound while it was ending (its unbind finds other ops) */
	if (pd->holds_module_ref)
		module_put(THIS_MODULE);
	percpu_ref_exit(&pd->ref);
	free_percpu(pd->live_maps);
	free_percpu(pd->stats);
	/* callers that read the table before the swap may still be on it */
	call_rcu_tasks(&pd->free_rcu, free_after_callers);
	pci_dev_put(pdev);
	if (unpin)
		module_put(THIS_MODULE);
}

static void end_work(struct work_struct *work)
{
	struct pvb_device *pd = container_of(work, struct pvb_device, end_work);
	struct pci_dev *pdev = pci_dev_get(pd->pdev);

	/*
	 * Under the device's lock, as every other decision about it: a
	 * driver bound by hand meanwhile is not probing while the ops change,
	 * and its bus notifications see either our ops or the old ones.
	 */
	device_lock(&pdev->dev);
	teardown(pd, false);
	pvb_attach_recheck(pdev);	/* a devices= write made meanwhile */
	device_unlock(&pdev->dev);
	pci_dev_put(pdev);
	/*
	 * The reference pvb_dev_end_later() took for this work.  What is left
	 * of this module's code after it is a return, which module exit's
	 * destroy_workqueue() waits for.
	 */
	module_put(THIS_MODULE);
}

/* The last reference is back: hand the teardown to process context. */
static void ref_released(struct percpu_ref *ref)
{
	struct pvb_device *pd = container_of(ref, struct pvb_device, ref);

	if (atomic_cmpxchg(&pd->end_mode, PVB_END_WAIT, PVB_END_DONE) ==
	    PVB_END_WAIT)
		complete(&pd->drained);
	else
		queue_work(end_wq, &pd->end_work);
}

/**
 * pvb_dev_ref_module_init() - the queue of deferred teardowns.
 *
 * Unbound: a teardown has no CPU of its own (and 7.x warns, with
 * panic_on_warn a panic, when a queue names neither WQ_UNBOUND nor
 * WQ_PERCPU).
 *
 * Return: 0 or -ENOMEM.
 */
int pvb_dev_ref_module_init(void)
{
	end_wq = alloc_workqueue("pvbounce_end", WQ_UNBOUND, 0);
	return end_wq ? 0 : -ENOMEM;
}

/**
 * pvb_dev_ref_module_exit() - wait for the last teardown's return, free the
 *	queue, then wait for every caller still on one of the devices' ops
 *	tables or asleep inside an op.  At module exit: every teardown queued
 *	has put its module reference by then, and every device is torn down.
 */
void pvb_dev_ref_module_exit(void)
{
	destroy_workqueue(end_wq);
	/*
	 * The frees of the ops tables: every caller that read one is done or
	 * inside an op; then those asleep inside an op; then their last
	 * instructions after it (see "The ops table" above).
	 */
	pvb_rcu_barrier_tasks();
	synchronize_srcu(&pvb_sleepers);
	synchronize_rcu_tasks();
}

/**
 * pvb_dev_ref_init() - start a device's lifetime; the attachment holds the
 *	first reference.
 * @pd: new device, zeroed.
 *
 * Return: 0 or -ENOMEM.
 */
int pvb_dev_ref_init(struct pvb_device *pd)
{
	pd->live_maps = alloc_percpu(long);
	if (!pd->live_maps)
		return -ENOMEM;
	/*
	 * ALLOW_REINIT: pvb_dev_end_now() switches to atomic mode before the
	 * kill, which would otherwise mark the ref dead already.
	 */
	if (percpu_ref_init(&pd->ref, ref_released, PERCPU_REF_ALLOW_REINIT,
			    GFP_KERNEL)) {
		free_percpu(pd->live_maps);
		pd->live_maps = NULL;
		return -ENOMEM;
	}
	atomic_set(&pd->end_mode, PVB_END_LIVE);
	init_completion(&pd->drained);
	INIT_WORK(&pd->end_work, end_work);
	return 0;
}

/**
 * pvb_dev_ref_exit() - undo pvb_dev_ref_init() of a device never attached.
 * @pd: device.
 */
void pvb_dev_ref_exit(struct pvb_device *pd)
{
	percpu_ref_exit(&pd->ref);
	free_percpu(pd->live_maps);
}

/**
 * pvb_dev_end_later() - end a device when its last mapping or allocation
 *	is back, whenever that is.
 * @pd: attached device, off the list of attached devices.
 * @how: the line logged when it is torn down.
 *
 * The attachment's reference goes; the teardown runs in a work item that
 * holds a module reference until it is done (rmmod is refused meanwhile).
 *
 * Return: false if the module is being unloaded (no reference can be had):
 * nothing was done, the caller ends it with pvb_dev_end_now().
 */
bool pvb_dev_end_later(struct pvb_device *pd, const char *how)
{
	if (!try_module_get(THIS_MODULE))
		return false;
	pd->end_how = how;
	atomic_set(&pd->end_mode, PVB_END_WORK);
	percpu_ref_kill(&pd->ref);
	return true;
}

/**
 * pvb_dev_end_now() - end a device, waiting for its last reference.
 * @pd: attached device, off the list of attached devices.
 * @how: the line logged when it is torn down.
 * @timeout: jiffies to wait for what is still out.
 *
 * The attachment's reference goes and the caller waits (an RCU grace period
 * when nothing is out).  If @timeout passes first, the teardown is left to
 * the last reference (as pvb_dev_end_later()) if a module reference can be
 * had; if not (unloading), it is torn down anyway once the ops asleep
 * inside pvbounce (a coherent allocation under way) are done, with a line
 * for what is still out: the pool leaks it, and its unmaps or frees reach
 * the old ops.
 *
 * Context: process; sleeps.
 * Return: true if everything came back and @pd was torn down; false if it
 * was torn down with something still out, or left to the last reference.
 */
bool pvb_dev_end_now(struct pvb_device *pd, const char *how,
		     unsigned long timeout)
{
	pd->end_how = how;
	atomic_set(&pd->end_mode, PVB_END_WAIT);
	/*
	 * Atomic mode first, confirmed: then the kill leaves no RCU callback
	 * behind that still uses @pd->ref when a forced teardown frees it.
	 */
	percpu_ref_switch_to_atomic_sync(&pd->ref);
	percpu_ref_kill(&pd->ref);
	if (wait_for_completion_timeout(&pd->drained, timeout)) {
		teardown(pd, false);
		return true;
	}
	if (try_module_get(THIS_MODULE)) {
		if (atomic_cmpxchg(&pd->end_mode, PVB_END_WAIT, PVB_END_WORK) ==
		    PVB_END_WAIT)
			return false;
		/* the last one came back meanwhile */
		module_put(THIS_MODULE);
		wait_for_completion(&pd->drained);
		teardown(pd, false);
		return true;
	}
	/* Unloading: no later is possible (a leaked pool keeps its memory). */
	teardown(pd, true);
	return false;
}
