# SPDX-License-Identifier: GPL-2.0
# gdb script of tests/vm/pathtrace.sh (gdb -batch -x pathtrace.py): steps
# whole DMA API calls of a running map benchmark and counts the instructions
# executed per function.  Env:
#   PT_CONSOLE  the guest's console, with its "KSYM <addr> <name> [module]"
#   PT_PORT     QEMU's gdb stub (127.0.0.1)
#   PT_FUNCS    the DMA API entries to trace, in order, '|' between
#               alternatives for one entry (the first the kernel has)
#   PT_KINDS    the kinds of call to get of each: pvbounce, peer
#   PT_KO       pvbounce.ko with debug info, for PT_LINES (optional)
#   PT_LINES    also the N busiest source lines of pvbounce (default 0)
#   PT_TRIES    calls to stop at per entry before giving up (default 100)
# The kinds: a call that runs pvbounce's text is pvbounce's, one that runs
# no module's the peer's (the kernel's own ops).  A call is stepped
# from the entry to its return (the stack pointer above the entry's); after
# a call on a device already stepped for that entry the guest runs on for 2
# seconds before the next stop.
import bisect
import collections
import os
import signal
import subprocess
import sys
import threading

import gdb

MODULES = 0xffffffffc0000000


def load_symbols(console):
    syms = []
    with open(console, errors="replace") as f:
        for line in f:
            i = line.find("KSYM ")
            if i < 0:
                continue
            p = line[i:].split()
            if len(p) < 3 or p[1] == "end":
                continue
            try:
                syms.append((int(p[1], 16), p[2], p[3] if len(p) > 3 else ""))
            except ValueError:
                pass
    syms.sort()
    return syms


syms = load_symbols(os.environ["PT_CONSOLE"])
if not syms:
    sys.exit("pathtrace: no KSYM lines in " + os.environ["PT_CONSOLE"])
addrs = [a for a, _, _ in syms]
by_name = {}
for a, n, m in syms:
    if not m:
        by_name.setdefault(n, a)
pvb_lo = min((a for a, _, m in syms if m == "[pvbounce]"), default=0)
pvb_hi = max((a for a, _, m in syms if m == "[pvbounce]"), default=0) + 0x1000


def symbol(pc):
    i = bisect.bisect_right(addrs, pc) - 1
    if pc >= MODULES and not (pvb_lo <= pc < pvb_hi):
        return "[another module]"
    if i < 0:
        return "?"
    a, n, m = syms[i]
    return n + (" " + m if m and m != "[pvbounce]" else "")


def kind_of(pcs):
    if any(pvb_lo <= pc < pvb_hi for pc in pcs):
        return "pvbounce"
    return "peer" if all(pc < MODULES for pc in pcs) else "another module"


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & (2**64 - 1)


def step_call():
    """Step from a function's entry to its return; the PCs executed."""
    sp0 = reg("rsp")
    pcs = []
    while len(pcs) < 1000000:
        pc, sp = reg("pc"), reg("rsp")
        if sp > sp0:
            break
        pcs.append(pc)
        gdb.execute("stepi", to_string=True)
    return pcs


def run_for(secs):
    """Let the guest run @secs seconds of host time, then stop it."""
    timer = threading.Timer(secs, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        gdb.execute("continue", to_string=True)
    except (KeyboardInterrupt, gdb.error):
        pass
    timer.cancel()


def trace(entry, kinds, tries):
    """
    One call of each kind at @entry.  A call on a device already stepped
    lets the guest run on for a while with no breakpoint, to the next cell
    (the benchmark's cells are one device's calls for seconds).
    """
    got, seen = {}, set()
    for _ in range(tries):
        if all(k in got for k in kinds):
            break
        try:
            gdb.execute("hbreak *0x%x" % by_name[entry], to_string=True)
            gdb.execute("continue", to_string=True)
            gdb.execute("delete", to_string=True)
            dev = reg("rdi")
        except gdb.error:
            break                       # the guest ended
        if dev in seen:
            run_for(2)
            continue
        pcs = step_call()
        k = kind_of(pcs)
        if k in kinds:
            seen.add(dev)
        print("pathtrace: %s on device %#x: %s, %d instructions" %
              (entry, dev, k, len(pcs)), file=sys.stderr)
        if k not in got:
            got[k] = pcs
    return got


def lines(pcs, n):
    ko = os.environ.get("PT_KO")
    if not ko or not n:
        return []
    nm = {}
    out = subprocess.run(["nm", ko], capture_output=True, text=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tT":
            nm.setdefault(p[2], int(p[0], 16))
    base = None
    for a, name, m in syms:
        if m == "[pvbounce]" and name in nm:
            base = a - nm[name]
            break
    if base is None:
        return []
    mine = [pc - base for pc in pcs if pvb_lo <= pc < pvb_hi]
    offs = sorted(set(mine))
    out = subprocess.run(["addr2line", "-e", ko, "-a"] +
                         ["0x%x" % o for o in offs],
                         capture_output=True, text=True).stdout.split("\n")
    where = {}
    for i in range(0, len(out) - 1, 2):
        path = out[i + 1]
        j = path.find("/src/")
        where[int(out[i], 16)] = path[j + 1:] if j >= 0 else path
    return collections.Counter(where.get(o, "?") for o in mine).most_common(n)


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("target remote 127.0.0.1:%s" % os.environ["PT_PORT"],
                to_string=True)
    kinds = os.environ["PT_KINDS"].split()
    tries = int(os.environ.get("PT_TRIES", "100"))
    nlines = int(os.environ.get("PT_LINES", "0"))
    totals = collections.Counter()
    for alts in os.environ["PT_FUNCS"].split():
        entry = next((e for e in alts.split("|") if e in by_name), None)
        if entry is None:
            print("== none of %s in this kernel" % alts)
            continue
        got = trace(entry, kinds, tries)
        for k in kinds:
            pcs = got.get(k)
            if pcs is None:
                print("== %s, %s: no call seen" % (entry, k))
                continue
            totals[k] += len(pcs)
            print("== %s, %s: %d instructions" % (entry, k, len(pcs)))
            for name, c in collections.Counter(map(symbol, pcs)).most_common():
                print("  %6d  %s" % (c, name))
            if k == "pvbounce":
                for where, c in lines(pcs, nlines):
                    print("  %6d    %s" % (c, where))
    print("== in all: " + ", ".join("%s %d" % (k, totals[k]) for k in kinds
                                   if k in totals))
    gdb.execute("detach", to_string=True)


main()
