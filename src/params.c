// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters (see ../shared/CONTRACT.md).  Each one is checked when
 * it is set, so a bad value fails insmod with -EINVAL and a message naming
 * the parameter and the bad text.  devices= may also change at run time:
 * this file only parses it and hands the selectors to attach.c, which owns
 * them (and all the locking around attaching).  Setters and getters run
 * under kernel_param_lock(), which guards devices_text.
 */
#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <pvbounce/attach.h>
#include <pvbounce/mem_encrypt.h>
#include <pvbounce/pvbounce.h>

#define PVB_DEVICES_MAX_LEN 1024

struct pvb_config pvb_cfg;

static char devices_text[PVB_DEVICES_MAX_LEN];
static char backend_text[8] = "auto";
static unsigned int pool_mb = 64;
static unsigned int address_bits = 32;
static unsigned int max_mapping_kb = 256;
static bool force;
static bool rebind;
static bool poison;
unsigned int pvb_pool_max_mb;

/* Length of @val without a trailing newline (sysfs writes carry one). */
static int text_len(const char *val)
{
	return strcspn(val, "\n");
}

static int devices_set(const char *val, const struct kernel_param *kp)
{
	struct pvb_selector *sel;
	unsigned int n;
	char err[96];
	int len = text_len(val), ret;

	if (len >= PVB_DEVICES_MAX_LEN) {
		pr_err("invalid devices=: %d characters, at most %d\n",
		       len, PVB_DEVICES_MAX_LEN - 1);
		return -EINVAL;
	}
	sel = kcalloc(PVB_MAX_SELECTORS, sizeof(*sel), GFP_KERNEL);
	if (!sel) {
		pr_err("devices=\"%.*s\" not applied: out of memory\n", len, val);
		return -ENOMEM;
	}
	ret = pvb_selectors_parse(val, sel, PVB_MAX_SELECTORS, &n, err,
				  sizeof(err));
	if (ret) {
		pr_err("invalid devices=\"%.*s\": %s\n", len, val, err);
		kfree(sel);
		return -EINVAL;
	}
	memcpy(devices_text, val, len);
	devices_text[len] = '\0';
	pvb_attach_select(sel, n);
	kfree(sel);
	return 0;
}

static int devices_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", devices_text);
}

static const struct kernel_param_ops devices_ops = {
	.set = devices_set,
	.get = devices_get,
};
module_param_cb(devices, &devices_ops, NULL, 0644);
MODULE_PARM_DESC(devices,
		 "comma-separated PCI devices to attach: DDDD:BB:DD.F, BB:DD.F or vvvv:dddd, each optionally @size (K/M/G) for a private pool; writable for unbound devices (default: empty)");

static int backend_set(const char *val, const struct kernel_param *kp)
{
	int len = text_len(val);
	static const char * const names[] = { "auto", "xen", "native" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (len == strlen(names[i]) && !strncmp(val, names[i], len)) {
			strscpy(backend_text, names[i], sizeof(backend_text));
			return 0;
		}
	}
	pr_err("invalid backend=\"%.*s\": must be auto, xen or native\n",
	       len, val);
	return -EINVAL;
}

static const struct kernel_param_ops backend_ops = {
	.set = backend_set,
	.get = param_get_string,
};
static struct kparam_string backend_kps = {
	.maxlen = sizeof(backend_text),
	.string = backend_text,
};
module_param_cb(backend, &backend_ops, &backend_kps, 0444);
MODULE_PARM_DESC(backend,
		 "auto, xen (Xen PV guests only) or native (default: auto)");

static int set_uint_range(const char *val, const struct kernel_param *kp,
			  unsigned int min, unsigned int max, bool pow2)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < min || v > max ||
	    (pow2 && !is_power_of_2(v))) {
		pr_err("invalid %s=\"%.*s\": must be %s%u to %u\n", kp->name,
		       text_len(val), val, pow2 ? "a power of two from " : "",
		       min, max);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = v;
	return 0;
}

static int pool_mb_set(const char *val, const struct kernel_param *kp)
{
	return set_uint_range(val, kp, 1, PVB_POOL_MAX_BYTES >> 20, false);
}

static int pool_max_mb_set(const char *val, const struct kernel_param *kp)
{
	return set_uint_range(val, kp, 0, PVB_POOL_MAX_BYTES >> 20, false);
}

static int address_bits_set(const char *val, const struct kernel_param *kp)
{
	return set_uint_range(val, kp, 24, 64, false);
}

static int max_mapping_kb_set(const char *val, const struct kernel_param *kp)
{
	return set_uint_range(val, kp, 256, 4096, true);
}

static const struct kernel_param_ops pool_mb_ops = {
	.set = pool_mb_set,
	.get = param_get_uint,
};
static const struct kernel_param_ops pool_max_mb_ops = {
	.set = pool_max_mb_set,
	.get = param_get_uint,
};
static const struct kernel_param_ops address_bits_ops = {
	.set = address_bits_set,
	.get = param_get_uint,
};
static const struct kernel_param_ops max_mapping_kb_ops = {
	.set = max_mapping_kb_set,
	.get = param_get_uint,
};
module_param_cb(pool_mb, &pool_mb_ops, &pool_mb, 0444);
MODULE_PARM_DESC(pool_mb, "size of the common bounce pool in MiB, 1 to 16384 (default: 64)");
module_param_cb(pool_max_mb, &pool_max_mb_ops, &pvb_pool_max_mb, 0644);
MODULE_PARM_DESC(pool_max_mb,
		 "the common pool may grow up to this size in MiB under load and shrink back when idle, private pools to 4x their @size; 0 to 16384, 0 = fixed size; writable, within what each pool was made for (default: 0)");
module_param_cb(address_bits, &address_bits_ops, &address_bits, 0444);
MODULE_PARM_DESC(address_bits,
		 "pool and coherent memory lie below 2^address_bits in bus address, 24 to 64 (default: 32)");
module_param_cb(max_mapping_kb, &max_mapping_kb_ops, &max_mapping_kb, 0444);
MODULE_PARM_DESC(max_mapping_kb,
		 "largest bounced mapping in KiB, a power of two from 256 to 4096 (default: 256)");
module_param(force, bool, 0444);
MODULE_PARM_DESC(force, "bounce every mapping, even ones the device could reach (default: 0)");
module_param(rebind, bool, 0444);
MODULE_PARM_DESC(rebind,
		 "unbind and rebind the driver of an already bound matching device at load and unload (default: 0)");
module_param(poison, bool, 0444);
MODULE_PARM_DESC(poison,
		 "debug: poison freed slots and DMA_FROM_DEVICE buffers until synced, report DMA-API misuse including CPU writes to buffers the device owns (default: 0)");

/**
 * pvb_params_validate() - turn the parameters into pvb_cfg.
 *
 * Return: 0; -ENODEV when backend=xen is asked for outside a Xen PV guest;
 * -EOPNOTSUPP when the native backend would run with memory encryption
 * active (see src/mem_encrypt.c).
 */
int pvb_params_validate(void)
{
	int ret;

	if (!strcmp(backend_text, "xen") && !pvb_backend_xen_usable()) {
		pr_err("backend=xen refused: not running as a Xen PV guest\n");
		return -ENODEV;
	}
	if (!strcmp(backend_text, "native") ||
	    (!strcmp(backend_text, "auto") && !pvb_backend_xen_usable()))
		pvb_cfg.backend = &pvb_backend_native;
	else
		pvb_cfg.backend = &pvb_backend_xen;
	if (pvb_cfg.backend == &pvb_backend_native) {
		ret = pvb_native_mem_encrypt_check();	/* logs why */
		if (ret)
			return ret;
	}
	if (pvb_cfg.backend == &pvb_backend_xen)
		static_branch_enable(&pvb_backend_xen_key);
	pvb_cfg.pool_bytes = (size_t)pool_mb << 20;
	pvb_cfg.address_bits = address_bits;
	pvb_cfg.limit_mask = DMA_BIT_MASK(address_bits);
	pvb_cfg.seg_size = (size_t)max_mapping_kb << 10;
	pvb_cfg.force = force;
	pvb_cfg.rebind = rebind;
	pvb_cfg.poison = poison;
	return 0;
}
