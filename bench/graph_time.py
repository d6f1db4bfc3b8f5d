#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""graph_time.py: the timed runs of bench/graph_bench.sh.

  graph_time.py graphs --graph VANTAGE_GRAPH --config CFG --rrdtool RRDTOOL
                       --shim SHIM.so --target NAME --end E --img-dir DIR
                       --log-dir DIR --runs N --json OUT [--limit S]
  graph_time.py status-page --graph VANTAGE_GRAPH --config CFG
                       --out-dir DIR --shim SHIM.so --runs N --json OUT
                       [--limit S]

graphs: for each kind (load-shift, outage-gap, latency) and range (1 day
and 30 days ending at E), PNG:
  1. one run of vantage-graph with SHIM preloaded, which records the
     argument vector vantage-graph hands to rrd_graph_v (untimed; it is
     also the warm-up);
  2. the ceiling: `rrdtool graph FILE ARGS...` with that vector (its
     argv[1] "-", which makes librrd return the image in memory, becomes a
     file name); one untimed warm-up run;
  3. N runs of each, interleaved (vantage first on even runs, the ceiling
     first on odd ones, so a change in the machine's load falls on both);
  4. one more run of vantage-graph with SHIM preloaded, for the time spent
     inside rrd_graph_v, rrd_fetch_r, rrd_info_r and sqlite3_step.
Both write a file; the two images are compared pixel by pixel (PX A B).

status-page: one full build with SHIM preloaded (the warm-up, where the
time goes, and the argument vectors of every graph),
then N rounds of a full build (fresh DIR) and two incremental
ones (the same DIR again, as the collector rebuilds; the second, the
steady state, starts --interval (60) seconds after the first started), and one full build with --jobs 1 (unless --one-worker 0); each `vantage-graph -l info status-page -o DIR`. After each,
the images in DIR/graphs, the build time and the graphs drawn and reused
that the command logs. CPU includes the graph worker processes (waited
for by the command, so in its rusage). Last, with --ceiling HELPER, the
ceiling: --ceiling-n of the recorded vectors (evenly sampled) drawn by
rrd_graph_v alone in one process; CPU per image against the full builds'
CPU per image drawn.

Every run: wall time (perf_counter around fork to wait4), user + system
CPU and peak RSS from wait4's rusage; the child gets SIGKILL after --limit
seconds.  Both commands run with TZ=UTC and LC_ALL=C.  Writes OUT as JSON.
Exit 0, or 1 when a run failed.  Standard library only.
"""
import argparse
import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

KINDS = ['load-shift', 'outage-gap', 'latency']
RANGES = [('1d', 86400), ('30d', 30 * 86400)]


def run(cmd, env_extra=None, limit=60.0, stderr_path=None):
    env = dict(os.environ, TZ='UTC', LC_ALL='C')
    env.pop('LD_PRELOAD', None)
    if env_extra:
        env.update(env_extra)
    err = open(stderr_path, 'wb') if stderr_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    timer = threading.Timer(limit, lambda: os.kill(p.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    p.returncode = 0  # reaped by wait4; keep Popen from waiting again
    if stderr_path:
        err.close()
    rc = os.waitstatus_to_exitcode(status)
    return {'wall': wall, 'user': ru.ru_utime, 'sys': ru.ru_stime,
            'cpu': ru.ru_utime + ru.ru_stime, 'maxrss_kb': ru.ru_maxrss,
            'rc': rc}


def read_argv(path):
    """The last argument vector SHIM recorded in path."""
    data = open(path, 'rb').read()
    parts = data.split(b'\0')
    out, i = None, 0
    while i < len(parts):
        m = re.match(rb'ARGC=(\d+)$', parts[i])
        if not m:
            i += 1
            continue
        n = int(m.group(1))
        out = [x.decode() for x in parts[i + 1:i + 1 + n]]
        i += 1 + n
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def argv_counts(argv):
    c = {}
    for a in argv:
        m = re.match(r'(DEF|CDEF|VDEF|AREA|LINE\d*|HRULE|COMMENT):', a)
        if m:
            k = 'LINE' if m.group(1).startswith('LINE') else m.group(1)
            c[k] = c.get(k, 0) + 1
    return c


def summary(runs):
    out = {}
    for k in ('wall', 'cpu', 'user', 'sys', 'maxrss_kb'):
        xs = [r[k] for r in runs]
        out[k] = statistics.median(xs) if xs else None
        out[k + '_min'] = min(xs) if xs else None
        out[k + '_max'] = max(xs) if xs else None
    return out


def cmd_graphs(a):
    res = {'combos': []}
    rc = 0
    for kind in KINDS:
        for rname, span in RANGES:
            name = '%s-%s' % (kind, rname)
            vpng = os.path.join(a.img_dir, 'v-%s.png' % name)
            cpng = os.path.join(a.img_dir, 'c-%s.png' % name)
            argv_f = os.path.join(a.log_dir, '%s.argv' % name)
            prof_f = os.path.join(a.log_dir, '%s.prof.json' % name)
            err_f = os.path.join(a.log_dir, '%s.err' % name)
            for f in (argv_f, prof_f):
                if os.path.exists(f):
                    os.unlink(f)
            vcmd = [a.graph, '-c', a.config, 'graph', '--kind', kind,
                    '--target', a.target, '--start', str(a.end - span),
                    '--end', str(a.end), '-o', vpng]
            c = {'name': name, 'kind': kind, 'range': rname, 'ok': False,
                 'vantage_cmd': vcmd}
            res['combos'].append(c)
            cap = run(vcmd, {'LD_PRELOAD': a.shim, 'GRAPH_ARGV_OUT': argv_f},
                      a.limit, err_f)
            argv = read_argv(argv_f) if os.path.exists(argv_f) else None
            if cap['rc'] != 0 or not argv or len(argv) < 3 or argv[1] != '-':
                c['error'] = 'capture run: exit %d, %s' % (
                    cap['rc'], open(err_f).read()[-400:])
                print('graph_time: %s: %s' % (name, c['error']),
                      file=sys.stderr)
                rc = 1
                continue
            ccmd = [a.rrdtool, 'graph', cpng] + argv[2:]
            c['argv_len'] = len(argv)
            c['argv_bytes'] = sum(len(x) + 1 for x in argv)
            c['argv_counts'] = argv_counts(argv)
            c['ceiling_cmd_head'] = ccmd[:3]
            cw = run(ccmd, None, a.limit, err_f + '.ceil')
            if cw['rc'] != 0:
                c['error'] = 'ceiling: exit %d, %s' % (
                    cw['rc'], open(err_f + '.ceil').read()[-400:])
                print('graph_time: %s: %s' % (name, c['error']),
                      file=sys.stderr)
                rc = 1
                continue
            vr, cr = [], []
            for i in range(a.runs):
                order = [('v', vcmd), ('c', ccmd)]
                if i % 2:
                    order.reverse()
                for who, cmd in order:
                    r = run(cmd, None, a.limit, err_f + '.' + who)
                    (vr if who == 'v' else cr).append(r)
                    if r['rc'] != 0:
                        c['error'] = '%s run %d: exit %d' % (who, i, r['rc'])
                        rc = 1
            prof = run(vcmd, {'LD_PRELOAD': a.shim, 'GRAPH_PROF_OUT': prof_f},
                       a.limit, err_f + '.prof')
            c['vantage_runs'] = vr
            c['ceiling_runs'] = cr
            c['vantage'] = summary(vr)
            c['ceiling'] = summary(cr)
            c['profile'] = read_json(prof_f)
            c['profile_run'] = prof
            try:
                vb, cb = open(vpng, 'rb').read(), open(cpng, 'rb').read()
                # Same pixels: vantage-graph encodes its PNG itself
                # (graphs/graph_png.h), so the bytes differ from librrd's.
                c['same_bytes'] = vb == cb
                c['same_image'] = subprocess.call([a.px, vpng, cpng]) == 0
                c['png_bytes'] = len(vb)
                c['png_size'] = '%dx%d' % (int.from_bytes(vb[16:20], 'big'),
                                           int.from_bytes(vb[20:24], 'big'))
            except OSError as e:
                c['same_image'] = False
                c['error'] = str(e)
            c['ok'] = 'error' not in c
            if c['vantage']['wall'] and c['ceiling']['wall']:
                print('    %-16s vantage %.3f s (cpu %.3f), rrdtool %.3f s '
                      '(cpu %.3f): x%.2f%s' % (
                          name, c['vantage']['wall'], c['vantage']['cpu'],
                          c['ceiling']['wall'], c['ceiling']['cpu'],
                          c['vantage']['wall'] / c['ceiling']['wall'],
                          '' if c.get('same_image') else ', images differ'),
                      file=sys.stderr)
    with open(a.json, 'w') as f:
        json.dump(res, f, indent=1)
    return rc


def sp_clear(out_dir, trash):
    """Moves the page and its versions aside (into trash, deleted when
    every build is done): the next build is a full one. Not deleted here:
    on an ext4 without a journal (this machine's root), creating a file
    skips every inode freed in the last minutes (ext4's
    recently_deleted()), so 20,000 files created right after 20,000 were
    deleted took 8.2 s against 0.95 s; a full build right after the
    previous page was deleted would measure that, not the build."""
    os.makedirs(trash, exist_ok=True)
    for d in [out_dir] + glob.glob(out_dir + '.*'):
        if os.path.islink(d) or os.path.isfile(d):
            os.unlink(d)
        elif os.path.isdir(d):
            os.rename(d, os.path.join(trash, '%d.%s' % (
                len(os.listdir(trash)), os.path.basename(d))))


def cmd_status_page(a):
    cmd = [a.graph, '-c', a.config, '-l', 'info', 'status-page', '-o',
           a.out_dir]
    res = {'cmd': cmd, 'runs': []}
    rc = 0
    # Run 0: full, profiled (the warm-up). Then per timed round: a full
    # build (fresh folder) and an incremental one right after it (the
    # collector's rebuild: same folder, nothing new but the clock). Last,
    # one full build with --jobs 1: the one-core figure to compare with.
    # The warm-up also records every argument vector handed to
    # rrd_graph_v (the shim appends each with one write), for the ceiling
    # below.
    argv_f = a.json + '.argv'
    if os.path.exists(argv_f):
        os.unlink(argv_f)
    trash = a.out_dir + '-trash'
    plan = [('full', True, [])]
    prev_start = time.time()
    for i in range(a.runs):
        # The second incremental build is the steady state: it starts
        # --interval seconds after the first one started (the collector's
        # rebuild interval), or right after it when that took longer.
        plan += [('full', False, []), ('incremental-1', False, []),
                 ('incremental', False, [])]
    if a.one_worker:
        plan.append(('full-1-worker', False, ['--jobs', '1']))
    for i, (mode, profiled, extra) in enumerate(plan):
        err_f = a.json + '.%d.err' % i
        prof_f = a.json + '.prof.json'
        env = {'LD_PRELOAD': a.shim, 'GRAPH_PROF_OUT': prof_f,
               'GRAPH_ARGV_OUT': argv_f} if profiled else None
        if not mode.startswith('incremental'):
            sp_clear(a.out_dir, trash)
        # The steady state: as the collector rebuilds, --interval seconds
        # after the previous build started (or at once if that took
        # longer).
        waited = 0.0
        if mode == 'incremental' and a.interval > 0:
            waited = max(0.0, prev_start + a.interval - time.time())
            time.sleep(waited)
        prev_start = time.time()
        r = run(cmd + extra, env, a.limit, err_f)
        r['waited'] = waited
        r['profiled'] = profiled
        r['mode'] = mode
        log = open(err_f, errors='replace').read()
        m = re.search(r'(\d+) services?, (\d+) incidents?, (\d+) '
                      r'announcements?, built in ([\d.]+)s', log)
        if m:
            r['services'] = int(m.group(1))
            r['incidents'] = int(m.group(2))
            r['built_s'] = float(m.group(4))
        m = re.search(r'graphs: (\d+) drawn by (\d+) workers?, (\d+) '
                      r'unchanged', log)
        if m:
            r['drawn'], r['workers'], r['reused'] = map(int, m.groups())
        # The wide images of the 2 kinds x 4 ranges (narrow renderings and
        # the probes views are counted apart).
        pngs = glob.glob(os.path.join(a.out_dir, 'graphs', '*.png'))
        r['graphs'] = len([p for p in pngs if '-narrow' not in p and
                           '-probes-' not in p])
        r['images'] = len(pngs)
        r['pages'] = len([p for p in glob.glob(os.path.join(
            a.out_dir, 'services', '*.html')) if '-probes.html' not in p])
        r['index'] = os.path.exists(os.path.join(a.out_dir, 'index.html'))
        r['errors'] = [ln for ln in log.splitlines()
                       if ': err:' in ln or 'error' in ln.lower()][:5]
        if profiled:
            res['profile'] = read_json(prof_f)
        res['runs'].append(r)
        print('    run %d %s%s: %.2f s wall, %.2f s CPU, %d MB peak RSS, %d '
              'images (%s drawn, %s unchanged), exit %d' % (
                  i, mode, ' (profiled)' if profiled else '', r['wall'],
                  r['cpu'], r['maxrss_kb'] // 1024, r['images'],
                  r.get('drawn', '?'), r.get('reused', '?'), r['rc']),
              file=sys.stderr)
        if r['rc'] != 0:
            rc = 1
    import shutil
    shutil.rmtree(trash, ignore_errors=True)
    for mode in ('full', 'incremental-1', 'incremental', 'full-1-worker'):
        res[mode] = summary([r for r in res['runs']
                             if r['mode'] == mode and not r['profiled']])
    res['timed'] = res['full']
    # The ceiling: the same graphs drawn by librrd alone (rrd_graph_v in one
    # process, its own PNG writer, as `rrdtool graph` does), against the
    # status page's CPU per image drawn (the whole build: data queries,
    # reports, pages and files included).
    if a.ceiling and os.path.exists(argv_f):
        import shutil
        cdir = a.out_dir + '.ceiling'
        shutil.rmtree(cdir, ignore_errors=True)
        os.makedirs(cdir)
        out_f = a.json + '.ceiling.out'
        with open(out_f, 'w') as f:
            t0 = time.perf_counter()
            crc = subprocess.call([a.ceiling, argv_f, cdir, str(a.ceiling_n)],
                                  stdout=f, stderr=subprocess.DEVNULL,
                                  env=dict(os.environ, TZ='UTC', LC_ALL='C'))
        ce = {'rc': crc, 'wall_total': time.perf_counter() - t0}
        try:
            n, cpu, wall, nbytes, failed, recorded = \
                open(out_f).read().split()
            ce.update(n=int(n), cpu=float(cpu), wall=float(wall),
                      bytes=int(nbytes), failed=int(failed),
                      recorded=int(recorded))
            ce['cpu_per_image'] = ce['cpu'] / max(ce['n'], 1)
            ce['bytes_per_image'] = ce['bytes'] / max(ce['n'], 1)
        except ValueError:
            rc = 1
        full = [r for r in res['runs'] if r['mode'] == 'full' and
                not r['profiled'] and r.get('drawn')]
        if full and ce.get('cpu_per_image'):
            per = statistics.median(r['cpu'] / r['drawn'] for r in full)
            ce['vantage_cpu_per_image'] = per
            ce['ratio'] = per / ce['cpu_per_image']
            sizes = [os.path.getsize(p) for p in glob.glob(
                os.path.join(a.out_dir, 'graphs', '*.png'))]
            ce['vantage_bytes_per_image'] = (sum(sizes) / len(sizes)
                                             if sizes else None)
            print('    ceiling: %d graphs by rrd_graph_v alone, %.2f ms CPU '
                  'each; the status page %.2f ms per image drawn: %.2fx' % (
                      ce['n'], 1000 * ce['cpu_per_image'], 1000 * per,
                      ce['ratio']), file=sys.stderr)
        res['ceiling'] = ce
        shutil.rmtree(cdir, ignore_errors=True)
        os.unlink(argv_f)
    with open(a.json, 'w') as f:
        json.dump(res, f, indent=1)
    return rc


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('graphs')
    p.add_argument('--graph', required=True)
    p.add_argument('--config', required=True)
    p.add_argument('--rrdtool', required=True)
    p.add_argument('--shim', required=True)
    p.add_argument('--target', required=True)
    p.add_argument('--end', type=int, required=True)
    p.add_argument('--img-dir', required=True)
    p.add_argument('--log-dir', required=True)
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--json', required=True)
    p.add_argument('--limit', type=float, default=60.0)
    p.add_argument('--px', required=True)
    p = sub.add_parser('status-page')
    p.add_argument('--graph', required=True)
    p.add_argument('--config', required=True)
    p.add_argument('--out-dir', required=True)
    p.add_argument('--shim', required=True)
    p.add_argument('--runs', type=int, default=2)
    p.add_argument('--json', required=True)
    p.add_argument('--limit', type=float, default=150.0)
    p.add_argument('--one-worker', type=int, default=1)
    p.add_argument('--interval', type=float, default=60.0)
    p.add_argument('--ceiling')
    p.add_argument('--ceiling-n', type=int, default=1000)
    a = ap.parse_args()
    return cmd_graphs(a) if a.cmd == 'graphs' else cmd_status_page(a)


if __name__ == '__main__':
    sys.exit(main())
