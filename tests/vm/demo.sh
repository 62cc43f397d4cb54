#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` (root): apt-get install what is missing of the tools below (no
# kernel package: Debian's linux-headers-6.12-amd64 depends on its
# linux-image, which would become the host's default kernel), unpack the
# Debian kernel's headers (unless installed), image and Xen 4.17 into the
# cache, build pvbounce for that one kernel, boot a Xen PV dom0 in QEMU with
# an NVMe disk, attach pvbounce to it, run verified I/O and show backend, pool
# placement, counters and the NVMe max transfer size.
# Env: PVB_DEMO_KERNEL (6.1 or 6.12, default 6.1), PVB_CACHE (default
#      .cache/vm), PVB_HEADERS=fetched (build against unpacked headers even
#      when the header packages are installed), PVB_BUILD (default build/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
series=${PVB_DEMO_KERNEL:-6.1}

case $series in 6.1|6.12) ;; *) die "PVB_DEMO_KERNEL must be 6.1 or 6.12" ;; esac
[[ $(id -u) -eq 0 ]] || die "run as root (it may apt-get install packages)"
tools=(qemu-system-x86 busybox-static cpio xz-utils zstd kmod gcc make libc6-dev
       binutils libelf-dev bc)
echo "== make demo installs (apt-get, only those missing): ${tools[*]}"
echo "   and nothing else: the Debian $series kernel headers (unless installed), its image"
echo "   and Xen 4.17 are unpacked into $cache (apt-get download, dpkg-deb -x),"
echo "   not installed; the host's kernels and boot loader are left as they are"
need=()
for p in "${tools[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || need+=("$p")
done
if ((${#need[@]})); then
	echo "== installing ${need[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
else
	echo "== all of them are installed already"
fi

if kdir=$("$top/scripts/kdirs.sh" "$series" 2>/dev/null); then
	echo "== kernel headers: $kdir"
else
	echo "== fetching the Debian $series kernel headers (unpacked into $cache/headers, not installed)"
	read -r _ _ _ kdir < <("$here/fetch.sh" "headers-$series") ||
		die "cannot fetch the $series headers (apt-get update?)"
	echo "== kernel headers: $kdir"
fi
rel=${kdir##*/linux-headers-}
echo "== building pvbounce for $rel"
"$top/scripts/build-one.sh" "$kdir" "${PVB_BUILD:-$top/build}/$rel"
echo "== fetching the Debian $series kernel image and Xen 4.17 (unpacked into $cache)"
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
