#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest initramfs for one kernel release: busybox, the kernel's own
# nvme and e1000e modules with their dependencies (decompressed), pvbounce.ko,
# the test modules tests/kmod/pvbounce_*.ko when build/<release>/ has them, the pvbio
# checker, the pvbbench throughput tool, the pvbfail fault injector, the pvbudp UDP checker, the pvbvfio VFIO
# group holder (and vfio-pci when the kernel has it), tools/pvbounce-stat, /init, the scenarios
# and docs/files.md's and docs/messages.md's tables (/lib/pvb/doc_files, doc_messages, for docs).  The result is cached by content: the same
# inputs give the same file, which is reused.
#
# Usage: tests/vm/mkinitramfs.sh RELEASE    (prints the cpio.gz path)
# Env:   PVB_CACHE (default .cache/vm), PVB_BUILD (default build/)
#        PVB_MODULE_KO  the pvbounce.ko to pack instead of build/<release>'s
#               (e.g. DKMS's output; .ko.xz/.zst/.gz decompressed, not stripped)
#        PVB_NO_KMODS=1  no kernel modules (lib/modules): the image goes after
#               an initramfs that has them (run.sh's PVB_INITRD_BASE); laid out
#               usr-merged as Debian's is (bin, lib, sbin are symlinks into
#               usr/): unpacking a directory where an earlier archive left a
#               symlink of that name replaces the symlink (init/initramfs.c's
#               clean_path), and with it /lib/modules and kmod's modprobe
#        PVB_DRIVERS=1: the drivers group's kernel modules too (see wanted)
#        PVB_FIO=1: Debian's fio with its shared libraries (about 80 MB, so
#        only for the boots that run it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[[ $# -eq 1 ]] || die "usage: $0 RELEASE"
rel=$1
moddir=$(kernel_root "$rel")/lib/modules/$rel
[[ -d $moddir ]] || die "no modules for $rel in the cache: run tests/vm/fetch.sh first"
build=${PVB_BUILD:-$top/build}/$rel

# Kernel modules the guest loads itself; their dependencies come along.
wanted=(nvme e1000e)
# the drivers group (run.sh's PVB_DRIVERS=1): storage and NIC drivers of
# the devices QEMU emulates (virtio_pci is built into Debian 13's kernels)
[[ -n ${PVB_DRIVERS:-} ]] && wanted+=(ahci megaraid_sas sym53c8xx vmw_pvscsi
	xhci-pci usb-storage sd_mod sdhci-pci mmc_block virtio_pci virtio_blk
	virtio_net vmxnet3)
# Xen: the dom0 toolstack's devices (domU lane) and a domU's PCI frontend;
# taken when the kernel has them (the debug kernel, which has no domU lane,
# does not)
optional=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback
	  xen-pcifront)
# a dom0's backends and a domU's frontends (dom0_* scenarios)
optional+=(xen-blkback xen-blkfront xen-netback xen-netfront bridge)
# a VFIO user's IOMMU group (the iommu scenario; type1 is not a dependency
# of vfio, which asks for it when a container sets its IOMMU)
optional+=(vfio-pci vfio_iommu_type1)

pvbio=$(build_pvbio)
pvbbench=$(build_static_tool pvbbench)
pvbfail=$(build_static_tool pvbfail)
pvbvfio=$(build_static_tool pvbvfio)
pvbudp=$(build_static_tool pvbudp)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# busybox-static and its applets
busybox=$(command -v busybox || true)
[[ -n $busybox && $(ldd "$busybox" 2>&1 || true) == *"not a dynamic"* ]] ||
	die "need a static busybox: apt-get install busybox-static"
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,mnt,lib/pvb,scenarios}
cp "$busybox" "$stage/bin/busybox"
for a in $("$busybox" --list); do
	[[ $a == busybox ]] || ln -s busybox "$stage/bin/$a"
done
ln -s bin "$stage/sbin"

# modules: name -> file, closure over depends and same-named softdeps
declare -A file_of=() take=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	file_of[$n]=$f
	file_of[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko*')
add_module() {
	local n=${1//-/_} f d
	[[ -n ${take[$n]:-} ]] && return 0
	f=${file_of[$n]:-}
	if [[ -z $f ]]; then
		grep -q "/${1}.ko\$\|/${n}.ko\$" "$moddir/modules.builtin" && return 0
		return 1
	fi
	take[$n]=$f
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$d" || die "$n needs $d, which $rel does not have"
	done
	for d in $(modinfo -F softdep "$f" | tr ' ' '\n' | grep -v ':$' || true); do
		add_module "$d" || true	# crypto aliases: the generic code works without
	done
}
[[ -n ${PVB_NO_KMODS:-} ]] && wanted=()
for m in "${wanted[@]}"; do
	add_module "$m" || die "$rel has no module $m"
done
if [[ -z ${PVB_NO_KMODS:-} ]]; then
	for m in "${optional[@]}"; do
		add_module "$m" || true
	done
fi
for n in "${!take[@]}"; do
	f=${take[$n]}
	dst=$stage/lib/modules/$rel/${f#"$moddir"/}
	mkdir -p "${dst%/*}"
	case $f in
	*.ko.xz) xz -dc "$f" >"${dst%.xz}" ;;
	*.ko.zst) zstd -qdc "$f" >"${dst%.zst}" ;;
	*.ko.gz) gzip -dc "$f" >"${dst%.gz}" ;;
	*) cp "$f" "$dst" ;;
	esac
done
if [[ -z ${PVB_NO_KMODS:-} ]]; then
	cp "$moddir"/modules.{builtin,builtin.modinfo,order} "$stage/lib/modules/$rel/"
	depmod -b "$stage" "$rel"
fi

# the module under test, when it has been built for this release, without
# debug info as DKMS installs it (loading 2 MB under Xen PV and TCG is slow)
for ko in "$build"/pvbounce.ko "$build"/tests/kmod/pvbounce_*.ko \
	 "$build"/tests/bench/pvbounce_bench.ko; do
	if [[ -f $ko ]]; then
		objcopy --strip-debug "$ko" "$stage/lib/pvb/${ko##*/}"
	fi
done
if [[ -n ${PVB_MODULE_KO:-} ]]; then
	[[ -f $PVB_MODULE_KO ]] || die "PVB_MODULE_KO: no file $PVB_MODULE_KO"
	case $PVB_MODULE_KO in
	*.ko.xz) xz -dc "$PVB_MODULE_KO" ;;
	*.ko.zst) zstd -qdc "$PVB_MODULE_KO" ;;
	*.ko.gz) gzip -dc "$PVB_MODULE_KO" ;;
	*) cat "$PVB_MODULE_KO" ;;
	esac >"$stage/lib/pvb/pvbounce.ko"
fi

cp "$pvbio" "$stage/bin/pvbio"
if [[ -n ${PVB_FIO:-} ]]; then
	fio=$(command -v fio) || die "PVB_FIO=1 needs fio: apt-get install fio"
	cp "$fio" "$stage/bin/fio"
	# the libraries at the paths the loader looks in, and the loader
	for l in $(ldd "$fio" | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}'); do
		mkdir -p "$stage${l%/*}"
		cp -L "$l" "$stage$l"
	done
fi
cp "$pvbbench" "$stage/bin/pvbbench"
cp "$pvbfail" "$stage/bin/pvbfail"
cp "$pvbvfio" "$stage/bin/pvbvfio"
cp "$pvbudp" "$stage/bin/pvbudp"
# the tool as make install installs it: the one version (dkms.conf's) put in
sed "s/@PVB_VERSION@/$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")/" \
	"$top/tools/pvbounce-stat" >"$stage/bin/pvbounce-stat"
chmod 755 "$stage/bin/pvbounce-stat"
install -m 755 "$here/guest-init.sh" "$stage/init"
cp "$here"/scenarios/*.sh "$stage/scenarios/"
echo "$rel" >"$stage/lib/pvb/release"
# docs/files.md's and docs/messages.md's tables, for the docs scenario (the
# guest has no docs/)
doc_files "$top/docs/files.md" >"$stage/lib/pvb/doc_files"
doc_messages "$top/docs/messages.md" >"$stage/lib/pvb/doc_messages"
if [[ -n ${PVB_NO_KMODS:-} ]]; then
	mkdir "$stage/usr"
	mv "$stage/bin" "$stage/usr/bin"
	mv "$stage/lib" "$stage/usr/lib"
	rm "$stage/sbin"
	ln -s usr/bin "$stage/bin"
	ln -s usr/lib "$stage/lib"
	ln -s usr/sbin "$stage/sbin"
fi

# keep the cache from growing without bound: the 8 newest per release
pack_cached "$stage" "$rel" 8
