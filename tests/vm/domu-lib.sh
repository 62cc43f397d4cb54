# SPDX-License-Identifier: GPL-2.0
# The domU lane's dom0 tools (busybox sh; tests/vm/mkdom0.sh puts this file in
# the dom0 initramfs as /lib/pvb/domu-lib.sh): Xen's toolstack started in this
# initramfs, and PV domUs created, their consoles followed and their TAP
# results forwarded.  Sourced by domu-host.sh and by the dom0 scenarios
# (dom0_*.sh), which create their own domUs.
#
# A domU runs the same kernel with the ordinary test initramfs and the same
# /init (pvb.mode=domu).  Every line of its console is copied to this console
# prefixed "domU: " (the host scans it for panics and warnings); its TAP lines
# also go to our TAP port, counted in this boot's numbering.
# the toolstack of the Xen we run on (mkdom0.sh packs one: 4.17 or 4.20)
XEN_BIN=$(echo /usr/lib/xen-*/bin)
DOMU=pvbdomu
DOMU_LOG=/var/log/xen/console/guest-$DOMU.log
DOMU_TIMEOUT=${PVB_TIMEOUT:-600}

# domu_toolstack: the toolstack's daemons, with a message for what failed
domu_toolstack() {
	for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback; do
		modprobe "$m" || { tap_not_ok "dom0: modprobe $m"; return 1; }
	done
	mount -t xenfs xenfs /proc/xen || { tap_not_ok "dom0: mount xenfs at /proc/xen"; return 1; }
	# xenconsoled gives each guest console a pty
	mkdir -p /dev/pts
	mount -t devpts devpts /dev/pts 2>/dev/null
	# (/var/lib/xen/xenstore: xenstored 4.20's run directory, where it chdirs)
	mkdir -p /var/run/xen /var/run/xenstored /var/lib/xen /var/lib/xenstored \
		/var/lib/xen/xenstore /var/log/xen/console /run/xen
	diag "dom0: toolstack $XEN_BIN"
	"$XEN_BIN/xenstored" --pid-file /var/run/xenstored.pid >/tmp/xenstored.out 2>&1
	for i in $(seq 1 100); do
		"$XEN_BIN/xenstore-read" /local/domain/0/domid >/dev/null 2>&1 && break
		"$XEN_BIN/xenstore-ls" / >/dev/null 2>&1 && break
		sleep 0.2
	done
	check "dom0: xenstored runs" "$XEN_BIN/xenstore-ls" / || return 1
	check "dom0: xen-init-dom0" "$XEN_BIN/xen-init-dom0" || return 1
	check "dom0: xenconsoled logs the guest consoles" "$XEN_BIN/xenconsoled" \
		--pid-file=/var/run/xenconsoled.pid --log=guest \
		--log-dir=/var/log/xen/console || return 1
	run_cmd "$XEN_BIN/xl" info
	XEN_CMDLINE=$(sed -n 's/^xen_commandline *: *//p' "$OUT")
	diag "dom0: Xen command line: $XEN_CMDLINE"
	return 0
}

# domu_assign PCI...: each to xen-pciback, assignable
domu_assign() {
	for p in "$@"; do
		case $p in *:*:*) ;; *) p=0000:$p ;; esac
		check "dom0: xl pci-assignable-add $p" "$XEN_BIN/xl" pci-assignable-add "$p" || return 1
	done
	run_cmd "$XEN_BIN/xl" pci-assignable-list
	diag "dom0: assignable: $(tr '\n' ' ' <"$OUT")"
}

# domu_result "ok N - ...": count a domU result once (by its number); false
# if it was seen already, or if the line is not a whole result ("ok N - "):
# a kernel message printed into the middle of it on the domU's console (the
# recap at the end brings it again, whole)
domu_result() {
	case $1 in
	"not ok "*) num=${1#not ok } ;;
	"ok "*) num=${1#ok } ;;
	*) return 1 ;;
	esac
	rest=${num#* }
	num=${num%% *}
	case $num in '' | *[!0-9]*) return 1 ;; esac
	case $rest in "- "*) ;; *) return 1 ;; esac
	[ -e "/tmp/domu.res/$num" ] && return 1
	: >"/tmp/domu.res/$num"
	n=$((n + 1))
	return 0
}

# What a crash report on the domU's console begins with
DOMU_CRASH='Kernel panic|BUG:|WARNING:|Oops'

# domu_line LINE: one line of the domU's console (its \r taken off): to
# the dom0's console, and what it says to the counts and the TAP port;
# false at the done marker
domu_line() {
	echo "domU: $1" >/dev/console
	case $1 in
	*"PVBTAP: # pvb-done"*) done_seen=1; return 1 ;;
	*"PVBTAP: 1.."*) dplan=${1##*PVBTAP: 1..} ;;
	*"PVBTAP-RECAP: 1.."*) dplan=${1##*PVBTAP-RECAP: 1..} ;;
	*"PVBTAP: ok "* | *"PVBTAP: not ok "*)
		t=${1#*PVBTAP: }
		domu_result "$t" && [ -n "$PVB_TAPDEV" ] &&
			echo "PVBTAP: $t" >"$PVB_TAPDEV"
		;;
	*"PVBTAP-RECAP: "*)
		# the domU's results again: those lost on the way
		t=${1#*PVBTAP-RECAP: }
		if domu_result "$t"; then
			recovered=$((recovered + 1))
			[ -n "$PVB_TAPDEV" ] && echo "PVBTAP: $t" >"$PVB_TAPDEV"
		fi
		;;
	*"PVBTAP: "*)
		[ -n "$PVB_TAPDEV" ] && echo "PVBTAP: ${1#*PVBTAP: }" >"$PVB_TAPDEV"
		;;
	esac
	return 0
}

# domu_forward: copy the domU's console until its done marker or its end
domu_forward() {
	rm -rf /tmp/domu.res
	mkdir -p /tmp/domu.res
	recovered=0
	cr=$(printf '\r')
	before=$(cat "$PVB_TAPN" 2>/dev/null || echo 0)
	n=0 done_seen=0 gone=0 dplan= start=$(date +%s)
	rm -f /tmp/domu.fifo
	mkfifo /tmp/domu.fifo
	pvbfollow "$DOMU_LOG" >/tmp/domu.fifo &
	tailpid=$!
	exec 3</tmp/domu.fifo
	while :; do
		# (busybox's read drops what it read of a line when it times out:
		# the recap and the log's tail below make up for such a loss)
		if IFS= read -r -t 5 part <&3; then
			start=$(date +%s)
			domu_line "${part%"$cr"}" || break
			continue
		fi
		# nothing for 5 s: still there, and still in time?
		if [ $gone -eq 1 ]; then
			break
		fi
		if ! "$XEN_BIN/xl" domid "$DOMU" >/dev/null 2>&1; then
			gone=1	# read what is left, then stop
		elif [ $(($(date +%s) - start)) -ge "$DOMU_TIMEOUT" ]; then
			diag "dom0: the domU printed nothing for $DOMU_TIMEOUT s"
			break
		fi
	done
	exec 3<&-
	kill "$tailpid" 2>/dev/null
	# the log's last lines: one without its newline (the domain went
	# away) or one whose start a timed-out read dropped (a result seen
	# already is not counted twice)
	if [ $done_seen -eq 0 ]; then
		tail -n 3 "$DOMU_LOG" | tr -d '\r' >/tmp/domu.tail
		# (|| [ -n ]: the last line may have no newline)
		while IFS= read -r line || [ -n "$line" ]; do
			domu_line "$line" || break
		done </tmp/domu.tail
	fi
	echo $((before + n)) >"$PVB_TAPN"
	[ "$recovered" -gt 0 ] && diag "dom0: $recovered domU results lost on the console, taken from its recap"
}

# domu_verdict: the result for what domu_forward saw
domu_verdict() {
	if [ $done_seen -eq 1 ] && [ "$dplan" = "$n" ]; then
		tap_ok "domU ran its scenarios to the end ($n results, as its plan says)"
	elif [ $gone -eq 1 ] && [ -n "$dplan" ] && [ "$dplan" = "$n" ]; then
		# the plan comes after the last scenario (and again in the
		# recap): only the done marker was lost on the console
		diag "dom0: the domU's done marker was lost on its console"
		tap_ok "domU ran its scenarios to the end ($n results, as its plan says)"
	elif [ $done_seen -eq 1 ]; then
		tap_not_ok "domU ran its scenarios to the end (its plan '$dplan', $n results seen)"
	elif [ $gone -eq 1 ]; then
		tap_not_ok "domU ran its scenarios to the end (it ended after $n results)"
	else
		tap_not_ok "domU ran its scenarios to the end (nothing for $DOMU_TIMEOUT s after $n results)"
	fi
}

# domu_crashed_early: the domU is gone, crashed (its console has a
# report), gave no result and never began a scenario (its /init says
# "=== scenario" before each)
domu_crashed_early() {
	[ "$gone" -eq 1 ] && [ "$n" -eq 0 ] && [ "$done_seen" -eq 0 ] &&
		! grep -q '=== scenario' "$DOMU_LOG" &&
		grep -qE "$DOMU_CRASH" "$DOMU_LOG"
}


# domu_cmdline SCENARIOS: $extra, the domU's kernel command line: ours, as a
# domU running SCENARIOS (colon-separated), its TAP on its console, Xen's
# memop-max-order passed on (pvb.memop), DOMU_ARGS added
domu_cmdline() {
	extra=$(sed -e 's/pvb\.mode=[^ ]*/pvb.mode=domu/' -e 's/ *pvb\.tap=[^ ]*//' \
		-e 's/ *pvb\.domu_[a-z_]*=[^ ]*//g' -e "s/pvb\.scenario=[^ ]*/pvb.scenario=$1/" \
		-e 's/^ *//' /proc/cmdline)
	# (a dom0 scenario's shell did not start the toolstack: ask Xen)
	[ -n "$XEN_CMDLINE" ] ||
		XEN_CMDLINE=$("$XEN_BIN/xl" info | sed -n 's/^xen_commandline *: *//p')
	memop=$(echo "$XEN_CMDLINE" | sed -n 's/.*memop-max-order=\([^ ]*\).*/\1/p')
	[ -n "$memop" ] && extra="$extra pvb.memop=$memop"
	[ -n "$DOMU_ARGS" ] && extra="$extra $DOMU_ARGS"
	return 0
}

# domu_cfg EXTRA: /tmp/domu.cfg, EXTRA added to the domU's command line;
# DOMU_MEM (MiB, default 512), the PCI devices of $pcicfg and the config
# lines of DOMU_CFG (disks, vifs) in it
domu_cfg() {
	cat >/tmp/domu.cfg <<-EOC
	name = "$DOMU"
	type = "pv"
	kernel = "/domu/vmlinuz"
	ramdisk = "/domu/initrd.gz"
	extra = "$extra$1"
	memory = ${DOMU_MEM:-512}
	vcpus = 2
	on_poweroff = "destroy"
	on_reboot = "destroy"
	on_crash = "destroy"
	${pcicfg:+pci = [ $pcicfg ]}
	${DOMU_CFG:-}
	EOC
}

# domu_create: xl create /tmp/domu.cfg, its console log awaited; false (the
# hypervisor's log shown) if it failed
domu_create() {
	if ! check "dom0: xl create the PV domU" "$XEN_BIN/xl" create /tmp/domu.cfg; then
		run_cmd "$XEN_BIN/xl" dmesg
		diag_file "$OUT" 30
		return 1
	fi
	for i in $(seq 1 50); do
		[ -f "$DOMU_LOG" ] && break
		sleep 0.2
	done
	return 0
}

# domu_destroy: the domU gone (xl destroy), its console log kept aside as
# $DOMU_LOG.N (DOMU_LAST_LOG) so that the next domU's is its own
domu_destroy() {
	"$XEN_BIN/xl" destroy "$DOMU" >/dev/null 2>&1
	for i in $(seq 1 100); do
		"$XEN_BIN/xl" domid "$DOMU" >/dev/null 2>&1 || break
		sleep 0.1
	done
	if [ -f "$DOMU_LOG" ]; then
		k=1
		while [ -e "$DOMU_LOG.$k" ]; do k=$((k + 1)); done
		mv "$DOMU_LOG" "$DOMU_LOG.$k"
		DOMU_LAST_LOG=$DOMU_LOG.$k
	fi
}

# domu_boot SCENARIOS: create a domU running SCENARIOS, forward its results
# until it is done, judge that it ran them all, destroy it.  A domU that
# crashed in its boot before any scenario (seen under QEMU TCG) is created
# once more; DOMU_CRASH_FIRST=1 makes its first attempt crash on purpose.
domu_boot() {
	domu_cmdline "$1"
	domu_cfg ""
	diag "dom0: domU config: $(tr '\n' ';' </tmp/domu.cfg)"
	attempt=1
	[ "$DOMU_CRASH_FIRST" = 1 ] && domu_cfg " pvb.crash_in_boot=1" &&
		diag "dom0: pvb.domu_crash_first=1: the first attempt crashes on purpose (pvb.crash_in_boot=1)"
	while :; do
		echo "pvb-domu: attempt $attempt begins" >/dev/console
		domu_create || return 1
		domu_forward
		if [ $attempt -gt 1 ] || ! domu_crashed_early; then
			if [ "$DOMU_CRASH_FIRST" = 1 ]; then
				expect_eq "dom0: the domU that crashed in its boot on purpose was created once more" \
					"$attempt" 2
			fi
			domu_verdict
			break
		fi
		# Seen under QEMU TCG: the domU's kernel takes a stray
		# single-step #DB (corrupted flags, exc_debug_kernel's WARNING)
		# during its boot, before any test ran.  Said, and tried once
		# more; run.sh leaves this attempt's console lines out of its
		# check (the marker below).  A crash after a scenario began, or
		# a second one, counts.
		# (the report goes to the TAP port only: on the console it
		# would be one more report for run.sh's check)
		diag "dom0: the domU crashed in its boot before running any scenario; creating it once more. Its first report:"
		grep -m1 -A4 -E "$DOMU_CRASH" "$DOMU_LOG" | tr -d '\r' |
			while IFS= read -r l; do
				[ -n "$PVB_TAPDEV" ] && echo "PVBTAP: #   $l" >"$PVB_TAPDEV"
			done
		echo "pvb-domu: attempt $attempt discarded" >/dev/console
		domu_destroy
		domu_cfg ""
		attempt=2
	done
	run_cmd "$XEN_BIN/xl" list
	domu_destroy
	return 0
}
