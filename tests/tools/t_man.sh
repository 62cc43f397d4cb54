#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The man pages, TAP: man/pvbounce.4 and man/pvbounce-stat.8 render without
# a single warning (groff -ww, mandoc -T lint, man -l); pvbounce.4 lists
# every module parameter of src/ (module_param*) and no other; pvbounce-stat.8
# lists every option of the tool's usage.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# quiet DESC CMD...: ok when CMD exits 0 and prints nothing (stdout or stderr)
quiet() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "$desc"; else
		not_ok "$desc"; echo "#   exit $rc:"; printf '%s\n' "$out" | head -n 20 | sed 's/^/#   /'; fi
}
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}

pages="$top/man/pvbounce.4 $top/man/pvbounce-stat.8"
for p in $pages; do
	name=${p#"$top/"}
	[ -f "$p" ] || { not_ok "$name exists"; continue; }
	quiet "$name: groff -ww -man -z, no warning" groff -ww -man -z "$p"
	if command -v mandoc >/dev/null; then
		quiet "$name: mandoc -T lint -W warning, no warning" mandoc -T lint -W warning "$p"
	elif [ "${CI:-}" = true ]; then
		not_ok "$name: mandoc installed (CI=true: .ci/run installs it)"
	else
		ok "$name: mandoc -T lint # SKIP mandoc is not installed (apt-get install mandoc)"
	fi
	# man -l: what a user runs (man-db, groff); its stdout is the page
	quiet "$name: man -l renders it, nothing on stderr" \
		sh -c 'MANWIDTH=80 man -l "$1" >/dev/null' sh "$p"
done

# module parameters: in src/ and in pvbounce.4's PARAMETERS (".BI name=")
in_src=$(sed -n 's/^[[:space:]]*module_param\(_cb\|_named\|_array\)\{0,1\}(\([a-z0-9_]*\),.*/\2/p' \
	"$top"/src/*.c | sort -u)
in_man=$(awk '/^\.SH /{ s = $2 } s == "PARAMETERS" && /^\.BI? [a-z0-9_]+=/ {
	sub(/^\.BI? /, ""); sub(/=.*/, ""); print }' "$top/man/pvbounce.4" | sort -u)
is "module_param in src/: found the parameters" "$(echo "$in_src" | wc -w | awk '$1 >= 9 { print "ok" }')" ok
is "pvbounce.4 documents every module parameter, and no other" \
	"$(echo $in_man)" "$(echo $in_src)"

# the tool's options (its usage) in pvbounce-stat.8's OPTIONS
opts=$(sh "$top/tools/pvbounce-stat" -h | sed -n 's/^  \(-[-a-z]*\).*/\1/p' | sort -u)
man_opts=$(awk '/^\.SH /{ s = $2 } s == "OPTIONS" && /^\.BR? \\-/ {
	gsub(/\\-/, "-"); sub(/^\.BR? /, ""); gsub(/[",]/, " "); print $1 }' "$top/man/pvbounce-stat.8" | sort -u)
is "pvbounce-stat -h lists options" "$(echo "$opts" | wc -w | awk '$1 >= 3 { print "ok" }')" ok
is "pvbounce-stat.8 documents every option of the tool's usage" "$(echo $man_opts)" "$(echo $opts)"
echo "1..$n"
[ "$failed" -eq 0 ]
