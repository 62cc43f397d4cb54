// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce slot allocator.
 *
 * Kernel-agnostic: this file includes only <linux/...> headers and is built
 * both into the module and, against the shim in tests/unit/shim, into the
 * userspace unit tests.
 *
 * Each slot knows how many free slots start at it before the next used slot
 * or the end of its segment (swiotlb's list[]): a run of n slots fits at a
 * free slot iff that count is at least n, and a run never crosses a segment.
 * Used slots know the first slot of their run, and the first slot of a run
 * records the mapping, so a search can jump over a whole used run and any
 * address inside a mapping leads back to it.
 *
 *   segment:  | free 3 2 1 | used (head h) ... | free 2 1 |
 *   slot:       i  i+1 i+2   h                   j  j+1
 *
 * Every rule is applied to bus addresses.  For a request, with
 *   A = align_mask | (SLOT - 1) [| (PAGE_SIZE - 1) if size >= PAGE_SIZE],
 *   M = A | min_align_mask,
 * the run starts at a bus address R with (R & M) == T, T = orig & min & ~A,
 * and the mapping starts at B = R + (orig & min & A): so R is aligned to
 * A + 1, (B & min) == (orig & min), and the padding before B is less than
 * A + 1 (a min_align_mask wider than A costs no padding slots).
 */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/cache.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <pvbounce/slots.h>

/*
 * struct pvb_slot - per-slot metadata.
 * @orig: original address of the mapping (run's first slot only).
 * @size: size of the mapping (run's first slot only).
 * @head: for a used slot, index of the first slot of its run.
 * @free: free slots from here to the next used slot or the segment's end;
 *	0 for a used slot.
 * @nslots: slots in the run (run's first slot only).
 * @pad: slots between the run's first slot and the one holding the
 *	mapping's bus address (run's first slot only).
 * @off: offset of the mapping's bus address inside its slot (run's first
 *	slot only).
 */
struct pvb_slot {
	u64 orig;
	size_t size;
	u32 head;
	u16 free;
	u16 nslots;
	u16 pad;
	u16 off;
};

/*
 * struct pvb_area - a run of whole segments with its own lock.
 * @lock: protects the slots of the area and the fields below.
 * @first: first slot of the area.
 * @nslots: slots in the area.
 * @used: slots in use in the area.
 * @cursor: slot where the next search starts.
 */
struct pvb_area {
	spinlock_t lock;
	unsigned int first;
	unsigned int nslots;
	unsigned int used;
	unsigned int cursor;
} ____cacheline_aligned_in_smp;

/*
 * struct pvb_fit - a validated request, in the terms the search needs.
 * @mask: M: the run's start R satisfies (R & M) == @pattern.
 * @pattern: T.
 * @bmask: boundary mask (~0 when none).
 * @len: bytes of the run (nslots * SLOT).
 * @off: B - R.
 * @nslots: slots of the run.
 */
struct pvb_fit {
	u64 mask;
	u64 pattern;
	u64 bmask;
	u64 len;
	u64 off;
	unsigned int nslots;
};

static_assert(PVB_MAX_SEG_SIZE / PVB_SLOT_SIZE <= U16_MAX);

static bool is_mask(u64 m)
{
	return !(m & (m + 1));
}

static size_t seg_bytes(const struct pvb_slots *s)
{
	return (size_t)s->seg_slots << PVB_SLOT_SHIFT;
}

static unsigned int seg_of(const struct pvb_slots *s, unsigned int idx)
{
	return idx >> s->seg_shift;
}

static u64 slot_bus(const struct pvb_slots *s, unsigned int idx)
{
	return s->segs[seg_of(s, idx)].bus +
	       ((u64)(idx & (s->seg_slots - 1)) << PVB_SLOT_SHIFT);
}

/* Area i holds segments [i * nsegs / nareas, (i + 1) * nsegs / nareas). */
static unsigned int area_first_seg(const struct pvb_slots *s, unsigned int i)
{
	return (unsigned int)((u64)i * s->nsegs / s->nareas);
}

static struct pvb_area *area_of(const struct pvb_slots *s, unsigned int idx)
{
	u64 seg = seg_of(s, idx);

	/* The largest i with area_first_seg(i) <= seg. */
	return &s->area[((seg + 1) * s->nareas - 1) / s->nsegs];
}

/*
 * Smallest run start R >= x with (R & M) == T whose run does not cross the
 * boundary; false if there is none at or below @last.  The caller has
 * checked that the boundary can be met at all ((T & bmask) + len <= bmask
 * + 1), so a crossing run can only happen when M < bmask, and then the
 * next window's first candidate fits.
 */
static bool next_start(const struct pvb_fit *f, u64 x, u64 last, u64 *r)
{
	u64 c = x + ((f->pattern - x) & f->mask);

	if (c < x)
		return false;
	if ((c ^ (c + f->len - 1)) & ~f->bmask) {
		u64 w = (c | f->bmask) + 1;

		if (!w)
			return false;
		c = w + f->pattern;
		if (c < w)
			return false;
	}
	if (c > last)
		return false;
	*r = c;
	return true;
}

/*
 * First fitting run of segment @seg whose start slot is in [@from, @to)
 * (slot indices inside that segment); -1 if none.
 */
static int seg_search(struct pvb_slots *s, unsigned int seg,
		      unsigned int from, unsigned int to,
		      const struct pvb_fit *f)
{
	unsigned int first = seg << s->seg_shift;
	u64 base = s->segs[seg].bus;
	u64 x, last, r;

	if (from >= to)
		return -1;
	x = base + ((u64)(from - first) << PVB_SLOT_SHIFT);
	last = base + min_t(u64, seg_bytes(s) - f->len,
			    (u64)(to - 1 - first) << PVB_SLOT_SHIFT);

	while (next_start(f, x, last, &r)) {
		unsigned int i = first + (unsigned int)((r - base) >> PVB_SLOT_SHIFT);
		struct pvb_slot *sl = &s->slot[i];

		if (sl->free >= f->nslots)
			return i;
		if (sl->free) {
			/* No start up to the used slot at i + free fits. */
			x = r + ((u64)sl->free << PVB_SLOT_SHIFT);
		} else {
			unsigned int h = sl->head;

			if (WARN_ON_ONCE(h > i || h + s->slot[h].nslots <= i))
				return -1;
			x = slot_bus(s, h) +
			    ((u64)s->slot[h].nslots << PVB_SLOT_SHIFT);
		}
	}
	return -1;
}

/*
 * Search a whole area from its cursor on, wrapping round once; every start
 * slot of the area is considered exactly once.
 */
static int area_search(struct pvb_slots *s, struct pvb_area *a,
		       const struct pvb_fit *f)
	__must_hold(&a->lock)
{
	unsigned int fseg = seg_of(s, a->first);
	unsigned int nsegs = a->nslots >> s->seg_shift;
	unsigned int cur = a->cursor;
	unsigned int cseg = seg_of(s, cur);
	unsigned int k;

	if (a->nslots - a->used < f->nslots)
		return -1;
	for (k = 0; k <= nsegs; k++) {
		unsigned int seg = fseg + (cseg - fseg + k) % nsegs;
		unsigned int from = seg << s->seg_shift;
		unsigned int to = from + s->seg_slots;
		int i;

		if (k == 0)
			from = cur;
		else if (k == nsegs)
			to = cur;
		i = seg_search(s, seg, from, to, f);
		if (i >= 0)
			return i;
	}
	return -1;
}

static void take_run(struct pvb_slots *s, struct pvb_area *a, unsigned int i,
		     const struct pvb_map_req *req, const struct pvb_fit *f)
	__must_hold(&a->lock)
{
	unsigned int first = i & ~(s->seg_slots - 1);
	unsigned int j;

	for (j = i; j < i + f->nslots; j++) {
		s->slot[j].free = 0;
		s->slot[j].head = i;
	}
	/* Free slots before the run now end at it. */
	for (j = i; j > first && s->slot[j - 1].free; j--)
		s->slot[j - 1].free = i - (j - 1);

	s->slot[i].orig = req->orig;
	s->slot[i].size = req->size;
	s->slot[i].nslots = f->nslots;
	s->slot[i].pad = f->off >> PVB_SLOT_SHIFT;
	s->slot[i].off = f->off & (PVB_SLOT_SIZE - 1);

	a->used += f->nslots;
	a->cursor = i + f->nslots;
	if (a->cursor >= a->first + a->nslots)
		a->cursor = a->first;
}

static void give_run(struct pvb_slots *s, struct pvb_area *a, unsigned int h)
	__must_hold(&a->lock)
{
	unsigned int first = h & ~(s->seg_slots - 1);
	unsigned int end = h + s->slot[h].nslots;
	unsigned int next = 0;
	unsigned int j;

	a->used -= s->slot[h].nslots;
	if (end < first + s->seg_slots)
		next = s->slot[end].free;
	for (j = end; j > first && (j > h || s->slot[j - 1].free); j--)
		s->slot[j - 1].free = ++next;

	s->slot[h].nslots = 0;
	s->slot[h].size = 0;
}

static void note_used(struct pvb_slots *s, unsigned int n)
{
	int used = atomic_add_return(n, &s->used);
	int hi = atomic_read(&s->hiwater);

	while (hi < used && !atomic_try_cmpxchg(&s->hiwater, &hi, used))
		;
}

/*
 * Can the request be met by some segment of the empty pool?  Only asked
 * after a failed search, so cost O(nsegs) is fine.
 */
static bool fits_empty(const struct pvb_slots *s, const struct pvb_fit *f)
{
	unsigned int seg;
	u64 r;

	for (seg = 0; seg < s->nsegs; seg++) {
		u64 base = s->segs[seg].bus;

		if (next_start(f, base, base + seg_bytes(s) - f->len, &r))
			return true;
	}
	return false;
}

static int make_fit(const struct pvb_slots *s, const struct pvb_map_req *req,
		    struct pvb_fit *f)
{
	u64 amask = req->align_mask | (PVB_SLOT_SIZE - 1);
	u64 min = req->min_align_mask;
	u64 bmask = req->boundary_mask;
	size_t seg = seg_bytes(s);

	if (!req->size || !is_mask(min) || !is_mask(req->align_mask) ||
	    !is_mask(bmask))
		return -EINVAL;
	if (!bmask)
		bmask = U64_MAX;
	if (req->size >= PAGE_SIZE)
		amask |= PAGE_SIZE - 1;

	f->mask = amask | min;
	f->pattern = req->orig & min & ~amask;
	f->bmask = bmask;
	f->off = req->orig & min & amask;
	if (req->size > seg || f->off >= seg || req->size > seg - f->off)
		return -E2BIG;
	f->nslots = DIV_ROUND_UP(f->off + req->size, PVB_SLOT_SIZE);
	f->len = (u64)f->nslots << PVB_SLOT_SHIFT;
	if (f->len - 1 > bmask || (f->pattern & bmask) > bmask - (f->len - 1))
		return -E2BIG;
	return 0;
}

static void fill_mapping(const struct pvb_slots *s, unsigned int h,
			 struct pvb_mapping *m)
{
	const struct pvb_slot *sl = &s->slot[h];
	unsigned int seg = seg_of(s, h);
	u64 delta = ((u64)(h & (s->seg_slots - 1)) << PVB_SLOT_SHIFT) +
		    ((u64)sl->pad << PVB_SLOT_SHIFT) + sl->off;

	m->bus = s->segs[seg].bus + delta;
	m->cpu = s->segs[seg].cpu ? (u8 *)s->segs[seg].cpu + delta : NULL;
	m->orig = sl->orig;
	m->size = sl->size;
	m->index = h + sl->pad;
}

static int cmp_seg_bus(const void *a, const void *b, const void *priv)
{
	const struct pvb_seg *segs = priv;
	dma_addr_t x = segs[*(const unsigned int *)a].bus;
	dma_addr_t y = segs[*(const unsigned int *)b].bus;

	return x < y ? -1 : x > y;
}

/* Segment covering @bus, or -1. */
static int seg_lookup(const struct pvb_slots *s, u64 bus)
{
	unsigned int lo = 0, hi = s->nsegs;

	/* Find the last segment (in bus order) starting at or below @bus. */
	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (s->segs[s->seg_by_bus[mid]].bus <= bus)
			lo = mid;
		else
			hi = mid;
	}
	if (bus < s->segs[s->seg_by_bus[lo]].bus ||
	    bus - s->segs[s->seg_by_bus[lo]].bus >= seg_bytes(s))
		return -1;
	return s->seg_by_bus[lo];
}

static unsigned int slot_of(const struct pvb_slots *s, unsigned int seg,
			    u64 bus)
{
	return (seg << s->seg_shift) +
	       (unsigned int)((bus - s->segs[seg].bus) >> PVB_SLOT_SHIFT);
}

/**
 * pvb_slots_init() - set up a pool over a table of segments.
 * @s: pool to initialise.
 * @segs: @nsegs segments, each @seg_size bytes (see slots.h).
 * @nsegs: number of segments, at least 1.
 * @seg_size: bytes per segment, a power of two.
 * @nareas: wanted number of areas.
 *
 * Return: 0, -EINVAL for bad geometry, -ENOMEM.
 */
int pvb_slots_init(struct pvb_slots *s, const struct pvb_seg *segs,
		   unsigned int nsegs, size_t seg_size, unsigned int nareas)
{
	u64 balign = min_t(u64, seg_size, PAGE_SIZE);
	unsigned int nslabs, i;
	int ret = -ENOMEM;

	memset(s, 0, sizeof(*s));
	if (!nsegs || !is_power_of_2(seg_size) || seg_size < PVB_SLOT_SIZE ||
	    seg_size > PVB_MAX_SEG_SIZE)
		return -EINVAL;
	if (check_mul_overflow(nsegs, (unsigned int)(seg_size >> PVB_SLOT_SHIFT),
			       &nslabs) || nslabs > S32_MAX)
		return -EINVAL;
	for (i = 0; i < nsegs; i++)
		if ((segs[i].bus & (balign - 1)) ||
		    segs[i].bus + seg_size - 1 < segs[i].bus)
			return -EINVAL;

	if (!nareas)
		nareas = 1;
	nareas = rounddown_pow_of_two(min(nareas, nsegs));

	s->nslabs = nslabs;
	s->seg_slots = seg_size >> PVB_SLOT_SHIFT;
	s->seg_shift = ilog2(s->seg_slots);
	s->nsegs = nsegs;
	s->nareas = nareas;

	s->segs = kvcalloc(nsegs, sizeof(*s->segs), GFP_KERNEL);
	if (!s->segs)
		goto err;
	memcpy(s->segs, segs, nsegs * sizeof(*segs));

	s->seg_by_bus = kvcalloc(nsegs, sizeof(*s->seg_by_bus), GFP_KERNEL);
	if (!s->seg_by_bus)
		goto err_segs;
	for (i = 0; i < nsegs; i++)
		s->seg_by_bus[i] = i;
	sort_r(s->seg_by_bus, nsegs, sizeof(*s->seg_by_bus), cmp_seg_bus,
	       NULL, s->segs);
	ret = -EINVAL;
	for (i = 1; i < nsegs; i++)
		if (s->segs[s->seg_by_bus[i]].bus - s->segs[s->seg_by_bus[i - 1]].bus <
		    seg_size)
			goto err_by_bus;

	ret = -ENOMEM;
	s->slot = kvcalloc(nslabs, sizeof(*s->slot), GFP_KERNEL);
	if (!s->slot)
		goto err_by_bus;
	for (i = 0; i < nslabs; i++)
		s->slot[i].free = s->seg_slots - (i & (s->seg_slots - 1));

	s->area = kcalloc(nareas, sizeof(*s->area), GFP_KERNEL);
	if (!s->area)
		goto err_slot;
	for (i = 0; i < nareas; i++) {
		struct pvb_area *a = &s->area[i];

		spin_lock_init(&a->lock);
		a->first = area_first_seg(s, i) << s->seg_shift;
		a->nslots = (area_first_seg(s, i + 1) << s->seg_shift) - a->first;
		a->cursor = a->first;
	}
	atomic_set(&s->used, 0);
	atomic_set(&s->hiwater, 0);
	return 0;

err_slot:
	kvfree(s->slot);
err_by_bus:
	kvfree(s->seg_by_bus);
err_segs:
	kvfree(s->segs);
err:
	memset(s, 0, sizeof(*s));
	return ret;
}

/**
 * pvb_slots_destroy() - free the pool's metadata (not the segments).
 * @s: pool; live mappings are forgotten.
 */
void pvb_slots_destroy(struct pvb_slots *s)
{
	kfree(s->area);
	kvfree(s->slot);
	kvfree(s->seg_by_bus);
	kvfree(s->segs);
	memset(s, 0, sizeof(*s));
}

/**
 * pvb_slots_alloc() - take a run of slots for a mapping.
 * @s: pool.
 * @req: the request.
 * @cpu_hint: area to search first; every other area is tried before failing.
 * @m: filled in on success.
 *
 * Return: 0, -E2BIG, -EINVAL or -ENOMEM (see slots.h).
 */
int pvb_slots_alloc(struct pvb_slots *s, const struct pvb_map_req *req,
		    unsigned int cpu_hint, struct pvb_mapping *m)
{
	struct pvb_fit f;
	unsigned int k;
	int ret;

	ret = make_fit(s, req, &f);
	if (ret)
		return ret;

	for (k = 0; k < s->nareas; k++) {
		struct pvb_area *a = &s->area[(cpu_hint + k) & (s->nareas - 1)];
		unsigned long flags;
		int i;

		spin_lock_irqsave(&a->lock, flags);
		i = area_search(s, a, &f);
		if (i >= 0) {
			take_run(s, a, i, req, &f);
			fill_mapping(s, i, m);
			spin_unlock_irqrestore(&a->lock, flags);
			note_used(s, f.nslots);
			return 0;
		}
		spin_unlock_irqrestore(&a->lock, flags);
	}
	return fits_empty(s, &f) ? -ENOMEM : -E2BIG;
}

/* First slot of the live run holding slot @i, or -1 if @i is free. */
static int run_of(struct pvb_slots *s, struct pvb_area *a, unsigned int i)
	__must_hold(&a->lock)
{
	unsigned int h;

	if (s->slot[i].free)
		return -1;
	h = s->slot[i].head;
	if (WARN_ON_ONCE(h > i || h + s->slot[h].nslots <= i))
		return -1;
	return h;
}

/* Area and slot number of @bus, or NULL if no segment covers it. */
static struct pvb_area *area_at(struct pvb_slots *s, dma_addr_t bus,
				unsigned int *i)
{
	int seg = seg_lookup(s, bus);

	if (seg < 0)
		return NULL;
	*i = slot_of(s, seg, bus);
	return area_of(s, *i);
}

/* Head slot of the live mapping holding slot @i (details in @m), or -1. */
static int mapping_at(struct pvb_slots *s, struct pvb_area *a, unsigned int i,
		      struct pvb_mapping *m)
	__must_hold(&a->lock)
{
	int h = run_of(s, a, i);

	if (h >= 0)
		fill_mapping(s, h, m);
	return h;
}

/**
 * pvb_slots_find() - find the live mapping that contains a bus address.
 * @s: pool.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Return: 0, or -ENOENT.
 */
int pvb_slots_find(struct pvb_slots *s, dma_addr_t bus, struct pvb_mapping *m)
{
	struct pvb_mapping tmp;
	struct pvb_area *a;
	unsigned long flags;
	unsigned int i;
	int ret = -ENOENT;

	a = area_at(s, bus, &i);
	if (!a)
		return -ENOENT;
	spin_lock_irqsave(&a->lock, flags);
	if (mapping_at(s, a, i, &tmp) >= 0 &&
	    bus >= tmp.bus && bus - tmp.bus < tmp.size) {
		*m = tmp;
		ret = 0;
	}
	spin_unlock_irqrestore(&a->lock, flags);
	return ret;
}

/**
 * pvb_slots_free() - give back the whole run of a mapping (padding included).
 * @s: pool.
 * @bus: exactly the @bus of a live mapping.
 *
 * Return: 0, or -ENOENT (the pool is left untouched).
 */
int pvb_slots_free(struct pvb_slots *s, dma_addr_t bus)
{
	struct pvb_mapping tmp;
	struct pvb_area *a;
	unsigned long flags;
	unsigned int i, n = 0;
	int h;

	a = area_at(s, bus, &i);
	if (!a)
		return -ENOENT;
	spin_lock_irqsave(&a->lock, flags);
	h = mapping_at(s, a, i, &tmp);
	if (h >= 0 && tmp.bus == bus) {
		n = s->slot[h].nslots;
		give_run(s, a, h);
	}
	spin_unlock_irqrestore(&a->lock, flags);
	if (!n)
		return -ENOENT;
	atomic_sub(n, &s->used);
	return 0;
}

/**
 * pvb_slots_contains() - is a bus address inside the pool's segments?
 * @s: pool.
 * @bus: address.
 *
 * Return: true if some segment covers @bus.
 */
bool pvb_slots_contains(struct pvb_slots *s, dma_addr_t bus)
{
	return seg_lookup(s, bus) >= 0;
}

/**
 * pvb_slots_max_mapping() - largest size that always fits an empty segment.
 * @s: pool.
 * @min_align_mask: the device's min_align_mask.
 *
 * Return: segment size less round_up(@min_align_mask, PVB_SLOT_SIZE), or 0.
 */
size_t pvb_slots_max_mapping(const struct pvb_slots *s, u64 min_align_mask)
{
	u64 pad = round_up(min_align_mask, (u64)PVB_SLOT_SIZE);

	if (min_align_mask >= seg_bytes(s) || pad >= seg_bytes(s))
		return 0;
	return seg_bytes(s) - pad;
}

/**
 * pvb_slots_used() - slots in use now.
 * @s: pool.
 *
 * Return: number of slots (padding included).
 */
unsigned int pvb_slots_used(const struct pvb_slots *s)
{
	return atomic_read(&s->used);
}

/**
 * pvb_slots_hiwater() - most slots ever in use at once.
 * @s: pool.
 *
 * Return: number of slots.
 */
unsigned int pvb_slots_hiwater(const struct pvb_slots *s)
{
	return atomic_read(&s->hiwater);
}
