#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_send.py: the load generator of bench/collector_bench.sh.

Builds one batch per round of compact result records (lib/result.h, the
form vantage-probe spools) for TARGETS x ADDRS tcp series of one probe,
signs it as docs/wire.md says (HMAC-SHA256 over the length-prefixed
fields, with tests/lib/vt_send.py's functions) and POSTs it to the
collector on one keep-alive connection, one batch at a time, each after
the previous one was acknowledged.

  collector_send.py --url http://127.0.0.1:PORT --probe b1 --key KEYFILE
                    --t0 TS --round0 R0 --rounds N --out FILE.json
                    [--targets 1000] [--addrs 10] [--step 10]
                    [--pid COLLECTOR_PID] [--limit 150] [--timeout 60]

Round r (R0 <= r < R0 + N) stamps every record ts = T0 + r * STEP and is
sent as records [r * S, (r + 1) * S) of the probe's numbering, S =
TARGETS x ADDRS. A body is built and signed before its timer starts; the
time measured ("ack") runs from the first byte of the request to the last
byte of the reply. Around each batch the collector's CPU time, VmHWM, VmRSS
and write_bytes are read from /proc/PID, and the sender's own CPU time is
noted, to show which side the time is spent on.

Writes FILE.json: {"series":S,"batches":[{round, ts, seq, count, bytes,
status, reply, ack_s, send_s, sender_cpu_s, coll_cpu_s, coll_hwm_kb,
coll_rss_kb, coll_rss_before_kb, coll_write_bytes, reused}, ...], "build_s":[...],
"sign_s":[...]}. Exit 0 when every batch got a 200 with stored = count,
1 otherwise (it stops at the first failure), 2 on a usage error.
Standard library only."""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import sys
import time
import urllib.parse


# The signing is tests/lib/vt_send.py's (one implementation of docs/wire.md
# on the sending side besides the probe's own).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'lib'))
import vt_send  # noqa: E402


def proc_sample(pid):
    """(cpu seconds, VmHWM kB, VmRSS kB, write_bytes) of pid, or Nones."""
    if not pid:
        return (None, None, None, None)
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
        fields = st[st.rindex(')') + 2:].split()
        hz = os.sysconf('SC_CLK_TCK')
        cpu = (int(fields[11]) + int(fields[12])) / hz
        hwm = rss = None
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    hwm = int(line.split()[1])
                elif line.startswith('VmRSS:'):
                    rss = int(line.split()[1])
        wb = None
        try:
            with open('/proc/%d/io' % pid) as f:
                for line in f:
                    if line.startswith('write_bytes:'):
                        wb = int(line.split()[1])
        except OSError:
            pass
        return (cpu, hwm, rss, wb)
    except (OSError, ValueError, IndexError):
        return (None, None, None, None)


def series_templates(probe, targets, addrs):
    """One (prefix, suffix) per series: the record is prefix + ts + suffix.
    Values differ a little between series, like real latencies."""
    out = []
    i = 0
    for t in range(1, targets + 1):
        name = 't%04d' % t
        for a in range(1, addrs + 1):
            connect = 0.25 + (i % 97) / 100.0
            total = connect + 0.25
            suffix = (',"probe":"%s","target":"%s","check":"tcp","name":"tcp",'
                      '"host":"%s.example.test","ip":"10.0.0.%d","port":80,'
                      '"ok":true,"ms":{"connect":%s,"total":%s}}\n' %
                      (probe, name, name, a, repr(round(connect, 3)),
                       repr(round(total, 3))))
            out.append(suffix)
            i += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--probe', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--t0', type=int, required=True)
    ap.add_argument('--round0', type=int, default=0)
    ap.add_argument('--rounds', type=int, required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--targets', type=int, default=1000)
    ap.add_argument('--addrs', type=int, default=10)
    ap.add_argument('--step', type=int, default=10)
    ap.add_argument('--pid', type=int, default=0)
    ap.add_argument('--limit', type=float, default=150.0)
    ap.add_argument('--timeout', type=float, default=60.0)
    a = ap.parse_args()
    if a.rounds < 1 or a.rounds > 1000 or a.targets < 1 or a.addrs < 1:
        print('collector_send: bad --rounds, --targets or --addrs',
              file=sys.stderr)
        return 2

    key = vt_send.key_bytes(a.key)
    tmpl = series_templates(a.probe, a.targets, a.addrs)
    n = len(tmpl)
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
    # Open the connection first (GET /healthz), so that every batch,
    # the first one included, goes on an established keep-alive connection.
    try:
        conn.request('GET', '/healthz')
        conn.getresponse().read()
    except (OSError, http.client.HTTPException) as e:
        print('collector_send: GET /healthz: %s' % e, file=sys.stderr)
        return 1
    start = time.monotonic()
    res = {'series': n, 'batches': [], 'build_s': [], 'sign_s': []}
    rc = 0
    for r in range(a.round0, a.round0 + a.rounds):
        if time.monotonic() - start > a.limit:
            print('collector_send: time limit %.0f s reached before round %d'
                  % (a.limit, r), file=sys.stderr)
            rc = 1
            break
        ts = a.t0 + r * a.step
        seq = r * n
        t_b = time.perf_counter()
        head = ('{"ts":%d.000' % ts)
        body = ''.join([head + s for s in tmpl]).encode()
        t_s = time.perf_counter()
        now = int(time.time())
        sig = hmac.new(key, vt_send.canonical('results', a.probe, seq, n, now, body),
                       hashlib.sha256).hexdigest()
        t_e = time.perf_counter()
        res['build_s'].append(t_s - t_b)
        res['sign_s'].append(t_e - t_s)
        headers = {
            'Content-Type': 'application/x-ndjson',
            'X-Vantage-Probe': a.probe,
            'X-Vantage-Seq': str(seq),
            'X-Vantage-Count': str(n),
            'X-Vantage-Time': str(now),
            'X-Vantage-Signature': sig,
        }
        before = proc_sample(a.pid)
        sock_before = conn.sock
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        status, reply = 0, ''
        try:
            conn.request('POST', '/v1/results', body=body, headers=headers)
            t_sent = time.perf_counter()
            resp = conn.getresponse()
            reply = resp.read().decode('utf-8', 'replace').strip()
            status = resp.status
            t1 = time.perf_counter()
            if resp.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as e:
            t_sent = t1 = time.perf_counter()
            reply = '%s: %s' % (type(e).__name__, e)
            conn.close()
        cpu1 = time.process_time()
        after = proc_sample(a.pid)
        try:
            rj = json.loads(reply)
        except ValueError:
            rj = {'raw': reply}
        b = {
            'coll_rss_before_kb': before[2],
            'round': r, 'ts': ts, 'seq': seq, 'count': n, 'bytes': len(body),
            'status': status, 'reply': rj, 'ack_s': t1 - t0,
            'send_s': t_sent - t0, 'sender_cpu_s': cpu1 - cpu0,
            'reused': sock_before is not None,
            'coll_cpu_s': (after[0] - before[0]
                           if after[0] is not None and before[0] is not None
                           else None),
            'coll_hwm_kb': after[1], 'coll_rss_kb': after[2],
            'coll_write_bytes': (after[3] - before[3]
                                 if after[3] is not None and
                                 before[3] is not None else None),
        }
        res['batches'].append(b)
        print('    round %d: %d records, %d bytes: %d %s, ack %.3f s'
              % (r, n, len(body), status, reply[:80], b['ack_s']),
              file=sys.stderr)
        if status != 200 or rj.get('stored') != n or rj.get('duplicate'):
            rc = 1
            break
    conn.close()
    with open(a.out, 'w') as f:
        json.dump(res, f, indent=1)
    return rc


if __name__ == '__main__':
    sys.exit(main())
