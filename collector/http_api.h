/* SPDX-License-Identifier: MIT */
/* The collector's HTTP(S) server: libmicrohttpd in epoll mode on the libev
 * loop (no thread of its own). It collects each request's headers and body
 * (bounded: 413 past max_body, from Content-Length at once or while
 * receiving) and hands complete requests to one handler on the loop.
 * Slow clients are bounded: connection limits in all and per address,
 * absolute header and body deadlines, an optional check of the headers
 * before a body is read, and a bound on the bodies held at once
 * (docs/collector.md, "Slow and hostile clients"). */
#ifndef COLLECTOR_HTTP_API_H
#define COLLECTOR_HTTP_API_H

#include <stddef.h>

#include "buf.h"
#include "vt_status.h"

struct ev_loop;
struct http_api;
struct http_api_request;

struct http_api_conf {
  const char *listen; /* "127.0.0.1:8740", "[::1]:8740", "0.0.0.0:8740" */
  const char *tls_cert_file; /* PEM paths; both NULL = plain HTTP */
  const char *tls_key_file;
  size_t max_body;         /* bytes; 0 accepts no body at all */
  unsigned conn_limit;     /* 0 = the default, 1024; past it a new
                            * connection closes the one whose request has
                            * been in progress longest */
  unsigned conn_timeout_s; /* idle connections closed after; 0 = 30 s */
  unsigned per_ip_limit;   /* connections per client address; 0 = none */
  /* Absolute deadlines that a trickle of bytes does not extend: the
   * request line and headers must be complete header_timeout_s after the
   * connection opened (or after the previous reply on a kept-alive one),
   * the body and the reply body_timeout_s after the headers; otherwise
   * the connection is closed. 0 = 10 s and 60 s. */
  double header_timeout_s;
  double body_timeout_s;
  /* Bytes of request bodies held at once, over all connections; a request
   * that would go past it gets 503 (declared length) or is closed
   * (chunked). 0 = no limit beyond conn_limit * max_body. */
  size_t max_buffered;
  /* Optional: called once the headers of a request with a body are in,
   * before any of the body is read, with body NULL and body_len 0 (the
   * declared length is not known to it). *status is preset to 0; leaving
   * it 0 lets the body in, anything else is the reply (unauthenticated
   * bodies are never buffered). Same arg as the handler. */
  void (*precheck)(void *arg, const struct http_api_request *req, int *status,
                   struct vt_buf *body);
  /* Optional, called with the handler's arg once a reply has been sent in
   * full: the request's path (cut at 63 bytes), the reply's status, the
   * seconds from the end of the headers to the complete body, and from the
   * complete body to the reply's last byte handed to the kernel. */
  void (*done)(void *arg, const char *path, int status, double body_s,
               double reply_s);
};

/* A complete request, valid during the handler call only. */
struct http_api_request {
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* percent-decoded, without the query string */
  const char *client; /* peer address text (no port), for logs */
  const char *body;
  size_t body_len;
  void *conn; /* opaque, for http_api_header */
};

/* The handler fills status, content type and body of the reply (body is an
 * empty buffer on entry; status is preset to 500 and the content type to
 * application/json; a status outside 100-599 becomes 500). It may call
 * http_api_stop. */
typedef void http_api_handler_fn(void *arg, const struct http_api_request *req,
                                 int *status, const char **content_type,
                                 struct vt_buf *body);

/* Value of request header name (case-insensitive), or NULL. */
const char *http_api_header(const struct http_api_request *req,
                            const char *name);

/* Starts listening. Logs why on failure (address in use, bad certificate)
 * and returns NULL with *st set. */
struct http_api *http_api_start(struct ev_loop *loop,
                                const struct http_api_conf *conf,
                                http_api_handler_fn *handler, void *arg,
                                enum vt_status *st);

/* The port actually bound (useful with port 0). */
int http_api_port(const struct http_api *api);

/* Counters of the front door, for /healthz. */
struct http_api_stats {
  unsigned long connections;      /* open now */
  size_t buffered;                /* bytes of request bodies held now */
  unsigned long refused_limit;    /* over the total or per-address limit */
  unsigned long closed_deadline;  /* header or body deadline passed */
  unsigned long evicted;          /* oldest request closed past the limit */
  unsigned long refused_memory;   /* max_buffered reached */
  unsigned long refused_precheck; /* precheck answered before the body */
  unsigned long refused_framing;  /* conflicting Content-Length etc. */
};
void http_api_get_stats(const struct http_api *api, struct http_api_stats *out);

/* Stops listening, closes connections, frees; api may be NULL. */
void http_api_stop(struct http_api *api);

#endif
