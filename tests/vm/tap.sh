# SPDX-License-Identifier: GPL-2.0
# TAP for the host-side bash tests that print their own stream (install.sh,
# deb-install.sh): results numbered from 1, $failed set by a failure.
n=0 failed=0
emit() { # ok|"not ok" DESC
	n=$((n + 1))
	[[ $1 == ok ]] || failed=1
	echo "$1 $n - $2"
}
# t DESC CMD...: ok when CMD succeeds; its output as diagnostics when not
t() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if ((rc == 0)); then
		emit ok "$desc"
	else
		emit "not ok" "$desc"
		echo "# command: $* (exit $rc)"
		tail -n 25 <<<"$out" | sed 's/^/#   /'
	fi
	return $rc
}
# eq DESC GOT WANT
eq() {
	if [[ $2 == "$3" ]]; then emit ok "$1"; else emit "not ok" "$1"; echo "#   got '$2', want '$3'"; fi
}
diag() { echo "# $*"; }
