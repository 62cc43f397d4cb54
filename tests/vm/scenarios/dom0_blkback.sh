# SPDX-License-Identifier: GPL-2.0
# A dom0's job: a guest's disk served by xen-blkback from a partition of an
# NVMe that pvbounce serves (run.sh's domu mode; this scenario runs in the
# dom0 and creates its domUs, which run guest_blk.sh).  blkback submits bios
# whose pages are the guest's, grant-mapped into the dom0 (foreign frames in
# its p2m), so pvbounce maps pages that are not the dom0's: directly with
# force=0, bounced (copied through the dom0's mapping of the grant) with
# force=1.  Each round: pvbounce loaded, the NVMe bound on its ops, the
# partition given to a new domU (script=/lib/pvb/block-hotplug, mkdom0.sh),
# the domU's verified I/O (guest_blk.sh: O_DIRECT sizes, unaligned buffers,
# parallel jobs, buffered), then here, once the domU is gone: the counters
# (maps made, bounced or direct as force says, bytes at least the guest's,
# no error or misuse, every slot back), the guest's data read back from the
# partition, byte for byte, through pvbounce, and the unload.
#  A  force=0, common pool;
#  B  force=1, a private pool: first a domU destroyed (xl destroy) in the
#     middle of its I/O, the backend gone and every slot back, then a new
#     domU's verified I/O on the same load, during which the pool is held
#     full for a while (tests/kmod/pvbounce_hold.ko, as nvme_exhaust does):
#     the guest's requests are refused (counted, logged naming the device
#     and its pool), nvme requeues them, and the guest sees only a delay.
# pvb.blk_rounds=A|B (run.sh's PVB_KARGS_EXTRA): only that round.
. /scenarios/lib.sh
dom0_lane "dom0 blkback" dom0_blkback
nvme=$(nvme_pci)
DOMU_MEM=256
rounds=$(sed -n 's/.*[[:space:]]pvb\.blk_rounds=\([AB]*\).*/\1/p' /proc/cmdline)
rounds=${rounds:-AB}

check "dom0 blk: modprobe xen-blkback" modprobe xen-blkback || exit 0
check "dom0 blk: nvme bound (no pvbounce yet)" nvme_up "$nvme" || exit 0
disk=$NVME_DEV
# one partition of 192 MiB from 1 MiB on, as a dom0 exports one
printf 'o\nn\np\n1\n2048\n+192M\nw\n' | fdisk "$disk" >/tmp/fdisk.out 2>&1
blk_part=${disk}p1
for i in $(seq 1 100); do
	[ -b "$blk_part" ] && break
	sleep 0.1
done
expect_eq "dom0 blk: $blk_part made ($((192 * 2048)) sectors)" \
	"$(cat "/sys/class/block/${blk_part#/dev/}/size" 2>/dev/null)" $((192 * 2048)) ||
	{ diag_file /tmp/fdisk.out 10; exit 0; }
unbind "$nvme"

# blk_backend_gone TAG: xen-blkback has let go of every guest disk
blk_backend_gone() {
	for i in $(seq 1 300); do
		[ -z "$("$XEN_BIN/xenstore-list" /local/domain/0/backend/vbd 2>/dev/null)" ] && break
		sleep 0.1
	done
	expect_eq "$1: blkback let go of the guest's disk (no vbd backend left)" \
		"$("$XEN_BIN/xenstore-list" /local/domain/0/backend/vbd 2>/dev/null)" ""
}

# slots_back TAG: every slot of the NVMe's pool back (within 30 s: bios of
# a destroyed guest may still be completing)
slots_back() {
	f=$PVB_DBG/used
	[ -f "$PVB_DBG/$nvme/used" ] && f=$PVB_DBG/$nvme/used
	expect_eq "$1: every slot of the pool back ($f)" "$(pool_drain "$f")" 0
}

# blk_judge TAG FORCE: the counters since the last snapshot, for the domU's
# I/O that $DOMU_LAST_LOG says it did
blk_judge() {
	tr -d '\r' <"$DOMU_LAST_LOG" >/tmp/guest.log
	gw=$(sed -n 's/.*guest-io: written=\([0-9]*\) read=.*/\1/p' /tmp/guest.log | tail -n 1)
	gr=$(sed -n 's/.*guest-io: written=[0-9]* read=\([0-9]*\).*/\1/p' /tmp/guest.log | tail -n 1)
	# (the holder's own maps, one slot each, to the device, left out)
	hb=$(cat /tmp/hold.bytes 2>/dev/null || echo 0)
	hm=$((hb / 2048))
	maps=$(($(delta "$nvme" maps) - hm))
	b=$(($(delta "$nvme" bounced_maps) - hm))
	d=$(delta "$nvme" direct_maps)
	to=$(($(delta "$nvme" bytes_to_device) - hb))
	from=$(delta "$nvme" bytes_from_device)
	full=$(delta "$nvme" errors_pool_full)
	# maps refused while the pool was held full count in maps, neither
	# bounced nor direct
	nb=$((maps - full))
	diag "$1: the guest wrote ${gw:-?} and read ${gr:-?} bytes; pvbounce: maps $maps (bounced $b, direct $d), $to bytes to the device, $from from it"
	expect_ge "$1: the guest's I/O went through pvbounce's maps" "$maps" 1000
	if [ "$2" = 1 ]; then
		expect_eq "$1: force=1: every map of the guest's pages bounced (but those refused)" "$b" "$nb"
	else
		expect_eq "$1: force=0: every map of the guest's pages direct (reachable foreign frames)" "$d" "$nb"
	fi
	if [ "$hb" -gt 0 ]; then
		expect_ge "$1: the guest's requests refused while the pool was held full (errors_pool_full)" "$full" 1
		expect_eq "$1: no map error but those refusals" "$(delta "$nvme" map_errors)" "$full"
		dmesg_has "$1: the refusal's message names the device and its pool" \
			"pvbounce $nvme: map of [0-9]+ bytes refused: pool $nvme .*full"
	else
		expect_eq "$1: no map error" "$(delta "$nvme" map_errors)" 0
	fi
	expect_eq "$1: no DMA-API misuse" "$(delta "$nvme" misuse)" 0
	expect_ge "$1: bytes to the device at least the guest's writes" "$to" "${gw:-1}"
	expect_ge "$1: bytes from the device at least the guest's reads" "$from" "${gr:-1}"
	# at most twice: a map counted twice would double them
	expect_ge "$1: bytes to the device at most twice the guest's writes" $((2 * ${gw:-0})) "$to"
	expect_ge "$1: bytes from the device at most twice the guest's reads" $((2 * ${gr:-0})) "$from"
}

# blk_readback TAG: what the domU of $DOMU_LAST_LOG wrote, read here from
# the partition (through pvbounce), byte for byte
blk_readback() {
	mk=$(sed -n 's/.*guest-io: maxkb=\([0-9]*\) seed=.*/\1/p' /tmp/guest.log | tail -n 1)
	sd=$(sed -n 's/.*guest-io: maxkb=[0-9]* seed=\([0-9]*\).*/\1/p' /tmp/guest.log | tail -n 1)
	md=$(sed -n 's/.*guest-io: buffered md5=\([0-9a-f]*\).*/\1/p' /tmp/guest.log | tail -n 1)
	if [ -z "$mk" ] || [ -z "$sd" ] || [ -z "$md" ]; then
		tap_not_ok "$1: the guest said what it wrote (guest-io: lines on its console)"
		return
	fi
	guest_io_plan "$mk" "$sd" >/tmp/plan
	k=0
	while read -r args; do
		k=$((k + 1))
		# shellcheck disable=SC2086
		pvbio_run "$1: the guest's data of plan line $k read back here from $blk_part (pvbio -m r)" \
			-m r $args "$blk_part"
	done </tmp/plan
	expect_eq "$1: the guest's buffered data read back here (md5)" \
		"$(dd if="$blk_part" bs=1M skip="$GUEST_BUF_AT" count="$GUEST_BUF_MB" iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)" "$md"
}

# blk_load TAG FORCE POOL: pvbounce on the NVMe, its partition back
blk_load() {
	check "$1: insmod pvbounce devices=$nvme$3 force=$2" pvb_load devices="$nvme$3" force="$2" || return 1
	check "$1: nvme bound again, on pvbounce's ops" nvme_up "$nvme" || return 1
	for i in $(seq 1 100); do
		[ -b "$blk_part" ] && break
		sleep 0.1
	done
	attached "$nvme" nvme
	# (target= last: it takes the rest of the spec)
	DOMU_CFG="disk = [ 'format=raw, vdev=xvda, access=rw, backendtype=phy, script=/lib/pvb/block-hotplug, target=$blk_part' ]"
}

# blk_hold_bg: in the background, once the guest's I/O has begun: every
# free slot of the NVMe's pool held (pvbounce_hold.ko) until the guest's
# requests were refused, then 2 s more, then given back; the bytes held in
# /tmp/hold.bytes, what happened in /tmp/hold.log
blk_hold_bg() {
	for i in $(seq 1 1200); do
		grep -q 'guest-io: maxkb' "$DOMU_LOG" 2>/dev/null && break
		sleep 0.5
	done
	f0=$(cat "$PVB_DBG/$nvme/errors_pool_full")
	free=$(($(cat "$PVB_DBG/$nvme/nslabs") - $(cat "$PVB_DBG/$nvme/used")))
	if ! insmod "$PVB_HOLD_KO" dev="$nvme" size=$((free * 2048)) >/tmp/hold.log 2>&1; then
		echo "insmod pvbounce_hold failed" >>/tmp/hold.log
		return
	fi
	cat /sys/module/pvbounce_hold/parameters/held >/tmp/hold.bytes
	for i in $(seq 1 1200); do
		[ "$(cat "$PVB_DBG/$nvme/errors_pool_full")" -gt "$f0" ] && break
		sleep 0.1
	done
	echo "held $(cat /tmp/hold.bytes) bytes; refused after $((i / 10)) s" >>/tmp/hold.log
	sleep 2
	rmmod pvbounce_hold >>/tmp/hold.log 2>&1 && echo released >>/tmp/hold.log
}

# blk_guest TAG FORCE SEED [hold]: a domU's verified I/O on the partition,
# judged; with hold, its pool held full for a while (blk_hold_bg)
blk_guest() {
	counters "$nvme"
	rm -f /tmp/hold.bytes /tmp/hold.log
	DOMU_ARGS="pvb.guest_blk=verify pvb.guest_seed=$3"
	dmesg -c >/dev/null
	hold=
	if [ "$4" = hold ]; then
		blk_hold_bg &
		hold=$!
	fi
	domu_boot guest_blk || return
	if [ -n "$hold" ]; then
		wait "$hold"
		diag "$1: $(tr '\n' ' ' </tmp/hold.log)"
		expect_eq "$1: the pool was held full during the guest's I/O and given back" \
			"$(tail -n 1 /tmp/hold.log)" released
		dmesg >/tmp/dmesg.now
	fi
	blk_backend_gone "$1"
	slots_back "$1"
	blk_judge "$1" "$2"
	show "$nvme"
	blk_readback "$1"
}

# blk_unload TAG
blk_unload() {
	unbind "$nvme"
	check "$1: rmmod pvbounce once the backend and nvme let go" rmmod pvbounce
}

# ---- A: force=0, common pool --------------------------------------------------
if [ -z "${rounds##*A*}" ] && blk_load "dom0 blk A" 0 ""; then
	blk_guest "dom0 blk A" 0 100
	blk_unload "dom0 blk A"
fi

# ---- B: force=1, private pool; a domU destroyed in the middle of its I/O ------
if [ -z "${rounds##*B*}" ] && blk_load "dom0 blk B" 1 "@32M"; then
	counters "$nvme"
	DOMU_ARGS="pvb.guest_blk=loop pvb.guest_seed=200"
	domu_cmdline guest_blk
	domu_cfg ""
	if domu_create; then
		# its I/O under way: the loop begun and a few thousand maps made
		for i in $(seq 1 1200); do
			grep -q 'guest-io: looping' "$DOMU_LOG" 2>/dev/null &&
				[ "$(delta "$nvme" bounced_maps)" -ge 3000 ] && break
			sleep 0.5
		done
		expect_ge "dom0 blk B: the doomed domU's I/O under way (bounced maps)" \
			"$(delta "$nvme" bounced_maps)" 3000
		# the moment: when some of its requests hold slots (a few
		# seconds at most; whether they still do at the destroy is
		# chance, said, not judged)
		for i in $(seq 1 2000); do
			[ "$(dbg "$nvme" used)" -gt 0 ] && break
		done
		diag "dom0 blk B: at xl destroy: $(dbg "$nvme" used) slots in use, $(delta "$nvme" bounced_maps) maps made"
		check "dom0 blk B: xl destroy in the middle of the guest's I/O" \
			"$XEN_BIN/xl" destroy "$DOMU"
		domu_destroy
		blk_backend_gone "dom0 blk B (destroyed)"
		slots_back "dom0 blk B (destroyed)"
		expect_eq "dom0 blk B (destroyed): no map error" "$(delta "$nvme" map_errors)" 0
		expect_eq "dom0 blk B (destroyed): no DMA-API misuse" "$(delta "$nvme" misuse)" 0
		dmesg | grep -iE 'pvbounce|blkback' | tail -n 5 >/tmp/destroy.log
		diag_file /tmp/destroy.log 5
	fi
	blk_guest "dom0 blk B" 1 300 hold
	blk_unload "dom0 blk B"
fi
