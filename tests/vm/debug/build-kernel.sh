#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) the debug kernel of `make check-debug`: Debian's
# linux-source-6.12 (apt-get install linux-source-6.12: a tarball in
# /usr/src), `make allnoconfig` with tests/vm/debug/kernel.config as
# KCONFIG_ALLCONFIG, then olddefconfig.  Every =y/=m line of the fragment must
# survive into .config, else the build stops naming the dropped options.
#
# Everything lives in the cache, never in git, keyed by the source package's
# version and the fragment's hash:
#   $PVB_CACHE/debug-kernel/src-<version>/   the unpacked source (shared)
#   $PVB_CACHE/debug-kernel/<key>/build/     the O= build tree: KDIR for
#                                            pvbounce and the test modules
#   $PVB_CACHE/debug-kernel/<key>/time.txt   /usr/bin/time -v of the build
#   $PVB_CACHE/kernel/<release>/             boot/vmlinuz-<release> and
#                                            lib/modules/<release>, where
#                                            fetch.sh puts Debian's images
# The release is 6.12.<n>-pvbdebug-<hash>, so mkinitramfs.sh and build/
# keep debug builds apart from Debian's.
#
# Usage: tests/vm/debug/build-kernel.sh [--kdir|--print|--check]
#   (none)   build if needed, print "kernel 6.12-debug <release> <vmlinuz> <modules dir> <kdir>"
#   --kdir   the same, print only the build tree
#   --check  exit 0 if the kernel of the current fragment is built, 1 if not
# Env: PVB_CACHE, PVB_DEBUG_JOBS (make -j, default 2), PVB_DEBUG_NICE (default 10),
#      PVB_DEBUG_FLAVOUR (xen: the kernel booted as a Xen dom0, without KASAN)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/common.sh"

frag=$here/debug/kernel.config
tarball=/usr/src/linux-source-6.12.tar.xz
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed: apt-get install linux-source-6.12"
[[ -f $tarball ]] || die "no $tarball: apt-get install --reinstall linux-source-6.12"
kbase=$cache/debug-kernel
mkdir -p "$kbase"
# The Xen flavour (PVB_DEBUG_FLAVOUR=xen, what run.sh boots as a Xen PV
# dom0): the same fragment without KASAN, which a PV kernel does not
# survive (its first shadow access, in xen_start_kernel, faults); KFENCE
# still samples its allocations.
case ${PVB_DEBUG_FLAVOUR:-} in
'') ;;
xen)
	grep -v '^CONFIG_KASAN' "$frag" >"$kbase/kernel-xen.config.$$"
	echo '# CONFIG_KASAN is not set' >>"$kbase/kernel-xen.config.$$"
	mv "$kbase/kernel-xen.config.$$" "$kbase/kernel-xen.config"
	frag=$kbase/kernel-xen.config ;;
*) die "PVB_DEBUG_FLAVOUR: xen or nothing" ;;
esac
hash=$(sha256sum "$frag" | cut -c1-8)
key=$pkgver-$hash
kd=$kbase/$key
src=$kbase/src-$pkgver/linux-source-6.12
obj=$kd/build

print() {
	local rel
	rel=$(cat "$kd/release")
	case ${1:-} in
	--kdir) echo "$obj" ;;
	*) echo "kernel 6.12-debug $rel $(kernel_root "$rel")/boot/vmlinuz-$rel $(kernel_root "$rel")/lib/modules/$rel $obj" ;;
	esac
}

if [[ -f $kd/done ]]; then
	[[ ${1:-} == --check ]] && exit 0
	print "${1:-}"
	exit 0
fi
[[ ${1:-} == --check ]] && exit 1

mkdir -p "$kbase"
exec 9>"$kbase/.lock"
flock 9
if [[ -f $kd/done ]]; then print "${1:-}"; exit 0; fi

if [[ ! -f $kbase/src-$pkgver/.done ]]; then
	echo "== unpacking $tarball ($pkgver)" >&2
	rm -rf "$kbase/src-$pkgver"
	mkdir -p "$kbase/src-$pkgver"
	tar -C "$kbase/src-$pkgver" -xf "$tarball"
	touch "$kbase/src-$pkgver/.done"
fi

# A fragment changed since a build of the same source: start from that
# build's tree, kbuild then recompiles only what the changed options touch.
if [[ ! -d $obj ]]; then
	for d in $(ls -td "$kbase/$pkgver"-* 2>/dev/null); do
		[[ -f $d/done && -d $d/build ]] || continue
		echo "== seeding $obj from $d/build" >&2
		mkdir -p "$kd"
		cp -a "$d/build" "$obj.tmp" && mv "$obj.tmp" "$obj"
		break
	done
fi
mkdir -p "$obj"
mk=(nice -n "${PVB_DEBUG_NICE:-10}" make -C "$src" O="$obj" -j"${PVB_DEBUG_JOBS:-2}")
echo "== configuring $key" >&2
"${mk[@]}" -s LOCALVERSION= KCONFIG_ALLCONFIG="$frag" allnoconfig >&2
scripts_config() { "$src/scripts/config" --file "$obj/.config" "$@"; }
scripts_config --set-str LOCALVERSION "-pvbdebug-$hash" --disable LOCALVERSION_AUTO
"${mk[@]}" -s olddefconfig >&2
# the classic trap: an option dropped for a dependency nobody enabled
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$frag" | while IFS= read -r l; do
	grep -qxF "$l" "$obj/.config" || echo "$l (got: $(grep -E "^(# )?${l%%=*}[= ]" "$obj/.config" || echo absent))"
done)
if [[ -n $missing ]]; then
	echo "$missing" >&2
	die "the options above of $frag did not take"
fi
echo "== building $key in $obj (log $kd/build.log, nice ${PVB_DEBUG_NICE:-10}, -j${PVB_DEBUG_JOBS:-2})" >&2
if ! /usr/bin/time -v -o "$kd/time.txt" "${mk[@]}" bzImage modules >"$kd/build.log" 2>&1; then
	tail -n 40 "$kd/build.log" >&2
	die "the debug kernel build failed (log $kd/build.log)"
fi
grep -E 'Elapsed|User time|System time|Maximum resident' "$kd/time.txt" >&2
# known only now: CONFIG_LOCALVERSION is in it
rel=$(cat "$obj/include/config/kernel.release")
root=$(kernel_root "$rel")
rm -rf "$root"
mkdir -p "$root/boot"
"${mk[@]}" -s INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 modules_install >&2
cp "$obj/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$rel"
cp "$obj/.config" "$root/boot/config-$rel"
cp "$obj/System.map" "$root/boot/System.map-$rel"
echo "$rel" >"$kd/release"
touch "$kd/done"
print "${1:-}"
