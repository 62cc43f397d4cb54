#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` as a test (run-all.sh's group "ship"): tests/vm/demo.sh with
# PVB_HEADERS=fetched, so that pvbounce is built against headers unpacked into
# the cache (the path of a machine without the header packages) into a
# temporary build dir, and the demo boot loads that module.  TAP.
# Env: PVB_DEMO_KERNEL (default 6.1), and what demo.sh and run.sh take.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
build=$(mktemp -d /tmp/pvb-demo.XXXXXX)
trap 'rm -rf "$build"' EXIT
kernels() { dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-*' 2>/dev/null | grep ' installed$' | sort; }
before=$(kernels)
start=$(date +%s)
out=$(PVB_HEADERS=fetched PVB_BUILD=$build "$here/demo.sh" 2>&1)
rc=$?
sed 's/^/# /' <<<"$out"
n=0
t() { # RC DESC
	n=$((n + 1))
	if [[ $1 -eq 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
t $rc "make demo (PVB_HEADERS=fetched) passes in $(($(date +%s) - start)) s"
grep -q '^== make demo installs (apt-get, only those missing): ' <<<"$out"
t $? "it says what it installs"
grep -q "^== kernel headers: $cache/headers/.*/usr/src/linux-headers-" <<<"$out"
t $? "it built against the headers unpacked into $cache/headers"
ls "$build"/*/pvbounce.ko >/dev/null 2>&1
t $? "pvbounce.ko was built into the demo's build dir"
grep -q '^ok: nvme probed on pvbounce' <<<"$out" && grep -q '^ok: verified O_DIRECT I/O' <<<"$out"
t $? "the demo's guest ran verified I/O on pvbounce"
[[ $(kernels) == "$before" ]]
t $? "no linux-image package installed or removed"
echo "1..$n"
