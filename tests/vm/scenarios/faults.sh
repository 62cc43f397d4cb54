# SPDX-License-Identifier: GPL-2.0
# Fault injection, on the debug kernel (failslab, fail_page_alloc and
# /proc/thread-self/fail-nth; on other kernels the scenario skips).  Only
# allocations with pvbounce's code (or a test module's) on the stack count:
# the stack filter is the module area, above the kernel's _end.
#
# Nth-call runs, through tests/vm/pvbfail.c, for N = 1, 2, ... until the
# call makes fewer than N such allocations: every allocation of the path
# fails once, in turn:
#   load     insmod devices=<nvme>@1M (a private pool) pool_mb=1: fails
#            with a message and leaves nothing loaded, or loads and works
#   attach   devices=<nvme>@1M written at run time: attached, or refused
#            with a message naming the device; detached again
#   coherent a dma_alloc_coherent() of 64 KiB and of 1 MiB on the attached
#            device (tests/kmod/coh.c): zeroed memory or -ENOMEM
#   unload   rmmod
# Then a probability run: 20% of pvbounce's allocations fail, in any task,
# while verified I/O makes a growable pool (pool_max_mb) grow: no mismatch,
# growth failures counted, the pool usable.  After each part: free memory
# back (1 MiB chunks, so one leaked chunk shows; on Xen also the machine
# frames), no slot in use; kmemleak and the console checker run after the
# scenario as after every other.
. /scenarios/lib.sh
skip_without_pvbounce "fault injection"
FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc
if [ ! -d $FS ] || [ ! -d $FP ] || [ ! -e /proc/self/fail-nth ]; then
	tap_skip "fault injection" "no failslab, fail_page_alloc or fail-nth in this kernel (the debug kernel has them)"
	exit 0
fi
if [ ! -f "$PVB_COH_KO" ]; then
	tap_not_ok "pvbounce_coh.ko is in the initramfs (tests/kmod, built with pvbounce.ko)"
	exit 0
fi
nvme=$(nvme_pci)
MAX_N=${PVB_FAULTS_MAX_N:-3000}

# fi_arm START END: count (fail-nth) only allocations with a return address
# in [START, END) on the stack, GFP_KERNEL ones and single pages included;
# one line per injected failure (the console checker lets the allocator's
# own warning after it pass)
fi_arm() {
	for d in $FS $FP; do
		echo 0 >$d/probability
		echo 1 >$d/interval
		echo -1 >$d/times
		echo N >$d/task-filter
		echo N >$d/ignore-gfp-wait
		echo 1 >$d/verbose
		echo 32 >$d/stacktrace-depth
		echo "$1" >$d/require-start
		echo "$2" >$d/require-end
	done
	echo N >$FP/ignore-gfp-highmem
	echo 0 >$FP/min-order
}

fi_off() {
	for d in $FS $FP; do
		echo 0 >$d/probability
	done
}

# the module area: above the kernel image
kend=$(awk '$3 == "_end" {print $1; exit}' /proc/kallsyms)
fi_arm "0x$kend" 0xffffffffff000000
diag "faults: counting allocations with a return address in [0x$kend, 0xffffffffff000000) on the stack"

# nth_loop TAG CMD...: pvbfail N CMD for N = 1, 2, ... while a failure was
# injected; after each run "nth_after N RC" (defined by the caller) checks
# and cleans up, returning non-zero to stop.  Sets NTH_SITES (allocations
# failed), NTH_FAILED (calls that failed), NTH_OK (calls that succeeded
# anyway) and NTH_BAD (the first problem, empty if none).
nth_loop() {
	tag=$1
	shift
	NTH_SITES=0 NTH_FAILED=0 NTH_OK=0 NTH_BAD=
	n=1
	while [ $n -le "$MAX_N" ]; do
		dmesg -c >/dev/null
		out=$(pvbfail $n "$@" 2>&1)
		rc=$?
		dmesg >/tmp/dmesg.nth
		case $out in
		*injected=1*) ;;
		*injected=0*)
			if [ $rc -ne 0 ]; then
				NTH_BAD="$tag: the call failed with no failure injected ($out)"
			fi
			nth_after $n $rc || true
			return 0 ;;
		*)
			NTH_BAD="$tag: pvbfail $n: $out"
			return 1 ;;
		esac
		NTH_SITES=$n
		if [ $rc -eq 0 ]; then NTH_OK=$((NTH_OK + 1)); else NTH_FAILED=$((NTH_FAILED + 1)); fi
		nth_after $n $rc || return 1
		n=$((n + 1))
	done
	NTH_BAD="$tag: still injecting after $MAX_N allocations"
	return 1
}

# nth_report TAG [MIN]: the loop's result as TAP; the path must have made
# at least MIN (default 1) allocations to fail
nth_report() {
	diag "$1: $NTH_SITES allocations failed in turn: the call failed $NTH_FAILED times, went through $NTH_OK times"
	if [ -n "$NTH_BAD" ]; then
		tap_not_ok "$1: every allocation failed once, each unwound cleanly"
		diag "$NTH_BAD"
		diag_file /tmp/dmesg.nth 20
	else
		tap_ok "$1: every allocation failed once ($NTH_SITES), each unwound cleanly"
	fi
	[ "${2:-1}" -gt 0 ] &&
		expect_ge "$1: the path made allocations to fail" "$NTH_SITES" "${2:-1}"
	return 0
}

# mem_back DESC: free memory back to $before within MEM_SLACK_KB; what
# hundreds of module loads free late (RCU, deferred vfree, KASAN's
# quarantine) gets up to four more settles, a leak stays
mem_back() {
	for t in 1 2 3 4; do
		mem_settle
		[ $((before - $(mem_free_kb))) -le "$MEM_SLACK_KB" ] && break
		sleep 2
	done
	expect_mem_back "$1" "$before"
}

# ---- load ---------------------------------------------------------------------
LOAD_ARGS="devices=$nvme@1M pool_mb=1 max_mapping_kb=1024"
# nvme's own module memory is not part of the count; the pools are made of
# 1 MiB chunks, so that one leaked chunk is beyond the slack, which on this
# kernel (KASAN's shadow, 25..50 module loads) is wider than the usual
MEM_SLACK_KB=800
modprobe nvme
unbind "$nvme"	# (modprobe binds it)
mem_settle
before=$(mem_free_kb)
nth_after() { # N RC
	if [ "$2" -eq 0 ]; then
		if ! pvb_loaded; then
			NTH_BAD="load N=$1: insmod succeeded, no module"
			return 1
		fi
		# what a failed best-effort step (debugfs, sysfs) may cost is
		# its files; the device must be attached all the same
		if ! grep -q "pvbounce $nvme: attached" /tmp/dmesg.nth &&
		   ! grep -q "pvbounce $nvme: not attached" /tmp/dmesg.nth; then
			NTH_BAD="load N=$1: $nvme neither attached nor refused with a message"
			return 1
		fi
		if ! rmmod pvbounce; then
			NTH_BAD="load N=$1: rmmod after the load failed"
			return 1
		fi
	else
		if pvb_loaded; then
			NTH_BAD="load N=$1: insmod failed, yet pvbounce is loaded"
			rmmod pvbounce
			return 1
		fi
		# pvbounce's own refusal, not a stack frame naming the module
		# nor the kernel's "pvbounce: `x' invalid for parameter `p'"
		if ! grep -v "invalid for parameter" /tmp/dmesg.nth |
			grep -Eq "pvbounce( [0-9a-f:.]+)?: .*(not loaded|not applied|not attached|failed|no memory|invalid [a-z_]+=)"; then
			NTH_BAD="load N=$1: insmod failed without a message from pvbounce"
			return 1
		fi
	fi
	return 0
}
nth_loop load insmod "$PVB_KO" $LOAD_ARGS
nth_report "load"
pvb_loaded && rmmod pvbounce
mem_back "faults: after the load runs"

# ---- attach -------------------------------------------------------------------
check "attach: load with no device" pvb_load pool_mb=1 max_mapping_kb=1024 || exit 0
nth_after() { # N RC
	if [ "$2" -ne 0 ]; then
		# the selectors could not be had: the write is refused, and says so
		if grep -q "^$nvme " "$PVB_DBG/devices"; then
			NTH_BAD="attach N=$1: the devices= write failed, yet $nvme is attached"
			return 1
		fi
		if ! grep -q "pvbounce: devices=.* not applied" /tmp/dmesg.nth; then
			NTH_BAD="attach N=$1: the devices= write failed without a message"
			return 1
		fi
		return 0
	fi
	# (debugfs "devices", not the device's directory: a failed debugfs
	# file is no failed attach)
	if grep -q "^$nvme " "$PVB_DBG/devices"; then
		if ! grep -q "pvbounce $nvme: attached" /tmp/dmesg.nth; then
			NTH_BAD="attach N=$1: attached without the message"
			return 1
		fi
	elif ! grep -q "pvbounce $nvme: not attached" /tmp/dmesg.nth; then
		NTH_BAD="attach N=$1: not attached, and no message naming $nvme says why"
		return 1
	fi
	echo >"$PVB_PARAMS/devices"
	if grep -q "^$nvme " "$PVB_DBG/devices" || [ -d "$PVB_DBG/$nvme" ]; then
		NTH_BAD="attach N=$1: still attached after devices= was emptied"
		return 1
	fi
	return 0
}
nth_loop attach write "$PVB_PARAMS/devices" "$nvme@1M"
nth_report "attach"
expect_eq "attach: no slot of the common pool in use" "$(dbg used)" 0
check "attach: rmmod" rmmod pvbounce
mem_back "faults: after the attach runs"

# ---- coherent -----------------------------------------------------------------
check "coherent: load with devices=$nvme" pvb_load devices="$nvme" pool_mb=1 max_mapping_kb=1024 || exit 0
check "coherent: $nvme attached" test -d "$PVB_DBG/$nvme" || exit 0
check "coherent: insmod pvbounce_coh" insmod "$PVB_COH_KO" || exit 0
for size in 65536 1048576; do
	counters "$nvme"
	nth_after() { # N RC
		r=${out#rc=}
		case ${r%% *} in
		0 | -12) ;;
		*)
			NTH_BAD="coherent $size N=$1: $out (want 0 or -ENOMEM)"
			return 1 ;;
		esac
		if [ "$(dbg used)" != 0 ]; then
			NTH_BAD="coherent $size N=$1: $(dbg used) pool slots left in use"
			return 1
		fi
		return 0
	}
	nth_loop "coherent $size" write /sys/module/pvbounce_coh/parameters/alloc "$nvme $size"
	nth_report "coherent $size B"
	# (NTH_OK and the last call, made with nothing failed)
	expect_ge "coherent $size B: the successful ones went through pvbounce" \
		"$(delta "$nvme" coherent_allocs)" $((NTH_OK + 1))
done
check "coherent: rmmod pvbounce_coh" rmmod pvbounce_coh
check "coherent: rmmod" rmmod pvbounce
mem_back "faults: after the coherent runs"

# ---- unload -------------------------------------------------------------------
check "unload: load" pvb_load $LOAD_ARGS || exit 0
nth_after() { # N RC
	if pvb_loaded; then
		NTH_BAD="unload N=$1: rmmod returned $2, pvbounce still loaded"
		return 1
	fi
	pvb_load $LOAD_ARGS >/dev/null 2>&1 || {
		NTH_BAD="unload N=$1: the next load failed"
		return 1
	}
	return 0
}
nth_loop unload rmmod pvbounce
nth_report "unload" 0	# (rmmod allocates nothing today)
pvb_loaded && rmmod pvbounce
mem_back "faults: after the unload runs"

# ---- probability: pool growth under verified I/O --------------------------------
check "growth: load force=1 pool_mb=1 pool_max_mb=8 devices=$nvme" \
	pvb_load devices="$nvme" force=1 pool_mb=1 pool_max_mb=8 max_mapping_kb=1024 || exit 0
check "growth: nvme probes" nvme_up "$nvme" || exit 0
# A full pool for certain (as pool_grow does): growth off, every free slot
# held by pvbounce_hold.ko, growth on: the I/O's first map makes it grow.
echo 0 >"$PVB_PARAMS/pool_max_mb"
check "growth: pvbounce_hold.ko holds the free slots" \
	insmod "$PVB_HOLD_KO" dev="$nvme" size=$((($(dbg nslabs) - $(dbg used)) * 2048))
echo 8 >"$PVB_PARAMS/pool_max_mb"
# pvbounce's own text only (its symbols in kallsyms): not nvme's allocations
set -- $(awk '$4 == "[pvbounce]" && $2 ~ /^[tT]$/ {print $1}' /proc/kallsyms | sort | sed -n '1p;$p')
fi_arm "0x$1" "$(printf '0x%x' $((0x$2 + 65536)))"
diag "growth: counting allocations with a return address in pvbounce's text, 0x$1..0x$2 (+64 KiB)"
for d in $FS $FP; do
	echo 1000000 >$d/times
	echo 20 >$d/probability
done
counters "$nvme"
grows0=$(dbg grows) gfail0=$(dbg grow_failures)
pvbio_run "growth: verified I/O on the full pool while 20% of pvbounce's allocations fail" \
	-s 4K,64K,252K,1M -n 2 -j 4 -S 70 "$NVME_DEV"
fi_off
inj=$(( (1000000 - $(cat $FS/times)) + (1000000 - $(cat $FP/times)) ))
diag "growth: $inj allocations failed; grows $(($(dbg grows) - grows0)), grow_failures $(($(dbg grow_failures) - gfail0)), refusals (pool full) $(delta "$nvme" errors_pool_full), nslabs $(dbg nslabs)"
expect_ge "growth: failures were injected into pvbounce's allocations" "$inj" 1
expect_ge "growth: the pool grew all the same" $(($(dbg grows) - grows0)) 1
check "growth: rmmod pvbounce_hold" rmmod pvbounce_hold
pvbio_run "growth: verified I/O once injection is off" -s 4K,252K,1M -S 71 "$NVME_DEV"
# after the unbind: coherent memory nvme's DMA pools took during the run
# may have been carved from the pool (a chunk allocation failed) and is
# only given back with the driver
unbind "$nvme"
pool_idle growth "$nvme"
check "growth: rmmod" rmmod pvbounce
mem_back "faults: after the growth run"
