# SPDX-License-Identifier: GPL-2.0
# Harness self-test (not part of the regular runs): the headlines of the
# debug kernel's checkers that are not BUG/WARNING lines, written to the
# kernel log as the checkers would print them.  run.sh must fail the boot
# and name each (run-all.sh's self-test boots this before selftest_crash).
. /scenarios/lib.sh
for l in "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" \
	 "DMA-API: debugging out of memory - disabling" \
	 "ODEBUG: free active (active state 0) object: 00000000deadbeef object type: timer_list hint: pvb_selftest+0x0/0x10" \
	 "INFO: trying to register non-static key."; do
	echo "<3>$l" >/dev/kmsg
done
tap_ok "checker reports written to the kernel log"
