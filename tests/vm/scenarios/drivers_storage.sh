# SPDX-License-Identifier: GPL-2.0
# Storage drivers on pvbounce (group drivers, run.sh's PVB_DRIVERS=1): for
# each emulated controller, one at a time, pvbounce takes that device alone
# with force=1 before its in-tree driver binds; O_DIRECT writes of seeded
# data are read back and compared byte for byte (pvbio: sizes 512 B..the
# queue's largest, buffers off a page boundary, 2 parallel jobs), and the
# device's counters say that every map was bounced, none failed, no misuse,
# and that no other device was served.  The drivers reach the DMA API their
# own ways: libata (ahci) and SCSI HBAs through map_sg, xhci for usb-storage
# through the USB core's map_sg, sdhci through map_sg with ADMA descriptor
# tables in coherent memory, virtio-blk page by page through the virtio
# ring (iommu_platform=on: the DMA API).
. /scenarios/drivers_lib.sh
skip_without_pvbounce "storage drivers on pvbounce"

# drv_disk PCI: wait (60 s) for a disk behind PCI; sets DISK (/dev/NAME)
drv_disk() {
	DISK=
	for i in $(seq 1 600); do
		for b in /sys/block/*; do
			case $(readlink -f "$b") in */$1/*) ;; *) continue ;; esac
			[ "$(cat "$b/size")" -gt 0 ] 2>/dev/null || continue
			[ -b "/dev/${b##*/}" ] || continue
			DISK=/dev/${b##*/}
			return 0
		done
		sleep 0.1
	done
	diag "no disk appeared behind $1 (driver: $(driver_of "$1"))"
	return 1
}

# drv_unbind TAG PCI DRIVER: unbind DRIVER from PCI.  sym53c8xx's remove()
# warns whatever the DMA ops: it frees coherent memory under a spinlock
# taken with spin_lock_irqsave (sym_malloc.c), and dma_free_attrs() warns
# when interrupts are off.  Its unbind runs with panic_on_warn off, between
# two kernel log lines that tell run.sh to leave out exactly those warnings
# (see checkable() there); here they must be there, each with sym53c8xx's
# frame, and nothing else reported.
drv_unbind() {
	if [ "$3" != sym53c8xx ]; then
		unbind "$2"
		return 0
	fi
	echo 0 >/proc/sys/kernel/panic_on_warn
	echo "pvbounce-test: expected driver warnings begin: sym53c8xx frees coherent memory with interrupts off" >/dev/kmsg
	dmesg -c >/dev/null
	unbind "$2"
	dmesg >/tmp/drv.warn
	echo "pvbounce-test: expected driver warnings end" >/dev/kmsg
	echo 1 >/proc/sys/kernel/panic_on_warn
	n=$(grep -c 'WARNING: .* dma_free_attrs+' /tmp/drv.warn)
	diag "$1: sym53c8xx's remove() made $n dma_free_attrs warnings (interrupts off), the driver's bug"
	expect_eq "$1: each warning at remove() is dma_free_attrs's, from sym53c8xx's ___free_dma_mem_cluster" \
		"$(grep -c '___free_dma_mem_cluster+.*\[sym53c8xx\]' /tmp/drv.warn)" "$n"
	expect_eq "$1: no other report at remove()" \
		"$(grep -E 'WARNING:|BUG:|Oops|general protection' /tmp/drv.warn | grep -vc 'WARNING: .* dma_free_attrs+')" 0 ||
		diag_file /tmp/drv.warn 40
}

# storage TAG PCI DRIVER MODULE [CLASS_MODULE...]: the whole check of one
# controller; DRIVER (loaded as MODULE) binds PCI, CLASS_MODULEs give the
# disk (sd_mod, usb-storage, mmc_block, virtio_blk)
storage() {
	tag=$1 pci=$2 drv=$3 mod=$4
	shift 4
	diag "--- $tag: $drv on $pci"
	drv_present "$pci" "$tag" || return 0
	boot_drv=$(drv_release "$pci")
	drv_load "$tag" "$pci" || { drv_abort "$pci"; drv_restore "$pci" "$boot_drv"; return 0; }
	if ! check "$tag: $drv binds $pci" drv_bind_pci "$pci" "$drv" "$mod"; then
		dmesg | tail -n 20 >/tmp/drv.dmesg
		diag_file /tmp/drv.dmesg
		drv_abort "$pci"; drv_restore "$pci" "$boot_drv"
		return 0
	fi
	for m in "$@"; do
		modprobe "$m"
	done
	if check "$tag: a disk appears behind $pci" drv_disk "$pci"; then
		diag "$tag: disk $DISK, $(($(cat "/sys/block/${DISK#/dev/}/size") / 2048)) MiB"
		maxkb=$(cat "/sys/block/${DISK#/dev/}/queue/max_hw_sectors_kb")
		[ "$maxkb" -gt 512 ] && maxkb=512
		w=0 r=0
		pvbio_run "$tag: O_DIRECT write/read-back 512 B..$maxkb KiB" \
			-s "$(size_list "$maxkb")" -S 31 "$DISK"
		w=$((w + IO_WRITTEN)) r=$((r + IO_READ))
		pvbio_run "$tag: same from buffers 512 B past a page boundary" \
			-s "$(size_list "$maxkb")" -b 512 -o 8M -S 32 "$DISK"
		w=$((w + IO_WRITTEN)) r=$((r + IO_READ))
		pvbio_run "$tag: 2 parallel jobs of 4 KiB..$maxkb KiB" \
			-s 4K,64K,"${maxkb}K" -n 2 -j 2 -o 16M -S 33 "$DISK"
		w=$((w + IO_WRITTEN)) r=$((r + IO_READ))
	else
		dmesg | tail -n 20 >/tmp/drv.dmesg
		diag_file /tmp/drv.dmesg
		w= r=
	fi
	drv_only "$tag" "$pci"
	drv_unbind "$tag" "$pci" "$drv"
	# (the counters judged once the driver is gone: they no longer move)
	drv_judge "$tag" "$pci" "$w" "$r"
	drv_unload "$tag" "$pci" || drv_abort "$pci"
	drv_restore "$pci" "$boot_drv"
}

modprobe sd_mod
storage ahci 0000:00:1f.2 ahci ahci
storage megaraid_sas 0000:00:10.0 megaraid_sas megaraid_sas
storage sym53c8xx 0000:00:11.0 sym53c8xx sym53c8xx
storage vmw_pvscsi 0000:00:12.0 vmw_pvscsi vmw_pvscsi
storage usb-storage 0000:00:13.0 xhci_hcd xhci-pci usb-storage
storage mmc_block 0000:00:14.0 sdhci-pci sdhci-pci mmc_block
storage virtio_blk 0000:00:15.0 virtio-pci virtio_pci virtio_blk
