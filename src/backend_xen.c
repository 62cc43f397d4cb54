// SPDX-License-Identifier: GPL-2.0
/*
 * Xen PV backend: on a PV guest the guest's pseudo-physical frames (pfn) are
 * not the machine frames (mfn) a device addresses.  Bus addresses are found
 * through the guest's p2m, and bus-contiguous memory is made by trading the
 * guest frames of a buddy block for one machine-contiguous extent with
 * XENMEM_exchange, the way arch/x86/xen/mmu_pv.c makes swiotlb-xen's pool,
 * but with hypercall inlines only: the kernel exports neither
 * xen_create_contiguous_region() nor set_phys_to_machine().
 *
 * Making a chunk contiguous (chunk_alloc), for 2^order frames:
 *
 *   pfn:      p      p+1    p+2   ...        (the buddy block, unchanged)
 *   before:   m7     m3     m9    ...        (whatever Xen gave us)
 *   1. zap:   direct-map PTEs cleared, p2m entries INVALID_P2M_ENTRY
 *   2. XENMEM_exchange  in: m7, m3, m9, ... (2^order extents of order 0)
 *                      out: one extent of order @order, below 2^bits;
 *                           we pass p, Xen returns M and sets the M2P
 *   3. remap: PTE of p+i -> M+i (same attributes as before), p2m p+i = M+i
 *   4. flush every CPU's TLB
 *
 * Giving it back (chunk_free) runs the same steps in the other direction
 * (address_bits 0), in batches of order-0 extents so that it needs neither
 * a scratch allocation nor an order the hypervisor might refuse.
 *
 * Nothing here sleeps: every step is a hypercall, the only allocation (the
 * exchange's input list) uses the caller's gfp, and all scratch state is
 * per call, so no lock is needed (mmu_pv.c's xen_reservation_lock guards
 * its shared static frame list and per-CPU multicall buffer, neither of
 * which is used here).  The frames touched belong to a block this code has
 * just allocated or is about to free, so no one else maps or reads them.
 */

#include <linux/bitops.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <asm/pgtable.h>
#include <asm/xen/hypercall.h>
#include <asm/xen/hypervisor.h>

#include <xen/xen.h>
#include <xen/page.h>
#include <xen/interface/xen.h>
#include <xen/interface/memory.h>

#include <pvbounce/backend.h>

/* debugfs fail/xen_exchange: the Nth XENMEM_exchange from now fails. */
u32 pvb_fail_xen_exchange;

#if IS_ENABLED(CONFIG_XEN_PV)

/* Multicall entries per hypercall (64 bytes each, on the stack). */
#define MC_BATCH	8
/* Frames given back per XENMEM_exchange by chunk_free. */
#define FREE_BATCH	16

/* PTE bits the hardware may change behind our back. */
#define PTE_AD_BITS	((pteval_t)(_PAGE_ACCESSED | _PAGE_DIRTY))

/**
 * pvb_xen_phys_to_bus() - machine address of a pseudo-physical address.
 * @phys: address in this guest.
 *
 * Return: the bus (machine) address, or DMA_MAPPING_ERROR if the frame has
 * no machine frame.
 */
dma_addr_t pvb_xen_phys_to_bus(phys_addr_t phys)
{
	unsigned long mfn = pfn_to_mfn(PHYS_PFN(phys));

	if (mfn == INVALID_P2M_ENTRY)
		return DMA_MAPPING_ERROR;
	return ((dma_addr_t)mfn << PAGE_SHIFT) | offset_in_page(phys);
}

static phys_addr_t xen_bus_to_phys(dma_addr_t bus)
{
	unsigned long pfn = mfn_to_pfn(PHYS_PFN(bus));

	if (pfn == ~0UL)
		return ~(phys_addr_t)0;
	return PFN_PHYS(pfn) | offset_in_page(bus);
}

/**
 * pvb_xen_range_ok() - is a range machine-contiguous and reachable?
 * @phys: start, pseudo-physical.
 * @size: bytes.
 * @mask: highest machine address allowed.
 *
 * Return: true if the range is non-empty, does not wrap, its frames are
 * machine-contiguous and its last machine byte is at or below @mask.
 */
bool pvb_xen_range_ok(phys_addr_t phys, size_t size, u64 mask)
{
	unsigned long first = PHYS_PFN(phys), last, pfn, mfn0;
	phys_addr_t end;

	if (!size || phys + size - 1 < phys)
		return false;
	end = phys + size - 1;
	last = PHYS_PFN(end);

	mfn0 = pfn_to_mfn(first);
	if (mfn0 == INVALID_P2M_ENTRY)
		return false;
	for (pfn = first + 1; pfn <= last; pfn++)
		if (pfn_to_mfn(pfn) != mfn0 + (pfn - first))
			return false;

	return ((((u64)mfn0 + (last - first)) << PAGE_SHIFT) |
		offset_in_page(end)) <= mask;
}

/**
 * pvb_xen_direct_ok() - may a range go to a device as it is?
 * @phys: start, pseudo-physical.
 * @size: bytes.
 * @mask: highest machine address allowed.
 * @boundary: the device's segment boundary mask (dma_get_seg_boundary()).
 *
 * pvb_xen_range_ok(), and the machine range crosses no multiple of
 * @boundary + 1.  The block layer keeps a segment inside the boundary in
 * pseudo-physical terms, and merges pages whose frames are
 * machine-contiguous: a segment can then cross the boundary in machine
 * address, which is what the device sees (swiotlb-xen has the same gap).
 *
 * Return: true if it may; false: bounce it.
 */
bool pvb_xen_direct_ok(phys_addr_t phys, size_t size, u64 mask, u64 boundary)
{
	u64 bus;

	if (!pvb_xen_range_ok(phys, size, mask))
		return false;
	bus = pvb_xen_phys_to_bus(phys);
	return !((bus ^ (bus + size - 1)) & ~boundary);
}

/*
 * Point the direct-map PTEs and p2m entries of frames @pfn .. @pfn + @n - 1
 * at machine frames: @mfns[i] if @mfns is given, else @first_mfn + i; or
 * zap them (PTE cleared, p2m invalid) when @mfns is NULL and @first_mfn is
 * INVALID_P2M_ENTRY.  @flags are the PTE attribute bits to use.  No TLB
 * flush: callers finish with flush_all().
 *
 * Return: 0, or -EIO if Xen refused an update (which ones is not known:
 * a multicall carries on past a failed entry).
 */
static int set_frames(unsigned long pfn, unsigned long n, pteval_t flags,
		      const xen_pfn_t *mfns, unsigned long first_mfn)
{
	struct multicall_entry mc[MC_BATCH];
	unsigned long done = 0, i, mfn;
	unsigned int k, b;
	int ret = 0, rc;
	pte_t pte;

	while (done < n) {
		b = min_t(unsigned long, n - done, MC_BATCH);
		for (k = 0; k < b; k++) {
			i = done + k;
			mfn = mfns ? mfns[i] :
			      first_mfn == INVALID_P2M_ENTRY ? first_mfn :
			      first_mfn + i;
			if (mfn == INVALID_P2M_ENTRY)
				pte = __pte_ma(0);
			else
				pte = __pte_ma(((pteval_t)mfn << PAGE_SHIFT) |
					       flags);
			/*
			 * MULTI_update_va_mapping() by hand: the inline fires
			 * a tracepoint that is not exported to modules.
			 */
			mc[k].op = __HYPERVISOR_update_va_mapping;
			mc[k].args[0] = (unsigned long)__va(PFN_PHYS(pfn + i));
			mc[k].args[1] = pte_val_ma(pte);
			mc[k].args[2] = UVMF_NONE;
			if (xen_safe_write_ulong(xen_p2m_addr + pfn + i, mfn)) {
				pr_err("xen: cannot write p2m entry of pfn %#lx\n",
				       pfn + i);
				ret = -EIO;
			}
		}
		rc = HYPERVISOR_multicall(mc, b);
		if (rc) {
			pr_err("xen: multicall of %u PTE updates failed: %d\n",
			       b, rc);
			ret = -EIO;
		}
		for (k = 0; !rc && k < b; k++) {
			if (!mc[k].result)
				continue;
			pr_err("xen: PTE update of pfn %#lx failed: %ld\n",
			       pfn + done + k, (long)mc[k].result);
			ret = -EIO;
		}
		done += b;
	}
	return ret;
}

/* Flush every CPU's TLB (the PTE updates above were made with UVMF_NONE). */
static int flush_all(void)
{
	struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_ALL };
	int rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);

	if (rc)
		pr_err("xen: TLB flush failed: %d\n", rc);
	return rc;
}

/*
 * Xen sets the M2P of frames it hands to a PV guest through XENMEM_exchange
 * (entry M + i says pfn p + i).  Check it, and repair what is not so.
 *
 * Return: 0, or -EIO if an entry was wrong and could not be repaired.
 */
static int check_m2p(unsigned long pfn, unsigned long mfn, unsigned long n)
{
	struct mmu_update u;
	unsigned long i;
	int rc;

	for (i = 0; i < n; i++) {
		if (mfn_to_pfn_no_overrides(mfn + i) == pfn + i)
			continue;
		pr_warn_once("xen: M2P of mfn %#lx is not pfn %#lx after exchange; setting it\n",
			     mfn + i, pfn + i);
		u.ptr = PFN_PHYS((u64)mfn + i) | MMU_MACHPHYS_UPDATE;
		u.val = pfn + i;
		rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
		if (rc) {
			pr_err("xen: M2P update of mfn %#lx failed: %d\n",
			       mfn + i, rc);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Read the current machine frames of @pfn .. @pfn + @n - 1 into @mfns and
 * the direct-map PTE attributes they share into @flags.
 *
 * Return: 0, or -EIO (logged) if a frame is not an ordinary page of ours
 * mapped by a 4 KiB direct-map PTE with the same attributes as the first.
 */
static int read_frames(unsigned long pfn, unsigned long n, xen_pfn_t *mfns,
		       pteval_t *flags)
{
	unsigned long i, raw;
	unsigned int level;
	pteval_t f;
	pte_t *ptep;

	if (pfn + n > xen_p2m_size) {
		pr_err("xen: pfn %#lx+%lu beyond the p2m (%lu entries)\n",
		       pfn, n, xen_p2m_size);
		return -EIO;
	}
	for (i = 0; i < n; i++) {
		raw = __pfn_to_mfn(pfn + i);
		if (raw == INVALID_P2M_ENTRY ||
		    (raw & (FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))) {
			pr_err("xen: pfn %#lx has no frame of its own (p2m %#lx)\n",
			       pfn + i, raw);
			return -EIO;
		}
		mfns[i] = raw;

		ptep = lookup_address((unsigned long)__va(PFN_PHYS(pfn + i)),
				      &level);
		if (!ptep || level != PG_LEVEL_4K ||
		    !(pte_val_ma(*ptep) & _PAGE_PRESENT) ||
		    pte_mfn(*ptep) != raw) {
			pr_err("xen: direct map of pfn %#lx is not a 4K PTE to mfn %#lx\n",
			       pfn + i, raw);
			return -EIO;
		}
		f = pte_val_ma(*ptep) & ~XEN_PTE_MFN_MASK;
		if (!i) {
			*flags = f | PTE_AD_BITS;
		} else if ((f | PTE_AD_BITS) != *flags) {
			pr_err("xen: direct map attributes differ inside pfn %#lx+%lu\n",
			       pfn, n);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Trade 2^@order machine-contiguous frames at @mfn, mapped at @pfn, for
 * ordinary ones (address_bits 0), FREE_BATCH frames per exchange.  Frames
 * Xen would not take back stay mapped as they were.
 *
 * Return: number of frames given back, or -EIO if a mapping could not be
 * rebuilt (the pages must then not be reused).
 */
static long give_back(unsigned long pfn, unsigned long mfn,
		      unsigned int order, pteval_t flags)
{
	xen_pfn_t in[FREE_BATCH], out[FREE_BATCH];
	struct xen_memory_exchange x;
	unsigned long n = 1UL << order, done, i, got;
	unsigned int b;
	long given = 0;
	int rc, ret = 0;

	for (done = 0; done < n; done += b) {
		b = min_t(unsigned long, n - done, FREE_BATCH);
		for (i = 0; i < b; i++) {
			in[i] = mfn + done + i;
			out[i] = pfn + done + i;
		}
		if (set_frames(pfn + done, b, flags, NULL, INVALID_P2M_ENTRY)) {
			/* Nothing given to Xen yet: put the batch back. */
			if (set_frames(pfn + done, b, flags, NULL, mfn + done))
				ret = -EIO;
			break;
		}

		memset(&x, 0, sizeof(x));
		set_xen_guest_handle(x.in.extent_start, in);
		x.in.nr_extents = b;
		x.in.domid = DOMID_SELF;
		set_xen_guest_handle(x.out.extent_start, out);
		x.out.nr_extents = b;
		x.out.domid = DOMID_SELF;
		rc = HYPERVISOR_memory_op(XENMEM_exchange, &x);
		got = min_t(unsigned long, x.nr_exchanged, b);

		/* The first @got were traded (out[] has their new frames). */
		if (set_frames(pfn + done, got, flags, out, 0) ||
		    set_frames(pfn + done + got, b - got, flags, in + got, 0))
			ret = -EIO;
		for (i = 0; i < got; i++)
			if (check_m2p(pfn + done + i, out[i], 1))
				ret = -EIO;
		given += got;
		if (ret)
			break;
		if (rc || got != b) {
			pr_err("xen: XENMEM_exchange giving back %u frames returned %d, %lu exchanged (order %u chunk at mfn %#lx)\n",
			       b, rc, got, order, mfn);
			break;
		}
	}
	if (flush_all())
		ret = -EIO;
	return ret ? ret : given;
}

static int xen_chunk_alloc(unsigned int order, u64 mask, gfp_t gfp,
			   struct pvb_chunk *c)
{
	unsigned long n = 1UL << order, pfn, mfn;
	struct xen_memory_exchange x;
	unsigned int bits;
	struct page *page;
	xen_pfn_t *mfns;
	pteval_t flags;
	gfp_t lgfp;
	int rc, ret;
	long given;

	/* Largest 2^bits - 1 not above @mask; 0 tells Xen "no limit". */
	bits = mask == U64_MAX ? 64 : ilog2(mask + 1);
	if (order > PVB_MAX_PAGE_ORDER || bits <= PAGE_SHIFT + order) {
		pr_err_ratelimited("xen: cannot make an order %u chunk below mask %#llx\n",
				   order, mask);
		return -EINVAL;
	}
	if (bits >= 64)
		bits = 0;

	/*
	 * The zone says nothing about machine addresses here; stay out of the
	 * scarce DMA zones and of movable memory (the frames must stay put).
	 */
	gfp &= ~(__GFP_HIGHMEM | __GFP_DMA | __GFP_DMA32 | __GFP_MOVABLE);
	page = alloc_pages(gfp | __GFP_ZERO | __GFP_NOWARN, order);
	if (!page)
		return -ENOMEM;
	pfn = page_to_pfn(page);

	lgfp = (gfp & (GFP_KERNEL | __GFP_HIGH)) | __GFP_NOWARN;
	mfns = kmalloc_array(n, sizeof(*mfns), lgfp);
	if (!mfns) {
		ret = -ENOMEM;
		goto err_pages;
	}

	ret = read_frames(pfn, n, mfns, &flags);
	if (ret)
		goto err_mfns;

	/* 1. Zap: the frames leave our PTEs and p2m before Xen takes them. */
	if (set_frames(pfn, n, flags, NULL, INVALID_P2M_ENTRY))
		goto err_restore;

	/* 2. Exchange 2^order frames for one extent of that order. */
	memset(&x, 0, sizeof(x));
	set_xen_guest_handle(x.in.extent_start, mfns);
	x.in.nr_extents = n;
	x.in.domid = DOMID_SELF;
	mfn = pfn;	/* in: the guest frame to populate; out: its mfn */
	set_xen_guest_handle(x.out.extent_start, &mfn);
	x.out.nr_extents = 1;
	x.out.extent_order = order;
	x.out.address_bits = bits;
	x.out.domid = DOMID_SELF;
	if (pvb_fail_countdown(&pvb_fail_xen_exchange)) {
		pr_warn_ratelimited("xen: XENMEM_exchange failed as asked by fail/xen_exchange (order %u, address bits %u)\n",
				    order, bits ? : 64);
		ret = -ENOMEM;
		goto err_restore;
	}
	rc = HYPERVISOR_memory_op(XENMEM_exchange, &x);

	if (x.nr_exchanged == 0) {
		/* Xen handed the stolen frames back unchanged, M2P included. */
		if (rc == -EPERM)
			pr_warn_ratelimited("xen: XENMEM_exchange refused an order %u extent (%lu KiB): above the largest this domain may exchange (Xen's memop-max-order: 9, 2 MiB, for a domU by default)\n",
					    order, (PAGE_SIZE << order) >> 10);
		else
			pr_warn_ratelimited("xen: XENMEM_exchange for an order %u extent below 2^%u failed: %d\n",
					    order, bits ? : 64, rc);
		/*
		 * -ENOMEM: nothing free there; -EPERM: order above Xen's
		 * memop-max-order (9 for a domU with a passed-through device).
		 * A smaller order may succeed in both cases.
		 */
		ret = (rc == -ENOMEM || rc == -EPERM) ? -ENOMEM : -EIO;
		goto err_restore;
	}
	if (x.nr_exchanged != n || rc) {
		/* A single out extent is all or nothing: this is not Xen. */
		pr_err("xen: XENMEM_exchange returned %d with %lu of %lu frames exchanged; leaking order %u block at pfn %#lx\n",
		       rc, (unsigned long)x.nr_exchanged, n, order, pfn);
		ret = -EIO;
		goto err_leak;
	}

	/* 3. Map the new extent where the old frames were; 4. flush. */
	if (set_frames(pfn, n, flags, NULL, mfn) || flush_all() ||
	    check_m2p(pfn, mfn, n)) {
		pr_err("xen: cannot map the exchanged extent at mfn %#lx; leaking order %u block at pfn %#lx\n",
		       mfn, order, pfn);
		ret = -EIO;
		goto err_leak;
	}
	kfree(mfns);

	if ((mfn & (n - 1)) ||
	    PFN_PHYS((u64)mfn + n) - 1 > mask) {
		pr_err("xen: Xen returned mfn %#lx for an order %u extent below 2^%u; giving it back\n",
		       mfn, order, bits ? : 64);
		ret = -EIO;
		goto err_give_back;
	}

	/* The new frames hold whatever their previous owner left. */
	memset(page_address(page), 0, PAGE_SIZE << order);

	c->page = page;
	c->order = order;
	c->bus = PFN_PHYS((dma_addr_t)mfn);
	return 0;

err_give_back:
	given = give_back(pfn, mfn, order, flags);
	if (given < 0)
		goto err_leak_pages;
	__free_pages(page, order);
	return ret;
err_restore:
	if (ret == 0)
		ret = -EIO;
	if (set_frames(pfn, n, flags, mfns, 0) || flush_all()) {
		pr_err("xen: cannot restore the mapping of pfn %#lx+%lu; leaking them\n",
		       pfn, n);
		goto err_leak;
	}
err_mfns:
	kfree(mfns);
err_pages:
	__free_pages(page, order);
	return ret;
err_leak:
	kfree(mfns);
err_leak_pages:
	return ret;
}

static void xen_chunk_free(struct pvb_chunk *c)
{
	unsigned long n = 1UL << c->order, pfn = page_to_pfn(c->page);
	unsigned long mfn = PHYS_PFN(c->bus);
	unsigned int level;
	pte_t *ptep;
	long given;

	ptep = lookup_address((unsigned long)page_address(c->page), &level);
	if (WARN_ON_ONCE(!ptep || level != PG_LEVEL_4K ||
			 pfn_to_mfn(pfn) != mfn)) {
		pr_err("xen: chunk at pfn %#lx is not mapped as allocated; leaking it\n",
		       pfn);
		return;
	}

	/* Leave nothing of ours in frames that go to other domains. */
	memset(page_address(c->page), 0, PAGE_SIZE << c->order);

	given = give_back(pfn, mfn, c->order,
			  (pte_val_ma(*ptep) & ~XEN_PTE_MFN_MASK) |
			  PTE_AD_BITS);
	if (given < 0) {
		pr_err("xen: mapping of order %u chunk at pfn %#lx (mfn %#lx) broken while giving it back; leaking %lu pages\n",
		       c->order, pfn, mfn, n);
		return;
	}
	if (given != n)
		pr_err("xen: Xen took back %ld of %lu frames of the chunk at mfn %#lx; the guest keeps the rest\n",
		       given, n, mfn);
	__free_pages(c->page, c->order);
}

/**
 * pvb_backend_xen_usable() - can the xen backend run here?
 *
 * Return: true on a Xen PV guest.
 */
bool pvb_backend_xen_usable(void)
{
	return xen_pv_domain();
}

#else /* !CONFIG_XEN_PV: a kernel that cannot be a PV guest */

dma_addr_t pvb_xen_phys_to_bus(phys_addr_t phys)
{
	return phys;
}

static phys_addr_t xen_bus_to_phys(dma_addr_t bus)
{
	return bus;
}

bool pvb_xen_range_ok(phys_addr_t phys, size_t size, u64 mask)
{
	return false;
}

bool pvb_xen_direct_ok(phys_addr_t phys, size_t size, u64 mask, u64 boundary)
{
	return false;
}

static int xen_chunk_alloc(unsigned int order, u64 mask, gfp_t gfp,
			   struct pvb_chunk *c)
{
	return -ENODEV;
}

static void xen_chunk_free(struct pvb_chunk *c)
{
}

/**
 * pvb_backend_xen_usable() - can the xen backend run here?
 *
 * Return: false: this kernel was built without Xen PV support.
 */
bool pvb_backend_xen_usable(void)
{
	return false;
}

#endif /* CONFIG_XEN_PV */

DEFINE_STATIC_KEY_FALSE(pvb_backend_xen_key);

const struct pvb_backend pvb_backend_xen = {
	.name		= "xen",
	.phys_to_bus	= pvb_xen_phys_to_bus,
	.bus_to_phys	= xen_bus_to_phys,
	.range_ok	= pvb_xen_range_ok,
	.chunk_alloc	= xen_chunk_alloc,
	.chunk_free	= xen_chunk_free,
};
