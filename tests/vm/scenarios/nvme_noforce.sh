# SPDX-License-Identifier: GPL-2.0
# NVMe attached with force=0: buffers the device reaches directly are mapped
# without a bounce, the others bounce.  Data is verified byte for byte.
. /scenarios/lib.sh
skip_without_pvbounce "nvme with force=0"
nvme=$(nvme_pci)

check "load with devices=$nvme force=0" pvb_load devices="$nvme" force=0 || exit 0
check "nvme probes on pvbounce's ops" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
counters "$nvme"
verified_io "$nvme" force=0
show "$nvme"
maps=$(delta "$nvme" maps)
expect_ge "maps moved" "$maps" 1
expect_eq "every map is either bounced or direct" \
	$(($(delta "$nvme" bounced_maps) + $(delta "$nvme" direct_maps))) "$maps"
if [ "$PVB_MODE" = xen ]; then
	# single pages are machine-contiguous and below 4 GiB: direct; larger
	# pseudo-physically contiguous buffers are usually not: bounced
	expect_ge "some mappings direct (single frames)" "$(delta "$nvme" direct_maps)" 1
else
	# all of the guest's RAM is below 2^32 and contiguous: no bounce
	expect_eq "no bounce: every buffer is reachable" "$(delta "$nvme" bounced_maps)" 0
fi
expect_ge "bytes_to_device moved by >= the bytes written ($IO_W)" "$(delta "$nvme" bytes_to_device)" "$IO_W"
expect_eq "no map error" "$(delta "$nvme" map_errors)" 0
expect_eq "every map was unmapped" "$(dbg "$nvme" maps)" "$(dbg "$nvme" unmaps)"
pool_idle force=0 "$nvme"
unload_checks "$nvme" nvme force=0
