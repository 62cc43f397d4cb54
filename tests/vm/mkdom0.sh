#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the dom0 part of the domU lane's initramfs: an archive that the boot
# loads after the ordinary guest initramfs (the kernel unpacks concatenated
# archives in order), adding the toolstack of the Xen the dom0 boots on (xl,
# xenstored, xenconsoled, xen-init-dom0 and the xenstore tools, with every
# shared library they load and the dynamic loader), the domU's kernel and its
# initramfs (the ordinary one: the domU runs the same /init and scenarios)
# and tests/vm/domu-host.sh, which starts the toolstack and the domU, with
# tests/vm/domu-lib.sh, its tools, which the dom0 scenarios use too.
# Cached by content like mkinitramfs.sh.
#
# The toolstack is Debian's (fetch.sh xentools, xentools-4.20), unpacked,
# never installed.  Its libraries are those the programs need (DT_NEEDED,
# followed recursively), found in the unpacked packages first, then in the
# system of the Xen's Debian release: this (Debian 12) host for 4.17, the
# trixie build root (scripts/trixie-root.sh) for 4.20, whose tools need
# Debian 13's C library.  The dynamic loader and libgcc_s (glibc's
# pthread_cancel, which xl calls, loads it at run time) come from there too.
#
# Usage: tests/vm/mkdom0.sh XEN_VERSION RELEASE VMLINUZ DOMU_INITRD
#        (XEN_VERSION: 4.17 or 4.20; prints the path)
# Env:   PVB_CACHE (default .cache/vm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[[ $# -eq 4 ]] || die "usage: $0 4.17|4.20 RELEASE VMLINUZ DOMU_INITRD"
xv=$1 rel=$2 vmlinuz=$3 domu_initrd=$4
case $xv in
4.17) sysroot= ;;
4.20)
	sysroot=$(readlink -f "$("$top/scripts/trixie-root.sh" --path)")
	[[ -f $sysroot/.pvb-stamp ]] || die "no trixie root: run scripts/trixie-root.sh"
	;;
*) die "no toolstack for Xen $xv (4.17 or 4.20)" ;;
esac
read -r _ xt < <("$here/fetch.sh" "$(xentools_item "$xv")") || die "cannot fetch the Xen $xv tools"
xt=$(readlink -f "$xt")
xbin=/usr/lib/xen-$xv/bin

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{"${xbin#/}",lib64,lib/x86_64-linux-gnu,etc/xen,domu,lib/pvb}

# the programs, where the packages put them (libxl finds its helpers there)
tools=(xl xenstored xenconsoled xen-init-dom0 xenstore-control)
for t in "${tools[@]}"; do
	cp "$xt$xbin/$t" "$stage$xbin/"
done
for t in xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm; do
	[[ -e $xt/usr/bin/$t ]] && cp -L "$xt/usr/bin/$t" "$stage$xbin/"
done

# where a library is looked up: the packages' directories, then the
# system's (the multiarch directories, as its ld.so searches them)
mapfile -t libdirs < <(find "$xt" -name '*.so*' -printf '%h\n' | sort -u)
libdirs+=("$sysroot/lib/x86_64-linux-gnu" "$sysroot/usr/lib/x86_64-linux-gnu")

# sys_file PATH: PATH of the system (host or root), its symlinks followed
# (they must stay inside the root: an absolute one would name the host's)
sys_file() {
	local f
	f=$(readlink -f "$sysroot$1") || die "no $1 in ${sysroot:-this host}"
	[[ -z $sysroot || $f == "$sysroot"/* ]] || die "$sysroot$1 leads out of the root ($f)"
	[[ -f $f ]] || die "no $1 in ${sysroot:-this host}"
	echo "$f"
}

# needed FILE: the DT_NEEDED names of FILE
needed() {
	LC_ALL=C readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# add_libs FILE...: every library FILE needs, recursively, copied by its
# name into lib/x86_64-linux-gnu (the loader is staged apart)
add_libs() {
	local f lib d p
	for f in "$@"; do
		for lib in $(needed "$f"); do
			[[ $lib == ld-linux-x86-64.so.2 ]] && continue
			[[ -e $stage/lib/x86_64-linux-gnu/$lib ]] && continue
			p=
			for d in "${libdirs[@]}"; do
				[[ -e $d/$lib ]] && { p=$d/$lib; break; }
			done
			[[ -n $p ]] || die "${f##*/} needs $lib: not in the Xen $xv packages nor in ${sysroot:-this host}"
			if [[ $p == "$xt"/* ]]; then
				p=$(readlink -f "$p")
			else
				p=$(sys_file "${p#"$sysroot"}")
			fi
			cp "$p" "$stage/lib/x86_64-linux-gnu/$lib"
			add_libs "$stage/lib/x86_64-linux-gnu/$lib"
		done
	done
}
add_libs "$stage$xbin"/*
cp "$(sys_file /lib64/ld-linux-x86-64.so.2)" "$stage/lib64/ld-linux-x86-64.so.2"
cp "$(sys_file /lib/x86_64-linux-gnu/libgcc_s.so.1)" "$stage/lib/x86_64-linux-gnu/libgcc_s.so.1"
# the staged loader resolves every program within the stage, symbol
# versions included (this host's kernel runs either Debian's loader)
for f in "$stage$xbin"/*; do
	out=$("$stage/lib64/ld-linux-x86-64.so.2" --inhibit-cache \
		--library-path "$stage/lib/x86_64-linux-gnu" --list "$f" 2>&1) ||
		die "${f##*/} does not load with the staged libraries: $out"
	bad=$(awk -v s="$stage/" '/not found/ || ($2 == "=>" && index($3, s) != 1)' <<<"$out")
	[[ -z $bad ]] || die "${f##*/} loads what the stage lacks: $bad"
done

printf 'autoballoon="off"\n' >"$stage/etc/xen/xl.conf"
cp "$vmlinuz" "$stage/domu/vmlinuz"
cp "$domu_initrd" "$stage/domu/initrd.gz"
install -m 755 "$here/domu-host.sh" "$stage/lib/pvb/domu-host.sh"
install -m 644 "$here/domu-lib.sh" "$stage/lib/pvb/domu-lib.sh"
install -m 755 "$here/block-hotplug.sh" "$stage/lib/pvb/block-hotplug"
install -m 755 "$here/vif-hotplug.sh" "$stage/lib/pvb/vif-hotplug"
mkdir -p "$stage/bin"
cp "$(build_static_tool pvbfollow)" "$stage/bin/pvbfollow"

pack_cached "$stage" "dom0-$rel" 4
