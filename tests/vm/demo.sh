#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` (root): install what is missing (QEMU, busybox, kernel headers),
# fetch a Debian kernel image and Xen 4.17, build pvbounce, boot a Xen PV dom0
# in QEMU with an NVMe disk, attach pvbounce to it, run verified I/O and show
# backend, pool placement, counters and the NVMe max transfer size.
# Env: PVB_DEMO_KERNEL (6.1 or 6.12, default 6.1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
series=${PVB_DEMO_KERNEL:-6.1}

[[ $(id -u) -eq 0 ]] || die "run as root (it may apt-get install packages)"
need=()
for p in qemu-system-x86 busybox-static cpio xz-utils zstd kmod gcc make libc6-dev \
	 binutils libelf-dev bc linux-headers-amd64 linux-headers-6.12-amd64; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || need+=("$p")
done
if ((${#need[@]})); then
	echo "== installing ${need[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

echo "== building pvbounce"
make -C "$top" --no-print-directory build-all
echo "== fetching the Debian $series kernel image and Xen 4.17 (cached in $cache)"
"$here/fetch.sh" "$series" xen
echo "== booting Xen 4.17 with Debian $series as PV dom0 in QEMU (TCG, about a minute)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$here/run.sh" "$series" xen demo >"$out" || rc=$?
# the guest's report, without TAP numbering
sed -n -e 's/^# \{0,1\}//p' -e 's/^\(not ok\|ok\) [0-9]* - /\1: /p' "$out" |
	grep -v '^=== scenario\|^pvb-done\|^kernel .*, mode' || true
if ((rc)); then
	echo "== demo FAILED (console log in ${PVB_LOGDIR:-$top/build/vm-logs})"
	exit 1
fi
echo "== demo done"
