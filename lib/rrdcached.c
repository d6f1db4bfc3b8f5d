/* SPDX-License-Identifier: MIT */
/* rrdcached's text protocol (rrdcached.h), spoken on a
 * non-blocking socket with a timeout, because librrd 1.7.2's rrdc_* calls
 * block without one (LIBS.md 3.2). Updates go as one BATCH per flush, and
 * the daemon's per-command errors are mapped back to the files. */
#include "config.h"

#include "rrdcached.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "grow.h"
#include "log.h"
#include "net.h"
#include "vt_time.h"

enum {
  /* rrdcached 1.7.2 journals at most RRD_CMD_MAX (4096) bytes of a command,
   * cutting a longer UPDATE mid-value (a wrong value is replayed after a
   * crash), and resets a connection whose line outgrows its 8192-byte read
   * buffer. Every line we send stays below this. */
  RRDCACHED_LINE_MAX = 4000,
};

/* rrdcached's RRDCACHED_DEFAULT_PORT */
#define RRDCACHED_DEFAULT_PORT 42217

enum rrdcached_mode {
  RRDCACHED_UNIX, /* on a unix socket, files created by the caller */
  RRDCACHED_TCP,  /* over TCP, files created with CREATE */
};

/* Values [first, first + n) of one file to send; create puts a CREATE in
 * front. */
struct rrdcached_span {
  size_t first, n;
  bool create;
};

/* What command k + 1 of a BATCH was, to map the daemon's errors back. */
struct rrdcached_cmd {
  size_t first, n; /* the UPDATE's values; a CREATE has n = 0 */
  bool create;
};

/* A status reply of rrdcached, pointing into the receive buffer. */
struct rrdcached_reply {
  long status;
  const char *msg; /* after the status number */
  char *lines;     /* the status (> 0) lines that follow, '\n'-separated */
};

struct rrdcached {
  enum rrdcached_mode mode;
  char *daemon; /* address as configured, for logs */
  char *addr;   /* unix: the socket path; tcp: the host */
  const char *host, *port;
  char port_text[8];
  char *wire_dir; /* the root escaped for the protocol */
  long step_s;
  char *const *layout;
  int n_layout;
  double io_timeout_s;
  enum vt_log_level fail_level; /* of the daemon's failures (conf->reader) */
  int fd;                       /* -1 when closed */
  bool failing; /* a daemon failure was logged; quiet until it heals */
  char io_err[160];
  struct vt_buf rbuf; /* replies */
  size_t rpos;        /* start of the next reply in rbuf */
  struct vt_buf text; /* the request */

  /* The values of the rrdcached_update at hand, and its error sink. */
  const struct rrdcached_value *v;
  void (*file_error)(void *arg, const char *relpath, const char *msg);
  void *arg;

  /* Scratch of rrdcached_update, reused across calls. */
  struct rrdcached_span *spans, *next_spans;
  size_t n_spans, n_next, cap_spans, cap_next;
  struct rrdcached_cmd *cmds;
  size_t n_cmds, cap_cmds;
};

/* "unix:/path" or "/path" is a unix socket; otherwise "host:port", "host"
 * or "[v6addr]:port" over TCP (lib/net.h), port 42217 when not given. */
static enum vt_status rrdcached_parse_address(struct rrdcached *c,
                                              const char *daemon)
{
  const char *path = NULL;
  if (strncmp(daemon, "unix:", 5) == 0)
    path = daemon + 5;
  else if (daemon[0] == '/')
    path = daemon;
  if (path) {
    if (path[0] != '/' ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
      goto invalid;
    c->mode = RRDCACHED_UNIX;
    c->addr = strdup(path);
    return c->addr ? VT_OK : VT_ENOMEM;
  }
  c->mode = RRDCACHED_TCP;
  char host[256];
  unsigned port = RRDCACHED_DEFAULT_PORT;
  if (!vt_net_hostport(daemon, VT_NET_PORT_OPTIONAL, host, sizeof(host), &port))
    goto invalid;
  snprintf(c->port_text, sizeof(c->port_text), "%u", port);
  c->addr = strdup(host);
  if (!c->addr)
    return VT_ENOMEM;
  c->host = c->addr;
  c->port = c->port_text;
  return VT_OK;

invalid:
  vt_err("rrdcached: \"%s\": not \"unix:/path\", \"host:port\" or "
         "\"[v6addr]:port\"",
         daemon);
  return VT_EINVAL;
}

/* The root as rrdcached reads it: fields split at spaces, and a backslash
 * escapes the next byte. A newline cannot be escaped. */
static enum vt_status rrdcached_escape_root(struct rrdcached *c,
                                            const char *root)
{
  if (strchr(root, '\n')) {
    vt_err("rrd: %s: a newline in the name cannot pass to rrdcached", root);
    return VT_EINVAL;
  }
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = VT_OK;
  for (const char *p = root; *p && st == VT_OK; p++) {
    if (*p == ' ' || *p == '\\')
      st = vt_buf_add(&b, "\\", 1);
    if (st == VT_OK)
      st = vt_buf_add(&b, p, 1);
  }
  if (st != VT_OK) {
    vt_buf_cleanup(&b);
    return st;
  }
  c->wire_dir = vt_buf_take(&b, NULL);
  if (!c->wire_dir)
    c->wire_dir = strdup("");
  return c->wire_dir ? VT_OK : VT_ENOMEM;
}

/* ---- connection ---- */

static void rrdcached_disconnect(struct rrdcached *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

/* Waits until the connection is ready for events, at most io_timeout_s:
 * the timeout bounds each wait for progress, so a large batch to a working
 * daemon is not cut while a stuck one is given up within io_timeout_s. */
static enum vt_status rrdcached_wait(struct rrdcached *c, short events)
{
  double deadline = vt_time_mono() + c->io_timeout_s;
  for (;;) {
    double left = deadline - vt_time_mono();
    if (left <= 0)
      break;
    struct pollfd p = {.fd = c->fd, .events = events};
    int rc = poll(&p, 1, (int)(left * 1000) + 1);
    if (rc > 0)
      return VT_OK; /* an error or hang-up shows in the next call */
    if (rc < 0 && errno != EINTR) {
      snprintf(c->io_err, sizeof(c->io_err), "poll: %s", strerror(errno));
      return VT_EIO;
    }
  }
  snprintf(c->io_err, sizeof(c->io_err), "no progress within %gs",
           c->io_timeout_s);
  return VT_EIO;
}

static enum vt_status rrdcached_connect_to(struct rrdcached *c, int family,
                                           const struct sockaddr *sa,
                                           socklen_t len)
{
  c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    snprintf(c->io_err, sizeof(c->io_err), "socket: %s", strerror(errno));
    return VT_EIO;
  }
  if (family != AF_UNIX) {
    /* A request is written whole, then answered: nothing to coalesce. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (connect(c->fd, sa, len) == 0)
    return VT_OK;
  int err = errno;
  if (err == EINPROGRESS) {
    if (rrdcached_wait(c, POLLOUT) != VT_OK) {
      rrdcached_disconnect(c);
      return VT_EIO;
    }
    socklen_t elen = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
      err = errno;
    if (err == 0)
      return VT_OK;
  }
  snprintf(c->io_err, sizeof(c->io_err), "connect: %s", strerror(err));
  rrdcached_disconnect(c);
  return VT_EIO;
}

static enum vt_status rrdcached_connect(struct rrdcached *c)
{
  if (c->mode == RRDCACHED_UNIX) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, c->addr, strlen(c->addr) + 1); /* length checked */
    return rrdcached_connect_to(c, AF_UNIX, (const struct sockaddr *)&sa,
                                sizeof(sa));
  }
  /* A name blocks in getaddrinfo; configure an address to avoid that. */
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(c->host, c->port, &hints, &res);
  if (rc != 0) {
    snprintf(c->io_err, sizeof(c->io_err), "%s", gai_strerror(rc));
    return VT_EIO;
  }
  enum vt_status st = VT_EIO;
  for (struct addrinfo *ai = res; ai && st != VT_OK; ai = ai->ai_next)
    st = rrdcached_connect_to(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(res);
  return st;
}

/* Sends len bytes; *broken tells a lost connection from a timeout. */
static enum vt_status rrdcached_send(struct rrdcached *c, const char *data,
                                     size_t len, bool *broken)
{
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (rrdcached_wait(c, POLLOUT) != VT_OK)
        return VT_EIO;
    } else if (errno != EINTR) {
      snprintf(c->io_err, sizeof(c->io_err), "send: %s", strerror(errno));
      *broken = true;
      return VT_EIO;
    }
  }
  return VT_OK;
}

/* Receives until rbuf holds `lines` whole lines from offset from; *end gets
 * the offset just past them. */
static enum vt_status rrdcached_recv_lines(struct rrdcached *c, size_t from,
                                           long lines, size_t *end,
                                           bool *broken)
{
  size_t pos = from;
  long seen = 0;
  for (;;) {
    while (seen < lines && pos < c->rbuf.len) {
      const char *nl = memchr(c->rbuf.data + pos, '\n', c->rbuf.len - pos);
      if (!nl)
        break;
      pos = (size_t)(nl - c->rbuf.data) + 1;
      seen++;
    }
    if (seen == lines) {
      *end = pos;
      return VT_OK;
    }
    char chunk[4096];
    ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      enum vt_status st = vt_buf_add(&c->rbuf, chunk, (size_t)n);
      if (st != VT_OK)
        return st;
    } else if (n == 0) {
      snprintf(c->io_err, sizeof(c->io_err), "connection closed by peer");
      *broken = true;
      return VT_EIO;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (rrdcached_wait(c, POLLIN) != VT_OK)
        return VT_EIO;
    } else if (errno != EINTR) {
      snprintf(c->io_err, sizeof(c->io_err), "recv: %s", strerror(errno));
      *broken = true;
      return VT_EIO;
    }
  }
}

/* Reads one reply: "<status> <message>\n", then status more lines when
 * status > 0. The pointers in r stay valid until the next exchange. */
static enum vt_status rrdcached_read_reply(struct rrdcached *c,
                                           struct rrdcached_reply *r,
                                           bool *broken)
{
  size_t head = c->rpos, body;
  enum vt_status st = rrdcached_recv_lines(c, head, 1, &body, broken);
  if (st != VT_OK)
    return st;
  char *end;
  long status = strtol(c->rbuf.data + head, &end, 10);
  if (end == c->rbuf.data + head || (*end != ' ' && *end != '\n')) {
    snprintf(c->io_err, sizeof(c->io_err), "unexpected reply \"%.60s\"",
             c->rbuf.data + head);
    return VT_EIO;
  }
  size_t msg = (size_t)(end - c->rbuf.data), stop = body;
  if (status > 0) {
    st = rrdcached_recv_lines(c, body, status, &stop, broken);
    if (st != VT_OK)
      return st;
  }
  /* Only now, with everything received, may pointers into rbuf be kept. */
  char *d = c->rbuf.data;
  d[body - 1] = '\0';
  if (stop > body)
    d[stop - 1] = '\0';
  while (d[msg] == ' ')
    msg++;
  *r = (struct rrdcached_reply){
      .status = status, .msg = d + msg, .lines = d + body};
  c->rpos = stop;
  return VT_OK;
}

/* One try of the request in c->text: connect if needed, send, read
 * `replies` replies (the last one lands in r). */
static enum vt_status rrdcached_try(struct rrdcached *c, int replies,
                                    struct rrdcached_reply *r, bool *broken)
{
  vt_buf_reset(&c->rbuf);
  c->rpos = 0;
  enum vt_status st = VT_OK;
  if (c->fd < 0 && (st = rrdcached_connect(c)) != VT_OK)
    return st;
  st = rrdcached_send(c, c->text.data, c->text.len, broken);
  for (int i = 0; i < replies && st == VT_OK; i++) {
    st = rrdcached_read_reply(c, r, broken);
    /* A refused BATCH would run the lines that follow one by one; the
     * caller drops the connection with the rest of them. */
    if (st == VT_OK && i + 1 < replies && r->status < 0) {
      snprintf(c->io_err, sizeof(c->io_err), "refused: %.120s", r->msg);
      st = VT_EIO;
    }
  }
  if (st == VT_OK && c->rpos != c->rbuf.len) {
    /* More than we asked for: out of step, start afresh next time. */
    vt_debug("rrdcached: %s: %zu stray bytes, reconnecting next time",
             c->daemon, c->rbuf.len - c->rpos);
    rrdcached_disconnect(c);
  }
  return st;
}

/* Sends the request in c->text and reads its replies. A lost connection
 * (rrdcached restarted) is reconnected and the request sent once more, as
 * collectd's rrdcached plugin does; repeating UPDATEs is harmless since
 * values at or before a file's last update are skipped. A timeout is not
 * retried: a stuck daemon would only hold the caller twice as long. */
static enum vt_status rrdcached_exchange(struct rrdcached *c, int replies,
                                         struct rrdcached_reply *r)
{
  for (int attempt = 0;; attempt++) {
    bool broken = false;
    enum vt_status st = rrdcached_try(c, replies, r, &broken);
    if (st == VT_OK) {
      if (c->failing)
        vt_notice("rrdcached: %s: working again", c->daemon);
      c->failing = false;
      return VT_OK;
    }
    rrdcached_disconnect(c);
    if (st == VT_ENOMEM)
      return st;
    if (!broken || attempt > 0) {
      /* Logged once per outage, not on every flush of it. */
      if (!c->failing)
        VT_LOG(c->fail_level, "rrdcached: %s: %s", c->daemon, c->io_err);
      else
        vt_debug("rrdcached: %s: %s", c->daemon, c->io_err);
      c->failing = true;
      return VT_EIO;
    }
    vt_info("rrdcached: %s: %s; reconnecting once", c->daemon, c->io_err);
  }
}

/* ---- BATCH ---- */

/* Appends a file's name as rrdcached gets it: absolute (and escaped) over a
 * unix socket, relative to the daemon's -b directory over TCP. */
static enum vt_status rrdcached_add_name(struct rrdcached *c,
                                         const char *relpath)
{
  if (c->mode == RRDCACHED_TCP)
    return vt_buf_adds(&c->text, relpath);
  return vt_buf_addf(&c->text, "%s/%s", c->wire_dir, relpath);
}

static enum vt_status rrdcached_add_cmd(struct rrdcached *c, size_t first,
                                        size_t n, bool create)
{
  struct rrdcached_cmd *cmd =
      vt_grow(c->cmds, &c->cap_cmds, c->n_cmds + 1, sizeof(*cmd));
  if (!cmd)
    return VT_ENOMEM;
  c->cmds = cmd;
  c->cmds[c->n_cmds++] =
      (struct rrdcached_cmd){.first = first, .n = n, .create = create};
  return VT_OK;
}

/* Builds "BATCH", a CREATE where a span asks for it, UPDATEs of several
 * values each (cut to stay below RRDCACHED_LINE_MAX) and ".". */
static enum vt_status rrdcached_build_batch(struct rrdcached *c)
{
  vt_buf_reset(&c->text);
  c->n_cmds = 0;
  enum vt_status st = vt_buf_adds(&c->text, "BATCH\n");
  for (size_t i = 0; i < c->n_spans && st == VT_OK; i++) {
    const struct rrdcached_span *sp = &c->spans[i];
    const char *relpath = c->v[sp->first].relpath;
    if (sp->create) {
      long ts = c->v[sp->first].ts;
      st = vt_buf_adds(&c->text, "CREATE ");
      if (st == VT_OK)
        st = rrdcached_add_name(c, relpath);
      if (st == VT_OK)
        st = vt_buf_addf(&c->text, " -s %ld -b %ld -O", c->step_s,
                         ts > c->step_s ? ts - c->step_s : 0);
      char *const *layout = c->v[sp->first].layout;
      int n_layout = layout ? c->v[sp->first].n_layout : c->n_layout;
      if (!layout)
        layout = c->layout;
      for (int d = 0; d < n_layout && st == VT_OK; d++)
        st = vt_buf_addf(&c->text, " %s", layout[d]);
      if (st == VT_OK)
        st = vt_buf_add(&c->text, "\n", 1);
      if (st == VT_OK)
        st = rrdcached_add_cmd(c, sp->first, 0, true);
    }
    for (size_t k = sp->first, end = sp->first + sp->n;
         k < end && st == VT_OK;) {
      size_t line = c->text.len, cmd_first = k;
      st = vt_buf_adds(&c->text, "UPDATE ");
      if (st == VT_OK)
        st = rrdcached_add_name(c, relpath);
      for (; k < end && st == VT_OK; k++) {
        size_t len = 1 + strlen(c->v[k].text); /* with its space */
        if (k > cmd_first && c->text.len - line + len + 1 > RRDCACHED_LINE_MAX)
          break;
        st = vt_buf_addf(&c->text, " %s", c->v[k].text);
      }
      if (st == VT_OK)
        st = vt_buf_add(&c->text, "\n", 1);
      if (st == VT_OK)
        st = rrdcached_add_cmd(c, cmd_first, k - cmd_first, false);
    }
  }
  if (st == VT_OK)
    st = vt_buf_adds(&c->text, ".\n");
  return st;
}

/* Adds values [first, first + n) of one file to the next pass, merged with
 * the previous span when they follow on. */
static enum vt_status rrdcached_add_next(struct rrdcached *c, size_t first,
                                         size_t n, bool create)
{
  if (n == 0)
    return VT_OK;
  if (c->n_next) {
    struct rrdcached_span *last = &c->next_spans[c->n_next - 1];
    if (last->first + last->n == first &&
        strcmp(c->v[last->first].relpath, c->v[first].relpath) == 0) {
      last->n += n;
      return VT_OK;
    }
  }
  struct rrdcached_span *sp =
      vt_grow(c->next_spans, &c->cap_next, c->n_next + 1, sizeof(*sp));
  if (!sp)
    return VT_ENOMEM;
  c->next_spans = sp;
  c->next_spans[c->n_next++] =
      (struct rrdcached_span){.first = first, .n = n, .create = create};
  return VT_OK;
}

/* Joins continuation lines to their error: rrdcached counts lines, not
 * errors, in "<n> errors", and some messages span two lines (1.7.2's
 * "No permission to recursively create: ...\nDid you pass -R ..."). */
static void rrdcached_join_errors(char *lines)
{
  for (char *nl = strchr(lines, '\n'); nl; nl = strchr(nl + 1, '\n')) {
    const char *p = nl + 1;
    while (*p >= '0' && *p <= '9')
      p++;
    if (p == nl + 1 || *p != ' ')
      *nl = ' ';
  }
}

/* Handles one error of the BATCH: command number and message. A value at
 * or before the file's last update ("illegal attempt to update using time
 * X when last update time is Y (minimum one second step)") is a re-send,
 * but rrdcached drops the rest of that UPDATE with it, so the values after
 * Y go to the next pass. Over TCP, "No such file" sends CREATE and the
 * values in the next pass. */
static enum vt_status rrdcached_batch_error(struct rrdcached *c,
                                            bool first_pass, size_t cmd,
                                            const char *msg,
                                            const char **logged)
{
  const struct rrdcached_cmd *cm = &c->cmds[cmd];
  const char *relpath = c->v[cm->first].relpath;
  const char *last = strstr(msg, "when last update time is ");
  if (!cm->create && strstr(msg, "illegal attempt to update") && last) {
    if (!first_pass)
      return VT_OK; /* a concurrent writer got there first */
    double last_ts = strtod(last + strlen("when last update time is "), NULL);
    size_t k = cm->first, end = cm->first + cm->n;
    while (k < end && (double)c->v[k].ts <= last_ts)
      k++;
    vt_debug("rrd: %s: %zu value(s) up to %.0f skipped, %zu sent again",
             relpath, k - cm->first, last_ts, end - k);
    return rrdcached_add_next(c, k, end - k, false);
  }
  if (!cm->create && first_pass && c->mode == RRDCACHED_TCP &&
      strncmp(msg, "No such file", 12) == 0) {
    bool create =
        !c->n_next ||
        strcmp(c->v[c->next_spans[c->n_next - 1].first].relpath, relpath) != 0;
    return rrdcached_add_next(c, cm->first, cm->n, create);
  }
  if (cm->create && strstr(msg, "File exists"))
    return VT_OK; /* CREATE -O lost a race; the file is there */
  /* One line per file, though each of its UPDATEs fails the same way. */
  if (!*logged || strcmp(*logged, relpath) != 0)
    c->file_error(c->arg, relpath, msg);
  *logged = relpath;
  return VT_EIO;
}

/* Runs one BATCH of c->spans; on the first pass, collects in next_spans
 * what has to go again. */
static enum vt_status rrdcached_run_batch(struct rrdcached *c, bool first_pass)
{
  c->n_next = 0;
  enum vt_status st = rrdcached_build_batch(c);
  struct rrdcached_reply r;
  if (st == VT_OK)
    st = rrdcached_exchange(c, 2, &r);
  if (st != VT_OK)
    return st;
  if (r.status < 0) {
    vt_err("rrdcached: %s: BATCH: %s", c->daemon, r.msg);
    return VT_EIO;
  }
  rrdcached_join_errors(r.lines);
  const char *logged = NULL;
  for (char *line = r.lines, *next; *line; line = next) {
    next = line + strcspn(line, "\n");
    if (*next)
      *next++ = '\0';
    char *msg;
    unsigned long cmd = strtoul(line, &msg, 10);
    while (*msg == ' ')
      msg++;
    if (cmd < 1 || cmd > c->n_cmds) {
      vt_err("rrdcached: %s: BATCH: %s", c->daemon, line);
      st = VT_EIO;
      continue;
    }
    enum vt_status est =
        rrdcached_batch_error(c, first_pass, cmd - 1, msg, &logged);
    if (est == VT_ENOMEM)
      return est;
    if (est != VT_OK)
      st = est;
  }
  return st;
}

/* ---- API ---- */

struct rrdcached *rrdcached_open(const struct rrdcached_conf *conf,
                                 enum vt_status *st)
{
  struct rrdcached *c = calloc(1, sizeof(*c));
  if (!c) {
    *st = VT_ENOMEM;
    return NULL;
  }
  c->fd = -1;
  vt_buf_init(&c->rbuf, 0);
  vt_buf_init(&c->text, 0);
  c->step_s = conf->step_s;
  c->layout = conf->layout;
  c->n_layout = conf->n_layout;
  c->io_timeout_s = conf->io_timeout_s;
  c->fail_level = conf->reader ? VT_LOG_DEBUG : VT_LOG_ERR;
  enum vt_status rc = VT_ENOMEM;
  if (!(c->daemon = strdup(conf->address)))
    goto fail;
  if ((rc = rrdcached_parse_address(c, conf->address)) != VT_OK ||
      (rc = rrdcached_escape_root(c, conf->root)) != VT_OK)
    goto fail;
  /* The longest UPDATE with one value, and over TCP the longest CREATE,
   * must fit in a line (see RRDCACHED_LINE_MAX). */
  size_t create_len = 64 + conf->relpath_max;
  for (int i = 0; i < c->n_layout; i++)
    create_len += strlen(c->layout[i]) + 1;
  if (strlen(c->wire_dir) + conf->relpath_max + conf->value_max + 16 >
          RRDCACHED_LINE_MAX ||
      (c->mode == RRDCACHED_TCP && create_len > RRDCACHED_LINE_MAX)) {
    vt_err("rrd: %s: the root or the RRA list is too long for rrdcached's "
           "%d-byte lines",
           conf->root, RRDCACHED_LINE_MAX);
    rc = VT_EINVAL;
    goto fail;
  }
  if ((rc = rrdcached_connect(c)) != VT_OK) {
    VT_LOG(c->fail_level, "rrdcached: %s: %s", c->daemon, c->io_err);
    goto fail;
  }
  *st = VT_OK;
  return c;

fail:
  rrdcached_close(c);
  *st = rc;
  return NULL;
}

void rrdcached_close(struct rrdcached *c)
{
  if (!c)
    return;
  rrdcached_disconnect(c);
  free(c->daemon);
  free(c->addr);
  free(c->wire_dir);
  free(c->spans);
  free(c->next_spans);
  free(c->cmds);
  vt_buf_cleanup(&c->rbuf);
  vt_buf_cleanup(&c->text);
  free(c);
}

bool rrdcached_creates_files(const struct rrdcached *c)
{
  return c->mode == RRDCACHED_TCP;
}

enum vt_status rrdcached_update(
    struct rrdcached *c, const struct rrdcached_value *v, size_t n,
    void (*file_error)(void *arg, const char *relpath, const char *msg),
    void *arg)
{
  c->v = v;
  c->file_error = file_error;
  c->arg = arg;
  enum vt_status st = VT_OK;
  c->n_spans = 0;
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && strcmp(v[j].relpath, v[i].relpath) == 0;)
      j++;
    struct rrdcached_span *sp =
        vt_grow(c->spans, &c->cap_spans, c->n_spans + 1, sizeof(*sp));
    if (!sp) {
      st = VT_ENOMEM;
      goto done;
    }
    c->spans = sp;
    c->spans[c->n_spans++] = (struct rrdcached_span){.first = i, .n = j - i};
  }
  for (int pass = 0; pass < 2 && c->n_spans; pass++) {
    enum vt_status bst = rrdcached_run_batch(c, pass == 0);
    if (bst != VT_OK)
      st = bst;
    if (bst == VT_ENOMEM)
      break;
    /* The next pass sends what this one collected. */
    struct rrdcached_span *tmp = c->spans;
    size_t tcap = c->cap_spans;
    c->spans = c->next_spans;
    c->cap_spans = c->cap_next;
    c->n_spans = c->n_next;
    c->next_spans = tmp;
    c->cap_next = tcap;
    c->n_next = 0;
  }
done:
  c->v = NULL; /* borrowed for the call only */
  c->file_error = NULL;
  c->arg = NULL;
  return st;
}

enum vt_status rrdcached_flush(struct rrdcached *c, const char *relpath)
{
  vt_buf_reset(&c->text);
  enum vt_status st = vt_buf_adds(&c->text, "FLUSH ");
  if (st == VT_OK)
    st = rrdcached_add_name(c, relpath);
  if (st == VT_OK)
    st = vt_buf_add(&c->text, "\n", 1);
  struct rrdcached_reply r;
  if (st == VT_OK)
    st = rrdcached_exchange(c, 1, &r);
  if (st != VT_OK)
    return st;
  if (r.status >= 0)
    return VT_OK;
  /* Nothing to flush for a series never written: the reader finds out. */
  if (strncmp(r.msg, "No such file", 12) == 0)
    return VT_ENOTFOUND;
  if (c->fail_level == VT_LOG_ERR)
    vt_err("rrdcached: %s: FLUSH %s: %s", c->daemon, relpath, r.msg);
  else
    vt_warn("rrdcached: %s: FLUSH %s: %s (the file may lack the latest "
            "values)",
            c->daemon, relpath, r.msg);
  return VT_EIO;
}

enum vt_status rrdcached_get_stats(struct rrdcached *c,
                                   struct rrdcached_stats *out)
{
  *out = (struct rrdcached_stats){-1, -1, -1, -1, -1, -1};
  vt_buf_reset(&c->text);
  struct rrdcached_reply r;
  enum vt_status st = vt_buf_adds(&c->text, "STATS\n");
  if (st == VT_OK)
    st = rrdcached_exchange(c, 1, &r);
  if (st != VT_OK)
    return st;
  if (r.status < 0) {
    vt_err("rrdcached: %s: STATS: %s", c->daemon, r.msg);
    return VT_EIO;
  }
  static const struct {
    const char *key;
    size_t off;
  } keys[] = {
      {"QueueLength", offsetof(struct rrdcached_stats, queue_length)},
      {"UpdatesReceived", offsetof(struct rrdcached_stats, updates_received)},
      {"UpdatesWritten", offsetof(struct rrdcached_stats, updates_written)},
      {"DataSetsWritten", offsetof(struct rrdcached_stats, data_sets_written)},
      {"TreeNodesNumber", offsetof(struct rrdcached_stats, tree_nodes)},
      {"JournalBytes", offsetof(struct rrdcached_stats, journal_bytes)},
  };
  for (char *line = r.status > 0 ? r.lines : NULL; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    char *colon = strchr(line, ':');
    for (size_t k = 0; colon && k < sizeof(keys) / sizeof(keys[0]); k++)
      if ((size_t)(colon - line) == strlen(keys[k].key) &&
          strncmp(line, keys[k].key, (size_t)(colon - line)) == 0)
        *(long long *)((char *)out + keys[k].off) =
            strtoll(colon + 1, NULL, 10);
    line = nl ? nl + 1 : NULL;
  }
  return VT_OK;
}
