#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Download and unpack the Debian kernel images and Xen (4.17 for Debian 12's
# kernels, 4.20 for Debian 13's) that the QEMU tests boot, into the cache
# ($PVB_CACHE, default .cache/vm).  Idempotent: what is already there (same
# package version) is not fetched again.
#
# Debian 13's (6.12-deb13: trixie's 6.12, 7.3: trixie-backports') and Xen
# 4.20 are downloaded by the apt of the trixie build root
# (scripts/trixie-root.sh), of the release of the headers installed there;
# 7.x images come as linux-binary-<release> (vmlinuz under
# /usr/lib/modules/<release>/) plus linux-modules-<release> and
# linux-base-<release> (modules.builtin and modules.order).  The unpacked
# tree is laid out as Debian 12's (boot/vmlinuz-<release>, lib/modules/)
# and depmod is run on it.
#
# The kernel release is the one of the installed headers (scripts/kdirs.sh),
# so the image always matches what pvbounce.ko was built against; without
# headers it is resolved through the meta-package's Depends.  Nothing is
# installed: packages are fetched with apt-get download and unpacked with
# dpkg-deb -x (no postinst, no initramfs hooks).
#
# headers-<series> (for `make demo` on a machine without the header packages,
# which would pull a linux-image in and make it the default kernel): the
# headers of the image's release, their -common tree and linux-kbuild's tools,
# unpacked into one root ($PVB_CACHE/headers/<release>/) with the Makefile's
# include pointed at the unpacked -common tree; scripts/kdirs.sh finds them.
#
# Usage: tests/vm/fetch.sh [6.1|6.12|6.12-deb13|7.3|xen|xen-4.20|xentools|
#                          xentools-4.20|headers-6.1|headers-6.12]...
#        (default: 6.1 6.12 xen)
# Prints one line per item:
#   kernel <series> <release> <vmlinuz> <modules dir>
#   xen <multiboot image>      (xen: 4.17, xen-4.20: 4.20)
#   headers <series> <release> <kernel build dir>
#   xentools <dir>     (xentools: Xen 4.17's toolstack, xentools-4.20:
#                       Debian 13's Xen 4.20's, xl and xenstored with their
#                       Xen libraries, unpacked into one tree for the domU
#                       lane's dom0 initramfs: tests/vm/mkdom0.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# download PKG[=VERSION] into $cache/debs, print the .deb's path
download() {
	local spec=$1 pkg=${1%%=*} ver deb
	if [[ $spec == *=* ]]; then
		ver=${spec#*=}
	else
		ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	fi
	[[ -n $ver && $ver != "(none)" ]] || die "no candidate for $pkg (run apt-get update?)"
	# dpkg-deb names: epoch colon becomes %3a
	deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [[ -z $deb ]]; then
		mkdir -p "$cache/debs"
		(cd "$cache/debs" &&
		 apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n 1)
	fi
	echo "$deb"
}

# unpack DEB into DIR unless DIR/.stamp names it already
unpack() {
	local deb=$1 dir=$2
	if [[ $(cat "$dir/.stamp" 2>/dev/null) != "$(basename "$deb")" ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		basename "$deb" >"$dir/.stamp"
	fi
}

fetch_kernel() {
	local series=$1 rel pkg ver="" kdir deb root
	if kdir=$("$top/scripts/kdirs.sh" "$series" 2>/dev/null); then
		rel=${kdir##*/linux-headers-}
		# installed headers, or headers unpacked by fetch_headers
		ver=$(dpkg-query -W -f='${Version}' "linux-headers-$rel" 2>/dev/null ||
		      cat "$(headers_root "$rel")/.version")
		pkg=linux-image-$rel
	else
		pkg=$(apt-cache depends "$(image_meta "$series")" 2>/dev/null |
		      sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n 1)
		[[ -n $pkg ]] || die "cannot resolve $(image_meta "$series") (apt-get update?)"
		rel=${pkg#linux-image-}
	fi
	deb=$(download "$pkg${ver:+=$ver}")
	root=$(kernel_root "$rel")
	unpack "$deb" "$root"
	[[ -f $root/boot/vmlinuz-$rel && -d $root/lib/modules/$rel ]] ||
		die "$deb has no vmlinuz-$rel or modules"
	echo "kernel $series $rel $root/boot/vmlinuz-$rel $root/lib/modules/$rel"
}

# download13 PKG [VERSION]: the trixie root's apt fetches PKG's VERSION
# (default: its candidate) into $cache/debs; prints the .deb's path
download13() {
	local pkg=$1 ver=${2:-} deb root
	root=$("$top/scripts/trixie-root.sh" --path)
	[[ -f $root/.pvb-stamp ]] || die "no trixie root: run scripts/trixie-root.sh"
	[[ -n $ver ]] || ver=$(chroot "$root" apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	[[ -n $ver && $ver != "(none)" ]] || die "no candidate for $pkg in the trixie root"
	deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [[ -z $deb ]]; then
		mkdir -p "$cache/debs"
		"$top/scripts/trixie-root.sh" --run "$cache/debs" \
			apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >&2 ||
			die "apt-get download $pkg=$ver (trixie root) failed"
		deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n 1)
	fi
	echo "$deb"
}

# Debian 13's kernel of series $1, of the release of the root's headers
fetch_kernel13() {
	local series=$1 kdir rel root debs=() p stamp
	kdir=$("$top/scripts/kdirs.sh" "$series") || die "no $series headers (scripts/trixie-root.sh)"
	rel=${kdir##*/linux-headers-}
	case $series in
	7.*) for p in linux-base-$rel linux-binary-$rel linux-modules-$rel; do debs+=("$(download13 "$p")"); done ;;
	*) debs+=("$(download13 "linux-image-$rel")") ;;
	esac
	root=$(kernel_root "$rel")
	stamp=$(printf '%s\n' "${debs[@]##*/}")
	if [[ $(cat "$root/.stamp" 2>/dev/null) != "$stamp" ]]; then
		rm -rf "$root" "$root.tmp"
		mkdir -p "$root.tmp"
		for p in "${debs[@]}"; do
			dpkg-deb -x "$p" "$root.tmp"
		done
		# Debian 12's layout, which mkinitramfs.sh and run.sh read
		if [[ ! -e $root.tmp/lib/modules && -d $root.tmp/usr/lib/modules ]]; then
			ln -s usr/lib "$root.tmp/lib"
		fi
		mkdir -p "$root.tmp/boot"
		if [[ ! -f $root.tmp/boot/vmlinuz-$rel && -f $root.tmp/usr/lib/modules/$rel/vmlinuz ]]; then
			ln -s "../usr/lib/modules/$rel/vmlinuz" "$root.tmp/boot/vmlinuz-$rel"
		fi
		depmod -b "$root.tmp" "$rel"
		echo "$stamp" >"$root.tmp/.stamp"
		mv "$root.tmp" "$root"
	fi
	[[ -f $root/boot/vmlinuz-$rel && -d $root/lib/modules/$rel ]] ||
		die "${debs[*]} have no vmlinuz-$rel or modules"
	echo "kernel $series $rel $root/boot/vmlinuz-$rel $root/lib/modules/$rel"
}

# fetch_xen VERSION: Xen 4.17 from the host's apt (Debian 12), 4.20 from the
# trixie root's (Debian 13)
fetch_xen() {
	local v=$1 deb dir
	if [[ $v == 4.17 ]]; then
		deb=$(download xen-hypervisor-4.17-amd64)
		dir=$cache/xen
	else
		deb=$(download13 "xen-hypervisor-$v-amd64")
		dir=$cache/xen-$v
	fi
	unpack "$deb" "$dir"
	# QEMU's -kernel takes a multiboot ELF, not the .gz
	if [[ ! -s $dir/xen-$v-amd64 || $dir/boot/xen-$v-amd64.gz -nt $dir/xen-$v-amd64 ]]; then
		gzip -dc "$dir/boot/xen-$v-amd64.gz" >"$dir/xen-$v-amd64.tmp"
		mv "$dir/xen-$v-amd64.tmp" "$dir/xen-$v-amd64"
	fi
	echo "xen $dir/xen-$v-amd64"
}

# the release of the image the image meta-package of series $1 depends on
image_release() {
	local pkg
	pkg=$(apt-cache depends "$(image_meta "$1")" 2>/dev/null |
	      sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n 1)
	[[ -n $pkg ]] || die "cannot resolve $(image_meta "$1") (apt-get update?)"
	pkg=${pkg#linux-image-}
	echo "${pkg%-unsigned}"
}

fetch_headers() {
	local series=$1 rel ver root p deb deps
	rel=$(image_release "$series")
	root=$(headers_root "$rel")
	ver=$(apt-cache policy "linux-headers-$rel" | sed -n 's/^ *Candidate: //p')
	[[ -n $ver && $ver != "(none)" ]] || die "no candidate for linux-headers-$rel (apt-get update?)"
	if [[ $(cat "$root/.version" 2>/dev/null) != "$ver" ]]; then
		rm -rf "$root"
		mkdir -p "$root"
		# the arch headers, their -common tree and the kbuild tools that
		# the trees' scripts/ and tools/ symlinks point into
		deps=$(apt-cache depends "linux-headers-$rel=$ver" |
		       sed -n 's/^ *|\{0,1\}Depends: \(linux-\(headers-[^ ]*-common\|kbuild-[^ ]*\)\)$/\1/p')
		for p in "linux-headers-$rel=$ver" $deps; do
			deb=$(download "$p")
			dpkg-deb -x "$deb" "$root"
		done
		# the Makefile includes the -common tree by its absolute path
		sed -i "s|^include /usr/src/|include $root/usr/src/|" \
			"$root/usr/src/linux-headers-$rel/Makefile"
		echo "$ver" >"$root/.version"
	fi
	[[ -f $root/usr/src/linux-headers-$rel/include/config/kernel.release ]] ||
		die "linux-headers-$rel unpacked into $root lacks include/config"
	echo "headers $series $rel $root/usr/src/linux-headers-$rel"

}

# Debian's packages of the toolstack the domU lane runs in its dom0: xl,
# xenstored, xenconsoled and the Xen libraries they load (@V@: the Xen
# version).  mkdom0.sh takes the C library and the other system libraries
# from this host for 4.17 (Debian 12), from the trixie root for 4.20
# (Debian 13): the root has all of them but libyajl.
xentools_pkgs=(xen-utils-@V@ xen-utils-common xenstore-utils libxenmisc@V@
	libxenstore4 libxenhypfs1 libxencall1 libxenforeignmemory1
	libxengnttab1 libxenevtchn1 libxentoollog1 libxentoolcore1
	libxendevicemodel1 libyajl2)

# fetch_xentools VERSION: the packages, unpacked into one tree
# ($cache/xentools for 4.17, $cache/xentools-VERSION else)
fetch_xentools() {
	local v=$1 dir pkgs debs=() p ver stamp policy root
	pkgs=("${xentools_pkgs[@]//@V@/$v}")
	if [[ $v == 4.17 ]]; then
		dir=$cache/xentools
		# one apt-cache call for every candidate (one each takes seconds)
		policy=$(apt-cache policy "${pkgs[@]}")
	else
		dir=$cache/xentools-$v
		root=$("$top/scripts/trixie-root.sh" --path)
		[[ -f $root/.pvb-stamp ]] || die "no trixie root: run scripts/trixie-root.sh"
		policy=$(chroot "$root" apt-cache policy "${pkgs[@]}")
	fi
	while read -r p ver; do
		[[ $ver != "(none)" ]] || continue
		if [[ $v == 4.17 ]]; then
			debs+=("$(download "$p=$ver")")
		else
			debs+=("$(download13 "$p" "$ver")")
		fi
	done < <(awk '/^[^ ].*:$/ { sub(":$", ""); p = $0 }
		      /^ *Candidate:/ { print p, $2 }' <<<"$policy")
	((${#debs[@]} == ${#pkgs[@]})) || die "no candidate for some of ${pkgs[*]} (apt-get update?)"
	stamp=$(printf '%s\n' "${debs[@]##*/}")
	if [[ $(cat "$dir/.stamp" 2>/dev/null) != "$stamp" ]]; then
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		for p in "${debs[@]}"; do
			dpkg-deb -x "$p" "$dir.tmp"
		done
		echo "$stamp" >"$dir.tmp/.stamp"
		mv "$dir.tmp" "$dir"
	fi
	echo "xentools $dir"
}

[[ $# -gt 0 ]] || set -- 6.1 6.12 xen
for what in "$@"; do
	case $what in
	6.1|6.12) fetch_kernel "$what" ;;
	6.12-deb13|7.3) fetch_kernel13 "$what" ;;
	xen) fetch_xen 4.17 ;;
	xen-4.20) fetch_xen 4.20 ;;
	headers-6.1|headers-6.12) fetch_headers "${what#headers-}" ;;
	xentools) fetch_xentools 4.17 ;;
	xentools-4.20) fetch_xentools 4.20 ;;
	*) die "unknown item '$what' (6.1, 6.12, 6.12-deb13, 7.3, xen, xen-4.20, xentools, xentools-4.20, headers-6.1 or headers-6.12)" ;;
	esac
done
