# SPDX-License-Identifier: GPL-2.0
# What README.md and docs/ tell users, checked on the running module: the
# README's quick start's commands as written (unbind, insmod, bind; unload: unbind, rmmod,
# drivers_probe), the advice for a device left alone (unbind, write devices=
# again), which parameters are writable at run time and what a bad or
# forbidden write does, the file sets of the Files table (sysfs and debugfs,
# common and private pool), maps = bounced_maps + direct_maps + map_errors,
# and an empty devices= write detaching an unbound device.  The tables of
# docs/parameters.md, docs/files.md and docs/messages.md are read on the host
# (tests/vm/common.sh: doc_params, passed as pvb.doc_params; doc_files and
# doc_messages, packed as /lib/pvb/doc_files and /lib/pvb/doc_messages):
# docs drifting from the module fail here.
. /scenarios/lib.sh
skip_without_pvbounce "the docs' claims"
nvme=$(nvme_pci)
SYS=/sys/kernel/pvbounce
mode=${PVB_MODE:-native}

# words LIST...: the words sorted, one line, space-separated
words() {
	# shellcheck disable=SC2048,SC2086
	printf '%s\n' $* | sort | tr '\n' ' ' | sed 's/ $//'
}
# files DIR: the names in DIR, but for device directories (0000:00:04.0)
files() {
	for f in "$1"/*; do
		f=${f##*/}
		case $f in *:*:*) ;; *) echo "$f" ;; esac
	done | sort | tr '\n' ' ' | sed 's/ $//'
}

# docs/files.md's table as the host read it (tests/vm/common.sh doc_files,
# packed by mkinitramfs.sh): doc KEY prints its list (empty if missing)
DOC=/lib/pvb/doc_files
doc() {
	sed -n "s/^$1 //p" "$DOC" 2>/dev/null
}
if [ ! -s "$DOC" ]; then
	tap_not_ok "docs/files.md's table packed in the initramfs ($DOC)"
	exit 0
fi
# docs/messages.md's tables likewise (doc_messages): doc_msg PREFIX
# [NAME=ERE...] prints the message that begins with PREFIX as an ERE: its
# metacharacters literal, a|b as (a|b), [an optional part] as (...)?,
# <NAME> as the ERE given, <why> as one of the docs' reasons for a bad
# devices= item, any other <...> as .+; nothing if the docs have no such line
MSG=/lib/pvb/doc_messages
doc_msg() {
	t=$(awk -v p="msg $1" 'index($0, p) == 1 { print substr($0, 5); exit }' "$MSG" 2>/dev/null)
	[ -n "$t" ] || return 1
	shift
	whys=$(sed -n 's/^why //p' "$MSG" | sed 's/[].[()*+?{}^$\\|]/\\&/g' | tr '\n' '|' | sed 's/|$//')
	t=$(printf '%s\n' "$t" | sed -e 's/[.()*+?{}^$\\]/\\&/g' \
		-e 's/\([A-Za-z_]*\)|\([A-Za-z_]*\)/(\1|\2)/g' -e 's/\[\([^]]*\)\]/(\1)?/g')
	for a in "why=($whys)" "$@"; do
		t=$(printf '%s\n' "$t" | N="<${a%%=*}>" V="${a#*=}" awk '{
			n = ENVIRON["N"]; v = ENVIRON["V"]; o = ""
			while ((i = index($0, n))) { o = o substr($0, 1, i - 1) v; $0 = substr($0, i + length(n)) }
			print o $0 }')
	done
	printf '%s\n' "$t" | sed 's/<[^>]*>/.+/g'
}
# doc_logged DESC LINE_PREFIX MSG_PREFIX LOG [NAME=ERE...]: LOG has docs/messages.md's
# message MSG_PREFIX..., after LINE_PREFIX ("pvbounce: " or "pvbounce "), whole
doc_logged() {
	desc=$1 lp=$2 mp=$3 log=$4
	shift 4
	if re=$(doc_msg "$mp" "$@"); then
		dmesg_has "$desc (docs/messages.md's line)" "$lp$re\$" "$log"
	else
		tap_not_ok "$desc: docs/messages.md has a line beginning '$mp'"
	fi
}
PCI_RE=$(echo "$nvme" | sed 's/\./\\./g')
FAIL_FILES="$(doc fail)"
[ "$mode" = xen ] && FAIL_FILES="$FAIL_FILES $(doc fail_xen)"

# -- Quick start: the device's driver is bound; unbind, load, bind again
check "nvme bound on the kernel's ops" nvme_up "$nvme" || exit 0
echo "$nvme" >"$PCI/$nvme/driver/unbind"
# (pool_mb=16: a Xen PV dom0 under TCG exchanges a 64 MiB pool slowly)
check "quick start: insmod devices=$nvme after unbinding nvme" pvb_load devices="$nvme" pool_mb=16 || exit 0
doc_logged "quick start: attached line" "pvbounce " "<pci>: attached:" /tmp/dmesg.load \
	pci="$PCI_RE" N='[0-9]+'
doc_logged "quick start: loaded line" "pvbounce: " "loaded:" /tmp/dmesg.load \
	backend="$mode" N='[0-9]+' b=32 k=256
check "quick start: echo $nvme > /sys/bus/pci/drivers/nvme/bind" sh -c "echo $nvme >/sys/bus/pci/drivers/nvme/bind"
check "nvme's namespace is back" nvme_up "$nvme" || exit 0
attached "$nvme" nvme
expect_eq "sysfs backend" "$(cat "$SYS/backend")" "$mode"

# -- docs/parameters.md: only devices= and pool_max_mb are writable at run time
modes=
for f in "$PVB_PARAMS"/*; do
	modes="$modes${f##*/}=$(stat -c %a "$f") "
done
# docs/parameters.md's table as run.sh read it on the host (pvb.doc_params=
# name:mode+...; "read-only" 444, "**writable** (0644)" 644)
doc=$(sed -n 's/.*[[:space:]]pvb\.doc_params=\([^[:space:]]*\).*/\1/p' /proc/cmdline)
if [ -z "$doc" ]; then
	tap_not_ok "docs/parameters.md's table passed by run.sh (pvb.doc_params)"
else
	expect_eq "parameters and their modes are docs/parameters.md's" "$modes" \
		"$(echo "$doc" | tr '+:' '\n=' | sort | tr '\n' ' ')" ||
		diag "docs/parameters.md's table and the module disagree"
fi
if sh -c "echo 128 >$PVB_PARAMS/pool_mb" 2>/tmp/docs.err; then
	tap_not_ok "writing pool_mb at run time is refused"
else
	expect_eq "writing pool_mb at run time: Permission denied" \
		"$(grep -c 'Permission denied' /tmp/docs.err)" 1 || diag_file /tmp/docs.err
fi
dmesg -c >/dev/null
if sh -c "echo $nvme,zz >$PVB_PARAMS/devices" 2>/tmp/docs.err; then
	tap_not_ok "a bad devices= write is refused"
else
	expect_eq "a bad devices= write: Invalid argument" \
		"$(grep -c 'Invalid argument' /tmp/docs.err)" 1 || diag_file /tmp/docs.err
fi
dmesg >/tmp/dmesg.now
doc_logged "a bad devices= write: the log names the item and one of the docs' reasons" \
	"pvbounce: " 'invalid devices="<text>"' /tmp/dmesg.now text="$PCI_RE,zz" item=zz
expect_eq "a bad devices= write: the old list stays" "$(cat "$PVB_PARAMS/devices")" "$nvme"
check "a bad devices= write: the device stays attached" test -d "$SYS/$nvme"

# -- docs/files.md, common pool
expect_eq "sysfs: top-level files are docs/files.md's" "$(files "$SYS")" "$(words "$(doc top_sys)")"
expect_eq "sysfs: a device's files (common pool) are docs/files.md's" "$(files "$SYS/$nvme")" "$(words "$(doc dev_sys)")"
expect_eq "debugfs: top-level files are docs/files.md's" "$(files "$PVB_DBG")" "$(words "$(doc top_dbg)")"
expect_eq "debugfs: fail/ knobs are docs/files.md's ($mode backend)" "$(files "$PVB_DBG/fail")" "$(words "$FAIL_FILES")"
expect_eq "debugfs: a device's files (common pool) are docs/files.md's" "$(files "$PVB_DBG/$nvme")" "$(words "$(doc dev_dbg)")"

# -- the counters add up (force=0: direct and bounced maps both possible)
pvbio_run "I/O verified, 4 KiB..252 KiB, unaligned buffers" -s 4K,64K,252K -b 512 -S 91 "$NVME_DEV"
m=$(cat "$SYS/$nvme/maps")
sum=$(($(cat "$SYS/$nvme/bounced_maps") + $(cat "$SYS/$nvme/direct_maps") + $(cat "$SYS/$nvme/map_errors")))
expect_ge "the I/O was mapped through pvbounce" "$m" 1
expect_eq "maps = bounced_maps + direct_maps + map_errors" "$sum" "$m"
line=$(grep "^$nvme " "$PVB_DBG/devices")
expect_eq "debugfs devices line: <pci> <driver> <maps> <bounced> <direct>" "$line" \
	"$nvme nvme $m $(cat "$SYS/$nvme/bounced_maps") $(cat "$SYS/$nvme/direct_maps")"

# -- Unload, as the README says: refused while bound; unbind, rmmod, drivers_probe
check_fails "rmmod refused while nvme is bound" rmmod pvbounce
echo "$nvme" >"$PCI/$nvme/driver/unbind"
check "rmmod once nvme is unbound" rmmod pvbounce
check "echo $nvme > /sys/bus/pci/drivers_probe" sh -c "echo $nvme >/sys/bus/pci/drivers_probe"
check "nvme is bound again: its namespace is back" nvme_up "$nvme" &&
	pvbio_run "I/O on the kernel's ops, data of the pvbounce run intact" \
		-m r -s 4K,64K,252K -b 512 -S 91 "$NVME_DEV"

# -- a device left alone: unbind, write devices= again (the docs' advice)
check "load with devices=$nvme@1M while nvme is bound" pvb_load devices="$nvme@1M" pool_mb=16 || exit 0
doc_logged "left alone" "pvbounce " "<pci>: driver <drv> is bound: left alone" /tmp/dmesg.load \
	pci="$PCI_RE" drv=nvme
unbind "$nvme"
echo "$nvme@1M" >"$PVB_PARAMS/devices"
check "after unbinding, writing devices= again attaches it" test -d "$SYS/$nvme"

# -- docs/files.md, private pool
expect_eq "sysfs: a device's files (private pool) are docs/files.md's" "$(files "$SYS/$nvme")" \
	"$(words "$(doc dev_sys)" "$(doc priv_sys)")"
expect_eq "debugfs: a device's files (private pool) are docs/files.md's" "$(files "$PVB_DBG/$nvme")" \
	"$(words "$(doc dev_dbg)" "$(doc priv_dbg)")"
expect_eq "private pool: 1 MiB in 2 KiB slots" "$(cat "$SYS/$nvme/nslabs")" 512

# -- an empty write releases an attached device that has no driver bound
dmesg -c >/dev/null
echo >"$PVB_PARAMS/devices"
check_fails "an empty devices= write detaches the unbound device" test -d "$SYS/$nvme"
dmesg >/tmp/dmesg.now
doc_logged "detached line" "pvbounce " "<pci>: detached" /tmp/dmesg.now pci="$PCI_RE"
check "rmmod" rmmod pvbounce
