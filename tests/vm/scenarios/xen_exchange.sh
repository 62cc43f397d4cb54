# SPDX-License-Identifier: GPL-2.0
# Xen only: XENMEM_exchange failure injection (xen_fail_exchange=N makes the
# Nth exchange from then on fail).  Whatever the outcome of a load with an
# injected failure (a smaller chunk order, or a clear refusal), there is no
# crash, I/O through what was built is correct, and after unload every frame
# is back (free memory as before).
. /scenarios/lib.sh
if [ "$PVB_MODE" != xen ]; then
	tap_skip "exchange failure injection" "not a Xen PV guest"
	exit 0
fi
skip_without_pvbounce "exchange failure injection"
if ! modinfo "$PVB_KO" | grep -q 'xen_fail_exchange'; then
	tap_skip "exchange failure injection" "pvbounce.ko has no xen_fail_exchange parameter"
	exit 0
fi
nvme=$(nvme_pci)
# warm up: pvbounce loaded once, nvme's modules loaded (they stay)
pvb_load pool_mb=8 max_mapping_kb=1024 && rmmod pvbounce
nvme_up "$nvme" && unbind "$nvme"
mem_settle
before=$(mem_free_kb)

# 8 chunks of 1 MiB: exchanges 1 to 8 happen at load (more after a retry)
for n in 1 2 5 8; do
	if pvb_load devices="$nvme" pool_mb=8 max_mapping_kb=1024 force=1 xen_fail_exchange=$n; then
		tap_ok "xen_fail_exchange=$n: loaded ($(grep 'pvbounce: pool common: [0-9]* KiB in' /tmp/dmesg.load | sed 's/.*pvbounce: pool common: //'))"
		left=$(cat "$PVB_PARAMS/xen_fail_exchange")
		if [ "$left" = 0 ]; then
			dmesg_has "xen_fail_exchange=$n: the failed exchange is logged" \
				"XENMEM_exchange failed as asked by xen_fail_exchange" /tmp/dmesg.load
		else
			diag "xen_fail_exchange=$n: only $((n - left)) exchanges at load"
		fi
		echo 0 >"$PVB_PARAMS/xen_fail_exchange"
		if nvme_up "$nvme"; then
			pvbio_run "xen_fail_exchange=$n: I/O verified" \
				-s "$(size_list "$(nvme_queue max_hw_sectors_kb)")" -S $((90 + n)) "$NVME_DEV"
		else
			tap_not_ok "xen_fail_exchange=$n: nvme probes"
		fi
		unbind "$nvme"
		check "xen_fail_exchange=$n: rmmod" rmmod pvbounce
	else
		dmesg_has "xen_fail_exchange=$n: load refused with a reason" \
			"pvbounce: .*(exchange|could not get)" /tmp/dmesg.load
		check_fails "xen_fail_exchange=$n: nothing left loaded" pvb_loaded
	fi
	expect_mem_back "xen_fail_exchange=$n" "$before"
done

# at run time: the next exchange (a private pool's) fails
check "load" pvb_load pool_mb=8 max_mapping_kb=1024 force=1
echo 1 >"$PVB_PARAMS/xen_fail_exchange"
dmesg -c >/dev/null
echo "$nvme@2M" >"$PVB_PARAMS/devices"
dmesg >/tmp/dmesg.rt
dmesg_has "run time: the failed exchange is logged" \
	"XENMEM_exchange failed as asked by xen_fail_exchange" /tmp/dmesg.rt
if [ -d "$PVB_DBG/$nvme" ]; then
	diag "private pool despite the failure: $(dbg "$nvme" nslabs) slots"
	check "nvme probes on the private pool" nvme_up "$nvme" &&
		pvbio_run "I/O verified" -s 4K,252K -S 99 "$NVME_DEV"
	unbind "$nvme"
else
	dmesg_has "private pool refused with a message" "pvbounce $nvme: not attached" /tmp/dmesg.rt
fi
check "rmmod" rmmod pvbounce
expect_mem_back "after the run-time failure" "$before"
