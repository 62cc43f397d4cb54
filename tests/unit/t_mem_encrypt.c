// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of src/mem_encrypt.c: the native backend refuses to load when
 * the kernel says memory is encrypted (no QEMU under TCG can show it).
 * The shim's cc_platform_has() answers from shim_cc_attrs; each case sets
 * the attributes a platform has, as arch/x86/coco/core.c reports them, and
 * checks the answer and the one line logged.
 */
#include <string.h>
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/cc_platform.h>
#include <pvbounce/mem_encrypt.h>
#include "tap.h"
#include "shim.h"

#define BIT_ATTR(a)	(1UL << (a))

struct cc_case {
	const char *platform;
	unsigned long attrs;
	int ret;
	const char *words[3];	/* the line must contain each */
};

static const struct cc_case cases[] = {
	{ "no memory encryption", 0, 0, { NULL } },
	{ "SEV-ES guest state only (never alone, but not memory)",
	  BIT_ATTR(CC_ATTR_GUEST_STATE_ENCRYPT), 0, { NULL } },
	{ "AMD SME host (mem_encrypt=on)",
	  BIT_ATTR(CC_ATTR_MEM_ENCRYPT) | BIT_ATTR(CC_ATTR_HOST_MEM_ENCRYPT),
	  -EOPNOTSUPP, { "not loaded: memory encryption is active", "swiotlb",
			 "mem_encrypt=off" } },
	{ "AMD SEV guest",
	  BIT_ATTR(CC_ATTR_MEM_ENCRYPT) | BIT_ATTR(CC_ATTR_GUEST_MEM_ENCRYPT),
	  -EOPNOTSUPP, { "not loaded: this is a guest with encrypted memory",
			 "kernel's swiotlb", NULL } },
	{ "AMD SNP guest",
	  BIT_ATTR(CC_ATTR_MEM_ENCRYPT) | BIT_ATTR(CC_ATTR_GUEST_MEM_ENCRYPT) |
	  BIT_ATTR(CC_ATTR_GUEST_STATE_ENCRYPT) | BIT_ATTR(CC_ATTR_GUEST_SEV_SNP),
	  -EOPNOTSUPP, { "guest with encrypted memory", "SNP", "swiotlb" } },
	{ "Intel TDX guest",
	  BIT_ATTR(CC_ATTR_MEM_ENCRYPT) | BIT_ATTR(CC_ATTR_GUEST_MEM_ENCRYPT) |
	  BIT_ATTR(CC_ATTR_GUEST_UNROLL_STRING_IO),
	  -EOPNOTSUPP, { "guest with encrypted memory", "TDX", "swiotlb" } },
	{ "guest attribute alone (a vTOM guest says both; either refuses)",
	  BIT_ATTR(CC_ATTR_GUEST_MEM_ENCRYPT), -EOPNOTSUPP,
	  { "guest with encrypted memory", NULL } },
	{ "memory attribute alone",
	  BIT_ATTR(CC_ATTR_MEM_ENCRYPT), -EOPNOTSUPP,
	  { "memory encryption is active", NULL } },
};

int main(void)
{
	unsigned int i, w;

	for (i = 0; i < TAP_ARRAY_SIZE(cases); i++) {
		const struct cc_case *c = &cases[i];
		int ret;

		shim_cc_attrs = c->attrs;
		shim_last_msg[0] = '\0';
		ret = pvb_native_mem_encrypt_check();
		expect(ret == c->ret, "returned %d, want %d", ret, c->ret);
		if (!c->ret) {
			expect(!shim_last_msg[0], "nothing logged, got: %s", shim_last_msg);
		} else {
			expect(!strncmp(shim_last_msg, "pvbounce: ", 10) &&
			       strchr(shim_last_msg, '\n') ==
			       shim_last_msg + strlen(shim_last_msg) - 1,
			       "one line with pvbounce's prefix: %s", shim_last_msg);
			for (w = 0; w < 3 && c->words[w]; w++)
				expect(strstr(shim_last_msg, c->words[w]),
				       "the line says \"%s\": %s", c->words[w],
				       shim_last_msg);
		}
		point("%s: %s", c->platform, c->ret ? "native backend refused" : "allowed");
	}
	shim_cc_attrs = 0;
	return tap_done();
}
