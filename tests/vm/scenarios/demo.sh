# SPDX-License-Identifier: GPL-2.0
# `make demo`: what a user looks at, in a Xen PV dom0 with an NVMe disk.
. /scenarios/lib.sh
skip_without_pvbounce "demo"
nvme=$(nvme_pci)
show_file() { # LABEL FILE
	diag "$1"
	while IFS= read -r l; do diag "    $l"; done <"$2"
}

diag "NVMe controller $nvme; loading pvbounce before its driver:"
diag "  insmod pvbounce.ko devices=$nvme max_mapping_kb=1024 force=1"
check "pvbounce loaded" pvb_load devices="$nvme" max_mapping_kb=1024 force=1 || exit 0
grep 'pvbounce' /tmp/dmesg.load | grep -v 'taint' | sed 's/^\[[^]]*\] //' >/tmp/demo.log
show_file "kernel log:" /tmp/demo.log
check "nvme probed on pvbounce's DMA ops" nvme_up "$nvme" || exit 0
pvbio_run "verified O_DIRECT I/O, 512 B to 1 MiB, 4 parallel jobs" \
	-s "$(size_list 1024)" -j 4 -S 7 "$NVME_DEV"
diag "  $(tail -n 1 "$OUT")"
diag ""
diag "backend:                 $(dbg backend)"
dbg pool >/tmp/demo.pool
# hex (busybox awk takes no 0x): each chunk's start and end, judged below
awk 'function h(x,  v, i) { x = tolower(x); sub(/^0x/, "", x); v = 0
		for (i = 1; i <= length(x); i++) v = v * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
		return v }
	{ s = h($1); e = h($2); if (NR == 1 || s < lo) { lo = s; los = $1 }
	if (e > hi) { hi = e; his = $2 } }
	END { printf "%d machine-contiguous chunks from %s to %s: %s 2^32\n", NR, los, his,
		NR && hi < 4294967296 ? "all below" : "NOT all below" }' /tmp/demo.pool >/tmp/demo.place
check "the pool lies below 2^32 (address_bits=32)" grep -q ": all below 2^32" /tmp/demo.place
diag "pool placement:          $(cat /tmp/demo.place)"
head -n 3 /tmp/demo.pool >/tmp/demo.pool3
show_file "  first chunks (bus start, bus end, slots):" /tmp/demo.pool3
diag "pool slots:              nslabs $(dbg nslabs), used $(dbg used), used_hiwater $(dbg used_hiwater)"
diag "attached devices:        $(cat "$PVB_DBG/devices")"
diag "counters of $nvme:"
for c in maps unmaps bounced_maps direct_maps bytes_to_device bytes_from_device map_errors largest_request coherent_allocs; do
	diag "    $(printf '%-18s' $c) $(dbg "$nvme" $c)"
done
diag "NVMe max transfer size:  max_hw_sectors_kb=$(nvme_queue max_hw_sectors_kb) (the device's own limit; the kernel's swiotlb-xen allows 252)"
unbind "$nvme"
check "pvbounce unloaded" rmmod pvbounce
