/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTAP output of pvbounce's test modules: "KTAP version 1", "1..N",
 * "ok N name [# SKIP why]", "# diagnostic", printed at KERN_INFO without a
 * prefix, as KUnit prints them, for the scenarios' forward_ktap.  CHECK()
 * is a check inside a test: on failure it marks the run state @s (any
 * struct with a bool member "failed") failed and says where and why.
 */
#ifndef PVBOUNCE_TEST_KTAP_H
#define PVBOUNCE_TEST_KTAP_H

#include <linux/printk.h>

#define ktap(fmt, ...) printk(KERN_INFO fmt "\n", ##__VA_ARGS__)
#define diag(fmt, ...) ktap("# " fmt, ##__VA_ARGS__)

#define CHECK(s, cond, fmt, ...) ({					\
	bool __ok = (cond);						\
	if (!__ok) {							\
		(s)->failed = true;					\
		diag("%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__);	\
	}								\
	__ok;								\
})

#endif /* PVBOUNCE_TEST_KTAP_H */
