/* SPDX-License-Identifier: MIT */
/* Read-only access to the collector's data for vantage-graph (dataset.h):
 * its configuration, events.sqlite opened read-only while the collector may
 * be writing, and RRD fetches flushed through rrdcached first.
 *
 * Decisions where the documents are silent:
 * - Maintenance windows come from the collector's configuration, which the
 *   header names as their source; the collector mirrors the same list into
 *   events.sqlite at start and on SIGHUP, so both agree once it reloaded,
 *   and a window just added to the file already counts in a report.
 * - data_dir is used as the collector uses it (collector/main.c), so both
 *   look at the same directory.
 * - rrdcached FLUSH goes through lib/rrdcached.c (a 2 s bound on each
 *   wait) instead of librrd's rrdc_flush, whose global connection has no
 *   timeout (LIBS.md 3.2). A daemon that cannot be
 *   reached is not an error for a reader: the files hold everything but
 *   the daemon's last few minutes, so the fetch goes ahead (logged at
 *   debug level, once). */
#include "config.h"

#include "dataset.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <rrd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "collector_config.h"
#include "grow.h"
#include "log.h"
#include "rrdcached.h"
#include "schema.h"

#define GR_BUSY_TIMEOUT_MS 5000
#define GR_RRDC_TIMEOUT_S 2.0

struct gr_ctx {
  struct coll_conf *conf;
  sqlite3 *db;              /* opened on first use (gr_db_open) */
  enum vt_status db_status; /* VT_OK until an open failed */
  char *db_path;
  char *rrd_dir;          /* data_dir/rrd */
  struct rrdcached *rrdc; /* NULL = not connected */
  bool rrdc_off;          /* connecting failed: fetch without flushing */
};

/* ---- helpers ------------------------------------------------------------- */

/* Bounded copy of column col, which may be NULL (then ""). */
static void gr_copy(char *dst, size_t size, sqlite3_stmt *s, int col)
{
  const unsigned char *src = sqlite3_column_text(s, col);
  snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static char *gr_join(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 2);
  if (p) {
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
  }
  return p;
}

/* ---- SQLite -------------------------------------------------------------- */

static enum vt_status gr_sql_fail(const struct gr_ctx *g, const char *what)
{
  int rc = sqlite3_errcode(g->db);
  vt_err("graph: %s: %s: %s", g->db_path, what, sqlite3_errmsg(g->db));
  return rc == SQLITE_NOMEM ? VT_ENOMEM : VT_EIO;
}

static enum vt_status gr_db_open(struct gr_ctx *g);

static enum vt_status gr_prepare(struct gr_ctx *g, const char *sql,
                                 const char *what, sqlite3_stmt **out)
{
  enum vt_status st = gr_db_open(g);
  if (st != VT_OK)
    return st;
  if (sqlite3_prepare_v2(g->db, sql, -1, out, NULL) != SQLITE_OK)
    return gr_sql_fail(g, what);
  return VT_OK;
}

/* The SQL of a query by target (bound as ?1): "head WHERE target = ?1
 * tail" for one target, "head WHERE ?1 IS NULL tail" for every one (NULL).
 * "?1 IS NULL OR target = ?1" would scan every row: SQLite uses the index
 * only for the plain comparison, and the status page asks once per graph
 * (thousands of times among 15,000 series). */
#define GR_BY_TARGET(target, head, tail)                                       \
  ((target) ? head " WHERE target = ?1" tail : head " WHERE ?1 IS NULL" tail)

/* Binds target (NULL = every target, matched by "?1 IS NULL"). */
static int gr_bind_target(sqlite3_stmt *s, int i, const char *target)
{
  return target ? sqlite3_bind_text(s, i, target, -1, SQLITE_TRANSIENT)
                : sqlite3_bind_null(s, i);
}

static double gr_col_time(sqlite3_stmt *s, int i)
{
  return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN
                                                  : sqlite3_column_double(s, i);
}

/* Reads the schema version: the first statement also tells a corrupt file
 * or something that is not the collector's database. */
static enum vt_status gr_check_schema(struct gr_ctx *g)
{
  sqlite3_stmt *s = NULL;
  enum vt_status st = gr_prepare(g, "SELECT max(version) FROM meta",
                                 "read the schema version", &s);
  if (st != VT_OK)
    goto cleanup;
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    st = gr_sql_fail(g, "read the schema version");
    goto cleanup;
  }
  int version = sqlite3_column_int(s, 0);
  if (version > VT_SCHEMA_VERSION) {
    vt_err("graph: %s: schema version %d is newer than this vantage-graph "
           "reads (%d)",
           g->db_path, version, VT_SCHEMA_VERSION);
    st = VT_EIO;
  }
cleanup:
  sqlite3_finalize(s);
  return st;
}

enum vt_status gr_open(const char *collector_cfg, struct gr_ctx **out)
{
  *out = NULL;
  struct gr_ctx *g = calloc(1, sizeof(*g));
  if (!g)
    return VT_ENOMEM;
  enum vt_status st = coll_conf_load(collector_cfg, &g->conf);
  if (st != VT_OK)
    goto fail;
  st = VT_ENOMEM;
  g->db_path = gr_join(g->conf->data_dir, VT_DATA_EVENTS);
  g->rrd_dir = gr_join(g->conf->data_dir, VT_DATA_RRD);
  if (!g->db_path || !g->rrd_dir)
    goto fail;
  /* The database opens on first use, so a subcommand checks its own
   * options (usage errors exit 2) before "no data yet" (exit 1). */
  *out = g;
  return VT_OK;

fail:
  gr_close(g);
  return st;
}

/* Opens events.sqlite read-only once; remembers a failure so it is logged
 * once. */
static enum vt_status gr_db_open(struct gr_ctx *g)
{
  if (g->db || g->db_status != VT_OK)
    return g->db_status;
  enum vt_status st;
  /* A read-only open of a missing file fails with "unable to open", which
   * would not tell a fresh installation from a wrong path. */
  struct stat sb;
  if (stat(g->db_path, &sb) != 0) {
    if (errno == ENOENT) {
      vt_err("%s: no data yet (the collector has stored nothing)", g->db_path);
      st = VT_ENOTFOUND;
    } else {
      vt_err("graph: %s: %s", g->db_path, strerror(errno));
      st = VT_EIO;
    }
    goto fail;
  }
  if (sqlite3_open_v2(g->db_path, &g->db, SQLITE_OPEN_READONLY, NULL) !=
      SQLITE_OK) {
    st = gr_sql_fail(g, "open");
    goto fail;
  }
  sqlite3_busy_timeout(g->db, GR_BUSY_TIMEOUT_MS);
  if ((st = gr_check_schema(g)) != VT_OK)
    goto fail;
  return VT_OK;

fail:
  sqlite3_close(g->db);
  g->db = NULL;
  g->db_status = st;
  return st;
}

void gr_close(struct gr_ctx *g)
{
  if (!g)
    return;
  rrdcached_close(g->rrdc);
  sqlite3_close(g->db);
  coll_conf_free(g->conf);
  free(g->db_path);
  free(g->rrd_dir);
  free(g);
}

void gr_after_fork(struct gr_ctx *g)
{
  /* SQLite forbids using a connection across fork(); the parent keeps
   * using it, so the child only forgets it (no sqlite3_close, which could
   * touch the parent's locks) and opens its own on first use. */
  g->db = NULL;
  g->db_status = VT_OK;
  rrdcached_close(g->rrdc); /* the child's copy; the parent keeps its own */
  g->rrdc = NULL;
}

const struct coll_conf *gr_conf(const struct gr_ctx *g)
{
  return g->conf;
}

char *gr_rrd_path(const struct gr_ctx *g, const char *relpath, char *out,
                  size_t size)
{
  int n = snprintf(out, size, "%s/%s", g->rrd_dir, relpath);
  /* A cut name would be another file: give "" instead. */
  if (size && (n < 0 || (size_t)n >= size))
    out[0] = '\0';
  return out;
}

void gr_free_strv(char **v, size_t n)
{
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* One list query: its SQL, what it binds, and how a row becomes an element
 * of the result array. */
struct gr_list_query {
  const char *sql;
  const char *what; /* for error messages: "list the outages" */
  bool by_target;   /* binds ?1 = target (NULL = every target) */
  bool in_range;    /* binds ?2 = from, ?3 = to */
  const char *target;
  double from, to;
  size_t elem_size;
  /* Fills elem from the current row: VT_OK, VT_ENOTFOUND for a row to
   * leave out, or VT_ENOMEM; nothing in elem is left to release unless it
   * returns VT_OK. */
  enum vt_status (*row)(sqlite3_stmt *s, void *elem);
  /* Releases what row put into elem; NULL when elements own nothing. */
  void (*clear)(void *elem);
};

/* Runs q and collects one element per row into a new array: out is the
 * address of the caller's array pointer (struct gr_series **, ...), set to
 * the array, or NULL for no rows and on failure (the partial array is
 * released); *n counts the elements. */
static enum vt_status gr_list(struct gr_ctx *g, const struct gr_list_query *q,
                              void *out, size_t *n)
{
  void *none = NULL;
  memcpy(out, &none, sizeof(none));
  *n = 0;
  char *v = NULL;
  size_t nv = 0, cap = 0;
  sqlite3_stmt *s = NULL;
  enum vt_status st = gr_prepare(g, q->sql, q->what, &s);
  if (st == VT_OK && q->by_target &&
      gr_bind_target(s, 1, q->target) != SQLITE_OK)
    st = gr_sql_fail(g, q->what);
  if (st == VT_OK && q->in_range &&
      (sqlite3_bind_double(s, 2, q->from) != SQLITE_OK ||
       sqlite3_bind_double(s, 3, q->to) != SQLITE_OK))
    st = gr_sql_fail(g, q->what);
  int rc = SQLITE_DONE;
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    char *p = vt_grow(v, &cap, nv + 1, q->elem_size);
    if (!p) {
      st = VT_ENOMEM;
      break;
    }
    v = p;
    if ((st = q->row(s, v + nv * q->elem_size)) == VT_ENOTFOUND) {
      st = VT_OK; /* a row the reader leaves out */
      continue;
    }
    if (st != VT_OK)
      break;
    nv++;
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = gr_sql_fail(g, q->what);
  sqlite3_finalize(s);
  if (st != VT_OK) {
    if (q->clear)
      for (size_t i = 0; i < nv; i++)
        q->clear(v + i * q->elem_size);
    free(v);
    return st;
  }
  memcpy(out, &v, sizeof(v));
  *n = nv;
  return VT_OK;
}

static enum vt_status gr_target_row(sqlite3_stmt *s, void *elem)
{
  char **e = elem;
  *e = strdup((const char *)sqlite3_column_text(s, 0));
  return *e ? VT_OK : VT_ENOMEM;
}

static void gr_target_clear(void *elem)
{
  free(*(char **)elem);
}

enum vt_status gr_targets(struct gr_ctx *g, char ***out, size_t *n)
{
  const struct gr_list_query q = {
      .sql = "SELECT DISTINCT target FROM series ORDER BY target",
      .what = "list the targets",
      .elem_size = sizeof(**out),
      .row = gr_target_row,
      .clear = gr_target_clear,
  };
  return gr_list(g, &q, out, n);
}

static enum vt_status gr_series_row(sqlite3_stmt *s, void *elem)
{
  struct gr_series *e = elem;
  gr_copy(e->target, sizeof(e->target), s, VT_COL_SERIES_TARGET);
  /* A type this vantage-graph does not know (a newer collector's) is
   * left out of the list. */
  const unsigned char *type = sqlite3_column_text(s, VT_COL_SERIES_CHECK_TYPE);
  if (!vt_check_type_parse(type ? (const char *)type : "", &e->check_type))
    return VT_ENOTFOUND;
  gr_copy(e->check_name, sizeof(e->check_name), s, VT_COL_SERIES_CHECK_NAME);
  gr_copy(e->key, sizeof(e->key), s, VT_COL_SERIES_KEY);
  gr_copy(e->probe, sizeof(e->probe), s, VT_COL_SERIES_PROBE);
  gr_copy(e->path, sizeof(e->path), s, VT_COL_SERIES_PATH);
  e->first_ts = sqlite3_column_double(s, VT_COL_SERIES_FIRST_TS);
  e->last_ts = sqlite3_column_double(s, VT_COL_SERIES_LAST_TS);
  e->results = (long)sqlite3_column_int64(s, VT_COL_SERIES_RESULTS);
  return VT_OK;
}

enum vt_status gr_series_list(struct gr_ctx *g, const char *target,
                              struct gr_series **out, size_t *n)
{
  const struct gr_list_query q = {
      .sql =
          GR_BY_TARGET(target, "SELECT " VT_SCHEMA_SERIES_COLS " FROM series",
                       " ORDER BY target, check_name, key, probe"),
      .what = "list the series",
      .by_target = true,
      .target = target,
      .elem_size = sizeof(**out),
      .row = gr_series_row,
  };
  return gr_list(g, &q, out, n);
}

static enum vt_status gr_outage_row(sqlite3_stmt *s, void *elem)
{
  struct gr_outage *e = elem;
  e->id = (long)sqlite3_column_int64(s, VT_COL_OUTAGE_ID);
  gr_copy(e->scope, sizeof(e->scope), s, VT_COL_OUTAGE_SCOPE);
  gr_copy(e->kind, sizeof(e->kind), s, VT_COL_OUTAGE_KIND);
  gr_copy(e->state, sizeof(e->state), s, VT_COL_OUTAGE_STATE);
  gr_copy(e->target, sizeof(e->target), s, VT_COL_OUTAGE_TARGET);
  gr_copy(e->ip, sizeof(e->ip), s, VT_COL_OUTAGE_IP);
  e->start = sqlite3_column_double(s, VT_COL_OUTAGE_START);
  e->end = gr_col_time(s, VT_COL_OUTAGE_END);
  gr_copy(e->probes, sizeof(e->probes), s, VT_COL_OUTAGE_PROBES);
  e->seen_by = sqlite3_column_int(s, VT_COL_OUTAGE_SEEN_BY);
  e->of_probes = sqlite3_column_int(s, VT_COL_OUTAGE_OF_PROBES);
  e->maintenance = sqlite3_column_int(s, VT_COL_OUTAGE_MAINTENANCE) != 0;
  gr_copy(e->end_reason, sizeof(e->end_reason), s, VT_COL_OUTAGE_END_REASON);
  return VT_OK;
}

enum vt_status gr_outages(struct gr_ctx *g, const char *target, double from,
                          double to, struct gr_outage **out, size_t *n)
{
  /* An open row (end NULL) lasts until now, so it overlaps anything after
   * its start. */
  const struct gr_list_query q = {
      .sql =
          GR_BY_TARGET(target, "SELECT " VT_SCHEMA_OUTAGE_COLS " FROM outages",
                       " AND start <= ?3"
                       " AND (\"end\" IS NULL OR \"end\" >= ?2)"
                       " ORDER BY start, id"),
      .what = "list the outages",
      .by_target = true,
      .in_range = true,
      .target = target,
      .from = from,
      .to = to,
      .elem_size = sizeof(**out),
      .row = gr_outage_row,
  };
  return gr_list(g, &q, out, n);
}

static int gr_maint_cmp(const void *a, const void *b)
{
  const struct gr_maint *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return strcmp(x->target, y->target);
}

enum vt_status gr_maintenance(struct gr_ctx *g, const char *target, double from,
                              double to, struct gr_maint **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  const struct coll_conf *c = g->conf;
  if (!c->n_maint)
    return VT_OK;
  struct gr_maint *v = calloc(c->n_maint, sizeof(*v));
  if (!v)
    return VT_ENOMEM;
  size_t nv = 0;
  for (size_t i = 0; i < c->n_maint; i++) {
    const struct coll_maint_conf *m = &c->maint[i];
    if ((target && strcmp(m->target, target) != 0) || m->start > to ||
        m->end < from)
      continue;
    struct gr_maint *e = &v[nv++];
    snprintf(e->target, sizeof(e->target), "%s", m->target);
    snprintf(e->reason, sizeof(e->reason), "%s", m->reason ? m->reason : "");
    e->start = m->start;
    e->end = m->end;
  }
  qsort(v, nv, sizeof(*v), gr_maint_cmp);
  if (!nv) {
    free(v);
    v = NULL;
  }
  *out = v;
  *n = nv;
  return VT_OK;
}

static enum vt_status gr_dns_change_row(sqlite3_stmt *s, void *elem)
{
  struct gr_dns_change *e = elem;
  e->ts = sqlite3_column_double(s, VT_COL_DNS_CHANGE_TS);
  gr_copy(e->target, sizeof(e->target), s, VT_COL_DNS_CHANGE_TARGET);
  gr_copy(e->probe, sizeof(e->probe), s, VT_COL_DNS_CHANGE_PROBE);
  gr_copy(e->resolver, sizeof(e->resolver), s, VT_COL_DNS_CHANGE_RESOLVER);
  gr_copy(e->old_answers, sizeof(e->old_answers), s, VT_COL_DNS_CHANGE_OLD);
  gr_copy(e->new_answers, sizeof(e->new_answers), s, VT_COL_DNS_CHANGE_NEW);
  return VT_OK;
}

enum vt_status gr_dns_changes(struct gr_ctx *g, const char *target, double from,
                              double to, struct gr_dns_change **out, size_t *n)
{
  const struct gr_list_query q = {
      .sql = "SELECT " VT_SCHEMA_DNS_CHANGE_COLS " FROM dns_changes"
             " WHERE (?1 IS NULL OR target = ?1) AND ts >= ?2"
             " AND ts <= ?3 ORDER BY ts, id",
      .what = "list the DNS changes",
      .by_target = true,
      .in_range = true,
      .target = target,
      .from = from,
      .to = to,
      .elem_size = sizeof(**out),
      .row = gr_dns_change_row,
  };
  return gr_list(g, &q, out, n);
}

static enum vt_status gr_probe_event_row(sqlite3_stmt *s, void *elem)
{
  struct gr_probe_event *e = elem;
  e->ts = sqlite3_column_double(s, VT_COL_PROBE_EVENT_TS);
  gr_copy(e->probe, sizeof(e->probe), s, VT_COL_PROBE_EVENT_PROBE);
  gr_copy(e->event, sizeof(e->event), s, VT_COL_PROBE_EVENT_EVENT);
  return VT_OK;
}

enum vt_status gr_probe_events(struct gr_ctx *g, double to,
                               struct gr_probe_event **out, size_t *n)
{
  const struct gr_list_query q = {
      .sql = "SELECT " VT_SCHEMA_PROBE_EVENT_COLS " FROM probe_events"
             " WHERE ?2 IS NOT NULL AND ts <= ?3 ORDER BY probe, ts, id",
      .what = "list the probe events",
      .in_range = true,
      .from = 0,
      .to = to,
      .elem_size = sizeof(**out),
      .row = gr_probe_event_row,
  };
  return gr_list(g, &q, out, n);
}

/* ---- rrdcached FLUSH ----------------------------------------------------- */

/* Asks rrdcached (when configured) to write relpath's pending values, so
 * the fetch sees them (LIBS.md 3.2: rrd_fetch_r reads the file only). The
 * client is lib/rrdcached.c's, as a reader: names go absolute over a unix
 * socket, relative to the daemon's -b directory over TCP, as the collector
 * sends them. */
static void gr_rrdc_flush(struct gr_ctx *g, const char *relpath)
{
  const char *daemon = g->conf->rrdcached;
  if (!daemon || g->rrdc_off)
    return;
  if (!g->rrdc) {
    char *real = realpath(g->rrd_dir, NULL);
    enum vt_status st = VT_EIO;
    if (real) {
      const struct rrdcached_conf rc = {
          .address = daemon,
          .root = real,
          .relpath_max = sizeof(((struct gr_series *)0)->path),
          .io_timeout_s = GR_RRDC_TIMEOUT_S,
          .reader = true,
      };
      g->rrdc = rrdcached_open(&rc, &st);
      free(real);
    }
    if (!g->rrdc) {
      vt_debug("graph: rrdcached %s: %s; fetching without flushing", daemon,
               st == VT_ENOMEM ? "out of memory" : "not reachable");
      g->rrdc_off = true;
      return;
    }
  }
  /* A file the daemon does not know is read as it is; other failures were
   * logged by the client, and the next fetch tries again. */
  if (rrdcached_flush(g->rrdc, relpath) == VT_ENOTFOUND)
    vt_debug("graph: rrdcached %s: FLUSH %s: No such file", daemon, relpath);
}

/* ---- RRD fetch ----------------------------------------------------------- */

enum vt_status gr_fetch_rrd(struct gr_ctx *g, const char *relpath,
                            const char *cf, double start, double end, long step,
                            struct gr_fetch *out)
{
  *out = (struct gr_fetch){0};
  char path[PATH_MAX];
  if (!gr_rrd_path(g, relpath, path, sizeof(path))[0]) {
    vt_err("graph: %s/%s: name too long", g->rrd_dir, relpath);
    return VT_EINVAL;
  }
  gr_rrdc_flush(g, relpath);

  time_t s = (time_t)floor(start), e = (time_t)ceil(end);
  unsigned long st_ul = step > 0 ? (unsigned long)step : 1, n_ds = 0;
  char **names = NULL;
  _Static_assert(sizeof(rrd_value_t) == sizeof(double),
                 "librrd values are kept as doubles");
  rrd_value_t *data = NULL;
  rrd_clear_error();
  if (rrd_fetch_r(path, cf, &s, &e, &st_ul, &n_ds, &names, &data) != 0) {
    /* librrd says "opening '...': No such file or directory" in its own
     * words; errno from stat() tells the two cases apart reliably. */
    struct stat sb;
    bool missing = stat(path, &sb) != 0 && errno == ENOENT;
    /* A series listed but without its file reads as no data: worth a
     * warning, while an unreadable file is an error. */
    VT_LOG(missing ? VT_LOG_WARNING : VT_LOG_ERR, "graph: %s: %s", path,
           rrd_test_error() ? rrd_get_error() : "fetch failed");
    rrd_clear_error();
    return missing ? VT_ENOTFOUND : VT_EIO;
  }
  enum vt_status st = VT_ENOMEM;
  out->start = (double)s;
  out->end = (double)e;
  out->step = (long)st_ul;
  out->n_ds = n_ds;
  out->n_rows = st_ul && e > s ? (size_t)(e - s) / st_ul : 0;
  size_t n_vals = out->n_rows * n_ds;
  /* Copies in our allocator, so gr_fetch_free needs no librrd knowledge
   * and a partial copy is freed the same way. */
  (void)n_vals;
  if (!(out->ds_names = calloc(n_ds ? n_ds : 1, sizeof(char *))))
    goto cleanup;
  for (size_t i = 0; i < n_ds; i++)
    if (!(out->ds_names[i] = strdup(names[i])))
      goto cleanup;
  /* Keep librrd's buffer instead of copying it: rrd_value_t is double and
   * rrd_freemem is free(), so gr_fetch_free releases it. A 30-day fetch is
   * megabytes; the copy cost more than the drawing. */
  out->data = (double *)data;
  data = NULL;
  st = VT_OK;

cleanup:
  for (size_t i = 0; i < n_ds; i++)
    rrd_freemem(names[i]);
  rrd_freemem(names);
  rrd_freemem(data);
  if (st != VT_OK)
    gr_fetch_free(out);
  return st;
}

void gr_fetch_free(struct gr_fetch *f)
{
  if (!f)
    return;
  if (f->ds_names)
    for (size_t i = 0; i < f->n_ds; i++)
      free(f->ds_names[i]);
  free(f->ds_names);
  free(f->data);
  *f = (struct gr_fetch){0};
}

int gr_fetch_ds(const struct gr_fetch *f, const char *name)
{
  for (size_t i = 0; i < f->n_ds; i++)
    if (f->ds_names[i] && strcmp(f->ds_names[i], name) == 0)
      return (int)i;
  return -1;
}
