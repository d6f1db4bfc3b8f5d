#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""graph_scenario.py: the data of bench/graph_bench.sh.

  graph_scenario.py plan --end E --out DIR --tpl-dir TPL_DIR [--services N]
  graph_scenario.py send --url URL --keys DIR --rounds FILE --stage first|rest
                         [--limit 120]
  graph_scenario.py links --rrd RRD_DIR --tpl TPL_DIR --list FILE [--copy]

plan writes, for a period ending at E (on the 10 s grid) and starting
T0 = E - 30 days:

  DIR/fill.plan    what bench/graph_bench.sh's fill helper writes into the
                   63 files of the main target "api" (10 addresses x 3 probes:
                   tcp and DNS share series, plus one resolver series per
                   probe) for T0 + 10 .. E - 10: one line per file, "relpath
                   t_from t_to kind base [events]" (see the helper)
  DIR/tpl.plan     the same for the 5 template files (in TPL_DIR) of the
                   status-page services (tcp and share of 2 address slots, resolver)
  DIR/links.txt    "template relpath" for every series file of the N
                   status-page services (N x 2 addresses x 3 probes x
                   (tcp + share) + N x 3 resolver series)
  DIR/rounds.json  the collector feed: batches of result records (the form
                   the probe spools), per probe, in time order; stage
                   "first" is round T0 of "api" (first sight: the collector
                   creates its files), stage "rest" is everything else
  DIR/scenario.json  what the scenario holds (for the report)

send POSTs the batches of one stage, signed as docs/wire.md says (the
signing of tests/lib/vt_send.py, imported from there), each after the
previous one was acknowledged; X-Vantage-Seq counts each probe's records
over both stages.  Exit 1 at the first batch not stored whole.

links makes every status-page series file a hard link to its template
(--copy: a copy).

Standard library only.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import shutil
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'lib'))
import vt_send  # noqa: E402  (canonical form and key file reading)

STEP = 10
DAY = 86400
HOUR = 3600
PROBES = ['p1', 'p2', 'p3']
MAIN = 'api'
MAIN_IPS = ['192.0.2.%d' % (11 + i) for i in range(10)]
RESOLVER = '127.0.0.1:53'
RESOLVER_KEY = 'resolver-127.0.0.1_53'
# A probe applies a DNS switch a minute after the previous one, as probes
# whose resolvers' caches expire at different times would.
PROBE_OFFSET = {'p1': 0, 'p2': 60, 'p3': 120}


def rel(target, check, key, probe):
    return '%s/%s/%s/%s.rrd' % (target, check, key, probe)


def tcp_rec(ts, probe, target, ip, ok, ms=None):
    r = {'ts': ts, 'probe': probe, 'target': target, 'check': 'tcp',
         'name': 'tcp', 'host': target + '.example.test', 'ip': ip,
         'port': 443}
    if ok:
        r.update(ok=True, ms={'connect': ms, 'total': ms})
    else:
        r.update(ok=False, error='connect_timeout', detail='timed out')
    return r


def dns_rec(ts, probe, target, answers):
    return {'ts': ts, 'probe': probe, 'target': target, 'check': 'dns',
            'name': 'dns', 'host': target + '.example.test', 'ok': True,
            'ms': {'dns': 2.0}, 'resolver': RESOLVER, 'rcode': 'NOERROR',
            'answers': list(answers), 'ttl': 60}


class Feed:
    """Result records per (ts, probe), merged from every target."""

    def __init__(self):
        self.rounds = {}

    def add(self, ts, probe, rec):
        self.rounds.setdefault((ts, PROBES.index(probe)), []).append(rec)

    def target_round(self, ts, ips, target, down=(), answers=None,
                     probes=PROBES, ms=10.0):
        """Every address of target at ts from each probe: failed for the
        addresses in down, ok for the others (the quorum engine counts the
        addresses that reported recently, so a round names them all)."""
        for p in probes:
            if answers is not None:
                self.add(ts, p, dns_rec(ts, p, target, answers))
            for ip in ips:
                self.add(ts, p, tcp_rec(ts, p, target, ip, ip not in down, ms))

    def batches(self, stage):
        out = []
        for (ts, pi) in sorted(self.rounds):
            out.append({'stage': stage, 'ts': ts, 'probe': PROBES[pi],
                        'records': self.rounds[(ts, pi)]})
        return out


def main_scenario(E, T0):
    """The main target: 10 addresses, 3 probes, 30 days."""
    A = MAIN_IPS
    # DNS answers: (from, answer) per probe, from shifted by the probe's
    # offset; every address is in the answer at T0.
    dns_plan = [(T0, A), (E - 20 * DAY, A[5:]), (E - 19 * DAY, A),
                (E - 6 * HOUR, A[:5]), (E - 4 * HOUR, A)]
    outages = [  # (addresses, start, end), seen by every probe
        ([A[2]], E - 12 * DAY + 3 * HOUR, E - 12 * DAY + 3 * HOUR + 1200),
        ([A[0], A[1]], E - 3 * DAY + 5 * HOUR, E - 3 * DAY + 5 * HOUR + 600),
        ([A[6]], E - 5 * HOUR, E - 5 * HOUR + 110),
    ]
    gaps = [  # (address, start, end): no probe measured it
        (A[1], E - 2 * HOUR, E - 2 * HOUR + 300),
        (A[8], E - 7 * DAY, E - 7 * DAY + 1800),
    ]
    # p3 hears nothing at all for an hour (the others still measure).
    probe_gap = ('p3', E - 9 * DAY, E - 9 * DAY + HOUR)

    plan = []
    t_from, t_to = T0 + STEP, E - STEP
    for pi, p in enumerate(PROBES):
        pg = []
        if p == probe_gap[0]:
            pg = ['g:%d:%d' % (probe_gap[1], probe_gap[2])]
        for i, ip in enumerate(A):
            ev = ['o:%d:%d' % (s, e) for ips, s, e in outages if ip in ips]
            ev += ['g:%d:%d' % (s, e) for gip, s, e in gaps if gip == ip]
            plan.append('%s %d %d tcp %.2f %s' % (
                rel(MAIN, 'tcp', ip, p), t_from, t_to, 8.0 + 1.5 * i + 0.5 * pi,
                ' '.join(ev + pg)))
            sev = []
            for k, (f, ans) in enumerate(dns_plan):
                f = f + PROBE_OFFSET[p] if k else f
                to = (dns_plan[k + 1][0] + PROBE_OFFSET[p]
                      if k + 1 < len(dns_plan) else E + STEP)
                sev.append('s:%d:%d:%.6g' % (
                    f, to, (1.0 / len(ans)) if ip in ans else 0.0))
            plan.append('%s %d %d share 0.1 %s' % (
                rel(MAIN, 'dns', ip, p), t_from, t_to, ' '.join(sev + pg)))
        plan.append('%s %d %d resolver 2.0 %s' % (
            rel(MAIN, 'dns', RESOLVER_KEY, p), t_from, t_to, ' '.join(pg)))

    first, rest = Feed(), Feed()
    first.target_round(T0, A, MAIN, answers=A)
    for k, (f, ans) in enumerate(dns_plan[1:]):
        for p in PROBES:
            ts = f + PROBE_OFFSET[p]
            rest.add(ts, p, dns_rec(ts, p, MAIN, ans))
    for ips, s, e in outages:
        rest.target_round(s, A, MAIN, down=ips)
        rest.target_round(s + STEP, A, MAIN, down=ips)
        rest.target_round(e, A, MAIN)
    rest.target_round(E, A, MAIN, answers=A)
    info = {'target': MAIN, 'addresses': len(A), 'probes': len(PROBES),
            'files': len(plan),
            'dns_switches': [[f - E, len(a)] for f, a in dns_plan[1:]],
            'outages': [[len(i), s - E, e - s] for i, s, e in outages],
            'nodata': [[s - E, e - s] for _, s, e in gaps],
            'probe_gap': [probe_gap[0], probe_gap[1] - E,
                          probe_gap[2] - probe_gap[1]]}
    return plan, first, rest, info


def sp_scenario(E, T0, n, rest, tpl_dir):
    """n status-page services, 2 addresses each, all 3 probes; every series
    file is a link to one of 5 templates (same history for every service);
    the events (outages, DNS switches) differ per service."""
    t_from, t_to = T0 + STEP, E - STEP
    tpl = [
        'tcp-1.rrd %d %d tcp 20.0' % (t_from, t_to),
        'tcp-2.rrd %d %d tcp 35.0 o:%d:%d g:%d:%d' % (
            t_from, t_to, E - 14 * DAY, E - 14 * DAY + 900,
            E - 3 * DAY, E - 3 * DAY + 600),
        'share-1.rrd %d %d share 0.5 s:%d:%d:1' % (
            t_from, t_to, E - 10 * DAY, E - 10 * DAY + 2 * HOUR),
        'share-2.rrd %d %d share 0.5 s:%d:%d:0' % (
            t_from, t_to, E - 10 * DAY, E - 10 * DAY + 2 * HOUR),
        'resolver.rrd %d %d resolver 2.0' % (t_from, t_to),
    ]
    tpl = [os.path.join(tpl_dir, t) for t in tpl]
    links = []
    n_out = n_host = n_switch = 0
    open_svc = None
    for i in range(1, n + 1):
        name = 'svc%03d' % i
        ips = ['10.%d.%d.1' % (1 + i // 256, i % 256),
               '10.%d.%d.2' % (1 + i // 256, i % 256)]
        for p in PROBES:
            links.append(('tcp-1', rel(name, 'tcp', ips[0], p)))
            links.append(('tcp-2', rel(name, 'tcp', ips[1], p)))
            links.append(('share-1', rel(name, 'dns', ips[0], p)))
            links.append(('share-2', rel(name, 'dns', ips[1], p)))
            links.append(('resolver', rel(name, 'dns', RESOLVER_KEY, p)))
        rest.target_round(T0, ips, name, answers=ips, ms=20.0)
        if i % 7 == 0:  # one address down for 15 minutes
            s = E - (i % 28 + 1) * DAY + (i % 24) * HOUR
            rest.target_round(s, ips, name, down=[ips[1]])
            rest.target_round(s + STEP, ips, name, down=[ips[1]])
            rest.target_round(s + 900, ips, name)
            n_out += 1
        if i % 25 == 0:  # the whole service down for 5 minutes
            s = E - (i % 10 + 2) * DAY + 7 * HOUR
            rest.target_round(s, ips, name, down=ips)
            rest.target_round(s + STEP, ips, name, down=ips)
            rest.target_round(s + 300, ips, name)
            n_host += 1
        if i % 10 == 0:  # a DNS switch to one address for 2 hours
            s = E - (i % 20 + 1) * DAY + 2 * HOUR
            for p in PROBES:
                ts = s + PROBE_OFFSET[p]
                rest.add(ts, p, dns_rec(ts, p, name, [ips[1]]))
                ts += 2 * HOUR
                rest.add(ts, p, dns_rec(ts, p, name, ips))
            n_switch += 1
        down = []
        if i == 50:  # an outage still open when the page is built
            open_svc = name
            down = [ips[0]]
            rest.target_round(E - STEP, ips, name, down=down, ms=20.0)
        rest.target_round(E, ips, name, down=down, answers=ips, ms=20.0)
    info = {'services': n, 'files': len(links), 'templates': len(tpl),
            'address_outages': n_out, 'service_outages': n_host,
            'dns_switches': n_switch, 'open_outage': open_svc}
    return tpl, links, info


def cmd_plan(a):
    E = a.end - a.end % STEP
    T0 = E - 30 * DAY
    os.makedirs(a.out, exist_ok=True)
    plan, first, rest, minfo = main_scenario(E, T0)
    tpl, links, sinfo = sp_scenario(E, T0, a.services, rest, a.tpl_dir)
    with open(os.path.join(a.out, 'fill.plan'), 'w') as f:
        f.write('\n'.join(plan) + '\n')
    with open(os.path.join(a.out, 'tpl.plan'), 'w') as f:
        f.write('\n'.join(tpl) + '\n')
    with open(os.path.join(a.out, 'links.txt'), 'w') as f:
        for t, r in links:
            f.write('%s %s\n' % (t, r))
    batches = first.batches('first') + rest.batches('rest')
    with open(os.path.join(a.out, 'rounds.json'), 'w') as f:
        json.dump(batches, f, separators=(',', ':'))
    n_rec = sum(len(b['records']) for b in batches)
    with open(os.path.join(a.out, 'scenario.json'), 'w') as f:
        json.dump({'t0': T0, 'end': E, 'main': minfo, 'status_page': sinfo,
                   'batches': len(batches), 'records': n_rec}, f, indent=1)
    print('plan: %d main files, %d templates, %d links, %d batches, '
          '%d records' % (len(plan), len(tpl), len(links), len(batches),
                          n_rec), file=sys.stderr)
    return 0


def cmd_send(a):
    batches = json.load(open(a.rounds))
    keys = {p: vt_send.key_bytes(os.path.join(a.keys, p + '.key'))
            for p in PROBES}
    seq = {p: 0 for p in PROBES}
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    start = time.monotonic()
    sent = recs = 0
    for b in batches:
        p, n = b['probe'], len(b['records'])
        if b['stage'] != a.stage:
            seq[p] += n
            continue
        if time.monotonic() - start > a.limit:
            print('graph_scenario: send: time limit %.0f s reached' % a.limit,
                  file=sys.stderr)
            return 1
        # The collector may store a prefix only (storage.create_budget:
        # new files cost time) and says how much; the rest goes again,
        # as a probe does. Bounded: each round stores at least a record.
        todo = b['records']
        for _ in range(len(todo) + 1):
            if not todo:
                break
            m = len(todo)
            body = ''.join(json.dumps(r, separators=(',', ':')) + '\n'
                           for r in todo).encode()
            now = int(time.time())
            sig = hmac.new(keys[p], vt_send.canonical('results', p, seq[p], m,
                                                      now, body),
                           hashlib.sha256).hexdigest()
            headers = {'Content-Type': 'application/x-ndjson',
                       'X-Vantage-Probe': p, 'X-Vantage-Seq': str(seq[p]),
                       'X-Vantage-Count': str(m), 'X-Vantage-Time': str(now),
                       'X-Vantage-Signature': sig}
            try:
                conn.request('POST', '/v1/results', body=body, headers=headers)
                r = conn.getresponse()
                reply = r.read().decode('utf-8', 'replace').strip()
                status = r.status
                if r.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as e:
                status, reply = 0, '%s: %s' % (type(e).__name__, e)
                conn.close()
            try:
                rj = json.loads(reply)
            except ValueError:
                rj = {}
            got = rj.get('stored') if status == 200 else None
            if not isinstance(got, int) or got <= 0 or got > m:
                print('graph_scenario: send: batch ts %d probe %s (%d '
                      'records): %d %s' % (b['ts'], p, m, status,
                                           reply[:200]), file=sys.stderr)
                return 1
            seq[p] += got
            todo = todo[got:]
        if todo:
            print('graph_scenario: send: batch ts %d probe %s: %d records '
                  'never stored' % (b['ts'], p, len(todo)), file=sys.stderr)
            return 1
        sent += 1
        recs += n
    conn.close()
    print('send %s: %d batches, %d records in %.1f s' % (
        a.stage, sent, recs, time.monotonic() - start), file=sys.stderr)
    return 0


def cmd_links(a):
    n = 0
    with open(a.list) as f:
        for line in f:
            t, r = line.split()
            dst = os.path.join(a.rrd, r)
            os.makedirs(os.path.dirname(dst), mode=0o750, exist_ok=True)
            src = os.path.join(a.tpl, t + '.rrd')
            if a.copy:
                shutil.copyfile(src, dst)
            else:
                os.link(src, dst)
            n += 1
    print('links: %d files %s' % (n, 'copied' if a.copy else 'linked'),
          file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('plan')
    p.add_argument('--end', type=int, required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--tpl-dir', required=True)
    p.add_argument('--services', type=int, default=100)
    p = sub.add_parser('send')
    p.add_argument('--url', required=True)
    p.add_argument('--keys', required=True)
    p.add_argument('--rounds', required=True)
    p.add_argument('--stage', choices=['first', 'rest'], required=True)
    p.add_argument('--limit', type=float, default=120.0)
    p = sub.add_parser('links')
    p.add_argument('--rrd', required=True)
    p.add_argument('--tpl', required=True)
    p.add_argument('--list', required=True)
    p.add_argument('--copy', action='store_true')
    a = ap.parse_args()
    if a.cmd == 'plan':
        if not 1 <= a.services <= 1000:
            print('graph_scenario: --services must be 1..1000', file=sys.stderr)
            return 2
        return cmd_plan(a)
    if a.cmd == 'send':
        return cmd_send(a)
    return cmd_links(a)


if __name__ == '__main__':
    sys.exit(main())
