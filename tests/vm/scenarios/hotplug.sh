# SPDX-License-Identifier: GPL-2.0
# Hot-unplug and re-plug of an attached NVMe with verified I/O running
# (booted with PVB_HOTPLUG=1: a second NVMe, serial pvbhp, behind a PCIe
# root port; the host carries out "# hotplug: del|add N" with QMP's
# device_del / device_add).  Each cycle: pvbio with 4 jobs on the device,
# unplug while it runs, then: no data mismatch in what completed, the
# device is detached (debugfs and sysfs directories gone), every slot of the
# pool is back, and the module is not held once the coherent memory nvme
# frees late (when pvbio's open disk lets the controller go) has come back
# through pvbounce's ops, not the old ops; re-plug: attached again before
# nvme probes it (driver nvme in debugfs devices), verified I/O, counters
# moving.  pvb.hotplug=N cycles (default 15 natively, 5 on Xen, whose
# cycles take several times longer under TCG).
. /scenarios/lib.sh
skip_without_pvbounce "hot-unplug with I/O"
hp=$(pci_by_class 0x010802 | grep -v '^0000:00:' | head -n 1)
if [ -z "$hp" ]; then
	tap_skip "hot-unplug with I/O" "no hot-pluggable NVMe (boot with PVB_HOTPLUG=1)"
	exit 0
fi
cycles=$(sed -n 's/.*pvb\.hotplug=\([0-9]*\).*/\1/p' /proc/cmdline)
[ "${PVB_MODE:-native}" = xen ] && dflt=5 || dflt=15
cycles=${cycles:-$dflt}
[ "$cycles" -ge 1 ] || cycles=1

# wait_gone PCI / wait_back PCI: up to 120 s for the device to leave / come
wait_gone() {
	for i in $(seq 1 1200); do
		[ -e "$PCI/$1" ] || return 0
		sleep 0.1
	done
	return 1
}

wait_back() {
	for i in $(seq 1 1200); do
		[ -e "$PCI/$1" ] && return 0
		sleep 0.1
	done
	return 1
}

check "load with devices=$hp force=1 (the hot-pluggable NVMe)" pvb_load devices="$hp" force=1 || exit 0
: >/tmp/hp.dmesg
check "nvme probes $hp" nvme_up "$hp" || exit 0
attached "$hp" nvme
pvbio_run "$hp: I/O verified before any unplug" -s 4K,64K,252K -S 90 "$NVME_DEV"

fail=
for n in $(seq 1 "$cycles"); do
	# passes until an I/O fails (-l 0): running when the device goes,
	# however long the host takes to remove it; ends by itself then
	pvbio -e -s 4K,64K,252K -n 4 -j 4 -l 0 -S $((100 + n)) "$NVME_DEV" >/tmp/hp.io 2>&1 &
	io=$!
	sleep 1
	diag "hotplug: del $n"
	if ! wait_gone "$hp"; then
		fail="cycle $n: $hp still there 120 s after device_del"
		kill "$io" 2>/dev/null
		wait "$io"
		break
	fi
	wait "$io"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail="cycle $n: I/O during the unplug: pvbio exit $rc (1: data mismatch)"
		diag_file /tmp/hp.io 12
		break
	fi
	# the unplug must have cut into running I/O, or the cycle proved little
	errs=$(sed -n 's/.*io_errors=\([0-9]*\).*/\1/p' /tmp/hp.io)
	diag "cycle $n: $(tail -n 1 /tmp/hp.io)"
	if [ "${errs:-0}" -eq 0 ]; then
		fail="cycle $n: pvbio ended with no I/O failed: nothing ran across the unplug"
		break
	fi
	# the PCI directory goes before the bus notifier runs: wait for ours
	for i in $(seq 1 100); do
		[ -d "$PVB_DBG/$hp" ] || [ -d "/sys/kernel/pvbounce/$hp" ] || break
		sleep 0.1
	done
	if [ -d "$PVB_DBG/$hp" ] || [ -d "/sys/kernel/pvbounce/$hp" ]; then
		fail="cycle $n: $hp still attached 10 s after its removal"
		break
	fi
	# coherent memory nvme still held at the removal (it frees its
	# doorbell buffers when pvbio's close drops the controller) came
	# back through pvbounce, which then let the device and module go
	for i in $(seq 1 100); do
		ref=$(cat /sys/module/pvbounce/refcnt)
		[ "$ref" = 0 ] && break
		sleep 0.1
	done
	dmesg -c >>/tmp/hp.dmesg
	if [ "$ref" != 0 ]; then
		fail="cycle $n: pvbounce refcnt $ref 10 s after its only device was removed and its I/O ended"
		break
	fi
	# (coherent memory carved from the pool comes back with the late frees)
	if [ "$(dbg used)" != 0 ]; then
		fail="cycle $n: $(dbg used) pool slots still in use after the removal"
		break
	fi
	diag "hotplug: add $n"
	if ! wait_back "$hp" || ! nvme_up "$hp" >/dev/null; then
		fail="cycle $n: $hp or its namespace did not come back after device_add"
		break
	fi
	if ! grep -q "^$hp nvme " "$PVB_DBG/devices"; then
		fail="cycle $n: re-plugged $hp not attached with driver nvme: $(cat "$PVB_DBG/devices")"
		break
	fi
	counters "$hp"
	if ! run_cmd pvbio -s 4K,252K -S $((200 + n)) "$NVME_DEV"; then
		fail="cycle $n: verified I/O after the re-plug failed"
		diag_file "$OUT" 12
		break
	fi
	if [ "$(delta "$hp" bounced_maps)" -lt 2 ]; then
		fail="cycle $n: the re-plugged device's I/O did not go through pvbounce"
		break
	fi
done
if [ -n "$fail" ]; then
	tap_not_ok "$cycles unplug/re-plug cycles with I/O running: $fail"
	dmesg >>/tmp/hp.dmesg
	diag_file /tmp/hp.dmesg 30
	# a cycle that failed with the device removed: have it back for the
	# checks that follow
	if [ ! -e "$PCI/$hp" ]; then
		diag "hotplug: add $n"
		wait_back "$hp" && nvme_up "$hp" >/dev/null
	fi
else
	tap_ok "$cycles unplug/re-plug cycles with I/O running: no mismatch, detached on removal with every slot back and the module free, attached before nvme on re-plug, I/O verified"
fi
dmesg -c >>/tmp/hp.dmesg
removed=$(grep -c "pvbounce $hp: removed while its driver still holds" /tmp/hp.dmesg)
finished=$(grep -c "pvbounce $hp: last coherent allocation of the removed device freed: detached" /tmp/hp.dmesg)
diag "removals with coherent memory still held: $removed, of them finished: $finished"
# 6.1's nvme frees its doorbell buffers only when the controller's last
# reference goes, here pvbio's open disk: every cycle there takes this path
# (6.12's frees everything in its remove)
case $(uname -r) in
6.1.*) expect_ge "removals while nvme still held coherent memory (the path was taken)" "$removed" 1 ;;
esac
expect_eq "every removed device whose driver still held coherent memory got it back through pvbounce and was then detached" \
	"$finished" "$removed"
check_fails "no coherent memory left to the old ops (\"leaked\") at a removal" \
	grep "coherent allocations left by the driver" /tmp/hp.dmesg
pvbio_run "$hp: data of the last cycle intact" -m r -s 4K,252K -S $((200 + n)) "$NVME_DEV"
pool_idle hotplug "$hp"
# the log of the binds was read (dmesg -c) by the cycles: bind once more
unbind "$hp"
check "nvme binds $hp once more" nvme_up "$hp"
unload_checks "$hp" nvme hotplug
