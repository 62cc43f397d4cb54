# SPDX-License-Identifier: GPL-2.0
# max_mapping_kb=1024: the block layer sees the device's own limit (512 KiB on
# QEMU's default NVMe, MDTS 7) instead of the 256 KiB default or the 252 KiB
# of the kernel's swiotlb, and 1 MiB O_DIRECT I/O is verified.  Then force=0
# with the default max_mapping_kb: natively nvme's 64-bit mask reaches all
# memory, nothing can bounce, and the block layer sees the device's own 512
# KiB (no limit from pvbounce, as on dma-direct); as a Xen PV guest the
# limit stays (a buffer that is not machine-contiguous bounces).
. /scenarios/lib.sh
skip_without_pvbounce "nvme with max_mapping_kb=1024"
nvme=$(nvme_pci)

check "load with max_mapping_kb=1024 force=1" pvb_load devices="$nvme" max_mapping_kb=1024 force=1 || exit 0
check "nvme probes on pvbounce's ops" nvme_up "$nvme" || exit 0
expect_eq "max_hw_sectors_kb is the device's own 512" "$(nvme_queue max_hw_sectors_kb)" 512
echo 1024 >"/sys/block/${NVME_DEV#/dev/}/queue/max_sectors_kb" 2>/dev/null
counters "$nvme"
# (-H: buffers in huge pages, so that a 1 MiB I/O is one physically
# contiguous segment, whatever the page allocator hands out)
pvbio_run "1 MiB O_DIRECT write/read-back" -H -s 1M -n 8 -S 31 "$NVME_DEV"
w=$IO_WRITTEN
pvbio_run "512 B..1 MiB, 2 parallel jobs" -H -s "$(size_list 1024)" -j 2 -o 64M -S 32 "$NVME_DEV"
show "$nvme"
expect_ge "bytes_to_device moved by >= the bytes written" "$(delta "$nvme" bytes_to_device)" $((w + IO_WRITTEN))
expect_eq "no request too large" "$(delta "$nvme" errors_too_large)" 0
# nothing else shows a mapping above the 256 KiB default was made.  On a
# Xen PV dom0 the block layer merges pages only when machine-contiguous
# (xen_biovec_phys_mergeable): nvme's largest there was 128 KiB, and the
# 1 MiB mapping is kmod's (largest_mapping, max_mapping_kb=1024)
if [ "$PVB_MODE" = xen ]; then
	diag "Xen: largest_request $(dbg "$nvme" largest_request) (pages merge only when machine-contiguous)"
else
	expect_ge "a mapping above 256 KiB was made (largest_request)" "$(dbg "$nvme" largest_request)" 262145
fi
expect_le "... none above max_mapping_kb=1024" "$(dbg "$nvme" largest_request)" 1048576
pool_idle max_mapping_kb=1024 "$nvme"
unbind "$nvme"
check "rmmod" rmmod pvbounce

tag="force=0, max_mapping_kb=256"
check "$tag: load" pvb_load devices="$nvme" || exit 0
check "$tag: nvme probes on pvbounce's ops" nvme_up "$nvme" || exit 0
maxkb=$(nvme_queue max_hw_sectors_kb)
if [ "$PVB_MODE" = xen ]; then
	expect_eq "$tag: Xen: max_hw_sectors_kb is pvbounce's 252 (256 KiB less nvme's alignment)" "$maxkb" 252
else
	expect_eq "$tag: max_hw_sectors_kb is the device's own 512 (nothing can bounce)" "$maxkb" 512
fi
echo "$maxkb" >"/sys/block/${NVME_DEV#/dev/}/queue/max_sectors_kb" 2>/dev/null
counters "$nvme"
pvbio_run "$tag: ${maxkb} KiB O_DIRECT write/read-back" -H -s "${maxkb}K" -n 8 -S 33 "$NVME_DEV"
pvbio_run "$tag: 512 B..$maxkb KiB, 2 parallel jobs" -H -s "$(size_list "$maxkb")" -j 2 -o 64M -S 34 "$NVME_DEV"
show "$nvme"
expect_eq "$tag: no request too large" "$(delta "$nvme" errors_too_large)" 0
if [ "$PVB_MODE" = xen ]; then
	diag "$tag: Xen: largest_request $(dbg "$nvme" largest_request) (pages merge only when machine-contiguous)"
else
	# (huge-page buffers: a 512 KiB I/O is one segment, one mapping)
	expect_ge "$tag: a direct mapping above 256 KiB was made (largest_request)" \
		"$(dbg "$nvme" largest_request)" 262145
	expect_eq "$tag: nothing bounced" "$(delta "$nvme" bounced_maps)" 0
fi
pool_idle "$tag" "$nvme"
unbind "$nvme"
check "$tag: rmmod" rmmod pvbounce
