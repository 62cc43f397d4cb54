# SPDX-License-Identifier: GPL-2.0
# A dom0's job: a guest's network served by xen-netback through a bridge
# whose uplink is an e1000e that pvbounce serves (run.sh's domu mode; this
# scenario runs in the dom0 and creates its domUs, which run guest_net.sh).
# The other e1000e on QEMU's hub sits in a network namespace of the dom0
# (10.99.0.2), the guest's end of the wire (10.99.0.1).  netback hands the
# bridge skbs whose fragments are the guest's pages, grant-mapped into the
# dom0 (foreign frames in its p2m): pvbounce maps them for the NIC's
# transmit, directly with force=0, bounced with force=1; what the NIC
# receives for the guest is grant-copied into the guest's buffers.
#
# One domU (vif with script=/lib/pvb/vif-hotplug, mkdom0.sh) lives through
# the rounds; each round it does its checked transfers both ways
# (guest_net.sh) with the namespace's servers of that round (a TCP sink, a
# TCP source of random data, a UDP echo: pvbudp; ports 50K1-50K3 in round
# K).  Between rounds, once the guest says its round is done (its console),
# a job here unbinds the NIC (the bridge loses its port), takes the round's
# counters, waits for every slot back, unloads pvbounce, loads it for the
# next round, binds the NIC and puts it in the bridge again, and starts the
# next servers; it writes what it saw to files, judged here once the domU
# is gone (a background job must not print TAP results while the domU's
# are being forwarded): what the namespace received, byte for byte, and
# the attached NIC's counters.
#  N  no pvbounce (the path itself);
#  A  force=0, common pool;
#  B  force=1, common pool.
# pvb.net_rounds=N+A+B picks rounds (default A+B).
. /scenarios/lib.sh
dom0_lane "dom0 netback" dom0_netback
set -- $(nic_pcis)
a=$1 b=$2
BR=pvbbr0
DOMU_MEM=256
# the bytes each way over TCP
NET_BYTES=$((4 << 20))
rounds=$(sed -n 's/.*[[:space:]]pvb\.net_rounds=\([A-Z+]*\).*/\1/p' /proc/cmdline)
rounds=${rounds:-A+B}

check "dom0 net: modprobe xen-netback" modprobe xen-netback || exit 0
check "dom0 net: modprobe bridge" modprobe bridge || exit 0

# net_stats IF: its interface counters, one line
# (/proc/PID/net/dev: the namespace of PID's)
net_stats() {
	sed -n "s/^ *$1: *//p" "/proc/${2:-$$}/net/dev" | {
		read -r rb rp re rd _ _ _ _ tb tp te td _
		echo "$1: rx $rp/${rb}B err $re drop $rd, tx $tp/${tb}B err $te drop $td"
	}
}

# net_ns: NIC B bound to e1000e and moved to a network namespace (10.99.0.2)
net_ns() {
	bind "$b" e1000e 2>/dev/null
	# (loading e1000e bound both: A waits for pvbounce)
	unbind "$a"
	IF_B=$(net_if_wait "$b")
	[ -n "$IF_B" ] || { tap_not_ok "dom0 net: $b's interface appeared"; return 1; }
	check "dom0 net: $IF_B ($b) in a network namespace as 10.99.0.2" net_ns_of "$IF_B" || return 1
	NS="nsenter -t $NS_PID -n"
	check "dom0 net: bridge $BR" sh -c "
		brctl addbr $BR && echo 0 >/sys/class/net/$BR/bridge/stp_state &&
		echo 0 >/sys/class/net/$BR/bridge/forward_delay && ip link set $BR up"
}

# net_uplink K FORCE: round K's uplink: pvbounce loaded with FORCE (-: not),
# NIC A bound and in the bridge; its facts (insmod, bind) in /tmp/net.K.up
net_uplink() {
	f=/tmp/net.$1.up
	: >"$f"
	if [ "$2" != - ]; then
		insmod "$PVB_KO" devices="$a" force="$2" >/tmp/net.insmod 2>&1
		echo "insmod=$?" >>"$f"
		# the counters at the round's start, for net_end (which may
		# run in another shell), before the driver maps anything
		counter_lines "$a" | sed 's/^/C_/' >"/tmp/net.$1.base"
	fi
	bind "$a" e1000e 2>/dev/null
	IF_A=$(net_if_wait "$a")
	brctl addif $BR "$IF_A" 2>/dev/null && ip link set "$IF_A" up
	echo "uplink=$? $IF_A" >>"$f"
	[ "$2" != - ] && grep "^$a " "$PVB_DBG/devices" | sed 's/^/devices=/' >>"$f"
}

# net_servers K: round K's servers in the namespace (ports 50K1-50K3)
net_servers() {
	p=$((5000 + 10 * $1))
	rm -f "/tmp/net.$1.rx"
	(sleep 100000 | $NS nc -l -p $((p + 1)) >"/tmp/net.$1.rx") &
	$NS nc -l -p $((p + 2)) </tmp/net.down &
	$NS pvbudp server $((p + 3)) &
	echo $! >/tmp/net.echo.pid
}

# net_end K FORCE: round K's end, into /tmp/net.K.facts: what the sink
# got, the interfaces' statistics; NIC A unbound (out of the bridge), then
# its counters (still, now that nothing maps), every slot back, pvbounce
# unloaded
net_end() {
	pkill_round "$1"
	{
		# what the sink got, once it has it all
		for i in $(seq 1 100); do
			[ "$(stat -c %s "/tmp/net.$1.rx" 2>/dev/null)" = "$NET_BYTES" ] && break
			sleep 0.1
		done
		echo "rx_size=$(stat -c %s "/tmp/net.$1.rx" 2>/dev/null)"
		echo "rx_md5=$(md5sum <"/tmp/net.$1.rx" | cut -d' ' -f1)"
		echo "stats=$(net_stats "$IF_A") / $(net_stats "$IF_B" "$NS_PID")"
		unbind "$a"
		if [ "$2" != - ]; then
			. "/tmp/net.$1.base"
			for n in maps bounced_maps direct_maps bytes_to_device bytes_from_device \
				map_errors misuse; do
				echo "$n=$(delta "$a" $n)"
			done
			echo "show=$(counter_lines "$a" | tr '\n' ' ')"
			echo "used=$(pool_drain "$PVB_DBG/used")"
			rmmod pvbounce >/tmp/net.rmmod 2>&1
			echo "rmmod=$?"
		fi
	} >"/tmp/net.$1.facts" 2>&1
}

# pkill_round K: round K's echo gone (its TCP servers ended with their
# connections)
pkill_round() {
	kill "$(cat /tmp/net.echo.pid 2>/dev/null)" 2>/dev/null
}

# force_of ROUND: its force (- for N)
force_of() {
	case $1 in N) echo - ;; A) echo 0 ;; B) echo 1 ;; esac
}

# net_conductor: between rounds, as the guest finishes each (in the
# background while domu_boot forwards the guest's results)
net_conductor() {
	set -- $(echo "$rounds" | tr '+' ' ')
	k=1
	while [ $# -gt 1 ]; do
		for i in $(seq 1 1200); do
			tr -d '\r' <"$DOMU_LOG" 2>/dev/null | grep -q "guest-net: round $1 done" && break
			sleep 0.5
		done
		tr -d '\r' <"$DOMU_LOG" 2>/dev/null | grep -q "guest-net: round $1 done" || return
		net_end $k "$(force_of "$1")"
		shift
		k=$((k + 1))
		net_uplink $k "$(force_of "$1")"
		net_servers $k
	done
}

# net_judge K ROUND: round K's facts (ROUND its letter)
net_judge() {
	t="dom0 net $2"
	force=$(force_of "$2")
	F=/tmp/net.$1.facts
	fact() { sed -n "s/^$1=//p" "$F" | tail -n 1; }
	diag "$t: $(sed -n 's/^stats=//p' "$F")"
	if [ "$force" != - ]; then
		expect_eq "$t: insmod pvbounce devices=$a force=$force" \
			"$(sed -n 's/^insmod=//p' "/tmp/net.$1.up")" 0
		expect_eq "$t: $a attached, with e1000e" \
			"$(sed -n 's/^devices=[^ ]* //p' "/tmp/net.$1.up" | cut -d' ' -f1)" e1000e
	fi
	expect_eq "$t: $a's interface bound and in the bridge" \
		"$(sed -n 's/^uplink=\([0-9]*\).*/\1/p' "/tmp/net.$1.up")" 0
	umd5=$(sed -n "s/.*guest-net: round $2 up md5=\([0-9a-f]*\).*/\1/p" /tmp/guest.log | tail -n 1)
	expect_eq "$t: the namespace received the guest's $NET_BYTES bytes over TCP" \
		"$(fact rx_size)" "$NET_BYTES"
	expect_eq "$t: the guest's stream arrived intact (md5)" "$(fact rx_md5)" "${umd5:-none}"
	[ "$force" = - ] && return 0
	diag "$t: pvbounce on $a: $(fact show)"
	maps=$(fact maps)
	diag "$t: maps $maps (bounced $(fact bounced_maps), direct $(fact direct_maps)), $(fact bytes_to_device) bytes to the device, $(fact bytes_from_device) from it"
	expect_ge "$t: the guest's traffic went through pvbounce's maps" "$maps" 1000
	if [ "$force" = 1 ]; then
		expect_eq "$t: force=1: every map bounced" "$(fact bounced_maps)" "$maps"
	fi
	expect_ge "$t: bytes to the device at least the guest's stream" \
		"$(fact bytes_to_device)" "$NET_BYTES"
	expect_ge "$t: bytes from the device at least the namespace's stream" \
		"$(fact bytes_from_device)" "$NET_BYTES"
	expect_eq "$t: no map error" "$(fact map_errors)" 0
	expect_eq "$t: no DMA-API misuse" "$(fact misuse)" 0
	expect_eq "$t: every slot back once the NIC was unbound" "$(fact used)" 0
	expect_eq "$t: rmmod pvbounce once the NIC let go" "$(fact rmmod)" 0
}

set -- $(echo "$rounds" | tr '+' ' ')
nrounds=$#
first=$1
net_ns || exit 0
dd if=/dev/urandom of=/tmp/net.down bs=64k count=$((NET_BYTES / 65536)) 2>/dev/null
DOWN_MD5=$(md5sum </tmp/net.down | cut -d' ' -f1)
net_uplink 1 "$(force_of "$first")"
net_servers 1
rm -f "$DOMU_LOG"
net_conductor &
cond=$!
DOMU_CFG="vif = [ 'mac=00:16:3e:99:00:01, bridge=$BR, script=/lib/pvb/vif-hotplug' ]"
DOMU_ARGS="pvb.net_rounds=$rounds pvb.net_bytes=$NET_BYTES pvb.net_md5=$DOWN_MD5"
domu_boot guest_net
kill "$cond" 2>/dev/null
tr -d '\r' <"$DOMU_LAST_LOG" >/tmp/guest.log
last=$(eval echo "\${$nrounds}")
net_end "$nrounds" "$(force_of "$last")"
k=1
for r in "$@"; do
	net_judge $k "$r"
	k=$((k + 1))
done
killall nc pvbudp 2>/dev/null
net_down
ip link set $BR down 2>/dev/null
brctl delbr $BR 2>/dev/null
unbind "$b"
