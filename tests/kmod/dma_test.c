// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_test: drive a device attached to pvbounce through the generic DMA
 * API and check what a device would see.  Runs once, at load, and prints
 * KTAP ("KTAP version 1", "1..N", "ok N name [# SKIP why]", "# diagnostic")
 * at KERN_INFO without a prefix, as KUnit does, so that a kernel log parser
 * finds the lines as they are.  Init returns 0 whatever the outcome (the
 * module holds nothing afterwards; rmmod it); the number of failed tests is
 * also in /sys/module/pvbounce_test/parameters/failed.
 *
 * It knows pvbounce only through the contract: the device's ops, the DMA
 * API, /sys/kernel/pvbounce/ and /sys/kernel/debug/pvbounce/.  Counter
 * values are read from sysfs; debugfs files are only looked up (the kernel
 * cannot kernel_read() a debugfs seq_file), their values are the shell
 * scenarios' to compare.
 *
 * "The device" is simulated through a view of the memory a bus address
 * names: phys_to_virt(bus) natively (bus == phys); on a Xen PV guest (bus =
 * machine address) xen_check.c finds it through Xen's M2P and checks the
 * guest's p2m and page tables agree, without asking pvbounce.  Reads there
 * check what reached the device; writes there play the device writing.  A
 * mapping is bounced if that view is not the buffer itself.
 *
 * Run it against a device with no driver bound if possible: the test sets
 * the device's min_align_mask for a moment (restored after), and the
 * private-pool leak check needs the pool to itself.
 */
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xen.h>
#include <asm/processor.h>

#include "counters.h"
#include "dev_view.h"
#include "ktap.h"
#include "too_large.h"
#include "xen_check.h"

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a device attached to pvbounce; required");

static unsigned int address_bits = 32;
module_param(address_bits, uint, 0444);
MODULE_PARM_DESC(address_bits, "pvbounce's address_bits: bounce buffers and coherent memory must lie below 2^address_bits (default 32)");

static char *view = "auto";
module_param(view, charp, 0444);
MODULE_PARM_DESC(view, "how the test sees memory as the device does: native (phys_to_virt(bus)), xen (Xen PV: through the M2P), none (device-side tests skip), auto (xen on a Xen PV guest, else native) (default auto)");

static bool expect_bounce;
module_param(expect_bounce, bool, 0444);
MODULE_PARM_DESC(expect_bounce, "pvbounce runs with force=1: every streaming mapping must be bounced, byte counters must move, oversized maps must fail (default 0)");

static unsigned int max_mapping_kb;
module_param(max_mapping_kb, uint, 0444);
MODULE_PARM_DESC(max_mapping_kb, "pvbounce's max_mapping_kb: dma_max_mapping_size() must not exceed it and, without a min_align_mask, must equal it (default 0: not checked)");

static bool carve_next;
module_param(carve_next, bool, 0444);
MODULE_PARM_DESC(carve_next, "the scenario made pvbounce's next backend chunk allocation fail (debugfs fail/chunk_alloc=1): the first dma_alloc_pages() must be carved from the pool (default 0: that test skips)");

static unsigned int coherent_large_kb;
module_param(coherent_large_kb, uint, 0444);
MODULE_PARM_DESC(coherent_large_kb, "one dma_alloc_coherent() of this many KiB, which must succeed (checked like the others) if coherent_large_ok, else fail (default 0: that test skips)");

static bool coherent_large_ok = true;
module_param(coherent_large_ok, bool, 0444);
MODULE_PARM_DESC(coherent_large_ok, "whether the coherent_large_kb allocation must succeed (default 1)");

static char *pool_ranges;
module_param(pool_ranges, charp, 0444);
MODULE_PARM_DESC(pool_ranges, "instead of driving a device: bus ranges START-END (inclusive, hex, as debugfs pool lists them) separated by commas, each checked on a Xen PV guest frame by frame (PTE, p2m, M2P, machine-contiguous) and by data through its machine frames, and to lie at or below 2^address_bits - 1 (default none)");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests of the run at load (-1: not run)");

#define SLOT		2048	/* pvbounce's slot size, for offsets "inside slot k" */
#define NSG		128	/* entries of the scatterlist tests */

/* Counters of the contract, as /sys/kernel/pvbounce/<dev>/ and debugfs name them. */
enum {
	C_MAPS, C_UNMAPS, C_BOUNCED, C_DIRECT, C_TO_DEV, C_FROM_DEV, C_MAP_ERRORS,
	C_TOO_LARGE, C_POOL_FULL, C_MASK, C_LARGEST, C_SYNCS, C_COHERENT,
	C_MISUSE, NR_COUNTERS
};

static const char *const counter_name[NR_COUNTERS] = {
	[C_MAPS] = "maps", [C_UNMAPS] = "unmaps", [C_BOUNCED] = "bounced_maps",
	[C_DIRECT] = "direct_maps", [C_TO_DEV] = "bytes_to_device",
	[C_FROM_DEV] = "bytes_from_device", [C_MAP_ERRORS] = "map_errors",
	[C_TOO_LARGE] = "errors_too_large", [C_POOL_FULL] = "errors_pool_full",
	[C_MASK] = "errors_mask", [C_LARGEST] = "largest_request",
	[C_SYNCS] = "syncs", [C_COHERENT] = "coherent_allocs",
	[C_MISUSE] = "misuse",
};

/* State of a run. */
struct t {
	struct pci_dev *pdev;
	struct device *dev;
	u64 mask;		/* streaming DMA mask */
	u64 cmask;		/* coherent DMA mask */
	u64 limit;		/* 2^address_bits - 1 */
	enum { VIEW_NONE, VIEW_NATIVE, VIEW_XEN } view;	/* how we play the device */
	bool failed;		/* current test */
	const char *skip;	/* current test skipped, why */
	s64 base[NR_COUNTERS];	/* sysfs counters before the tests */
	/* Lower bounds of what the counters must have moved by. */
	u64 maps, unmaps, syncs, to_dev, from_dev, coherent, too_large;
	u64 pool_full;
	size_t largest;
};

static void skip(struct t *t, const char *why)
{
	if (!t->skip)
		t->skip = why;
}

/* ---- data ---------------------------------------------------------------- */

/* Equal, or a diagnostic naming the first differing byte. */
static bool same(struct t *t, const void *got, const void *want, size_t n,
		 const char *what)
{
	const u8 *g = got, *w = want;
	size_t i;

	if (!memcmp(got, want, n))
		return true;
	for (i = 0; g[i] == w[i]; i++)
		;
	t->failed = true;
	diag("%s: byte %zu of %zu is %#x, want %#x", what, i, n, g[i], w[i]);
	return false;
}

#define NO_VIEW "no device view (view=none)"

/* The memory [bus, bus + size) names, as the device sees it, or NULL. */
static u8 *dev_view(struct t *t, dma_addr_t bus, size_t size)
{
	switch (t->view) {
	case VIEW_NATIVE:
	case VIEW_XEN:
		return pvbt_dev_view(t->view == VIEW_XEN, bus, size);
	default:
		return NULL;
	}
}

/* dev_view() for a test that needs it: NULL fails the test. */
static u8 *view_of(struct t *t, dma_addr_t bus, size_t size)
{
	u8 *d = dev_view(t, bus, size);

	CHECK(t, d, "no device view of %zu bytes at %pad", size, &bus);
	return d;
}

/* Was this streaming mapping of @cpu bounced?  Known exactly with a view. */
static bool bounced(struct t *t, const void *cpu, dma_addr_t bus, size_t size)
{
	if (t->view == VIEW_NONE)
		return expect_bounce;
	return dev_view(t, bus, size) != cpu;
}

/*
 * Every byte of [bus, bus + size) below @mask, and below 2^address_bits if
 * pvbounce's memory (@pool).  Return: true if so.
 */
static bool check_bus(struct t *t, dma_addr_t bus, size_t size, u64 mask,
		      bool pool, const char *what)
{
	u64 last = (u64)bus + size - 1;

	/* dma_mapping_error(), not a compare: DMA-API debug wants the call */
	if (!CHECK(t, !dma_mapping_error(t->dev, bus), "%s: mapping error", what))
		return false;
	if (!CHECK(t, size && last >= bus, "%s: %zu bytes at %pad wrap", what,
		   size, &bus))
		return false;
	if (!CHECK(t, last <= mask, "%s: last byte %#llx above the mask %#llx",
		   what, last, mask))
		return false;
	return !pool || CHECK(t, last <= t->limit,
			      "%s: last byte %#llx above 2^%u", what, last,
			      address_bits);
}

/*
 * On a Xen PV guest, xen_check.c's own check that [@cpu, @cpu + @size) is
 * machine-contiguous from @bus and that data crosses between the two.
 */
static bool check_xen(struct t *t, void *cpu, dma_addr_t bus, size_t size,
		      const char *what)
{
	char why[128];

	if (t->view != VIEW_XEN)
		return true;
	return CHECK(t, !pvbt_xen_check_range(cpu, bus, size, why, sizeof(why)),
		     "%s: %zu bytes at %pad: %s", what, size, &bus, why);
}

/* Checks of a streaming mapping at @bus of @size bytes at @cpu. */
static bool check_stream(struct t *t, const void *cpu, dma_addr_t bus,
			 size_t size, const char *what)
{
	bool b;

	if (dma_mapping_error(t->dev, bus))
		return check_bus(t, bus, size, t->mask, false, what);
	b = bounced(t, cpu, bus, size);
	if (expect_bounce && !CHECK(t, b, "%s: %pad not bounced under force", what,
				    &bus))
		return false;
	if (!check_bus(t, bus, size, t->mask, b, what))
		return false;
	return !b || !dev_view(t, bus, size) ||
	       check_xen(t, dev_view(t, bus, size), bus, size, what);
}

/*
 * Under force=0 a mapping the device reaches is direct: the device's view
 * is the buffer itself and a test of what bouncing copies proves nothing.
 * Return: true (the mapping undone, the test skipped) if @bus is not
 * bounced.
 */
static void unmap(struct t *t, dma_addr_t bus, size_t size,
		  enum dma_data_direction dir);

static bool skip_direct(struct t *t, const void *cpu, dma_addr_t bus,
			size_t size, enum dma_data_direction dir)
{
	if (bounced(t, cpu, bus, size))
		return false;
	unmap(t, bus, size, dir);
	skip(t, "mapping not bounced (force=0: the device's view is the buffer)");
	return true;
}

/* ---- counted DMA API calls ------------------------------------------------ */

static dma_addr_t map(struct t *t, void *p, size_t size,
		      enum dma_data_direction dir)
{
	dma_addr_t bus = dma_map_single(t->dev, p, size, dir);

	if (!dma_mapping_error(t->dev, bus)) {
		t->maps++;
		t->largest = max(t->largest, size);
		if (dir != DMA_FROM_DEVICE)
			t->to_dev += size;
	}
	return bus;
}

static void unmap_attrs(struct t *t, dma_addr_t bus, size_t size,
			enum dma_data_direction dir, unsigned long attrs)
{
	dma_unmap_single_attrs(t->dev, bus, size, dir, attrs);
	t->unmaps++;
	if (dir != DMA_TO_DEVICE && !(attrs & DMA_ATTR_SKIP_CPU_SYNC))
		t->from_dev += size;
}

static void unmap(struct t *t, dma_addr_t bus, size_t size,
		  enum dma_data_direction dir)
{
	unmap_attrs(t, bus, size, dir, 0);
}

static void sync_cpu(struct t *t, dma_addr_t bus, size_t off, size_t len,
		     enum dma_data_direction dir)
{
	dma_sync_single_range_for_cpu(t->dev, bus, off, len, dir);
	t->syncs++;
}

static void sync_dev(struct t *t, dma_addr_t bus, size_t off, size_t len,
		     enum dma_data_direction dir)
{
	dma_sync_single_range_for_device(t->dev, bus, off, len, dir);
	t->syncs++;
}

/*
 * Map @n bytes at @buf for @dir and return the device's view of the bounce
 * copy, *@bus its address; NULL with nothing left mapped when the map
 * failed, went direct (the test skipped) or has no view (both failures).
 */
static u8 *map_view(struct t *t, void *buf, size_t n,
		    enum dma_data_direction dir, const char *what,
		    dma_addr_t *bus)
{
	u8 *d;

	*bus = map(t, buf, n, dir);
	if (!check_stream(t, buf, *bus, n, what)) {
		if (!dma_mapping_error(t->dev, *bus))
			unmap(t, *bus, n, dir);
		return NULL;
	}
	if (skip_direct(t, buf, *bus, n, dir))
		return NULL;
	d = view_of(t, *bus, n);
	if (!d)
		unmap(t, *bus, n, dir);
	return d;
}

/* ---- counters --------------------------------------------------------------- */

static int read_counters(const char *dir, s64 *val)
{
	return pvb_read_nums(dir, counter_name, NR_COUNTERS, val);
}

static void sysfs_dir(struct t *t, char *buf, size_t len)
{
	pvb_dev_dir(buf, len, pci_name(t->pdev));
}

static void debugfs_dir(struct t *t, char *buf, size_t len)
{
	snprintf(buf, len, "/sys/kernel/debug/pvbounce/%s", pci_name(t->pdev));
}

/* ---- tests -------------------------------------------------------------- */

/* Test 1: everything else needs it; it fills in @t. */
static void t_attached(struct t *t)
{
	struct device *dev;
	char dir[96];
	int ret;

	if (!CHECK(t, target && *target, "dev= not given"))
		return;
	dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!CHECK(t, dev, "no PCI device %s", target))
		return;
	t->dev = dev;
	t->pdev = to_pci_dev(dev);
	t->mask = dma_get_mask(dev);
	t->cmask = dev->coherent_dma_mask;
	t->limit = address_bits >= 64 ? U64_MAX : (1ULL << address_bits) - 1;
	if (!strcmp(view, "native"))
		t->view = VIEW_NATIVE;
	else if (!strcmp(view, "xen"))
		t->view = VIEW_XEN;
	else if (!strcmp(view, "auto"))
		t->view = pvbt_xen_active() ? VIEW_XEN : VIEW_NATIVE;
	else if (!CHECK(t, !strcmp(view, "none"), "bad view=%s", view))
		return;
	diag("%s: driver %s, mask %#llx, coherent mask %#llx, min_align_mask %#x, max mapping %zu, %s",
	     pci_name(t->pdev), dev->driver ? dev->driver->name : "-", t->mask,
	     t->cmask, dma_get_min_align_mask(dev), dma_max_mapping_size(dev),
	     t->view == VIEW_NATIVE ? "device view native (bus == phys)" :
	     t->view == VIEW_XEN ? "device view through Xen's M2P" :
	     "no device view: device-side tests skip");
	CHECK(t, get_dma_ops(dev), "%s has no dma_map_ops of its own", target);
	sysfs_dir(t, dir, sizeof(dir));
	ret = read_counters(dir, t->base);
	CHECK(t, !ret, "reading the counters under %s: %d", dir, ret);
}

static void t_map_single_to_device(struct t *t)
{
	static const size_t sizes[] = {
		1, 7, 2047, 2048, 2049, 4095, 4096, 4097, 10000, 65539,
	};
	static const size_t offs[] = { 0, 1, 63, 2047 };
	u8 *buf = kmalloc(65539 + 2048, GFP_KERNEL);
	unsigned int i, j;

	if (!CHECK(t, buf, "no memory"))
		return;
	for (i = 0; i < ARRAY_SIZE(sizes) && !t->failed; i++) {
		for (j = 0; j < ARRAY_SIZE(offs) && !t->failed; j++) {
			u8 *p = buf + offs[j];
			size_t n = sizes[i];
			dma_addr_t bus;

			pvbt_fill(p, n, i * 16 + j);
			bus = map(t, p, n, DMA_TO_DEVICE);
			if (!check_stream(t, p, bus, n, "map_single"))
				break;
			if (t->view && (!view_of(t, bus, n) ||
					!same(t, dev_view(t, bus, n), p, n, "device reads")))
				diag("size %zu at buffer offset %zu", n, offs[j]);
			unmap(t, bus, n, DMA_TO_DEVICE);
		}
	}
	kfree(buf);
}

static void t_map_page_across_pages(struct t *t)
{
	struct page *page = alloc_pages(GFP_KERNEL, 1);
	dma_addr_t bus;
	u8 *p;

	if (!CHECK(t, page, "no memory"))
		return;
	p = page_address(page);
	pvbt_fill(p, 2 * PAGE_SIZE, 3);
	bus = dma_map_page(t->dev, page, 3000, 5000, DMA_TO_DEVICE);
	if (check_stream(t, p + 3000, bus, 5000, "map_page")) {
		t->maps++;
		t->to_dev += 5000;
		if (t->view && view_of(t, bus, 5000))
			same(t, dev_view(t, bus, 5000), p + 3000, 5000, "device reads");
		dma_unmap_page(t->dev, bus, 5000, DMA_TO_DEVICE);
		t->unmaps++;
	}
	__free_pages(page, 1);
}

/*
 * FROM_DEVICE: the device is never shown an earlier user's data (the slot
 * holds the buffer's own bytes, CVE-2022-0854's fix), and what it writes
 * comes back on unmap.
 */
static void t_from_device(struct t *t)
{
	const size_t n = 8192;
	u8 *secret = kmalloc(n, GFP_KERNEL);
	u8 *buf = kmalloc(n, GFP_KERNEL);
	u8 *want = kmalloc(n, GFP_KERNEL);
	dma_addr_t bus;
	u8 *d;

	if (!CHECK(t, secret && buf && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	pvbt_fill(secret, n, 40);
	bus = map(t, secret, n, DMA_TO_DEVICE);
	if (!check_stream(t, secret, bus, n, "secret"))
		goto out;
	unmap(t, bus, n, DMA_TO_DEVICE);

	pvbt_fill(buf, n, 41);
	d = map_view(t, buf, n, DMA_FROM_DEVICE, "from_device", &bus);
	if (!d)
		goto out;
	same(t, d, buf, n, "device sees the buffer's own bytes");
	pvbt_fill(want, n, 42);
	memcpy(d, want, n);			/* the device writes */
	unmap(t, bus, n, DMA_FROM_DEVICE);
	same(t, buf, want, n, "after unmap");
out:
	kfree(want);
	kfree(buf);
	kfree(secret);
}

/*
 * CVE-2022-0854: the device writes only part of a FROM_DEVICE mapping; the
 * bytes it did not write come back as they were in the buffer (and, the
 * ath9k breakage of the first fix: not as whatever the slot held).
 */
static void t_partial_device_write(struct t *t)
{
	const size_t n = 8192;
	u8 *buf = kmalloc(n, GFP_KERNEL);
	u8 *want = kmalloc(n, GFP_KERNEL);
	dma_addr_t bus;
	u8 *d;

	if (!CHECK(t, buf && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	/* Leave something else in the slots first. */
	pvbt_fill(buf, n, 50);
	bus = map(t, buf, n, DMA_TO_DEVICE);
	if (!check_stream(t, buf, bus, n, "earlier user"))
		goto out;
	unmap(t, bus, n, DMA_TO_DEVICE);

	pvbt_fill(buf, n, 51);
	memcpy(want, buf, n);
	d = map_view(t, buf, n, DMA_FROM_DEVICE, "from_device", &bus);
	if (!d)
		goto out;
	pvbt_fill(d + 1000, 500, 52);
	memcpy(want + 1000, d + 1000, 500);
	d[5000] = ~want[5000];
	want[5000] = d[5000];
	unmap(t, bus, n, DMA_FROM_DEVICE);
	same(t, buf, want, n, "after a partial device write");
out:
	kfree(want);
	kfree(buf);
}

/*
 * ath9k: a driver polls a FROM_DEVICE buffer with sync_for_cpu and hands it
 * back with sync_for_device while the device goes on writing.  Handing back
 * must not copy the CPU's stale copy over what the device wrote meanwhile.
 */
static void t_sync_for_device_keeps_device_data(struct t *t)
{
	const size_t n = 4096;
	u8 *buf = kmalloc(n, GFP_KERNEL);
	u8 *want = kmalloc(n, GFP_KERNEL);
	dma_addr_t bus;
	u8 *d;

	if (!CHECK(t, buf && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	pvbt_fill(buf, n, 60);
	memcpy(want, buf, n);
	d = map_view(t, buf, n, DMA_FROM_DEVICE, "from_device", &bus);
	if (!d)
		goto out;
	pvbt_fill(d, 512, 61);			/* device: first descriptor */
	memcpy(want, d, 512);
	sync_cpu(t, bus, 0, n, DMA_FROM_DEVICE);
	same(t, buf, want, n, "after sync_for_cpu");
	pvbt_fill(d + 512, 512, 62);			/* device: second, meanwhile */
	memcpy(want + 512, d + 512, 512);
	sync_dev(t, bus, 0, n, DMA_FROM_DEVICE);
	same(t, d, want, n, "device's view after sync_for_device");
	unmap(t, bus, n, DMA_FROM_DEVICE);
	same(t, buf, want, n, "after unmap");
out:
	kfree(want);
	kfree(buf);
}

static void t_bidirectional(struct t *t)
{
	const size_t n = 6000;
	u8 *mem = kmalloc(n + 5, GFP_KERNEL);
	u8 *want = kmalloc(n, GFP_KERNEL);
	u8 *buf = mem + 5, *d;
	dma_addr_t bus;

	if (!CHECK(t, mem && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	pvbt_fill(buf, n, 70);
	memcpy(want, buf, n);
	d = map_view(t, buf, n, DMA_BIDIRECTIONAL, "bidirectional", &bus);
	if (!d)
		goto out;
	same(t, d, want, n, "device reads after map");
	pvbt_fill(d, 3000, 71);				/* device writes */
	memcpy(want, d, 3000);
	sync_cpu(t, bus, 0, n, DMA_BIDIRECTIONAL);
	same(t, buf, want, n, "cpu reads after sync_for_cpu");
	pvbt_fill(buf + 2000, 4000, 72);			/* cpu writes */
	memcpy(want + 2000, buf + 2000, 4000);
	sync_dev(t, bus, 0, n, DMA_BIDIRECTIONAL);
	same(t, d, want, n, "device reads after sync_for_device");
	unmap(t, bus, n, DMA_BIDIRECTIONAL);
	same(t, buf, want, n, "cpu reads after unmap");
out:
	kfree(want);
	kfree(mem);
}

/*
 * A bounced map, sync or unmap copies up to 4 KiB with preemption off and
 * more as the caller runs (two paths in dma_ops.c): whole syncs and unmaps
 * either side of that size bring the device's data back, give the CPU's to
 * the device (bidirectional) or leave the device's alone (a FROM_DEVICE
 * sync_for_device).
 */
static void t_copy_sizes(struct t *t)
{
	static const size_t sizes[] = { 64, 4096, 4097, 20000 };
	static const enum dma_data_direction dirs[] = {
		DMA_FROM_DEVICE, DMA_BIDIRECTIONAL,
	};
	const size_t max = 20000;
	u8 *buf = kmalloc(max, GFP_KERNEL);
	u8 *want = kmalloc(max, GFP_KERNEL);
	unsigned int i, j, seed = 120;

	if (!CHECK(t, buf && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(sizes) && !t->failed; i++) {
		for (j = 0; j < ARRAY_SIZE(dirs) && !t->failed; j++, seed += 4) {
			enum dma_data_direction dir = dirs[j];
			size_t n = sizes[i];
			dma_addr_t bus;
			bool ok;
			u8 *d;

			pvbt_fill(buf, n, seed);
			d = map_view(t, buf, n, dir, "copy_sizes", &bus);
			if (!d)
				goto out;
			pvbt_fill(d, n, seed + 1);		/* device writes */
			memcpy(want, d, n);
			sync_cpu(t, bus, 0, n, dir);
			ok = same(t, buf, want, n, "cpu reads after sync_for_cpu");
			pvbt_fill(buf, n, seed + 2);	/* cpu writes, its own */
			if (dir == DMA_BIDIRECTIONAL)
				memcpy(want, buf, n);
			/* the device's again: FROM_DEVICE keeps its data */
			sync_dev(t, bus, 0, n, dir);
			if (ok)
				ok = same(t, d, want, n,
					  "device's view after sync_for_device");
			pvbt_fill(d, n, seed + 3);		/* device writes again */
			memcpy(want, d, n);
			unmap(t, bus, n, dir);
			if (!ok || !same(t, buf, want, n, "cpu reads after unmap"))
				diag("%zu bytes, %s", n, dir == DMA_FROM_DEVICE ?
				     "DMA_FROM_DEVICE" : "DMA_BIDIRECTIONAL");
		}
	}
out:
	kfree(want);
	kfree(buf);
}

/* DMA_ATTR_SKIP_CPU_SYNC on unmap: nothing is copied back. */
static void t_unmap_skip_cpu_sync(struct t *t)
{
	const size_t n = 3000;
	u8 *buf = kmalloc(n, GFP_KERNEL);
	u8 *want = kmalloc(n, GFP_KERNEL);
	dma_addr_t bus;

	if (!CHECK(t, buf && want, "no memory"))
		goto out;
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	pvbt_fill(buf, n, 80);
	memcpy(want, buf, n);
	bus = map(t, buf, n, DMA_FROM_DEVICE);
	if (!check_stream(t, buf, bus, n, "from_device"))
		goto out;
	if (!bounced(t, buf, bus, n)) {
		unmap(t, bus, n, DMA_FROM_DEVICE);
		skip(t, "mapping not bounced (load pvbounce with force=1)");
		goto out;
	}
	if (!view_of(t, bus, n)) {
		unmap(t, bus, n, DMA_FROM_DEVICE);
		goto out;
	}
	pvbt_fill(dev_view(t, bus, n), n, 81);
	unmap_attrs(t, bus, n, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
	same(t, buf, want, n, "buffer after unmap with DMA_ATTR_SKIP_CPU_SYNC");
out:
	kfree(want);
	kfree(buf);
}

/*
 * Partial syncs copy exactly their range, at the mapping start and deep
 * inside it, both ways.  @min_align: with min_align_mask 4095 and a buffer
 * at @page_off in its page, so that the mapping starts inside a slot and
 * ranges starting inside the 2nd and later slots must still land right
 * (swiotlb got those wrong until 6.9).
 */
static void partial_syncs(struct t *t, bool min_align, size_t page_off)
{
	const size_t n = 20000;
	unsigned int order = get_order(page_off + n);
	struct page *page = alloc_pages(GFP_KERNEL, order);
	u8 *want = kmalloc(n, GFP_KERNEL);
	u8 *written = kmalloc(n, GFP_KERNEL);
	size_t s2, r[4][2];
	unsigned int i;
	dma_addr_t bus;
	u8 *buf, *d;

	if (!CHECK(t, page && want && written, "no memory"))
		goto out;
	buf = (u8 *)page_address(page) + page_off;
	pvbt_fill(buf, n, 90 + page_off);
	memcpy(want, buf, n);
	bus = map(t, buf, n, DMA_BIDIRECTIONAL);
	if (!check_stream(t, buf, bus, n, "bidirectional"))
		goto out;
	if (!bounced(t, buf, bus, n)) {
		unmap(t, bus, n, DMA_BIDIRECTIONAL);
		skip(t, "mapping not bounced (load pvbounce with force=1)");
		goto out;
	}
	if (min_align)
		CHECK(t, (bus & 4095) == offset_in_page(buf),
		      "bus %pad does not keep the buffer's offset %#zx in its page",
		      &bus, page_off);
	d = view_of(t, bus, n);
	if (!d) {
		unmap(t, bus, n, DMA_BIDIRECTIONAL);
		goto out;
	}
	pvbt_fill(d, n, 91 + page_off);			/* device writes it all */
	/* what it wrote, read before any sync could change it */
	memcpy(written, d, n);

	/* Offsets into the mapping: s2 is where its 2nd slot starts. */
	s2 = SLOT - (bus & (SLOT - 1));
	r[0][0] = 0;		  r[0][1] = 100;
	r[1][0] = s2 + 100;	  r[1][1] = 1000;	/* inside slot 2 */
	r[2][0] = s2 + 2 * SLOT + 7; r[2][1] = 3000;	/* slot 4 into 6 */
	r[3][0] = n - 10;	  r[3][1] = 10;		/* the tail */
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		sync_cpu(t, bus, r[i][0], r[i][1], DMA_BIDIRECTIONAL);
		memcpy(want + r[i][0], written + r[i][0], r[i][1]);
		if (!same(t, buf, want, n, "cpu view after a partial sync_for_cpu")) {
			diag("range %zu+%zu, bus %pad, min_align %d", r[i][0],
			     r[i][1], &bus, min_align);
			break;
		}
	}
	/* CPU writes inside slot 5 and gives just that range back. */
	memcpy(want, written, n);
	pvbt_fill(buf + s2 + 3 * SLOT + 33, 1500, 92);
	memcpy(want + s2 + 3 * SLOT + 33, buf + s2 + 3 * SLOT + 33, 1500);
	sync_dev(t, bus, s2 + 3 * SLOT + 33, 1500, DMA_BIDIRECTIONAL);
	same(t, d, want, n, "device view after a partial sync_for_device");
	unmap(t, bus, n, DMA_BIDIRECTIONAL);
	same(t, buf, want, n, "cpu view after unmap");
out:
	kfree(written);
	kfree(want);
	if (page)
		__free_pages(page, order);
}

static void t_partial_syncs(struct t *t)
{
	if (!t->view) {
		skip(t, NO_VIEW);
		return;
	}
	partial_syncs(t, false, 100);
}

static void t_partial_syncs_min_align(struct t *t)
{
	struct device *dev = t->dev;
	unsigned int old;

	if (!t->view) {
		skip(t, NO_VIEW);
		return;
	}
	if (!dev->dma_parms) {
		skip(t, "device has no dma_parms");
		return;
	}
	old = dma_get_min_align_mask(dev);
	dma_set_min_align_mask(dev, 4095);
	partial_syncs(t, true, 0x234);		/* data starts in the 1st slot */
	if (!t->failed && !t->skip)
		partial_syncs(t, true, 0xa34);	/* in the 2nd: 1st is padding */
	dma_set_min_align_mask(dev, old);
}

/* NSG entries, one page each, at varying offsets and lengths. */
static int sg_setup(struct sg_table *sgt, struct page **pages, u32 seed)
{
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	ret = sg_alloc_table(sgt, NSG, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(sgt, sg, i) {
		size_t off = (i * 97) % 4000;
		size_t len = 1 + (i * 1237) % (PAGE_SIZE - off);

		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			return -ENOMEM;
		sg_set_page(sg, pages[i], len, off);
		pvbt_fill(sg_virt(sg), len, seed + i);
	}
	return 0;
}

static void sg_teardown(struct sg_table *sgt, struct page **pages)
{
	unsigned int i;

	for (i = 0; i < NSG; i++)
		if (pages[i])
			__free_page(pages[i]);
	sg_free_table(sgt);
}

static size_t sg_total(struct sg_table *sgt)
{
	struct scatterlist *sg;
	size_t total = 0;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i)
		total += sg->length;
	return total;
}

/* Every DMA segment in limits; Return: true if mapped entry by entry. */
static bool sg_check(struct t *t, struct sg_table *sgt, unsigned int nents)
{
	struct scatterlist *sg, *cpu = sgt->sgl;
	size_t total = 0;
	unsigned int i;

	for_each_sg(sgt->sgl, sg, nents, i) {
		dma_addr_t bus = sg_dma_address(sg);
		size_t len = sg_dma_len(sg);

		total += len;
		if (nents == sgt->orig_nents) {
			if (!check_stream(t, sg_virt(cpu), bus, len, "sg entry") ||
			    !CHECK(t, len == cpu->length, "entry %u: %zu bytes, want %u",
				   i, len, cpu->length))
				return false;
			cpu = sg_next(cpu);
		} else if (!check_bus(t, bus, len, t->mask, expect_bounce,
				      "merged sg entry")) {
			return false;
		}
	}
	CHECK(t, total == sg_total(sgt), "segments hold %zu bytes, want %zu",
	      total, sg_total(sgt));
	return nents == sgt->orig_nents;
}

static void t_sg_to_device(struct t *t)
{
	struct page **pages = kcalloc(NSG, sizeof(*pages), GFP_KERNEL);
	struct scatterlist *sg, *cpu;
	struct sg_table sgt = {};
	unsigned int i;
	int nents;

	if (!CHECK(t, pages, "no memory"))
		return;
	if (!CHECK(t, !sg_setup(&sgt, pages, 100), "no memory"))
		goto out;
	nents = dma_map_sg(t->dev, sgt.sgl, NSG, DMA_TO_DEVICE);
	if (!CHECK(t, nents > 0, "dma_map_sg of %d entries failed", NSG))
		goto out;
	sgt.nents = nents;
	t->maps++;
	t->to_dev += sg_total(&sgt);
	if (sg_check(t, &sgt, nents) && t->view) {
		cpu = sgt.sgl;
		for_each_sg(sgt.sgl, sg, nents, i) {
			u8 *d = view_of(t, sg_dma_address(sg), sg_dma_len(sg));

			if (!d || !same(t, d, sg_virt(cpu), cpu->length,
					"device reads an sg entry")) {
				diag("entry %u", i);
				break;
			}
			cpu = sg_next(cpu);
		}
	}
	dma_unmap_sg(t->dev, sgt.sgl, NSG, DMA_TO_DEVICE);
	t->unmaps++;
out:
	sg_teardown(&sgt, pages);
	kfree(pages);
}

static void t_sgtable_from_device(struct t *t)
{
	struct page **pages = kcalloc(NSG, sizeof(*pages), GFP_KERNEL);
	struct sg_table sgt = {};
	struct scatterlist *sg, *cpu;
	bool per_entry;
	unsigned int i;
	u8 *want = NULL, *d0;
	size_t total, off;

	if (!CHECK(t, pages, "no memory"))
		return;
	if (!CHECK(t, !sg_setup(&sgt, pages, 200), "no memory"))
		goto out;
	total = sg_total(&sgt);
	want = kmalloc(total, GFP_KERNEL);
	if (!CHECK(t, want, "no memory"))
		goto out;
	if (!CHECK(t, !dma_map_sgtable(t->dev, &sgt, DMA_FROM_DEVICE, 0),
		   "dma_map_sgtable of %d entries failed", NSG))
		goto out;
	t->maps++;
	per_entry = sg_check(t, &sgt, sgt.nents);
	if (t->view && per_entry &&
	    !bounced(t, sg_virt(sgt.sgl), sg_dma_address(sgt.sgl),
		     sg_dma_len(sgt.sgl))) {
		dma_unmap_sgtable(t->dev, &sgt, DMA_FROM_DEVICE, 0);
		t->unmaps++;
		skip(t, "first entry not bounced (force=0: the device's view is the buffer)");
		goto out;
	}
	if (!t->view || !per_entry) {
		dma_unmap_sgtable(t->dev, &sgt, DMA_FROM_DEVICE, 0);
		t->unmaps++;
		if (!t->failed)
			skip(t, t->view ? "entries merged: no device view" : NO_VIEW);
		goto out;
	}
	/* The device writes every segment; sync_for_cpu brings all back. */
	off = 0;
	for_each_sgtable_dma_sg(&sgt, sg, i) {
		u8 *d = view_of(t, sg_dma_address(sg), sg_dma_len(sg));

		if (!d)
			break;
		pvbt_fill(d, sg_dma_len(sg), 300 + i);
		memcpy(want + off, d, sg_dma_len(sg));
		off += sg_dma_len(sg);
	}
	if (t->failed) {
		dma_unmap_sgtable(t->dev, &sgt, DMA_FROM_DEVICE, 0);
		t->unmaps++;
		goto out;
	}
	dma_sync_sgtable_for_cpu(t->dev, &sgt, DMA_FROM_DEVICE);
	t->syncs++;
	off = 0;
	for_each_sgtable_sg(&sgt, cpu, i) {
		if (!same(t, sg_virt(cpu), want + off, cpu->length,
			  "sg entry after sync_for_cpu")) {
			diag("entry %u", i);
			break;
		}
		off += cpu->length;
	}
	/* Handed back; the device writes the first segment again. */
	dma_sync_sgtable_for_device(t->dev, &sgt, DMA_FROM_DEVICE);
	t->syncs++;
	d0 = dev_view(t, sg_dma_address(sgt.sgl), sg_dma_len(sgt.sgl));
	pvbt_fill(d0, sg_dma_len(sgt.sgl), 400);
	memcpy(want, d0, sg_dma_len(sgt.sgl));
	dma_unmap_sgtable(t->dev, &sgt, DMA_FROM_DEVICE, 0);
	t->unmaps++;
	t->from_dev += total;
	off = 0;
	for_each_sgtable_sg(&sgt, cpu, i) {
		if (!same(t, sg_virt(cpu), want + off, cpu->length,
			  "sg entry after unmap")) {
			diag("entry %u", i);
			break;
		}
		off += cpu->length;
	}
out:
	kfree(want);
	sg_teardown(&sgt, pages);
	kfree(pages);
}

/*
 * force=0: every map counted exactly where it went.  A single buffer, a page
 * and a scatterlist of NSG entries (one map each), each seen from the
 * device's side as bounced or direct; the counters must move by exactly
 * those numbers.  Natively a device with a 64-bit mask reaches all memory:
 * nothing may be bounced.
 */
static void seen(struct t *t, void *cpu, dma_addr_t bus, size_t n,
		 unsigned int *nb, unsigned int *nd)
{
	phys_addr_t phys = virt_to_phys(cpu);

	if (!bounced(t, cpu, bus, n)) {
		(*nd)++;
		return;
	}
	(*nb)++;
	/* natively what the mask reaches goes direct */
	CHECK(t, t->view != VIEW_NATIVE || phys + n - 1 > t->mask,
	      "%zu bytes at %pa, below the mask %#llx, bounced to %pad under force=0",
	      n, &phys, t->mask, &bus);
}

static void t_direct_exact(struct t *t)
{
	struct page **pages = kcalloc(NSG, sizeof(*pages), GFP_KERNEL);
	s64 before[NR_COUNTERS], now[NR_COUNTERS];
	struct page *page = alloc_pages(GFP_KERNEL, 1);
	u8 *buf = kmalloc(2048, GFP_KERNEL);
	unsigned int nb = 0, nd = 0, i;
	struct sg_table sgt = {};
	struct scatterlist *sg;
	dma_addr_t bus;
	char dir[96];
	int nents;

	if (!CHECK(t, pages && page && buf, "no memory"))
		goto out;
	if (expect_bounce) {
		skip(t, "force=1: every map bounced (counters_moved)");
		goto out;
	}
	if (!t->view) {
		skip(t, NO_VIEW);
		goto out;
	}
	sysfs_dir(t, dir, sizeof(dir));
	if (!CHECK(t, !read_counters(dir, before), "reading %s", dir))
		goto out;
#define SEEN(cpu, b, n) seen(t, (cpu), (b), (n), &nb, &nd)
	pvbt_fill(buf, 2048, 600);
	bus = map(t, buf, 2048, DMA_TO_DEVICE);
	if (!check_stream(t, buf, bus, 2048, "single"))
		goto out;
	SEEN(buf, bus, 2048);
	unmap(t, bus, 2048, DMA_TO_DEVICE);

	bus = dma_map_page(t->dev, page, 3000, 5000, DMA_TO_DEVICE);
	if (!check_stream(t, page_address(page) + 3000, bus, 5000, "page"))
		goto out;
	t->maps++;
	t->to_dev += 5000;
	SEEN(page_address(page) + 3000, bus, 5000);
	dma_unmap_page(t->dev, bus, 5000, DMA_TO_DEVICE);
	t->unmaps++;

	if (!CHECK(t, !sg_setup(&sgt, pages, 600), "no memory"))
		goto out;
	nents = dma_map_sg(t->dev, sgt.sgl, NSG, DMA_TO_DEVICE);
	if (!CHECK(t, nents == NSG, "dma_map_sg of %d entries gave %d", NSG, nents)) {
		if (nents > 0)
			dma_unmap_sg(t->dev, sgt.sgl, NSG, DMA_TO_DEVICE);
		goto out;
	}
	t->maps++;
	t->to_dev += sg_total(&sgt);
	for_each_sg(sgt.sgl, sg, nents, i)
		SEEN(sg_virt(sg), sg_dma_address(sg), sg_dma_len(sg));
	dma_unmap_sg(t->dev, sgt.sgl, NSG, DMA_TO_DEVICE);
	t->unmaps++;
#undef SEEN
	if (!CHECK(t, !read_counters(dir, now), "reading %s", dir))
		goto out;
	diag("force=0: %u maps seen direct, %u bounced", nd, nb);
	CHECK(t, now[C_DIRECT] - before[C_DIRECT] == nd,
	      "direct_maps moved by %lld, %u maps were direct",
	      now[C_DIRECT] - before[C_DIRECT], nd);
	CHECK(t, now[C_BOUNCED] - before[C_BOUNCED] == nb,
	      "bounced_maps moved by %lld, %u maps were bounced",
	      now[C_BOUNCED] - before[C_BOUNCED], nb);
	CHECK(t, now[C_MAPS] - before[C_MAPS] == nd + nb,
	      "maps moved by %lld, %u made", now[C_MAPS] - before[C_MAPS], nd + nb);
out:
	if (pages)
		sg_teardown(&sgt, pages);
	kfree(pages);
	kfree(buf);
	if (page)
		__free_pages(page, 1);
}

/* The largest mapping the device is told about works, both ways. */
static void t_largest_mapping(struct t *t)
{
	size_t n = dma_max_mapping_size(t->dev);
	unsigned int order;
	struct page *page;
	dma_addr_t bus;
	u8 *buf, *want;

	/*
	 * Natively without force, a device reaching every address the CPU
	 * can have memory at is told of no limit: nothing of it can bounce.
	 */
	if (!expect_bounce && !pvbt_xen_active() &&
	    min_not_zero(t->mask, t->dev->bus_dma_limit) >=
	    DMA_BIT_MASK(boot_cpu_data.x86_phys_bits)) {
		CHECK(t, n == SIZE_MAX,
		      "dma_max_mapping_size() %zu where nothing can bounce, want SIZE_MAX",
		      n);
	} else if (max_mapping_kb) {
		size_t kb = (size_t)max_mapping_kb << 10;

		CHECK(t, n <= kb, "dma_max_mapping_size() %zu above max_mapping_kb=%u",
		      n, max_mapping_kb);
		if (!dma_get_min_align_mask(t->dev))
			CHECK(t, n == kb, "dma_max_mapping_size() %zu, want %zu",
			      n, kb);
	}
	n = min_t(size_t, n, 4UL << 20);
	order = get_order(n);
	if (order > PVB_MAX_PAGE_ORDER) {
		skip(t, "largest mapping above the largest page allocation");
		return;
	}
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	want = kvmalloc(n, GFP_KERNEL);
	if (!page || !want) {
		skip(t, "no contiguous memory that large");
		goto out;
	}
	buf = page_address(page);
	pvbt_fill(buf, n, 500);
	bus = map(t, buf, n, DMA_TO_DEVICE);
	if (!check_stream(t, buf, bus, n, "largest TO_DEVICE"))
		goto out;
	if (t->view && view_of(t, bus, n))
		same(t, dev_view(t, bus, n), buf, n, "device reads");
	unmap(t, bus, n, DMA_TO_DEVICE);

	bus = map(t, buf, n, DMA_FROM_DEVICE);
	if (!check_stream(t, buf, bus, n, "largest FROM_DEVICE"))
		goto out;
	if (t->view && view_of(t, bus, n)) {
		pvbt_fill(dev_view(t, bus, n), n, 501);
		memcpy(want, dev_view(t, bus, n), n);
	} else {
		memcpy(want, buf, n);
	}
	unmap(t, bus, n, DMA_FROM_DEVICE);
	same(t, buf, want, n, "after unmap");
out:
	kvfree(want);
	if (page)
		__free_pages(page, order);
}

/*
 * Under force, a map one page larger than a whole segment is refused.  (The
 * largest mapping is a segment less the worst min_align_mask padding; a
 * buffer whose offset needs no padding may map up to the whole segment.)
 */
static void t_too_large_refused(struct t *t)
{
	unsigned int order;
	struct page *page;
	dma_addr_t bus;
	size_t n;

	if (!expect_bounce) {
		skip(t, "needs expect_bounce=1 (pvbounce force=1)");
		return;
	}
	page = pvb_too_large_pages(t->dev, &n, &order);
	if (!page) {
		skip(t, order > PVB_MAX_PAGE_ORDER ?
		     "larger than the largest page allocation" :
		     "no contiguous memory that large");
		return;
	}
	bus = dma_map_page(t->dev, page, 0, n, DMA_TO_DEVICE);
	if (CHECK(t, dma_mapping_error(t->dev, bus),
		  "a map of %zu bytes succeeded at %pad", n, &bus))
		t->too_large++;
	else
		dma_unmap_page(t->dev, bus, n, DMA_TO_DEVICE);
	__free_pages(page, order);
}

/*
 * Under force, the pool filled with one-page maps made with DMA_ATTR_NO_WARN,
 * as nvme makes its scatter-gather maps: the refusal that ends it is counted
 * in errors_pool_full and logged all the same (a refusal names its reason),
 * and so is one more map without the attribute.  kmod.sh counts the
 * "refused: pool ... full" lines: two per run.
 */
#define FULL_MAX_MAPS	65536

/*
 * Fill the pool with one-page TO_DEVICE maps of @page (DMA_ATTR_NO_WARN)
 * until one is refused, at most FULL_MAX_MAPS; their addresses in @bus.
 * Return: the maps made.
 */
static unsigned int fill_pool(struct t *t, dma_addr_t *bus, struct page *page)
{
	unsigned int n;

	for (n = 0; n < FULL_MAX_MAPS; n++) {
		bus[n] = dma_map_page_attrs(t->dev, page, 0, PAGE_SIZE,
					    DMA_TO_DEVICE, DMA_ATTR_NO_WARN);
		if (dma_mapping_error(t->dev, bus[n]))
			break;
	}
	return n;
}

static void t_pool_full_no_warn(struct t *t)
{
	s64 before[NR_COUNTERS], now[NR_COUNTERS];
	struct page *page = NULL;
	dma_addr_t *bus = NULL, extra;
	unsigned int n = 0, i;
	char dir[96];

	if (!expect_bounce) {
		skip(t, "needs expect_bounce=1 (pvbounce force=1)");
		return;
	}
	sysfs_dir(t, dir, sizeof(dir));
	if (!CHECK(t, !read_counters(dir, before), "reading %s", dir))
		return;
	bus = kvmalloc_array(FULL_MAX_MAPS, sizeof(*bus), GFP_KERNEL);
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!CHECK(t, bus && page, "out of memory"))
		goto out;
	n = fill_pool(t, bus, page);
	if (n == FULL_MAX_MAPS) {
		skip(t, "a pool of more than 256 MiB");
		goto unmap;
	}
	diag("pool full after %u one-page maps", n);
	extra = dma_map_page(t->dev, page, 0, PAGE_SIZE, DMA_TO_DEVICE);
	if (CHECK(t, dma_mapping_error(t->dev, extra),
		  "a map succeeded on a full pool at %pad", &extra))
		t->pool_full += 2;
	else
		dma_unmap_page(t->dev, extra, PAGE_SIZE, DMA_TO_DEVICE);
	if (CHECK(t, !read_counters(dir, now), "reading %s", dir))
		CHECK(t, now[C_POOL_FULL] - before[C_POOL_FULL] == 2,
		      "errors_pool_full moved by %lld, want 2",
		      now[C_POOL_FULL] - before[C_POOL_FULL]);
unmap:
	for (i = 0; i < n; i++)
		dma_unmap_page(t->dev, bus[i], PAGE_SIZE, DMA_TO_DEVICE);
out:
	if (page)
		__free_page(page);
	kvfree(bus);
}

/* Coherent memory: below the coherent mask and 2^address_bits, zeroed. */
static void t_coherent(struct t *t)
{
	static const size_t sizes[] = { PAGE_SIZE, 3 * PAGE_SIZE + 1, 65536, 1 << 20 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes) && !t->failed; i++) {
		size_t n = sizes[i];
		dma_addr_t bus;
		u8 *cpu = dma_alloc_coherent(t->dev, n, &bus, GFP_KERNEL);

		if (!CHECK(t, cpu, "dma_alloc_coherent(%zu) failed", n))
			break;
		t->coherent++;
		check_bus(t, bus, n, t->cmask, true, "coherent");
		CHECK(t, !memchr_inv(cpu, 0, n), "%zu coherent bytes not zeroed", n);
		if (t->view && !is_vmalloc_addr(cpu))
			CHECK(t, dev_view(t, bus, n) == cpu,
			      "coherent memory at %px is not what bus %pad names",
			      cpu, &bus);
		check_xen(t, cpu, bus, n, "coherent");
		pvbt_fill(cpu, n, 600 + i);
		dma_free_coherent(t->dev, n, cpu, bus);
	}
}

/*
 * A coherent allocation larger than the largest extent Xen lets the domain
 * exchange at once (memop-max-order): it fails, or succeeds, as told.
 */
static void t_coherent_large(struct t *t)
{
	size_t n = (size_t)coherent_large_kb << 10;
	dma_addr_t bus;
	u8 *cpu;

	if (!n) {
		skip(t, "coherent_large_kb not given");
		return;
	}
	cpu = dma_alloc_coherent(t->dev, n, &bus, GFP_KERNEL | __GFP_NOWARN);
	diag("dma_alloc_coherent(%zu KiB): %s", n >> 10,
	     cpu ? "allocated" : "failed");
	if (!coherent_large_ok) {
		CHECK(t, !cpu, "dma_alloc_coherent(%zu KiB) succeeded; it must fail",
		      n >> 10);
		if (cpu)
			dma_free_coherent(t->dev, n, cpu, bus);
		return;
	}
	if (!CHECK(t, cpu, "dma_alloc_coherent(%zu KiB) failed", n >> 10))
		return;
	t->coherent++;
	check_bus(t, bus, n, t->cmask, true, "large coherent");
	CHECK(t, !memchr_inv(cpu, 0, n), "%zu KiB coherent not zeroed", n >> 10);
	check_xen(t, cpu, bus, n, "large coherent");
	dma_free_coherent(t->dev, n, cpu, bus);
}

static void t_alloc_pages(struct t *t)
{
	const size_t n = 2 * PAGE_SIZE + 5;
	struct page *page;
	dma_addr_t bus;
	u8 *cpu;

	page = dma_alloc_pages(t->dev, n, &bus, DMA_BIDIRECTIONAL, GFP_KERNEL);
	if (!CHECK(t, page, "dma_alloc_pages(%zu) failed", n))
		return;
	check_bus(t, bus, n, t->cmask, true, "dma_alloc_pages");
	cpu = page_address(page);
	if (t->view)
		CHECK(t, dev_view(t, bus, n) == cpu,
		      "pages at %px are not what bus %pad names", cpu, &bus);
	check_xen(t, cpu, bus, n, "dma_alloc_pages");
	pvbt_fill(cpu, n, 700);
	dma_sync_single_for_device(t->dev, bus, n, DMA_BIDIRECTIONAL);
	dma_sync_single_for_cpu(t->dev, bus, n, DMA_BIDIRECTIONAL);
	t->syncs += 2;
	dma_free_pages(t->dev, n, page, bus, DMA_BIDIRECTIONAL);
}

static void t_get_sgtable(struct t *t)
{
	const size_t n = 2 * PAGE_SIZE;
	struct sg_table sgt;
	dma_addr_t bus;
	void *cpu = dma_alloc_coherent(t->dev, n, &bus, GFP_KERNEL);
	int ret;

	if (!CHECK(t, cpu, "dma_alloc_coherent(%zu) failed", n))
		return;
	t->coherent++;
	ret = dma_get_sgtable(t->dev, &sgt, cpu, bus, n);
	if (CHECK(t, !ret, "dma_get_sgtable: %d", ret)) {
		CHECK(t, sg_total(&sgt) >= n, "sg table holds %zu bytes of %zu",
		      sg_total(&sgt), n);
		if (!is_vmalloc_addr(cpu))
			CHECK(t, sg_page(sgt.sgl) == virt_to_page(cpu),
			      "first page is not the buffer's");
		sg_free_table(&sgt);
	}
	dma_free_coherent(t->dev, n, cpu, bus);
}

/*
 * MMIO (a BAR of the device itself) maps unbounced, at its own address,
 * under force=1 too: through dma_map_resource(), and (@phys_api) the way
 * 7.x drivers ask for it, dma_map_phys() with DMA_ATTR_MMIO (on older
 * kernels that is dma_map_resource() again).
 */
static void map_bar(struct t *t, bool phys_api)
{
	unsigned int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		phys_addr_t phys = pci_resource_start(t->pdev, bar);
		dma_addr_t bus, p2m;

		if (!(pci_resource_flags(t->pdev, bar) & IORESOURCE_MEM) ||
		    pci_resource_len(t->pdev, bar) < 8 || phys + 7 > t->mask ||
		    pfn_valid(PHYS_PFN(phys)))	/* the core WARNs on RAM */
			continue;
		if (phys_api)
			bus = pvb_dma_map_mmio(t->dev, phys, 8, DMA_BIDIRECTIONAL);
		else
			bus = dma_map_resource(t->dev, phys, 8,
					       DMA_BIDIRECTIONAL, 0);
		if (!CHECK(t, !dma_mapping_error(t->dev, bus),
			   "BAR%u at %pa refused", bar, &phys))
			return;
		if (t->view == VIEW_NATIVE)
			CHECK(t, bus == phys, "BAR%u at %pa mapped at %pad", bar,
			      &phys, &bus);
		p2m = pvbt_xen_phys_to_bus(phys);
		if (t->view == VIEW_XEN)
			CHECK(t, bus == p2m,
			      "BAR%u at %pa mapped at %pad, the p2m says %pad",
			      bar, &phys, &bus, &p2m);
		check_bus(t, bus, 8, t->mask, false, "resource");
		if (phys_api)
			pvb_dma_unmap_mmio(t->dev, bus, 8, DMA_BIDIRECTIONAL);
		else
			dma_unmap_resource(t->dev, bus, 8, DMA_BIDIRECTIONAL, 0);
		return;
	}
	skip(t, "no memory BAR below the DMA mask");
}

static void t_map_resource(struct t *t)
{
	map_bar(t, false);
}

static void t_map_mmio_phys(struct t *t)
{
	map_bar(t, true);
}

/* Where the device sees @page: its bus address. */
static dma_addr_t page_bus(struct t *t, struct page *page)
{
	phys_addr_t phys = page_to_phys(page);

	return t->view == VIEW_XEN ? pvbt_xen_phys_to_bus(phys) : phys;
}

/*
 * DMA_ATTR_REQUIRE_COHERENT (7.x: RDMA memory registration, HMM) is never
 * bounced: a page the device reaches is mapped where it is, under force=1
 * too, by map_phys and by map_sg.
 */
static void t_require_coherent_direct(struct t *t)
{
	const unsigned long attrs = PVB_ATTR_REQUIRE_COHERENT;
	struct scatterlist sg;
	struct page *page;
	dma_addr_t bus, want;

	if (!attrs) {
		skip(t, "no DMA_ATTR_REQUIRE_COHERENT in this kernel (7.x)");
		return;
	}
	if (t->view == VIEW_NONE) {
		skip(t, NO_VIEW);
		return;
	}
	page = alloc_page(GFP_KERNEL);
	if (!CHECK(t, page, "no memory"))
		return;
	want = page_bus(t, page);
	if (want + PAGE_SIZE - 1 > t->mask) {
		skip(t, "the page is beyond the device's DMA mask");
		goto out;
	}
	bus = dma_map_page_attrs(t->dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL,
				 attrs);
	if (CHECK(t, !dma_mapping_error(t->dev, bus),
		  "a page the device reaches (bus %pad) refused", &want)) {
		CHECK(t, bus == want, "mapped at %pad, not at %pad: bounced",
		      &bus, &want);
		dma_unmap_page_attrs(t->dev, bus, PAGE_SIZE, DMA_BIDIRECTIONAL,
				     attrs);
	}
	sg_init_table(&sg, 1);
	sg_set_page(&sg, page, PAGE_SIZE, 0);
	if (CHECK(t, dma_map_sg_attrs(t->dev, &sg, 1, DMA_TO_DEVICE, attrs) == 1,
		  "map_sg of a page the device reaches refused")) {
		CHECK(t, sg_dma_address(&sg) == want,
		      "map_sg mapped it at %pad, not at %pad: bounced",
		      &sg_dma_address(&sg), &want);
		dma_unmap_sg_attrs(t->dev, &sg, 1, DMA_TO_DEVICE, attrs);
	}
out:
	__free_page(page);
}

/*
 * DMA_ATTR_REQUIRE_COHERENT of a page out of the device's reach (its bus
 * limit lowered below the page for the test; no driver is bound) is
 * refused, not bounced, and counted in map_errors; kmod.sh checks the log.
 */
static void t_require_coherent_refused(struct t *t)
{
	const unsigned long attrs = PVB_ATTR_REQUIRE_COHERENT;
	s64 before[NR_COUNTERS], now[NR_COUNTERS];
	u64 saved = t->dev->bus_dma_limit;
	struct page *page;
	dma_addr_t bus, at;
	char dir[96];

	if (!attrs) {
		skip(t, "no DMA_ATTR_REQUIRE_COHERENT in this kernel (7.x)");
		return;
	}
	if (t->view == VIEW_NONE || t->dev->driver) {
		skip(t, t->dev->driver ? "a driver is bound (its maps share the limit)" :
		     NO_VIEW);
		return;
	}
	page = alloc_page(GFP_KERNEL);
	if (!CHECK(t, page, "no memory"))
		return;
	at = page_bus(t, page);
	sysfs_dir(t, dir, sizeof(dir));
	if (!CHECK(t, !read_counters(dir, before), "reading %s", dir))
		goto out;
	t->dev->bus_dma_limit = at - 1;
	bus = dma_map_page_attrs(t->dev, page, 0, PAGE_SIZE, DMA_TO_DEVICE,
				 attrs);
	t->dev->bus_dma_limit = saved;
	if (!CHECK(t, bus == DMA_MAPPING_ERROR,
		   "a page at bus %pad mapped at %pad with the device's limit below it",
		   &at, &bus))
		dma_unmap_page_attrs(t->dev, bus, PAGE_SIZE, DMA_TO_DEVICE,
				     attrs);
	if (!CHECK(t, !read_counters(dir, now), "reading %s", dir))
		goto out;
	CHECK(t, now[C_MAP_ERRORS] - before[C_MAP_ERRORS] == 1,
	      "map_errors moved by %lld for one refusal",
	      now[C_MAP_ERRORS] - before[C_MAP_ERRORS]);
	CHECK(t, now[C_BOUNCED] == before[C_BOUNCED],
	      "bounced_maps moved by %lld", now[C_BOUNCED] - before[C_BOUNCED]);
	/* its own reason, not a bounce refused for the pool's place */
	CHECK(t, now[C_MASK] == before[C_MASK],
	      "refused as beyond the mask (errors_mask moved by %lld): a bounce was tried",
	      now[C_MASK] - before[C_MASK]);
out:
	__free_page(page);
}

static bool exists(const char *dir, const char *name);

/* The pool serving the device: its sysfs directory. */
static void pool_dir(struct t *t, char *buf, size_t len)
{
	char dir[96];

	sysfs_dir(t, dir, sizeof(dir));
	if (exists(dir, "used"))
		snprintf(buf, len, "%s", dir);
	else
		snprintf(buf, len, "/sys/kernel/pvbounce");
}

#define SGF_PARTS	4

/*
 * map_sg on a pool with room for half of the list is refused, and what its
 * first parts took is given back: the pool's slots in use are what they
 * were.  With room for all of it, it maps.  Pinned to one CPU: the room
 * made is in that CPU's area (its first maps went there), where map_sg
 * takes its parts' slots first, so that they get some before the rest
 * finds none.
 */
static void t_sg_pool_full(struct t *t)
{
	struct page *page = NULL, *pg[SGF_PARTS] = { NULL };
	struct scatterlist sgl[SGF_PARTS];
	unsigned int n = 0, i, freed = 0;
	dma_addr_t *bus = NULL;
	cpumask_var_t old;
	s64 used0, used1;
	char dir[96];
	bool ok;
	int nents;

	if (!expect_bounce) {
		skip(t, "needs expect_bounce=1 (pvbounce force=1)");
		return;
	}
	if (!CHECK(t, alloc_cpumask_var(&old, GFP_KERNEL), "out of memory"))
		return;
	cpumask_copy(old, current->cpus_ptr);
	set_cpus_allowed_ptr(current, cpumask_of(raw_smp_processor_id()));
	pool_dir(t, dir, sizeof(dir));
	bus = kvmalloc_array(FULL_MAX_MAPS, sizeof(*bus), GFP_KERNEL);
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	ok = bus && page;
	for (i = 0; i < SGF_PARTS; i++) {
		pg[i] = alloc_page(GFP_KERNEL);
		ok &= !!pg[i];
	}
	if (!CHECK(t, ok, "out of memory"))
		goto out;
	n = fill_pool(t, bus, page);
	t->maps += n;
	t->to_dev += (u64)n * PAGE_SIZE;
	t->pool_full++;
	if (n == FULL_MAX_MAPS || n < SGF_PARTS) {
		skip(t, "a pool of more than 256 MiB, or of less than 4 pages");
		goto unmap;
	}
	sg_init_table(sgl, SGF_PARTS);
	for (i = 0; i < SGF_PARTS; i++) {
		pvbt_fill(page_address(pg[i]), PAGE_SIZE, 700 + i);
		sg_set_page(&sgl[i], pg[i], PAGE_SIZE, 0);
	}
	for (; freed < SGF_PARTS / 2; freed++) {
		dma_unmap_page(t->dev, bus[freed], PAGE_SIZE, DMA_TO_DEVICE);
		t->unmaps++;
	}
	if (!CHECK(t, !pvb_read_num(dir, "used", &used0), "reading %s/used",
		   dir))
		goto unmap;
	nents = dma_map_sg_attrs(t->dev, sgl, SGF_PARTS, DMA_TO_DEVICE,
				 DMA_ATTR_NO_WARN);
	if (!CHECK(t, nents == 0, "dma_map_sg of %d pages with room for %d gave %d",
		   SGF_PARTS, SGF_PARTS / 2, nents) && nents > 0)
		dma_unmap_sg(t->dev, sgl, SGF_PARTS, DMA_TO_DEVICE);
	t->pool_full++;
	if (CHECK(t, !pvb_read_num(dir, "used", &used1), "reading %s/used",
		  dir))
		CHECK(t, used1 == used0,
		      "%lld slots in use after the refused map_sg, %lld before",
		      used1, used0);
	for (; freed < SGF_PARTS; freed++) {
		dma_unmap_page(t->dev, bus[freed], PAGE_SIZE, DMA_TO_DEVICE);
		t->unmaps++;
	}
	nents = dma_map_sg(t->dev, sgl, SGF_PARTS, DMA_TO_DEVICE);
	if (CHECK(t, nents == SGF_PARTS, "dma_map_sg of %d pages with room for them gave %d",
		  SGF_PARTS, nents)) {
		t->maps++;
		t->to_dev += SGF_PARTS * PAGE_SIZE;
		dma_unmap_sg(t->dev, sgl, SGF_PARTS, DMA_TO_DEVICE);
		t->unmaps++;
	} else if (nents > 0) {
		dma_unmap_sg(t->dev, sgl, SGF_PARTS, DMA_TO_DEVICE);
	}
unmap:
	for (i = freed; i < n; i++) {
		dma_unmap_page(t->dev, bus[i], PAGE_SIZE, DMA_TO_DEVICE);
		t->unmaps++;
	}
out:
	set_cpus_allowed_ptr(current, old);
	free_cpumask_var(old);
	for (i = 0; i < SGF_PARTS; i++)
		if (pg[i])
			__free_page(pg[i]);
	if (page)
		__free_page(page);
	kvfree(bus);
}

/*
 * dma_alloc_pages() memory carved out of the bounce pool (the coherent
 * fallback when the backend has no chunk at once) is the device's own:
 * syncs on it, in both directions and on part of it, are legitimate, move
 * nothing and are no misuse.  Runs first of all DMA tests, so that the
 * failure the scenario injected (carve_next) hits this allocation.
 */
static void t_alloc_pages_carved_sync(struct t *t)
{
	const size_t n = 2 * PAGE_SIZE + 5;
	s64 used0, used1, used2, mis0, mis1;
	char pdir[96], dir[96];
	struct page *page;
	dma_addr_t bus;
	u8 *cpu;

	if (!carve_next) {
		skip(t, "needs carve_next=1 (debugfs fail/chunk_alloc=1 before the load)");
		return;
	}
	/*
	 * Where the kernel can skip syncs, pvbounce's sync ops come with the
	 * device's first bounced mapping (docs/speed.md): under force, one
	 * first, so that the syncs below reach pvbounce; without force they
	 * may be skipped (and no misuse can be counted).
	 */
	if (expect_bounce) {
		u8 *b = kmalloc(64, GFP_KERNEL);

		if (!CHECK(t, b, "no memory"))
			return;
		bus = map(t, b, 64, DMA_TO_DEVICE);
		if (CHECK(t, !dma_mapping_error(t->dev, bus), "map of 64 bytes failed"))
			unmap(t, bus, 64, DMA_TO_DEVICE);
		kfree(b);
	}
	pool_dir(t, pdir, sizeof(pdir));
	sysfs_dir(t, dir, sizeof(dir));
	if (!CHECK(t, !pvb_read_num(pdir, "used", &used0) &&
		   !pvb_read_num(dir, "misuse", &mis0), "reading %s/used, %s/misuse",
		   pdir, dir))
		return;
	page = dma_alloc_pages(t->dev, n, &bus, DMA_BIDIRECTIONAL, GFP_KERNEL);
	if (!CHECK(t, page, "dma_alloc_pages(%zu) failed", n))
		return;
	cpu = page_address(page);
	check_bus(t, bus, n, t->cmask, true, "carved dma_alloc_pages");
	if (t->view)
		CHECK(t, dev_view(t, bus, n) == cpu,
		      "pages at %px are not what bus %pad names", cpu, &bus);
	check_xen(t, cpu, bus, n, "carved dma_alloc_pages");
	CHECK(t, !pvb_read_num(pdir, "used", &used1) && used1 > used0,
	      "%s/used %lld, was %lld: not carved from the pool (did fail/chunk_alloc=1 reach it?)",
	      pdir, used1, used0);
	pvbt_fill(cpu, n, 710);
	dma_sync_single_for_device(t->dev, bus, n, DMA_BIDIRECTIONAL);
	if (t->view && dev_view(t, bus, n))
		same(t, dev_view(t, bus, n), cpu, n, "device reads the pages");
	dma_sync_single_for_cpu(t->dev, bus, n, DMA_BIDIRECTIONAL);
	dma_sync_single_range_for_cpu(t->dev, bus, 100, 3000, DMA_FROM_DEVICE);
	dma_sync_single_range_for_device(t->dev, bus, PAGE_SIZE, 7, DMA_TO_DEVICE);
	t->syncs += 4;
	CHECK(t, !pvb_read_num(dir, "misuse", &mis1) && mis1 == mis0,
	      "syncs on carved dma_alloc_pages() memory counted as misuse (%lld -> %lld)",
	      mis0, mis1);
	dma_free_pages(t->dev, n, page, bus, DMA_BIDIRECTIONAL);
	CHECK(t, !pvb_read_num(pdir, "used", &used2) && used2 == used0,
	      "%s/used %lld after the free, was %lld", pdir, used2, used0);
}

/* A memory BAR of the device the core lets us map, or false. */
static bool mmio_bar(struct t *t, phys_addr_t *phys)
{
	unsigned int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		*phys = pci_resource_start(t->pdev, bar);
		if ((pci_resource_flags(t->pdev, bar) & IORESOURCE_MEM) &&
		    pci_resource_len(t->pdev, bar) >= 8 && *phys + 7 <= t->mask &&
		    !pfn_valid(PHYS_PFN(*phys)))	/* the core WARNs on RAM */
			return true;
	}
	return false;
}

/*
 * Zero-byte maps are refused with their own reason: counted as map errors,
 * not as "too large" (raise max_mapping_kb) nor as beyond the mask.
 */
static void t_zero_size_maps(struct t *t)
{
	s64 before[NR_COUNTERS], now[NR_COUNTERS];
	u8 *buf = kmalloc(64, GFP_KERNEL);
	unsigned int tries = 1;
	phys_addr_t phys;
	dma_addr_t bus;
	char dir[96];

	if (!CHECK(t, buf, "no memory"))
		return;
	sysfs_dir(t, dir, sizeof(dir));
	if (!CHECK(t, !read_counters(dir, before), "reading %s", dir))
		goto out;
	bus = dma_map_single(t->dev, buf, 0, DMA_TO_DEVICE);
	if (!CHECK(t, dma_mapping_error(t->dev, bus),
		   "a map of 0 bytes succeeded at %pad", &bus))
		dma_unmap_single(t->dev, bus, 0, DMA_TO_DEVICE);
	if (mmio_bar(t, &phys)) {
		tries++;
		/*
		 * pvbounce's op itself: 6.12's DMA-API debug records even a
		 * refused dma_map_resource() and keeps it, WARNing later
		 * ("cacheline tracking EEXIST", "pending DMA allocations").
		 */
		bus = pvb_ops_map_mmio(get_dma_ops(t->dev), t->dev, phys, 0,
				       DMA_TO_DEVICE, 0);
		if (!CHECK(t, bus == DMA_MAPPING_ERROR,
			   "a resource map of 0 bytes at %pa succeeded at %pad",
			   &phys, &bus))
			pvb_ops_unmap_mmio(get_dma_ops(t->dev), t->dev, bus,
					   0, DMA_TO_DEVICE, 0);
	}
	if (!CHECK(t, !read_counters(dir, now), "reading %s", dir))
		goto out;
	CHECK(t, now[C_MAP_ERRORS] - before[C_MAP_ERRORS] >= tries,
	      "map_errors moved by %lld for %u refused maps",
	      now[C_MAP_ERRORS] - before[C_MAP_ERRORS], tries);
	CHECK(t, now[C_TOO_LARGE] == before[C_TOO_LARGE],
	      "a 0-byte map counted as too large (errors_too_large %lld -> %lld)",
	      before[C_TOO_LARGE], now[C_TOO_LARGE]);
	CHECK(t, now[C_MASK] == before[C_MASK],
	      "a 0-byte map counted as beyond the mask (errors_mask %lld -> %lld)",
	      before[C_MASK], now[C_MASK]);
out:
	kfree(buf);
}

/* A resource range that wraps past the end of the address space is refused. */
static void t_map_resource_wrap(struct t *t)
{
	phys_addr_t phys = (phys_addr_t)0 - PAGE_SIZE;
	dma_addr_t bus;

	/* pvbounce's op itself: see t_zero_size_maps() (DMA-API debug) */
	bus = pvb_ops_map_mmio(get_dma_ops(t->dev), t->dev, phys,
			       2 * PAGE_SIZE, DMA_TO_DEVICE, 0);
	if (!CHECK(t, bus == DMA_MAPPING_ERROR,
		   "%lu bytes at %pa (wrapping to 0) mapped at %pad",
		   2 * PAGE_SIZE, &phys, &bus))
		pvb_ops_unmap_mmio(get_dma_ops(t->dev), t->dev, bus,
				   2 * PAGE_SIZE, DMA_TO_DEVICE, 0);
}

/*
 * On Xen PV, map_resource hands the address out untranslated: only right
 * where the p2m identity-maps it.  A guest frame the p2m maps elsewhere (a
 * RAM page: the ops are called directly, the core refuses RAM) is refused.
 */
static void t_map_resource_not_identity(struct t *t)
{
	const struct dma_map_ops *ops = get_dma_ops(t->dev);
	struct page *pages[8] = {};
	phys_addr_t phys = 0;
	unsigned int i;
	dma_addr_t bus;

	if (t->view != VIEW_XEN) {
		skip(t, "natively every address is its own bus address");
		return;
	}
	if (!CHECK(t, ops && pvb_ops_has_mmio(ops), "no MMIO map op"))
		return;
	for (i = 0; i < ARRAY_SIZE(pages) && !phys; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (pages[i] && pvbt_xen_phys_to_bus(page_to_phys(pages[i])) !=
				page_to_phys(pages[i]))
			phys = page_to_phys(pages[i]);
	}
	if (!phys) {
		skip(t, "no page whose p2m entry is not identity");
		goto out;
	}
	bus = pvb_ops_map_mmio(ops, t->dev, phys, PAGE_SIZE, DMA_BIDIRECTIONAL,
			       0);
	if (!CHECK(t, bus == DMA_MAPPING_ERROR,
		   "pfn %#lx (p2m: mfn %#llx) mapped as a resource at %pad",
		   (unsigned long)PHYS_PFN(phys),
		   (u64)PHYS_PFN(pvbt_xen_phys_to_bus(phys)), &bus))
		pvb_ops_unmap_mmio(ops, t->dev, bus, PAGE_SIZE,
				   DMA_BIDIRECTIONAL, 0);
out:
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (pages[i])
			__free_page(pages[i]);
}

static void t_counters_moved(struct t *t)
{
	s64 now[NR_COUNTERS], *b = t->base;
	char dir[96];
	int ret;

	sysfs_dir(t, dir, sizeof(dir));
	ret = read_counters(dir, now);
	if (!CHECK(t, !ret, "reading %s: %d", dir, ret))
		return;
#define MOVED(c, by) CHECK(t, now[c] - b[c] >= (s64)(by),		\
			   "%s moved by %lld, want at least %llu",	\
			   counter_name[c], now[c] - b[c], (u64)(by))
	MOVED(C_MAPS, t->maps);
	MOVED(C_UNMAPS, t->unmaps);
	/*
	 * Syncs reach pvbounce from the device's first bounced mapping on
	 * where the kernel can skip them (docs/speed.md): under force from
	 * the run's first map on, without it maybe never.
	 */
	if (expect_bounce || !IS_ENABLED(CONFIG_DMA_NEED_SYNC))
		MOVED(C_SYNCS, t->syncs);
	else
		CHECK(t, now[C_SYNCS] - b[C_SYNCS] <= (s64)t->syncs,
		      "syncs moved by %lld, more than the %llu made",
		      now[C_SYNCS] - b[C_SYNCS], t->syncs);
	MOVED(C_COHERENT, t->coherent);
	MOVED(C_TOO_LARGE, t->too_large);
	MOVED(C_POOL_FULL, t->pool_full);
	MOVED(C_MAP_ERRORS, t->too_large + t->pool_full);
	CHECK(t, now[C_LARGEST] >= (s64)t->largest, "largest_request %lld below %zu",
	      now[C_LARGEST], t->largest);
	if (expect_bounce) {
		MOVED(C_BOUNCED, t->maps);
		MOVED(C_TO_DEV, t->to_dev);
		MOVED(C_FROM_DEV, t->from_dev);
	}
#undef MOVED
	/* every map counted once: bounced, direct or refused */
	CHECK(t, now[C_BOUNCED] - b[C_BOUNCED] + now[C_DIRECT] - b[C_DIRECT] +
	      now[C_MAP_ERRORS] - b[C_MAP_ERRORS] == now[C_MAPS] - b[C_MAPS],
	      "bounced %lld + direct %lld + map_errors %lld != maps %lld",
	      now[C_BOUNCED] - b[C_BOUNCED], now[C_DIRECT] - b[C_DIRECT],
	      now[C_MAP_ERRORS] - b[C_MAP_ERRORS], now[C_MAPS] - b[C_MAPS]);
	CHECK(t, now[C_MISUSE] == b[C_MISUSE], "misuse moved by %lld",
	      now[C_MISUSE] - b[C_MISUSE]);
	diag("moved: maps %lld unmaps %lld bounced %lld direct %lld to_device %lld from_device %lld syncs %lld coherent %lld errors %lld",
	     now[C_MAPS] - b[C_MAPS], now[C_UNMAPS] - b[C_UNMAPS],
	     now[C_BOUNCED] - b[C_BOUNCED], now[C_DIRECT] - b[C_DIRECT],
	     now[C_TO_DEV] - b[C_TO_DEV], now[C_FROM_DEV] - b[C_FROM_DEV],
	     now[C_SYNCS] - b[C_SYNCS], now[C_COHERENT] - b[C_COHERENT],
	     now[C_MAP_ERRORS] - b[C_MAP_ERRORS]);
}

static bool exists(const char *dir, const char *name)
{
	char path[128];
	struct path p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (kern_path(path, LOOKUP_FOLLOW, &p))
		return false;
	path_put(&p);
	return true;
}

static const char *const pool_files[] = { "nslabs", "used", "used_hiwater" };

/* /sys/kernel/pvbounce/: the common pool's numbers make sense. */
static void t_sysfs_pool(struct t *t)
{
	const char *dir = "/sys/kernel/pvbounce";
	s64 v[ARRAY_SIZE(pool_files)];
	char backend[16];
	unsigned int i;
	int ret;

	ret = pvb_read_file(PVB_SYSFS_DIR "/backend", backend, sizeof(backend));
	if (CHECK(t, ret > 0, "reading %s/backend: %d", dir, ret))
		CHECK(t, !strcmp(backend, xen_pv_domain() ? "xen\n" : "native\n"),
		      "backend is %s", backend);
	for (i = 0; i < ARRAY_SIZE(pool_files); i++) {
		ret = pvb_read_num(dir, pool_files[i], &v[i]);
		if (!CHECK(t, !ret, "reading %s/%s: %d", dir, pool_files[i], ret))
			return;
	}
	CHECK(t, v[0] > 0 && v[1] <= v[0] && v[1] <= v[2] && v[2] <= v[0],
	      "nslabs %lld used %lld used_hiwater %lld", v[0], v[1], v[2]);
}

/*
 * debugfs has the contract's files, globally and for the device, and the
 * per-device pool files exactly when sysfs says the device has its own pool.
 */
static void t_debugfs_files(struct t *t)
{
	static const char *const global[] = {
		"backend", "pool", "nslabs", "used", "used_hiwater", "devices",
	};
	const char *root = "/sys/kernel/debug/pvbounce";
	char dir[96], sys[96];
	bool private;
	unsigned int i;

	if (!exists(root, "")) {
		skip(t, "debugfs not mounted");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(global); i++)
		CHECK(t, exists(root, global[i]), "no %s/%s", root, global[i]);
	debugfs_dir(t, dir, sizeof(dir));
	for (i = 0; i < NR_COUNTERS; i++)
		CHECK(t, exists(dir, counter_name[i]), "no %s/%s", dir,
		      counter_name[i]);
	sysfs_dir(t, sys, sizeof(sys));
	private = exists(sys, "used");
	CHECK(t, exists(dir, "pool") == private, "%s/pool %s", dir,
	      private ? "missing" : "present without a private pool");
	for (i = 0; i < ARRAY_SIZE(pool_files); i++) {
		CHECK(t, exists(dir, pool_files[i]) == private, "%s/%s %s", dir,
		      pool_files[i], private ? "missing" : "present without a private pool");
		CHECK(t, exists(sys, pool_files[i]) == private, "%s/%s %s", sys,
		      pool_files[i], private ? "missing" : "present without a private pool");
	}
}

/* A private pool nobody else uses is back to its slots in use at start. */
static void t_private_pool_drained(struct t *t)
{
	char dir[96];
	s64 used;

	sysfs_dir(t, dir, sizeof(dir));
	if (pvb_read_num(dir, "used", &used)) {
		skip(t, "device has no private pool");
		return;
	}
	if (t->dev->driver) {
		skip(t, "a driver is bound: the pool is not ours alone");
		return;
	}
	CHECK(t, used == 0, "%lld slots still in use", used);
}

struct test {
	const char *name;
	void (*fn)(struct t *t);
};

static const struct test tests[] = {
	{ "attached", t_attached },
	{ "alloc_pages_carved_from_pool_syncs", t_alloc_pages_carved_sync },
	{ "map_single_to_device", t_map_single_to_device },
	{ "map_page_across_pages", t_map_page_across_pages },
	{ "from_device_no_stale_data", t_from_device },
	{ "partial_device_write_cve_2022_0854", t_partial_device_write },
	{ "sync_for_device_keeps_device_data_ath9k", t_sync_for_device_keeps_device_data },
	{ "bidirectional", t_bidirectional },
	{ "copy_sizes_either_side_of_4k", t_copy_sizes },
	{ "unmap_skip_cpu_sync", t_unmap_skip_cpu_sync },
	{ "partial_syncs", t_partial_syncs },
	{ "partial_syncs_min_align_mask", t_partial_syncs_min_align },
	{ "sg_to_device", t_sg_to_device },
	{ "sgtable_from_device", t_sgtable_from_device },
	{ "force0_maps_counted_exactly", t_direct_exact },
	{ "largest_mapping", t_largest_mapping },
	{ "too_large_refused", t_too_large_refused },
	{ "pool_full_logged_despite_no_warn", t_pool_full_no_warn },
	{ "sg_pool_full_undone", t_sg_pool_full },
	{ "coherent", t_coherent },
	{ "coherent_large", t_coherent_large },
	{ "alloc_pages", t_alloc_pages },
	{ "get_sgtable", t_get_sgtable },
	{ "map_resource", t_map_resource },
	{ "map_mmio_phys", t_map_mmio_phys },
	{ "require_coherent_direct", t_require_coherent_direct },
	{ "require_coherent_refused", t_require_coherent_refused },
	{ "zero_size_maps", t_zero_size_maps },
	{ "map_resource_wrap_refused", t_map_resource_wrap },
	{ "map_resource_not_identity_refused", t_map_resource_not_identity },
	{ "counters_moved", t_counters_moved },
	{ "sysfs_pool", t_sysfs_pool },
	{ "debugfs_files", t_debugfs_files },
	{ "private_pool_drained", t_private_pool_drained },
};

/*
 * pool_ranges=: no device needed (a domU without one).  One KTAP result per
 * range: xen_check.c finds the guest frames of the machine frames through
 * Xen's M2P, checks the guest's p2m and page tables map them back there,
 * consecutively, and moves data both ways through a mapping of the machine
 * frames themselves.  The pool must be idle: its bytes are written (and
 * restored).
 */
static int check_pool_ranges(void)
{
	u64 limit = address_bits >= 64 ? U64_MAX : (1ULL << address_bits) - 1;
	unsigned int n = 0, fail = 0;
	char *list, *p, *tok, why[160];
	unsigned long long start, end;
	void *cpu;
	int ret;

	list = kstrdup(pool_ranges, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	for (p = list; *p; p++)
		n += *p == ',';
	ktap("KTAP version 1");
	ktap("1..%u", n + 1);
	for (n = 0, p = list; (tok = strsep(&p, ",")); ) {
		bool bad = false;

		n++;
		why[0] = '\0';
		if (sscanf(tok, "%llx-%llx", &start, &end) != 2 || end < start) {
			snprintf(why, sizeof(why), "cannot parse '%s'", tok);
			bad = true;
		} else if (end > limit) {
			snprintf(why, sizeof(why), "ends at %#llx, above %#llx",
				 end, limit);
			bad = true;
		} else if (!pvbt_xen_active()) {
			snprintf(why, sizeof(why), "not a Xen PV guest");
			bad = true;
		} else {
			cpu = pvbt_xen_dev_view(start, end - start + 1);
			if (!cpu) {
				snprintf(why, sizeof(why),
					 "M2P, p2m and page tables do not agree on consecutive guest frames");
				bad = true;
			} else {
				ret = pvbt_xen_check_range(cpu, start,
							   end - start + 1,
							   why, sizeof(why));
				bad = ret != 0;
			}
		}
		if (bad) {
			fail++;
			diag("range %s: %s", tok, why);
			ktap("not ok %u pool_range_%s", n, tok);
		} else {
			ktap("ok %u pool_range_%s", n, tok);
		}
	}
	diag("Totals: pass:%u fail:%u skip:0", n - fail, fail);
	failed = fail;
	kfree(list);
	return 0;
}

static int __init pvbt_init(void)
{
	unsigned int i, pass = 0, fail = 0, skipped = 0;
	struct t *t;

	if (pool_ranges && *pool_ranges)
		return check_pool_ranges();
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	ktap("KTAP version 1");
	ktap("1..%zu", ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		t->failed = false;
		t->skip = NULL;
		if (i && !t->dev)
			skip(t, "no device");
		else
			tests[i].fn(t);
		if (t->failed) {
			fail++;
			ktap("not ok %u %s", i + 1, tests[i].name);
		} else if (t->skip) {
			skipped++;
			ktap("ok %u %s # SKIP %s", i + 1, tests[i].name, t->skip);
		} else {
			pass++;
			ktap("ok %u %s", i + 1, tests[i].name);
		}
	}
	diag("Totals: pass:%u fail:%u skip:%u", pass, fail, skipped);
	failed = fail;
	if (t->dev)
		put_device(t->dev);
	kfree(t);
	return 0;
}

static void __exit pvbt_exit(void)
{
}

module_init(pvbt_init);
module_exit(pvbt_exit);
MODULE_DESCRIPTION("pvbounce DMA API test: drives one attached device, prints KTAP");
MODULE_LICENSE("GPL");
