// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of src/selector.c: the devices= grammar, selector matching and
 * size parsing.  Table-driven; every accepted form is checked field by field,
 * every rejected form for -EINVAL, an empty result and a message quoting the
 * bad item.  A seeded random round trip (format, parse, compare) follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdint.h>
#include <linux/types.h>
#include <pvbounce/selector.h>
#include "tap.h"

#define MAX_SEL 32	/* PVB_MAX_SELECTORS, the module's capacity */
#define K (1ULL << 10)
#define M (1ULL << 20)
#define G (1ULL << 30)
#define DEVFN(d, f) ((u8)(((d) << 3) | (f)))

#define ADDR(dom, b, d, f, sz) \
	{ .kind = PVB_SEL_ADDR, .domain = dom, .bus = b, .devfn = DEVFN(d, f), \
	  .pool_bytes = sz }
#define ID(v, d, sz) \
	{ .kind = PVB_SEL_ID, .vendor = v, .device = d, .pool_bytes = sz }

struct good {
	const char *text;
	unsigned int n;
	struct pvb_selector sel[3];
};

static const struct good good[] = {
	{ "", 0, {} },
	{ "\n", 0, {} },
	{ " \t\r\n", 0, {} },
	{ "0000:00:03.0", 1, { ADDR(0, 0, 3, 0, 0) } },
	{ "0000:00:03.0\n", 1, { ADDR(0, 0, 3, 0, 0) } },
	{ "0000:00:03.0 \t\r\n", 1, { ADDR(0, 0, 3, 0, 0) } },
	{ "00:03.0", 1, { ADDR(0, 0, 3, 0, 0) } },
	{ "0001:02:1f.7", 1, { ADDR(1, 2, 0x1f, 7, 0) } },
	{ "ffff:ff:1f.7", 1, { ADDR(0xffff, 0xff, 0x1f, 7, 0) } },
	{ "FFFF:AB:1E.6", 1, { ADDR(0xffff, 0xab, 0x1e, 6, 0) } },
	{ "10000:e0:00.0", 1, { ADDR(0x10000, 0xe0, 0, 0, 0) } },	/* VMD domain */
	{ "ffffffff:00:00.0", 1, { ADDR(0xffffffff, 0, 0, 0, 0) } },
	{ "0:0:0.0", 1, { ADDR(0, 0, 0, 0, 0) } },
	{ "5:3.1", 1, { ADDR(0, 5, 3, 1, 0) } },
	{ "8086:100e", 1, { ID(0x8086, 0x100e, 0) } },
	{ "8086:100E\n", 1, { ID(0x8086, 0x100e, 0) } },
	{ "0000:0000", 1, { ID(0, 0, 0) } },
	{ "1af4:ffff", 1, { ID(0x1af4, 0xffff, 0) } },
	{ "1af4:1000@64M", 1, { ID(0x1af4, 0x1000, 64 * M) } },
	{ "00:03.0@256K", 1, { ADDR(0, 0, 3, 0, 256 * K) } },	/* smallest */
	{ "00:03.0@256k", 1, { ADDR(0, 0, 3, 0, 256 * K) } },
	{ "00:03.0@262144", 1, { ADDR(0, 0, 3, 0, 256 * K) } },
	{ "00:03.0@4m", 1, { ADDR(0, 0, 3, 0, 4 * M) } },
	{ "00:03.0@1g", 1, { ADDR(0, 0, 3, 0, 1 * G) } },
	{ "00:03.0@16G", 1, { ADDR(0, 0, 3, 0, 16 * G) } },	/* largest */
	{ "00:03.0@16384M", 1, { ADDR(0, 0, 3, 0, 16 * G) } },
	{ "00:03.0@17179869184", 1, { ADDR(0, 0, 3, 0, 16 * G) } },
	{ "00:03.0@0001M", 1, { ADDR(0, 0, 3, 0, 1 * M) } },
	{ "0000:00:03.0@1M\n", 1, { ADDR(0, 0, 3, 0, 1 * M) } },
	{ "0000:00:03.0,8086:100e@1M,01:00.0", 3,
	  { ADDR(0, 0, 3, 0, 0), ID(0x8086, 0x100e, 1 * M), ADDR(0, 1, 0, 0, 0) } },
	{ "8086:100e,8086:100f", 2, { ID(0x8086, 0x100e, 0), ID(0x8086, 0x100f, 0) } },
	/* Same BB:DD.F in two domains, and an ID equal to an address's digits. */
	{ "00:03.0,0001:00:03.0,0000:0003", 3,
	  { ADDR(0, 0, 3, 0, 0), ADDR(1, 0, 3, 0, 0), ID(0, 3, 0) } },
};

struct bad {
	const char *text;
	const char *quoted;	/* the item the message must quote */
	const char *reason;	/* and, if set, this part of its reason */
};

static const struct bad bad[] = {
	/* empty items */
	{ ",", "\"\"", "empty selector" },
	{ ",,", "\"\"", NULL },
	{ "00:03.0,", "\"\"", NULL },
	{ ",00:03.0", "\"\"", NULL },
	{ "00:03.0,,8086:100e", "\"\"", NULL },
	/* whitespace is only allowed at the very end */
	{ " 00:03.0", "\" 00:03.0\"", NULL },
	{ "\n00:03.0", "00:03.0\"", NULL },
	{ "00:03.0 ,8086:100e", "\"00:03.0 \"", NULL },
	{ "00:03.0, 8086:100e", "\" 8086:100e\"", NULL },
	{ "00:03.0\n,01:00.0", "00:03.0", NULL },
	{ "00: 03.0", "\"00: 03.0\"", NULL },
	/* IDs: exactly four hex digits each, no dot */
	{ "00:03", "\"00:03\"", "vvvv:dddd" },
	{ "8086:100", "\"8086:100\"", "vvvv:dddd" },
	{ "808:100e", "\"808:100e\"", "vvvv:dddd" },
	{ "8086:100ef", "\"8086:100ef\"", NULL },
	{ "08086:100e", "\"08086:100e\"", NULL },
	{ "8086", "\"8086\"", NULL },
	{ "8086:", "\"8086:\"", NULL },
	{ ":100e", "\":100e\"", NULL },
	{ "8086:100g", "\"8086:100g\"", NULL },
	{ "8086-100e", "\"8086-100e\"", NULL },
	{ "8086:100e:0001", "\"8086:100e:0001\"", NULL },
	{ "0x8086:100e", "\"0x8086:100e\"", NULL },
	{ "ffff:0001", "\"ffff:0001\"", "vendor" },
	{ "junk", "\"junk\"", NULL },
	/* addresses */
	{ "00:20.0", "\"00:20.0\"", "PCI device" },
	{ "00:03.8", "\"00:03.8\"", "PCI function" },
	{ "00:03.a", "\"00:03.a\"", NULL },
	{ "00:03.00", "\"00:03.00\"", NULL },
	{ "100:00.0", "\"100:00.0\"", "PCI bus" },
	{ "00:003.0", "\"00:003.0\"", NULL },
	{ "123456789:00:00.0", "\"123456789:00:00.0\"", "PCI domain" },
	{ "0:0:0:0.0", "\"0:0:0:0.0\"", "expected [DDDD:]BB:DD.F" },
	{ "00:03.", "\"00:03.\"", NULL },
	{ "00:.0", "\"00:.0\"", NULL },
	{ ":03.0", "\":03.0\"", NULL },
	{ ":00:03.0", "\":00:03.0\"", NULL },
	{ "00:03.0.1", "\"00:03.0.1\"", "PCI function" },
	{ "00.03:0", "\"00.03:0\"", NULL },
	{ "0x00:03.0", "\"0x00:03.0\"", NULL },
	{ "g0:03.0", "\"g0:03.0\"", NULL },
	{ "03.0", "\"03.0\"", NULL },
	{ ".", "\".\"", NULL },
	/* sizes */
	{ "00:03.0@", "\"00:03.0@\"", "bad pool size" },
	{ "@64M", "\"@64M\"", "no device" },
	{ "00:03.0@0", "\"00:03.0@0\"", NULL },
	{ "00:03.0@0M", "\"00:03.0@0M\"", NULL },
	{ "00:03.0@255K", "\"00:03.0@255K\"", "below 256K" },
	{ "00:03.0@262143", "\"00:03.0@262143\"", NULL },
	{ "00:03.0@17G", "\"00:03.0@17G\"", "above 16G" },
	{ "00:03.0@16385M", "\"00:03.0@16385M\"", "above 16G" },
	{ "00:03.0@64G", "\"00:03.0@64G\"", "above 16G" },
	{ "00:03.0@68719476737", "\"00:03.0@68719476737\"", NULL },
	{ "00:03.0@64M@1M", "\"00:03.0@64M@1M\"", NULL },
	{ "00:03.0@-1M", "\"00:03.0@-1M\"", NULL },
	{ "00:03.0@+1M", "\"00:03.0@+1M\"", NULL },
	{ "00:03.0@1.5M", "\"00:03.0@1.5M\"", NULL },
	{ "00:03.0@1MB", "\"00:03.0@1MB\"", NULL },
	{ "00:03.0@1 M", "\"00:03.0@1 M\"", NULL },
	{ "00:03.0@0x100000", "\"00:03.0@0x100000\"", NULL },
	{ "00:03.0@1T", "\"00:03.0@1T\"", NULL },
	{ "00:03.0@99999999999999999999", "\"00:03.0@99999999999999999999\"", "bad pool size" },
	{ "00:03.0@17179869184G", "\"00:03.0@17179869184G\"", NULL },
	/* a device named twice, however spelt */
	{ "00:03.0,00:03.0", "\"00:03.0\"", "named twice" },
	{ "00:03.0,0000:00:03.0", "\"0000:00:03.0\"", NULL },
	{ "8086:100e,8086:100E", "\"8086:100E\"", NULL },
	{ "8086:100e@1M,8086:100e@2M", "\"8086:100e@2M\"", NULL },
	/* the bad item is named, not the first one */
	{ "00:03.0,8086:100e,00:1f.9", "\"00:1f.9\"", NULL },
};

/* @text with control characters escaped, for one-line TAP descriptions. */
static const char *esc(const char *text)
{
	static char buf[4][256];
	static unsigned int turn;
	char *out = buf[turn++ % 4];
	size_t o = 0;

	for (; *text && o < sizeof(buf[0]) - 5; text++) {
		unsigned char c = *text;

		if (c >= ' ' && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += sprintf(out + o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static int sel_eq(const struct pvb_selector *a, const struct pvb_selector *b)
{
	if (a->kind != b->kind || a->pool_bytes != b->pool_bytes)
		return 0;
	if (a->kind == PVB_SEL_ADDR)
		return a->domain == b->domain && a->bus == b->bus &&
		       a->devfn == b->devfn;
	return a->vendor == b->vendor && a->device == b->device;
}

static void test_good(void)
{
	const struct good *g;
	unsigned int j;

	for_each_case(g, good) {
		struct pvb_selector sel[MAX_SEL];
		char err[128] = "untouched";
		unsigned int n = 12345;
		int ret, same = 1;

		ret = pvb_selectors_parse(g->text, sel, MAX_SEL, &n, err,
					  sizeof(err));
		for (j = 0; ret == 0 && j < g->n && j < n; j++)
			same &= sel_eq(&sel[j], &g->sel[j]);
		ok(ret == 0 && n == g->n && same && err[0] == '\0',
		   "accept \"%s\" (ret %d, n %u, err \"%s\")", esc(g->text), ret,
		   n, esc(err));
	}
}

static void test_bad(void)
{
	const struct bad *b;

	for_each_case(b, bad) {
		struct pvb_selector sel[MAX_SEL];
		char err[128] = "";
		unsigned int n = 12345;
		int ret;

		ret = pvb_selectors_parse(b->text, sel, MAX_SEL, &n, err,
					  sizeof(err));
		ok(ret == -EINVAL && n == 0 && strstr(err, b->quoted) &&
		   (!b->reason || strstr(err, b->reason)),
		   "reject \"%s\" quoting %s (ret %d, n %u, err \"%s\")",
		   esc(b->text), esc(b->quoted), ret, n, esc(err));
	}
}

/* "00:01.0,00:02.0,..." with @count distinct addresses. */
static void many(char *buf, size_t len, unsigned int count)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < count; i++)
		off += snprintf(buf + off, len - off, "%s%02x:%02x.%x",
				i ? "," : "", i / 32, i % 32, i % 8);
}

static void test_limits(void)
{
	struct pvb_selector sel[MAX_SEL + 1];
	char text[1024], err[128];
	char longitem[200];
	unsigned int n;
	int ret;

	many(text, sizeof(text), MAX_SEL);
	ret = pvb_selectors_parse(text, sel, MAX_SEL, &n, err, sizeof(err));
	ok(ret == 0 && n == MAX_SEL &&
	   sel_eq(&sel[MAX_SEL - 1], &(struct pvb_selector)
		  ADDR(0, 0, 31, 7, 0)),
	   "exactly %d selectors accepted (ret %d, n %u)", MAX_SEL, ret, n);

	many(text, sizeof(text), MAX_SEL + 1);
	ret = pvb_selectors_parse(text, sel, MAX_SEL, &n, err, sizeof(err));
	ok(ret == -EINVAL && n == 0 && strstr(err, "too many") &&
	   strstr(err, "\"01:00.0\""),
	   "%d selectors refused, naming the first extra (err \"%s\")",
	   MAX_SEL + 1, err);

	ret = pvb_selectors_parse("00:03.0", sel, 0, &n, err, sizeof(err));
	ok(ret == -EINVAL && n == 0, "capacity 0 refuses one selector");
	ret = pvb_selectors_parse("\n", sel, 0, &n, err, sizeof(err));
	ok(ret == 0 && n == 0, "capacity 0 takes the empty list");

	/* A long bad item is quoted shortened, the message stays in bounds. */
	memset(longitem, 'z', sizeof(longitem) - 1);
	longitem[sizeof(longitem) - 1] = '\0';
	ret = pvb_selectors_parse(longitem, sel, MAX_SEL, &n, err, sizeof(err));
	ok(ret == -EINVAL && strlen(err) < sizeof(err) - 1 &&
	   strstr(err, "zzzzzzzzzz...\""), "long item quoted shortened: %s", err);

	/* Tiny and absent message buffers: truncated, never overrun. */
	{
		char tiny[9];

		memset(tiny, 'x', sizeof(tiny));
		ret = pvb_selectors_parse("bogus", sel, MAX_SEL, &n, tiny,
					  sizeof(tiny));
		ok(ret == -EINVAL && memchr(tiny, '\0', sizeof(tiny)) &&
		   !strncmp(tiny, "\"bogus\":", 8),
		   "message truncated into a 9-byte buffer: \"%s\"", tiny);
	}
	{
		char none[1] = { 'x' };

		ret = pvb_selectors_parse("bogus", sel, MAX_SEL, &n, none, 0);
		ok(ret == -EINVAL && none[0] == 'x',
		   "message buffer of size 0 is left alone");
	}
	ret = pvb_selectors_parse("bogus", sel, MAX_SEL, &n, NULL, 0);
	ok(ret == -EINVAL && n == 0, "no message buffer: still -EINVAL");
	ret = pvb_selectors_parse("00:03.0", sel, MAX_SEL, &n, NULL, 0);
	ok(ret == 0 && n == 1, "no message buffer: still parses");
}

struct size_case {
	const char *text;
	int ret;
	u64 bytes;
};

static const struct size_case sizes[] = {
	{ "1", 0, 1 },
	{ "4096", 0, 4096 },
	{ "00010", 0, 10 },
	{ "1K", 0, K },
	{ "1k", 0, K },
	{ "1M", 0, M },
	{ "1m", 0, M },
	{ "1G", 0, G },
	{ "1g", 0, G },
	{ "3g", 0, 3 * G },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18014398509481983K", 0, ((1ULL << 54) - 1) << 10 },
	{ "17592186044415M", 0, ((1ULL << 44) - 1) << 20 },
	{ "17179869183G", 0, ((1ULL << 34) - 1) << 30 },
	{ "18446744073709551616", -EINVAL, 0 },	/* 2^64 */
	{ "99999999999999999999", -EINVAL, 0 },
	{ "18014398509481984K", -EINVAL, 0 },	/* 2^64 */
	{ "17592186044416M", -EINVAL, 0 },
	{ "17179869184G", -EINVAL, 0 },
	{ "0", -EINVAL, 0 },
	{ "0K", -EINVAL, 0 },
	{ "000", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "K", -EINVAL, 0 },
	{ "G", -EINVAL, 0 },
	{ "1KK", -EINVAL, 0 },
	{ "1KB", -EINVAL, 0 },
	{ "1Ki", -EINVAL, 0 },
	{ "1T", -EINVAL, 0 },
	{ "1 K", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "1\n", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1.5K", -EINVAL, 0 },
	{ "1e6", -EINVAL, 0 },
	{ "K1", -EINVAL, 0 },
};

static void test_sizes(void)
{
	const struct size_case *c;

	for_each_case(c, sizes) {
		u64 bytes = 0xdeadbeef;
		int ret = pvb_parse_size(c->text, &bytes);

		ok(ret == c->ret && (ret || bytes == c->bytes),
		   "size \"%s\" -> %d %llu (got %d %llu)", esc(c->text), c->ret,
		   (unsigned long long)c->bytes, ret, (unsigned long long)bytes);
	}
}

struct match_case {
	const char *sel;
	u32 domain;
	u8 bus, devfn;
	u16 vendor, device;
	bool match;
};

static const struct match_case matches[] = {
	{ "0000:00:03.0", 0, 0, DEVFN(3, 0), 0x8086, 0x100e, true },
	{ "0000:00:03.0", 0, 0, DEVFN(3, 0), 0x1af4, 0x1000, true },
	{ "0000:00:03.0", 1, 0, DEVFN(3, 0), 0x8086, 0x100e, false },
	{ "0000:00:03.0", 0, 1, DEVFN(3, 0), 0x8086, 0x100e, false },
	{ "0000:00:03.0", 0, 0, DEVFN(4, 0), 0x8086, 0x100e, false },
	{ "0000:00:03.0", 0, 0, DEVFN(3, 1), 0x8086, 0x100e, false },
	{ "00:03.0", 0, 0, DEVFN(3, 0), 0, 0, true },		/* domain 0 implied */
	{ "00:03.0", 0x10000, 0, DEVFN(3, 0), 0, 0, false },
	{ "10000:e0:1f.7", 0x10000, 0xe0, DEVFN(0x1f, 7), 0, 0, true },
	{ "10000:e0:1f.7", 0, 0xe0, DEVFN(0x1f, 7), 0, 0, false },
	{ "8086:100e", 0, 0, DEVFN(3, 0), 0x8086, 0x100e, true },
	{ "8086:100e", 5, 0x42, DEVFN(9, 2), 0x8086, 0x100e, true },
	{ "8086:100e", 0, 0, DEVFN(3, 0), 0x8086, 0x100f, false },
	{ "8086:100e", 0, 0, DEVFN(3, 0), 0x8087, 0x100e, false },
	{ "8086:100e", 0, 0, DEVFN(3, 0), 0x100e, 0x8086, false },
	/* An ID selector's unused address fields are zero: no match by them. */
	{ "8086:100e", 0, 0, 0, 0x1234, 0x5678, false },
	/* An address selector's unused ID fields are zero: no match by them. */
	{ "00:03.0", 0, 0, 0, 0, 0, false },
	{ "1af4:1000@64M", 0, 0, 0, 0x1af4, 0x1000, true },
};

static void test_match(void)
{
	const struct match_case *c;

	for_each_case(c, matches) {
		struct pvb_selector sel[1];
		unsigned int n;
		bool got = false;
		int ret;

		ret = pvb_selectors_parse(c->sel, sel, 1, &n, NULL, 0);
		if (ret == 0 && n == 1)
			got = pvb_selector_match(sel, c->domain, c->bus,
						 c->devfn, c->vendor,
						 c->device);
		ok(ret == 0 && n == 1 && got == c->match,
		   "\"%s\" %s %04x:%02x:%02x.%x [%04x:%04x]", c->sel,
		   c->match ? "matches" : "does not match", c->domain, c->bus,
		   c->devfn >> 3, c->devfn & 7, c->vendor, c->device);
	}
}

/*
 * Random round trip: format a random list of 1..MAX_SEL distinct selectors in
 * every spelling the grammar allows, parse, compare.  One TAP line per run.
 */
static void test_random(unsigned int seed, unsigned int runs)
{
	static const char *const suffix[] = { "", "K", "M", "G", "k", "m", "g" };
	static const unsigned int shifts[] = { 0, 10, 20, 30, 10, 20, 30 };
	unsigned int r, bad_runs = 0;

	srandom(seed);
	for (r = 0; r < runs; r++) {
		struct pvb_selector want[MAX_SEL], got[MAX_SEL];
		char text[MAX_SEL * 40 + 4];
		unsigned int count = 1 + random() % MAX_SEL, n, i;
		size_t off = 0;
		int ret, same = 1;

		for (i = 0; i < count; i++) {
			struct pvb_selector *s = &want[i];
			const char *sep = i ? "," : "";

			memset(s, 0, sizeof(*s));
			if (random() & 1) {
				s->kind = PVB_SEL_ADDR;
				s->domain = random() & 3 ? 0 : random();
				s->bus = random();
				s->devfn = DEVFN(random() % 32, random() % 8);
				/* distinct: bus/devfn encode i in low bits */
				s->bus = (s->bus & ~0x3f) | i;
				if (!s->domain && random() & 1)
					off += snprintf(text + off, sizeof(text) - off,
							"%s%02x:%02x.%x", sep, s->bus,
							s->devfn >> 3, s->devfn & 7);
				else
					off += snprintf(text + off, sizeof(text) - off,
							random() & 1 ? "%s%04x:%02x:%02x.%x" :
							"%s%04X:%02X:%02X.%X", sep, s->domain,
							s->bus, s->devfn >> 3, s->devfn & 7);
			} else {
				s->kind = PVB_SEL_ID;
				s->vendor = (random() % 0xffff) & ~0x3f;
				s->vendor |= i;
				s->device = random();
				off += snprintf(text + off, sizeof(text) - off,
						random() & 1 ? "%s%04x:%04x" : "%s%04X:%04X",
						sep, s->vendor, s->device);
			}
			if (random() & 1) {
				unsigned int sfx = random() % 7;
				unsigned int shift = shifts[sfx];
				u64 lo = (256 * K + (1ULL << shift) - 1) >> shift;
				u64 hi = (16 * G) >> shift;
				u64 v = lo + (u64)random() % (hi - lo + 1);

				s->pool_bytes = v << shift;
				off += snprintf(text + off, sizeof(text) - off,
						"@%llu%s", (unsigned long long)v,
						suffix[sfx]);
			}
		}
		if (random() & 1)
			off += snprintf(text + off, sizeof(text) - off, "\n");

		ret = pvb_selectors_parse(text, got, MAX_SEL, &n, NULL, 0);
		for (i = 0; ret == 0 && i < count && i < n; i++)
			same &= sel_eq(&got[i], &want[i]);
		if ((ret || n != count || !same) && !bad_runs++)
			diag("run %u: \"%s\" -> ret %d n %u", r, esc(text), ret, n);
	}
	ok(bad_runs == 0, "random round trip: %u lists (seed %u), %u wrong%s",
	   runs, seed, bad_runs, bad_runs ? " (first shown above)" : "");
}

int main(void)
{
	unsigned int seed = getenv("PVB_SEED") ? atoi(getenv("PVB_SEED")) : 1;

	test_good();
	test_bad();
	test_limits();
	test_sizes();
	test_match();
	test_random(seed, 2000);
	return tap_done();
}
