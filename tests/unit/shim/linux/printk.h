/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/printk.h>: messages go to stderr as TAP
 * comments, and the last one's text to shim_last_msg (shim.h) for tests.
 */
#ifndef SHIM_LINUX_PRINTK_H
#define SHIM_LINUX_PRINTK_H

#include <stdio.h>

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

extern char shim_last_msg[512];

#define shim_printk(lvl, fmt, ...) do {					\
	snprintf(shim_last_msg, sizeof(shim_last_msg), pr_fmt(fmt),	\
		 ##__VA_ARGS__);					\
	fprintf(stderr, "# [" lvl "] %s", shim_last_msg);		\
} while (0)
#define pr_err(fmt, ...)	shim_printk("err", fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	shim_printk("warn", fmt, ##__VA_ARGS__)
#define pr_notice(fmt, ...)	shim_printk("notice", fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	shim_printk("info", fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	do { if (0) shim_printk("debug", fmt, ##__VA_ARGS__); } while (0)
#define pr_warn_ratelimited	pr_warn
#define pr_err_ratelimited	pr_err

#endif
