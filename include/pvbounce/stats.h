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
#include <linux/stddef.h>
#include <pvbounce/device.h>

/* X(name) for every atomic64_t in struct pvb_dev_stats; the file is named alike. */
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

static_assert(sizeof(struct pvb_dev_stats) == PVB_NR_DEV_STATS * sizeof(atomic64_t),
	      "PVB_DEV_STATS() must name every counter of struct pvb_dev_stats");

/**
 * struct pvb_stat_desc - a per-device counter file.
 * @name: file name, the field's name.
 * @offset: offsetof() the atomic64_t in struct pvb_dev_stats.
 */
struct pvb_stat_desc {
	const char *name;
	size_t offset;
};

#define PVB_STAT_DESC(field) \
	{ .name = #field, .offset = offsetof(struct pvb_dev_stats, field) },

/**
 * pvb_stat_ptr() - the counter a descriptor names.
 * @st: a device's counters.
 * @offset: &struct pvb_stat_desc.offset.
 *
 * Return: the atomic64_t at @offset in @st.
 */
static inline atomic64_t *pvb_stat_ptr(struct pvb_dev_stats *st, size_t offset)
{
	return (atomic64_t *)((char *)st + offset);
}

#endif /* PVBOUNCE_STATS_H */
