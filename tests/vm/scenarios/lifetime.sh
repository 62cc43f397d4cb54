# SPDX-License-Identifier: GPL-2.0
# A driver's mappings and coherent memory that outlive it (page_pool NICs,
# skbs in socket queues, a disk held open): pvbounce_late.ko keeps them past
# its remove() and gives them back when told.  Until then the device keeps
# pvbounce's ops and the module stays loaded; the late unmaps are served
# (the device's data is copied back); the last one back ends the device by
# itself, from a work item (the last free is made in atomic context).
# With rebind=1, unload hands such memory to the old ops: no coherent
# memory is then carved from the bounce pool, and a backend chunk freed by
# the old ops goes back to the kernel whole.
# Each unbind with something still out is a report of DMA-API debug (the
# debug kernel's "pending DMA allocations while released from device"):
# declared around it, counted, not warned about.
. /scenarios/lib.sh

# rmmod_waiting_in FUNC TENTHS: rmmod pvbounce in the background (its pid in
# rmpid), until its kernel stack shows FUNC or TENTHS tenths of a second
# have passed
rmmod_waiting_in() {
	rmmod pvbounce &
	rmpid=$!
	n=0
	while [ $n -lt "$2" ] && kill -0 $rmpid 2>/dev/null &&
		! grep -q "$1" /proc/$rmpid/stack 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
}
skip_without_pvbounce "a driver's mappings after its remove()"
if [ ! -f "$PVB_LATE_KO" ]; then
	tap_skip "a driver's mappings after its remove()" "pvbounce_late.ko not built for $(uname -r)"
	exit 0
fi
nic=$(nic_pcis | tail -n 1)
LP=/sys/module/pvbounce_late/parameters

# late_bind PCI: bind pvbounce_late (driver_override) to PCI
late_bind() {
	echo pvbounce_late >"$PCI/$1/driver_override" &&
	echo "$1" >/sys/bus/pci/drivers_probe &&
	test "$(driver_of "$1")" = pvbounce_late
}

# wait_dmesg PATTERN: up to 10 s for the kernel log to match
wait_dmesg() {
	i=0
	while ! dmesg | grep -Eq "$1" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

mem_free_kb() {
	awk '/^MemFree:/ { print $2 }' /proc/meminfo
}

unbind "$nic"

# -- a private pool, every mapping bounced; devices= cleared while 16
# mappings and a coherent buffer are out
check "late: load with devices=$nic@4M force=1" pvb_load devices="$nic@4M" force=1
check "late: insmod pvbounce_late maps=16 coh_sizes=4096 atomic=1" \
	run_cmd insmod "$PVB_LATE_KO" maps=16 coh_sizes=4096 atomic=1
check "late: pvbounce_late probes $nic" late_bind "$nic"
expect_eq "late: 16 mappings held" "$(cat $LP/kept_maps)" 16
expect_eq "late: 1 coherent buffer held" "$(cat $LP/kept_coh)" 1
expect_eq "late: 32 slots (2 KiB) of the private pool in use" "$(dbg "$nic" used)" 32
dma_debug_expect_around "late: unbind with 16 mappings and a coherent buffer out" 1 \
	unbind "$nic"
expect_eq "late: remove() kept the mappings" "$(cat $LP/kept_maps)" 16
dmesg_has "late: the unbind names the device and the mappings still out" \
	"pvbounce $nic: driver unbound while 16 of its streaming mappings are still out"
check_fails "late: rmmod refused while the unbound driver's mappings are out" rmmod pvbounce
echo >"$PVB_PARAMS/devices"
dmesg_has "late: devices= cleared: the device stays attached, with the count" \
	"pvbounce $nic: 1 coherent allocations and 16 streaming mappings of its last driver are still out: stays attached"
check "late: ... its files are still there" test -d "$PVB_DBG/$nic"
check_fails "late: rmmod refused after devices= is cleared" rmmod pvbounce
check "late: pvbounce still loaded" pvb_loaded
dmesg -c >/dev/null
echo 1 >$LP/release
expect_eq "late: the late unmaps were served" "$(cat $LP/kept_maps)" 0
expect_eq "late: the device's data reached every page (copied back)" "$(cat $LP/bad)" 0
wait_dmesg "pvbounce $nic: everything its last driver left out is back: detached"
dmesg >/tmp/dmesg.late
dmesg_has "late: the last one back detached the device by itself" \
	"pvbounce $nic: everything its last driver left out is back: detached" /tmp/dmesg.late
dmesg_has "late: the last coherent buffer was freed in atomic context" \
	"pvbounce_late: $nic: 1 coherent buffers freed in atomic context" /tmp/dmesg.late
check_fails "late: no splat, no leaked pool" \
	grep -Eq "WARNING|BUG:|slots still in use at teardown|misuse" /tmp/dmesg.late
check_fails "late: detached: its files are gone" test -d "$PVB_DBG/$nic"
check "late: rmmod pvbounce once everything is back" rmmod pvbounce
rmmod pvbounce_late
echo >"$PCI/$nic/driver_override"

# -- the common pool; no devices= write: the last unmap drops the pin
check "late pin: load with devices=$nic force=1" pvb_load devices="$nic" force=1
run_cmd insmod "$PVB_LATE_KO" maps=4 coh_sizes=
check "late pin: pvbounce_late probes" late_bind "$nic"
dma_debug_expect_around "late pin: unbind with 4 mappings out" 1 unbind "$nic"
expect_eq "late pin: 8 slots of the common pool in use" "$(dbg used)" 8
check_fails "late pin: rmmod refused while the mappings are out" rmmod pvbounce
echo 1 >$LP/release
expect_eq "late pin: data copied back" "$(cat $LP/bad)" 0
expect_eq "late pin: no slot in use" "$(dbg used)" 0
dmesg_has "late pin: the last unmap drops the pin" \
	"pvbounce $nic: last streaming mapping of the unbound driver unmapped: pvbounce may be unloaded"
check "late pin: still attached" test -d "$PVB_DBG/$nic"

# -- the same device again, streaming mappings only (no coherent memory
# to keep it): devices= cleared while they are out
rmmod pvbounce_late
run_cmd insmod "$PVB_LATE_KO" maps=4 coh_sizes=
check "late maps: pvbounce_late probes" late_bind "$nic"
dma_debug_expect_around "late maps: unbind with 4 mappings out" 1 unbind "$nic"
dmesg -c >/dev/null
echo >"$PVB_PARAMS/devices"
dmesg_has "late maps: devices= cleared: the mappings keep the device attached" \
	"pvbounce $nic: 0 coherent allocations and 4 streaming mappings of its last driver are still out: stays attached"
check_fails "late maps: rmmod refused" rmmod pvbounce
expect_eq "late maps: 8 slots still in use" "$(dbg used)" 8
echo 1 >$LP/release
expect_eq "late maps: the late unmaps reached pvbounce: data copied back" "$(cat $LP/bad)" 0
expect_eq "late maps: no slot in use" "$(dbg used)" 0
wait_dmesg "pvbounce $nic: everything its last driver left out is back: detached"
dmesg_has "late maps: the last unmap detached the device" \
	"pvbounce $nic: everything its last driver left out is back: detached"
check "late maps: rmmod" rmmod pvbounce
rmmod pvbounce_late
echo >"$PCI/$nic/driver_override"

# -- another pool asked for while mappings are out: the device ends when
# they are back, then devices= applies: attached again with the new pool
check "late resize: load with devices=$nic@2M force=1" pvb_load devices="$nic@2M" force=1
run_cmd insmod "$PVB_LATE_KO" maps=4 coh_sizes=
check "late resize: pvbounce_late probes" late_bind "$nic"
dma_debug_expect_around "late resize: unbind with 4 mappings out" 1 unbind "$nic"
dmesg -c >/dev/null
echo "$nic@4M" >"$PVB_PARAMS/devices"
dmesg_has "late resize: devices= asks for 4 MiB: stays attached while 4 mappings are out" \
	"pvbounce $nic: 0 coherent allocations and 4 streaming mappings of its last driver are still out: stays attached"
expect_eq "late resize: still the 2 MiB pool (1024 slots)" "$(dbg "$nic" nslabs)" 1024
echo 1 >$LP/release
expect_eq "late resize: data copied back" "$(cat $LP/bad)" 0
wait_dmesg "pvbounce $nic: attached: private pool, 4096 KiB"
dmesg >/tmp/dmesg.resize
dmesg_has "late resize: the last unmap ended the device" \
	"pvbounce $nic: everything its last driver left out is back: detached" /tmp/dmesg.resize
dmesg_has "late resize: ... and devices= attached it again with the 4 MiB pool" \
	"pvbounce $nic: attached: private pool, 4096 KiB" /tmp/dmesg.resize
expect_eq "late resize: the new pool has 2048 slots" "$(dbg "$nic" nslabs)" 2048
echo >"$PVB_PARAMS/devices"
check "late resize: rmmod" rmmod pvbounce
rmmod pvbounce_late
echo >"$PCI/$nic/driver_override"

# -- rebind=1: unload with coherent memory out, freed after by the old ops.
# The first allocation finds no backend chunk (fail/chunk_alloc): it is
# refused rather than carved from the pool; the second, a backend chunk,
# is freed by the old ops after the unload, whole.
check "rebind late: load with devices=$nic rebind=1" pvb_load devices="$nic" rebind=1
run_cmd insmod "$PVB_LATE_KO" maps=0 coh_sizes=65536,4194304
echo 1 >"$PVB_DBG/fail/chunk_alloc"
dmesg -c >/dev/null
check "rebind late: pvbounce_late probes" late_bind "$nic"
expect_eq "rebind late: the allocation without a backend chunk failed" "$(cat $LP/coh_failed)" 1
expect_eq "rebind late: one coherent buffer (a backend chunk) held" "$(cat $LP/kept_coh)" 1
dmesg_has "rebind late: ... not carved from the pool, and said why" \
	"pvbounce $nic: coherent allocation of 65536 bytes below .* not carved from the bounce pool with rebind=1"
dmesg -c >/dev/null
dma_debug_expect_around "rebind late: the driver released with its coherent buffer out" 1 \
	check "rebind late: rmmod pvbounce (releases the driver, waits 5 s)" rmmod pvbounce
dmesg_has "rebind late: unload says the buffer goes to the old ops" \
	"pvbounce $nic: unloading while the released driver still holds 1 coherent allocations"
before=$(mem_free_kb)
echo 1 >$LP/release
after=$(mem_free_kb)
diag "rebind late: MemFree $before kB before the free, $after kB after"
expect_ge "rebind late: the old ops gave the 4 MiB chunk back to the kernel" $((after - before)) 3072
dmesg >/tmp/dmesg.rebindlate
check_fails "rebind late: no bad page, no refcount splat" \
	grep -Eq "Bad page|BUG:|WARNING|refcount" /tmp/dmesg.rebindlate
rmmod pvbounce_late
echo >"$PCI/$nic/driver_override"

# -- a caller between its read of the device's dma_ops and the call (the
# DMA API holds no lock there; a direct mapping's unmap holds no
# reference): pvbounce_ops_window.ko holds such a read across the device's
# teardown and pvbounce's unload.  The table it read stays intact, the late
# call reaches pvbounce's op, which finds the ops no longer its own (no
# limit: the old ops' answer), and unload waits until that call is done.
OW=/sys/module/pvbounce_ops_window/parameters
# A kernel without preemption (pvbounce_ops_window's can_hold=N) cannot
# preempt a caller there, and the window cannot be held: skipped.
can_hold=N
[ -f "$PVB_OPS_WINDOW_KO" ] && insmod "$PVB_OPS_WINDOW_KO" 2>/dev/null &&
	can_hold=$(cat $OW/can_hold) && rmmod pvbounce_ops_window
if [ -f "$PVB_OPS_WINDOW_KO" ] && [ "$can_hold" != Y ]; then
	tap_skip "ops window" "$(uname -r) has no preemption (no CONFIG_TASKS_RCU): no caller can be preempted between its read of the ops and its call"
elif [ -f "$PVB_OPS_WINDOW_KO" ]; then
	# a 1 MiB pool: its teardown is quick, so that a waiting rmmod is
	# waiting for the callers, not still giving the pool back; force=1:
	# pvbounce's max_mapping_size is its pool's limit (with force=0 a
	# device reaching all memory has none, as under its old ops)
	check "ops window: load with devices=$nic pool_mb=1 force=1" pvb_load devices="$nic" pool_mb=1 force=1
	check "ops window: insmod pvbounce_ops_window dev=$nic" \
		run_cmd insmod "$PVB_OPS_WINDOW_KO" dev="$nic"
	check "ops window: a thread reads $nic's dma_ops and waits before its call" \
		sh -c "echo 1 >$OW/hold"
	held=$(cat $OW/held_max)
	check "ops window: ... the call after the read went to pvbounce's pool ($held bytes)" \
		test "$held" != 18446744073709551615 -a "$held" != 0
	dmesg -c >/dev/null
	echo >"$PVB_PARAMS/devices"
	dmesg_has "ops window: devices= cleared: $nic detached while the table is held" \
		"pvbounce $nic: detached"
	# until rmmod waits in module exit's barrier (rcu_barrier_tasks(), or
	# rcu_barrier() on a kernel without preemption), at most 120 s
	rmmod_waiting_in rcu_barrier 1200
	check "ops window: rmmod pvbounce waits in module exit's RCU barrier while the thread may still call the ops" \
		grep -q rcu_barrier /proc/$rmpid/stack
	check "ops window: ... and is still there" kill -0 $rmpid
	echo 1 >$OW/release
	expect_eq "ops window: the table read before the teardown was intact at the late call" \
		"$(cat $OW/table_intact)" 1
	expect_eq "ops window: the late call found the ops no longer pvbounce's (old ops: no limit)" \
		"$(cat $OW/late_max)" 18446744073709551615
	check "ops window: rmmod pvbounce finished once the call was done" wait $rmpid
	check_fails "ops window: pvbounce unloaded" pvb_loaded
	dmesg >/tmp/dmesg.opswin
	check_fails "ops window: no splat" grep -Eq "WARNING|BUG:|Oops|general protection" /tmp/dmesg.opswin
	rmmod pvbounce_ops_window
else
	tap_skip "ops window" "pvbounce_ops_window.ko not built for $(uname -r)"
fi

# -- a caller asleep inside one of pvbounce's ops that may sleep (the
# coherent allocation, held asleep with its device's reference by debugfs
# fail/coherent_delay_ms) while pvbounce is unloaded: the teardown, forced
# since the reference is still out, waits for it before it frees the
# device's state, and module exit before the text goes.  The allocation
# completes; unload says it leaves it to the old ops, which free it after.
if [ -f "$PVB_OPS_WINDOW_KO" ]; then
	check "asleep: load with devices=$nic pool_mb=1" pvb_load devices="$nic" pool_mb=1
	check "asleep: insmod pvbounce_ops_window dev=$nic" \
		run_cmd insmod "$PVB_OPS_WINDOW_KO" dev="$nic"
	echo 6000 >"$PVB_DBG/fail/coherent_delay_ms"
	dmesg -c >/dev/null
	sh -c "echo 1 >$OW/alloc" &
	apid=$!
	n=0
	while [ $n -lt 100 ] && ! grep -q '\[pvbounce\]' /proc/$apid/stack 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	check "asleep: a coherent allocation on $nic sleeps inside pvbounce's op" \
		grep -q '\[pvbounce\]' /proc/$apid/stack
	echo 0 >"$PVB_DBG/fail/coherent_delay_ms"
	# until rmmod waits for the callers asleep inside the ops (after the
	# 1 s wait for the device's references), at most 10 s
	rmmod_waiting_in synchronize_srcu 100
	check "asleep: rmmod pvbounce waits for the allocation asleep inside the op" \
		grep -q synchronize_srcu /proc/$rmpid/stack
	check "asleep: ... which is still inside it" \
		grep -q '\[pvbounce\]' /proc/$apid/stack
	check "asleep: the allocation returned" wait $apid
	expect_eq "asleep: ... with its page" "$(cat $OW/allocated)" 1
	check "asleep: rmmod pvbounce finished after it" wait $rmpid
	check_fails "asleep: pvbounce unloaded" pvb_loaded
	dmesg_has "asleep: unload leaves the page to the old ops" \
		"pvbounce $nic: unloading while the released driver still holds 1 coherent allocations"
	check "asleep: the old ops free it" sh -c "echo 1 >$OW/free"
	dmesg >/tmp/dmesg.asleep
	check_fails "asleep: no splat" \
		grep -Eq "WARNING|BUG:|Oops|general protection|Bad page" /tmp/dmesg.asleep
	rmmod pvbounce_ops_window
else
	tap_skip "asleep" "pvbounce_ops_window.ko not built for $(uname -r)"
fi
