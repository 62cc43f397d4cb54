/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/string.h>. */
#ifndef SHIM_LINUX_STRING_H
#define SHIM_LINUX_STRING_H

#include <string.h>
#include <sys/types.h>
#include <linux/errno.h>

/* Copy at most size - 1 bytes and terminate; -E2BIG if truncated. */
static inline ssize_t strscpy(char *dst, const char *src, size_t size)
{
	size_t len;

	if (!size)
		return -E2BIG;
	len = strnlen(src, size);
	if (len == size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return len;
}

#endif
