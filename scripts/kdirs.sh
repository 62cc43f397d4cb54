#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel build directories of Debian 12's two kernel series, resolved
# through the meta-packages (ABI numbers change with security updates).
# Usage: scripts/kdirs.sh [6.1|6.12]   (no argument: both, one per line)
set -e
meta_of() {
	case "$1" in
	6.1) echo linux-headers-amd64 ;;
	6.12) echo linux-headers-6.12-amd64 ;;
	*) echo "kdirs: unknown series $1" >&2; exit 2 ;;
	esac
}
resolve() {
	meta=$(meta_of "$1")
	dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null | tr ',' '\n' |
	      sed -n 's/^ *\(linux-headers-[^ ]*\).*/\1/p' | head -n 1)
	[ -n "$dep" ] || { echo "kdirs: $meta is not installed" >&2; exit 1; }
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
