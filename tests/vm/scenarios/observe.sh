# SPDX-License-Identifier: GPL-2.0
# Observability: tools/pvbounce-stat and the pvbounce: trace events against
# live counters, with nvme on pvbounce (force=1, a 2 MiB pool).
#
#  - pvbounce-stat without the module: the message, exit 1.
#  - Trace events on (tracefs) before nvme probes, so that every map of the
#    device since attach is recorded: pvbounce_coherent records for the
#    queues, as many as coherent_allocs; after verified I/O, pvbounce_map
#    plus pvbounce_refuse records == maps; the map records' sizes add up to
#    bytes_to_device and (every mapping undone) bytes_from_device exactly;
#    every record bounced, direction to or from, size 1..252 KiB, its bus
#    range inside one chunk of the debugfs pool.  Nothing is lost: the ring
#    buffer's overrun counters stay 0.
#  - The pool made full by tests/kmod/pvbounce_hold.ko asked for one slot
#    more than is free: its last map is refused, one pvbounce_refuse record
#    "reason=pool_full" for nvme, as the log line and errors_pool_full say.
#  - With the events off, I/O leaves no record.
#  - force=0: 'direct' records == direct_maps, 'bounced' == bounced_maps;
#    natively all direct at their physical address, on Xen some at machine
#    addresses that differ from the pseudo-physical ones.
#  - pvbounce-stat (one report) and --json: sequential verified I/O with the disk
#    otherwise idle (counters unchanged over a second before it) moves the
#    tool's bytes to and from the device by exactly the bytes pvbio wrote
#    and read, and its totals equal debugfs's; a report per second during a
#    running workload (pvbounce-stat 1 3): maps and bytes > 0 in every
#    period, each report's deltas add up to the totals; --version names the
#    loaded module's version, and the tool's is the same.
#
# Events are switched only while nvme is idle, with record-cmd off
# (guest-init.sh turns it off for every scenario): turning on the comm recorder
# would patch the scheduler's tracepoint under the other vCPU, which a Xen
# PV dom0 under TCG does not take well.
. /scenarios/lib.sh
skip_without_pvbounce "observability: pvbounce-stat and trace events"
nvme=$(nvme_pci)
STAT=/bin/pvbounce-stat
TR=/sys/kernel/tracing
SYSD=/sys/kernel/pvbounce
T0=$(cut -d. -f1 /proc/uptime)
# phase NAME: a diagnostic with the seconds since the scenario began
phase() {
	diag "-- $1 (at $(($(cut -d. -f1 /proc/uptime) - T0)) s)"
}

# ---- not loaded ---------------------------------------------------------------
if pvb_loaded; then
	tap_not_ok "pvbounce not loaded before the scenario"
else
	$STAT >/tmp/stat.out 2>&1
	expect_eq "pvbounce-stat without the module exits 1" "$?" 1
	check "... and says pvbounce is not loaded" grep -q "pvbounce is not loaded" /tmp/stat.out
	$STAT --json >/tmp/stat.json 2>/dev/null
	expect_eq "pvbounce-stat --json without the module exits 1, prints nothing" \
		"$?:$(wc -c </tmp/stat.json)" "1:0"
fi

# ---- tracefs ------------------------------------------------------------------
[ -d "$TR/events" ] || mount -t tracefs nodev "$TR" 2>/dev/null
if [ ! -d "$TR/events" ]; then
	tap_not_ok "tracefs mounted at $TR"
	exit 0
fi

# trace_reset: events off, empty ring buffer
trace_reset() {
	echo 0 >"$TR/events/pvbounce/enable" 2>/dev/null
	echo 0 >"$TR/tracing_on"
	: >"$TR/trace"
}
# overruns: events the ring buffer dropped, all CPUs
overruns() {
	cat "$TR"/per_cpu/cpu*/stats | awk '/^overrun:/ { n += $2 } END { print n + 0 }'
}

check "load with devices=$nvme force=1 pool_mb=2 (before nvme)" \
	pvb_load devices="$nvme" force=1 pool_mb=2 || exit 0
for e in pvbounce_map pvbounce_refuse pvbounce_coherent pvbounce_pool_resize; do
	check "tracefs has events/pvbounce/$e" test -f "$TR/events/pvbounce/$e/format"
done
echo 2048 >"$TR/buffer_size_kb"
trace_reset
echo 1 >"$TR/events/pvbounce/enable"
echo 1 >"$TR/tracing_on"
expect_eq "no map of $nvme yet (no driver)" "$(dbg "$nvme" maps)" 0
check "nvme probes on pvbounce's ops" nvme_up "$nvme" || { cleanup_all; exit 0; }

# parse_trace PCI [ranges]: one pass over the trace and the debugfs pool;
# prints shell assignments T_* for PCI's records; with "ranges", checks each
# map record's bus range against the pool's chunks
parse_trace() {
	{ sed 's/^/POOL /' "$PVB_DBG/pool"; cat "$TR/trace"; } | awk -v dev="$1" -v chk="${2:-}" '
	function hex(s,   i, c, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			if (c == 0) return -1
			v = v * 16 + c - 1
		}
		return v
	}
	$1 == "POOL" { lo[++nch] = hex($2); hi[nch] = hex($3); next }
	/pvbounce_(map|refuse|coherent|pool_resize):/ {
		split("", F)
		for (i = 1; i <= NF; i++)
			if ($i ~ /^pvbounce_[a-z_]*:$/) ev = $i
			else if (split($i, kv, "=") == 2) F[kv[1]] = kv[2]
			else F["last"] = $i
		sub(/:$/, "", ev)
		if (F["dev"] != dev) { other++; next }
		if (ev == "pvbounce_coherent") {
			coh++
			if (hex(F["bus"]) + F["size"] > 4294967296) coh_high++
			next
		}
		if (ev == "pvbounce_refuse") {
			ref++
			if (F["reason"] == "pool_full" && F["size"] == 2048) ref_full++
			next
		}
		if (ev != "pvbounce_map") next
		map++
		sz = F["size"] + 0
		if (F["dir"] == "to") to += sz
		else if (F["dir"] == "from") from += sz
		else baddir++
		if (sz < 1 || sz > 252 * 1024) badsize++
		if (F["last"] == "direct") {
			direct++
			if (F["bus"] != F["phys"]) xlat++
		} else if (F["last"] != "bounced") {
			baddir++
		}
		if (F["phys"] !~ /^0x[0-9a-f]*[1-9a-f][0-9a-f]*$/) badphys++
		if (chk == "") next
		b = hex(F["bus"]); inside = 0
		for (c = 1; c <= nch; c++)
			if (b >= lo[c] && b + sz - 1 <= hi[c]) { inside = 1; break }
		if (!inside) outside++
	}
	END {
		printf "T_MAP=%d T_REF=%d T_REF_FULL=%d T_COH=%d T_COH_HIGH=%d ", map, ref, ref_full, coh, coh_high
		printf "T_TO=%.0f T_FROM=%.0f T_BADDIR=%d T_BADSIZE=%d ", to, from, baddir, badsize
		printf "T_DIRECT=%d T_XLAT=%d T_BADPHYS=%d T_OUTSIDE=%d T_OTHER=%d T_CHUNKS=%d\n", direct, xlat, badphys, outside, other, nch
	}'
}

# ---- trace records of known I/O -------------------------------------------------
phase "trace records"
pvbio_run "traced: O_DIRECT write/read-back 512 B..252 KiB, 2 jobs" \
	-s "$(size_list 252)" -j 2 -S 51 "$NVME_DEV"
echo 0 >"$TR/events/pvbounce/enable"
eval "$(parse_trace "$nvme" ranges)"
expect_eq "trace: no record for a device not in devices=" "$T_OTHER" 0
show "$nvme"
diag "trace: $T_MAP map, $T_REF refuse, $T_COH coherent records for $nvme; to $T_TO B, from $T_FROM B; $T_CHUNKS pool chunks"
{ grep -m 1 'pvbounce_coherent:' "$TR/trace"; grep -m 2 'pvbounce_map: .*dir=to' "$TR/trace"; grep -m 1 'pvbounce_map: .*dir=from' "$TR/trace"; } >/tmp/trace.sample
diag "some records:"
diag_file /tmp/trace.sample
expect_eq "ring buffer lost no event" "$(overruns)" 0
expect_ge "pvbounce_coherent recorded nvme's queues at probe" "$T_COH" 1
expect_eq "pvbounce_coherent records == coherent_allocs" "$T_COH" "$(dbg "$nvme" coherent_allocs)"
expect_eq "coherent records below 2^32 (address_bits)" "$T_COH_HIGH" 0
expect_eq "pvbounce_map + pvbounce_refuse records == maps since attach" \
	$((T_MAP + T_REF)) "$(dbg "$nvme" maps)"
expect_ge "the I/O made map records" "$T_MAP" 1
expect_eq "sizes of 'to' map records add up to bytes_to_device" "$T_TO" "$(dbg "$nvme" bytes_to_device)"
expect_eq "sizes of 'from' map records add up to bytes_from_device" "$T_FROM" "$(dbg "$nvme" bytes_from_device)"
expect_ge "... which cover the bytes pvbio read" "$T_FROM" "$IO_READ"
expect_eq "every record's direction is to or from" "$T_BADDIR" 0
expect_eq "every record's size is 1 B..252 KiB" "$T_BADSIZE" 0
expect_eq "every record is bounced (force=1)" "$T_DIRECT" 0
expect_eq "every record has a physical address" "$T_BADPHYS" 0
expect_eq "every bounced bus range lies inside a chunk of the debugfs pool" "$T_OUTSIDE" 0

# ---- a refusal --------------------------------------------------------------------
phase "a refusal"
: >"$TR/trace"
free=$(($(dbg nslabs) - $(dbg used)))
counters "$nvme"
dmesg -c >/dev/null
echo 1 >"$TR/events/pvbounce/enable"
check "pvbounce_hold.ko asks for $((free + 1)) slots of $free free: holds what it can" \
	insmod "$PVB_HOLD_KO" dev="$nvme" size=$(((free + 1) * 2048))
echo 0 >"$TR/events/pvbounce/enable"
eval "$(parse_trace "$nvme")"
expect_eq "one pvbounce_refuse record, reason=pool_full, size 2048" "$T_REF:$T_REF_FULL" 1:1
grep 'pvbounce_refuse:' "$TR/trace" >/tmp/trace.sample
diag_file /tmp/trace.sample
expect_eq "... as errors_pool_full counted" "$(delta "$nvme" errors_pool_full)" 1
expect_eq "the holder's maps recorded" "$T_MAP" "$free"
dmesg_has "... and as the log line says" "pvbounce $nvme: map of 2048 bytes refused: pool common full"
check "rmmod pvbounce_hold" rmmod pvbounce_hold

# ---- off: nothing recorded -----------------------------------------------------------
phase "events off"
trace_reset
echo 1 >"$TR/tracing_on"
counters "$nvme"
pvbio_run "events off: I/O verified" -s 4K,64K -n 4 -o 32M -S 52 "$NVME_DEV"
expect_ge "the I/O mapped" "$(delta "$nvme" maps)" 8
expect_eq "events off: no pvbounce record" "$(grep -c 'pvbounce_' "$TR/trace")" 0

# ---- pvbounce-stat against live counters -------------------------------------------
# Forks cost up to a second each in a Xen PV dom0 under TCG on a busy host:
# values are read a report or a directory at a time, as shell assignments.
#
# json_vars FILE LINE PREFIX: nvme's counters in report LINE of FILE as
# PREFIX<name>=<total> and PREFIX<d_name>=<delta since the report before>
json_vars() {
	awk -v dev="$nvme" -v line="$2" -v pfx="$3" 'NR == line {
		i = index($0, "{\"pci\":\"" dev "\"")
		if (!i) exit
		s = substr($0, i)
		for (g = 1; g <= 2; g++) {
			grp = g == 1 ? "totals" : "delta"
			t = substr(s, index(s, "\"" grp "\":{") + length(grp) + 4)
			t = substr(t, 1, index(t, "}") - 1)
			n = split(t, kv, ",")
			for (k = 1; k <= n; k++) {
				split(kv[k], p, ":")
				gsub(/"/, "", p[1])
				if (p[2] ~ /^[0-9]+$/)
					printf "%s%s%s=%s\n", pfx, g == 2 ? "d_" : "", p[1], p[2]
			}
		}
	}' "$1"
}
# dbg_vars PREFIX: nvme's debugfs counters as PREFIX<name>=<value>
dbg_vars() {
	(cd "$PVB_DBG/$nvme" && grep . maps unmaps bounced_maps direct_maps \
		bytes_to_device bytes_from_device map_errors errors_pool_full \
		coherent_allocs) | sed -n "s/^\([a-z_]*\):\([0-9]*\)\$/$1\1=\2/p"
}
# json_ok FILE: every line one object with balanced braces and brackets, the
# keys the scripts use
json_ok() {
	awk '{
		t = $0; gsub(/"[^"]*"/, "", t)
		o = gsub(/\{/, "", t); c = gsub(/\}/, "", t)
		a = gsub(/\[/, "", t); b = gsub(/\]/, "", t)
		if (o != c || a != b || $0 !~ /^\{.*\}$/) bad++
		if ($0 !~ /"pools":\[\{"name":"common"/ || $0 !~ /"devices":\[/) bad++
	} END { exit bad > 0 || NR == 0 }' "$1"
}
# idle: maps of nvme unchanged over a second (no I/O of anyone else)
idle() {
	for i in 1 2 3 4 5; do
		a=$(dbg "$nvme" maps); sleep 1
		[ "$a" = "$(dbg "$nvme" maps)" ] && return 0
	done
	return 1
}

phase "pvbounce-stat"
check "nvme idle (maps unchanged over 1 s)" idle
check "pvbounce-stat --json" "$STAT" --json
cp "$OUT" /tmp/json.before
check "... one valid report" json_ok /tmp/json.before
pvbio_run "sequential O_DIRECT I/O 512 B..252 KiB" -s "$(size_list 252)" -o 96M -S 53 "$NVME_DEV"
W=$IO_WRITTEN R=$IO_READ
check "pvbounce-stat after" "$STAT"
cp "$OUT" /tmp/stat.after
check "pvbounce-stat --json after" "$STAT" --json
cp "$OUT" /tmp/json.after
check "... one valid report" json_ok /tmp/json.after
diag "pvbounce-stat after $W bytes written, $R read:"
diag_file /tmp/stat.after

# text: the device line's columns; --json before and after pin the rise
# to the bytes of the I/O, the text must say what debugfs and --json say
eval "$(json_vars /tmp/json.before 1 JB_)"
eval "$(json_vars /tmp/json.after 1 JA_)"
eval "$(dbg_vars D_)"
set -- $(awk -v dev="$nvme" '$1 == dev' /tmp/stat.after)
expect_eq "text: $nvme's driver column is nvme" "$2" nvme
expect_eq "text: 'to_dev_bytes' == debugfs bytes_to_device == --json's" \
	"$4:$D_bytes_to_device" "$JA_bytes_to_device:$JA_bytes_to_device"
expect_eq "text: 'from_dev_bytes' == debugfs bytes_from_device == --json's" \
	"$5:$D_bytes_from_device" "$JA_bytes_from_device:$JA_bytes_from_device"
expect_eq "text: maps == debugfs maps" "$3" "$D_maps"
expect_eq "text: direct% is 0.0% (force=1)" "$6" 0.0%
check "text: the pool line shows the common pool of 2.0 MiB" grep -Eq '^common +2\.0 MiB ' /tmp/stat.after
check "text: placement names the chunks and 2^32" grep -Eq '^common .* chunks?, bus 0x[0-9a-f]+-0x[0-9a-f]+, below 2\^32$' /tmp/stat.after
expect_eq "--json: bytes_to_device moved by the bytes written" \
	$((JA_bytes_to_device - JB_bytes_to_device)) "$W"
expect_eq "--json: bytes_from_device moved by the bytes read" \
	$((JA_bytes_from_device - JB_bytes_from_device)) "$R"
differ=
for f in maps unmaps bounced_maps direct_maps bytes_to_device bytes_from_device map_errors errors_pool_full coherent_allocs; do
	eval "[ -n \"\$D_$f\" ] && [ \"\$JA_$f\" = \"\$D_$f\" ]" || differ="$differ $f"
done
expect_eq "--json totals equal debugfs's" "$differ" ""
expect_eq "sysfs $nvme/driver says nvme" "$(cat "$SYSD/$nvme/driver")" nvme

# a running workload: a report a second (one pvbio job: the other vCPU is
# left to the tool, whose reports took 7-9 s under two jobs in a Xen PV dom0)
phase "pvbounce-stat during a workload"
rm -f /tmp/wl.stop /tmp/wl.rc
(rc=0; while [ ! -f /tmp/wl.stop ]; do
	pvbio -s 64K,252K -n 8 -o 128M -S 54 "$NVME_DEV" >/tmp/wl.out 2>&1 || rc=1
done; echo $rc >/tmp/wl.rc) &
wl=$!
sleep 0.5
"$STAT" 1 3 >/tmp/stat.live 2>&1
"$STAT" --json 1 2 >/tmp/json.live 2>&1
touch /tmp/wl.stop
wait $wl
expect_eq "workload: verified I/O throughout" "$(cat /tmp/wl.rc)" 0
diag "pvbounce-stat 1 3 during the workload:"
diag_file /tmp/stat.live 40
check "workload: 2 --json reports" test "$(wc -l </tmp/json.live)" -eq 2
check "... each valid" json_ok /tmp/json.live
# per report after the first: maps > 0 and bytes moved in its period; both
# directions over the two (one second may fall in a write or a read phase
# of pvbio)
rates=$(awk -v dev="$nvme" '
	/ counts over / { r = 1 } / counts since attach/ { r = 0 }
	r && $1 == dev { n++; if ($3 > 0 && $4 + $5 > 0) ok++; to += $4; from += $5 }
	END { print n + 0, ok + 0, (to > 0 && from > 0) }' /tmp/stat.live)
expect_eq "workload: 2 reports over 1 s periods for $nvme, each with maps and bytes > 0, both directions seen" "$rates" "2 2 1"
eval "$(json_vars /tmp/json.live 1 L1_)"
eval "$(json_vars /tmp/json.live 2 L2_)"
expect_eq "--json: report 2's deltas are the totals' rise since report 1" \
	"${L2_d_bytes_to_device:-?}:${L2_d_bytes_from_device:-?}:${L2_d_maps:-?}" \
	"$((L2_bytes_to_device - L1_bytes_to_device)):$((L2_bytes_from_device - L1_bytes_from_device)):$((L2_maps - L1_maps))"
grep -q '"since":"last","interval":[0-9.]*,.*"delta":{"maps":[1-9][0-9]*,.*"direct_pct":0.0' /tmp/json.live
expect_eq "--json: later reports carry their interval, maps in it and direct_pct 0.0" "$?" 0
"$STAT" --version >/tmp/stat.version 2>&1
mv=$(cat /sys/module/pvbounce/version)
expect_eq "--version: the tool's and the loaded module's, the same version" \
	"$(tr '\n' '|' </tmp/stat.version)" "pvbounce-stat $mv|pvbounce module $mv|"

# ---- force=0: direct records -----------------------------------------------------
# Natively every buffer of this 2 GiB guest is below nvme's mask: all maps
# direct, the bus address the physical one.  In a Xen PV dom0 a buffer
# whose pages are not machine-contiguous still bounces; a direct one's bus
# address is its machine address (which may equal the pseudo-physical one
# by chance, so only "some differ" is asked).
phase "force=0"
trace_reset
unbind "$nvme"
check "rmmod" rmmod pvbounce
check "load with force=0 (before nvme)" pvb_load devices="$nvme" || exit 0
echo 1 >"$TR/events/pvbounce/enable"
echo 1 >"$TR/tracing_on"
check "nvme probes" nvme_up "$nvme" || exit 0
pvbio_run "force=0: O_DIRECT write/read-back 4 KiB..252 KiB" -s 4K,12K,64K,252K -S 55 "$NVME_DEV"
echo 0 >"$TR/events/pvbounce/enable"
eval "$(parse_trace "$nvme")"
eval "$(dbg_vars D_)"
diag "force=0: $T_MAP map records, $T_DIRECT direct, $T_XLAT of them at a bus address other than the physical one; maps=$D_maps direct_maps=$D_direct_maps bounced_maps=$D_bounced_maps"
expect_eq "force=0: map + refuse records == maps" $((T_MAP + T_REF)) "$D_maps"
expect_eq "force=0: 'direct' records == direct_maps, 'bounced' == bounced_maps" \
	"$T_DIRECT:$((T_MAP - T_DIRECT))" "$D_direct_maps:$D_bounced_maps"
expect_eq "force=0: sizes of 'to' records add up to bytes_to_device" "$T_TO" "$D_bytes_to_device"
if [ "${PVB_MODE:-native}" = native ]; then
	expect_eq "force=0, native: every map direct" "$T_DIRECT" "$T_MAP"
	expect_eq "force=0, native: a direct record's bus address is its physical one" "$T_XLAT" 0
else
	expect_ge "force=0, xen: direct records" "$T_DIRECT" 1
	expect_ge "force=0, xen: direct records carry machine addresses, not pseudo-physical ones" \
		"$T_XLAT" 1
fi
expect_eq "ring buffer lost no event" "$(overruns)" 0

# ---- unload ----------------------------------------------------------------------
phase "unload"
trace_reset
echo 1 >"$TR/tracing_on"
unbind "$nvme"
check "rmmod" rmmod pvbounce
$STAT >/tmp/stat.out 2>&1
expect_eq "pvbounce-stat after rmmod exits 1" "$?" 1
check "... and says pvbounce is not loaded" grep -q "pvbounce is not loaded" /tmp/stat.out
