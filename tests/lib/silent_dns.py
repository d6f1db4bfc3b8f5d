#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DNS server that never answers: reads every UDP datagram and drops it,
accepts TCP connections and never writes.  Used to test resolver timeouts.

usage: silent_dns.py [--addr 127.0.0.1] [--port 0] [--port-file FILE]
                     [--lifetime 300]

With --port 0 (the default) the kernel picks a port that is free for both
UDP and TCP; the port is printed on stdout and written to --port-file
(atomically, via rename) once both sockets are bound.  Exits by itself after
--lifetime seconds so a test that dies cannot leave it behind for long.
"""
import argparse
import os
import select
import socket
import sys
import time


def bind_pair(addr, port):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    for _ in range(50):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        t = socket.socket(fam, socket.SOCK_STREAM)
        try:
            u.bind((addr, port))
            p = u.getsockname()[1]
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((addr, p))
            t.listen(16)
            return u, t, p
        except OSError:
            u.close()
            t.close()
            if port:
                raise
    raise OSError('no free port')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--addr', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    ap.add_argument('--lifetime', type=float, default=300.0)
    a = ap.parse_args()

    u, t, port = bind_pair(a.addr, a.port)
    if a.port_file:
        tmp = a.port_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % port)
        os.rename(tmp, a.port_file)
    print(port, flush=True)

    held = []
    deadline = time.monotonic() + a.lifetime
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([u, t], [], [], min(left, 1.0))
        if u in r:
            u.recvfrom(65535)
        if t in r:
            c, _ = t.accept()
            held.append(c)  # keep it open, never answer
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
