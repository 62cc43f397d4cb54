// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_safety: cases real hardware produces and QEMU's devices do not,
 * driven through the DMA API of devices attached to pvbounce.  Runs once,
 * at load, and prints KTAP at KERN_INFO as pvbounce_test does; the number
 * of failed tests is in /sys/module/pvbounce_safety/parameters/failed.
 *
 *   insmod pvbounce_safety.ko dev_a=0000:00:03.0 [dev_b=0000:00:04.0]
 *
 * other_device_skips_freed_slots (dev_a and dev_b in the common pool,
 * pvbounce loaded with force=1): a device that writes after its driver
 * unmapped (a firmware bug) must not write into another device's fresh
 * mapping.  On one CPU: dev_a maps and unmaps, then dev_b maps: dev_b's
 * slots must not be the ones dev_a just gave back.  And dev_a mapping
 * again after its own unmap gets its own slots back (the hot reuse kept).
 *
 * xen_seg_boundary_bounced (Xen PV, pvbounce with force=0): a buffer that is
 * contiguous in machine memory but crosses the device's segment boundary
 * there must be bounced, not mapped directly.  The buffer is a coherent
 * allocation of dev_a (machine-contiguous by construction, checked through
 * xen_check.c's own p2m reading); the device's boundary is set to 4 KiB
 * for the test and restored after.
 *
 * Run it against devices with no driver bound: nothing else then uses
 * their ops, and the pool area of the test's CPU sees only its calls.
 */
#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "ktap.h"
#include "xen_check.h"

static char *dev_a;
module_param(dev_a, charp, 0444);
MODULE_PARM_DESC(dev_a, "PCI address (DDDD:BB:DD.F) of a device attached to pvbounce, no driver bound; required");

static char *dev_b;
module_param(dev_b, charp, 0444);
MODULE_PARM_DESC(dev_b, "PCI address of a second attached device in the same (common) pool, no driver bound (default none: the two-device test skips)");

static bool expect_bounce;
module_param(expect_bounce, bool, 0444);
MODULE_PARM_DESC(expect_bounce, "pvbounce runs with force=1 (the two-device test needs it; the Xen boundary test needs force=0) (default 0)");

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "read-only result: number of failed tests of the run at load (-1: not run)");

#define SLOT		2048	/* pvbounce's slot size */
#define ROUNDS		32

struct t {
	struct device *a, *b;
	bool failed;
	const char *skip;
};

static struct device *find_dev(const char *name)
{
	struct device *dev;

	if (!name || !*name)
		return NULL;
	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	if (dev && dev->driver) {
		diag("%s has driver %s bound: the test needs it alone", name,
		     dev->driver->name);
		put_device(dev);
		return NULL;
	}
	return dev;
}

/* First and last slot a mapping of @size bytes at @bus touches. */
static void slots_of(dma_addr_t bus, size_t size, u64 *first, u64 *last)
{
	*first = bus / SLOT;
	*last = (bus + size - 1) / SLOT;
}

static void t_other_device_skips_freed_slots(struct t *t)
{
	u8 *buf_a, *buf_b;
	unsigned int i, reused = 0;

	if (!t->b) {
		t->skip = "needs dev_b";
		return;
	}
	if (!expect_bounce) {
		t->skip = "needs pvbounce with force=1";
		return;
	}
	buf_a = kmalloc(2 * PAGE_SIZE, GFP_KERNEL);
	buf_b = kmalloc(2 * PAGE_SIZE, GFP_KERNEL);
	if (!CHECK(t, buf_a && buf_b, "no memory"))
		goto out;
	memset(buf_a, 0xa5, 2 * PAGE_SIZE);
	memset(buf_b, 0x5b, 2 * PAGE_SIZE);
	for (i = 0; i < ROUNDS && !t->failed; i++) {
		size_t size = 200 + i * 250;	/* 1 to 4 slots */
		dma_addr_t a, a2, b;
		u64 af, al, bf, bl;

		/* One CPU, one pool area: nothing runs between the calls. */
		get_cpu();
		a = dma_map_single(t->a, buf_a, size, DMA_TO_DEVICE);
		if (dma_mapping_error(t->a, a)) {
			put_cpu();
			CHECK(t, false, "round %u: dev_a's map of %zu bytes failed", i, size);
			break;
		}
		dma_unmap_single(t->a, a, size, DMA_TO_DEVICE);
		/* dev_a again: its own slots just given back */
		a2 = dma_map_single(t->a, buf_a, size, DMA_TO_DEVICE);
		if (!dma_mapping_error(t->a, a2)) {
			reused += a2 == a;
			dma_unmap_single(t->a, a2, size, DMA_TO_DEVICE);
		}
		b = dma_map_single(t->b, buf_b, size, DMA_TO_DEVICE);
		put_cpu();
		if (!CHECK(t, !dma_mapping_error(t->b, b),
			   "round %u: dev_b's map of %zu bytes failed", i, size))
			break;
		slots_of(a2, size, &af, &al);
		slots_of(b, size, &bf, &bl);
		CHECK(t, bl < af || bf > al,
		      "round %u: dev_b's %zu bytes at %pad share a slot with the ones dev_a gave back just before (%pad)",
		      i, size, &b, &a2);
		dma_unmap_single(t->b, b, size, DMA_TO_DEVICE);
	}
	diag("dev_a got its own slots back on %u of %u maps", reused, ROUNDS);
	CHECK(t, t->failed || reused == ROUNDS,
	      "dev_a's map after its own unmap reused its slots only %u of %u times",
	      reused, ROUNDS);
out:
	kfree(buf_a);
	kfree(buf_b);
}

static void t_xen_seg_boundary_bounced(struct t *t)
{
	const u64 boundary = 0xfff;
	dma_addr_t handle, in, across;
	unsigned int old_align;
	u64 old, m0, m1;
	void *cpu;

	if (!pvbt_xen_active()) {
		t->skip = "Xen PV only (natively bus == phys; the boundary is the driver's, as with dma-direct)";
		return;
	}
	if (expect_bounce) {
		t->skip = "needs pvbounce with force=0 (the direct path)";
		return;
	}
	if (!t->a->dma_parms) {
		t->skip = "the device has no dma_parms to set a boundary in";
		return;
	}
	cpu = dma_alloc_coherent(t->a, 2 * PAGE_SIZE, &handle, GFP_KERNEL);
	if (!CHECK(t, cpu, "no coherent buffer of 8 KiB"))
		return;
	m0 = pvbt_xen_phys_to_bus(virt_to_phys(cpu));
	m1 = pvbt_xen_phys_to_bus(virt_to_phys(cpu) + PAGE_SIZE);
	if (!CHECK(t, m1 == m0 + PAGE_SIZE && !(m0 & (PAGE_SIZE - 1)),
		   "coherent buffer not machine-contiguous: %#llx, %#llx", m0, m1))
		goto out_free;
	memset(cpu, 0x3c, 2 * PAGE_SIZE);
	old = dma_get_seg_boundary(t->a);
	dma_set_seg_boundary(t->a, boundary);
	/*
	 * No min_align_mask (nvme leaves 0xfff in dma_parms after its
	 * unbind): with it, 2 KiB at offset 3 KiB keep that offset in the
	 * bounce slot too and can never fit inside a 4 KiB boundary.
	 */
	old_align = dma_get_min_align_mask(t->a);
	dma_set_min_align_mask(t->a, 0);

	/* Inside one 4 KiB window: direct, at its machine address. */
	in = dma_map_single(t->a, cpu + 1024, 2048, DMA_TO_DEVICE);
	if (CHECK(t, !dma_mapping_error(t->a, in), "map inside the boundary failed")) {
		CHECK(t, in == m0 + 1024,
		      "2 KiB inside the boundary mapped at %pad, not directly at %#llx",
		      &in, m0 + 1024);
		dma_unmap_single(t->a, in, 2048, DMA_TO_DEVICE);
	}
	/* 3 KiB..5 KiB: machine-contiguous, across the 4 KiB boundary. */
	across = dma_map_single(t->a, cpu + 3072, 2048, DMA_TO_DEVICE);
	if (CHECK(t, !dma_mapping_error(t->a, across), "map across the boundary failed")) {
		u8 *view = pvbt_xen_dev_view(across, 2048);

		CHECK(t, !((across ^ (across + 2047)) & ~boundary),
		      "2 KiB at %pad cross the device's boundary mask %#llx (machine-contiguous at %#llx: mapped directly, not bounced)",
		      &across, boundary, m0 + 3072);
		CHECK(t, view && !memcmp(view, cpu + 3072, 2048),
		      "the device does not see the data at %pad", &across);
		dma_unmap_single(t->a, across, 2048, DMA_TO_DEVICE);
	}
	dma_set_min_align_mask(t->a, old_align);
	dma_set_seg_boundary(t->a, old);
out_free:
	dma_free_coherent(t->a, 2 * PAGE_SIZE, cpu, handle);
}

struct test {
	const char *name;
	void (*fn)(struct t *t);
};

static const struct test tests[] = {
	{ "other_device_skips_freed_slots", t_other_device_skips_freed_slots },
	{ "xen_seg_boundary_bounced", t_xen_seg_boundary_bounced },
};

static int __init pvbs_init(void)
{
	unsigned int i, pass = 0, fail = 0, skipped = 0;
	struct t t = { };

	t.a = find_dev(dev_a);
	t.b = find_dev(dev_b);
	ktap("KTAP version 1");
	ktap("1..%zu", ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		t.failed = false;
		t.skip = NULL;
		if (!t.a)
			t.skip = "no dev_a without a driver";
		else
			tests[i].fn(&t);
		if (t.failed) {
			fail++;
			ktap("not ok %u %s", i + 1, tests[i].name);
		} else if (t.skip) {
			skipped++;
			ktap("ok %u %s # SKIP %s", i + 1, tests[i].name, t.skip);
		} else {
			pass++;
			ktap("ok %u %s", i + 1, tests[i].name);
		}
	}
	diag("Totals: pass:%u fail:%u skip:%u", pass, fail, skipped);
	failed = fail;
	if (t.a)
		put_device(t.a);
	if (t.b)
		put_device(t.b);
	return 0;
}

static void __exit pvbs_exit(void)
{
}

module_init(pvbs_init);
module_exit(pvbs_exit);
MODULE_DESCRIPTION("pvbounce: cases real hardware produces (late writes of another device, Xen segment boundary), KTAP");
MODULE_LICENSE("GPL");
