#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""alert_sink.py PORT LOG [FAIL_PATH=N ...]: an HTTP receiver for alert
tests. Every POST is appended to LOG as one JSON line {"path", "headers",
"body", "status"}. A path given as FAIL_PATH=N answers 500 to its first N
requests, then 200. Standard library only."""
import http.server
import json
import sys
import threading

port, log = int(sys.argv[1]), sys.argv[2]
fail = {}
for a in sys.argv[3:]:
    p, n = a.rsplit('=', 1)
    fail[p] = int(n)
lock = threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode('utf-8', 'replace')
        with lock:
            status = 200
            if fail.get(self.path, 0) > 0:
                fail[self.path] -= 1
                status = 500
            with open(log, 'a') as f:
                f.write(json.dumps({'path': self.path,
                                    'headers': dict(self.headers),
                                    'body': body, 'status': status}) + '\n')
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
