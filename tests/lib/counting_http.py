#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An HTTP server that counts connections open at once, for the probe's
budget tests.

usage: counting_http.py --port-file FILE --stats FILE [--delay 0.2]
                        [--lifetime 120] ADDR...

Listens on every ADDR at one port (picked by the kernel for the first,
written to --port-file once all are bound). Each request is answered "200
ok" after --delay seconds. After every request it rewrites --stats with
{"connections": N, "max_total": M, "max_per_addr": {ADDR: K}}: the most
connections that were open at the same moment, in all and per address (a
connection counts from its accept until its answer is about to be sent).
Exits by itself after --lifetime seconds.
"""
import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
import time

lock = threading.Lock()
state = {'open': {}, 'total': 0, 'connections': 0, 'max_total': 0,
         'max_per_addr': {}}


def write_stats(path):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump({'connections': state['connections'],
                   'max_total': state['max_total'],
                   'max_per_addr': state['max_per_addr']}, f)
    os.rename(tmp, path)


def make_handler(args):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def setup(self):
            super().setup()
            a = self.connection.getsockname()[0]
            with lock:
                state['connections'] += 1
                state['total'] += 1
                state['open'][a] = state['open'].get(a, 0) + 1
                state['max_total'] = max(state['max_total'], state['total'])
                state['max_per_addr'][a] = max(
                    state['max_per_addr'].get(a, 0), state['open'][a])

        def do_GET(self):
            time.sleep(args.delay)
            # Counted as closed before the client can see the answer: it
            # may open its next connection the moment it has it.
            a = self.connection.getsockname()[0]
            with lock:
                state['total'] -= 1
                state['open'][a] -= 1
                write_stats(args.stats)
            body = b'ok\n'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *a):
            pass
    return H


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--stats', required=True)
    ap.add_argument('--delay', type=float, default=0.2)
    ap.add_argument('--lifetime', type=float, default=120)
    ap.add_argument('addrs', nargs='+')
    args = ap.parse_args()
    h = make_handler(args)
    servers = [Server((args.addrs[0], 0), h)]
    port = servers[0].server_address[1]
    for a in args.addrs[1:]:
        servers.append(Server((a, port), h))
    write_stats(args.stats)
    with open(args.port_file + '.tmp', 'w') as f:
        f.write('%d\n' % port)
    os.rename(args.port_file + '.tmp', args.port_file)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(args.lifetime)


if __name__ == '__main__':
    sys.exit(main())
