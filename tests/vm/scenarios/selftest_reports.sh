# SPDX-License-Identifier: GPL-2.0
# Harness self-test (not part of the regular runs): the headlines of the
# debug kernel's checkers that are not BUG/WARNING lines, and a WARNING after
# a forced allocation failure's warning and a domU's report, written to the
# kernel log as the checkers would print them.  run.sh must fail the boot
# and name each (run-all.sh's self-test boots this before selftest_crash).
. /scenarios/lib.sh
for l in "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" \
	 "DMA-API: debugging out of memory - disabling" \
	 "ODEBUG: free active (active state 0) object: 00000000deadbeef object type: timer_list hint: pvb_selftest+0x0/0x10" \
	 "INFO: trying to register non-static key."; do
	echo "<3>$l" >/dev/kmsg
done
# an allocator warning after a failure the fault injection forced is left
# out of the check (the faults scenario), a report after it is not: were
# the block's own Call Trace counted, the WARNING would not be among the
# first five lines run.sh names
for l in "FAULT_INJECTION: forcing a failure." \
	 "name failslab, interval 1, probability 0, space 0, times -1" \
	 "insmod: vmalloc error: size 8192, failed to allocate pages, mode:0xdc0(GFP_KERNEL|__GFP_ZERO), nodemask=(null)" \
	 "CPU: 0 UID: 0 PID: 1 Comm: insmod" \
	 "Call Trace:" \
	 " <TASK>" \
	 " dump_stack_lvl+0x0/0x10" \
	 " </TASK>" \
	 "WARNING: CPU: 0 PID: 1 at pvb_selftest+0x0/0x10: a report after a forced failure"; do
	echo "<3>$l" >/dev/kmsg
done
sleep 1	# the kernel's lines above printed first
# the domU lane's console: the lines of an attempt the dom0 discarded (its
# domU crashed in its boot) are left out, those of the next attempt are not
for l in "pvb-domu: attempt 1 begins" \
	 "domU: [    1.000000] WARNING: CPU: 0 PID: 1 at pvb_selftest+0x0/0x10: in a discarded attempt" \
	 "pvb-domu: attempt 1 discarded" \
	 "pvb-domu: attempt 2 begins" \
	 "domU: [    1.000000] WARNING: CPU: 0 PID: 1 at pvb_selftest+0x0/0x10: in the attempt that counts"; do
	echo "$l" >/dev/console
done
tap_ok "checker reports written to the kernel log"
