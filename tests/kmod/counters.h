/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvbounce's numbers as the test modules read them: each file of
 * /sys/kernel/pvbounce/ (or of its debugfs twin) holds one decimal number
 * and a newline, read with kernel_read() as a user would.  A device's
 * counters are in /sys/kernel/pvbounce/<pci name>/.
 */
#ifndef PVBOUNCE_TEST_COUNTERS_H
#define PVBOUNCE_TEST_COUNTERS_H

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/string.h>

#define PVB_SYSFS_DIR	"/sys/kernel/pvbounce"

/*
 * pvb_read_file() - @path's first @len - 1 bytes, NUL-terminated, in @buf.
 * Return: the number of bytes read, or a negative errno.
 */
static inline int pvb_read_file(const char *path, char *buf, size_t len)
{
	struct file *f = filp_open(path, O_RDONLY, 0);
	loff_t pos = 0;
	ssize_t n;

	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, len - 1, &pos);
	filp_close(f, NULL);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

/* pvb_read_path() - @path as a decimal number.  Return: 0 or a negative errno. */
static inline int pvb_read_path(const char *path, s64 *val)
{
	char buf[32];
	int ret = pvb_read_file(path, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	return kstrtos64(strim(buf), 10, val);
}

/* pvb_read_num() - @dir/@name as a decimal number.  Return: as pvb_read_path(). */
static inline int pvb_read_num(const char *dir, const char *name, s64 *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pvb_read_path(path, val);
}

/*
 * pvb_read_nums() - the @n files of @dir named by @names into @val.
 * Return: 0, or the first error (the values read before it are set).
 */
static inline int pvb_read_nums(const char *dir, const char *const *names,
				unsigned int n, s64 *val)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = pvb_read_num(dir, names[i], &val[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* pvb_dev_dir() - /sys/kernel/pvbounce/<@pci>, in @buf. */
static inline void pvb_dev_dir(char *buf, size_t len, const char *pci)
{
	snprintf(buf, len, PVB_SYSFS_DIR "/%s", pci);
}

/* pvb_read_dev() - the counter @name of the device @pci.  Return: as pvb_read_path(). */
static inline int pvb_read_dev(const char *pci, const char *name, s64 *val)
{
	char dir[96];

	pvb_dev_dir(dir, sizeof(dir), pci);
	return pvb_read_num(dir, name, val);
}

/* pvb_read_dev_nums() - pvb_read_nums() of the device @pci's counters. */
static inline int pvb_read_dev_nums(const char *pci, const char *const *names,
				    unsigned int n, s64 *val)
{
	char dir[96];

	pvb_dev_dir(dir, sizeof(dir), pci);
	return pvb_read_nums(dir, names, n, val);
}

#endif /* PVBOUNCE_TEST_COUNTERS_H */
