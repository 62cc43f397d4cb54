# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the guest scenarios (busybox sh, sourced).
#
# TAP: every scenario of a boot adds to one stream; the running number lives
# in $PVB_TAPN so that scenarios can run as separate processes.  Lines go to
# the console prefixed "PVBTAP: " and, when the host gave one, to the TAP port.

PVB_TAPN=/tmp/pvb.tapn
PVB_SKIPN=/tmp/pvb.skipn	# how many of them were SKIPs (/init judges a scenario's)
PVB_KO=/lib/pvb/pvbounce.ko
PVB_TEST_KO=/lib/pvb/pvbounce_test.ko
PVB_HOLD_KO=/lib/pvb/pvbounce_hold.ko	# holds a pool full (tests/kmod/hold.c)
PVB_MISUSE_KO=/lib/pvb/pvbounce_misuse.ko	# DMA-API mistakes on purpose (tests/kmod/misuse.c)
PVB_COH_KO=/lib/pvb/pvbounce_coh.ko	# a coherent allocation per write (tests/kmod/coh.c)
PVB_SAFETY_KO=/lib/pvb/pvbounce_safety.ko	# late writes, Xen boundary (tests/kmod/safety.c)
PVB_LATE_KO=/lib/pvb/pvbounce_late.ko	# a driver whose mappings outlive remove() (tests/kmod/late.c)
PVB_MASK_KO=/lib/pvb/pvbounce_mask.ko	# a narrow DMA mask (tests/kmod/mask.c)
PVB_SKIPSYNC_KO=/lib/pvb/pvbounce_skipsync.ko	# syncs before and after the first bounce (tests/kmod/skipsync.c)
PVB_REFUSE_KO=/lib/pvb/pvbounce_refuse.ko	# refusals, mmap, required mask, foreign ops (tests/kmod/refuse.c)
PVB_OPS_WINDOW_KO=/lib/pvb/pvbounce_ops_window.ko	# a caller between dma_ops read and call (tests/kmod/ops_window.c)
PVB_DBG=/sys/kernel/debug/pvbounce
PVB_PARAMS=/sys/module/pvbounce/parameters
PCI=/sys/bus/pci/devices
OUT=/tmp/pvb.out		# output of the last command run by run_cmd

# ---- TAP ------------------------------------------------------------------

tap_line() {
	echo "PVBTAP: $*" >/dev/console
	[ -n "$PVB_TAPDEV" ] && echo "PVBTAP: $*" >"$PVB_TAPDEV"
	# a domU's console may lose a line: /init replays the results at the end
	[ -n "$PVB_DOMU" ] && echo "$*" >>/tmp/pvb.tap.all
	return 0
}

tap_next() {
	n=$(($(cat "$PVB_TAPN" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$PVB_TAPN"
	echo "$n"
}

diag() {
	tap_line "# $*"
}

# diag_file FILE [LINES]: its last lines as diagnostics
diag_file() {
	tail -n "${2:-20}" "$1" 2>/dev/null | while IFS= read -r l; do diag "  $l"; done
}

tap_ok() {
	tap_line "ok $(tap_next) - $*"
}

tap_not_ok() {
	tap_line "not ok $(tap_next) - $*"
}

# skip_counted: one more SKIP result (see PVB_SKIPN)
skip_counted() {
	echo $(($(cat "$PVB_SKIPN" 2>/dev/null || echo 0) + 1)) >"$PVB_SKIPN"
}

# tap_skip DESC REASON
tap_skip() {
	skip_counted
	tap_line "ok $(tap_next) - $1 # SKIP $2"
}

# tap_result RC DESC: ok when RC is 0; returns RC
tap_result() {
	if [ "$1" -eq 0 ]; then tap_ok "$2"; else tap_not_ok "$2"; fi
	return "$1"
}

tap_plan() {
	tap_line "1..$(cat "$PVB_TAPN" 2>/dev/null || echo 0)"
}

# run_cmd CMD...: run it with output in $OUT (also shown in the console log)
run_cmd() {
	"$@" >"$OUT" 2>&1
	rc=$?
	sed 's/^/    | /' "$OUT" >/dev/console
	return $rc
}

# check DESC CMD...: ok if CMD succeeds, else not ok with its output
check() {
	desc=$1
	shift
	if run_cmd "$@"; then
		tap_ok "$desc"
	else
		rc=$?
		tap_not_ok "$desc"
		diag "command: $* (exit $rc)"
		diag_file "$OUT"
		return $rc
	fi
}

# check_fails DESC CMD...: ok if CMD fails
check_fails() {
	desc=$1
	shift
	if run_cmd "$@"; then
		tap_not_ok "$desc"
		diag "command: $* succeeded"
		return 1
	fi
	tap_ok "$desc"
}

# expect_eq DESC GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		diag "got '$2', want '$3'"
		return 1
	fi
}

# expect_ge DESC GOT MIN (integers)
expect_ge() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ] 2>/dev/null; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		diag "got '$2', want >= $3"
		return 1
	fi
}

# expect_le DESC GOT MAX (integers)
expect_le() {
	if [ -n "$2" ] && [ "$2" -le "$3" ] 2>/dev/null; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		diag "got '$2', want <= $3"
		return 1
	fi
}

# ---- devices ----------------------------------------------------------------

# pci_by_class CLASS [VENDOR:DEVICE]: PCI addresses, one a line
pci_by_class() {
	for d in "$PCI"/*; do
		[ "$(cat "$d/class")" = "$1" ] || continue
		if [ -n "$2" ]; then
			[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x${2%:*}:0x${2#*:}" ] || continue
		fi
		echo "${d##*/}"
	done
}

nvme_pci() {
	pci_by_class 0x010802 | head -n 1
}

# the two e1000e NICs on the QEMU hub
nic_pcis() {
	pci_by_class 0x020000 8086:10d3
}

driver_of() {
	d=$(readlink "$PCI/$1/driver" 2>/dev/null) && echo "${d##*/}"
}

unbind() {
	[ -e "$PCI/$1/driver" ] && echo "$1" >"$PCI/$1/driver/unbind"
	return 0
}

# bind PCI DRIVER: load the driver (first time) or bind it again
bind() {
	if [ -d "/sys/bus/pci/drivers/$2" ]; then
		echo "$1" >"/sys/bus/pci/drivers/$2/bind"
	else
		modprobe "$2"
	fi
}

# nvme_up PCI: bind nvme to PCI and wait for its namespace; sets NVME_DEV
nvme_up() {
	bind "$1" nvme 2>"$OUT"
	nvme_wait "$1"
}

# nvme_wait PCI: wait, binding nothing, for nvme's namespace on PCI (a driver
# that something else bound: pvbounce's rebind); sets NVME_DEV
nvme_wait() {
	NVME_DEV=
	# up to 60 s: a Xen PV dom0 under TCG next to another QEMU is slow
	for i in $(seq 1 600); do
		for b in /sys/class/nvme/nvme*/nvme*n1; do
			[ -e "$b" ] || continue
			[ "$(readlink -f "$b/../device")" = "$(readlink -f "$PCI/$1")" ] || continue
			NVME_DEV=/dev/${b##*/}
			[ -b "$NVME_DEV" ] && return 0
		done
		sleep 0.1
	done
	diag "no namespace appeared on $1 (driver: $(driver_of "$1"))"
	return 1
}

nvme_queue() {
	cat "/sys/block/${NVME_DEV#/dev/}/queue/$1"
}

# sizes from 512 B up to MAX_KB, powers of two plus odd multiples of 512
size_list() {
	s=512 l=512,1536
	while [ $((s * 2)) -le $(($1 * 1024)) ]; do
		s=$((s * 2))
		l=$l,$s
		[ $((s + 512)) -le $(($1 * 1024)) ] && l=$l,$((s + 512))
		[ $((s * 3 / 2)) -le $(($1 * 1024)) ] && [ $s -ge 2048 ] && l=$l,$((s * 3 / 2))
	done
	echo "$l"
}

# pvbio_run DESC ARGS...: run pvbio, ok if its exit status is 0; sets
# IO_WRITTEN and IO_READ from its summary
pvbio_run() {
	desc=$1
	shift
	check "$desc" pvbio "$@"
	rc=$?
	IO_WRITTEN=$(sed -n 's/.*bytes_written=\([0-9]*\).*/\1/p' "$OUT")
	IO_READ=$(sed -n 's/.*bytes_read=\([0-9]*\).*/\1/p' "$OUT")
	IO_ERRORS=$(sed -n 's/.*io_errors=\([0-9]*\).*/\1/p' "$OUT")
	return $rc
}

# guest_io_plan MAXKB SEED: the verified disk I/O of a guest served by a
# dom0's blkback (guest_blk.sh runs it on /dev/xvda, dom0_blkback.sh reads
# the same back on the partition it exported, with -m r), one pvbio argument
# list per line, each in its own region of the first 96 MiB: the sizes 512 B
# to MAXKB (at most 1024) four times, the same from buffers 512 B past a page
# boundary, four parallel jobs; the data of seeds SEED to SEED+2
guest_io_plan() {
	echo "-s $(size_list "$1") -n 4 -S $2"
	echo "-s $(size_list "$1") -b 512 -n 2 -o 32M -S $(($2 + 1))"
	echo "-s 4K,12K,64K,${1}K -n 8 -j 4 -o 64M -S $(($2 + 2))"
}
# where a guest's buffered write lands (guest_blk.sh): MiB offset and size
GUEST_BUF_AT=128
GUEST_BUF_MB=32

# ---- pvbounce -----------------------------------------------------------------

have_pvbounce() {
	[ -f "$PVB_KO" ]
}

# skip_without_pvbounce NAME: one SKIP line and exit when the module is missing
skip_without_pvbounce() {
	have_pvbounce && return 0
	tap_skip "$1" "pvbounce.ko not built for $(uname -r)"
	exit 0
}

# skip_unless_domu NAME HOW: one SKIP line and exit unless booted as a domU
# (HOW: what creates one)
skip_unless_domu() {
	[ -n "$PVB_DOMU" ] && return 0
	tap_skip "$1" "not booted as a domU ($2)"
	exit 0
}

# dom0_lane NAME SCENARIO: one SKIP line and exit unless pvbounce is built
# and this is the domU lane's dom0; then its tools (domu-lib.sh, which
# create domUs) are here
dom0_lane() {
	skip_without_pvbounce "$1"
	if [ ! -f /lib/pvb/domu-lib.sh ]; then
		tap_skip "$1" "not booted as the domU lane's dom0 (run.sh 6.12 domu $2)"
		exit 0
	fi
	. /lib/pvb/domu-lib.sh
}

# pvb_load PARAMS...: insmod with a fresh dmesg (kept in /tmp/dmesg.load)
pvb_load() {
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_KO" "$@"
	rc=$?
	dmesg >/tmp/dmesg.load
	return $rc
}

pvb_loaded() {
	[ -d /sys/module/pvbounce ]
}

# dbg FILE or dbg PCI FILE: a debugfs value
dbg() {
	if [ $# -eq 1 ]; then cat "$PVB_DBG/$1"; else cat "$PVB_DBG/$1/$2"; fi
}

# counters PCI: snapshot of a device's counters as shell assignments C_<name>
counters() {
	while IFS='=' read -r n v; do
		eval "C_$n=\$v"
	done <<EOF
$(counter_lines "$1")
EOF
}

# counter_lines PCI: every counter of a device, a NAME=VALUE line each
counter_lines() {
	for f in "$PVB_DBG/$1"/*; do
		[ "${f##*/}" = pool ] && continue
		echo "${f##*/}=$(cat "$f" 2>/dev/null)"
	done
}

# show PCI: every counter of a device as a diagnostic
show() {
	diag "$1: $(counter_lines "$1" | tr '\n' ' ')"
}

# delta PCI NAME: how much counter NAME moved since the last `counters PCI`
delta() {
	eval "old=\${C_$2:-0}"
	echo $(($(cat "$PVB_DBG/$1/$2") - old))
}

# pool_idle: ok if no slot is in use (global pool and, if any, PCI's own pool)
pool_idle() {
	expect_eq "$1: no pool slot in use after the I/O" "$(dbg used)" 0
	[ -f "$PVB_DBG/$2/used" ] &&
		expect_eq "$1: no slot of the private pool in use" "$(dbg "$2" used)" 0
	return 0
}

# dmesg_has DESC PATTERN [FILE]: ok if the kernel log matches the extended regex
dmesg_has() {
	f=${3:-/tmp/dmesg.now}
	[ -n "$3" ] || dmesg >"$f"
	if grep -Eq "$2" "$f"; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		diag "no kernel message matches /$2/; last lines:"
		diag_file "$f" 10
		return 1
	fi
}

# dmesg_wait DESC ERE: dmesg_has, once the line came (the kernel's log
# polled for up to 20 s: a device's teardown runs in a work item)
dmesg_wait() {
	i=0
	while [ $i -lt 40 ] && ! dmesg | grep -Eq "$2"; do
		sleep 0.5
		i=$((i + 1))
	done
	dmesg_has "$1" "$2"
}

# pool_top FILE: the highest bus address of a debugfs pool file (lines
# "<start> <end> <slots>", hex), in decimal
pool_top() {
	awk 'BEGIN { m = 0 } { v = 0; s = tolower($2); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		if (v > m) m = v } END { printf "%.0f", m }' "$1"
}

# free memory in kB: MemFree plus the pages parked on the per-cpu free lists
# (several MiB on a Xen dom0, given back lazily), plus the stack depot's
# pools (16 KiB each, never given back; KASAN, kmemleak and SLUB debug keep
# every new call stack there: on the debug kernel a first I/O through new
# code paths took 39 pools; Debian's 6.12 may have the file too, with
# nothing growing it).  MemFree is only exact just after
# the per-cpu counters are folded (stat_refresh), so one awk process folds
# and reads at once, after a first pass that sets up its own memory.
mem_free_kb() {
	awk 'function rd(   l, f, p, d) {
		f = 0; p = 0; d = 0
		while ((getline l < "/proc/meminfo") > 0)
			if (l ~ /^MemFree:/) { split(l, a, " +"); f = a[2] }
		close("/proc/meminfo")
		while ((getline l < "/proc/zoneinfo") > 0)
			if (l ~ /^ *count: /) { split(l, a, ": *"); p += a[2] }
		close("/proc/zoneinfo")
		while ((getline l < "/sys/kernel/debug/stackdepot/stats") > 0)
			if (l ~ /^pools: /) { split(l, a, ": *"); d = 16 * a[2] }
		close("/sys/kernel/debug/stackdepot/stats")
		return f + 4 * p + d
	}
	BEGIN {
		rd()
		printf "1\n" > "/proc/sys/vm/stat_refresh"
		close("/proc/sys/vm/stat_refresh")
		print rd()
	}'
}

# settle memory before reading it: caches dropped, empty slabs given back
mem_settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f"; done 2>/dev/null
	sleep 1
}

# ---- network ------------------------------------------------------------------

NS_PID=
# net_if PCI: the network interface of the device at PCI (virtio's is on
# the virtio device below it)
net_if() {
	for i in /sys/class/net/*; do
		case $(readlink -f "$i") in */$1/*) echo "${i##*/}"; return 0 ;; esac
	done
}

# net_if_wait PCI: its interface, once its driver made it (up to 30 s)
net_if_wait() {
	for i in $(seq 1 300); do
		w=$(net_if "$1")
		[ -n "$w" ] && { echo "$w"; return 0; }
		sleep 0.1
	done
	return 1
}

# net_ns_of IF: IF in a network namespace of its own as 10.99.0.2, up, with
# its loopback (the namespace's holder in NS_PID)
net_ns_of() {
	unshare -n sleep 100000 &
	NS_PID=$!
	# wait until the child has its own namespace: moving IF "into" it
	# before that (a fixed 0.2 s once) leaves both NICs here, and the
	# traffic goes through loopback instead of the hub
	ns=
	for i in $(seq 1 100); do
		ns=$(readlink "/proc/$NS_PID/ns/net" 2>/dev/null)
		[ -n "$ns" ] && [ "$ns" != "$(readlink /proc/$$/ns/net)" ] && break
		ns=
		sleep 0.1
	done
	if [ -z "$ns" ]; then
		diag "unshare -n (pid $NS_PID) made no network namespace"
		return 1
	fi
	ip link set "$1" netns "$NS_PID" &&
	nsenter -t "$NS_PID" -n ip addr add 10.99.0.2/24 dev "$1" &&
	nsenter -t "$NS_PID" -n ip link set "$1" up &&
	nsenter -t "$NS_PID" -n ip link set lo up
}

# pool_drain FILE: FILE (a pool's used) once it reads 0, or after 30 s (a
# device's last requests may still be completing); its last value
pool_drain() {
	for i in $(seq 1 300); do
		[ "$(cat "$1")" = 0 ] && break
		sleep 0.1
	done
	cat "$1"
}

# net_up PCI_A PCI_B [DRIVER]: bind DRIVER (default e1000e; - when the
# caller bound it), A stays here (10.99.0.1), B goes to its own network
# namespace (10.99.0.2); sets IF_A, IF_B and NS_PID
net_up() {
	if [ "${3:-e1000e}" != - ]; then
		bind "$1" "${3:-e1000e}" 2>/dev/null
		bind "$2" "${3:-e1000e}" 2>/dev/null
	fi
	IF_A= IF_B=
	for i in $(seq 1 300); do
		IF_A=$(net_if "$1")
		IF_B=$(net_if "$2")
		[ -n "$IF_A" ] && [ -n "$IF_B" ] && break
		sleep 0.1
	done
	if [ -z "$IF_A" ] || [ -z "$IF_B" ]; then
		diag "NICs did not appear ($1: '$IF_A', $2: '$IF_B')"
		return 1
	fi
	net_ns_of "$IF_B" &&
	ip addr add 10.99.0.1/24 dev "$IF_A" &&
	ip link set "$IF_A" up || return 1
	# e1000e takes a few seconds to report the link
	for i in $(seq 1 100); do
		ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && return 0
	done
	diag "10.99.0.2 does not answer"
	return 1
}

# net_transfer BYTES [back]: send random data from 10.99.0.1 to 10.99.0.2
# over TCP (back: from 10.99.0.2 to 10.99.0.1), ok if it arrives intact
net_transfer() {
	dd if=/dev/urandom of=/tmp/net.tx bs=64k count=$(($1 / 65536)) 2>/dev/null
	rm -f /tmp/net.rx
	if [ "$2" = back ]; then
		ns_rx= ns_tx="nsenter -t $NS_PID -n" tables=/proc/$$/net to=10.99.0.1
	else
		ns_rx="nsenter -t $NS_PID -n" ns_tx= tables=/proc/$NS_PID/net to=10.99.0.2
	fi
	(sleep 600 | $ns_rx nc -l -p 5001 >/tmp/net.rx) &
	srv=$!
	# connect once the listener listens (port 5001 = 0x1389 in state 0A in
	# its namespace's tables; busybox nc listens on [::]), not after a
	# fixed 0.5 s
	for i in $(seq 1 300); do
		grep -qsE ':1389 0+:0000 0A ' "$tables/tcp6" "$tables/tcp" && break
		sleep 0.1
	done
	$ns_tx timeout 120 nc "$to" 5001 </tmp/net.tx
	for i in $(seq 1 300); do
		[ "$(stat -c %s /tmp/net.rx 2>/dev/null)" = "$(stat -c %s /tmp/net.tx)" ] && break
		sleep 0.1
	done
	kill "$srv" 2>/dev/null
	# two empty streams have equal checksums: the size first
	[ "$(stat -c %s /tmp/net.tx)" = "$1" ] &&
		[ "$(stat -c %s /tmp/net.rx 2>/dev/null)" = "$1" ] &&
		[ "$(md5sum </tmp/net.tx)" = "$(md5sum </tmp/net.rx)" ]
}

net_down() {
	[ -n "$NS_PID" ] && kill "$NS_PID" 2>/dev/null
	NS_PID=
	sleep 0.2
}

# ---- cleanup ------------------------------------------------------------------

# cleanup_all: back to the state at boot: no driver bound, no module loaded
cleanup_all() {
	killall sleep nc 2>/dev/null
	# the holder's mappings go back to the ops that made them: first
	rmmod pvbounce_hold 2>/dev/null
	for p in $(nvme_pci) $(nic_pcis); do
		unbind "$p"
	done
	rmmod pvbounce_test 2>/dev/null
	rmmod pvbounce 2>/dev/null
	modprobe -r nvme e1000e 2>/dev/null
	# a scenario that cannot leave the guest as it found it fails
	if pvb_loaded; then
		tap_not_ok "cleanup: pvbounce unloaded after the scenario"
		diag "$(cat "$PVB_DBG/devices" 2>/dev/null)"
	fi
	return 0
}

# ---- the debug kernel's checkers (make check-debug, tests/vm/debug/) ----------
# On a kernel without them (Debian's) these add nothing.  guest-init.sh calls
# debug_checks_start before the first scenario and debug_checks after each.
KMEMLEAK=/sys/kernel/debug/kmemleak
DMA_API=/sys/kernel/debug/dma-api
DMA_API_ERRORS=0
# DMA-API debug reports a scenario declared (dma_debug_expect_around), added
# up: a file, as each scenario runs in a process of its own
DMA_API_EXPECTED=/tmp/pvb.dma_api_expected
# a driver_filter naming no driver: DMA-API debug then counts its errors
# without a WARNING (err_printk warns only for the filter's driver)
DMA_API_QUIET=pvb-expected-report

# dma_debug_expect_around DESC N CMD...: run CMD, a deliberate act that DMA-API
# debug reports N times (a driver unbound while its mappings or coherent
# memory are still out: "device driver has pending DMA allocations while
# released from device"), with its reports counted but not warned about
# (panic_on_warn); one result: the error count moved by exactly N (a report
# more or fewer fails), N recorded for the scenario's debug_checks.  Without
# DMA-API debug (Debian's kernels) CMD only.  Returns CMD's status.
dma_debug_expect_around() {
	_dx_desc=$1
	_dx_n=$2
	shift 2
	if [ ! -f "$DMA_API/error_count" ]; then
		"$@"
		return
	fi
	_dx_filter=$(cat "$DMA_API/driver_filter")
	echo "$DMA_API_QUIET" >"$DMA_API/driver_filter"
	_dx_before=$(cat "$DMA_API/error_count")
	"$@"
	_dx_rc=$?
	_dx_after=$(cat "$DMA_API/error_count")
	# empty: a newline, which switches the filter off
	echo "$_dx_filter" >"$DMA_API/driver_filter"
	echo $(($(cat "$DMA_API_EXPECTED" 2>/dev/null || echo 0) + _dx_n)) >"$DMA_API_EXPECTED"
	expect_eq "$_dx_desc: DMA-API debug reported it $_dx_n time(s), without a warning" \
		$((_dx_after - _dx_before)) "$_dx_n"
	return $_dx_rc
}

# kmemleak_scan: two scans (an object is reported once its contents stayed
# the same over a scan), the suspects into /tmp/kmemleak.out; 1 if kmemleak
# cannot be read (it turned itself off)
kmemleak_scan() {
	echo scan >"$KMEMLEAK" 2>/dev/null && echo scan >"$KMEMLEAK" 2>/dev/null &&
		cat "$KMEMLEAK" >/tmp/kmemleak.out 2>/dev/null
}

# debug_checks_start: the boot's own leak suspects are the kernel's, not
# ours: listed as a diagnostic and cleared
debug_checks_start() {
	if [ -f "$KMEMLEAK" ]; then
		if kmemleak_scan; then
			n=$(grep -c '^unreferenced object' /tmp/kmemleak.out)
			[ "$n" -gt 0 ] && diag "kmemleak: $n suspects left by the boot, before any scenario (cleared, not ours)"
			echo clear >"$KMEMLEAK"
		else
			tap_not_ok "kmemleak is on at boot"
		fi
	fi
	[ -f "$DMA_API/error_count" ] && DMA_API_ERRORS=$(cat "$DMA_API/error_count")
	rm -f "$DMA_API_EXPECTED"
	return 0
}

# debug_checks NAME: after a scenario: lockdep still on, no new DMA-API debug
# error but those the scenario declared (dma_debug_expect_around), no new
# kmemleak suspect (each with its report in the TAP output)
debug_checks() {
	if [ -f /proc/lockdep_stats ]; then
		expect_eq "$1: lockdep still on (no lockdep report turned it off)" \
			"$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)" 1
	fi
	if [ -f "$DMA_API/error_count" ]; then
		e=$(cat "$DMA_API/error_count")
		x=$(cat "$DMA_API_EXPECTED" 2>/dev/null || echo 0)
		rm -f "$DMA_API_EXPECTED"
		if [ "$x" -gt 0 ]; then
			d="$1: DMA-API debug found no error but the $x it declared"
		else
			d="$1: DMA-API debug found no error"
		fi
		if ! expect_eq "$d" "$e" $((DMA_API_ERRORS + x)); then
			dmesg | grep -A12 'DMA-API' >/tmp/dma-api.out
			diag_file /tmp/dma-api.out 40
		fi
		DMA_API_ERRORS=$e
		expect_eq "$1: DMA-API debug still on" "$(cat "$DMA_API/disabled")" N
	fi
	if [ -f "$KMEMLEAK" ]; then
		if ! kmemleak_scan; then
			tap_not_ok "$1: kmemleak still on"
		elif grep -q '^unreferenced object' /tmp/kmemleak.out; then
			tap_not_ok "$1: kmemleak finds no leak"
			diag_file /tmp/kmemleak.out 60
			echo clear >"$KMEMLEAK"
		else
			tap_ok "$1: kmemleak finds no leak"
		fi
	fi
	return 0
}

# ---- shared checks ------------------------------------------------------------

# forward_ktap LOG TAG: a test module's KTAP lines in kernel log LOG as our
# TAP, each named TAG: (and its suite, for nested ones)
forward_ktap() {
	sed -n 's/^\[[^]]*\] //p' "$1" | awk -v tag="$2" '
		/^ *# Subtest: / { sub(/^ *# Subtest: /, ""); suite = $0; next }
		/^ *(not )?ok [0-9]+ / {
			line = $0; sub(/^ */, "", line)
			notok = (line ~ /^not ok/)
			sub(/^(not )?ok [0-9]+ (- )?/, "", line)
			print (notok ? "not ok" : "ok") "\t" tag ": " (suite != "" ? suite ": " : "") line
			n++
		}
		END { if (!n) print "none" }' >/tmp/ktap
	if [ "$(cat /tmp/ktap)" = none ]; then
		tap_not_ok "$2: KTAP results in the kernel log"
		diag_file "$1"
		return
	fi
	while IFS="$(printf '\t')" read -r r desc; do
		case $r$desc in "ok"*"# SKIP"*) skip_counted ;; esac
		tap_line "$r $(tap_next) - $desc"
	done </tmp/ktap
}


# expect_backend: debugfs names the backend this boot should use
expect_backend() {
	expect_eq "debugfs backend is ${PVB_MODE:-native}" "$(dbg backend)" "${PVB_MODE:-native}"
}

# attached PCI DRIVER: the debugfs devices list shows PCI with DRIVER (or -)
attached() {
	line=$(grep "^$1 " "$PVB_DBG/devices")
	set -- "$1" "$2" $line
	expect_eq "$1 listed in debugfs devices with driver $2" "$4" "$2" || diag "devices: $(cat "$PVB_DBG/devices")"
}

# verified_io PCI TAG: the size sweep, unaligned buffers and parallel jobs on
# NVME_DEV; sets IO_W and IO_R to the bytes the device moved each way
verified_io() {
	maxkb=$(nvme_queue max_hw_sectors_kb)
	IO_W=0 IO_R=0
	pvbio_run "$2: O_DIRECT write/read-back 512 B..$maxkb KiB" \
		-s "$(size_list "$maxkb")" -S 21 "$NVME_DEV"
	IO_W=$((IO_W + IO_WRITTEN)) IO_R=$((IO_R + IO_READ))
	pvbio_run "$2: same from buffers 512 B past a page boundary" \
		-s "$(size_list "$maxkb")" -b 512 -o 32M -S 22 "$NVME_DEV"
	IO_W=$((IO_W + IO_WRITTEN)) IO_R=$((IO_R + IO_READ))
	pvbio_run "$2: 4 parallel jobs of 4 KiB..$maxkb KiB" \
		-s 4K,12K,64K,"${maxkb}K" -n 4 -j 4 -o 64M -S 23 "$NVME_DEV"
	IO_W=$((IO_W + IO_WRITTEN)) IO_R=$((IO_R + IO_READ))
}

# unload_checks PCI DRIVER TAG: rmmod refused while DRIVER is bound, allowed
# once it is unbound
unload_checks() {
	check_fails "$3: rmmod refused while $2 is bound to $1" rmmod pvbounce
	dmesg_has "$3: the log names $1 and $2 as what holds pvbounce" \
		"pvbounce $1: driver $2 bound: pvbounce cannot be unloaded until it is unbound"
	check "$3: pvbounce still loaded" pvb_loaded
	unbind "$1"
	check "$3: rmmod once $1 is unbound" rmmod pvbounce
	check_fails "$3: pvbounce gone" pvb_loaded
}

# How far two settled readings of free memory may differ with nothing leaked:
# measured up to 216 kB apart (slab, page tables, per-cpu counters), natively
# and on Xen, on both kernels.  The memory scenarios use 1 MiB pool chunks
# (max_mapping_kb=1024), so one leaked chunk is three times this, and repeat
# load/unload 50 times, so a leak of two pages a cycle shows too.
MEM_SLACK_KB=${MEM_SLACK_KB:-320}

# expect_mem_back DESC BEFORE_KB: free memory (settled) is back to BEFORE_KB
expect_mem_back() {
	mem_settle
	now=$(mem_free_kb)
	diag "$1: free before $2 kB, now $now kB, difference $(($2 - now)) kB$(sed -n 's/^pools: \(.*\)/ (stack depot now \1 pools of 16 KiB, counted as free)/p' /sys/kernel/debug/stackdepot/stats 2>/dev/null)"
	expect_le "$1: free memory back within $MEM_SLACK_KB kB" $(($2 - now)) "$MEM_SLACK_KB"
}
