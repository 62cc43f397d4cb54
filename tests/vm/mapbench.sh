#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: a benchmark, not a test (not part of `make check`).
#
# The streaming DMA API of one device through pvbounce against a twin device
# on the kernel's own ops and against memcpy, timed in the guest kernel by
# tests/bench/pvbounce_bench.ko (scenarios/mapbench.sh), on each kernel and
# mode in a boot per kind:
#   bounce  swiotlb=force: pvbounce force=1 vs swiotlb (swiotlb-xen in a Xen
#           PV dom0), both bouncing every mapping, and the copy limit (memcpy)
#   direct  no swiotlb=force: pvbounce force=0 vs dma-direct (swiotlb-xen in a
#           Xen PV dom0, which maps a reachable buffer directly), and the
#           dispatch floor (the peer on do-nothing dma_map_ops)
# These two time one thread under QEMU's -icount shift=0,sleep=off,align=off
# with one vCPU (icount's clock is the machine's: another vCPU's instructions
# would count in this one's time): the guest's clock counts its instructions
# (1 ns each) and the module times batches with interrupts off, so their
# tables are instruction counts and repeat to the digit from run to run
# natively, whatever the host's load (as a Xen dom0 to a few in ten thousand:
# Xen takes its own interrupts inside the batches).  Two more kinds, not run by default, time the per-CPU scaling
# rows (one thread against one per CPU) on wall clock, without -icount (under
# it QEMU runs the vCPUs in turn): noisy under TCG on a shared host, only
# ratios within a boot mean much, and the min-max spread says how much:
#   bounce-scale, direct-scale  as bounce and direct, scaling rows only
# The twins are two QEMU pci-testdev, which have no driver.  The tables go to
# stdout and to $PVB_LOGDIR/mapbench-*.table, and (PVB_MAPBENCH_DOCS=1, the
# default) into docs/speed.md between <!-- bench:begin --> and <!-- bench:end -->,
# headed by the date, the version (dkms.conf's) and PVB_MAPBENCH_LABEL: user
# docs carry no commit hashes.
#
# Env: PVB_KERNELS (default "6.1 6.12"), PVB_MODES (default "native xen"),
#      PVB_MAPBENCH_KINDS (default "bounce direct"; also bounce-scale,
#      direct-scale),
#      PVB_MAPBENCH_ROUNDS (default 3; 5 for the scaling kinds),
#      PVB_MAPBENCH_MS ms per cell (default 10; 40 for the scaling kinds),
#      PVB_MAPBENCH_PVB more pvbounce parameters, '+' between them
#      (e.g. max_mapping_kb=1024), PVB_MAPBENCH_DOCS (default 1),
#      PVB_MAPBENCH_LABEL how it was measured, for docs/speed.md (e.g. "on a
#      host shared with two other QEMUs"; default none),
#      PVB_MAPBENCH_REUSE=1: no boot, the tables already in PVB_LOGDIR,
#      and what run.sh takes.  One QEMU at a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# shellcheck disable=SC2206
kernels=(${PVB_KERNELS:-6.1 6.12})
# shellcheck disable=SC2206
modes=(${PVB_MODES:-native xen})
# shellcheck disable=SC2206
kinds=(${PVB_MAPBENCH_KINDS:-bounce direct})
pvbargs=${PVB_MAPBENCH_PVB:-}
[[ ${PVB_MAPBENCH_ROUNDS:-1} =~ ^[1-9][0-9]*$ ]] || die "PVB_MAPBENCH_ROUNDS must be a positive integer"
[[ ${PVB_MAPBENCH_MS:-1} =~ ^[1-9][0-9]*$ ]] || die "PVB_MAPBENCH_MS must be a positive integer"
[[ $pvbargs =~ ^[A-Za-z0-9_=+]*$ ]] || die "PVB_MAPBENCH_PVB: name=value pairs joined by '+'"
for k in "${kinds[@]}"; do
	[[ $k =~ ^(bounce|direct)(-scale)?$ ]] ||
		die "PVB_MAPBENCH_KINDS: bounce, direct, bounce-scale, direct-scale"
done
logdir=${PVB_LOGDIR:-$top/build/vm-logs}
mkdir -p "$logdir"
build=${PVB_BUILD:-$top/build}
reuse=${PVB_MAPBENCH_REUSE:-0}
label="pvbounce $(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")"
[[ -n ${PVB_MAPBENCH_LABEL:-} ]] && label+=" $PVB_MAPBENCH_LABEL"

# the modules, built for the kernels if missing or older than their sources
for k in "${kernels[@]}"; do
	[[ $reuse == 1 ]] && break
	kdir=$("$top/scripts/kdirs.sh" "$k" 2>/dev/null) || die "no $k headers"
	out=$build/${kdir##*/linux-headers-}
	if [[ ! -f $out/pvbounce.ko || ! -f $out/tests/bench/pvbounce_bench.ko ]] ||
	   [[ -n $(find "$top/src" "$top/include" "$top/Kbuild" "$top/tests/bench" \
		   "$top/tests/kmod/counters.h" \
		   -newer "$out/tests/bench/pvbounce_bench.ko" -type f 2>/dev/null | head -n 1) ]]; then
		"$top/scripts/build-one.sh" "$kdir" "$out" >&2
	fi
done
[[ $reuse == 1 ]] || "$here/fetch.sh" "${kernels[@]}" xen >/dev/null

status=0
tables=()
for k in "${kernels[@]}"; do
	for m in "${modes[@]}"; do
		for b in "${kinds[@]}"; do
			out=$logdir/mapbench-$k-$m-$b.out
			table=$logdir/mapbench-$k-$m-$b.table
			# one thread under -icount (instruction counts), the
			# scaling rows on wall clock
			if [[ $b == *-scale ]]; then
				rounds=${PVB_MAPBENCH_ROUNDS:-5} cell_ms=${PVB_MAPBENCH_MS:-40}
				rows=scaling icount=0 qextra=
			else
				rounds=${PVB_MAPBENCH_ROUNDS:-3} cell_ms=${PVB_MAPBENCH_MS:-10}
				rows=latency icount=1 qextra="-icount shift=0,sleep=off,align=off -smp 1"
			fi
			kargs="pvb.timeout=1500 pvb.mapbench=${b%-scale} pvb.mapbench_rounds=$rounds"
			kargs+=" pvb.mapbench_ms=$cell_ms pvb.mapbench_rows=$rows pvb.mapbench_icount=$icount"
			[[ $b == bounce* ]] && kargs="swiotlb=force $kargs"
			[[ -n $pvbargs ]] && kargs+=" pvb.mapbench_pvb=$pvbargs"
			if [[ $reuse == 1 ]]; then
				echo "== $k $m $b: $table"
			else
				echo "== $k $m $b: booting (output in $out)"
				if ! PVB_LOGDIR=$logdir/mapbench-$k-$m-$b PVB_TIMEOUT=${PVB_TIMEOUT:-1800} \
				     PVB_QEMU_EXTRA="-device pci-testdev -device pci-testdev $qextra ${PVB_QEMU_EXTRA:-}" \
				     PVB_KARGS_EXTRA="$kargs ${PVB_KARGS_EXTRA:-}" \
				     "$here/run.sh" "$k" "$m" mapbench >"$out" 2>&1; then
					echo "   the boot failed; its output: $out"
					grep -E '^not ok' "$out" | sed 's/^/   /' || true
					status=1
				fi
				sed -n 's/^# MAPBENCH //p' "$out" >"$table"
			fi
			if [[ ! -f $table ]]; then
				echo "   no table $table"
				status=1
				continue
			fi
			if grep -q '^=== end' "$table"; then
				tables+=("$table")
			else
				echo "   no complete table in $out"
				status=1
			fi
			sed 's/^/   /' "$table"
		done
	done
done

# docs/speed.md: the tables between the markers, in a code block each
readme=$top/docs/speed.md
if [[ ${PVB_MAPBENCH_DOCS:-1} == 1 && ${#tables[@]} -gt 0 ]]; then
	if grep -q '^<!-- bench:begin -->$' "$readme" && grep -q '^<!-- bench:end -->$' "$readme"; then
		block=$(mktemp)
		{
			echo "Measured $(date -u -r "${tables[0]}" +%Y-%m-%d) with $label, QEMU TCG, $(nproc) host CPUs,"
			echo "by \`make bench\`.  The one-thread tables (bounce, direct) ran under QEMU's"
			echo "\`-icount shift=0,sleep=off,align=off\`: their nanoseconds are guest instructions, the same"
			echo "from run to run whatever the host's load; scaling tables (if any) are wall clock."
			for t in "${tables[@]}"; do
				n=${t##*/mapbench-}
				echo
				echo "${n%.table}:"
				echo '```'
				cat "$t"
				echo '```'
			done
		} >"$block"
		awk -v block="$block" '
			/^<!-- bench:begin -->$/ { print; while ((getline l < block) > 0) print l; skip = 1; next }
			/^<!-- bench:end -->$/ { skip = 0 }
			!skip' "$readme" >"$readme.$$"
		mv "$readme.$$" "$readme"
		rm -f "$block"
		echo "== docs/speed.md: ${#tables[@]} tables written between the bench markers"
	else
		echo "== docs/speed.md has no <!-- bench:begin --> / <!-- bench:end --> markers; not updated"
	fi
fi
exit $status
