#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""slow_clients.py: opens many slow HTTP connections to a collector, for
tests and bench/, and reports what the server did with them.

  slow_clients.py HOST PORT --count N [options]
  --mode header    trickle the request headers one byte per --interval
  --mode body      send complete headers of a known probe (--probe NAME,
                   Content-Length --length), then trickle the body
  --sources A,B    source addresses to spread the sockets over (127.0.0.x)
  --interval S     seconds between bytes on each socket (default 1)
  --duration S     stop after this long (bounded; default 10)
  --ready FILE     touch FILE once every socket has been tried

Prints one JSON line: opened, refused (connect failed), closed_at_once
(within 0.5 s: refused at the door), closed_by_server (later), still_open,
the median and largest life of a server-closed socket in seconds, and the
most open at once. Standard library
only; every socket is closed at the end."""
import argparse
import json
import os
import selectors
import socket
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--mode', choices=['header', 'body'], default='header')
    ap.add_argument('--probe', default='a')
    ap.add_argument('--length', type=int, default=60000)
    ap.add_argument('--sources', default='127.0.0.2')
    ap.add_argument('--interval', type=float, default=1.0)
    ap.add_argument('--duration', type=float, default=10.0)
    ap.add_argument('--ready')
    a = ap.parse_args()
    sources = a.sources.split(',')
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    deadline = start + a.duration
    socks = {}  # sock -> [opened_at, bytes_left_to_send]
    opened = refused = 0
    lives = []
    if a.mode == 'header':
        head = b'POST /v1/results HTTP/1.1\r\nHost: x\r\n'
        trickle = b'X-Slow: ' + b'a' * 100000
    else:
        head = ('POST /v1/results HTTP/1.1\r\nHost: x\r\n'
                'X-Vantage-Probe: %s\r\nX-Vantage-Seq: 0\r\n'
                'X-Vantage-Count: 1\r\nX-Vantage-Time: %d\r\n'
                'X-Vantage-Signature: %s\r\nContent-Length: %d\r\n\r\n' %
                (a.probe, int(time.time()), '0' * 64, a.length)).encode()
        trickle = b'x' * a.length
    peak = 0
    for i in range(a.count):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((sources[i % len(sources)], 0))
            s.settimeout(2)
            s.connect((a.host, a.port))
            s.sendall(head)
            s.setblocking(False)
        except OSError:
            refused += 1
            s.close()
            continue
        opened += 1
        socks[s] = [time.monotonic(), 0]
        sel.register(s, selectors.EVENT_READ)
        peak = max(peak, len(socks))
    if a.ready:
        open(a.ready, 'w').close()
    next_tick = time.monotonic() + a.interval
    while socks and time.monotonic() < deadline:
        timeout = max(0.0, min(next_tick, deadline) - time.monotonic())
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except OSError:
                data = b''
            if data:
                continue  # a reply (401, 503): wait for the close
            lives.append(time.monotonic() - socks.pop(s)[0])
            sel.unregister(s)
            s.close()
        if time.monotonic() >= next_tick:
            next_tick += a.interval
            for s, st in list(socks.items()):
                try:
                    s.send(trickle[st[1]:st[1] + 1])
                    st[1] += 1
                except OSError:
                    pass  # the read side sees the close
    for s in socks:
        s.close()
    # Closed within half a second: refused at the door (per-address limit).
    late = [t for t in lives if t >= 0.5]
    print(json.dumps({
        'opened': opened, 'refused': refused,
        'closed_at_once': len(lives) - len(late),
        'closed_by_server': len(late), 'still_open': len(socks),
        'median_life_s': round(statistics.median(late), 2) if late else None,
        'max_life_s': round(max(late), 2) if late else None,
        'peak_open': peak, 'elapsed_s': round(time.monotonic() - start, 2)}))


if __name__ == '__main__':
    main()
