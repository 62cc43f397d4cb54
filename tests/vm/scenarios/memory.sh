# SPDX-License-Identifier: GPL-2.0
# Memory is given back: free memory after unload is what it was before load
# (within MEM_SLACK_KB, see lib.sh: the kernel's own noise), also after 50
# load/unload cycles and after a device with a private pool did I/O.  On Xen this covers the exchange back of every
# machine-contiguous chunk.
. /scenarios/lib.sh
skip_without_pvbounce "memory given back on unload"
nvme=$(nvme_pci)

# one cycle first: it leaves the kernel's one-time allocations (module
# loader, kernfs) and our /tmp files in place before the first reading
pvb_load pool_mb=64 max_mapping_kb=1024 && rmmod pvbounce
mem_settle
before=$(mem_free_kb)

check "load with pool_mb=64 max_mapping_kb=1024" pvb_load pool_mb=64 max_mapping_kb=1024
mem_settle
expect_ge "the pool takes >= 64 MiB while loaded" $((before - $(mem_free_kb))) $((64 << 10))
check "rmmod" rmmod pvbounce
expect_mem_back "pool_mb=64 load/unload" "$before"

i=0
while [ $i -lt 50 ]; do
	insmod "$PVB_KO" pool_mb=16 max_mapping_kb=1024 && rmmod pvbounce || break
	i=$((i + 1))
done
expect_eq "50 load/unload cycles of a 16 MiB pool" "$i" 50
expect_mem_back "50 cycles" "$before"

check "load with devices=$nvme@8M max_mapping_kb=1024 force=1" pvb_load devices="$nvme@8M" pool_mb=8 max_mapping_kb=1024 force=1
check "nvme probes" nvme_up "$nvme"
pvbio_run "I/O through the private pool" -s 4K,64K,252K -n 4 -j 2 -S 81 "$NVME_DEV"
unbind "$nvme"
modprobe -r nvme
check "rmmod" rmmod pvbounce
expect_mem_back "private pool, coherent allocations, I/O" "$before"
