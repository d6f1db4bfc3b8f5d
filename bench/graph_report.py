#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""graph_report.py WORK: the summary of bench/graph_bench.sh.

Reads what the run left in WORK (env.txt, scenario.json, graphs.json,
sp.json, collector.log), prints the tables on stdout and checks the
invariants: the collector stored the scenario (series, outages, DNS
changes, last update at END) and exited 0 with no error logged; every
render exited 0 and the ceiling's image is byte for byte vantage-graph's;
every status-page build exited 0 with all its pages and graphs.  Exit 0,
or 1 when an invariant failed (or, with BENCH_STRICT=1, a target was
missed).  Standard library only."""
import json
import os
import sys

TARGET_RATIO = 1.5
TARGET_SP_S = 60.0  # the collector's default rebuild interval

W = sys.argv[1] if len(sys.argv) > 1 else '.'
failures = []
missed = []


def read(name, default=None):
    try:
        with open(os.path.join(W, name)) as f:
            return f.read()
    except OSError:
        return default


def read_json(name):
    s = read(name)
    try:
        return json.loads(s) if s is not None else None
    except ValueError:
        return None


def fail(msg):
    failures.append(msg)


def ms(x):
    return '—' if x is None else '%.0f' % (x * 1000)


def sec(x, spec='%.2f'):
    return '—' if x is None else spec % x


env = {}
for line in (read('env.txt') or '').splitlines():
    k, _, v = line.partition('=')
    env[k.strip()] = v.strip()
scen = read_json('scenario.json') or {}
graphs = read_json('graphs.json') or {}
sp = read_json('sp.json') or {}
END = int(env.get('end', '0') or 0)
N_SP = int(env.get('sp_services', '0') or 0)


def ienv(k):
    try:
        return int(float(env.get(k, '')))
    except ValueError:
        return None


# ---- invariants: the data ------------------------------------------------------
n_main = (scen.get('main') or {}).get('files', 63)
n_links = (scen.get('status_page') or {}).get('files', N_SP * 15)
if ienv('series_api') != n_main:
    fail('series rows of api: %s, expected %d' % (env.get('series_api'), n_main))
if ienv('series_all') != n_main + n_links:
    fail('series rows: %s, expected %d' % (env.get('series_all'),
                                          n_main + n_links))
if ienv('rrd_files') != n_main + n_links:
    fail('RRD files: %s, expected %d' % (env.get('rrd_files'),
                                        n_main + n_links))
if ienv('targets') != N_SP + 1:
    fail('targets: %s, expected %d' % (env.get('targets'), N_SP + 1))
if ienv('api_first_ts') != END - 30 * 86400 or ienv('api_last_ts') != END:
    fail('api series span %s..%s, expected %d..%d' % (
        env.get('api_first_ts'), env.get('api_last_ts'), END - 30 * 86400,
        END))
if ienv('api_last_update') != END:
    fail('api RRD last update %s, expected END %d' % (
        env.get('api_last_update'), END))
want_out = sorted([d for n, s, d in (scen.get('main') or {}).get('outages', [])
                   for _ in range(n)])
got_out = sorted(int(x.split()[2]) for x in
                 env.get('api_outages', '').split(',') if x.strip())
if got_out != want_out:
    fail('api address outages (durations) %s, expected %s' % (got_out,
                                                              want_out))
if ienv('collector_stop_rc') != 0:
    fail('the collector exited %s on SIGTERM' % env.get('collector_stop_rc'))
errs = [ln for ln in (read('collector.log') or '').splitlines()
        if ' err: ' in ln or ': err:' in ln]
if errs:
    fail('collector logged errors: %s' % errs[0][:200])
if env.get('fill_rows') is None:
    fail('the fill helper wrote nothing')

# ---- report ------------------------------------------------------------------------
print('# vantage-graph benchmark (bench/graph_bench.sh)')
print()
print('date %s, %s CPUs (%s), kernel %s, %s' % (
    env.get('date'), env.get('cpus'), env.get('cpu_model'), env.get('kernel'),
    env.get('fs')))
print('%s; librrd %s, cairo %s, pango %s, SQLite %s; commit %s' % (
    env.get('graph'), env.get('librrd'), env.get('cairo'), env.get('pango'),
    env.get('sqlite'), env.get('commit')))
print('load average at start %s, at end %s' % (env.get('loadavg_start'),
                                               env.get('loadavg_end')))
print()
m = scen.get('main') or {}
s = scen.get('status_page') or {}
print('## Data')
print()
print('* target api: %s addresses x %s probes, %s files (default RRAs, '
      '7.4 MB each), 30 days at 10 s ending at END = %d' % (
          m.get('addresses'), m.get('probes'), m.get('files'), END))
print('* fill helper: %s files, %s rows, %s s of file time, %s s wall '
      '(2 in parallel)' % (env.get('fill_files'), env.get('fill_rows'),
                           env.get('fill_file_s'), env.get('fill_s')))
print('* status page: %s services x 2 addresses x 3 probes, %s series files '
      '(%s of 5 templates)' % (
          s.get('services'), s.get('files'),
          'copies' if env.get('sp_copy') == '1' else 'hard links'))
print('* collector feed: %s batches, %s records; events.sqlite: %s series, '
      '%s address outages (%s of api), %s host rows, %s open, %s DNS '
      'changes' % (scen.get('batches'), scen.get('records'),
                   env.get('series_all'), env.get('outages_addr'),
                   env.get('outages_api'), env.get('outages_host'),
                   env.get('outages_open'), env.get('dns_changes')))
print('* data directory %.0f MB; setup %s s' % (
    int(env.get('data_du_kb', '0') or 0) / 1024, env.get('setup_s')))
print()

# ---- graphs ------------------------------------------------------------------------
combos = graphs.get('combos') or []
print('## Graphs: vantage-graph against `rrdtool graph` with the same '
      'arguments (median of %s, ms)' % env.get('runs'))
print()
print('| graph | range | DEF / CDEF / AREA / LINE | vantage wall | CPU | '
      'rrdtool wall | CPU | ratio wall | ratio CPU | ≤ %.1f | same image |'
      % TARGET_RATIO)
print('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |')
for c in combos:
    if not c.get('vantage'):
        fail('%s: %s' % (c['name'], c.get('error', 'no runs')))
        print('| %s | %s | — | FAILED: %s |' % (c['kind'], c['range'],
                                              c.get('error', '?')[:80]))
        continue
    v, r = c['vantage'], c['ceiling']
    rw = v['wall'] / r['wall'] if r['wall'] else None
    rc = v['cpu'] / r['cpu'] if r['cpu'] else None
    ok = rw is not None and rw <= TARGET_RATIO
    if not ok:
        missed.append('%s %s: %.2fx the ceiling' % (c['kind'], c['range'],
                                                    rw or 0))
    # outage-gap: vantage-graph draws its marks (spans, numbered labels)
    # over librrd's image with cairo (graphs/marks.c), so the images differ
    # by design there; the marks' cost is in vantage-graph's time.
    if not c.get('same_image') and c.get('kind') != 'outage-gap':
        fail('%s: the ceiling image differs from vantage-graph\'s' % c['name'])
    if c.get('error'):
        fail('%s: %s' % (c['name'], c['error']))
    ac = c.get('argv_counts') or {}
    print('| %s | %s | %d / %d / %d / %d | %s (%s–%s) | %s | %s (%s–%s) | %s '
          '| %s | %s | %s | %s |' % (
              c['kind'], c['range'], ac.get('DEF', 0), ac.get('CDEF', 0),
              ac.get('AREA', 0), ac.get('LINE', 0), ms(v['wall']),
              ms(v['wall_min']), ms(v['wall_max']), ms(v['cpu']), ms(r['wall']),
              ms(r['wall_min']), ms(r['wall_max']), ms(r['cpu']),
              sec(rw), sec(rc), 'met' if ok else 'MISSED',
              'yes' if c.get('same_image') else
              'no: marks drawn over it' if c.get('kind') == 'outage-gap'
              else 'NO'))
print()
print('Where vantage-graph\'s time goes (one extra profiled run, ms; "rest" '
      'is start-up, configuration, SQLite open, copying and scanning the '
      'fetched rows, writing the file):')
print()
print('| graph | range | total wall | rrd_graph_v | rrd_fetch_r (calls) | '
      'rrd_info_r (calls) | sqlite3_step (calls) | rest |')
print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for c in combos:
    p = c.get('profile')
    if not p:
        continue
    g, f, i, q = (p['rrd_graph_v'], p['rrd_fetch_r'], p['rrd_info_r'],
                  p['sqlite3_step'])
    rest = p['wall'] - g['wall'] - f['wall'] - i['wall'] - q['wall']
    print('| %s | %s | %s | %s | %s (%d) | %s (%d) | %s (%d) | %s |' % (
        c['kind'], c['range'], ms(p['wall']), ms(g['wall']), ms(f['wall']),
        f['n'], ms(i['wall']), i['n'], ms(q['wall']), q['n'], ms(rest)))
print()

# ---- status page -------------------------------------------------------------------
runs = sp.get('runs') or []
want_graphs = 8 * (N_SP + 1)
print('## Status page: %d services (%d + the api target), `vantage-graph '
      'status-page -o DIR`' % (N_SP + 1, N_SP))
print()
print('| run | build | wall s | CPU s (user + sys) | peak RSS MB | images '
      '(drawn / unchanged, workers) | pages | built in (log) |')
print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for k, r in enumerate(runs):
    print('| %s | %s | %.2f | %.2f (%.2f + %.2f) | %.1f | %d (%s / %s, %s) | %d '
          '| %s |' % (
        '%d (profiled)' % k if r.get('profiled') else str(k),
        r.get('mode', 'full'), r['wall'], r['cpu'], r['user'], r['sys'],
        r['maxrss_kb'] / 1024, r.get('images', r['graphs']),
        r.get('drawn', '?'), r.get('reused', '?'), r.get('workers', '?'),
        r['pages'], sec(r.get('built_s'))))
    if r['rc'] != 0:
        fail('status page run %d exited %d: %s' % (k, r['rc'],
                                                  '; '.join(r['errors'])))
    if r['graphs'] != want_graphs or r['pages'] != N_SP + 1 or not r['index']:
        fail('status page run %d: %d graphs and %d service pages, expected '
             '%d and %d%s' % (k, r['graphs'], r['pages'], want_graphs,
                              N_SP + 1, (' (first error: %s...)' %
                                         r['errors'][0][:150]
                                         if r['errors'] else '')))
t = sp.get('timed') or {}
p = sp.get('profile')
if p:
    g, f, q = p['rrd_graph_v'], p['rrd_fetch_r'], p['sqlite3_step']
    rest = p['wall'] - g['wall'] - f['wall'] - q['wall']
    print()
    print('Profiled run: %.2f s; inside rrd_graph_v %.2f s (%d graphs, '
          '%.1f ms each), rrd_fetch_r %.2f s (%d fetches), sqlite3_step '
          '%.2f s (%d steps), rest %.2f s.' % (
              p['wall'], g['wall'], g['n'], 1000 * g['wall'] / max(g['n'], 1),
              f['wall'], f['n'], q['wall'], q['n'], rest))
inc = sp.get('incremental') or {}
one = sp.get('full-1-worker') or {}
sp_ok = t.get('wall') is not None and t['wall'] < TARGET_SP_S
inc_ok = inc.get('wall') is not None and inc['wall'] < TARGET_SP_S
if not sp_ok:
    missed.append('status page, full build: %s s' % sec(t.get('wall')))
if not inc_ok:
    missed.append('status page, incremental build: %s s' % sec(inc.get('wall')))
ce = sp.get('ceiling') or {}
if ce.get('ratio'):
    print()
    print('Ceiling: %d of the page\'s graphs (of %d, evenly sampled) drawn by '
          'rrd_graph_v alone in one process, librrd\'s own PNG writer (as '
          '`rrdtool graph`): %.2f ms CPU and %.0f bytes each. The full builds: '
          '%.2f ms CPU per image drawn (median; data, reports, pages and files '
          'included), %.0f bytes each: **%.2fx the ceiling**.' % (
              ce['n'], ce['recorded'], 1000 * ce['cpu_per_image'],
              ce['bytes_per_image'], 1000 * ce['vantage_cpu_per_image'],
              ce.get('vantage_bytes_per_image') or 0, ce['ratio']))
elif sp.get('ceiling') is not None:
    fail('status page ceiling: %s' % json.dumps(ce)[:200])
if one.get('wall') and t.get('wall'):
    print()
    print('Full build with all cores: %s s wall; with one worker (--jobs 1): '
          '%s s wall; speed-up %.2fx.' % (sec(t['wall']), sec(one['wall']),
                                         one['wall'] / t['wall']))
print()

# ---- targets ---------------------------------------------------------------------
print('## Targets')
print()
print('| target | result |')
print('| --- | --- |')
worst = None
for c in combos:
    if c.get('vantage') and c['ceiling']['wall']:
        rw = c['vantage']['wall'] / c['ceiling']['wall']
        if worst is None or rw > worst[0]:
            worst = (rw, '%s %s' % (c['kind'], c['range']))
n_ok = sum(1 for c in combos if c.get('vantage') and c['ceiling']['wall'] and
           c['vantage']['wall'] / c['ceiling']['wall'] <= TARGET_RATIO)
print('| each graph within %.1fx of the ceiling | %s: %d of %d; worst %s |' % (
    TARGET_RATIO, 'met' if combos and n_ok == len(combos) else 'MISSED', n_ok,
    len(combos), '%.2fx (%s)' % worst if worst else '—'))
print('| status page for %d services, full build, under %.0f s | %s: median '
      '%s s wall, %s s CPU (workers included) |' % (
          N_SP + 1, TARGET_SP_S, 'met' if sp_ok else 'MISSED',
          sec(t.get('wall')), sec(t.get('cpu'))))
print('| status page for %d services, incremental rebuild, under %.0f s | %s: '
      'median %s s wall, %s s CPU |' % (
          N_SP + 1, TARGET_SP_S, 'met' if inc_ok else 'MISSED',
          sec(inc.get('wall')), sec(inc.get('cpu'))))
print()
strict = os.environ.get('BENCH_STRICT', '0') == '1'
if failures:
    print('INVARIANTS FAILED:')
    for x in failures:
        print('  - ' + x)
if missed:
    print('targets MISSED%s:' % ('' if strict else ' (BENCH_STRICT=1 makes '
                                 'this exit 1)'))
    for x in missed:
        print('  - ' + x)
sys.exit(1 if failures or (strict and missed) else 0)
