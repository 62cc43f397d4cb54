#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/pvbounce-stat against a fake /sys/kernel/pvbounce/ and debugfs, TAP.
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

# run_tool ARGS...: the tool on the fake tree with the shell and PATH of this round
run_tool() {
	PVB_SYSFS=$R/sys PVB_DEBUGFS=$R/dbg PVB_MODULE=${MOD:-$R/mod} PVB_UPTIME=$R/uptime \
	PATH=$shim:$PATH $sh "$tool" "$@"
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
	MOD=$R/none run_tool -1 >"$tmp/out" 2>"$tmp/err"
	is "$tag not loaded: exit 1, nothing on stdout" "$?:$(wc -c <"$tmp/out")" "1:0"
	like "$tag not loaded: says so" "$tmp/err" "pvbounce is not loaded"
	PVB_SYSFS=$R/none2 PVB_MODULE=$R/mod $sh "$tool" -1 >/dev/null 2>"$tmp/err"
	is "$tag loaded without /sys/kernel/pvbounce: exit 1" "$?" 1
	for bad in "-x" "-i 0" "-i abc" "-i" "-c x" "-i 1.2.3"; do
		run_tool $bad >/dev/null 2>"$tmp/err"
		is "$tag usage error '$bad': exit 2" "$?" 2
	done
	run_tool -h >"$tmp/out" 2>&1
	is "$tag -h: exit 0" "$?" 0
	like "$tag -h: usage" "$tmp/out" "^usage: pvbounce-stat"

	# -1: totals since attach
	run_tool -1 >"$tmp/out" 2>&1
	is "$tag -1: exit 0" "$?" 0
	like "$tag -1: header says totals" "$tmp/out" "backend xen  totals since attach$"
	like "$tag -1: common pool size, used, high water, placement" "$tmp/out" \
		"^common +64\.0 MiB +20\.0 KiB +\(0\.0%\) +600\.0 KiB +\(0\.9%\) +2 chunks, bus 0x1f000000-0x201fffff, below 2\^32$"
	like "$tag -1: private pool line" "$tmp/out" \
		"^0000:00:04\.0 +1\.0 MiB +0 B +\(0\.0%\) +4\.0 KiB +\(0\.4%\) +1 chunk, bus 0x30000000-0x300fffff, below 2\^32$"
	like "$tag -1: nvme line: driver, maps, exact bytes past 2^32, direct %, errors" "$tmp/out" \
		"^0000:00:03\.0 +nvme +100 +6000000000 +12345 +10\.0% +pool_full=3,other=1$"
	like "$tag -1: driverless device" "$tmp/out" "^0000:00:04\.0 +- +0 +0 +0 +- +-$"
	is "$tag -1: devices sorted" "$(grep -o '^0000:00:0[34]\.0  [a-z-]' "$tmp/out" | tr '\n' ' ')" \
		"0000:00:03.0  n 0000:00:04.0  - "
	mv "$R/dbg" "$R/dbg.off"
	run_tool -1 >"$tmp/out" 2>&1
	like "$tag -1 without debugfs: placement from address_bits" "$tmp/out" "^common .*\(0\.9%\) +below 2\^32$"
	mv "$R/dbg.off" "$R/dbg"

	# --json -1
	run_tool -1 --json >"$tmp/json" 2>&1
	is "$tag --json -1: one line" "$(wc -l <"$tmp/json")" 1
	is "$tag --json -1: valid, since attach" "$(json_get "$tmp/json" 1 '(j["since"], j["interval"], j["backend"])')" \
		"('attach', None, 'xen')"
	is "$tag --json -1: exact totals past 2^32" \
		"$(json_get "$tmp/json" 1 '[d["totals"]["bytes_to_device"] for d in j["devices"]]')" "[6000000000, 0]"
	is "$tag --json -1: pools" \
		"$(json_get "$tmp/json" 1 '[(p["name"], p["bytes"], p["used_bytes"], p["hiwater_bytes"], p["bus_low"], p["bus_high"], len(p["chunks"])) for p in j["pools"]]')" \
		"[('common', 67108864, 20480, 614400, '0x1f000000', '0x201fffff', 2), ('0000:00:04.0', 1048576, 0, 4096, '0x30000000', '0x300fffff', 1)]"
	is "$tag --json -1: device fields" \
		"$(json_get "$tmp/json" 1 '[(d["pci"], d["driver"], d["pool"], d["errors"], d["direct_pct"], d["maps_per_s"]) for d in j["devices"]]')" \
		"[('0000:00:03.0', 'nvme', 'common', {'too_large': 0, 'pool_full': 3, 'mask': 0, 'other': 1, 'misuse': 0}, 10.0, None), ('0000:00:04.0', '-', '0000:00:04.0', {'too_large': 0, 'pool_full': 0, 'mask': 0, 'other': 0, 'misuse': 0}, None, None)]"

	# rates: between reports 1 and 2 nvme maps 1000 more (500 direct) and
	# moves 2 MB to and 1 MB from the device, with 2 refusals; 2 s pass
	cat >"$R/steps" <<'EOF'
set_dev 0000:00:03.0 maps=1100 direct_maps=510 bytes_to_device=6002000000 bytes_from_device=1012345 map_errors=6 errors_pool_full=4 errors_too_large=1
:
EOF
	run_tool -i 2 -c 3 >"$tmp/out" 2>&1
	is "$tag -i 2 -c 3: exit 0, three reports" "$?:$(grep -c 'backend xen' "$tmp/out")" "0:3"
	like "$tag report 2: rates over 2.00 s" "$tmp/out" "backend xen  rates over 2\.00 s$"
	is "$tag report 2: nvme's rates, direct %, errors since report 1" \
		"$(grep '^0000:00:03.0' "$tmp/out" | sed -n 2p | tr -s ' ')" \
		"0000:00:03.0 nvme 500 1.00 0.50 50.0% too_large=1,pool_full=1"
	is "$tag report 3: no change, no errors" \
		"$(grep '^0000:00:03.0' "$tmp/out" | sed -n 3p | tr -s ' ')" \
		"0000:00:03.0 nvme 0 0.00 0.00 - -"

	fake "$R"
	cat >"$R/steps" <<'EOF'
set_dev 0000:00:03.0 maps=1100 direct_maps=510 bytes_to_device=6002000000 bytes_from_device=1012345 map_errors=6 errors_pool_full=4 errors_too_large=1
EOF
	run_tool -i 2 -c 2 --json >"$tmp/json" 2>&1
	is "$tag --json -i 2 -c 2: two lines" "$(wc -l <"$tmp/json")" 2
	is "$tag --json report 2: rates, deltas, errors" \
		"$(json_get "$tmp/json" 2 '(j["since"], j["interval"], [(d["maps_per_s"], d["to_device_MBps"], d["from_device_MBps"], d["direct_pct"], d["delta"]["bytes_to_device"], d["totals"]["bytes_to_device"], d["errors"]["pool_full"], d["errors"]["too_large"]) for d in j["devices"]])')" \
		"('last', 2.0, [(500.0, 1.0, 0.5, 50.0, 2000000, 6002000000, 1, 1), (0.0, 0.0, 0.0, None, 0, 0, 0, 0)])"

	# a device attached between reports; pvbounce unloaded between reports
	fake "$R"
	cat >"$R/steps" <<'EOF'
cp -r "$R/sys/0000:00:04.0" "$R/sys/0000:00:05.0"
rm -rf "$R/mod"
EOF
	run_tool -i 1 -c 3 >"$tmp/out" 2>"$tmp/err"
	is "$tag module gone between reports: exit 1 after two reports" \
		"$?:$(grep -c 'backend xen' "$tmp/out")" "1:2"
	like "$tag a device new since the last report is marked" "$tmp/out" "^0000:00:05\.0 +- +- +- +- +- +\(new\)$"
	like "$tag module gone: says so" "$tmp/err" "pvbounce is not loaded"
done
echo "1..$n"
[ "$failed" -eq 0 ]
