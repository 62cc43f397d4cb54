# SPDX-License-Identifier: GPL-2.0
# The module as installed (tests/vm/install.sh): DKMS's pvbounce.ko, not the
# tree's.  The host names it on the kernel command line: pvb.ship_sha=<sha256
# of the module, uncompressed>, pvb.ship_version=<dkms.conf's version> and
# pvb.ship_via=modprobe|insmod.
#
# Two ways in:
# - modprobe: booted on Debian's own initramfs (mkinitramfs of the installed 6.12 kernel,
#   the DKMS module and etc/modprobe.d/pvbounce.conf in it; run.sh's
#   PVB_INITRD_BASE): kmod's modprobe nvme must load pvbounce first through
#   the softdep, with the options line's devices=, and the NVMe disk works;
# - insmod (PVB_MODULE_KO): only the module's identity is checked here, the
#   scenarios that follow in the same boot (nvme_force) insmod it.
. /scenarios/lib.sh
ship_arg() {
	sed -n "s/.*[[:space:]]pvb\.$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline
}
sha=$(ship_arg ship_sha)
want_version=$(ship_arg ship_version)
via=$(ship_arg ship_via)
if [ -z "$sha" ]; then
	tap_skip "the installed module" "no pvb.ship_sha on the command line (tests/vm/install.sh sets it)"
	exit 0
fi
rel=$(uname -r)
kmod=/usr/sbin/modprobe
dkms_ko=/lib/modules/$rel/updates/dkms/pvbounce.ko
nvme=$(nvme_pci)

if [ "$via" != modprobe ]; then
	have_pvbounce || { tap_not_ok "the installed module was packed as $PVB_KO"; exit 0; }
	expect_eq "$PVB_KO is the DKMS-built module (sha256)" \
		"$(sha256sum "$PVB_KO" | cut -d' ' -f1)" "$sha"
	check "pvbounce loads by insmod" pvb_load
	expect_eq "/sys/module/pvbounce/version is dkms.conf's" \
		"$(cat /sys/module/pvbounce/version 2>/dev/null)" "$want_version"
	rmmod pvbounce
	exit 0
fi

check "kmod's modprobe from Debian's initramfs at $kmod" test -x "$kmod" || { ls -la / /usr/sbin >/tmp/ls.out 2>&1; diag_file /tmp/ls.out 40; exit 0; }
check "the DKMS module in the initramfs at $dkms_ko" test -f "$dkms_ko" || exit 0
diag "Debian's initramfs for $rel, kmod's modprobe: $($kmod --version | head -n 1)"
expect_eq "the initramfs's pvbounce.ko is the DKMS-built module (sha256)" \
	"$(sha256sum "$dkms_ko" | cut -d' ' -f1)" "$sha"
check "mkinitramfs copied /etc/modprobe.d/pvbounce.conf" \
	grep -q '^softdep nvme pre: pvbounce' /etc/modprobe.d/pvbounce.conf
conf_devices=$(sed -n 's/^options pvbounce .*devices=\([^ ]*\).*/\1/p' /etc/modprobe.d/pvbounce.conf)
check "modules.dep of the initramfs lists updates/dkms/pvbounce.ko" \
	grep -q '^updates/dkms/pvbounce.ko:' "/lib/modules/$rel/modules.dep"
$kmod --show-depends nvme >/tmp/ship.deps 2>&1
sed 's/^/    | /' /tmp/ship.deps >/dev/console
first=$(grep -n 'pvbounce.ko' /tmp/ship.deps | head -n 1 | cut -d: -f1)
nv=$(grep -n '/nvme.ko' /tmp/ship.deps | head -n 1 | cut -d: -f1)
expect_le "modprobe --show-depends nvme: pvbounce before nvme (the softdep)" "${first:-999}" "${nv:-0}"
check_fails "pvbounce not loaded before modprobe" pvb_loaded

dmesg -c >/dev/null
check "modprobe nvme" "$kmod" nvme || exit 0
dmesg >/tmp/ship.dmesg
check "pvbounce was loaded by modprobe nvme" pvb_loaded || exit 0
expect_eq "/sys/module/pvbounce/version is dkms.conf's" \
	"$(cat /sys/module/pvbounce/version 2>/dev/null)" "$want_version"
expect_eq "devices= from the options line of pvbounce.conf" "$(cat $PVB_PARAMS/devices)" "$conf_devices"
expect_eq "force=1 from the options line" "$(cat $PVB_PARAMS/force)" Y
# pvbounce attached before nvme probed: its attach line comes first
att=$(grep -n "pvbounce $nvme: attached" /tmp/ship.dmesg | head -n 1 | cut -d: -f1)
probe=$(grep -n "nvme $nvme\|nvme nvme[0-9]*: pci function $nvme" /tmp/ship.dmesg | head -n 1 | cut -d: -f1)
expect_le "pvbounce attached $nvme before nvme probed it (kernel log order)" "${att:-999999}" "${probe:-0}" ||
	diag_file /tmp/ship.dmesg 15
check "nvme's namespace came up" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
counters "$nvme"
verified_io "$nvme" modprobe
show "$nvme"
expect_ge "bytes_to_device moved by >= the bytes written ($IO_W)" "$(delta "$nvme" bytes_to_device)" "$IO_W"
expect_ge "bytes_from_device moved by >= the bytes read ($IO_R)" "$(delta "$nvme" bytes_from_device)" "$IO_R"
expect_eq "no direct mapping under force=1" "$(delta "$nvme" direct_maps)" 0
expect_eq "no map error" "$(delta "$nvme" map_errors)" 0
expect_eq "every map was unmapped" "$(dbg "$nvme" maps)" "$(dbg "$nvme" unmaps)"
unbind "$nvme"
check "modprobe -r nvme pvbounce" "$kmod" -r nvme pvbounce
check_fails "pvbounce gone" pvb_loaded
