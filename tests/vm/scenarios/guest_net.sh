# SPDX-License-Identifier: GPL-2.0
# A PV domU's network served by the dom0's xen-netback (dom0_netback.sh
# creates this domU with a vif on a bridge whose uplink is its pvbounce-
# attached e1000e): checked transfers with the dom0's network namespace at
# 10.99.0.2 across the bridge and QEMU's hub, through xen-netfront, in each
# of the rounds pvb.net_rounds names (R1+R2...: the dom0 reloads pvbounce
# between them), with the namespace's servers of round K on ports 50K1-50K3:
#   the UDP echo answers (round K's servers are up: awaited);
#   ping, small and large (fragmented);
#   UDP echo (pvbudp): datagrams of 4 B to 64 KiB, each back intact;
#   TCP up: pvb.net_bytes of random data to the namespace's sink; its md5
#     on the console (guest-net: round R up md5=) for the dom0 to compare;
#   TCP down: the namespace's stream, its md5 as pvb.net_md5 says;
# then "guest-net: round R done" on the console, for the dom0.
. /scenarios/lib.sh
skip_unless_domu "guest network through netback" "dom0_netback.sh creates one"
bytes=$(sed -n 's/.*[[:space:]]pvb\.net_bytes=\([0-9]*\).*/\1/p' /proc/cmdline)
want=$(sed -n 's/.*[[:space:]]pvb\.net_md5=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
rounds=$(sed -n 's/.*[[:space:]]pvb\.net_rounds=\([A-Z+]*\).*/\1/p' /proc/cmdline)
bytes=${bytes:-4194304}
PEER=10.99.0.2

check "domU net: modprobe xen-netfront" modprobe xen-netfront
IF=
for i in $(seq 1 600); do
	# (the domain's only NIC)
	for n in /sys/class/net/*; do
		[ "${n##*/}" != lo ] && IF=${n##*/}
	done
	[ -n "$IF" ] && break
	sleep 0.1
done
if [ -z "$IF" ]; then
	tap_not_ok "domU net: netfront's interface appeared"
	dmesg | grep -iE 'netfront|vif' | tail -n 10 >/tmp/net.log
	diag_file /tmp/net.log 10
	exit 0
fi
check "domU net: $IF up as 10.99.0.1" sh -c "ip addr add 10.99.0.1/24 dev $IF && ip link set $IF up"
diag "domU net: $IF mtu $(cat /sys/class/net/$IF/mtu)"

# net_stats: netfront's counters and TCP's retransmitted segments and
# checksum errors (so far), one line
net_stats() {
	s=/sys/class/net/$IF/statistics
	echo "rx $(cat $s/rx_packets)/$(cat $s/rx_bytes)B drop $(cat $s/rx_dropped) err $(cat $s/rx_errors) tx $(cat $s/tx_packets)/$(cat $s/tx_bytes)B drop $(cat $s/tx_dropped) err $(cat $s/tx_errors); TCP $(awk '/^Tcp: [0-9]/ { print "retransmitted " $13 ", checksum errors " $16 }' /proc/net/snmp)"
}

mkfifo /tmp/never
# net_round R K: round R's transfers (the K-th round)
net_round() {
	t="domU net $1"
	p=$((5000 + 10 * $2))
	# round K's servers up (the dom0 reloads pvbounce between rounds):
	# its echo answers (each try up to 10 s)
	t0=$(date +%s)
	up=0
	for i in $(seq 1 60); do
		pvbudp client "$PEER" $((p + 3)) 4 1 >/dev/null 2>&1 && { up=1; break; }
	done
	if [ $up = 0 ]; then
		tap_not_ok "$t: the namespace's round $2 echo answers"
		return
	fi
	tap_ok "$t: the namespace's round $2 echo answers (after $(($(date +%s) - t0)) s)"
	check "$t: ping $PEER" ping -c 2 "$PEER"
	check "$t: ping with 1472-byte payloads (one full frame)" ping -c 2 -s 1472 "$PEER"
	check "$t: ping with 8000-byte payloads (fragmented)" ping -c 2 -s 8000 "$PEER"
	t0=$(date +%s)
	check "$t: UDP echo, 4 B to 64 KiB datagrams, each back intact" \
		timeout 120 pvbudp client "$PEER" $((p + 3)) 4,64,1024,1472,1473,4000,8192,32768,65507 5 "$2"
	diag "$t: UDP took $(($(date +%s) - t0)) s: $(cat "$OUT")"
	# TCP up: to the namespace's sink
	dd if=/dev/urandom of=/tmp/up bs=64k count=$((bytes / 65536)) 2>/dev/null
	md5=$(md5sum </tmp/up | cut -d' ' -f1)
	echo "guest-net: round $1 up md5=$md5 bytes=$bytes" >/dev/console
	t0=$(date +%s)
	check "$t: TCP up, $bytes bytes sent to $PEER" timeout 120 nc "$PEER" $((p + 1)) </tmp/up
	diag "$t: TCP up took $(($(date +%s) - t0)) s; $IF $(net_stats)"
	rm -f /tmp/up
	# TCP down: the namespace's stream until it closes (our stdin a fifo
	# that never ends: nc stops at the stream's end)
	exec 4<>/tmp/never
	t0=$(date +%s)
	timeout 120 nc "$PEER" $((p + 2)) </tmp/never >/tmp/down
	diag "$t: TCP down took $(($(date +%s) - t0)) s; $IF $(net_stats)"
	exec 4>&-
	expect_eq "$t: TCP down, $bytes bytes received from $PEER" \
		"$(stat -c %s /tmp/down)" "$bytes"
	expect_eq "$t: TCP down, the stream intact (md5)" \
		"$(md5sum </tmp/down | cut -d' ' -f1)" "${want:-none}"
	rm -f /tmp/down
	echo "guest-net: round $1 done" >/dev/console
}

k=1
for r in $(echo "${rounds:-A}" | tr '+' ' '); do
	net_round "$r" $k
	k=$((k + 1))
done
