#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The hotplug script of the dom0 scenarios' vifs (busybox sh; mkdom0.sh
# installs it as /lib/pvb/vif-hotplug, named by the vif's script=): what
# Xen's /etc/xen/scripts/vif-bridge does, without bash.  libxl runs it with
# online or offline (then type_if=vif) and the environment vif (the
# backend's interface, vifD.N) and XENBUS_PATH (its backend directory, whose
# bridge= names the bridge).  online: the interface up and in the bridge,
# and hotplug-status connected, which xen-netback waits for before it
# connects to the guest's netfront; offline: out of the bridge.
X=$(echo /usr/lib/xen-*/bin)
[ -n "$vif" ] || { echo "vif-hotplug: no vif in the environment" >&2; exit 1; }
case $1 in
online | add)
	br=$("$X/xenstore-read" "$XENBUS_PATH/bridge") || exit 1
	[ -d "/sys/class/net/$br/bridge" ] || { echo "vif-hotplug: no bridge $br" >&2; exit 1; }
	brctl addif "$br" "$vif" || exit 1
	ip link set dev "$vif" up || exit 1
	"$X/xenstore-write" "$XENBUS_PATH/hotplug-status" connected || exit 1
	;;
offline | remove)
	br=$("$X/xenstore-read" "$XENBUS_PATH/bridge" 2>/dev/null) &&
		brctl delif "$br" "$vif" 2>/dev/null
	ip link set dev "$vif" down 2>/dev/null
	;;
*) exit 1 ;;
esac
exit 0
