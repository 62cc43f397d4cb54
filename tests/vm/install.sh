#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The install paths as users run them, as one TAP stream (run-all.sh's group
# "ship"), without changing this host for good: every tree is a temporary one.
#
#  1. make dkms-install (the tree as shipped: dkms add, build, install) for
#     each kernel, into a private DKMS tree, source tree and install tree
#     (--dkmstree, DKMS_SOURCE_TREE, --installtree, --no-depmod), signed with a
#     throw-away MOK key (dkms 3.0.10 signs every build and would make
#     /var/lib/dkms/mok.key otherwise); version, signer, no tests/ shipped.
#  2. make install / make uninstall with INSTALL_MOD_PATH, each kernel: the file,
#     its version, depmod's modules.dep entry, pvbounce-stat (its version)
#     and the man pages under usr/local, and all gone again.
#  3. one boot per kernel on DKMS's pvbounce.ko, with I/O verified:
#     6.1 (native): the harness's initramfs carries it (PVB_MODULE_KO),
#       scenarios ship:nvme_force;
#     6.12 (xen): Debian's mkinitramfs -d CONFDIR of the installed 6.12
#       kernel, with the module and etc/modprobe.d/pvbounce.conf in it, the
#       harness's initramfs after it (PVB_INITRD_BASE); scenario ship runs
#       kmod's modprobe nvme, which must load pvbounce first (softdep).
#  4. make dkms-remove: DKMS tree, install tree and sources clean; nothing
#     of pvbounce in /lib/modules, /etc/modprobe.d or /var/lib/dkms.
#
# mkinitramfs reads modules from /lib/modules/<release> and modprobe.d from
# /etc only; a hook in the test's CONFDIR stands in for what dkms install and
# copying pvbounce.conf to /etc/modprobe.d put there on a real system (copies
# the same two files into the image), so nothing of the host is touched.
#
# The .deb (make deb) as apt installs it: tests/vm/deb-install.sh.
#
# Env: PVB_SHIP_MODES (default "6.1:native 6.12:xen": SERIES:MODE boots; the
#      6.12 one is the Debian-initramfs boot), and what run.sh takes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

. "$here/tap.sh"

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
tmp=$(mktemp -d /tmp/pvb-install.XXXXXX)
src=$tmp/src dk=$tmp/dkms root=$tmp/root
mkdir -p "$src" "$dk" "$root/lib/modules" "$tmp/mok"
# dkms 3.0.10 reads these from the environment when /etc/dkms/framework.conf
# does not set them (prepare_signing); a missing pair is generated there
export mok_signing_key=$tmp/mok/mok.key mok_certificate=$tmp/mok/mok.pub
dkms_flags="--dkmstree $dk --installtree $root/lib/modules --no-depmod"
mk() { make -C "$top" --no-print-directory "$@"; }
had_varlib_key=$([[ -e /var/lib/dkms/mok.key ]] && echo y)
cleanup() {
	mk dkms-remove DKMS_SOURCE_TREE="$src" DKMS_FLAGS="$dkms_flags" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

start=$(date +%s)
declare -A kver=() ko=()
for s in 6.1 6.12; do
	k=$("$top/scripts/kdirs.sh" "$s" 2>/dev/null) || { emit "not ok" "$s headers installed"; continue; }
	kver[$s]=${k##*/linux-headers-}
done

# ---- 1. DKMS -------------------------------------------------------------------
for s in 6.1 6.12; do
	r=${kver[$s]:-}
	[[ -n $r ]] || continue
	mkdir -p "$root/lib/modules/$r"
	t "$s: make dkms-install KERNELRELEASE=$r (dkms add, build, install)" \
		mk dkms-install KERNELRELEASE="$r" DKMS_SOURCE_TREE="$src" DKMS_FLAGS="$dkms_flags" || continue
	f=$(ls "$root/lib/modules/$r/updates/dkms/pvbounce.ko"* 2>/dev/null | head -n 1)
	t "$s: dkms install put pvbounce.ko$([[ $f == *.ko.* ]] && echo ".${f##*.ko.}") under updates/dkms/" test -n "$f" || continue
	ko[$s]=$f
	t "$s: dkms status says installed" grep -q "pvbounce/$version, $r, .*: installed" \
		<(dkms status $dkms_flags -m pvbounce -v "$version" 2>&1)
	eq "$s: modinfo -F version is dkms.conf's ($version)" "$(modinfo -F version "$f" 2>&1)" "$version"
	eq "$s: signed by DKMS with its MOK key (modinfo -F signer)" "$(modinfo -F signer "$f" 2>&1)" "DKMS module signing key"
	depmod -b "$root" "$r" 2>/dev/null
	t "$s: depmod lists updates/dkms/pvbounce.ko" grep -q "^updates/dkms/pvbounce.ko[.a-z]*:" "$root/lib/modules/$r/modules.dep"
done
t "DKMS got the module sources only (no tests/)" test ! -e "$src/pvbounce-$version/tests" -a -f "$src/pvbounce-$version/dkms.conf"
diag "DKMS builds and installs took $(($(date +%s) - start)) s"

# ---- 2. make install / uninstall -------------------------------------------------
# 6.1 installs pvbounce.ko, 6.12 pvbounce.ko.xz (CONFIG_MODULE_COMPRESS_XZ)
declare -A suffix=([6.1]=.ko [6.12]=.ko.xz)
for s in 6.1 6.12; do
	r=${kver[$s]:-}
	[[ -n $r ]] || continue
	inst=$tmp/inst tree=$tmp/tree-$s
	# a copy of the tree as shipped (DKMS's module sources, and the tool
	# and man pages make install installs too), so the worktree gets no objects
	cp -a "$src/pvbounce-$version" "$tree"
	cp -a "$top/tools" "$top/man" "$tree/"
	t "$s: make install KERNELRELEASE=$r INSTALL_MOD_PATH=..." \
		make -C "$tree" --no-print-directory install KERNELRELEASE="$r" INSTALL_MOD_PATH="$inst"
	f=$inst/lib/modules/$r/updates/pvbounce${suffix[$s]}
	t "$s: make install: $r/updates/pvbounce${suffix[$s]}" test -f "$f"
	eq "$s: make install: modinfo -F version is $version" "$(modinfo -F version "$f" 2>&1)" "$version"
	t "$s: make install: depmod's modules.dep has updates/pvbounce${suffix[$s]}" \
		grep -q "^updates/pvbounce${suffix[$s]}:" "$inst/lib/modules/$r/modules.dep"
	t "$s: make install: modprobe resolves pvbounce to it" \
		grep -q "insmod $f" <(modprobe -d "$inst" -S "$r" --show-depends pvbounce 2>&1)
	eq "$s: make install: pvbounce-stat in /usr/local/sbin, its --version is $version" \
		"$(PVB_MODULE=$inst/none "$inst/usr/local/sbin/pvbounce-stat" --version 2>&1 | head -n 1)" \
		"pvbounce-stat $version"
	t "$s: make install: man pages pvbounce(4), pvbounce-stat(8)" \
		test -f "$inst/usr/local/share/man/man4/pvbounce.4" -a -f "$inst/usr/local/share/man/man8/pvbounce-stat.8"
	t "$s: make uninstall" make -C "$tree" --no-print-directory uninstall KERNELRELEASE="$r" INSTALL_MOD_PATH="$inst"
	t "$s: make uninstall: the file is gone" test ! -e "$f"
	t "$s: make uninstall: the tool and man pages are gone" \
		test -z "$(find "$inst/usr" -type f 2>/dev/null)"
	t "$s: make uninstall: modules.dep no longer has it" bash -c "! grep -q pvbounce '$inst/lib/modules/$r/modules.dep'"
done

# ---- 3. boots on DKMS's module ---------------------------------------------------
# boot SERIES MODE SCENARIOS: run.sh's results, numbered into this stream
boot() {
	local s=$1 m=$2 sc=$3 line rc
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			emit "${BASH_REMATCH[1]}ok" "$s $m: ${BASH_REMATCH[2]}"
		elif [[ $line == '#'* ]]; then
			echo "$line"
		fi
	done < <("$here/run.sh" "$s" "$m" "$sc" 2>"$tmp/run.err"; echo "# run.sh exit $?")
	# its failure report (stderr) as diagnostics, not as results
	sed 's/^/#   /' "$tmp/run.err"
}
for sm in ${PVB_SHIP_MODES:-6.1:native 6.12:xen}; do
	s=${sm%%:*} m=${sm#*:}
	f=${ko[$s]:-}
	[[ -n $f ]] || { emit "not ok" "$s: a DKMS-built module to boot"; continue; }
	r=${kver[$s]}
	case $f in *.xz) sha=$(xz -dc "$f" | sha256sum) ;; *) sha=$(sha256sum <"$f") ;; esac
	sha=${sha%% *}
	kargs="pvb.ship_sha=$sha pvb.ship_version=$version"
	if [[ $s == 6.12 ]]; then
		if [[ ! -d /lib/modules/$r/kernel || ! -f /boot/config-$r ]]; then
			# CI installs it: there a SKIP would read as a pass
			if [[ ${CI:-} == true ]]; then
				emit "not ok" "$s: Debian initramfs boot (CI=true: linux-image-$r must be installed)"
			else
				emit ok "$s: Debian initramfs boot # SKIP linux-image-$r is not installed"
			fi
			continue
		fi
		# CONFDIR: the host's initramfs.conf, only the modules named
		conf=$tmp/initramfs-tools
		mkdir -p "$conf/hooks" "$conf/scripts" "$conf/conf.d"
		sed 's/^MODULES=.*/MODULES=list/' /etc/initramfs-tools/initramfs.conf >"$conf/initramfs.conf"
		printf 'nvme\ne1000e\n' >"$conf/modules"
		# the repository's example as a user makes it work: its commented
		# options line turned on with devices= naming QEMU's NVMe by ID, and
		# its nvme softdep turned on
		sed -e 's/^#options pvbounce devices=0000:03:00\.0$/options pvbounce devices=1b36:0010 force=1/' \
			-e 's/^#\(softdep nvme pre: pvbounce\)$/\1/' \
			"$top/etc/modprobe.d/pvbounce.conf" >"$tmp/pvbounce.conf"
		eq "$s: the example, uncommented, has one options and one softdep line" \
			"$(grep -c '^options pvbounce devices=1b36:0010 force=1$' "$tmp/pvbounce.conf"):$(grep -c '^softdep nvme pre: pvbounce$' "$tmp/pvbounce.conf")" \
			1:1
		cat >"$conf/hooks/pvbounce-test" <<-'EOF'
		#!/bin/sh
		# tests/vm/install.sh: what dkms install and /etc/modprobe.d would hold
		[ "$1" = prereqs ] && exit 0
		. /usr/share/initramfs-tools/hook-functions
		mkdir -p "${DESTDIR}/lib/modules/${version}/updates/dkms"
		cp "$PVB_SHIP_KO" "${DESTDIR}/lib/modules/${version}/updates/dkms/"
		copy_file config "$PVB_SHIP_CONF" /etc/modprobe.d/pvbounce.conf
		EOF
		chmod +x "$conf/hooks/pvbounce-test"
		b0=$(date +%s)
		t "$s: mkinitramfs -d CONFDIR for $r (Debian's initramfs-tools)" \
			env PVB_SHIP_KO="$f" PVB_SHIP_CONF="$tmp/pvbounce.conf" \
			mkinitramfs -d "$conf" -o "$tmp/initrd.img-$r" "$r" || continue
		diag "mkinitramfs took $(($(date +%s) - b0)) s, $(du -k "$tmp/initrd.img-$r" | cut -f1) KiB"
		PVB_INITRD_BASE=$tmp/initrd.img-$r PVB_KARGS_EXTRA="$kargs pvb.ship_via=modprobe" boot "$s" "$m" ship
	else
		PVB_MODULE_KO=$f PVB_KARGS_EXTRA="$kargs pvb.ship_via=insmod" boot "$s" "$m" ship:nvme_force
	fi
done

# ---- 4. dkms-remove --------------------------------------------------------------
t "make dkms-remove" mk dkms-remove DKMS_SOURCE_TREE="$src" DKMS_FLAGS="$dkms_flags"
t "dkms-remove: nothing of pvbounce left in the DKMS tree" test ! -e "$dk/pvbounce"
t "dkms-remove: the installed modules are gone" bash -c "! ls $root/lib/modules/*/updates/dkms/pvbounce.ko* 2>/dev/null | grep -q ."
t "dkms-remove: the sources are gone" test ! -e "$src/pvbounce-$version"
t "the host is untouched: no pvbounce in /lib/modules, /etc/modprobe.d, /var/lib/dkms" \
	bash -c "! { find /lib/modules/ -name 'pvbounce*'; ls /etc/modprobe.d/pvbounce.conf /var/lib/dkms/pvbounce; } 2>/dev/null | grep -q ."
[[ -n $had_varlib_key ]] || t "the host is untouched: no /var/lib/dkms/mok.key made" test ! -e /var/lib/dkms/mok.key
diag "install checks took $(($(date +%s) - start)) s"
echo "1..$n"
exit $failed
