# SPDX-License-Identifier: GPL-2.0
# Harness self-test (not part of the regular runs): a scenario that prints
# no result at all, as one whose module is missing from the initramfs might.
# /init must report it as not ok (run-all.sh's self-test boots this).
:
