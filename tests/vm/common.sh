# SPDX-License-Identifier: GPL-2.0
# Shared by the host-side scripts of tests/vm (bash, sourced).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${PVB_CACHE:-$top/.cache/vm}

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

image_meta() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	*) die "unknown kernel series '$1' (6.1 or 6.12)" ;;
	esac
}

# the fetch.sh item of the Xen that kernel series $1 boots on as a dom0:
# Debian 13's Xen 4.20 for Debian 13's kernels, else Debian 12's 4.17
xen_item() {
	case $1 in
	6.12-deb13 | 7.*) echo xen-4.20 ;;
	*) echo xen ;;
	esac
}

# the version of the Xen kernel series $1 boots on (4.17 or 4.20)
xen_version() {
	local item
	item=$(xen_item "$1")
	case $item in
	xen-*) echo "${item#xen-}" ;;
	*) echo 4.17 ;;
	esac
}

# the fetch.sh item of Xen $1's toolstack (mkdom0.sh)
xentools_item() {
	if [[ $1 == 4.17 ]]; then echo xentools; else echo "xentools-$1"; fi
}

# where fetch.sh unpacks the image of release $1
kernel_root() {
	echo "$cache/kernel/$1"
}

# where fetch.sh unpacks the headers of release $1 (scripts/kdirs.sh looks there)
headers_root() {
	echo "$cache/headers/$1"
}

# lost_timer LOG: the kernel's RCU stall report in the console log LOG
# shows its grace-period kthread asleep on a CPU that was idle ("Stack dump
# where RCU GP kthread last ran:", then "NMI backtrace for cpu N skipped:
# idling at ..." for the CPU the NMI was sent to): a timer interrupt that
# never came.  Seen once on CI under QEMU TCG (6.1 behind intel-iommu, no
# pvbounce result yet): the guest made no progress for 900 s.  A deadlock
# or a CPU spinning with interrupts off would show that CPU busy, not idle.
# A domU's lines ("domU: ") are its dom0's business.  On a match, prints
# the line numbers of the report's first line (its "detected stalls" line,
# else the stack dump's) and of the "idling" line.  One awk reading the
# whole file (run.sh runs with pipefail: no pipe to cut short).
lost_timer() {
	awk '
		/^domU: / { next }
		{ sub(/\r$/, "") }
		/rcu: INFO: .*detected stall/ { st = NR }
		/Stack dump where RCU GP kthread last ran/ { at = NR; cpu = ""; next }
		at && NR - at > 8 { at = 0 }
		at && cpu == "" && match($0, /Sending NMI from CPU [0-9]+ to CPUs [0-9]+:/) {
			cpu = substr($0, RSTART, RLENGTH)
			sub(/.* CPUs /, "", cpu)
			sub(/:$/, "", cpu)
			next
		}
		!found && at && cpu != "" && index($0, "NMI backtrace for cpu " cpu " skipped: idling at") {
			found = (st && st < at ? st : at) " " NR
		}
		END { if (found) print found; exit !found }' "$1"
}

# before_pvbounce LOG: true if LOG has a lost timer's report (lost_timer)
# and no line of pvbounce's before it (the guest's TAP lines aside): only
# then may the boot be booted again
before_pvbounce() {
	local first
	read -r first _ < <(lost_timer "$1") || return 1
	! head -n "$((first - 1))" "$1" | grep -av 'PVBTAP: ' |
		grep -aqE 'pvbounce( [0-9a-f]{4}:[0-9a-f:.]+)?: '
}

# The harness tests' helpers (run-all.sh's 00-harness-*.t).
# harness_init: a scratch directory in d, removed at exit; results counted
# from 0
harness_init() {
	d=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$d'" EXIT
	n=0
}

# tap_res STATUS DESC: one TAP result, numbered in n, ok when STATUS is 0
tap_res() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

# tap_want WANT DESC CMD...: one TAP result, ok when CMD (its output
# dropped) exits with WANT
tap_want() {
	local want=$1 desc=$2
	shift 2
	"$@" >/dev/null
	[ $? -eq "$want" ]
	tap_res $? "$desc"
}

# early_panic LOG: true if the guest panicked (a "Kernel panic" or "Panic on
# CPU" line, a domU's aside) before any result of the guest's and with no
# line of the console, the TAP lines aside, naming pvbounce before it: the
# module was never loaded, so the kernel or the emulation failed, not
# pvbounce (seen on CI under QEMU TCG: two native boots that panicked
# before their first result).  Prints the panic line's number.
early_panic() {
	awk '
		/^domU: / { next }
		/PVBTAP: (not )?ok [0-9]/ { res = 1 }
		!/PVBTAP: / && /pvbounce/ { pvb = 1 }
		/Kernel panic|Panic on CPU/ { if (!res && !pvb) { print NR; found = 1 } exit }
		END { exit !found }' "$1"
}

# A failure the fault injection forced (faults scenario: "FAULT_INJECTION:
# forcing a failure") may be followed by the allocator's own warning with a
# stack ("page allocation failure", "vmalloc error", "percpu: allocation
# failed"): the test's doing, not a report.  That block, up to its </TASK>
# and at most 60 lines (a lost line must not hide what follows), is left
# out of the check; any other report, WARNING or BUG included, is not.
# One driver bug that is not pvbounce's, announced by the guest: sym53c8xx
# frees its coherent memory under a spinlock taken with spin_lock_irqsave
# (sym_malloc.c), and dma_free_attrs() warns about interrupts being off
# whatever the device's DMA ops, so that its remove() always warns
# (drivers_storage unbinds it with panic_on_warn off, between the kernel
# log lines "pvbounce-test: expected driver warnings begin/end", and
# checks the warnings itself).  Inside that window exactly those blocks
# ("[ cut here ]" to "end trace") are left out: a WARNING at dma_free_attrs
# whose stack has sym53c8xx's ___free_dma_mem_cluster; any other line, and
# the same warning outside the window, count.
# The domU lane (domu-host.sh) creates its domU once more when the first
# crashed in its boot before running anything ("pvb-domu: attempt K
# discarded", said in the TAP output with the report): that attempt's
# "domU: " lines are left out too.
# checkable LOG: LOG less what the comment above leaves out
checkable() {
awk 'FNR == NR { if (/^pvb-domu: attempt [0-9]+ discarded/) gone[$3] = 1; next }
	/^pvb-domu: attempt [0-9]+ begins/ { cur = $3 }
	cur != "" && gone[cur] && /^domU: / { next }
	/FAULT_INJECTION: forcing a failure/ { forced = FNR }
	forced && FNR - forced <= 6 && /page allocation failure|vmalloc error|percpu: allocation failed/ { skip = FNR }
	skip { if (/<\/TASK>/ || FNR - skip >= 60) skip = 0; next }
	/pvbounce-test: expected driver warnings begin/ { win = 1 }
	/pvbounce-test: expected driver warnings end/ { win = 0; if (nb) flush() }
	win && /-+\[ cut here \]-+/ { if (nb) flush(); blk = 1 }
	blk {
		buf[++nb] = $0
		# one warning per block; any other report printed into it (by
		# another CPU) keeps the whole block
		if (!w && /WARNING: .* dma_free_attrs\+/) w = 1
		else if (/Kernel panic|BUG:|WARNING:|Oops|KASAN|KFENCE|UBSAN|general protection|INFO: |kmemleak|DMA-API: |ODEBUG: |corruption/) other = 1
		if (/___free_dma_mem_cluster\+.*\[sym53c8xx\]/) sym = 1
		if (/---\[ end trace/) { if (w && sym && !other) { nb = 0; blk = 0; w = 0; sym = 0 } else flush() }
		next
	}
	{ print }
	END { if (nb) flush() }
	function flush(   i) { for (i = 1; i <= nb; i++) print buf[i]; nb = 0; blk = 0; w = 0; sym = 0; other = 0 }' "$1" "$1"
}

# doc_params FILE: the Parameters table of docs/parameters.md (every row of
# FILE that starts with | `name` |) as name:mode+name:mode (its "at run time"
# column: "read-only" 444, "**writable** (0644)" 644), for the docs scenario
# (pvb.doc_params; no commas: Xen's multiboot line)
doc_params() {
	awk -F'|' '/^\| `[a-z_]+` \|/ {
			n = $2; gsub(/[ `]/, "", n)
			m = $5 ~ /writable[*]* [(]0644[)]/ ? "644" : $5 ~ /read-only/ ? "444" : "unknown"
			print n ":" m
		}' "$1" | sort | paste -sd+
}

# doc_files FILE: docs/files.md's table (every row of FILE that starts with
# | `), for the docs scenario, one line
# per list, "KEY name name ...": top_sys, top_dbg (the top-level files of
# sysfs and debugfs, fail/ as fail), dev_sys, dev_dbg (a device's files),
# priv_sys, priv_dbg (those only a device with a private pool has), fail
# and fail_xen (the fail/ row's knobs, those marked "(xen backend)" apart).
# mkinitramfs.sh packs it as /lib/pvb/doc_files.
doc_files() {
	awk -F'|' 'function add(k, n) { v[k] = v[k] " " n }
		/^\| `/ {
			names = $2; sys = $3 ~ /yes/; dbg = $4 ~ /yes/; what = $5
			if (names ~ /`fail\/`/) {
				if (dbg) add("top_dbg", "fail")
				w = what; sub(/.*off unless written:/, "", w); sub(/;.*/, "", w)
				while (match(w, /`[a-z_]+`( \(xen backend\))?/)) {
					t = substr(w, RSTART, RLENGTH); w = substr(w, RSTART + RLENGTH)
					k = t ~ /xen backend/ ? "fail_xen" : "fail"
					sub(/ .*/, "", t); gsub(/`/, "", t); add(k, t)
				}
				next
			}
			if (names ~ /`<pci address>\/`/) next
			cat = names !~ /^ *`<pci>\// ? "top" : what ~ /^ *only for a device with a private pool/ ? "priv" : "dev"
			while (match(names, /`[^`]+`/)) {
				t = substr(names, RSTART + 1, RLENGTH - 2); names = substr(names, RSTART + RLENGTH)
				sub(/^<pci>\//, "", t)
				if (sys) add(cat "_sys", t)
				if (dbg) add(cat "_dbg", t)
			}
		}
		END { for (k in v) print k v[k] }' "$1" | sort
}

# doc_messages FILE: docs/messages.md's tables (every row of FILE that starts
# with | `) for the docs scenario, one line per message as the first column
# writes it, "msg TEMPLATE" (a "\|" of the table is "|"), and "why TEXT" for
# each reason it lists for a bad devices= item.  mkinitramfs.sh packs it as
# /lib/pvb/doc_messages.
doc_messages() {
	awk '/^\| `/ {
			gsub(/\\\|/, "\001")
			split($0, c, "|")
			m = c[2]
			while (match(m, /`[^`]+`/)) {
				t = substr(m, RSTART + 1, RLENGTH - 2); m = substr(m, RSTART + RLENGTH)
				gsub(/\001/, "|", t); print "msg " t
			}
			if (c[3] ~ /`<why>` is one of:/) {
				w = c[3]; sub(/.*is one of:/, "", w)
				while (match(w, /`[^`]+`/)) {
					print "why " substr(w, RSTART + 1, RLENGTH - 2); w = substr(w, RSTART + RLENGTH)
				}
			}
		}' "$1"
}

# build a static guest tool tests/vm/$1.c (if its source changed); print its path
build_static_tool() {
	local out=$cache/bin/$1 src=$top/tests/vm/$1.c
	if [[ ! -x $out || $src -nt $out ]]; then
		mkdir -p "$cache/bin"
		gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$out.$$" "$src" >&2 ||
			die "cannot build $1 (need gcc and libc6-dev)"
		mv "$out.$$" "$out"
	fi
	echo "$out"
}

# the static guest I/O checker
build_pvbio() {
	build_static_tool pvbio
}

# pack_cached STAGE NAME KEEP: STAGE as a cpio.gz in $cache/initramfs/,
# named NAME-<content key> (names, modes and bytes of everything staged),
# made only if not there yet; keeps the KEEP newest of NAME-*; prints its path
pack_cached() {
	local stage=$1 name=$2 keep=$3 key out
	key=$(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	      xargs -0 stat -c '%n %a %F %s' | sha256sum | cut -c1-16)
	key=$key-$(cd "$stage" && find . -type f -print0 | LC_ALL=C sort -z |
		   xargs -0 cat | sha256sum | cut -c1-16)
	out=$cache/initramfs/$name-$key.cpio.gz
	if [[ ! -s $out ]]; then
		mkdir -p "$cache/initramfs"
		(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
			gzip -1 >"$out.$$"
		mv "$out.$$" "$out"
		ls -t "$cache/initramfs/$name-"*.cpio.gz | tail -n +$((keep + 1)) | xargs -r rm -f
	fi
	echo "$out"
}
