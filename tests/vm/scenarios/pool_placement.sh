# SPDX-License-Identifier: GPL-2.0
# address_bits: every range of the pool in debugfs lies below 2^address_bits
# (bus/machine addresses), for 28 and 32 bits, and I/O bounced through such a
# pool is verified.  Natively 28 bits is below what a 2 GiB guest's swiotlb
# could serve; in a Xen PV dom0 the ranges are machine addresses.
. /scenarios/lib.sh
skip_without_pvbounce "pool below 2^address_bits"
nvme=$(nvme_pci)

for bits in 28 32; do
	check "load with address_bits=$bits pool_mb=32 force=1" \
		pvb_load devices="$nvme" address_bits=$bits pool_mb=32 force=1 || continue
	expect_backend
	dbg pool >/tmp/pool
	diag "pool (address_bits=$bits): $(wc -l </tmp/pool) ranges, first $(head -n 1 /tmp/pool), last $(tail -n 1 /tmp/pool)"
	# every range [start, end]: end < 2^bits (awk does 53-bit integers)
	bad=$(awk -v lim=$((1 << bits)) '{ s = $1 + 0; e = $2 + 0;
		if (e >= lim || s > e) print }' /tmp/pool 2>&1 | head -n 3)
	expect_eq "address_bits=$bits: every pool range below 2^$bits" "$bad" ""
	total=$(awk '{ n += $3 + 0 } END { print n }' /tmp/pool)
	expect_eq "address_bits=$bits: the ranges hold every slot" "$total" "$(dbg nslabs)"
	check "nvme probes" nvme_up "$nvme" || continue
	counters "$nvme"
	pvbio_run "address_bits=$bits: I/O bounced below 2^$bits verified" \
		-s "$(size_list 252)" -j 2 -S $((70 + bits)) "$NVME_DEV"
	expect_ge "address_bits=$bits: bounced" "$(delta "$nvme" bounced_maps)" 1
	# nvme allocates PRP lists coherent, in atomic context, during the I/O;
	# a failure there makes the block layer requeue (minutes of stall)
	dmesg | grep 'coherent allocation' >/tmp/coh
	expect_eq "address_bits=$bits: every coherent allocation below 2^$bits succeeded" \
		"$(wc -l </tmp/coh)" 0 || diag_file /tmp/coh 3
	unbind "$nvme"
	check "address_bits=$bits: rmmod" rmmod pvbounce
done
