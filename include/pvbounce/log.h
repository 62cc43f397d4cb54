/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages about one device: "pvbounce 0000:00:03.0: ..." as the contract
 * shows them (dev_err() would print the driver's name, not ours).
 */
#ifndef PVBOUNCE_LOG_H
#define PVBOUNCE_LOG_H

#include <linux/pci.h>
#include <linux/printk.h>

#define pvb_dev_printk(level, pdev, fmt, ...) \
	printk(level KBUILD_MODNAME " %s: " fmt, pci_name(pdev), ##__VA_ARGS__)
#define pvb_dev_err(pdev, fmt, ...) \
	pvb_dev_printk(KERN_ERR, pdev, fmt, ##__VA_ARGS__)
#define pvb_dev_warn(pdev, fmt, ...) \
	pvb_dev_printk(KERN_WARNING, pdev, fmt, ##__VA_ARGS__)
#define pvb_dev_info(pdev, fmt, ...) \
	pvb_dev_printk(KERN_INFO, pdev, fmt, ##__VA_ARGS__)
#define pvb_dev_err_ratelimited(pdev, fmt, ...)				\
do {									\
	static DEFINE_RATELIMIT_STATE(_rs, DEFAULT_RATELIMIT_INTERVAL,	\
				      DEFAULT_RATELIMIT_BURST);		\
	if (__ratelimit(&_rs))						\
		pvb_dev_err(pdev, fmt, ##__VA_ARGS__);			\
} while (0)

#endif /* PVBOUNCE_LOG_H */
