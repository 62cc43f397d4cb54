// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_mask: a narrow DMA mask on a device attached to pvbounce, checked
 * once at load, KTAP on the kernel log (as pvbounce_test.ko prints it).
 *
 * The device must have no driver bound: its DMA masks and bus_dma_limit are
 * changed for the run and restored before init returns.  bits= is the mask
 * width; pool_top= (the highest bus address of the device's pool, from
 * debugfs pool) says which case this is:
 *
 *  - the pool lies below the mask (pool_top <= 2^bits - 1): dma_set_mask()
 *    is served; with force=0 a buffer the device reaches is mapped directly,
 *    a buffer above the mask is bounced below it, the data checked from the
 *    device's side both ways; a coherent allocation lies below the mask.
 *
 *  - the pool reaches above the mask: dma_set_mask() and
 *    dma_set_coherent_mask() are refused, the masks unchanged.  Then the
 *    mask is imposed the other way a platform can (dev->bus_dma_limit) and
 *    a buffer above it is mapped again and again, every mapping held: each
 *    one served must lie below the limit, and once the pool's slots below it
 *    are taken the next one must be refused for the mask (errors_mask, not
 *    a full pool).
 *
 * Every counter the run moves is checked exactly, from
 * /sys/kernel/pvbounce/<dev>/.  Refusals for the mask made by the run are
 * in the read-only parameter mask_refusals, for the scenario to compare
 * with the trace.
 */
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "counters.h"
#include "dev_view.h"
#include "ktap.h"
#include "xen_check.h"

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of an attached device with no driver; required");

static unsigned int bits = 32;
module_param(bits, uint, 0444);
MODULE_PARM_DESC(bits, "width of the DMA mask to set, 24..63 (default 32)");

static unsigned long long pool_top;
module_param(pool_top, ullong, 0444);
MODULE_PARM_DESC(pool_top, "highest bus address of the device's pool (debugfs pool); required");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests (-1: not run)");

static int mask_refusals;
module_param(mask_refusals, int, 0444);
MODULE_PARM_DESC(mask_refusals, "read-only result: maps the run saw refused for the mask");

#define BUF_ORDER	2		/* 16 KiB buffers */
#define BUF_SIZE	(PAGE_SIZE << BUF_ORDER)
#define MAX_TRIES	4096		/* allocations to find a buffer */

enum { C_MAPS, C_UNMAPS, C_BOUNCED, C_DIRECT, C_TO_DEV, C_FROM_DEV,
	C_MAP_ERRORS, C_MASK, C_POOL_FULL, C_COHERENT, NR_C };

static const char *const cname[NR_C] = {
	[C_MAPS] = "maps", [C_UNMAPS] = "unmaps",
	[C_BOUNCED] = "bounced_maps", [C_DIRECT] = "direct_maps",
	[C_TO_DEV] = "bytes_to_device", [C_FROM_DEV] = "bytes_from_device",
	[C_MAP_ERRORS] = "map_errors", [C_MASK] = "errors_mask",
	[C_POOL_FULL] = "errors_pool_full", [C_COHERENT] = "coherent_allocs",
};

struct m {
	struct device *dev;
	u64 mask;		/* DMA_BIT_MASK(bits) */
	bool xen;
	bool failed;
	const char *skip;
	s64 want[NR_C];		/* what the run must move each counter by */
	s64 base[NR_C];
};

/* Whether every byte of the buffer at @p lies at or below @limit. */
static bool reaches(struct m *m, struct page *p, u64 limit)
{
	phys_addr_t phys = page_to_phys(p);
	size_t off;

	for (off = 0; off < BUF_SIZE; off += PAGE_SIZE)
		if (pvbt_bus_of(m->xen, phys + off) + PAGE_SIZE - 1 > limit)
			return false;
	return true;
}

/*
 * A BUF_SIZE buffer wholly at or below @limit (from ZONE_DMA, which lies
 * low natively), or NULL when MAX_TRIES allocations found none.
 */
static struct page *low_buffer(struct m *m, u64 limit)
{
	struct page *p, *found = NULL, *n;
	LIST_HEAD(rejects);
	int i;

	for (i = 0; i < MAX_TRIES && !found; i++) {
		p = alloc_pages(GFP_KERNEL | GFP_DMA | __GFP_NOWARN, BUF_ORDER);
		if (!p)
			break;
		if (reaches(m, p, limit))
			found = p;
		else
			list_add(&p->lru, &rejects);
	}
	list_for_each_entry_safe(p, n, &rejects, lru) {
		list_del(&p->lru);
		__free_pages(p, BUF_ORDER);
	}
	return found;
}

/* ---- counters ----------------------------------------------------------- */

/* ---- served: the pool lies below the mask --------------------------------- */

static void t_set_mask_served(struct m *m)
{
	int ret = dma_set_mask_and_coherent(m->dev, m->mask);

	CHECK(m, !ret, "dma_set_mask_and_coherent(%u bits): %d", bits, ret);
	CHECK(m, dma_get_mask(m->dev) == m->mask, "mask %#llx, want %#llx",
	      dma_get_mask(m->dev), m->mask);
}

/* force=0: a buffer the device reaches goes direct, at its own address. */
static void t_reachable_direct(struct m *m)
{
	struct page *p = low_buffer(m, m->mask);
	dma_addr_t bus;

	if (!p) {
		m->skip = "no buffer found below the mask";
		return;
	}
	bus = dma_map_page(m->dev, p, 0, BUF_SIZE, DMA_TO_DEVICE);
	if (CHECK(m, !dma_mapping_error(m->dev, bus), "map below the mask failed")) {
		m->want[C_MAPS]++;
		m->want[C_DIRECT]++;
		m->want[C_TO_DEV] += BUF_SIZE;
		CHECK(m, bus == pvbt_bus_of(m->xen, page_to_phys(p)),
		      "a buffer at bus %pad below the mask mapped at %pad, not directly",
		      &(dma_addr_t){ pvbt_bus_of(m->xen, page_to_phys(p)) }, &bus);
		dma_unmap_page(m->dev, bus, BUF_SIZE, DMA_TO_DEVICE);
		m->want[C_UNMAPS]++;
	}
	__free_pages(p, BUF_ORDER);
}

/*
 * force=0: a buffer above the mask is bounced below it; the device reads
 * what the CPU wrote and the CPU reads what the device wrote.
 */
static void t_above_bounced(struct m *m)
{
	struct page *p = pvbt_block_above(m->xen, m->mask);
	u8 *cpu, *want, *d;
	dma_addr_t bus;

	if (!p) {
		m->skip = "no memory above the mask";
		return;
	}
	cpu = page_address(p);
	want = kmalloc(BUF_SIZE, GFP_KERNEL);
	if (!CHECK(m, want, "no memory"))
		goto out;
	diag("buffer at bus %pad, above the mask",
	     &(dma_addr_t){ pvbt_bus_of(m->xen, page_to_phys(p)) });

	pvbt_fill(cpu, BUF_SIZE, bits);
	bus = dma_map_page(m->dev, p, 0, BUF_SIZE, DMA_TO_DEVICE);
	if (!CHECK(m, !dma_mapping_error(m->dev, bus), "to-device map refused"))
		goto out;
	m->want[C_MAPS]++;
	m->want[C_BOUNCED]++;
	m->want[C_TO_DEV] += BUF_SIZE;
	CHECK(m, bus + BUF_SIZE - 1 <= m->mask, "bounced to %pad, past the mask %#llx",
	      &bus, m->mask);
	d = pvbt_dev_view(m->xen, bus, BUF_SIZE);
	if (CHECK(m, d, "no device view of %pad", &bus)) {
		CHECK(m, d != cpu, "the device sees the buffer itself");
		CHECK(m, !memcmp(d, cpu, BUF_SIZE), "the device reads other data");
	}
	dma_unmap_page(m->dev, bus, BUF_SIZE, DMA_TO_DEVICE);
	m->want[C_UNMAPS]++;

	memset(cpu, 0x5a, BUF_SIZE);
	pvbt_fill(want, BUF_SIZE, bits + 100);
	bus = dma_map_page(m->dev, p, 0, BUF_SIZE, DMA_FROM_DEVICE);
	if (!CHECK(m, !dma_mapping_error(m->dev, bus), "from-device map refused"))
		goto out;
	m->want[C_MAPS]++;
	m->want[C_BOUNCED]++;
	CHECK(m, bus + BUF_SIZE - 1 <= m->mask, "bounced to %pad, past the mask %#llx",
	      &bus, m->mask);
	d = pvbt_dev_view(m->xen, bus, BUF_SIZE);
	if (CHECK(m, d && d != cpu, "no device view of %pad apart from the buffer", &bus))
		memcpy(d, want, BUF_SIZE);		/* the device writes */
	dma_unmap_page(m->dev, bus, BUF_SIZE, DMA_FROM_DEVICE);
	m->want[C_UNMAPS]++;
	m->want[C_FROM_DEV] += BUF_SIZE;
	CHECK(m, !memcmp(cpu, want, BUF_SIZE), "the CPU does not read what the device wrote");
out:
	kfree(want);
	__free_pages(p, PVBT_HIGH_ORDER);
}

static void t_coherent_below(struct m *m)
{
	dma_addr_t bus;
	void *cpu = dma_alloc_coherent(m->dev, BUF_SIZE, &bus, GFP_KERNEL);

	if (!CHECK(m, cpu, "dma_alloc_coherent(%lu) failed", BUF_SIZE))
		return;
	m->want[C_COHERENT]++;
	CHECK(m, bus + BUF_SIZE - 1 <= m->mask, "coherent memory at %pad, past the mask %#llx",
	      &bus, m->mask);
	dma_free_coherent(m->dev, BUF_SIZE, cpu, bus);
}

/* ---- refused: the pool reaches above the mask ----------------------------- */

static void t_set_mask_refused(struct m *m)
{
	u64 was = dma_get_mask(m->dev), cwas = m->dev->coherent_dma_mask;
	int ret;

	ret = dma_set_mask(m->dev, m->mask);
	CHECK(m, ret, "dma_set_mask(%u bits) served with the pool's top at %#llx",
	      bits, pool_top);
	CHECK(m, dma_get_mask(m->dev) == was, "mask now %#llx, was %#llx",
	      dma_get_mask(m->dev), was);
	ret = dma_set_coherent_mask(m->dev, m->mask);
	CHECK(m, ret, "dma_set_coherent_mask(%u bits) served with the pool's top at %#llx",
	      bits, pool_top);
	CHECK(m, m->dev->coherent_dma_mask == cwas, "coherent mask now %#llx, was %#llx",
	      m->dev->coherent_dma_mask, cwas);
}

/*
 * bus_dma_limit below the pool's top: buffers above it are bounced, and a
 * bounce slot above it is refused for the mask.  Held mappings push the
 * allocator up through the pool until that happens.
 */
static void t_limit_refused(struct m *m)
{
	struct page *p = pvbt_block_above(m->xen, m->mask);
	unsigned int i, held = 0, max;
	dma_addr_t *bus = NULL, b;
	s64 nslabs;
	u8 *d;

	if (!p) {
		m->skip = "no memory above the limit";
		return;
	}
	/* a private pool's slots, else the common pool's */
	if (pvb_read_dev(target, "nslabs", &nslabs) &&
	    !CHECK(m, !pvb_read_path(PVB_SYSFS_DIR "/nslabs", &nslabs),
		   "reading the pool's nslabs"))
		goto out;
	max = nslabs * 2048 / BUF_SIZE + 1;
	bus = kvcalloc(max, sizeof(*bus), GFP_KERNEL);
	if (!CHECK(m, bus, "no memory"))
		goto out;
	pvbt_fill(page_address(p), BUF_SIZE, bits);
	m->dev->bus_dma_limit = m->mask;
	for (i = 0; i < max; i++) {
		/* the data checked on the first; the rest copy nothing */
		b = dma_map_page_attrs(m->dev, p, 0, BUF_SIZE, DMA_TO_DEVICE,
				       i ? DMA_ATTR_SKIP_CPU_SYNC : 0);
		m->want[C_MAPS]++;
		if (dma_mapping_error(m->dev, b)) {
			mask_refusals++;
			break;
		}
		bus[held++] = b;
		m->want[C_BOUNCED]++;
		m->want[C_TO_DEV] += BUF_SIZE;	/* mapped, copied or not */
		if (!CHECK(m, b + BUF_SIZE - 1 <= m->mask,
			   "map %u served at %pad, past the limit %#llx", i, &b, m->mask))
			break;
		if (i)
			continue;
		d = pvbt_dev_view(m->xen, b, BUF_SIZE);
		if (!CHECK(m, d && d != page_address(p) &&
			   !memcmp(d, page_address(p), BUF_SIZE),
			   "map %u at %pad: the device reads other data", i, &b))
			break;
	}
	m->dev->bus_dma_limit = 0;
	diag("%u maps served below the limit, %d refused for it", held, mask_refusals);
	CHECK(m, mask_refusals == 1, "no map refused for the limit in %u", max);
	m->want[C_MASK] = mask_refusals;
	m->want[C_MAP_ERRORS] = mask_refusals;
	while (held--) {
		dma_unmap_page_attrs(m->dev, bus[held], BUF_SIZE, DMA_TO_DEVICE,
				     DMA_ATTR_SKIP_CPU_SYNC);
		m->want[C_UNMAPS]++;
	}
out:
	m->dev->bus_dma_limit = 0;
	kvfree(bus);
	__free_pages(p, PVBT_HIGH_ORDER);
}

/* Every counter moved by exactly what the run did. */
static void t_counters_exact(struct m *m)
{
	s64 now[NR_C];
	int i, ret = pvb_read_dev_nums(target, cname, NR_C, now);

	if (!CHECK(m, !ret, "reading the counters: %d", ret))
		return;
	for (i = 0; i < NR_C; i++)
		CHECK(m, now[i] - m->base[i] == m->want[i], "%s moved by %lld, want %lld",
		      cname[i], now[i] - m->base[i], m->want[i]);
}

struct test {
	const char *name;
	void (*fn)(struct m *m);
};

static const struct test served[] = {
	{ "set_mask_served", t_set_mask_served },
	{ "reachable_buffer_direct", t_reachable_direct },
	{ "buffer_above_mask_bounced_below_it", t_above_bounced },
	{ "coherent_below_mask", t_coherent_below },
	{ "counters_exact", t_counters_exact },
};

static const struct test refused[] = {
	{ "set_mask_refused_pool_above", t_set_mask_refused },
	{ "bus_dma_limit_refused_for_mask", t_limit_refused },
	{ "counters_exact", t_counters_exact },
};

static int __init pvbm_init(void)
{
	const struct test *tests;
	unsigned int i, n, pass = 0, fail = 0, skipped = 0;
	u64 mask_was = 0, cmask_was = 0, limit_was = 0;
	struct m *m;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->xen = pvbt_xen_active();
	m->mask = DMA_BIT_MASK(bits);
	tests = pool_top <= m->mask ? served : refused;
	n = pool_top <= m->mask ? ARRAY_SIZE(served) : ARRAY_SIZE(refused);
	ktap("KTAP version 1");
	ktap("1..%u", n + 1);

	if (target)
		m->dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!m->dev || bits < 24 || bits > 63 || !pool_top || m->dev->driver ||
	    !m->dev->dma_mask) {
		diag("dev=%s %s, bits=%u, pool_top=%#llx: need an attached device without a driver, 24..63 bits, the pool's top",
		     target ?: "-", m->dev ? (m->dev->driver ? "has a driver" : "found") : "not found",
		     bits, pool_top);
		ktap("not ok 1 setup");
		fail = 1;
		goto out;
	}
	ret = pvb_read_dev_nums(target, cname, NR_C, m->base);
	if (ret) {
		diag("reading /sys/kernel/pvbounce/%s: %d", target, ret);
		ktap("not ok 1 setup");
		fail = 1;
		goto out;
	}
	ktap("ok 1 setup");
	pass = 1;
	diag("%s: %u-bit mask, pool top %#llx: %s; %s", target, bits, pool_top,
	     tests == served ? "served" : "refused",
	     m->xen ? "device view through Xen's M2P" : "device view native");
	mask_was = *m->dev->dma_mask;
	cmask_was = m->dev->coherent_dma_mask;
	limit_was = m->dev->bus_dma_limit;
	mask_refusals = 0;
	for (i = 0; i < n; i++) {
		m->failed = false;
		m->skip = NULL;
		tests[i].fn(m);
		if (m->failed) {
			fail++;
			ktap("not ok %u %u_bits_%s", i + 2, bits, tests[i].name);
		} else if (m->skip) {
			skipped++;
			ktap("ok %u %u_bits_%s # SKIP %s", i + 2, bits, tests[i].name, m->skip);
		} else {
			pass++;
			ktap("ok %u %u_bits_%s", i + 2, bits, tests[i].name);
		}
	}
	*m->dev->dma_mask = mask_was;
	m->dev->coherent_dma_mask = cmask_was;
	m->dev->bus_dma_limit = limit_was;
out:
	diag("Totals: pass:%u fail:%u skip:%u", pass, fail, skipped);
	failed = fail;
	if (m->dev)
		put_device(m->dev);
	kfree(m);
	return 0;
}

static void __exit pvbm_exit(void)
{
}

module_init(pvbm_init);
module_exit(pvbm_exit);
MODULE_DESCRIPTION("pvbounce DMA mask test: a narrow mask on one attached device, KTAP");
MODULE_LICENSE("GPL");
