# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test; `make bench` through tests/vm/mapbench.sh): the
# streaming DMA API through pvbounce against the kernel's own ops and memcpy,
# timed in the kernel by tests/bench/pvbounce_bench.ko.  Needs two driverless
# twin devices, QEMU's pci-testdev (1b36:0005; no kernel has a driver for it):
# PVB_QEMU_EXTRA="-device pci-testdev -device pci-testdev".  pvbounce takes the
# first, the second stays on the kernel's ops.
#   pvb.mapbench=bounce  (with swiotlb=force) pvbounce force=1 against swiotlb,
#                        or swiotlb-xen in a Xen dom0, both bouncing every map
#   pvb.mapbench=direct  (without swiotlb=force) pvbounce force=0 against
#                        dma-direct, or swiotlb-xen in a Xen dom0 (which maps
#                        reachable buffers directly)
#   pvb.mapbench_rounds=N, pvb.mapbench_ms=MS  the module's rounds and cell_ms
#   pvb.mapbench_rows=R  the module's rows= (latency, scaling or all)
#   pvb.mapbench_icount=1  QEMU runs with -icount: the module's icount=1
#   pvb.mapbench_pvb=P=V+Q=W  more pvbounce parameters ('+' between them)
#   pvb.mapbench_only=OP:SIZE:DIR  the module's only= (one row)
#   pvb.mapbench_ksyms=1  the kernel's and modules' text symbols to the
#                        console before the module runs, "KSYM <addr> <name>
#                        [module]" (tests/vm/pathtrace.sh symbolises with them)
# The module's table lines become diagnostics "# MAPBENCH <line>".
. /scenarios/lib.sh
skip_without_pvbounce "map benchmark"
PVB_BENCH_KO=/lib/pvb/pvbounce_bench.ko
if [ ! -f "$PVB_BENCH_KO" ]; then
	tap_skip "map benchmark" "pvbounce_bench.ko not built for $(uname -r)"
	exit 0
fi

karg() {
	sed -n "s/.*[[:space:]]pvb\.$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline
}
MODE=$(karg mapbench)
MODE=${MODE:-bounce}
ROUNDS=$(karg mapbench_rounds)
CELL_MS=$(karg mapbench_ms)
ROWS=$(karg mapbench_rows)
ICOUNT=$(karg mapbench_icount)
EXTRA=$(karg mapbench_pvb | tr '+' ' ')
ONLY=$(karg mapbench_only)
KSYMS=$(karg mapbench_ksyms)

twins() {
	for d in "$PCI"/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0005 ] && echo "${d##*/}"
	done
}
# shellcheck disable=SC2046
set -- $(twins)
if [ $# -lt 2 ]; then
	tap_skip "map benchmark" "needs two pci-testdev (PVB_QEMU_EXTRA='-device pci-testdev -device pci-testdev'), found $#"
	exit 0
fi
PVB_PCI=$1 PEER_PCI=$2
expect_eq "mapbench: no driver on $PVB_PCI" "$(driver_of "$PVB_PCI")" ""
expect_eq "mapbench: no driver on $PEER_PCI" "$(driver_of "$PEER_PCI")" ""

case $MODE in
bounce)
	FORCE=1
	grep -q 'swiotlb=force' /proc/cmdline
	expect_eq "mapbench bounce: swiotlb=force on the command line" $? 0
	;;
direct)
	FORCE=0
	grep -q 'swiotlb=force' /proc/cmdline
	expect_eq "mapbench direct: no swiotlb=force on the command line" $? 1
	;;
*)
	tap_not_ok "mapbench: pvb.mapbench=$MODE is bounce or direct"
	exit 0
	;;
esac

# shellcheck disable=SC2086
check "mapbench $MODE: load pvbounce devices=$PVB_PCI force=$FORCE $EXTRA" \
	pvb_load devices="$PVB_PCI" force=$FORCE $EXTRA || exit 0
grep -q "^$PVB_PCI " "$PVB_DBG/devices"
expect_eq "mapbench $MODE: $PVB_PCI attached" $? 0
grep -q "^$PEER_PCI " "$PVB_DBG/devices"
expect_eq "mapbench $MODE: $PEER_PCI left on the kernel's ops" $? 1
params=
for p in force pool_mb max_mapping_kb address_bits backend poison pool_max_mb; do
	params="$params $p=$(cat "$PVB_PARAMS/$p" 2>/dev/null)"
done
diag "MAPBENCH pvbounce ($(cat "$PVB_DBG/backend" 2>/dev/null) backend):$params"
diag "MAPBENCH kernel: $(sed 's/.*rdinit=[^ ]* //' /proc/cmdline | tr ' ' '\n' | grep -E '^(swiotlb|iommu)' | tr '\n' ' ')"
dmesg | grep 'software IO TLB: mapped' | head -n 1 | while IFS= read -r l; do
	diag "MAPBENCH ${l#*] }"
done

if [ "$KSYMS" = 1 ]; then
	# pvbounce_bench.ko's are not: it runs in its init
	awk '$2 ~ /^[tT]$/ { print "KSYM", $1, $3, $4 }' /proc/kallsyms >/dev/console
	echo "KSYM end" >/dev/console
fi
dmesg -c >/dev/null
run_cmd insmod "$PVB_BENCH_KO" dev="$PVB_PCI" peer="$PEER_PCI" mode="$MODE" \
	${ROUNDS:+rounds=$ROUNDS} ${CELL_MS:+cell_ms=$CELL_MS} ${ROWS:+rows=$ROWS} \
	${ICOUNT:+icount=$ICOUNT} ${ONLY:+only=$ONLY}
rc=$?
dmesg >/tmp/dmesg.bench
sed -n 's/^\(\[[^]]*\] \)\{0,1\}pvbounce_bench: T //p' /tmp/dmesg.bench >/tmp/bench.table
while IFS= read -r l; do
	diag "MAPBENCH $l"
done </tmp/bench.table
expect_eq "mapbench $MODE: insmod pvbounce_bench.ko" "$rc" 0 || diag_file /tmp/dmesg.bench 10
expect_eq "mapbench $MODE: the table is complete" "$(grep -c '^=== end' /tmp/bench.table)" 1
expect_eq "mapbench $MODE: no map error" \
	"$(cat /sys/module/pvbounce_bench/parameters/errors 2>/dev/null)" 0
rmmod pvbounce_bench 2>/dev/null
check "mapbench $MODE: rmmod pvbounce" rmmod pvbounce
