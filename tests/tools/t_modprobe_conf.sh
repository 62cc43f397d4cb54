#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# etc/modprobe.d/pvbounce.conf, TAP: an example only, every line commented out
# (copied as it is, it must not attach whatever sits at an address, nor load
# pvbounce with a driver); modprobe reads it as nothing; turned on as its
# header says, its lines are valid modprobe.d syntax.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
conf=$top/etc/modprobe.d/pvbounce.conf
n=0 failed=0
is() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
		failed=$((failed + 1)); echo "not ok $n - $1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
is "no active line: every non-blank line starts with #" \
	"$(grep -v '^[[:space:]]*$' "$conf" | grep -vc '^#')" 0
is "it carries commented options and nvme softdep examples" \
	"$(grep -c '^#options pvbounce devices=' "$conf"):$(grep -c '^#softdep nvme pre: pvbounce$' "$conf")" "2:1"
if command -v modprobe >/dev/null; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp "$conf" "$tmp/pvbounce.conf"
	is "modprobe -C reads no pvbounce option or softdep from it as shipped" \
		"$(modprobe -C "$tmp" -c 2>/dev/null | grep -c pvbounce)" 0
	sed -e 's/^#\(options pvbounce devices=0000:03:00.0\)$/\1/' -e 's/^#\(softdep nvme pre: pvbounce\)$/\1/' \
		"$conf" >"$tmp/pvbounce.conf"
	is "turned on as its header says: modprobe -C reads the options and the softdep" \
		"$(modprobe -C "$tmp" -c 2>/dev/null | grep -E '^(options pvbounce devices=0000:03:00.0|softdep nvme pre: pvbounce)$' | sort | tr '\n' '|')" \
		"options pvbounce devices=0000:03:00.0|softdep nvme pre: pvbounce|"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
