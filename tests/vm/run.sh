#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one Debian kernel in QEMU (TCG is enough), natively or as a Xen PV dom0
# (Xen 4.17 for Debian 12's kernels, 4.20 for Debian 13's), with an NVMe disk and two e1000e NICs on a hub, run guest scenarios
# and print their results as TAP for prove.
#
# Usage: tests/vm/run.sh SERIES MODE SCENARIO[:SCENARIO...]
#   SERIES    6.1 or 6.12 (Debian 12's two kernel series), 6.12-deb13 or 7.3
#             (Debian 13's 6.12 and trixie-backports' 7.3), or 6.12-debug:
#             the debug kernel of tests/vm/debug/ (KASAN natively, lockdep, kmemleak,
#             DMA-API debug, ...; built on first use, an hour on 2 cores),
#             with longer default timeouts (under TCG it is 3-5x slower)
#   MODE      native, xen, or domu: a Xen dom0 (768 MiB) that starts the
#             toolstack (Debian's of that Xen) in its initramfs and runs the
#             scenarios in an unprivileged PV domU (512 MiB) of the same
#             kernel (tests/vm/mkdom0.sh, tests/vm/domu-host.sh)
#   SCENARIO  a file tests/vm/scenarios/SCENARIO.sh
# Env: PVB_TIMEOUT  seconds for the whole boot (default 900)
#      PVB_BOOT_TIMEOUT  seconds for the guest to reach /init (default 240)
#      PVB_STALL_WAIT  seconds without a TAP line after an RCU stall report
#                   before the boot is stopped as hung (default 240)
#      PVB_LOGDIR   where console logs are kept (default build/vm-logs)
#      PVB_CACHE, PVB_BUILD  as for fetch.sh and mkinitramfs.sh
#      PVB_QEMU_EXTRA  more QEMU arguments
#      PVB_NVME_COUNT  NVMe disks of 256 MiB (default 1; the benchmark uses 2)
#      PVB_KARGS_EXTRA  more guest kernel arguments (no commas: the Xen boot
#                   separates the multiboot modules with them)
#      PVB_IOMMU    translate or pt: QEMU's intel-iommu and intel_iommu=on
#                   (pt: and iommu=pt, an identity domain); native only
#      PVB_XEN_ARGS  more Xen command line options (xen and domu modes),
#                   e.g. memop-max-order=10
#      PVB_DOMU_PCI  domu mode: these dom0 PCI addresses (BB:DD.F, comma
#                   separated) go to the domU through xen-pciback
#      PVB_SRIOV    N: one more NVMe controller, an SR-IOV PF with up to N
#                   VFs (QEMU's nvme-subsys), with a 64 MiB namespace
#      PVB_MODULE_KO  the pvbounce.ko the guest gets (mkinitramfs.sh)
#      PVB_INITRD_BASE  an initramfs (e.g. Debian's mkinitramfs) that the
#                   harness's goes after: the kernel unpacks both, the later
#                   one's files win; the guest's kernel modules, modules.dep
#                   and /etc/modprobe.d are then the base's
#      PVB_HOTPLUG  1: one more NVMe (256 MiB, serial pvbhp) behind a PCIe
#                   root port, and a QMP socket: the guest asks for it to be
#                   unplugged or plugged again with the TAP comment lines
#                   "# hotplug: del N" and "# hotplug: add N" (QEMU's
#                   device_del / device_add, ACPI hotplug on q35)
#      PVB_DRIVERS  1: the devices of the drivers group, each at a fixed PCI
#                   address, 32 MiB disks: an ide-hd on q35's own AHCI
#                   (00:1f.2), scsi-hd on megasas-gen2 (00:10.0), lsi53c895a
#                   (00:11.0) and pvscsi (00:12.0), usb-storage on qemu-xhci
#                   (00:13.0), sd-card on sdhci-pci (00:14.0), virtio-blk-pci
#                   (00:15.0), two vmxnet3 on hub 1 (00:16.0, 00:17.0), two
#                   virtio-net-pci on hub 2 (00:18.0, 00:19.0); the virtio
#                   devices modern only with iommu_platform=on (else virtio
#                   bypasses the DMA API); mkinitramfs.sh packs their drivers
#
# The run fails (a "not ok" line) on a missing plan or done marker, on a
# timeout, and on any kernel panic, BUG, WARNING, Oops, KASAN, KFENCE, UBSAN,
# lockdep, kmemleak, DMA-API debug or ODEBUG report in the console, the
# report's first lines going into the TAP output; the guest boots with
# panic_on_warn=1 oops=panic.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[[ $# -eq 3 ]] || die "usage: $0 6.1|6.12|6.12-deb13|7.3 native|xen|domu SCENARIO[:SCENARIO...]"
series=$1 mode=$2 scenarios=${3//,/:}
case $mode in native|xen|domu) ;; *) die "mode must be native, xen or domu" ;; esac
for s in ${scenarios//:/ }; do
	[[ -f $here/scenarios/$s.sh ]] || die "no scenario $s"
done
debug=0
[[ $series == 6.12-debug ]] && debug=1
timeout=${PVB_TIMEOUT:-$((debug ? 3600 : 900))}
logdir=${PVB_LOGDIR:-$top/build/vm-logs}
mkdir -p "$logdir"
xtag=${PVB_XEN_ARGS:+-${PVB_XEN_ARGS// /_}}
name=$series-$mode${PVB_IOMMU:+-iommu_$PVB_IOMMU}${xtag//=/}${PVB_DOMU_PCI:+-pci}-${scenarios//:/+}
name=${name:0:120}
log=$logdir/$name.console
taplog=$logdir/$name.tap
rm -f "$logdir/$name.digest"

# kernel, Xen, initramfs
if ((debug)); then
	# as a Xen dom0 the flavour without KASAN (see build-kernel.sh);
	# natively too if PVB_DEBUG_FLAVOUR=xen says so (make check-debug-ci)
	[[ $mode == native ]] || export PVB_DEBUG_FLAVOUR=xen
	read -r _ _ rel vmlinuz _ < <("$here/debug/build-kernel.sh") ||
		die "cannot build the debug kernel"
else
	read -r _ _ rel vmlinuz _ < <("$here/fetch.sh" "$series" | grep '^kernel ') ||
		die "cannot fetch the $series kernel"
fi
[[ $mode != native ]] && { read -r _ xen < <("$here/fetch.sh" "$(xen_item "$series")") || die "cannot fetch Xen"; }
if [[ -n ${PVB_INITRD_BASE:-} ]]; then
	[[ -f $PVB_INITRD_BASE ]] || die "PVB_INITRD_BASE: no file $PVB_INITRD_BASE"
	[[ $mode != domu ]] || die "PVB_INITRD_BASE is not for the domu mode"
	initrd=$(PVB_NO_KMODS=1 "$here/mkinitramfs.sh" "$rel")
else
	initrd=$("$here/mkinitramfs.sh" "$rel")
fi

tmp=$(mktemp -d)
qpid=
cleanup() {
	[[ -n $qpid ]] && kill "$qpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
if [[ -n ${PVB_INITRD_BASE:-} ]]; then
	cat "$PVB_INITRD_BASE" "$initrd" >"$tmp/initrd.img"
	initrd=$tmp/initrd.img
elif [[ $mode == domu ]]; then
	# dom0: the ordinary initramfs, then the toolstack and the domU's
	# kernel and initramfs (the kernel unpacks both archives)
	dom0=$("$here/mkdom0.sh" "$(xen_version "$series")" "$rel" "$vmlinuz" "$initrd")
	cat "$initrd" "$dom0" >"$tmp/dom0.cpio.gz"
	initrd=$tmp/dom0.cpio.gz
fi
nvme_count=${PVB_NVME_COUNT:-1}
[[ $nvme_count =~ ^[1-4]$ ]] || die "PVB_NVME_COUNT must be 1..4"
[[ ${PVB_KARGS_EXTRA:-} != *,* ]] || die "PVB_KARGS_EXTRA must not contain commas"
truncate -s 256M "$tmp/disk.img"
for ((i = 2; i <= nvme_count; i++)); do
	truncate -s 256M "$tmp/disk$i.img"
done

# panic=-1: reboot at once on panic, and -no-reboot turns that into an exit.
# watchdog_thresh=60: under TCG on a loaded host a boot-time crypto self-test
# was once seen "stuck" for 22 s; the soft-lockup limit (2x) is now 120 s, so
# only a real hang panics (the boot's own timeout catches the rest).
# no_timer_check: the early IO-APIC timer check was seen to panic a native
# boot under TCG on a loaded host ("IO-APIC + timer doesn't work!").
kargs="panic_on_warn=1 oops=panic panic=-1 softlockup_panic=1 watchdog_thresh=60 no_timer_check rdinit=/init"
kargs+=" pvb.mode=${mode/domu/domu-host} pvb.scenario=$scenarios pvb.tap=ttyS1"
# (Xen's multiboot command line takes no commas: + separates the devices)
[[ -n ${PVB_DOMU_PCI:-} ]] && kargs+=" pvb.domu_pci=${PVB_DOMU_PCI//,/+}"
# a boot given an SR-IOV PF: races' phase C must find it (no SKIP)
[[ -n ${PVB_SRIOV:-} ]] && kargs+=" pvb.sriov=$PVB_SRIOV"
# CI: a scenario that only SKIPs fails (guest-init.sh)
[[ ${CI:-} == true ]] && kargs+=" pvb.ci=1"
# docs: docs/parameters.md's table, read here (the guest has no docs/)
[[ :$scenarios: == *:docs:* ]] && kargs+=" pvb.doc_params=$(doc_params "$top/docs/parameters.md")"
[[ -z ${PVB_DOMU_PCI:-} || $mode == domu ]] || die "PVB_DOMU_PCI is for the domu mode"
# the debug kernel: a scenario may take 3-5 times as long
((debug)) && kargs+=" pvb.timeout=2400"
# as Debian's kernels have it built in (CONFIG_XEN_PV_MSR_SAFE): a PV
# kernel's read of an MSR Xen refuses (QEMU's AMD model, 0xc0010055 at
# boot) fails quietly instead of printing a stack
((debug)) && [[ $mode != native ]] && kargs+=" xen_msr_safe=1"
[[ -n ${PVB_KARGS_EXTRA:-} ]] && kargs+=" $PVB_KARGS_EXTRA"
# The vIOMMU comes before every PCI device: QEMU 7.2 takes either order, but
# a device created before intel-iommu keeps an untranslated DMA address space.
# Only DMA remapping is wanted: with interrupt remapping the kernel's early
# IO-APIC timer check was seen to panic under TCG.
iommu=()
case ${PVB_IOMMU:-} in
'') ;;
translate | pt)
	[[ $mode == native ]] || die "PVB_IOMMU is for native boots only"
	iommu=(-device intel-iommu,intremap=off)
	kargs+=" intel_iommu=on"
	[[ $PVB_IOMMU == pt ]] && kargs+=" iommu=pt"
	;;
*) die "PVB_IOMMU must be translate or pt" ;;
esac
# PCI passthrough to the domU: Xen assigns devices only behind an IOMMU,
# and lets a PV guest have MSIs only with interrupt remapping.
xen_iommu=
if [[ -n ${PVB_DOMU_PCI:-} ]]; then
	iommu=(-device intel-iommu,intremap=on)
	xen_iommu="iommu=verbose"
fi
qemu=(qemu-system-x86_64 -machine q35 -m 2048 -smp 2 "${iommu[@]}"
	-display none -monitor none -no-reboot
	-serial "file:$log" -serial "file:$taplog"
	-drive "file=$tmp/disk.img,if=none,id=disk,format=raw,cache=unsafe"
	-device nvme,drive=disk,serial=pvb
	-nic none
	-netdev hubport,id=h0,hubid=0 -device e1000e,netdev=h0,mac=52:54:00:12:34:01
	-netdev hubport,id=h1,hubid=0 -device e1000e,netdev=h1,mac=52:54:00:12:34:02)
if [[ $mode == native ]]; then
	qemu+=(-cpu max -kernel "$vmlinuz" -initrd "$initrd"
	       -append "console=ttyS0 $kargs")
else
	# Multiboot: Xen is the kernel, dom0's kernel and initrd are modules.
	# Without -smap,-smep the PV dom0 crashes under TCG.
	dom0_mem=1024M
	[[ $mode == domu ]] && dom0_mem=768M
	# A PV domU's busybox (static glibc: AVX2 string functions) was seen
	# to crash in malloc and on a NULL TLS pointer under TCG: QEMU 7.2's
	# AVX state apparently does not survive Xen's vCPU switches between
	# the domains.  Without XSAVE and AVX both use FXSAVE and SSE only.
	cpu=max,-smap,-smep
	[[ $mode == domu ]] && cpu+=,-xsave,-avx,-avx2
	qemu+=(-cpu "$cpu" -kernel "$xen"
	       -append "console=com1 com1=115200,8n1 dom0_mem=$dom0_mem,max:$dom0_mem noreboot $xen_iommu ${PVB_XEN_ARGS:-}"
	       -initrd "$vmlinuz console=hvc0 $kargs,$initrd")
fi
for ((i = 2; i <= nvme_count; i++)); do
	qemu+=(-drive "file=$tmp/disk$i.img,if=none,id=disk$i,format=raw,cache=unsafe"
	       -device "nvme,drive=disk$i,serial=pvb$i")
done
if [[ -n ${PVB_DRIVERS:-} ]]; then
	[[ $PVB_DRIVERS == 1 ]] || die "PVB_DRIVERS must be 1"
	for d in ahci megasas lsi pvscsi usb sd virtio; do
		truncate -s 32M "$tmp/drv-$d.img"
		qemu+=(-drive "file=$tmp/drv-$d.img,if=none,id=dd_$d,format=raw,cache=unsafe")
	done
	vio=iommu_platform=on,disable-legacy=on
	qemu+=(-device ide-hd,drive=dd_ahci,bus=ide.0
	       -device megasas-gen2,id=hba_megasas,addr=10.0 -device scsi-hd,drive=dd_megasas,bus=hba_megasas.0
	       -device lsi53c895a,id=hba_lsi,addr=11.0 -device scsi-hd,drive=dd_lsi,bus=hba_lsi.0
	       -device pvscsi,id=hba_pvscsi,addr=12.0 -device scsi-hd,drive=dd_pvscsi,bus=hba_pvscsi.0
	       -device qemu-xhci,id=hba_xhci,addr=13.0 -device usb-storage,drive=dd_usb,bus=hba_xhci.0
	       -device sdhci-pci,id=hba_sdhci,addr=14.0 -device sd-card,drive=dd_sd
	       -device "virtio-blk-pci,drive=dd_virtio,addr=15.0,$vio"
	       -netdev hubport,id=v3a,hubid=1 -device vmxnet3,netdev=v3a,addr=16.0,mac=52:54:00:12:35:01
	       -netdev hubport,id=v3b,hubid=1 -device vmxnet3,netdev=v3b,addr=17.0,mac=52:54:00:12:35:02
	       -netdev hubport,id=vna,hubid=2 -device "virtio-net-pci,netdev=vna,addr=18.0,mac=52:54:00:12:36:01,$vio"
	       -netdev hubport,id=vnb,hubid=2 -device "virtio-net-pci,netdev=vnb,addr=19.0,mac=52:54:00:12:36:02,$vio")
fi
if [[ -n ${PVB_SRIOV:-} ]]; then
	[[ $PVB_SRIOV =~ ^[1-7]$ ]] || die "PVB_SRIOV must be 1..7"
	truncate -s 64M "$tmp/sriov.img"
	# QEMU 7.2: each VF needs flexible queue and interrupt resources
	qemu+=(-device nvme-subsys,id=pvbsub,nqn=pvbsub
	       -device "nvme,id=pvbpf,serial=pvbpf,subsys=pvbsub,sriov_max_vfs=$PVB_SRIOV,sriov_vq_flexible=$((2 * PVB_SRIOV)),sriov_vi_flexible=$PVB_SRIOV,max_ioqpairs=$((2 * PVB_SRIOV + 2)),msix_qsize=$((PVB_SRIOV + 2))"
	       -drive "file=$tmp/sriov.img,if=none,id=sriovdisk,format=raw,cache=unsafe"
	       -device nvme-ns,drive=sriovdisk,bus=pvbpf,nsid=1)
fi
hp_id=pvbhpnvme
hp_add="{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"nvme\",\"id\":\"$hp_id\",\"serial\":\"pvbhp\",\"drive\":\"pvbhp\",\"bus\":\"pvbrp\"}}"
hp_del="{\"execute\":\"device_del\",\"arguments\":{\"id\":\"$hp_id\"}}"
if [[ -n ${PVB_HOTPLUG:-} ]]; then
	[[ $PVB_HOTPLUG == 1 ]] || die "PVB_HOTPLUG must be 1"
	truncate -s 256M "$tmp/hotplug.img"
	# -blockdev, not -drive: a -drive goes away with its device at unplug
	qemu+=(-device pcie-root-port,id=pvbrp,bus=pcie.0,chassis=9,slot=9
	       -blockdev "driver=file,node-name=pvbhpfile,filename=$tmp/hotplug.img,cache.no-flush=on"
	       -blockdev driver=raw,node-name=pvbhp,file=pvbhpfile
	       -device "nvme,id=$hp_id,serial=pvbhp,drive=pvbhp,bus=pvbrp"
	       -qmp "unix:$tmp/qmp.sock,server=on,wait=off")
fi
# shellcheck disable=SC2206
qemu+=(${PVB_QEMU_EXTRA:-})

# hotplug_poll: carry out the guest's new "# hotplug: del|add N" requests.
# device_add is retried while QEMU still finishes the previous removal.
hp_done=0
hotplug_poll() {
	local reqs req i try
	mapfile -t reqs < <(grep -aoE '^PVBTAP: # hotplug: (del|add) [0-9]+' "$taplog" || true)
	for ((i = hp_done; i < ${#reqs[@]}; i++)); do
		req=${reqs[i]#PVBTAP: # hotplug: }
		# (as long as the guest waits: 120 s)
		for try in $(seq 1 240); do
			if [[ $req == del* ]]; then
				"$here/qmp.pl" "$tmp/qmp.sock" "$hp_del" >>"$tmp/qmp.log" 2>&1 && break
			else
				"$here/qmp.pl" "$tmp/qmp.sock" "$hp_add" >>"$tmp/qmp.log" 2>&1 && break
			fi
			sleep 0.5
		done
		echo "$req: try $try" >>"$tmp/qmp.log"
	done
	hp_done=${#reqs[@]}
}

# (checkable LOG, common.sh: the console less what the test's own doing
# printed: forced allocation failures, sym53c8xx's remove() warnings, a
# discarded domU attempt)
# boot: run QEMU until the guest is done, panics, stalls or runs out of time.
# A panic halts a Xen machine (noreboot) instead of ending QEMU: watch the
# console and stop QEMU soon after one.  Sets timed_out, stalled,
# lost (a timer interrupt lost: see lost_timer in common.sh), hung (an RCU
# stall report, a domU's aside, and no TAP line in the stall_wait seconds
# after it: the guest will not finish, and any stall report fails the boot
# anyway, so its time limit is not waited out), elapsed.
# (a WARNING's end trace too, as panic_on_warn=1 turns it into a panic;
# the checkable part of the console only)
panic_re='Kernel panic|Panic on CPU|---\[ end trace'
stall_wait=${PVB_STALL_WAIT:-240}
boot() {
	local start now panicked=0 stall_at=0 tap_at_stall=0
	timed_out=0 stalled=0 lost=0 hung=0
	start=$(date +%s)
	: >"$log"
	: >"$taplog"
	"${qemu[@]}" </dev/null >"$tmp/qemu.out" 2>&1 &
	qpid=$!
	hp_done=0
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 1
		[[ -n ${PVB_HOTPLUG:-} ]] && hotplug_poll
		now=$(date +%s)
		if ((now - start >= timeout)); then
			timed_out=1
			break
		fi
		# (a domU's panic is for the dom0 to see: domu-host.sh may
		# create it again, and run.sh's check below still sees it)
		if ((panicked == 0)) && checkable "$log" | grep -av '^domU: ' | grep -Eq "$panic_re"; then
			panicked=$now
		elif ((panicked)) && ((now - panicked >= 5)); then
			break
		elif ((now - start >= boot_timeout)) && [[ ! -s $taplog ]]; then
			stalled=1
			break
		elif ((panicked == 0)) && lost_timer "$log" >/dev/null; then
			lost=1
			break
		elif ((panicked == 0 && stall_at == 0)) &&
		     [[ -n $(grep -a 'rcu: INFO: .*detected stall' "$log" | grep -av '^domU: ' || true) ]]; then
			stall_at=$now tap_at_stall=$(stat -c %s "$taplog")
		elif ((panicked == 0 && stall_at > 0 && now - stall_at >= stall_wait)); then
			if (($(stat -c %s "$taplog") == tap_at_stall)); then
				hung=1
				break
			fi
			stall_at=-1	# it went on: wait for the end
		elif grep -q '^PVBTAP: # pvb-done' "$taplog"; then
			# powered off, or about to: give it a moment
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$qpid" 2>/dev/null || break
				sleep 1
			done
			break
		fi
	done
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
	elapsed=$(($(date +%s) - start))
}

# lost_report LOG: the stall report lost_timer found in LOG, as TAP
# comments (at most 60 lines, a domU's left out)
lost_report() {
	local first last
	read -r first last < <(lost_timer "$1") || return 0
	((last - first < 60)) || first=$((last - 59))
	sed -n "${first},${last}p" "$1" | grep -av '^domU: ' | tr -d '\r' | sed 's/^/#   /' || true
}

# the checkers' reports: KASAN and KFENCE ("BUG: KFENCE:"), lockdep
# ("WARNING: possible circular locking ...", "INFO: ..."), "BUG: sleeping
# function called from invalid context", kmemleak's "new suspected memory
# leaks", DMA-API debug, debugobjects ("ODEBUG: ...")
bad_re='Kernel panic|BUG:|WARNING:|Oops|KASAN|KFENCE|UBSAN|general protection fault|Call Trace:|\(XEN\) .*(FATAL|Panic)'
# (DMA-API debug's errors are WARNINGs; its own shortage only a line)
bad_re+='|INFO: (possible|inconsistent|suspicious|trying|lockdep|rcu|task .* blocked)|suspected memory leak|kmemleak: .*(disabled|[Ff]ail)'
bad_re+='|DMA-API: .*(out of memory|disabling|exceeded)|ODEBUG: |list_(add|del) corruption'
# A boot that never reaches /init (seen rarely with Xen under TCG on a busy
# host: dom0 stops early in its boot, before any module is loaded), whose
# kernel lost a timer interrupt before pvbounce said anything (lost_timer:
# QEMU TCG, seen once on CI), or that panicked before its first result with
# pvbounce never loaded (early_panic, common.sh), is booted again, once in
# all, and said so (with the stall or panic report); that boot's console
# is kept aside, and what it printed before the report is still checked
# for the checkers' reports below.  A timer lost after pvbounce's first
# line fails the boot (races.sh loads and unloads it 200 times before its
# first result): pvbounce's use of freed timer or event-channel memory
# could look the same.  A retry may take the boot's time limit twice.
boot_timeout=${PVB_BOOT_TIMEOUT:-$((debug ? 900 : 240))}
discarded=
boot
if ((stalled)); then
	mv "$log" "$log.stalled"
	# (a stall report there, if any, and what follows it left out)
	if read -r first _ < <(lost_timer "$log.stalled"); then
		head -n "$((first - 1))" "$log.stalled" >"$log.discarded"
	else
		cp "$log.stalled" "$log.discarded"
	fi
	discarded=$log.stalled
	echo "# the guest did not reach /init in $boot_timeout s (console: $log.stalled); booting again"
	boot
elif ((lost)) && before_pvbounce "$log"; then
	mv "$log" "$log.lost-timer"
	read -r first _ < <(lost_timer "$log.lost-timer")
	# the stall report and what follows it are the lost timer's
	head -n "$((first - 1))" "$log.lost-timer" >"$log.discarded"
	discarded=$log.lost-timer
	echo "# the guest lost a timer interrupt after $elapsed s, before any line of pvbounce's (RCU's grace-period kthread asleep on an idle CPU; console: $log.lost-timer); booting again. Its stall report:"
	lost_report "$log.lost-timer"
	boot
elif panic_line=$(early_panic "$log"); then
	mv "$log" "$log.early-panic"
	first=$(grep -m1 -anE "$bad_re" "$log.early-panic" | cut -d: -f1 || true)
	[[ -n $first ]] || first=$panic_line
	((first <= panic_line)) || first=$panic_line
	head -n "$((first - 1))" "$log.early-panic" >"$log.discarded"
	discarded=$log.early-panic
	echo "# the guest panicked after $elapsed s, before its first result and before pvbounce was loaded (console: $log.early-panic); booting again. Its report:"
	sed -n "${first},${panic_line}p" "$log.early-panic" | tail -n 40 | tr -d '\r' | sed 's/^/#   /'
	boot
fi

# digest: why this boot failed, in at most four short lines, for run-all.sh
# to print after prove's summary (the end of a CI log is often all that is
# shown): its name, how many results failed and the first (emit's), the
# scenario running last, the console's first report (the check's $bad) and
# its last line
digest() {
	local first last scen
	scen=$(grep -a '=== scenario ' "$taplog" | tail -n 1 | sed 's/.*=== scenario //' | tr -d '\r' || true)
	echo "$series $mode ${PVB_IOMMU:+(iommu $PVB_IOMMU) }$scenarios: $failed failed${scen:+, last scenario $scen}"
	echo "  first: ${first_failed:0:140}"
	first=${bad%%$'\n'*}
	first=${first#*:}
	first=${first//$'\r'/}
	[[ -z $first ]] || echo "  report: ${first:0:160}"
	last=$(grep -av '^\s*$' "$log" | tail -n 1 | tr -d '\r' | cut -c1-160 || true)
	echo "  console ends: ${last:-(empty)}"
}

# ---- results --------------------------------------------------------------
n=0 failed=0 first_failed=
emit() { # "ok"|"not ok" DESC
	n=$((n + 1))
	if [[ $1 != ok ]]; then
		failed=$((failed + 1))
		[[ -n $first_failed ]] || first_failed="$1 $n - $2"
	fi
	echo "$1 $n - $2"
}
echo "# $series ($rel) $mode: $scenarios; console log $log"
plan=
while IFS= read -r line; do
	line=${line%$'\r'}
	line=${line#*PVBTAP: }
	if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
		emit "${BASH_REMATCH[1]}ok" "${BASH_REMATCH[2]}"
	elif [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
		plan=${BASH_REMATCH[1]}
	elif [[ $line == '#'* ]]; then
		echo "$line"
	fi
done < <(grep -a 'PVBTAP: ' "$taplog")
guest_tests=$n

if [[ -n $plan && $plan == "$guest_tests" ]] && grep -aq '^PVBTAP: # pvb-done' "$taplog"; then
	emit ok "guest ran every scenario and printed its plan ($plan tests)"
else
	emit "not ok" "guest ran every scenario and printed its plan (plan '${plan:-none}', $guest_tests results)"
fi
if ((stalled)); then
	emit "not ok" "guest reached /init within $boot_timeout s (in the boot that counts)"
elif ((lost)); then
	emit "not ok" "guest kept its timer interrupts (it lost one after $elapsed s)"
	lost_report "$log"
elif ((hung)); then
	emit "not ok" "guest went on after its RCU stall report (no TAP line in $stall_wait s; stopped after $elapsed s)"
elif ((timed_out)); then
	emit "not ok" "boot finished within $timeout s"
else
	emit ok "boot finished within $timeout s ($elapsed s)"
fi
checked=$log.checked
checkable "$log" >"$checked"
# the console of a boot booted again (what it printed before a lost timer)
if [[ -n $discarded ]]; then
	checkable "$log.discarded" >"$log.discarded.checked"
	bad=$(grep -anE "$bad_re" "$log.discarded.checked" | head -n 8 || true)
	if [[ -z $bad ]]; then
		emit ok "the discarded boot's console ($discarded) free of the same reports"
	else
		emit "not ok" "the discarded boot's console ($discarded) free of the same reports"
		while IFS= read -r l; do echo "#   $l"; done <<<"$bad"
	fi
fi
bad=$(grep -anE "$bad_re" "$checked" | head -n 8 || true)
if [[ -z $bad ]]; then
	emit ok "console free of panic, BUG, WARNING, Oops, KASAN, UBSAN, lockdep, kmemleak and DMA-API reports"
else
	emit "not ok" "console free of panic, BUG, WARNING, Oops, KASAN, UBSAN, lockdep, kmemleak and DMA-API reports"
	while IFS= read -r l; do echo "#   $l"; done <<<"$bad"
	# the first report itself, as the kernel printed it
	first=$(grep -m1 -anE "$bad_re" "$checked" | cut -d: -f1)
	echo "#   ---- the first report (console lines $((first > 3 ? first - 3 : 1))..$((first + 56))):"
	sed -n "$((first > 3 ? first - 3 : 1)),$((first + 56))p" "$checked" | tr -d '\r' | sed 's/^/#   /'
fi
echo "1..$n"
if ((failed)); then
	digest >"$logdir/$name.digest"
	{
		echo "---- failures of $series $mode:"
		grep -a -A3 '^PVBTAP: not ok' "$taplog" | sed 's/^PVBTAP: //' | tr -d '\r' || true
		echo "---- last 80 console lines of $series $mode ($log):"
		tail -n 80 "$log" | tr -d '\r'
		[[ -s $tmp/qemu.out ]] && { echo "---- qemu:"; cat "$tmp/qemu.out"; }
		[[ -s $tmp/qmp.log ]] && { echo "---- qmp (last 20 lines):"; tail -n 20 "$tmp/qmp.log"; }
	} >&2
	exit 1
fi
exit 0
