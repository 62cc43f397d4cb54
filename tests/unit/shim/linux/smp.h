/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/smp.h>: one CPU as far as callers can tell. */
#ifndef SHIM_LINUX_SMP_H
#define SHIM_LINUX_SMP_H

#define raw_smp_processor_id()	0U
#define smp_processor_id()	0U

#endif
