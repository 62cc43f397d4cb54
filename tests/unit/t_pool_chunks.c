// SPDX-License-Identifier: GPL-2.0
/*
 * get_chunks(), pvb_pool_create()'s search for chunks: asked for nothing,
 * it asks the backend for nothing and says nothing was had (-ENOMEM, never
 * an unset value); asked for some, it steps the order down on a shortage
 * and keeps what it had.  src/pool.c itself is built here against the shim,
 * with every automatic variable filled with a pattern (Makefile), so that
 * one read before it is set gives a wrong answer every time.
 */
#include "pool_c.h"

/* A backend with @fake_left chunks of at most order @fake_max_order. */
static unsigned int fake_calls, fake_left, fake_max_order;

static int fake_alloc(unsigned int order, u64 mask, gfp_t gfp,
		      struct pvb_chunk *c)
{
	fake_calls++;
	if (order > fake_max_order || !fake_left)
		return -ENOMEM;
	fake_left--;
	memset(c, 0, sizeof(*c));
	c->order = order;
	c->bus = 0x100000ULL * fake_calls;
	return 0;
}

static void fake_free(struct pvb_chunk *c)
{
}

static const struct pvb_backend fake_be = {
	.name = "fake",
	.chunk_alloc = fake_alloc,
	.chunk_free = fake_free,
};

static void pool_init(struct pvb_pool *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->name, "test", sizeof("test"));
	p->be = &fake_be;
	p->mask = ~0ULL;
}

static void test_nothing_asked(void)
{
	struct pvb_pool p;
	int ret;

	pool_init(&p);
	fake_calls = 0;
	fake_left = 8;
	fake_max_order = 6;
	ret = get_chunks(&p, 0, 6, 2);
	is_int(ret, -ENOMEM, "0 bytes asked: nothing had, -ENOMEM");
	is_int(p.nchunks, 0, "... no chunk kept");
	is_int(fake_calls, 0, "... the backend was not asked");
	free_chunks(&p);
}

static void test_order_steps_down(void)
{
	struct pvb_pool p;
	int ret;

	pool_init(&p);
	fake_calls = 0;
	fake_left = 8;
	fake_max_order = 4;
	/* 256 KiB in chunks of order 6 (256 KiB): only order 4 (64 KiB) exists */
	ret = get_chunks(&p, 256 << 10, 6, 2);
	is_int(ret, 4, "a shortage at order 6 and 5: the pool's order is 4");
	is_int(p.nchunks, 4, "... four 64 KiB chunks");
	free_chunks(&p);

	pool_init(&p);
	fake_left = 0;
	ret = get_chunks(&p, 256 << 10, 6, 2);
	is_int(ret, -ENOMEM, "no chunk at any order down to the floor: -ENOMEM");
	is_int(p.nchunks, 0, "... nothing kept");
	free_chunks(&p);
}

int main(void)
{
	test_nothing_asked();
	test_order_steps_down();
	return tap_done();
}
