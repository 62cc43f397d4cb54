#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A Debian 13 (trixie) build root for the kernels whose headers the Debian 12
# host cannot build for: Debian 13's 6.12 and trixie-backports' 7.x (Debian's
# 7.x headers ask for gcc-14's -fmin-function-alignment).  Made once with
# debootstrap into the cache ($PVB_CACHE/trixie-root, never in git), with
# trixie, trixie-updates, trixie-backports and trixie-security in its
# sources and the header packages installed inside.  Idempotent: an existing
# root is only updated when the header packages it should hold changed.
#
# Usage: scripts/trixie-root.sh            make or refresh it, print its path
#        scripts/trixie-root.sh --path     print its path (made or not)
#        scripts/trixie-root.sh --run DIR CMD...
#                                          run CMD in it, in DIR, which is
#                                          bound to the same path inside
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PVB_CACHE:-$top/.cache/vm}
root=$cache/trixie-root
mirror=${PVB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
secmirror=${PVB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# what the root holds: the build tools, and the header meta-packages whose
# dependencies name the releases (Debian 13's 6.12 and backports' 7.x)
tools="gcc-14,make,libc6-dev,bc,libelf-dev,kmod,sparse,xz-utils"
# (the meta-package of trixie and the one of trixie-backports, each resolved
# to the release it depends on: both series are installed side by side)
metas="linux-headers-amd64/trixie linux-headers-amd64/trixie-backports"
stamp_text="$tools $metas v1"

die() { echo "trixie-root: $*" >&2; exit 1; }

# bind the host's /proc, /dev, /sys and the directories in $binds (where a
# build reads and writes) to the same paths inside; unbound after each
# command, so no mount outlives it
binds=""
mounted() { mountpoint -q "$root$1"; }
bind_all() {
	local d
	for d in /proc /dev /sys $binds; do
		mkdir -p "$root$d"
		mounted "$d" || mount --bind "$d" "$root$d"
	done
}
unbind_all() {
	local d
	for d in $binds /sys /dev /proc; do
		! mounted "$d" || umount -l "$root$d" || true
	done
}

in_root() {
	bind_all
	local rc=0
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
	unbind_all
	return $rc
}

make_root() {
	command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
	if [[ ! -x $root/usr/bin/gcc-14 ]]; then
		rm -rf "$root.tmp"
		mkdir -p "$cache"
		echo "== debootstrap trixie into $root (minutes)" >&2
		debootstrap --variant=minbase --include="$tools" trixie "$root.tmp" "$mirror" >&2 ||
			die "debootstrap failed (log: $root.tmp/debootstrap/debootstrap.log)"
		mv "$root.tmp" "$root"
	fi
	cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror trixie main
deb $mirror trixie-updates main
deb $mirror trixie-backports main
deb $secmirror trixie-security main
SRC
	# kernel headers say "gcc", the root's gcc-14 is it
	ln -sf gcc-14 "$root/usr/bin/gcc"
	[[ -e $root/usr/bin/cc ]] || ln -sf gcc-14 "$root/usr/bin/cc"
	in_root apt-get -q update >&2
	local m pkgs=()
	for m in $metas; do
		pkgs+=("$(in_root apt-cache depends "$m" |
			  sed -n 's/^ *Depends: \(linux-headers-[^ ]*-amd64\)$/\1/p' | head -n 1)")
		[[ -n ${pkgs[-1]} ]] || die "cannot resolve $m in the root"
	done
	echo "== trixie root: installing ${pkgs[*]}" >&2
	in_root apt-get -q -y --no-install-recommends -t trixie-backports install "${pkgs[@]}" >&2
	in_root apt-get -q clean
	echo "$stamp_text" >"$root/.pvb-stamp"
}

case ${1:-} in
--path) echo "$root"; exit 0 ;;
--run)
	[[ $# -ge 3 ]] || die "usage: $0 --run DIR CMD..."
	[[ -f $root/.pvb-stamp ]] || die "no root at $root (scripts/trixie-root.sh)"
	binds=$(cd "$2" && pwd)
	shift 2
	in_root /bin/sh -c 'cd "$0" && exec "$@"' "$binds" "$@"
	exit
	;;
"") ;;
*) die "usage: $0 [--path | --run CMD...]" ;;
esac
if [[ $(cat "$root/.pvb-stamp" 2>/dev/null) != "$stamp_text" ]]; then
	make_root
fi
echo "$root"
