# SPDX-License-Identifier: GPL-2.0
# NVMe attached with force=1: every mapping bounces.  pvbounce is loaded before
# nvme, so the ops are in place before the driver probes.  Data is verified
# byte for byte at 512 B .. the largest mapping, and the device's counters
# must have moved by at least the bytes transferred.
. /scenarios/lib.sh
skip_without_pvbounce "nvme with force=1"
nvme=$(nvme_pci)

check "load with devices=$nvme force=1 (before nvme)" pvb_load devices="$nvme" force=1 || exit 0
expect_backend
dmesg_has "attach logged for $nvme" "pvbounce $nvme: attached"
check "nvme probes on pvbounce's ops" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
# nvme sets min_align_mask to 4 KiB - 1: a mapping may start up to 4 KiB into
# its first slot, so, as with swiotlb, the largest mapping is 4 KiB short
expect_eq "max_hw_sectors_kb is max_mapping_kb (256) less nvme's 4 KiB alignment" \
	"$(nvme_queue max_hw_sectors_kb)" 252
expect_ge "coherent allocations (the queues) went through pvbounce" "$(dbg "$nvme" coherent_allocs)" 1

counters "$nvme"
verified_io "$nvme" force=1
show "$nvme"
expect_ge "bytes_to_device moved by >= the bytes written ($IO_W)" "$(delta "$nvme" bytes_to_device)" "$IO_W"
expect_ge "bytes_from_device moved by >= the bytes read ($IO_R)" "$(delta "$nvme" bytes_from_device)" "$IO_R"
expect_eq "every map of the I/O bounced: bounced_maps moved by the maps' $(delta "$nvme" maps)" \
	"$(delta "$nvme" bounced_maps)" "$(delta "$nvme" maps)"
expect_ge "... and they were many (the I/O moved $IO_W bytes)" "$(delta "$nvme" maps)" 100
expect_eq "no direct mapping under force=1" "$(delta "$nvme" direct_maps)" 0
expect_eq "no map error" "$(delta "$nvme" map_errors)" 0
expect_eq "every map was unmapped" "$(dbg "$nvme" maps)" "$(dbg "$nvme" unmaps)"
expect_eq "no DMA-API misuse reported" "$(dbg "$nvme" misuse)" 0
pool_idle force=1 "$nvme"
# the read-only copy for Secure Boot lockdown (no debugfs) says the same
check "counters also under /sys/kernel/pvbounce/$nvme/" test -f "/sys/kernel/pvbounce/$nvme/maps"
differ=
for f in "/sys/kernel/pvbounce/$nvme"/*; do
	[ "$(cat "$f")" = "$(cat "$PVB_DBG/$nvme/${f##*/}" 2>/dev/null)" ] || differ="$differ ${f##*/}"
done
expect_eq "sysfs counters equal debugfs's" "$differ" ""
unload_checks "$nvme" nvme force=1
