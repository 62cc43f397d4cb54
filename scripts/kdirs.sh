#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel build directories of the kernel series pvbounce is built
# for, resolved through the meta-packages (ABI numbers change with security
# updates): Debian 12's 6.1 and 6.12 on the host, Debian 13's 6.12
# (6.12-deb13) and trixie-backports' 7.3 inside the trixie build root that
# scripts/trixie-root.sh makes (their headers need gcc-14); those two are
# printed as paths into that root (scripts/build-one.sh builds inside it).
# Without the header packages, headers unpacked by `tests/vm/fetch.sh
# headers-<series>` into $PVB_CACHE/headers/ (what `make demo` does on a
# machine without them); PVB_HEADERS=fetched uses only those.
# Usage: scripts/kdirs.sh [6.1|6.12|6.12-deb13|7.3]
#        (no argument: all four, one per line; PVB_SERIES narrows that list)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PVB_CACHE:-$top/.cache/vm}
# Debian 13's series: the release its meta-package in the root depends on
# (6.12-deb13: trixie's linux-headers-amd64, 7.3: trixie-backports')
in_root() {
	root=$("$top/scripts/trixie-root.sh" --path)
	dep=$(chroot "$root" dpkg-query -W -f='${Depends}\n' "linux-headers-$1*-amd64" 2>/dev/null |
	      tr ',' '\n' | sed -n 's/^ *\(linux-headers-[0-9.]*+deb13-common\).*/\1/p' |
	      sort -V | tail -n 1)
	dep=${dep%-common}-amd64
	[ -n "${dep%-amd64}" ] && [ -d "$root/usr/src/$dep" ] || {
		echo "kdirs: no $1 headers in the trixie root $root (scripts/trixie-root.sh)" >&2
		exit 1
	}
	echo "$root/usr/src/$dep"
}
meta_of() {
	case "$1" in
	6.1) echo linux-headers-amd64 ;;
	6.12) echo linux-headers-6.12-amd64 ;;
	*) echo "kdirs: unknown series $1" >&2; exit 2 ;;
	esac
}
# the newest headers of series $1 that fetch.sh unpacked
fetched() {
	dir=$(ls -d "$cache"/headers/"$1".*/usr/src/linux-headers-*-amd64 2>/dev/null |
	      sort -V | tail -n 1)
	[ -n "$dir" ] && [ -f "$dir/include/config/kernel.release" ] || {
		echo "kdirs: no unpacked $1 headers in $cache/headers (tests/vm/fetch.sh headers-$1)" >&2
		return 1
	}
	echo "$dir"
}
resolve() {
	case "$1" in
	6.12-deb13) in_root 6.12; return ;;
	7.3) in_root 7.3; return ;;
	esac
	if [ "${PVB_HEADERS:-}" = fetched ]; then
		fetched "$1"
		return
	fi
	meta=$(meta_of "$1")
	dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null | tr ',' '\n' |
	      sed -n 's/^ *\(linux-headers-[^ ]*\).*/\1/p' | head -n 1)
	if [ -z "$dep" ]; then
		fetched "$1" 2>/dev/null && return
		echo "kdirs: $meta is not installed" >&2
		exit 1
	fi
	dir=/usr/src/$dep
	[ -d "$dir" ] || { echo "kdirs: $dir missing" >&2; exit 1; }
	echo "$dir"
}
if [ $# -eq 0 ]; then
	for s in ${PVB_SERIES:-6.1 6.12 6.12-deb13 7.3}; do
		resolve "$s"
	done
else
	resolve "$1"
fi
