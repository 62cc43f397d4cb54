# SPDX-License-Identifier: GPL-2.0
# Every bad parameter value fails insmod with -EINVAL and a kernel message
# naming the parameter; nothing is loaded or attached.  backend=xen outside a
# Xen PV guest fails with -ENODEV.
. /scenarios/lib.sh
skip_without_pvbounce "bad parameters refused"
nvme=$(nvme_pci)

# refused PARAM=VALUE [MORE PARAMS]: insmod fails with EINVAL and pvbounce's own line names
# the parameter and the value as given (the kernel's "pvbounce: `VALUE'
# invalid for parameter `PARAM'" does not count: parse_args prints it for any
# setter's error).  Bools have no setter of pvbounce's: the kernel's line is
# theirs.
refused() {
	p=${1%%=*} v=${1#*=}
	case $p in
	force|rebind|poison) want="pvbounce: \`$v' invalid for parameter \`$p'" ;;
	devices) [ ${#v} -gt 1023 ] && want="pvbounce: invalid devices=: " ||
		want="pvbounce: invalid devices=\"$v\": " ;;
	*) want="pvbounce: invalid $p=\"$v\": must be " ;;
	esac
	if pvb_load "$@"; then
		tap_not_ok "$* refused"
		rmmod pvbounce
		return
	fi
	if ! grep -q "Invalid argument" "$OUT"; then
		tap_not_ok "$* refused with -EINVAL"
		diag_file "$OUT"
	elif ! grep -qF "$want" /tmp/dmesg.load; then
		tap_not_ok "$* refused with pvbounce's message naming $p and the value"
		diag "want a line with: $want"
		diag_file /tmp/dmesg.load 5
	elif pvb_loaded; then
		tap_not_ok "$* refused and nothing left loaded"
	else
		tap_ok "$* refused: $(grep -m1 -F "$want" /tmp/dmesg.load | sed 's/^\[[^]]*\] //')"
	fi
}

# Parsing does not depend on the backend, and under Xen PV + TCG every
# insmod takes seconds: there, the first bad value of each parameter only.
values() { # PARAM VALUE...
	p=$1
	shift
	[ "$PVB_MODE" = xen ] && set -- "$1"
	for v in "$@"; do refused "$p=$v"; done
}
values devices junk 00:03 00:20.0 00:03.8 100:00.0 8086:100g ffff:0001 , "$nvme," \
	"$nvme,,8086:100e" "$nvme@" "$nvme@0" "$nvme@12Q" @64M "0:0:0:0.0" \
	"$nvme@17G"
# a pool, growth included, is at most 16 GiB: @64G with pool_max_mb (4x
# growth) once asked kvcalloc() for 2 GiB of metadata, past INT_MAX
refused "devices=$nvme@64G" pool_max_mb=1
values backend bogus "" XEN nativ
values pool_mb 0 16385 abc -1 1.5
values pool_max_mb 16385 abc -1 1.5
values address_bits 0 23 65 x
values max_mapping_kb 0 128 255 257 300 8192 1M
for p in force rebind poison; do values "$p" maybe; done

# fault injection is no parameter (a production load carries no writable
# knob): it lives in debugfs fail/, root only and off unless written
if check "loads with no parameter" pvb_load; then
	check_fails "no xen_fail_exchange parameter" test -e "$PVB_PARAMS/xen_fail_exchange"
	expect_eq "debugfs fail/chunk_alloc: mode 0600, off" \
		"$(stat -c %a "$PVB_DBG/fail/chunk_alloc" 2>&1) $(dbg fail/chunk_alloc 2>&1)" "600 0"
	# devices= holds at most 1023 characters (docs/parameters.md): the device and
	# trailing blanks (the grammar allows them at the end) up to 1023 are
	# taken and kept as written; one more is refused, the old text stays
	long=$(printf '%-1023s' "$nvme")
	dmesg -c >/dev/null
	check "devices= of 1023 characters written at run time" sh -c "echo -n '$long' >$PVB_PARAMS/devices"
	expect_eq "devices= of 1023 characters kept as written (1023 and the newline)" \
		"$(wc -c <"$PVB_PARAMS/devices")" 1024
	if sh -c "echo -n '$long ' >$PVB_PARAMS/devices" 2>/tmp/bad.err; then
		tap_not_ok "devices= of 1024 characters refused"
	else
		expect_eq "devices= of 1024 characters refused: Invalid argument" \
			"$(grep -c 'Invalid argument' /tmp/bad.err)" 1 || diag_file /tmp/bad.err
	fi
	dmesg_has "devices= of 1024 characters: pvbounce's line says how long it was and the limit" \
		"pvbounce: invalid devices=: 1024 characters, at most 1023\$"
	expect_eq "devices= of 1024 characters: the 1023 kept" "$(wc -c <"$PVB_PARAMS/devices")" 1024
	echo >"$PVB_PARAMS/devices"
	rmmod pvbounce
fi

if [ "$PVB_MODE" != xen ]; then
	pvb_load backend=xen
	rc=$?
	if [ $rc -ne 0 ] && grep -q "No such device" "$OUT" && ! pvb_loaded; then
		tap_ok "backend=xen outside a Xen PV guest refused with -ENODEV"
	else
		tap_not_ok "backend=xen outside a Xen PV guest refused with -ENODEV"
		diag_file "$OUT"
	fi
	dmesg_has "backend=xen refusal explained" "pvbounce: .*backend=xen" /tmp/dmesg.load
	check "backend=native loads" pvb_load backend=native
	expect_eq "debugfs backend native" "$(dbg backend)" native
	rmmod pvbounce
else
	check "backend=xen loads in a PV dom0" pvb_load backend=xen
	expect_eq "debugfs backend xen" "$(dbg backend)" xen
	rmmod pvbounce
	check "backend=auto picks xen" pvb_load
	expect_eq "debugfs backend xen" "$(dbg backend)" xen
	rmmod pvbounce
fi
check "nvme probes on the kernel's ops after all the refusals" nvme_up "$nvme"
check_fails "no pvbounce debugfs left behind" test -d "$PVB_DBG"
