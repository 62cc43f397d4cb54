# SPDX-License-Identifier: GPL-2.0
# NIC drivers on pvbounce (group drivers, run.sh's PVB_DRIVERS=1): each
# pair of like NICs on its own QEMU hub, vmxnet3 and virtio-net
# (iommu_platform=on: the virtio ring and buffers through the DMA API), is
# taken by pvbounce alone with force=1 before its driver binds; one NIC
# stays here, the other goes to a network namespace; ping, then 8 MiB of
# random data over TCP each way, sizes and checksums compared; both
# devices' counters say every map bounced, none failed, no misuse, bytes
# both ways at least what was sent, and no other device was served.  Then
# virtio-net again with force=0 (nic_pair_direct).
. /scenarios/drivers_lib.sh
skip_without_pvbounce "NIC drivers on pvbounce"

NET_BYTES=$((8 << 20))

# pair_traffic: (nic_pair's and nic_pair_direct's $tag $a $b $drv $mod
# $cls) DRIVER binds both, the interfaces up, ping, NET_BYTES over TCP each
# way checked; 1 if the NICs never pinged each other
pair_traffic() {
	check "$tag: $drv binds $a" drv_bind_pci "$a" "$drv" "$mod"
	check "$tag: $drv binds $b" drv_bind_pci "$b" "$drv" "$mod"
	[ -n "$cls" ] && modprobe "$cls"
	if ! net_up "$a" "$b" -; then
		tap_not_ok "$tag: ping between the attached NICs"
		dmesg | tail -n 20 >/tmp/drv.dmesg
		diag_file /tmp/drv.dmesg
		return 1
	fi
	tap_ok "$tag: ping between the attached NICs ($IF_A, $IF_B)"
	net_transfer "$NET_BYTES"
	tap_result $? "$tag: $((NET_BYTES >> 20)) MiB over TCP from $a to $b arrive intact (size, md5)"
	net_transfer "$NET_BYTES" back
	tap_result $? "$tag: $((NET_BYTES >> 20)) MiB over TCP from $b to $a arrive intact (size, md5)"
	return 0
}

# nic_pair TAG PCI_A PCI_B DRIVER MODULE [CLASS_MODULE]: the whole check of
# one pair; DRIVER (loaded as MODULE) binds both, CLASS_MODULE (virtio_net)
# gives the interfaces
nic_pair() {
	tag=$1 a=$2 b=$3 drv=$4 mod=$5 cls=$6
	diag "--- $tag: $drv on $a and $b"
	drv_present "$a" "$tag" && drv_present "$b" "$tag" || return 0
	boot_a=$(drv_release "$a")
	boot_b=$(drv_release "$b")
	if ! drv_load "$tag" "$a" "$b"; then
		drv_abort "$a" "$b"
		drv_restore "$a" "$boot_a"; drv_restore "$b" "$boot_b"
		return 0
	fi
	pair_traffic && min=$NET_BYTES || min=
	drv_only "$tag" "$a" "$b"
	net_down
	unbind "$a"
	unbind "$b"
	# (judged once the drivers are gone: a live NIC maps and unmaps all
	# the time, and its counters would move between two reads)
	drv_judge "$tag" "$a" $min $min
	drv_judge "$tag" "$b" $min $min
	drv_unload "$tag" "$a" "$b" || drv_abort "$a" "$b"
	drv_restore "$a" "$boot_a"
	drv_restore "$b" "$boot_b"
}

# nic_pair_direct TAG PCI_A PCI_B DRIVER MODULE [CLASS_MODULE]: the pair
# with force=0.  Natively a NIC with a 64-bit mask reaches all memory:
# nothing bounces, and on 6.12 and 7.3 no sync reaches pvbounce (the DMA
# API skips them until a device's first bounce), though virtio-net syncs
# every buffer it receives (7.3: about 10000 for this traffic under
# force=1); on 6.1 they do.  As a Xen guest some buffers bounce: only the
# data is checked.
nic_pair_direct() {
	tag=$1 a=$2 b=$3 drv=$4 mod=$5 cls=$6
	diag "--- $tag: $drv on $a and $b, force=0"
	drv_present "$a" "$tag" && drv_present "$b" "$tag" || return 0
	boot_a=$(drv_release "$a")
	boot_b=$(drv_release "$b")
	if ! check "$tag: load pvbounce devices=$a,$b force=0" pvb_load devices="$a,$b"; then
		drv_restore "$a" "$boot_a"; drv_restore "$b" "$boot_b"
		return 0
	fi
	pair_traffic
	net_down
	unbind "$a"
	unbind "$b"
	for p in "$a" "$b"; do
		diag "$tag: $p: maps $(dbg "$p" maps) bounced $(dbg "$p" bounced_maps) syncs $(dbg "$p" syncs)"
		expect_ge "$tag: $p mapped (maps)" "$(dbg "$p" maps)" 1
		[ "$PVB_MODE" = xen ] && continue
		expect_eq "$tag: $p: nothing bounced" "$(dbg "$p" bounced_maps)" 0
		case $(uname -r) in
		6.1.*) ;;
		*) expect_eq "$tag: $p: no sync reached pvbounce" "$(dbg "$p" syncs)" 0 ;;
		esac
	done
	drv_unload "$tag" "$a" "$b" || drv_abort "$a" "$b"
	drv_restore "$a" "$boot_a"
	drv_restore "$b" "$boot_b"
}

nic_pair vmxnet3 0000:00:16.0 0000:00:17.0 vmxnet3 vmxnet3
nic_pair virtio_net 0000:00:18.0 0000:00:19.0 virtio-pci virtio_pci virtio_net
nic_pair_direct "virtio_net force=0" 0000:00:18.0 0000:00:19.0 virtio-pci virtio_pci virtio_net
