#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel build directories of Debian 12's two kernel series, resolved
# through the meta-packages (ABI numbers change with security updates).
# Without the header packages, headers unpacked by `tests/vm/fetch.sh
# headers-<series>` into $PVB_CACHE/headers/ (what `make demo` does on a
# machine without them); PVB_HEADERS=fetched uses only those.
# Usage: scripts/kdirs.sh [6.1|6.12]   (no argument: both, one per line)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PVB_CACHE:-$top/.cache/vm}
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
	resolve 6.1
	resolve 6.12
else
	resolve "$1"
fi
