# SPDX-License-Identifier: GPL-2.0
# pvbounce in a PV domU on a passed-through NVMe (run.sh's domu mode with
# PVB_DOMU_PCI: the dom0 gives the device to xen-pciback, QEMU's
# intel-iommu lets Xen assign it).  pcifront brings the device up after
# boot: nvme and pvbounce (devices= by vendor:device) are loaded first, then
# xen-pcifront, so the bus notifier must see pcifront's hot-added device and
# attach it before nvme probes.  Verified I/O, every map bounced, counters,
# unload; then the same device by its domU address, attached at load.  Later scenarios of the boot (kmod, nvme_force) find the device.
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

# by address, a device without a driver at load.  (Not a PCI remove and
# rescan: in a PV domU the rescanned NVMe's BAR was left unmapped, and
# nvme_pci_enable() oopsed reading CSTS, with or without pvbounce.)
check "domU pci: load with devices=$nvme force=1" pvb_load devices="$nvme" force=1
dmesg_has "domU pci: attach of $nvme at load logged" "pvbounce $nvme: attached" /tmp/dmesg.load
check "domU pci: nvme binds $nvme again" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
verified_io "$nvme" "domU pci by address"
expect_eq "domU pci by address: no direct mapping" "$(dbg "$nvme" direct_maps)" 0
unload_checks "$nvme" nvme "domU pci by address"

# A 4 MiB coherent allocation: one extent of order 10, which Xen exchanges
# only if this domain may (ptdom order, 12 by default, with a device; 9 with
# memop-max-order=...,9); refused, the log names memop-max-order.
memop=$(sed -n 's/.*[[:space:]]pvb\.memop=\([0-9,]*\).*/\1/p' /proc/cmdline)
o_pt=$(echo "$memop" | cut -s -d, -f4)
o_domu=$(echo "$memop" | cut -d, -f1)
order=${o_pt:-12}
[ "${o_domu:-9}" -gt "$order" ] && order=${o_domu:-9}
ok=1
[ "$order" -lt 10 ] && ok=0
unbind "$nvme"
if [ -f "$PVB_TEST_KO" ] && check "domU pci: load with devices=$nvme force=1 for the test module" \
	pvb_load devices="$nvme" force=1; then
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_TEST_KO" dev="$nvme" coherent_large_kb=4096 coherent_large_ok=$ok
	dmesg >/tmp/dmesg.kmod
	grep -E 'coherent_large|dma_alloc_coherent\(4096|memop-max-order|coherent allocation' /tmp/dmesg.kmod >/tmp/cl
	diag_file /tmp/cl 6
	if [ $ok = 1 ]; then
		dmesg_has "domU pci: a 4 MiB coherent allocation succeeds (order $order may be exchanged)" \
			'^\[[^]]*\] ok [0-9]+ coherent_large$' /tmp/dmesg.kmod
	else
		dmesg_has "domU pci: a 4 MiB coherent allocation fails (order $order may be exchanged)" \
			'^\[[^]]*\] ok [0-9]+ coherent_large$' /tmp/dmesg.kmod
		dmesg_has "domU pci: the refusal names Xen's memop-max-order" \
			'XENMEM_exchange refused an order 10 extent .*memop-max-order' /tmp/dmesg.kmod
	fi
	rmmod pvbounce_test 2>/dev/null
	check "domU pci: rmmod pvbounce after the coherent test" rmmod pvbounce
fi
