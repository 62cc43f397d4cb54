# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test; `make bench-vm` through tests/vm/bench.sh): O_DIRECT
# sequential throughput of pvbounce against the kernel's own bouncing, in the
# same boot.  Needs two NVMe disks (PVB_NVME_COUNT=2) and swiotlb=force on the
# kernel command line, so that the disk left on the kernel's ops bounces every
# mapping through swiotlb (swiotlb-xen in a Xen dom0).  pvbounce takes the
# first NVMe with force=1, then with max_mapping_kb=1024 force=1; the second
# stays on the kernel's ops.  Each workload runs on both disks, alternating
# which goes first, pvb.bench_reps times (default 3), each run
# pvb.bench_secs seconds (default 2).  Results are diagnostics:
#   # BENCH cfg=C mode=r|w size=KIB jobs=N pvb=MBPS,... ker=MBPS,...
# the host (bench.sh) takes the medians and prints the table.
. /scenarios/lib.sh
skip_without_pvbounce "benchmark"

karg() {
	sed -n "s/.*[[:space:]]pvb\.$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline
}
SECS=$(karg bench_secs)
SECS=${SECS:-2}
REPS=$(karg bench_reps)
REPS=${REPS:-3}
REGION=60M		# per job; 4 jobs fit in the 256 MiB disk

set -- $(pci_by_class 0x010802)
if [ $# -lt 2 ]; then
	tap_skip "benchmark" "needs two NVMe disks (PVB_NVME_COUNT=2), found $#"
	exit 0
fi
PVB_PCI=$1 KER_PCI=$2
grep -q 'swiotlb=force' /proc/cmdline || diag "WARNING: no swiotlb=force: the kernel's disk may not bounce"
diag "BENCHINFO pvbounce disk $PVB_PCI, kernel-ops disk $KER_PCI; $REPS runs of $SECS s per disk and workload, alternating A/B"
dmesg | grep 'software IO TLB: mapped' | head -n 1 | while IFS= read -r l; do diag "BENCHINFO ${l#*] }"; done

# qset DEV NAME VALUE
qset() {
	echo "$3" >"/sys/block/${1#/dev/}/queue/$2"
}
qget() {
	cat "/sys/block/${1#/dev/}/queue/$2"
}

# one_run DEV MODE SIZE JOBS: print the MB/s of one run
one_run() {
	if ! pvbbench -m "$2" -s "$3" -j "$4" -t "$SECS" -l "$REGION" "$1" >/tmp/bench.out 2>&1; then
		BENCH_ERR=1
		diag_file /tmp/bench.out 3
	fi
	sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' /tmp/bench.out
}

# tlb_used_during DEV: most swiotlb slots seen in use during a read on DEV
tlb_used_during() {
	pvbbench -m r -s 64K -j 4 -t 2 -l "$REGION" "$1" >/dev/null 2>&1 &
	p=$! m=0
	while kill -0 $p 2>/dev/null; do
		u=$(cat /sys/kernel/debug/swiotlb/io_tlb_used 2>/dev/null)
		[ "${u:-0}" -gt "$m" ] && m=$u
		sleep 0.05
	done
	wait $p
	echo "$m"
}

# workload CFG MODE SIZE JOBS: REPS runs on each disk, A/B alternating
workload() {
	pv= kv=
	i=1
	while [ "$i" -le "$REPS" ]; do
		if [ $((i % 2)) -eq 1 ]; then
			a=$(one_run "$PVB_DEV" "$2" "$3" "$4")
			b=$(one_run "$KER_DEV" "$2" "$3" "$4")
		else
			b=$(one_run "$KER_DEV" "$2" "$3" "$4")
			a=$(one_run "$PVB_DEV" "$2" "$3" "$4")
		fi
		pv=$pv${pv:+,}${a:-0} kv=$kv${kv:+,}${b:-0}
		i=$((i + 1))
	done
	diag "BENCH cfg=$1 mode=$2 size=${3%K} jobs=$4 pvb=$pv ker=$kv"
}

# config CFG PARAMS...: load pvbounce for the first disk, bind nvme to both,
# fill the disks, run the workloads, unbind, unload
config() {
	cfg=$1
	shift
	check "$cfg: load with devices=$PVB_PCI $*" pvb_load devices="$PVB_PCI" "$@" || return 1
	check "$cfg: nvme probes $PVB_PCI on pvbounce's ops" nvme_up "$PVB_PCI" || return 1
	PVB_DEV=$NVME_DEV
	check "$cfg: nvme probes $KER_PCI on the kernel's ops" nvme_up "$KER_PCI" || return 1
	KER_DEV=$NVME_DEV
	attached "$PVB_PCI" nvme
	if grep -q "^$KER_PCI " "$PVB_DBG/devices"; then
		tap_not_ok "$cfg: $KER_PCI is not attached to pvbounce"
		return 1
	fi
	# the largest request either disk takes
	for d in $PVB_DEV $KER_DEV; do qset "$d" max_sectors_kb "$(qget "$d" max_hw_sectors_kb)"; done
	PVB_MAX=$(qget "$PVB_DEV" max_hw_sectors_kb)
	KER_MAX=$(qget "$KER_DEV" max_hw_sectors_kb)
	diag "BENCHMAX cfg=$cfg pvb=$PVB_MAX ker=$KER_MAX"
	BENCH_ERR=0
	# allocate and fill both disks once, so that reads read written data
	for d in $PVB_DEV $KER_DEV; do
		pvbbench -m w -s 128K -j 4 -b "$REGION" -l "$REGION" "$d" >/tmp/bench.out 2>&1 || BENCH_ERR=1
	done
	# proof that both disks bounce, each through its own pool: swiotlb
	# slots in use sampled during a read on each (6.1 has no hiwater counter)
	pvb_used=$(tlb_used_during "$PVB_DEV")
	ker_used=$(tlb_used_during "$KER_DEV")
	diag "BENCHINFO $cfg: swiotlb slots in use during a 4-job 64 KiB read: kernel disk up to $ker_used, pvbounce disk up to $pvb_used"
	expect_ge "$cfg: the kernel's disk bounces through swiotlb" "$ker_used" 1
	expect_eq "$cfg: pvbounce's disk does not use swiotlb" "$pvb_used" 0
	counters "$PVB_PCI"
	case $cfg in
	force)
		small=$PVB_MAX
		[ "$KER_MAX" -lt "$small" ] && small=$KER_MAX
		for size in 4K 64K "${small}K"; do
			for jobs in 1 4; do
				for mode in r w; do
					workload "$cfg" "$mode" "$size" "$jobs"
				done
			done
		done
		;;
	*)
		for size in "${PVB_MAX}K"; do
			for jobs in 1 4; do
				for mode in r w; do
					workload "$cfg" "$mode" "$size" "$jobs"
				done
			done
		done
		;;
	esac
	show "$PVB_PCI"
	expect_eq "$cfg: every run without I/O error" "$BENCH_ERR" 0
	expect_eq "$cfg: every pvbounce mapping bounced" "$(delta "$PVB_PCI" direct_maps)" 0
	expect_eq "$cfg: no pvbounce map error" "$(delta "$PVB_PCI" map_errors)" 0
	unbind "$PVB_PCI"
	unbind "$KER_PCI"
	check "$cfg: rmmod" rmmod pvbounce
}

config force force=1
config maxmap1024 force=1 max_mapping_kb=1024
