#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the QEMU test initramfs (busybox sh).
#
# Kernel command line:
#   pvb.scenario=A:B:...   scenarios to run, in order (tests/vm/scenarios/A.sh)
#   pvb.mode=native|xen    how the host booted us; domu-host: a Xen dom0
#                          that runs the scenarios in a PV domU it creates
#                          (/lib/pvb/domu-host.sh); domu: that domU (the
#                          scenarios see PVB_MODE=xen and PVB_DOMU=1)
#   pvb.tap=ttyS1          also write the TAP lines to this port (the host
#                          reads them there, free of kernel console noise)
#   pvb.timeout=SECONDS    per-scenario limit (default 600)
#   pvb.ci=1               CI: a scenario whose every result is a SKIP fails
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
PVB_DOMU=
[ "$PVB_MODE" = domu ] && PVB_MODE=xen PVB_DOMU=1
PVB_TAPDEV=$(arg tap)
PVB_TIMEOUT=$(arg timeout)
export PVB_MODE PVB_DOMU PVB_TAPDEV="${PVB_TAPDEV:+/dev/$PVB_TAPDEV}"
. /scenarios/lib.sh

# Kernel messages stay on the console (the host scans it for panics and
# warnings); keep them out of the TAP port's way.
[ -n "$PVB_TAPDEV" ] && stty -F "$PVB_TAPDEV" raw -echo 115200 2>/dev/null

diag "kernel $(uname -r), mode ${PVB_MODE:-?}${PVB_DOMU:+ (a PV domU)}, $(nproc) cpus, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
# A domU's console is its only channel (hvc0): kernel messages written
# there in the middle of a TAP line were seen to lose it.  Only emergency
# messages (every panic: the boot has panic_on_warn=1 oops=panic) reach it;
# the rest of the log is scanned at the end.
[ -n "$PVB_DOMU" ] && dmesg -n 1

# Trip the kernel's one-shot network keys now, on CPU 0 of an idle guest.
# net_get_random_once() (DO_ONCE) seeds a secret on first use and then a work
# item disables its static key: the x86 jump-label code rewrites the key's
# sites under the running kernel (text_poke_bp_batch(): int3 on the first
# byte, sync every CPU by IPI, the rest, the first byte, sync, after which an
# int3 there is no longer expected).  A CPU that still executes the int3
# after that finds no patch in progress in poke_int3_handler() and do_int3()
# dies.  In a Xen PV dom0 under TCG that happened to the baseline, before
# pvbounce was loaded: "Oops: int3" at inet_ehashfn+0x33 from
# tcp_conn_request, the other vCPU running the first TCP handshake while the
# key of inet_ehashfn's secret was being patched.  Not our bug, but it turns
# the run red.  Done here, with every user pinned to CPU 0 (the work runs on
# CPU 0's kworker too, and RPS keeps loopback's softirqs there), no other CPU
# runs the code being patched, and no scenario patches kernel text under its
# traffic.  Tracing arch_jump_label_transform_apply over the io group (6.12
# xen) showed, after boot, only once-keys (once_deferred) and module loading
# (which patches the module's own text before it runs).  The once users on
# the scenarios' paths, from the 6.1/6.12 sources:
#   a TCP connection: net_secret and ts_secret (secure_seq.c), table_perturb
#     (__inet_hash_connect), inet_ehash_secret (inet_ehashfn) and, over
#     IPv6, inet6_ehash_secret and ipv6_hash_secret (inet6_ehashfn);
#   hashrnd (flow_dissector.c): the NICs' fq_codel qdisc hashes packets,
#     IPv6 hashes its automatic flow labels: a ping over RPS on lo and a
#     ping6 to ::1 are meant to hash.
# Traced (baseline:net, 6.12 xen): this makes 6 once-keys flip here; 2 more
# still flip in the baseline, right after the NICs' link comes up, and are
# not identified yet (hashrnd among them, probably).  The handshake keys of
# the oops are covered.
warm_up_keys() {
	rps=/sys/class/net/lo/queues/rx-0/rps_cpus
	ip link set lo up
	echo 1 >"$rps"
	(sleep 3 | taskset 1 nc -l -p 5999 >/dev/null) &
	for i in $(seq 1 100); do
		grep -qsE ':176F 0+:0000 0A ' /proc/net/tcp6 /proc/net/tcp && break
		sleep 0.1
	done
	echo warm-up | taskset 1 timeout 10 nc 127.0.0.1 5999
	(sleep 3 | taskset 1 nc -l -p 5998 >/dev/null) &
	for i in $(seq 1 100); do
		grep -qsE ':176E 0+:0000 0A ' /proc/net/tcp6 && break
		sleep 0.1
	done
	echo warm-up | taskset 1 timeout 10 nc ::1 5998
	taskset 1 ping -c 1 -W 2 127.0.0.1 >/dev/null
	taskset 1 ping6 -c 1 -W 2 ::1 >/dev/null
	echo 0 >"$rps"
	ip link set lo down
	sleep 1		# the works that disable the keys, on CPU 0
	wait
}
warm_up_keys
# The comm recorder off for every scenario: with record-cmd on (the
# default), turning any trace event on or off registers or unregisters a
# probe on sched_switch, whose static call the kernel then rewrites in
# __schedule() under the other vCPU (text_poke_bp_batch(), as above).  A
# Xen PV dom0 under TCG was seen to hang there (6.1, masks: the writer
# waiting for its sync IPI, the other vCPU stuck in __schedule() with
# interrupts off, until the boot's time ran out).  Scenarios that switch
# pvbounce's events read only the events' own fields.
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
echo 0 >/sys/kernel/tracing/options/record-cmd 2>/dev/null
debug_checks_start
# domu-host.sh's test of its second attempt (pvb.domu_crash_first=1 on the
# dom0): the domU's first boot crashes before any scenario
if [ -n "$PVB_DOMU" ] && [ "$(arg crash_in_boot)" = 1 ]; then
	echo 1 >/proc/sys/kernel/sysrq
	echo c >/proc/sysrq-trigger
fi
if [ "$PVB_MODE" = domu-host ]; then
	. /lib/pvb/domu-host.sh
	set -- $DOM0_SCENARIOS
else
	set -- $(arg scenario | tr ':,' '  ')
fi
for s in "$@"; do
	if [ ! -f "/scenarios/$s.sh" ]; then
		tap_not_ok "scenario $s exists"
		continue
	fi
	diag "=== scenario $s"
	# the status of a scenario's last check is not the scenario's: only a
	# shell error (or the timeout) makes the status non-zero
	n0=$(cat "$PVB_TAPN" 2>/dev/null || echo 0)
	k0=$(cat "$PVB_SKIPN" 2>/dev/null || echo 0)
	timeout "${PVB_TIMEOUT:-600}" sh -c ". /scenarios/$s.sh; exit 0"
	rc=$?
	# a scenario that printed nothing tested nothing (a missing module, an
	# early exit): a failure; one whose every result is a SKIP tested
	# nothing either, a failure under CI (pvb.ci=1: run.sh with CI=true),
	# where a SKIP would read as a pass
	n1=$(cat "$PVB_TAPN" 2>/dev/null || echo 0)
	k1=$(cat "$PVB_SKIPN" 2>/dev/null || echo 0)
	if [ "$n1" -eq "$n0" ]; then
		tap_not_ok "scenario $s printed at least one result"
	elif [ $((n1 - n0)) -eq $((k1 - k0)) ]; then
		if [ "$(arg ci)" = 1 ]; then
			tap_not_ok "scenario $s ran a test (CI: its $((n1 - n0)) results are all SKIPs)"
		else
			diag "scenario $s: its $((n1 - n0)) results are all SKIPs (a failure under CI=true)"
		fi
	fi
	case $rc in
	0) ;;
	143|137) tap_not_ok "scenario $s finished within ${PVB_TIMEOUT:-600} s" ;;
	*) tap_not_ok "scenario $s ran to its end (exit status $rc)" ;;
	esac
	cleanup_all
	debug_checks "$s"
done
if [ -n "$PVB_DOMU" ]; then
	dmesg >/tmp/dmesg.all
	if grep -E 'Kernel panic|BUG:|WARNING:|Oops|KASAN|UBSAN|general protection fault|Call Trace:|segfault' /tmp/dmesg.all >/tmp/dmesg.bad; then
		tap_not_ok "domU kernel log has no panic, bug, warning, oops, sanitizer report or segfault"
		diag_file /tmp/dmesg.bad 10
	else
		tap_ok "domU kernel log has no panic, bug, warning, oops, sanitizer report or segfault"
	fi
fi
if [ -f "$KMEMLEAK" ]; then
	sleep 6		# kmemleak reports objects at least 5 s old
	debug_checks "end of the boot"
fi
tap_plan
if [ -n "$PVB_DOMU" ]; then
	# the results again, for the dom0 to fill what its copy of the console
	# lost (seen: one line in a few hundred)
	grep -E '^(not )?ok [0-9]+ ' /tmp/pvb.tap.all | while IFS= read -r l; do
		echo "PVBTAP-RECAP: $l" >/dev/console
	done
	echo "PVBTAP-RECAP: 1..$(cat "$PVB_TAPN" 2>/dev/null || echo 0)" >/dev/console
fi
tap_line "# pvb-done"
# xenconsoled reads a domU's console ring after the fact: give it time to
# log the last lines before the domain is gone
[ -n "$PVB_DOMU" ] && sleep 2
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
