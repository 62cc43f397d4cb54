/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/cpumask.h>. */
#ifndef SHIM_LINUX_CPUMASK_H
#define SHIM_LINUX_CPUMASK_H

#define num_possible_cpus()	1U

#endif
