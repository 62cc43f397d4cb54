// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_refuse: the refusals of pvbounce's map ops that no driver makes
 * (a 0-byte map, one larger than a segment, an MMIO range that wraps, on
 * Xen a RAM frame mapped as MMIO), a burst of refusals at one site (its log
 * line is rate-limited, its counter is not), and the rarer ops: mmap
 * through dma_mmap_coherent() and get_required_mask through
 * dma_get_required_mask().  Checked once at load, KTAP on the kernel log
 * (tests/kmod/ktap.h).  Every counter each test moves is checked exactly,
 * from /sys/kernel/pvbounce/<dev>/; the refusals made are in the read-only
 * parameters refused_<reason>, for the scenario to compare with the
 * pvbounce_refuse records and the log.
 *
 * foreign=1 instead runs nothing: it gives the device (no driver bound)
 * DMA ops of its own, as another module would, until rmmod, where the
 * device gets the kernel's defaults back (dev->dma_ops NULL) if they are
 * still the ones set here.  Loaded before the device is attached, pvbounce
 * must refuse it; loaded while it is attached, pvbounce's teardown must find
 * its ops changed and leave them.
 */
#include <linux/anon_inodes.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "counters.h"
#include "ktap.h"
#include "too_large.h"
#include "xen_check.h"

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a device with no driver bound; required");

static bool expect_bounce;
module_param(expect_bounce, bool, 0444);
MODULE_PARM_DESC(expect_bounce, "pvbounce runs with force=1 (default 0)");

static unsigned long long pool_top;
module_param(pool_top, ullong, 0444);
MODULE_PARM_DESC(pool_top, "highest bus address of the device's pool (debugfs pool); required with expect_bounce");

static unsigned int burst = 30;
module_param(burst, uint, 0444);
MODULE_PARM_DESC(burst, "refusals made in a row at one site (default 30)");

static bool foreign;
module_param(foreign, bool, 0444);
MODULE_PARM_DESC(foreign, "only give the device DMA ops of this module's until rmmod (default 0)");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests (-1: not run)");

static int refused_zero_size, refused_too_large, refused_wraps,
	   refused_not_identity;
module_param(refused_zero_size, int, 0444);
MODULE_PARM_DESC(refused_zero_size, "read-only result: maps refused as zero_size");
module_param(refused_too_large, int, 0444);
MODULE_PARM_DESC(refused_too_large, "read-only result: maps refused as too_large");
module_param(refused_wraps, int, 0444);
MODULE_PARM_DESC(refused_wraps, "read-only result: maps refused as wraps");
module_param(refused_not_identity, int, 0444);
MODULE_PARM_DESC(refused_not_identity, "read-only result: maps refused as not_identity");

enum { C_MAPS, C_MAP_ERRORS, C_BOUNCED, C_DIRECT, C_TOO_LARGE, C_POOL_FULL,
	C_MASK, NR_C };

static const char *const cname[NR_C] = {
	[C_MAPS] = "maps", [C_MAP_ERRORS] = "map_errors",
	[C_BOUNCED] = "bounced_maps", [C_DIRECT] = "direct_maps",
	[C_TOO_LARGE] = "errors_too_large", [C_POOL_FULL] = "errors_pool_full",
	[C_MASK] = "errors_mask",
};

struct r {
	struct device *dev;
	bool xen;
	bool failed;
	const char *skip;
	s64 base[NR_C];		/* counters after the last test */
};

static void skip(struct r *r, const char *why)
{
	if (!r->skip)
		r->skip = why;
}

/* ---- counters ----------------------------------------------------------- */

/*
 * Every counter moved by exactly @want since the last call (maps and
 * map_errors by @maps, the counter @err, if any, by @maps too, every other
 * one by 0); the new values become the base.
 */
static void moved_exactly(struct r *r, s64 maps, int err)
{
	s64 now[NR_C], want;
	int i, ret;

	ret = pvb_read_dev_nums(target, cname, NR_C, now);
	if (!CHECK(r, !ret, "reading /sys/kernel/pvbounce/%s: %d", target, ret))
		return;
	for (i = 0; i < NR_C; i++) {
		want = i == C_MAPS || i == C_MAP_ERRORS || i == err ? maps : 0;
		CHECK(r, now[i] - r->base[i] == want, "%s moved by %lld, want %lld",
		      cname[i], now[i] - r->base[i], want);
	}
	memcpy(r->base, now, sizeof(now));
}

/* ---- refusals ----------------------------------------------------------- */

/* A 0-byte map: refused as zero_size, counted in map_errors only. */
static void t_zero_size(struct r *r)
{
	u8 *buf = kmalloc(64, GFP_KERNEL);
	dma_addr_t bus;

	if (!CHECK(r, buf, "no memory"))
		return;
	bus = dma_map_single(r->dev, buf, 0, DMA_TO_DEVICE);
	if (CHECK(r, dma_mapping_error(r->dev, bus),
		  "a map of 0 bytes succeeded at %pad", &bus))
		refused_zero_size++;
	else
		dma_unmap_single(r->dev, bus, 0, DMA_TO_DEVICE);
	moved_exactly(r, 1, -1);
	kfree(buf);
}

/*
 * Under force, a map one page larger than a whole segment (the largest
 * mapping plus the worst min_align_mask padding): too_large,
 * errors_too_large.
 */
static void t_too_large(struct r *r)
{
	unsigned int order;
	struct page *page;
	dma_addr_t bus;
	size_t n;

	if (!expect_bounce) {
		skip(r, "force=0: a large buffer the device reaches goes direct");
		return;
	}
	page = pvb_too_large_pages(r->dev, &n, &order);
	if (!CHECK(r, page, "no order %u block", order))
		return;
	bus = dma_map_page(r->dev, page, 0, n, DMA_TO_DEVICE);
	if (CHECK(r, dma_mapping_error(r->dev, bus),
		  "a map of %zu bytes succeeded at %pad", n, &bus))
		refused_too_large++;
	else
		dma_unmap_page(r->dev, bus, n, DMA_TO_DEVICE);
	moved_exactly(r, 1, C_TOO_LARGE);
	__free_pages(page, order);
}

/*
 * burst= resource maps in a row that wrap past the end of the address
 * space, through pvbounce's op itself (6.12's DMA-API debug would keep a
 * record of a refused dma_map_resource()): every one refused and counted;
 * the scenario checks that the log has at most the rate limit's burst.
 */
static void t_wraps_burst(struct r *r)
{
	const struct dma_map_ops *ops = get_dma_ops(r->dev);
	phys_addr_t phys = (phys_addr_t)0 - PAGE_SIZE;
	unsigned int i, served = 0;
	dma_addr_t bus;

	if (!CHECK(r, ops && pvb_ops_has_mmio(ops), "no MMIO map op"))
		return;
	for (i = 0; i < burst; i++) {
		bus = pvb_ops_map_mmio(ops, r->dev, phys, 2 * PAGE_SIZE,
				       DMA_TO_DEVICE, 0);
		if (bus == DMA_MAPPING_ERROR) {
			refused_wraps++;
		} else {
			served++;
			pvb_ops_unmap_mmio(ops, r->dev, bus, 2 * PAGE_SIZE,
					   DMA_TO_DEVICE, 0);
		}
	}
	CHECK(r, !served, "%u of %u wrapping ranges mapped", served, burst);
	moved_exactly(r, burst, -1);
}

/*
 * On Xen PV a RAM frame the p2m maps elsewhere, mapped as MMIO (the ops
 * called directly: the DMA API refuses RAM before them): not_identity.
 */
static void t_not_identity(struct r *r)
{
	const struct dma_map_ops *ops = get_dma_ops(r->dev);
	struct page *pages[8] = {};
	phys_addr_t phys = 0;
	unsigned int i;
	dma_addr_t bus;

	if (!r->xen) {
		skip(r, "natively every address is its own bus address");
		return;
	}
	if (!CHECK(r, ops && pvb_ops_has_mmio(ops), "no MMIO map op"))
		return;
	for (i = 0; i < ARRAY_SIZE(pages) && !phys; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (pages[i] && pvbt_xen_phys_to_bus(page_to_phys(pages[i])) !=
				page_to_phys(pages[i]))
			phys = page_to_phys(pages[i]);
	}
	if (!CHECK(r, phys, "no page whose p2m entry is not identity"))
		goto out;
	bus = pvb_ops_map_mmio(ops, r->dev, phys, PAGE_SIZE, DMA_BIDIRECTIONAL, 0);
	if (CHECK(r, bus == DMA_MAPPING_ERROR, "pfn %#lx mapped as a resource at %pad",
		  (unsigned long)PHYS_PFN(phys), &bus))
		refused_not_identity++;
	else
		pvb_ops_unmap_mmio(ops, r->dev, bus, PAGE_SIZE, DMA_BIDIRECTIONAL, 0);
	moved_exactly(r, 1, -1);
out:
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (pages[i])
			__free_page(pages[i]);
}

/* ---- the rarer ops ------------------------------------------------------ */

#define MMAP_PAGES	3

struct mmap_ctx {
	struct device *dev;
	void *cpu;
	dma_addr_t bus;
	size_t size;
};

static int mmap_coherent(struct file *file, struct vm_area_struct *vma)
{
	struct mmap_ctx *c = file->private_data;

	return dma_mmap_coherent(c->dev, vma, c->cpu, c->bus, c->size);
}

static const struct file_operations mmap_fops = {
	.owner = THIS_MODULE,
	.mmap = mmap_coherent,
};

/*
 * dma_mmap_coherent() of a coherent allocation into insmod's address space
 * (a file of our own whose mmap calls it): the user mapping shows the
 * allocation's bytes, a write through it lands there, an offset of one page
 * starts one page in, and a mapping longer than the allocation is refused.
 */
static void t_mmap(struct r *r)
{
	struct mmap_ctx c = { .dev = r->dev, .size = MMAP_PAGES * PAGE_SIZE };
	unsigned long addr = -EINVAL, addr2 = -EINVAL, bad = -EINVAL;
	struct file *file = NULL;
	u8 *got = NULL;
	size_t i;

	c.cpu = dma_alloc_coherent(r->dev, c.size, &c.bus, GFP_KERNEL);
	got = kmalloc(c.size, GFP_KERNEL);
	if (!CHECK(r, c.cpu && got, "dma_alloc_coherent(%zu) or kmalloc failed", c.size))
		goto out;
	for (i = 0; i < c.size; i++)
		((u8 *)c.cpu)[i] = (u8)(i * 7 + i / PAGE_SIZE);
	file = anon_inode_getfile("pvbounce_refuse_mmap", &mmap_fops, &c, O_RDWR);
	if (!CHECK(r, !IS_ERR(file), "anon_inode_getfile: %ld", PTR_ERR(file))) {
		file = NULL;
		goto out;
	}
	addr = vm_mmap(file, 0, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	if (!CHECK(r, !IS_ERR_VALUE(addr), "mmap of %zu bytes: %ld", c.size, (long)addr))
		goto out;
	if (CHECK(r, !copy_from_user(got, (void __user *)addr, c.size),
		  "reading the user mapping faulted"))
		CHECK(r, !memcmp(got, c.cpu, c.size),
		      "the user mapping differs from the allocation");
	memset(got, 0x5a, PAGE_SIZE);
	if (CHECK(r, !copy_to_user((void __user *)addr + PAGE_SIZE, got, PAGE_SIZE),
		  "writing the user mapping faulted"))
		CHECK(r, !memcmp(c.cpu + PAGE_SIZE, got, PAGE_SIZE),
		      "a write through the user mapping did not reach the allocation");
	addr2 = vm_mmap(file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 2 * PAGE_SIZE);
	if (CHECK(r, !IS_ERR_VALUE(addr2), "mmap at page 2: %ld", (long)addr2) &&
	    CHECK(r, !copy_from_user(got, (void __user *)addr2, PAGE_SIZE),
		  "reading the offset mapping faulted"))
		CHECK(r, !memcmp(got, c.cpu + 2 * PAGE_SIZE, PAGE_SIZE),
		      "the mapping at page 2 is not the allocation's third page");
	bad = vm_mmap(file, 0, c.size + PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	CHECK(r, IS_ERR_VALUE(bad), "a mapping one page longer than the allocation was made");
out:
	if (!IS_ERR_VALUE(bad))
		vm_munmap(bad, c.size + PAGE_SIZE);
	if (!IS_ERR_VALUE(addr2))
		vm_munmap(addr2, PAGE_SIZE);
	if (!IS_ERR_VALUE(addr))
		vm_munmap(addr, c.size);
	if (file)
		fput(file);
	if (c.cpu)
		dma_free_coherent(r->dev, c.size, c.cpu, c.bus);
	kfree(got);
}

/*
 * dma_get_required_mask(): under force everything is bounced, so the
 * pool's reach (the mask covering its highest bus address) is enough;
 * without force a buffer may be mapped directly anywhere: 64 bits.
 */
static void t_required_mask(struct r *r)
{
	u64 want = expect_bounce ? DMA_BIT_MASK(fls64(pool_top)) : DMA_BIT_MASK(64);
	u64 got = dma_get_required_mask(r->dev);

	CHECK(r, got == want, "required mask %#llx, want %#llx (pool top %#llx, force=%d)",
	      got, want, pool_top, expect_bounce);
}

struct test {
	const char *name;
	void (*fn)(struct r *r);
};

static const struct test tests[] = {
	{ "zero_size_refused", t_zero_size },
	{ "too_large_refused", t_too_large },
	{ "wraps_burst_refused", t_wraps_burst },
	{ "not_identity_refused", t_not_identity },
	{ "mmap_coherent", t_mmap },
	{ "get_required_mask", t_required_mask },
};

/* ---- foreign=1 ---------------------------------------------------------- */

/* Ops of "another module": never called (the device has no driver). */
static const struct dma_map_ops pvbt_foreign_ops;
static struct device *foreign_dev;

static int foreign_init(struct device *dev)
{
	if (dev->driver) {
		pr_err("pvbounce_refuse: %s has a driver bound\n", target);
		return -EBUSY;
	}
	foreign_dev = dev;
	set_dma_ops(dev, &pvbt_foreign_ops);
	pr_info("pvbounce_refuse: %s: DMA ops set to pvbt_foreign_ops\n", target);
	return 0;
}

/* ---- the run ------------------------------------------------------------ */

static int __init pvbr_init(void)
{
	unsigned int i, pass = 0, fail = 0, skipped = 0;
	struct device *dev = NULL;
	struct r *r;
	int ret;

	if (target)
		dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (foreign) {
		if (!dev)
			return -ENODEV;
		ret = foreign_init(dev);
		if (ret)
			put_device(dev);
		return ret;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		put_device(dev);
		return -ENOMEM;
	}
	r->dev = dev;
	r->xen = pvbt_xen_active();
	ktap("KTAP version 1");
	ktap("1..%zu", ARRAY_SIZE(tests) + 1);
	if (!dev || dev->driver || (expect_bounce && !pool_top) || !burst ||
	    pvb_read_dev_nums(target, cname, NR_C, r->base)) {
		diag("dev=%s %s, pool_top=%#llx, burst=%u: need an attached device without a driver (and the pool's top with expect_bounce)",
		     target ?: "-", dev ? (dev->driver ? "has a driver" : "found") : "not found",
		     pool_top, burst);
		ktap("not ok 1 setup");
		fail = 1;
		goto out;
	}
	ktap("ok 1 setup");
	pass = 1;
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		r->failed = false;
		r->skip = NULL;
		tests[i].fn(r);
		if (r->failed) {
			fail++;
			ktap("not ok %u %s", i + 2, tests[i].name);
		} else if (r->skip) {
			skipped++;
			ktap("ok %u %s # SKIP %s", i + 2, tests[i].name, r->skip);
		} else {
			pass++;
			ktap("ok %u %s", i + 2, tests[i].name);
		}
	}
out:
	diag("Totals: pass:%u fail:%u skip:%u", pass, fail, skipped);
	failed = fail;
	if (dev)
		put_device(dev);
	kfree(r);
	return 0;
}

static void __exit pvbr_exit(void)
{
	if (!foreign_dev)
		return;
	/* the kernel's defaults back, if nobody replaced ours meanwhile */
	if (get_dma_ops(foreign_dev) == &pvbt_foreign_ops)
		set_dma_ops(foreign_dev, NULL);
	put_device(foreign_dev);
}

module_init(pvbr_init);
module_exit(pvbr_exit);
MODULE_DESCRIPTION("pvbounce test: refusals no driver makes, mmap and get_required_mask ops, another module's ops; KTAP");
MODULE_LICENSE("GPL");
