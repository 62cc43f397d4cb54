# SPDX-License-Identifier: GPL-2.0
# The in-kernel test module (tests/kmod/pvbounce_test.ko) exercises the ops of
# an attached device and prints KTAP when loaded; its result lines become ours.
# On a Xen PV guest it also checks the pool frame by frame through the p2m.
. /scenarios/lib.sh
skip_without_pvbounce "in-kernel tests"
if [ ! -f "$PVB_TEST_KO" ]; then
	tap_skip "in-kernel tests" "pvbounce_test.ko not built for $(uname -r)"
	exit 0
fi
nvme=$(nvme_pci)

# kmod_run TAG "PVBOUNCE PARAMS" "TEST PARAMS": the device stays without a
# driver (the test module needs it to itself).  The next backend chunk
# allocation is made to fail (debugfs fail/chunk_alloc), so that the test
# module's first dma_alloc_pages() is carved from the pool (carve_next=1).
kmod_run() {
	check "$1: load pvbounce with $2" pvb_load $2 || return
	carve=
	if [ -f "$PVB_DBG/fail/chunk_alloc" ]; then
		echo 1 >"$PVB_DBG/fail/chunk_alloc" && carve=carve_next=1
	else
		diag "$1: no debugfs fail/chunk_alloc: the carved-memory test skips"
	fi
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_TEST_KO" dev="$nvme" $3 $carve
	rc=$?
	[ -n "$carve" ] && expect_eq "$1: the injected chunk failure was used" \
		"$(cat "$PVB_DBG/fail/chunk_alloc")" 0
	dmesg >/tmp/dmesg.kmod
	forward_ktap /tmp/dmesg.kmod "$1"
	expect_eq "$1: insmod pvbounce_test.ko succeeded" "$rc" 0
	# require_coherent_refused (7.x, else skipped): its refusal is logged
	# once, naming the device and the reason
	want=0
	grep -Eq "ok [0-9]+ require_coherent_refused\$" /tmp/dmesg.kmod && want=1
	expect_eq "$1: the DMA_ATTR_REQUIRE_COHERENT refusal logged" \
		"$(grep -c "pvbounce $nvme: map of 4096 bytes at .* refused: the caller requires it unbounced (DMA_ATTR_REQUIRE_COHERENT)" /tmp/dmesg.kmod)" "$want"
	# pool_full_logged_despite_no_warn: both its refusals for room are
	# logged, the one made with DMA_ATTR_NO_WARN too; sg_pool_full_undone:
	# the last map of its fill, and its map_sg's second try (the first
	# try's refusal of a later part is not logged)
	case $3 in *expect_bounce=1*) want=4 ;; *) want=0 ;; esac
	expect_eq "$1: pool-full refusals logged, DMA_ATTR_NO_WARN or not" \
		"$(grep -c "pvbounce $nvme: map of [0-9]* bytes refused: pool .* full" /tmp/dmesg.kmod)" "$want"
	expect_eq "$1: the test module counts no failure" \
		"$(cat /sys/module/pvbounce_test/parameters/failed 2>/dev/null)" 0
	rmmod pvbounce_test 2>/dev/null
	check "$1: rmmod pvbounce after the tests" rmmod pvbounce
}

kmod_run "kmod force=1" "devices=$nvme force=1" "expect_bounce=1 max_mapping_kb=256"
kmod_run "kmod force=1 private pool" "devices=$nvme@4M force=1" "expect_bounce=1 max_mapping_kb=256"
# force=0: what is not bounced skips its bounce tests; the counters add up
kmod_run "kmod force=0 private pool" "devices=$nvme@4M" "max_mapping_kb=256"
kmod_run "kmod address_bits=28 max_mapping_kb=1024" \
	"devices=$nvme force=1 address_bits=28 max_mapping_kb=1024 pool_mb=32" \
	"expect_bounce=1 address_bits=28 max_mapping_kb=1024"

# pvbounce_safety.ko (tests/kmod/safety.c): with force=1, the nvme and the
# first e1000e (unbound for it) in the common pool: one device's map never
# gets the slots the other just gave back (a late device write would land in
# it); on Xen with force=0, a machine-contiguous buffer across the device's
# segment boundary is bounced.
safety_run() { # TAG "PVBOUNCE PARAMS" "TEST PARAMS"
	check "$1: load pvbounce with $2" pvb_load $2 || return
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_SAFETY_KO" dev_a="$nvme" $3
	rc=$?
	dmesg >/tmp/dmesg.safety
	forward_ktap /tmp/dmesg.safety "$1"
	expect_eq "$1: insmod pvbounce_safety.ko succeeded" "$rc" 0
	expect_eq "$1: the test module counts no failure" \
		"$(cat /sys/module/pvbounce_safety/parameters/failed 2>/dev/null)" 0
	rmmod pvbounce_safety 2>/dev/null
	check "$1: rmmod pvbounce after the tests" rmmod pvbounce
}
if [ -f "$PVB_SAFETY_KO" ]; then
	set -- $(nic_pcis)
	nic=${1:-}
	nic_drv=$(driver_of "$nic")
	[ -n "$nic" ] && unbind "$nic"
	safety_run "safety force=1" "devices=$nvme${nic:+,$nic} force=1" \
		"${nic:+dev_b=$nic} expect_bounce=1"
	[ "$PVB_MODE" = xen ] && safety_run "safety force=0" "devices=$nvme" ""
	[ -n "$nic_drv" ] && bind "$nic" "$nic_drv"
else
	tap_skip "pvbounce_safety tests" "pvbounce_safety.ko not built for $(uname -r)"
fi

# pvbounce_skipsync.ko (tests/kmod/skipsync.c), on a fresh force=0 load
# (nothing of the device bounced yet) with the pool below 2^28: syncs of a
# direct mapping skip pvbounce until the first bounce (6.12, 7.3), the
# bounced FROM_DEVICE buffer's data after sync_for_cpu, every sync counted
# after it; dma_max_mapping_size() unlimited natively with a 64-bit mask.
# Detached, the device has its skip-sync flag back as the kernel had
# computed it for its old ops (dma_set_mask() on them, before the load).
skip_sync_state() { # STATE(1 read, 2 set the mask first): the flag, or -1
	insmod "$PVB_SKIPSYNC_KO" dev="$nvme" state="$1" 2>/dev/null &&
		cat /sys/module/pvbounce_skipsync/parameters/skip_sync
	rmmod pvbounce_skipsync 2>/dev/null
}
if [ -f "$PVB_SKIPSYNC_KO" ]; then
	tag="skipsync force=0"
	before=$(skip_sync_state 2)
	check "$tag: the skip-sync flag read before the load ($before)" \
		test "$before" = 0 -o "$before" = 1 -o "$before" = -1
	if check "$tag: load pvbounce" pvb_load devices="$nvme" address_bits=28 pool_mb=16; then
		dmesg -c >/dev/null
		run_cmd insmod "$PVB_SKIPSYNC_KO" dev="$nvme" bits=28
		rc=$?
		dmesg >/tmp/dmesg.skipsync
		forward_ktap /tmp/dmesg.skipsync "$tag"
		expect_eq "$tag: insmod pvbounce_skipsync.ko succeeded, no failure counted" \
			"$rc:$(cat /sys/module/pvbounce_skipsync/parameters/failed 2>/dev/null)" 0:0
		rmmod pvbounce_skipsync 2>/dev/null
		check "$tag: rmmod pvbounce after the tests" rmmod pvbounce
		expect_eq "$tag: detached, the device's skip-sync flag is the kernel's again (-1: none)" \
			"$(skip_sync_state 1)" "$before"
	fi
else
	tap_not_ok "pvbounce_skipsync.ko in the initramfs"
fi

# pvbounce_refuse.ko (tests/kmod/refuse.c), each run on a fresh load (the
# rate limit's state new): the refusals no driver makes, each with its
# pvbounce_refuse reason, counted exactly by the test module and here
# compared with the trace and the log; a burst of 30 refused maps at one
# site logs 10 lines (docs/messages.md: at most 10 every 5 seconds per message; the
# burst takes well under a second), all 30 counted and traced; the mmap and
# get_required_mask ops.
TR=/sys/kernel/tracing
[ -d "$TR/events" ] || mount -t tracefs nodev "$TR" 2>/dev/null
refuse_run() { # TAG "PVBOUNCE PARAMS" EXPECT_BOUNCE(0|1)
	expect_bounce=$3
	check "$1: load pvbounce with $2" pvb_load $2 || return
	echo 0 >"$TR/events/pvbounce/enable" 2>/dev/null
	: >"$TR/trace"
	echo 1 >"$TR/events/pvbounce/pvbounce_refuse/enable" 2>/dev/null
	echo 1 >"$TR/tracing_on" 2>/dev/null
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_REFUSE_KO" dev="$nvme" pool_top="$(pool_top "$PVB_DBG/pool")" burst=30 expect_bounce="$3"
	rc=$?
	echo 0 >"$TR/events/pvbounce/enable" 2>/dev/null
	dmesg >/tmp/dmesg.refuse
	forward_ktap /tmp/dmesg.refuse "$1"
	# (few processes: each costs a Xen PV guest under TCG a good part of
	# a second) the module's failed and refused_<reason> parameters; the
	# trace's records per reason; the log's lines per refusal
	P=/sys/module/pvbounce_refuse/parameters
	set -- "$1" $(cat $P/failed $P/refused_zero_size $P/refused_too_large \
		$P/refused_wraps $P/refused_not_identity 2>/dev/null)
	expect_eq "$1: insmod pvbounce_refuse.ko succeeded, no failure counted" "$rc:$2" 0:0
	want_tl=0 want_ni=0
	[ "$expect_bounce" = 1 ] && want_tl=1
	[ "$PVB_MODE" = xen ] && want_ni=1
	expect_eq "$1: refusals made (zero_size:too_large:wraps:not_identity)" \
		"$3:$4:$5:$6" "1:$want_tl:30:$want_ni"
	expect_eq "$1: pvbounce_refuse records per reason (zero_size:too_large:wraps:not_identity:other) == the maps refused so" \
		"$(awk -v d="$nvme" '/pvbounce_refuse: / { if (match($0, "pvbounce_refuse: dev=" d " size=[0-9]+ reason=[a-z_]+$")) { r = $NF; sub(/reason=/, "", r); n[r]++ } else n["?"]++ }
			END { print n["zero_size"] + 0 ":" n["too_large"] + 0 ":" n["wraps"] + 0 ":" n["not_identity"] + 0 ":" (n["?"] + n["mask"] + n["pool_full"] + n["require_coherent"]) + 0 }' "$TR/trace")" \
		"$3:$4:$5:$6:0"
	# the lines: the 0-byte map, the too-large one, the burst of wrapping
	# ranges (10 of 30: the rate limit), the RAM frame mapped as MMIO
	expect_eq "$1: refusals logged (zero_size:too_large:wraps, rate-limited:not_identity)" \
		"$(awk -v d="pvbounce $nvme: " '
			index($0, d "map of 0 bytes at ") && / refused: a mapping needs at least one byte \(a driver bug\)$/ { z++ }
			index($0, d "map of ") && / bytes refused: can never fit a 256 KiB segment \(largest bounced mapping [0-9]+ bytes with min_align_mask .*\); raise max_mapping_kb$/ { t++ }
			index($0, d "resource at ") && / \(8192 bytes\) refused: the range wraps past the end of the address space$/ { w++ }
			index($0, d "resource at ") && / \(4096 bytes\) refused: not identity-mapped by the xen backend \(bus .*\); only MMIO that bus addresses 1:1 can be mapped$/ { i++ }
			END { print z + 0 ":" t + 0 ":" w + 0 ":" i + 0 }' /tmp/dmesg.refuse)" \
		"1:$want_tl:10:$want_ni"
	rmmod pvbounce_refuse 2>/dev/null
	check "$1: rmmod pvbounce after the tests" rmmod pvbounce
}

# foreign_ops: another module's DMA ops on the device (pvbounce_refuse.ko
# foreign=1 sets them until its rmmod): a devices= write refuses the device
# with docs/messages.md's line; set while the device is attached, the detach finds
# them, says so and leaves them.  Attached as usual once they are gone.
foreign_ops() {
	check "foreign ops: load pvbounce" pvb_load pool_mb=4 || return
	check "foreign ops: another module sets $nvme's DMA ops" \
		insmod "$PVB_REFUSE_KO" dev="$nvme" foreign=1 &&
	{
		dmesg -c >/dev/null
		echo "$nvme" >"$PVB_PARAMS/devices"
		dmesg_has "foreign ops: refused, naming the device, the ops and what to do" \
			"pvbounce $nvme: not attached: its DMA ops are pvbt_foreign_ops \\[pvbounce_refuse\\], not the kernel's defaults \\(installed by another module or driver\\); pvbounce does not stack over them: unload what set them, or leave the device out of devices=\$"
		check_fails "foreign ops: $nvme not attached" test -d "/sys/kernel/pvbounce/$nvme"
		rmmod pvbounce_refuse
	}
	echo >"$PVB_PARAMS/devices"
	echo "$nvme" >"$PVB_PARAMS/devices"
	check "foreign ops: attached once they are gone" test -d "/sys/kernel/pvbounce/$nvme" || return
	check "foreign ops: set while $nvme is attached" \
		insmod "$PVB_REFUSE_KO" dev="$nvme" foreign=1 &&
	{
		dmesg -c >/dev/null
		echo >"$PVB_PARAMS/devices"
		dmesg_wait "foreign ops: the detach says the ops changed and leaves them" \
			"pvbounce $nvme: DMA ops changed while attached \\(to pvbt_foreign_ops \\[pvbounce_refuse\\]\\): left as they are\$"
		check_fails "foreign ops: $nvme detached" test -d "/sys/kernel/pvbounce/$nvme"
		rmmod pvbounce_refuse
	}
	echo "$nvme" >"$PVB_PARAMS/devices"
	check "foreign ops: attached again on the kernel's defaults" test -d "/sys/kernel/pvbounce/$nvme"
	echo >"$PVB_PARAMS/devices"
	check "foreign ops: rmmod pvbounce" rmmod pvbounce
}

if [ -f "$PVB_REFUSE_KO" ]; then
	refuse_run "refuse force=1" "devices=$nvme force=1 pool_mb=4" 1
	refuse_run "refuse force=0" "devices=$nvme pool_mb=4" 0
	foreign_ops
else
	tap_not_ok "pvbounce_refuse.ko in the initramfs"
fi

# A device whose DMA is not cache-coherent is refused (x86 DMA always is:
# debugfs fail/noncoherent makes the next device checked count as not).
if check "noncoherent: load pvbounce" pvb_load; then
	if [ -f "$PVB_DBG/fail/noncoherent" ]; then
		echo 1 >"$PVB_DBG/fail/noncoherent"
		dmesg -c >/dev/null
		echo "$nvme" >"$PVB_PARAMS/devices"
		dmesg_has "noncoherent: refused with a line naming the device and the reason" \
			"pvbounce $nvme: not attached: its DMA is not cache-coherent"
		check_fails "noncoherent: $nvme not attached" grep -q "^$nvme " "$PVB_DBG/devices"
		expect_eq "noncoherent: the injected refusal was used" \
			"$(cat "$PVB_DBG/fail/noncoherent")" 0
		echo "" >"$PVB_PARAMS/devices"
		echo "$nvme" >"$PVB_PARAMS/devices"
		attached "$nvme" -
	else
		tap_not_ok "noncoherent: debugfs fail/noncoherent exists"
	fi
	echo "" >"$PVB_PARAMS/devices"
	check "noncoherent: rmmod pvbounce" rmmod pvbounce
fi
