// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_hold: fill the bounce pool of a device attached to pvbounce and
 * keep it full until rmmod, so that the tests can make the pool's
 * exhaustion certain instead of hoping that parallel I/O fills it.
 *
 *   insmod pvbounce_hold.ko dev=0000:00:03.0 size=1M
 *
 * At load it maps @size bytes through the device's own DMA ops, in pieces
 * of one pvbounce slot (2 KiB), with dma_map_page() on &pdev->dev, as a
 * driver would; at rmmod it unmaps them.  Pieces come from zeroed pages, two
 * a page at offsets 0 and 2 KiB, so each takes exactly one slot even with
 * nvme's 4 KiB min_align_mask.  The device's driver, if one is bound, keeps
 * working, with whatever the pool has left.
 *
 * With window=SIZE it then gives back the pieces of one bus-aligned window
 * of SIZE bytes (a pool segment) that it holds whole: exactly that window of
 * the pool is free, whatever order the slots were handed out in.
 *
 * Mapping stops at the first refused piece (the pool was fuller than @size
 * said): the module holds what it has and says so; the bytes held are in
 * /sys/module/pvbounce_hold/parameters/held.  It fails to load only when
 * nothing could be mapped at all.
 *
 * Remove this module before the device is detached from pvbounce (driver
 * unbound with pvbounce going away, or pvbounce unloaded): the unmaps must
 * go to the ops that made the mappings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#define PIECE		2048	/* one pvbounce slot */
#define PER_PAGE	(PAGE_SIZE / PIECE)
#define MAX_HOLD	SZ_1G

static char *target;
module_param_named(dev, target, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a device attached to pvbounce; required");

static char *size;
module_param(size, charp, 0444);
MODULE_PARM_DESC(size, "bytes of bounce pool to hold, K/M/G suffix allowed (a multiple of 2 KiB is exact); required");

static char *window;
module_param(window, charp, 0444);
MODULE_PARM_DESC(window, "optional, K/M suffix allowed: once mapped, give back the pieces of one bus-aligned window of this many bytes (a power of two: a pool segment) that the holder covers whole, so that exactly that window is free; load fails if there is none");

static unsigned long held;
module_param(held, ulong, 0444);
MODULE_PARM_DESC(held, "read-only result: bytes held (mapped) since load");

/**
 * struct pvbh_state - what is held.
 * @dev: the device (a reference is held).
 * @pages: pages the pieces live in, DIV_ROUND_UP(@npieces, PER_PAGE).
 * @bus: bus address of each mapped piece.
 * @npieces: pieces wanted.
 * @nmapped: pieces mapped, the first @nmapped of @bus.
 */
struct pvbh_state {
	struct device *dev;
	struct page **pages;
	dma_addr_t *bus;
	unsigned int npieces;
	unsigned int nmapped;
};

static struct pvbh_state st;

/* Undo everything pvbh_map_all() and pvbh_init() set up. */
static void pvbh_release(struct pvbh_state *s)
{
	unsigned int i;

	for (i = 0; i < s->nmapped; i++)
		if (s->bus[i] != DMA_MAPPING_ERROR)
			dma_unmap_page(s->dev, s->bus[i], PIECE, DMA_TO_DEVICE);
	s->nmapped = 0;
	if (s->pages)
		for (i = 0; i < DIV_ROUND_UP(s->npieces, PER_PAGE); i++)
			if (s->pages[i])
				__free_page(s->pages[i]);
	kvfree(s->pages);
	s->pages = NULL;
	kvfree(s->bus);
	s->bus = NULL;
	put_device(s->dev);
	s->dev = NULL;
}

/**
 * pvbh_map_all() - map the pieces until all are mapped or one is refused.
 * @s: state with @dev, @npieces and zeroed @pages and @bus arrays.
 *
 * A refused piece ends the mapping without an error: the pool was fuller
 * than the caller thought, and what is mapped is held.
 *
 * Return: 0, or -ENOMEM if a page could not be had.
 */
static int pvbh_map_all(struct pvbh_state *s)
{
	unsigned int i;

	for (i = 0; i < s->npieces; i++) {
		struct page **pg = &s->pages[i / PER_PAGE];
		dma_addr_t bus;

		if (!*pg) {
			*pg = alloc_page(GFP_KERNEL | __GFP_ZERO);
			if (!*pg)
				return -ENOMEM;
		}
		bus = dma_map_page(s->dev, *pg, (i % PER_PAGE) * PIECE, PIECE,
				   DMA_TO_DEVICE);
		if (dma_mapping_error(s->dev, bus)) {
			pr_info("%s: piece %u of %u refused: the pool is full\n",
				dev_name(s->dev), i + 1, s->npieces);
			break;
		}
		s->bus[i] = bus;
		s->nmapped++;
	}
	return 0;
}

/**
 * pvbh_free_window() - give back one bus-aligned window the holder covers.
 * @s: state after pvbh_map_all().
 * @bytes: window size, a power of two and a multiple of PIECE.
 *
 * Finds the first piece whose aligned window of @bytes is covered whole by
 * held pieces and unmaps those pieces (their bus entries become
 * DMA_MAPPING_ERROR), so that exactly that window of the pool is free.
 *
 * Return: 0, or -ENOSPC if no window is covered whole.
 */
static int pvbh_free_window(struct pvbh_state *s, u64 bytes)
{
	unsigned int i, j, n, want = bytes / PIECE;

	for (i = 0; i < s->nmapped; i++) {
		u64 base = s->bus[i] & ~(bytes - 1);

		for (j = 0, n = 0; j < s->nmapped; j++)
			if (s->bus[j] - base < bytes)
				n++;
		if (n != want)
			continue;
		for (j = 0; j < s->nmapped; j++) {
			if (s->bus[j] - base >= bytes)
				continue;
			dma_unmap_page(s->dev, s->bus[j], PIECE, DMA_TO_DEVICE);
			s->bus[j] = DMA_MAPPING_ERROR;
		}
		pr_info("%s: window %#llx..%#llx given back: free\n",
			dev_name(s->dev), base, base + bytes - 1);
		return 0;
	}
	return -ENOSPC;
}

static int __init pvbh_init(void)
{
	unsigned long long bytes;
	char *end;
	int ret;

	if (!target || !*target || !size || !*size) {
		pr_err("dev= and size= are required\n");
		return -EINVAL;
	}
	bytes = memparse(size, &end);
	if ((*end && strcmp(end, "\n")) || !bytes || bytes > MAX_HOLD) {
		pr_err("size=%s: want 1 byte to 1 GiB (K/M/G suffix allowed)\n",
		       size);
		return -EINVAL;
	}
	st.dev = bus_find_device_by_name(&pci_bus_type, NULL, target);
	if (!st.dev) {
		pr_err("dev=%s: no such PCI device\n", target);
		return -ENODEV;
	}
	st.npieces = DIV_ROUND_UP(bytes, PIECE);
	ret = -ENOMEM;
	st.pages = kvcalloc(DIV_ROUND_UP(st.npieces, PER_PAGE),
			    sizeof(*st.pages), GFP_KERNEL);
	if (!st.pages)
		goto err;
	st.bus = kvcalloc(st.npieces, sizeof(*st.bus), GFP_KERNEL);
	if (!st.bus)
		goto err;
	ret = pvbh_map_all(&st);
	if (ret)
		goto err;
	if (!st.nmapped) {
		pr_err("%s: not a byte could be mapped\n", dev_name(st.dev));
		ret = -ENOSPC;
		goto err;
	}
	held = (unsigned long)st.nmapped * PIECE;
	if (window && *window) {
		u64 w = memparse(window, &end);

		if (*end || !is_power_of_2(w) || w < PIECE || w > SZ_64M ||
		    st.nmapped > 65536) {
			pr_err("window=%s: want a power of two from 2K to 64M, and at most 65536 pieces held\n",
			       window);
			ret = -EINVAL;
			goto err;
		}
		ret = pvbh_free_window(&st, w);
		if (ret) {
			pr_err("%s: no aligned %llu-byte window is held whole\n",
			       dev_name(st.dev), w);
			goto err;
		}
		held -= w;
	}
	pr_info("%s: holding %lu bytes of bounce pool in %u mappings of %u bytes (asked %llu)\n",
		dev_name(st.dev), held, st.nmapped, PIECE, bytes);
	return 0;

err:
	pvbh_release(&st);
	return ret;
}

static void __exit pvbh_exit(void)
{
	pr_info("%s: releasing %lu bytes\n", dev_name(st.dev), held);
	pvbh_release(&st);
}

module_init(pvbh_init);
module_exit(pvbh_exit);
MODULE_DESCRIPTION("pvbounce test helper: holds a device's bounce pool full until rmmod");
MODULE_LICENSE("GPL");
