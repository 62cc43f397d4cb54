# SPDX-License-Identifier: GPL-2.0
# Narrow DMA masks (28, 30 and 32 bits) on the NVMe, with no driver bound,
# against pools below and above them (tests/kmod/pvbounce_mask.ko; force=0).
# Pool of 4 MiB at address_bits=28: every mask served, buffers above
# the mask bounced below it, reachable ones direct, data checked from the
# device's side.  Pool of 288 MiB at address_bits=32 (its top above 2^28
# wherever it lies; the allocator gives low memory first, a small pool may
# lie below 256 MiB): a mask below its top refused by
# dma_set_mask() with pvbounce's line, and a bus_dma_limit below it refused
# map by map for the mask (errors_mask, the pvbounce_refuse reason=mask
# record, the log line).  Masks and limit restored after each run.
. /scenarios/lib.sh
skip_without_pvbounce "narrow DMA masks"
if [ ! -f "$PVB_MASK_KO" ]; then
	tap_not_ok "pvbounce_mask.ko in the initramfs"
	exit 0
fi
nvme=$(nvme_pci)
TR=/sys/kernel/tracing
[ -d "$TR/events" ] || mount -t tracefs nodev "$TR" 2>/dev/null
unbind "$nvme"
REFUSED=0 SERVED=0

# mask_run BITS: one run of the test module on the loaded pool
mask_run() {
	# the highest bus address of the pool (debugfs pool: start end slots, hex)
	top=$(awk 'BEGIN { m = 0 } { v = 0; s = tolower($2); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		if (v > m) m = v } END { printf "%.0f", m }' "$PVB_DBG/pool")
	limit=$(( (1 << $1) - 1 ))
	if [ "$top" -le "$limit" ]; then SERVED=$((SERVED + 1)); else REFUSED=$((REFUSED + 1)); fi
	echo 0 >"$TR/events/pvbounce/enable" 2>/dev/null
	: >"$TR/trace"
	echo 1 >"$TR/events/pvbounce/pvbounce_refuse/enable" 2>/dev/null
	echo 1 >"$TR/tracing_on" 2>/dev/null
	dmesg -c >/dev/null
	run_cmd insmod "$PVB_MASK_KO" dev="$nvme" bits="$1" pool_top="$top"
	rc=$?
	echo 0 >"$TR/events/pvbounce/enable" 2>/dev/null
	dmesg >/tmp/dmesg.mask
	forward_ktap /tmp/dmesg.mask "masks $2 $1-bit mask"
	expect_eq "masks $2 $1-bit mask: insmod pvbounce_mask.ko succeeded, no failure counted" \
		"$rc:$(cat /sys/module/pvbounce_mask/parameters/failed 2>/dev/null)" 0:0
	n=$(cat /sys/module/pvbounce_mask/parameters/mask_refusals 2>/dev/null)
	expect_eq "masks $2 $1-bit mask: pvbounce_refuse reason=mask records == the maps refused for the mask" \
		"$(grep -c "pvbounce_refuse: dev=$nvme size=[0-9]* reason=mask\$" "$TR/trace")" "$n"
	expect_eq "masks $2 $1-bit mask: map refusals for the mask logged" \
		"$(grep -c "pvbounce $nvme: map of [0-9]* bytes refused: bounce address .* is beyond the device's DMA mask $(printf '%#x' "$limit"); lower address_bits" /tmp/dmesg.mask)" "$n"
	if [ "$top" -gt "$limit" ]; then
		expect_eq "masks $2 $1-bit mask: the refused masks logged (streaming and coherent)" \
			"$(grep -c "pvbounce $nvme: DMA mask $(printf '%#x' "$limit") refused: narrower than the bounce pool .*; lower address_bits" /tmp/dmesg.mask)" 2
	else
		expect_eq "masks $2 $1-bit mask: no mask refusal logged" \
			"$(grep -c "pvbounce $nvme: DMA mask .* refused" /tmp/dmesg.mask)" 0
	fi
	rmmod pvbounce_mask 2>/dev/null
	expect_eq "masks $2 $1-bit mask: the device's DMA mask restored" \
		"$(cat "$PCI/$nvme/dma_mask_bits" 2>/dev/null)" "$MASK_BITS0"
}

MASK_BITS0=$(cat "$PCI/$nvme/dma_mask_bits" 2>/dev/null)
for ab in 28 32; do
	mb=4
	[ $ab = 32 ] && mb=288
	check "masks pool at address_bits=$ab: load (pool_mb=$mb)" \
		pvb_load devices="$nvme" address_bits=$ab pool_mb=$mb || continue
	diag "masks: pool at address_bits=$ab: $(wc -l <"$PVB_DBG/pool") chunks, $(head -n 3 "$PVB_DBG/pool" | tr '\n' ';')..."
	for bits in 28 30 32; do
		mask_run $bits "pool at address_bits=$ab"
	done
	check "masks pool at address_bits=$ab: rmmod" rmmod pvbounce
done
expect_ge "masks: masks served against a pool below them" "$SERVED" 3
expect_ge "masks: masks refused against a pool above them" "$REFUSED" 1
