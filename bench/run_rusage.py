#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run_rusage.py: run one command for bench/probe_bench.sh and measure it.

  run_rusage.py --json OUT [--pid-file F] [--stdout F] [--stderr F]
                [--term-after S] [--limit S] [--mark T ...] [--usr1] [--usr2]
                [--spool DIR] -- COMMAND...

Starts COMMAND, writes its PID to --pid-file at once (so the caller can
track it), and waits for it, reading its peak RSS (VmHWM) every 10 ms.
With --term-after S it sends SIGTERM after S seconds.  Whatever happens, the child
gets SIGKILL after --limit seconds (default 120), so nothing outlives the
benchmark.  At each --mark T (seconds from the start) it notes the number of
result lines (total and per check name) in the --spool directory and the
child's CPU seconds so far; first it sends SIGUSR1 with --usr1 (the probe
logs its scheduler statistics) and SIGUSR2 with --usr2 (bench/malloc_count.so
prints its counters).

Writes one JSON object: wall_s, user_s, sys_s (from wait4), maxrss_kb,
vmhwm_kb (last /proc reading before SIGTERM or exit), rc, and marks
[{t, cpu_s, results}].  Exit status: 0, or 1 when the command could not start.
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time


def spool_results(d):
    """Result lines in the spool: {"total": n, "<check name>": n, ...}."""
    counts = {"total": 0}
    for f in glob.glob(os.path.join(d, "seg-*.jsonl")):
        try:
            with open(f, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        for line in data.split(b"\n"):
            try:
                name = json.loads(line).get("name", "?")
            except ValueError:
                continue  # the torn tail of a line being written
            counts["total"] += 1
            counts[name] = counts.get(name, 0) + 1
    return counts


def vmhwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def cpu_s(pid):
    """User + system CPU seconds of pid so far (clock-tick resolution)."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stderr", default=os.devnull)
    ap.add_argument("--term-after", type=float)
    ap.add_argument("--limit", type=float, default=120.0)
    ap.add_argument("--mark", type=float, action="append", default=[])
    ap.add_argument("--usr1", action="store_true")
    ap.add_argument("--usr2", action="store_true")
    ap.add_argument("--spool")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    with open(a.stdout, "wb") as out, open(a.stderr, "wb") as err:
        try:
            child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=err)
        except OSError as e:
            print("run_rusage: %s: %s" % (cmd[0], e), file=sys.stderr)
            return 1
    pid = child.pid
    if a.pid_file:
        with open(a.pid_file, "w") as fh:
            fh.write("%d\n" % pid)

    # Our own TERM (the caller's cleanup) takes the child down with us.
    def on_term(signum, frame):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        sys.exit(143)
    signal.signal(signal.SIGTERM, on_term)

    t0 = time.monotonic()
    marks = sorted(a.mark)
    state = {"marks": [], "hwm": None, "done": False}

    def alive_kill(sig):
        if not state["done"]:
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    # The monitor does the timed work; the main thread blocks in wait4 so
    # the wall time is exact.
    def monitor():
        termed = False
        while not state["done"]:
            now = time.monotonic() - t0
            h = vmhwm_kb(pid)
            if h is not None and not state["done"]:
                state["hwm"] = h
            while marks and now >= marks[0]:
                if a.usr1:
                    alive_kill(signal.SIGUSR1)
                if a.usr2:
                    alive_kill(signal.SIGUSR2)
                state["marks"].append({
                    "t": round(now, 3),
                    "cpu_s": cpu_s(pid),
                    "results": spool_results(a.spool) if a.spool else None})
                marks.pop(0)
            if a.term_after is not None and not termed and now >= a.term_after:
                termed = True
                alive_kill(signal.SIGTERM)
            if now >= a.limit:
                alive_kill(signal.SIGKILL)
            time.sleep(0.01)

    th = threading.Thread(target=monitor, daemon=True)
    th.start()
    _, status, ru = os.wait4(pid, 0)
    state["done"] = True
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    res = {
        "wall_s": round(wall, 4),
        "user_s": round(ru.ru_utime, 4),
        "sys_s": round(ru.ru_stime, 4),
        "maxrss_kb": ru.ru_maxrss,
        "vmhwm_kb": state["hwm"],
        "rc": rc,
        "marks": state["marks"],
    }
    with open(a.json, "w") as fh:
        json.dump(res, fh)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
