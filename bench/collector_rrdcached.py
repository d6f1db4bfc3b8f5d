#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_rrdcached.py: talks to the benchmark's rrdcached over its unix
socket (bench/collector_bench.sh).

  collector_rrdcached.py stats SOCK
      prints rrdcached's STATS as one JSON object (exit 1 if unreachable)
  collector_rrdcached.py ready SOCK TIMEOUT_S
      waits until STATS answers; exit 1 after TIMEOUT_S
  collector_rrdcached.py drain SOCK UPDATES TIMEOUT_S
      sends FLUSHALL, then polls STATS every 20 ms until UpdatesWritten has
      grown by UPDATES (one per file: rrdcached writes all of a file's
      pending values with one rrd_update) and QueueLength is 0. Prints
      {"seconds":S,"updates_written":U,"data_sets_written":D,"stats":{...}}
      and exits 1 when TIMEOUT_S passes first.
Standard library only."""
import json
import socket
import sys
import time


def command(sock_path, line, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(line.encode() + b'\n')
        buf = b''
        need = None
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            lines = buf.split(b'\n')
            if need is None and len(lines) > 1:
                head = lines[0].decode()
                n = int(head.split(' ', 1)[0])
                need = max(n, 0) + 1
            if need is not None and len(lines) - 1 >= need:
                break
        return buf.decode().split('\n')[:need]
    finally:
        s.close()


def stats(sock_path):
    lines = command(sock_path, 'STATS')
    out = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(':')
        try:
            out[k.strip()] = int(v.strip())
        except ValueError:
            out[k.strip()] = v.strip()
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, sock_path = sys.argv[1], sys.argv[2]
    if cmd == 'stats':
        try:
            print(json.dumps(stats(sock_path)))
        except (OSError, ValueError) as e:
            print('rrdcached: %s' % e, file=sys.stderr)
            return 1
        return 0
    if cmd == 'ready':
        deadline = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < deadline:
            try:
                stats(sock_path)
                return 0
            except (OSError, ValueError):
                time.sleep(0.05)
        return 1
    if cmd == 'drain':
        want = int(sys.argv[3])
        deadline = time.monotonic() + float(sys.argv[4])
        base = stats(sock_path)
        t0 = time.monotonic()
        reply = command(sock_path, 'FLUSHALL')
        st = base
        while time.monotonic() < deadline:
            st = stats(sock_path)
            done = st.get('UpdatesWritten', 0) - base.get('UpdatesWritten', 0)
            if done >= want and st.get('QueueLength', 1) == 0:
                break
            time.sleep(0.02)
        secs = time.monotonic() - t0
        done = st.get('UpdatesWritten', 0) - base.get('UpdatesWritten', 0)
        print(json.dumps({
            'seconds': secs, 'flushall_reply': reply[0] if reply else '',
            'updates_written': done,
            'data_sets_written': st.get('DataSetsWritten', 0) -
            base.get('DataSetsWritten', 0),
            'stats': st}))
        return 0 if done >= want and st.get('QueueLength', 1) == 0 else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
