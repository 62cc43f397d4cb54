// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce: per-device bounce-buffer DMA ops for chosen PCI devices, with a
 * machine-contiguous pool on Xen PV guests.  Module init and exit.
 */
#include <linux/module.h>
#include <pvbounce/attach.h>
#include <pvbounce/device.h>
#include <pvbounce/device_ref.h>
#include <pvbounce/pvbounce.h>

struct pvb_pool pvb_common_pool;

static int __init pvb_init(void)
{
	int ret;

	ret = pvb_params_validate();
	if (ret)
		return ret;
	ret = pvb_dev_ref_module_init();
	if (ret) {
		pr_err("not loaded: out of memory for its work queue\n");
		return ret;
	}
	ret = pvb_pool_create(&pvb_common_pool, PVB_COMMON_POOL,
			      pvb_cfg.backend, pvb_cfg.pool_bytes,
			      pvb_pool_max_bytes(pvb_cfg.pool_bytes),
			      pvb_cfg.seg_size, pvb_cfg.limit_mask);
	if (ret) {
		pr_err("not loaded: no common pool (%d)\n", ret);
		goto err_pool;
	}
	pvb_pool_set_poison(&pvb_common_pool, pvb_cfg.poison);
	pvb_debugfs_init();
	ret = pvb_sysfs_init();
	if (ret) {
		pr_err("not loaded: /sys/kernel/pvbounce could not be made (%d)\n",
		       ret);
		goto err_sysfs;
	}
	ret = pvb_attach_init();	/* logs its own failure */
	if (ret)
		goto err_attach;
	pr_info("loaded: %s backend, common pool %zu KiB, address_bits %u, max_mapping_kb %zu%s\n",
		pvb_cfg.backend->name, pvb_pool_bytes(&pvb_common_pool) >> 10,
		pvb_cfg.address_bits, pvb_common_pool.seg_size >> 10,
		pvb_cfg.force ? ", force" : "");
	return 0;

err_attach:
	pvb_sysfs_exit();
err_sysfs:
	pvb_debugfs_exit();
	pvb_pool_destroy(&pvb_common_pool);
err_pool:
	pvb_dev_ref_module_exit();
	return ret;
}

static void __exit pvb_exit(void)
{
	pvb_attach_exit();
	pvb_sysfs_exit();
	pvb_debugfs_exit();
	pvb_pool_destroy(&pvb_common_pool);
	pvb_dev_ref_module_exit();
	pr_info("unloaded\n");
}

module_init(pvb_init);
module_exit(pvb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-device bounce-buffer DMA ops with a Xen PV machine-contiguous pool");
MODULE_AUTHOR("pvbounce developers");
MODULE_VERSION(PVB_VERSION);	/* dkms.conf's PACKAGE_VERSION, passed by Kbuild */
