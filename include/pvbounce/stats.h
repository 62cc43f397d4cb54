/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one list of per-device counters, in the order debugfs and sysfs create
 * their files.  Both expand PVB_DEV_STATS() so their file sets cannot drift,
 * and the assertion below fails the build if struct pvb_dev_stats gains a
 * counter this list does not name.
 */
#ifndef PVBOUNCE_STATS_H
#define PVBOUNCE_STATS_H

#include <linux/build_bug.h>
#include <linux/minmax.h>
#include <linux/percpu.h>
#include <linux/stddef.h>
#include <pvbounce/device.h>

/* X(name) for every counter of struct pvb_dev_stats; the file is named alike. */
#define PVB_DEV_STATS(X)	\
	X(maps)			\
	X(unmaps)		\
	X(bounced_maps)		\
	X(direct_maps)		\
	X(bytes_to_device)	\
	X(bytes_from_device)	\
	X(map_errors)		\
	X(errors_too_large)	\
	X(errors_pool_full)	\
	X(errors_mask)		\
	X(largest_request)	\
	X(syncs)		\
	X(coherent_allocs)	\
	X(misuse)

#define PVB_DEV_STAT_COUNT_ONE(name) + 1
#define PVB_NR_DEV_STATS (0 PVB_DEV_STATS(PVB_DEV_STAT_COUNT_ONE))

static_assert(sizeof(struct pvb_dev_stats) == PVB_NR_DEV_STATS * sizeof(u64),
	      "PVB_DEV_STATS() must name every counter of struct pvb_dev_stats");

/**
 * struct pvb_stat_desc - a per-device counter file.
 * @name: file name, the field's name.
 * @offset: offsetof() the counter in struct pvb_dev_stats.
 */
struct pvb_stat_desc {
	const char *name;
	size_t offset;
};

#define PVB_STAT_DESC(field) \
	{ .name = #field, .offset = offsetof(struct pvb_dev_stats, field) },

/**
 * pvb_stat_field() - one counter's per-CPU copies.
 * @stats: a device's per-CPU counters.
 * @offset: &struct pvb_stat_desc.offset.
 *
 * Return: the per-CPU pointer to the counter at @offset.
 */
static inline u64 __percpu *pvb_stat_field(struct pvb_dev_stats __percpu *stats,
					   size_t offset)
{
	return (u64 __percpu *)((char __percpu *)stats + offset);
}

/**
 * pvb_stat_fold() - the value of a counter from its per-CPU copies.
 * @c: from pvb_stat_field().
 * @is_max: the counter is a maximum (largest_request): take the largest
 *	copy instead of the sum.
 *
 * Each copy is read in one access (the compat header requires a 64-bit
 * kernel), so a reader racing a writer sees a value that was true.
 *
 * Return: the counter's value.
 */
static inline u64 pvb_stat_fold(u64 __percpu *c, bool is_max)
{
	u64 v = 0, x;
	int cpu;

	for_each_possible_cpu(cpu) {
		x = READ_ONCE(*per_cpu_ptr(c, cpu));
		v = is_max ? max(v, x) : v + x;
	}
	return v;
}

/**
 * pvb_stat_is_max() - is the counter at @offset a maximum, not a sum?
 * @offset: &struct pvb_stat_desc.offset.
 *
 * Return: true for largest_request.
 */
static inline bool pvb_stat_is_max(size_t offset)
{
	return offset == offsetof(struct pvb_dev_stats, largest_request);
}

/**
 * pvb_stat_read() - the value of one of a device's counters.
 * @stats: the device's per-CPU counters.
 * @offset: &struct pvb_stat_desc.offset.
 *
 * Return: the sum of the CPUs' copies (the largest, for largest_request).
 */
static inline u64 pvb_stat_read(struct pvb_dev_stats __percpu *stats,
				size_t offset)
{
	return pvb_stat_fold(pvb_stat_field(stats, offset),
			     pvb_stat_is_max(offset));
}

#endif /* PVBOUNCE_STATS_H */
