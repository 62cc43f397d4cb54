#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The top-level Makefile, host-side, TAP, building nothing for real:
#  - plain `make` for a running kernel without headers (a fake `uname -r` on
#    PATH) fails with a message naming the kernel and the way out, and
#    builds for no other kernel;
#  - KDIR=dir or KERNELRELEASE=release names the kernel: make goes to that
#    build tree (a fake kbuild that records its call);
#  - make install-tools into a DESTDIR: pvbounce-stat with the one version
#    put in, the man pages; uninstall-tools removes them.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
like() { # DESC FILE ERE
	if grep -Eq -- "$3" "$2"; then ok "$1"; else not_ok "$1"; echo "#   no line matches /$3/ in:"; sed 's/^/#   /' "$2"; fi
}
# a copy of the tree's Makefile and sources: make never writes into the worktree
cp -a "$top/Makefile" "$top/Kbuild" "$top/dkms.conf" "$top/tools" "$top/man" "$top/scripts" "$tmp/"
mkdir -p "$tmp/tree" && mv "$tmp/Makefile" "$tmp/Kbuild" "$tmp/dkms.conf" "$tmp/tools" "$tmp/man" \
	"$tmp/scripts" "$tmp/tree/"
tree=$tmp/tree
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")

# a fake uname: -r prints $FAKE_RELEASE, anything else the real one
mkdir -p "$tmp/bin"
real_uname=$(command -v uname)
cat >"$tmp/bin/uname" <<SH
#!/bin/sh
[ "\$1" = -r ] && [ -n "\${FAKE_RELEASE:-}" ] && { echo "\$FAKE_RELEASE"; exit 0; }
exec $real_uname "\$@"
SH
chmod +x "$tmp/bin/uname"
# a fake kernel build tree: records how it was called
mkdir -p "$tmp/kbuild"
printf 'modules clean:\n\t@echo "fake-kbuild $@ M=$(M)" >>%s/kbuild.log\n' "$tmp" >"$tmp/kbuild/Makefile"

mk() { PATH=$tmp/bin:$PATH make -C "$tree" --no-print-directory "$@"; }

# plain make, the running kernel without headers
FAKE_RELEASE=0.0.0-pvb-no-such-kernel mk >"$tmp/out" 2>&1
is "plain make, no headers for the running kernel: fails" "$?" 2
like "... names the running kernel and the missing build tree" "$tmp/out" \
	"no headers for kernel 0\.0\.0-pvb-no-such-kernel \(the running one\) \(/lib/modules/0\.0\.0-pvb-no-such-kernel/build is missing\)"
like "... says how to build for another kernel (KERNELRELEASE=, KDIR=)" "$tmp/out" \
	"make KERNELRELEASE=<release>' or 'make KDIR=<kernel build dir>'"
is "... built nothing (no kbuild ran, no object)" \
	"$(grep -c 'make.*-C /' "$tmp/out"):$(find "$tree" -name '*.o' -o -name '*.ko' | wc -l)" "0:0"
FAKE_RELEASE=0.0.0-pvb-no-such-kernel mk install INSTALL_MOD_PATH="$tmp/root" >"$tmp/out" 2>&1
is "make install, no headers for the running kernel: fails, installs nothing" \
	"$?:$(find "$tmp/root" -type f 2>/dev/null | wc -l)" "2:0"
like "... with the same message" "$tmp/out" "no headers for kernel 0\.0\.0-pvb-no-such-kernel"

# KERNELRELEASE names a kernel without headers: refused, naming it
mk KERNELRELEASE=0.0.1-pvb-asked >"$tmp/out" 2>&1
is "make KERNELRELEASE=<no headers>: fails" "$?" 2
like "... names that kernel, not as the running one" "$tmp/out" \
	"no headers for kernel 0\.0\.1-pvb-asked \(/lib/modules/0\.0\.1-pvb-asked/build is missing\)"
mk KDIR="$tmp/none" >"$tmp/out" 2>&1
is "make KDIR=<missing dir>: fails" "$?" 2
like "... names KDIR" "$tmp/out" "no kernel build tree at KDIR=$tmp/none"

# KDIR names the kernel: whatever the running one is, make goes there
rm -f "$tmp/kbuild.log"
FAKE_RELEASE=0.0.0-pvb-no-such-kernel mk KDIR="$tmp/kbuild" >"$tmp/out" 2>&1
is "make KDIR=<build tree>, no headers for the running kernel: builds there" \
	"$?:$(cat "$tmp/kbuild.log" 2>/dev/null)" "0:fake-kbuild modules M=$tree"
# KERNELRELEASE names the kernel: /lib/modules/<release>/build (any the host has)
rel=$(for d in /lib/modules/*/build; do [ -f "$d/Makefile" ] && basename "$(dirname "$d")"; done | head -n 1)
if [ -n "$rel" ]; then
	FAKE_RELEASE=0.0.0-pvb-no-such-kernel mk KERNELRELEASE="$rel" check-kdir >"$tmp/out" 2>&1
	is "make KERNELRELEASE=$rel (headers installed), another running kernel: accepted" "$?" 0
	FAKE_RELEASE=$rel mk check-kdir >"$tmp/out" 2>&1
	is "the running kernel with headers ($rel): accepted" "$?" 0
else
	ok "KERNELRELEASE= with installed headers # SKIP no /lib/modules/*/build on this host"
	ok "the running kernel with headers # SKIP no /lib/modules/*/build on this host"
fi

# install-tools into a staging root (no kernel needed), then uninstall-tools
mk install-tools DESTDIR="$tmp/stage" >"$tmp/out" 2>&1
is "make install-tools DESTDIR=...: exit 0" "$?" 0
is "... installs the tool and both man pages under /usr/local" \
	"$(cd "$tmp/stage" && find . -type f | sort | tr '\n' ' ')" \
	"./usr/local/sbin/pvbounce-stat ./usr/local/share/man/man4/pvbounce.4 ./usr/local/share/man/man8/pvbounce-stat.8 "
is "... the tool is executable and knows its version ($version), no dkms.conf beside it" \
	"$(PVB_MODULE=$tmp/none "$tmp/stage/usr/local/sbin/pvbounce-stat" --version | head -n 1)" \
	"pvbounce-stat $version"
is "... no placeholder left in the installed tool" "$(grep -c '@PVB_VERSION@' "$tmp/stage/usr/local/sbin/pvbounce-stat")" 0
is "... the man pages as in the tree" \
	"$(cmp "$tmp/stage/usr/local/share/man/man4/pvbounce.4" "$top/man/pvbounce.4" &&
	   cmp "$tmp/stage/usr/local/share/man/man8/pvbounce-stat.8" "$top/man/pvbounce-stat.8" && echo same)" same
mk install-tools INSTALL_MOD_PATH="$tmp/stage2" prefix=/usr >/dev/null 2>&1
is "INSTALL_MOD_PATH is the staging root of install-tools too; prefix=/usr" \
	"$(cd "$tmp/stage2" && find . -type f | sort | tr '\n' ' ')" \
	"./usr/sbin/pvbounce-stat ./usr/share/man/man4/pvbounce.4 ./usr/share/man/man8/pvbounce-stat.8 "
mk uninstall-tools DESTDIR="$tmp/stage" >/dev/null 2>&1
is "make uninstall-tools removes them" "$?:$(find "$tmp/stage" -type f | wc -l)" "0:0"
echo "1..$n"
[ "$failed" -eq 0 ]
