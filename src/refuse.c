// SPDX-License-Identifier: GPL-2.0
/*
 * Devices pvbounce must not take.  Called for a selected device with no
 * driver bound, before anything of it is touched: a refused device keeps
 * its ops, its IOMMU domain and everything else as they were.
 *
 * Why the state seen here is the state the driver will run on, on both
 * kernels (x86, Intel or AMD IOMMU):
 *  - The IOMMU core's PCI bus notifier is registered at boot, long before
 *    ours, with the same priority, so it runs first: by the time
 *    BUS_NOTIFY_ADD_DEVICE reaches pvbounce (and for devices present at
 *    load) iommu_probe_device() has put the device in its group, attached
 *    the group's default domain and set up its DMA: 6.1 puts iommu_dma_ops
 *    in dev->dma_ops for a DMA or DMA-FQ domain (and NULL for identity);
 *    6.12 sets dev->dma_iommu instead, which the DMA API checks before any
 *    ops, so ops installed over it are silently bypassed (and dma_set_mask()
 *    warns).
 *  - At probe, pci_dma_configure() only takes a reference on the default
 *    domain (iommu_device_use_default_domain()); ACPI's replay of the IOMMU
 *    probe does nothing for a device already in a group, and x86 has no
 *    arch_setup_dma_ops().  Nothing there rewrites dev->dma_ops, so an
 *    identity-domain device keeps pvbounce's ops through probe.
 * The domain only changes afterwards if user space writes the group's
 * sysfs type, which the IOMMU core allows only while no driver is bound:
 * that is an attached device's state too.  On 6.1 that write installs the
 * IOMMU's ops over ours; detach() then leaves them in place.  (After such a
 * write, write devices= again so that the device is considered afresh.)
 */
#include <linux/dma-map-ops.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <pvbounce/backend.h>
#include <pvbounce/log.h>
#include <pvbounce/refuse.h>

/* debugfs fail/noncoherent: see refuse.h. */
u32 pvb_fail_noncoherent;

/* A domain type as the iommu_group's sysfs "type" file names it. */
static const char *domain_type_name(unsigned int type)
{
	switch (type) {
	case IOMMU_DOMAIN_BLOCKED:
		return "blocked";
	case IOMMU_DOMAIN_IDENTITY:
		return "identity";
	case IOMMU_DOMAIN_UNMANAGED:
		return "unmanaged";
	case IOMMU_DOMAIN_DMA:
		return "DMA";
	case IOMMU_DOMAIN_DMA_FQ:
		return "DMA-FQ";
	default:
		return "other";
	}
}

/*
 * Only an identity domain (or no IOMMU) lets the bus addresses pvbounce
 * hands out reach memory as they are.  A DMA or DMA-FQ domain translates
 * for the DMA API: the user can switch the device to identity.  Any other
 * type means the group is not on a DMA-API domain at all: unmanaged is a
 * domain whose page tables belong to someone else (VFIO, iommufd, a driver
 * that manages its own), blocked lets no DMA through; in both pvbounce's
 * addresses would hit the wrong memory or fault, and a DMA-API driver
 * could not bind anyway (iommu_device_use_default_domain() says -EBUSY
 * while the group is claimed).  Refused too, with the type named.
 */
static int check_iommu(struct pci_dev *pdev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(&pdev->dev);

	if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY) {
		/* dma_iommu without a DMA domain cannot be; never stack on it */
		if (!pvb_dev_dma_iommu(&pdev->dev))
			return 0;
	} else if (!iommu_is_dma_domain(domain)) {
		pvb_dev_err(pdev, "not attached: its IOMMU domain is %s (type %#x), not identity: the group is claimed by another user (VFIO, iommufd) or blocked; release it, then write devices= again\n",
			    domain_type_name(domain->type), domain->type);
		return -EBUSY;
	}
	pvb_dev_err(pdev, "not attached: behind an IOMMU in translating mode (boot with iommu=pt, or set its iommu_group type to identity)\n");
	return -EOPNOTSUPP;
}

/**
 * pvb_refuse_check() - may pvbounce give @pdev its ops?
 * @pdev: a selected device with no driver bound.
 *
 * Refuses a device whose IOMMU domain is not identity (see check_iommu())
 * and one whose dev->dma_ops is set: on x86 the kernel's default is
 * dev->dma_ops == NULL, the arch-wide ops (dma-direct, or xen_swiotlb in a
 * Xen PV dom0) coming through get_dma_ops(), and pvbounce takes their
 * place; per-device ops belong to somebody else, who would lose them or
 * find pvbounce underneath.  The IOMMU comes first because on 6.1 a
 * translating domain also shows as dev->dma_ops == &iommu_dma_ops, and
 * its line says what to do.  Last, a device whose DMA does not snoop the
 * CPU caches: pvbounce's ops never write back or invalidate a cache line,
 * so such a device would read stale bounce slots and its writes be
 * overwritten by dirty lines.  x86 DMA is coherent (dev_is_dma_coherent()
 * is true there, and the build is x86-64 only), so this guards what the
 * kernel would report, and debugfs fail/noncoherent makes a test see it.
 * The DMA mask is checked later, when the driver sets it
 * (pvb_dma_supported()).
 *
 * Return: 0 if it may; a negative errno, with one logged line naming the
 * device, the reason and what to do, if it must be left alone.
 */
int pvb_refuse_check(struct pci_dev *pdev)
{
	const struct dma_map_ops *ops = pdev->dev.dma_ops;
	int ret;

	ret = check_iommu(pdev);
	if (ret)
		return ret;
	if (ops) {
		pvb_dev_err(pdev, "not attached: its DMA ops are %ps, not the kernel's defaults (installed by another module or driver); pvbounce does not stack over them: unload what set them, or leave the device out of devices=\n",
			    ops);
		return -EBUSY;
	}
	if (!dev_is_dma_coherent(&pdev->dev) ||
	    pvb_fail_countdown(&pvb_fail_noncoherent)) {
		pvb_dev_err(pdev, "not attached: its DMA is not cache-coherent, and pvbounce's ops never sync CPU caches; leave the device out of devices=\n");
		return -EOPNOTSUPP;
	}
	return 0;
}
