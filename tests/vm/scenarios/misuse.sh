# SPDX-License-Identifier: GPL-2.0
# poison=1's misuse detection: tests/kmod/pvbounce_misuse.ko makes each
# mistake on purpose on the NVMe controller (no driver, force=1): a
# DMA_TO_DEVICE buffer changed after map without sync_for_device, a
# DMA_FROM_DEVICE buffer read and one written before sync (the read shows the
# poison pattern, the write is reported), and the correct sequences, which
# are not; and the bookkeeping mistakes, counted with poison or without (an
# unmap of another size or direction, not at the mapping's start, twice; a
# sync past the mapping's end), misuse exactly 7 with poison, 5 without.  Its
# KTAP results become ours; here the kernel log is checked to
# name device, address, size and the caller of each reported mistake, and
# poison=0 to report nothing.
. /scenarios/lib.sh
skip_without_pvbounce "misuse detection"
if [ ! -f "$PVB_MISUSE_KO" ]; then
	tap_skip "misuse detection" "pvbounce_misuse.ko not built for $(uname -r)"
	exit 0
fi
nvme=$(nvme_pci)

# the module's KTAP as our TAP, and its diagnostics
forward_misuse_ktap() { # TAG
	forward_ktap /tmp/dmesg.misuse "$1"
	grep '^# \|^\[[^]]*\] # ' /tmp/dmesg.misuse | while IFS= read -r l; do diag "$l"; done
}

# misuse_run POISON
misuse_run() {
	tag="misuse poison=$1"
	check "$tag: load pvbounce" pvb_load "devices=$nvme" force=1 poison="$1" || return
	dmesg -c >/dev/null
	# (DMA-API debug, on the debug kernel, sees the five bookkeeping
	# mistakes too: each reported once, with no warning)
	dma_debug_expect_around "$tag: the module's five bookkeeping mistakes" 5 \
		run_cmd insmod "$PVB_MISUSE_KO" dev="$nvme" poison="$1"
	rc=$?
	dmesg >/tmp/dmesg.misuse
	forward_misuse_ktap "$tag"
	expect_eq "$tag: insmod pvbounce_misuse.ko succeeded" "$rc" 0
	expect_eq "$tag: the test module counts no failure" \
		"$(cat /sys/module/pvbounce_misuse/parameters/failed 2>/dev/null)" 0
	grep 'DMA-API misuse' /tmp/dmesg.misuse >/tmp/misuse.lines
	if [ "$1" = 1 ]; then
		# pvbounce 0000:00:03.0: DMA-API misuse: unmap of 3000 bytes at
		# 0x...: by misuse_to_unsynced+0x../0x.. [pvbounce_misuse] (via dma_unmap_page_attrs+...)
		# (6.1's dma_unmap_page_attrs() reaches the op by a tail call,
		# so there the caller shows as "via", its own caller as "by")
		re="^\[[^]]*\] pvbounce $nvme: DMA-API misuse: unmap of 3000 bytes at 0x[0-9a-f]+ by [A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[a-z0-9_]+\])? \(via [A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[a-z0-9_]+\])?\)"
		dmesg_has "$tag: TO_DEVICE change without sync reported with device, size, address, caller" \
			"$re:.*the CPU changed a DMA_TO_DEVICE buffer" /tmp/misuse.lines &&
		check "$tag: ... and its caller misuse_to_unsynced" \
			grep -Eq "(by|via) misuse_to_unsynced\+.*the CPU changed a DMA_TO_DEVICE buffer" /tmp/misuse.lines
		dmesg_has "$tag: CPU write to a FROM_DEVICE buffer before sync reported with device, size, address, caller" \
			"$re:.*the CPU wrote a DMA_FROM_DEVICE buffer" /tmp/misuse.lines &&
		check "$tag: ... and its caller misuse_from_write" \
			grep -Eq "(by|via) misuse_from_write\+.*the CPU wrote a DMA_FROM_DEVICE buffer" /tmp/misuse.lines
		for w in "unmap of 2900 bytes.*size differs from the map" \
			"unmap of 3000 bytes.*direction differs from the map"; do
			dmesg_has "$tag: reported: $w" "pvbounce $nvme: DMA-API misuse: $w" /tmp/misuse.lines
		done
		expect_eq "$tag: exactly the seven mistakes reported" "$(wc -l </tmp/misuse.lines)" 7 ||
			diag_file /tmp/misuse.lines
	else
		# these three are logged without poison too
		expect_eq "$tag: only the three always logged reported" "$(wc -l </tmp/misuse.lines)" 3 ||
			diag_file /tmp/misuse.lines
	fi
	for w in "unmap of 2984 bytes.*not the start of its mapping" \
		"unmap of 3000 bytes.*not in any live mapping" \
		"sync_for_cpu of 3500 bytes.*runs past the mapping [(]clamped[)]"; do
		dmesg_has "$tag: reported: $w" "pvbounce $nvme: DMA-API misuse: $w" /tmp/misuse.lines
	done
	# attached at this load: the counter holds this run's reports only
	# poison=1: 2 CPU writes + 5 bookkeeping mistakes; poison=0: the 5
	[ "$1" = 1 ] && want=7 || want=5
	expect_eq "$tag: misuse counted exactly $want" "$(dbg "$nvme" misuse)" "$want"
	expect_eq "$tag: debugfs misuse agrees" "$(dbg "$nvme" misuse)" "$(cat /sys/kernel/pvbounce/"$nvme"/misuse)"
	expect_eq "$tag: no pool slot in use" "$(dbg used)" 0
	rmmod pvbounce_misuse 2>/dev/null
	check "$tag: rmmod pvbounce" rmmod pvbounce
}

misuse_run 1
misuse_run 0
