# SPDX-License-Identifier: GPL-2.0
# Harness self-test (not part of the regular runs): a scenario whose every
# result is a SKIP.  Under CI (pvb.ci=1) /init must report it as not ok
# (run-all.sh's self-test boots this with pvb.ci=1).
. /scenarios/lib.sh
tap_skip "a test that did not run" "the harness self-test"
