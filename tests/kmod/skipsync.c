// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_skipsync: syncs on a device attached to pvbounce with force=0,
 * before and after its first bounced mapping, and the largest mapping it is
 * told of.  Checked once at load, KTAP on the kernel log (as
 * pvbounce_test.ko prints it).
 *
 *   insmod pvbounce_skipsync.ko dev=0000:00:03.0 bits=28
 *
 * The device must have no driver and pvbounce must never have bounced a
 * mapping of it since it was attached (a fresh load), with its pool below
 * 2^bits (address_bits=bits).  Its DMA masks are changed for the run and
 * restored after.  Where the kernel can skip syncs (CONFIG_DMA_NEED_SYNC:
 * 6.12, 7.3), what docs/speed.md says of them:
 *
 *  - with a 64-bit mask, a buffer mapped directly: dma_need_sync() false
 *    and its syncs do not reach pvbounce (its syncs counter stays);
 *  - a 2^bits mask set: still so;
 *  - a buffer above the mask, mapped DMA_FROM_DEVICE, is bounced:
 *    dma_need_sync() is true as soon as the map returned, and what the
 *    device wrote is in the buffer after dma_sync_single_for_cpu();
 *  - from then on syncs of the direct mapping reach pvbounce too, also
 *    after dma_set_mask() again;
 *  - every bounce clears the skip flag if it was set again.
 *
 * Elsewhere (6.1) every sync reaches pvbounce, and dma_need_sync() is true
 * throughout; with CONFIG_DMA_API_DEBUG dma_need_sync() is true throughout
 * (the DMA API calls into the ops for its checks, where pvbounce's are not
 * yet).  dma_max_mapping_size(): without a limit natively with the 64-bit
 * mask (no mapping can bounce), pvbounce's largest bounced mapping with the
 * narrow one and on Xen.
 *
 * With state=1 or 2 it only reads the device's skip-sync flag into the
 * parameter skip_sync (see read_state()).
 */
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/processor.h>

#include "counters.h"
#include "dev_view.h"
#include "ktap.h"
#include "xen_check.h"

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a device attached to pvbounce with force=0, no driver, never bounced; required");

static unsigned int bits = 28;
module_param(bits, uint, 0444);
MODULE_PARM_DESC(bits, "width of the narrow DMA mask, pvbounce's address_bits, 24..40 (default 28)");

static int state;
module_param(state, int, 0444);
MODULE_PARM_DESC(state, "instead of the tests: 1 reads the device's skip-sync flag into skip_sync, 2 sets its DMA mask again first (the kernel computes the flag for its ops) (default 0)");

static int skip_sync = -1;
module_param(skip_sync, int, 0444);
MODULE_PARM_DESC(skip_sync, "read-only result of state=: the device's skip-sync flag, 0 or 1 (-1: the kernel has none)");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests (-1: not run)");


struct s {
	struct device *dev;
	bool xen;
	bool lazy;		/* the kernel can skip syncs */
	bool need0;		/* dma_need_sync() before the first bounce */
	bool failed;
	const char *skip;
	u8 *dbuf;		/* the direct mapping, live through the run */
	dma_addr_t dbus;
};

static s64 syncs(struct s *s)
{
	s64 v = -1;

	CHECK(s, !pvb_read_dev(target, "syncs", &v), "reading %s's syncs", target);
	return v;
}

/* The pair of syncs a driver makes on its mapping, and what reached pvbounce. */
static s64 sync_pair(struct s *s, dma_addr_t bus)
{
	s64 before = syncs(s);

	dma_sync_single_for_cpu(s->dev, bus, PAGE_SIZE, DMA_FROM_DEVICE);
	dma_sync_single_for_device(s->dev, bus, PAGE_SIZE, DMA_FROM_DEVICE);
	return syncs(s) - before;
}

/* 64-bit mask: a direct mapping needs no sync, none reaches pvbounce. */
static void t_direct_skips(struct s *s)
{
	s64 moved;

	CHECK(s, !dma_set_mask_and_coherent(s->dev, DMA_BIT_MASK(64)),
	      "dma_set_mask_and_coherent(64 bits) refused");
	s->dbuf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!CHECK(s, s->dbuf, "no memory"))
		return;
	s->dbus = dma_map_single(s->dev, s->dbuf, PAGE_SIZE, DMA_FROM_DEVICE);
	if (!CHECK(s, !dma_mapping_error(s->dev, s->dbus), "map refused")) {
		kfree(s->dbuf);
		s->dbuf = NULL;
		return;
	}
	CHECK(s, s->dbus == pvbt_bus_of(s->xen, virt_to_phys(s->dbuf)),
	      "mapped at %pad, not directly", &s->dbus);
	CHECK(s, dma_need_sync(s->dev, s->dbus) == s->need0,
	      "dma_need_sync() %d before any bounce, want %d",
	      dma_need_sync(s->dev, s->dbus), s->need0);
	/* (the flag itself, which DMA-API debug's dma_need_sync() hides) */
	CHECK(s, !s->lazy || pvb_dev_skip_sync(s->dev),
	      "the device's skip-sync flag clear before any bounce");
	moved = sync_pair(s, s->dbus);
	CHECK(s, moved == (s->lazy ? 0 : 2),
	      "syncs moved by %lld for 2 syncs of a direct mapping, want %d",
	      moved, s->lazy ? 0 : 2);
}

/* The kernel computes the flag again at dma_set_mask(): still no sync op. */
static void t_narrow_mask_skips(struct s *s)
{
	s64 moved;

	CHECK(s, !dma_set_mask_and_coherent(s->dev, DMA_BIT_MASK(bits)),
	      "dma_set_mask_and_coherent(%u bits) refused", bits);
	if (!s->dbuf)
		return;
	CHECK(s, dma_need_sync(s->dev, s->dbus) == s->need0,
	      "dma_need_sync() %d after dma_set_mask(), want %d",
	      dma_need_sync(s->dev, s->dbus), s->need0);
	moved = sync_pair(s, s->dbus);
	CHECK(s, moved == (s->lazy ? 0 : 2), "syncs moved by %lld, want %d",
	      moved, s->lazy ? 0 : 2);
}

/*
 * The first bounce: a FROM_DEVICE buffer above the mask.  The device's
 * write reaches the CPU through sync_for_cpu, which must not be skipped.
 */
static void t_first_bounce_syncs(struct s *s)
{
	u64 mask = DMA_BIT_MASK(bits);
	struct page *p = pvbt_block_above(s->xen, mask);
	u8 *cpu, *want = NULL, *d;
	dma_addr_t bus;
	s64 s0;

	if (!p) {
		s->skip = "no memory above the mask";
		return;
	}
	cpu = page_address(p);
	want = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!CHECK(s, want, "no memory"))
		goto out;
	memset(cpu, 0x5a, PAGE_SIZE);
	bus = dma_map_page(s->dev, p, 0, PAGE_SIZE, DMA_FROM_DEVICE);
	if (!CHECK(s, !dma_mapping_error(s->dev, bus), "map above the mask refused"))
		goto out;
	CHECK(s, dma_need_sync(s->dev, bus),
	      "dma_need_sync() false for a bounced mapping at %pad", &bus);
	CHECK(s, !pvb_dev_skip_sync(s->dev),
	      "the device's skip-sync flag still set after its first bounce");
	d = pvbt_dev_view(s->xen, bus, PAGE_SIZE);
	if (CHECK(s, d && d != cpu && bus + PAGE_SIZE - 1 <= mask,
		  "mapped at %pad: not bounced below the mask", &bus)) {
		pvbt_fill(want, PAGE_SIZE, bits);
		memcpy(d, want, PAGE_SIZE);		/* the device writes */
	} else {
		memset(want, 0x5a, PAGE_SIZE);
	}
	s0 = syncs(s);
	dma_sync_single_for_cpu(s->dev, bus, PAGE_SIZE, DMA_FROM_DEVICE);
	CHECK(s, !memcmp(cpu, want, PAGE_SIZE),
	      "after sync_for_cpu the CPU does not read what the device wrote (first byte %#x, want %#x)",
	      cpu[0], want[0]);
	CHECK(s, syncs(s) - s0 == 1, "syncs moved by %lld for a sync of the bounced mapping, want 1",
	      syncs(s) - s0);
	dma_sync_single_for_device(s->dev, bus, PAGE_SIZE, DMA_FROM_DEVICE);
	if (d && d != cpu) {
		pvbt_fill(want, PAGE_SIZE, bits + 1);
		memcpy(d, want, PAGE_SIZE);
	}
	dma_unmap_page(s->dev, bus, PAGE_SIZE, DMA_FROM_DEVICE);
	CHECK(s, !memcmp(cpu, want, PAGE_SIZE),
	      "after unmap the CPU does not read the device's second write");
out:
	kfree(want);
	__free_pages(p, PVBT_HIGH_ORDER);
}

/* After it, every sync reaches pvbounce, dma_set_mask() or not. */
static void t_syncs_after_bounce(struct s *s)
{
	s64 moved;

	if (!s->dbuf) {
		s->skip = "no direct mapping";
		return;
	}
	CHECK(s, dma_need_sync(s->dev, s->dbus), "dma_need_sync() false after a bounce");
	moved = sync_pair(s, s->dbus);
	CHECK(s, moved == 2, "syncs moved by %lld after a bounce, want 2", moved);
	CHECK(s, !dma_set_mask_and_coherent(s->dev, DMA_BIT_MASK(64)),
	      "dma_set_mask_and_coherent(64 bits) refused");
	CHECK(s, dma_need_sync(s->dev, s->dbus),
	      "dma_need_sync() false after dma_set_mask() following a bounce");
	moved = sync_pair(s, s->dbus);
	CHECK(s, moved == 2, "syncs moved by %lld after dma_set_mask(), want 2", moved);
}

/*
 * Every bounce clears the flag, not only the first: set again, as a
 * dma_set_mask() racing a map, or another CPU's first bounce between
 * installing the sync ops and clearing it, would leave it.
 */
static void t_bounce_clears_flag(struct s *s)
{
	u64 mask = DMA_BIT_MASK(bits);
	struct page *p;
	dma_addr_t bus;

	if (!s->lazy) {
		s->skip = "no skip-sync flag (no CONFIG_DMA_NEED_SYNC)";
		return;
	}
	CHECK(s, !dma_set_mask_and_coherent(s->dev, mask),
	      "dma_set_mask_and_coherent(%u bits) refused", bits);
	p = pvbt_block_above(s->xen, mask);
	if (!p) {
		s->skip = "no memory above the mask";
		return;
	}
	pvb_dev_assign_skip_sync(s->dev, true);
	bus = dma_map_page(s->dev, p, 0, PAGE_SIZE, DMA_TO_DEVICE);
	if (CHECK(s, !dma_mapping_error(s->dev, bus), "map above the mask refused")) {
		CHECK(s, bus + PAGE_SIZE - 1 <= mask, "mapped at %pad: not bounced", &bus);
		CHECK(s, !pvb_dev_skip_sync(s->dev),
		      "a bounce left the skip-sync flag set");
		dma_unmap_page(s->dev, bus, PAGE_SIZE, DMA_TO_DEVICE);
	}
	pvb_dev_assign_skip_sync(s->dev, false);
	__free_pages(p, PVBT_HIGH_ORDER);
}

/* No limit where nothing can bounce (native, force=0, mask reaching all). */
static void t_max_mapping(struct s *s)
{
	size_t wide, narrow;

	CHECK(s, !dma_set_mask_and_coherent(s->dev, DMA_BIT_MASK(64)),
	      "dma_set_mask_and_coherent(64 bits) refused");
	wide = dma_max_mapping_size(s->dev);
	CHECK(s, !dma_set_mask_and_coherent(s->dev, DMA_BIT_MASK(bits)),
	      "dma_set_mask_and_coherent(%u bits) refused", bits);
	narrow = dma_max_mapping_size(s->dev);
	diag("dma_max_mapping_size(): %zu with a 64-bit mask, %zu with %u bits (CPU: %u physical address bits)",
	     wide, narrow, bits, boot_cpu_data.x86_phys_bits);
	CHECK(s, s->xen ? wide < SIZE_MAX : wide == SIZE_MAX,
	      "%zu with a 64-bit mask, want %s", wide,
	      s->xen ? "a limit on Xen" : "none (SIZE_MAX) natively");
	CHECK(s, narrow < SIZE_MAX, "no limit with a %u-bit mask", bits);
}

struct test {
	const char *name;
	void (*fn)(struct s *s);
};

static const struct test tests[] = {
	{ "direct_mapping_syncs_before_any_bounce", t_direct_skips },
	{ "direct_mapping_syncs_after_dma_set_mask", t_narrow_mask_skips },
	{ "first_bounce_from_device_synced", t_first_bounce_syncs },
	{ "syncs_reach_pvbounce_after_bounce", t_syncs_after_bounce },
	{ "every_bounce_clears_the_skip_flag", t_bounce_clears_flag },
	{ "max_mapping_size_unlimited_where_nothing_bounces", t_max_mapping },
};

/*
 * state=: the flag as the kernel left it, before pvbounce attaches the
 * device and after it let it go (its old ops and flag back), for the
 * scenario to compare.
 */
static int read_state(void)
{
	struct device *dev = NULL;

	if (target)
		dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!dev || dev->driver || !dev->dma_mask) {
		pr_err("pvbounce_skipsync: dev=%s: no such device without a driver\n",
		       target ?: "-");
		if (dev)
			put_device(dev);
		return -ENODEV;
	}
	if (state == 2 && dma_set_mask(dev, *dev->dma_mask))
		pr_err("pvbounce_skipsync: dma_set_mask(%#llx) refused\n", *dev->dma_mask);
	skip_sync = PVB_LAZY_SYNC ? pvb_dev_skip_sync(dev) : -1;
	put_device(dev);
	return 0;
}

static int __init pvbs_init(void)
{
	unsigned int i, pass = 0, fail = 0, skipped = 0;
	u64 mask_was = 0, cmask_was = 0;
	struct device *dev = NULL;
	struct s *s;

	if (state)
		return read_state();
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->xen = pvbt_xen_active();
	s->lazy = IS_ENABLED(CONFIG_DMA_NEED_SYNC);
	s->need0 = !s->lazy || IS_ENABLED(CONFIG_DMA_API_DEBUG);
	ktap("KTAP version 1");
	ktap("1..%zu", ARRAY_SIZE(tests) + 1);
	if (target)
		dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!dev || bits < 24 || bits > 40 || dev->driver || !dev->dma_mask ||
	    !get_dma_ops(dev)) {
		diag("dev=%s %s, bits=%u: need a device attached to pvbounce without a driver, 24..40 bits",
		     target ?: "-", dev ? (dev->driver ? "has a driver" : "found") : "not found",
		     bits);
		ktap("not ok 1 setup");
		fail = 1;
		goto out;
	}
	s->dev = dev;
	ktap("ok 1 setup");
	pass = 1;
	diag("%s: %s; syncs %s before the first bounce; device view %s", target,
	     s->lazy ? "CONFIG_DMA_NEED_SYNC" : "no CONFIG_DMA_NEED_SYNC",
	     s->lazy ? "skipped" : "reach pvbounce",
	     s->xen ? "through Xen's M2P" : "native");
	mask_was = *dev->dma_mask;
	cmask_was = dev->coherent_dma_mask;
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		s->failed = false;
		s->skip = NULL;
		tests[i].fn(s);
		if (s->failed) {
			fail++;
			ktap("not ok %u %s", i + 2, tests[i].name);
		} else if (s->skip) {
			skipped++;
			ktap("ok %u %s # SKIP %s", i + 2, tests[i].name, s->skip);
		} else {
			pass++;
			ktap("ok %u %s", i + 2, tests[i].name);
		}
	}
	if (s->dbuf) {
		dma_unmap_single(dev, s->dbus, PAGE_SIZE, DMA_FROM_DEVICE);
		kfree(s->dbuf);
	}
	*dev->dma_mask = mask_was;
	dev->coherent_dma_mask = cmask_was;
out:
	diag("Totals: pass:%u fail:%u skip:%u", pass, fail, skipped);
	failed = fail;
	if (dev)
		put_device(dev);
	kfree(s);
	return 0;
}

static void __exit pvbs_exit(void)
{
}

module_init(pvbs_init);
module_exit(pvbs_exit);
MODULE_DESCRIPTION("pvbounce skip-sync test: syncs before and after a device's first bounce, KTAP");
MODULE_LICENSE("GPL");
