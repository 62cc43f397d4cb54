# SPDX-License-Identifier: GPL-2.0
# Baseline, no pvbounce: validates the test infrastructure itself.  The
# kernel's own nvme driver (dma-direct natively, swiotlb-xen in a Xen PV dom0)
# must pass the very checks the pvbounce scenarios use.
. /scenarios/lib.sh

if [ "$PVB_MODE" = xen ]; then
	expect_eq "running as a Xen PV dom0" "$(cat /sys/hypervisor/type 2>/dev/null)" xen
else
	expect_eq "running on bare (emulated) metal" "$(cat /sys/hypervisor/type 2>/dev/null)" ""
fi
nvme=$(nvme_pci)
check "an NVMe controller is on the PCI bus" test -n "$nvme"
expect_eq "two e1000e NICs are on the hub" "$(nic_pcis | wc -l)" 2
check "nvme binds to $nvme without pvbounce" nvme_up "$nvme" || exit 0
maxkb=$(nvme_queue max_hw_sectors_kb)
diag "$NVME_DEV: max_hw_sectors_kb=$maxkb max_sectors_kb=$(nvme_queue max_sectors_kb)"
pvbio_run "O_DIRECT write/read-back 512 B..${maxkb} KiB" \
	-s "$(size_list "$maxkb")" -S 11 "$NVME_DEV"
pvbio_run "same from buffers 512 B past a page boundary" \
	-s "$(size_list "$maxkb")" -b 512 -o 64M -S 12 "$NVME_DEV"
pvbio_run "4 parallel jobs" -s 4K,64K,"${maxkb}K" -n 4 -j 4 -o 128M -S 13 "$NVME_DEV"
pvbio_run "data of the first run still reads back" -m r \
	-s "$(size_list "$maxkb")" -S 11 "$NVME_DEV"
# the checker must see corruption: verifying with another seed fails
run_cmd pvbio -m r -s 4K -S 999 "$NVME_DEV"
expect_eq "pvbio reports foreign data as a mismatch (exit 1)" $? 1

set -- $(nic_pcis)
if net_up "$1" "$2"; then
	tap_ok "ping between the two e1000e NICs across the hub"
	net_transfer $((4 << 20))
	tap_result $? "4 MiB over TCP between the NICs arrive intact"
else
	tap_not_ok "ping between the two e1000e NICs across the hub"
fi
net_down
