// SPDX-License-Identifier: GPL-2.0
/*
 * Hot runs belong to one owner: the run a device has just given back is
 * handed out next to that device, never to another device of the pool
 * while any other free run fits (pvb_slots_alloc(), "Hot runs").  A device
 * that writes after its driver's unmap then cannot reach another device's
 * fresh mapping.
 *
 * Owners are owner tokens (the request's @owner, recorded with the
 * mapping); the tests use 1, 2 and 3, and pvb_slots_new_owner()'s own.
 * Only a mapping's owner can give it back.
 */
#include "slots_test.h"

#define KB(x)	((size_t)(x) << 10)

/* Owner tokens, as pvb_slots_new_owner() hands them out. */
static const u64 owners[3] = { 1, 2, 3 };

#define A	(owners[0])
#define B	(owners[1])
#define C	(owners[2])

static struct pvb_map_req one_slot(u64 owner)
{
	struct pvb_map_req r = { .size = 100, .owner = owner };

	return r;
}

static bool overlaps(const struct pvb_mapping *x, unsigned int xn,
		     const struct pvb_mapping *y, unsigned int yn)
{
	return x->head < y->head + yn && y->head < x->head + xn;
}

/*
 * One area, two segments of 8 slots:
 *
 *   a (A) [0]  free a   b (B) [1], not 0    c (A) [2]: B's take moved on
 *   free c (A)          d (B) [3], not 2
 *   free d (B)          e (B) [3]: B's own run given back is B's next
 */
static void test_other_owner_moves_on(void)
{
	struct pvb_map_req ra = one_slot(A), rb = one_slot(B);
	struct pvb_mapping a, b, c, d, e;
	struct tpool p;
	u64 rng = 11;

	tpool_make(&p, 2, KB(16), 1, LAYOUT_CONTIG, 0x300000, &rng);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a) && a.index == 0, "a in slot %u", a.index);
	expect(a.owner == A, "alloc records the owner");
	expect(!pvb_slots_free_mapping(&p.s, &a), "a freed by A");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &b) && b.index == 1,
	       "B's map does not get A's slot just given back (slot %u)", b.index);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &c) && c.index == 2,
	       "A's next map after B's: next fit (slot %u)", c.index);
	expect(!pvb_slots_free_mapping(&p.s, &c), "c freed by A");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &d) && d.index == 3,
	       "B's map does not get A's slot 2 (slot %u)", d.index);
	expect(!pvb_slots_free_mapping(&p.s, &d), "d freed by B");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &e) && e.index == d.index,
	       "B reuses its own slot: %u (was %u)", e.index, d.index);
	expect(!pvb_slots_free_mapping(&p.s, &b) && !pvb_slots_free_mapping(&p.s, &e),
	       "freed");
	expect(pvb_slots_used(&p.s) == 0, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("an owner's hot run is its own: another owner's map goes elsewhere");
}

/*
 * Several runs given back in a row (LIFO, as a queue's completions) stay
 * A's while A takes them one by one; B meets none of them:
 *
 *   A: x0 x1 x2 [0..2]  free x2 x1 x0   A: y0 [0]   B: z [3]   A: y1 [1]
 */
static void test_chain(void)
{
	struct pvb_map_req ra = one_slot(A), rb = one_slot(B);
	struct pvb_mapping x[3], y0, y1, z;
	struct tpool p;
	u64 rng = 12;
	int i;

	tpool_make(&p, 2, KB(16), 1, LAYOUT_CONTIG, 0x300000, &rng);
	for (i = 0; i < 3; i++)
		expect(!pvb_slots_alloc(&p.s, &ra, 0, &x[i]) && x[i].index == (unsigned int)i,
		       "x%d in slot %u", i, x[i].index);
	for (i = 2; i >= 0; i--)
		expect(!pvb_slots_free_mapping(&p.s, &x[i]), "x%d freed", i);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &y0) && y0.index == 0, "A: y0 in %u", y0.index);
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &z) && z.index == 3,
	       "B: z in %u, past A's hot slots 1 and 2", z.index);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &y1) && y1.index == 4,
	       "A after B took a run: y1 in %u (next fit)", y1.index);
	expect(!pvb_slots_free_mapping(&p.s, &y0) && !pvb_slots_free_mapping(&p.s, &y1) &&
	       !pvb_slots_free_mapping(&p.s, &z), "freed");
	tpool_free(&p);
	point("runs given back in a row stay the owner's; another owner's map passes them");
}

/*
 * Two areas of one segment (8 slots each).  Area 0: A's hot run at slot 0,
 * every other slot taken.  B, searching area 0 first (cpu_hint 0), gets
 * area 1 rather than A's slot; once area 1 is full too, A's slot is the only
 * room in the pool and B gets it (the search stays exact).
 */
static void test_other_area_first(void)
{
	struct pvb_map_req ra = one_slot(A), rb = one_slot(B), rc = one_slot(C);
	struct pvb_map_req whole = { .size = 8 * SLOT, .owner = C };
	struct pvb_mapping a, r[7], b, full, b2;
	struct tpool p;
	u64 rng = 13;
	int i;

	tpool_make(&p, 2, KB(16), 2, LAYOUT_CONTIG, 0x300000, &rng);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a) && a.index == 0, "a in %u", a.index);
	for (i = 0; i < 7; i++)
		expect(!pvb_slots_alloc(&p.s, &rc, 0, &r[i]) && r[i].index == 1U + i,
		       "slot %d of area 0 taken: %u", 1 + i, r[i].index);
	expect(!pvb_slots_free_mapping(&p.s, &a), "a freed by A");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &b) && b.index >= 8,
	       "B gets area 1 (slot %u), not A's slot 0", b.index);
	expect(!pvb_slots_free_mapping(&p.s, &b), "b freed");
	expect(!pvb_slots_alloc(&p.s, &whole, 1, &full) && full.index == 8, "area 1 filled");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &b2) && b2.index == 0,
	       "A's hot slot is the only room left: B gets it (%u)", b2.index);
	expect(pvb_slots_alloc(&p.s, &ra, 0, &a) == -ENOMEM, "then the pool is full");
	expect(!pvb_slots_free_mapping(&p.s, &b2) && !pvb_slots_free_mapping(&p.s, &full),
	       "freed");
	for (i = 0; i < 7; i++)
		expect(!pvb_slots_free_mapping(&p.s, &r[i]), "freed");
	expect(pvb_slots_used(&p.s) == 0, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("another owner takes any other area's room first, the hot slots last");
}

/*
 * A run of another owner may not start before the hot runs and reach into
 * them.  Two areas of one segment of 16 slots; area 0 set up as
 *
 *   slot: 0 1 2 | 3    | 4        | 5 ........ 15
 *         used  | free | A's, hot | used
 *
 * B's two-slot map would fit only at 3-4: it gets area 1 instead; with
 * area 1 full, 3-4 is all the room there is, and B gets it.
 */
static void test_fence(void)
{
	struct pvb_map_req ra = one_slot(A), rc = one_slot(C);
	struct pvb_map_req two = { .size = 3000, .owner = B };
	struct pvb_map_req whole = { .size = 16 * SLOT, .owner = C };
	struct pvb_mapping x[16], a3, a4, b, full;
	struct tpool p;
	u64 rng = 15;
	int i;

	tpool_make(&p, 2, KB(32), 2, LAYOUT_CONTIG, 0x300000, &rng);
	for (i = 0; i < 16; i++)
		expect(!pvb_slots_alloc(&p.s, &rc, 0, &x[i]) && x[i].index == (unsigned int)i,
		       "x%d at %u", i, x[i].index);
	expect(!pvb_slots_free_mapping(&p.s, &x[4]) && !pvb_slots_free_mapping(&p.s, &x[3]),
	       "3 and 4 given back (cold)");
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a3) && a3.index == 3, "A at %u", a3.index);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a4) && a4.index == 4, "A at %u", a4.index);
	expect(!pvb_slots_free_mapping(&p.s, &a3) && !pvb_slots_free_mapping(&p.s, &a4),
	       "A gives back 3, then 4 (hot)");
	expect(!pvb_slots_alloc(&p.s, &two, 0, &b) && b.index >= 16,
	       "B's two slots in area 1 (%u), not over A's hot slot 4", b.index);
	expect(!pvb_slots_free_mapping(&p.s, &b), "b freed");
	expect(!pvb_slots_alloc(&p.s, &whole, 1, &full) && full.index == 16, "area 1 filled");
	expect(!pvb_slots_alloc(&p.s, &two, 0, &b) && b.index == 3,
	       "only 3-4 left: B gets it (%u)", b.index);
	expect(!pvb_slots_free_mapping(&p.s, &b) && !pvb_slots_free_mapping(&p.s, &full),
	       "freed");
	for (i = 0; i < 16; i++)
		if (i != 3 && i != 4)
			expect(!pvb_slots_free_mapping(&p.s, &x[i]), "x%d freed", i);
	expect(pvb_slots_used(&p.s) == 0, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("another owner's run does not reach into the hot runs from before them");
}

/*
 * Random maps and unmaps by three owners in one area (sizes and rules
 * varied).  Whenever the operation before was an owner giving back the run
 * taken last in the pool, the next map is by another owner: its run must
 * not overlap that one while any run avoiding it fits (brute force).  All
 * the usual checks hold (tcheck_map), and maps fail only when nothing fits.
 */
#define LIVE	24
static void test_random(void)
{
	struct {
		struct pvb_map_req r;
		struct pvb_mapping m;
		bool live;
	} live[LIVE];
	struct pvb_mapping last = { 0 }, m;
	unsigned int last_n = 0, nsl;
	struct tpool p;
	u64 rng = 14;
	bool just_freed_last = false, have_last = false;
	int k, step, who = 0, id = 1;

	memset(live, 0, sizeof(live));
	tpool_make(&p, 4, KB(32), 1, LAYOUT_SHUFFLED, 0x500000, &rng);
	for (step = 0; step < 20000; step++) {
		k = rnd_below(&rng, LIVE);
		if (live[k].live && !just_freed_last) {
			struct trule t;

			trule_of(&live[k].r, &t);
			just_freed_last = have_last && live[k].m.head == last.head;
			who = live[k].r.owner == A ? 0 : live[k].r.owner == B ? 1 : 2;
			tforget_map(&p, &live[k].r, &live[k].m);
			expect(!pvb_slots_free_mapping(&p.s, &live[k].m), "step %d: free", step);
			live[k].live = false;
			continue;
		}
		if (live[k].live) {
			/* the next op must be a map: use another index */
			for (k = 0; k < LIVE && live[k].live; k++)
				;
			if (k == LIVE) {
				just_freed_last = false;
				continue;
			}
		}
		live[k].r = treq(rnd(&rng), 1 + rnd_below(&rng, 3 * SLOT),
				 rnd_below(&rng, 2) ? 0xfff : 0,
				 rnd_below(&rng, 4) ? 0 : 0x1fff,
				 rnd_below(&rng, 4) ? 0 : 0x3fff);
		/* after a free of the last run: another owner maps */
		live[k].r.owner = owners[just_freed_last ? (who + 1 + rnd_below(&rng, 2)) % 3 :
					 rnd_below(&rng, 3)];
		if (pvb_slots_alloc(&p.s, &live[k].r, 0, &m)) {
			expect(!tbrute_fit(&p, &live[k].r, true), "step %d: refused though a run fits",
			       step);
			just_freed_last = false;
			continue;
		}
		nsl = DIV_ROUND_UP(m.bus - tslot_bus(&p, m.head) + m.size, SLOT);
		if (just_freed_last && overlaps(&m, nsl, &last, last_n)) {
			unsigned int i;
			bool other;

			/* is there room that avoids the freed run? */
			for (i = 0; i < last_n; i++)
				p.owner[last.head + i] = 999;
			other = tbrute_fit(&p, &live[k].r, true);
			for (i = 0; i < last_n; i++)
				p.owner[last.head + i] = -1;
			expect(!other, "step %d: owner %d's map got slot %u of the run owner %d just gave back (%u+%u) while other room fits",
			       step, (int)(live[k].r.owner == A ? 0 : live[k].r.owner == B ? 1 : 2),
			       m.head, who, last.head, last_n);
		}
		just_freed_last = false;
		tcheck_map(&p, &live[k].r, &m, id++);
		live[k].m = m;
		live[k].live = true;
		last = m;
		last_n = nsl;
		have_last = true;
	}
	for (k = 0; k < LIVE; k++)
		if (live[k].live)
			expect(!pvb_slots_free_mapping(&p.s, &live[k].m), "final free");
	expect(pvb_slots_used(&p.s) == 0, "used %u at the end", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("random: a map by another owner never overlaps the run just given back while other room fits");
}

/*
 * A mapping records its owner; only that owner gives it back.  One area,
 * one segment of 8 slots:
 *
 *   A: a [0]   C: [1..7]   A frees a   B: b [0] (the only room)
 *   A frees a again (its stale record): refused, b still B's and live
 */
static void test_free_by_owner_only(void)
{
	struct pvb_map_req ra = one_slot(A), rb = one_slot(B), rc = one_slot(C);
	struct pvb_mapping a, b, r[7], f;
	struct tpool p;
	u64 rng = 16;
	int i;

	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x300000, &rng);
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a) && a.index == 0, "a in %u", a.index);
	for (i = 0; i < 7; i++)
		expect(!pvb_slots_alloc(&p.s, &rc, 0, &r[i]), "slot %d taken", 1 + i);
	expect(!pvb_slots_find_owned(&p.s, a.bus, &f) && f.owner == A &&
	       !pvb_slots_find(&p.s, a.bus + 99, &f) && f.owner == A,
	       "the lookups report the owner (%llu)", (unsigned long long)f.owner);
	expect(!pvb_slots_free_mapping(&p.s, &a), "a freed by A");
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &b) && b.bus == a.bus && b.owner == B,
	       "B gets the slot A gave back (%u)", b.index);
	expect(pvb_slots_free_mapping(&p.s, &a) == -ENOENT,
	       "A's second free of its stale mapping frees nothing");
	expect(pvb_slots_used(&p.s) == 8, "used %u", pvb_slots_used(&p.s));
	expect(!pvb_slots_find_owned(&p.s, a.bus, &f) && f.owner == B,
	       "the lookup at that address reports B (%llu): unknown to A",
	       (unsigned long long)f.owner);
	f.owner = A;
	expect(pvb_slots_free_mapping(&p.s, &f) == -ENOENT &&
	       pvb_slots_undo_mapping(&p.s, &f) == -ENOENT,
	       "B's mapping looked up, given back as A's: refused");
	expect(!pvb_slots_find(&p.s, b.bus, &f) && f.owner == B, "b still live");
	expect(!pvb_slots_free_mapping(&p.s, &b), "b freed by B");
	for (i = 0; i < 7; i++)
		expect(!pvb_slots_free_mapping(&p.s, &r[i]), "freed");
	expect(pvb_slots_used(&p.s) == 0, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("a mapping is given back only by its owner: a stale second free by another owner frees nothing");
}

/*
 * Tokens, not addresses: a device attached after another was torn down
 * gets a new token, so it does not inherit the old one's hot run (a
 * pvb_device address would often be the same).
 *
 *   old: x [0], free x (hot for old)   new: y [1], not 0
 */
static void test_new_token(void)
{
	u64 t1 = pvb_slots_new_owner(), t2 = pvb_slots_new_owner();
	struct pvb_map_req r1 = one_slot(t1), r2 = one_slot(t2);
	struct pvb_mapping x, y;
	struct tpool p;
	u64 rng = 17;

	expect(t1 && t2 && t1 != t2, "two tokens differ and are not 0 (%llu, %llu)",
	       (unsigned long long)t1, (unsigned long long)t2);
	tpool_make(&p, 1, KB(16), 1, LAYOUT_CONTIG, 0x300000, &rng);
	expect(!pvb_slots_alloc(&p.s, &r1, 0, &x) && x.index == 0, "x in %u", x.index);
	expect(!pvb_slots_free_mapping(&p.s, &x), "x freed by the old device");
	expect(!pvb_slots_alloc(&p.s, &r2, 0, &y) && y.index == 1,
	       "the new device's map does not get the old one's hot slot (%u)", y.index);
	expect(!pvb_slots_free_mapping(&p.s, &y), "y freed");
	tpool_free(&p);
	point("owner tokens are never reused: a new device does not inherit hot runs");
}

/*
 * Pass 1 searches every area that pass 0 fenced, whatever their hot runs
 * are by then.  Two areas of one segment of 8 slots; area 0:
 *
 *   slot: 0 1 | 2 3       | 4 | 5    | 6 7
 *         used| A's, hot  |use| free | used       area 1: full
 *
 * B asks for two slots.  Pass 0 keeps out of 2-3 in area 0 and finds
 * area 1 full.  Just before it locks area 1, C takes slot 5 (the hook):
 * area 0's hot runs end, 2-3 stay free.  B must get 2-3.
 */
static struct tpool *hook_pool;
static int hook_locks;
static bool hook_ok;
static struct pvb_mapping hook_c;

static void take_slot5(spinlock_t *l)
{
	struct pvb_map_req rc = one_slot(C);

	if (++hook_locks != 2)
		return;
	shim_lock_hook = NULL;
	hook_ok = !pvb_slots_alloc(&hook_pool->s, &rc, 0, &hook_c) && hook_c.index == 5;
}

static void test_pass1_after_hot_ended(void)
{
	struct pvb_map_req ra = { .size = 3000, .owner = A }, rb = ra;
	struct pvb_map_req rc = one_slot(C);
	struct pvb_map_req whole = { .size = 8 * SLOT, .owner = C };
	struct pvb_mapping x[8], a, b, full;
	struct tpool p;
	u64 rng = 18;
	int i;

	rb.owner = B;
	tpool_make(&p, 2, KB(16), 2, LAYOUT_CONTIG, 0x300000, &rng);
	for (i = 0; i < 8; i++)
		expect(!pvb_slots_alloc(&p.s, &rc, 0, &x[i]) && x[i].index == (unsigned int)i,
		       "x%d at %u", i, x[i].index);
	expect(!pvb_slots_free_mapping(&p.s, &x[5]) && !pvb_slots_free_mapping(&p.s, &x[2]) &&
	       !pvb_slots_free_mapping(&p.s, &x[3]), "2, 3 and 5 given back (cold)");
	expect(!pvb_slots_alloc(&p.s, &ra, 0, &a) && a.index == 2, "A at %u", a.index);
	expect(!pvb_slots_free_mapping(&p.s, &a), "A gives 2-3 back (hot)");
	expect(!pvb_slots_alloc(&p.s, &whole, 1, &full) && full.index == 8, "area 1 filled");
	hook_pool = &p;
	hook_locks = 0;
	hook_ok = false;
	shim_lock_hook = take_slot5;
	expect(!pvb_slots_alloc(&p.s, &rb, 0, &b) && b.index == 2,
	       "B gets 2-3, fenced in pass 0, no longer hot in pass 1 (slot %u)",
	       b.index);
	shim_lock_hook = NULL;
	expect(hook_ok, "C took slot 5 between the passes (%u)", hook_c.index);
	expect(!pvb_slots_free_mapping(&p.s, &b) && !pvb_slots_free_mapping(&p.s, &full) &&
	       (!hook_ok || !pvb_slots_free_mapping(&p.s, &hook_c)), "freed");
	for (i = 0; i < 8; i++)
		if (i != 2 && i != 3 && i != 5)
			expect(!pvb_slots_free_mapping(&p.s, &x[i]), "x%d freed", i);
	expect(pvb_slots_used(&p.s) == 0, "used %u", pvb_slots_used(&p.s));
	tpool_free(&p);
	point("a map finds a free run that pass 0 fenced, though its hot runs ended before pass 1");
}

int main(void)
{
	test_other_owner_moves_on();
	test_chain();
	test_other_area_first();
	test_fence();
	test_free_by_owner_only();
	test_new_token();
	test_pass1_after_hot_ended();
	test_random();
	return tap_done();
}
