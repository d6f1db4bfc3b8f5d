/* SPDX-License-Identifier: MIT */
/* All RRD writes of the collector (see rrd_store.h; the file layout is in
 * docs/collector.md, "Series and RRD files"). Updates are queued per batch,
 * sorted per file and written with one librrd call per file, or as one
 * rrdcached BATCH (rrdcached.c). Not thread-safe: one collector thread owns
 * the store. */
#include "config.h"

#include "rrd_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
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
#include "fsutil.h"
#include "grow.h"
#include "log.h"
#include "rrdcached.h"
#include "series.h"

enum {
  RRD_STORE_N_DS = VT_SERIES_N_DS,
  RRD_STORE_RELPATH_MAX = VT_SERIES_RELPATH_MAX,
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

/* The lean default RRAs, one AVERAGE each: a day of base rows (the
 * outage-gap graph of yesterday), 10-minute rows for 35 days and 2-hour
 * rows for two leap years. Availability comes from the event store, not
 * from these rows, so it stays exact. At the default 10 s step: 8640 +
 * 5040 + 8784 = 22,464 rows, 179,712 bytes per data source: http (6 data
 * sources) 1.08 MB, tcp (4) 0.72 MB, dns (3) 0.54 MB, share (1) 0.18 MB. */
static const struct {
  const char *cf;
  long row_s, span_s;
} rrd_store_lean_rra[] = {
    {"AVERAGE", 0, 86400L},
    {"AVERAGE", 600, 35 * 86400L},
    {"AVERAGE", 7200, 732 * 86400L},
};
#define RRD_STORE_N_LEAN_RRA                                                   \
  (sizeof(rrd_store_lean_rra) / sizeof(rrd_store_lean_rra[0]))

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
  bool full; /* conf->full_layout */
  int root_fd;
  long step_s;
  char **layout; /* DS and RRA definitions for rrd_create_r2 and CREATE */
  int n_layout;  /* (layout = layouts[RRD_KIND_FULL]) */
  char **layouts[RRD_KIND_N];
  int n_layouts[RRD_KIND_N];

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
  unsigned char *known_mask; /* data sources of each known file */

  /* Creations deferred by rrd_store_create_defer, run in parallel by
   * rrd_store_create_run. */
  bool defer;
  size_t tag;
  struct rrd_store_job *jobs;
  size_t n_jobs, cap_jobs;
};

/* A file to create (rrd_store_create_run). */
struct rrd_store_job {
  char *path; /* absolute */
  long first_ts;
  enum rrd_kind kind;
  size_t tag;
  bool ok;
  char err[256];
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

size_t rrd_kind_file_size(enum rrd_kind k, long step_s)
{
  size_t rows = 0, n_ds = (size_t)__builtin_popcount(rrd_kind_ds_mask(k));
  for (size_t i = 0; i < RRD_STORE_N_LEAN_RRA; i++) {
    long steps = rrd_store_lean_rra[i].row_s / step_s;
    long row_s = (steps < 1 ? 1 : steps) * step_s;
    rows += (size_t)((rrd_store_lean_rra[i].span_s + row_s - 1) / row_s);
  }
  return rows * n_ds * sizeof(double);
}

/* Builds the DS and RRA definitions of one kind into s->layouts[kind]; the
 * full kind keeps the first version's RRAs, the others get the lean ones;
 * conf->rra replaces either. */
static enum vt_status rrd_store_layout_kind(struct rrd_store *s,
                                            const struct rrd_store_conf *conf,
                                            long heartbeat_s,
                                            enum rrd_kind kind)
{
  bool own_rra = conf->rra && conf->n_rra;
  bool lean = kind != RRD_KIND_FULL;
  size_t n_rra = own_rra ? conf->n_rra
                 : lean  ? RRD_STORE_N_LEAN_RRA
                         : RRD_STORE_N_RRA;
  if (n_rra > RRD_STORE_CREATE_DEFS_MAX - RRD_STORE_N_DS) {
    vt_err("rrd: %zu RRAs configured, at most %d fit", n_rra,
           RRD_STORE_CREATE_DEFS_MAX - RRD_STORE_N_DS);
    return VT_EINVAL;
  }
  char **layout = calloc(RRD_STORE_N_DS + n_rra, sizeof(*layout));
  if (!layout)
    return VT_ENOMEM;
  s->layouts[kind] = layout;
  int *n_layout = &s->n_layouts[kind];
  for (size_t i = 0; i < RRD_STORE_N_DS; i++) {
    if (!(rrd_kind_ds_mask(kind) & (1u << i)))
      continue;
    char *def =
        rrd_store_strdupf("DS:%s:GAUGE:%ld:0:%s", vt_series_ds_defs[i].name,
                          heartbeat_s, vt_series_ds_defs[i].max);
    if (!def)
      return VT_ENOMEM;
    layout[(*n_layout)++] = def;
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
      const char *cf = lean ? rrd_store_lean_rra[i].cf : rrd_store_rra[i].cf;
      long row_s0 = lean ? rrd_store_lean_rra[i].row_s : rrd_store_rra[i].row_s;
      long span_s =
          lean ? rrd_store_lean_rra[i].span_s : rrd_store_rra[i].span_s;
      long steps = row_s0 / s->step_s;
      if (steps < 1)
        steps = 1;
      long row_s = steps * s->step_s;
      def = rrd_store_strdupf("RRA:%s:0.5:%ld:%ld", cf, steps,
                              (span_s + row_s - 1) / row_s);
    }
    if (!def)
      return VT_ENOMEM;
    layout[(*n_layout)++] = def;
  }
  return VT_OK;
}

/* The layouts of every kind; s->layout is the full one. */
static enum vt_status rrd_store_layout(struct rrd_store *s,
                                       const struct rrd_store_conf *conf,
                                       long heartbeat_s)
{
  for (int k = 0; k < RRD_KIND_N; k++) {
    enum vt_status st = rrd_store_layout_kind(s, conf, heartbeat_s, k);
    if (st != VT_OK)
      return st;
  }
  s->layout = s->layouts[RRD_KIND_FULL];
  s->n_layout = s->n_layouts[RRD_KIND_FULL];
  return VT_OK;
}

/* The data sources of the existing file s->path as a mask, 0 when they
 * cannot be read or a name is not one of ours. */
static unsigned rrd_store_file_mask(const char *path)
{
  time_t last;
  unsigned long n = 0;
  char **names = NULL, **last_ds = NULL;
  rrd_clear_error();
  if (rrd_lastupdate_r(path, &last, &n, &names, &last_ds) != 0)
    return 0;
  unsigned mask = 0;
  bool ok = true;
  for (unsigned long i = 0; i < n; i++) {
    int d = -1;
    for (int j = 0; j < RRD_STORE_N_DS; j++)
      if (strcmp(names[i], vt_series_ds_defs[j].name) == 0)
        d = j;
    /* Values go in our order: a file with another order is not ours. */
    if (d < 0 || (mask >> d) != 0)
      ok = false;
    else
      mask |= 1u << d;
    rrd_freemem(names[i]);
    rrd_freemem(last_ds[i]);
  }
  rrd_freemem(names);
  rrd_freemem(last_ds);
  return ok ? mask : 0;
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

/* The data sources of relpath when known, else 0. */
static unsigned rrd_store_known_has(const struct rrd_store *s,
                                    const char *relpath)
{
  if (!s->cap_known)
    return 0;
  size_t mask = s->cap_known - 1;
  for (size_t i = rrd_store_hash(relpath) & mask; s->known[i];
       i = (i + 1) & mask)
    if (strcmp(s->known[i], relpath) == 0)
      return s->known_mask[i];
  return 0;
}

/* Remembers relpath with its data sources (ds, not 0); out of memory only
 * means the walk is done again. */
static void rrd_store_known_add(struct rrd_store *s, const char *relpath,
                                unsigned ds)
{
  if (!ds)
    return;
  if ((s->n_known + 1) * 2 > s->cap_known) {
    size_t cap = s->cap_known ? s->cap_known * 2 : 1024;
    char **t = calloc(cap, sizeof(*t));
    unsigned char *tm = calloc(cap, 1);
    if (!t || !tm) {
      free(t);
      free(tm);
      return;
    }
    for (size_t i = 0; i < s->cap_known; i++) {
      if (!s->known[i])
        continue;
      size_t j = rrd_store_hash(s->known[i]) & (cap - 1);
      while (t[j])
        j = (j + 1) & (cap - 1);
      t[j] = s->known[i];
      tm[j] = s->known_mask[i];
    }
    free(s->known);
    free(s->known_mask);
    s->known = t;
    s->known_mask = tm;
    s->cap_known = cap;
  }
  char *copy = strdup(relpath);
  if (!copy)
    return;
  size_t mask = s->cap_known - 1, i = rrd_store_hash(relpath) & mask;
  while (s->known[i])
    i = (i + 1) & mask;
  s->known[i] = copy;
  s->known_mask[i] = (unsigned char)ds;
  s->n_known++;
}

/* Fills s->path and tells whether relpath exists; when it does, *ds gets
 * its data sources (ds may be NULL). */
static enum vt_status rrd_store_locate(struct rrd_store *s, const char *relpath,
                                       bool *exists, unsigned *ds)
{
  unsigned ds_local;
  if (!ds)
    ds = &ds_local;
  *ds = 0;
  int n = snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, relpath);
  if (n < 0 || (size_t)n >= sizeof(s->path)) {
    rrd_store_file_error(s, "%s/%s: name too long", s->dir, relpath);
    return VT_EIO;
  }
  if ((*ds = rrd_store_known_has(s, relpath)) != 0) {
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
    if (!(*ds = rrd_store_file_mask(s->path))) {
      rrd_store_file_error(s, "%s: not an RRD file of vantage: %s", s->path,
                           rrd_test_error() ? rrd_get_error()
                                            : "unknown data sources");
      return VT_EIO;
    }
    rrd_store_known_add(s, relpath, *ds);
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
static enum rrd_kind rrd_store_kind(const struct rrd_store *s,
                                    enum rrd_kind kind)
{
  /* The full layout has no load data source: load files keep their own. */
  if (kind == RRD_KIND_LOAD)
    return kind;
  return s->full || (unsigned)kind >= RRD_KIND_N ? RRD_KIND_FULL : kind;
}

/* Creates path; *ds gets the data sources of the file made. Touches
 * nothing of s but its layouts: creation threads call it. On failure, why
 * is in err. */
static bool rrd_store_create_file(const struct rrd_store *s, const char *path,
                                  long first_ts, enum rrd_kind kind,
                                  unsigned *ds, char *err, size_t err_len)
{
  kind = rrd_store_kind(s, kind);
  *ds = rrd_kind_ds_mask(kind);
  long last_up = first_ts > s->step_s ? first_ts - s->step_s : 0;
  rrd_clear_error();
  if (rrd_create_r2(path, (unsigned long)s->step_s, (time_t)last_up, 1, NULL,
                    NULL, s->n_layouts[kind],
                    (const char **)s->layouts[kind]) == 0)
    return true;
  snprintf(err, err_len, "%s", rrd_get_error());
  /* no_overwrite: losing a race against another writer ("File exists")
   * still leaves a usable file. */
  struct stat sb;
  if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
      (*ds = rrd_store_file_mask(path)) != 0)
    return true;
  return false;
}

/* *ds gets the data sources of the file made. */
static enum vt_status rrd_store_create(struct rrd_store *s, long first_ts,
                                       enum rrd_kind kind, unsigned *ds)
{
  char err[256];
  if (rrd_store_create_file(s, s->path, first_ts, kind, ds, err, sizeof(err)))
    return VT_OK;
  rrd_store_file_error(s, "%s: %s", s->path, err);
  return VT_EIO;
}

/* Formats "ts:up:total:dns:connect:tls:ttfb:share" into out (at least
 * RRD_STORE_VALUE_MAX bytes), 'U' for unknown, each value with the fewest
 * digits that read back as the same double. %g follows LC_NUMERIC; the
 * collector never calls setlocale(), so the decimal point is '.'. */
static size_t rrd_store_format(char *out, const struct rrd_store_update *u,
                               unsigned ds)
{
  const double v[RRD_STORE_N_DS] = {u->v.up,      u->v.total, u->v.dns,
                                    u->v.connect, u->v.tls,   u->v.ttfb,
                                    u->v.share,   u->v.load};
  size_t len = (size_t)snprintf(out, RRD_STORE_VALUE_MAX, "%ld", u->ts);
  for (size_t i = 0; i < RRD_STORE_N_DS; i++) {
    if (!(ds & (1u << i)))
      continue;
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
                                      long first_ts, enum rrd_kind kind,
                                      unsigned ds)
{
  if (!rrd_store_corrupt_msg(msg))
    return false;
  char aside[PATH_MAX + 32];
  if (snprintf(aside, sizeof(aside), "%s.corrupt-%ld", s->path,
               (long)time(NULL)) >= (int)sizeof(aside) ||
      rename(s->path, aside) != 0) {
    vt_err("rrd: %s: corrupt (%s) and cannot be moved aside: %s", s->path, msg,
           strerror(errno));
    return false;
  }
  rrd_store_known_clear(s);
  vt_err("rrd: %s: corrupt (%s); moved aside as %s and created afresh: "
         "this series' history starts again",
         s->path, msg, aside);
  /* The same data sources as the values already formatted for it: the
   * kind's own layout, or the full one of an old file. */
  if (rrd_kind_ds_mask(rrd_store_kind(s, kind)) != ds)
    kind = RRD_KIND_FULL;
  unsigned made = 0;
  return rrd_store_create(s, first_ts, kind, &made) == VT_OK && made == ds;
}

/* librrd direct: creates the file when missing, then one rrd_updatex_r
 * with all of its values. */
static enum vt_status rrd_store_write_direct(struct rrd_store *s, size_t first,
                                             size_t n)
{
  bool exists;
  unsigned ds;
  enum vt_status st = rrd_store_locate(s, s->keys[first].path, &exists, &ds);
  if (st == VT_OK && !exists)
    st = rrd_store_create(s, s->keys[first].ts,
                          rrd_store_key_update(s, first)->v.kind, &ds);
  if (st != VT_OK)
    return st;
  const char **argv = vt_grow(s->argv, &s->cap_argv, n, sizeof(*argv));
  if (!argv)
    return VT_ENOMEM;
  s->argv = argv;
  vt_buf_reset(&s->text);
  for (size_t k = 0; k < n; k++) {
    char v[RRD_STORE_VALUE_MAX];
    size_t len = rrd_store_format(v, rrd_store_key_update(s, first + k), ds);
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
    if (rrd_updatex_r(s->path, NULL, RRD_SKIP_PAST_UPDATES, (int)n, argv) == 0)
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
        rrd_store_replace_corrupt(s, rrd_get_error(), s->keys[first].ts,
                                  rrd_store_key_update(s, first)->v.kind, ds)) {
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
    enum rrd_kind kind = rrd_store_kind(s, rrd_store_key_update(s, i)->v.kind);
    /* Over TCP the daemon creates the file with the kind's layout and the
     * collector cannot read the files: they are taken to have it (convert
     * old files before, README "Upgrade"). */
    unsigned ds = rrd_kind_ds_mask(kind);
    if (!rrdcached_creates_files(s->daemon)) {
      bool exists;
      enum vt_status fst = rrd_store_locate(s, s->keys[i].path, &exists, &ds);
      if (fst == VT_OK && !exists)
        fst = rrd_store_create(s, s->keys[i].ts, kind, &ds);
      if (fst != VT_OK) {
        st = fst;
        continue;
      }
    }
    for (size_t k = i; k < j; k++) {
      char v[RRD_STORE_VALUE_MAX];
      size_t len = rrd_store_format(v, rrd_store_key_update(s, k), ds);
      enum vt_status bst = vt_buf_add(&s->text, v, len + 1);
      if (bst != VT_OK)
        return bst;
      vals[m++] = (struct rrdcached_value){.relpath = s->keys[k].path,
                                           .ts = s->keys[k].ts,
                                           .layout = s->layouts[kind],
                                           .n_layout = s->n_layouts[kind]};
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
  s->full = conf->full_layout;
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
  if (vt_mkdir_p(conf->dir, 0750) != 0 ||
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
  free(s->known_mask);
  for (size_t j = 0; j < s->n_jobs; j++)
    free(s->jobs[j].path);
  free(s->jobs);
  if (s->root_fd >= 0)
    close(s->root_fd);
  for (int k = 0; k < RRD_KIND_N; k++) {
    for (int i = 0; i < s->n_layouts[k]; i++)
      free(s->layouts[k][i]);
    free(s->layouts[k]);
  }
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
  struct rrd_store_update *q = vt_grow(s->q, &s->cap_q, s->n_q + 1, sizeof(*q));
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

void rrd_store_forget(struct rrd_store *s)
{
  rrd_store_known_clear(s);
}

size_t rrd_store_queued(const struct rrd_store *s)
{
  return s->n_q;
}

bool rrd_store_uses_daemon(const struct rrd_store *s)
{
  return s->daemon != NULL;
}

enum vt_status rrd_store_daemon_stats(struct rrd_store *s,
                                      struct rrdcached_stats *out)
{
  return s->daemon ? rrdcached_get_stats(s->daemon, out) : VT_ENOTFOUND;
}

void rrd_store_discard(struct rrd_store *s)
{
  s->n_q = 0;
  vt_buf_reset(&s->paths);
}

enum vt_status rrd_store_ensure(struct rrd_store *s, const char *relpath,
                                long first_ts, bool *created)
{
  return rrd_store_ensure_kind(s, relpath, first_ts, RRD_KIND_FULL, created);
}

enum vt_status rrd_store_ensure_kind(struct rrd_store *s, const char *relpath,
                                     long first_ts, enum rrd_kind kind,
                                     bool *created)
{
  *created = false;
  if (!rrd_store_relpath_ok(relpath))
    return VT_EINVAL;
  if (s->daemon && rrdcached_creates_files(s->daemon))
    return VT_OK;
  bool exists;
  unsigned ds;
  enum vt_status st = rrd_store_locate(s, relpath, &exists, &ds);
  if (st == VT_OK && !exists && s->defer) {
    /* Queued; known from now on so that it is queued once. */
    struct rrd_store_job *jobs =
        vt_grow(s->jobs, &s->cap_jobs, s->n_jobs + 1, sizeof(*jobs));
    char *path = jobs ? strdup(s->path) : NULL;
    if (jobs)
      s->jobs = jobs;
    if (!path)
      return VT_ENOMEM;
    s->jobs[s->n_jobs++] = (struct rrd_store_job){
        .path = path, .first_ts = first_ts, .kind = kind, .tag = s->tag};
    rrd_store_known_add(s, relpath, rrd_kind_ds_mask(rrd_store_kind(s, kind)));
    return VT_OK;
  }
  if (st == VT_OK && !exists) {
    st = rrd_store_create(s, first_ts, kind, &ds);
    *created = st == VT_OK;
    if (st == VT_OK)
      rrd_store_known_add(s, relpath, ds);
  }
  return st;
}

/* ---- creation in parallel ---- */

void rrd_store_create_defer(struct rrd_store *s, size_t tag)
{
  s->defer = true;
  s->tag = tag;
}

/* The creation threads share the queue: jobs are taken in order, so the
 * jobs done when the budget runs out are a prefix of it. */
struct rrd_store_pool {
  struct rrd_store *s;
  pthread_mutex_t lock;
  size_t next;
  double t0, budget_s;
};

static double rrd_store_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *rrd_store_create_worker(void *arg)
{
  struct rrd_store_pool *p = arg;
  struct rrd_store *s = p->s;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    size_t j = p->next;
    /* The jobs of the first tag always run (at least one record goes
     * in); after them, none starts once the budget is spent. */
    bool go = j < s->n_jobs &&
              (s->jobs[j].tag == s->jobs[0].tag || p->budget_s <= 0 ||
               rrd_store_mono() - p->t0 <= p->budget_s);
    if (go)
      p->next++;
    pthread_mutex_unlock(&p->lock);
    if (!go)
      return NULL;
    struct rrd_store_job *job = &s->jobs[j];
    unsigned ds;
    job->ok = rrd_store_create_file(s, job->path, job->first_ts, job->kind, &ds,
                                    job->err, sizeof(job->err));
  }
}

enum vt_status rrd_store_create_run(struct rrd_store *s, double budget_s,
                                    size_t *created, size_t *undone_tag)
{
  s->defer = false;
  *created = 0;
  *undone_tag = SIZE_MAX;
  if (!s->n_jobs)
    return VT_OK;
  struct rrd_store_pool p = {
      .s = s, .t0 = rrd_store_mono(), .budget_s = budget_s};
  pthread_mutex_init(&p.lock, NULL);
  /* File creation is CPU (formatting the empty archives, the file
   * system's inode and block allocation) and page cache copies: one
   * thread per core, at most RRD_STORE_CREATE_THREADS. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  size_t n = cores > 0 ? (size_t)cores : 1;
  if (n > RRD_STORE_CREATE_THREADS)
    n = RRD_STORE_CREATE_THREADS;
  if (n > s->n_jobs)
    n = s->n_jobs;
  pthread_t th[RRD_STORE_CREATE_THREADS];
  size_t started = 0;
  for (size_t i = 1; i < n; i++)
    if (pthread_create(&th[started], NULL, rrd_store_create_worker, &p) == 0)
      started++;
  rrd_store_create_worker(&p);
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  pthread_mutex_destroy(&p.lock);
  enum vt_status st = VT_OK;
  for (size_t j = 0; j < s->n_jobs; j++) {
    if (j < p.next && s->jobs[j].ok) {
      (*created)++;
    } else if (j < p.next) {
      rrd_store_file_error(s, "%s: %s", s->jobs[j].path, s->jobs[j].err);
      st = VT_EIO;
    } else if (*undone_tag == SIZE_MAX) {
      *undone_tag = s->jobs[j].tag;
    }
    free(s->jobs[j].path);
  }
  /* Files queued but not made were marked known: forget them all. */
  if (st != VT_OK || *undone_tag != SIZE_MAX)
    rrd_store_known_clear(s);
  s->n_jobs = 0;
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

/* ---- conversion of first-version files ----------------------------------- */

/* Data sources of path with a known value in the base rows of the last day
 * or the hourly rows of two years. */
static unsigned rrd_store_known_values(const char *path, time_t last, long step)
{
  static const struct {
    long span_s, step_s;
  } looks[] = {{86400, 0}, {732 * 86400L, 3600}};
  unsigned mask = 0;
  for (size_t l = 0; l < sizeof(looks) / sizeof(looks[0]); l++) {
    time_t start = last - looks[l].span_s, end = last;
    unsigned long st = looks[l].step_s ? (unsigned long)looks[l].step_s
                                       : (unsigned long)step,
                  n_ds = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    rrd_clear_error();
    if (rrd_fetch_r(path, "AVERAGE", &start, &end, &st, &n_ds, &names, &data) !=
        0)
      continue;
    size_t rows = st && end > start ? (size_t)(end - start) / st : 0;
    for (unsigned long d = 0; d < n_ds; d++) {
      int j = -1;
      for (int k = 0; k < RRD_STORE_N_DS; k++)
        if (strcmp(names[d], vt_series_ds_defs[k].name) == 0)
          j = k;
      for (size_t r = 0; j >= 0 && r < rows; r++)
        if (!isnan(data[r * n_ds + d])) {
          mask |= 1u << j;
          break;
        }
      rrd_freemem(names[d]);
    }
    rrd_freemem(names);
    rrd_freemem(data);
  }
  return mask;
}

/* The smallest lean kind holding the data sources in mask; a file whose
 * name says resolver is dns. */
static enum rrd_kind rrd_store_kind_for(const char *path, unsigned mask)
{
  static const enum rrd_kind order[] = {RRD_KIND_SHARE, RRD_KIND_DNS,
                                        RRD_KIND_TCP, RRD_KIND_HTTP};
  const char *dir_end = strrchr(path, '/');
  if (dir_end && dir_end - path >= 9) {
    const char *key = dir_end;
    while (key > path && key[-1] != '/')
      key--;
    if (strncmp(key, VT_SERIES_RESOLVER, strlen(VT_SERIES_RESOLVER)) == 0 &&
        !(mask & ~rrd_kind_ds_mask(RRD_KIND_DNS)))
      return RRD_KIND_DNS;
  }
  if (!mask)
    return RRD_KIND_HTTP;
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (!(mask & ~rrd_kind_ds_mask(order[i])))
      return order[i];
  return RRD_KIND_FULL;
}

/* Appends the AVERAGE rows of path over (from, to] at fetch step want to
 * text as "ts:v:..." updates of the data sources in ds (NUL-separated),
 * leaving out unknown rows before the first known one (*started). */
static enum vt_status rrd_store_replay_rows(const char *path, time_t from,
                                            time_t to, unsigned long want,
                                            unsigned ds, bool *started,
                                            struct vt_buf *text, size_t *n)
{
  if (to <= from)
    return VT_OK;
  unsigned long step = want, n_ds = 0;
  char **names = NULL;
  rrd_value_t *data = NULL;
  rrd_clear_error();
  if (rrd_fetch_r(path, "AVERAGE", &from, &to, &step, &n_ds, &names, &data) !=
      0)
    return VT_EIO;
  int col[RRD_STORE_N_DS];
  for (int k = 0; k < RRD_STORE_N_DS; k++) {
    col[k] = -1;
    for (unsigned long d = 0; d < n_ds; d++)
      if (strcmp(names[d], vt_series_ds_defs[k].name) == 0)
        col[k] = (int)d;
  }
  enum vt_status st = VT_OK;
  size_t rows = step && to > from ? (size_t)(to - from) / step : 0;
  for (size_t r = 0; r < rows && st == VT_OK; r++) {
    struct rrd_store_update u = {.ts = (long)from + (long)((r + 1) * step)};
    double *v[RRD_STORE_N_DS] = {&u.v.up,  &u.v.total, &u.v.dns,   &u.v.connect,
                                 &u.v.tls, &u.v.ttfb,  &u.v.share, &u.v.load};
    bool known = false;
    for (int k = 0; k < RRD_STORE_N_DS; k++) {
      *v[k] = col[k] >= 0 ? data[r * n_ds + (size_t)col[k]] : NAN;
      known |= (ds & (1u << k)) && !isnan(*v[k]);
    }
    if (!known && !*started)
      continue;
    char line[RRD_STORE_VALUE_MAX];
    if (!*started) {
      /* The row's start, unknown, so that the row's value counts from it. */
      struct rrd_store_update u0 = {.ts = u.ts - (long)step};
      u0.v = (struct rrd_values){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0};
      size_t len0 = rrd_store_format(line, &u0, ds);
      if ((st = vt_buf_add(text, line, len0 + 1)) != VT_OK)
        break;
      (*n)++;
    }
    *started = true;
    size_t len = rrd_store_format(line, &u, ds);
    st = vt_buf_add(text, line, len + 1);
    (*n)++;
  }
  for (unsigned long d = 0; d < n_ds; d++)
    rrd_freemem(names[d]);
  rrd_freemem(names);
  rrd_freemem(data);
  return st;
}

/* Fills the new file path (its heartbeat long enough for hourly rows) with
 * the rows of the old one: hourly rows older than 35 days, 1-minute rows
 * up to a day ago, base rows since; each becomes one update at its end, so
 * the base rows are copied exactly and the coarser rows are their means. */
static enum vt_status rrd_store_replay(const char *old, const char *path,
                                       time_t last, long step, unsigned ds)
{
  struct vt_buf text;
  vt_buf_init(&text, 0);
  size_t n = 0;
  bool started = false;
  /* Ranges inside each archive (a fetch wider than an archive's span gets
   * the next coarser one), on hour boundaries. */
  time_t day = last - 86400 + 3600, month = last - 35 * 86400L + 3600;
  day -= day % 3600;
  month -= month % 3600;
  enum vt_status st = rrd_store_replay_rows(old, last - 732 * 86400L, month,
                                            3600, ds, &started, &text, &n);
  if (st == VT_OK)
    st = rrd_store_replay_rows(old, month, day, 60, ds, &started, &text, &n);
  if (st == VT_OK)
    st = rrd_store_replay_rows(old, day, last - last % step,
                               (unsigned long)step, ds, &started, &text, &n);
  const char **argv = n ? calloc(n, sizeof(*argv)) : NULL;
  if (st == VT_OK && n && !argv)
    st = VT_ENOMEM;
  if (st == VT_OK && n) {
    const char *p = text.data;
    for (size_t k = 0; k < n; k++) {
      argv[k] = p;
      p += strlen(p) + 1;
    }
    rrd_clear_error();
    if (rrd_updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, (int)n, argv) != 0)
      st = VT_EIO;
  }
  free(argv);
  vt_buf_cleanup(&text);
  return st;
}

/* rrdtool tune FILE -h ds:heartbeat for every data source in ds. */
static int rrd_store_tune_heartbeat(const char *path, unsigned ds,
                                    long heartbeat)
{
  char args[RRD_STORE_N_DS][64];
  const char *argv[3 + 2 * RRD_STORE_N_DS] = {"tune", path};
  int argc = 2;
  for (int k = 0; k < RRD_STORE_N_DS; k++) {
    if (!(ds & (1u << k)))
      continue;
    snprintf(args[k], sizeof(args[k]), "%s:%ld", vt_series_ds_defs[k].name,
             heartbeat);
    argv[argc++] = "-h";
    argv[argc++] = args[k];
  }
  rrd_clear_error();
  optind = 0; /* rrd_tune parses with getopt */
  return rrd_tune(argc, (char **)argv);
}

/* Converts one file; *converted tells whether it was a full one. */
static enum vt_status rrd_store_convert_file(const char *path, FILE *out,
                                             bool *converted)
{
  *converted = false;
  if (rrd_store_file_mask(path) != rrd_kind_ds_mask(RRD_KIND_FULL))
    return VT_OK;
  rrd_clear_error();
  rrd_info_t *info = rrd_info_r(path);
  long step = 0, heartbeat = 0;
  time_t last = 0;
  for (rrd_info_t *i = info; i; i = i->next) {
    if (i->type == RD_I_CNT && strcmp(i->key, "step") == 0)
      step = (long)i->value.u_cnt;
    else if (i->type == RD_I_CNT && strcmp(i->key, "last_update") == 0)
      last = (time_t)i->value.u_cnt;
    else if (i->type == RD_I_CNT &&
             strcmp(i->key, "ds[up].minimal_heartbeat") == 0)
      heartbeat = (long)i->value.u_cnt;
  }
  rrd_info_free(info);
  if (step < 1 || heartbeat < 1) {
    if (out)
      fprintf(out, "%s: not readable: %s\n", path,
              rrd_test_error() ? rrd_get_error() : "no step");
    return VT_EIO;
  }
  enum rrd_kind kind =
      rrd_store_kind_for(path, rrd_store_known_values(path, last, step));
  if (kind == RRD_KIND_FULL)
    return VT_OK; /* measures everything (nothing written by vantage does) */
  struct rrd_store tmp = {.step_s = step};
  struct rrd_store_conf conf = {0};
  /* Hourly rows are replayed one update an hour: a heartbeat of a little
   * more than that while filling, the file's own one after. */
  enum vt_status st = rrd_store_layout_kind(&tmp, &conf, 3600 + 2 * step, kind);
  char newpath[PATH_MAX];
  if (st == VT_OK && snprintf(newpath, sizeof(newpath), "%s.convert", path) >=
                         (int)sizeof(newpath))
    st = VT_EINVAL;
  if (st == VT_OK) {
    unlink(newpath);
    rrd_clear_error();
    struct stat sb;
    time_t first = last - 732 * 86400L - 3600;
    if (rrd_create_r2(newpath, (unsigned long)step, first, 1, NULL, NULL,
                      tmp.n_layouts[kind],
                      (const char **)tmp.layouts[kind]) != 0 ||
        rrd_store_replay(path, newpath, last, step, rrd_kind_ds_mask(kind)) !=
            VT_OK ||
        rrd_store_tune_heartbeat(newpath, rrd_kind_ds_mask(kind), heartbeat) !=
            0 ||
        stat(path, &sb) != 0 || chmod(newpath, sb.st_mode & 07777) != 0 ||
        rename(newpath, path) != 0) {
      if (out)
        fprintf(out, "%s: %s\n", path,
                rrd_test_error() ? rrd_get_error() : strerror(errno));
      unlink(newpath);
      st = VT_EIO;
    } else {
      if (chown(path, sb.st_uid, sb.st_gid) != 0) {
        /* not root: the file stays ours, as the collector made it */
      }
      *converted = true;
      if (out)
        fprintf(out, "%s: %s\n", path, rrd_kind_name(kind));
    }
  }
  for (int i = 0; i < tmp.n_layouts[kind]; i++)
    free(tmp.layouts[kind][i]);
  free(tmp.layouts[kind]);
  return st;
}

static enum vt_status rrd_store_convert_dir(const char *dir, FILE *out,
                                            size_t *n_done, size_t *n_failed,
                                            int depth)
{
  if (depth > 16)
    return VT_OK;
  DIR *d = opendir(dir);
  if (!d) {
    if (out)
      fprintf(out, "%s: %s\n", dir, strerror(errno));
    (*n_failed)++;
    return VT_EIO;
  }
  enum vt_status st = VT_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
        (int)sizeof(path))
      continue;
    struct stat sb;
    if (lstat(path, &sb) != 0)
      continue;
    if (S_ISDIR(sb.st_mode)) {
      if (rrd_store_convert_dir(path, out, n_done, n_failed, depth + 1) !=
          VT_OK)
        st = VT_EIO;
      continue;
    }
    size_t len = strlen(e->d_name);
    if (!S_ISREG(sb.st_mode) || len < 5 ||
        strcmp(e->d_name + len - 4, ".rrd") != 0)
      continue;
    bool converted;
    if (rrd_store_convert_file(path, out, &converted) != VT_OK) {
      (*n_failed)++;
      st = VT_EIO;
    } else if (converted) {
      (*n_done)++;
    }
  }
  closedir(d);
  return st;
}

enum vt_status rrd_store_convert_tree(const char *dir, long step_s, void *out,
                                      size_t *n_done, size_t *n_failed)
{
  (void)step_s; /* each file keeps its own step */
  *n_done = *n_failed = 0;
  return rrd_store_convert_dir(dir, (FILE *)out, n_done, n_failed, 0);
}
