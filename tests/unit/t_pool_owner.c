// SPDX-License-Identifier: GPL-2.0
/*
 * pvb_pool_unmap() and pvb_pool_sync() on a mapping of another owner, and
 * an unmap whose free fails: each is reported PVB_MISUSE_UNKNOWN with
 * nothing freed and nothing copied, so dma_ops.c's unmap_bus() puts no
 * reference.  src/pool.c itself is built here, against the shim (a
 * "physical" address is the buffer's own address); pool_grow.c's calls are
 * stubs, as for a pool of fixed size.
 */
#include "pool_c.h"

#define NSLOTS	8
#define TOK_A	1
#define TOK_B	2
#define TOK_C	3

static u8 seg_mem[NSLOTS * SLOT];

/* A pool of one segment of 8 slots at bus 0x400000, as pvb_pool_create() leaves it. */
static void pool_make(struct pvb_pool *p)
{
	struct pvb_seg seg = { .bus = 0x400000, .cpu = seg_mem };

	memset(p, 0, sizeof(*p));
	memcpy(p->name, "test", sizeof("test"));
	expect(!pvb_slots_init(&p->slots, &seg, 1, sizeof(seg_mem), 1), "slots init");
	p->seg_size = sizeof(seg_mem);
	p->dir = kvmalloc(p->slots.max_slabs, GFP_KERNEL);
	memset(p->dir, DMA_NONE, p->slots.max_slabs);
}

static void pool_free(struct pvb_pool *p)
{
	kvfree(p->dir);
	pvb_slots_destroy(&p->slots);
}

static dma_addr_t map(struct pvb_pool *p, void *buf, size_t size, u64 owner)
{
	struct pvb_bounce b = {
		.orig = (phys_addr_t)(uintptr_t)buf,
		.size = size,
		.dir = DMA_BIDIRECTIONAL,
		.owner = owner,
	};
	dma_addr_t bus = 0;

	expect(!pvb_pool_map(p, &b, &bus), "map of %zu bytes by %llu", size,
	       (unsigned long long)owner);
	return bus;
}

/*
 * C holds slots 1-7.  A maps buf_a at slot 0 and unmaps it; B maps buf_b
 * there (the only room).  A's driver unmaps the same address again, and
 * syncs it: unknown to A, B's mapping stays, buf_a is not overwritten.
 */
static void test_other_owner(void)
{
	static u8 buf_a[100], buf_b[100], buf_c[100];
	dma_addr_t a, b, c[NSLOTS - 1];
	struct pvb_pool p;
	unsigned int misuse;
	size_t copied = 1;
	int i;

	pool_make(&p);
	memset(buf_c, 'c', sizeof(buf_c));
	a = map(&p, buf_a, sizeof(buf_a), TOK_A);
	for (i = 0; i < NSLOTS - 1; i++)
		c[i] = map(&p, buf_c, sizeof(buf_c), TOK_C);
	expect(!pvb_pool_unmap(&p, a, sizeof(buf_a), DMA_BIDIRECTIONAL, true, TOK_A),
	       "A unmaps a");
	memset(buf_b, 'b', sizeof(buf_b));
	b = map(&p, buf_b, sizeof(buf_b), TOK_B);
	expect(b == a, "B's mapping at A's old address (%#llx, %#llx)",
	       (unsigned long long)b, (unsigned long long)a);
	memset(buf_a, 'a', sizeof(buf_a));

	misuse = pvb_pool_unmap(&p, a, sizeof(buf_a), DMA_BIDIRECTIONAL, true, TOK_A);
	expect(misuse == PVB_MISUSE_UNKNOWN, "A's second unmap: unknown (%#x)", misuse);
	expect(pvb_slots_used(&p.slots) == NSLOTS, "nothing freed (used %u)",
	       pvb_slots_used(&p.slots));
	expect(buf_a[0] == 'a' && buf_a[99] == 'a', "nothing copied into A's buffer");

	misuse = pvb_pool_sync(&p, a + 10, 20, DMA_BIDIRECTIONAL, true, TOK_A, &copied);
	expect(misuse == PVB_MISUSE_UNKNOWN && !copied && buf_a[10] == 'a',
	       "A's sync_for_cpu there: unknown, nothing copied (%#x, %zu)", misuse, copied);
	memset(buf_a, 'x', sizeof(buf_a));
	misuse = pvb_pool_sync(&p, a, 100, DMA_BIDIRECTIONAL, false, TOK_A, &copied);
	expect(misuse == PVB_MISUSE_UNKNOWN && !copied && seg_mem[0] == 'b',
	       "A's sync_for_device there: unknown, B's bounce copy untouched (%#x, %zu)",
	       misuse, copied);

	memset(seg_mem, 'B', 100);
	misuse = pvb_pool_sync(&p, b, 100, DMA_BIDIRECTIONAL, true, TOK_B, &copied);
	expect(!misuse && copied == 100 && buf_b[0] == 'B', "B's own sync copies (%#x, %zu)",
	       misuse, copied);
	expect(!pvb_pool_unmap(&p, b, sizeof(buf_b), DMA_BIDIRECTIONAL, true, TOK_B),
	       "B unmaps b");
	for (i = 0; i < NSLOTS - 1; i++)
		expect(!pvb_pool_unmap(&p, c[i], sizeof(buf_c), DMA_BIDIRECTIONAL, true, TOK_C),
		       "C unmaps");
	expect(pvb_slots_used(&p.slots) == 0, "used %u", pvb_slots_used(&p.slots));
	pool_free(&p);
	point("unmap and sync of another owner's mapping: unknown, nothing freed or copied");
}

/*
 * Two CPUs unmap the same address at once: both find the mapping without
 * a lock, one gives it back first.  The shim's lock hook plays the other
 * CPU: just before this unmap's free takes the area lock, the mapping is
 * given back.  This unmap's free then fails: unknown.
 */
static struct pvb_pool *race_pool;
static dma_addr_t race_bus;
static int race_ret = 1;

static void other_cpu_unmaps(spinlock_t *l)
{
	shim_lock_hook = NULL;
	race_ret = pvb_slots_free(&race_pool->slots, race_bus);
}

static void test_free_fails(void)
{
	static u8 buf[300];
	struct pvb_pool p;
	unsigned int misuse;
	dma_addr_t bus;

	pool_make(&p);
	bus = map(&p, buf, sizeof(buf), TOK_A);
	race_pool = &p;
	race_bus = bus;
	shim_lock_hook = other_cpu_unmaps;
	misuse = pvb_pool_unmap(&p, bus, sizeof(buf), DMA_BIDIRECTIONAL, true, TOK_A);
	shim_lock_hook = NULL;
	expect(!race_ret, "the other CPU's free went first (%d)", race_ret);
	expect(misuse & PVB_MISUSE_UNKNOWN, "this unmap's free failed: unknown (%#x)", misuse);
	expect(pvb_slots_used(&p.slots) == 0, "used %u", pvb_slots_used(&p.slots));
	pool_free(&p);
	point("an unmap whose free fails (a concurrent unmap won) is unknown");
}

int main(void)
{
	test_other_owner();
	test_free_fails();
	return tap_done();
}
