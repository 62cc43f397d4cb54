#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the instructions of a DMA API call go: a profiling tool, not a test.
#
#   tests/vm/pathtrace.sh [KERNEL [MODE [KIND]]] OP:SIZE:DIR
#
# Boots the map benchmark's guest (scenarios/mapbench.sh: KERNEL 6.12, MODE
# native or xen, KIND bounce or direct as for mapbench.sh) running one row of
# pvbounce_bench.ko (only=OP:SIZE:DIR, e.g. map:64:to, sync:4096:from,
# sg16:4096:to) in long cells, under -icount and with QEMU's gdb stub.  gdb
# (pathtrace.py) stops at the DMA API's entries of the row, steps one call to
# its return on pvbounce's device and one on the peer's (swiotlb, swiotlb-xen
# or dma-direct), and prints the instructions each executed, per function:
# the exact path behind a row of `make bench`, where its instructions go.
#   map   dma_map_page_attrs, then dma_unmap_page_attrs
#   sg16  dma_map_sg_attrs, then dma_unmap_sg_attrs
#   sync  the for_cpu entry, then the for_device one
# Env: PVB_PATHTRACE_LINES=N  also pvbounce's N busiest source lines
#      (addr2line on the .ko's debug info; default 0)
#      PVB_PATHTRACE_KEEP=1  leave the guest running its row afterwards
#      and what mapbench.sh and run.sh take.  Needs gdb.  A Xen dom0 is
#      stepped through Xen's code too (its hypercalls count as "?").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() {
	die "usage: $0 [KERNEL [MODE [KIND]]] OP:SIZE:DIR (e.g. 6.12 native bounce map:64:to)"
}
[[ $# -ge 1 ]] || usage
row=${!#}
set -- "${@:1:$(($# - 1))}"
kernel=${1:-6.12} mode=${2:-native} kind=${3:-bounce}
[[ $row =~ ^(map|sg16|sync):[0-9]+:(to|from|bidi)$ ]] || usage
[[ $mode =~ ^(native|xen)$ && $kind =~ ^(bounce|direct)$ ]] || usage
command -v gdb >/dev/null || die "pathtrace needs gdb"

case ${row%%:*} in
map)	funcs="dma_map_page_attrs dma_unmap_page_attrs" ;;
sg16)	funcs="dma_map_sg_attrs dma_unmap_sg_attrs" ;;
sync)	funcs="__dma_sync_single_for_cpu|dma_sync_single_for_cpu"
	funcs+=" __dma_sync_single_for_device|dma_sync_single_for_device" ;;
esac
kinds="pvbounce peer"

logdir=$(mktemp -d "${TMPDIR:-/tmp}/pathtrace.XXXXXX")
port=$((20000 + $$ % 20000))
console=$logdir/mapbench-$kernel-$mode-$kind/$kernel-$mode-mapbench.console
# Two rounds of long cells: the guest's time is its instructions, so a cell
# lasts 3e9 of them (1e10 direct, whose calls are short), long enough for gdb
# to come and step both devices.
cell_ms=3000
[[ $kind == direct ]] && cell_ms=10000
PVB_MAPBENCH_DOCS=0 PVB_KERNELS=$kernel PVB_MODES=$mode PVB_MAPBENCH_KINDS=$kind \
	PVB_MAPBENCH_ROUNDS=2 PVB_MAPBENCH_MS=$cell_ms PVB_LOGDIR=$logdir \
	PVB_QEMU_EXTRA="-gdb tcp:127.0.0.1:$port ${PVB_QEMU_EXTRA:-}" \
	PVB_KARGS_EXTRA="pvb.mapbench_only=$row pvb.mapbench_ksyms=1 ${PVB_KARGS_EXTRA:-}" \
	"$here/mapbench.sh" >"$logdir/mapbench.out" 2>&1 &
bench=$!

stop_guest() {
	pkill -f -- "-gdb tcp:127.0.0.1:$port" 2>/dev/null || true
	wait "$bench" 2>/dev/null || true
}
trap stop_guest EXIT

# The table's head is printed after the module's probes, before its cells.
for ((i = 0; i < 1200; i++)); do
	grep -q 'pvbounce_bench: T ===' "$console" 2>/dev/null && break
	kill -0 "$bench" 2>/dev/null || die "the guest ended before its row; see $logdir/mapbench.out"
	sleep 1
done
grep -q 'pvbounce_bench: T ===' "$console" || die "no row after 20 minutes; see $logdir"
echo "== $kernel $mode $kind, $row (logs: $logdir)"
release=$(sed -n 's/.*pvbounce_bench: T === \([^ ]*\) .*/\1/p' "$console" | head -n 1)
PT_CONSOLE=$console PT_PORT=$port PT_FUNCS=$funcs PT_KINDS=$kinds \
	PT_KO=${PVB_BUILD:-$top/build}/$release/pvbounce.ko \
	PT_LINES=${PVB_PATHTRACE_LINES:-0} \
	gdb -q -batch -nx -x "$here/pathtrace.py" 2>&1 |
	grep -v -e '^warning:' -e '^0x[0-9a-f]* in ?? ()' -e '^Hardware assisted breakpoint' \
		-e '^Breakpoint [0-9]*, ' -e '^Program received signal' -e '^$'
if [[ ${PVB_PATHTRACE_KEEP:-0} == 1 ]]; then
	trap - EXIT
fi
