#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vt_feed.py URL KEYDIR STATE IP T_FROM T_TO STEP PROBES FAILING [MODE]: sends, for
each probe of PROBES (comma-separated), one signed batch (docs/wire.md) of
tcp results of target "www" for address IP at T_FROM, T_FROM+STEP, ...
< T_TO; the probes in FAILING ("-" = none) fail. Record numbers persist in
the JSON file STATE. MODE "dns": dns results of check "dns" instead (the
failing ones answer something else than `expect`: dns_unexpected); MODE
"cert": tcp results, all ok, with cert_days_left 3 for the failing probes
and 90 for the others. Exits 1 unless every record is stored."""
import hashlib
import hmac
import http.client
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vt_send  # noqa: E402

url, keydir, state, ip = sys.argv[1:5]
t_from, t_to, step = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
probes = sys.argv[8].split(',')
failing = set() if sys.argv[9] == '-' else set(sys.argv[9].split(','))
mode = sys.argv[10] if len(sys.argv) > 10 else 'tcp'
seq = json.load(open(state)) if os.path.exists(state) else {}
u = urllib.parse.urlsplit(url)
for p in probes:
    lines, t = [], t_from
    while t < t_to:
        r = {"ts": t, "probe": p, "target": "www", "check": "tcp",
             "name": "tcp", "host": "www.example.test", "ip": ip, "port": 80}
        if mode == 'dns':
            r = {"ts": t, "probe": p, "target": "www", "check": "dns",
                 "name": "dns", "host": "www.example.test",
                 "resolver": "127.0.0.1:53", "rcode": "NOERROR",
                 "answers": ["192.0.2.99" if p in failing else ip],
                 "ttl": 60, "ms": {"dns": 1.0, "total": 1.0}}
            if p in failing:
                r.update(ok=False, error="dns_unexpected",
                         detail="got 192.0.2.99 expected " + ip)
            else:
                r.update(ok=True)
        elif mode == 'cert':
            r.update(ok=True, ms={"connect": 1.5, "total": 2.5},
                     cert_days_left=3 if p in failing else 90)
        elif p in failing:
            r.update(ok=False, error="connect_timeout", ms={})
        else:
            r.update(ok=True, ms={"connect": 1.5, "total": 2.5})
        lines.append(json.dumps(r, separators=(',', ':')))
        t += step
    body = ''.join(x + '\n' for x in lines).encode()
    s = seq.get(p, 0)
    now = int(time.time())
    key = vt_send.key_bytes('%s/%s.key' % (keydir, p))
    sig = hmac.new(key, vt_send.canonical('results', p, s, len(lines), now,
                                          body), hashlib.sha256).hexdigest()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request('POST', '/v1/results', body=body, headers={
        'Content-Type': 'application/x-ndjson', 'X-Vantage-Probe': p,
        'X-Vantage-Seq': str(s), 'X-Vantage-Count': str(len(lines)),
        'X-Vantage-Time': str(now), 'X-Vantage-Signature': sig})
    r = c.getresponse()
    reply = r.read().decode()
    c.close()
    if r.status != 200 or '"stored":%d' % len(lines) not in reply:
        print('batch %s@%d: %d %s' % (p, s, r.status, reply))
        sys.exit(1)
    seq[p] = s + len(lines)
json.dump(seq, open(state, 'w'))
