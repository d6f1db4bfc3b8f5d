/* SPDX-License-Identifier: MIT */
/* All RRD writes of the collector (see rrd_store.h; the file layout is in
 * docs/collector.md, "Series and RRD files"). Updates are queued per batch,
 * sorted per file and written with one librrd call per file, or as one
 * rrdcached BATCH (rrdcached.c). Not thread-safe: one collector thread owns
 * the store. */
#include "config.h"

#include "rrd_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "buf.h"
#include "log.h"
#include "grow.h"
#include "rrdcached.h"

enum {
  RRD_STORE_N_DS = 7,
  RRD_STORE_RELPATH_MAX = 255,
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

/* Waits of 10 ms for a file a reader has locked (see rrd_store_direct). */
#define RRD_STORE_LOCK_RETRIES 50

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

struct rrd_store {
  char *dir; /* root, absolute with symlinks resolved */
  int root_fd;
  long step_s;
  char **layout; /* DS and RRA definitions for rrd_create_r2 and CREATE */
  int n_layout;

  struct rrdcached *daemon; /* NULL: librrd direct */
  size_t n_failed;          /* files that failed in this flush */

  /* The queue: reused across batches, so that a steady batch size stops
   * allocating once the arrays have grown. */
  struct rrd_store_update *q;
  size_t n_q, cap_q;
  struct vt_buf paths; /* the relpaths, NUL-separated */

  /* Scratch of rrd_store_flush, reused as well. */
  struct rrd_store_key *keys;
  size_t cap_keys;
  struct rrdcached_value *vals; /* for rrdcached_update */
  size_t cap_vals;
  const char **argv;
  size_t cap_argv;
  struct vt_buf text;  /* update strings */
  char path[PATH_MAX]; /* absolute name of the file at hand */

  /* The directory of the previous file, kept open for the next one: files
   * come sorted, so probes of one series share it. Released after each
   * flush, so that a directory removed meanwhile is created again. */
  char cur_dir[RRD_STORE_RELPATH_MAX + 1];
  size_t cur_dir_len;
  int cur_dir_fd;

  /* Files seen as regular files already (open addressing, relpath copies):
   * a steady batch then costs no directory walk at all, where it cost three
   * openat and an fstatat per file. Any file error empties it, so a file
   * removed behind our back is created again. */
  char **known;
  size_t cap_known, n_known;
};

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
static void rrd_store_known_clear(struct rrd_store *s);

static void rrd_store_file_error(struct rrd_store *s, const char *fmt, ...)
{
  rrd_store_known_clear(s);
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
/* ---- files known to exist ------------------------------------------------ */

static uint64_t rrd_store_hash(const char *p)
{
  uint64_t h = 1469598103934665603ull;
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

static void rrd_store_known_clear(struct rrd_store *s)
{
  for (size_t i = 0; i < s->cap_known; i++) {
    free(s->known[i]);
    s->known[i] = NULL;
  }
  s->n_known = 0;
}

static bool rrd_store_known_has(const struct rrd_store *s, const char *relpath)
{
  if (!s->cap_known)
    return false;
  size_t mask = s->cap_known - 1;
  for (size_t i = rrd_store_hash(relpath) & mask; s->known[i];
       i = (i + 1) & mask)
    if (strcmp(s->known[i], relpath) == 0)
      return true;
  return false;
}

/* Remembers relpath; out of memory only means the walk is done again. */
static void rrd_store_known_add(struct rrd_store *s, const char *relpath)
{
  if ((s->n_known + 1) * 2 > s->cap_known) {
    size_t cap = s->cap_known ? s->cap_known * 2 : 1024;
    char **t = calloc(cap, sizeof(*t));
    if (!t)
      return;
    for (size_t i = 0; i < s->cap_known; i++) {
      if (!s->known[i])
        continue;
      size_t j = rrd_store_hash(s->known[i]) & (cap - 1);
      while (t[j])
        j = (j + 1) & (cap - 1);
      t[j] = s->known[i];
    }
    free(s->known);
    s->known = t;
    s->cap_known = cap;
  }
  char *copy = strdup(relpath);
  if (!copy)
    return;
  size_t mask = s->cap_known - 1, i = rrd_store_hash(relpath) & mask;
  while (s->known[i])
    i = (i + 1) & mask;
  s->known[i] = copy;
  s->n_known++;
}

static enum vt_status rrd_store_locate(struct rrd_store *s, const char *relpath,
                                       bool *exists)
{
  int n = snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, relpath);
  if (n < 0 || (size_t)n >= sizeof(s->path)) {
    rrd_store_file_error(s, "%s/%s: name too long", s->dir, relpath);
    return VT_EIO;
  }
  if (rrd_store_known_has(s, relpath)) {
    *exists = true;
    return VT_OK;
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
    rrd_store_known_add(s, relpath);
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

/* ---- corrupt files ---- */

/* librrd's messages for a file that cannot be an RRD file (truncated,
 * overwritten, empty); a file of another layout or a lock is not one. */
static bool rrd_store_corrupt_msg(const char *msg)
{
  static const char *const signs[] = {
      "is not an RRD file", "reached EOF while loading header",
      "mmaping file",       "is too small (should be",
      "short read",         "created on another architecture",
  };
  for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++)
    if (strstr(msg, signs[i]))
      return true;
  return false;
}

/* s->path failed with msg. When the file is corrupt, moves it aside as
 * NAME.corrupt-<unix time> (kept for the operator, never read again) and
 * creates a fresh one whose first value comes at first_ts, so one broken
 * file costs its own series' history and never the rest of a batch.
 * Returns true when the caller should write again. */
static bool rrd_store_replace_corrupt(struct rrd_store *s, const char *msg,
                                      long first_ts)
{
  if (!rrd_store_corrupt_msg(msg))
    return false;
  char aside[PATH_MAX + 32];
  if (snprintf(aside, sizeof(aside), "%s.corrupt-%ld", s->path,
               (long)time(NULL)) >= (int)sizeof(aside) ||
      rename(s->path, aside) != 0) {
    vt_err("rrd: %s: corrupt (%s) and cannot be moved aside: %s", s->path,
           msg, strerror(errno));
    return false;
  }
  rrd_store_known_clear(s);
  vt_err("rrd: %s: corrupt (%s); moved aside as %s and created afresh: "
         "this series' history starts again",
         s->path, msg, aside);
  return rrd_store_create(s, first_ts) == VT_OK;
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
  const char **argv = vt_grow(s->argv, &s->cap_argv, n, sizeof(*argv));
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
  bool replaced = false;
  for (int attempt = 0;; attempt++) {
    rrd_clear_error();
    if (rrd_updatex_r(s->path, NULL, RRD_SKIP_PAST_UPDATES, (int)n, argv) ==
        0)
      return VT_OK;
    /* librrd locks without waiting, and a reader (vantage-graph fetching
     * this file for the status page) holds its lock for milliseconds: wait
     * for it briefly rather than refuse the batch. Nothing is written
     * before the lock is taken. */
    if (attempt < RRD_STORE_LOCK_RETRIES &&
        strstr(rrd_get_error(), "could not lock")) {
      nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
      continue;
    }
    if (!replaced &&
        rrd_store_replace_corrupt(s, rrd_get_error(), s->keys[first].ts)) {
      replaced = true;
      continue;
    }
    rrd_store_file_error(s, "%s: %s", s->path, rrd_get_error());
    return VT_EIO;
  }
}

/* ---- rrdcached ---- */

/* rrdcached_update's file_error: counted and logged like librrd's. */
static void rrd_store_daemon_error(void *arg, const char *relpath,
                                   const char *msg)
{
  rrd_store_file_error(arg, "%s: %s", relpath, msg);
}

/* rrdcached: files are created here first when the socket is a unix one,
 * then every value goes to rrdcached_update. */
static enum vt_status rrd_store_write_daemon(struct rrd_store *s, size_t n)
{
  struct rrdcached_value *vals =
      vt_grow(s->vals, &s->cap_vals, n, sizeof(*vals));
  if (!vals)
    return VT_ENOMEM;
  s->vals = vals;
  vt_buf_reset(&s->text);
  enum vt_status st = VT_OK;
  size_t m = 0;
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && strcmp(s->keys[j].path, s->keys[i].path) == 0;)
      j++;
    if (!rrdcached_creates_files(s->daemon)) {
      bool exists;
      enum vt_status fst = rrd_store_locate(s, s->keys[i].path, &exists);
      if (fst == VT_OK && !exists)
        fst = rrd_store_create(s, s->keys[i].ts);
      if (fst != VT_OK) {
        st = fst;
        continue;
      }
    }
    for (size_t k = i; k < j; k++) {
      char v[RRD_STORE_VALUE_MAX];
      size_t len = rrd_store_format(v, rrd_store_key_update(s, k));
      enum vt_status bst = vt_buf_add(&s->text, v, len + 1);
      if (bst != VT_OK)
        return bst;
      vals[m++] = (struct rrdcached_value){.relpath = s->keys[k].path,
                                           .ts = s->keys[k].ts};
    }
  }
  /* The strings are NUL-separated; point at them once the buffer is done. */
  const char *p = s->text.data;
  for (size_t k = 0; k < m; k++) {
    vals[k].text = p;
    p += strlen(p) + 1;
  }
  enum vt_status bst =
      rrdcached_update(s->daemon, vals, m, rrd_store_daemon_error, s);
  return bst != VT_OK ? bst : st;
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
      vt_grow(s->keys, &s->cap_keys, s->n_q, sizeof(*keys));
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
  s->root_fd = s->cur_dir_fd = -1;
  vt_buf_init(&s->paths, 0);
  vt_buf_init(&s->text, 0);

  if (!conf || !conf->dir || !conf->dir[0]) {
    vt_err("rrd: no directory configured");
    goto fail;
  }
  s->step_s = conf->step_s ? conf->step_s : RRD_STORE_DEFAULT_STEP_S;
  long heartbeat_s =
      conf->heartbeat_s ? conf->heartbeat_s : RRD_STORE_DEFAULT_HEARTBEAT_S;
  double io_timeout_s = conf->io_timeout_s > 0 ? conf->io_timeout_s
                                               : RRD_STORE_DEFAULT_IO_TIMEOUT_S;
  if (s->step_s < 1 || heartbeat_s < 1 || conf->io_timeout_s < 0 ||
      io_timeout_s > 3600) {
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
    const struct rrdcached_conf dconf = {
        .address = conf->rrdcached,
        .root = s->dir,
        .step_s = s->step_s,
        .layout = s->layout,
        .n_layout = s->n_layout,
        .relpath_max = RRD_STORE_RELPATH_MAX,
        .value_max = RRD_STORE_VALUE_MAX,
        .io_timeout_s = io_timeout_s,
    };
    if (!(s->daemon = rrdcached_open(&dconf, &rc)))
      goto fail;
  }
  vt_info("rrd: %s: step %lds, heartbeat %lds, %d RRAs, %s%s", s->dir,
          s->step_s, heartbeat_s, s->n_layout - RRD_STORE_N_DS,
          s->daemon ? "rrdcached " : "librrd direct",
          s->daemon ? conf->rrdcached : "");
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
  rrdcached_close(s->daemon); /* before the layout it borrows */
  rrd_store_dir_release(s);
  rrd_store_known_clear(s);
  free(s->known);
  if (s->root_fd >= 0)
    close(s->root_fd);
  for (int i = 0; i < s->n_layout; i++)
    free(s->layout[i]);
  free(s->layout);
  free(s->dir);
  free(s->q);
  free(s->keys);
  free(s->vals);
  free(s->argv);
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
      vt_grow(s->q, &s->cap_q, s->n_q + 1, sizeof(*q));
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
  if (st == VT_OK && s->daemon) {
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

enum vt_status rrd_store_ensure(struct rrd_store *s, const char *relpath,
                                long first_ts, bool *created)
{
  *created = false;
  if (!rrd_store_relpath_ok(relpath))
    return VT_EINVAL;
  if (s->daemon && rrdcached_creates_files(s->daemon))
    return VT_OK;
  bool exists;
  enum vt_status st = rrd_store_locate(s, relpath, &exists);
  if (st == VT_OK && !exists) {
    st = rrd_store_create(s, first_ts);
    *created = st == VT_OK;
    if (st == VT_OK)
      rrd_store_known_add(s, relpath);
  }
  return st;
}

enum vt_status rrd_store_flush_file(struct rrd_store *s, const char *relpath)
{
  if (!relpath || !rrd_store_relpath_ok(relpath))
    return VT_EINVAL;
  return s->daemon ? rrdcached_flush(s->daemon, relpath) : VT_OK;
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
