#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build pvbounce.ko (and the test and benchmark modules) for one kernel in a
# copy of the sources.  Any compiler or sparse warning fails the build.
# A KDIR inside the trixie build root (scripts/trixie-root.sh, for Debian
# 13's kernels) is built inside it, with OUTDIR bound in.
# Usage: scripts/build-one.sh KDIR OUTDIR ["EXTRA make args"]
set -e
kdir=$1 out=$2 extra=$3
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Refresh the copy (keep objects of unchanged files).
tar -C "$top" -cf - Kbuild dkms.conf src include tests/kmod tests/bench | tar -C "$out" -xf -
log=$out/build.log
root=$("$top/scripts/trixie-root.sh" --path)
run=""
case $kdir in
"$root"/*)
	kdir=${kdir#"$root"}
	run="$top/scripts/trixie-root.sh --run $out"
	;;
esac
echo "== build $(basename "$kdir") $extra"
rc=0
$run make -C "$kdir" M="$out" $extra modules >"$log" 2>&1 || rc=$?
if [ -f "$out/tests/kmod/Kbuild" ]; then
	$run make -C "$kdir" M="$out/tests/kmod" KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" $extra modules >>"$log" 2>&1 || rc=$?
fi
if [ -f "$out/tests/bench/Kbuild" ]; then
	$run make -C "$kdir" M="$out/tests/bench" $extra modules >>"$log" 2>&1 || rc=$?
fi
# sparse and W=1 warnings; the kernel's own headers are not ours to fix.
if grep -E "(warning|error):" "$log" | grep -v "^/usr/src/" >/dev/null; then
	grep -E "(warning|error):" "$log" | grep -v "^/usr/src/"
	echo "== FAIL: warnings in $(basename "$kdir") build (log: $log)"
	exit 1
fi
if [ $rc -ne 0 ]; then
	cat "$log"
	echo "== FAIL: build failed for $(basename "$kdir")"
	exit 1
fi
echo "== ok: $out/pvbounce.ko"
