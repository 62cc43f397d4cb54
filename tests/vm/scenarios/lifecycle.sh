# SPDX-License-Identifier: GPL-2.0
# Attach, detach, unload and reload: a bound device is left alone without
# rebind=1 and taken over with it; devices= written at run time attaches and
# detaches unbound devices; a hot-plugged device gets the ops before its
# driver probes; the selector forms (BB:DD.F, vendor:device) match; a
# driver unbound while a process holds its disk open keeps pvbounce (and
# its ops) until the disk is closed; ten load / probe / I/O / unbind / unload cycles.
. /scenarios/lib.sh
skip_without_pvbounce "attach/detach/unload cycles"
nvme=$(nvme_pci)
short=${nvme#0000:}
vd=$(sed 's/0x//' "$PCI/$nvme/vendor"):$(sed 's/0x//' "$PCI/$nvme/device")

# -- a driver already bound: left alone, or rebound with rebind=1
check "nvme bound before pvbounce" nvme_up "$nvme" || exit 0
check "load with devices=$nvme while nvme is bound" pvb_load devices="$nvme"
dmesg_has "the bound device is left alone, with a message" "pvbounce $nvme: driver nvme is bound: left alone" /tmp/dmesg.load
check_fails "not attached" grep -q "^$nvme " "$PVB_DBG/devices"
pvbio_run "I/O on the kernel's own ops" -s 4K,252K -S 51 "$NVME_DEV"
check "rmmod (nothing attached)" rmmod pvbounce

check "load with rebind=1 while nvme is bound" pvb_load devices="$nvme" rebind=1 force=1
dmesg_has "rebind logged" "pvbounce $nvme: rebinding driver nvme" /tmp/dmesg.load
# pvbounce binds it again itself: wait for it, bind nothing
check "nvme back on pvbounce's ops (bound again by pvbounce)" nvme_wait "$nvme"
attached "$nvme" nvme
counters "$nvme"
pvbio_run "rebind=1: I/O verified" -s 4K,64K,252K -n 2 -S 52 "$NVME_DEV"
expect_ge "rebind=1: bytes_to_device moved" "$(delta "$nvme" bytes_to_device)" "$IO_WRITTEN"
dmesg -c >/dev/null
check "rebind=1: rmmod with nvme bound (it is rebound on the old ops)" rmmod pvbounce
check "nvme bound again by the unload itself" nvme_wait "$nvme"
dmesg >/tmp/dmesg.unload
check_fails "no \"did not bind again\" at unload" grep -q "did not bind again" /tmp/dmesg.unload
pvbio_run "I/O after unload, on the old ops; data of the rebind run intact" \
	-m r -s 4K,64K,252K -n 2 -S 52 "$NVME_DEV"
unbind "$nvme"

# -- devices= at run time
check "load with no device" pvb_load
expect_eq "debugfs devices empty" "$(cat "$PVB_DBG/devices")" ""
echo "$nvme" >"$PVB_PARAMS/devices"
check "devices=$nvme written at run time attaches the unbound device" test -d "$PVB_DBG/$nvme"
check "nvme probes on pvbounce's ops" nvme_up "$nvme"
counters "$nvme"
pvbio_run "I/O verified" -s 4K,252K -S 53 "$NVME_DEV"
expect_ge "counters moved" "$(delta "$nvme" bytes_to_device)" "$IO_WRITTEN"
echo >"$PVB_PARAMS/devices"
check "devices= emptied while bound: still attached" test -d "$PVB_DBG/$nvme"
unbind "$nvme"
echo "$nvme" >"$PVB_PARAMS/devices"
echo >"$PVB_PARAMS/devices"
check_fails "devices= emptied while unbound: detached" test -d "$PVB_DBG/$nvme"
check "nvme probes on its old ops" nvme_up "$nvme"
pvbio_run "I/O verified on the old ops" -s 4K,252K -S 54 "$NVME_DEV"
check "rmmod: nothing attached, nothing pinned" rmmod pvbounce
unbind "$nvme"

# -- only the devices in devices= are touched: with the NVMe selected, the
# NICs bound (e1000e, on the kernel's ops) get no directory, no line in
# debugfs devices, no counter
only_selected() {
	set -- $(nic_pcis)
	check "only selected: load with devices=$nvme force=1" pvb_load devices="$nvme" force=1 || return
	check "only selected: nvme probes" nvme_up "$nvme"
	for n in "$@"; do
		bind "$n" e1000e 2>/dev/null
	done
	for n in "$@"; do
		expect_eq "only selected: $n (not in devices=) bound to e1000e" "$(driver_of "$n")" e1000e
		check_fails "only selected: no pvbounce directory for $n" test -e "$PVB_DBG/$n"
		check_fails "only selected: no sysfs counters for $n" test -e "/sys/kernel/pvbounce/$n"
	done
	expect_eq "only selected: debugfs devices is exactly the NVMe's line" \
		"$(awk '{ print $1, $2 }' "$PVB_DBG/devices")" "$nvme nvme"
	for n in "$@"; do
		unbind "$n"
	done
	unbind "$nvme"
	check "only selected: rmmod" rmmod pvbounce
}
only_selected

# -- hot-plug: a device that appears while pvbounce is loaded (PCI remove
# and rescan) gets the ops before nvme, already loaded, probes it
check "load with devices=$nvme force=1" pvb_load devices="$nvme" force=1
check "nvme probes" nvme_up "$nvme"
echo 1 >"$PCI/$nvme/remove"
check_fails "a removed device is detached" test -d "$PVB_DBG/$nvme"
echo 1 >/sys/bus/pci/rescan
check "after a PCI rescan nvme probes the device again" nvme_up "$nvme"
attached "$nvme" nvme
counters "$nvme"
pvbio_run "hot-plugged: I/O verified" -s 4K,252K -S 55 "$NVME_DEV"
expect_ge "hot-plugged: counters moved" "$(delta "$nvme" bytes_to_device)" "$IO_WRITTEN"
unload_checks "$nvme" nvme hot-plugged

# -- unbind while a process holds the disk open: the driver's state, and
# with it coherent memory (6.1's nvme: its doorbell buffers), outlives the
# unbind until the disk is closed.  Those frees must reach pvbounce's ops:
# until then rmmod is refused and a devices= change leaves the device
# attached; the close gives everything back, and the module may go.
check "open disk: load with devices=$nvme force=1" pvb_load devices="$nvme" force=1
check "open disk: nvme probes" nvme_up "$nvme"
exec 3<"$NVME_DEV"
dmesg -c >/dev/null
unbind "$nvme"
dmesg >/tmp/dmesg.unbind
if grep -q "pvbounce $nvme: driver unbound while [0-9]* of its coherent allocations are still out" /tmp/dmesg.unbind; then
	pinned=1
	diag "open disk: $(grep -o "driver unbound while [0-9]* of its coherent allocations are still out" /tmp/dmesg.unbind)"
	check_fails "open disk: rmmod refused while the unbound driver's coherent memory is out" rmmod pvbounce
	echo >"$PVB_PARAMS/devices"
	check "open disk: devices= emptied, the device stays attached while its coherent memory is out" \
		test -d "$PVB_DBG/$nvme"
	dmesg_has "open disk: ... and says why" "pvbounce $nvme: [0-9]+ coherent allocations and [0-9]+ streaming mappings of its last driver are still out: stays attached"
else
	pinned=0
fi
case $(uname -r) in
6.1.*) expect_eq "open disk: 6.1's nvme still held coherent memory after the unbind (the path was taken)" "$pinned" 1 ;;
esac
exec 3<&-
if [ "$pinned" = 1 ]; then
	i=0
	while ! dmesg | grep -q "pvbounce $nvme: last coherent allocation of the unbound driver freed" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	dmesg_has "open disk: the close frees the rest through pvbounce" \
		"pvbounce $nvme: last coherent allocation of the unbound driver freed: pvbounce may be unloaded"
fi
pool_idle "open disk" "$nvme"
check "open disk: rmmod once the disk is closed" rmmod pvbounce
dmesg >/tmp/dmesg.unbind
check_fails "open disk: no coherent memory was left to the old ops (\"leaked\")" \
	grep -q "coherent allocations left by the driver" /tmp/dmesg.unbind

# -- rebind=1 unload while a process holds the disk open: unload releases
# the driver, whose coherent memory (6.1's nvme: its doorbell buffers)
# outlives it until the disk is closed.  Unload waits for it (up to 5 s),
# so that the frees reach pvbounce's ops instead of the old ones.  The same
# wait covers a driver whose probe failed during unload: its removal work
# holds the memory for a moment (races.sh, phase B).
check "unload waits: load with devices=$nvme force=1 rebind=1" pvb_load devices="$nvme" force=1 rebind=1
check "unload waits: nvme probes" nvme_up "$nvme"
rm -f /tmp/held
dmesg -c >/dev/null
# the holder closes the disk 1 s after unload says it waits (4 s at most)
(
	exec 3<"$NVME_DEV" && touch /tmp/held
	i=0
	until dmesg | grep -q "pvbounce $nvme: unloading: waiting up to" || [ $i -ge 40 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
) &
holder=$!
i=0
while [ ! -e /tmp/held ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "unload waits: a process holds the disk open" test -e /tmp/held
t0=$(date +%s)
check "unload waits: rmmod while that process holds the disk open" rmmod pvbounce
waited=$(($(date +%s) - t0))
wait "$holder"
dmesg >/tmp/dmesg.unloadwait
diag "unload waits: rmmod took $waited s"
case $(uname -r) in
6.1.*)
	dmesg_has "unload waits: 6.1's nvme held coherent memory past its release: waited for" \
		"pvbounce $nvme: unloading: waiting up to 5 s for the [0-9]+ coherent allocations" /tmp/dmesg.unloadwait
	dmesg_has "unload waits: ... it came back through pvbounce's ops" \
		"pvbounce $nvme: unloading: the driver's coherent allocations came back" /tmp/dmesg.unloadwait
	;;
esac
check_fails "unload waits: no coherent memory left to the old ops" \
	grep -Eq "coherent allocations left by the driver|unloading while the released driver" /tmp/dmesg.unloadwait
check_fails "unload waits: pvbounce unloaded" pvb_loaded
check "unload waits: unload bound nvme again (rebind=1)" test "$(driver_of "$nvme")" = nvme
# (6.12 names the new controller's namespace n2 while the held disk keeps
# n1, and nvme_up looks for n1: probe once more, now that it is closed)
unbind "$nvme"
check "unload waits: nvme probes again, on the old ops" nvme_up "$nvme"
pvbio_run "unload waits: I/O verified on the old ops" -s 4K,64K -S 57 "$NVME_DEV"
unbind "$nvme"

# -- selector forms
for sel in "$short" "$vd" "$vd@4M"; do
	check "load with devices=$sel" pvb_load devices="$sel" || continue
	check "devices=$sel attaches $nvme" test -d "$PVB_DBG/$nvme"
	rmmod pvbounce
done

# -- cycles
for cyc in 1 2 3 4 5 6 7 8 9 10; do
	done_cyc=$cyc	# the helpers below have their own i
	{
		pvb_load devices="$nvme" force=$((cyc % 2)) &&
		nvme_up "$nvme" &&
		run_cmd pvbio -s 4K,128K -S $((60 + cyc)) "$NVME_DEV" &&
		! rmmod pvbounce 2>/dev/null &&
		unbind "$nvme" &&
		rmmod pvbounce
	} >/tmp/cycle.out 2>&1
	rc=$?
	[ $rc -eq 0 ] || break
done
tap_result $rc "10 cycles of load, probe, verified I/O, refused rmmod, unbind, rmmod (last cycle run: $done_cyc)" ||
	diag_file /tmp/cycle.out
