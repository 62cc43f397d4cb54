#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every QEMU scenario on both Debian kernels, natively and as a Xen PV dom0,
# as prove tests (`make vm-check`).  One boot runs a group of scenarios, each
# of which loads and unloads the module itself; at most PVB_JOBS (default 2)
# QEMUs run at once.  First a harness self-test: a guest that panics must be
# reported as failed.
#
# PVB_KERNELS=6.12-debug runs the groups on the debug kernel of tests/vm/debug/
# (`make check-debug`: every group).  Group `debug` is the lane's core subset
# on that kernel whatever PVB_KERNELS says (`PVB_GROUPS=debug`: the part CI
# can afford next to the rest).
#
# Env: PVB_KERNELS (default "6.1 6.12"; also 6.12-debug), PVB_MODES (default "xen native"),
#      PVB_RACES (iterations of the races scenario, default 200),
#      PVB_GROUPS (default: all of the table below), PVB_JOBS (default 2),
#      PVB_PROVE_ARGS (e.g. -v), and what run.sh takes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# group name -> scenarios (longest group first: better packing for -j)
declare -A groups=(
	[life]=bad_params:lifecycle:memory:xen_exchange:kmod:misuse
	[io]=baseline:nvme_force:nvme_noforce:nvme_maxmap:nvme_exhaust:pool_placement:net
	[iommu]=iommu
	[races]=races
	[debug]=kmod:nvme_force:lifecycle:memory
)
# (debug is not in the default order: it needs the debug kernel built)
group_order=(life io races iommu)
# groups on a kernel of their own
declare -A group_kernels=([debug]=6.12-debug)
# environment of a group's boots (see run.sh)
# (races: a Xen boot takes about 10 minutes under TCG, past the defaults)
declare -A group_env=([races]="PVB_SRIOV=2 PVB_TIMEOUT=1800 PVB_KARGS_EXTRA='pvb.races=${PVB_RACES:-200} pvb.timeout=1500'")
# groups booted with QEMU's intel-iommu (native only), once per PVB_IOMMU mode
declare -A group_iommu=([iommu]="translate pt")

kernels=(${PVB_KERNELS:-6.1 6.12})
modes=(${PVB_MODES:-xen native})
sel=(${PVB_GROUPS:-${group_order[*]}})

# every kernel booted: PVB_KERNELS and the groups' own
all_kernels=("${kernels[@]}")
for g in "${sel[@]}"; do
	k=${group_kernels[$g]:-}
	[[ -n $k && " ${all_kernels[*]} " != *" $k "* ]] && all_kernels+=("$k")
done

# The module, built for each kernel if missing or older than its sources.
stale=0 stale_debug=0
for k in "${all_kernels[@]}"; do
	if [[ $k == 6.12-debug ]]; then
		# builds the kernel itself when missing (an hour on 2 cores)
		read -r _ _ rel _ < <("$here/debug/build-kernel.sh") || die "cannot build the debug kernel"
	else
		rel=$("$top/scripts/kdirs.sh" "$k" 2>/dev/null) || die "no $k headers: install $(image_meta "$k" | sed 's/image/headers/')"
		rel=${rel##*/linux-headers-}
	fi
	ko=${PVB_BUILD:-$top/build}/$rel/pvbounce.ko
	if [[ ! -f $ko ]] || [[ -n $(find "$top/src" "$top/include" "$top/Kbuild" "$top/tests/kmod" -newer "$ko" -type f 2>/dev/null | head -n 1) ]]; then
		if [[ $k == 6.12-debug ]]; then stale_debug=1; else stale=1; fi
	fi
done
((stale == 0)) || make -C "$top" --no-print-directory build-all
((stale_debug == 0)) || make -C "$top" --no-print-directory build-debug

# Fetch once, before parallel runs share the cache.
fetch=()
for k in "${all_kernels[@]}"; do
	[[ $k == 6.12-debug ]] || fetch+=("$k")
done
"$here/fetch.sh" "${fetch[@]}" xen >/dev/null

tdir=$(mktemp -d)
trap 'rm -rf "$tdir"' EXIT
tests=()
cat >"$tdir/00-harness-selftest.t" <<EOF
#!/bin/bash
# a guest that panics mid-scenario must fail run.sh with the panic reported;
# the checkers' reports before it (selftest_reports) are named too
out=\$(PVB_LOGDIR=$tdir "$here/run.sh" ${kernels[0]} native selftest_reports:selftest_crash 2>/dev/null)
rc=\$?
echo "1..7"
[ \$rc -ne 0 ] && echo "ok 1 - run.sh fails when the guest panics" || echo "not ok 1 - run.sh fails when the guest panics"
grep -q '^ok 2 - before the crash' <<<"\$out" && echo "ok 2 - results before the panic are kept" || echo "not ok 2 - results before the panic are kept"
grep -q 'Kernel panic' <<<"\$out" && echo "ok 3 - the panic is named" || echo "not ok 3 - the panic is named"
n=4
for r in 'suspected memory leaks' 'DMA-API: debugging out of memory' 'ODEBUG: free active' 'INFO: trying to register non-static key'; do
	grep -q "^#  .*\$r" <<<"\$out" && echo "ok \$n - a report '\$r' is named" || echo "not ok \$n - a report '\$r' is named"
	n=\$((n + 1))
done
EOF
for g in "${sel[@]}"; do
	[[ -n ${groups[$g]:-} ]] || die "unknown group $g (${group_order[*]} debug)"
	gkernels=("${kernels[@]}")
	[[ -n ${group_kernels[$g]:-} ]] && gkernels=(${group_kernels[$g]})
	for m in "${modes[@]}"; do
		for k in "${gkernels[@]}"; do
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
			printf '#!/bin/sh\n%s exec "%s/run.sh" %s %s %s\n' "${group_env[$g]:-}" "$here" "$k" "$m" "${groups[$g]}" >"$t"
			tests+=("$t")
		done
	done
done
tests+=("$tdir/00-harness-selftest.t")
chmod +x "$tdir"/*.t
cd "$tdir"
# shellcheck disable=SC2086
prove --exec '' --timer -j "${PVB_JOBS:-2}" ${PVB_PROVE_ARGS:-} "${tests[@]/#$tdir/.}"
