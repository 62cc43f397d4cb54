// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_coh: one dma_alloc_coherent() and dma_free_coherent() per write,
 * in the writing task, so that the kernel's fault injection (failslab,
 * fail_page_alloc through /proc/thread-self/fail-nth) can fail the Nth
 * allocation of pvbounce's coherent path and nothing else
 * (tests/vm/scenarios/faults.sh).
 *
 *   insmod pvbounce_coh.ko
 *   echo "0000:00:03.0 65536" > /sys/module/pvbounce_coh/parameters/alloc
 *
 * The write allocates that many bytes on the device (attached to pvbounce,
 * any driver bound or none), checks the memory is zeroed, writes it all and
 * frees it.  It fails with -ENOMEM if the allocation failed, -EIO if the
 * memory was not zeroed, -ENODEV if there is no such device.  This module
 * allocates nothing itself on the way.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/string.h>

#define MAX_ALLOC	SZ_16M

static unsigned long allocs;
module_param(allocs, ulong, 0444);
MODULE_PARM_DESC(allocs, "read-only: allocations that succeeded since load");

/* "DDDD:BB:DD.F SIZE": allocate, check, fill and free. */
static int coh_alloc_set(const char *val, const struct kernel_param *kp)
{
	unsigned int dom, bus, slot, fn;
	struct pci_dev *pdev;
	unsigned long size;
	dma_addr_t dma;
	size_t i;
	u8 *cpu;
	int ret = 0;

	if (sscanf(val, "%x:%x:%x.%x %lu", &dom, &bus, &slot, &fn, &size) != 5 ||
	    !size || size > MAX_ALLOC || slot > 31 || fn > 7)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(slot, fn));
	if (!pdev)
		return -ENODEV;
	cpu = dma_alloc_coherent(&pdev->dev, size, &dma, GFP_KERNEL);
	if (!cpu) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < size; i++) {
		if (cpu[i]) {
			pr_err("%s: %lu bytes at %pad: byte %zu is %#x, not zeroed\n",
			       pci_name(pdev), size, &dma, i, cpu[i]);
			ret = -EIO;
			break;
		}
	}
	memset(cpu, 0xa5, size);
	dma_free_coherent(&pdev->dev, size, cpu, dma);
	if (!ret)
		allocs++;
out:
	pci_dev_put(pdev);
	return ret;
}

static const struct kernel_param_ops coh_alloc_ops = {
	.set = coh_alloc_set,
};
module_param_cb(alloc, &coh_alloc_ops, NULL, 0200);
MODULE_PARM_DESC(alloc, "write \"DDDD:BB:DD.F SIZE\": one coherent allocation of SIZE bytes on that device, checked and freed");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvbounce test: coherent allocations on demand, for fault injection");
