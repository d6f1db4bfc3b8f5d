/* SPDX-License-Identifier: MIT */
/* The probe's optional HTTP listener (probe.metrics_listen, off by
 * default): GET /metrics (Prometheus text format, docs/metrics.md) and GET
 * /healthz, on the probe's libev loop. A minimal HTTP/1.0-style server: one
 * request per connection, bounded request size (8 KiB) and time (5 s). */
#ifndef PROBER_METRICS_HTTP_H
#define PROBER_METRICS_HTTP_H

#include "buf.h"
#include "vt_status.h"

struct ev_loop;
struct metrics_http;

/* Fills body and *ctype for GET path; returns the HTTP status (404 for an
 * unknown path). */
typedef int metrics_http_fn(void *arg, const char *path, const char **ctype,
                            struct vt_buf *body);

/* Listens on "HOST:PORT" ("127.0.0.1:9741", "[::1]:9741"). Logs why and
 * returns NULL with *st set on failure. */
struct metrics_http *metrics_http_start(struct ev_loop *loop, const char *addr,
                                        metrics_http_fn *fn, void *arg,
                                        enum vt_status *st);
void metrics_http_stop(struct metrics_http *m); /* m may be NULL */

#endif
