// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce slot allocator.
 *
 * Kernel-agnostic: this file includes only <linux/...> headers and is built
 * both into the module and, against the shim in tests/unit/shim, into the
 * userspace unit tests.
 *
 * Two bitmaps per segment: one bit per used slot, and one bit per slot
 * that starts a run; only that first slot's head record describes the
 * mapping.  A run of n slots fits at a free slot iff the next used slot (the
 * next set bit, always a run's first slot) is n or more slots on, a search
 * jumps over a whole used run (the previous run start and its record give
 * its end), and any address inside a mapping leads back to it the same way.
 * A run never crosses a segment.  Taking or giving back a run writes its
 * bits and one 16-byte head record, nothing per slot and nothing before
 * the run (swiotlb's list[] of free counts has to be rewritten backwards
 * over the free slots before a run on every alloc and free).
 *
 *   used:     | 0 0 0 | 1 1 1 1 | 0 0 | 1 |
 *   start:    | 0 0 0 | 1 0 0 0 | 0 0 | 1 |
 *
 * A bus address finds its segment in O(1) (see struct pvb_slots), its slot
 * by a shift, its area in the segment's record.
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
#include <linux/bitops.h>
#include <pvbounce/slots.h>

/*
 * The unit tests (tests/unit) count the areas a call reads besides the one
 * it works in; the module counts nothing.
 */
#ifdef PVB_COUNT_AREA_READS
unsigned long pvb_area_reads;
static void count_area_reads(unsigned int n)
{
	__atomic_add_fetch(&pvb_area_reads, n, __ATOMIC_RELAXED);
}
#else
static inline void count_area_reads(unsigned int n)
{
}
#endif

/*
 * struct pvb_head - a mapping, recorded at the first slot of its run.
 * @orig: original address of the mapping.
 * @size: size of the mapping.
 * @delta: bus address of the mapping less that of the run's first slot
 *	(the alignment padding); the run is DIV_ROUND_UP(delta + size, SLOT)
 *	slots.
 * @owner: the request's owner token (0: none).
 *
 * 32 bytes: in the table (allocated page aligned, or naturally aligned as
 * a power-of-two kmalloc for a production pool's sizes) a record never
 * straddles two cache lines, so a map, a lookup and a free each touch one
 * line of records, as with the 16-byte record without an owner.  Not
 * declared __aligned(32): copies on the stack would realign the frame.
 */
struct pvb_head {
	u64 orig;
	u32 size;
	u32 delta;
	u64 owner;
	u64 unused;
};

/*
 * struct pvb_area - a run of whole segments with its own lock.
 * @lock: protects the slots of the area and the fields below.
 * @first: first slot of the area.
 * @nslots: slot numbers of the area (present segments or not).
 * @avail: slots of its present segments (@nslots unless the pool grows).
 * @used: slots in use in the area (read without the lock for statistics;
 *	nothing reads it per map, so it shares the lock's line, which every
 *	writer holds anyway).
 * @drift: slots taken less slots given back since the area last added
 *	that to the pool's approximate count.
 * @credit: headroom parked here: slots this area may take before the pool
 *	can reach a new peak (see gather_credit()).
 * @listed: the area's bit in the pool's @listed map is set.
 * @cursor: slot where the next search starts.
 * @refused: a search here failed since the area last handed out a run; until
 *	it does again, runs given back leave @cursor where it is.
 * @hot: @cursor was stepped back onto runs @hot_owner gave back, which
 *	fill [@cursor, @hot_end) (cyclically in the area) as far as they
 *	are still free; other owners search from @hot_end to @cursor.
 * @hot_end: where @cursor stood before it was stepped back (a slot of the
 *	area: an end of the area is stored as @first).
 * @hot_owner: whose runs those are (an owner token).
 */
struct pvb_area {
	spinlock_t lock;
	unsigned int first;
	unsigned int nslots;
	unsigned int avail;
	unsigned int used;
	int drift;
	unsigned int credit;
	unsigned int cursor;
	bool listed;
	bool refused;
	bool hot;
	unsigned int hot_end;
	u64 hot_owner;
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

static_assert(PVB_MAX_SEG_SIZE <= U32_MAX);
static_assert(sizeof(struct pvb_head) == 32);

/* seg_tab of a pool that has no segments: every lookup misses. */
static const u32 pvb_no_segs[1] = { PVB_SEG_NONE };

/* A direct table may have this many entries (4 bytes each) at most. */
#define PVB_TAB_MAX(nsegs)	(16ULL * (nsegs) + 1024)
/* That of a growable pool, over all of [0, bus_hi]: 4 MiB. */
#define PVB_GROW_TAB_MAX	(1ULL << 20)

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

/* Area i holds segments [i * nsegs / nareas, (i + 1) * nsegs / nareas). */
static unsigned int area_first_seg(const struct pvb_slots *s, unsigned int i)
{
	return (unsigned int)((u64)i * s->nsegs / s->nareas);
}

static struct pvb_area *area_of(const struct pvb_slots *s, unsigned int idx)
{
	return &s->area[s->segs[seg_of(s, idx)].area];
}

/*
 * Bitmaps: each segment has its own whole words (map_words of them), so
 * areas never share a word.  Positions are slot numbers inside a segment.
 */
static u64 *map_word(const struct pvb_slots *s, u64 *map, unsigned int seg,
		     unsigned int pos)
{
	return &map[seg * s->map_words + (pos >> 6)];
}

static bool test_pos(const struct pvb_slots *s, u64 *map, unsigned int seg,
		     unsigned int pos)
{
	return READ_ONCE(*map_word(s, map, seg, pos)) >> (pos & 63) & 1;
}

/* change_range() of a range over more than one word. */
static noinline void change_words(const struct pvb_slots *s, u64 *map,
				  unsigned int seg, unsigned int pos,
				  unsigned int n, bool set)
{
	while (n) {
		unsigned int b = pos & 63, k = min(n, 64 - b);
		u64 mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << b;
		u64 *w = map_word(s, map, seg, pos);

		WRITE_ONCE(*w, set ? *w | mask : *w & ~mask);
		pos += k;
		n -= k;
	}
}

/*
 * Set (@set) or clear the bits [@pos, @pos + @n) of segment @seg.  Most
 * runs lie inside one word: that case is one read and one write, inline
 * in the alloc and the free.
 */
static __always_inline void change_range(const struct pvb_slots *s, u64 *map,
					 unsigned int seg, unsigned int pos,
					 unsigned int n, bool set)
{
	if (likely((pos & 63) + n < 64)) {
		u64 mask = ((1ULL << n) - 1) << (pos & 63);
		u64 *w = map_word(s, map, seg, pos);

		WRITE_ONCE(*w, set ? *w | mask : *w & ~mask);
		return;
	}
	change_words(s, map, seg, pos, n, set);
}

/* First set bit of segment @seg at a position in [@pos, @end), or @end. */
static __always_inline unsigned int next_set(const struct pvb_slots *s,
					     u64 *map, unsigned int seg,
					     unsigned int pos, unsigned int end)
{
	u64 w;

	if (pos >= end)
		return end;
	w = READ_ONCE(*map_word(s, map, seg, pos)) & (~0ULL << (pos & 63));
	pos &= ~63U;
	while (!w) {
		pos += 64;
		if (pos >= end)
			return end;
		w = READ_ONCE(*map_word(s, map, seg, pos));
	}
	return min(pos + (unsigned int)__ffs64(w), end);
}

/* Last set bit of segment @seg at a position at or below @pos, or -1. */
static __always_inline int prev_set(const struct pvb_slots *s, u64 *map,
				    unsigned int seg, unsigned int pos)
{
	u64 w = READ_ONCE(*map_word(s, map, seg, pos)) &
		(~0ULL >> (63 - (pos & 63)));

	pos &= ~63U;
	while (!w) {
		if (!pos)
			return -1;
		pos -= 64;
		w = READ_ONCE(*map_word(s, map, seg, pos));
	}
	return pos + fls64(w) - 1;
}

static unsigned int head_nslots(u32 delta, u32 size)
{
	return ((u64)delta + size + PVB_SLOT_SIZE - 1) >> PVB_SLOT_SHIFT;
}

/*
 * Smallest run start R >= x with (R & M) == T whose run does not cross the
 * boundary; false if there is none at or below @last.  The caller has
 * checked that the boundary can be met at all ((T & bmask) + len <= bmask
 * + 1), so a crossing run can only happen when M < bmask, and then the
 * next window's first candidate fits.
 */
static __always_inline bool next_start(const struct pvb_fit *f, u64 x,
				       u64 last, u64 *r)
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
 * Position in segment @seg of the first slot of the run holding position
 * @pos, its record in @hd; -1 if no run holds @pos.  Runs are found from
 * the start bitmap and checked against their records: -1 also when the
 * record does not describe a run inside the segment, which callers holding
 * the area lock treat as corruption, lock-free callers as a race with
 * someone else's alloc or free.  @bad (may be NULL) tells the two apart.
 */
static __always_inline int run_at(const struct pvb_slots *s,
				  unsigned int seg, unsigned int pos,
				  struct pvb_head *hd, bool *bad)
{
	int h = prev_set(s, s->start_map, seg, pos);
	unsigned int idx, n;

	if (h < 0)
		return -1;
	idx = (seg << s->seg_shift) + h;
	hd->orig = READ_ONCE(s->head[idx].orig);
	hd->size = READ_ONCE(s->head[idx].size);
	hd->delta = READ_ONCE(s->head[idx].delta);
	hd->owner = READ_ONCE(s->head[idx].owner);
	n = head_nslots(hd->delta, hd->size);
	if (!hd->size || n > s->seg_slots - h) {
		if (bad)
			*bad = true;
		return -1;
	}
	return pos < h + n ? h : -1;
}

/*
 * First fitting run of segment @seg whose start slot is in [@from, @to)
 * (slot indices inside that segment) and, if @fence, that ends by @to;
 * -1 if none.
 */
static __always_inline int seg_search(struct pvb_slots *s, unsigned int seg,
				      unsigned int from, unsigned int to,
				      const struct pvb_fit *f, bool fence)
{
	unsigned int first = seg << s->seg_shift;
	u64 base = s->segs[seg].bus;
	u64 x, last, r, end;

	if (from >= to)
		return -1;
	x = base + ((u64)(from - first) << PVB_SLOT_SHIFT);
	end = (u64)(to - 1 - first) << PVB_SLOT_SHIFT;
	if (fence) {
		end += PVB_SLOT_SIZE;
		if (end < f->len)
			return -1;
		end -= f->len;
	}
	last = base + min_t(u64, seg_bytes(s) - f->len, end);

	while (next_start(f, x, last, &r)) {
		unsigned int pos = (unsigned int)((r - base) >> PVB_SLOT_SHIFT);
		struct pvb_head hd;
		bool bad = false;
		int h;

		if (!test_pos(s, s->used_map, seg, pos)) {
			/* A used slot among the next nslots starts a run. */
			unsigned int end = min(pos + f->nslots, s->seg_slots);
			unsigned int u = next_set(s, s->used_map, seg, pos, end);

			if (u == end) {
				if (end - pos == f->nslots)
					return first + pos;
				/* Later starts have even less room. */
				return -1;
			}
			pos = u;
		}
		h = run_at(s, seg, pos, &hd, &bad);
		if (WARN_ON_ONCE(h < 0))
			return -1;
		x = base + ((u64)(h + head_nslots(hd.delta, hd.size)) <<
			    PVB_SLOT_SHIFT);
	}
	return -1;
}

/*
 * Search an area from slot @cur on, wrapping round, for a run starting
 * before slot @stop, and if @fence ending by it too; @stop == @cur: every
 * start slot of the area is considered exactly once.
 */
static __always_inline int area_search(struct pvb_slots *s,
				       struct pvb_area *a,
				       const struct pvb_fit *f, unsigned int cur,
				       unsigned int stop, bool fence)
	__must_hold(&a->lock)
{
	unsigned int fseg = seg_of(s, a->first);
	unsigned int nsegs = a->nslots >> s->seg_shift;
	unsigned int seg = seg_of(s, cur);
	unsigned int k, kstop = nsegs;

	if (a->avail - a->used < f->nslots)
		return -1;
	/* The step at which the search reaches @stop's segment and ends. */
	if (unlikely(stop != cur)) {
		unsigned int sseg = seg_of(s, stop);

		kstop = sseg >= seg ? sseg - seg : sseg + nsegs - seg;
		if (!kstop && stop < cur)
			kstop = nsegs;
	}
	for (k = 0; k <= kstop; k++) {
		unsigned int from = seg << s->seg_shift;
		unsigned int to = from + s->seg_slots;
		int i;

		if (k == 0)
			from = cur;
		if (k == kstop)
			to = stop;
		i = seg_search(s, seg, from, to, f, k == kstop && fence);
		if (i >= 0)
			return i;
		if (++seg == fseg + nsegs)
			seg = fseg;
	}
	return -1;
}

/* A slot number one past a run, as a cursor: the area's end wraps to its start. */
static unsigned int wrap_slot(const struct pvb_area *a, unsigned int i)
{
	return i >= a->first + a->nslots ? a->first : i;
}

/*
 * Where @owner's search starts in @a and where it stops: the hot owner (or
 * anyone when no runs are hot) from the cursor round the whole area; other
 * owners from after the hot runs to before them (@fence), or, in the second
 * pass (!@fence), round the whole area from there.
 */
static __always_inline int area_search_for(struct pvb_slots *s,
					   struct pvb_area *a,
					   const struct pvb_fit *f, u64 owner,
					   bool *fence)
	__must_hold(&a->lock)
{
	unsigned int cur = a->cursor, stop = cur;

	if (unlikely(a->hot && owner != a->hot_owner)) {
		cur = a->hot_end;
		stop = *fence ? a->cursor : cur;
	} else {
		*fence = false;
	}
	/* Inline in its callers: the search is the alloc's hot path. */
	return area_search(s, a, f, cur, stop, *fence);
}

/* Count @n slots taken (n > 0) or given back (n < 0) in area @a. */
static __always_inline void count_slots(struct pvb_slots *s,
					struct pvb_area *a, int n)
	__must_hold(&a->lock)
{
	WRITE_ONCE(a->used, a->used + n);
	a->drift += n;
	if (a->drift >= PVB_USED_BATCH || a->drift <= -PVB_USED_BATCH) {
		atomic_add(a->drift, &s->stats.approx);
		a->drift = 0;
	}
}

/* Slots from @from on to @i, cyclically in area @a (no division). */
static unsigned int cyc_dist(const struct pvb_area *a, unsigned int from,
			     unsigned int i)
{
	return i >= from ? i - from : i + a->nslots - from;
}

/* Is slot @i in [@from, @to), cyclically in area @a? (@from == @to: empty) */
static bool in_cyclic(const struct pvb_area *a, unsigned int i,
		      unsigned int from, unsigned int to)
{
	return cyc_dist(a, from, i) < cyc_dist(a, from, to);
}

/*
 * The high-water mark is kept without summing the areas: the mark less the
 * slots in use (the headroom) is held as credit, in the areas and in a
 * gatherer's hands.  A run given back adds its slots to its area's credit; a
 * run taken spends its area's credit, and only if that is short does the
 * allocation, after unlocking, gather the rest from the areas listed as
 * holding some (gather_credit()); what no area has is a new peak, and the
 * mark rises by exactly that.  Credit only moves under an area lock or the
 * gather lock, so when calls do not overlap the mark is exact.
 *
 * Per map, in steady state (a CPU maps and unmaps on its own area): the
 * area's own credit, nothing else.  A gather visits the listed areas only;
 * each visit but the last takes an area's whole credit and unlists it, and
 * an area is listed again only by a later give of its own, so the visits
 * are at most the gathers plus the gives that listed an area: O(1) per map
 * amortised, whatever the number of areas.
 */

/* The area holds credit: a gather must look at it. */
static __always_inline void list_area(struct pvb_slots *s,
				      struct pvb_area *a)
	__must_hold(&a->lock)
{
	if (!a->listed) {
		a->listed = true;
		set_bit(a - s->area, s->listed);
	}
}

/* Spend @n slots of @a's credit; return how many it was short. */
static __always_inline unsigned int spend_credit(struct pvb_area *a,
						 unsigned int n)
	__must_hold(&a->lock)
{
	if (likely(a->credit >= n)) {
		a->credit -= n;
		return 0;
	}
	n -= a->credit;
	a->credit = 0;
	return n;
}

/*
 * After an allocation in area @home found its credit @need slots short:
 * take that much from the listed areas, one lock at a time; what they do
 * not have raises the mark.  No more than @need: credit taken beyond it
 * would leave the areas it came from short in turn (measured: more reads
 * of other areas per map, not fewer).  Serialised by the gather lock, so
 * no credit is ever in two gatherers' hands at once, and only a gatherer
 * clears a bit of the map.
 *
 * Still short after a pass, it passes again until one finds the map empty:
 * an area passed over may have been given runs back (and listed) since,
 * while another not yet visited spent its credit on a map; ending the
 * first pass there would count slots that were free as a peak, even above
 * the pool's size.  Every area a short pass visits it leaves unlisted, so
 * the last pass reads the map and no area, unless some were listed since.
 *
 * Other CPUs listing areas again and again (each giving a run back and
 * spending it before the gather comes by) could keep it passing with
 * interrupts off: it stops after GATHER_PASSES and counts what it still
 * needs as a peak (the mark stays what is in use plus the credit).  Only
 * such overlapping calls can make the mark high then, and it never reads
 * above the most the pool can hold (pvb_slots_hiwater()).
 */
#define GATHER_PASSES	4

static void gather_credit(struct pvb_slots *s, unsigned int home,
			  unsigned int need)
{
	unsigned int w, pass = 0;
	unsigned long flags, bflags;
	bool seen = true;

	spin_lock_irqsave(&s->stats.gather_lock, flags);
	while (need && seen && pass++ < GATHER_PASSES) {
		seen = false;
		/* The map as it is after every visit of the previous pass. */
		smp_mb();
		for (w = 0; w < BITS_TO_LONGS(s->nareas) && need; w++) {
			unsigned long bits = READ_ONCE(s->listed[w]);

			if (bits)
				seen = true;
			while (bits && need) {
				unsigned int j = w * BITS_PER_LONG + __ffs(bits);
				struct pvb_area *b = &s->area[j];
				unsigned int take;

				bits &= bits - 1;
				if (j != home)
					count_area_reads(1);
				spin_lock_irqsave(&b->lock, bflags);
				take = min(b->credit, need);
				b->credit -= take;
				need -= take;
				if (!b->credit && b->listed) {
					b->listed = false;
					clear_bit(j, s->listed);
				}
				spin_unlock_irqrestore(&b->lock, bflags);
			}
		}
	}
	if (need)
		atomic_add(need, &s->stats.hiwater);
	spin_unlock_irqrestore(&s->stats.gather_lock, flags);
}

/* Take the run at slot @i; return how short of credit @a was (see above). */
static __always_inline unsigned int take_run(struct pvb_slots *s,
					     struct pvb_area *a,
					     unsigned int i,
					     const struct pvb_map_req *req,
					     const struct pvb_fit *f)
	__must_hold(&a->lock)
{
	unsigned int seg = seg_of(s, i), pos = i & (s->seg_slots - 1);
	unsigned int next = wrap_slot(a, i + f->nslots);

	WRITE_ONCE(s->head[i].orig, req->orig);
	WRITE_ONCE(s->head[i].size, (u32)req->size);
	WRITE_ONCE(s->head[i].delta, (u32)f->off);
	WRITE_ONCE(s->head[i].owner, req->owner);
	change_range(s, s->used_map, seg, pos, f->nslots, true);
	change_range(s, s->start_map, seg, pos, 1, true);

	count_slots(s, a, f->nslots);
	a->refused = false;
	/*
	 * The hot owner taking the first of its hot runs keeps the rest hot;
	 * any other take ends them (the cursor moves on past them).
	 */
	if (a->hot && (req->owner != a->hot_owner ||
		       !in_cyclic(a, i, a->cursor, a->hot_end) ||
		       !in_cyclic(a, next, a->cursor, a->hot_end)))
		WRITE_ONCE(a->hot, false);
	a->cursor = next;
	return spend_credit(a, f->nslots);
}

static __always_inline void give_run(struct pvb_slots *s,
				     struct pvb_area *a, unsigned int h,
				     unsigned int n, bool undo, u64 owner)
	__must_hold(&a->lock)
{
	unsigned int seg = seg_of(s, h), pos = h & (s->seg_slots - 1);

	change_range(s, s->start_map, seg, pos, 1, false);
	change_range(s, s->used_map, seg, pos, n, false);
	count_slots(s, a, -(int)n);
	a->credit += n;
	list_area(s, a);
	/*
	 * The area's last allocation given back: the next search starts on
	 * its slots again, which are still in the CPU's caches and TLB (a
	 * map/unmap pair per I/O reuses the same bounce memory, where plain
	 * next-fit would walk the whole pool).  Not for a map being undone,
	 * nor after a refusal: a caller giving back the first parts of a map
	 * it could not complete (map_sg, or a driver mapping page by page)
	 * and trying again would get the same placement, which left no room
	 * for the rest, forever; the cursor moving on changes it.  Nor onto
	 * a run of another owner than the one whose runs are hot already:
	 * hot runs have one owner, and only it gets them back first.
	 */
	if (a->cursor == h && !a->hot) {
		/* The next search starts on it anyway: the owner's alone. */
		a->hot_end = wrap_slot(a, h + n);
		WRITE_ONCE(a->hot_owner, owner);
		WRITE_ONCE(a->hot, true);
		return;
	}
	if (!s->next_fit && !undo && !a->refused &&
	    a->cursor == wrap_slot(a, h + n) &&
	    (!a->hot || a->hot_owner == owner)) {
		if (!a->hot) {
			a->hot_end = a->cursor;
			WRITE_ONCE(a->hot_owner, owner);
			WRITE_ONCE(a->hot, true);
		}
		a->cursor = h;
	}
}

static unsigned int sum_used(const struct pvb_slots *s)
{
	unsigned int i, used = 0;

	count_area_reads(s->nareas);
	for (i = 0; i < s->nareas; i++)
		used += READ_ONCE(s->area[i].used);
	return used;
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
		u64 base = READ_ONCE(s->segs[seg].bus);

		if (!READ_ONCE(s->segs[seg].present))
			continue;
		if (next_start(f, base, base + seg_bytes(s) - f->len, &r))
			return true;
	}
	return false;
}

static __always_inline int make_fit(const struct pvb_slots *s,
				    const struct pvb_map_req *req,
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

/* The mapping whose run starts at slot @h, described by @hd. */
static __always_inline void fill_mapping(const struct pvb_slots *s,
					 unsigned int h,
					 const struct pvb_head *hd,
					 struct pvb_mapping *m)
{
	const struct pvb_seg_info *seg = &s->segs[seg_of(s, h)];
	u64 delta = ((u64)(h & (s->seg_slots - 1)) << PVB_SLOT_SHIFT) +
		    hd->delta;

	m->bus = seg->bus + delta;
	m->cpu = seg->cpu ? (u8 *)seg->cpu + delta : NULL;
	m->orig = hd->orig;
	m->size = hd->size;
	m->index = h + (hd->delta >> PVB_SLOT_SHIFT);
	m->head = h;
	m->owner = hd->owner;
}

/* The mapping of @req whose run, placed as @f says, starts at slot @h. */
static __always_inline void map_run(const struct pvb_slots *s, unsigned int h,
				    const struct pvb_map_req *req,
				    const struct pvb_fit *f,
				    struct pvb_mapping *m)
{
	struct pvb_head hd = {
		.orig = req->orig,
		.size = req->size,
		.delta = f->off,
		.owner = req->owner,
	};

	fill_mapping(s, h, &hd, m);
}

static int cmp_seg_bus(const void *a, const void *b, const void *priv)
{
	const struct pvb_seg *segs = priv;
	dma_addr_t x = segs[*(const unsigned int *)a].bus;
	dma_addr_t y = segs[*(const unsigned int *)b].bus;

	return x < y ? -1 : x > y;
}

static u32 hash_slot(const struct pvb_slots *s, u64 bucket)
{
	return (u32)((bucket * 0x9e3779b97f4a7c15ULL) >> (64 - s->hash_bits));
}

/* Hash mode: segment starting in absolute bucket @bucket, or -1. */
static int hash_find(const struct pvb_slots *s, u64 bucket)
{
	u32 mask = s->tab_len - 1;
	u32 k = hash_slot(s, bucket);
	u32 seg;

	while ((seg = s->seg_tab[k]) != PVB_SEG_NONE) {
		if (s->segs[seg].bus >> s->bus_shift == bucket)
			return seg;
		k = (k + 1) & mask;
	}
	return -1;
}

/**
 * pvb_slots_seg_hashed() - pvb_slots_seg_of() for a pool with a hash.
 * @s: pool whose @hash_bits is not 0.
 * @bus: address inside [@bus_lo, @bus_lo + @bus_span].
 *
 * Return: the segment covering @bus, or -1.
 */
int pvb_slots_seg_hashed(const struct pvb_slots *s, dma_addr_t bus)
{
	u64 bucket = bus >> s->bus_shift;
	int seg = hash_find(s, bucket);

	if ((seg < 0 || bus < s->segs[seg].bus) && bucket)
		seg = hash_find(s, bucket - 1);
	if (seg < 0 || bus < s->segs[seg].bus ||
	    (bus - s->segs[seg].bus) >> s->bus_shift)
		return -1;
	return seg;
}

/*
 * Fill in the bus-to-segment lookup.  @by_bus is the segment numbers in bus
 * order.  A direct table over [lowest, highest] bucket is used when it has
 * at most PVB_TAB_MAX(nsegs) entries, else a hash at most half full.
 */
static int build_lookup(struct pvb_slots *s, const unsigned int *by_bus,
			unsigned int n, dma_addr_t bus_hi)
{
	u64 last = s->segs[by_bus[n - 1]].bus + seg_bytes(s) - 1;
	u64 nb, i;
	u32 *tab;

	s->bus_lo = s->segs[by_bus[0]].bus;
	s->bus_span = last - s->bus_lo;
	s->live_lo = s->bus_lo;
	s->live_hi = last;
	s->tab_base = s->bus_lo & ~((u64)seg_bytes(s) - 1);
	if (s->growable) {
		/* A direct table over all of [0, bus_hi]: segments come and go. */
		if (last > bus_hi)
			return -E2BIG;
		s->bus_lo = 0;
		s->tab_base = 0;
		s->bus_span = bus_hi;
	}
	nb = ((s->bus_span + s->bus_lo - s->tab_base) >> s->bus_shift) + 1;

	if (s->growable) {
		if (nb > PVB_GROW_TAB_MAX)
			return -E2BIG;
		s->tab_len = nb;
	} else if (nb <= PVB_TAB_MAX(s->nsegs) && nb <= S32_MAX) {
		s->tab_len = nb;
	} else {
		if (s->nsegs > (1U << 30))
			return -ENOMEM;
		s->hash_bits = ilog2(roundup_pow_of_two(2 * (u64)s->nsegs));
		s->tab_len = 1U << s->hash_bits;
	}
	tab = kvmalloc_array(s->tab_len, sizeof(*tab), GFP_KERNEL);
	if (!tab)
		return -ENOMEM;
	memset(tab, 0xff, s->tab_len * sizeof(*tab));
	s->seg_tab = tab;
	for (i = 0; i < n; i++) {
		unsigned int seg = by_bus[i];
		u64 bucket = s->segs[seg].bus >> s->bus_shift;
		u32 k;

		if (!s->hash_bits) {
			tab[bucket - (s->tab_base >> s->bus_shift)] = seg;
			continue;
		}
		for (k = hash_slot(s, bucket); tab[k] != PVB_SEG_NONE;
		     k = (k + 1) & (s->tab_len - 1))
			;
		tab[k] = seg;
	}
	return 0;
}

static void forget(struct pvb_slots *s)
{
	memset(s, 0, sizeof(*s));
	s->seg_tab = pvb_no_segs;
}

/* The run that keeps every search out of an absent segment. */
static void hide_seg(struct pvb_slots *s, unsigned int seg)
{
	unsigned int i = seg << s->seg_shift;

	WRITE_ONCE(s->head[i].orig, 0);
	WRITE_ONCE(s->head[i].size, (u32)seg_bytes(s));
	WRITE_ONCE(s->head[i].delta, 0);
	WRITE_ONCE(s->head[i].owner, 0);
	change_range(s, s->used_map, seg, 0, s->seg_slots, true);
	change_range(s, s->start_map, seg, 0, 1, true);
}

static void unhide_seg(struct pvb_slots *s, unsigned int seg)
{
	change_range(s, s->start_map, seg, 0, 1, false);
	change_range(s, s->used_map, seg, 0, s->seg_slots, false);
}

/* i * n / d without overflow. */
static unsigned int split(unsigned int i, unsigned int n, unsigned int d)
{
	return (unsigned int)((u64)i * n / d);
}

static int setup(struct pvb_slots *s, const struct pvb_seg *segs,
		 unsigned int nsegs, size_t seg_size, unsigned int nareas,
		 unsigned int max_segs, dma_addr_t bus_hi, bool growable)
{
	u64 balign = growable ? seg_size : min_t(u64, seg_size, PAGE_SIZE);
	unsigned int *by_bus = NULL, *pos = NULL;
	unsigned int max_slabs, i, j, a;
	int ret = -ENOMEM;

	forget(s);
	if (!nsegs || !is_power_of_2(seg_size) || seg_size < PVB_SLOT_SIZE ||
	    seg_size > PVB_MAX_SEG_SIZE)
		return -EINVAL;
	if (!nareas)
		nareas = 1;
	nareas = rounddown_pow_of_two(min(nareas, nsegs));
	if (growable) {
		/* Every area gets the same number of segment numbers. */
		max_segs = max(max_segs, nsegs);
		if (max_segs > U32_MAX - nareas)
			return -EINVAL;
		max_segs = roundup(max_segs, nareas);
	} else {
		max_segs = nsegs;
	}
	if (check_mul_overflow(max_segs, (unsigned int)(seg_size >> PVB_SLOT_SHIFT),
			       &max_slabs) || max_slabs > S32_MAX)
		return -EINVAL;
	for (i = 0; i < nsegs; i++)
		if ((segs[i].bus & (balign - 1)) ||
		    segs[i].bus + seg_size - 1 < segs[i].bus)
			return -EINVAL;

	s->nslabs = nsegs * (unsigned int)(seg_size >> PVB_SLOT_SHIFT);
	s->max_slabs = max_slabs;
	s->growable = growable;
	s->seg_slots = seg_size >> PVB_SLOT_SHIFT;
	s->seg_shift = ilog2(s->seg_slots);
	s->bus_shift = s->seg_shift + PVB_SLOT_SHIFT;
	s->nsegs = max_segs;
	s->nareas = nareas;

	s->segs = kvcalloc(max_segs, sizeof(*s->segs), GFP_KERNEL);
	pos = kvcalloc(nsegs, sizeof(*pos), GFP_KERNEL);
	by_bus = kvcalloc(nsegs, sizeof(*by_bus), GFP_KERNEL);
	if (!s->segs || !pos || !by_bus)
		goto err;
	/*
	 * Area a takes the caller's segments [a * nsegs / nareas, ...) at
	 * its first numbers; the rest of its numbers, if it can grow, are
	 * absent.  Without growth this is the identity.
	 */
	for (a = 0; a < nareas; a++) {
		for (j = split(a, max_segs, nareas);
		     j < split(a + 1, max_segs, nareas); j++)
			s->segs[j].area = a;
		for (i = split(a, nsegs, nareas); i < split(a + 1, nsegs, nareas); i++) {
			j = split(a, max_segs, nareas) + i - split(a, nsegs, nareas);
			pos[i] = j;
			s->segs[j].bus = segs[i].bus;
			s->segs[j].cpu = segs[i].cpu;
			s->segs[j].present = 1;
		}
	}

	for (i = 0; i < nsegs; i++)
		by_bus[i] = i;
	sort_r(by_bus, nsegs, sizeof(*by_bus), cmp_seg_bus, NULL, segs);
	ret = -EINVAL;
	for (i = 1; i < nsegs; i++)
		if (segs[by_bus[i]].bus - segs[by_bus[i - 1]].bus < seg_size)
			break;
	if (i == nsegs) {
		for (i = 0; i < nsegs; i++)
			by_bus[i] = pos[by_bus[i]];
		ret = build_lookup(s, by_bus, nsegs, bus_hi);
	}
	if (ret)
		goto err;

	ret = -ENOMEM;
	s->map_words = DIV_ROUND_UP(s->seg_slots, 64);
	s->used_map = kvcalloc((size_t)max_segs * s->map_words, sizeof(u64), GFP_KERNEL);
	s->start_map = kvcalloc((size_t)max_segs * s->map_words, sizeof(u64), GFP_KERNEL);
	s->head = kvcalloc(max_slabs, sizeof(*s->head), GFP_KERNEL);
	s->area = kcalloc(nareas, sizeof(*s->area), GFP_KERNEL);
	s->listed = kcalloc(BITS_TO_LONGS(nareas), sizeof(long), GFP_KERNEL);
	if (!s->used_map || !s->start_map || !s->head || !s->area || !s->listed)
		goto err;
	for (i = 0; i < nareas; i++) {
		struct pvb_area *ar = &s->area[i];

		spin_lock_init(&ar->lock);
		ar->first = area_first_seg(s, i) << s->seg_shift;
		ar->nslots = (area_first_seg(s, i + 1) << s->seg_shift) - ar->first;
		ar->avail = (split(i + 1, nsegs, nareas) - split(i, nsegs, nareas)) *
			    s->seg_slots;
		ar->cursor = ar->first;
	}
	for (j = 0; j < max_segs; j++)
		if (!s->segs[j].present)
			hide_seg(s, j);
	atomic_set(&s->stats.approx, 0);
	atomic_set(&s->stats.hiwater, 0);
	spin_lock_init(&s->stats.gather_lock);
	kvfree(by_bus);
	kvfree(pos);
	return 0;

err:
	kvfree(by_bus);
	kvfree(pos);
	pvb_slots_destroy(s);
	return ret;
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
	return setup(s, segs, nsegs, seg_size, nareas, nsegs, 0, false);
}

/**
 * pvb_slots_init_growable() - set up a pool whose segments may change.
 * @s: pool to initialise.
 * @segs: @nsegs segments as for pvb_slots_init(), each aligned to @seg_size
 *	in bus address and ending at or below @bus_hi.
 * @nsegs: number of segments at the start, at least 1.
 * @seg_size: bytes per segment, a power of two.
 * @nareas: wanted number of areas (at most @nsegs are made).
 * @max_segs: most segments the pool may ever hold at once (the metadata
 *	of all of them is allocated now, so that adding one allocates nothing
 *	and the lookups stay O(1)); rounded up to a multiple of the areas.
 * @bus_hi: highest bus address a segment may ever have: the bus-to-segment
 *	table covers all of [0, @bus_hi] directly, one entry per segment size
 *	(at most 2^20 entries).
 *
 * Segments are then added with pvb_slots_add_seg() and taken away with
 * pvb_slots_remove_seg(); allocations, finds and frees never wait for
 * either beyond the area lock they take anyway.
 *
 * Return: 0; -EINVAL for bad geometry; -E2BIG if a segment ends above
 * @bus_hi or the table over
 * [0, @bus_hi] would be too large; -ENOMEM.
 */
int pvb_slots_init_growable(struct pvb_slots *s, const struct pvb_seg *segs,
			    unsigned int nsegs, size_t seg_size,
			    unsigned int nareas, unsigned int max_segs,
			    dma_addr_t bus_hi)
{
	return setup(s, segs, nsegs, seg_size, nareas, max_segs, bus_hi, true);
}

/**
 * pvb_slots_add_seg() - put one more segment in a growable pool's view.
 * @s: pool made by pvb_slots_init_growable().
 * @bus: bus address of the segment, aligned to the segment size, its last
 *	byte at or below the pool's @bus_hi, overlapping no present segment.
 * @cpu: kernel address of its first byte (may be NULL in tests).
 *
 * The segment goes to the area with the fewest present slots.  It is in
 * the bus lookup before any search can hand out a slot of it.
 *
 * Context: process or atomic; calls to pvb_slots_add_seg() and
 * pvb_slots_remove_seg() must be serialised by the caller.
 * Return: the segment's number, -EINVAL for a bad segment, -EEXIST if a
 * present segment already lies there, -ENOSPC if the pool is at its
 * capacity.
 */
int pvb_slots_add_seg(struct pvb_slots *s, dma_addr_t bus, void *cpu)
{
	unsigned int a, best = U32_MAX, seg = 0, j;
	struct pvb_area *ar;
	unsigned long flags;
	u64 k;

	if (!s->growable || (bus & (seg_bytes(s) - 1)) || bus > s->bus_span ||
	    s->bus_span - bus < seg_bytes(s) - 1)
		return -EINVAL;
	k = bus >> s->bus_shift;
	if (READ_ONCE(s->seg_tab[k]) != PVB_SEG_NONE)
		return -EEXIST;
	for (a = 0; a < s->nareas; a++) {
		if (best != U32_MAX && s->area[a].avail >= s->area[best].avail)
			continue;
		for (j = area_first_seg(s, a); j < area_first_seg(s, a + 1); j++)
			if (!s->segs[j].present)
				break;
		if (j < area_first_seg(s, a + 1)) {
			best = a;
			seg = j;
		}
	}
	if (best == U32_MAX)
		return -ENOSPC;
	/* in the lookup's range before the unlock below publishes it */
	if (bus < s->live_lo)
		WRITE_ONCE(s->live_lo, bus);
	if (bus + seg_bytes(s) - 1 > s->live_hi)
		WRITE_ONCE(s->live_hi, bus + seg_bytes(s) - 1);
	ar = &s->area[best];
	spin_lock_irqsave(&ar->lock, flags);
	WRITE_ONCE(s->segs[seg].bus, bus);
	WRITE_ONCE(s->segs[seg].cpu, cpu);
	WRITE_ONCE(s->segs[seg].present, 1);
	WRITE_ONCE(((u32 *)s->seg_tab)[k], seg);
	unhide_seg(s, seg);
	WRITE_ONCE(ar->avail, ar->avail + s->seg_slots);
	spin_unlock_irqrestore(&ar->lock, flags);
	WRITE_ONCE(s->nslabs, s->nslabs + s->seg_slots);
	return seg;
}

/* No slot of segment @seg is in use (reads its used bits once). */
static bool seg_empty(const struct pvb_slots *s, unsigned int seg)
{
	unsigned int w;

	for (w = 0; w < s->map_words; w++)
		if (READ_ONCE(s->used_map[seg * s->map_words + w]))
			return false;
	return true;
}

/**
 * pvb_slots_remove_seg() - take an empty segment out of a growable pool.
 * @s: pool made by pvb_slots_init_growable().
 * @seg: number pvb_slots_add_seg() (or the initial layout) gave it.
 *
 * Under the segment's area lock, which every allocation in it holds: if no
 * slot of it is in use, one reserved run covering it is put in place, so
 * no later search can take a slot there; an allocation that got in first
 * leaves a used slot and the removal fails.  Then the segment leaves the
 * bus lookup.  On success the caller may free the segment's memory.
 *
 * Context: process or atomic; serialised with pvb_slots_add_seg().
 * Return: 0; -EBUSY if a slot is in use; -EINVAL if @seg is not present
 * or the pool cannot grow.
 */
int pvb_slots_remove_seg(struct pvb_slots *s, unsigned int seg)
{
	struct pvb_area *ar;
	unsigned long flags;

	if (!s->growable || seg >= s->nsegs || !s->segs[seg].present)
		return -EINVAL;
	ar = &s->area[s->segs[seg].area];
	spin_lock_irqsave(&ar->lock, flags);
	if (!seg_empty(s, seg)) {
		spin_unlock_irqrestore(&ar->lock, flags);
		return -EBUSY;
	}
	hide_seg(s, seg);
	WRITE_ONCE(ar->avail, ar->avail - s->seg_slots);
	WRITE_ONCE(((u32 *)s->seg_tab)[s->segs[seg].bus >> s->bus_shift],
		   PVB_SEG_NONE);
	WRITE_ONCE(s->segs[seg].present, 0);
	spin_unlock_irqrestore(&ar->lock, flags);
	WRITE_ONCE(s->nslabs, s->nslabs - s->seg_slots);
	return 0;
}

/**
 * pvb_slots_seg_busy() - does a segment have a slot in use now?
 * @s: pool.
 * @seg: a present segment's number.
 *
 * Lock-free snapshot, for deciding which segment to try to remove.
 *
 * Return: true if some slot of @seg is in use.
 */
bool pvb_slots_seg_busy(const struct pvb_slots *s, unsigned int seg)
{
	return !seg_empty(s, seg);
}

static atomic64_t pvb_owner_seq = ATOMIC64_INIT(0);

/**
 * pvb_slots_new_owner() - a new owner token, for one attach of a device.
 *
 * Return: the token: never 0, never handed out before.
 */
u64 pvb_slots_new_owner(void)
{
	return atomic64_inc_return(&pvb_owner_seq);
}

/**
 * pvb_slots_destroy() - free the pool's metadata (not the segments).
 * @s: pool; live mappings are forgotten.
 */
void pvb_slots_destroy(struct pvb_slots *s)
{
	kfree(s->listed);
	kfree(s->area);
	kvfree(s->head);
	kvfree(s->start_map);
	kvfree(s->used_map);
	if (s->seg_tab != pvb_no_segs)
		kvfree(s->seg_tab);
	kvfree(s->segs);
	forget(s);
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
	bool fenced = false;
	struct pvb_fit f;
	unsigned int k, pass, short_by;
	int ret;

	ret = make_fit(s, req, &f);
	if (ret)
		return ret;

	/*
	 * Pass 0 keeps out of other owners' hot runs; pass 1, if that found
	 * nothing and kept out of some, looks again round every area in full.
	 * Every area, not those that have hot runs now: an area fenced in
	 * pass 0 may have lost them since (another owner took a run there),
	 * leaving the runs it fenced free and no longer hot.
	 */
	for (pass = 0; pass < 2; pass++) {
		if (pass && !fenced)
			break;
		for (k = 0; k < s->nareas; k++) {
			struct pvb_area *a = &s->area[(cpu_hint + k) & (s->nareas - 1)];
			unsigned long flags;
			bool fence = !pass;
			int i;

			if (k || pass)
				count_area_reads(1);
			spin_lock_irqsave(&a->lock, flags);
			i = area_search_for(s, a, &f, req->owner, &fence);
			fenced |= fence;
			if (i >= 0) {
				short_by = take_run(s, a, i, req, &f);
				spin_unlock_irqrestore(&a->lock, flags);
				if (unlikely(short_by))
					gather_credit(s, a - s->area, short_by);
				map_run(s, i, req, &f, m);
				return 0;
			}
			a->refused = true;
			spin_unlock_irqrestore(&a->lock, flags);
		}
	}
	return fits_empty(s, &f) ? -ENOMEM : -E2BIG;
}

/**
 * pvb_slots_batch_begin() - start allocating many runs under one area lock.
 * @s: pool.
 * @cpu_hint: area to allocate in (as for pvb_slots_alloc()).
 * @b: the batch, filled in.
 *
 * Takes the area's lock (irqsave): until pvb_slots_batch_end() the caller
 * may call pvb_slots_batch_alloc() only, and nothing that may sleep.
 */
void pvb_slots_batch_begin(struct pvb_slots *s, unsigned int cpu_hint,
			   struct pvb_slots_batch *b)
	__acquires(&b->area->lock)
{
	b->area = &s->area[cpu_hint & (s->nareas - 1)];
	b->short_by = 0;
	spin_lock_irqsave(&b->area->lock, b->flags);
}

/**
 * pvb_slots_batch_alloc() - take a run in the batch's area.
 * @s: pool.
 * @b: batch begun by pvb_slots_batch_begin().
 * @req: the request.
 * @m: filled in on success.
 *
 * Exactly the first step of pvb_slots_alloc() with @b's area as the hint:
 * a run found there is the one pvb_slots_alloc() would have returned.  When
 * the area has no fitting run out of other owners' hot runs, nothing
 * changes and -EAGAIN says so: the caller ends the batch and asks
 * pvb_slots_alloc(), which looks at every area.
 *
 * Return: 0; -EAGAIN; -EINVAL or -E2BIG as pvb_slots_alloc().
 */
int pvb_slots_batch_alloc(struct pvb_slots *s, struct pvb_slots_batch *b,
			  const struct pvb_map_req *req, struct pvb_mapping *m)
	__must_hold(&b->area->lock)
{
	struct pvb_area *a = b->area;
	bool fence = true;
	struct pvb_fit f;
	int i, ret;

	ret = make_fit(s, req, &f);
	if (ret)
		return ret;
	i = area_search_for(s, a, &f, req->owner, &fence);
	if (i < 0)
		return -EAGAIN;
	b->short_by += take_run(s, a, i, req, &f);
	map_run(s, i, req, &f, m);
	return 0;
}

/**
 * pvb_slots_batch_end() - release the batch's area lock.
 * @s: pool.
 * @b: batch begun by pvb_slots_batch_begin().
 *
 * The credit the batch's runs were short of is gathered once, after the
 * unlock, as pvb_slots_alloc() does for each run: the high-water mark is
 * the same as after the same runs taken one call at a time.
 */
void pvb_slots_batch_end(struct pvb_slots *s, struct pvb_slots_batch *b)
	__releases(&b->area->lock)
{
	spin_unlock_irqrestore(&b->area->lock, b->flags);
	if (unlikely(b->short_by))
		gather_credit(s, b->area - s->area, b->short_by);
}

/* Slot number of @bus (its segment is @seg). */
static unsigned int slot_of(const struct pvb_slots *s, unsigned int seg,
			    u64 bus)
{
	return (seg << s->seg_shift) +
	       (unsigned int)((bus - s->segs[seg].bus) >> PVB_SLOT_SHIFT);
}

/*
 * Does segment @seg, found for @bus by a lookup made earlier, still cover
 * it?  A growable pool may have removed the segment and added one at
 * another bus address since (only for an address in no live mapping: a
 * busy segment stays).
 */
static bool seg_covers(const struct pvb_slots *s, unsigned int seg, u64 bus)
{
	u64 base = READ_ONCE(s->segs[seg].bus);

	return bus >= base && !((bus - base) >> s->bus_shift);
}

/*
 * The live mapping holding slot @i (head slot returned, details in @m), or
 * -1.  @locked: the caller holds @i's area lock, so bad metadata is a bug.
 */
static __always_inline int mapping_at(const struct pvb_slots *s,
				      unsigned int i, struct pvb_mapping *m,
				      bool locked)
{
	unsigned int seg = seg_of(s, i);
	struct pvb_head hd;
	bool bad = false;
	int h;

	h = run_at(s, seg, i & (s->seg_slots - 1), &hd, &bad);
	if (h < 0) {
		WARN_ON_ONCE(locked && bad);
		return -1;
	}
	h += seg << s->seg_shift;
	fill_mapping(s, h, &hd, m);
	return h;
}

/**
 * pvb_slots_find_seg() - pvb_slots_find() in a segment already looked up.
 * @s: pool.
 * @seg: pvb_slots_seg_of(@s, @bus), not negative.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Return: 0, or -ENOENT.
 */
int pvb_slots_find_seg(struct pvb_slots *s, int seg, dma_addr_t bus,
		       struct pvb_mapping *m)
{
	struct pvb_mapping tmp;
	struct pvb_area *a;
	unsigned long flags;
	unsigned int i;
	int ret = -ENOENT;

	if (!seg_covers(s, seg, bus))
		return -ENOENT;
	i = slot_of(s, seg, bus);
	a = area_of(s, i);
	spin_lock_irqsave(&a->lock, flags);
	if (mapping_at(s, i, &tmp, true) >= 0 &&
	    READ_ONCE(s->segs[seg].present) &&
	    bus >= tmp.bus && bus - tmp.bus < tmp.size) {
		*m = tmp;
		ret = 0;
	}
	spin_unlock_irqrestore(&a->lock, flags);
	return ret;
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
	int seg = pvb_slots_seg_of(s, bus);

	if (seg < 0)
		return -ENOENT;
	return pvb_slots_find_seg(s, seg, bus, m);
}

/**
 * pvb_slots_find_owned_seg() - pvb_slots_find_owned() in a segment already
 *	looked up.
 * @s: pool.
 * @seg: pvb_slots_seg_of(@s, @bus), not negative.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Return: 0, or -ENOENT.
 */
int pvb_slots_find_owned_seg(const struct pvb_slots *s, int seg,
			     dma_addr_t bus, struct pvb_mapping *m)
{
	struct pvb_mapping tmp;

	if (!seg_covers(s, seg, bus) ||
	    mapping_at(s, slot_of(s, seg, bus), &tmp, false) < 0 ||
	    bus < tmp.bus || bus - tmp.bus >= tmp.size)
		return -ENOENT;
	*m = tmp;
	return 0;
}

/**
 * pvb_slots_find_owned() - pvb_slots_find() without a lock, for the owner.
 * @s: pool.
 * @bus: any bus address inside a live mapping's [bus, bus + size).
 * @m: filled in with that mapping.
 *
 * Return: 0, or -ENOENT.
 */
int pvb_slots_find_owned(const struct pvb_slots *s, dma_addr_t bus,
			 struct pvb_mapping *m)
{
	int seg = pvb_slots_seg_of(s, bus);

	if (seg < 0)
		return -ENOENT;
	return pvb_slots_find_owned_seg(s, seg, bus, m);
}

/* Free the mapping holding slot @i if it starts at @bus; 0 or -ENOENT. */
static int free_at(struct pvb_slots *s, unsigned int i, dma_addr_t bus)
{
	struct pvb_area *a = area_of(s, i);
	struct pvb_mapping tmp;
	unsigned long flags;
	int h, ret = -ENOENT;

	spin_lock_irqsave(&a->lock, flags);
	h = mapping_at(s, i, &tmp, true);
	if (h >= 0 && tmp.bus == bus && READ_ONCE(s->segs[seg_of(s, i)].present)) {
		give_run(s, a, h, head_nslots(s->head[h].delta, tmp.size), false,
			 tmp.owner);
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
	int seg = pvb_slots_seg_of(s, bus);

	if (seg < 0)
		return -ENOENT;
	return free_at(s, slot_of(s, seg, bus), bus);
}

/* pvb_slots_free_mapping() and pvb_slots_undo_mapping() (@undo). */
static int free_mapping(struct pvb_slots *s, const struct pvb_mapping *m,
			bool undo)
{
	unsigned int h = m->head, seg, pos, n;
	const struct pvb_seg_info *si;
	struct pvb_area *a;
	unsigned long flags;
	struct pvb_head hd;
	int ret = -ENOENT;

	if (m->index >= s->max_slabs || h > m->index ||
	    seg_of(s, h) != seg_of(s, m->index))
		return -ENOENT;
	seg = seg_of(s, h);
	si = &s->segs[seg];
	pos = h & (s->seg_slots - 1);
	/* @index must be the slot of @bus. */
	if (m->bus < si->bus ||
	    (m->bus - si->bus) >> PVB_SLOT_SHIFT != (m->index & (s->seg_slots - 1)))
		return -ENOENT;
	a = &s->area[si->area];
	spin_lock_irqsave(&a->lock, flags);
	/* Not the run that stands for an absent segment (growable pools). */
	if (READ_ONCE(si->present) && test_pos(s, s->start_map, seg, pos)) {
		hd = s->head[h];
		n = head_nslots(hd.delta, hd.size);
		if (!WARN_ON_ONCE(!hd.size || n > s->seg_slots - pos) &&
		    si->bus + ((u64)pos << PVB_SLOT_SHIFT) + hd.delta == m->bus &&
		    m->index < h + n && hd.owner == m->owner) {
			give_run(s, a, h, n, undo, m->owner);
			ret = 0;
		}
	}
	spin_unlock_irqrestore(&a->lock, flags);
	return ret;
}

/**
 * pvb_slots_free_mapping() - give back a mapping already looked up.
 * @s: pool.
 * @m: the mapping as alloc or find gave it.
 *
 * Return: 0, or -ENOENT (the pool is left untouched).
 */
int pvb_slots_free_mapping(struct pvb_slots *s, const struct pvb_mapping *m)
{
	return free_mapping(s, m, false);
}

/**
 * pvb_slots_undo_mapping() - give back a mapping whose map is being undone.
 * @s: pool.
 * @m: the mapping as alloc gave it.
 *
 * Return: 0, or -ENOENT (the pool is left untouched).
 */
int pvb_slots_undo_mapping(struct pvb_slots *s, const struct pvb_mapping *m)
{
	return free_mapping(s, m, true);
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
	return pvb_slots_owns(s, bus);
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
	unsigned int used = sum_used(s);
	unsigned int hi = atomic_read(&s->stats.hiwater);

	/* A lock-free sum under concurrent use may add up a peak never had. */
	return min(used, hi);
}

/**
 * pvb_slots_hiwater() - most slots ever in use at once.
 * @s: pool.
 *
 * Return: number of slots, at most @max_slabs (a gather cut short may count
 * more: see gather_credit()).
 */
unsigned int pvb_slots_hiwater(const struct pvb_slots *s)
{
	return min_t(unsigned int, atomic_read(&s->stats.hiwater),
		     s->max_slabs);
}
