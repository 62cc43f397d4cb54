# SPDX-License-Identifier: GPL-2.0
# pvbounce in a PV domU on a passed-through NVMe (run.sh's domu mode with
# PVB_DOMU_PCI: the dom0 gives the device to xen-pciback, QEMU's
# intel-iommu lets Xen assign it).  pcifront brings the device up after
# boot: nvme and pvbounce (devices= by vendor:device) are loaded first, then
# xen-pcifront, so the bus notifier must see pcifront's hot-added device and
# attach it before nvme probes.  Verified I/O, every map bounced, counters,
# unload; then the same device by its domU address, after a PCI remove and
# rescan.  Later scenarios of the boot (kmod, nvme_force) find the device.
. /scenarios/lib.sh
skip_without_pvbounce "domU passthrough"
if [ -z "$PVB_DOMU" ]; then
	tap_skip "domU passthrough" "not booted as a domU (run.sh 6.12 domu ...)"
	exit 0
fi
id=1b36:0010	# QEMU's NVMe

modprobe nvme
check "domU pci: load with devices=$id force=1 before pcifront" \
	pvb_load devices="$id" force=1 || exit 0
expect_eq "domU pci: debugfs backend is xen" "$(dbg backend)" xen
check "domU pci: modprobe xen-pcifront" modprobe xen-pcifront
nvme=
for i in $(seq 1 600); do
	nvme=$(nvme_pci)
	[ -n "$nvme" ] && break
	sleep 0.1
done
diag "domU pci: PCI devices now: $(ls "$PCI" | tr '\n' ' ')"
if [ -z "$nvme" ]; then
	tap_not_ok "domU pci: pcifront brought up the NVMe"
	dmesg | grep -iE 'pcifront|pci' | tail -n 15 | while IFS= read -r l; do diag "  $l"; done
	exit 0
fi
tap_ok "domU pci: pcifront brought up the NVMe ($nvme)"
check "domU pci: nvme probes on pvbounce's ops" nvme_up "$nvme" || exit 0
dmesg >/tmp/dmesg.now
dmesg_has "domU pci: attach of the hot-added $nvme logged" "pvbounce $nvme: attached" /tmp/dmesg.now
attached "$nvme" nvme
expect_ge "domU pci: coherent allocations (the queues) went through pvbounce" \
	"$(dbg "$nvme" coherent_allocs)" 1
counters "$nvme"
verified_io "$nvme" "domU pci force=1"
show "$nvme"
expect_ge "domU pci: bytes_to_device moved by >= the bytes written ($IO_W)" "$(delta "$nvme" bytes_to_device)" "$IO_W"
expect_ge "domU pci: bytes_from_device moved by >= the bytes read ($IO_R)" "$(delta "$nvme" bytes_from_device)" "$IO_R"
expect_eq "domU pci: no direct mapping under force=1" "$(delta "$nvme" direct_maps)" 0
expect_eq "domU pci: every map was unmapped" "$(dbg "$nvme" maps)" "$(dbg "$nvme" unmaps)"
expect_eq "domU pci: no map error" "$(delta "$nvme" map_errors)" 0
pool_idle "domU pci" "$nvme"
unload_checks "$nvme" nvme "domU pci"

# by address, for a device pcifront already has: remove, load, rescan
echo 1 >"$PCI/$nvme/remove"
check "domU pci: load with devices=$nvme force=1" pvb_load devices="$nvme" force=1
echo 1 >/sys/bus/pci/rescan
for i in $(seq 1 300); do
	[ -e "$PCI/$nvme" ] && break
	sleep 0.1
done
check "domU pci: nvme probes $nvme after the rescan" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
verified_io "$nvme" "domU pci by address"
expect_eq "domU pci by address: no direct mapping" "$(dbg "$nvme" direct_maps)" 0
unload_checks "$nvme" nvme "domU pci by address"
