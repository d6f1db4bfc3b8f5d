#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Prometheus text endpoint that counts real requests (issue 16 tests).

  prom_counter.py --listen IP --port-file FILE [--lifetime S]

  GET /metrics   the counters, text format 0.0.4:
                   vt_requests_total{code="200"} N   (requests to other paths)
                   vt_requests_total{code="500"} 7   (a constant decoy)
                   vt_bytes_total 1.5e+06            (a constant)
  GET /garbage   200 with an HTML page (does not parse as the text format)
  GET /badvalue  200 with "vt_requests_total{code=\"200\"} NaN" on line 3
  anything else  200 "counted", and N grows by one

The counter lives in memory: a restart starts at 0 (a counter reset). Each
/metrics read prints "read N" and SIGTERM "final N" on stdout (flushed), so
a test knows what a restart lost: the requests counted after the last
read. Exits
after --lifetime seconds (default 120) at the latest. Writes the bound port
to --port-file once listening.
"""
import argparse
import http.server
import os
import signal
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def reply(self, body, ctype='text/plain; version=0.0.4'):
        data = body.encode()
        self.send_response(200)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == '/metrics':
            with Handler.lock:
                n = Handler.count
                print('read %d' % n, flush=True)
            self.reply('# HELP vt_requests_total Requests served.\n'
                       '# TYPE vt_requests_total counter\n'
                       'vt_requests_total{code="200"} %d\n'
                       'vt_requests_total{code="500"} 7\n'
                       'vt_bytes_total 1.5e+06\n' % n)
        elif self.path == '/garbage':
            self.reply('<!DOCTYPE html>\n<html><body>login</body></html>\n',
                       'text/html')
        elif self.path == '/badvalue':
            self.reply('# TYPE vt_requests_total counter\n'
                       'vt_requests_total{code="500"} 7\n'
                       'vt_requests_total{code="200"} NaN\n')
        else:
            with Handler.lock:
                Handler.count += 1
            self.reply('counted')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--listen', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--lifetime', type=float, default=120)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer((a.listen, a.port), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % srv.server_address[1])
    os.rename(tmp, a.port_file)
    t = threading.Timer(a.lifetime, srv.shutdown)
    t.daemon = True
    t.start()
    def term(*_):
        with Handler.lock:
            print('final %d' % Handler.count, flush=True)
            os._exit(0)
    signal.signal(signal.SIGTERM, term)
    srv.serve_forever()


if __name__ == '__main__':
    main()
