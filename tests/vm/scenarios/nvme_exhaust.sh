# SPDX-License-Identifier: GPL-2.0
# Pool exhaustion: a 1 MiB pool under 12 parallel jobs of up to 256 KiB with
# force=1.  No crash, the refusals are counted, every I/O either returns
# correct data or fails, and the pool is usable again afterwards.  Then the
# same pressure on a private pool (devices=<nvme>@1M) while the NICs, on the
# common pool, carry TCP traffic: one device cannot starve another.
. /scenarios/lib.sh
skip_without_pvbounce "pool exhaustion"
nvme=$(nvme_pci)

pressure() { # TAG
	counters "$nvme"
	pvbio_run "$1: 12 jobs on a 1 MiB pool: every read is correct data or an error" \
		-e -s 64K,128K,252K,4K -n 4 -j 12 -l 2 -S 41 "$NVME_DEV"
	diag "$1: pvbio: $IO_ERRORS I/O errors"
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
