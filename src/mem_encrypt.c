// SPDX-License-Identifier: GPL-2.0
/*
 * The native backend and memory encryption.
 *
 * The native backend gives a device bus address == physical address, and
 * neither its pool nor its coherent memory is ever marked decrypted.  With
 * memory encryption active that is wrong both ways: on an AMD host booted
 * with mem_encrypt=on (SME) a DMA address must carry the C-bit for the
 * device to see plaintext (dma-direct's phys_to_dma() sets it), and in an
 * SEV, SEV-ES or SNP guest, or an Intel TDX guest, a device can only reach
 * memory shared with the host, which swiotlb's pool is and pvbounce's is
 * not.  The device would read ciphertext and its writes would land
 * unencrypted: silent corruption.  QEMU under TCG emulates none of this, so
 * pvbounce does not guess: the native backend refuses to run when the
 * kernel says memory is encrypted, and the user is pointed to the kernel's
 * own swiotlb, which bounces through decrypted memory.
 *
 * Kernel-agnostic: built into the module and, against tests/unit/shim
 * (whose cc_platform_has() the test sets), into the unit tests.
 */
#include <linux/cc_platform.h>
#include <linux/errno.h>
#include <linux/printk.h>
#include <pvbounce/mem_encrypt.h>

/**
 * pvb_native_mem_encrypt_check() - may the native backend run here?
 *
 * Asks cc_platform_has() for CC_ATTR_GUEST_MEM_ENCRYPT (an SEV, SEV-ES, SNP
 * or TDX guest) and CC_ATTR_MEM_ENCRYPT (any memory encryption, the SME
 * host's included).
 *
 * Return: 0 if it may; -EOPNOTSUPP, with one logged line saying why and
 * what to use instead, if memory encryption is active.
 */
int pvb_native_mem_encrypt_check(void)
{
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_err("not loaded: this is a guest with encrypted memory (AMD SEV/SEV-ES/SNP or Intel TDX): devices can reach only memory shared with the host, and the native backend's is not; leave the devices to the kernel's swiotlb, which bounces through shared memory\n");
		return -EOPNOTSUPP;
	}
	if (cc_platform_has(CC_ATTR_MEM_ENCRYPT)) {
		pr_err("not loaded: memory encryption is active (AMD SME, mem_encrypt=on): the native backend's bus addresses lack the encryption bit, so devices would read and write ciphertext; leave the devices to the kernel's swiotlb (swiotlb=force bounces every device), or boot with mem_encrypt=off\n");
		return -EOPNOTSUPP;
	}
	return 0;
}
