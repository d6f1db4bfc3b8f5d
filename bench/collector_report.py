#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_report.py WORK: the summary of bench/collector_bench.sh.

Reads what the run left in WORK (see collector_bench.sh), prints the
tables on stdout and checks the invariants: every batch acknowledged 200
with stored = count and the right next record; events.sqlite's series
counters adding up to the results sent; the sampled RRD files holding every
value (last update and known rows); every ceiling update succeeding; the
collector (and rrdcached) exiting 0 on SIGTERM; no error in the collector's
log. Exit 0, or 1 when an invariant failed (or, with BENCH_STRICT=1, a
target was missed). Standard library only."""
import json
import os
import statistics
import sys

TARGET_RATIO = 0.5
TARGET_ACK_S = 1.0
TARGET_RSS_MIB = 128.0

W = sys.argv[1] if len(sys.argv) > 1 else '.'
failures = []
missed = []


def path(name):
    return os.path.join(W, name)


def read(name, default=None):
    try:
        with open(path(name)) as f:
            return f.read()
    except OSError:
        return default


def read_json(name):
    s = read(name)
    if s is None:
        return None
    try:
        return json.loads(s)
    except ValueError:
        return None


def kv(name, sep='='):
    out = {}
    for line in (read(name) or '').splitlines():
        if sep == ' ':
            k, _, v = line.partition(' ')
        else:
            k, _, v = line.partition(sep)
        out[k.strip()] = v.strip()
    return out


def fail(msg):
    failures.append(msg)


env = kv('env.txt')
SERIES = int(env.get('series', '0') or 0)
ROUNDS = int(env.get('rounds', '0') or 0)
T0 = int(env.get('t0', '0') or 0)
LAST_COLL = int(env.get('last_coll_ts', '0') or 0)
LAST_CEIL = int(env.get('last_ceil_ts', '0') or 0)
TOTAL = SERIES * (ROUNDS + 1)


def status_kb(name, key):
    for line in (read(name) or '').splitlines():
        if line.startswith(key + ':'):
            return int(line.split()[1])
    return None


def check_batches(mode, part, data, first_round, n_rounds):
    if data is None:
        fail('%s: %s: no results from the sender' % (mode, part))
        return []
    bs = data.get('batches', [])
    if len(bs) != n_rounds:
        fail('%s: %s: %d of %d batches sent' % (mode, part, len(bs),
                                                 n_rounds))
    for b in bs:
        r = b.get('reply', {})
        want_next = b['seq'] + b['count']
        if (b['status'] != 200 or r.get('stored') != b['count'] or
                r.get('duplicate') is not False or r.get('next') != want_next):
            fail('%s: round %d: %d %s (want 200, stored %d, next %d)' %
                 (mode, b['round'], b['status'], json.dumps(r)[:120],
                  b['count'], want_next))
    rc = (read('%s.%s.rc' % (mode, part)) or '').strip()
    if rc != '0':
        fail('%s: %s: the sender exited %s' % (mode, part, rc or '?'))
    return bs


def check_sample(name, what, last_ts, rows):
    txt = read(name + '.txt')
    if txt is None:
        fail('%s: no RRD sample' % what)
        return
    lines = txt.splitlines()
    files = int(lines[0].split()[1]) if lines and lines[0].startswith(
        'files ') else -1
    if files != SERIES:
        fail('%s: %d RRD files, want %d' % (what, files, SERIES))
    bad = []
    for ln in lines[1:]:
        p = ln.split()
        if len(p) != 3 or p[1] != str(last_ts) or p[2] != str(rows):
            bad.append(ln)
    if len(lines) < 21:
        fail('%s: %d files sampled, want 20' % (what, len(lines) - 1))
    if bad:
        fail('%s: %d of %d sampled files lack values (want last update %d, '
             '%d known rows), e.g. "%s"' % (what, len(bad), len(lines) - 1,
                                            last_ts, rows, bad[0]))


def med(xs):
    return statistics.median(xs) if xs else float('nan')


def mode_figures(mode):
    first = read_json(mode + '.first.json')
    steady = read_json(mode + '.steady.json')
    fb = check_batches(mode, 'first', first, 0, 1)
    sb = check_batches(mode, 'steady', steady, 1, ROUNDS)
    acks = [b['ack_s'] for b in sb]
    f = {
        'first_ack': fb[0]['ack_s'] if fb else float('nan'),
        'first_cpu': fb[0].get('coll_cpu_s') if fb else None,
        'first_hwm': fb[0].get('coll_hwm_kb') if fb else None,
        'rss0': fb[0].get('coll_rss_before_kb') if fb else None,
        'acks': acks,
        'ack_med': med(acks),
        'ack_max': max(acks) if acks else float('nan'),
        'rate': (sum(b['count'] for b in sb) / sum(acks)) if acks else 0.0,
        'cpu': [b.get('coll_cpu_s') for b in sb],
        'sender_cpu': [b.get('sender_cpu_s') for b in sb],
        'send_s': [b.get('send_s') for b in sb],
        'bytes': sb[0]['bytes'] if sb else 0,
        'reused': all(b.get('reused') for b in sb),
        'wb': [b.get('coll_write_bytes') for b in sb],
        'build_s': (steady or {}).get('build_s', []),
        'sign_s': (steady or {}).get('sign_s', []),
        'sync_s': (read(mode + '.sync_s') or '?').strip(),
        'hwm_kb': status_kb(mode + '.status', 'VmHWM'),
        'rss_kb': status_kb(mode + '.status', 'VmRSS'),
    }
    f['cpu_med'] = med([c for c in f['cpu'] if c is not None])
    db = kv(mode + '.db', ' ')
    f['db'] = db
    try:
        if int(db.get('series_rows', -1)) != SERIES:
            fail('%s: %s series rows in events.sqlite, want %d' %
                 (mode, db.get('series_rows'), SERIES))
        if int(db.get('sum_results', -1)) != TOTAL:
            fail('%s: sum(results) = %s, want %d (results sent)' %
                 (mode, db.get('sum_results'), TOTAL))
        if int(db.get('next_record', -1)) != TOTAL:
            fail('%s: next_record = %s, want %d' %
                 (mode, db.get('next_record'), TOTAL))
        if float(db.get('last_ts', 0)) != LAST_COLL:
            fail('%s: max(last_ts) = %s, want %d' %
                 (mode, db.get('last_ts'), LAST_COLL))
    except ValueError:
        fail('%s: cannot read the counts from events.sqlite: %s' % (mode, db))
    stop = (read(mode + '.stop_rc') or '?').strip()
    if stop != '0':
        fail('%s: the collector exited %s on SIGTERM' % (mode, stop))
    log = read(mode + '.collector.log') or ''
    f['log_err'] = [ln for ln in log.splitlines() if ' err: ' in ln]
    f['log_warn'] = [ln for ln in log.splitlines() if ' warning: ' in ln]
    if f['log_err']:
        fail('%s: %d error line(s) in the collector log, e.g. %s' %
             (mode, len(f['log_err']), f['log_err'][0]))
    check_sample(mode + '.sample', mode + ': RRD files', LAST_COLL,
                 ROUNDS + 1)
    f['du_kb'] = (read(mode + '.du_kb') or '0').strip()
    return f


def ceiling_figures(name):
    rounds = []
    for line in (read(name + '.jsonl') or '').splitlines():
        try:
            rounds.append(json.loads(line))
        except ValueError:
            pass
    rc = (read(name + '.rc') or '?').strip()
    if rc != '0':
        fail('%s: rrd_ceiling exited %s: %s' %
             (name, rc, (read(name + '.err') or '').strip()[:200]))
    if len(rounds) != ROUNDS:
        fail('%s: %d of %d rounds' % (name, len(rounds), ROUNDS))
    for r in rounds:
        if r['failed'] or r['files'] != SERIES:
            fail('%s: round %d: %d of %d updates failed' %
                 (name, r['round'], r['failed'], r['files']))
    check_sample(name + '.sample', name + ': RRD files', LAST_CEIL,
                 2 * ROUNDS + 1)
    secs = [r['seconds'] for r in rounds]
    cpu = [r.get('cpu_s', 0.0) for r in rounds]
    return {
        'secs': secs,
        'cpu': cpu,
        'cpu_rate': (sum(r['files'] for r in rounds) / sum(cpu)
                     if cpu and sum(cpu) else 0.0),
        'med': med(secs),
        'rate': sum(r['files'] for r in rounds) / sum(secs) if secs else 0.0,
    }


A = mode_figures('a')
B = mode_figures('b')
CA = ceiling_figures('ceil_a')
CB = ceiling_figures('ceil_b')

drain = read_json('b.drain.json')
if drain is None:
    fail('b: no drain result from rrdcached')
elif drain.get('updates_written', 0) < SERIES:
    fail('b: rrdcached wrote %s files after FLUSHALL, want %d' %
         (drain.get('updates_written'), SERIES))
rstop = (read('rrdcached.stop_rc') or '?').strip()
if rstop != '0':
    fail('b: rrdcached exited %s on SIGTERM' % rstop)
rrdc_hwm = status_kb('rrdcached.status', 'VmHWM')

# D: first sight with the default RRAs (optional).
D_SERIES = int(env.get('d_series', '0') or 0)
D = None
if D_SERIES and read('d.first.json') is not None:
    d = read_json('d.first.json')
    db = kv('d.db', ' ')
    bs = (d or {}).get('batches', [])
    if len(bs) != 1 or bs[0]['status'] != 200 or \
            bs[0]['reply'].get('stored') != D_SERIES:
        fail('d: the first-sight batch of %d results was not stored whole: %s'
             % (D_SERIES, bs[0]['reply'] if bs else 'no batch'))
    if db.get('sum_results') != str(D_SERIES):
        fail('d: sum(results) = %s, want %d' % (db.get('sum_results'),
                                                 D_SERIES))
    if (read('d.files') or '').strip() != str(D_SERIES):
        fail('d: %s RRD files, want %d' % ((read('d.files') or '?').strip(),
                                            D_SERIES))
    if (read('d.stop_rc') or '?').strip() != '0':
        fail('d: the collector exited %s on SIGTERM' %
             (read('d.stop_rc') or '?').strip())
    if bs:
        D = {'ack': bs[0]['ack_s'], 'cpu': bs[0].get('coll_cpu_s'),
             'sync': (read('d.sync_s') or '?').strip(),
             'du_kb': (read('d.du_kb') or '?').strip()}


def fmt(x, spec='%.3f'):
    if x is None:
        return '?'
    try:
        return spec % x
    except TypeError:
        return str(x)


def mib(kb):
    return '?' if kb is None else '%.1f' % (kb / 1024.0)


print()
print('# vantage-collector ingest benchmark')
print()
print('date %s, %s cpu(s) %s, kernel %s, %s' % (
    env.get('date'), env.get('cpus'), env.get('cpu_model'), env.get('kernel'),
    env.get('fs')))
print('load average %s at start, %s at end' % (env.get('loadavg_start'),
                                                env.get('loadavg_end')))
print('%s; source tree at %s; librrd %s; SQLite %s; sender: python %s' % (
    env.get('collector'), env.get('commit'), env.get('librrd'),
    env.get('sqlite'), env.get('python')))
print('%d series (%s targets x %s addresses, tcp, 1 probe), %d rounds after '
      'round 0, step %s s; RRAs %s' % (SERIES, env.get('targets'),
                                       env.get('addrs'), ROUNDS,
                                       env.get('step'), env.get('rra')))
print('batch: %d records, %d bytes' % (SERIES, A['bytes']))
print()
print('## Round 0: first sight (%d new series, files created)' % SERIES)
print()
print('| mode | ack s | results/s | collector CPU s | VmHWM MiB | sync after s |')
print('| --- | ---: | ---: | ---: | ---: | ---: |')
for name, f in (('A librrd direct', A), ('B rrdcached', B)):
    print('| %s | %s | %s | %s | %s | %s |' % (
        name, fmt(f['first_ack']),
        fmt(SERIES / f['first_ack'] if f['first_ack'] else None, '%.0f'),
        fmt(f['first_cpu'], '%.2f'), mib(f['first_hwm']), f['sync_s']))
print()
print('## Steady rounds (%d batches of %d results each, back to back)' %
      (ROUNDS, SERIES))
print()
print('| mode | ack s median | ack s max | results/s | collector CPU s/batch '
      '| VmHWM MiB | ceiling results/s | ratio | CPU ratio |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for name, f, c in (('A librrd direct', A, CA), ('B rrdcached', B, CB)):
    ratio = f['rate'] / c['rate'] if c['rate'] else None
    cpus = [x for x in f['cpu'] if x is not None]
    # Results per CPU second, collector against ceiling: steadier than
    # wall time on a shared machine (the collector's from /proc ticks).
    cpu_ratio = (SERIES * len(cpus) / sum(cpus) / c['cpu_rate']
                 if cpus and sum(cpus) and c['cpu_rate'] else None)
    print('| %s | %s | %s | %.0f | %s | %s | %.0f | %s | %s |' % (
        name, fmt(f['ack_med']), fmt(f['ack_max']), f['rate'],
        fmt(f['cpu_med'], '%.3f'), mib(f['hwm_kb']), c['rate'],
        fmt(ratio, '%.2f'), fmt(cpu_ratio, '%.2f')))
    f['ratio'] = ratio
    f['cpu_ratio'] = cpu_ratio
print()
print('ratio = results/s over ceiling results/s (wall time); CPU ratio = '
      'results per CPU second of the collector over those of the ceiling '
      '(B: the collector\'s CPU only; rrdcached\'s is not counted).')
print()
print('Ceiling = bench/rrd_ceiling.c, one rrd_updatex_r per file and round '
      '(%d rounds), on the files of the mode in the same row; per-round '
      'seconds (CPU seconds): A files %s, B files %s.' % (
          ROUNDS,
          ' '.join('%.3f (%.2f)' % x for x in zip(CA['secs'], CA['cpu'])),
          ' '.join('%.3f (%.2f)' % x for x in zip(CB['secs'], CB['cpu']))))
print()
print('Per batch, ack s: A %s; B %s.' % (
    ' '.join('%.3f' % s for s in A['acks']),
    ' '.join('%.3f' % s for s in B['acks'])))
print('Collector CPU s per batch: A %s; B %s.' % (
    ' '.join(fmt(s, '%.2f') for s in A['cpu']),
    ' '.join(fmt(s, '%.2f') for s in B['cpu'])))
wb = [w for w in A['wb'] if w is not None]
print('Collector write_bytes per batch (A, page cache to disk accounting): '
      '%s MiB.' % ' '.join('%.1f' % (w / 1048576.0) for w in wb))
print('Sender (python): build %.1f ms and sign %.1f ms per batch before '
      'the timer; in the timer %.1f ms of its own CPU, body handed to the '
      'kernel after %.1f ms (medians); keep-alive reused: %s.' % (
          1e3 * med(A['build_s'] + B['build_s']),
          1e3 * med(A['sign_s'] + B['sign_s']),
          1e3 * med([x for x in A['sender_cpu'] + B['sender_cpu']
                     if x is not None]),
          1e3 * med([x for x in A['send_s'] + B['send_s'] if x is not None]),
          'yes' if A['reused'] and B['reused'] else 'NO'))
if drain:
    print('B: rrdcached FLUSHALL wrote %d files (%d values) in %.2f s = %.0f '
          'values/s; rrdcached VmHWM %s MiB; journal %s kB.' % (
              drain.get('updates_written', 0),
              drain.get('data_sets_written', 0), drain['seconds'],
              drain.get('data_sets_written', 0) / drain['seconds']
              if drain['seconds'] else 0, mib(rrdc_hwm),
              (read('rrdcached.journal_kb') or '?').strip()))
print('events.sqlite after the run: A %s bytes (+ WAL %s), B %s bytes '
      '(+ WAL %s); RRD data A %s kB, B %s kB.' % (
          A['db'].get('db_bytes'), A['db'].get('wal_bytes'),
          B['db'].get('db_bytes'), B['db'].get('wal_bytes'),
          A['du_kb'], B['du_kb']))
print('collector log warnings: A %d, B %d.' % (len(A['log_warn']),
                                               len(B['log_warn'])))
if drain and drain.get('seconds'):
    tot = sum(B['acks']) + drain['seconds']
    print('B including the write-back: %d results / (%.3f s of acks + %.3f s '
          'of FLUSHALL) = %.0f results/s, %.2fx the ceiling (pessimistic: '
          'the FLUSHALL also writes round 0\'s values).' % (
              ROUNDS * SERIES, sum(B['acks']), drain['seconds'],
              ROUNDS * SERIES / tot,
              ROUNDS * SERIES / tot / CB['rate'] if CB['rate'] else 0))
print('Collector VmRSS before round 0: A %s MiB, B %s MiB.' % (
    mib(A['rss0']), mib(B['rss0'])))
if D:
    per = D['ack'] / D_SERIES
    print()
    print('## First sight with the default RRAs (7.4 MB per file)')
    print()
    print('%d new series in one batch: ack %.3f s (collector CPU %s s), '
          '%.1f ms per new series; %s kB on disk; sync afterwards %s s. '
          'Scaled linearly (a lower bound: the page cache absorbed these '
          'writes): 5000 series, the probe\'s default batch_max, %.0f s; '
          '10,000 series %.0f s, %.0f GB of RRD files.' % (
              D_SERIES, D['ack'], fmt(D['cpu'], '%.2f'), per * 1e3,
              D['du_kb'], D['sync'], per * 5000, per * 10000,
              10000 * 7393208 / 1e9))
print()
print('## Targets')
print()
print('| target | A librrd direct | B rrdcached |')
print('| --- | --- | --- |')


def judge(ok):
    return 'met' if ok else 'MISSED'


rows = [
    ('ingest >= %.1fx the ceiling' % TARGET_RATIO,
     lambda f: f['ratio'] is not None and f['ratio'] >= TARGET_RATIO,
     lambda f: fmt(f['ratio'], '%.2fx')),
    ('{:,}-result batch acked < {:.0f} s (worst steady batch)'.format(
        SERIES, TARGET_ACK_S),
     lambda f: f['ack_max'] < TARGET_ACK_S, lambda f: fmt(f['ack_max'],
                                                          '%.3f s')),
    ('collector RSS <= %.0f MiB (VmHWM)' % TARGET_RSS_MIB,
     lambda f: f['hwm_kb'] is not None and
     f['hwm_kb'] / 1024.0 <= TARGET_RSS_MIB,
     lambda f: mib(f['hwm_kb']) + ' MiB'),
]
for label, ok, show in rows:
    cells = []
    for mode, f in (('A', A), ('B', B)):
        good = ok(f)
        if not good:
            missed.append('%s: %s (%s)' % (mode, label, show(f)))
        cells.append('%s %s' % (show(f), judge(good)))
    print('| %s | %s | %s |' % (label, cells[0], cells[1]))
print('| first-sight batch (reported, not judged) | %s s | %s s |' % (
    fmt(A['first_ack']), fmt(B['first_ack'])))
print()
if failures:
    print('INVARIANTS FAILED:')
    for m in failures:
        print('  - ' + m)
else:
    print('Invariants: all %d batches stored whole; series counters = %d '
          'results sent in each mode; sampled RRD files hold every value; '
          'ceiling updates all succeeded.' % (2 * (ROUNDS + 1), TOTAL))
if missed:
    print('Targets missed: ' + '; '.join(missed))
strict = os.environ.get('BENCH_STRICT', '0') == '1'
sys.exit(1 if failures or (strict and missed) else 0)
