# SPDX-License-Identifier: GPL-2.0
# Xen only: XENMEM_exchange failure injection through debugfs fail/xen_exchange
# (writing N makes the Nth exchange from then on fail; 0, the default, is off).
# It is no module parameter (a production load carries no writable knob), so
# the pool builds it hits are private pools attached at run time (devices=
# written), which take the same path as the common pool at load.  Whatever
# the outcome of a build with an injected failure (a smaller chunk order for
# the rest, or a clear refusal), there is no crash, I/O through what was
# built is correct, and after unload every frame is back (free memory as
# before).
# Natively there is no exchange to fail: the native backend must offer no
# such knob (docs/files.md: fail/xen_exchange is the xen backend's); that is all
# this scenario checks there, rather than a SKIP (which fails under CI).
. /scenarios/lib.sh
skip_without_pvbounce "exchange failure injection"
if [ "$PVB_MODE" != xen ]; then
	if check "native: load pvbounce" pvb_load pool_mb=8; then
		expect_eq "native: debugfs fail/ is there, without xen_exchange" \
			"$(test -d "$PVB_DBG/fail" && echo yes):$(test -e "$PVB_DBG/fail/xen_exchange" && echo yes)" "yes:"
		check "native: rmmod pvbounce" rmmod pvbounce
	fi
	exit 0
fi
nvme=$(nvme_pci)
KNOB=$PVB_DBG/fail/xen_exchange
# warm up: pvbounce loaded once, nvme's modules loaded (they stay)
pvb_load pool_mb=8 max_mapping_kb=1024 && rmmod pvbounce
nvme_up "$nvme" && unbind "$nvme"
mem_settle
before=$(mem_free_kb)

# the knob: no parameter, a root-only debugfs file, off unless written
check "load max_mapping_kb=1024" pvb_load pool_mb=8 max_mapping_kb=1024 force=1
check_fails "no xen_fail_exchange parameter" test -e "$PVB_PARAMS/xen_fail_exchange"
check_fails "modinfo lists no fault-injection parameter" \
	sh -c "modinfo '$PVB_KO' | grep -Eq '^parm: *[a-z_]*(fail|inject)'"
expect_eq "fail/xen_exchange is mode 0600" "$(stat -c %a "$KNOB" 2>&1)" 600
expect_eq "fail/xen_exchange is off at load" "$(cat "$KNOB" 2>&1)" 0
echo 7 >"$KNOB"
expect_eq "fail/xen_exchange reads back what was written" "$(cat "$KNOB")" 7
echo 0 >"$KNOB"

# 8 chunks of 1 MiB: exchanges 1 to 8 happen in the private pool's build
for n in 1 2 5 8; do
	tag="fail/xen_exchange=$n"
	echo "$n" >"$KNOB"
	dmesg -c >/dev/null
	echo "$nvme@8M" >"$PVB_PARAMS/devices"
	dmesg >/tmp/dmesg.rt
	left=$(cat "$KNOB")
	if [ "$left" = 0 ]; then
		dmesg_has "$tag: the failed exchange is logged" \
			"XENMEM_exchange failed as asked by fail/xen_exchange" /tmp/dmesg.rt
	else
		diag "$tag: only $((n - left)) exchanges in the build"
		echo 0 >"$KNOB"
	fi
	if [ -d "$PVB_DBG/$nvme" ]; then
		tap_ok "$tag: private pool made ($(grep "pvbounce: pool $nvme: [0-9]* KiB in" /tmp/dmesg.rt | sed 's/.*pvbounce: pool [^:]*: //'))"
		dbg "$nvme" pool >/tmp/pool
		expect_eq "$tag: no chunk below 256 KiB" "$(awk '$2 - $1 + 1 < 262144' /tmp/pool | head -n 1)" ""
		if nvme_up "$nvme"; then
			pvbio_run "$tag: I/O verified" \
				-s "$(size_list "$(nvme_queue max_hw_sectors_kb)")" -S $((90 + n)) "$NVME_DEV"
		else
			tap_not_ok "$tag: nvme probes"
		fi
		unbind "$nvme"
	else
		dmesg_has "$tag: private pool refused with a reason" \
			"pvbounce: pool $nvme: .*(exchange|could not get)" /tmp/dmesg.rt
		dmesg_has "$tag: attach refused with a message" "pvbounce $nvme: not attached" /tmp/dmesg.rt
	fi
	echo >"$PVB_PARAMS/devices"
done
check "rmmod" rmmod pvbounce
expect_mem_back "after the 1 MiB builds" "$before"

# the first exchange of a one-chunk (256 KiB, the smallest segment) private
# pool fails: nothing smaller is tried, the attach is refused with a message
check "load max_mapping_kb=256" pvb_load pool_mb=8 max_mapping_kb=256 force=1
echo 1 >"$KNOB"
dmesg -c >/dev/null
echo "$nvme@256K" >"$PVB_PARAMS/devices"
dmesg >/tmp/dmesg.rt
expect_eq "256 KiB pool: the failure was used" "$(cat "$KNOB")" 0
dmesg_has "256 KiB pool: the failed exchange is logged" \
	"XENMEM_exchange failed as asked by fail/xen_exchange" /tmp/dmesg.rt
check_fails "256 KiB pool: no pool of smaller chunks, not attached" test -d "$PVB_DBG/$nvme"
dmesg_has "256 KiB pool: the refusal names the pool and the size" \
	"pool $nvme: could not get a single 256 KiB chunk" /tmp/dmesg.rt
dmesg_has "256 KiB pool: attach refused with a message" "pvbounce $nvme: not attached" /tmp/dmesg.rt
check "256 KiB pool: nvme probes on its own ops" nvme_up "$nvme"
unbind "$nvme"
echo >"$PVB_PARAMS/devices"

# at run time with nvme bound on the common pool: its next exchange (a
# coherent allocation or a private pool's) fails, nothing breaks
echo "$nvme" >"$PVB_PARAMS/devices"
if check "nvme probes on the common pool" nvme_up "$nvme"; then
	echo 1 >"$KNOB"
	pvbio_run "bound device: I/O verified with an exchange failure pending" -s 4K,252K -S 99 "$NVME_DEV"
	diag "fail/xen_exchange after the I/O: $(cat "$KNOB")"
	echo 0 >"$KNOB"
fi
unbind "$nvme"
check "rmmod" rmmod pvbounce
expect_mem_back "after the run-time failures" "$before"
