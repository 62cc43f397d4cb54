// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_misuse: make, on purpose, the DMA-API mistakes pvbounce's poison
 * mode exists to show, on a device attached with force=1 (every mapping
 * bounced), and check what pvbounce did about each.  Runs once, at load,
 * prints KTAP at KERN_INFO (as pvbounce_test does), returns 0 whatever the
 * outcome; failures are counted in /sys/module/pvbounce_misuse/parameters/failed.
 *
 *   insmod pvbounce_misuse.ko dev=0000:00:03.0 poison=1
 *
 * The mistakes, each on a fresh two-page buffer filled with FILL, mapping
 * LEN bytes at OFF:
 *   to_unsynced     DMA_TO_DEVICE changed by the CPU after map, unmapped
 *                   without sync_for_device: misuse +1 (poison)
 *   to_synced       the same with a sync_for_device first: no misuse
 *   from_read       DMA_FROM_DEVICE read by the CPU before any sync: the
 *                   read sees the poison pattern (poison) or the old data;
 *                   after unmap the buffer is whole again, no misuse
 *   from_write      DMA_FROM_DEVICE written by the CPU before any sync:
 *                   misuse +1 (poison); after unmap the buffer is whole
 *   from_synced     sync_for_cpu, read, sync_for_device, unmap: the data
 *                   after sync_for_cpu, the pattern again after
 *                   sync_for_device (poison), no misuse
 *   freed_slot      no mistake: the bounced slot, as the device sees it,
 *                   holds the buffer while mapped and the poison pattern
 *                   once unmapped (poison), its bytes unchanged without
 * With poison=0 no such mistake is counted and the buffer is never touched.
 *
 * Mistakes of the DMA API's bookkeeping, counted with poison or without
 * (misuse +1 each, exactly; logged always for the last three, with poison
 * for the first two):
 *   unmap_size      unmapped with a size other than the map's
 *   unmap_dir       unmapped with another direction than the map's
 *   unmap_not_start unmapped at an address inside the mapping, not at its
 *                   start (nothing undone; the right unmap follows)
 *   unmap_unknown   unmapped twice: the second names no live mapping
 *   sync_clamped    synced for the CPU past the mapping's end (clamped)
 * The shell scenario (tests/vm/scenarios/misuse.sh) checks the kernel log
 * names device, address, size and the caller (a function of this module).
 *
 * The device must have no driver bound (nothing else may map through it).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "counters.h"
#include "xen_check.h"

#define FILL	0x5a
#define POISON	0x6b	/* PVB_POISON_BYTE */
#define OFF	100
#define LEN	3000

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a device attached to pvbounce with force=1 and no driver; required");

static bool poison = true;
module_param(poison, bool, 0444);
MODULE_PARM_DESC(poison, "pvbounce runs with poison=1: mistakes must be counted and FROM_DEVICE buffers poisoned (default 1)");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests of the run at load (-1: not run)");

/* KTAP lines go out without the pr_fmt prefix, as KUnit prints them */
#define ktap(fmt, ...) printk(KERN_INFO fmt, ##__VA_ARGS__)

static struct device *dev;
static u8 *buf;
static int ntest;

static int read_misuse(s64 *val)
{
	return pvb_read_dev(dev_name(dev), "misuse", val);
}

/* Bytes of [off, off + len) of buf that are not @want. */
static size_t count_not(size_t off, size_t len, u8 want)
{
	size_t i, bad = 0;

	for (i = off; i < off + len; i++)
		bad += READ_ONCE(buf[i]) != want;
	return bad;
}

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (ok) {
		ktap("ok %d %s\n", ntest, name);
		return;
	}
	failed++;
	ktap("not ok %d %s\n", ntest, name);
	va_start(ap, fmt);
	printk(KERN_INFO "# %pV\n", &(struct va_format){ .fmt = fmt, .va = &ap });
	va_end(ap);
}

/*
 * Every case's start: @m0 = misuse now, a fresh buffer mapped for @dir.  A
 * refused map fails test @name and returns DMA_MAPPING_ERROR.
 */
static dma_addr_t begin(enum dma_data_direction dir, const char *name, s64 *m0)
{
	dma_addr_t bus;

	*m0 = -1;
	read_misuse(m0);
	memset(buf, FILL, 2 * PAGE_SIZE);
	bus = dma_map_single(dev, buf + OFF, LEN, dir);
	if (dma_mapping_error(dev, bus))
		result(false, name, "map failed");
	return bus;
}

/* misuse moved by @want (poison) or 0 (no poison) since @before */
static void misuse_moved(const char *name, s64 before, int want)
{
	s64 now = -1;
	int ret = read_misuse(&now);
	char label[160];

	if (!poison)
		want = 0;
	/* poison=0: nothing is counted, whatever the name says */
	snprintf(label, sizeof(label), "%s%s", poison ? "" : "poison=0, so not counted: ", name);
	result(!ret && now - before == want, label,
	       "misuse went %lld -> %lld (read %d), want +%d", before, now, ret, want);
}

static noinline void misuse_to_unsynced(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "to_unsynced: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	buf[OFF + 500] ^= 0xff;		/* the mistake: no sync_for_device */
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);
	misuse_moved("to_unsynced: a TO_DEVICE buffer changed after map without sync_for_device is counted", m0, 1);
}

static noinline void misuse_to_synced(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "to_synced: not counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	buf[OFF + 500] ^= 0xff;
	dma_sync_single_for_device(dev, bus, LEN, DMA_TO_DEVICE);
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);
	misuse_moved("to_synced: the same change followed by sync_for_device is no misuse", m0, 0);
}

static noinline void misuse_from_read(void)
{
	dma_addr_t bus;
	size_t seen;
	s64 m0;

	bus = begin(DMA_FROM_DEVICE, "from_read: poison visible", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	/* the mistake: reading before sync_for_cpu */
	seen = count_not(OFF, LEN, poison ? POISON : FILL);
	dma_unmap_single(dev, bus, LEN, DMA_FROM_DEVICE);
	result(!seen, poison ? "from_read: a FROM_DEVICE buffer read before sync shows the poison pattern"
			     : "from_read: without poison a FROM_DEVICE buffer is left as it was at map",
	       "%zu of %d bytes were not %#x", seen, LEN, poison ? POISON : FILL);
	seen = count_not(0, 2 * PAGE_SIZE, FILL);
	result(!seen, "from_read: after unmap the buffer holds its data again, nothing around it touched",
	       "%zu bytes differ from %#x", seen, FILL);
	misuse_moved("from_read: a read cannot be counted, and nothing else was", m0, 0);
}

static noinline void misuse_from_write(void)
{
	dma_addr_t bus;
	size_t seen;
	s64 m0;

	bus = begin(DMA_FROM_DEVICE, "from_write: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	buf[OFF + 7] = 0x11;		/* the mistake: the device owns it */
	dma_unmap_single(dev, bus, LEN, DMA_FROM_DEVICE);
	misuse_moved("from_write: a CPU write to a FROM_DEVICE buffer before sync is counted", m0, 1);
	seen = count_not(0, 2 * PAGE_SIZE, FILL);
	result(!seen, "from_write: after unmap the buffer holds the device's view (the lost write reported)",
	       "%zu bytes differ from %#x", seen, FILL);
}

static noinline void misuse_from_synced(void)
{
	size_t data, again;
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_FROM_DEVICE, "from_synced: no misuse", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_sync_single_for_cpu(dev, bus, LEN, DMA_FROM_DEVICE);
	data = count_not(OFF, LEN, FILL);
	dma_sync_single_for_device(dev, bus, LEN, DMA_FROM_DEVICE);
	again = count_not(OFF, LEN, poison ? POISON : FILL);
	dma_unmap_single(dev, bus, LEN, DMA_FROM_DEVICE);
	result(!data, "from_synced: after sync_for_cpu the CPU reads the data",
	       "%zu bytes differ from %#x", data, FILL);
	result(!again, poison ? "from_synced: after sync_for_device the pattern is back"
			      : "from_synced: without poison sync_for_device leaves the buffer",
	       "%zu bytes differ", again);
	misuse_moved("from_synced: the correct sequence is no misuse", m0, 0);
}

/* misuse moved by exactly 1 since @before, poison or not */
static void misuse_once(const char *name, s64 before)
{
	s64 now = -1;
	int ret = read_misuse(&now);

	result(!ret && now - before == 1, name,
	       "misuse went %lld -> %lld (read %d), want +1", before, now, ret);
}

static noinline void misuse_unmap_size(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "unmap_size: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_unmap_single(dev, bus, LEN - 100, DMA_TO_DEVICE);
	misuse_once("unmap_size: an unmap of another size than the map's is counted", m0);
}

static noinline void misuse_unmap_dir(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "unmap_dir: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_unmap_single(dev, bus, LEN, DMA_BIDIRECTIONAL);
	misuse_once("unmap_dir: an unmap with another direction than the map's is counted", m0);
}

static noinline void misuse_unmap_not_start(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "unmap_not_start: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_unmap_single(dev, bus + 16, LEN - 16, DMA_TO_DEVICE);
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);	/* the right one */
	misuse_once("unmap_not_start: an unmap inside a mapping, not at its start, is counted once", m0);
}

static noinline void misuse_unmap_unknown(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, "unmap_unknown: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);	/* twice */
	misuse_once("unmap_unknown: a second unmap of the same address is counted", m0);
}

static noinline void misuse_sync_clamped(void)
{
	dma_addr_t bus;
	s64 m0;

	bus = begin(DMA_FROM_DEVICE, "sync_clamped: counted", &m0);
	if (dma_mapping_error(dev, bus))
		return;
	dma_sync_single_for_cpu(dev, bus, LEN + 500, DMA_FROM_DEVICE);
	dma_unmap_single(dev, bus, LEN, DMA_FROM_DEVICE);
	misuse_once("sync_clamped: a sync past the mapping's end is counted", m0);
}

/*
 * Not a mistake: a bounced TO_DEVICE mapping's slot, seen as the device
 * sees it (phys_to_virt(bus) natively, through Xen's M2P on a Xen PV
 * guest), holds the buffer's bytes while mapped; once unmapped it holds
 * the poison pattern with poison=1, and is left as it was without.
 */
static noinline void freed_slot_poisoned(void)
{
	const char *name = poison ? "freed_slot_poisoned: an unmapped slot is filled with 0x6b"
				  : "freed_slot_poisoned: poison=0, so an unmapped slot keeps its bytes";
	size_t mapped, freed;
	dma_addr_t bus;
	u8 *slot;
	s64 m0;

	bus = begin(DMA_TO_DEVICE, name, &m0);
	if (dma_mapping_error(dev, bus))
		return;
	if (pvbt_xen_active())
		slot = pvbt_xen_dev_view(bus, LEN);
	else
		slot = pfn_valid(PHYS_PFN(bus)) ? phys_to_virt(bus) : NULL;
	if (!slot || slot == buf + OFF) {
		dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);
		result(false, name, "no view of the slot at %pad, or not bounced", &bus);
		return;
	}
	for (mapped = 0, freed = 0; freed < LEN; freed++)
		mapped += READ_ONCE(slot[freed]) != FILL;
	dma_unmap_single(dev, bus, LEN, DMA_TO_DEVICE);
	for (freed = 0; freed < LEN; freed++)
		if (READ_ONCE(slot[freed]) != (poison ? POISON : FILL))
			break;
	result(!mapped && freed == LEN, name,
	       "slot at %pad: %zu of %d bytes not the buffer's while mapped; after unmap byte %zu is %#x",
	       &bus, mapped, LEN, freed, freed < LEN ? slot[freed] : 0);
}

static int __init misuse_init(void)
{
	struct page *page;

	if (!target) {
		pr_err("dev= is required\n");
		return -EINVAL;
	}
	dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!dev) {
		pr_err("no PCI device %s\n", target);
		return -ENODEV;
	}
	page = alloc_pages(GFP_KERNEL, 1);
	if (!page) {
		put_device(dev);
		return -ENOMEM;
	}
	buf = page_address(page);
	failed = 0;
	ktap("KTAP version 1\n");
	ktap("1..16\n");
	misuse_to_unsynced();
	misuse_to_synced();
	misuse_from_read();
	misuse_from_write();
	misuse_from_synced();
	misuse_unmap_size();
	misuse_unmap_dir();
	misuse_unmap_not_start();
	misuse_unmap_unknown();
	misuse_sync_clamped();
	freed_slot_poisoned();
	ktap("# %d of %d failed\n", failed, ntest);
	__free_pages(page, 1);
	put_device(dev);
	return 0;
}

static void __exit misuse_exit(void)
{
}

module_init(misuse_init);
module_exit(misuse_exit);
MODULE_DESCRIPTION("pvbounce test: DMA-API mistakes made on purpose under poison=1");
MODULE_LICENSE("GPL");
