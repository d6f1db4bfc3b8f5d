/* SPDX-License-Identifier: MIT */
/* The probe's metrics listener (see metrics_http.h). */
#include "config.h"

#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "net.h"

#define MH_REQ_MAX 8192
#define MH_TIMEOUT_S 5.0
#define MH_CONN_MAX 64

struct mh_conn {
  struct metrics_http *m;
  ev_io io;
  ev_timer timer;
  char req[MH_REQ_MAX];
  size_t req_len;
  struct vt_buf out;
  size_t out_off;
  struct mh_conn *next, *prev;
};

struct metrics_http {
  struct ev_loop *loop;
  int fd;
  ev_io io;
  metrics_http_fn *fn;
  void *arg;
  struct mh_conn *conns;
  unsigned n_conns;
};

static void mh_close(struct mh_conn *c)
{
  struct metrics_http *m = c->m;
  ev_io_stop(m->loop, &c->io);
  ev_timer_stop(m->loop, &c->timer);
  close(c->io.fd);
  if (c->prev)
    c->prev->next = c->next;
  else
    m->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  m->n_conns--;
  vt_buf_cleanup(&c->out);
  free(c);
}

static void mh_reply(struct mh_conn *c, int status, const char *ctype,
                     const struct vt_buf *body)
{
  const char *reason = status == 200   ? "OK"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                       : status == 400 ? "Bad Request"
                                       : "Error";
  vt_buf_reset(&c->out);
  if (vt_buf_addf(&c->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: "
                  "%zu\r\nConnection: close\r\n\r\n",
                  status, reason, ctype, body ? body->len : 0) != VT_OK ||
      (body && body->len &&
       vt_buf_add(&c->out, body->data, body->len) != VT_OK)) {
    mh_close(c);
    return;
  }
  c->out_off = 0;
  ev_io_stop(c->m->loop, &c->io);
  ev_io_set(&c->io, c->io.fd, EV_WRITE);
  ev_io_start(c->m->loop, &c->io);
}

static void mh_request(struct mh_conn *c)
{
  char method[8], path[512];
  if (sscanf(c->req, "%7s %511s", method, path) != 2) {
    mh_reply(c, 400, "text/plain", NULL);
    return;
  }
  char *q = strchr(path, '?');
  if (q)
    *q = '\0';
  if (strcmp(method, "GET") != 0) {
    mh_reply(c, 405, "text/plain", NULL);
    return;
  }
  struct vt_buf body = {0};
  const char *ctype = "text/plain; charset=utf-8";
  int status = c->m->fn(c->m->arg, path, &ctype, &body);
  mh_reply(c, status, ctype, &body);
  vt_buf_cleanup(&body);
}

static void mh_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  struct mh_conn *c = w->data;
  if (revents & EV_WRITE) {
    ssize_t n = write(w->fd, c->out.data + c->out_off, c->out.len - c->out_off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      mh_close(c);
      return;
    }
    c->out_off += (size_t)n;
    if (c->out_off == c->out.len)
      mh_close(c);
    return;
  }
  ssize_t n = read(w->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    mh_close(c);
    return;
  }
  c->req_len += (size_t)n;
  c->req[c->req_len] = '\0';
  if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
    mh_request(c);
  else if (c->req_len == sizeof(c->req) - 1)
    mh_reply(c, 400, "text/plain", NULL);
}

static void mh_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  mh_close(w->data);
}

static void mh_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  struct metrics_http *m = w->data;
  int fd = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  struct mh_conn *c = m->n_conns < MH_CONN_MAX ? calloc(1, sizeof(*c)) : NULL;
  if (!c) {
    close(fd);
    return;
  }
  c->m = m;
  ev_io_init(&c->io, mh_conn_cb, fd, EV_READ);
  c->io.data = c;
  ev_timer_init(&c->timer, mh_timeout_cb, MH_TIMEOUT_S, 0.);
  c->timer.data = c;
  ev_io_start(loop, &c->io);
  ev_timer_start(loop, &c->timer);
  c->next = m->conns;
  if (m->conns)
    m->conns->prev = c;
  m->conns = c;
  m->n_conns++;
}

struct metrics_http *metrics_http_start(struct ev_loop *loop, const char *addr,
                                        metrics_http_fn *fn, void *arg,
                                        enum vt_status *st)
{
  char host[256], port[8];
  unsigned p;
  if (!vt_net_hostport(addr, VT_NET_PORT_ZERO, host, sizeof(host), &p)) {
    vt_err("probe: metrics_listen \"%s\" is not HOST:PORT", addr);
    *st = VT_EINVAL;
    return NULL;
  }
  snprintf(port, sizeof(port), "%u", p);
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags =
                               AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo(host, port, &hints, &ai);
  if (rc != 0) {
    vt_err("probe: metrics_listen \"%s\": %s", addr, gai_strerror(rc));
    *st = VT_EINVAL;
    return NULL;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
    vt_err("probe: metrics_listen %s: %s", addr, strerror(errno));
    if (fd >= 0)
      close(fd);
    freeaddrinfo(ai);
    *st = VT_EIO;
    return NULL;
  }
  freeaddrinfo(ai);
  struct metrics_http *m = calloc(1, sizeof(*m));
  if (!m) {
    close(fd);
    *st = VT_ENOMEM;
    return NULL;
  }
  m->loop = loop;
  m->fd = fd;
  m->fn = fn;
  m->arg = arg;
  ev_io_init(&m->io, mh_accept_cb, fd, EV_READ);
  m->io.data = m;
  ev_io_start(loop, &m->io);
  vt_info("probe: metrics and health on http://%s/metrics", addr);
  *st = VT_OK;
  return m;
}

void metrics_http_stop(struct metrics_http *m)
{
  if (!m)
    return;
  while (m->conns)
    mh_close(m->conns);
  ev_io_stop(m->loop, &m->io);
  close(m->fd);
  free(m);
}
