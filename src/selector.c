// SPDX-License-Identifier: GPL-2.0
/*
 * The devices= parameter: parsing and matching of selectors.
 *
 * Kernel-agnostic: includes only <linux/...> headers, so the unit tests build
 * this very file in userspace against tests/unit/shim.
 *
 * Grammar (whitespace is allowed only at the very end of the text):
 *
 *   list     := "" | item ("," item)*
 *   item     := target ["@" size]
 *   target   := addr | id
 *   addr     := [domain ":"] bus ":" dev "." fn   (hex; domain 1-8 digits,
 *               bus 1-2, dev 1-2 and <= 1f, fn one digit 0-7)
 *   id       := vendor ":" device                 (exactly 4 hex digits each)
 *   size     := decimal [K|M|G]                    (either case; binary units)
 *
 * "BB:DD.F" and "vvvv:dddd" both have one colon: the dot decides.  A target
 * with a dot is an address, one without is an ID.
 */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/ctype.h>
#include <linux/string.h>
#include <pvbounce/selector.h>

/* A private pool below one segment (PVB_MIN_SEG_SIZE) could not hold a mapping. */
#define SEL_MIN_POOL	(256ULL << 10)
/* The largest pool there may be (its metadata's bound); catches "@64T" typos. */
#define SEL_MAX_POOL	PVB_POOL_MAX_BYTES
/* Longest part of a bad item quoted in an error message. */
#define SEL_QUOTE_MAX	40

/* A piece of the parameter text: not NUL-terminated. */
struct span {
	const char *s;
	size_t len;
};

static bool span_has(struct span sp, char c)
{
	return memchr(sp.s, c, sp.len) != NULL;
}

/*
 * Split @sp at the first @c: @head gets what is before it, @sp what is after.
 * Return: false (and @sp untouched) if there is no @c.
 */
static bool span_split(struct span *sp, char c, struct span *head)
{
	const char *p = memchr(sp->s, c, sp->len);

	if (!p)
		return false;
	head->s = sp->s;
	head->len = p - sp->s;
	sp->len -= head->len + 1;
	sp->s = p + 1;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* @sp is min_digits..max_digits (<= 8) hex digits and nothing else. */
static bool parse_hex(struct span sp, size_t min_digits, size_t max_digits,
		      u32 *val)
{
	u32 v = 0;
	size_t i;

	if (sp.len < min_digits || sp.len > max_digits)
		return false;
	for (i = 0; i < sp.len; i++) {
		int d = hexval(sp.s[i]);

		if (d < 0)
			return false;
		v = (v << 4) | d;
	}
	*val = v;
	return true;
}

static int parse_size_span(struct span sp, u64 *bytes)
{
	unsigned int shift = 0;
	u64 v = 0;
	size_t i;

	if (sp.len) {
		switch (sp.s[sp.len - 1]) {
		case 'K': case 'k':
			shift = 10;
			break;
		case 'M': case 'm':
			shift = 20;
			break;
		case 'G': case 'g':
			shift = 30;
			break;
		}
		if (shift)
			sp.len--;
	}
	if (!sp.len)
		return -EINVAL;
	for (i = 0; i < sp.len; i++) {
		unsigned int d;

		if (!isdigit((unsigned char)sp.s[i]))
			return -EINVAL;
		d = sp.s[i] - '0';
		if (v > (U64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (!v || v > (U64_MAX >> shift))
		return -EINVAL;
	*bytes = v << shift;
	return 0;
}

int pvb_parse_size(const char *text, u64 *bytes)
{
	struct span sp = { text, strlen(text) };

	return parse_size_span(sp, bytes);
}

/* Return: NULL on success, else what is wrong with the address. */
static const char *parse_addr(struct span sp, struct pvb_selector *sel)
{
	struct span dom = { "0", 1 }, bus, dev, fn;
	u32 d, b, s, f;

	if (!span_split(&sp, ':', &bus))
		return "expected [DDDD:]BB:DD.F";
	if (span_split(&sp, ':', &dev)) {	/* three fields: domain first */
		dom = bus;
		bus = dev;
	}
	if (!span_split(&sp, '.', &dev) || span_has(dev, ':'))
		return "expected [DDDD:]BB:DD.F";
	fn = sp;
	if (!parse_hex(dom, 1, 8, &d))
		return "bad PCI domain (1 to 8 hex digits)";
	if (!parse_hex(bus, 1, 2, &b))
		return "bad PCI bus (1 or 2 hex digits)";
	if (!parse_hex(dev, 1, 2, &s) || s > 0x1f)
		return "bad PCI device (hex 0 to 1f)";
	if (!parse_hex(fn, 1, 1, &f) || f > 7)
		return "bad PCI function (0 to 7)";
	sel->kind = PVB_SEL_ADDR;
	sel->domain = d;
	sel->bus = b;
	sel->devfn = (s << 3) | f;	/* PCI_DEVFN(s, f) */
	return NULL;
}

/* Return: NULL on success, else what is wrong with the ID. */
static const char *parse_id(struct span sp, struct pvb_selector *sel)
{
	struct span ven;
	u32 v, d;

	if (!span_split(&sp, ':', &ven) || span_has(sp, ':') ||
	    !parse_hex(ven, 4, 4, &v) || !parse_hex(sp, 4, 4, &d))
		return "expected DDDD:BB:DD.F, BB:DD.F or vvvv:dddd (hex)";
	if (v == 0xffff)
		return "ffff is no vendor ID";
	sel->kind = PVB_SEL_ID;
	sel->vendor = v;
	sel->device = d;
	return NULL;
}

/* Return: NULL on success, else what is wrong with the item. */
static const char *parse_item(struct span item, struct pvb_selector *sel)
{
	struct span target;

	memset(sel, 0, sizeof(*sel));
	if (!item.len)
		return "empty selector";
	if (span_split(&item, '@', &target)) {
		if (parse_size_span(item, &sel->pool_bytes))
			return "bad pool size (a number with optional K, M or G)";
		if (sel->pool_bytes < SEL_MIN_POOL)
			return "pool size below 256K (one segment)";
		if (sel->pool_bytes > SEL_MAX_POOL)
			return "pool size above 16G (the largest pool)";
	} else {
		target = item;
	}
	if (!target.len)
		return "no device before @";
	return span_has(target, '.') ? parse_addr(target, sel) :
				       parse_id(target, sel);
}

static bool same_target(const struct pvb_selector *a,
			const struct pvb_selector *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == PVB_SEL_ADDR)
		return a->domain == b->domain && a->bus == b->bus &&
		       a->devfn == b->devfn;
	return a->vendor == b->vendor && a->device == b->device;
}

static int sel_error(char *err, size_t errlen, struct span item,
		     const char *why)
{
	if (err && errlen) {
		int quote = item.len > SEL_QUOTE_MAX ? SEL_QUOTE_MAX : item.len;

		snprintf(err, errlen, "\"%.*s%s\": %s", quote, item.s,
			 item.len > SEL_QUOTE_MAX ? "..." : "", why);
	}
	return -EINVAL;
}

int pvb_selectors_parse(const char *text, struct pvb_selector *sel,
			unsigned int max, unsigned int *n,
			char *err, size_t errlen)
{
	struct span rest = { text, strlen(text) };
	unsigned int count = 0;

	if (err && errlen)
		err[0] = '\0';
	*n = 0;
	while (rest.len && isspace((unsigned char)rest.s[rest.len - 1]))
		rest.len--;
	if (!rest.len)
		return 0;

	for (;;) {
		struct span item;
		bool last = !span_split(&rest, ',', &item);
		const char *why;
		unsigned int i;

		if (last)
			item = rest;
		if (count == max) {
			char why_max[48];

			snprintf(why_max, sizeof(why_max),
				 "too many selectors (at most %u)", max);
			return sel_error(err, errlen, item, why_max);
		}
		why = parse_item(item, &sel[count]);
		if (why)
			return sel_error(err, errlen, item, why);
		for (i = 0; i < count; i++)
			if (same_target(&sel[i], &sel[count]))
				return sel_error(err, errlen, item,
						 "device named twice");
		count++;
		if (last)
			break;
	}
	*n = count;
	return 0;
}

bool pvb_selector_match(const struct pvb_selector *s, u32 domain, u8 bus,
			u8 devfn, u16 vendor, u16 device)
{
	if (s->kind == PVB_SEL_ADDR)
		return s->domain == domain && s->bus == bus && s->devfn == devfn;
	return s->vendor == vendor && s->device == device;
}
