// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_late: a PCI driver that, like a page_pool NIC or nvme with a disk
 * held open, keeps streaming mappings and coherent memory past its remove()
 * and gives them back later, when the tests say so.
 *
 *   insmod pvbounce_late.ko maps=16 coh_sizes=4096
 *   echo pvbounce_late >/sys/bus/pci/devices/0000:00:04.0/driver_override
 *   echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
 *   echo 0000:00:04.0 >/sys/bus/pci/drivers/pvbounce_late/unbind  # kept
 *   echo 1 >/sys/module/pvbounce_late/parameters/release        # given back
 *
 * probe() maps @maps pages (DMA_FROM_DEVICE; the device never touches
 * them) and allocates one coherent buffer per size in @coh_sizes (one that
 * fails is counted in coh_failed, not an error); remove() keeps them all.
 * A write to release plays the device first: it writes a pattern into each
 * mapping's bounce buffer (for a bounced one; a direct one is the page
 * itself), then unmaps it and checks the pattern reached the page (data
 * copied back), and frees the coherent buffers (with atomic=1, under a
 * spinlock with softirqs off, as some x86 drivers free theirs).  Its results are in
 * the read-only parameters.  A probe while something is still kept holds
 * nothing new.  rmmod gives back whatever is still kept.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/spinlock.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xen.h>
#include <asm/xen/page.h>

#define MAX_MAPS	256
#define MAX_COH		4
#define PATTERN		0x5a

static unsigned int maps = 16;
module_param(maps, uint, 0444);
MODULE_PARM_DESC(maps, "pages mapped DMA_FROM_DEVICE at probe and kept past remove() (default 16, at most 256)");

static char *coh_sizes = "4096";
module_param(coh_sizes, charp, 0444);
MODULE_PARM_DESC(coh_sizes, "comma-separated sizes of the coherent buffers allocated at probe and kept (default 4096, at most 4 of up to 16M; empty: none)");

static bool atomic;
module_param(atomic, bool, 0644);
MODULE_PARM_DESC(atomic, "release frees the coherent buffers in atomic context, under a spinlock with softirqs off (default 0)");

static unsigned int kept_maps, kept_coh, coh_failed, bad;
module_param(kept_maps, uint, 0444);
MODULE_PARM_DESC(kept_maps, "read-only: streaming mappings held");
module_param(kept_coh, uint, 0444);
MODULE_PARM_DESC(kept_coh, "read-only: coherent buffers held");
module_param(coh_failed, uint, 0444);
MODULE_PARM_DESC(coh_failed, "read-only: coherent allocations that failed at probe");
module_param(bad, uint, 0444);
MODULE_PARM_DESC(bad, "read-only: mappings whose device-written data did not reach the page at unmap");

static DEFINE_MUTEX(late_lock);
static DEFINE_SPINLOCK(late_atomic_lock);

/**
 * struct late_state - what the driver holds.
 * @dev: the device (a reference is held while anything is kept).
 * @pages: mapped pages, @kept_maps of them.
 * @bus: their bus addresses.
 * @cpu: coherent buffers, @kept_coh of them.
 * @cbus: their bus addresses.
 * @csize: their sizes.
 */
struct late_state {
	struct device *dev;
	struct page *pages[MAX_MAPS];
	dma_addr_t bus[MAX_MAPS];
	void *cpu[MAX_COH];
	dma_addr_t cbus[MAX_COH];
	size_t csize[MAX_COH];
};

static struct late_state st;

/* The kernel address of the bytes a device reaches at @bus. */
static void *bus_to_virt(dma_addr_t bus)
{
	if (xen_pv_domain())
		return phys_to_virt(PFN_PHYS(mfn_to_pfn(PHYS_PFN(bus))) +
				    offset_in_page(bus));
	return phys_to_virt(bus);
}

static void late_free(unsigned int i)
{
	dma_free_coherent(st.dev, st.csize[i], st.cpu[i], st.cbus[i]);
}

/* Give back everything held (late_lock held). */
static void late_release(void)
{
	unsigned int i;

	for (i = 0; i < kept_maps; i++) {
		u8 *page = page_address(st.pages[i]);

		/* the device's write, into what it was given */
		memset(bus_to_virt(st.bus[i]), PATTERN, PAGE_SIZE);
		dma_unmap_page(st.dev, st.bus[i], PAGE_SIZE, DMA_FROM_DEVICE);
		if (memchr_inv(page, PATTERN, PAGE_SIZE)) {
			pr_err("%s: mapping %u at %pad: the device's data did not reach the page\n",
			       dev_name(st.dev), i, &st.bus[i]);
			bad++;
		}
		__free_page(st.pages[i]);
	}
	if (kept_maps)
		pr_info("%s: %u mappings unmapped, %u with wrong data\n",
			dev_name(st.dev), kept_maps, bad);
	kept_maps = 0;
	for (i = 0; i < kept_coh; i++) {
		/* (not with interrupts off: dma_free_attrs() warns) */
		if (atomic) {
			spin_lock_bh(&late_atomic_lock);
			late_free(i);
			spin_unlock_bh(&late_atomic_lock);
		} else {
			late_free(i);
		}
	}
	if (kept_coh)
		pr_info("%s: %u coherent buffers freed%s\n", dev_name(st.dev),
			kept_coh, atomic ? " in atomic context" : "");
	kept_coh = 0;
	put_device(st.dev);
	st.dev = NULL;
}

static int late_hold(struct pci_dev *pdev)
{
	char *list, *p, *tok;
	unsigned int i;

	st.dev = get_device(&pdev->dev);
	for (i = 0; i < min(maps, MAX_MAPS); i++) {
		struct page *pg = alloc_page(GFP_KERNEL | __GFP_ZERO);
		dma_addr_t bus;

		if (!pg)
			break;
		bus = dma_map_page(&pdev->dev, pg, 0, PAGE_SIZE, DMA_FROM_DEVICE);
		if (dma_mapping_error(&pdev->dev, bus)) {
			__free_page(pg);
			break;
		}
		st.pages[kept_maps] = pg;
		st.bus[kept_maps++] = bus;
	}
	list = kstrdup(coh_sizes ? coh_sizes : "", GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	p = list;
	while ((tok = strsep(&p, ",")) && kept_coh + coh_failed < MAX_COH) {
		unsigned long size;
		void *cpu;

		if (!*tok || kstrtoul(tok, 0, &size) || !size || size > SZ_16M)
			continue;
		cpu = dma_alloc_coherent(&pdev->dev, size, &st.cbus[kept_coh],
					 GFP_KERNEL);
		if (!cpu) {
			coh_failed++;
			continue;
		}
		st.cpu[kept_coh] = cpu;
		st.csize[kept_coh++] = size;
	}
	kfree(list);
	return 0;
}

static int late_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	mutex_lock(&late_lock);
	if (st.dev) {
		pr_info("%s: probed while %u mappings and %u coherent buffers are still kept: holding nothing new\n",
			pci_name(pdev), kept_maps, kept_coh);
		mutex_unlock(&late_lock);
		return 0;
	}
	ret = late_hold(pdev);
	pr_info("%s: holding %u mappings and %u coherent buffers (%u allocations failed)\n",
		pci_name(pdev), kept_maps, kept_coh, coh_failed);
	mutex_unlock(&late_lock);
	return ret;
}

static void late_remove(struct pci_dev *pdev)
{
	mutex_lock(&late_lock);
	if (st.dev == &pdev->dev)
		pr_info("%s: removed, keeping %u mappings and %u coherent buffers\n",
			pci_name(pdev), kept_maps, kept_coh);
	mutex_unlock(&late_lock);
}

/* Bound only through driver_override. */
static const struct pci_device_id late_ids[] = {
	{ }
};

static struct pci_driver late_driver = {
	.name = "pvbounce_late",
	.id_table = late_ids,
	.probe = late_probe,
	.remove = late_remove,
};

static int late_release_set(const char *val, const struct kernel_param *kp)
{
	mutex_lock(&late_lock);
	if (st.dev)
		late_release();
	mutex_unlock(&late_lock);
	return 0;
}

static const struct kernel_param_ops late_release_ops = {
	.set = late_release_set,
};
module_param_cb(release, &late_release_ops, NULL, 0200);
MODULE_PARM_DESC(release, "write anything: unmap the kept mappings (checking the device's data reaches the pages) and free the kept coherent buffers");

static int __init late_init(void)
{
	return pci_register_driver(&late_driver);
}

static void __exit late_exit(void)
{
	pci_unregister_driver(&late_driver);
	mutex_lock(&late_lock);
	if (st.dev)
		late_release();
	mutex_unlock(&late_lock);
}

module_init(late_init);
module_exit(late_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvbounce test: a driver whose mappings and coherent memory outlive its remove()");
