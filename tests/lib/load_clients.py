#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Simulated users for the load check's tests and the demo (issue 16).

Real HTTP requests, bounded in time and in count:

  load_clients.py --url http://IP:PORT/PATH --rate R --duration S
      one client at a fixed address, R requests per second

  load_clients.py --host NAME --port P --dns IP:PORT --clients N
                  --rate R --duration S [--path /] [--max-requests M]
      N clients, each with its own TTL-respecting DNS cache (like a stub
      resolver's): it asks the DNS server for NAME's A records, keeps the
      answer for its TTL, sends its requests (Host: NAME) to one address of
      the answer (picked at random per lookup, as round robin spreads
      clients), and asks again once the TTL ran out. Clients start at
      random moments within the first second, so their caches expire at
      different times, as real users' do. Each client sends R requests per
      second on average.

On exit (time up, --max-requests reached, SIGTERM or SIGINT) prints one
JSON line: {"sent": N, "failed": N, "by_address": {IP: N}, "lookups": N,
"seconds": S}. With --log FILE, also "TS IP" per request sent (Unix time,
one line each), so tests can count requests per address per second.
No network access beyond the given addresses: meant for loopback and a
test's own namespaces.
"""
import argparse
import http.client
import json
import random
import signal
import socket
import struct
import sys
import threading
import time

MAX_CLIENTS = 2000
MAX_SECONDS = 3600


def dns_query_a(name, server, port, timeout):
    """A records of name: ([addresses], ttl) or None on any failure."""
    qid = random.randrange(65536)
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode('ascii')
    q += b'\x00' + struct.pack('>HH', 1, 1)
    s = socket.socket(socket.AF_INET6 if ':' in server else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (server, port))
        while True:
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack('>H', data[:2])[0] == qid:
                break
    except OSError:
        return None
    finally:
        s.close()
    flags, qd, an = struct.unpack('>HHH', data[2:8])
    if flags & 0x000F:
        return None

    def skip_name(off):
        while off < len(data):
            n = data[off]
            if n == 0:
                return off + 1
            if n & 0xC0 == 0xC0:
                return off + 2
            off += 1 + n
        raise ValueError('bad name')

    try:
        off = 12
        for _ in range(qd):
            off = skip_name(off) + 4
        addrs, ttl = [], None
        for _ in range(an):
            off = skip_name(off)
            rtype, _cls, rttl, rdlen = struct.unpack('>HHIH', data[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4:
                addrs.append(socket.inet_ntoa(data[off:off + 4]))
                ttl = rttl if ttl is None else min(ttl, rttl)
            off += rdlen
    except (ValueError, struct.error, IndexError):
        return None
    return (addrs, ttl or 0) if addrs else None


class Stats:
    def __init__(self, log):
        self.lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.lookups = 0
        self.by_address = {}
        self.log = log

    def note(self, ip, ok):
        with self.lock:
            if ok:
                self.sent += 1
                self.by_address[ip] = self.by_address.get(ip, 0) + 1
                if self.log:
                    self.log.write('%.3f %s\n' % (time.time(), ip))
            else:
                self.failed += 1


def request(ip, port, host, path, timeout):
    try:
        c = http.client.HTTPConnection(ip, port, timeout=timeout)
        c.request('GET', path, headers={'Host': host,
                                        'User-Agent': 'vantage-load-clients'})
        r = c.getresponse()
        r.read()
        c.close()
        return 200 <= r.status < 500
    except (OSError, http.client.HTTPException):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url')
    ap.add_argument('--host')
    ap.add_argument('--port', type=int, default=80)
    ap.add_argument('--path', default='/')
    ap.add_argument('--dns', help='IP:PORT of the DNS server')
    ap.add_argument('--clients', type=int, default=1)
    ap.add_argument('--rate', type=float, required=True,
                    help='requests per second per client')
    ap.add_argument('--duration', type=float, required=True)
    ap.add_argument('--max-requests', type=int, default=10**7)
    ap.add_argument('--timeout', type=float, default=2.0)
    ap.add_argument('--log')
    a = ap.parse_args()
    if not (0 < a.duration <= MAX_SECONDS) or not (0 < a.clients <= MAX_CLIENTS) \
            or not (0 < a.rate <= 1000):
        ap.error('--duration 0..%d s, --clients 1..%d, --rate 0..1000' %
                 (MAX_SECONDS, MAX_CLIENTS))
    fixed = None
    if a.url:
        from urllib.parse import urlsplit
        u = urlsplit(a.url)
        fixed = (u.hostname, u.port or 80)
        host = u.hostname
        path = u.path or '/'
        if u.query:
            path += '?' + u.query
    else:
        if not (a.host and a.dns):
            ap.error('either --url, or --host with --dns')
        host, path = a.host, a.path
        dns_ip, _, dns_port = a.dns.rpartition(':')
        dns_ip = dns_ip.strip('[]')
        dns_port = int(dns_port)

    log = open(a.log, 'a', buffering=1) if a.log else None
    stats = Stats(log)
    stop = threading.Event()
    budget = threading.Semaphore(a.max_requests)
    t_end = time.monotonic() + a.duration
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def client(i):
        rnd = random.Random(i * 7919 + int(time.time()))
        cache = None  # (addresses, expires at)
        # Spread starts and keep a steady pace (no bursts in lockstep).
        nxt = time.monotonic() + rnd.random() * min(1.0, 1.0 / a.rate)
        ip = None
        while not stop.is_set():
            now = time.monotonic()
            if now >= t_end:
                return
            if nxt > now:
                stop.wait(min(nxt - now, t_end - now))
                continue
            nxt += 1.0 / a.rate
            if fixed:
                ip, port = fixed
            else:
                port = a.port
                if cache is None or now >= cache[1]:
                    r = dns_query_a(host, dns_ip, dns_port, a.timeout)
                    with stats.lock:
                        stats.lookups += 1
                    if r is None:
                        stats.note(None, False)
                        continue
                    cache = (r[0], now + r[1])
                    ip = rnd.choice(r[0])
            if not budget.acquire(blocking=False):
                stop.set()
                return
            stats.note(ip, request(ip, port, host, path, a.timeout))

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(1 if fixed else a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    print(json.dumps({'sent': stats.sent, 'failed': stats.failed,
                      'by_address': stats.by_address,
                      'lookups': stats.lookups,
                      'seconds': round(time.time() - t0, 3)}))
    if log:
        log.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
