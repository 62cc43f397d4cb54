# SPDX-License-Identifier: GPL-2.0
# A PV domU's disk served by the dom0's xen-blkback (dom0_blkback.sh creates
# this domU with a partition of its pvbounce-attached NVMe as xvda): verified
# I/O through xen-blkfront, so every byte goes through grant-mapped pages of
# this domain on the dom0's side.  pvb.guest_blk=verify (default): the I/O
# plan of lib.sh's guest_io_plan with O_DIRECT, then a buffered write read
# back after the page cache was dropped; what it wrote is said on the
# console (guest-io: lines) for the dom0 to read back from the disk.
# pvb.guest_blk=loop: writes and reads without end, for a dom0 that destroys
# the domain in the middle of its I/O.  pvb.guest_seed: the data's seed.
. /scenarios/lib.sh
skip_unless_domu "guest disk through blkback" "dom0_blkback.sh creates one"
mode=$(sed -n 's/.*[[:space:]]pvb\.guest_blk=\([a-z]*\).*/\1/p' /proc/cmdline)
seed=$(sed -n 's/.*[[:space:]]pvb\.guest_seed=\([0-9]*\).*/\1/p' /proc/cmdline)
seed=${seed:-100}
dev=/dev/xvda

check "domU blk: modprobe xen-blkfront" modprobe xen-blkfront
for i in $(seq 1 600); do
	[ -b "$dev" ] && break
	sleep 0.1
done
if ! [ -b "$dev" ]; then
	tap_not_ok "domU blk: blkfront's $dev appeared"
	dmesg | grep -iE 'blkfront|xvd|vbd' | tail -n 10 >/tmp/blk.log
	diag_file /tmp/blk.log 10
	exit 0
fi
size=$(($(cat /sys/block/xvda/size) / 2048))
maxkb=$(cat /sys/block/xvda/queue/max_hw_sectors_kb)
[ "$maxkb" -gt 1024 ] && maxkb=1024
tap_ok "domU blk: blkfront's $dev appeared ($size MiB, largest request $maxkb KiB)"
echo "guest-io: maxkb=$maxkb seed=$seed" >/dev/console

if [ "$mode" = loop ]; then
	# until the dom0 destroys us: the plan's parallel jobs, over and over
	echo "guest-io: looping" >/dev/console
	while :; do
		pvbio -s 4K,64K,"${maxkb}K" -n 8 -j 4 -l 1000 -S "$seed" "$dev" >/dev/null 2>&1
	done
fi

w=0 r=0 k=0
guest_io_plan "$maxkb" "$seed" >/tmp/plan
while read -r args; do
	k=$((k + 1))
	diag "domU blk: plan line $k: pvbio $args"
	# shellcheck disable=SC2086
	pvbio_run "domU blk: O_DIRECT write/read-back on $dev, plan line $k" $args "$dev"
	w=$((w + ${IO_WRITTEN:-0})) r=$((r + ${IO_READ:-0}))
done </tmp/plan

# buffered: through the page cache, written back with fsync, read after the
# cache was dropped
dd if=/dev/urandom of=/tmp/buf bs=1M count="$GUEST_BUF_MB" 2>/dev/null
sum=$(md5sum </tmp/buf | cut -d' ' -f1)
check "domU blk: buffered write of $GUEST_BUF_MB MiB at $GUEST_BUF_AT MiB, fsync" \
	dd if=/tmp/buf of="$dev" bs=1M seek="$GUEST_BUF_AT" conv=fsync
rm -f /tmp/buf
blockdev --flushbufs "$dev"
echo 3 >/proc/sys/vm/drop_caches
back=$(dd if="$dev" bs=1M skip="$GUEST_BUF_AT" count="$GUEST_BUF_MB" 2>/dev/null | md5sum | cut -d' ' -f1)
expect_eq "domU blk: buffered data read back after the page cache was dropped (md5)" "$back" "$sum"
w=$((w + GUEST_BUF_MB * 1048576)) r=$((r + GUEST_BUF_MB * 1048576))
echo "guest-io: buffered md5=$sum" >/dev/console
echo "guest-io: written=$w read=$r" >/dev/console
diag "domU blk: $((w / 1048576)) MiB written, $((r / 1048576)) MiB read through blkfront"
