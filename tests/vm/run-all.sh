#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every QEMU scenario on both Debian 12 kernels, natively and as a Xen PV
# dom0, as prove tests (`make vm-check`); group `matrix` boots Debian 13's
# kernels (6.12-deb13, 7.3), natively and on Xen 4.20, with the scenarios
# an API change would break; group `drivers` boots 6.1, 6.12 and 7.3
# natively with QEMU's emulated storage controllers and NICs (run.sh's
# PVB_DRIVERS=1),
# their in-tree drivers on pvbounce.  One boot runs a group of scenarios, each
# of which loads and unloads the module itself; at most PVB_JOBS (default 2)
# QEMUs run at once.  First a harness self-test: a guest that panics must be
# reported as failed.
#
# PVB_KERNELS=6.12-debug runs the groups on the debug kernel of tests/vm/debug/
# (`make check-debug`: every group).  Groups `debug` (the lane's core subset)
# and `debug_ci` (without faults and masks, with lifetime: what CI runs,
# `make check-debug-ci`) boot that kernel whatever PVB_KERNELS says.
# faults needs the debug kernel's fault injection: it is in no group of
# Debian's kernels (there it could only SKIP; under CI a scenario whose
# every result is a SKIP fails) and runs in `make check-debug` only.
#
# Env: PVB_KERNELS (default "6.1 6.12"; also 6.12-debug), PVB_MODES (default "xen native";
#      the domu group runs when 6.12 and xen are in them),
#      PVB_RACES (iterations of the races scenario, default 200 natively,
#      100 as a Xen dom0; 50 on 6.1 and on the debug kernel, whose group
#      limits are tripled: see genv),
#      PVB_EVERY_KERNEL=1 (every group on every kernel, and in every mode
#      but group_modes' limits, 200 races on 6.1: see group_not_on),
#      PVB_HOTPLUG_CYCLES (unplug/re-plug cycles of the hotplug scenario,
#      default 15 natively and 5 on Xen),
#      PVB_GROUPS (default: all of the table below), PVB_JOBS (default 2),
#      PVB_DEBUG_FLAVOUR=xen (the debug kernel without KASAN in both modes:
#      one build, as CI's make check-debug-ci has it),
#      PVB_SELFTEST=0 (no harness self-test boot),
#      PVB_LIST=1 (print the boots, each with its command, and run none),
#      PVB_PROVE_ARGS (e.g. -v), and what run.sh takes.
#
# Group "ship" is not a list of scenarios: install.sh (DKMS, make install,
# a boot per Debian kernel of PVB_KERNELS on the DKMS-built module, one of
# them on Debian's own initramfs), deb-install.sh (the .deb installed by apt
# in an overlay of the Debian 13 build root, a native 7.3 boot on the
# module dkms built there, apt-get remove and purge) and demo-check.sh
# (make demo on unpacked headers); it has no boot on the debug kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# group name -> scenarios (longest group first: better packing for -j)
declare -A groups=(
	[life]=bad_params:lifecycle:lifetime:docs:memory:xen_exchange:kmod:masks:misuse
	[core]=lifetime:memory:xen_exchange:kmod:masks:nvme_force:pool_placement:net
	[io]=baseline:nvme_force:nvme_noforce:nvme_maxmap:nvme_exhaust:pool_placement:pool_grow:net:observe
	[iommu]=iommu
	[races]=races
	[stress]=hotplug:fio_stress
	[domu]=domu
	[domu_pci]=domu:domu_pci:kmod
	[dom0]=dom0_blkback
	[dom0net]=dom0_netback
	[debug]=kmod:masks:nvme_force:lifecycle:lifetime:memory:faults
	[debug_ci]=kmod:nvme_force:lifecycle:lifetime:memory
	[matrix]=kmod:nvme_force:lifecycle:lifetime:net
	[drivers]=drivers_storage:drivers_net
)
# longest boots first, for prove -j's packing; domu_pci (PCI passthrough
# into the domU, one boot of about 5 to 25 minutes under TCG) runs only
# when asked: PVB_GROUPS=domu_pci; debug and debug_ci (the debug kernel's core subset)
# too, as it needs the debug kernel built
group_order=(io races matrix ship domu dom0 dom0net life core stress drivers iommu)
# groups on a kernel of their own (debug_ci: the core subset as CI runs it,
# without faults, which takes 25 minutes a boot)
# (matrix: Debian 13's kernels, one boot per kernel and mode)
# (drivers: each kernel series of the matrix, natively only (see
# group_modes): Debian 13's 6.12 is the series Debian 12's 6.12 boots, and
# gave way to the dom0 groups for CI's time; PVB_KERNELS-independent)
declare -A group_kernels=([debug]=6.12-debug [debug_ci]=6.12-debug [matrix]="6.12-deb13 7.3"
	[drivers]="6.1 6.12 7.3")
# groups booted only in these of PVB_MODES' modes (drivers: in-tree storage
# and NIC drivers on QEMU's emulated devices; what it tests is how each
# driver reaches the DMA API, the same on either backend)
declare -A group_modes=([drivers]=native)
# groups left out on a kernel, or on a kernel in one mode (KERNEL:MODE),
# for CI's 75 minutes: stress (hot-plug, fio on a held-full pool) exercises
# pvbounce's own allocator and lifecycle, the same code on every kernel; it
# runs on 6.12, the series Debian 12 (backports) and Debian 13 share.  On
# 6.1 as a Xen dom0 (Debian 12's older kernel: a smoke subset, the whole
# groups run on its newest, 6.12), io, races and life give way to one boot
# of core: what meets the kernel's DMA, driver-core and Xen interfaces
# (lifetime, memory, xen_exchange, kmod, masks, nvme_force, pool_placement,
# net); the rest of io and life run on 6.1 natively and on 6.12 in both
# modes.  races (pvbounce's own locking against attach, detach, unbind and
# devices= writes) runs on 6.12 in both modes only, for the dom0 groups'
# boots.  PVB_EVERY_KERNEL=1 runs every group everywhere (and no
# core).
declare -A group_not_on=([stress]=6.1 [io]=6.1:xen [races]=6.1 [life]=6.1:xen)
# groups that run only there (KERNEL:MODE), unless PVB_EVERY_KERNEL=1
declare -A group_only_on=([core]=6.1:xen)
# environment of a group's boots (see run.sh)
# (races: a Xen boot takes about 10 minutes under TCG, past the defaults)
# (stress: a third NVMe behind a PCIe root port, unplugged and plugged
# again through QMP, PVB_HOTPLUG_CYCLES overrides the scenario's cycles;
# Debian's fio in the initramfs on the two others)
# (io: observe alone takes 3 minutes of a loaded Xen boot)
# domu: the first domU boot crashes on purpose before any scenario, for
# domu-host.sh's second attempt (a boot crash under TCG) to be tested too.
# (dom0, dom0net: their scenario boots three domUs, one through two
# rounds, past 600 s on a loaded host)
declare -A group_env=([dom0]="PVB_KARGS_EXTRA='pvb.timeout=2000'" [dom0net]="PVB_KARGS_EXTRA='pvb.timeout=1500'" [drivers]="PVB_DRIVERS=1" [core]="PVB_TIMEOUT=1800" [domu]="PVB_KARGS_EXTRA='pvb.domu_crash_first=1'" [io]="PVB_TIMEOUT=1800" [races]="PVB_SRIOV=2 PVB_TIMEOUT=1800 PVB_KARGS_EXTRA='pvb.races=@RACES@ pvb.timeout=1500'"
	[stress]="PVB_HOTPLUG=1 PVB_FIO=1 PVB_NVME_COUNT=2 PVB_TIMEOUT=1800 PVB_KARGS_EXTRA='pvb.timeout=1500${PVB_HOTPLUG_CYCLES:+ pvb.hotplug=$PVB_HOTPLUG_CYCLES}'")
# groups booted with QEMU's intel-iommu (native only), once per PVB_IOMMU mode
declare -A group_iommu=([iommu]="translate pt")
# groups run in an unprivileged PV domU (run.sh's domu mode), once when
# PVB_KERNELS has 6.12 and PVB_MODES xen, a boot per entry
# "[KERNEL/]XENARGS": KERNEL (default 6.12, Debian 12's) on the Xen of its
# Debian release (6.12-deb13: Debian 13's 6.12 on Xen 4.20, with 4.20's
# toolstack), XENARGS Xen's command line ("-": Xen's defaults).  domu:
# Debian 12's 6.12 with Xen 4.17's defaults (order 9: 4 MiB segments step
# down), Debian 13's with memop-max-order=10 on 4.20 (4 MiB had).
# domu_pci: QEMU's NVMe passed through; a domain with a device may exchange
# order 12 (16 MiB) by default (a 4 MiB coherent allocation succeeds),
# 9,,,9 keeps it at 2 MiB so that it fails, naming memop-max-order
# dom0, dom0net: the dom0 serving its guests (dom0_* scenarios create their
# domUs), a guest's disk through blkback, its network through netback (two
# groups, two boots beside each other under -j): Debian 12's 6.12 on Xen 4.17
declare -A group_domu=([domu]="- 6.12-deb13/memop-max-order=10" [domu_pci]="- memop-max-order=9,,,9"
	[dom0]="-" [dom0net]="-")
# domu_kernel ENTRY, domu_xenargs ENTRY: the parts of a group_domu entry
domu_kernel() {
	if [[ $1 == */* ]]; then echo "${1%%/*}"; else echo 6.12; fi
}
domu_xenargs() {
	local x=${1#*/}
	[[ $x == - ]] || echo "$x"
}
group_env[domu_pci]="PVB_DOMU_PCI=00:02.0"

# genv GROUP KERNEL MODE: the group's environment for a boot of KERNEL in
# MODE.  The debug kernel runs 3-5 times slower under TCG: the group's
# limits (PVB_TIMEOUT, pvb.timeout=) are for Debian's kernels and are
# tripled, and races runs 50 iterations there (200 natively, 100 as a Xen
# dom0, where an iteration takes about four times as long under TCG)
# unless PVB_RACES says how many.
genv() {
	local e=${group_env[$1]:-} races=${PVB_RACES:-200}
	[[ ${3:-} == xen && -z ${PVB_EVERY_KERNEL:-} ]] && races=${PVB_RACES:-100}
	# 6.1 (Debian 12's first kernel): a quarter of the races
	[[ $2 == 6.1 && -z ${PVB_EVERY_KERNEL:-} ]] && races=${PVB_RACES:-50}
	if [[ $2 == 6.12-debug ]]; then
		e=$(perl -pe 's/(?<![\w.])((?:PVB_TIMEOUT|pvb\.timeout)=)(\d+)\b/$1 . $2 * 3/ge' <<<"$e")
		races=${PVB_RACES:-50}
	fi
	echo "${e//@RACES@/$races}"
}

kernels=(${PVB_KERNELS:-6.1 6.12})
modes=(${PVB_MODES:-xen native})
sel=(${PVB_GROUPS:-${group_order[*]}})

# every kernel booted: PVB_KERNELS and the groups' own (a domU group's
# when it runs)
all_kernels=("${kernels[@]}")
domu_on=0
[[ " ${kernels[*]} " == *" 6.12 "* && " ${modes[*]} " == *" xen "* ]] && domu_on=1
for g in "${sel[@]}"; do
	gk=${group_kernels[$g]:-}
	if [[ -n ${group_domu[$g]:-} ]] && ((domu_on)); then
		for x in ${group_domu[$g]}; do gk+=" $(domu_kernel "$x")"; done
	fi
	for k in $gk; do
		[[ " ${all_kernels[*]} " != *" $k "* ]] && all_kernels+=("$k")
	done
done

# The debug kernel's flavours (make build-debug's DEBUG_FLAVOURS): KASAN
# natively, none as a Xen dom0; PVB_DEBUG_FLAVOUR=xen: none in both modes
dflav=${modes[*]}
[[ ${PVB_DEBUG_FLAVOUR:-} == xen ]] && dflav=xen

# prepare: the modules built and the images fetched for every boot (none
# with PVB_LIST=1, which only lists the boots)
prepare() {
	# The module, built for each kernel if missing or older than its sources.
	stale=0 stale_debug=0
	for k in "${all_kernels[@]}"; do
		rels=()
		if [[ $k == 6.12-debug ]]; then
			# builds the kernel itself when missing (an hour on 2 cores),
			# in the flavours of the modes run (KASAN natively, none as a
			# Xen dom0)
			for f in $dflav; do
				[[ $f == native ]] && f=
				read -r _ _ rel _ < <(PVB_DEBUG_FLAVOUR=$f "$here/debug/build-kernel.sh") ||
					die "cannot build the debug kernel${f:+ ($f flavour)}"
				rels+=("$rel")
			done
		else
			rel=$("$top/scripts/kdirs.sh" "$k" 2>/dev/null) || die "no $k headers: install $(image_meta "$k" | sed 's/image/headers/')"
			rels+=("${rel##*/linux-headers-}")
		fi
		for rel in "${rels[@]}"; do
			ko=${PVB_BUILD:-$top/build}/$rel/pvbounce.ko
			if [[ ! -f $ko ]] || [[ -n $(find "$top/src" "$top/include" "$top/Kbuild" "$top/tests/kmod" -newer "$ko" -type f 2>/dev/null | head -n 1) ]]; then
				if [[ $k == 6.12-debug ]]; then stale_debug=1; else stale=1; fi
			fi
		done
	done
	((stale == 0)) || make -C "$top" --no-print-directory build-all
	((stale_debug == 0)) || make -C "$top" --no-print-directory build-debug DEBUG_FLAVOURS="$dflav"

	# Fetch once, before parallel runs share the cache: the kernels, their
	# Xen, and the toolstack of each domU boot's Xen
	fetch=()
	# ship's deb-install.sh boots 7.3 (its module is the one apt's dkms
	# builds in the Debian 13 build root, not build/'s), when ship runs
	# (a Debian 12 kernel in PVB_KERNELS)
	if [[ " ${sel[*]} " == *" ship "* && " ${kernels[*]} " =~ \ 6\.12?\  ]]; then
		fetch+=(7.3)
	fi
	for k in "${all_kernels[@]}"; do
		[[ $k == 6.12-debug || " ${fetch[*]} " == *" $k "* ]] || fetch+=("$k")
		[[ " ${fetch[*]} " == *" $(xen_item "$k") "* ]] || fetch+=("$(xen_item "$k")")
	done
	for g in "${sel[@]}"; do
		if [[ -z ${group_domu[$g]:-} ]] || ((domu_on == 0)); then continue; fi
		for x in ${group_domu[$g]}; do
			t=$(xentools_item "$(xen_version "$(domu_kernel "$x")")")
			[[ " ${fetch[*]} " == *" $t "* ]] || fetch+=("$t")
		done
	done
	"$here/fetch.sh" "${fetch[@]}" >/dev/null
}
[[ -n ${PVB_LIST:-} ]] || prepare

tdir=$(mktemp -d)
trap 'rm -rf "$tdir"' EXIT
tests=()
cat >"$tdir/00-harness-selftest.t" <<EOF
#!/bin/bash
# a guest that panics mid-scenario must fail run.sh with the panic reported;
# the checkers' reports before it (selftest_reports) are named too; a
# scenario that prints nothing (selftest_silent) fails, and under CI
# (pvb.ci=1) so does one whose every result is a SKIP (selftest_skips)
out=\$(PVB_LOGDIR=$tdir PVB_KARGS_EXTRA=pvb.ci=1 "$here/run.sh" ${kernels[0]} native selftest_reports:selftest_silent:selftest_skips:selftest_crash 2>/dev/null)
rc=\$?
echo "1..12"
[ \$rc -ne 0 ] && echo "ok 1 - run.sh fails when the guest panics" || echo "not ok 1 - run.sh fails when the guest panics"
grep -Eq '^ok [0-9]+ - before the crash' <<<"\$out" && echo "ok 2 - results before the panic are kept" || echo "not ok 2 - results before the panic are kept"
grep -q 'Kernel panic' <<<"\$out" && echo "ok 3 - the panic is named" || echo "not ok 3 - the panic is named"
n=4
# the lines run.sh names (grep -n's "#   LINE:"); the first five reports
# are the first five named (a forced failure's own Call Trace not among them)
named=\$(grep -E '^#   [0-9]+:' <<<"\$out")
for r in 'suspected memory leaks' 'DMA-API: debugging out of memory' 'ODEBUG: free active' 'INFO: trying to register non-static key' 'a report after a forced failure'; do
	head -n 5 <<<"\$named" | grep -q "\$r" && echo "ok \$n - a report '\$r' is named" || echo "not ok \$n - a report '\$r' is named"
	n=\$((n + 1))
done
grep -q 'in the attempt that counts' <<<"\$named" && echo "ok \$n - a report of a domU attempt that counts is named" || echo "not ok \$n - a report of a domU attempt that counts is named"
n=\$((n + 1))
grep -q 'in a discarded attempt' <<<"\$out" && echo "not ok \$n - a discarded domU attempt's report is left out" || echo "ok \$n - a discarded domU attempt's report is left out"
n=\$((n + 1))
grep -Eq '^not ok [0-9]+ - scenario selftest_silent printed at least one result' <<<"\$out" && echo "ok \$n - a scenario that printed no result fails" || echo "not ok \$n - a scenario that printed no result fails"
n=\$((n + 1))
grep -Eq '^not ok [0-9]+ - scenario selftest_skips ran a test' <<<"\$out" && echo "ok \$n - under CI a scenario whose every result is a SKIP fails" || echo "not ok \$n - under CI a scenario whose every result is a SKIP fails"
EOF
for g in "${sel[@]}"; do
	if [[ $g == ship ]]; then
		# the boots of install.sh: 6.1 natively, 6.12 as a Xen dom0 on
		# Debian's initramfs (the kernels selected of them)
		# (none on the debug kernel alone: DKMS, Debian's initramfs
		# and make demo are about Debian's kernels)
		sm= dk=
		for k in "${kernels[@]}"; do
			case $k in 6.1) sm+=" 6.1:native" ;; 6.12) sm+=" 6.12:xen" ;; *) continue ;; esac
			dk=${dk:-$k}
		done
		[[ -n $sm ]] || continue
		printf '#!/bin/sh\nPVB_SHIP_MODES="%s" exec "%s/install.sh"\n' "$sm" "$here" >"$tdir/ship-install.t"
		printf '#!/bin/sh\nPVB_DEMO_KERNEL=%s exec "%s/demo-check.sh"\n' "$dk" "$here" >"$tdir/ship-demo.t"
		printf '#!/bin/sh\nexec "%s/deb-install.sh"\n' "$here" >"$tdir/ship-deb.t"
		tests+=("$tdir/ship-install.t" "$tdir/ship-deb.t" "$tdir/ship-demo.t")
		continue
	fi
	[[ -n ${groups[$g]:-} ]] || die "unknown group $g (${group_order[*]} domu_pci debug debug_ci)"
	gkernels=("${kernels[@]}")
	[[ -n ${group_kernels[$g]:-} ]] && gkernels=(${group_kernels[$g]})
	for m in "${modes[@]}"; do
		for k in "${gkernels[@]}"; do
			[[ -n ${group_modes[$g]:-} && " ${group_modes[$g]} " != *" $m "* ]] && continue
			if [[ -z ${PVB_EVERY_KERNEL:-} ]]; then
				[[ " ${group_not_on[$g]:-} " == *" $k "* ]] && continue
				if [[ " ${group_not_on[$g]:-} " == *" $k:$m "* ]]; then
					echo "run-all: no $g boot on $k $m (CI's time: see group_not_on; PVB_EVERY_KERNEL=1 runs it)" >&2
					continue
				fi
				[[ -n ${group_only_on[$g]:-} && " ${group_only_on[$g]} " != *" $k:$m "* ]] && continue
			elif [[ -n ${group_only_on[$g]:-} ]]; then
				continue
			fi
			if [[ -n ${group_domu[$g]:-} ]]; then
				# once, whatever PVB_MODES says (with xen in it);
				# each entry names its kernel
				[[ $k == 6.12 && $m == xen ]] || continue
				for e in ${group_domu[$g]}; do
					dk=$(domu_kernel "$e") x=$(domu_xenargs "$e")
					t=$tdir/$dk-domu-$g${x:+-$x}.t
					t=${t//,/_}
					printf '#!/bin/sh\n%s PVB_XEN_ARGS=%s PVB_TIMEOUT=2400 exec "%s/run.sh" %s domu %s\n' "$(genv "$g" "$dk")" "$x" "$here" "$dk" "${groups[$g]}" >"$t"
					tests+=("$t")
				done
				continue
			fi
			if [[ -n ${group_iommu[$g]:-} ]]; then
				[[ $m == native ]] || continue
				for i in ${group_iommu[$g]}; do
					t=$tdir/$k-$m-$g-$i.t
					printf '#!/bin/sh\nPVB_IOMMU=%s exec "%s/run.sh" %s %s %s\n' "$i" "$here" "$k" "$m" "${groups[$g]}" >"$t"
					tests+=("$t")
				done
				continue
			fi
			t=$tdir/$k-$m-$g.t
			printf '#!/bin/sh\n%s exec "%s/run.sh" %s %s %s\n' "$(genv "$g" "$k" "$m")" "$here" "$k" "$m" "${groups[$g]}" >"$t"
			tests+=("$t")
		done
	done
done
[[ ${PVB_SELFTEST:-1} == 0 ]] || tests+=("$tdir/00-harness-selftest.t")
# run.sh's stop of a boot that stalled (hung, PVB_STALL_WAIT), with a
# stand-in for QEMU that writes a console and a TAP port and then idles: no
# guest, a few seconds
mkdir -p "$tdir/fakeqemu"
cat >"$tdir/fakeqemu/qemu-system-x86_64" <<'EOF'
#!/bin/bash
con= tap=
while (($#)); do
	if [[ $1 == -serial ]]; then
		if [[ -z $con ]]; then con=${2#file:}; else tap=${2#file:}; fi
		shift
	fi
	shift
done
printf 'PVBTAP: # === scenario stall\r\n' >>"$tap"
printf '[    5.0] pvbounce: loaded\r\n[   30.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\r\n' >>"$con"
[[ -z ${PVB_FAKE_GOES_ON:-} ]] || { sleep 3; printf 'PVBTAP: ok 1 - went on\r\n' >>"$tap"; }
exec sleep 300
EOF
chmod +x "$tdir/fakeqemu/qemu-system-x86_64"
cat >"$tdir/00-harness-stall.t" <<EOF
#!/bin/bash
. "$here/common.sh"
n=0
echo "1..4"
run() { PATH=$tdir/fakeqemu:\$PATH PVB_LOGDIR=$tdir/stall PVB_STALL_WAIT=6 PVB_TIMEOUT=40 "$here/run.sh" ${kernels[0]} native selftest_crash 2>/dev/null; }
start=\$(date +%s)
out=\$(run)
[ \$? -ne 0 ]
tap_res \$? "run.sh fails a boot that stalled"
grep -q '^not ok [0-9]* - guest went on after its RCU stall report' <<<"\$out"
tap_res \$? "the stall is named"
[ \$((\$(date +%s) - start)) -lt 35 ]
tap_res \$? "the boot is stopped before its time limit"
out=\$(PVB_FAKE_GOES_ON=1 run)
grep -q '^not ok [0-9]* - boot finished within 40 s' <<<"\$out"
tap_res \$? "a guest that went on after its stall report runs to its time limit"
EOF
tests+=("$tdir/00-harness-stall.t")
# run.sh's test for a lost timer interrupt (lost_timer, common.sh), on
# console excerpts: no boot, so it runs whatever PVB_SELFTEST says
cat >"$tdir/00-harness-lost-timer.t" <<EOF
#!/bin/bash
# CI's report (the NMI's target CPU idle) is a lost timer; a stall whose
# target CPU was busy, a domU's report, and an "idling" line past the
# report's window are not; a match at the start of a long log is found
# under pipefail (no pipe cut short)
set -o pipefail
. "$here/common.sh"
harness_init
t() { tap_want "\$1" "\$2" lost_timer "\$3"; } # WANT(0 found|1 not) DESC FILE
echo "1..8"
ci=('[  337.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' '[  358.3] rcu: Stack dump where RCU GP kthread last ran:' '[  358.3] Sending NMI from CPU 0 to CPUs 1:' '[  337.3] NMI backtrace for cpu 1 skipped: idling at native_safe_halt+0xb/0x10')
printf '%s\r\n' "\${ci[@]}" >\$d/ci.log
t 0 "CI's report (console CRLF lines) is a lost timer" \$d/ci.log
printf '%s\n' "\${ci[@]}" >\$d/long.log
seq 300000 >>\$d/long.log
t 0 "found at the start of a long log under pipefail" \$d/long.log
[ "\$(lost_timer \$d/ci.log)" = "1 4" ]
tap_res \$? "the report's lines are named (1 4)"
printf '%s\n' 'rcu: Stack dump where RCU GP kthread last ran:' 'Sending NMI from CPU 0 to CPUs 1:' 'NMI backtrace for cpu 1' 'RIP: 0010:pvb_spin+0x5/0x10' 'NMI backtrace for cpu 0 skipped: idling at native_safe_halt+0xb/0x10' >\$d/busy.log
t 1 "a stall on a busy CPU is not a lost timer" \$d/busy.log
printf 'domU: %s\n' "\${ci[@]}" >\$d/domu.log
t 1 "a domU's report is its dom0's business" \$d/domu.log
printf '%s\n' '[    5.0] PVBTAP: # === scenario races' "\${ci[@]}" >\$d/early.log
before_pvbounce \$d/early.log
tap_res \$? "a lost timer before any line of pvbounce's may be booted again"
printf '%s\n' '[    5.0] pvbounce: native backend, pool common 2 MiB' '[    6.0] pvbounce: unloaded' "\${ci[@]}" >\$d/late.log
! before_pvbounce \$d/late.log
tap_res \$? "a lost timer after pvbounce's lines (races' insmod/rmmod cycles) is not"
{ printf '%s\n' "\${ci[@]:0:3}"; seq 8; printf '%s\n' "\${ci[3]}"; } >\$d/far.log
t 1 "an idling line past the report's window is not its" \$d/far.log
EOF
tests+=("$tdir/00-harness-lost-timer.t")
# run.sh's test for a panic before pvbounce was loaded (early_panic,
# common.sh), on console excerpts
cat >"$tdir/00-harness-early-panic.t" <<EOF
#!/bin/bash
set -o pipefail
. "$here/common.sh"
harness_init
t() { tap_want "\$1" "\$2" early_panic "\$3"; } # WANT(0 found|1 not) DESC FILE
echo "1..6"
boot='[    4.9] Run /init as init process'
panic='[   60.1] Kernel panic - not syncing: softlockup: hung tasks'
printf '%s\r\n' "\$boot" 'PVBTAP: # === scenario kmod' '[   60.0] watchdog: BUG: soft lockup - CPU#1 stuck for 120s!' "\$panic" >\$d/early.log
t 0 "a panic before any result and any line of pvbounce's" \$d/early.log
[ "\$(early_panic \$d/early.log)" = 4 ]
tap_res \$? "the panic's line is named"
printf '%s\n' "\$boot" '[    9.0] pvbounce: loaded: native backend' "\$panic" >\$d/loaded.log
t 1 "not once pvbounce has printed a line" \$d/loaded.log
printf '%s\n' "\$boot" '[    9.0] RIP: 0010:pvb_map_phys+0x10/0x90 [pvbounce]' "\$panic" >\$d/stack.log
t 1 "not when a stack names pvbounce" \$d/stack.log
printf '%s\n' "\$boot" 'PVBTAP: ok 1 - before the crash' "\$panic" >\$d/result.log
t 1 "not after a result of the guest's" \$d/result.log
printf '%s\n' "\$boot" 'domU: [ 3.0] Kernel panic - not syncing: VFS' >\$d/domu.log
t 1 "a domU's panic is its dom0's business" \$d/domu.log
EOF
tests+=("$tdir/00-harness-early-panic.t")
# run.sh's exemption of sym53c8xx's own warnings (checkable, common.sh) on
# console excerpts: only those blocks, only inside the guest's window
cat >"$tdir/00-harness-driver-warnings.t" <<EOF
#!/bin/bash
. "$here/common.sh"
harness_init
begin='[   56.1] pvbounce-test: expected driver warnings begin: sym53c8xx frees coherent memory with interrupts off'
end='[   56.9] pvbounce-test: expected driver warnings end'
# block WARNING_AT FRAME [UNENDED]: a warning's block as the kernel prints it
block() {
	printf '%s\n' '[   56.2] ------------[ cut here ]------------' \
		"[   56.2] WARNING: CPU: 0 PID: 131 at kernel/dma/mapping.c:533 \$1+0x3c/0x60" \
		'[   56.2] RIP: 0010:dma_free_attrs+0x3c/0x60' '[   56.2] Call Trace:' '[   56.2]  <TASK>' \
		"[   56.2]  \$2+0x5c/0x90 [sym53c8xx]" '[   56.2]  </TASK>'
	[ -n "\$3" ] || echo '[   56.2] ---[ end trace 0000000000000000 ]---'
}
# kept FILE: how many report lines checkable leaves in FILE
kept() {
	checkable "\$1" | grep -cE 'WARNING:|Call Trace:|BUG:'
}
echo "1..8"
{ echo "\$begin"; block dma_free_attrs ___free_dma_mem_cluster; block dma_free_attrs ___free_dma_mem_cluster; echo "\$end"; } >\$d/ok.log
[ "\$(kept \$d/ok.log)" = 0 ]
tap_res \$? "sym53c8xx's warnings inside the window are left out"
checkable \$d/ok.log | grep -q 'expected driver warnings end'
tap_res \$? "the window's own lines stay"
block dma_free_attrs ___free_dma_mem_cluster >\$d/outside.log
[ "\$(kept \$d/outside.log)" = 2 ]
tap_res \$? "the same warning outside a window counts"
{ echo "\$begin"; block dma_free_attrs other_free; echo "\$end"; } >\$d/other.log
[ "\$(kept \$d/other.log)" = 2 ]
tap_res \$? "a dma_free_attrs warning from another frame counts"
{ echo "\$begin"; block pvb_free ___free_dma_mem_cluster; echo "\$end"; } >\$d/pvb.log
[ "\$(kept \$d/pvb.log)" = 2 ]
tap_res \$? "another warning with sym53c8xx's frame counts"
{ echo "\$begin"; block dma_free_attrs ___free_dma_mem_cluster; echo '[   56.3] BUG: kernel NULL pointer dereference'; echo "\$end"; } >\$d/bug.log
[ "\$(kept \$d/bug.log)" = 1 ]
tap_res \$? "a BUG between the warnings counts"
{ echo "\$begin"; block dma_free_attrs ___free_dma_mem_cluster unended; echo '[   56.3] Kernel panic - not syncing: kernel: panic_on_warn set ...'; } >\$d/panic.log
[ "\$(kept \$d/panic.log)" = 2 ]
tap_res \$? "a warning that never ends (a panic) counts"
{ echo "\$begin"; block dma_free_attrs ___free_dma_mem_cluster | sed '4i [   56.2] BUG: KASAN: use-after-free in pvb_unmap_phys+0x10/0x90 [pvbounce]'; echo "\$end"; } >\$d/inside.log
[ "\$(kept \$d/inside.log)" = 3 ]
tap_res \$? "a report printed inside the warning's block keeps the block"
EOF
tests+=("$tdir/00-harness-driver-warnings.t")
chmod +x "$tdir"/*.t
cd "$tdir"
if [[ -n ${PVB_LIST:-} ]]; then
	for t in "${tests[@]}"; do echo "${t##*/}: $(tail -n 1 "$t")"; done
	exit 0
fi
# After a failure, each failed boot's digest (run.sh: its first failed
# result, last scenario, first report and last console line) is printed
# last, below prove's summary: a CI log's end is often all one gets to see.
logdir=${PVB_LOGDIR:-$top/build/vm-logs}
mkdir -p "$logdir"
rm -f "$logdir"/*.digest
rc=0
# shellcheck disable=SC2086
prove --exec '' --timer -j "${PVB_JOBS:-2}" ${PVB_PROVE_ARGS:-} "${tests[@]/#$tdir/.}" || rc=$?
if ((rc)) && compgen -G "$logdir/*.digest" >/dev/null; then
	echo "== why the boots failed (whole logs in $logdir):"
	{ cat "$logdir"/*.digest | head -n 40; } || true
fi
exit "$rc"
