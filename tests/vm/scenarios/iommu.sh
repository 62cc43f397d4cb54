# SPDX-License-Identifier: GPL-2.0
# The NVMe behind QEMU's intel-iommu (run.sh with PVB_IOMMU=translate or pt,
# native only).  The mode is read from the kernel (the device's iommu_group
# type) and must be what the command line asked for.  In a translating
# domain (DMA, DMA-FQ) pvbounce refuses the device with one line, attaches
# nothing, and nvme works on the IOMMU with verified I/O; in an identity
# domain it attaches and really bounces (force=1), I/O verified.  Each boot
# checks both: at load, for a hot-plugged device (PCI remove and rescan
# with pvbounce and nvme loaded), and after switching the group's type the
# other way through sysfs (what the refusal line tells the user to do).  No
# DMAR fault may be logged.  The group type is put back as it was at boot.
# An identity boot then refuses a device whose group a VFIO user holds (an
# unmanaged domain) and attaches it once let go: see vfio_held.
. /scenarios/lib.sh
skip_without_pvbounce "devices behind an IOMMU"
nvme=$(nvme_pci)
tfile=$PCI/$nvme/iommu_group/type
refused_re="pvbounce $nvme: not attached: behind an IOMMU in translating mode \(boot with iommu=pt, or set its iommu_group type to identity\)\$"
fault_re='DMAR:.*[Ff]ault|DMAR:.*Request device'

case " $(cat /proc/cmdline) " in
*" iommu=pt "*) asked=identity ;;
*" intel_iommu=on "*) asked=translating ;;
*) asked=none ;;
esac
type0=$(cat "$tfile" 2>/dev/null)
if [ "$asked" = none ] && [ -z "$type0" ]; then
	tap_skip "devices behind an IOMMU" "no IOMMU in this boot (run.sh with PVB_IOMMU=translate or pt)"
	exit 0
fi
case $type0 in
DMA | DMA-FQ) mode=translating ;;
identity) mode=identity ;;
*) mode="'$type0'" ;;
esac
expect_eq "$nvme's iommu_group type ($type0) is what the command line asked for" "$mode" "$asked" || exit 0
diag "$nvme is in iommu_group $(basename "$(readlink "$PCI/$nvme/iommu_group")"), type $type0"

# no_fault TAG: no DMAR fault since the last load
no_fault() {
	dmesg >/tmp/dmesg.now
	check_fails "$1: no DMAR fault logged" grep -Eq "$fault_re" /tmp/dmesg.now ||
		diag_file /tmp/dmesg.now 10
}

# refused_checks TAG: pvbounce is loaded and has just considered $nvme in a
# translating domain: one line, nothing attached, nvme works on the IOMMU
refused_checks() {
	dmesg >/tmp/dmesg.now
	expect_eq "$1: exactly one pvbounce line about $nvme" \
		"$(grep -c "pvbounce $nvme:" /tmp/dmesg.now)" 1
	dmesg_has "$1: it is the refusal, with what to do" "$refused_re" /tmp/dmesg.now
	check_fails "$1: no debugfs directory for $nvme" test -e "$PVB_DBG/$nvme"
	check_fails "$1: not in debugfs devices" grep -q "^$nvme " "$PVB_DBG/devices"
	check_fails "$1: no /sys/kernel/pvbounce/$nvme/" test -e "/sys/kernel/pvbounce/$nvme"
	check "$1: nvme comes up on the IOMMU" nvme_up "$nvme" || return 1
	check_fails "$1: still not attached with nvme bound" test -e "$PVB_DBG/$nvme"
	pvbio_run "$1: I/O verified on the IOMMU" -s 4K,64K,"$(nvme_queue max_hw_sectors_kb)K" -n 2 -j 2 -S 81 "$NVME_DEV"
	no_fault "$1"
	unbind "$nvme"
	check "$1: rmmod (nothing attached, nothing pinned)" rmmod pvbounce
}

# attached_checks TAG [full]: pvbounce is loaded (force=1) and has just
# considered $nvme in an identity domain: attached, every map bounced
attached_checks() {
	dmesg >/tmp/dmesg.now
	dmesg_has "$1: attach logged" "pvbounce $nvme: attached" /tmp/dmesg.now
	check_fails "$1: no refusal" grep -q "pvbounce $nvme: not attached" /tmp/dmesg.now
	check "$1: nvme probes on pvbounce's ops" nvme_up "$nvme" || return 1
	attached "$nvme" nvme
	counters "$nvme"
	if [ "$2" = full ]; then
		verified_io "$nvme" "$1"
	else
		pvbio_run "$1: I/O verified" -s 4K,64K,252K -n 2 -j 2 -S 82 "$NVME_DEV"
		IO_W=$IO_WRITTEN IO_R=$IO_READ
	fi
	show "$nvme"
	expect_eq "$1: every map of the I/O bounced: bounced_maps moved by the maps' $(delta "$nvme" maps)" \
		"$(delta "$nvme" bounced_maps)" "$(delta "$nvme" maps)"
	expect_ge "$1: ... and they were many" "$(delta "$nvme" maps)" 10
	expect_eq "$1: no direct mapping under force=1" "$(delta "$nvme" direct_maps)" 0
	expect_ge "$1: bytes_to_device moved by >= the bytes written ($IO_W)" "$(delta "$nvme" bytes_to_device)" "$IO_W"
	expect_ge "$1: bytes_from_device moved by >= the bytes read ($IO_R)" "$(delta "$nvme" bytes_from_device)" "$IO_R"
	expect_eq "$1: no map error" "$(delta "$nvme" map_errors)" 0
	expect_eq "$1: every map was unmapped" "$(dbg "$nvme" maps)" "$(dbg "$nvme" unmaps)"
	no_fault "$1"
	unload_checks "$nvme" nvme "$1"
}

# reset: $nvme unbound, pvbounce not loaded (after a part that failed early)
reset() {
	unbind "$nvme"
	pvb_loaded && rmmod pvbounce
	return 0
}

# at_load EXPECT TAG: load with $nvme unbound and check it
at_load() {
	reset
	check "$2: load with devices=$nvme force=1 (before nvme)" pvb_load devices="$nvme" force=1 || return 1
	"$1_checks" "$2" "$3"
}

# hotplug EXPECT TAG: $nvme removed, pvbounce loaded, rescan: pvbounce's
# notifier sees it after the IOMMU's, and nvme (loaded) probes it at once
hotplug() {
	reset
	modprobe nvme
	echo 1 >"$PCI/$nvme/remove"
	check "$2: load with devices=$nvme force=1 while $nvme is removed" pvb_load devices="$nvme" force=1
	loaded=$?
	echo 1 >/sys/bus/pci/rescan
	check "$2: $nvme is back after a PCI rescan" test -e "$PCI/$nvme" || return 1
	[ $loaded -eq 0 ] || return 1
	diag "$2: iommu_group type now $(cat "$tfile")"
	"$1_checks" "$2"
}

# set_type TYPE: the group's default domain type, through sysfs (no driver bound)
set_type() {
	reset
	echo "$1" >"$tfile"
	expect_eq "iommu_group type set to $1 through sysfs" "$(cat "$tfile")" "$1"
}

# vfio_held unmanaged|blocked: in an identity boot, the second e1000e
# (nothing else here uses it) bound to vfio-pci and its group held by a VFIO
# user (pvbvfio: container with a type1 IOMMU), so that its domain is
# unmanaged; or owned by VFIO before the container has an IOMMU, so that
# its domain is blocked.  The refusal names the domain's type.  pvbounce considers
# a bound device only at load with rebind=1 (a devices= write leaves it alone
# with a warning, the driver bound), which is the check refuse.c makes: the
# refusal names the device and "unmanaged", nothing is attached and vfio-pci
# keeps it.  Then the user lets go (domain back to identity), vfio-pci is
# unbound, and devices= written again attaches it: the refusal was about the
# domain, not the device.
vfio_held() {
	how=$1
	reset
	nic=$(nic_pcis | tail -n 1)
	grp=$(basename "$(readlink "$PCI/$nic/iommu_group")")
	gtype=/sys/kernel/iommu_groups/$grp/type
	expect_eq "vfio $how: $nic's iommu_group $grp is identity by default" "$(cat "$gtype")" identity || return 1
	if [ -z "$(find /lib/modules -name 'vfio-pci.ko*')" ]; then
		tap_skip "vfio $how: a VFIO user's group" "$(uname -r) has no vfio-pci module"
		return 0
	fi
	unbind "$nic"
	# QEMU's intel-iommu here has no interrupt remapping (run.sh): without
	# this type1 refuses to attach (-EPERM, "No interrupt remapping support")
	check "vfio $how: modprobe vfio_iommu_type1 allow_unsafe_interrupts=1" \
		modprobe vfio_iommu_type1 allow_unsafe_interrupts=1 || return 1
	check "vfio $how: modprobe vfio-pci" modprobe vfio-pci || return 1
	echo vfio-pci >"$PCI/$nic/driver_override"
	echo "$nic" >/sys/bus/pci/drivers_probe
	expect_eq "vfio $how: $nic bound to vfio-pci" "$(driver_of "$nic")" vfio-pci || return 1
	# pvbvfio's stdin and stdout are FIFOs: "held" is read as it is printed
	# (or EOF if it failed), and closing fd 7 lets it go
	rm -f /tmp/vfio.in /tmp/vfio.out
	mkfifo /tmp/vfio.in /tmp/vfio.out
	if [ "$how" = blocked ]; then
		pvbvfio "$grp" blocked </tmp/vfio.in >/tmp/vfio.out 2>/tmp/vfio.err &
	else
		pvbvfio "$grp" </tmp/vfio.in >/tmp/vfio.out 2>/tmp/vfio.err &
	fi
	vpid=$!
	exec 7>/tmp/vfio.in 8</tmp/vfio.out
	read -r held <&8
	if ! expect_eq "vfio $how: pvbvfio holds group $grp ($held)" "${held%% *}" held; then
		diag_file /tmp/vfio.err 5
		exec 7>&- 8<&-
		wait $vpid
		return 1
	fi
	# the group's sysfs type is its default domain, not the one attached
	# now (VFIO's): it still says identity while the group is held
	expect_eq "vfio $how: iommu_group type still names the default domain" "$(cat "$gtype")" identity
	check "vfio $how: load with devices=$nic rebind=1 while VFIO holds the group" \
		pvb_load devices="$nic" rebind=1
	dmesg >/tmp/dmesg.now
	expect_eq "vfio $how: exactly one pvbounce line about $nic" \
		"$(grep -c "pvbounce $nic:" /tmp/dmesg.now)" 1
	# the name pvbounce gives the domain: 6.1's blocking domain is an
	# empty unmanaged one where the IOMMU driver has no blocked type (its
	# intel-iommu); later kernels' is of type blocked
	named=$how
	case $(uname -r) in 6.1.*) named=unmanaged ;; esac
	dmesg_has "vfio $how: refused, its domain named $named" \
		"pvbounce $nic: not attached: its IOMMU domain is $named \\(type 0x[0-9a-f]+\\), not identity: the group is claimed by another user \\(VFIO, iommufd\\) or blocked; release it, then write devices= again\$" /tmp/dmesg.now
	check_fails "vfio $how: vfio-pci was not rebound" grep -q "pvbounce $nic: rebinding" /tmp/dmesg.now
	expect_eq "vfio $how: $nic still bound to vfio-pci" "$(driver_of "$nic")" vfio-pci
	check_fails "vfio $how: no /sys/kernel/pvbounce/$nic" test -e "/sys/kernel/pvbounce/$nic"
	check_fails "vfio $how: no debugfs directory for $nic" test -e "$PVB_DBG/$nic"
	expect_eq "vfio $how: debugfs devices is empty" "$(dbg devices)" ""
	expect_eq "vfio $how: no pool slot in use" "$(dbg used)" 0
	expect_eq "vfio $how: pool never used" "$(dbg used_hiwater)" 0
	exec 7>&-
	wait $vpid
	expect_eq "vfio $how: pvbvfio let the group go (exit status)" $? 0
	exec 8<&-
	unbind "$nic"
	echo >"$PCI/$nic/driver_override"
	check_fails "vfio $how: $nic has no driver" test -e "$PCI/$nic/driver"
	dmesg -c >/dev/null
	check "vfio $how: devices=$nic written again" sh -c "echo $nic >$PVB_PARAMS/devices"
	dmesg >/tmp/dmesg.now
	dmesg_has "vfio $how: attached once the group is back on identity" "pvbounce $nic: attached" /tmp/dmesg.now
	check_fails "vfio $how: no refusal this time" grep -q "pvbounce $nic: not attached" /tmp/dmesg.now
	attached "$nic" -
	check "vfio $how: /sys/kernel/pvbounce/$nic exists" test -d "/sys/kernel/pvbounce/$nic"
	check "vfio $how: rmmod" rmmod pvbounce
	modprobe -r vfio-pci vfio_iommu_type1 2>/dev/null
	return 0
}

if [ "$mode" = identity ]; then
	at_load attached "identity ($type0)" full
	hotplug attached "identity, hot-plugged"
	set_type DMA && at_load refused "DMA set through sysfs"
else
	at_load refused "translating ($type0)"
	hotplug refused "translating, hot-plugged"
	set_type identity && at_load attached "identity set through sysfs" full
fi
set_type "$type0"
[ "$mode" = identity ] && vfio_held unmanaged && vfio_held blocked
