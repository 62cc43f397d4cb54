# SPDX-License-Identifier: GPL-2.0
# pvbounce in an unprivileged Xen PV domU (run.sh's domu mode; issue 13),
# without any device: backend=auto picks the xen backend, the pool is
# machine-contiguous below 2^address_bits (tests/kmod/pvbounce_test.ko's
# pool_ranges= mode checks it frame by frame through Xen's M2P, the p2m, the
# page tables and data through the machine frames), a segment larger than
# Xen lets the domain exchange at once (memop-max-order, 9 = 2 MiB for a
# domU by default) steps down and the load says so, and unloading gives the
# memory back.  With a higher memop-max-order on Xen's command line (the
# dom0 passes it on as pvb.memop=N) the large segments are had instead.
. /scenarios/lib.sh
skip_without_pvbounce "domU"
if [ -z "$PVB_DOMU" ]; then
	tap_skip "domU scenario" "not booted as a domU (run.sh 6.12 domu ...)"
	exit 0
fi

# The largest order Xen lets this domain exchange: memop-max-order=
# <domU>[,<ctldom>[,<hwdom>[,<ptdom>]]], defaults 9 and (x86, a domain with
# a passed-through device) 12.
memop=$(sed -n 's/.*[[:space:]]pvb\.memop=\([0-9,]*\).*/\1/p' /proc/cmdline)
ptdom=$(sed -n 's/.*[[:space:]]pvb\.ptdom=\([0-9]*\).*/\1/p' /proc/cmdline)
o_domu=$(echo "$memop" | cut -d, -f1)
o_pt=$(echo "$memop" | cut -s -d, -f4)
order=${o_domu:-9}
[ -n "$ptdom" ] && [ "${o_pt:-12}" -gt "$order" ] && order=${o_pt:-12}
diag "domU: hypervisor $(cat /sys/hypervisor/type 2>/dev/null), Xen memop-max-order=${memop:-(default)}${ptdom:+, a device assigned}: order $order may be exchanged"
expect_eq "domU: a Xen guest (/sys/hypervisor/type)" \
	"$(cat /sys/hypervisor/type 2>/dev/null)" xen
# An unprivileged guest: xenfs shows no control_d capability
modprobe xenfs 2>/dev/null
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen 2>/dev/null
expect_eq "domU: unprivileged (/proc/xen/capabilities without control_d)" \
	"$(cat /proc/xen/capabilities 2>&1)" ""
umount /proc/xen 2>/dev/null
diag "domU: PCI devices: $(ls /sys/bus/pci/devices 2>/dev/null | tr '\n' ' ')"

# pool_ranges_ok TAG BITS: the debugfs pool ranges, each below 2^BITS and
# checked frame by frame by the test module (the pool is idle here), in
# batches that fit a module parameter (1 KiB)
pool_ranges_ok() {
	nr=$(awk 'END { print NR }' "$PVB_DBG/pool")
	lo= hi=
	while read -r a b _; do
		[ -z "$lo" ] || [ $((a)) -lt $((lo)) ] && lo=$a
		[ -z "$hi" ] || [ $((b)) -gt $((hi)) ] && hi=$b
	done <"$PVB_DBG/pool"
	diag "$1: pool of $nr ranges in machine $lo..$hi: $(awk 'NR <= 3 { printf "%s..%s ", $1, $2 } END { if (NR > 3) printf "..." }' "$PVB_DBG/pool")"
	if [ ! -f "$PVB_TEST_KO" ]; then
		tap_skip "$1: pool frames checked" "pvbounce_test.ko not built"
		return
	fi
	awk '{ l = l sep $1 "-" $2; sep = ","; if (++n == 32) { print l; l = ""; sep = ""; n = 0 } }
	     END { if (n) print l }' "$PVB_DBG/pool" >/tmp/ranges
	: >/tmp/ktap
	bad=0
	while read -r ranges; do
		dmesg -c >/dev/null
		run_cmd insmod "$PVB_TEST_KO" pool_ranges="$ranges" address_bits="$2" || bad=$((bad + 1))
		f=$(cat /sys/module/pvbounce_test/parameters/failed 2>/dev/null)
		[ "$f" = 0 ] || bad=$((bad + 1))
		rmmod pvbounce_test 2>/dev/null
		dmesg | sed -n 's/^\[[^]]*\] //p' | grep -E '^(not )?ok [0-9]+ |^# ' >>/tmp/ktap
	done </tmp/ranges
	nres=$(grep -cE '^(not )?ok ' /tmp/ktap)
	nbad=$(grep -cE '^not ok ' /tmp/ktap)
	expect_eq "$1: all $nr pool ranges checked frame by frame (M2P, p2m, PTEs, machine-contiguous, data through the machine frames, below 2^$2)" \
		"$nres:$nbad:$bad" "$nr:0:0" || { grep -v '^ok ' /tmp/ktap | head -n 10 >/tmp/ktap.bad; diag_file /tmp/ktap.bad 10; }
}

# The checker must be able to say no: machine frame 0 (Xen's, not this
# domain's) is refused.
if [ -f "$PVB_TEST_KO" ]; then
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_TEST_KO" pool_ranges=0x0-0xfff address_bits=32
	expect_eq "domU: the frame checker refuses machine frame 0 (not ours)" \
		"$(cat /sys/module/pvbounce_test/parameters/failed 2>/dev/null)" 1
	rmmod pvbounce_test 2>/dev/null
fi

# ---- default load: backend=auto, 64 MiB, 256 KiB segments ------------------
mem_settle
before=$(mem_free_kb)
check "domU: insmod pvbounce (backend=auto)" pvb_load
dmesg_has "domU: the load names the xen backend" \
	'pvbounce: loaded: xen backend' /tmp/dmesg.load
expect_eq "domU: debugfs backend is xen" "$(dbg backend)" xen
diag_file /tmp/dmesg.load 6
pool_ranges_ok "domU default pool" 32
check "domU: rmmod pvbounce" rmmod pvbounce
expect_mem_back "domU: after the default pool" "$before"

# ---- address_bits=30: the pool must come from below 1 GiB of machine memory
mem_settle
before=$(mem_free_kb)
if check "domU: insmod pvbounce address_bits=30 pool_mb=16" pvb_load address_bits=30 pool_mb=16; then
	pool_ranges_ok "domU address_bits=30" 30
	check "domU: rmmod pvbounce (address_bits=30)" rmmod pvbounce
else
	diag_file /tmp/dmesg.load 8
fi
expect_mem_back "domU: after address_bits=30" "$before"

# ---- max_mapping_kb=4096: 4 MiB segments, above a domU's memop-max-order ---
mem_settle
before=$(mem_free_kb)
check "domU: insmod pvbounce max_mapping_kb=4096 pool_mb=16" pvb_load max_mapping_kb=4096 pool_mb=16
diag_file /tmp/dmesg.load 8
segkb=$(sed -n 's/.*pool common: [0-9]* KiB in [0-9]* chunks, \([0-9]*\) KiB segments.*/\1/p' /tmp/dmesg.load)
diag "domU: max_mapping_kb=4096 gave ${segkb:-?} KiB segments (order $order may be exchanged)"
if [ "$order" -lt 10 ]; then
	expect_eq "domU: 4 MiB segments step down to 2 MiB" "$segkb" 2048
	dmesg_has "domU: the load names Xen's memop-max-order as the limit" \
		"XENMEM_exchange refused an order 10 extent .*memop-max-order" /tmp/dmesg.load
	dmesg_has "domU: the load says the largest mapping was reduced" \
		'pool common: largest mapping reduced to 2048 KiB \(max_mapping_kb asked 4096\)' /tmp/dmesg.load
else
	expect_eq "domU: 4 MiB segments had when order $order may be exchanged" "$segkb" 4096
	if grep -q 'largest mapping reduced' /tmp/dmesg.load; then
		tap_not_ok "domU: no step-down when order $order may be exchanged"
	else
		tap_ok "domU: no step-down when order $order may be exchanged"
	fi
fi
pool_ranges_ok "domU max_mapping_kb=4096" 32
check "domU: rmmod pvbounce (max_mapping_kb=4096)" rmmod pvbounce
expect_mem_back "domU: after max_mapping_kb=4096" "$before"
