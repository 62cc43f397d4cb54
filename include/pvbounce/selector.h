/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The devices= parameter: comma-separated selectors naming PCI devices by
 * address (DDDD:BB:DD.F or BB:DD.F) or by ID (vvvv:dddd), each optionally
 * followed by @<size> (K/M/G) for a private pool.  Kernel-agnostic (parsed in
 * the module and in the unit tests alike).
 */
#ifndef PVBOUNCE_SELECTOR_H
#define PVBOUNCE_SELECTOR_H

#include <linux/types.h>
#include <pvbounce/pool_limits.h>

enum pvb_sel_kind {
	PVB_SEL_ADDR,	/* PCI address */
	PVB_SEL_ID,	/* vendor:device */
};

/**
 * struct pvb_selector - one parsed selector.
 * @kind: address or ID.
 * @domain: PCI domain (0 when the text gave BB:DD.F).
 * @bus: PCI bus number.
 * @devfn: PCI_DEVFN(slot, function).
 * @vendor: vendor ID (PVB_SEL_ID).
 * @device: device ID (PVB_SEL_ID).
 * @pool_bytes: private pool size, 0 for the common pool.
 */
struct pvb_selector {
	enum pvb_sel_kind kind;
	u32 domain;
	u8 bus;
	u8 devfn;
	u16 vendor;
	u16 device;
	u64 pool_bytes;
};

/**
 * pvb_selectors_parse() - parse the text of devices=.
 * @text: the parameter (a trailing newline is allowed; empty = no selector).
 * @sel: array filled with the selectors.
 * @max: capacity of @sel.
 * @n: number parsed.
 * @err: on failure, a message naming the bad part of @text.
 * @errlen: size of @err.
 *
 * Return: 0 or -EINVAL (nothing in @sel is to be used then).
 */
int pvb_selectors_parse(const char *text, struct pvb_selector *sel,
			unsigned int max, unsigned int *n,
			char *err, size_t errlen);

/**
 * pvb_selector_match() - does a selector name a device?
 * @s: selector.
 * @domain: device's PCI domain.
 * @bus: bus number.
 * @devfn: devfn.
 * @vendor: vendor ID.
 * @device: device ID.
 *
 * Return: true if it does.
 */
bool pvb_selector_match(const struct pvb_selector *s, u32 domain, u8 bus,
			u8 devfn, u16 vendor, u16 device);

/**
 * pvb_parse_size() - parse "<number>[KkMmGg]" into bytes.
 * @text: text, NUL-terminated, nothing after the suffix.
 * @bytes: result.
 *
 * Return: 0 or -EINVAL (empty, junk, zero or overflow).
 */
int pvb_parse_size(const char *text, u64 *bytes);

#endif /* PVBOUNCE_SELECTOR_H */
