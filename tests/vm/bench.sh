#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench-vm`: a benchmark, not a test (not part of `make check`).
#
# For each kernel and mode, one boot with swiotlb=force and two NVMe disks:
# pvbounce bounces the first (force=1, then max_mapping_kb=1024 force=1), the
# kernel's swiotlb (swiotlb-xen in a Xen dom0) bounces every mapping of the
# second.  The same O_DIRECT sequential workloads run on both
# (scenarios/bench.sh, tools pvbbench.c), and a table of medians and ratios
# is printed.  Under TCG on a shared host the numbers are noisy: each cell is
# the median of PVB_BENCH_REPS runs, the two disks alternating which goes
# first; only the ratio within a boot means much.
#
# Env: PVB_KERNELS (default "6.1 6.12"), PVB_MODES (default "native xen"),
#      PVB_BENCH_SECS seconds a run (default 2), PVB_BENCH_REPS (default 3),
#      and what run.sh takes.  One QEMU at a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# shellcheck disable=SC2206
kernels=(${PVB_KERNELS:-6.1 6.12})
# shellcheck disable=SC2206
modes=(${PVB_MODES:-native xen})
secs=${PVB_BENCH_SECS:-2}
reps=${PVB_BENCH_REPS:-3}
[[ $secs =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "PVB_BENCH_SECS must be a number"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "PVB_BENCH_REPS must be a positive integer"
logdir=${PVB_LOGDIR:-$top/build/vm-logs}
mkdir -p "$logdir"

# the module, built for the kernels if missing or older than its sources
for k in "${kernels[@]}"; do
	rel=$("$top/scripts/kdirs.sh" "$k" 2>/dev/null) || die "no $k headers"
	ko=${PVB_BUILD:-$top/build}/${rel##*/linux-headers-}/pvbounce.ko
	if [[ ! -f $ko ]] || [[ -n $(find "$top/src" "$top/include" "$top/Kbuild" -newer "$ko" -type f 2>/dev/null | head -n 1) ]]; then
		make -C "$top" --no-print-directory build-all >&2
		break
	fi
done
"$here/fetch.sh" "${kernels[@]}" xen >/dev/null

# table OUTPUT: the medians and ratios from one boot's BENCH lines
table() {
	awk -v reps="$reps" '
	function median(s,   a, n, i, j, t) {
		n = split(s, a, ",")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function spread(s,   a, n, i, lo, hi) {
		n = split(s, a, ",")
		lo = hi = a[1] + 0
		for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
		return sprintf("%.0f-%.0f", lo, hi)
	}
	/# BENCHMAX / {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		printf "  %-10s max_hw_sectors_kb: pvbounce disk %s, kernel disk %s\n", f["cfg"], f["pvb"], f["ker"]
		next
	}
	/# BENCH / {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		rows[++n] = sprintf("  %-10s %-5s %7sK %4s %10.1f %10.1f %8.2f   %-13s %-13s",
			f["cfg"], f["mode"] == "r" ? "read" : "write", f["size"], f["jobs"],
			median(f["pvb"]), median(f["ker"]),
			median(f["ker"]) > 0 ? median(f["pvb"]) / median(f["ker"]) : 0,
			spread(f["pvb"]), spread(f["ker"]))
	}
	END {
		printf "  %-10s %-5s %8s %4s %10s %10s %8s   %-13s %-13s\n", "config", "op", "size", "jobs",
			"pvb MB/s", "kern MB/s", "ratio", "pvb range", "kern range"
		for (i = 1; i <= n; i++) print rows[i]
	}' "$1"
}

status=0
for k in "${kernels[@]}"; do
	for m in "${modes[@]}"; do
		out=$logdir/bench-$k-$m.out
		echo "== $k $m: booting (console logs in $logdir)"
		if ! PVB_NVME_COUNT=2 PVB_TIMEOUT=${PVB_TIMEOUT:-2400} \
		     PVB_KARGS_EXTRA="swiotlb=force pvb.timeout=1800 pvb.bench_secs=$secs pvb.bench_reps=$reps" \
		     "$here/run.sh" "$k" "$m" bench >"$out" 2>&1; then
			echo "   the boot failed; its output: $out"
			grep -E '^not ok' "$out" | sed 's/^/   /' || true
			status=1
		fi
		sed -n 's/^# \(kernel .*\)$/   \1/p; s/^# BENCHINFO /   /p' "$out"
		if grep -q '^# BENCH ' "$out"; then
			echo "   O_DIRECT sequential, MB/s = 10^6 B/s; each cell the median of $reps runs of ${secs} s,"
			echo "   pvbounce and kernel disk alternating first; ratio = pvbounce / kernel; range = min-max of the runs"
			echo "   kernel disk: swiotlb=force ($([[ $m == xen ]] && echo swiotlb-xen || echo swiotlb)); pvbounce disk: force=1"
			table "$out"
		fi
	done
done
exit $status
