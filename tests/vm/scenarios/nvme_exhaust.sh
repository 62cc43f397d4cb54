# SPDX-License-Identifier: GPL-2.0
# Pool exhaustion: a 1 MiB pool, force=1, made full for certain by
# tests/kmod/pvbounce_hold.ko (it maps every free slot through nvme and holds
# them until rmmod), then 12 parallel jobs of up to 256 KiB.  No crash, the
# refusals are counted and logged, every I/O succeeds (nvme requeues a
# refused request until the pool has room) and returns correct data, every
# byte written read back, and the pool is usable again once the holder is
# gone.  Then the
# same on a private pool (devices=<nvme>@1M) while the NICs, on the common
# pool, carry TCP traffic: one device cannot starve another.
#
# 12 jobs alone filled the pool only when TCG's timing let them (a fresh
# 2-core CI machine saw no refusal at all); the holder makes "full" a state.
. /scenarios/lib.sh
skip_without_pvbounce "pool exhaustion"
nvme=$(nvme_pci)
if [ ! -f "$PVB_HOLD_KO" ]; then
	tap_not_ok "pvbounce_hold.ko is in the initramfs (tests/kmod, built with pvbounce.ko)"
	exit 0
fi

# pool_val FILE: FILE (nslabs, used) of the pool nvme maps from: its own
# when it has one, else the common pool
pool_val() {
	if [ -f "$PVB_DBG/$nvme/$1" ]; then dbg "$nvme" "$1"; else dbg "$1"; fi
}

# replay FILE RC: print FILE and return RC, to check a job that has finished
replay() {
	cat "$1"
	return "$2"
}

pressure() { # TAG
	total=$(pool_val nslabs)
	free=$((total - $(pool_val used)))
	check "$1: pvbounce_hold.ko maps the pool's $free free slots through $nvme" \
		insmod "$PVB_HOLD_KO" dev="$nvme" size=$((free * 2048)) || return 0
	expect_eq "$1: every slot of the pool in use while held" "$(pool_val used)" "$total"
	# the holder's own maps and messages are not the I/O's
	counters "$nvme"
	dmesg -c >/dev/null
	# While the pool is held every map of this I/O is refused; nvme requeues
	# the request (BLK_STS_RESOURCE) and retries, so the jobs wait for the
	# holder to go (well before the 120 s hung-task limit).
	pvbio -s 64K,128K,252K,4K -n 4 -j 12 -l 2 -S 41 "$NVME_DEV" >/tmp/exhaust.out 2>&1 &
	io=$!
	i=0
	while [ "$(delta "$nvme" errors_pool_full)" -lt 1 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	diag "$1: $(delta "$nvme" errors_pool_full) refusals after $((i / 10)).$((i % 10)) s of I/O on the full pool"
	check "$1: rmmod pvbounce_hold gives the slots back" rmmod pvbounce_hold
	wait $io
	check "$1: 12 jobs on a 1 MiB pool: no I/O error, every read correct data" \
		replay /tmp/exhaust.out $?
	w=$(sed -n 's/.*bytes_written=\([0-9]*\).*/\1/p' /tmp/exhaust.out)
	r=$(sed -n 's/.*bytes_read=\([0-9]*\).*/\1/p' /tmp/exhaust.out)
	expect_eq "$1: pvbio: 0 I/O errors" \
		"$(sed -n 's/.*io_errors=\([0-9]*\).*/\1/p' /tmp/exhaust.out)" 0
	expect_eq "$1: pvbio read back every byte it wrote ($w)" "${r:-none}" "${w:--}"
	show "$nvme"
	expect_ge "$1: pool-full refusals counted" "$(delta "$nvme" errors_pool_full)" 1
	expect_eq "$1: map_errors counts them" "$(delta "$nvme" map_errors)" \
		$(($(delta "$nvme" errors_pool_full) + $(delta "$nvme" errors_too_large) + $(delta "$nvme" errors_mask)))
	dmesg_has "$1: refusal message names the device and the pool" \
		"pvbounce $nvme: map of [0-9]+ bytes refused: pool .* full"
	pvbio_run "$1: I/O verified again once the pressure is gone" \
		-s "$(size_list 252)" -o 128M -S 42 "$NVME_DEV"
}

check "load with pool_mb=1 force=1" pvb_load devices="$nvme" pool_mb=1 force=1 || exit 0
check "nvme probes on a 1 MiB pool" nvme_up "$nvme" || exit 0
dmesg -c >/dev/null
pressure "common pool"
pool_idle "common pool" "$nvme"
unbind "$nvme"
check "rmmod after exhaustion" rmmod pvbounce

set -- $(nic_pcis)
check "load with devices=$nvme@1M,$1,$2 force=1" \
	pvb_load devices="$nvme@1M,$1,$2" force=1 || exit 0
expect_eq "private pool of 1 MiB" "$(dbg "$nvme" nslabs)" "$(($(dbg nslabs) / 64))"
check "nvme probes on its private pool" nvme_up "$nvme" || exit 0
if net_up "$1" "$2"; then
	(net_transfer $((16 << 20)); echo $? >/tmp/net.rc) &
	tx=$!
	dmesg -c >/dev/null
	pressure "private pool"
	wait $tx
	expect_eq "TCP on the common pool unharmed while nvme's pool was full" "$(cat /tmp/net.rc)" 0
	expect_eq "no refusal for the NIC" "$(dbg "$1" map_errors)" 0
	# the NICs' receive rings keep common slots: check nvme's own pool
	expect_eq "private pool: no slot in use after the I/O" "$(dbg "$nvme" used)" 0
else
	tap_not_ok "NICs up on the common pool"
fi
net_down
unbind "$nvme"
unbind "$1"
unbind "$2"
expect_eq "common pool: no slot in use once the NICs are unbound" "$(dbg used)" 0
check "rmmod" rmmod pvbounce
