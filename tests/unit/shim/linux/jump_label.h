/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/jump_label.h>: a static key is a plain bool. */
#ifndef SHIM_LINUX_JUMP_LABEL_H
#define SHIM_LINUX_JUMP_LABEL_H

#include <linux/types.h>

struct static_key_false {
	bool enabled;
};

#define DECLARE_STATIC_KEY_FALSE(name)	extern struct static_key_false name
#define DEFINE_STATIC_KEY_FALSE(name)	struct static_key_false name
#define static_branch_unlikely(k)	((k)->enabled)
#define static_branch_likely(k)		((k)->enabled)

#endif
