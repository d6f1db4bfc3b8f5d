/* SPDX-License-Identifier: MIT */
/* The collector's HTTP(S) server: libmicrohttpd in epoll mode on the libev
 * loop (no thread of its own). It collects each request's headers and body
 * (bounded: 413 past max_body, from Content-Length at once or while
 * receiving) and hands complete requests to one handler on the loop. */
#ifndef COLLECTOR_HTTP_API_H
#define COLLECTOR_HTTP_API_H

#include <stddef.h>

#include "buf.h"
#include "vt_status.h"

struct ev_loop;
struct http_api;

struct http_api_conf {
  const char *listen; /* "127.0.0.1:8740", "[::1]:8740", "0.0.0.0:8740" */
  const char *tls_cert_file; /* PEM paths; both NULL = plain HTTP */
  const char *tls_key_file;
  size_t max_body;         /* bytes; 0 accepts no body at all */
  unsigned conn_limit;     /* 0 = the default, 1024 */
  unsigned conn_timeout_s; /* idle connections closed after; 0 = 30 s */
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
typedef void http_api_handler_fn(void *arg,
                                 const struct http_api_request *req,
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

/* Stops listening, closes connections, frees; api may be NULL. */
void http_api_stop(struct http_api *api);

#endif
