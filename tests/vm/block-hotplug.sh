#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The hotplug script of the dom0 scenarios' phy disks (busybox sh; mkdom0.sh
# installs it as /lib/pvb/block-hotplug, named by the disk's script=): what
# Xen's /etc/xen/scripts/block does for a block device, without bash.  libxl
# runs it with add or remove and XENBUS_PATH, the vbd's backend directory;
# on add it hands xen-blkback the device (physical-device, major:minor in
# hex), which then connects to the guest's blkfront.
X=$(echo /usr/lib/xen-*/bin)
case $1 in
add)
	dev=$("$X/xenstore-read" "$XENBUS_PATH/params") || exit 1
	[ -b "$dev" ] || { echo "block-hotplug: $dev is not a block device" >&2; exit 1; }
	mm=$(stat -L -c '%t:%T' "$dev") || exit 1
	"$X/xenstore-write" "$XENBUS_PATH/physical-device" "$mm" \
		"$XENBUS_PATH/physical-device-path" "$dev" \
		"$XENBUS_PATH/hotplug-status" connected || exit 1
	;;
remove) ;;
*) exit 1 ;;
esac
exit 0
