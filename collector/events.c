/* SPDX-License-Identifier: MIT */
/* The collector's events in SQLite (events.h; rules in docs/collector.md,
 * "Events"). The quorum engine (quorum.c) decides on outage, partial and
 * host rows; this file loads its state and stores what it decides.
 *
 * Decisions where the documents are silent:
 * - Durability: WAL with synchronous=FULL. NORMAL survives a kill -9 but a
 *   power loss can take back the last commits, and those are batches the
 *   probe was told are stored: it moves its cursor past them and may drop
 *   its copy. FULL costs one WAL fsync per batch, not per result.
 * - series.key holds the real address ("2001:db8::1"); only file names use
 *   '-' for ':'. events_known_addresses returns the keys that parse as IP
 *   literals, so callers must pass the address text, not the file name.
 * - Outages overlapping a maintenance window of their target are stored
 *   like any other, with maintenance = 1; reports leave them out.
 * - Quorum state lives in the engine's memory and in the `streaks` table,
 *   written at commit for the streaks a batch changed; a rollback reloads
 *   the whole engine from the database (rare, and obviously correct). */
#include "config.h"

#include "events.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "quorum.h"
#include "vt_time.h"

#define EVENTS_SCHEMA_VERSION 1

static const char events_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS probes("
    " name TEXT PRIMARY KEY, first_seen REAL NOT NULL,"
    " last_seen REAL NOT NULL, next_record INTEGER NOT NULL DEFAULT 0,"
    " silent_since REAL);"
    "CREATE TABLE IF NOT EXISTS series("
    " id INTEGER PRIMARY KEY, target TEXT NOT NULL, check_type TEXT NOT NULL,"
    " check_name TEXT NOT NULL, key TEXT NOT NULL, probe TEXT NOT NULL,"
    " path TEXT NOT NULL, first_ts REAL NOT NULL, last_ts REAL NOT NULL,"
    " results INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(target, check_name, key, probe));"
    /* events_known_addresses looks up by probe, which the unique index
     * has after key. */
    "CREATE INDEX IF NOT EXISTS series_probe"
    " ON series(target, check_name, probe);"
    "CREATE TABLE IF NOT EXISTS dns_state("
    " target TEXT NOT NULL, check_name TEXT NOT NULL, probe TEXT NOT NULL,"
    " resolver TEXT NOT NULL, answers TEXT NOT NULL, ts REAL NOT NULL,"
    " PRIMARY KEY(target, check_name, probe, resolver)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dns_changes("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, target TEXT NOT NULL,"
    " check_name TEXT NOT NULL, probe TEXT NOT NULL, resolver TEXT NOT NULL,"
    " old_answers TEXT, new_answers TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dns_changes_target"
    " ON dns_changes(target, ts);"
    "CREATE TABLE IF NOT EXISTS streaks("
    " target TEXT NOT NULL, check_name TEXT NOT NULL, ip TEXT NOT NULL,"
    " probe TEXT NOT NULL, start REAL NOT NULL, count INTEGER NOT NULL,"
    " last_ts REAL NOT NULL,"
    " PRIMARY KEY(target, check_name, ip, probe)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS outages("
    " id INTEGER PRIMARY KEY,"
    " scope TEXT NOT NULL CHECK(scope IN ('address', 'host')),"
    " target TEXT NOT NULL, ip TEXT, start REAL NOT NULL, \"end\" REAL,"
    " probes TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('outage', 'partial')),"
    " seen_by INTEGER NOT NULL, of_probes INTEGER NOT NULL,"
    " state TEXT CHECK(state IN ('degraded', 'down')),"
    " maintenance INTEGER NOT NULL DEFAULT 0,"
    " CHECK((scope = 'host') = (state IS NOT NULL)));"
    "CREATE INDEX IF NOT EXISTS outages_open ON outages(target)"
    " WHERE \"end\" IS NULL;"
    "CREATE INDEX IF NOT EXISTS outages_target ON outages(target, start);"
    "CREATE TABLE IF NOT EXISTS probe_events("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL,"
    " probe TEXT NOT NULL REFERENCES probes(name),"
    " event TEXT NOT NULL CHECK(event IN ('first_seen', 'silent', 'back')));"
    "CREATE INDEX IF NOT EXISTS probe_events_probe"
    " ON probe_events(probe, ts);"
    "CREATE TABLE IF NOT EXISTS maintenance("
    " id INTEGER PRIMARY KEY, target TEXT NOT NULL, start REAL NOT NULL,"
    " \"end\" REAL NOT NULL, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS maintenance_target"
    " ON maintenance(target, start);"
    "INSERT INTO meta(version) SELECT 1 WHERE NOT EXISTS"
    " (SELECT 1 FROM meta);";

/* Every statement, prepared once at open. */
enum events_sql {
  EVENTS_SQL_BEGIN,
  EVENTS_SQL_COMMIT,
  EVENTS_SQL_ROLLBACK,
  EVENTS_SQL_VERSION,
  EVENTS_SQL_PROBE_GET,
  EVENTS_SQL_PROBE_NEW,
  EVENTS_SQL_PROBE_SEEN,
  EVENTS_SQL_PROBE_EVENT,
  EVENTS_SQL_SILENT_ANY,
  EVENTS_SQL_SILENT_SET,
  EVENTS_SQL_SERIES,
  EVENTS_SQL_KNOWN,
  EVENTS_SQL_DNS_GET,
  EVENTS_SQL_DNS_PUT,
  EVENTS_SQL_DNS_CHANGE,
  EVENTS_SQL_STREAK_PUT,
  EVENTS_SQL_STREAK_LOAD,
  EVENTS_SQL_OPEN_LOAD,
  EVENTS_SQL_ROW_NEW,
  EVENTS_SQL_ROW_SET,
  EVENTS_SQL_ROW_DEL,
  EVENTS_SQL_MAINT_DEL,
  EVENTS_SQL_MAINT_ADD,
  EVENTS_SQL_MAINT_FLAG,
  EVENTS_SQL_COUNT
};

static const struct {
  const char *sql;
  const char *what; /* for "cannot <what>" */
} events_sql[EVENTS_SQL_COUNT] = {
    [EVENTS_SQL_BEGIN] = {"BEGIN IMMEDIATE", "begin a transaction"},
    [EVENTS_SQL_COMMIT] = {"COMMIT", "commit"},
    [EVENTS_SQL_ROLLBACK] = {"ROLLBACK", "roll back"},
    [EVENTS_SQL_VERSION] = {"SELECT max(version) FROM meta",
                            "read the schema version"},
    [EVENTS_SQL_PROBE_GET] = {"SELECT next_record, silent_since FROM probes"
                              " WHERE name = ?1",
                              "read a probe"},
    [EVENTS_SQL_PROBE_NEW] = {"INSERT INTO probes(name, first_seen,"
                              " last_seen, next_record)"
                              " VALUES (?1, ?2, ?2, ?3)",
                              "add a probe"},
    [EVENTS_SQL_PROBE_SEEN] = {"UPDATE probes SET"
                               " last_seen = max(last_seen, ?2),"
                               " next_record = max(next_record, ?3),"
                               " silent_since = NULL WHERE name = ?1",
                               "update a probe"},
    [EVENTS_SQL_PROBE_EVENT] = {"INSERT INTO probe_events(ts, probe, event)"
                                " VALUES (?1, ?2, ?3)",
                                "add a probe event"},
    [EVENTS_SQL_SILENT_ANY] = {"SELECT 1 FROM probes WHERE silent_since IS"
                               " NULL AND last_seen < ?1 LIMIT 1",
                               "look for silent probes"},
    [EVENTS_SQL_SILENT_SET] = {"UPDATE probes SET silent_since = ?1"
                               " WHERE silent_since IS NULL"
                               " AND last_seen < ?2 RETURNING name",
                               "mark silent probes"},
    [EVENTS_SQL_SERIES] = {"INSERT INTO series(target, check_type,"
                           " check_name, key, probe, path, first_ts,"
                           " last_ts, results)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)"
                           " ON CONFLICT(target, check_name, key, probe)"
                           " DO UPDATE SET"
                           " first_ts = min(first_ts, excluded.first_ts),"
                           " last_ts = max(last_ts, excluded.last_ts),"
                           " results = results + 1",
                           "count a series result"},
    [EVENTS_SQL_KNOWN] = {"SELECT key FROM series WHERE target = ?1"
                          " AND check_name = ?2 AND probe = ?3"
                          " ORDER BY key",
                          "list known addresses"},
    [EVENTS_SQL_DNS_GET] = {"SELECT answers, ts FROM dns_state"
                            " WHERE target = ?1 AND check_name = ?2"
                            " AND probe = ?3 AND resolver = ?4",
                            "read the last DNS answer"},
    [EVENTS_SQL_DNS_PUT] = {"INSERT INTO dns_state(target, check_name,"
                            " probe, resolver, answers, ts)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                            " ON CONFLICT DO UPDATE SET"
                            " answers = excluded.answers, ts = excluded.ts",
                            "store the last DNS answer"},
    [EVENTS_SQL_DNS_CHANGE] = {"INSERT INTO dns_changes(ts, target,"
                               " check_name, probe, resolver, old_answers,"
                               " new_answers)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               "record a DNS change"},
    [EVENTS_SQL_STREAK_PUT] = {"INSERT INTO streaks(target, check_name, ip,"
                               " probe, start, count, last_ts)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                               " ON CONFLICT DO UPDATE SET"
                               " start = excluded.start,"
                               " count = excluded.count,"
                               " last_ts = excluded.last_ts",
                               "store a failure streak"},
    [EVENTS_SQL_STREAK_LOAD] = {"SELECT target, check_name, ip, probe,"
                                " start, count, last_ts FROM streaks",
                                "load the failure streaks"},
    [EVENTS_SQL_OPEN_LOAD] = {"SELECT id, scope, target, ip, start, probes,"
                              " kind, seen_by, of_probes, state"
                              " FROM outages WHERE \"end\" IS NULL",
                              "load the open outages"},
    /* maintenance: some window [m.start, m.end) of the target overlaps
     * the outage [start, end or now]. */
    [EVENTS_SQL_ROW_NEW] = {"INSERT INTO outages(scope, target, ip, start,"
                            " probes, kind, seen_by, of_probes, state,"
                            " maintenance)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                            " EXISTS(SELECT 1 FROM maintenance m"
                            " WHERE m.target = ?2 AND m.start <= ?10"
                            " AND m.\"end\" > ?4))",
                            "open an outage"},
    [EVENTS_SQL_ROW_SET] = {"UPDATE outages SET \"end\" = ?1, probes = ?2,"
                            " seen_by = ?3, of_probes = ?4, maintenance ="
                            " EXISTS(SELECT 1 FROM maintenance m"
                            " WHERE m.target = outages.target"
                            " AND m.start <= coalesce(?1, ?5)"
                            " AND m.\"end\" > outages.start)"
                            " WHERE id = ?6",
                            "update an outage"},
    [EVENTS_SQL_ROW_DEL] = {"DELETE FROM outages WHERE id = ?1",
                            "drop an empty partial event"},
    [EVENTS_SQL_MAINT_DEL] = {"DELETE FROM maintenance",
                              "clear the maintenance windows"},
    [EVENTS_SQL_MAINT_ADD] = {"INSERT INTO maintenance(target, start,"
                              " \"end\", reason) VALUES (?1, ?2, ?3, ?4)",
                              "add a maintenance window"},
    [EVENTS_SQL_MAINT_FLAG] = {"UPDATE outages SET maintenance ="
                               " EXISTS(SELECT 1 FROM maintenance m"
                               " WHERE m.target = outages.target"
                               " AND m.start <= coalesce(outages.\"end\", ?1)"
                               " AND m.\"end\" > outages.start)",
                               "flag outages in maintenance"},
};

struct events {
  sqlite3 *db;
  char *path;
  double silence_s;
  sqlite3_stmt *stmt[EVENTS_SQL_COUNT];
  struct quorum *quorum; /* decides; this module stores what it decides */
  bool in_txn;           /* a transaction of ours is open */
  bool batch;            /* ... and it was opened by events_begin */
  bool engine_ok;        /* the quorum engine matches the database */
  uint64_t pending;      /* results of the open transaction */
  uint64_t batches, results;
  events_observer_fn *observer; /* alerts; NULL = none */
  void *observer_arg;
};

/* Tells the observer (if any) about one change; see events.h. */
static void events_notify(struct events *ev, const struct events_note *n)
{
  if (ev->observer)
    ev->observer(ev->observer_arg, n);
}

static void events_notify_row(struct events *ev, enum events_note_kind kind,
                              const struct quorum_row *row, int64_t id,
                              double end)
{
  events_notify(ev, &(struct events_note){
                        .kind = kind, .id = id, .target = row->target,
                        .ip = row->ip, .row = row->kind, .state = row->state,
                        .probes = row->probes, .start = row->start, .end = end,
                        .seen_by = row->seen_by, .of_probes = row->of_probes});
}

static enum vt_status events_oom(void)
{
  vt_err("events: out of memory");
  return VT_ENOMEM;
}

static bool events_is_ip(const char *s)
{
  unsigned char addr[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* ---- SQLite helpers ----------------------------------------------------- */

/* Logs a failed statement once, with its purpose and SQLite's message. */
static enum vt_status events_sql_fail(struct events *ev, enum events_sql id)
{
  vt_err("events: %s: cannot %s: %s", ev->path, events_sql[id].what,
         sqlite3_errmsg(ev->db));
  return VT_ELIB;
}

static void events_sql_reset(struct events *ev, enum events_sql id)
{
  sqlite3_reset(ev->stmt[id]);
  sqlite3_clear_bindings(ev->stmt[id]);
}

/* Checks the OR of a statement's bind results. */
static enum vt_status events_bound(struct events *ev, enum events_sql id,
                                   int rc)
{
  if (rc == SQLITE_OK)
    return VT_OK;
  enum vt_status st = events_sql_fail(ev, id);
  events_sql_reset(ev, id);
  return st;
}

/* Steps a statement without result rows to its end and resets it. */
static enum vt_status events_run(struct events *ev, enum events_sql id)
{
  enum vt_status st = VT_OK;
  if (sqlite3_step(ev->stmt[id]) != SQLITE_DONE)
    st = events_sql_fail(ev, id);
  events_sql_reset(ev, id);
  return st;
}

/* Text of a column, "" for NULL. */
static const char *events_col_text(sqlite3_stmt *s, int col)
{
  const unsigned char *t = sqlite3_column_text(s, col);
  return t ? (const char *)t : "";
}

static int events_bind_text(sqlite3_stmt *s, int i, const char *text)
{
  return sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
}

/* ---- storage of the quorum engine's rows and streaks -------------------- */

/* struct quorum_ops row_open: inserts row as an open row. */
static enum vt_status events_row_open(void *arg, const struct quorum_row *row,
                                      double now, int64_t *id)
{
  struct events *ev = arg;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_NEW];
  int rc = events_bind_text(s, 1, row->ip ? "address" : "host");
  rc |= events_bind_text(s, 2, row->target);
  rc |= row->ip ? events_bind_text(s, 3, row->ip) : sqlite3_bind_null(s, 3);
  rc |= sqlite3_bind_double(s, 4, row->start);
  rc |= events_bind_text(s, 5, row->probes);
  rc |= events_bind_text(s, 6, row->kind);
  rc |= sqlite3_bind_int(s, 7, row->seen_by);
  rc |= sqlite3_bind_int(s, 8, row->of_probes);
  rc |=
      row->state ? events_bind_text(s, 9, row->state) : sqlite3_bind_null(s, 9);
  rc |= sqlite3_bind_double(s, 10, now > row->start ? now : row->start);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ROW_NEW, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_NEW);
  if (st == VT_OK) {
    *id = sqlite3_last_insert_rowid(ev->db);
    events_notify_row(ev, EVENTS_NOTE_OPEN, row, *id, NAN);
  }
  return st;
}

/* struct quorum_ops row_update: probes, counts, and end unless NaN. */
static enum vt_status events_row_update(void *arg, const struct quorum_row *row,
                                        double end, double now)
{
  struct events *ev = arg;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_SET];
  int rc =
      isnan(end) ? sqlite3_bind_null(s, 1) : sqlite3_bind_double(s, 1, end);
  rc |= events_bind_text(s, 2, row->probes);
  rc |= sqlite3_bind_int(s, 3, row->seen_by);
  rc |= sqlite3_bind_int(s, 4, row->of_probes);
  rc |= sqlite3_bind_double(s, 5, now);
  rc |= sqlite3_bind_int64(s, 6, row->id);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ROW_SET, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_SET);
  if (st == VT_OK)
    events_notify_row(ev, EVENTS_NOTE_UPDATE, row, row->id, end);
  return st;
}

/* struct quorum_ops row_drop. */
static enum vt_status events_row_drop(void *arg, int64_t id)
{
  struct events *ev = arg;
  enum vt_status st =
      events_bound(ev, EVENTS_SQL_ROW_DEL,
                   sqlite3_bind_int64(ev->stmt[EVENTS_SQL_ROW_DEL], 1, id));
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_DEL);
  if (st == VT_OK)
    events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_DROP, .id = id,
                                            .end = NAN});
  return st;
}

/* struct quorum_ops streak_put: called at commit for each changed streak. */
static enum vt_status events_streak_put(void *arg,
                                        const struct quorum_streak *k)
{
  struct events *ev = arg;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_STREAK_PUT];
  int rc = events_bind_text(s, 1, k->target);
  rc |= events_bind_text(s, 2, k->check);
  rc |= events_bind_text(s, 3, k->ip);
  rc |= events_bind_text(s, 4, k->probe);
  rc |= sqlite3_bind_double(s, 5, k->start);
  rc |= sqlite3_bind_int(s, 6, k->count);
  rc |= sqlite3_bind_double(s, 7, k->last_ts);
  enum vt_status st = events_bound(ev, EVENTS_SQL_STREAK_PUT, rc);
  return st == VT_OK ? events_run(ev, EVENTS_SQL_STREAK_PUT) : st;
}

static const struct quorum_ops events_quorum_ops = {
    .row_open = events_row_open,
    .row_update = events_row_update,
    .row_drop = events_row_drop,
    .streak_put = events_streak_put,
};

/* ---- DNS changes -------------------------------------------------------- */

/* A DNS result's answer set, sorted, without duplicates, joined by commas;
 * with an incomplete answer, the union with old (never a removal). */
static enum vt_status events_dns_answers(const struct vt_result *r,
                                         const char *old, struct vt_buf *out)
{
  struct quorum_names set = {0};
  enum vt_status st = VT_OK;
  bool empty = r->error == VT_ERR_NXDOMAIN || r->error == VT_ERR_NO_ANSWER;
  int n = r->n_answers < VT_RESULT_MAX_ANSWERS ? r->n_answers
                                               : VT_RESULT_MAX_ANSWERS;
  for (int i = 0; i < n && !empty && st == VT_OK; i++)
    st = quorum_names_add(&set, r->answers[i]);
  if (st == VT_OK && old && r->incomplete)
    st = quorum_names_parse(&set, old);
  if (st == VT_OK)
    st = quorum_names_join(&set, out);
  quorum_names_cleanup(&set);
  return st;
}

/* Records a change of the definitive answer per (target, check, probe,
 * resolver). SERVFAIL, timeouts and other failures tell nothing about the
 * answer set. An `expect` mismatch does: it is the resolver's real answer,
 * and often exactly the change worth seeing. */
static enum vt_status events_dns_result(struct events *ev,
                                        const struct vt_result *r)
{
  if (!r->ok && r->error != VT_ERR_NXDOMAIN && r->error != VT_ERR_NO_ANSWER &&
      r->error != VT_ERR_DNS_UNEXPECTED)
    return VT_OK;
  struct vt_buf now;
  vt_buf_init(&now, 0);
  char *old = NULL;
  bool have_old = false;
  double old_ts = 0;

  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_DNS_GET];
  int rc = events_bind_text(s, 1, r->target);
  rc |= events_bind_text(s, 2, r->name);
  rc |= events_bind_text(s, 3, r->probe);
  rc |= events_bind_text(s, 4, r->resolver);
  enum vt_status st = events_bound(ev, EVENTS_SQL_DNS_GET, rc);
  if (st != VT_OK)
    goto cleanup;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    have_old = true;
    old_ts = sqlite3_column_double(s, 1);
    if (!(old = strdup(events_col_text(s, 0))))
      st = events_oom();
  } else if (rc != SQLITE_DONE) {
    st = events_sql_fail(ev, EVENTS_SQL_DNS_GET);
  }
  events_sql_reset(ev, EVENTS_SQL_DNS_GET);
  if (st != VT_OK)
    goto cleanup;
  if (have_old && r->ts <= old_ts) {
    vt_debug("events: %s %s from %s: DNS answer at %.3f not after %.3f, "
             "ignored",
             r->target, r->name, r->probe, r->ts, old_ts);
    goto cleanup;
  }
  st = events_dns_answers(r, old, &now);
  if (st == VT_EINVAL)
    vt_err("events: %s: %s %s from %s: stored DNS answer unreadable: %s",
           ev->path, r->target, r->name, r->probe, old);
  if (st != VT_OK)
    goto cleanup;

  if (!have_old || strcmp(old, vt_buf_str(&now)) != 0) {
    s = ev->stmt[EVENTS_SQL_DNS_CHANGE];
    rc = sqlite3_bind_double(s, 1, r->ts);
    rc |= events_bind_text(s, 2, r->target);
    rc |= events_bind_text(s, 3, r->name);
    rc |= events_bind_text(s, 4, r->probe);
    rc |= events_bind_text(s, 5, r->resolver);
    rc |= have_old ? events_bind_text(s, 6, old) : sqlite3_bind_null(s, 6);
    rc |= events_bind_text(s, 7, vt_buf_str(&now));
    st = events_bound(ev, EVENTS_SQL_DNS_CHANGE, rc);
    if (st == VT_OK)
      st = events_run(ev, EVENTS_SQL_DNS_CHANGE);
    if (st != VT_OK)
      goto cleanup;
    vt_info("events: %s %s from %s via %s: answer %s -> %s", r->target, r->name,
            r->probe, r->resolver[0] ? r->resolver : "system",
            have_old ? old : "(none)", vt_buf_str(&now));
  }
  /* Stored even when unchanged: its ts orders the next answer. */
  s = ev->stmt[EVENTS_SQL_DNS_PUT];
  rc = events_bind_text(s, 1, r->target);
  rc |= events_bind_text(s, 2, r->name);
  rc |= events_bind_text(s, 3, r->probe);
  rc |= events_bind_text(s, 4, r->resolver);
  rc |= events_bind_text(s, 5, vt_buf_str(&now));
  rc |= sqlite3_bind_double(s, 6, r->ts);
  st = events_bound(ev, EVENTS_SQL_DNS_PUT, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_DNS_PUT);
cleanup:
  free(old);
  vt_buf_cleanup(&now);
  return st;
}

/* ---- loading and transactions ------------------------------------------- */

static enum vt_status events_load_streaks(struct events *ev)
{
  enum vt_status st = VT_OK;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_STREAK_LOAD];
  int rc;
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t count = sqlite3_column_int64(s, 5);
    const struct quorum_streak k = {
        .target = events_col_text(s, 0),
        .check = events_col_text(s, 1),
        .ip = events_col_text(s, 2),
        .probe = events_col_text(s, 3),
        .start = sqlite3_column_double(s, 4),
        .count = count < 0         ? 0
                 : count > INT_MAX ? INT_MAX
                                   : (int)count,
        .last_ts = sqlite3_column_double(s, 6),
    };
    st = quorum_load_streak(ev->quorum, &k);
    if (st == VT_EINVAL) {
      vt_warn("events: %s: streak of %s %s %s %s: name too long, dropped",
              ev->path, k.target, k.check, k.ip, k.probe);
      st = VT_OK;
    }
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_STREAK_LOAD);
  events_sql_reset(ev, EVENTS_SQL_STREAK_LOAD);
  return st;
}

/* Loads one open row of the outages table into the engine. */
static enum vt_status events_load_row(struct events *ev, sqlite3_stmt *s)
{
  const char *ip = events_col_text(s, 3);
  const struct quorum_row row = {
      .id = sqlite3_column_int64(s, 0),
      .target = events_col_text(s, 2),
      .ip = strcmp(events_col_text(s, 1), "host") == 0 ? NULL : ip,
      .kind = events_col_text(s, 6),
      .state = events_col_text(s, 9),
      .start = sqlite3_column_double(s, 4),
      .probes = events_col_text(s, 5),
      .seen_by = sqlite3_column_int(s, 7),
      .of_probes = sqlite3_column_int(s, 8),
  };
  int64_t dup;
  enum vt_status st = quorum_load_row(ev->quorum, &row, &dup);
  if (dup)
    vt_warn("events: %s: outage rows %" PRId64 " and %" PRId64
            " both open for %s %s %s",
            ev->path, dup, row.id, row.target, ip, row.kind);
  if (st == VT_EINVAL) {
    vt_warn("events: %s: outage row %" PRId64 ": bad names, ignored", ev->path,
            row.id);
    return VT_OK;
  }
  return st;
}

/* Builds the engine's memory from the streaks and the open rows. */
static enum vt_status events_engine_load(struct events *ev)
{
  quorum_clear(ev->quorum);
  ev->engine_ok = false;
  enum vt_status st = events_load_streaks(ev);
  if (st != VT_OK)
    return st;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_OPEN_LOAD];
  int rc;
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
    st = events_load_row(ev, s);
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_OPEN_LOAD);
  events_sql_reset(ev, EVENTS_SQL_OPEN_LOAD);
  if (st == VT_OK)
    st = quorum_load_done(ev->quorum);
  if (st == VT_OK)
    ev->engine_ok = true;
  return st;
}

static enum vt_status events_txn_begin(struct events *ev, bool batch)
{
  if (ev->in_txn) {
    vt_err("events: %s: a transaction is already open", ev->path);
    return VT_EBUSY;
  }
  /* A failed reload after a rollback is retried here: nothing may run on a
   * stale engine. */
  enum vt_status st = ev->engine_ok ? VT_OK : events_engine_load(ev);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_BEGIN);
  if (st != VT_OK)
    return st;
  ev->in_txn = true;
  ev->batch = batch;
  ev->pending = 0;
  return VT_OK;
}

static void events_txn_rollback(struct events *ev)
{
  if (!ev->in_txn)
    return;
  /* After an error SQLite may have rolled back already; that is fine. */
  if (sqlite3_get_autocommit(ev->db) == 0)
    (void)events_run(ev, EVENTS_SQL_ROLLBACK);
  ev->in_txn = ev->batch = false;
  ev->pending = 0;
  events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_ROLLBACK});
  if (events_engine_load(ev) != VT_OK)
    vt_err("events: %s: cannot reload the quorum state after a rollback; "
           "retrying at the next transaction",
           ev->path);
}

/* Commits, or rolls back (restoring the engine) when that fails. */
static enum vt_status events_txn_commit(struct events *ev)
{
  if (!ev->in_txn) {
    vt_err("events: %s: commit without a transaction", ev->path);
    return VT_EINVAL;
  }
  enum vt_status st = quorum_flush(ev->quorum);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_COMMIT);
  if (st != VT_OK) {
    events_txn_rollback(ev);
    return st;
  }
  ev->batches += ev->batch;
  ev->results += ev->pending;
  ev->in_txn = ev->batch = false;
  ev->pending = 0;
  events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_COMMIT});
  return VT_OK;
}

/* Opens a transaction of our own unless one is open; *own says which. */
static enum vt_status events_auto_begin(struct events *ev, bool *own)
{
  *own = !ev->in_txn;
  return *own ? events_txn_begin(ev, false) : VT_OK;
}

/* Ends a transaction opened by events_auto_begin: commits on success, rolls
 * back on failure. Returns st, or the commit's failure. */
static enum vt_status events_auto_end(struct events *ev, bool own,
                                      enum vt_status st)
{
  if (!own)
    return st;
  if (st != VT_OK) {
    events_txn_rollback(ev);
    return st;
  }
  return events_txn_commit(ev);
}

/* ---- public interface --------------------------------------------------- */

/* Keeps the first column of the first row an exec returns (16 bytes). */
static int events_pragma_cb(void *arg, int n, char **vals, char **names)
{
  char *got = arg;
  if (n > 0 && vals[0])
    snprintf(got, 16, "%s", vals[0]);
  return 0;
}

/* Runs sql; with want, its first answer must be that (a pragma's). */
static enum vt_status events_exec(struct events *ev, const char *sql,
                                  const char *what, const char *want)
{
  char got[16] = "";
  char *msg = NULL;
  if (sqlite3_exec(ev->db, sql, want ? events_pragma_cb : NULL, got, &msg) !=
      SQLITE_OK) {
    vt_err("events: %s: cannot %s: %s", ev->path, what,
           msg ? msg : sqlite3_errmsg(ev->db));
    sqlite3_free(msg);
    return VT_ELIB;
  }
  if (want && strcmp(got, want) != 0) {
    vt_err("events: %s: cannot %s: got '%s'", ev->path, what, got);
    return VT_ELIB;
  }
  return VT_OK;
}

static enum vt_status events_schema_check(struct events *ev)
{
  enum vt_status st = events_exec(ev, "BEGIN IMMEDIATE", "begin", NULL);
  if (st != VT_OK)
    return st;
  st = events_exec(ev, events_schema, "create the schema", NULL);
  if (st == VT_OK)
    st = events_exec(ev, "COMMIT", "commit the schema", NULL);
  if (st != VT_OK) {
    sqlite3_exec(ev->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return VT_OK;
}

static enum vt_status events_version_check(struct events *ev)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_VERSION];
  enum vt_status st = VT_OK;
  if (sqlite3_step(s) != SQLITE_ROW)
    st = events_sql_fail(ev, EVENTS_SQL_VERSION);
  else if (sqlite3_column_int(s, 0) != EVENTS_SCHEMA_VERSION) {
    vt_err("events: %s: schema version %d, this collector knows %d", ev->path,
           sqlite3_column_int(s, 0), EVENTS_SCHEMA_VERSION);
    st = VT_ECONFIG;
  }
  events_sql_reset(ev, EVENTS_SQL_VERSION);
  return st;
}

struct events *events_open(const struct events_conf *conf, enum vt_status *st)
{
  if (!conf || !conf->path || conf->quorum < 1 || conf->confirm < 1 ||
      !(conf->silence_s > 0)) {
    vt_err("events: invalid configuration (path, quorum >= 1, confirm >= 1, "
           "silence > 0)");
    *st = VT_EINVAL;
    return NULL;
  }
  struct events *ev = calloc(1, sizeof(*ev));
  if (!ev || !(ev->path = strdup(conf->path))) {
    free(ev);
    *st = events_oom();
    return NULL;
  }
  ev->silence_s = conf->silence_s;
  ev->quorum = quorum_create(conf->quorum, conf->confirm, conf->silence_s,
                             &events_quorum_ops, ev);
  if (!ev->quorum) {
    events_close(ev);
    *st = VT_ENOMEM;
    return NULL;
  }

  /* NOMUTEX: the collector uses the connection from its loop thread only. */
  int rc = sqlite3_open_v2(
      conf->path, &ev->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    vt_err("events: %s: cannot open: %s", conf->path,
           ev->db ? sqlite3_errmsg(ev->db) : sqlite3_errstr(rc));
    *st = VT_ELIB;
    goto fail;
  }
  sqlite3_busy_timeout(ev->db, 5000);
  /* FULL: see the top of the file. foreign_keys is per connection. */
  *st = events_exec(ev, "PRAGMA journal_mode=WAL", "switch to WAL", "wal");
  if (*st == VT_OK)
    *st = events_exec(ev, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                      "set the pragmas", NULL);
  if (*st == VT_OK)
    *st = events_schema_check(ev);
  for (int i = 0; i < EVENTS_SQL_COUNT && *st == VT_OK; i++) {
    if (sqlite3_prepare_v3(ev->db, events_sql[i].sql, -1,
                           SQLITE_PREPARE_PERSISTENT, &ev->stmt[i],
                           NULL) != SQLITE_OK) {
      vt_err("events: %s: cannot prepare to %s: %s", conf->path,
             events_sql[i].what, sqlite3_errmsg(ev->db));
      *st = VT_ELIB;
    }
  }
  if (*st == VT_OK)
    *st = events_version_check(ev);
  if (*st == VT_OK)
    *st = events_engine_load(ev);
  if (*st != VT_OK)
    goto fail;
  uint64_t outages, partial;
  quorum_counts(ev->quorum, &outages, &partial);
  vt_info("events: %s: open, %" PRIu64 " outages and %" PRIu64
          " partial events open",
          conf->path, outages, partial);
  return ev;
fail:
  events_close(ev);
  return NULL;
}

void events_close(struct events *ev)
{
  if (!ev)
    return;
  if (ev->in_txn) {
    vt_warn("events: %s: closed inside a transaction; rolled back", ev->path);
    if (sqlite3_get_autocommit(ev->db) == 0)
      (void)events_run(ev, EVENTS_SQL_ROLLBACK);
  }
  for (int i = 0; i < EVENTS_SQL_COUNT; i++)
    sqlite3_finalize(ev->stmt[i]);
  if (ev->db && sqlite3_close(ev->db) != SQLITE_OK)
    vt_err("events: %s: cannot close: %s", ev->path, sqlite3_errmsg(ev->db));
  quorum_destroy(ev->quorum);
  free(ev->path);
  free(ev);
}

/* New values apply from the next result on; rows already open stay as they
 * are until a probe's view of their address changes. */
void events_set_quorum(struct events *ev, int quorum, int confirm,
                       double silence_s)
{
  quorum_set(ev->quorum, quorum, confirm, silence_s);
  if (silence_s > 0)
    ev->silence_s = silence_s;
}

enum vt_status events_set_maintenance(struct events *ev,
                                      const struct events_maint *m, size_t n)
{
  bool own;
  enum vt_status st = events_auto_begin(ev, &own);
  if (st != VT_OK)
    return st;
  st = events_run(ev, EVENTS_SQL_MAINT_DEL);
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_MAINT_ADD];
  for (size_t i = 0; i < n && st == VT_OK; i++) {
    if (!m[i].target || !(m[i].end > m[i].start)) {
      vt_err("events: maintenance window %zu: needs a target and an end "
             "after its start",
             i);
      st = VT_EINVAL;
      break;
    }
    int rc = events_bind_text(s, 1, m[i].target);
    rc |= sqlite3_bind_double(s, 2, m[i].start);
    rc |= sqlite3_bind_double(s, 3, m[i].end);
    rc |= m[i].reason ? events_bind_text(s, 4, m[i].reason)
                      : sqlite3_bind_null(s, 4);
    st = events_bound(ev, EVENTS_SQL_MAINT_ADD, rc);
    if (st == VT_OK)
      st = events_run(ev, EVENTS_SQL_MAINT_ADD);
  }
  /* Windows may be announced after the fact: re-flag every row. */
  if (st == VT_OK) {
    st = events_bound(ev, EVENTS_SQL_MAINT_FLAG,
                      sqlite3_bind_double(ev->stmt[EVENTS_SQL_MAINT_FLAG], 1,
                                          vt_time_wall()));
    if (st == VT_OK)
      st = events_run(ev, EVENTS_SQL_MAINT_FLAG);
  }
  return events_auto_end(ev, own, st);
}

enum vt_status events_begin(struct events *ev)
{
  return events_txn_begin(ev, true);
}

enum vt_status events_commit(struct events *ev)
{
  return events_txn_commit(ev);
}

/* Also restores the quorum engine to the committed state. */
void events_rollback(struct events *ev)
{
  events_txn_rollback(ev);
}

enum vt_status events_probe_next(struct events *ev, const char *probe,
                                 uint64_t *next)
{
  *next = 0;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_PROBE_GET];
  enum vt_status st =
      events_bound(ev, EVENTS_SQL_PROBE_GET, events_bind_text(s, 1, probe));
  if (st != VT_OK)
    return st;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    int64_t v = sqlite3_column_int64(s, 0);
    *next = v < 0 ? 0 : (uint64_t)v;
  } else if (rc != SQLITE_DONE) {
    st = events_sql_fail(ev, EVENTS_SQL_PROBE_GET);
  }
  events_sql_reset(ev, EVENTS_SQL_PROBE_GET);
  return st;
}

static enum vt_status events_probe_event(struct events *ev, const char *probe,
                                         const char *event, double ts)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_PROBE_EVENT];
  int rc = sqlite3_bind_double(s, 1, ts);
  rc |= events_bind_text(s, 2, probe);
  rc |= events_bind_text(s, 3, event);
  enum vt_status st = events_bound(ev, EVENTS_SQL_PROBE_EVENT, rc);
  return st == VT_OK ? events_run(ev, EVENTS_SQL_PROBE_EVENT) : st;
}

/* next never goes back: records below it were stored, whatever a later
 * call says. */
enum vt_status events_probe_seen(struct events *ev, const char *probe,
                                 uint64_t next, double now)
{
  if (next > INT64_MAX) {
    vt_err("events: probe %s: record number %" PRIu64 " out of range", probe,
           next);
    return VT_EINVAL;
  }
  bool own;
  enum vt_status st = events_auto_begin(ev, &own);
  if (st != VT_OK)
    return st;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_PROBE_GET];
  st = events_bound(ev, EVENTS_SQL_PROBE_GET, events_bind_text(s, 1, probe));
  if (st != VT_OK)
    goto done;
  int rc = sqlite3_step(s);
  bool known = rc == SQLITE_ROW;
  bool silent = known && sqlite3_column_type(s, 1) != SQLITE_NULL;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_PROBE_GET);
  events_sql_reset(ev, EVENTS_SQL_PROBE_GET);
  if (st != VT_OK)
    goto done;

  enum events_sql id = known ? EVENTS_SQL_PROBE_SEEN : EVENTS_SQL_PROBE_NEW;
  s = ev->stmt[id];
  rc = events_bind_text(s, 1, probe);
  rc |= sqlite3_bind_double(s, 2, now);
  rc |= sqlite3_bind_int64(s, 3, (int64_t)next);
  st = events_bound(ev, id, rc);
  if (st == VT_OK)
    st = events_run(ev, id);
  if (st == VT_OK && !known) {
    vt_notice("events: probe %s seen for the first time", probe);
    st = events_probe_event(ev, probe, "first_seen", now);
  } else if (st == VT_OK && silent) {
    vt_notice("events: probe %s is back", probe);
    st = events_probe_event(ev, probe, "back", now);
    events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_PROBE_BACK,
                                            .probes = probe, .start = now,
                                            .end = NAN});
  }
done:
  return events_auto_end(ev, own, st);
}

enum vt_status events_series_result(struct events *ev, const char *target,
                                    enum vt_check_type type,
                                    const char *check_name, const char *key,
                                    const char *probe, const char *path,
                                    double ts)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_SERIES];
  int rc = events_bind_text(s, 1, target);
  rc |= events_bind_text(s, 2, vt_check_type_name(type));
  rc |= events_bind_text(s, 3, check_name);
  rc |= events_bind_text(s, 4, key);
  rc |= events_bind_text(s, 5, probe);
  rc |= events_bind_text(s, 6, path);
  rc |= sqlite3_bind_double(s, 7, ts);
  enum vt_status st = events_bound(ev, EVENTS_SQL_SERIES, rc);
  return st == VT_OK ? events_run(ev, EVENTS_SQL_SERIES) : st;
}

/* Keys are stored as the address text, so the share series are the keys
 * that parse as IP literals. A database error is logged and ends the list
 * early. */
size_t events_known_addresses(struct events *ev, const char *target,
                              const char *check_name, const char *probe,
                              char (*out)[VT_IP_STRLEN], size_t max)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_KNOWN];
  int rc = events_bind_text(s, 1, target);
  rc |= events_bind_text(s, 2, check_name);
  rc |= events_bind_text(s, 3, probe);
  if (events_bound(ev, EVENTS_SQL_KNOWN, rc) != VT_OK)
    return 0;
  size_t n = 0;
  while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *key = events_col_text(s, 0);
    if (strlen(key) < VT_IP_STRLEN && events_is_ip(key))
      memcpy(out[n++], key, strlen(key) + 1);
  }
  if (n < max && rc != SQLITE_DONE)
    events_sql_fail(ev, EVENTS_SQL_KNOWN);
  events_sql_reset(ev, EVENTS_SQL_KNOWN);
  return n;
}

enum vt_status events_result(struct events *ev, const struct vt_result *r)
{
  bool own;
  enum vt_status st = events_auto_begin(ev, &own);
  if (st != VT_OK)
    return st;
  switch (r->check) {
  case VT_CHECK_DNS:
    st = events_dns_result(ev, r);
    break;
  case VT_CHECK_TCP:
  case VT_CHECK_HTTP:
  case VT_CHECK_CLIENT:
    st = quorum_result(ev->quorum, r);
    break;
  }
  if (st == VT_OK) {
    ev->pending++;
    events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_RESULT,
                                            .result = r, .end = NAN});
  }
  return events_auto_end(ev, own, st);
}

enum vt_status events_tick(struct events *ev, double now)
{
  double before = now - ev->silence_s;
  /* Cheap test first, so an idle tick takes no write lock. */
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_SILENT_ANY];
  enum vt_status st = events_bound(ev, EVENTS_SQL_SILENT_ANY,
                                   sqlite3_bind_double(s, 1, before));
  if (st != VT_OK)
    return st;
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_SILENT_ANY);
  events_sql_reset(ev, EVENTS_SQL_SILENT_ANY);
  if (st != VT_OK || rc == SQLITE_DONE)
    return st;

  bool own;
  st = events_auto_begin(ev, &own);
  if (st != VT_OK)
    return st;
  /* Collect first: the events are inserted once the UPDATE is finished. */
  struct quorum_names silent = {0};
  s = ev->stmt[EVENTS_SQL_SILENT_SET];
  rc = sqlite3_bind_double(s, 1, now);
  rc |= sqlite3_bind_double(s, 2, before);
  st = events_bound(ev, EVENTS_SQL_SILENT_SET, rc);
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = events_col_text(s, 0);
    st = quorum_names_add(&silent, name);
    if (st == VT_EINVAL) { /* ingest checks names; this one came by hand */
      vt_warn("events: probe %s silent; name too long to log", name);
      st = VT_OK;
    }
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_SILENT_SET);
  events_sql_reset(ev, EVENTS_SQL_SILENT_SET);
  for (size_t i = 0; i < silent.n && st == VT_OK; i++) {
    char dur[32];
    vt_notice("events: probe %s silent for %s", silent.v[i],
              vt_time_fmt_duration(ev->silence_s, dur, sizeof(dur)));
    st = events_probe_event(ev, silent.v[i], "silent", now);
    events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_PROBE_SILENT,
                                            .probes = silent.v[i],
                                            .start = now, .end = NAN});
  }
  quorum_names_cleanup(&silent);
  return events_auto_end(ev, own, st);
}

void events_set_observer(struct events *ev, events_observer_fn *fn,
                         void *arg)
{
  ev->observer = fn;
  ev->observer_arg = arg;
}

/* outages_open and partial_open count address rows; host rows summarize
 * them. batches and results count committed work since open. */
void events_get_stats(struct events *ev, struct events_stats *out)
{
  *out = (struct events_stats){.batches = ev->batches, .results = ev->results};
  quorum_counts(ev->quorum, &out->outages_open, &out->partial_open);
}
