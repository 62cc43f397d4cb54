#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb, TAP: pvbounce-dkms_<version>_all.deb built from the tree (into a
# temporary PVB_BUILD), its version the one version (dkms.conf's, and
# debian/changelog's), its contents (DKMS's module sources and dkms.conf,
# pvbounce-stat with its version, the man pages, the commented modprobe.d
# example as a conffile, README.md and docs/, no tests/), dh_dkms's dependency and maintainer
# scripts, and lintian without an error or a warning.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
need() { # TOOL PACKAGE: present, or skip everything (not ok under CI=true)
	command -v "$1" >/dev/null && return 0
	if [ "${CI:-}" = true ]; then not_ok "$1 installed (CI=true: .ci/run installs $2)"
	else ok "make deb # SKIP $1 is not installed (apt-get install $2)"; fi
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
}
need dpkg-buildpackage dpkg-dev
need dh_dkms dh-dkms
need dh debhelper
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is "debian/changelog's version is dkms.conf's ($version)" \
	"$(cd "$top" && dpkg-parsechangelog -S Version)" "$version"
make -C "$top" --no-print-directory deb PVB_BUILD="$tmp/build" >"$tmp/log" 2>&1
rc=$?
deb=$tmp/build/deb/pvbounce-dkms_${version}_all.deb
is "make deb: exit 0, pvbounce-dkms_${version}_all.deb" "$rc:$(test -f "$deb" && echo built)" "0:built"
[ "$rc" -eq 0 ] || tail -n 20 "$tmp/log" | sed 's/^/#   /'
if [ -f "$deb" ]; then
	is "package name, version, architecture" \
		"$(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')" \
		"Package: pvbounce-dkms Version: $version Architecture: all "
	case $(dpkg-deb -f "$deb" Depends) in
	*dkms*) ok "depends on dkms (dh_dkms)" ;;
	*) not_ok "depends on dkms (dh_dkms)" ;;
	esac
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./||' >"$tmp/files"
	missing=
	for f in "usr/src/pvbounce-$version/dkms.conf" "usr/src/pvbounce-$version/Kbuild" \
		 "usr/src/pvbounce-$version/Makefile" "usr/src/pvbounce-$version/src/main.c" \
		 "usr/src/pvbounce-$version/include/pvbounce/compat.h" usr/sbin/pvbounce-stat \
		 usr/share/man/man4/pvbounce.4.gz usr/share/man/man8/pvbounce-stat.8.gz \
		 etc/modprobe.d/pvbounce.conf usr/share/doc/pvbounce-dkms/copyright; do
		grep -qx "$f" "$tmp/files" || missing="$missing $f"
	done
	is "contents: module sources and dkms.conf, the tool, the man pages, the example" "$missing" ""
	is "no tests/ shipped" "$(grep -c '/tests/' "$tmp/files")" 0
	# the documentation: README.md and docs/ (dh_compress gzips the larger ones)
	missing=
	for f in README.md docs/parameters.md docs/files.md docs/messages.md docs/installing.md \
		 docs/troubleshooting.md docs/xen.md; do
		grep -Eqx "usr/share/doc/pvbounce-dkms/$f(\.gz)?" "$tmp/files" || missing="$missing $f"
	done
	is "documentation: README.md and docs/ in /usr/share/doc/pvbounce-dkms" "$missing" ""
	dpkg-deb -x "$deb" "$tmp/root"
	dpkg-deb -e "$deb" "$tmp/ctl"
	is "dkms.conf in /usr/src is the tree's" \
		"$(cmp "$tmp/root/usr/src/pvbounce-$version/dkms.conf" "$top/dkms.conf" && echo same)" same
	is "pvbounce-stat --version is $version" \
		"$(PVB_MODULE=$tmp/none "$tmp/root/usr/sbin/pvbounce-stat" --version | head -n 1)" \
		"pvbounce-stat $version"
	is "the modprobe.d example is the tree's, a conffile" \
		"$(cmp "$tmp/root/etc/modprobe.d/pvbounce.conf" "$top/etc/modprobe.d/pvbounce.conf" && echo same):$(cat "$tmp/ctl/conffiles")" \
		"same:/etc/modprobe.d/pvbounce.conf"
	is "postinst and prerm run dkms (add/build/install, remove)" \
		"$(grep -l dkms "$tmp/ctl/postinst" "$tmp/ctl/prerm" 2>/dev/null | wc -l)" 2
	if command -v lintian >/dev/null; then
		lintian "$deb" >"$tmp/lintian" 2>&1
		bad=$(grep -c '^[EW]: ' "$tmp/lintian")
		is "lintian: no error, no warning" "$bad" 0
		[ "$bad" -eq 0 ] || sed 's/^/#   /' "$tmp/lintian"
	elif [ "${CI:-}" = true ]; then
		not_ok "lintian installed (CI=true: .ci/run installs it)"
	else
		ok "lintian # SKIP lintian is not installed"
	fi
fi
echo "1..$n"
[ "$failed" -eq 0 ]
