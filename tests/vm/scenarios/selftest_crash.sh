# SPDX-License-Identifier: GPL-2.0
# Harness self-test (not part of the regular runs): a kernel crash in the
# middle of a scenario.  run.sh must report it as a failure, quickly.
. /scenarios/lib.sh
tap_ok "before the crash"
echo c >/proc/sysrq-trigger
