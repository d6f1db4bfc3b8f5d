#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""probe_uploads.py: uploads signed batches the way a probe does (a fresh
connection per batch, a 15 s timeout like the uploader's), one every
--every seconds for --duration seconds, and prints one JSON line: batches
tried, stored (200), their median and largest latency in ms.

  probe_uploads.py URL PROBE KEYFILE --seq N [--every S] [--duration S]
                   [--source ADDR] [--records N]
Standard library only; the signing is tests/lib/vt_send.py's."""
import argparse
import http.client
import hmac
import hashlib
import importlib.util
import json
import os
import statistics
import time
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'vt_send', os.path.join(here, '..', 'tests', 'lib', 'vt_send.py'))
vt_send = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vt_send)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('probe')
    ap.add_argument('keyfile')
    ap.add_argument('--seq', type=int, default=0)
    ap.add_argument('--every', type=float, default=0.5)
    ap.add_argument('--duration', type=float, default=20)
    ap.add_argument('--source', default='127.0.0.1')
    ap.add_argument('--records', type=int, default=20)
    a = ap.parse_args()
    key = vt_send.key_bytes(a.keyfile)
    u = urllib.parse.urlsplit(a.url)
    seq, tried, lat, codes = a.seq, 0, [], {}
    end = time.monotonic() + a.duration
    while time.monotonic() < end:
        t = int(time.time())
        base = t // 10 * 10 - 600 + (seq % 60) * 10
        body = b''.join(
            (b'{"ts":%d,"probe":"%s","target":"bench","check":"tcp",'
             b'"name":"tcp","host":"bench.test","ip":"127.0.0.%d",'
             b'"port":80,"ok":true,"ms":{"connect":0.5,"total":0.7}}\n') %
            (base, a.probe.encode(), 100 + i) for i in range(a.records))
        sig = hmac.new(key, vt_send.canonical('results', a.probe, seq,
                                              a.records, t, body),
                       hashlib.sha256).hexdigest()
        hdr = {'X-Vantage-Probe': a.probe, 'X-Vantage-Seq': str(seq),
               'X-Vantage-Count': str(a.records), 'X-Vantage-Time': str(t),
               'X-Vantage-Signature': sig}
        t0 = time.monotonic()
        tried += 1
        code = 'error'
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=15,
                                           source_address=(a.source, 0))
            c.request('POST', '/v1/results', body=body, headers=hdr)
            r = c.getresponse()
            r.read()
            code = str(r.status)
            c.close()
        except (OSError, http.client.HTTPException) as e:
            code = type(e).__name__
        ms = (time.monotonic() - t0) * 1000
        codes[code] = codes.get(code, 0) + 1
        if code == '200':
            lat.append(ms)
            seq += a.records
        time.sleep(max(0.0, a.every - ms / 1000))
    print(json.dumps({
        'tried': tried, 'stored': len(lat), 'codes': codes,
        'median_ms': round(statistics.median(lat), 1) if lat else None,
        'max_ms': round(max(lat), 1) if lat else None, 'next_seq': seq}))


if __name__ == '__main__':
    main()
