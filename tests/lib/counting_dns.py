#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DNS server that counts what it is asked, for the probe's budget tests.

usage: counting_dns.py --port-file FILE [--addr 127.0.0.1] [--lifetime 120]

Listens on UDP at ADDR (port picked by the kernel, written to FILE once
bound), logs one line per query on stdout ("q A name.test") and one per
answer sent ("a A name.test outstanding=N"), flushed at once, and exits by
itself after --lifetime seconds. What it answers depends on the first label
of the name:

  drop1-*   the first query of each type is dropped (a lost datagram), the
            next ones answered as below
  slow-*    answered 0.2 s late; "max_outstanding=N" in the answer lines
            counts the queries received and not yet answered at once
  none-*    NOERROR without records for every type
  (other)   A: 127.0.0.1, TTL 60; AAAA: NOERROR without records
"""
import argparse
import heapq
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_dns import T_A, T_AAAA, a_records, message, parse_query  # noqa

SLOW_S = 0.2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--addr', default='127.0.0.1')
    ap.add_argument('--lifetime', type=float, default=120)
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.addr, 0))
    with open(args.port_file + '.tmp', 'w') as f:
        f.write('%d\n' % s.getsockname()[1])
    os.rename(args.port_file + '.tmp', args.port_file)
    seen = {}
    later = []  # (when, seq, reply, peer, label)
    seq = 0
    outstanding = max_out = 0
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        wait = min([later[0][0] - now] if later else [0.5])
        r, _, _ = select.select([s], [], [], max(wait, 0))
        if r:
            q, peer = s.recvfrom(4096)
            p = parse_query(q)
            if p is None:
                continue
            qid, qf, labels, qtype, _qc, question = p
            name = b'.'.join(labels).decode('ascii', 'replace').lower()
            tname = {T_A: 'A', T_AAAA: 'AAAA'}.get(qtype, str(qtype))
            print('q %s %s' % (tname, name), flush=True)
            key = (name, qtype)
            seen[key] = seen.get(key, 0) + 1
            if name.startswith('drop1-') and seen[key] == 1:
                continue
            recs = a_records(['127.0.0.1']) \
                if qtype == T_A and not name.startswith('none-') else []
            reply = message(qid, qf, question, recs)
            delay = SLOW_S if name.startswith('slow-') else 0
            outstanding += 1
            max_out = max(max_out, outstanding)
            seq += 1
            heapq.heappush(later, (time.monotonic() + delay, seq, reply,
                                   peer, '%s %s' % (tname, name)))
        now = time.monotonic()
        while later and later[0][0] <= now:
            _, _, reply, peer, label = heapq.heappop(later)
            s.sendto(reply, peer)
            outstanding -= 1
            print('a %s outstanding=%d max_outstanding=%d' %
                  (label, outstanding, max_out), flush=True)


if __name__ == '__main__':
    main()
