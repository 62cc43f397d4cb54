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

# doc_params README: the Parameters table of README as name:mode+name:mode
# (its "at run time" column: "read-only" 444, "**writable** (0644)" 644),
# for the docs scenario (pvb.doc_params; no commas: Xen's multiboot line)
doc_params() {
	awk -F'|' '/^## Parameters/ { p = 1; next } /^## / { p = 0 }
		p && /^\| `[a-z_]+` \|/ {
			n = $2; gsub(/[ `]/, "", n)
			m = $5 ~ /writable[*]* [(]0644[)]/ ? "644" : $5 ~ /read-only/ ? "444" : "unknown"
			print n ":" m
		}' "$1" | sort | paste -sd+
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
