#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vt_send.py: an independent implementation of the probe side of
docs/wire.md, for tests: signs a batch (or a GET /v1/targets) with a key
file and sends it; prints "STATUS BODY" on stdout.

  vt_send.py URL PROBE KEYFILE SEQ [options] < body
  --count N        X-Vantage-Count (default: number of lines in the body)
  --time T         X-Vantage-Time (default: now)
  --sig HEX        send this signature instead of the right one
  --sign-body F    sign the bytes of file F instead of the body sent
  --omit HEADER    leave a header out
  --get            GET /v1/targets (URL is the collector's base URL)
  --chunked        send the body with chunked transfer encoding
Standard library only."""
import argparse
import hashlib
import hmac
import http.client
import sys
import time
import urllib.parse


def key_bytes(path):
    data = open(path, 'rb').read()
    if data.endswith(b'\n'):
        data = data[:-1]
        if data.endswith(b'\r'):
            data = data[:-1]
    return data


def canonical(kind, probe, seq, count, t, body):
    prefix = b'vantage-results-v1\n' if kind == 'results' else \
        b'vantage-targets-v1\n'
    p = probe.encode()
    return (prefix + str(len(p)).encode() + b':' + p + b'\n' +
            str(seq).encode() + b'\n' + str(count).encode() + b'\n' +
            str(t).encode() + b'\n' + str(len(body)).encode() + b':' + body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('probe')
    ap.add_argument('keyfile')
    ap.add_argument('seq', type=int)
    ap.add_argument('--count', type=int)
    ap.add_argument('--time', type=int)
    ap.add_argument('--sig')
    ap.add_argument('--sign-body')
    ap.add_argument('--omit', action='append', default=[])
    ap.add_argument('--get', action='store_true')
    ap.add_argument('--chunked', action='store_true')
    a = ap.parse_args()

    body = b'' if a.get else sys.stdin.buffer.read()
    count = a.count if a.count is not None else (
        0 if a.get else body.count(b'\n'))
    t = a.time if a.time is not None else int(time.time())
    signed = open(a.sign_body, 'rb').read() if a.sign_body else body
    kind = 'targets' if a.get else 'results'
    sig = a.sig or hmac.new(key_bytes(a.keyfile),
                            canonical(kind, a.probe, a.seq, count, t, signed),
                            hashlib.sha256).hexdigest()
    headers = {
        'X-Vantage-Probe': a.probe,
        'X-Vantage-Seq': str(a.seq),
        'X-Vantage-Count': str(count),
        'X-Vantage-Time': str(t),
        'X-Vantage-Signature': sig,
    }
    for h in a.omit:
        headers.pop(h, None)
    u = urllib.parse.urlsplit(a.url)
    cls = http.client.HTTPSConnection if u.scheme == 'https' else \
        http.client.HTTPConnection
    conn = cls(u.hostname, u.port, timeout=30)
    path = '/v1/targets' if a.get else '/v1/results'
    if a.get:
        conn.request('GET', path, headers=headers)
    elif a.chunked:
        headers['Content-Type'] = 'application/x-ndjson'
        conn.request('POST', path, body=iter([body[i:i + 65536] for i in
                                              range(0, len(body), 65536)]),
                     headers=headers, encode_chunked=True)
    else:
        headers['Content-Type'] = 'application/x-ndjson'
        conn.request('POST', path, body=body, headers=headers)
    try:
        r = conn.getresponse()
        out = r.read().decode('utf-8', 'replace').strip()
        print(r.status, out)
    except (ConnectionError, http.client.HTTPException) as e:
        # A server may answer 413 and close before reading the whole body.
        print('000', type(e).__name__)
    return 0


if __name__ == '__main__':
    sys.exit(main())
