# SPDX-License-Identifier: GPL-2.0
# Helpers of the drivers group's scenarios (drivers_storage, drivers_net):
# one device at a time, at the fixed PCI address run.sh's PVB_DRIVERS=1 gives
# it, attached alone with force=1, its in-tree driver bound, verified traffic,
# and pvbounce's counters of that device judged.
. /scenarios/lib.sh

# drv_present PCI DESC: the device is there (run.sh booted with
# PVB_DRIVERS=1), else one not-ok line (a boot without the devices is a
# harness mistake, not a SKIP)
drv_present() {
	[ -d "$PCI/$1" ] && return 0
	tap_not_ok "$2: device $1 present (run.sh needs PVB_DRIVERS=1)"
	return 1
}

# drv_release PCI: unbind the driver the boot bound (virtio-pci, built into
# Debian 13's kernels, binds the virtio devices at boot); prints its name
# for drv_restore
drv_release() {
	d=$(driver_of "$1")
	[ -n "$d" ] && diag "$1: bound to $d at boot: unbound before pvbounce loads"
	unbind "$1"
	echo "$d"
}

# drv_restore PCI DRIVER: bind DRIVER (drv_release's) again, pvbounce gone
drv_restore() {
	[ -n "$2" ] && echo "$1" >"/sys/bus/pci/drivers/$2/bind"
	return 0
}

# drv_bind_pci PCI DRIVER MODULE: bind DRIVER to PCI, loading MODULE the
# first time (its probe binds it); a driver built in is bound through sysfs
drv_bind_pci() {
	if [ -d "/sys/bus/pci/drivers/$2" ]; then
		[ "$(driver_of "$1")" = "$2" ] || echo "$1" >"/sys/bus/pci/drivers/$2/bind"
	else
		modprobe "$3"
	fi
	[ "$(driver_of "$1")" = "$2" ]
}

# drv_load TAG PCI...: pvbounce with force=1 and devices= these devices only
# (bus-less PCI addresses), each listed in debugfs with no driver yet
drv_load() {
	tag=$1
	shift
	list=$(echo "$@" | tr ' ' ',')
	check "$tag: load pvbounce devices=$list force=1" pvb_load devices="$list" force=1 || return 1
	for p in "$@"; do
		attached "$p" -
	done
}

# drv_only TAG PCI...: pvbounce serves exactly these devices: the debugfs
# devices list and per-device directories name no other
drv_only() {
	tag=$1
	shift
	want=$(for p in "$@"; do echo "$p"; done | sort | tr '\n' ' ')
	got=$(cut -d' ' -f1 "$PVB_DBG/devices" | sort | tr '\n' ' ')
	expect_eq "$tag: pvbounce serves only $* (debugfs devices)" "$got" "$want"
	dirs=$(for d in "$PVB_DBG"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*; do
		[ -d "$d" ] && echo "${d##*/}"
	done | sort | tr '\n' ' ')
	expect_eq "$tag: counters exist for $* only" "$dirs" "$want"
}

# drv_judge TAG PCI [MIN_TO MIN_FROM]: PCI's counters after its traffic,
# its driver unbound (so that they stand still): maps made (> 0) and every
# one bounced, none direct, no map error, no misuse; bytes to and from the
# device at least MIN_TO and MIN_FROM
drv_judge() {
	show "$2"
	maps=$(dbg "$2" maps)
	expect_ge "$1: $2 made mappings through pvbounce" "$maps" 1
	expect_eq "$1: every map of $2 bounced (bounced_maps == maps)" "$(dbg "$2" bounced_maps)" "$maps"
	expect_eq "$1: no direct map of $2 under force=1" "$(dbg "$2" direct_maps)" 0
	expect_eq "$1: no map error on $2" "$(dbg "$2" map_errors)" 0
	expect_eq "$1: no DMA-API misuse reported on $2" "$(dbg "$2" misuse)" 0
	if [ -n "$3" ]; then
		expect_ge "$1: $2's bytes_to_device >= the $3 bytes sent" "$(dbg "$2" bytes_to_device)" "$3"
		expect_ge "$1: $2's bytes_from_device >= the $4 bytes received" "$(dbg "$2" bytes_from_device)" "$4"
	fi
}

# drv_unload TAG PCI...: the drivers already unbound: every mapping given
# back, no slot in use, rmmod, and the boot's drivers bound again
drv_unload() {
	tag=$1
	shift
	for p in "$@"; do
		expect_eq "$tag: every map of $p unmapped" "$(dbg "$p" unmaps)" "$(dbg "$p" maps)"
	done
	expect_eq "$tag: no pool slot in use once unbound" "$(dbg used)" 0
	check "$tag: rmmod pvbounce" rmmod pvbounce
	check_fails "$tag: pvbounce gone" pvb_loaded
}

# drv_abort PCI...: after a failed step: the devices unbound and pvbounce
# unloaded, so that the next device starts clean
drv_abort() {
	for p in "$@"; do
		unbind "$p"
	done
	rmmod pvbounce 2>/dev/null
	return 0
}
