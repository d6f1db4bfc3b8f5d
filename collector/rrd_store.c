/* SPDX-License-Identifier: MIT */
/* All RRD writes of the collector (see rrd_store.h; the file layout is in
 * docs/collector.md, "Series and RRD files"). Updates are queued per batch,
 * sorted per file and written with one librrd call per file, or as one
 * rrdcached BATCH spoken on a non-blocking socket with a timeout, because
 * librrd 1.7.2's rrdc_* calls block without one (LIBS.md 3.2). Not
 * thread-safe: one collector thread owns the store. */
#include "config.h"

#include "rrd_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rrd.h>

#include "buf.h"
#include "log.h"
#include "vt_time.h"

enum {
  RRD_STORE_N_DS = 7,
  RRD_STORE_RELPATH_MAX = 255,
  /* rrdcached 1.7.2 journals at most RRD_CMD_MAX (4096) bytes of a command,
   * cutting a longer UPDATE mid-value (a wrong value is replayed after a
   * crash), and resets a connection whose line outgrows its 8192-byte read
   * buffer. Every line we send stays below this. */
  RRD_STORE_LINE_MAX = 4000,
  /* One "ts:v:v:v:v:v:v:v" at most: 20 + 7 * (1 + 24) bytes. */
  RRD_STORE_VALUE_MAX = 256,
  /* rrdcached 1.7.2 parses CREATE into a fixed char *av[128]. */
  RRD_STORE_CREATE_DEFS_MAX = 128,
  /* Files whose failure one flush logs; a full disk or a daemon with
   * another -b fails all of them, and the rest are only counted. */
  RRD_STORE_LOG_FILES = 10,
  /* Defaults of struct rrd_store_conf (docs/collector.md). */
  RRD_STORE_DEFAULT_STEP_S = 10,
  RRD_STORE_DEFAULT_HEARTBEAT_S = 30,
  RRD_STORE_DEFAULT_IO_TIMEOUT_S = 5,
};

/* rrdcached's RRDCACHED_DEFAULT_PORT */
#define RRD_STORE_DEFAULT_PORT "42217"

/* Data sources in struct rrd_values order, with their maximum. */
static const struct {
  const char *name, *max;
} rrd_store_ds[RRD_STORE_N_DS] = {
    {"up", "1"},  {"total", "U"}, {"dns", "U"},   {"connect", "U"},
    {"tls", "U"}, {"ttfb", "U"},  {"share", "1"},
};

/* The default RRAs, by row duration (0 = one step) and span, so a
 * different step keeps the same spans: one day of base rows; 35 days of
 * 1-minute averages (monthly availability) with 5-minute MIN (any failure
 * in a row) and MAX (latency bands); two leap years (732 days) of hourly
 * AVERAGE, MIN and MAX. steps = row_s / step, rows = ceil(span / (steps *
 * step)). At the default 10 s step: 8640, 50400, 2 x 10080 and 3 x 17568
 * rows, 7.4 MB per file with the 7 data sources. */
static const struct {
  const char *cf;
  long row_s, span_s;
} rrd_store_rra[] = {
    {"AVERAGE", 0, 86400L},          {"AVERAGE", 60, 35 * 86400L},
    {"MIN", 300, 35 * 86400L},       {"MAX", 300, 35 * 86400L},
    {"AVERAGE", 3600, 732 * 86400L}, {"MIN", 3600, 732 * 86400L},
    {"MAX", 3600, 732 * 86400L},
};
#define RRD_STORE_N_RRA (sizeof(rrd_store_rra) / sizeof(rrd_store_rra[0]))

enum rrd_store_mode {
  RRD_STORE_DIRECT, /* librrd on the files */
  RRD_STORE_UNIX,   /* rrdcached on a unix socket, files created here */
  RRD_STORE_TCP,    /* rrdcached over TCP, files created with CREATE */
};

/* One queued update. */
struct rrd_store_update {
  size_t path; /* offset of the relpath in s->paths */
  long ts;
  struct rrd_values v;
};

/* Sort key of a queued update: by file, then time; on equal times the
 * first queued (lower i) wins. */
struct rrd_store_key {
  const char *path;
  long ts;
  size_t i;
};

/* Keys [first, first + n) of one file to send to rrdcached; create puts a
 * CREATE in front. */
struct rrd_store_span {
  size_t first, n;
  bool create;
};

/* What command k + 1 of a BATCH was, to map the daemon's errors back. */
struct rrd_store_cmd {
  size_t first, n; /* the UPDATE's keys; a CREATE has n = 0 */
  bool create;
};

/* A status reply of rrdcached, pointing into the receive buffer. */
struct rrd_store_reply {
  long status;
  const char *msg; /* after the status number */
  char *lines;     /* the status (> 0) lines that follow, '\n'-separated */
};

struct rrd_store {
  char *dir;      /* root, absolute with symlinks resolved */
  char *wire_dir; /* dir escaped for rrdcached's protocol */
  int root_fd;
  long step_s;
  char **layout; /* DS and RRA definitions for rrd_create_r2 and CREATE */
  int n_layout;

  enum rrd_store_mode mode;
  char *daemon; /* rrdcached address as configured, for logs */
  char *addr;   /* unix: the socket path; tcp: holds host and port */
  const char *host, *port;
  double io_timeout_s;
  int fd;       /* connection to rrdcached; -1 when closed */
  bool failing; /* a daemon failure was logged; quiet until it heals */
  char io_err[160];
  size_t n_failed;    /* files that failed in this flush */
  struct vt_buf rbuf; /* replies */
  size_t rpos;        /* start of the next reply in rbuf */

  /* The queue: reused across batches, so that a steady batch size stops
   * allocating once the arrays have grown. */
  struct rrd_store_update *q;
  size_t n_q, cap_q;
  struct vt_buf paths; /* the relpaths, NUL-separated */

  /* Scratch of rrd_store_flush, reused as well. */
  struct rrd_store_key *keys;
  size_t cap_keys;
  struct rrd_store_span *spans, *next_spans;
  size_t n_spans, n_next, cap_spans, cap_next;
  struct rrd_store_cmd *cmds;
  size_t n_cmds, cap_cmds;
  const char **argv;
  size_t cap_argv;
  struct vt_buf text;  /* update strings, or the request to rrdcached */
  char path[PATH_MAX]; /* absolute name of the file at hand */

  /* The directory of the previous file, kept open for the next one: files
   * come sorted, so probes of one series share it. Released after each
   * flush, so that a directory removed meanwhile is created again. */
  char cur_dir[RRD_STORE_RELPATH_MAX + 1];
  size_t cur_dir_len;
  int cur_dir_fd;
};

/* Grows an array to hold need elements of size bytes, doubling. Returns
 * the (possibly moved) array, or NULL with arr untouched. */
static void *rrd_store_grow(void *arr, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return arr;
  size_t n = *cap ? *cap : 64;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size)
      return NULL;
    n *= 2;
  }
  void *p = realloc(arr, n * size);
  if (p)
    *cap = n;
  return p;
}

static char *rrd_store_strdupf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *rrd_store_strdupf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *out = NULL;
  if (vasprintf(&out, fmt, ap) < 0)
    out = NULL;
  va_end(ap);
  return out;
}

static void rrd_store_file_error(struct rrd_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs "rrd: <file>: <why>" for the first RRD_STORE_LOG_FILES failed files
 * of a flush; rrd_store_flush sums up the rest. */
static void rrd_store_file_error(struct rrd_store *s, const char *fmt, ...)
{
  if (s->n_failed++ >= RRD_STORE_LOG_FILES || VT_LOG_ERR > vt_log_threshold)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  vt_err("rrd: %s", msg);
}

/* Components of [A-Za-z0-9._-]+ not starting with '.', joined by single
 * '/', no leading or trailing '/', at most 255 bytes. Checked bytewise,
 * not with isalnum(), which follows the locale. */
static bool rrd_store_relpath_ok(const char *p)
{
  size_t len = strnlen(p, RRD_STORE_RELPATH_MAX + 1);
  if (len == 0 || len > RRD_STORE_RELPATH_MAX)
    return false;
  bool start = true;
  for (; *p; p++) {
    char c = *p;
    if (c == '/') {
      if (start)
        return false;
      start = true;
      continue;
    }
    if (start && c == '.')
      return false;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
    start = false;
  }
  return !start;
}

/* mkdir -p with mode 0750 for the missing parts of the configured root. */
static int rrd_store_mkdir_p(const char *path)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, 0750) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

/* Builds the DS and RRA definitions; conf->rra replaces the default RRAs. */
static enum vt_status rrd_store_layout(struct rrd_store *s,
                                       const struct rrd_store_conf *conf,
                                       long heartbeat_s)
{
  bool own_rra = conf->rra && conf->n_rra;
  size_t n_rra = own_rra ? conf->n_rra : RRD_STORE_N_RRA;
  if (n_rra > RRD_STORE_CREATE_DEFS_MAX - RRD_STORE_N_DS) {
    vt_err("rrd: %zu RRAs configured, at most %d fit", n_rra,
           RRD_STORE_CREATE_DEFS_MAX - RRD_STORE_N_DS);
    return VT_EINVAL;
  }
  s->layout = calloc(RRD_STORE_N_DS + n_rra, sizeof(*s->layout));
  if (!s->layout)
    return VT_ENOMEM;
  for (size_t i = 0; i < RRD_STORE_N_DS; i++) {
    char *def = rrd_store_strdupf("DS:%s:GAUGE:%ld:0:%s", rrd_store_ds[i].name,
                                  heartbeat_s, rrd_store_ds[i].max);
    if (!def)
      return VT_ENOMEM;
    s->layout[s->n_layout++] = def;
  }
  for (size_t i = 0; i < n_rra; i++) {
    char *def;
    if (own_rra) {
      /* Definitions travel as one word each in rrdcached's CREATE. */
      const char *r = conf->rra[i];
      if (!r || strncmp(r, "RRA:", 4) != 0 || strlen(r) > 128 ||
          strpbrk(r, " \t\r\n\\")) {
        vt_err("rrd: invalid RRA definition \"%.130s\"", r ? r : "(null)");
        return VT_EINVAL;
      }
      def = strdup(r);
    } else {
      long steps = rrd_store_rra[i].row_s / s->step_s;
      if (steps < 1)
        steps = 1;
      long row_s = steps * s->step_s;
      def = rrd_store_strdupf("RRA:%s:0.5:%ld:%ld", rrd_store_rra[i].cf, steps,
                              (rrd_store_rra[i].span_s + row_s - 1) / row_s);
    }
    if (!def)
      return VT_ENOMEM;
    s->layout[s->n_layout++] = def;
  }
  return VT_OK;
}

/* "unix:/path" or "/path" is a unix socket; otherwise "host:port", "host"
 * or "[v6addr]:port" over TCP, port 42217 when not given. */
static enum vt_status rrd_store_parse_daemon(struct rrd_store *s,
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
    s->mode = RRD_STORE_UNIX;
    s->addr = strdup(path);
    return s->addr ? VT_OK : VT_ENOMEM;
  }
  s->mode = RRD_STORE_TCP;
  s->addr = strdup(daemon);
  if (!s->addr)
    return VT_ENOMEM;
  char *host = s->addr, *port = NULL;
  if (host[0] == '[') {
    char *end = strchr(++host, ']');
    if (!end || (end[1] != '\0' && end[1] != ':'))
      goto invalid;
    *end = '\0';
    if (end[1] == ':')
      port = end + 2;
  } else if ((port = strrchr(host, ':')) != NULL) {
    *port++ = '\0';
  }
  if (!*host || (port && !*port))
    goto invalid;
  s->host = host;
  s->port = port ? port : RRD_STORE_DEFAULT_PORT;
  return VT_OK;

invalid:
  vt_err("rrdcached: \"%s\": not \"unix:/path\", \"host:port\" or "
         "\"[v6addr]:port\"",
         daemon);
  return VT_EINVAL;
}

/* The root as rrdcached reads it: fields split at spaces, and a backslash
 * escapes the next byte. A newline cannot be escaped. */
static enum vt_status rrd_store_escape_dir(struct rrd_store *s)
{
  if (strchr(s->dir, '\n')) {
    vt_err("rrd: %s: a newline in the name cannot pass to rrdcached", s->dir);
    return VT_EINVAL;
  }
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = VT_OK;
  for (const char *p = s->dir; *p && st == VT_OK; p++) {
    if (*p == ' ' || *p == '\\')
      st = vt_buf_add(&b, "\\", 1);
    if (st == VT_OK)
      st = vt_buf_add(&b, p, 1);
  }
  if (st != VT_OK) {
    vt_buf_cleanup(&b);
    return st;
  }
  s->wire_dir = vt_buf_take(&b, NULL);
  if (!s->wire_dir)
    s->wire_dir = strdup("");
  return s->wire_dir ? VT_OK : VT_ENOMEM;
}

/* ---- rrdcached connection ---- */

static void rrd_store_disconnect(struct rrd_store *s)
{
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
}

/* Waits until the connection is ready for events, at most io_timeout_s:
 * the timeout bounds each wait for progress, so a large batch to a working
 * daemon is not cut while a stuck one is given up within io_timeout_s. */
static enum vt_status rrd_store_wait(struct rrd_store *s, short events)
{
  double deadline = vt_time_mono() + s->io_timeout_s;
  for (;;) {
    double left = deadline - vt_time_mono();
    if (left <= 0)
      break;
    struct pollfd p = {.fd = s->fd, .events = events};
    int rc = poll(&p, 1, (int)(left * 1000) + 1);
    if (rc > 0)
      return VT_OK; /* an error or hang-up shows in the next call */
    if (rc < 0 && errno != EINTR) {
      snprintf(s->io_err, sizeof(s->io_err), "poll: %s", strerror(errno));
      return VT_EIO;
    }
  }
  snprintf(s->io_err, sizeof(s->io_err), "no progress within %gs",
           s->io_timeout_s);
  return VT_EIO;
}

static enum vt_status rrd_store_connect_to(struct rrd_store *s, int family,
                                           const struct sockaddr *sa,
                                           socklen_t len)
{
  s->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    snprintf(s->io_err, sizeof(s->io_err), "socket: %s", strerror(errno));
    return VT_EIO;
  }
  if (family != AF_UNIX) {
    /* A request is written whole, then answered: nothing to coalesce. */
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (connect(s->fd, sa, len) == 0)
    return VT_OK;
  int err = errno;
  if (err == EINPROGRESS) {
    if (rrd_store_wait(s, POLLOUT) != VT_OK) {
      rrd_store_disconnect(s);
      return VT_EIO;
    }
    socklen_t elen = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
      err = errno;
    if (err == 0)
      return VT_OK;
  }
  snprintf(s->io_err, sizeof(s->io_err), "connect: %s", strerror(err));
  rrd_store_disconnect(s);
  return VT_EIO;
}

static enum vt_status rrd_store_connect(struct rrd_store *s)
{
  if (s->mode == RRD_STORE_UNIX) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, s->addr, strlen(s->addr) + 1); /* length checked */
    return rrd_store_connect_to(s, AF_UNIX, (const struct sockaddr *)&sa,
                                sizeof(sa));
  }
  /* A name blocks in getaddrinfo; configure an address to avoid that. */
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(s->host, s->port, &hints, &res);
  if (rc != 0) {
    snprintf(s->io_err, sizeof(s->io_err), "%s", gai_strerror(rc));
    return VT_EIO;
  }
  enum vt_status st = VT_EIO;
  for (struct addrinfo *ai = res; ai && st != VT_OK; ai = ai->ai_next)
    st = rrd_store_connect_to(s, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(res);
  return st;
}

/* Sends len bytes; *broken tells a lost connection from a timeout. */
static enum vt_status rrd_store_send(struct rrd_store *s, const char *data,
                                     size_t len, bool *broken)
{
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(s->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (rrd_store_wait(s, POLLOUT) != VT_OK)
        return VT_EIO;
    } else if (errno != EINTR) {
      snprintf(s->io_err, sizeof(s->io_err), "send: %s", strerror(errno));
      *broken = true;
      return VT_EIO;
    }
  }
  return VT_OK;
}

/* Receives until rbuf holds `lines` whole lines from offset from; *end gets
 * the offset just past them. */
static enum vt_status rrd_store_recv_lines(struct rrd_store *s, size_t from,
                                           long lines, size_t *end,
                                           bool *broken)
{
  size_t pos = from;
  long seen = 0;
  for (;;) {
    while (seen < lines && pos < s->rbuf.len) {
      const char *nl = memchr(s->rbuf.data + pos, '\n', s->rbuf.len - pos);
      if (!nl)
        break;
      pos = (size_t)(nl - s->rbuf.data) + 1;
      seen++;
    }
    if (seen == lines) {
      *end = pos;
      return VT_OK;
    }
    char chunk[4096];
    ssize_t n = recv(s->fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      enum vt_status st = vt_buf_add(&s->rbuf, chunk, (size_t)n);
      if (st != VT_OK)
        return st;
    } else if (n == 0) {
      snprintf(s->io_err, sizeof(s->io_err), "connection closed by peer");
      *broken = true;
      return VT_EIO;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (rrd_store_wait(s, POLLIN) != VT_OK)
        return VT_EIO;
    } else if (errno != EINTR) {
      snprintf(s->io_err, sizeof(s->io_err), "recv: %s", strerror(errno));
      *broken = true;
      return VT_EIO;
    }
  }
}

/* Reads one reply: "<status> <message>\n", then status more lines when
 * status > 0. The pointers in r stay valid until the next exchange. */
static enum vt_status rrd_store_read_reply(struct rrd_store *s,
                                           struct rrd_store_reply *r,
                                           bool *broken)
{
  size_t head = s->rpos, body;
  enum vt_status st = rrd_store_recv_lines(s, head, 1, &body, broken);
  if (st != VT_OK)
    return st;
  char *end;
  long status = strtol(s->rbuf.data + head, &end, 10);
  if (end == s->rbuf.data + head || (*end != ' ' && *end != '\n')) {
    snprintf(s->io_err, sizeof(s->io_err), "unexpected reply \"%.60s\"",
             s->rbuf.data + head);
    return VT_EIO;
  }
  size_t msg = (size_t)(end - s->rbuf.data), stop = body;
  if (status > 0) {
    st = rrd_store_recv_lines(s, body, status, &stop, broken);
    if (st != VT_OK)
      return st;
  }
  /* Only now, with everything received, may pointers into rbuf be kept. */
  char *d = s->rbuf.data;
  d[body - 1] = '\0';
  if (stop > body)
    d[stop - 1] = '\0';
  while (d[msg] == ' ')
    msg++;
  *r = (struct rrd_store_reply){
      .status = status, .msg = d + msg, .lines = d + body};
  s->rpos = stop;
  return VT_OK;
}

/* One try of the request in s->text: connect if needed, send, read
 * `replies` replies (the last one lands in r). */
static enum vt_status rrd_store_try(struct rrd_store *s, int replies,
                                    struct rrd_store_reply *r, bool *broken)
{
  vt_buf_reset(&s->rbuf);
  s->rpos = 0;
  enum vt_status st = VT_OK;
  if (s->fd < 0 && (st = rrd_store_connect(s)) != VT_OK)
    return st;
  st = rrd_store_send(s, s->text.data, s->text.len, broken);
  for (int i = 0; i < replies && st == VT_OK; i++) {
    st = rrd_store_read_reply(s, r, broken);
    /* A refused BATCH would run the lines that follow one by one; the
     * caller drops the connection with the rest of them. */
    if (st == VT_OK && i + 1 < replies && r->status < 0) {
      snprintf(s->io_err, sizeof(s->io_err), "refused: %.120s", r->msg);
      st = VT_EIO;
    }
  }
  if (st == VT_OK && s->rpos != s->rbuf.len) {
    /* More than we asked for: out of step, start afresh next time. */
    vt_debug("rrdcached: %s: %zu stray bytes, reconnecting next time",
             s->daemon, s->rbuf.len - s->rpos);
    rrd_store_disconnect(s);
  }
  return st;
}

/* Sends the request in s->text and reads its replies. A lost connection
 * (rrdcached restarted) is reconnected and the request sent once more, as
 * collectd's rrdcached plugin does; repeating UPDATEs is harmless since
 * values at or before a file's last update are skipped. A timeout is not
 * retried: a stuck daemon would only hold the caller twice as long. */
static enum vt_status rrd_store_exchange(struct rrd_store *s, int replies,
                                         struct rrd_store_reply *r)
{
  for (int attempt = 0;; attempt++) {
    bool broken = false;
    enum vt_status st = rrd_store_try(s, replies, r, &broken);
    if (st == VT_OK) {
      if (s->failing)
        vt_notice("rrdcached: %s: working again", s->daemon);
      s->failing = false;
      return VT_OK;
    }
    rrd_store_disconnect(s);
    if (st == VT_ENOMEM)
      return st;
    if (!broken || attempt > 0) {
      /* Logged once per outage, not on every flush of it. */
      if (!s->failing)
        vt_err("rrdcached: %s: %s", s->daemon, s->io_err);
      else
        vt_debug("rrdcached: %s: %s", s->daemon, s->io_err);
      s->failing = true;
      return VT_EIO;
    }
    vt_info("rrdcached: %s: %s; reconnecting once", s->daemon, s->io_err);
  }
}

/* ---- files ---- */

static void rrd_store_dir_release(struct rrd_store *s)
{
  if (s->cur_dir_fd >= 0 && s->cur_dir_fd != s->root_fd)
    close(s->cur_dir_fd);
  s->cur_dir_fd = -1;
}

/* Opens the directory of relpath below the root, creating what is missing
 * (0750) one component at a time with mkdirat/openat and O_NOFOLLOW, so a
 * symlink planted in the tree cannot lead a write out of it; then tells
 * whether the file exists. Fills s->path with the absolute name that
 * librrd and rrdcached get. librrd opens that name itself, so this is a
 * check at flush time, not a lock against a concurrent renamer. */
static enum vt_status rrd_store_locate(struct rrd_store *s, const char *relpath,
                                       bool *exists)
{
  int n = snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, relpath);
  if (n < 0 || (size_t)n >= sizeof(s->path)) {
    rrd_store_file_error(s, "%s/%s: name too long", s->dir, relpath);
    return VT_EIO;
  }
  const char *slash = strrchr(relpath, '/');
  size_t dlen = slash ? (size_t)(slash - relpath) : 0;
  const char *leaf = slash ? slash + 1 : relpath;
  if (s->cur_dir_fd < 0 || s->cur_dir_len != dlen ||
      memcmp(s->cur_dir, relpath, dlen) != 0) {
    rrd_store_dir_release(s);
    int fd = s->root_fd;
    for (size_t at = 0; at < dlen;) {
      char comp[RRD_STORE_RELPATH_MAX + 1];
      size_t clen = strcspn(relpath + at, "/");
      memcpy(comp, relpath + at, clen);
      comp[clen] = '\0';
      int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      int next = openat(fd, comp, flags);
      if (next < 0 && errno == ENOENT &&
          (mkdirat(fd, comp, 0750) == 0 || errno == EEXIST))
        next = openat(fd, comp, flags);
      int err = errno;
      if (fd != s->root_fd)
        close(fd);
      if (next < 0) {
        /* ELOOP or ENOTDIR: a symlink or a file where a directory belongs. */
        rrd_store_file_error(s, "%s/%.*s: cannot open directory: %s", s->dir,
                             (int)(at + clen), relpath, strerror(err));
        return VT_EIO;
      }
      fd = next;
      at += clen + 1;
    }
    memcpy(s->cur_dir, relpath, dlen);
    s->cur_dir_len = dlen;
    s->cur_dir_fd = fd;
  }
  struct stat sb;
  if (fstatat(s->cur_dir_fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(sb.st_mode)) {
      rrd_store_file_error(s, "%s: not a regular file", s->path);
      return VT_EIO;
    }
    *exists = true;
  } else if (errno == ENOENT) {
    *exists = false;
  } else {
    rrd_store_file_error(s, "%s: %s", s->path, strerror(errno));
    return VT_EIO;
  }
  return VT_OK;
}

/* Creates s->path with the layout, its last update one step before the
 * first value so that this value is kept. */
static enum vt_status rrd_store_create(struct rrd_store *s, long first_ts)
{
  long last_up = first_ts > s->step_s ? first_ts - s->step_s : 0;
  rrd_clear_error();
  if (rrd_create_r2(s->path, (unsigned long)s->step_s, (time_t)last_up, 1, NULL,
                    NULL, s->n_layout, (const char **)s->layout) == 0)
    return VT_OK;
  /* no_overwrite: losing a race against another writer ("File exists")
   * still leaves a usable file. */
  struct stat sb;
  if (lstat(s->path, &sb) == 0 && S_ISREG(sb.st_mode))
    return VT_OK;
  rrd_store_file_error(s, "%s: %s", s->path, rrd_get_error());
  return VT_EIO;
}

/* Formats "ts:up:total:dns:connect:tls:ttfb:share" into out (at least
 * RRD_STORE_VALUE_MAX bytes), 'U' for unknown, each value with the fewest
 * digits that read back as the same double. %g follows LC_NUMERIC; the
 * collector never calls setlocale(), so the decimal point is '.'. */
static size_t rrd_store_format(char *out, const struct rrd_store_update *u)
{
  const double v[RRD_STORE_N_DS] = {u->v.up,      u->v.total, u->v.dns,
                                    u->v.connect, u->v.tls,   u->v.ttfb,
                                    u->v.share};
  size_t len = (size_t)snprintf(out, RRD_STORE_VALUE_MAX, "%ld", u->ts);
  for (size_t i = 0; i < RRD_STORE_N_DS; i++) {
    char *at = out + len;
    if (!isfinite(v[i])) {
      memcpy(at, ":U", 3);
      len += 2;
      continue;
    }
    int n = snprintf(at, RRD_STORE_VALUE_MAX - len, ":%.15g", v[i]);
    if (strtod(at + 1, NULL) != v[i])
      n = snprintf(at, RRD_STORE_VALUE_MAX - len, ":%.17g", v[i]);
    len += (size_t)n;
  }
  return len;
}

static const struct rrd_store_update *
rrd_store_key_update(const struct rrd_store *s, size_t k)
{
  return &s->q[s->keys[k].i];
}

/* librrd direct: creates the file when missing, then one rrd_updatex_r
 * with all of its values. */
static enum vt_status rrd_store_write_direct(struct rrd_store *s, size_t first,
                                             size_t n)
{
  bool exists;
  enum vt_status st = rrd_store_locate(s, s->keys[first].path, &exists);
  if (st == VT_OK && !exists)
    st = rrd_store_create(s, s->keys[first].ts);
  if (st != VT_OK)
    return st;
  const char **argv = rrd_store_grow(s->argv, &s->cap_argv, n, sizeof(*argv));
  if (!argv)
    return VT_ENOMEM;
  s->argv = argv;
  vt_buf_reset(&s->text);
  for (size_t k = 0; k < n; k++) {
    char v[RRD_STORE_VALUE_MAX];
    size_t len = rrd_store_format(v, rrd_store_key_update(s, first + k));
    if ((st = vt_buf_add(&s->text, v, len + 1)) != VT_OK)
      return st;
  }
  /* The strings are NUL-separated; point at them once the buffer is done. */
  const char *p = s->text.data;
  for (size_t k = 0; k < n; k++) {
    argv[k] = p;
    p += strlen(p) + 1;
  }
  rrd_clear_error();
  if (rrd_updatex_r(s->path, NULL, RRD_SKIP_PAST_UPDATES, (int)n, argv) != 0) {
    rrd_store_file_error(s, "%s: %s", s->path, rrd_get_error());
    return VT_EIO;
  }
  return VT_OK;
}

/* ---- rrdcached BATCH ---- */

/* Appends a file's name as rrdcached gets it: absolute (and escaped) over a
 * unix socket, relative to the daemon's -b directory over TCP. */
static enum vt_status rrd_store_add_name(struct rrd_store *s,
                                         const char *relpath)
{
  if (s->mode == RRD_STORE_TCP)
    return vt_buf_adds(&s->text, relpath);
  return vt_buf_addf(&s->text, "%s/%s", s->wire_dir, relpath);
}

static enum vt_status rrd_store_add_cmd(struct rrd_store *s, size_t first,
                                        size_t n, bool create)
{
  struct rrd_store_cmd *c =
      rrd_store_grow(s->cmds, &s->cap_cmds, s->n_cmds + 1, sizeof(*c));
  if (!c)
    return VT_ENOMEM;
  s->cmds = c;
  s->cmds[s->n_cmds++] =
      (struct rrd_store_cmd){.first = first, .n = n, .create = create};
  return VT_OK;
}

/* Builds "BATCH", a CREATE where a span asks for it, UPDATEs of several
 * values each (cut to stay below RRD_STORE_LINE_MAX) and ".". */
static enum vt_status rrd_store_build_batch(struct rrd_store *s)
{
  vt_buf_reset(&s->text);
  s->n_cmds = 0;
  enum vt_status st = vt_buf_adds(&s->text, "BATCH\n");
  for (size_t i = 0; i < s->n_spans && st == VT_OK; i++) {
    const struct rrd_store_span *sp = &s->spans[i];
    const char *relpath = s->keys[sp->first].path;
    if (sp->create) {
      long ts = s->keys[sp->first].ts;
      st = vt_buf_adds(&s->text, "CREATE ");
      if (st == VT_OK)
        st = rrd_store_add_name(s, relpath);
      if (st == VT_OK)
        st = vt_buf_addf(&s->text, " -s %ld -b %ld -O", s->step_s,
                         ts > s->step_s ? ts - s->step_s : 0);
      for (int d = 0; d < s->n_layout && st == VT_OK; d++)
        st = vt_buf_addf(&s->text, " %s", s->layout[d]);
      if (st == VT_OK)
        st = vt_buf_add(&s->text, "\n", 1);
      if (st == VT_OK)
        st = rrd_store_add_cmd(s, sp->first, 0, true);
    }
    for (size_t k = sp->first, end = sp->first + sp->n;
         k < end && st == VT_OK;) {
      size_t line = s->text.len, cmd_first = k;
      st = vt_buf_adds(&s->text, "UPDATE ");
      if (st == VT_OK)
        st = rrd_store_add_name(s, relpath);
      for (; k < end && st == VT_OK; k++) {
        char v[RRD_STORE_VALUE_MAX + 1] = " ";
        size_t len = 1 + rrd_store_format(v + 1, rrd_store_key_update(s, k));
        if (k > cmd_first && s->text.len - line + len + 1 > RRD_STORE_LINE_MAX)
          break;
        st = vt_buf_add(&s->text, v, len);
      }
      if (st == VT_OK)
        st = vt_buf_add(&s->text, "\n", 1);
      if (st == VT_OK)
        st = rrd_store_add_cmd(s, cmd_first, k - cmd_first, false);
    }
  }
  if (st == VT_OK)
    st = vt_buf_adds(&s->text, ".\n");
  return st;
}

/* Adds keys [first, first + n) of one file to the next pass, merged with
 * the previous span when they follow on. */
static enum vt_status rrd_store_add_next(struct rrd_store *s, size_t first,
                                         size_t n, bool create)
{
  if (n == 0)
    return VT_OK;
  if (s->n_next) {
    struct rrd_store_span *last = &s->next_spans[s->n_next - 1];
    if (last->first + last->n == first &&
        strcmp(s->keys[last->first].path, s->keys[first].path) == 0) {
      last->n += n;
      return VT_OK;
    }
  }
  struct rrd_store_span *sp =
      rrd_store_grow(s->next_spans, &s->cap_next, s->n_next + 1, sizeof(*sp));
  if (!sp)
    return VT_ENOMEM;
  s->next_spans = sp;
  s->next_spans[s->n_next++] =
      (struct rrd_store_span){.first = first, .n = n, .create = create};
  return VT_OK;
}

/* Joins continuation lines to their error: rrdcached counts lines, not
 * errors, in "<n> errors", and some messages span two lines (1.7.2's
 * "No permission to recursively create: ...\nDid you pass -R ..."). */
static void rrd_store_join_errors(char *lines)
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
static enum vt_status rrd_store_batch_error(struct rrd_store *s,
                                            bool first_pass, size_t cmd,
                                            const char *msg,
                                            const char **logged)
{
  const struct rrd_store_cmd *c = &s->cmds[cmd];
  const char *relpath = s->keys[c->first].path;
  const char *last = strstr(msg, "when last update time is ");
  if (!c->create && strstr(msg, "illegal attempt to update") && last) {
    if (!first_pass)
      return VT_OK; /* a concurrent writer got there first */
    double last_ts = strtod(last + strlen("when last update time is "), NULL);
    size_t k = c->first, end = c->first + c->n;
    while (k < end && (double)s->keys[k].ts <= last_ts)
      k++;
    vt_debug("rrd: %s: %zu value(s) up to %.0f skipped, %zu sent again",
             relpath, k - c->first, last_ts, end - k);
    return rrd_store_add_next(s, k, end - k, false);
  }
  if (!c->create && first_pass && s->mode == RRD_STORE_TCP &&
      strncmp(msg, "No such file", 12) == 0) {
    bool create =
        !s->n_next ||
        strcmp(s->keys[s->next_spans[s->n_next - 1].first].path, relpath) != 0;
    return rrd_store_add_next(s, c->first, c->n, create);
  }
  if (c->create && strstr(msg, "File exists"))
    return VT_OK; /* CREATE -O lost a race; the file is there */
  /* One line per file, though each of its UPDATEs fails the same way. */
  if (!*logged || strcmp(*logged, relpath) != 0)
    rrd_store_file_error(s, "%s: %s", relpath, msg);
  *logged = relpath;
  return VT_EIO;
}

/* Runs one BATCH of s->spans; on the first pass, collects in next_spans
 * what has to go again. */
static enum vt_status rrd_store_run_batch(struct rrd_store *s, bool first_pass)
{
  s->n_next = 0;
  enum vt_status st = rrd_store_build_batch(s);
  struct rrd_store_reply r;
  if (st == VT_OK)
    st = rrd_store_exchange(s, 2, &r);
  if (st != VT_OK)
    return st;
  if (r.status < 0) {
    vt_err("rrdcached: %s: BATCH: %s", s->daemon, r.msg);
    return VT_EIO;
  }
  rrd_store_join_errors(r.lines);
  const char *logged = NULL;
  for (char *line = r.lines, *next; *line; line = next) {
    next = line + strcspn(line, "\n");
    if (*next)
      *next++ = '\0';
    char *msg;
    unsigned long cmd = strtoul(line, &msg, 10);
    while (*msg == ' ')
      msg++;
    if (cmd < 1 || cmd > s->n_cmds) {
      vt_err("rrdcached: %s: BATCH: %s", s->daemon, line);
      st = VT_EIO;
      continue;
    }
    enum vt_status est =
        rrd_store_batch_error(s, first_pass, cmd - 1, msg, &logged);
    if (est == VT_ENOMEM)
      return est;
    if (est != VT_OK)
      st = est;
  }
  return st;
}

/* rrdcached: files are created here first when the socket is a unix one,
 * then one BATCH, and a second one for what the first sent back. */
static enum vt_status rrd_store_write_daemon(struct rrd_store *s, size_t n)
{
  enum vt_status st = VT_OK;
  s->n_spans = 0;
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && strcmp(s->keys[j].path, s->keys[i].path) == 0;)
      j++;
    if (s->mode == RRD_STORE_UNIX) {
      bool exists;
      enum vt_status fst = rrd_store_locate(s, s->keys[i].path, &exists);
      if (fst == VT_OK && !exists)
        fst = rrd_store_create(s, s->keys[i].ts);
      if (fst != VT_OK) {
        st = fst;
        continue;
      }
    }
    struct rrd_store_span *sp =
        rrd_store_grow(s->spans, &s->cap_spans, s->n_spans + 1, sizeof(*sp));
    if (!sp)
      return VT_ENOMEM;
    s->spans = sp;
    s->spans[s->n_spans++] = (struct rrd_store_span){.first = i, .n = j - i};
  }
  for (int pass = 0; pass < 2 && s->n_spans; pass++) {
    enum vt_status bst = rrd_store_run_batch(s, pass == 0);
    if (bst != VT_OK)
      st = bst;
    if (bst == VT_ENOMEM)
      break;
    /* The next pass sends what this one collected. */
    struct rrd_store_span *tmp = s->spans;
    size_t tcap = s->cap_spans;
    s->spans = s->next_spans;
    s->cap_spans = s->cap_next;
    s->n_spans = s->n_next;
    s->next_spans = tmp;
    s->cap_next = tcap;
    s->n_next = 0;
  }
  return st;
}

static int rrd_store_key_cmp(const void *a, const void *b)
{
  const struct rrd_store_key *x = a, *y = b;
  int c = x->path == y->path ? 0 : strcmp(x->path, y->path);
  if (c)
    return c;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts the queue by (file, time) into s->keys and drops repeated times,
 * keeping the first queued; *n_keys gets the number left. */
static enum vt_status rrd_store_sort(struct rrd_store *s, size_t *n_keys)
{
  struct rrd_store_key *keys =
      rrd_store_grow(s->keys, &s->cap_keys, s->n_q, sizeof(*keys));
  if (!keys)
    return VT_ENOMEM;
  s->keys = keys;
  for (size_t i = 0; i < s->n_q; i++)
    keys[i] = (struct rrd_store_key){
        .path = s->paths.data + s->q[i].path, .ts = s->q[i].ts, .i = i};
  qsort(keys, s->n_q, sizeof(*keys), rrd_store_key_cmp);
  size_t n = 0;
  for (size_t i = 0; i < s->n_q; i++) {
    if (n && keys[n - 1].ts == keys[i].ts &&
        strcmp(keys[n - 1].path, keys[i].path) == 0)
      continue;
    keys[n++] = keys[i];
  }
  *n_keys = n;
  return VT_OK;
}

/* ---- API ---- */

struct rrd_store *rrd_store_open(const struct rrd_store_conf *conf,
                                 enum vt_status *st)
{
  enum vt_status rc = VT_EINVAL;
  struct rrd_store *s = calloc(1, sizeof(*s));
  if (!s) {
    *st = VT_ENOMEM;
    return NULL;
  }
  s->root_fd = s->fd = s->cur_dir_fd = -1;
  vt_buf_init(&s->rbuf, 0);
  vt_buf_init(&s->paths, 0);
  vt_buf_init(&s->text, 0);

  if (!conf || !conf->dir || !conf->dir[0]) {
    vt_err("rrd: no directory configured");
    goto fail;
  }
  s->step_s = conf->step_s ? conf->step_s : RRD_STORE_DEFAULT_STEP_S;
  long heartbeat_s =
      conf->heartbeat_s ? conf->heartbeat_s : RRD_STORE_DEFAULT_HEARTBEAT_S;
  s->io_timeout_s = conf->io_timeout_s > 0 ? conf->io_timeout_s
                                           : RRD_STORE_DEFAULT_IO_TIMEOUT_S;
  if (s->step_s < 1 || heartbeat_s < 1 || conf->io_timeout_s < 0 ||
      s->io_timeout_s > 3600) {
    vt_err("rrd: step %lds, heartbeat %lds, timeout %gs: out of range",
           s->step_s, heartbeat_s, conf->io_timeout_s);
    goto fail;
  }
  rc = VT_EIO;
  if (rrd_store_mkdir_p(conf->dir) != 0 ||
      !(s->dir = realpath(conf->dir, NULL)) ||
      (s->root_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    vt_err("rrd: %s: cannot create or open: %s", conf->dir, strerror(errno));
    goto fail;
  }
  if ((rc = rrd_store_layout(s, conf, heartbeat_s)) != VT_OK)
    goto fail;
  if (conf->rrdcached) {
    if (!(s->daemon = strdup(conf->rrdcached))) {
      rc = VT_ENOMEM;
      goto fail;
    }
    if ((rc = rrd_store_parse_daemon(s, conf->rrdcached)) != VT_OK ||
        (rc = rrd_store_escape_dir(s)) != VT_OK)
      goto fail;
    /* The longest UPDATE with one value, and over TCP the longest CREATE,
     * must fit in a line (see RRD_STORE_LINE_MAX). */
    size_t create_len = 64 + RRD_STORE_RELPATH_MAX;
    for (int i = 0; i < s->n_layout; i++)
      create_len += strlen(s->layout[i]) + 1;
    if (strlen(s->wire_dir) + RRD_STORE_RELPATH_MAX + RRD_STORE_VALUE_MAX + 16 >
            RRD_STORE_LINE_MAX ||
        (s->mode == RRD_STORE_TCP && create_len > RRD_STORE_LINE_MAX)) {
      vt_err("rrd: %s: the root or the RRA list is too long for rrdcached's "
             "%d-byte lines",
             s->dir, RRD_STORE_LINE_MAX);
      rc = VT_EINVAL;
      goto fail;
    }
    if ((rc = rrd_store_connect(s)) != VT_OK) {
      vt_err("rrdcached: %s: %s", s->daemon, s->io_err);
      goto fail;
    }
  }
  vt_info("rrd: %s: step %lds, heartbeat %lds, %d RRAs, %s%s", s->dir,
          s->step_s, heartbeat_s, s->n_layout - RRD_STORE_N_DS,
          s->daemon ? "rrdcached " : "librrd direct",
          s->daemon ? s->daemon : "");
  *st = VT_OK;
  return s;

fail:
  rrd_store_close(s);
  *st = rc;
  return NULL;
}

void rrd_store_close(struct rrd_store *s)
{
  if (!s)
    return;
  rrd_store_disconnect(s);
  rrd_store_dir_release(s);
  if (s->root_fd >= 0)
    close(s->root_fd);
  for (int i = 0; i < s->n_layout; i++)
    free(s->layout[i]);
  free(s->layout);
  free(s->dir);
  free(s->wire_dir);
  free(s->daemon);
  free(s->addr);
  free(s->q);
  free(s->keys);
  free(s->spans);
  free(s->next_spans);
  free(s->cmds);
  free(s->argv);
  vt_buf_cleanup(&s->rbuf);
  vt_buf_cleanup(&s->paths);
  vt_buf_cleanup(&s->text);
  free(s);
}

enum vt_status rrd_store_queue(struct rrd_store *s, const char *relpath,
                               long ts, const struct rrd_values *v)
{
  if (!relpath || !v || ts <= 0 || !rrd_store_relpath_ok(relpath))
    return VT_EINVAL;
  struct rrd_store_update *q =
      rrd_store_grow(s->q, &s->cap_q, s->n_q + 1, sizeof(*q));
  if (!q)
    return VT_ENOMEM;
  s->q = q;
  /* Results of one file usually arrive together: store its name once. */
  size_t off = s->paths.len;
  if (s->n_q && strcmp(s->paths.data + q[s->n_q - 1].path, relpath) == 0) {
    off = q[s->n_q - 1].path;
  } else {
    enum vt_status st = vt_buf_add(&s->paths, relpath, strlen(relpath) + 1);
    if (st != VT_OK)
      return st;
  }
  q[s->n_q++] = (struct rrd_store_update){.path = off, .ts = ts, .v = *v};
  return VT_OK;
}

enum vt_status rrd_store_flush(struct rrd_store *s)
{
  if (!s->n_q)
    return VT_OK;
  size_t n = 0;
  enum vt_status st = rrd_store_sort(s, &n);
  if (st == VT_OK && s->mode != RRD_STORE_DIRECT) {
    st = rrd_store_write_daemon(s, n);
  } else if (st == VT_OK) {
    for (size_t i = 0, j; i < n; i = j) {
      for (j = i + 1; j < n && strcmp(s->keys[j].path, s->keys[i].path) == 0;)
        j++;
      enum vt_status fst = rrd_store_write_direct(s, i, j - i);
      if (fst != VT_OK && (st == VT_OK || fst == VT_ENOMEM))
        st = fst;
    }
  }
  if (s->n_failed > RRD_STORE_LOG_FILES)
    vt_err("rrd: %zu more file(s) failed in this flush",
           s->n_failed - RRD_STORE_LOG_FILES);
  s->n_failed = 0;
  rrd_store_dir_release(s);
  rrd_store_discard(s);
  return st;
}

void rrd_store_discard(struct rrd_store *s)
{
  s->n_q = 0;
  vt_buf_reset(&s->paths);
}

enum vt_status rrd_store_flush_file(struct rrd_store *s, const char *relpath)
{
  if (!relpath || !rrd_store_relpath_ok(relpath))
    return VT_EINVAL;
  if (s->mode == RRD_STORE_DIRECT)
    return VT_OK;
  vt_buf_reset(&s->text);
  enum vt_status st = vt_buf_adds(&s->text, "FLUSH ");
  if (st == VT_OK)
    st = rrd_store_add_name(s, relpath);
  if (st == VT_OK)
    st = vt_buf_add(&s->text, "\n", 1);
  struct rrd_store_reply r;
  if (st == VT_OK)
    st = rrd_store_exchange(s, 1, &r);
  if (st != VT_OK)
    return st;
  if (r.status >= 0)
    return VT_OK;
  /* Nothing to flush for a series never written: the reader finds out. */
  if (strncmp(r.msg, "No such file", 12) == 0)
    return VT_ENOTFOUND;
  vt_err("rrdcached: %s: FLUSH %s: %s", s->daemon, relpath, r.msg);
  return VT_EIO;
}

char *rrd_store_path(const struct rrd_store *s, const char *relpath, char *out,
                     size_t size)
{
  /* A bad name or a short buffer gives "", never a different file. */
  if (!size)
    return out;
  int n = relpath && rrd_store_relpath_ok(relpath)
              ? snprintf(out, size, "%s/%s", s->dir, relpath)
              : -1;
  if (n < 0 || (size_t)n >= size)
    out[0] = '\0';
  return out;
}
