#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The .deb as users install it, as one TAP stream (run-all.sh's group
# "ship"): make deb, then in a throw-away copy of the Debian 13 build root
# (scripts/trixie-root.sh: Debian 13's 6.12 with its kernel image, and
# trixie-backports' 7.3 headers; an overlayfs over it, so the root stays as
# make build-all uses it, and nothing of the host's packages changes):
#
#  1. apt-get install ./pvbounce-dkms_<version>_all.deb: apt pulls dkms and
#     runs the package's postinst, dkms builds the module for every kernel
#     with headers in the root.  dkms status says installed for each; the
#     module under /lib/modules/<release>/updates/dkms/, compressed as the
#     kernel's own modules are (6.12: .ko.xz; 7.3's image is not in the
#     root: .ko), modinfo -F version the package's version, depmod's entry
#     (modprobe -S <release> resolves pvbounce to it); pvbounce-stat, the man
#     pages and the commented /etc/modprobe.d example where Debian puts them.
#  2. apt-get remove: dkms's tree, the modules and their depmod entries, the
#     sources, the tool and the man pages are gone, the modprobe.d example
#     (a conffile) stays; apt-get purge: it is gone too, and the overlay's
#     upper layer (every file the package run left in the root) holds
#     nothing named pvbounce.
#  3. one native boot of PVB_DEB_BOOT's kernel on the module apt and dkms
#     built (the harness's initramfs carries it, PVB_MODULE_KO), I/O
#     verified: scenarios ship:nvme_force.
#
# apt-get install runs with --no-install-recommends: what the package needs
# is in its Depends (dkms); dkms's Recommends (build-essential, fakeroot,
# sudo) are dkms's own and cost a CI minute.  The root has no openssl, so
# dkms builds unsigned (install.sh checks DKMS's signing on the host).
#
# Needs root (mount, chroot) and the build root (scripts/trixie-root.sh makes
# it, as make build-all does); the chroot's apt reaches Debian's mirrors.
# Env: PVB_DEB_BOOT (default 7.3: the series booted natively; empty: no
#      boot), and what run.sh takes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# every mount of this test (the overlay, /proc, /dev, /sys in the chroot)
# lives in a mount namespace of its own and ends with it
if [[ -z ${PVB_DEB_NS:-} ]]; then
	if ((EUID != 0)) || ! command -v unshare >/dev/null; then
		if [[ ${CI:-} == true ]]; then
			echo "not ok 1 - root and unshare for the .deb's chroot (CI=true)"
		else
			echo "ok 1 - the .deb installed by apt # SKIP needs root (mount, chroot)"
		fi
		echo "1..1"
		[[ ${CI:-} != true ]]
		exit
	fi
	PVB_DEB_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

. "$here/tap.sh"
finish() {
	echo "1..$n"
	exit $failed
}

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
deb=pvbounce-dkms_${version}_all.deb
tmp=$(mktemp -d /tmp/pvb-deb.XXXXXX)
# (the chroot's /dev, /sys, /proc are the host's: never rm through them)
trap 'umount -R "$tmp/m" 2>/dev/null; mountpoint -q "$tmp/m" || rm -rf --one-file-system "$tmp"' EXIT
start=$(date +%s)
# step TEXT: the time since the last step, as a diagnostic
last=$start
step() {
	local now
	now=$(date +%s)
	diag "$1 took $((now - last)) s"
	last=$now
}

if ! command -v dh_dkms >/dev/null; then
	if [[ ${CI:-} == true ]]; then
		emit "not ok" "dh-dkms installed for make deb (CI=true: .ci/run installs it)"
	else
		emit ok "the .deb installed by apt # SKIP dh-dkms is not installed (make deb)"
	fi
	finish
fi
t "make deb: $deb" make -C "$top" --no-print-directory deb PVB_BUILD="$tmp/build" || finish
step "make deb"

# the build root, made or refreshed as make build-all does
lower=$("$top/scripts/trixie-root.sh" 2>"$tmp/root.err")
t "the Debian 13 build root (scripts/trixie-root.sh)" test -f "$lower/.pvb-stamp" ||
	{ sed 's/^/#   /' "$tmp/root.err"; finish; }
m=$tmp/m up=$tmp/upper
mkdir -p "$m" "$up/u" "$up/w"
t "an overlay over the build root (its changes in $up/u)" \
	mount -t overlay pvb-deb -o "lowerdir=$lower,upperdir=$up/u,workdir=$up/w" "$m" || finish
for d in proc sys dev; do mount --rbind "/$d" "$m/$d"; done
mount -t tmpfs pvb-deb-tmp "$m/tmp"
cp "$tmp/build/deb/$deb" "$m/tmp/"
# c CMD...: CMD in the root, with a clean environment
c() {
	chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# the kernels whose headers the root has (dkms's postinst builds for them)
kernels=$(c sh -c 'for r in /lib/modules/*; do [ -e "$r/build/Makefile" ] && echo "${r##*/}"; done')
diag "kernels with headers in the root: $(echo $kernels)"

# ---- 1. apt-get install ------------------------------------------------------
t "apt-get update in the root" c apt-get -q update
step "apt-get update"
# (each line with the seconds since this step began, for the diagnostics)
s0=$SECONDS
c apt-get install -y -q --no-install-recommends "./tmp/$deb" 2>&1 |
	while IFS= read -r l; do echo "$((SECONDS - s0)) $l"; done >"$tmp/install.log"
rc=${PIPESTATUS[0]}
eq "apt-get install ./$deb: exit 0" "$rc" 0
((rc == 0)) || tail -n 30 "$tmp/install.log" | sed 's/^/#   /'
step "apt-get install (dkms and its dependencies, the builds)"
grep -E '^[0-9]+ (Setting up pvbounce|Building (for|initial)|Installing /lib/modules|Running depmod)' \
	"$tmp/install.log" | sed 's/^\([0-9]*\) /#   at \1 s: /'
eq "dpkg: pvbounce-dkms $version (dkms.conf's) installed" \
	"$(c dpkg-query -W -f='${Status} ${Version}' pvbounce-dkms 2>&1)" "install ok installed $version"
pkgver=$(c dpkg-query -W -f='${Version}' pvbounce-dkms 2>/dev/null)
t "apt pulled dkms in (the package's Depends)" c dpkg-query -W dkms

declare -A ko=()
for r in $kernels; do
	t "$r: dkms status says installed" \
		grep -q "^pvbounce/$version, $r, x86_64: installed" <(c dkms status -m pvbounce 2>&1)
	# the suffix of the kernel's own modules (none without its image)
	own=$(find "$m/lib/modules/$r/kernel" -name '*.ko*' -print -quit 2>/dev/null)
	want=.ko
	[[ $own == *.ko.* ]] && want=.ko.${own##*.ko.}
	f=$(ls "$m/lib/modules/$r/updates/dkms/pvbounce.ko"* 2>/dev/null | head -n 1)
	eq "$r: /lib/modules/$r/updates/dkms/pvbounce$want (as the kernel's own modules$([[ -z $own ]] && echo ": none, headers only"))" \
		"${f#"$m"}" "/lib/modules/$r/updates/dkms/pvbounce$want"
	[[ -n $f ]] || continue
	ko[$r]=$f
	eq "$r: modinfo -F version is the package's (${pkgver:-none})" \
		"$(c modinfo -F version "${f#"$m"}" 2>&1)" "${pkgver:-none}"
	if [[ -n $own ]]; then
		t "$r: depmod: modprobe -S $r resolves pvbounce to it" \
			grep -qx "insmod ${f#"$m"} *" <(c modprobe -S "$r" --show-depends pvbounce 2>&1)
	else
		# dkms runs depmod only where the image's modules.dep is
		emit ok "$r: depmod # SKIP no image of $r in the root (headers only): dkms runs no depmod"
	fi
done
t "pvbounce-stat in /usr/sbin, executable" test -x "$m/usr/sbin/pvbounce-stat"
eq "pvbounce-stat --version is $version" \
	"$(c env PVB_MODULE=/nonexistent pvbounce-stat --version 2>&1 | head -n 1)" "pvbounce-stat $version"
for p in man4/pvbounce.4 man8/pvbounce-stat.8; do
	t "man page /usr/share/man/$p.gz" \
		bash -c "zcat '$m/usr/share/man/$p.gz' | grep -q '^\.TH '"
done
f=$m/etc/modprobe.d/pvbounce.conf
t "/etc/modprobe.d/pvbounce.conf: the tree's example" cmp "$f" "$top/etc/modprobe.d/pvbounce.conf"
t "/etc/modprobe.d/pvbounce.conf: every line commented out" \
	bash -c "test -f '$f' && ! grep -v '^#' '$f' | grep -q '[^[:space:]]'"
step "the checks of the installed package"

# the module to boot, before the package goes
boot_ko=
if [[ -n ${PVB_DEB_BOOT-7.3} ]]; then
	bs=${PVB_DEB_BOOT-7.3}
	br=$("$top/scripts/kdirs.sh" "$bs" 2>/dev/null)
	br=${br##*/linux-headers-}
	f=${ko[$br]:-}
	if [[ -n $br && -n $f ]]; then
		boot_ko=$tmp/boot/${f##*/}
		mkdir -p "$tmp/boot"
		cp "$f" "$boot_ko"
		# booted while the package is removed (its results come last)
		case $boot_ko in *.xz) sha=$(xz -dc "$boot_ko" | sha256sum) ;; *) sha=$(sha256sum <"$boot_ko") ;; esac
		sha=${sha%% *}
		PVB_MODULE_KO=$boot_ko \
			PVB_KARGS_EXTRA="pvb.ship_sha=$sha pvb.ship_version=$version pvb.ship_via=insmod" \
			"$here/run.sh" "$bs" native ship:nvme_force >"$tmp/run.out" 2>"$tmp/run.err" </dev/null &
		bootpid=$!
		diag "$bs: booting natively on $br's pvbounce${boot_ko##*/pvbounce} (run.sh, in the background)"
	else
		emit "not ok" "$bs: the module apt and dkms built, to boot"
	fi
fi

# ---- 2. apt-get remove, purge -------------------------------------------------
# left NAME: what of pvbounce remains in the root (none: empty)
left() {
	{
		ls -d "$m/var/lib/dkms/pvbounce" "$m"/usr/src/pvbounce-* "$m/usr/sbin/pvbounce-stat" \
			"$m/usr/share/man/man4/pvbounce.4.gz" "$m/usr/share/man/man8/pvbounce-stat.8.gz" \
			"$m/usr/share/doc/pvbounce-dkms"
		find "$m/lib/modules" -name 'pvbounce*'
		grep -l pvbounce "$m"/lib/modules/*/modules.{dep,alias,softdep,symbols}
	} 2>/dev/null | sed "s|^$m||"
}
t "apt-get remove pvbounce-dkms" c apt-get remove -y -q pvbounce-dkms
eq "after remove: no dkms tree, sources, modules, depmod entries, tool, man pages, docs" "$(left | tr '\n' ' ')" ""
eq "after remove: dpkg keeps the conffile only (config-files)" \
	"$(c dpkg-query -W -f='${Status}' pvbounce-dkms 2>&1):$(test -f "$m/etc/modprobe.d/pvbounce.conf" && echo kept)" \
	"deinstall ok config-files:kept"
t "apt-get purge pvbounce-dkms" c apt-get purge -y -q pvbounce-dkms
eq "after purge: /etc/modprobe.d/pvbounce.conf is gone" \
	"$(test -e "$m/etc/modprobe.d/pvbounce.conf" && echo there)" ""
eq "after purge: dpkg no longer knows pvbounce-dkms" \
	"$(c dpkg-query -W -f='${Status}' pvbounce-dkms 2>/dev/null)" ""
# everything the package run wrote to the root is in the overlay's upper
# layer: nothing there is named pvbounce, and no modules.* index names it
eq "after purge: nothing named pvbounce among the files the run left in the root" \
	"$(cd "$up/u" && find . -name '*pvbounce*' | tr '\n' ' ')" ""
eq "after purge: nothing of pvbounce in dkms's tree, /usr/src, /lib/modules" "$(left | tr '\n' ' ')" ""
step "remove and purge"
umount -R "$m"

# ---- 3. the boot ---------------------------------------------------------------
if [[ -n $boot_ko ]]; then
	wait "$bootpid"
	brc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			emit "${BASH_REMATCH[1]}ok" "$bs native, apt's module: ${BASH_REMATCH[2]}"
		elif [[ $line == '#'* ]]; then
			echo "$line"
		fi
	done <"$tmp/run.out"
	eq "$bs native, apt's module: run.sh exit 0" "$brc" 0
	# its failure report (stderr) as diagnostics, not as results
	sed 's/^/#   /' "$tmp/run.err"
	step "the rest of the $bs boot"
fi
diag "the .deb's checks took $(($(date +%s) - start)) s"
finish
