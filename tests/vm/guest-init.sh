#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the QEMU test initramfs (busybox sh).
#
# Kernel command line:
#   pvb.scenario=A:B:...   scenarios to run, in order (tests/vm/scenarios/A.sh)
#   pvb.mode=native|xen    how the host booted us
#   pvb.tap=ttyS1          also write the TAP lines to this port (the host
#                          reads them there, free of kernel console noise)
#   pvb.timeout=SECONDS    per-scenario limit (default 600)
# Every TAP line goes to the console too, prefixed "PVBTAP: ".  After the
# last scenario the plan and "# pvb-done" are printed and the guest powers off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
exec </dev/console >/dev/console 2>&1

arg() {
	sed -n "s/.*[[:space:]]pvb\.$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline
}
PVB_MODE=$(arg mode)
PVB_TAPDEV=$(arg tap)
PVB_TIMEOUT=$(arg timeout)
export PVB_MODE PVB_TAPDEV="${PVB_TAPDEV:+/dev/$PVB_TAPDEV}"
. /scenarios/lib.sh

# Kernel messages stay on the console (the host scans it for panics and
# warnings); keep them out of the TAP port's way.
[ -n "$PVB_TAPDEV" ] && stty -F "$PVB_TAPDEV" raw -echo 115200 2>/dev/null

diag "kernel $(uname -r), mode ${PVB_MODE:-?}, $(nproc) cpus, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
for s in $(arg scenario | tr ':,' '  '); do
	if [ ! -f "/scenarios/$s.sh" ]; then
		tap_not_ok "scenario $s exists"
		continue
	fi
	diag "=== scenario $s"
	# the status of a scenario's last check is not the scenario's: only a
	# shell error (or the timeout) makes the status non-zero
	timeout "${PVB_TIMEOUT:-600}" sh -c ". /scenarios/$s.sh; exit 0"
	rc=$?
	case $rc in
	0) ;;
	143|137) tap_not_ok "scenario $s finished within ${PVB_TIMEOUT:-600} s" ;;
	*) tap_not_ok "scenario $s ran to its end (exit status $rc)" ;;
	esac
	cleanup_all
done
tap_plan
tap_line "# pvb-done"
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
