# SPDX-License-Identifier: GPL-2.0
# The domU lane's dom0 side (busybox sh, sourced by /init when booted with
# pvb.mode=domu-host; tests/vm/mkdom0.sh puts it in the dom0 initramfs).
#
# Starts Xen's toolstack in this initramfs (the xen device modules, xenfs
# at /proc/xen, the C xenstored, xen-init-dom0, xenconsoled logging the
# guests' consoles to files; tests/vm/domu-lib.sh) and splits the boot's
# scenarios: those named dom0_* run here in the dom0, after this script (in
# DOM0_SCENARIOS, for /init's loop), and create their own domUs; the others
# run in one unprivileged PV domU running the same kernel with the ordinary
# test initramfs (pvb.mode=domu), created here.  The domU's own plan is
# dropped: /init prints one for the forwarded results plus the dom0's own.
#
# Kernel command line (besides guest-init.sh's):
#   pvb.domu_pci=BB:DD.F[+...]  make these devices assignable (xen-pciback)
#                               and pass them to the domU (pci = [...])
#   pvb.domu_mem=MiB            the domU's memory (default 512)
#   pvb.domu_crash_first=1      the domU's first boot crashes on purpose
#                               before any scenario (pvb.crash_in_boot=1):
#                               the test of its second attempt
. /lib/pvb/domu-lib.sh

domu_main() {
	DOM0_SCENARIOS=
	guests=
	for s in $(arg scenario | tr ':,' '  '); do
		case $s in
		dom0_*) DOM0_SCENARIOS="$DOM0_SCENARIOS $s" ;;
		*) guests="$guests${guests:+:}$s" ;;
		esac
	done
	DOMU_MEM=$(arg domu_mem)
	DOMU_CRASH_FIRST=$(arg domu_crash_first)
	pci=$(arg domu_pci)
	domu_toolstack || { DOM0_SCENARIOS=; return; }
	[ -n "$guests" ] || return 0
	# a domain with a device may exchange up to Xen's ptdom order
	DOMU_ARGS=
	[ -n "$pci" ] && DOMU_ARGS="pvb.ptdom=1"
	pcicfg=
	if [ -n "$pci" ]; then
		domu_assign $(echo "$pci" | tr '+' ' ') || return
		for p in $(echo "$pci" | tr '+' ' '); do
			pcicfg="$pcicfg${pcicfg:+, }'$p'"
		done
	fi
	domu_boot "$guests"
	pcicfg=
	"$XEN_BIN/xl" dmesg >/tmp/xl.dmesg 2>&1
	grep -iE 'domain 1|d1|memop|exchange|iommu|VT-d' /tmp/xl.dmesg | tail -n 20 |
		while IFS= read -r l; do diag "xl dmesg: $l"; done
}

domu_main
