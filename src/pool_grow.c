// SPDX-License-Identifier: GPL-2.0
/*
 * Pools that grow under load and shrink when idle (pool_max_mb).
 *
 * A growable pool's slot allocator was made with room for every segment it
 * may ever hold (pvb_slots_init_growable()), so growing never reallocates
 * anything the map path reads.  One delayed work item per pool does all the
 * work, under the pool's resize_lock:
 *
 *   grow    when a map was refused (pool full), when the slots in use cross
 *           3/4 of the pool, or while the pool is below its target
 *           (pool_mb or @size, when the load got less): one segment-sized
 *           chunk at a time from the backend (XENMEM_exchange on Xen,
 *           zone-aware pages natively, the path the pool took at load),
 *           up to the limit (below).  A backend failure stops growth for
 *           PVB_GROW_RETRY with a message; I/O goes on in what there is.
 *   shrink  a chunk added by growth whose segment has had no slot in use
 *           for the idle delay (10 s, debugfs fail/shrink_idle_ms for
 *           tests) is taken out of the allocator's view, only if it is
 *           still empty then (pvb_slots_remove_seg()), and given back to
 *           the backend (exchanged back on Xen).  Never below the target,
 *           never a chunk the pool got at creation, and only while the rest
 *           would be at most half used (so that it does not grow again at
 *           once).
 *
 * The map path never waits: a map that finds the pool full fails at once
 * (it may be atomic), counts as "pool full, growing" and kicks the work;
 * a successful one above the high mark kicks it too.  Both only when the
 * static key pvb_grow_key is on (some pool can grow), out of line.
 *
 * Limit: the common pool max(pool_mb, pool_max_mb), a private pool 4x its
 * @size when pool_max_mb is not 0, its @size otherwise; read at each
 * decision, so pool_max_mb written at run time takes effect, within the
 * capacity the pool was made with (a pool made while pool_max_mb was 0
 * stays fixed).  Lowering it lets grown chunks go when they are idle.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/workqueue.h>
#include <pvbounce/pool.h>
#include <pvbounce/trace.h>

/* A pool grows when more than this fraction of its slots is in use. */
#define PVB_GROW_MARK(nslabs)	((nslabs) / 4 * 3)
/* Chunks added per run of the work before it lets others run. */
#define PVB_GROW_BATCH		8
/* After the backend could not give a chunk: wait this long to try again. */
#define PVB_GROW_RETRY		(5 * HZ)
/* Default idle delay before a grown chunk is given back. */
#define PVB_SHRINK_IDLE_MS	10000

DEFINE_STATIC_KEY_FALSE(pvb_grow_key);

/* debugfs fail/shrink_idle_ms: the idle delay in ms for tests (0: default). */
u32 pvb_shrink_idle_ms;

/**
 * struct pvb_grow - growth state of one pool.
 * @p: the pool.
 * @work: grows and shrinks; runs on system_unbound_wq.
 * @base: chunks the pool got at creation (@p->chunks[0..@base)): kept.
 * @chunk_cap: entries allocated in @p->chunks.
 * @seg: per grown chunk (index in @p->chunks less @base), its segment.
 * @busy_at: per grown chunk, jiffies when a slot of it was last seen used.
 * @common: this is the common pool (see limit_bytes()).
 * @mark: slots in use above which the map path kicks the work.
 * @kicked: the work is queued to run now (set by the map path).
 * @refused: a map found the pool full since the work last looked.
 * @stalled: the backend failed; no growth before @retry_at.
 * @retry_at: see @stalled.
 */
struct pvb_grow {
	struct pvb_pool *p;
	struct delayed_work work;
	unsigned int base;
	unsigned int chunk_cap;
	unsigned int *seg;
	unsigned long *busy_at;
	bool common;
	unsigned int mark;
	bool kicked;
	bool refused;
	bool stalled;
	unsigned long retry_at;
};

/**
 * pvb_pool_resized() - a pool changed size (grew or shrank by a chunk).
 * @p: the pool.
 * @old_bytes: its size before.
 * @new_bytes: its size now.
 *
 * The one place a resize is reported: pr_debug and the tracepoint
 * pvbounce_pool_resize.
 *
 * Context: process, @p->resize_lock held.
 */
void pvb_pool_resized(struct pvb_pool *p, size_t old_bytes, size_t new_bytes)
{
	pr_debug("pool %s: %zu KiB -> %zu KiB\n", p->name, old_bytes >> 10,
		 new_bytes >> 10);
	pvb_trace_pool_resize(p, old_bytes, new_bytes);
}

/* Bytes of the pool's capacity (its slot numbers). */
static size_t cap_bytes(const struct pvb_pool *p)
{
	return (size_t)p->slots.max_slabs << PVB_SLOT_SHIFT;
}

/* The size the pool may grow to now (see the head comment). */
static size_t limit_bytes(const struct pvb_pool *p)
{
	size_t max = (size_t)READ_ONCE(pvb_pool_max_mb) << 20;
	size_t lim = p->target;

	if (max && p->grow->common)
		lim = max(lim, max);
	else if (max)
		lim = 4 * p->target;
	return min(lim, cap_bytes(p));
}

/**
 * pvb_pool_max_slabs() - slots a pool may hold at most now.
 * @p: pool.
 *
 * Return: its limit under pool_max_mb in slots, or its size if it is fixed.
 */
unsigned int pvb_pool_max_slabs(const struct pvb_pool *p)
{
	if (!p->grow)
		return p->slots.nslabs;
	return max_t(size_t, limit_bytes(p) >> PVB_SLOT_SHIFT, p->slots.nslabs);
}

/**
 * pvb_pool_growing() - would growth serve a map that found the pool full?
 * @p: pool.
 *
 * Return: true if @p may grow and is not at its limit nor stalled.
 */
bool pvb_pool_growing(const struct pvb_pool *p)
{
	struct pvb_grow *g = p->grow;

	return g && !READ_ONCE(g->stalled) &&
	       pvb_pool_bytes(p) + p->seg_size <= limit_bytes(p);
}

static void kick(struct pvb_grow *g)
{
	if (READ_ONCE(g->kicked))
		return;
	WRITE_ONCE(g->kicked, true);
	mod_delayed_work(system_unbound_wq, &g->work, 0);
}

/**
 * pvb_pool_grow_note() - the map path's word to the growth work.
 * @p: pool a map was just tried on.
 * @ret: what pvb_slots_alloc() said.
 *
 * Called only while pvb_grow_key is on.  A refusal (-ENOMEM) counts as
 * "pool full, growing" when the pool can grow and kicks the work; a
 * success kicks it when the slots in use are above the high mark.  Takes
 * no lock; a kick already pending costs one read.
 *
 * Context: any (maps may be atomic).
 */
void pvb_pool_grow_note(struct pvb_pool *p, int ret)
{
	struct pvb_grow *g = p->grow;

	if (!g)
		return;
	if (ret == -ENOMEM) {
		if (!pvb_pool_growing(p))
			return;
		atomic_long_inc(&p->full_growing);
		if (!READ_ONCE(g->refused))
			WRITE_ONCE(g->refused, true);
		kick(g);
		return;
	}
	if (!ret && !READ_ONCE(g->kicked) && !READ_ONCE(g->stalled) &&
	    atomic_read(&p->slots.stats.approx) > (int)READ_ONCE(g->mark))
		kick(g);
}

static void set_mark(struct pvb_grow *g)
{
	WRITE_ONCE(g->mark, PVB_GROW_MARK(g->p->slots.nslabs));
}

/* Should the work add a chunk now?  @refused: a map was refused. */
static bool want_grow(struct pvb_grow *g, bool refused)
{
	struct pvb_pool *p = g->p;

	if (g->stalled || pvb_pool_bytes(p) + p->seg_size > limit_bytes(p) ||
	    p->nchunks >= g->chunk_cap)
		return false;
	return refused || pvb_pool_bytes(p) < p->target ||
	       pvb_slots_used(&p->slots) > PVB_GROW_MARK(p->slots.nslabs);
}

/* Add one segment-sized chunk; 0 or a negative errno (growth stalls). */
static int grow_one(struct pvb_grow *g)
	__must_hold(&g->p->resize_lock)
{
	struct pvb_pool *p = g->p;
	size_t old = pvb_pool_bytes(p);
	unsigned int i = p->nchunks;
	struct pvb_chunk c;
	int seg, ret;

	ret = pvb_chunk_alloc(p->be, get_order(p->seg_size), p->slots.bus_span,
			      GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, &c);
	if (ret)
		goto stall;
	seg = pvb_slots_add_seg(&p->slots, c.bus, page_address(c.page));
	if (seg < 0) {
		p->be->chunk_free(&c);
		ret = seg;
		goto stall;
	}
	p->chunks[i] = c;
	g->seg[i - g->base] = seg;
	g->busy_at[i - g->base] = jiffies;
	WRITE_ONCE(p->nchunks, i + 1);
	WRITE_ONCE(p->grows, p->grows + 1);
	set_mark(g);
	pvb_pool_resized(p, old, pvb_pool_bytes(p));
	return 0;

stall:
	WRITE_ONCE(p->grow_failures, p->grow_failures + 1);
	WRITE_ONCE(g->stalled, true);
	g->retry_at = jiffies + PVB_GROW_RETRY;
	pr_warn("pool %s: growth stopped at %zu KiB: the %s backend gave no %zu KiB chunk below %#llx (%d); I/O goes on in what there is, next try in %u s\n",
		p->name, old >> 10, p->be->name, p->seg_size >> 10,
		(u64)p->slots.bus_span, ret, PVB_GROW_RETRY / HZ);
	return ret;
}

static unsigned long idle_delay(void)
{
	u32 ms = READ_ONCE(pvb_shrink_idle_ms);

	return msecs_to_jiffies(ms ? ms : PVB_SHRINK_IDLE_MS);
}

/* Give back grown chunks idle for the idle delay; the count given back. */
static unsigned int shrink_idle(struct pvb_grow *g)
	__must_hold(&g->p->resize_lock)
{
	struct pvb_pool *p = g->p;
	unsigned long now = jiffies, idle = idle_delay();
	unsigned int i, n = 0, last;

	for (i = p->nchunks; i-- > g->base;) {
		unsigned int k = i - g->base, seg = g->seg[k];
		size_t old = pvb_pool_bytes(p);
		unsigned int rest = p->slots.nslabs - p->slots.seg_slots;

		if (pvb_slots_seg_busy(&p->slots, seg)) {
			g->busy_at[k] = now;
			continue;
		}
		if (time_before(now, g->busy_at[k] + idle))
			continue;
		/* Over the limit (pool_max_mb lowered), the target still holds. */
		if (old - p->seg_size < p->target ||
		    pvb_slots_used(&p->slots) > rest / 2)
			continue;
		if (pvb_slots_remove_seg(&p->slots, seg)) {
			g->busy_at[k] = now;
			continue;
		}
		/* A stale lock-free lookup of it now finds no mapping. */
		WRITE_ONCE(p->dir[seg << p->slots.seg_shift], DMA_NONE);
		p->be->chunk_free(&p->chunks[i]);
		last = p->nchunks - 1;
		p->chunks[i] = p->chunks[last];
		g->seg[k] = g->seg[last - g->base];
		g->busy_at[k] = g->busy_at[last - g->base];
		WRITE_ONCE(p->nchunks, last);
		WRITE_ONCE(p->shrinks, p->shrinks + 1);
		set_mark(g);
		pvb_pool_resized(p, old, pvb_pool_bytes(p));
		n++;
	}
	return n;
}

static void grow_work(struct work_struct *work)
{
	struct pvb_grow *g = container_of(to_delayed_work(work),
					  struct pvb_grow, work);
	struct pvb_pool *p = g->p;
	unsigned int n = 0, shrunk;
	size_t before;
	bool refused, again;
	unsigned long next = 0;

	mutex_lock(&p->resize_lock);
	before = pvb_pool_bytes(p);
	WRITE_ONCE(g->kicked, false);
	refused = READ_ONCE(g->refused);
	WRITE_ONCE(g->refused, false);
	if (g->stalled && time_after_eq(jiffies, g->retry_at))
		WRITE_ONCE(g->stalled, false);
	while (n < PVB_GROW_BATCH && want_grow(g, refused && !n)) {
		if (grow_one(g))
			break;
		n++;
	}
	shrunk = n ? 0 : shrink_idle(g);
	again = n == PVB_GROW_BATCH && want_grow(g, false);
	if (n || shrunk)
		pr_info("pool %s: %s to %zu KiB (from %zu KiB; %lu grows, %lu shrinks)\n",
			p->name, n ? "grew" : "shrank", pvb_pool_bytes(p) >> 10,
			before >> 10, p->grows, p->shrinks);
	if (!again) {
		/* Poll while there are grown chunks to watch or a retry due. */
		if (p->nchunks > g->base)
			next = clamp_t(unsigned long, idle_delay() / 4, HZ / 20, HZ);
		if (g->stalled) {
			unsigned long r = max_t(long, g->retry_at - jiffies, 1);

			next = next ? min(next, r) : r;
		}
	}
	mutex_unlock(&p->resize_lock);
	if (again)
		queue_delayed_work(system_unbound_wq, &g->work, 0);
	else if (next)
		queue_delayed_work(system_unbound_wq, &g->work, next);
}

/**
 * pvb_pool_grow_init() - let a pool made growable grow and shrink.
 * @p: pool whose slot allocator pvb_slots_init_growable() made.
 * @max_bytes: size it was made for.
 *
 * Makes room for the chunks growth may add; pvb_pool_grow_start() then
 * starts growing towards the target if the pool got less.
 *
 * Context: process.
 * Return: 0 or -ENOMEM.
 */
int pvb_pool_grow_init(struct pvb_pool *p, size_t max_bytes)
{
	unsigned int extra = p->slots.nsegs;
	struct pvb_chunk *chunks;
	struct pvb_grow *g;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->p = p;
	g->common = !strcmp(p->name, PVB_COMMON_POOL);
	g->base = p->nchunks;
	g->chunk_cap = p->nchunks + extra;
	chunks = kvcalloc(g->chunk_cap, sizeof(*chunks), GFP_KERNEL);
	g->seg = kvcalloc(extra, sizeof(*g->seg), GFP_KERNEL);
	g->busy_at = kvcalloc(extra, sizeof(*g->busy_at), GFP_KERNEL);
	if (!chunks || !g->seg || !g->busy_at) {
		kvfree(chunks);
		kvfree(g->seg);
		kvfree(g->busy_at);
		kfree(g);
		return -ENOMEM;
	}
	memcpy(chunks, p->chunks, p->nchunks * sizeof(*chunks));
	kvfree(p->chunks);
	p->chunks = chunks;
	INIT_DELAYED_WORK(&g->work, grow_work);
	set_mark(g);
	p->grow = g;
	static_branch_inc(&pvb_grow_key);
	return 0;
}

/**
 * pvb_pool_grow_start() - start growing a new pool towards its target.
 * @p: pool; nothing happens if it cannot grow or got its target.
 *
 * Called once the pool's creation is logged, so that its growth lines
 * come after.
 *
 * Context: process.
 */
void pvb_pool_grow_start(struct pvb_pool *p)
{
	if (p->grow && pvb_pool_bytes(p) < p->target)
		kick(p->grow);
}

/**
 * pvb_pool_grow_exit() - stop a pool's growth work (before its teardown).
 * @p: pool; nothing happens if it cannot grow.
 *
 * Grown chunks stay in @p->chunks: pvb_pool_destroy() gives them back with
 * the others.
 *
 * Context: process; @p->resize_lock not held; no map may use @p any more.
 */
void pvb_pool_grow_exit(struct pvb_pool *p)
{
	struct pvb_grow *g = p->grow;

	if (!g)
		return;
	cancel_delayed_work_sync(&g->work);
	static_branch_dec(&pvb_grow_key);
	p->grow = NULL;
	kvfree(g->seg);
	kvfree(g->busy_at);
	kfree(g);
}
