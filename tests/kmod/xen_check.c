// SPDX-License-Identifier: GPL-2.0
/*
 * Check, without pvbounce's help, that memory pvbounce calls bus-contiguous
 * really is so on a Xen PV guest.  For each page of [cpu, cpu + size):
 *
 *   live PTE of the CPU address --> machine frame the CPU really uses
 *   guest p2m[pfn]              --> must be that frame (no foreign/identity)
 *   Xen's M2P[frame]            --> must be pfn
 *   frame                       --> must be (bus >> PAGE_SHIFT) + i
 *
 * and then the data: a pattern written through the CPU address must read
 * back through a second mapping made straight from the machine frame number
 * the bus address names (a scratch page's PTE pointed at it with
 * update_va_mapping, so no p2m translation is involved), and a pattern
 * written there must read back through the CPU address.  The original
 * contents are restored.  Process context only (it vmallocs).
 */

#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include <asm/pgtable.h>
#include <asm/xen/hypercall.h>
#include <asm/xen/hypervisor.h>

#include <xen/xen.h>
#include <xen/page.h>
#include <xen/interface/memory.h>
#include <xen/interface/xen.h>

#include "xen_check.h"

/**
 * pvbt_xen_active() - is this a Xen PV guest, where the Xen checks apply?
 *
 * Return: true on a Xen PV guest.
 */
bool pvbt_xen_active(void)
{
	return IS_ENABLED(CONFIG_XEN_PV) && xen_pv_domain();
}

#if IS_ENABLED(CONFIG_XEN_PV)

/* The machine frame the live page tables map @va to, or ~0UL. */
static unsigned long pte_frame(unsigned long va)
{
	unsigned int level;
	pte_t *ptep = lookup_address(va, &level);

	if (!ptep || level != PG_LEVEL_4K ||
	    !(pte_val_ma(*ptep) & _PAGE_PRESENT))
		return ~0UL;
	return pte_mfn(*ptep);
}

/* The pseudo-physical frame of a kernel address, or ~0UL. */
static unsigned long va_pfn(unsigned long va)
{
	if (is_vmalloc_addr((void *)va))
		return vmalloc_to_pfn((void *)va);
	if (virt_addr_valid((void *)va))
		return PHYS_PFN(__pa(va));
	return ~0UL;
}

/* Frame by frame through the p2m, M2P and page tables. */
static int check_frames(unsigned long start, unsigned long npages,
			unsigned long bus_mfn, char *why, size_t len)
{
	unsigned long i, va, pfn, mfn, raw, m2p;

	for (i = 0; i < npages; i++) {
		va = start + i * PAGE_SIZE;
		mfn = pte_frame(va);
		if (mfn == ~0UL) {
			snprintf(why, len, "page %lu (%#lx): no 4K PTE", i, va);
			return -EINVAL;
		}
		pfn = va_pfn(va);
		if (pfn == ~0UL || pfn >= xen_p2m_size) {
			snprintf(why, len, "page %lu (%#lx): pfn %#lx outside the p2m",
				 i, va, pfn);
			return -EINVAL;
		}
		raw = READ_ONCE(xen_p2m_addr[pfn]);
		if (raw == INVALID_P2M_ENTRY ||
		    (raw & (FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))) {
			snprintf(why, len, "page %lu: p2m[%#lx] = %#lx is not a frame of ours",
				 i, pfn, raw);
			return -EINVAL;
		}
		if (raw != mfn) {
			snprintf(why, len, "page %lu: p2m[%#lx] = %#lx but the PTE maps mfn %#lx",
				 i, pfn, raw, mfn);
			return -EINVAL;
		}
		m2p = mfn_to_pfn_no_overrides(mfn);
		if (m2p != pfn) {
			snprintf(why, len, "page %lu: M2P[%#lx] = %#lx, not pfn %#lx",
				 i, mfn, m2p, pfn);
			return -EINVAL;
		}
		if (mfn != bus_mfn + i) {
			snprintf(why, len, "page %lu: mfn %#lx, but the bus address names mfn %#lx%s",
				 i, mfn, bus_mfn + i,
				 i ? " (not machine-contiguous)" : "");
			return -EINVAL;
		}
	}
	return 0;
}

/* Point the scratch page's PTE at machine frame @mfn (read-write). */
static int map_frame(unsigned long scratch, pteval_t flags, unsigned long mfn)
{
	return HYPERVISOR_update_va_mapping(scratch,
			__pte_ma(((pteval_t)mfn << PAGE_SHIFT) | flags),
			UVMF_INVLPG | UVMF_ALL);
}

static void fill(u8 *p, size_t n, u64 seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)((seed >> ((i & 7) * 8)) + i);
}

/* Data through the CPU address against data through the machine frame. */
static int check_data(void *cpu, size_t size, unsigned long bus_mfn,
		      char *why, size_t len)
{
	unsigned long start = (unsigned long)cpu & PAGE_MASK, scratch, i;
	unsigned long off = offset_in_page(cpu), n, done = 0;
	pteval_t orig, flags;
	unsigned int level;
	u8 *save, *want;
	pte_t *ptep;
	void *vm;
	int ret = 0, rc;

	vm = vmalloc(PAGE_SIZE);
	save = kmalloc(PAGE_SIZE, GFP_KERNEL);
	want = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!vm || !save || !want) {
		snprintf(why, len, "out of memory for the data check");
		ret = -ENOMEM;
		goto out_free;
	}
	scratch = (unsigned long)vm;
	ptep = lookup_address(scratch, &level);
	if (!ptep || level != PG_LEVEL_4K) {
		snprintf(why, len, "scratch page has no 4K PTE");
		ret = -EIO;
		goto out_free;
	}
	orig = pte_val_ma(*ptep);
	flags = orig & ~XEN_PTE_MFN_MASK;

	for (i = 0; done < size; i++, off = 0) {
		n = min_t(unsigned long, PAGE_SIZE - off, size - done);
		rc = map_frame(scratch, flags, bus_mfn + i);
		if (rc) {
			snprintf(why, len, "cannot map mfn %#lx: %d",
				 bus_mfn + i, rc);
			ret = -EIO;
			break;
		}
		memcpy(save, (u8 *)start + i * PAGE_SIZE + off, n);

		/* CPU writes, the machine frame must hold it. */
		fill(want, n, get_random_u64());
		memcpy((u8 *)start + i * PAGE_SIZE + off, want, n);
		if (memcmp((u8 *)scratch + off, want, n)) {
			snprintf(why, len, "page %lu: data written by the CPU is not in mfn %#lx",
				 i, bus_mfn + i);
			ret = -EINVAL;
		}

		/* The machine frame is written ("device"), the CPU must see it. */
		fill(want, n, get_random_u64());
		memcpy((u8 *)scratch + off, want, n);
		if (!ret && memcmp((u8 *)start + i * PAGE_SIZE + off, want, n)) {
			snprintf(why, len, "page %lu: data written to mfn %#lx is not seen by the CPU",
				 i, bus_mfn + i);
			ret = -EINVAL;
		}

		memcpy((u8 *)start + i * PAGE_SIZE + off, save, n);
		done += n;
		if (ret)
			break;
	}

	rc = HYPERVISOR_update_va_mapping(scratch, __pte_ma(orig),
					  UVMF_INVLPG | UVMF_ALL);
	if (rc) {
		/* The vmalloc page is now unusable: leak rather than free. */
		pr_err("xen_check: cannot restore scratch PTE: %d\n", rc);
		vm = NULL;
		if (!ret) {
			snprintf(why, len, "cannot restore scratch PTE: %d", rc);
			ret = -EIO;
		}
	}
out_free:
	kfree(want);
	kfree(save);
	vfree(vm);
	return ret;
}

/**
 * pvbt_xen_check_range() - verify bounce memory independently of pvbounce.
 * @cpu: kernel address of the first byte (direct map or vmalloc).
 * @bus: bus (machine) address pvbounce gave for @cpu.
 * @size: bytes to check (> 0).
 * @why: where to describe the first failure.
 * @len: size of @why.
 *
 * Checks frame by frame that the live PTEs, the guest's p2m and Xen's M2P
 * agree, that the frames are machine-contiguous from the frame @bus names
 * (with the same offset in page), and that data crosses between the CPU
 * mapping and a mapping of those machine frames in both directions.  The
 * contents are left as they were.  Process context.
 *
 * Return: 0 if all holds; -EINVAL with @why set if a check fails; -ENODEV
 * off a Xen PV guest; -ENOMEM or -EIO if the check itself could not run.
 */
int pvbt_xen_check_range(void *cpu, dma_addr_t bus, size_t size,
			 char *why, size_t len)
{
	unsigned long start = (unsigned long)cpu & PAGE_MASK;
	unsigned long npages;
	int ret;

	if (len)
		why[0] = '\0';
	if (!pvbt_xen_active()) {
		snprintf(why, len, "not a Xen PV guest");
		return -ENODEV;
	}
	if (!size) {
		snprintf(why, len, "empty range");
		return -EINVAL;
	}
	if (offset_in_page(cpu) != offset_in_page(bus)) {
		snprintf(why, len, "offset in page differs: cpu %p, bus %pad",
			 cpu, &bus);
		return -EINVAL;
	}
	npages = PFN_UP(offset_in_page(cpu) + size);

	ret = check_frames(start, npages, PHYS_PFN(bus), why, len);
	if (ret)
		return ret;
	return check_data(cpu, size, PHYS_PFN(bus), why, len);
}

/**
 * pvbt_xen_phys_to_bus() - bus address of a guest address, read off the p2m.
 * @phys: pseudo-physical address.
 *
 * The kernel's own lookup (__pfn_to_mfn(), not pvbounce's): the linear p2m
 * list, and where it has no entry the p2m tree, which marks identity ranges
 * (dom0's view of the host's MMIO) and says so for frames beyond its end.
 *
 * Return: the machine address (same offset in page), or DMA_MAPPING_ERROR
 * if the p2m has no frame for it.
 */
dma_addr_t pvbt_xen_phys_to_bus(phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys), raw;

	if (!pvbt_xen_active())
		return DMA_MAPPING_ERROR;
	raw = __pfn_to_mfn(pfn);
	if (raw == INVALID_P2M_ENTRY)
		return DMA_MAPPING_ERROR;
	raw &= ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT);
	return PFN_PHYS((dma_addr_t)raw) | offset_in_page(phys);
}

/**
 * pvbt_xen_dev_view() - the memory a bus address names, as the device sees it.
 * @bus: bus (machine) address.
 * @size: bytes the caller will look at (> 0).
 *
 * The Xen counterpart of phys_to_virt(bus) on bare metal, for a test that
 * plays the device: Xen's M2P names the guest frames of the machine frames
 * [@bus, @bus + @size), and the result is used only if the guest's p2m maps
 * them back to the same machine frames, the live direct-map PTEs point at
 * those machine frames, and the guest frames are consecutive (true inside a
 * pvbounce chunk or coherent allocation).  Reads and writes through the
 * pointer then reach exactly the machine bytes a device would.
 *
 * Return: a kernel pointer to the byte at @bus, or NULL if the range is not
 * guest memory mapped that way (or off a Xen PV guest).
 */
void *pvbt_xen_dev_view(dma_addr_t bus, size_t size)
{
	unsigned long mfn0 = PHYS_PFN(bus), pfn0, i, n;

	if (!pvbt_xen_active() || !size)
		return NULL;
	n = PFN_UP(offset_in_page(bus) + size);
	pfn0 = mfn_to_pfn_no_overrides(mfn0);
	if (pfn0 == ~0UL || pfn0 + n > xen_p2m_size)
		return NULL;
	for (i = 0; i < n; i++) {
		if (mfn_to_pfn_no_overrides(mfn0 + i) != pfn0 + i ||
		    READ_ONCE(xen_p2m_addr[pfn0 + i]) != mfn0 + i ||
		    !pfn_valid(pfn0 + i) ||
		    pte_frame((unsigned long)__va(PFN_PHYS(pfn0 + i))) != mfn0 + i)
			return NULL;
	}
	return (u8 *)__va(PFN_PHYS(pfn0)) + offset_in_page(bus);
}

/**
 * pvbt_xen_ram_last_bus() - the highest machine address of the host's RAM.
 *
 * Xen's own answer (XENMEM_maximum_ram_page: one past the highest machine
 * frame), which any PV guest may ask.
 *
 * Return: the last byte's machine address, or U64_MAX if Xen does not say
 * (or off a Xen PV guest).
 */
u64 pvbt_xen_ram_last_bus(void)
{
	long frames;

	if (!pvbt_xen_active())
		return U64_MAX;
	frames = HYPERVISOR_memory_op(XENMEM_maximum_ram_page, NULL);
	if (frames <= 0)
		return U64_MAX;
	return PFN_PHYS((u64)frames) - 1;
}

#else /* !CONFIG_XEN_PV */

u64 pvbt_xen_ram_last_bus(void)
{
	return U64_MAX;
}

dma_addr_t pvbt_xen_phys_to_bus(phys_addr_t phys)
{
	return DMA_MAPPING_ERROR;
}

void *pvbt_xen_dev_view(dma_addr_t bus, size_t size)
{
	return NULL;
}

int pvbt_xen_check_range(void *cpu, dma_addr_t bus, size_t size,
			 char *why, size_t len)
{
	snprintf(why, len, "not a Xen PV guest");
	return -ENODEV;
}

#endif /* CONFIG_XEN_PV */
