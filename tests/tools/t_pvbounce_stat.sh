#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/pvbounce-stat against a fake /sys/kernel/pvbounce/ and debugfs, TAP:
# vmstat's arguments ([interval [count]], one report without), the same
# columns in every report whatever the driver names, --json's types and
# time, --version, usage errors.
# Every check runs under each shell and awk the tool promises to work with:
# dash + mawk (Debian's /bin/sh and awk), bash + mawk, busybox sh + busybox
# awk and grep (the test guest).  A fake `sleep` on PATH moves the counters
# and the fake /proc/uptime between reports, so rates are exact.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tool=$top/tools/pvbounce-stat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
# like DESC FILE ERE
like() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else not_ok "$1"; echo "#   no line matches /$3/ in:"; sed 's/^/#   /' "$2"; fi
}

# fake ROOT: a loaded pvbounce with nvme on the common pool and a driverless
# device with a private 1 MiB pool
fake() {
	r=$1
	rm -rf "$r"
	s=$r/sys d=$r/dbg
	mkdir -p "$s/0000:00:03.0" "$s/0000:00:04.0" "$d/0000:00:04.0" "$r/mod/parameters"
	echo xen >"$s/backend"
	echo 32768 >"$s/nslabs"; echo 10 >"$s/used"; echo 300 >"$s/used_hiwater"
	echo 32 >"$r/mod/parameters/address_bits"
	for c in maps unmaps bounced_maps direct_maps bytes_to_device bytes_from_device \
		 map_errors errors_too_large errors_pool_full errors_mask largest_request \
		 syncs coherent_allocs misuse; do
		echo 0 >"$s/0000:00:03.0/$c"
		echo 0 >"$s/0000:00:04.0/$c"
	done
	echo nvme >"$s/0000:00:03.0/driver"
	echo - >"$s/0000:00:04.0/driver"
	echo 512 >"$s/0000:00:04.0/nslabs"; echo 0 >"$s/0000:00:04.0/used"; echo 2 >"$s/0000:00:04.0/used_hiwater"
	printf '0x20000000 0x201fffff 0x400\n0x1f000000 0x1f1fffff 0x400\n' >"$d/pool"
	printf '0x30000000 0x300fffff 0x200\n' >"$d/0000:00:04.0/pool"
	"$shim/set_dev" 0000:00:03.0 maps=100 bounced_maps=90 direct_maps=10 \
		bytes_to_device=6000000000 bytes_from_device=12345 map_errors=4 errors_pool_full=3
	echo "100.00 50.00" >"$r/uptime"
	rm -f "$r/steps"
}

# run_tool ARGS...: the tool on the fake tree with the shell and PATH of this
# round; a tool that would run forever (the fake sleep takes no time) is
# stopped after 60 s and fails the check (exit 124)
run_tool() {
	PVB_SYSFS=$R/sys PVB_DEBUGFS=$R/dbg PVB_MODULE=${MOD:-$R/mod} PVB_UPTIME=$R/uptime \
	PATH=$shim:$PATH timeout 60 $sh "$tool" "$@"
}

# the fake sleep: adds $1 to the fake uptime, then runs the next step
mkshim() {
	shim=$tmp/shim-$1
	mkdir -p "$shim"
	cat >"$shim/sleep" <<'EOF'
#!/bin/sh
awk -v d="$1" '{ printf "%.2f %s\n", $1 + d, $2 }' "$R/uptime" >"$R/uptime.new" && mv "$R/uptime.new" "$R/uptime"
if [ -s "$R/steps" ]; then
	head -n 1 "$R/steps" >"$R/step"; sed -i 1d "$R/steps"; . "$R/step"
fi
EOF
	# set_dev PCI NAME=VALUE...: counters of a fake device
	cat >"$shim/set_dev" <<'EOF'
#!/bin/sh
p=$1
shift
for a in "$@"; do echo "${a#*=}" >"$R/sys/$p/${a%%=*}"; done
EOF
	chmod +x "$shim/sleep" "$shim/set_dev"
	case $2 in
	busybox)
		for a in awk grep; do ln -sf "$(command -v busybox)" "$shim/$a"; done ;;
	*)
		ln -sf "$(command -v "$2")" "$shim/awk" ;;
	esac
}

json_get() { # FILE LINE PYTHON-EXPR over j
	python3 -c 'import json,sys
lines = open(sys.argv[1]).read().splitlines()
j = json.loads(lines[int(sys.argv[2]) - 1])
print(eval(sys.argv[3]))' "$@" 2>&1
}

# edges FILE: the right ends of fields 3..6 (maps .. direct%) of the device
# header and device lines, one distinct set per line: 1 line = all aligned
edges() {
	awk '/^(device |0000:)/ && !/ B +\(|iB +\(/ {
		e = ""; pos = 0; s = $0
		for (f = 1; f <= 6; f++) {
			match(s, /[^ ]+/); pos += RSTART + RLENGTH - 1
			if (f >= 3) e = e " " pos
			s = substr(s, RSTART + RLENGTH)
		}
		print e }' "$1" | sort -u
}
# json_keysets FILE: how many distinct sets of key paths its lines have
json_keysets() {
	python3 -c 'import json, sys
def keys(o, p=""):
    if isinstance(o, dict):
        return {p + "." + k for k in o}.union(*[keys(v, p + "." + k) for k, v in o.items()])
    if isinstance(o, list):
        return set().union(*[keys(v, p + "[]") for v in o])
    return set()
print(len({frozenset(keys(json.loads(l))) for l in open(sys.argv[1])}))' "$1" 2>&1
}

rounds="dash:mawk bash:mawk busybox_sh:busybox"
command -v mawk >/dev/null || rounds="dash:awk bash:awk"
command -v busybox >/dev/null || rounds=${rounds% busybox_sh:busybox}
export R=$tmp/root
for round in $rounds; do
	sh=${round%%:*} awk=${round#*:}
	[ "$sh" = busybox_sh ] && sh="busybox sh"
	tag="[$sh, $awk]"
	mkshim "${round//:/-}" "$awk"
	fake "$R"

	# not loaded, usage
	MOD=$R/none run_tool >"$tmp/out" 2>"$tmp/err"
	is "$tag not loaded: exit 1, nothing on stdout" "$?:$(wc -c <"$tmp/out")" "1:0"
	like "$tag not loaded: says so" "$tmp/err" "pvbounce is not loaded"
	MOD=$R/none run_tool --json >"$tmp/out" 2>/dev/null
	is "$tag not loaded, --json: exit 1, nothing on stdout" "$?:$(wc -c <"$tmp/out")" "1:0"
	PVB_SYSFS=$R/none2 PVB_MODULE=$R/mod $sh "$tool" >/dev/null 2>"$tmp/err"
	is "$tag loaded without /sys/kernel/pvbounce: exit 1" "$?" 1
	for bad in "-x" "0" "0.0" "abc" "1.2.3" "1 0" "1 x" "1 -2" "1 2 3" "--jsonx" \
		   "-1" "-i 1" "-c 3" "-i1"; do
		run_tool $bad >"$tmp/out" 2>"$tmp/err"
		is "$tag usage error '$bad': exit 2, nothing on stdout" "$?:$(wc -c <"$tmp/out")" "2:0"
		like "$tag usage error '$bad': the usage line on stderr" "$tmp/err" \
			'^usage: pvbounce-stat \[--json\] \[interval \[count\]\]'
	done
	run_tool -i 1 >/dev/null 2>"$tmp/err"
	like "$tag the old -i says how to write it now" "$tmp/err" \
		"'-i' is not an option: write 'pvbounce-stat \[interval \[count\]\]'"
	is "$tag usage errors never slept" "$(cat "$R/uptime")" "100.00 50.00"
	run_tool -h >"$tmp/out" 2>&1
	is "$tag -h: exit 0" "$?" 0
	like "$tag -h: usage" "$tmp/out" "^usage: pvbounce-stat \[--json\] \[interval \[count\]\]$"

	# --version: the tool's (dkms.conf's from the tree, make install's
	# substitution when installed) and the module's
	version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
	echo "$version" >"$R/mod/version"
	run_tool --version >"$tmp/out" 2>&1
	is "$tag --version: exit 0, the tool's (dkms.conf's) and the module's version" \
		"$?:$(tr '\n' '|' <"$tmp/out")" "0:pvbounce-stat $version|pvbounce module $version|"
	MOD=$R/none run_tool --version >"$tmp/out" 2>&1
	is "$tag --version without the module: exit 0, the tool's version" \
		"$?:$(tr '\n' '|' <"$tmp/out")" "0:pvbounce-stat $version|pvbounce module not loaded|"
	mkdir -p "$tmp/inst"
	sed "s/@PVB_VERSION@/9.8-inst/" "$tool" >"$tmp/inst/pvbounce-stat"
	MOD=$R/none $sh "$tmp/inst/pvbounce-stat" --version >"$tmp/out" 2>&1
	is "$tag --version installed (version substituted, no dkms.conf beside it)" \
		"$(head -n 1 "$tmp/out")" "pvbounce-stat 9.8-inst"

	# no argument: one report, counts since attach, no sleep
	run_tool >"$tmp/out" 2>&1
	is "$tag no argument: exit 0, one report" "$?:$(grep -c 'backend xen' "$tmp/out")" "0:1"
	is "$tag no argument: did not sleep" "$(cat "$R/uptime")" "100.00 50.00"
	like "$tag header: ISO 8601 UTC time, backend, counts since attach" "$tmp/out" \
		"^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z  backend xen  counts since attach$"
	like "$tag common pool size, used, high water, placement" "$tmp/out" \
		"^common +64\.0 MiB +20\.0 KiB +\(0\.0%\) +600\.0 KiB +\(0\.9%\) +2 chunks, bus 0x1f000000-0x201fffff, below 2\^32$"
	like "$tag private pool line" "$tmp/out" \
		"^0000:00:04\.0 +1\.0 MiB +0 B +\(0\.0%\) +4\.0 KiB +\(0\.4%\) +1 chunk, bus 0x30000000-0x300fffff, below 2\^32$"
	like "$tag device header" "$tmp/out" "^device +driver +maps +to_dev_bytes +from_dev_bytes +direct% +errors$"
	like "$tag nvme line: driver, maps, exact bytes past 2^32, direct %, errors" "$tmp/out" \
		"^0000:00:03\.0 +nvme +100 +6000000000 +12345 +10\.0% +pool_full=3,other=1$"
	like "$tag driverless device" "$tmp/out" "^0000:00:04\.0 +- +0 +0 +0 +- +-$"
	is "$tag devices sorted" "$(grep -o '^0000:00:0[34]\.0  [a-z-]' "$tmp/out" | tr '\n' ' ')" \
		"0000:00:03.0  n 0000:00:04.0  - "
	mv "$R/dbg" "$R/dbg.off"
	run_tool >"$tmp/out" 2>&1
	like "$tag without debugfs: placement from address_bits" "$tmp/out" "^common .*\(0\.9%\) +below 2\^32$"
	mv "$R/dbg.off" "$R/dbg"

	# --json: one line, types
	run_tool --json >"$tmp/json" 2>&1
	is "$tag --json: one line" "$(wc -l <"$tmp/json")" 1
	is "$tag --json: valid, since attach" "$(json_get "$tmp/json" 1 '(j["since"], j["interval"], j["backend"])')" \
		"('attach', None, 'xen')"
	is "$tag --json: time is ISO 8601 with zone (UTC)" \
		"$(json_get "$tmp/json" 1 '__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["time"]) is not None and __import__("datetime").datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S%z").utcoffset().total_seconds() == 0')" True
	is "$tag --json: every count an integer (totals, delta, errors, pool slots and bytes, chunk slots)" \
		"$(json_get "$tmp/json" 1 'sorted(set(type(v).__name__ for d in j["devices"] for g in ("totals", "delta", "errors") for v in d[g].values()) | set(type(p[k]).__name__ for p in j["pools"] for k in ("bytes", "slots", "used_slots", "used_bytes", "hiwater_slots", "hiwater_bytes", "address_bits")) | set(type(c["slots"]).__name__ for p in j["pools"] for c in p["chunks"]))')" \
		"['int']"
	is "$tag --json: exact totals past 2^32" \
		"$(json_get "$tmp/json" 1 '[d["totals"]["bytes_to_device"] for d in j["devices"]]')" "[6000000000, 0]"
	is "$tag --json: the first report's delta is the totals" \
		"$(json_get "$tmp/json" 1 'all(d["delta"] == d["totals"] for d in j["devices"])')" True
	is "$tag --json: pools" \
		"$(json_get "$tmp/json" 1 '[(p["name"], p["bytes"], p["used_bytes"], p["hiwater_bytes"], p["bus_low"], p["bus_high"], [c["slots"] for c in p["chunks"]]) for p in j["pools"]]')" \
		"[('common', 67108864, 20480, 614400, '0x1f000000', '0x201fffff', [1024, 1024]), ('0000:00:04.0', 1048576, 0, 4096, '0x30000000', '0x300fffff', [512])]"
	is "$tag --json: device fields" \
		"$(json_get "$tmp/json" 1 '[(d["pci"], d["driver"], d["pool"], d["errors"], d["direct_pct"]) for d in j["devices"]]')" \
		"[('0000:00:03.0', 'nvme', 'common', {'too_large': 0, 'pool_full': 3, 'mask': 0, 'other': 1, 'misuse': 0}, 10.0), ('0000:00:04.0', '-', '0000:00:04.0', {'too_large': 0, 'pool_full': 0, 'mask': 0, 'other': 0, 'misuse': 0}, None)]"

	# interval and count: between reports 1 and 2 nvme maps 1000 more (500
	# direct), moves 2 MB to and 1 MB from the device, with 2 refusals;
	# 2 s pass each time
	printf '%s\n' "set_dev 0000:00:03.0 maps=1100 direct_maps=510 bytes_to_device=6002000000 bytes_from_device=1012345 map_errors=6 errors_pool_full=4 errors_too_large=1" \
		: >"$R/steps"
	run_tool 2 3 >"$tmp/out" 2>&1
	is "$tag '2 3': exit 0, three reports" "$?:$(grep -c 'backend xen' "$tmp/out")" "0:3"
	is "$tag '2 3': slept twice, 2 s each (fake clock)" "$(cat "$R/uptime")" "104.00 50.00"
	is "$tag '2 3': periods: since attach, then 2.00 s twice" \
		"$(sed -n 's/.*backend xen  counts //p' "$tmp/out" | tr '\n' '|')" "since attach|over 2.00 s|over 2.00 s|"
	is "$tag report 2: nvme's counts, direct %, errors over the period" \
		"$(grep '^0000:00:03.0' "$tmp/out" | sed -n 2p | tr -s ' ')" \
		"0000:00:03.0 nvme 1000 2000000 1000000 50.0% too_large=1,pool_full=1"
	is "$tag report 3: no change, no errors" \
		"$(grep '^0000:00:03.0' "$tmp/out" | sed -n 3p | tr -s ' ')" \
		"0000:00:03.0 nvme 0 0 0 - -"
	is "$tag the same device header in every report" \
		"$(grep -c '^device ' "$tmp/out"):$(grep '^device ' "$tmp/out" | sort -u | wc -l)" "3:1"

	# columns: real driver names; in every report the same right edges of
	# the numeric columns on the header and every device line
	fake "$R"
	echo megaraid_sas >"$R/sys/0000:00:04.0/driver"
	cp -r "$R/sys/0000:00:04.0" "$R/sys/0000:00:05.0"
	echo vmw_pvscsi >"$R/sys/0000:00:05.0/driver"
	cp -r "$R/sys/0000:00:04.0" "$R/sys/0000:00:06.0"
	echo xhci_hcd >"$R/sys/0000:00:06.0/driver"
	"$shim/set_dev" 0000:00:05.0 maps=123456789 bytes_to_device=123456789012 bytes_from_device=9
	echo "set_dev 0000:00:03.0 maps=999999 bytes_to_device=6999999999" >"$R/steps"
	run_tool 1 2 >"$tmp/out" 2>&1
	is "$tag megaraid_sas, vmw_pvscsi, xhci_hcd: header and device lines of both reports aligned" \
		"$(edges "$tmp/out" | wc -l):$(grep -Ec '^(device|0000:00:0[3-6]\.0 +[a-z_-]+ +[0-9])' "$tmp/out")" "1:10"
	like "$tag megaraid_sas's line" "$tmp/out" "^0000:00:04\.0 +megaraid_sas +0 +0 +0 +- +-$"
	echo a_driver_name_of_24_char >"$R/sys/0000:00:06.0/driver"
	run_tool >"$tmp/out" 2>&1
	is "$tag a 24-character driver name: the column widens, lines still aligned" \
		"$(edges "$tmp/out" | wc -l):$(grep -Ec '^0000:00:06\.0 +a_driver_name_of_24_char +0 ' "$tmp/out")" "1:1"

	fake "$R"
	echo "set_dev 0000:00:03.0 maps=1100 direct_maps=510 bytes_to_device=6002000000 bytes_from_device=1012345 map_errors=6 errors_pool_full=4 errors_too_large=1" >"$R/steps"
	run_tool --json 2 2 >"$tmp/json" 2>&1
	is "$tag --json 2 2: two lines" "$(wc -l <"$tmp/json")" 2
	is "$tag --json report 2: period, deltas, totals, errors" \
		"$(json_get "$tmp/json" 2 '(j["since"], j["interval"], [(d["direct_pct"], d["delta"]["maps"], d["delta"]["bytes_to_device"], d["delta"]["bytes_from_device"], d["totals"]["bytes_to_device"], d["errors"]["pool_full"], d["errors"]["too_large"]) for d in j["devices"]])')" \
		"('last', 2.0, [(50.0, 1000, 2000000, 1000000, 6002000000, 1, 1), (None, 0, 0, 0, 0, 0, 0)])"
	is "$tag --json: the same keys in every report" "$(json_keysets "$tmp/json")" 1
	fake "$R"
	run_tool 2 2 --json >"$tmp/json" 2>&1
	is "$tag '2 2 --json' (the option last): two JSON lines" \
		"$(wc -l <"$tmp/json"):$(json_get "$tmp/json" 2 'j["since"]')" "2:last"

	# an interval without a count runs until stopped: a device attached
	# between reports (its counts since attach), nvme detached and attached
	# again (its counters start anew: counts since that attach, never
	# negative), pvbounce unloaded later
	fake "$R"
	printf '%s\n' 'cp -r "$R/sys/0000:00:04.0" "$R/sys/0000:00:05.0"; set_dev 0000:00:05.0 maps=7 direct_maps=7 bytes_to_device=4096' \
		'set_dev 0000:00:03.0 maps=5 bounced_maps=0 direct_maps=5 bytes_to_device=512 bytes_from_device=0 map_errors=0 errors_pool_full=0' \
		'rm -rf "$R/mod"' >"$R/steps"
	run_tool 1 >"$tmp/out" 2>"$tmp/err"
	is "$tag '1' runs until pvbounce goes: exit 1 after three reports" \
		"$?:$(grep -c 'backend xen' "$tmp/out")" "1:3"
	is "$tag a device new since the last report: its counts since attach" \
		"$(grep '^0000:00:05.0 *- ' "$tmp/out" | sed -n 1p | tr -s ' ')" "0000:00:05.0 - 7 4096 0 100.0% -"
	is "$tag a device attached anew: its counts since then" \
		"$(grep '^0000:00:03.0' "$tmp/out" | sed -n 3p | tr -s ' ')" "0000:00:03.0 nvme 5 512 0 100.0% -"
	like "$tag module gone: says so" "$tmp/err" "pvbounce is not loaded"
done
echo "1..$n"
[ "$failed" -eq 0 ]
