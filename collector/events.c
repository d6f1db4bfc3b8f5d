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

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "grow.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "quorum.h"
#include "schema.h"
#include "vt_time.h"

#define EVENTS_SCHEMA_VERSION VT_SCHEMA_VERSION
/* How long a statement waits for a lock held by another process. */
#define EVENTS_BUSY_TIMEOUT_MS 250
/* Wall-clock seconds between two events_prune from events_tick. */
#define EVENTS_PRUNE_EVERY_S 600.0

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
  EVENTS_SQL_DOWN_PUT,
  EVENTS_SQL_DOWN_LOAD,
  EVENTS_SQL_OF_PROBES,
  EVENTS_SQL_ADDRS,
  EVENTS_SQL_ROWS_LOAD,
  EVENTS_SQL_OPEN_COUNT,
  EVENTS_SQL_HORIZON,
  EVENTS_SQL_RETIRE,
  EVENTS_SQL_ROW_NEW,
  EVENTS_SQL_ROW_SET,
  EVENTS_SQL_ROW_DEL,
  EVENTS_SQL_MAINT_DEL,
  EVENTS_SQL_MAINT_ADD,
  EVENTS_SQL_MAINT_FLAG,
  EVENTS_SQL_SPOOL_GET,
  EVENTS_SQL_SPOOL_SEEN,
  EVENTS_SQL_COVER_FIND,
  EVENTS_SQL_COVER_DEL,
  EVENTS_SQL_COVER_PUT,
  EVENTS_SQL_COVER_LOAD,
  EVENTS_SQL_UNSILENCE,
  EVENTS_SQL_PEV_LOAD,
  EVENTS_SQL_PEV_DEL,
  EVENTS_SQL_PEV_LAST,
  EVENTS_SQL_PRUNE_DOWNS,
  EVENTS_SQL_PRUNE_RETIRED,
  EVENTS_SQL_PRUNE_COVERS,
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
                               " next_record = max(next_record, ?3)"
                               " WHERE name = ?1",
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
    [EVENTS_SQL_SERIES] = {"INSERT INTO series(" VT_SCHEMA_SERIES_COLS ")"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)"
                           " ON CONFLICT(target, check_name, key, probe)"
                           " DO UPDATE SET"
                           " first_ts = min(first_ts, excluded.first_ts),"
                           " last_ts = max(last_ts, excluded.last_ts),"
                           " results = results + 1 RETURNING results",
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
    [EVENTS_SQL_DOWN_PUT] = {"INSERT INTO downs(target, client, key,"
                             " check_name, probe, start, \"end\", retired)"
                             " VALUES (?1, ?5, ?2, ?3, ?4, ?6, ?7, ?8)"
                             " ON CONFLICT DO UPDATE SET"
                             " \"end\" = excluded.\"end\","
                             " retired = excluded.retired",
                             "store a probe's view"},
    [EVENTS_SQL_DOWN_LOAD] = {"SELECT client, key, probe, start, \"end\","
                              " retired"
                              " FROM downs WHERE target = ?1"
                              " AND (\"end\" IS NULL OR \"end\" >= ?2)"
                              " ORDER BY client, key",
                              "load the probes' views"},
    /* Probes that report on the key (an address, or "" for the whole
     * target) since no later than ?3. */
    [EVENTS_SQL_OF_PROBES] = {"SELECT count(DISTINCT probe) FROM series"
                              " WHERE target = ?1 AND (?2 = '' OR key = ?2)"
                              " AND check_type IN ('tcp', 'http', 'client')"
                              " AND first_ts <= ?3",
                              "count the probes of a verdict"},
    /* An address counts from its first result on, and until its last
     * when every series of it has been retired since, or when none has a
     * result within the window (?2: its start; retirements older than
     * that are pruned). */
    [EVENTS_SQL_ADDRS] = {"SELECT s.key, min(s.first_ts),"
                          " CASE WHEN count(*) = count(r.ts)"
                          " OR max(s.last_ts) < ?2"
                          " THEN max(s.last_ts) END"
                          " FROM series s LEFT JOIN retired r"
                          " ON r.target = s.target AND r.ip = s.key"
                          " AND r.check_name = s.check_name"
                          " AND r.probe = s.probe AND r.ts > s.last_ts"
                          " WHERE s.target = ?1"
                          " AND s.check_type IN ('tcp', 'http')"
                          " GROUP BY s.key",
                          "list the addresses of a target"},
    [EVENTS_SQL_ROWS_LOAD] = {"SELECT id, ip, kind, state, start, \"end\","
                              " probes, seen_by, of_probes,"
                              " coalesce(end_reason, '') FROM outages"
                              " WHERE target = ?1 AND scope = ?2"
                              " AND (\"end\" IS NULL OR \"end\" >= ?3)",
                              "load the verdicts of a target"},
    [EVENTS_SQL_OPEN_COUNT] = {"SELECT kind, count(*) FROM outages"
                               " WHERE \"end\" IS NULL AND scope = 'address'"
                               " GROUP BY kind",
                               "count the open outages"},
    [EVENTS_SQL_HORIZON] = {"SELECT max(last_ts) FROM series",
                            "read the latest result time"},
    [EVENTS_SQL_RETIRE] = {"INSERT INTO retired(target, ip, check_name,"
                           " probe, ts) VALUES (?1, ?2, ?3, ?4, ?5)"
                           " ON CONFLICT DO UPDATE SET ts = excluded.ts",
                           "record a retired address"},
    /* maintenance: some window [m.start, m.end) of the target overlaps
     * the outage [start, end or now]. */
    [EVENTS_SQL_ROW_NEW] = {"INSERT INTO outages(scope, target, ip, start,"
                            " \"end\", probes, kind, seen_by, of_probes,"
                            " state, end_reason, maintenance)"
                            " VALUES (?1, ?2, ?3, ?4, ?11, ?5, ?6, ?7, ?8,"
                            " ?9, ?12, EXISTS(SELECT 1 FROM maintenance m"
                            " WHERE m.target = ?2 AND m.start <= ?10"
                            " AND m.\"end\" > ?4))",
                            "open an outage"},
    [EVENTS_SQL_ROW_SET] = {"UPDATE outages SET \"end\" = ?1, probes = ?2,"
                            " seen_by = ?3, of_probes = ?4, end_reason = ?7,"
                            " maintenance ="
                            " EXISTS(SELECT 1 FROM maintenance m"
                            " WHERE m.target = outages.target"
                            " AND m.start <= coalesce(?1, ?5)"
                            " AND m.\"end\" > outages.start)"
                            " WHERE id = ?6",
                            "update an outage"},
    [EVENTS_SQL_ROW_DEL] = {"DELETE FROM outages WHERE id = ?1",
                            "delete a verdict"},
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
    /* A probe's first spool with an id continues the numbering the probe
     * had without one (an upgraded probe keeps its spool); any later new
     * spool starts at 0. */
    [EVENTS_SQL_SPOOL_GET] = {"SELECT (SELECT next_record FROM probe_spools"
                              " WHERE probe = ?1 AND spool = ?2),"
                              " (SELECT next_record FROM probes WHERE name = ?1"
                              " AND NOT EXISTS (SELECT 1 FROM probe_spools"
                              " WHERE probe = ?1))",
                              "read a spool"},
    [EVENTS_SQL_SPOOL_SEEN] = {"INSERT INTO probe_spools(probe, spool,"
                               " next_record, first_seen)"
                               " VALUES (?1, ?2, ?3, ?4)"
                               " ON CONFLICT(probe, spool) DO UPDATE SET"
                               " next_record = max(next_record,"
                               " excluded.next_record)",
                               "update a spool"},
    /* The spans of probe ?1 within ?4 (silence_s) of [?2, ?3]. */
    [EVENTS_SQL_COVER_FIND] = {"SELECT min(start), max(\"end\") FROM covers"
                               " WHERE probe = ?1 AND start <= ?3 + ?4"
                               " AND \"end\" >= ?2 - ?4",
                               "read a probe's result spans"},
    [EVENTS_SQL_COVER_DEL] = {"DELETE FROM covers WHERE probe = ?1"
                              " AND start <= ?3 + ?4 AND \"end\" >= ?2 - ?4",
                              "merge a probe's result spans"},
    [EVENTS_SQL_COVER_PUT] = {"INSERT INTO covers(probe, start, \"end\")"
                              " VALUES (?1, ?2, ?3)",
                              "store a probe's result span"},
    [EVENTS_SQL_COVER_LOAD] = {"SELECT start, \"end\" FROM covers"
                               " WHERE probe = ?1 ORDER BY start",
                               "load a probe's result spans"},
    [EVENTS_SQL_UNSILENCE] = {"UPDATE probes SET silent_since = NULL"
                              " WHERE name = ?1",
                              "end a probe's silence"},
    [EVENTS_SQL_PEV_LOAD] = {"SELECT id, event, ts FROM probe_events"
                             " WHERE probe = ?1 AND ts >= ?2"
                             " AND event IN ('silent', 'back')",
                             "load a probe's silences"},
    [EVENTS_SQL_PEV_DEL] = {"DELETE FROM probe_events WHERE id = ?1",
                            "withdraw a silence"},
    [EVENTS_SQL_PEV_LAST] = {"SELECT 1 FROM (SELECT event FROM probe_events"
                             " WHERE probe = ?1 AND ts < ?2"
                             " AND event IN ('silent', 'back')"
                             " ORDER BY ts DESC, id DESC LIMIT 1)"
                             " WHERE event = 'silent'",
                             "read a probe's last silence"},
    [EVENTS_SQL_PRUNE_DOWNS] = {"DELETE FROM downs"
                                " WHERE \"end\" IS NOT NULL"
                                " AND \"end\" < ?1",
                                "prune the probes' views"},
    [EVENTS_SQL_PRUNE_RETIRED] = {"DELETE FROM retired WHERE ts < ?1",
                                  "prune the retired addresses"},
    /* A span is needed while it or the next one may give a silence row at
     * or after ?1 (a silence starts after its first span's end). */
    [EVENTS_SQL_PRUNE_COVERS] = {"DELETE FROM covers WHERE EXISTS"
                                 " (SELECT 1 FROM covers n"
                                 " WHERE n.probe = covers.probe"
                                 " AND n.start > covers.start"
                                 " AND n.start < ?1)",
                                 "prune the result spans"},
};

/* A span of time covered by one probe's results in the open transaction
 * (merged into `covers` at commit). */
struct events_span {
  char probe[QUORUM_NAME_LEN];
  double start, end;
};

struct events {
  sqlite3 *db;
  char *path;
  double silence_s;
  sqlite3_stmt *stmt[EVENTS_SQL_COUNT];
  struct quorum *quorum;       /* follows the streaks; views go to `downs` */
  int quorum_n;                /* probes needed to call an address down */
  double window_s;             /* re-evaluation window (events_conf) */
  double horizon;              /* latest result time seen (event time) */
  struct quorum_names touched; /* targets to recompute at commit */
  double first_tick;           /* now of the first events_tick, or 0 */
  double next_prune;           /* wall time of the next events_prune */
  struct events_span *spans;   /* result spans of the transaction */
  size_t nspans, capspans;
  struct quorum_names touched_probes; /* silences to recompute at commit */
  uint64_t late_n;    /* results of the transaction older than the window */
  double late_oldest; /* ... the oldest one's time */
  char late_probe[QUORUM_NAME_LEN]; /* ... and its probe */
  bool in_txn;                      /* a transaction of ours is open */
  double txn_t0;                    /* vt_time_mono at its BEGIN (/metrics) */
  bool batch;                       /* ... and it was opened by events_begin */
  bool engine_ok;                   /* the quorum engine matches the database */
  uint64_t pending;                 /* results of the open transaction */
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

static enum vt_status events_oom(void)
{
  vt_err("events: out of memory");
  return VT_ENOMEM;
}

static bool events_is_ip(const char *s)
{
  return vt_net_is_ip(s);
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

/* Checks the binds (rc) of a statement without result rows and runs it. */
static enum vt_status events_bound_run(struct events *ev, enum events_sql id,
                                       int rc)
{
  enum vt_status st = events_bound(ev, id, rc);
  return st == VT_OK ? events_run(ev, id) : st;
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

/* Binds the n texts to parameters 1..n; returns the OR of the results. */
static int events_bind_texts(sqlite3_stmt *s, size_t n, const char *const *text)
{
  int rc = SQLITE_OK;
  for (size_t i = 0; i < n; i++)
    rc |= events_bind_text(s, (int)i + 1, text[i]);
  return rc;
}

/* Tells the observer that probe went silent or came back at ts. */
static void events_probe_note(struct events *ev, enum events_note_kind kind,
                              const char *probe, double ts)
{
  events_notify(ev, &(struct events_note){.kind = kind,
                                          .probes = probe,
                                          .start = ts,
                                          .end = NAN,
                                          .old_end = NAN});
}

/* ---- storage of the quorum engine's rows and streaks -------------------- */

/* ---- verdicts: the one place where rows are opened, changed, deleted --- */

/* A verdict row of the outages table: an address row (ip set; outage or
 * partial) or a host row (ip NULL; state "degraded" or "down"). end is
 * INFINITY while open. Strings are borrowed. */
struct events_verdict {
  int64_t id; /* 0 until stored */
  const char *ip;
  bool outage;
  const char *state;
  double start, end;
  const char *probes;
  int seen_by, of_probes;
  const char *end_reason; /* NULL, or EVENTS_NO_LONGER_CHECKED */
  double old_end;         /* stored end when changed (INFINITY: was open) */
};

/* Tells the observer about verdict v of target: end and old_end as they
 * are (INFINITY: open) become NaN when open. */
static void events_verdict_note(struct events *ev, enum events_note_kind kind,
                                const char *target,
                                const struct events_verdict *v, double end,
                                double old_end)
{
  events_notify(
      ev, &(struct events_note){.kind = kind,
                                .id = v->id,
                                .target = target,
                                .ip = v->ip,
                                .row = v->outage ? "outage" : "partial",
                                .state = v->state,
                                .probes = v->probes,
                                .start = v->start,
                                .end = isfinite(end) ? end : NAN,
                                .old_end = isfinite(old_end) ? old_end : NAN,
                                .reopened = kind == EVENTS_NOTE_UPDATE &&
                                            !isfinite(end) && isfinite(old_end),
                                .seen_by = v->seen_by,
                                .of_probes = v->of_probes});
}

/* The choke point (events.h, "Verdict changes"): stores a new verdict row
 * of target. */
static enum vt_status events_verdict_open(struct events *ev, const char *target,
                                          struct events_verdict *v)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_NEW];
  int rc = events_bind_text(s, 1, v->ip ? "address" : "host");
  rc |= events_bind_text(s, 2, target);
  rc |= v->ip ? events_bind_text(s, 3, v->ip) : sqlite3_bind_null(s, 3);
  rc |= sqlite3_bind_double(s, 4, v->start);
  rc |= events_bind_text(s, 5, v->probes);
  rc |= events_bind_text(s, 6, v->outage ? "outage" : "partial");
  rc |= sqlite3_bind_int(s, 7, v->seen_by);
  rc |= sqlite3_bind_int(s, 8, v->of_probes);
  rc |= v->state ? events_bind_text(s, 9, v->state) : sqlite3_bind_null(s, 9);
  rc |= sqlite3_bind_double(s, 10, isfinite(v->end) ? v->end : ev->horizon);
  rc |= isfinite(v->end) ? sqlite3_bind_double(s, 11, v->end)
                         : sqlite3_bind_null(s, 11);
  rc |= v->end_reason ? events_bind_text(s, 12, v->end_reason)
                      : sqlite3_bind_null(s, 12);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ROW_NEW, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_NEW);
  if (st != VT_OK)
    return st;
  v->id = sqlite3_last_insert_rowid(ev->db);
  char iso[32];
  vt_notice("events: %s %s: %s from %s%s, seen by %d of %d", target,
            v->ip ? v->ip : "(host)",
            v->state    ? v->state
            : v->outage ? "outage"
                        : "partial event",
            vt_time_fmt_iso(v->start, iso, sizeof(iso)),
            isfinite(v->end) ? " (closed)" : "", v->seen_by, v->of_probes);
  events_verdict_note(ev, EVENTS_NOTE_OPEN, target, v, INFINITY, INFINITY);
  if (isfinite(v->end))
    events_verdict_note(ev, EVENTS_NOTE_UPDATE, target, v, v->end, INFINITY);
  return VT_OK;
}

/* The choke point: writes the end (INFINITY: open again), probes and
 * counts of verdict v (by id) of target. */
static enum vt_status events_verdict_change(struct events *ev,
                                            const char *target,
                                            const struct events_verdict *v)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_SET];
  int rc = isfinite(v->end) ? sqlite3_bind_double(s, 1, v->end)
                            : sqlite3_bind_null(s, 1);
  rc |= events_bind_text(s, 2, v->probes);
  rc |= sqlite3_bind_int(s, 3, v->seen_by);
  rc |= sqlite3_bind_int(s, 4, v->of_probes);
  rc |= sqlite3_bind_double(s, 5, ev->horizon);
  rc |= sqlite3_bind_int64(s, 6, v->id);
  rc |= v->end_reason ? events_bind_text(s, 7, v->end_reason)
                      : sqlite3_bind_null(s, 7);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ROW_SET, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_SET);
  if (st == VT_OK)
    events_verdict_note(ev, EVENTS_NOTE_UPDATE, target, v, v->end, v->old_end);
  if (st == VT_OK && !isfinite(v->end) && isfinite(v->old_end)) {
    char iso[32], iso_end[32];
    vt_notice("events: %s %s: %s from %s goes on after all (late results); "
              "it had ended at %s",
              target, v->ip ? v->ip : "(host)",
              v->state    ? v->state
              : v->outage ? "outage"
                          : "partial event",
              vt_time_fmt_iso(v->start, iso, sizeof(iso)),
              vt_time_fmt_iso(v->old_end, iso_end, sizeof(iso_end)));
  }
  if (st == VT_OK && isfinite(v->end)) {
    char dur[32], iso[32];
    vt_notice("events: %s %s: %s ended at %s after %s%s%s", target,
              v->ip ? v->ip : "(host)",
              v->state    ? v->state
              : v->outage ? "outage"
                          : "partial event",
              vt_time_fmt_iso(v->end, iso, sizeof(iso)),
              vt_time_fmt_duration(v->end - v->start, dur, sizeof(dur)),
              v->end_reason ? ": " : "", v->end_reason ? v->end_reason : "");
  }
  return st;
}

/* The choke point: deletes verdict id of target, which later results
 * showed never happened as stored (it merged into another, or moved). */
static enum vt_status events_verdict_delete(struct events *ev,
                                            const char *target, int64_t id)
{
  enum vt_status st =
      events_bound(ev, EVENTS_SQL_ROW_DEL,
                   sqlite3_bind_int64(ev->stmt[EVENTS_SQL_ROW_DEL], 1, id));
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_DEL);
  if (st == VT_OK) {
    vt_info("events: %s: verdict %" PRId64 " withdrawn by later results",
            target, id);
    events_notify(ev, &(struct events_note){.kind = EVENTS_NOTE_DROP,
                                            .id = id,
                                            .target = target,
                                            .end = NAN});
  }
  return st;
}

/* Rows to delete, collected while their SELECT runs: an id, and for a
 * silence row its time and whether it is "silent". */
struct events_drop {
  int64_t id;
  double ts;
  bool silent;
};
struct events_drops {
  struct events_drop *v;
  size_t n, cap;
};

static enum vt_status events_drops_add(struct events_drops *d, int64_t id,
                                       double ts, bool silent)
{
  void *p = vt_grow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
  if (!p)
    return events_oom();
  d->v = p;
  d->v[d->n++] = (struct events_drop){.id = id, .ts = ts, .silent = silent};
  return VT_OK;
}

/* Computed verdicts of one target, with the strings they own. */
struct events_verdicts {
  struct events_verdict *v;
  char (*ip)[VT_IP_STRLEN];
  struct vt_buf *probes;
  size_t n, cap;
};

static void events_verdicts_cleanup(struct events_verdicts *vs)
{
  for (size_t i = 0; i < vs->n; i++)
    vt_buf_cleanup(&vs->probes[i]);
  free(vs->v);
  free(vs->ip);
  free(vs->probes);
  *vs = (struct events_verdicts){0};
}

/* Appends a copy of v (ip and probes copied). */
static enum vt_status events_verdicts_add(struct events_verdicts *vs,
                                          const struct events_verdict *v,
                                          const struct quorum_names *probes)
{
  if (vs->n == vs->cap) {
    size_t cap = vs->cap ? 2 * vs->cap : 16;
    void *a = realloc(vs->v, cap * sizeof(*vs->v));
    if (a)
      vs->v = a;
    void *b = a ? realloc(vs->ip, cap * sizeof(*vs->ip)) : NULL;
    if (b)
      vs->ip = b;
    void *c = b ? realloc(vs->probes, cap * sizeof(*vs->probes)) : NULL;
    if (!c)
      return events_oom();
    vs->probes = c;
    vs->cap = cap;
  }
  size_t i = vs->n;
  vs->v[i] = *v;
  vt_buf_init(&vs->probes[i], 0);
  vs->n++;
  if (v->ip)
    snprintf(vs->ip[i], sizeof(vs->ip[i]), "%s", v->ip);
  if (quorum_names_join(probes, &vs->probes[i]) != VT_OK)
    return VT_ENOMEM;
  return VT_OK;
}

/* Probes reporting on key of target ("" = any key) since no later than
 * until. */
static enum vt_status events_of_probes(struct events *ev, const char *target,
                                       const char *key, double until, int *n)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_OF_PROBES];
  int rc = events_bind_text(s, 1, target);
  rc |= events_bind_text(s, 2, key);
  rc |= sqlite3_bind_double(s, 3, isfinite(until) ? until : DBL_MAX);
  enum vt_status st = events_bound(ev, EVENTS_SQL_OF_PROBES, rc);
  if (st != VT_OK)
    return st;
  if (sqlite3_step(s) == SQLITE_ROW)
    *n = sqlite3_column_int(s, 0);
  else
    st = events_sql_fail(ev, EVENTS_SQL_OF_PROBES);
  events_sql_reset(ev, EVENTS_SQL_OF_PROBES);
  return st;
}

/* One probe's view as loaded for a sweep. */
struct events_view {
  bool client, retired;
  char key[QUORUM_NAME_LEN], probe[QUORUM_NAME_LEN];
  double start, end;
};

/* Replaces the stored verdicts of target in scope ("address" or "host")
 * that end at or after the window's start (or are open) by want: a row
 * with the same place, kind and start is kept (and changed when its end,
 * probes or counts differ), others are deleted, and the rest of want is
 * opened. Everything goes through the three choke points above. */
static enum vt_status events_verdicts_apply(struct events *ev,
                                            const char *target,
                                            const char *scope,
                                            struct events_verdicts *want)
{
  double from = ev->horizon - ev->window_s;
  bool *matched = calloc(want->n + 1, sizeof(*matched));
  if (!matched)
    return events_oom();
  struct events_drops drop = {0};
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROWS_LOAD];
  int rc = events_bind_text(s, 1, target);
  rc |= events_bind_text(s, 2, scope);
  rc |= sqlite3_bind_double(s, 3, from);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ROWS_LOAD, rc);
  /* Changes are collected first and written after the SELECT ends. */
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(s, 0);
    const char *ip =
        sqlite3_column_type(s, 1) == SQLITE_NULL ? NULL : events_col_text(s, 1);
    bool outage = strcmp(events_col_text(s, 2), "outage") == 0;
    const char *state =
        sqlite3_column_type(s, 3) == SQLITE_NULL ? NULL : events_col_text(s, 3);
    double start = sqlite3_column_double(s, 4);
    double end = sqlite3_column_type(s, 5) == SQLITE_NULL
                     ? INFINITY
                     : sqlite3_column_double(s, 5);
    size_t i = 0;
    for (; i < want->n; i++) {
      const struct events_verdict *w = &want->v[i];
      if (!matched[i] && w->start == start && w->outage == outage &&
          (w->ip ? ip && strcmp(w->ip, ip) == 0 : !ip) &&
          (w->state ? state && strcmp(w->state, state) == 0 : !state))
        break;
    }
    if (i < want->n) {
      matched[i] = true;
      struct events_verdict *w = &want->v[i];
      w->id = id;
      w->old_end = end;
      bool same =
          w->end == end && strcmp(w->probes, events_col_text(s, 6)) == 0 &&
          strcmp(w->end_reason ? w->end_reason : "", events_col_text(s, 9)) ==
              0 &&
          w->seen_by == sqlite3_column_int(s, 7) &&
          w->of_probes == sqlite3_column_int(s, 8);
      if (same)
        w->id = -id; /* nothing to write */
      continue;
    }
    st = events_drops_add(&drop, id, 0, false);
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_ROWS_LOAD);
  events_sql_reset(ev, EVENTS_SQL_ROWS_LOAD);
  for (size_t i = 0; i < drop.n && st == VT_OK; i++)
    st = events_verdict_delete(ev, target, drop.v[i].id);
  for (size_t i = 0; i < want->n && st == VT_OK; i++) {
    struct events_verdict *w = &want->v[i];
    if (w->id > 0)
      st = events_verdict_change(ev, target, w);
    else if (w->id == 0 && (!isfinite(w->end) || w->end >= from))
      st = events_verdict_open(ev, target, w);
  }
  free(drop.v);
  free(matched);
  return st;
}

/* A host state piece: from t on, until the next. */
static int events_dbl_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Builds the host rows of target from its address outages (addr, with
 * ip set) and its client views failing from a quorum (client), over the
 * addresses the target has (known from their first result on). */
static enum vt_status events_host_verdicts(struct events *ev,
                                           const char *target,
                                           const struct events_verdicts *addr,
                                           const struct events_verdicts *client,
                                           struct events_verdicts *out)
{
  /* The addresses and since when they are checked. */
  struct {
    char key[VT_IP_STRLEN];
    double first, until; /* until INFINITY: still checked */
  } *ad = NULL;
  size_t nad = 0, capad = 0;
  double *t = NULL;
  size_t nt = 0;
  struct quorum_names probes = {0};
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ADDRS];
  int rc = events_bind_text(s, 1, target);
  rc |= sqlite3_bind_double(s, 2, ev->horizon - ev->window_s);
  enum vt_status st = events_bound(ev, EVENTS_SQL_ADDRS, rc);
  rc = SQLITE_DONE;
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    void *p = vt_grow(ad, &capad, nad + 1, sizeof(*ad));
    if (!p) {
      st = events_oom();
      break;
    }
    ad = p;
    snprintf(ad[nad].key, sizeof(ad[nad].key), "%s", events_col_text(s, 0));
    ad[nad].first = sqlite3_column_double(s, 1);
    ad[nad++].until = sqlite3_column_type(s, 2) == SQLITE_NULL
                          ? INFINITY
                          : sqlite3_column_double(s, 2);
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_ADDRS);
  events_sql_reset(ev, EVENTS_SQL_ADDRS);
  if (st != VT_OK)
    goto out;

  /* Times where the state may change. */
  size_t cap = 2 * (addr->n + client->n) + 2 * nad + 1;
  if (!(t = calloc(cap, sizeof(*t)))) {
    st = events_oom();
    goto out;
  }
  for (size_t i = 0; i < addr->n; i++) {
    if (!addr->v[i].outage)
      continue;
    t[nt++] = addr->v[i].start;
    if (isfinite(addr->v[i].end))
      t[nt++] = addr->v[i].end;
  }
  for (size_t i = 0; i < client->n; i++) {
    t[nt++] = client->v[i].start;
    if (isfinite(client->v[i].end))
      t[nt++] = client->v[i].end;
  }
  if (!nt)
    goto out; /* no outage: up all along */
  for (size_t i = 0; i < nad; i++) {
    t[nt++] = ad[i].first;
    if (isfinite(ad[i].until))
      t[nt++] = ad[i].until;
  }
  qsort(t, nt, sizeof(*t), events_dbl_cmp);

  const char *cur = NULL; /* state of the row being built, NULL = up */
  struct events_verdict row = {0};
  for (size_t i = 0; i <= nt && st == VT_OK; i++) {
    if (i > 0 && i < nt && t[i] == t[i - 1])
      continue;
    const char *state = NULL;
    double at = i < nt ? t[i] : INFINITY;
    if (i < nt) {
      size_t known = 0, down = 0;
      bool client_down = false;
      for (size_t k = 0; k < client->n; k++)
        client_down |= client->v[k].start <= at && at < client->v[k].end;
      for (size_t a = 0; a < nad; a++) {
        if (ad[a].first > at || at >= ad[a].until)
          continue;
        known++;
        for (size_t k = 0; k < addr->n; k++)
          if (addr->v[k].outage && strcmp(addr->ip[k], ad[a].key) == 0 &&
              addr->v[k].start <= at && at < addr->v[k].end) {
            down++;
            break;
          }
      }
      state = client_down || (known && down == known) ? "down"
              : down                                  ? "degraded"
                                                      : NULL;
    }
    if (cur && (!state || strcmp(state, cur) != 0)) {
      row.end = at;
      /* Ended because an address stopped being checked? */
      for (size_t k = 0; k < addr->n; k++)
        if (addr->v[k].outage && addr->v[k].end == at && addr->v[k].end_reason)
          row.end_reason = addr->v[k].end_reason;
      st = events_of_probes(ev, target, "", row.end, &row.of_probes);
      if (st == VT_OK) {
        row.seen_by = (int)probes.n;
        if (row.of_probes < row.seen_by)
          row.of_probes = row.seen_by;
        st = events_verdicts_add(out, &row, &probes);
      }
      quorum_names_cleanup(&probes);
      cur = NULL;
    }
    if (!state || st != VT_OK)
      continue;
    if (!cur) {
      cur = state;
      row = (struct events_verdict){
          .outage = true, .state = state, .start = at, .end = INFINITY};
    }
    /* The probes of every outage and failing client view in the piece. */
    for (size_t k = 0; k < addr->n && st == VT_OK; k++)
      if (addr->v[k].outage && addr->v[k].start <= at && at < addr->v[k].end)
        st = quorum_names_parse(&probes, vt_buf_str(&addr->probes[k]));
    for (size_t k = 0; k < client->n && st == VT_OK; k++)
      if (client->v[k].start <= at && at < client->v[k].end)
        st = quorum_names_parse(&probes, vt_buf_str(&client->probes[k]));
  }
out:
  quorum_names_cleanup(&probes);
  free(t);
  free(ad);
  return st;
}

/* Recomputes every verdict of target within the re-evaluation window from
 * the stored views (docs/collector.md, "Quorum"): a pure function of the
 * results' times, whatever order and batches they came in. */
static enum vt_status events_target_verdicts(struct events *ev,
                                             const char *target)
{
  double from = ev->horizon - ev->window_s;
  struct events_view *views = NULL;
  size_t nv = 0, capv = 0;
  struct events_verdicts addr = {0}, client = {0}, host = {0};
  struct quorum_iv *iv = NULL;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_DOWN_LOAD];
  int rc = events_bind_text(s, 1, target);
  rc |= sqlite3_bind_double(s, 2, from);
  enum vt_status st = events_bound(ev, EVENTS_SQL_DOWN_LOAD, rc);
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    void *p = vt_grow(views, &capv, nv + 1, sizeof(*views));
    if (!p) {
      st = events_oom();
      break;
    }
    views = p;
    struct events_view *v = &views[nv++];
    v->client = sqlite3_column_int(s, 0) != 0;
    snprintf(v->key, sizeof(v->key), "%s", events_col_text(s, 1));
    snprintf(v->probe, sizeof(v->probe), "%s", events_col_text(s, 2));
    v->start = sqlite3_column_double(s, 3);
    v->end = sqlite3_column_type(s, 4) == SQLITE_NULL
                 ? INFINITY
                 : sqlite3_column_double(s, 4);
    v->retired = sqlite3_column_int(s, 5) != 0;
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_DOWN_LOAD);
  events_sql_reset(ev, EVENTS_SQL_DOWN_LOAD);
  if (st == VT_OK && nv && !(iv = calloc(nv, sizeof(*iv))))
    st = events_oom();

  /* One sweep per entity (the rows are ordered by client, key). */
  for (size_t i = 0; i < nv && st == VT_OK;) {
    size_t j = i;
    for (; j < nv && views[j].client == views[i].client &&
           strcmp(views[j].key, views[i].key) == 0;
         j++)
      iv[j - i] = (struct quorum_iv){.probe = views[j].probe,
                                     .start = views[j].start,
                                     .end = views[j].end,
                                     .retired = views[j].retired};
    struct quorum_seg *segs;
    size_t nseg;
    st = quorum_sweep(iv, j - i, ev->quorum_n, &segs, &nseg);
    for (size_t k = 0; k < nseg && st == VT_OK; k++) {
      struct events_verdict v = {
          .outage = segs[k].outage,
          .start = segs[k].start,
          .end = segs[k].end,
          .seen_by = segs[k].seen_by,
          .end_reason = segs[k].retired ? EVENTS_NO_LONGER_CHECKED : NULL};
      if (views[i].client) {
        if (v.outage) /* a client view has no rows; it only sets the host */
          st = events_verdicts_add(&client, &v, &segs[k].probes);
        continue;
      }
      v.ip = views[i].key;
      st = events_of_probes(ev, target, views[i].key, v.end, &v.of_probes);
      if (st == VT_OK && v.of_probes < v.seen_by)
        v.of_probes = v.seen_by;
      if (st == VT_OK)
        st = events_verdicts_add(&addr, &v, &segs[k].probes);
    }
    quorum_segs_free(segs, nseg);
    i = j;
  }
  for (size_t i = 0; i < addr.n; i++) {
    addr.v[i].ip = addr.ip[i];
    addr.v[i].probes = vt_buf_str(&addr.probes[i]);
  }
  for (size_t i = 0; i < client.n; i++)
    client.v[i].probes = vt_buf_str(&client.probes[i]);
  if (st == VT_OK)
    st = events_host_verdicts(ev, target, &addr, &client, &host);
  for (size_t i = 0; i < host.n; i++)
    host.v[i].probes = vt_buf_str(&host.probes[i]);
  if (st == VT_OK)
    st = events_verdicts_apply(ev, target, "address", &addr);
  if (st == VT_OK)
    st = events_verdicts_apply(ev, target, "host", &host);
  events_verdicts_cleanup(&addr);
  events_verdicts_cleanup(&client);
  events_verdicts_cleanup(&host);
  free(iv);
  free(views);
  return st;
}

/* Recomputes the verdicts of the targets the transaction touched. */
static enum vt_status events_touched_verdicts(struct events *ev)
{
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < ev->touched.n && st == VT_OK; i++)
    st = events_target_verdicts(ev, ev->touched.v[i]);
  if (st == VT_OK)
    quorum_names_cleanup(&ev->touched);
  return st;
}

/* struct quorum_ops down_put: stores the view, and marks its target for a
 * recomputation at commit. */
static enum vt_status events_down_put(void *arg, const struct quorum_down *d)
{
  struct events *ev = arg;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_DOWN_PUT];
  int rc = events_bind_texts(
      s, 4, (const char *[]){d->target, d->key, d->check, d->probe});
  rc |= sqlite3_bind_int(s, 5, d->client);
  rc |= sqlite3_bind_double(s, 6, d->start);
  rc |= isnan(d->end) ? sqlite3_bind_null(s, 7)
                      : sqlite3_bind_double(s, 7, d->end);
  rc |= sqlite3_bind_int(s, 8, d->retired);
  enum vt_status st = events_bound_run(ev, EVENTS_SQL_DOWN_PUT, rc);
  if (st == VT_OK)
    st = quorum_names_add(&ev->touched, d->target);
  return st;
}

/* struct quorum_ops streak_put: called at commit for each changed streak. */
static enum vt_status events_streak_put(void *arg,
                                        const struct quorum_streak *k)
{
  struct events *ev = arg;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_STREAK_PUT];
  int rc = events_bind_texts(
      s, 4, (const char *[]){k->target, k->check, k->ip, k->probe});
  rc |= sqlite3_bind_double(s, 5, k->start);
  rc |= sqlite3_bind_int(s, 6, k->count);
  rc |= sqlite3_bind_double(s, 7, k->last_ts);
  return events_bound_run(ev, EVENTS_SQL_STREAK_PUT, rc);
}

static const struct quorum_ops events_quorum_ops = {
    .down_put = events_down_put,
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

/* Checks the binds (rc) of query id and whether it has a row (*any). */
static enum vt_status events_any(struct events *ev, enum events_sql id, int rc,
                                 bool *any)
{
  *any = false;
  enum vt_status st = events_bound(ev, id, rc);
  if (st != VT_OK)
    return st;
  rc = sqlite3_step(ev->stmt[id]);
  *any = rc == SQLITE_ROW;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = events_sql_fail(ev, id);
  events_sql_reset(ev, id);
  return st;
}

/* ---- silences by event time --------------------------------------------- */

static enum vt_status events_probe_event(struct events *ev, const char *probe,
                                         const char *event, double ts);

/* Adds the time ts of a result of probe to the transaction's spans: it
 * extends the probe's latest span when within silence_s of it, else starts
 * one (the spans merge with the stored ones at commit). */
static enum vt_status events_span_add(struct events *ev, const char *probe,
                                      double ts)
{
  for (size_t i = ev->nspans; i-- > 0;) {
    struct events_span *sp = &ev->spans[i];
    if (strcmp(sp->probe, probe) != 0)
      continue;
    if (ts < sp->start - ev->silence_s || ts > sp->end + ev->silence_s)
      break;
    sp->start = ts < sp->start ? ts : sp->start;
    sp->end = ts > sp->end ? ts : sp->end;
    return VT_OK;
  }
  void *p =
      vt_grow(ev->spans, &ev->capspans, ev->nspans + 1, sizeof(*ev->spans));
  if (!p)
    return events_oom();
  ev->spans = p;
  struct events_span *sp = &ev->spans[ev->nspans++];
  snprintf(sp->probe, sizeof(sp->probe), "%s", probe);
  sp->start = sp->end = ts;
  return VT_OK;
}

/* Binds probe, [start, end] and silence_s to a COVER_FIND or COVER_DEL. */
static enum vt_status events_span_bind(struct events *ev, enum events_sql id,
                                       const struct events_span *sp)
{
  sqlite3_stmt *s = ev->stmt[id];
  int rc = events_bind_text(s, 1, sp->probe);
  rc |= sqlite3_bind_double(s, 2, sp->start);
  rc |= sqlite3_bind_double(s, 3, sp->end);
  rc |= sqlite3_bind_double(s, 4, ev->silence_s);
  return events_bound(ev, id, rc);
}

/* Merges the transaction's spans into `covers`; a probe with new results
 * is no longer silent, and its silences are recomputed at commit. */
static enum vt_status events_spans_flush(struct events *ev)
{
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < ev->nspans && st == VT_OK; i++) {
    struct events_span sp = ev->spans[i];
    st = events_span_bind(ev, EVENTS_SQL_COVER_FIND, &sp);
    if (st != VT_OK)
      break;
    sqlite3_stmt *s = ev->stmt[EVENTS_SQL_COVER_FIND];
    bool found = false;
    double lo = sp.start, hi = sp.end;
    if (sqlite3_step(s) == SQLITE_ROW) {
      found = sqlite3_column_type(s, 0) != SQLITE_NULL;
      if (found) {
        lo = fmin(lo, sqlite3_column_double(s, 0));
        hi = fmax(hi, sqlite3_column_double(s, 1));
      }
    } else {
      st = events_sql_fail(ev, EVENTS_SQL_COVER_FIND);
    }
    events_sql_reset(ev, EVENTS_SQL_COVER_FIND);
    if (st == VT_OK && found &&
        (st = events_span_bind(ev, EVENTS_SQL_COVER_DEL, &sp)) == VT_OK)
      st = events_run(ev, EVENTS_SQL_COVER_DEL);
    if (st == VT_OK) {
      s = ev->stmt[EVENTS_SQL_COVER_PUT];
      int rc = events_bind_text(s, 1, sp.probe);
      rc |= sqlite3_bind_double(s, 2, lo);
      rc |= sqlite3_bind_double(s, 3, hi);
      st = events_bound_run(ev, EVENTS_SQL_COVER_PUT, rc);
    }
    if (st == VT_OK)
      st = events_bound_run(
          ev, EVENTS_SQL_UNSILENCE,
          events_bind_text(ev->stmt[EVENTS_SQL_UNSILENCE], 1, sp.probe));
    if (st == VT_OK)
      st = quorum_names_add(&ev->touched_probes, sp.probe);
  }
  ev->nspans = 0;
  return st;
}

/* The stored spans of probe, in time order, into a new array *out of *n. */
static enum vt_status events_covers_load(struct events *ev, const char *probe,
                                         struct events_span **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  size_t cap = 0;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_COVER_LOAD];
  enum vt_status st =
      events_bound(ev, EVENTS_SQL_COVER_LOAD, events_bind_text(s, 1, probe));
  int rc = SQLITE_DONE;
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    void *p = vt_grow(*out, &cap, *n + 1, sizeof(**out));
    if (!p) {
      st = events_oom();
      break;
    }
    *out = p;
    (*out)[*n].start = sqlite3_column_double(s, 0);
    (*out)[(*n)++].end = sqlite3_column_double(s, 1);
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_COVER_LOAD);
  events_sql_reset(ev, EVENTS_SQL_COVER_LOAD);
  return st;
}

/* Rewrites the silence rows (probe_events "silent" and "back") of probe
 * from its spans, within the window: silent from the end of a span plus
 * silence_s, back at the next span's start; silent after its last span
 * while events_tick holds it silent (not heard from). A probe without
 * spans (it never sent a result) keeps the rows of arrival (events_tick,
 * events_probe_seen). */
static enum vt_status events_probe_silences(struct events *ev,
                                            const char *probe)
{
  struct events_span *cv;
  size_t n;
  enum vt_status st = events_covers_load(ev, probe, &cv, &n);
  if (st != VT_OK || n == 0) {
    free(cv);
    return st;
  }
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_PROBE_GET];
  bool silent = false, known = false;
  st = events_bound(ev, EVENTS_SQL_PROBE_GET, events_bind_text(s, 1, probe));
  if (st == VT_OK) {
    if ((known = sqlite3_step(s) == SQLITE_ROW))
      silent = sqlite3_column_type(s, 1) != SQLITE_NULL;
    events_sql_reset(ev, EVENTS_SQL_PROBE_GET);
  }
  if (!known) { /* results fed without events_probe_seen (tests) */
    free(cv);
    return st;
  }
  /* The rows wanted: silent (true) or back at a time. */
  struct {
    bool silent, have;
    double ts;
  } *want = calloc(2 * n + 1, sizeof(*want));
  size_t nw = 0;
  if (!want && st == VT_OK)
    st = events_oom();
  double from = fmax(ev->horizon - ev->window_s, cv[0].start);
  /* Silent by arrival before its first span (it sent no result before,
   * or before this version): back at the first result. */
  bool back_first = false;
  if (st == VT_OK && cv[0].start >= ev->horizon - ev->window_s) {
    s = ev->stmt[EVENTS_SQL_PEV_LAST];
    int rc = events_bind_text(s, 1, probe);
    rc |= sqlite3_bind_double(s, 2, cv[0].start);
    st = events_any(ev, EVENTS_SQL_PEV_LAST, rc, &back_first);
  }
  if (back_first) {
    want[nw].silent = false;
    want[nw++].ts = cv[0].start;
  }
  for (size_t i = 0; i < n && st == VT_OK; i++) {
    bool gap = i + 1 < n ? cv[i + 1].start - cv[i].end > ev->silence_s : silent;
    if (!gap)
      continue;
    want[nw].silent = true;
    want[nw++].ts = cv[i].end + ev->silence_s;
    if (i + 1 < n) {
      want[nw].silent = false;
      want[nw++].ts = cv[i + 1].start;
    }
  }
  /* The stored rows: matched ones stay, the others go. */
  struct events_drops drop = {0};
  s = ev->stmt[EVENTS_SQL_PEV_LOAD];
  int rc = events_bind_text(s, 1, probe);
  rc |= sqlite3_bind_double(s, 2, from);
  if (st == VT_OK)
    st = events_bound(ev, EVENTS_SQL_PEV_LOAD, rc);
  else
    events_sql_reset(ev, EVENTS_SQL_PEV_LOAD);
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    bool is_silent = strcmp(events_col_text(s, 1), "silent") == 0;
    double ts = sqlite3_column_double(s, 2);
    size_t k = 0;
    while (k < nw &&
           (want[k].have || want[k].silent != is_silent || want[k].ts != ts))
      k++;
    if (k < nw) {
      want[k].have = true;
      continue;
    }
    st = events_drops_add(&drop, sqlite3_column_int64(s, 0), ts, is_silent);
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_PEV_LOAD);
  events_sql_reset(ev, EVENTS_SQL_PEV_LOAD);
  char iso[32];
  for (size_t i = 0; i < drop.n && st == VT_OK; i++) {
    const struct events_drop *d = &drop.v[i];
    st = events_bound_run(
        ev, EVENTS_SQL_PEV_DEL,
        sqlite3_bind_int64(ev->stmt[EVENTS_SQL_PEV_DEL], 1, d->id));
    if (st != VT_OK || !d->silent)
      continue;
    vt_notice("events: probe %s was not silent from %s after all: its "
              "results cover that time",
              probe, vt_time_fmt_iso(d->ts, iso, sizeof(iso)));
    events_probe_note(ev, EVENTS_NOTE_PROBE_BACK, probe, d->ts);
  }
  for (size_t k = 0; k < nw && st == VT_OK; k++) {
    if (want[k].have || want[k].ts < from)
      continue;
    st = events_probe_event(ev, probe, want[k].silent ? "silent" : "back",
                            want[k].ts);
    if (st != VT_OK)
      break;
    char dur[32];
    if (want[k].silent)
      vt_notice("events: probe %s silent from %s (no result for %s)", probe,
                vt_time_fmt_iso(want[k].ts, iso, sizeof(iso)),
                vt_time_fmt_duration(ev->silence_s, dur, sizeof(dur)));
    else
      vt_notice("events: probe %s is back at %s", probe,
                vt_time_fmt_iso(want[k].ts, iso, sizeof(iso)));
    events_probe_note(
        ev, want[k].silent ? EVENTS_NOTE_PROBE_SILENT : EVENTS_NOTE_PROBE_BACK,
        probe, want[k].ts);
  }
  free(drop.v);
  free(want);
  free(cv);
  return st;
}

/* Recomputes the silences of the probes the transaction touched. */
static enum vt_status events_touched_silences(struct events *ev)
{
  enum vt_status st = events_spans_flush(ev);
  for (size_t i = 0; i < ev->touched_probes.n && st == VT_OK; i++)
    st = events_probe_silences(ev, ev->touched_probes.v[i]);
  if (st == VT_OK)
    quorum_names_cleanup(&ev->touched_probes);
  return st;
}

/* Whether probe has result spans (its silences go by event time). */
static enum vt_status events_has_covers(struct events *ev, const char *probe,
                                        bool *has)
{
  return events_any(ev, EVENTS_SQL_COVER_LOAD,
                    events_bind_text(ev->stmt[EVENTS_SQL_COVER_LOAD], 1, probe),
                    has);
}

/* Counts a result older than the window, for the line at commit. */
static void events_late_note(struct events *ev, const struct vt_result *r)
{
  if (!(r->ts < ev->horizon - ev->window_s))
    return;
  if (ev->late_n++ == 0 || r->ts < ev->late_oldest) {
    ev->late_oldest = r->ts;
    snprintf(ev->late_probe, sizeof(ev->late_probe), "%s", r->probe);
  }
}

/* Logs (once per batch) the results that came too late to re-evaluate. */
static void events_late_log(struct events *ev)
{
  if (!ev->late_n)
    return;
  char iso[32], from[32], win[32];
  vt_warn("events: %" PRIu64 " results (the oldest of probe %s at %s) came "
          "more than quorum.window (%s) behind the latest result: stored in "
          "their series, but verdicts and silences that ended before %s are "
          "final and were not re-evaluated",
          ev->late_n, ev->late_probe,
          vt_time_fmt_iso(ev->late_oldest, iso, sizeof(iso)),
          vt_time_fmt_duration(ev->window_s, win, sizeof(win)),
          vt_time_fmt_iso(ev->horizon - ev->window_s, from, sizeof(from)));
  ev->late_n = 0;
}

/* Forgets the transaction's spans, touched probes and late count. */
static void events_txn_forget(struct events *ev)
{
  ev->nspans = 0;
  ev->late_n = 0;
  quorum_names_cleanup(&ev->touched_probes);
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

/* Builds the engine's memory from the streaks, and reads the horizon. */
static enum vt_status events_engine_load(struct events *ev)
{
  quorum_clear(ev->quorum);
  quorum_names_cleanup(&ev->touched);
  ev->engine_ok = false;
  enum vt_status st = events_load_streaks(ev);
  if (st != VT_OK)
    return st;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_HORIZON];
  if (sqlite3_step(s) == SQLITE_ROW)
    ev->horizon = sqlite3_column_type(s, 0) == SQLITE_NULL
                      ? 0
                      : sqlite3_column_double(s, 0);
  else
    st = events_sql_fail(ev, EVENTS_SQL_HORIZON);
  events_sql_reset(ev, EVENTS_SQL_HORIZON);
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
  double t0 = vt_time_mono();
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_BEGIN);
  if (st != VT_OK)
    return st;
  ev->txn_t0 = t0; /* /metrics */
  ev->in_txn = true;
  ev->batch = batch;
  ev->pending = 0;
  events_txn_forget(ev);
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
  events_txn_forget(ev);
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
  enum vt_status st = events_touched_silences(ev);
  if (st == VT_OK)
    st = events_touched_verdicts(ev);
  if (st == VT_OK)
    st = quorum_flush(ev->quorum);
  double t_commit = vt_time_mono();
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_COMMIT);
  if (st != VT_OK) {
    events_txn_rollback(ev);
    return st;
  }
  double t_end = vt_time_mono();
  coll_metrics_observe(COLL_HIST_SQLITE_COMMIT, t_end - t_commit);
  coll_metrics_observe(COLL_HIST_SQLITE_TXN, t_end - ev->txn_t0);
  events_late_log(ev);
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
  st = events_exec(ev, vt_schema_sql, "create the schema", NULL);
  /* Files of the first version lack outages.end_reason. */
  if (st == VT_OK &&
      sqlite3_exec(ev->db, "SELECT end_reason FROM outages LIMIT 0", NULL, NULL,
                   NULL) != SQLITE_OK)
    st = events_exec(ev, "ALTER TABLE outages ADD COLUMN end_reason TEXT",
                     "add outages.end_reason", NULL);
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
  ev->quorum_n = conf->quorum;
  ev->window_s = conf->window_s > 0 ? conf->window_s : EVENTS_WINDOW_S;
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
  /* Short: an outside process holding a lock (a backup, a sqlite3 shell)
   * must not stall the loop that serves every probe; the batch gets a 503
   * and comes again. */
  sqlite3_busy_timeout(ev->db, EVENTS_BUSY_TIMEOUT_MS);
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
  struct events_stats es;
  events_get_stats(ev, &es);
  uint64_t outages = es.outages_open, partial = es.partial_open;
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
  quorum_names_cleanup(&ev->touched);
  quorum_names_cleanup(&ev->touched_probes);
  free(ev->spans);
  free(ev->path);
  free(ev);
}

/* New values apply from the next result on; rows already open stay as they
 * are until a probe's view of their address changes. */
void events_set_quorum(struct events *ev, int quorum, int confirm,
                       double silence_s)
{
  quorum_set(ev->quorum, quorum, confirm, silence_s);
  ev->quorum_n = quorum < 1 ? 1 : quorum;
  if (silence_s > 0)
    ev->silence_s = silence_s;
}

void events_set_window(struct events *ev, double window_s)
{
  if (window_s > 0)
    ev->window_s = window_s;
}

enum vt_status events_prune(struct events *ev, uint64_t *n)
{
  if (n)
    *n = 0;
  if (!(ev->horizon > 0))
    return VT_OK;
  double from = ev->horizon - ev->window_s;
  bool own;
  enum vt_status st = events_auto_begin(ev, &own);
  static const enum events_sql prune[] = {EVENTS_SQL_PRUNE_DOWNS,
                                          EVENTS_SQL_PRUNE_RETIRED,
                                          EVENTS_SQL_PRUNE_COVERS};
  uint64_t gone = 0;
  for (size_t i = 0; i < sizeof(prune) / sizeof(prune[0]) && st == VT_OK; i++) {
    st = events_bound_run(ev, prune[i],
                          sqlite3_bind_double(ev->stmt[prune[i]], 1, from));
    if (st == VT_OK)
      gone += (uint64_t)sqlite3_changes(ev->db);
  }
  st = events_auto_end(ev, own, st);
  if (st == VT_OK && gone) {
    char iso[32];
    vt_info("events: pruned %" PRIu64 " probe views, retirements and result "
            "spans that ended before %s (quorum.window before the latest "
            "result)",
            gone, vt_time_fmt_iso(from, iso, sizeof(iso)));
  }
  if (n && st == VT_OK)
    *n = gone;
  return st;
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

enum vt_status events_spool_next(struct events *ev, const char *probe,
                                 const char *spool, uint64_t *next, bool *known)
{
  *next = 0;
  *known = false;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_SPOOL_GET];
  int rc = events_bind_text(s, 1, probe);
  rc |= events_bind_text(s, 2, spool);
  enum vt_status st = events_bound(ev, EVENTS_SQL_SPOOL_GET, rc);
  if (st != VT_OK)
    return st;
  if (sqlite3_step(s) == SQLITE_ROW) {
    *known = sqlite3_column_type(s, 0) != SQLITE_NULL;
    int64_t v = sqlite3_column_int64(s, *known ? 0 : 1);
    *next = v < 0 ? 0 : (uint64_t)v;
  } else {
    st = events_sql_fail(ev, EVENTS_SQL_SPOOL_GET);
  }
  events_sql_reset(ev, EVENTS_SQL_SPOOL_GET);
  return st;
}

enum vt_status events_spool_seen(struct events *ev, const char *probe,
                                 const char *spool, uint64_t next, double now)
{
  if (next > INT64_MAX) {
    vt_err("events: probe %s: record number %" PRIu64 " out of range", probe,
           next);
    return VT_EINVAL;
  }
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_SPOOL_SEEN];
  int rc = events_bind_text(s, 1, probe);
  rc |= events_bind_text(s, 2, spool);
  rc |= sqlite3_bind_int64(s, 3, (int64_t)next);
  rc |= sqlite3_bind_double(s, 4, now);
  enum vt_status st = events_bound(ev, EVENTS_SQL_SPOOL_SEEN, rc);
  return st == VT_OK ? events_run(ev, EVENTS_SQL_SPOOL_SEEN) : st;
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

  /* A probe that sent results is silent until results cover the time
   * again (events_probe_silences); one that never did, until it calls. */
  bool covers = false;
  for (size_t i = 0; i < ev->nspans && silent && !covers; i++)
    covers = strcmp(ev->spans[i].probe, probe) == 0; /* results coming */
  if (silent && !covers)
    st = events_has_covers(ev, probe, &covers);
  if (st != VT_OK)
    goto done;
  silent &= !covers;

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
    st = events_bound_run(
        ev, EVENTS_SQL_UNSILENCE,
        events_bind_text(ev->stmt[EVENTS_SQL_UNSILENCE], 1, probe));
    if (st == VT_OK)
      st = events_probe_event(ev, probe, "back", now);
    events_probe_note(ev, EVENTS_NOTE_PROBE_BACK, probe, now);
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
  if (st != VT_OK)
    return st;
  /* A new series (a probe's first result on an address) changes the
   * probes a verdict counts and the addresses a host has. */
  bool first = false;
  if (sqlite3_step(s) == SQLITE_ROW)
    first = sqlite3_column_int64(s, 0) == 1;
  else
    st = events_sql_fail(ev, EVENTS_SQL_SERIES);
  events_sql_reset(ev, EVENTS_SQL_SERIES);
  if (st == VT_OK && first && type != VT_CHECK_DNS)
    st = quorum_names_add(&ev->touched, target);
  return st;
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

/* Records that r->probe no longer checks r->ip with check r->name, so the
 * address stops counting for its host after its last result. */
static enum vt_status events_retire(struct events *ev,
                                    const struct vt_result *r)
{
  vt_notice("events: %s %s: %s no longer checks %s", r->target, r->name,
            r->probe, r->ip);
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_RETIRE];
  int rc = events_bind_text(s, 1, r->target);
  rc |= events_bind_text(s, 2, r->ip);
  rc |= events_bind_text(s, 3, r->name);
  rc |= events_bind_text(s, 4, r->probe);
  rc |= sqlite3_bind_double(s, 5, r->ts);
  enum vt_status st = events_bound(ev, EVENTS_SQL_RETIRE, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_RETIRE);
  if (st == VT_OK)
    st = quorum_names_add(&ev->touched, r->target);
  return st;
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
    events_late_note(ev, r);
    if (r->ts > ev->horizon)
      ev->horizon = r->ts;
    st = quorum_result(ev->quorum, r);
    if (st == VT_OK && r->retired)
      st = events_retire(ev, r);
    break;
  case VT_CHECK_LOAD:
    /* Traffic, not availability: a status page that cannot be read says
     * nothing about the service, so no verdicts from it. */
    break;
  }
  /* A retirement says the probe stopped checking, not that it checked. */
  if (st == VT_OK && !r->retired)
    st = events_span_add(ev, r->probe, r->ts);
  if (st == VT_OK) {
    ev->pending++;
    events_notify(ev, &(struct events_note){
                          .kind = EVENTS_NOTE_RESULT, .result = r, .end = NAN});
  }
  return events_auto_end(ev, own, st);
}

enum vt_status events_tick(struct events *ev, double now)
{
  if (now >= ev->next_prune) {
    ev->next_prune = now + EVENTS_PRUNE_EVERY_S;
    enum vt_status st = events_prune(ev, NULL);
    if (st != VT_OK)
      return st;
  }
  /* A collector that was down heard nobody meanwhile: give every probe
   * silence_s from the first tick to come back (their uploaders retry at
   * most a few seconds apart) before calling any of them silent. */
  if (ev->first_tick == 0)
    ev->first_tick = now;
  if (now - ev->first_tick < ev->silence_s)
    return VT_OK;
  double before = now - ev->silence_s;
  /* Cheap test first, so an idle tick takes no write lock. */
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_SILENT_ANY];
  bool any;
  enum vt_status st = events_any(ev, EVENTS_SQL_SILENT_ANY,
                                 sqlite3_bind_double(s, 1, before), &any);
  if (st != VT_OK || !any)
    return st;
  int rc;

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
    /* With results, the silence starts silence_s after the last one
     * (events_probe_silences, at commit); without, now. */
    bool covers = false;
    st = events_has_covers(ev, silent.v[i], &covers);
    if (st == VT_OK && covers) {
      st = quorum_names_add(&ev->touched_probes, silent.v[i]);
      continue;
    }
    char dur[32];
    vt_notice("events: probe %s silent for %s", silent.v[i],
              vt_time_fmt_duration(ev->silence_s, dur, sizeof(dur)));
    if (st == VT_OK)
      st = events_probe_event(ev, silent.v[i], "silent", now);
    events_probe_note(ev, EVENTS_NOTE_PROBE_SILENT, silent.v[i], now);
  }
  quorum_names_cleanup(&silent);
  return events_auto_end(ev, own, st);
}

void events_set_observer(struct events *ev, events_observer_fn *fn, void *arg)
{
  ev->observer = fn;
  ev->observer_arg = arg;
}

/* outages_open and partial_open count address rows; host rows summarize
 * them. batches and results count committed work since open. */
void events_get_stats(struct events *ev, struct events_stats *out)
{
  *out = (struct events_stats){.batches = ev->batches, .results = ev->results};
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_OPEN_COUNT];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t n = sqlite3_column_int64(s, 1);
    if (strcmp(events_col_text(s, 0), "outage") == 0)
      out->outages_open = n < 0 ? 0 : (uint64_t)n;
    else
      out->partial_open = n < 0 ? 0 : (uint64_t)n;
  }
  if (rc != SQLITE_DONE)
    events_sql_fail(ev, EVENTS_SQL_OPEN_COUNT);
  events_sql_reset(ev, EVENTS_SQL_OPEN_COUNT);
}

/* ---- health ------------------------------------------------------------- */

enum vt_status events_health(struct events *ev, char *why, size_t why_len)
{
  /* A file overwritten or truncated behind our back: SQLite may not read
   * page 1 again for a while, so look at its header ourselves. */
  char head[16] = {0};
  int fd = open(ev->path, O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? pread(fd, head, sizeof(head), 0) : -1;
  int err = errno;
  if (fd >= 0)
    close(fd);
  if (got < 0) {
    snprintf(why, why_len, "database %s: %s", ev->path, strerror(err));
    return VT_EIO;
  }
  if (got != (ssize_t)sizeof(head) ||
      memcmp(head, "SQLite format 3", sizeof(head)) != 0) {
    snprintf(why, why_len, "database %s: not an SQLite database (corrupt?)",
             ev->path);
    return VT_EIO;
  }
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(ev->db, "SELECT count(*) FROM sqlite_master", -1,
                              &s, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  sqlite3_finalize(s);
  /* In WAL mode readers pass a writer's lock; storing a batch needs the
   * write lock, so try to take it (and give it back) too. */
  if (rc == SQLITE_ROW && !ev->in_txn) {
    rc = sqlite3_exec(ev->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
      rc = SQLITE_ROW;
      sqlite3_exec(ev->db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  if (rc == SQLITE_ROW)
    return VT_OK;
  snprintf(why, why_len, "database %s: %s", ev->path,
           rc == SQLITE_BUSY ? "locked by another process"
                             : sqlite3_errmsg(ev->db));
  return rc == SQLITE_BUSY ? VT_EBUSY : VT_EIO;
}
