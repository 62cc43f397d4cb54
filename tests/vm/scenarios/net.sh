# SPDX-License-Identifier: GPL-2.0
# The two e1000e NICs on the QEMU hub attached (force=1, then force=0): ping
# and 16 MiB of random data over TCP from one to the other (each in its own
# network namespace) arrive intact, and the counters moved with the traffic.
. /scenarios/lib.sh
skip_without_pvbounce "e1000e attached"
set -- $(nic_pcis)
a=$1 b=$2

for force in 1 0; do
	check "load with devices=$a,$b force=$force" pvb_load devices="$a,$b" force=$force || continue
	if net_up "$a" "$b"; then
		tap_ok "force=$force: ping between the attached NICs"
		attached "$a" e1000e
		counters "$a"
		ta=$(dbg "$a" bytes_to_device)
		tb=$(dbg "$b" bytes_from_device)
		net_transfer $((16 << 20))
		tap_result $? "force=$force: 16 MiB over TCP arrive intact"
		show "$a"
		show "$b"
		expect_ge "force=$force: sender's bytes_to_device moved by >= 16 MiB" \
			$(($(dbg "$a" bytes_to_device) - ta)) $((16 << 20))
		expect_ge "force=$force: receiver's bytes_from_device moved by >= 16 MiB" \
			$(($(dbg "$b" bytes_from_device) - tb)) $((16 << 20))
		expect_eq "force=$force: no map error" "$(dbg "$a" map_errors)/$(dbg "$b" map_errors)" 0/0
	else
		tap_not_ok "force=$force: ping between the attached NICs"
	fi
	net_down
	unbind "$a"
	unbind "$b"
	pool_idle "force=$force" "$a"
	check "force=$force: rmmod" rmmod pvbounce
done
