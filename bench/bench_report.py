#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_report.py WORK: the summary table of bench/probe_bench.sh.

Reads what probe_bench.sh left in WORK (run_rusage.py JSON, probe stdout and
logs, spools, malloc_count lines, valgrind logs) and prints the tables.
Exit status 1 when an invariant failed: a check not ok, a skipped round in
the steady-state run, memory definitely lost, or a memcheck error.
"""
import glob
import json
import os
import re
import statistics
import sys

W = sys.argv[1] if len(sys.argv) > 1 else "."
failures = []


def load(name):
    try:
        with open(os.path.join(W, name)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def text(name):
    try:
        with open(os.path.join(W, name), errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def nginx_cpu(name):
    try:
        a, b = text(name + ".nginx").split()
        return float(b) - float(a)
    except ValueError:
        return float("nan")


def env():
    e = {}
    for line in text("env.txt").splitlines():
        k, _, v = line.partition("=")
        e[k] = v
    return e


EXIT_RE = re.compile(
    r"exiting: (\d+) rounds, (\d+) runs, (\d+) skipped .*?, (\d+) results, "
    r"(\d+) running; lateness avg ([\d.]+) ms, max ([\d.]+) ms")


def exit_stats(log, what="exiting"):
    """The probe's exit statistics line (or the first "statistics" line,
    logged on SIGUSR1), as a dict; None if absent."""
    m = re.compile(EXIT_RE.pattern.replace("exiting", what)).search(log)
    if not m:
        return None
    k = ["rounds", "runs", "skipped", "results", "running", "late_avg_ms",
         "late_max_ms"]
    return {n: float(v) if "ms" in n else int(v) for n, v in zip(k, m.groups())}


LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:(\d\d\.\d+))Z ")


def log_seconds(line):
    """Seconds of a daemon log line's timestamp (minutes folded in)."""
    m = LOG_TS.match(line)
    if not m:
        return None
    hh, mm = m.group(1)[11:13], m.group(1)[14:16]
    return int(hh) * 3600 + int(mm) * 60 + float(m.group(2))


def skips_at_start(log, interval_s=1.0):
    """(skips within the first interval after start, skips after)."""
    t0 = None
    early = late = 0
    for line in log.splitlines():
        if " started: " in line and t0 is None:
            t0 = log_seconds(line)
        elif "round is skipped" in line:
            t = log_seconds(line)
            if t0 is not None and t is not None and (t - t0) % 86400 < interval_s:
                early += 1
            else:
                late += 1
    return early, late


def probe_ok(path):
    n = ok = 0
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                n += 1
                ok += bool(r.get("ok"))
    except OSError:
        pass
    return n, ok


def curl_ok(path):
    n = ok = 0
    try:
        with open(path) as fh:
            for line in fh:
                f = line.split()
                if not f:
                    continue
                n += 1
                # 200, and exactly one new connection for the transfer.
                ok += f[0] == "200" and f[1:2] == ["1"]
    except OSError:
        pass
    return n, ok


def spool_ok(d):
    n = ok = 0
    for f in glob.glob(os.path.join(d, "seg-*.jsonl")):
        with open(f) as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                n += 1
                ok += bool(r.get("ok"))
    return n, ok


def spool_by_name(d):
    counts = {}
    for f in glob.glob(os.path.join(d, "seg-*.jsonl")):
        with open(f) as fh:
            for line in fh:
                try:
                    k = json.loads(line).get("name", "?")
                except ValueError:
                    continue
                counts[k] = counts.get(k, 0) + 1
    return counts


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def rng(xs, fmt):
    xs = [x for x in xs if x == x]
    if not xs:
        return "-"
    return (fmt % min(xs)) + "-" + (fmt % max(xs))


def table(rows, head):
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    out = []
    for j, r in enumerate([head] + rows):
        out.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


E = env()
T, A = int(E.get("targets", 50)), int(E.get("addrs", 10))
print()
print("vantage-probe benchmark, %s" % E.get("date", "?"))
print("machine: %s CPUs, %s, kernel %s; load avg %s at start, %s at end"
      % (E.get("cpus"), E.get("cpu_model"), E.get("kernel"),
         E.get("loadavg_start"), E.get("loadavg_end")))
print("%s; nginx %s; %s" % (E.get("probe"), E.get("nginx"), E.get("curl")))
print("scenario: %d targets (names) x %d addresses on loopback; nginx (1 "
      "process) and dnsmasq on the same machine" % (T, A))

# ---- 1 ---------------------------------------------------------------------
print()
print("1. One pass (--once): every check against every address at once")
rows = []
summary = {}
for kind, label, okf in (
        ("once_full", "probe tcp+http+https (+dns)", probe_ok),
        ("once_http", "probe http+https (+dns)", probe_ok),
        ("curl", "curl CLI http+https (ceiling)", curl_ok)):
    runs = sorted(glob.glob(os.path.join(W, kind + "_*.json")))
    walls, cpus, rss, srv, ns, oks, rates = [], [], [], [], [], [], []
    for j in runs:
        name = os.path.basename(j)[:-5]
        d = load(name + ".json")
        if not d:
            continue
        n, ok = okf(os.path.join(W, name + ".out"))
        walls.append(d["wall_s"])
        cpus.append(d["user_s"] + d["sys_s"])
        rss.append(d["maxrss_kb"] / 1024.0)
        srv.append(nginx_cpu(name))
        ns.append(n)
        oks.append(ok)
        rates.append(n / d["wall_s"] if d["wall_s"] else float("nan"))
        if ok != n or d["rc"] != 0:
            failures.append("%s: %d of %d not ok, exit %d" % (name, n - ok, n, d["rc"]))
    if not walls:
        continue
    summary[kind] = {"wall": med(walls), "cpu": med(cpus), "n": med(ns)}
    rows.append([label, "%d" % med(ns), "%.3f" % med(walls),
                 rng(walls, "%.2f"), "%.0f" % med(rates),
                 "%.3f" % med(cpus), "%.0f" % (1e6 * med(cpus) / med(ns)),
                 "%.1f" % med(rss), "%.2f" % med(srv),
                 "%d/%d" % (min(oks), max(ns))])
print(table(rows, ["run (median of %d)" % len(walls), "results", "wall s",
                   "wall range", "runs/s", "CPU s", "CPU us/run", "peak RSS MB",
                   "nginx CPU s", "ok"]))
if "once_http" in summary and "curl" in summary:
    p, c = summary["once_http"], summary["curl"]
    # The probe's pass also has the DNS checks; compare the HTTP(S) part.
    print("probe http+https vs curl on the same %d requests: wall x%.2f, CPU x%.2f "
          "(>1: probe slower)" % (c["n"], p["wall"] / c["wall"], p["cpu"] / c["cpu"]))

# ---- 2 ---------------------------------------------------------------------
print()
print("2. Steady state: daemon, same checks, interval 1 s, SIGTERM after %s s"
      % E.get("daemon_s", "?"))
d = load("daemon.json")
st = exit_stats(text("daemon.err"))
if d and st:
    marks = d.get("marks", [])
    rate = wcpu = float("nan")
    window = "results/s"
    if len(marks) >= 2 and marks[-1]["results"] and marks[0]["results"]:
        dt = marks[-1]["t"] - marks[0]["t"]
        rate = (marks[-1]["results"]["total"] - marks[0]["results"]["total"]) / dt
        if marks[-1].get("cpu_s") is not None and marks[0].get("cpu_s") is not None:
            wcpu = (marks[-1]["cpu_s"] - marks[0]["cpu_s"]) / dt
        window = "results/s (window %.0f-%.0f s)" % (marks[0]["t"], marks[-1]["t"])
    n, ok = spool_ok(os.path.join(W, "spool-daemon"))
    cpu = d["user_s"] + d["sys_s"]
    expect = T * (1 + 3 * A)
    early, late = skips_at_start(text("daemon.err"))
    srv = nginx_cpu("daemon")
    rows = [
        [window, "%.0f (expected %d)" % (rate, expect)],
        ["rounds / runs / results", "%d / %d / %d" % (st["rounds"], st["runs"], st["results"])],
        ["skipped rounds", "%d after the first second, %d in it%s"
         % (late, early, " (start-up collision, see README)" if early else "")],
        ["lateness avg / max", "%.1f ms / %.1f ms" % (st["late_avg_ms"], st["late_max_ms"])],
    ]
    s3 = exit_stats(text("daemon.err"), "statistics")
    if s3 and st["rounds"] > s3["rounds"]:
        # Rounds include the start-up resolutions; close enough for a mean.
        wavg = ((st["late_avg_ms"] * st["rounds"] - s3["late_avg_ms"] * s3["rounds"])
                / (st["rounds"] - s3["rounds"]))
        rows.append(["lateness after 3 s", "avg %.1f ms; max %s" % (
            wavg, "%.1f ms" % st["late_max_ms"] if st["late_max_ms"] > s3["late_max_ms"]
            else "<= %.1f ms (the overall max came in the first 3 s)" % s3["late_max_ms"])])
    rows += [
        ["probe CPU in the window", "%.0f%% of one core = %.0f us per result"
         % (100 * wcpu, 1e6 * wcpu / rate if rate else float("nan"))],
        ["probe CPU, whole run", "%.2f s in %.1f s" % (cpu, d["wall_s"])],
        ["nginx CPU, whole run", "%.2f s = %.0f%% of one core" % (srv, 100 * srv / d["wall_s"])],
        ["peak RSS (wait4 / VmHWM)", "%.1f MB / %.1f MB" % (d["maxrss_kb"] / 1024.0,
                                                             (d["vmhwm_kb"] or 0) / 1024.0)],
        ["results ok", "%d/%d" % (ok, n)],
        ["exit status", "%d" % d["rc"]],
    ]
    print(table(rows, ["measure", "value"]))
    if late:
        failures.append("daemon: %d skipped rounds in steady state" % late)
    if ok != n:
        failures.append("daemon: %d of %d results not ok" % (n - ok, n))
    if d["rc"] != 0:
        failures.append("daemon: exit status %d" % d["rc"])
else:
    failures.append("daemon: no measurement or no exit statistics")
    print("(missing)")

# ---- 3a --------------------------------------------------------------------
MC_RE = re.compile(r"malloc_count: tag=(\w+) (.*)")


def mc_samples(name):
    out = []
    for line in text(name + ".mc").splitlines():
        m = MC_RE.match(line)
        if m and m.group(1) == "sample":
            out.append({k: int(v) for k, v in
                        (kv.split("=") for kv in m.group(2).split())})
    return out


print()
print("3a. Heap allocations per run in steady state, by check type (counter "
      "preloaded; two samples 3.5 s apart in one daemon run)")
LIBS = ["probe", "libcurl", "openssl", "c-ares"]
per = {}
per_alloc = {}  # check name -> allocations per run
rows = []
for kind in ("dns", "tcp", "tls", "http", "https"):
    name = "alloc_" + kind
    d = load(name + ".json")
    s = mc_samples(name)
    if not d or len(s) < 2 or len(d.get("marks", [])) < 2:
        continue
    m0, m1 = d["marks"][0]["results"], d["marks"][-1]["results"]
    dres = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
    dal = {k: s[-1][k] - s[0][k] for k in s[-1]}
    dal["rest"] = dal["allocs"] - sum(dal[k] for k in LIBS)
    c0, c1 = d["marks"][0].get("cpu_s"), d["marks"][-1].get("cpu_s")
    dcpu = c1 - c0 if c0 is not None and c1 is not None else float("nan")
    if kind == "dns":
        n = dres.get("dns", 0)
        if not n:
            continue
        a = {k: dal[k] / n for k in LIBS + ["allocs", "rest"]}
        cpu_run = dcpu / n
        per["dns"] = (a, cpu_run)
    else:
        n = dres.get(kind, 0)
        nd = dres.get("dns", 0)
        if not n or "dns" not in per:
            continue
        base, base_cpu = per["dns"]
        a = {k: (dal[k] - nd * base[k]) / n for k in LIBS + ["allocs", "rest"]}
        cpu_run = (dcpu - nd * base_cpu) / n
    label = {"dns": "dns (A+AAAA, 1 resolver)", "tcp": "tcp connect",
             "tls": "tcp + TLS handshake (own SSL_CTX)",
             "http": "http (libcurl)", "https": "https (libcurl, verify)"}[kind]
    per_alloc[kind] = a["allocs"]
    rows.append([label, "%d" % n, "%.1f" % a["allocs"]] +
                ["%.1f" % a[k] for k in LIBS] + ["%.1f" % a["rest"],
                                                 "%.0f" % (1e6 * cpu_run)])
print(table(rows, ["check run", "runs sampled", "allocs/run"] + LIBS +
                  ["other", "CPU us/run"]))
print("(dns cost subtracted from the other rows: every target also has its "
      "dns check; 'probe' = lib/ + prober/ code, the others by the calling "
      "library; CPU: /proc ticks over the same window, 10 ms resolution, "
      "counter overhead included)")

# ---- 3b --------------------------------------------------------------------
print()
print("3b. valgrind memcheck, daemon with %d targets x %d addresses x "
      "(tcp + http) + 1 https check x %d addresses, interval 1 s"
      % (min(T, 10), A, A))
VG_HEAP = re.compile(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes")
VG_LOST = re.compile(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks")
VG_ERR = re.compile(r"ERROR SUMMARY: ([\d,]+) errors")
vg = {}
rows = []
for ln in sorted(int(os.path.basename(p)[3:-4]) for p in glob.glob(os.path.join(W, "vg_*.log"))):
    log = text("vg_%d.log" % ln)
    st = exit_stats(text("vg_%d.err" % ln))
    h, lost, err = VG_HEAP.search(log), VG_LOST.search(log), VG_ERR.search(log)
    allocs = int(h.group(1).replace(",", "")) if h else None
    lost_b = int(lost.group(1).replace(",", "")) if lost else 0
    errs = int(err.group(1).replace(",", "")) if err else None
    vg[ln] = (allocs, st)
    rows.append(["%d s" % ln, "%d" % st["runs"] if st else "?",
                 "%d" % st["skipped"] if st else "?",
                 "%d" % allocs if allocs is not None else "?",
                 "%d bytes" % lost_b, "%s" % errs])
    if lost_b:
        failures.append("valgrind %d s: %d bytes definitely lost" % (ln, lost_b))
    if errs is None or allocs is None:
        failures.append("valgrind %d s: no summary (did it exit?)" % ln)
    elif errs:
        failures.append("valgrind %d s: %d memcheck errors" % (ln, errs))
if rows:
    print(table(rows, ["run", "runs", "skipped", "allocs", "definitely lost",
                       "errors"]))
    if len(vg) >= 2:
        (l0, (a0, s0)), (l1, (a1, s1)) = sorted(vg.items())[0], sorted(vg.items())[-1]
        if a0 is not None and a1 is not None and s0 and s1 and s1["runs"] > s0["runs"]:
            dr = s1["runs"] - s0["runs"]
            print("marginal: %d allocs / %d runs = %.0f allocs per run"
                  % (a1 - a0, dr, (a1 - a0) / dr))
            # Cross-check with 3a: what the counter's per-type figures
            # predict for the runs valgrind saw (the hidden resolution of
            # the https-only target counts as a dns run).
            c0 = spool_by_name(os.path.join(W, "spool-vg-%d" % l0))
            c1 = spool_by_name(os.path.join(W, "spool-vg-%d" % l1))
            dk = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}
            hidden = (s1["runs"] - s1["results"]) - (s0["runs"] - s0["results"])
            dk["dns"] = dk.get("dns", 0) + hidden
            if all(k in per_alloc for k in dk):
                pred = sum(n * per_alloc[k] for k, n in dk.items())
                print("3a's per-type figures predict %.0f allocs for these runs "
                      "(%s): valgrind counted %+.1f%%"
                      % (pred, ", ".join("%d %s" % (n, k) for k, n in sorted(dk.items())),
                         100.0 * ((a1 - a0) - pred) / pred if pred else float("nan")))
    print("(skipped rounds under valgrind are expected: it runs the TLS "
          "handshakes ~50x slower; they are not counted as failures)")
else:
    print("(skipped)")

print()
if failures:
    for f in failures:
        print("FAILED: " + f)
    sys.exit(1)
print("all invariants hold: every check ok, 0 skipped rounds in steady state, "
      "0 bytes definitely lost, 0 memcheck errors")
