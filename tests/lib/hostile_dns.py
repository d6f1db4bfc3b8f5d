#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DNS server that misbehaves on purpose, for the probe's robustness tests.

usage: hostile_dns.py PORT [--addr 127.0.0.1] [--lifetime 300]

Listens on UDP and TCP at ADDR:PORT (standard library only), prints
"ready PORT" on stdout once both sockets are bound, logs one line per query
on stderr ("udp A tc.hostile.test -> tc") and exits by itself after
--lifetime seconds so a test that dies cannot leave it behind for long.

What it answers depends on the first label of the queried name, so one
server covers every case (X.hostile.test, any suffix):

  garbage    random bytes after the query's ID (not a DNS message; fixed
             seed, so every run sends the same bytes)
  short      5 bytes: the right ID, then a cut-off header
  wrongid    a valid answer (2 A records) under another transaction ID
  wrongname  a valid answer (2 A records) to another question name
  many       NOERROR with 200 A records (10.0.0.0 ... 10.0.0.199), TTL 60,
             in one oversized UDP datagram (and the same over TCP)
  loop       one record whose owner name is a compression pointer to itself
  badrdlen   one record whose RDLENGTH is 12 bytes longer than its data,
             running past the end of the packet (A: RDLENGTH 16)
  tc         over UDP: header + question with TC set and no records; over
             TCP: 2 A records (192.0.2.31, 192.0.2.32), TTL 60
  hugettl    one A record (192.0.2.41) with TTL 0xFFFFFFFF
  formerr    rcode FORMERR, no records
  notimp     rcode NOTIMP, no records
  slow       the "ok" answer, sent 3 s late
  ok         2 A records (192.0.2.1, 192.0.2.2), TTL 60
  dropaaaa   answers A (192.0.2.1, .2), never answers AAAA
  dropa      never answers A (as if that one datagram were lost); AAAA
             gets NODATA at once
  (other)    REFUSED

AAAA (and any other type) gets NOERROR without records (NODATA) for the
cases about the records (many, hugettl, ok, tc over TCP, dropa); the cases
about the packet or the server (garbage, short, wrongid, wrongname, loop,
badrdlen, tc over UDP, formerr, notimp, slow) behave the same for every
type (loop and badrdlen with a record of the asked type).
"""
import argparse
import random
import select
import socket
import struct
import sys
import threading
import time

T_A, T_AAAA = 1, 28
NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 3, 4, 5
SLOW_S = 3.0

OK_ADDRS = ['192.0.2.1', '192.0.2.2']
TC_ADDRS = ['192.0.2.31', '192.0.2.32']
OTHER_ADDRS = ['192.0.2.51', '192.0.2.52']
HUGE_TTL_ADDR = '192.0.2.41'


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


def parse_query(q):
    """(id, flags, qname labels as bytes, qtype, qclass, question bytes) or
    None when q is not a query with one plain question."""
    if len(q) < 12:
        return None
    qid, flags, qd = struct.unpack('!HHH', q[:6])
    if flags & 0x8000 or qd != 1:
        return None
    p, labels = 12, []
    while True:
        if p >= len(q):
            return None
        n = q[p]
        if n == 0:
            p += 1
            break
        if n & 0xC0 or p + 1 + n > len(q):
            return None
        labels.append(q[p + 1:p + 1 + n])
        p += 1 + n
    if p + 4 > len(q):
        return None
    qtype, qclass = struct.unpack('!HH', q[p:p + 4])
    return qid, flags, labels, qtype, qclass, q[12:p + 4]


def encode_name(labels):
    return b''.join(bytes([len(l)]) + l for l in labels) + b'\0'


def header(qid, qflags, rcode=NOERROR, an=0, tc=False):
    # QR, opcode 0, AA, RD copied from the query, RA.
    flags = 0x8000 | 0x0400 | (qflags & 0x0100) | 0x0080 | rcode
    if tc:
        flags |= 0x0200
    return struct.pack('!HHHHHH', qid, flags, 1, an, 0, 0)


def rr(rtype, ttl, rdata, owner=b'\xc0\x0c', rdlen=None):
    """One record; the owner defaults to a pointer to the question name."""
    if rdlen is None:
        rdlen = len(rdata)
    return owner + struct.pack('!HHIH', rtype, 1, ttl, rdlen) + rdata


def a_records(addrs, ttl=60):
    return [rr(T_A, ttl, socket.inet_aton(a)) for a in addrs]


def message(qid, qflags, question, records=(), rcode=NOERROR, tc=False):
    return (header(qid, qflags, rcode, len(records), tc) + question +
            b''.join(records))


def fake_rdata(qtype):
    return socket.inet_pton(socket.AF_INET6, '2001:db8::66') \
        if qtype == T_AAAA else socket.inet_aton('192.0.2.66')


def answer(q, tcp):
    """(delay in seconds, reply bytes or None, case name) for query q."""
    parsed = parse_query(q)
    if parsed is None:
        return 0, None, '(not a query)'
    qid, qf, labels, qtype, _qclass, question = parsed
    case = labels[0].decode('ascii', 'replace').lower() if labels else ''

    def records_or_nodata(recs):
        return message(qid, qf, question, recs if qtype == T_A else [])

    if case == 'garbage':
        rng = random.Random(0x6a7b + qtype)
        return 0, q[:2] + bytes(rng.randrange(256) for _ in range(62)), case
    if case == 'short':
        return 0, q[:2] + b'\x81\x80\x00', case
    if case == 'wrongid':
        return 0, message(qid ^ 0x5A5A, qf, question,
                          a_records(OK_ADDRS)), case
    if case == 'wrongname':
        # The question part ends with type and class; keep those.
        other = encode_name([b'elsewhere'] + labels[1:]) + question[-4:]
        return 0, message(qid, qf, other, a_records(OTHER_ADDRS)), case
    if case == 'many':
        recs = a_records(['10.0.0.%d' % i for i in range(200)])
        return 0, records_or_nodata(recs), case
    if case == 'loop':
        # The record starts right after the header and question; its owner
        # name is a pointer to that very offset.
        off = 12 + len(question)
        owner = struct.pack('!H', 0xC000 | off)
        rec = rr(qtype, 60, fake_rdata(qtype), owner=owner)
        return 0, message(qid, qf, question, [rec]), case
    if case == 'badrdlen':
        data = fake_rdata(qtype)
        rec = rr(qtype, 60, data, rdlen=len(data) + 12)
        return 0, message(qid, qf, question, [rec]), case
    if case == 'tc':
        if not tcp:
            return 0, message(qid, qf, question, tc=True), case
        return 0, records_or_nodata(a_records(TC_ADDRS)), case
    if case == 'hugettl':
        return 0, records_or_nodata(a_records([HUGE_TTL_ADDR],
                                              ttl=0xFFFFFFFF)), case
    if case == 'formerr':
        return 0, message(qid, qf, question, rcode=FORMERR), case
    if case == 'notimp':
        return 0, message(qid, qf, question, rcode=NOTIMP), case
    if case == 'slow':
        return SLOW_S, records_or_nodata(a_records(OK_ADDRS)), case
    if case == 'ok':
        return 0, records_or_nodata(a_records(OK_ADDRS)), case
    if case == 'dropa':
        if qtype == T_A:
            return 0, None, case
        return 0, records_or_nodata([]), case
    if case == 'dropaaaa':
        if qtype == T_AAAA:
            return 0, None, case
        return 0, records_or_nodata(a_records(OK_ADDRS)), case
    return 0, message(qid, qf, question, rcode=REFUSED), case


def qdesc(q):
    p = parse_query(q)
    if p is None:
        return '?'
    name = b'.'.join(p[2]).decode('ascii', 'replace')
    t = {T_A: 'A', T_AAAA: 'AAAA'}.get(p[3], 'TYPE%d' % p[3])
    return '%s %s' % (t, name)


def udp_reply(sock, q, peer):
    delay, reply, case = answer(q, False)
    log('udp %s -> %s' % (qdesc(q), case))
    if reply is None:
        return

    def send():
        try:
            sock.sendto(reply, peer)
        except OSError as e:
            log('udp send to %s: %s' % (peer, e))

    if delay:
        t = threading.Timer(delay, send)
        t.daemon = True
        t.start()
    else:
        send()


def recv_exact(c, n):
    buf = b''
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_serve(c):
    try:
        c.settimeout(30)
        while True:
            h = recv_exact(c, 2)
            if h is None:
                return
            q = recv_exact(c, struct.unpack('!H', h)[0])
            if q is None:
                return
            delay, reply, case = answer(q, True)
            log('tcp %s -> %s' % (qdesc(q), case))
            if reply is None:
                continue
            if delay:
                time.sleep(delay)
            c.sendall(struct.pack('!H', len(reply)) + reply)
    except OSError:
        pass
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('port', type=int)
    ap.add_argument('--addr', default='127.0.0.1')
    ap.add_argument('--lifetime', type=float, default=300.0)
    a = ap.parse_args()

    fam = socket.AF_INET6 if ':' in a.addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((a.addr, a.port))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((a.addr, a.port))
    t.listen(16)
    print('ready %d' % a.port, flush=True)

    deadline = time.monotonic() + a.lifetime
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([u, t], [], [], min(left, 1.0))
        if u in r:
            try:
                q, peer = u.recvfrom(65535)
            except OSError:
                q = None
            if q:
                udp_reply(u, q, peer)
        if t in r:
            try:
                c, _ = t.accept()
            except OSError:
                continue
            threading.Thread(target=tcp_serve, args=(c,), daemon=True).start()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
