# SPDX-License-Identifier: GPL-2.0
# address_bits: every range of the pool in debugfs lies below 2^address_bits
# (bus/machine addresses), for 28 and 32 bits, and I/O bounced through such a
# pool is verified.  Natively 28 bits is below what a 2 GiB guest's swiotlb
# could serve; in a Xen PV dom0 the ranges are machine addresses.  Natively
# the search below 2^28 holds back only a small budget of misplaced chunks
# (free memory seen during the load never drops by much more than the pool).
#
# Then pool shortages, made with debugfs fail/chunk_alloc on a private pool
# attached at run time: a late shortage steps the chunk order down but keeps
# what was had and never goes below the 256 KiB smallest segment; if not
# even one such chunk can be had, the attach is refused with a message.
. /scenarios/lib.sh
skip_without_pvbounce "pool below 2^address_bits"
nvme=$(nvme_pci)

# free memory (MemFree, kB) sampled without forking while $1 exists
sample_free() {
	while [ -f "$1" ]; do
		while read -r k v u; do
			[ "$k" = MemFree: ] && echo "$v" && break
		done </proc/meminfo
	done
}

# the most any pool may hold back natively beyond what it keeps: the
# backend's budget (16 MiB per zone, two zones) plus slack for the rest of
# the system (MemFree is not exact)
HOLD_MAX_KB=$((32 * 1024 + 32 * 1024))

# Natively, a pool larger than all memory below 2^28 (a 2 GiB guest): once
# that is used up the search must give up after its budget, not hold back
# the rest of ZONE_DMA32 (up to 8192 chunks, 2 GiB, before the budget).
if [ "$PVB_MODE" != xen ]; then
	mem_settle
	touch /tmp/sampling
	sample_free /tmp/sampling >/tmp/memfree &
	sampler=$!
	sleep 0.2
	check "load with address_bits=28 pool_mb=1024 (more than lies below 2^28)" \
		pvb_load address_bits=28 pool_mb=1024
	rm -f /tmp/sampling
	wait "$sampler"
	if pvb_loaded; then
		first=$(head -n 1 /tmp/memfree)
		low=$(sort -n /tmp/memfree | head -n 1)
		kept=$(($(dbg nslabs) * 2))
		diag "address_bits=28: free ${first} kB before, lowest ${low} kB during the load ($(wc -l </tmp/memfree) samples), pool ${kept} kB"
		expect_le "address_bits=28: the search held back at most $HOLD_MAX_KB kB beyond the pool" \
			$((first - low - kept)) $HOLD_MAX_KB
		bad=$(dbg pool | awk -v lim=$((1 << 28)) '{ if ($2 + 0 >= lim) print }' | head -n 1)
		expect_eq "address_bits=28 pool_mb=1024: every pool range below 2^28" "$bad" ""
		dmesg_has "address_bits=28 pool_mb=1024: the native backend says what it passed over" \
			"pvbounce: native: .*below 0xfffffff" /tmp/dmesg.load
		grep 'pvbounce: native' /tmp/dmesg.load | head -n 3 >/tmp/native.log
		diag_file /tmp/native.log 3
		rmmod pvbounce
	fi
fi

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

# ---- shortages (debugfs fail/chunk_alloc) ----------------------------------

# chunk sizes of a pool's debugfs ranges, in KiB, one a line
range_kb() {
	awk '{ printf "%d\n", ($2 - $1 + 1) / 1024 }' "$1"
}

# short_attach TAG KB: a private pool of KB KiB for nvme at run time (set
# fail/chunk_alloc first); the kernel log of the attach in /tmp/dmesg.rt
short_attach() {
	dmesg -c >/dev/null
	echo "$nvme@${2}K" >"$PVB_PARAMS/devices"
	dmesg >/tmp/dmesg.rt
	expect_eq "$1: the injected failure was used" "$(dbg fail/chunk_alloc)" 0
}

detach_nvme() {
	unbind "$nvme"
	echo >"$PVB_PARAMS/devices"
}

if check "load max_mapping_kb=256 pool_mb=4 for the shortage tests" \
	pvb_load max_mapping_kb=256 pool_mb=4 && [ -f "$PVB_DBG/fail/chunk_alloc" ]; then
	# 1 MiB asked: the 2nd chunk is short at the smallest order
	echo 2 >"$PVB_DBG/fail/chunk_alloc"
	short_attach "late shortage at 256 KiB" 1024
	if check "late shortage at 256 KiB: private pool made" test -d "$PVB_DBG/$nvme"; then
		dbg "$nvme" pool >/tmp/pool
		diag "pool: $(tr '\n' ';' </tmp/pool)"
		expect_eq "late shortage at 256 KiB: no chunk below 256 KiB" \
			"$(range_kb /tmp/pool | awk '$1 < 256' | head -n 1)" ""
		expect_eq "late shortage at 256 KiB: the chunk had before it kept (128 slots)" \
			"$(dbg "$nvme" nslabs)" 128
		dmesg_has "late shortage at 256 KiB: logged as the smallest segment" \
			"pool $nvme: no more 256 KiB chunks .* 256 KiB is the smallest segment" /tmp/dmesg.rt
		check "late shortage at 256 KiB: nvme probes" nvme_up "$nvme" &&
			pvbio_run "late shortage at 256 KiB: I/O verified" \
				-s "$(size_list "$(nvme_queue max_hw_sectors_kb)")" -S 61 "$NVME_DEV"
	fi
	detach_nvme

	# not even one 256 KiB chunk: refused with a message
	echo 1 >"$PVB_DBG/fail/chunk_alloc"
	short_attach "no 256 KiB chunk" 256
	check_fails "no 256 KiB chunk: not attached" test -d "$PVB_DBG/$nvme"
	dmesg_has "no 256 KiB chunk: the pool's refusal names it and the size" \
		"pool $nvme: could not get a single 256 KiB chunk" /tmp/dmesg.rt
	dmesg_has "no 256 KiB chunk: the device's refusal" "pvbounce $nvme: not attached" /tmp/dmesg.rt
	check "no 256 KiB chunk: nvme probes on its own ops" nvme_up "$nvme"
	detach_nvme
	check "rmmod" rmmod pvbounce
fi

if check "load max_mapping_kb=1024 pool_mb=4 for the mixed-order test" \
	pvb_load max_mapping_kb=1024 pool_mb=4 && [ -f "$PVB_DBG/fail/chunk_alloc" ]; then
	# 4 MiB asked: one 1 MiB chunk, then a shortage: the rest at 512 KiB
	echo 2 >"$PVB_DBG/fail/chunk_alloc"
	short_attach "shortage at 1 MiB" 4096
	if check "shortage at 1 MiB: private pool made" test -d "$PVB_DBG/$nvme"; then
		dbg "$nvme" pool >/tmp/pool
		diag "pool: $(tr '\n' ';' </tmp/pool)"
		expect_eq "shortage at 1 MiB: the 1 MiB chunk kept, the rest 512 KiB" \
			"$(range_kb /tmp/pool | sort -n | uniq -c | awk '{ printf "%sx%s ", $1, $2 }')" \
			"6x512 1x1024 "
		expect_eq "shortage at 1 MiB: 4 MiB of slots" "$(dbg "$nvme" nslabs)" 2048
		check "shortage at 1 MiB: nvme probes" nvme_up "$nvme" &&
			pvbio_run "shortage at 1 MiB: I/O verified" \
				-s "$(size_list "$(nvme_queue max_hw_sectors_kb)")" -j 2 -S 62 "$NVME_DEV"
	fi
	detach_nvme
	check "rmmod" rmmod pvbounce
fi
