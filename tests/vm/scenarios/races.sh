# SPDX-License-Identifier: GPL-2.0
# The attach/unload lifecycle under concurrency, each race driven for many
# iterations:
#  A. devices= written in a loop while pvbounce is loaded and unloaded: a
#     write racing rmmod must not leave the device on the unloaded module's
#     ops (nvme then oopsed in dma_set_mask() at probe).
#  B. nvme bound and unbound in a loop while pvbounce is unloaded: a probe
#     during unload must not end with the device detached under a live
#     driver; afterwards the device works on its old ops.
#  C. SR-IOV VFs created and removed (sriov_numvfs, which holds the PF's
#     lock while the VFs are added) while devices= is rewritten (each write
#     takes every device's lock): no deadlock; VFs get the ops on creation;
#     I/O on the PF, attached, verified.  Needs run.sh's PVB_SRIOV.
# Iterations: pvb.races=N on the kernel command line (default 200; B and C
# run N/4 and N/2, their iterations cost more).
. /scenarios/lib.sh
skip_without_pvbounce "lifecycle races"
nvme=$(nvme_pci)
n=$(sed -n 's/.*[[:space:]]pvb\.races=\([0-9]*\).*/\1/p' /proc/cmdline)
n=${n:-200}

t0=$(date +%s)
# -- A: devices= writes against insmod/rmmod
rm -f /tmp/race.stop
(
	while [ ! -e /tmp/race.stop ]; do
		echo "$nvme" >"$PVB_PARAMS/devices"
		echo >"$PVB_PARAMS/devices"
		echo "$nvme" >"$PVB_PARAMS/devices"
	done 2>/dev/null
) &
w=$!
bad=0 iter=0
dmesg -c >/dev/null
while [ $iter -lt "$n" ]; do
	iter=$((iter + 1))
	insmod "$PVB_KO" pool_mb=1 2>>/tmp/race.err || bad=$((bad + 1))
	rmmod pvbounce 2>>/tmp/race.err || bad=$((bad + 1))
done
touch /tmp/race.stop
wait $w
expect_eq "A: $n insmod/rmmod cycles while devices= is written in a loop" "$bad" 0 ||
	diag_file /tmp/race.err 5
attaches=$(dmesg | grep -c "pvbounce $nvme: attached")
diag "A: $attaches attaches by devices= writes during the cycles"
expect_ge "A: the writes attached the device during the cycles" "$attaches" 1
check_fails "A: pvbounce unloaded" pvb_loaded
check "A: nvme probes afterwards (the device kept no ops of the unloaded module)" nvme_up "$nvme" || exit 0
pvbio_run "A: I/O verified on the old ops" -s 4K,64K,252K -S 71 "$NVME_DEV"

diag "A took $(($(date +%s) - t0)) s"
t0=$(date +%s)
# -- B: bind/unbind against unload
drv=/sys/bus/pci/drivers/nvme
unbind "$nvme"
bad=0 iter=0 nb=$((n / 4))
while [ $iter -lt "$nb" ]; do
	iter=$((iter + 1))
	pvb_load devices="$nvme" pool_mb=2 force=1 || { bad=$((bad + 1)); continue; }
	rm -f /tmp/race.stop
	(
		while [ ! -e /tmp/race.stop ]; do
			echo "$nvme" >"$drv/bind"
			echo "$nvme" >"$drv/unbind"
		done 2>/dev/null
	) &
	w=$!
	tries=0
	until rmmod pvbounce 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -ge 100 ] && break
	done
	touch /tmp/race.stop
	wait $w
	if pvb_loaded; then
		unbind "$nvme"
		rmmod pvbounce || bad=$((bad + 1))
	fi
	# bound or not now, the device must be on its old ops: use it
	[ -n "$(driver_of "$nvme")" ] || echo "$nvme" >"$drv/bind"
	run_cmd nvme_up "$nvme" && run_cmd pvbio -s 4K,64K -S $((80 + iter % 10)) "$NVME_DEV" ||
		{ bad=$((bad + 1)); diag "B: iteration $iter: I/O after unload failed"; diag_file "$OUT" 5; }
	unbind "$nvme"
done
expect_eq "B: $nb unloads against bind/unbind loops, device usable after each" "$bad" 0

diag "B took $(($(date +%s) - t0)) s"
t0=$(date +%s)
# -- C: SR-IOV VF creation against devices= writes
pf=
for d in "$PCI"/*; do
	[ -e "$d/sriov_totalvfs" ] && [ "$(cat "$d/sriov_totalvfs")" -gt 0 ] && pf=${d##*/} && break
done
if [ -z "$pf" ]; then
	tap_skip "C: SR-IOV VF creation against devices= writes" "no SR-IOV PF (run.sh PVB_SRIOV)"
	exit 0
fi
vd=$(sed 's/0x//' "$PCI/$pf/vendor"):$(sed 's/0x//' "$PCI/$pf/device")
vfs=$(cat "$PCI/$pf/sriov_totalvfs")
check "C: load with devices=$vd (the PF, its VFs and $nvme) force=1" \
	pvb_load devices="$vd" pool_mb=8 force=1 || exit 0
# The PF's namespace is in an NVMe subsystem: its block device is the
# multipath head, not under the controller.  Only the PF is bound now.
pf_up() {
	bind "$pf" nvme
	for t in $(seq 1 300); do
		for b in /sys/block/nvme*n1; do
			[ -b "/dev/${b##*/}" ] && pfdev=/dev/${b##*/} && return 0
		done
		sleep 0.1
	done
	return 1
}
check "C: nvme probes the PF on pvbounce's ops" pf_up || exit 0
diag "C: PF namespace $pfdev"
counters "$pf"
echo 0 >"$PCI/$pf/sriov_drivers_autoprobe"
rm -f /tmp/race.stop
(
	while [ ! -e /tmp/race.stop ]; do
		echo "$vd" >"$PVB_PARAMS/devices"
		echo "$vd,$pf" >"$PVB_PARAMS/devices"
	done 2>/dev/null
) &
w=$!
(pvbio -s 4K,64K,252K -n 64 -j 2 -S 91 "$pfdev" >/tmp/race.io 2>&1; echo $? >/tmp/race.iorc) &
io=$!
bad=0 iter=0 nc=$((n / 2))
while [ $iter -lt "$nc" ]; do
	iter=$((iter + 1))
	echo "$vfs" >"$PCI/$pf/sriov_numvfs" || bad=$((bad + 1))
	echo 0 >"$PCI/$pf/sriov_numvfs" || bad=$((bad + 1))
done
touch /tmp/race.stop
wait $w
wait $io
expect_eq "C: $nc VF creations and removals against devices= writes" "$bad" 0
expect_eq "C: I/O on the PF during the races verified" "$(cat /tmp/race.iorc)" 0 ||
	diag_file /tmp/race.io 5
expect_ge "C: ... and bounced by pvbounce" "$(delta "$pf" bounced_maps)" 1
echo "$vd" >"$PVB_PARAMS/devices"
echo "$vfs" >"$PCI/$pf/sriov_numvfs"
vf=$(basename "$(readlink "$PCI/$pf/virtfn0")")
check "C: a new VF ($vf) gets pvbounce's ops when it is added" test -d "$PVB_DBG/$vf"
echo 0 >"$PCI/$pf/sriov_numvfs"
check_fails "C: a removed VF is detached" test -d "$PVB_DBG/$vf"
pvbio_run "C: PF data written during the races reads back" -m r \
	-s 4K,64K,252K -n 64 -j 2 -S 91 "$pfdev"
unbind "$pf"
unbind "$nvme"
check "C: rmmod" rmmod pvbounce
diag "C took $(($(date +%s) - t0)) s"
