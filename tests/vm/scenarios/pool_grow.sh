# SPDX-License-Identifier: GPL-2.0
# Pools that grow under load and shrink when idle (pool_max_mb, issue 12).
#
# A. The common pool at pool_mb=1 (4 segments of 256 KiB), pool_max_mb=16,
#    force=1, nvme on it: held full by pvbounce_hold.ko, a map is refused,
#    says "growing", counts in full_growing, and the pool grows; then 12
#    parallel verified jobs of up to 252 KiB, repeated until a round has no
#    refusal (at most 4, no shrink meanwhile): it grows as needed (debugfs
#    grows, nslabs), zero data errors; then idle (debugfs fail/shrink_idle_ms=1000 instead of
#    the 10 s default) it shrinks back to 1 MiB (shrinks == grows); after
#    unload free memory is back (on Xen: every exchanged chunk given back).
#    The pool's size over time is in the diagnostics.
# B. pool_max_mb=0 written at run time stops growth (a warm-up round, which
#    also lets nvme make its coherent PRP pools); all but 64 slots held, 16
#    again, and the backend fails the first chunk of growth (fail/xen_exchange
#    on Xen, fail/chunk_alloc natively): growth stops with a message and
#    grow_failures, 12 verified jobs go on in what there is, growth resumes
#    5 s later; memory back after unload.
# C. A private pool (@1M) gets 4x as its limit; built with a shortage
#    (fail/chunk_alloc: 2 of its 4 chunks) it loads at 512 KiB, says so,
#    and grows to its 1 MiB target in the background.
. /scenarios/lib.sh
skip_without_pvbounce "pool growth"
nvme=$(nvme_pci)
IDLE=$PVB_DBG/fail/shrink_idle_ms

# sample FILE: uptime, pool slots and slots used every 0.5 s into FILE
sample() {
	while :; do
		read -r up _ </proc/uptime
		echo "$up $(dbg nslabs) $(dbg used)" >>"$1"
		sleep 0.5
	done
}

# timeline FILE TAG: one diagnostic with the pool size (KiB) over time
timeline() {
	diag "$2: common pool size over time (s:KiB):$(awk 'NR == 1 { t0 = $1 } { kb = $2 * 2; if (kb != last) { s = s sprintf(" %.1f:%d", $1 - t0, kb); last = kb } }
		END { print s }' "$1")"
}

# nslabs_is [PCI] N: the pool (the common one, or PCI's own) has N slots
nslabs_is() {
	if [ $# -eq 2 ]; then [ "$(dbg "$1" nslabs)" -eq "$2" ]; else [ "$(dbg nslabs)" -eq "$1" ]; fi
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s up to SECONDS
wait_for() {
	n=$(($1 * 5))
	shift
	while ! "$@" && [ $n -gt 0 ]; do
		sleep 0.2
		n=$((n - 1))
	done
	"$@"
}

# warm up: pvbounce loaded once, nvme's modules loaded (they stay)
pvb_load pool_mb=1 && rmmod pvbounce
nvme_up "$nvme" && unbind "$nvme"
# the trace ring buffer is allocated at its first use (pvbounce_pool_resize
# below) and kept: allocated now, it is not counted as memory not given back
TR=/sys/kernel/tracing
[ -d "$TR/events" ] || mount -t tracefs nodev "$TR" 2>/dev/null
kb=$(sed -n 's/.*expanded: \([0-9]*\).*/\1/p' "$TR/buffer_size_kb" 2>/dev/null)
[ -n "$kb" ] && echo "$kb" >"$TR/buffer_size_kb"
mem_settle
before=$(mem_free_kb)

# ---- pvbounce_pool_resize records ----------------------------------------------
# switched on and off only while nvme is unbound or idle (see observe.sh)
resize_trace_on() {
	echo 0 >"$TR/tracing_on" 2>/dev/null
	: >"$TR/trace" 2>/dev/null
	echo 1 >"$TR/events/pvbounce/pvbounce_pool_resize/enable" 2>/dev/null
	echo 1 >"$TR/tracing_on" 2>/dev/null
}
# resize_trace_check TAG GROWS SHRINKS: one record per chunk grown (new =
# old + 256 KiB) and given back (new = old - 256 KiB) for the common pool,
# each starting where the one before ended, from and back to 1 MiB
resize_trace_check() {
	echo 0 >"$TR/events/pvbounce/pvbounce_pool_resize/enable" 2>/dev/null
	r=$(awk 'BEGIN { at = 1048576 }
		/pvbounce_pool_resize: pool=common / {
			split($0, a, " old="); split(a[2], b, " new="); o = b[1] + 0; n = b[2] + 0
			if (o != at) bad++
			if (n == o + 262144) g++; else if (n == o - 262144) s++; else bad++
			at = n }
		END { printf "%d %d %d %d", g, s, bad, at }' "$TR/trace")
	expect_eq "$1: pvbounce_pool_resize records: grows, shrinks, broken steps, final size" \
		"$r" "$2 $3 0 1048576"
}

# ---- A: grow under load, shrink when idle --------------------------------------
check "A: load pool_mb=1 pool_max_mb=16 force=1 devices=$nvme" \
	pvb_load devices="$nvme" pool_mb=1 pool_max_mb=16 force=1
expect_eq "A: pool_max_mb reads 16" "$(cat "$PVB_PARAMS/pool_max_mb")" 16
expect_eq "A: pool_max_mb is writable (0644)" "$(stat -c %a "$PVB_PARAMS/pool_max_mb")" 644
check_fails "A: pool_max_mb=abc written at run time is refused" \
	sh -c "echo abc >$PVB_PARAMS/pool_max_mb"
expect_eq "A: pool_max_mb still 16" "$(cat "$PVB_PARAMS/pool_max_mb")" 16
expect_eq "A: nslabs 512 (1 MiB) at load" "$(dbg nslabs)" 512
expect_eq "A: nslabs_max 8192 (16 MiB)" "$(dbg nslabs_max)" 8192
expect_eq "A: grows 0 at load" "$(dbg grows)" 0
expect_eq "A: shrinks 0 at load" "$(dbg shrinks)" 0
expect_eq "A: sysfs nslabs_max" "$(cat /sys/kernel/pvbounce/nslabs_max)" 8192
dmesg_has "A: the load says how far the pool may grow" \
	"pvbounce: pool common: may grow to 16384 KiB under load" /tmp/dmesg.load
resize_trace_on
check "A: nvme probes" nvme_up "$nvme"
# A full pool for certain (12 jobs alone fill it only when TCG's timing lets
# them): growth off, pvbounce_hold.ko maps every free slot, growth on, and a
# 4 KiB I/O's map is refused as "growing"; nvme retries it once grown.
echo 0 >"$PVB_PARAMS/pool_max_mb"
free=$(($(dbg nslabs) - $(dbg used)))
check "A: pvbounce_hold.ko maps the $free free slots" \
	insmod "$PVB_HOLD_KO" dev="$nvme" size=$((free * 2048))
expect_eq "A: every slot in use, nothing grown with pool_max_mb=0" \
	"$(dbg used) $(dbg grows)" "512 0"
echo 16 >"$PVB_PARAMS/pool_max_mb"
counters "$nvme"
dmesg -c >/dev/null
rm -f /tmp/grow.size
sample /tmp/grow.size &
smp=$!
pvbio_run "A: a 4 KiB I/O on the full pool completes, verified" -s 4K -S 60 "$NVME_DEV"
diag "A: full pool: $(delta "$nvme" errors_pool_full) refusals before growth, full_growing $(dbg full_growing), grows $(dbg grows), nslabs $(dbg nslabs)"
expect_ge "A: its map was refused (pool full)" "$(delta "$nvme" errors_pool_full)" 1
expect_ge "A: and counted as pool full, growing" "$(dbg full_growing)" 1
# (the total read for the message may already count a chunk being added:
# seen on the debug kernel, "512 of 640 slots used")
dmesg_has "A: the refusal says the pool is growing" "pool common full \(512 of [0-9]+ slots used\), growing \(pool_max_mb\)"
expect_ge "A: the pool grew" "$(dbg grows)" 1
dmesg_has "A: growth is logged" "pvbounce: pool common: grew to [0-9]+ KiB"
check "A: rmmod pvbounce_hold" rmmod pvbounce_hold
# The rounds: no shrink meanwhile (on a slow Xen boot the load may fit the
# 1 MiB for 10 s, and the chunks would go and come back); growth follows
# the peaks, so refusals stop: a round without any within four.
echo 600000 >"$IDLE"
r=1
while :; do
	counters "$nvme"
	pvbio_run "A: round $r: 12 parallel verified jobs of 64..252 KiB" \
		-s 64K,128K,252K -j 12 -S $((60 + r)) "$NVME_DEV"
	expect_eq "A: round $r: no I/O error" "${IO_ERRORS:-x}" 0
	n=$(delta "$nvme" errors_pool_full)
	diag "A: round $r: $n refusals (pool full), full_growing $(dbg full_growing), grows $(dbg grows), nslabs $(dbg nslabs), used_hiwater $(dbg used_hiwater)"
	[ "$n" -eq 0 ] || [ $r -ge 4 ] && break
	r=$((r + 1))
done
expect_eq "A: refusals stopped after growth (round $r of at most 4 had none)" "$n" 0
g1=$(dbg grows)
expect_le "A: nslabs at most nslabs_max" "$(dbg nslabs)" 8192
expect_eq "A: nslabs is 512 + 128 per chunk grown and not given back" "$(dbg nslabs)" \
	$((512 + 128 * (g1 - $(dbg shrinks))))
expect_eq "A: sysfs grows == debugfs grows" "$(cat /sys/kernel/pvbounce/grows)" "$g1"
# idle: grown chunks go after 1 s without a used slot
echo 1000 >"$IDLE"
wait_for 30 nslabs_is 512
kill $smp
wait $smp 2>/dev/null
read -r up _ </proc/uptime
echo "$up $(dbg nslabs) $(dbg used)" >>/tmp/grow.size
timeline /tmp/grow.size A
expect_eq "A: idle: back to 512 slots" "$(dbg nslabs)" 512
expect_eq "A: shrinks == grows" "$(dbg shrinks)" "$(dbg grows)"
expect_eq "A: sysfs shrinks == debugfs shrinks" "$(cat /sys/kernel/pvbounce/shrinks)" "$(dbg shrinks)"
dmesg_has "A: shrinking is logged" "pvbounce: pool common: shrank to 1024 KiB"
expect_eq "A: the pool list is the 4 chunks of the load again" \
	"$(wc -l <"$PVB_DBG/pool")" 4
resize_trace_check A "$(dbg grows)" "$(dbg shrinks)"
pvbio_run "A: I/O verified on the shrunk pool" -s 4K,252K -j 2 -S 63 "$NVME_DEV"
unbind "$nvme"
pool_idle "A" "$nvme"
echo 0 >"$IDLE"
check "A: rmmod" rmmod pvbounce
expect_mem_back "A: grown and shrunk pool" "$before"

# ---- B: the backend fails during growth ------------------------------------------
if [ "$PVB_MODE" = xen ]; then
	KNOB=$PVB_DBG/fail/xen_exchange MSG="XENMEM_exchange failed as asked"
else
	KNOB=$PVB_DBG/fail/chunk_alloc MSG="chunk allocation failed as asked"
fi
check "B: load pool_mb=1 pool_max_mb=16 force=1" \
	pvb_load devices="$nvme" pool_mb=1 pool_max_mb=16 force=1
check "B: nvme probes" nvme_up "$nvme"
# growth off at run time; a first round lets nvme make its PRP pools (coherent
# memory, which takes backend chunks too) so that the knob hits growth
echo 0 >"$PVB_PARAMS/pool_max_mb"
expect_eq "B: pool_max_mb=0 written at run time: nslabs_max back to 512" "$(dbg nslabs_max)" 512
pvbio_run "B: warm-up round, growth off" -s 64K,128K,252K -j 12 -S 64 "$NVME_DEV"
expect_eq "B: no growth while pool_max_mb=0" "$(dbg grows)" 0
# all but 64 slots held: the first map kicks growth (over 3/4), whose first
# chunk fails; I/O goes on in the 64 slots until the retry 5 s later
free=$(($(dbg nslabs) - $(dbg used) - 64))
check "B: pvbounce_hold.ko maps all but 64 free slots" \
	insmod "$PVB_HOLD_KO" dev="$nvme" size=$((free * 2048))
echo 1 >"$KNOB"
echo 16 >"$PVB_PARAMS/pool_max_mb"
counters "$nvme"
dmesg -c >/dev/null
pvbio_run "B: ${KNOB##*/}=1: 12 parallel verified jobs while growth fails" \
	-s 64K,128K,252K -j 12 -S 65 "$NVME_DEV"
expect_eq "B: no I/O error" "${IO_ERRORS:-x}" 0
diag "B: grows $(dbg grows), grow_failures $(dbg grow_failures), refusals $(delta "$nvme" errors_pool_full), nslabs $(dbg nslabs), knob left $(cat "$KNOB")"
expect_eq "B: the failure was used" "$(cat "$KNOB")" 0
expect_ge "B: grow_failures counted" "$(dbg grow_failures)" 1
dmesg_has "B: the backend failure is logged" "$MSG"
dmesg_has "B: growth stopped with a message" \
	"pvbounce: pool common: growth stopped at 1024 KiB: the [a-z]+ backend gave no 256 KiB chunk"
expect_ge "B: growth went on after the retry" "$(dbg grows)" 1
check "B: rmmod pvbounce_hold" rmmod pvbounce_hold
pvbio_run "B: I/O verified after the failure" -s 4K,252K -j 4 -S 66 "$NVME_DEV"
echo 0 >"$KNOB"
unbind "$nvme"
check "B: rmmod" rmmod pvbounce
expect_mem_back "B: growth with a failure" "$before"

# ---- C: private pools ----------------------------------------------------------------
check "C: load pool_mb=1 pool_max_mb=16" pvb_load pool_mb=1 pool_max_mb=16
echo "$nvme@1M" >"$PVB_PARAMS/devices"
expect_eq "C: private pool nslabs_max is 4x its @size" "$(dbg "$nvme" nslabs_max)" 2048
expect_eq "C: sysfs of the private pool" "$(cat "/sys/kernel/pvbounce/$nvme/nslabs_max")" 2048
echo >"$PVB_PARAMS/devices"
dmesg -c >/dev/null
echo 3 >"$PVB_DBG/fail/chunk_alloc"
echo "$nvme@1M" >"$PVB_PARAMS/devices"
dmesg >/tmp/dmesg.rt
expect_eq "C: the shortage was used" "$(cat "$PVB_DBG/fail/chunk_alloc")" 0
dmesg_has "C: a private pool short at creation says it grows towards its size" \
	"pool $nvme: 512 KiB in 2 chunks.*less than asked: growing towards it" /tmp/dmesg.rt
wait_for 10 nslabs_is "$nvme" 512
expect_eq "C: it grew to its 1 MiB target" "$(dbg "$nvme" nslabs)" 512
expect_eq "C: two grows" "$(dbg "$nvme" grows)" 2
check "C: nvme probes on the private pool" nvme_up "$nvme"
pvbio_run "C: I/O verified" -s 4K,252K -j 4 -S 67 "$NVME_DEV"
unbind "$nvme"
echo >"$PVB_PARAMS/devices"
check "C: rmmod" rmmod pvbounce
expect_mem_back "C: private pools" "$before"
