#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the dom0 part of the domU lane's initramfs: an archive that the boot
# loads after the ordinary guest initramfs (the kernel unpacks concatenated
# archives in order), adding Xen 4.17's toolstack (xl, xenstored,
# xenconsoled, xen-init-dom0 and the xenstore tools, with every shared
# library they load and the dynamic loader), the domU's kernel and its
# initramfs (the ordinary one: the domU runs the same /init and scenarios)
# and tests/vm/domu-host.sh, which starts the toolstack and the domU.
# Cached by content like mkinitramfs.sh.
#
# Usage: tests/vm/mkdom0.sh RELEASE VMLINUZ DOMU_INITRD   (prints the path)
# Env:   PVB_CACHE (default .cache/vm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[[ $# -eq 3 ]] || die "usage: $0 RELEASE VMLINUZ DOMU_INITRD"
rel=$1 vmlinuz=$2 domu_initrd=$3
read -r _ xt < <("$here/fetch.sh" xentools) || die "cannot fetch the Xen tools"
xbin=$xt/usr/lib/xen-4.17/bin

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{usr/lib/xen-4.17/bin,lib64,lib/x86_64-linux-gnu,etc/xen,domu,lib/pvb}

# the programs, where the packages put them (libxl finds its helpers there)
tools=(xl xenstored xenconsoled xen-init-dom0 xenstore-control)
for t in "${tools[@]}"; do
	cp "$xbin/$t" "$stage/usr/lib/xen-4.17/bin/"
done
for t in xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm; do
	[[ -e $xt/usr/bin/$t ]] && cp -L "$xt/usr/bin/$t" "$stage/usr/lib/xen-4.17/bin/"
done

# their libraries: the Xen ones from the packages, the rest from this host
libpath=$(find "$xt" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' :)
for f in "$stage"/usr/lib/xen-4.17/bin/*; do
	LD_LIBRARY_PATH=$libpath ldd "$f" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
	cp -L "$lib" "$stage/lib/x86_64-linux-gnu/${lib##*/}"
done
LD_LIBRARY_PATH=$libpath ldd "$stage/usr/lib/xen-4.17/bin/xl" | grep -q 'not found' &&
	die "xl has unresolved libraries"
cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
# glibc's pthread_cancel (xl's) loads it at run time
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$stage/lib/x86_64-linux-gnu/"

printf 'autoballoon="off"\n' >"$stage/etc/xen/xl.conf"
cp "$vmlinuz" "$stage/domu/vmlinuz"
cp "$domu_initrd" "$stage/domu/initrd.gz"
install -m 755 "$here/domu-host.sh" "$stage/lib/pvb/domu-host.sh"
mkdir -p "$stage/bin"
cp "$(build_static_tool pvbfollow)" "$stage/bin/pvbfollow"

pack_cached "$stage" "dom0-$rel" 4
