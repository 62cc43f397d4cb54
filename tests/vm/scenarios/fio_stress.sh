# SPDX-License-Identifier: GPL-2.0
# Verified parallel I/O by fio (Debian's, in the initramfs with PVB_FIO=1) on
# two NVMe devices at once (PVB_NVME_COUNT=2) while their shared 1 MiB
# bounce pool is full most of the time: 4 threads per device at iodepth 8
# with libaio, random blocks of 4 KiB..252 KiB written with crc32c
# checksums and read back and verified (verify_fatal).  fio must end with no
# error and no verify failure, the pool must have refused maps (counted in
# errors_pool_full: the load really pressed it; nvme requeues such I/O), and
# every slot must be back afterwards.
#
# The load alone filled the pool only when TCG's timing let it (a fresh
# 2-core CI machine saw no refusal in dom0), so tests/kmod/pvbounce_hold.ko
# holds all of it but one segment (window=: the holder gives back one
# bus-aligned segment it holds whole) for the whole run: room for one
# 252 KiB map, not for two.
. /scenarios/lib.sh
skip_without_pvbounce "fio on two NVMe with a full pool"
if ! command -v fio >/dev/null; then
	tap_skip "fio on two NVMe with a full pool" "no fio in the initramfs (PVB_FIO=1)"
	exit 0
fi
set -- $(pci_by_class 0x010802 1b36:0010 | grep '^0000:00:')
if [ $# -lt 2 ]; then
	tap_skip "fio on two NVMe with a full pool" "one NVMe only (PVB_NVME_COUNT=2)"
	exit 0
fi
pa=$1 pb=$2

check "load force=1 pool_mb=1 devices=$pa,$pb" pvb_load devices="$pa,$pb" force=1 pool_mb=1 || exit 0
check "nvme probes $pa" nvme_up "$pa" || exit 0
dev_a=$NVME_DEV
check "nvme probes $pb" nvme_up "$pb" || exit 0
dev_b=$NVME_DEV
if [ ! -f "$PVB_HOLD_KO" ]; then
	tap_not_ok "pvbounce_hold.ko is in the initramfs (tests/kmod, built with pvbounce.ko)"
	exit 0
fi
segkb=$(sed -n 's/.*pool common: [0-9]* KiB in [0-9]* chunks, \([0-9]*\) KiB segments.*/\1/p' /tmp/dmesg.load)
keep=$((segkb / 2))
total=$(dbg nslabs)
check "pvbounce_hold.ko holds the pool's $total slots but one ${segkb:-?} KiB segment" \
	insmod "$PVB_HOLD_KO" dev="$pa" size=$(((total - $(dbg used)) * 2048)) window=${segkb}K || exit 0
expect_eq "one segment, $keep slots, free while held" $((total - $(dbg used))) "$keep"
counters "$pa"
C_a_full=$C_errors_pool_full C_a_bounced=$C_bounced_maps
counters "$pb"

# one job section per device, each job its own 24 MiB of it; fio's own
# verify: each block carries its crc32c and offset header, checked on the
# read-back pass
cat >/tmp/stress.fio <<JOBS
[global]
ioengine=libaio
direct=1
thread
iodepth=8
numjobs=4
rw=randwrite
bsrange=4k-252k
size=24m
offset_increment=24m
verify=crc32c
verify_fatal=1
do_verify=1
group_reporting
[a]
filename=$dev_a
offset=0
[b]
filename=$dev_b
offset=0
JOBS
run_cmd timeout 900 fio --output-format=terse --terse-version=3 /tmp/stress.fio
rc=$?
cp "$OUT" /tmp/fio.out	# the checks below run commands, which rewrite $OUT
diag "fio exit $rc"
diag_file /tmp/fio.out 4
tap_result $rc "fio: 2 devices x 4 threads x iodepth 8, 4K..252K random writes, crc32c read back and verified, exit 0" ||
	diag_file /tmp/fio.out 30
check_fails "fio reported no verify failure" grep -Eiq "verify: bad|bad magic|crc32c.*(bad|mismatch)" /tmp/fio.out
# terse v3: field 5 is the group's error count
errs=$(awk -F';' '$1 == 3 {e += $5; n++} END {print n ? e + 0 : "no terse line"}' /tmp/fio.out)
expect_eq "fio: no I/O error in either group" "$errs" 0

full=$(($(dbg "$pa" errors_pool_full) - C_a_full + $(delta "$pb" errors_pool_full)))
bounced=$(($(dbg "$pa" bounced_maps) - C_a_bounced + $(delta "$pb" bounced_maps)))
diag "refused maps (pool full) over both devices: $full; bounced maps: $bounced; pool high water $(dbg used_hiwater) of $(dbg nslabs) slots"
expect_ge "the pool was full under the load (maps refused and retried by nvme)" "$full" 1
expect_ge "the I/O went through pvbounce" "$bounced" 1000
# (a full pool refuses a 252 KiB map while odd slots are still free)
check "rmmod pvbounce_hold gives its slots back" rmmod pvbounce_hold
pool_idle "fio" "$pa"
unbind "$pa"
unbind "$pb"
check "rmmod" rmmod pvbounce
