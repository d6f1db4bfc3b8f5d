/* SPDX-License-Identifier: MIT */
/* The collector's events in SQLite and the quorum engine that turns failed
 * tcp/http/client results into outage, partial and host rows (events.h;
 * rules in docs/collector.md, "Events" and "Quorum").
 *
 * Decisions where the documents are silent:
 * - Durability: WAL with synchronous=FULL. NORMAL survives a kill -9 but a
 *   power loss can take back the last commits, and those are batches the
 *   probe was told are stored: it moves its cursor past them and may drop
 *   its copy. FULL costs one WAL fsync per batch, not per result.
 * - series.key holds the real address ("2001:db8::1"); only file names use
 *   '-' for ':'. events_known_addresses returns the keys that parse as IP
 *   literals, so callers must pass the address text, not the file name.
 * - Host rows are kind 'outage', scope 'host', ip NULL, with the state
 *   ('degraded' or 'down') in a `state` column; each state period is its
 *   own row (degraded -> down closes one row and opens the next).
 * - Outages overlapping a maintenance window of their target are stored
 *   like any other, with maintenance = 1; reports leave them out.
 * - One address, several checks (tcp:443 and http): a probe sees the
 *   address down while any of its checks on it has `confirm` failures in a
 *   row, since the earliest start among those streaks.
 * - A client check is its own quorum entity per (target, check name); it
 *   has no row of its own and sets the host down while `quorum` probes see
 *   it fail.
 * - Quorum state lives in memory (hash tables) and in the `streaks` table,
 *   written at commit for the streaks a batch changed; a rollback reloads
 *   the whole engine from the database (rare, and obviously correct). */
#include "config.h"

#include "events.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "vt_time.h"

#define EVENTS_SCHEMA_VERSION 1
#define EVENTS_NAME_LEN 64 /* names of probes, targets, checks; addresses */

#define events_container_of(p, type, member)                                   \
  ((type *)(void *)((char *)(p)-offsetof(type, member)))

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

/* A sorted set of names (probes, addresses), each shorter than
 * EVENTS_NAME_LEN. */
struct events_names {
  char (*v)[EVENTS_NAME_LEN];
  size_t n, cap;
};

/* Intrusive chained hash table; items embed a node. */
struct events_hnode {
  struct events_hnode *next;
  uint64_t hash;
};

struct events_htab {
  struct events_hnode **b;
  size_t cap, n; /* cap is 0 or a power of two */
};

/* Failures in a row of one check of one probe on one address. */
struct events_streak {
  struct events_ent *ent;
  char probe[EVENTS_NAME_LEN];
  char check[EVENTS_NAME_LEN];
  double start;   /* ts of the first failure of the streak; 0 when ok */
  double last_ts; /* ts of the last result applied */
  int count;      /* consecutive failures; 0 = the last result was ok */
  bool dirty;     /* changed in this transaction, not yet written */
};

/* An open row of the outages table, as the engine sees it. */
struct events_row {
  int64_t id; /* 0 = none open */
  double start;
  int seen_by, of_probes;
  struct events_names probes; /* every probe that saw it down so far */
};

enum events_host {
  EVENTS_HOST_UP,
  EVENTS_HOST_DEGRADED,
  EVENTS_HOST_DOWN,
};

struct events_target {
  struct events_hnode node;
  char name[EVENTS_NAME_LEN];
  struct events_ent **ents; /* its addresses and client views */
  size_t n_ents, cap_ents;
  enum events_host host;
  struct events_row host_row;
};

/* A quorum entity: an address of a target, or a client view. */
struct events_ent {
  struct events_hnode node;
  struct events_target *tgt;
  char key[EVENTS_NAME_LEN]; /* the address, or the client check's name */
  bool client;
  bool down;      /* in outage (address) or failing from a quorum (client) */
  double last_ts; /* latest result from any probe */
  struct events_streak **st;
  size_t n_st, cap_st;
  struct events_row outage, partial; /* addresses only */
};

struct events {
  sqlite3 *db;
  char *path;
  int quorum, confirm;
  double silence_s;
  sqlite3_stmt *stmt[EVENTS_SQL_COUNT];
  struct events_htab targets, ents;
  struct events_streak **dirty; /* to write at commit */
  size_t n_dirty, cap_dirty;
  bool in_txn;      /* a transaction of ours is open */
  bool batch;       /* ... and it was opened by events_begin */
  bool engine_ok;   /* memory matches the database */
  uint64_t pending; /* results of the open transaction */
  uint64_t batches, results, outages_open, partial_open;
};

static const char *events_host_name(enum events_host h)
{
  switch (h) {
  case EVENTS_HOST_UP:
    return "up";
  case EVENTS_HOST_DEGRADED:
    return "degraded";
  case EVENTS_HOST_DOWN:
    return "down";
  }
  return "?";
}

static enum vt_status events_oom(void)
{
  vt_err("events: out of memory");
  return VT_ENOMEM;
}

/* Returns the array p (elements of size) grown so that at least need fit,
 * or NULL (logged; p is left alone). */
static void *events_grow(void *p, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return p;
  size_t n = *cap ? *cap * 2 : 4;
  while (n < need)
    n *= 2;
  void *q = realloc(p, n * size);
  if (!q) {
    events_oom();
    return NULL;
  }
  *cap = n;
  return q;
}

static bool events_copy_name(char dst[EVENTS_NAME_LEN], const char *src)
{
  size_t len = strlen(src);
  if (len >= EVENTS_NAME_LEN)
    return false;
  memcpy(dst, src, len + 1);
  return true;
}

static bool events_is_ip(const char *s)
{
  unsigned char addr[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* ---- name sets ---------------------------------------------------------- */

static void events_names_free(struct events_names *s)
{
  free(s->v);
  *s = (struct events_names){0};
}

/* Adds name unless present; keeps the set sorted. */
static enum vt_status events_names_add(struct events_names *s, const char *name)
{
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->v[mid], name);
    if (c == 0)
      return VT_OK;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (strlen(name) >= EVENTS_NAME_LEN)
    return VT_EINVAL;
  void *v = events_grow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
  if (!v)
    return VT_ENOMEM;
  s->v = v;
  memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
  events_copy_name(s->v[lo], name);
  s->n++;
  return VT_OK;
}

/* Adds the comma-separated names of text ("" adds nothing). */
static enum vt_status events_names_parse(struct events_names *s,
                                         const char *text)
{
  while (*text) {
    size_t len = strcspn(text, ",");
    char name[EVENTS_NAME_LEN];
    if (len >= sizeof(name))
      return VT_EINVAL;
    memcpy(name, text, len);
    name[len] = '\0';
    if (len) {
      enum vt_status st = events_names_add(s, name);
      if (st != VT_OK)
        return st;
    }
    text += len + (text[len] == ',');
  }
  return VT_OK;
}

/* The names joined by commas into out (reset first). */
static enum vt_status events_names_join(const struct events_names *s,
                                        struct vt_buf *out)
{
  vt_buf_reset(out);
  for (size_t i = 0; i < s->n; i++) {
    enum vt_status st = vt_buf_addf(out, "%s%s", i ? "," : "", s->v[i]);
    if (st != VT_OK)
      return events_oom();
  }
  return VT_OK;
}

/* ---- hash tables -------------------------------------------------------- */

#define EVENTS_FNV_BASIS UINT64_C(14695981039346656037)
#define EVENTS_FNV_PRIME UINT64_C(1099511628211)

/* FNV-1a over s and a separator, so ("ab", "c") and ("a", "bc") differ. */
static uint64_t events_hash(uint64_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * EVENTS_FNV_PRIME;
  return (h ^ 0xff) * EVENTS_FNV_PRIME;
}

static enum vt_status events_htab_insert(struct events_htab *t,
                                         struct events_hnode *nd)
{
  if (t->n >= t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct events_hnode **b = calloc(cap, sizeof(*b));
    if (!b)
      return events_oom();
    for (size_t i = 0; i < t->cap; i++) {
      struct events_hnode *p = t->b[i];
      while (p) {
        struct events_hnode *next = p->next;
        p->next = b[p->hash & (cap - 1)];
        b[p->hash & (cap - 1)] = p;
        p = next;
      }
    }
    free(t->b);
    t->b = b;
    t->cap = cap;
  }
  nd->next = t->b[nd->hash & (t->cap - 1)];
  t->b[nd->hash & (t->cap - 1)] = nd;
  t->n++;
  return VT_OK;
}

static struct events_hnode *events_htab_chain(const struct events_htab *t,
                                              uint64_t hash)
{
  return t->cap ? t->b[hash & (t->cap - 1)] : NULL;
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

/* ---- the engine's memory ------------------------------------------------ */

static struct events_target *events_target_find(struct events *ev,
                                                const char *name, bool create,
                                                enum vt_status *st)
{
  *st = VT_OK;
  uint64_t h = events_hash(EVENTS_FNV_BASIS, name);
  for (struct events_hnode *nd = events_htab_chain(&ev->targets, h); nd;
       nd = nd->next) {
    struct events_target *t =
        events_container_of(nd, struct events_target, node);
    if (nd->hash == h && strcmp(t->name, name) == 0)
      return t;
  }
  if (!create)
    return NULL;
  struct events_target *t = calloc(1, sizeof(*t));
  if (!t) {
    *st = events_oom();
    return NULL;
  }
  t->node.hash = h;
  if (!events_copy_name(t->name, name)) {
    *st = VT_EINVAL;
    free(t);
    return NULL;
  }
  *st = events_htab_insert(&ev->targets, &t->node);
  if (*st != VT_OK) {
    free(t);
    return NULL;
  }
  return t;
}

static uint64_t events_ent_hash(const char *target, const char *key,
                                bool client)
{
  uint64_t h = events_hash(EVENTS_FNV_BASIS, target);
  return events_hash(events_hash(h, client ? "c" : "a"), key);
}

static struct events_ent *events_ent_find(struct events *ev,
                                          struct events_target *tgt,
                                          const char *key, bool client,
                                          enum vt_status *st)
{
  *st = VT_OK;
  uint64_t h = events_ent_hash(tgt->name, key, client);
  for (struct events_hnode *nd = events_htab_chain(&ev->ents, h); nd;
       nd = nd->next) {
    struct events_ent *e = events_container_of(nd, struct events_ent, node);
    if (nd->hash == h && e->tgt == tgt && e->client == client &&
        strcmp(e->key, key) == 0)
      return e;
  }
  void *v = events_grow(tgt->ents, &tgt->cap_ents, tgt->n_ents + 1,
                        sizeof(*tgt->ents));
  if (!v) {
    *st = VT_ENOMEM;
    return NULL;
  }
  tgt->ents = v;
  struct events_ent *e = calloc(1, sizeof(*e));
  if (!e) {
    *st = events_oom();
    return NULL;
  }
  *e = (struct events_ent){
      .node.hash = h, .tgt = tgt, .client = client, .last_ts = -INFINITY};
  if (!events_copy_name(e->key, key)) {
    *st = VT_EINVAL;
    free(e);
    return NULL;
  }
  *st = events_htab_insert(&ev->ents, &e->node);
  if (*st != VT_OK) {
    free(e);
    return NULL;
  }
  tgt->ents[tgt->n_ents++] = e;
  return e;
}

/* The streak of (probe, check) on ent; linear, since an entity has one per
 * probe and check on it (a handful). */
static struct events_streak *events_streak_find(struct events_ent *ent,
                                                const char *probe,
                                                const char *check,
                                                enum vt_status *st)
{
  for (size_t i = 0; i < ent->n_st; i++) {
    struct events_streak *s = ent->st[i];
    if (strcmp(s->probe, probe) == 0 && strcmp(s->check, check) == 0)
      return s;
  }
  void *v = events_grow(ent->st, &ent->cap_st, ent->n_st + 1, sizeof(*ent->st));
  if (!v) {
    *st = VT_ENOMEM;
    return NULL;
  }
  ent->st = v;
  struct events_streak *s = calloc(1, sizeof(*s));
  if (!s) {
    *st = events_oom();
    return NULL;
  }
  *s = (struct events_streak){.ent = ent, .last_ts = -INFINITY};
  if (!events_copy_name(s->probe, probe) ||
      !events_copy_name(s->check, check)) {
    *st = VT_EINVAL;
    free(s);
    return NULL;
  }
  ent->st[ent->n_st++] = s;
  return s;
}

static void events_row_clear(struct events_row *row)
{
  events_names_free(&row->probes);
  *row = (struct events_row){0};
}

static void events_engine_free(struct events *ev)
{
  for (size_t i = 0; i < ev->targets.cap; i++) {
    struct events_hnode *nd = ev->targets.b[i];
    while (nd) {
      struct events_hnode *next = nd->next;
      struct events_target *t =
          events_container_of(nd, struct events_target, node);
      for (size_t j = 0; j < t->n_ents; j++) {
        struct events_ent *e = t->ents[j];
        for (size_t k = 0; k < e->n_st; k++)
          free(e->st[k]);
        free(e->st);
        events_row_clear(&e->outage);
        events_row_clear(&e->partial);
        free(e);
      }
      free(t->ents);
      events_row_clear(&t->host_row);
      free(t);
      nd = next;
    }
  }
  free(ev->targets.b);
  free(ev->ents.b);
  ev->targets = ev->ents = (struct events_htab){0};
  ev->n_dirty = 0;
  ev->outages_open = ev->partial_open = 0;
}

static enum vt_status events_streak_touch(struct events *ev,
                                          struct events_streak *s)
{
  if (s->dirty)
    return VT_OK;
  void *v = events_grow(ev->dirty, &ev->cap_dirty, ev->n_dirty + 1,
                        sizeof(*ev->dirty));
  if (!v)
    return VT_ENOMEM;
  ev->dirty = v;
  ev->dirty[ev->n_dirty++] = s;
  s->dirty = true;
  return VT_OK;
}

/* A probe that sees an entity down, since when. */
struct events_seen {
  const char *probe;
  double since;
};

static int events_seen_cmp(const void *a, const void *b)
{
  const struct events_seen *x = a, *y = b;
  if (x->since != y->since)
    return x->since < y->since ? -1 : 1;
  return strcmp(x->probe, y->probe);
}

/* The probes that see ent down now (a confirmed streak on any of their
 * checks, since the earliest start among those), sorted by that start, into
 * *out (caller frees); and in *of_probes the probes that reported on ent
 * within silence_s before ts, at least as many as see it down. Linear in
 * the entity's streaks, and only run when a probe's view changes. */
static enum vt_status events_seen_down(const struct events *ev,
                                       const struct events_ent *ent, double ts,
                                       struct events_seen **out, size_t *n,
                                       int *of_probes)
{
  *out = NULL;
  *n = 0;
  *of_probes = 0;
  if (!ent->n_st)
    return VT_OK;
  struct events_seen *d = calloc(ent->n_st, sizeof(*d));
  const char **fresh = calloc(ent->n_st, sizeof(*fresh));
  if (!d || !fresh) {
    free(d);
    free(fresh);
    return events_oom();
  }
  size_t nd = 0, nf = 0;
  for (size_t i = 0; i < ent->n_st; i++) {
    const struct events_streak *s = ent->st[i];
    if (s->last_ts >= ts - ev->silence_s) {
      size_t j = 0;
      while (j < nf && strcmp(fresh[j], s->probe) != 0)
        j++;
      if (j == nf)
        fresh[nf++] = s->probe;
    }
    if (s->count < ev->confirm)
      continue;
    size_t j = 0;
    while (j < nd && strcmp(d[j].probe, s->probe) != 0)
      j++;
    if (j == nd)
      d[nd++] = (struct events_seen){.probe = s->probe, .since = s->start};
    else if (s->start < d[j].since)
      d[j].since = s->start;
  }
  free(fresh);
  qsort(d, nd, sizeof(*d), events_seen_cmp);
  *out = d;
  *n = nd;
  *of_probes = (int)(nf > nd ? nf : nd);
  return VT_OK;
}

/* ---- outage rows -------------------------------------------------------- */

/* Inserts row (its start, probes and counts set) as an open row. ip is NULL
 * for a host row, state NULL for an address row. now bounds the
 * maintenance overlap while the row is open. */
static enum vt_status events_row_insert(struct events *ev,
                                        struct events_row *row,
                                        const char *target, const char *ip,
                                        const char *kind, const char *state,
                                        double now)
{
  struct vt_buf probes;
  vt_buf_init(&probes, 0);
  enum vt_status st = events_names_join(&row->probes, &probes);
  if (st != VT_OK)
    goto cleanup;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_NEW];
  int rc = events_bind_text(s, 1, ip ? "address" : "host");
  rc |= events_bind_text(s, 2, target);
  rc |= ip ? events_bind_text(s, 3, ip) : sqlite3_bind_null(s, 3);
  rc |= sqlite3_bind_double(s, 4, row->start);
  rc |= events_bind_text(s, 5, vt_buf_str(&probes));
  rc |= events_bind_text(s, 6, kind);
  rc |= sqlite3_bind_int(s, 7, row->seen_by);
  rc |= sqlite3_bind_int(s, 8, row->of_probes);
  rc |= state ? events_bind_text(s, 9, state) : sqlite3_bind_null(s, 9);
  rc |= sqlite3_bind_double(s, 10, now > row->start ? now : row->start);
  st = events_bound(ev, EVENTS_SQL_ROW_NEW, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_NEW);
  if (st == VT_OK)
    row->id = sqlite3_last_insert_rowid(ev->db);
cleanup:
  vt_buf_cleanup(&probes);
  return st;
}

/* Writes row's probes and counts, and its end unless end is NaN (still
 * open; then now bounds the maintenance overlap). */
static enum vt_status events_row_update(struct events *ev,
                                        const struct events_row *row,
                                        double end, double now)
{
  struct vt_buf probes;
  vt_buf_init(&probes, 0);
  enum vt_status st = events_names_join(&row->probes, &probes);
  if (st != VT_OK)
    goto cleanup;
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_ROW_SET];
  int rc =
      isnan(end) ? sqlite3_bind_null(s, 1) : sqlite3_bind_double(s, 1, end);
  rc |= events_bind_text(s, 2, vt_buf_str(&probes));
  rc |= sqlite3_bind_int(s, 3, row->seen_by);
  rc |= sqlite3_bind_int(s, 4, row->of_probes);
  rc |= sqlite3_bind_double(s, 5, now);
  rc |= sqlite3_bind_int64(s, 6, row->id);
  st = events_bound(ev, EVENTS_SQL_ROW_SET, rc);
  if (st == VT_OK)
    st = events_run(ev, EVENTS_SQL_ROW_SET);
cleanup:
  vt_buf_cleanup(&probes);
  return st;
}

/* Merges the probes of d into row and raises its counts; *changed tells
 * whether the row needs writing. */
static enum vt_status events_row_grow(struct events_row *row,
                                      const struct events_seen *d, size_t n,
                                      int of_probes, bool *changed)
{
  size_t before = row->probes.n;
  for (size_t i = 0; i < n; i++) {
    enum vt_status st = events_names_add(&row->probes, d[i].probe);
    if (st != VT_OK)
      return st;
  }
  *changed = row->probes.n != before;
  if ((int)n > row->seen_by) {
    row->seen_by = (int)n;
    *changed = true;
  }
  if (of_probes > row->of_probes) {
    row->of_probes = of_probes;
    *changed = true;
  }
  return VT_OK;
}

/* Opens an address row (outage or partial) of ent from start. */
static enum vt_status events_addr_open(struct events *ev,
                                       struct events_ent *ent,
                                       struct events_row *row, const char *kind,
                                       double start, double now,
                                       const struct events_seen *d, size_t n,
                                       int of_probes)
{
  events_row_clear(row);
  row->start = start;
  bool changed;
  enum vt_status st = events_row_grow(row, d, n, of_probes, &changed);
  if (st == VT_OK)
    st = events_row_insert(ev, row, ent->tgt->name, ent->key, kind, NULL, now);
  if (st != VT_OK)
    return st;
  if (row == &ent->outage)
    ev->outages_open++;
  else
    ev->partial_open++;
  vt_notice("events: %s %s: %s from %.3f, seen by %d of %d", ent->tgt->name,
            ent->key, kind, start, row->seen_by, row->of_probes);
  return VT_OK;
}

/* Closes an open address row of ent at end (never before its start). A
 * partial event that ends where it began is dropped: probes share round
 * times, so one round often brings the first probe's confirmation and the
 * quorum, or the outage's end and the last probes' recovery, and a row of
 * no duration would only be noise. */
static enum vt_status events_addr_close(struct events *ev,
                                        struct events_ent *ent,
                                        struct events_row *row,
                                        const char *kind, double end)
{
  enum vt_status st;
  if (end <= row->start && row == &ent->partial) {
    st = events_bound(
        ev, EVENTS_SQL_ROW_DEL,
        sqlite3_bind_int64(ev->stmt[EVENTS_SQL_ROW_DEL], 1, row->id));
    if (st == VT_OK)
      st = events_run(ev, EVENTS_SQL_ROW_DEL);
    if (st != VT_OK)
      return st;
    vt_debug("events: %s %s: partial event of no duration dropped",
             ent->tgt->name, ent->key);
    ev->partial_open--;
    events_row_clear(row);
    return VT_OK;
  }
  if (end < row->start)
    end = row->start;
  st = events_row_update(ev, row, end, end);
  if (st != VT_OK)
    return st;
  char dur[32];
  vt_notice("events: %s %s: %s ended at %.3f after %s", ent->tgt->name,
            ent->key, kind, end,
            vt_time_fmt_duration(end - row->start, dur, sizeof(dur)));
  if (row == &ent->outage)
    ev->outages_open--;
  else
    ev->partial_open--;
  events_row_clear(row);
  return VT_OK;
}

/* ---- host state --------------------------------------------------------- */

/* Recomputes the host state of tgt after one of its entities changed at
 * `at` (measurement time); ts is the result being applied. An address
 * counts while some probe reported on it within silence_s before ts, so an
 * address dropped from DNS stops holding the host down. A new host row
 * never starts before the one it replaces. */
static enum vt_status events_host_update(struct events *ev,
                                         struct events_target *tgt, double at,
                                         double ts)
{
  size_t known = 0, out = 0;
  bool client_down = false;
  for (size_t i = 0; i < tgt->n_ents; i++) {
    const struct events_ent *e = tgt->ents[i];
    if (e->client) {
      client_down |= e->down;
    } else if (e->last_ts >= ts - ev->silence_s) {
      known++;
      out += e->down;
    }
  }
  enum events_host state = EVENTS_HOST_UP;
  if (client_down || (known && out == known))
    state = EVENTS_HOST_DOWN;
  else if (out)
    state = EVENTS_HOST_DEGRADED;
  if (state == tgt->host)
    return VT_OK;

  enum vt_status st = VT_OK;
  struct events_row *row = &tgt->host_row;
  if (row->id && at < row->start)
    at = row->start;
  if (row->id) {
    st = events_row_update(ev, row, at, at);
    if (st != VT_OK)
      return st;
    events_row_clear(row);
  }
  vt_notice("events: %s: host %s -> %s at %.3f", tgt->name,
            events_host_name(tgt->host), events_host_name(state), at);
  tgt->host = state;
  if (state == EVENTS_HOST_UP)
    return VT_OK;

  /* probes: every probe that sees one of the down entities down; of_probes:
   * every probe that reported on the target lately. */
  struct events_names fresh = {0};
  row->start = at;
  for (size_t i = 0; i < tgt->n_ents && st == VT_OK; i++) {
    const struct events_ent *e = tgt->ents[i];
    for (size_t k = 0; k < e->n_st && st == VT_OK; k++)
      if (e->st[k]->last_ts >= ts - ev->silence_s)
        st = events_names_add(&fresh, e->st[k]->probe);
    if (!e->down || st != VT_OK)
      continue;
    struct events_seen *d;
    size_t n;
    int of;
    st = events_seen_down(ev, e, ts, &d, &n, &of);
    for (size_t k = 0; k < n && st == VT_OK; k++)
      st = events_names_add(&row->probes, d[k].probe);
    free(d);
  }
  if (st == VT_OK) {
    row->seen_by = (int)row->probes.n;
    row->of_probes = (int)(fresh.n > row->probes.n ? fresh.n : row->probes.n);
    st = events_row_insert(ev, row, tgt->name, NULL, "outage",
                           events_host_name(state), ts);
  }
  events_names_free(&fresh);
  return st;
}

/* ---- quorum ------------------------------------------------------------- */

/* Re-evaluates ent after a probe's view of it changed (docs/collector.md,
 * "Quorum"). ts is the result that changed it. */
static enum vt_status events_evaluate(struct events *ev, struct events_ent *ent,
                                      double ts)
{
  struct events_seen *d;
  size_t n;
  int of;
  enum vt_status st = events_seen_down(ev, ent, ts, &d, &n, &of);
  if (st != VT_OK)
    return st;
  size_t q = (size_t)ev->quorum;

  if (ent->client) {
    bool down = n >= q;
    if (down != ent->down) {
      ent->down = down;
      vt_notice("events: %s client view %s: %s", ent->tgt->name, ent->key,
                down ? "failing from a quorum of probes" : "recovered");
      st = events_host_update(ev, ent->tgt, down ? d[q - 1].since : ts, ts);
    }
  } else if (!ent->down && n >= q) {
    /* The condition first held when the quorum-th probe's streak began. */
    double start = d[q - 1].since;
    if (ent->partial.id)
      st = events_addr_close(ev, ent, &ent->partial, "partial", start);
    if (st == VT_OK)
      st = events_addr_open(ev, ent, &ent->outage, "outage", start, ts, d, n,
                            of);
    if (st == VT_OK) {
      ent->down = true;
      st = events_host_update(ev, ent->tgt, start, ts);
    }
  } else if (ent->down && n < q) {
    st = events_addr_close(ev, ent, &ent->outage, "outage", ts);
    if (st == VT_OK && n > 0)
      st =
          events_addr_open(ev, ent, &ent->partial, "partial", ts, ts, d, n, of);
    if (st == VT_OK) {
      ent->down = false;
      st = events_host_update(ev, ent->tgt, ts, ts);
    }
  } else if (ent->down) {
    /* Still in outage: more probes may have joined. */
    bool changed;
    st = events_row_grow(&ent->outage, d, n, of, &changed);
    if (st == VT_OK && changed)
      st = events_row_update(ev, &ent->outage, NAN, ts);
  } else if (!ent->partial.id && n > 0) {
    st = events_addr_open(ev, ent, &ent->partial, "partial", d[0].since, ts, d,
                          n, of);
  } else if (ent->partial.id && n == 0) {
    st = events_addr_close(ev, ent, &ent->partial, "partial", ts);
  } else if (ent->partial.id) {
    bool changed;
    st = events_row_grow(&ent->partial, d, n, of, &changed);
    if (st == VT_OK && changed)
      st = events_row_update(ev, &ent->partial, NAN, ts);
  }
  free(d);
  return st;
}

static enum vt_status events_quorum_result(struct events *ev,
                                           const struct vt_result *r)
{
  bool client = r->check == VT_CHECK_CLIENT;
  /* A tcp/http result without an address (the name did not resolve) is
   * the dns check's and the client view's business. */
  if (!client && !r->ip[0])
    return VT_OK;
  enum vt_status st;
  struct events_target *tgt = events_target_find(ev, r->target, true, &st);
  if (!tgt)
    return st;
  struct events_ent *ent =
      events_ent_find(ev, tgt, client ? r->name : r->ip, client, &st);
  if (!ent)
    return st;
  struct events_streak *s = events_streak_find(ent, r->probe, r->name, &st);
  if (!s)
    return st;
  if (r->ts <= s->last_ts) {
    vt_debug("events: %s %s %s from %s: result at %.3f not after %.3f, "
             "ignored by the quorum",
             r->target, r->name, ent->key, r->probe, r->ts, s->last_ts);
    return VT_OK;
  }
  st = events_streak_touch(ev, s);
  if (st != VT_OK)
    return st;
  bool was = s->count >= ev->confirm;
  if (r->ok) {
    s->count = 0;
    s->start = 0;
  } else {
    if (s->count == 0)
      s->start = r->ts;
    if (s->count < INT_MAX)
      s->count++;
  }
  s->last_ts = r->ts;
  if (r->ts > ent->last_ts)
    ent->last_ts = r->ts;
  if (was == (s->count >= ev->confirm))
    return VT_OK;
  return events_evaluate(ev, ent, r->ts);
}

/* ---- DNS changes -------------------------------------------------------- */

/* A DNS result's answer set, sorted, without duplicates, joined by commas;
 * with an incomplete answer, the union with old (never a removal). */
static enum vt_status events_dns_answers(const struct vt_result *r,
                                         const char *old, struct vt_buf *out)
{
  struct events_names set = {0};
  enum vt_status st = VT_OK;
  bool empty = r->error == VT_ERR_NXDOMAIN || r->error == VT_ERR_NO_ANSWER;
  int n = r->n_answers < VT_RESULT_MAX_ANSWERS ? r->n_answers
                                               : VT_RESULT_MAX_ANSWERS;
  for (int i = 0; i < n && !empty && st == VT_OK; i++)
    st = events_names_add(&set, r->answers[i]);
  if (st == VT_OK && old && r->incomplete)
    st = events_names_parse(&set, old);
  if (st == VT_OK)
    st = events_names_join(&set, out);
  events_names_free(&set);
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
    const char *target = events_col_text(s, 0);
    const char *check = events_col_text(s, 1);
    const char *ip = events_col_text(s, 2);
    const char *probe = events_col_text(s, 3);
    bool client = !ip[0]; /* client views are stored with ip '' */
    struct events_target *tgt = events_target_find(ev, target, true, &st);
    struct events_ent *ent =
        tgt ? events_ent_find(ev, tgt, client ? check : ip, client, &st) : NULL;
    struct events_streak *k =
        ent ? events_streak_find(ent, probe, check, &st) : NULL;
    if (st == VT_EINVAL) {
      vt_warn("events: %s: streak of %s %s %s %s: name too long, dropped",
              ev->path, target, check, ip, probe);
      st = VT_OK;
      continue;
    }
    if (!k)
      break;
    k->start = sqlite3_column_double(s, 4);
    int64_t count = sqlite3_column_int64(s, 5);
    k->count = count < 0 ? 0 : count > INT_MAX ? INT_MAX : (int)count;
    k->last_ts = sqlite3_column_double(s, 6);
    if (k->last_ts > ent->last_ts)
      ent->last_ts = k->last_ts;
  }
  if (st == VT_OK && rc != SQLITE_DONE)
    st = events_sql_fail(ev, EVENTS_SQL_STREAK_LOAD);
  events_sql_reset(ev, EVENTS_SQL_STREAK_LOAD);
  return st;
}

/* Loads one open row of the outages table into the engine. */
static enum vt_status events_load_row(struct events *ev, sqlite3_stmt *s)
{
  int64_t id = sqlite3_column_int64(s, 0);
  const char *scope = events_col_text(s, 1);
  const char *target = events_col_text(s, 2);
  const char *ip = events_col_text(s, 3);
  const char *kind = events_col_text(s, 6);
  const char *state = events_col_text(s, 9);
  enum vt_status st;
  struct events_target *tgt = events_target_find(ev, target, true, &st);
  if (!tgt)
    goto cleanup;
  struct events_row *row;
  struct events_ent *ent = NULL;
  if (strcmp(scope, "host") == 0) {
    row = &tgt->host_row;
  } else {
    if (!(ent = events_ent_find(ev, tgt, ip, false, &st)))
      goto cleanup;
    row = strcmp(kind, "outage") == 0 ? &ent->outage : &ent->partial;
  }
  if (row->id) {
    /* Left by a version with a bug, or edited by hand: keep the newer. */
    vt_warn("events: %s: outage rows %" PRId64 " and %" PRId64
            " both open for %s %s %s",
            ev->path, row->id, id, target, ip, kind);
    if (row->id > id)
      return VT_OK;
    events_row_clear(row);
  }
  row->id = id;
  row->start = sqlite3_column_double(s, 4);
  row->seen_by = sqlite3_column_int(s, 7);
  row->of_probes = sqlite3_column_int(s, 8);
  st = events_names_parse(&row->probes, events_col_text(s, 5));
  if (st != VT_OK)
    goto cleanup;
  if (!ent)
    tgt->host =
        strcmp(state, "down") == 0 ? EVENTS_HOST_DOWN : EVENTS_HOST_DEGRADED;
  else if (row == &ent->outage)
    ent->down = true;
cleanup:
  if (st == VT_EINVAL) {
    vt_warn("events: %s: outage row %" PRId64 ": bad names, ignored", ev->path,
            id);
    return VT_OK;
  }
  return st;
}

/* Builds the engine's memory from the streaks and the open rows. */
static enum vt_status events_engine_load(struct events *ev)
{
  events_engine_free(ev);
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
  if (st != VT_OK)
    return st;

  /* Counts, and client views (they have no rows: their state is what the
   * streaks say). */
  for (size_t i = 0; i < ev->targets.cap; i++) {
    for (struct events_hnode *nd = ev->targets.b[i]; nd; nd = nd->next) {
      struct events_target *t =
          events_container_of(nd, struct events_target, node);
      for (size_t j = 0; j < t->n_ents && st == VT_OK; j++) {
        struct events_ent *e = t->ents[j];
        ev->outages_open += e->outage.id != 0;
        ev->partial_open += e->partial.id != 0;
        if (!e->client)
          continue;
        struct events_seen *d;
        size_t n;
        int of;
        st = events_seen_down(ev, e, e->last_ts, &d, &n, &of);
        e->down = n >= (size_t)ev->quorum;
        free(d);
      }
    }
  }
  if (st == VT_OK)
    ev->engine_ok = true;
  return st;
}

/* Writes the streaks this transaction changed. */
static enum vt_status events_flush_streaks(struct events *ev)
{
  sqlite3_stmt *s = ev->stmt[EVENTS_SQL_STREAK_PUT];
  for (size_t i = 0; i < ev->n_dirty; i++) {
    struct events_streak *k = ev->dirty[i];
    const struct events_ent *e = k->ent;
    int rc = events_bind_text(s, 1, e->tgt->name);
    rc |= events_bind_text(s, 2, k->check);
    rc |= events_bind_text(s, 3, e->client ? "" : e->key);
    rc |= events_bind_text(s, 4, k->probe);
    rc |= sqlite3_bind_double(s, 5, k->start);
    rc |= sqlite3_bind_int(s, 6, k->count);
    rc |= sqlite3_bind_double(s, 7, k->last_ts);
    enum vt_status st = events_bound(ev, EVENTS_SQL_STREAK_PUT, rc);
    if (st == VT_OK)
      st = events_run(ev, EVENTS_SQL_STREAK_PUT);
    if (st != VT_OK)
      return st;
  }
  for (size_t i = 0; i < ev->n_dirty; i++)
    ev->dirty[i]->dirty = false;
  ev->n_dirty = 0;
  return VT_OK;
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
  for (size_t i = 0; i < ev->n_dirty; i++)
    ev->dirty[i]->dirty = false;
  ev->n_dirty = 0;
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
  enum vt_status st = events_flush_streaks(ev);
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
  ev->quorum = conf->quorum;
  ev->confirm = conf->confirm;
  ev->silence_s = conf->silence_s;

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
  vt_info("events: %s: open, %" PRIu64 " outages and %" PRIu64
          " partial events open",
          conf->path, ev->outages_open, ev->partial_open);
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
  events_engine_free(ev);
  free(ev->dirty);
  free(ev->path);
  free(ev);
}

/* New values apply from the next result on; rows already open stay as they
 * are until a probe's view of their address changes. */
void events_set_quorum(struct events *ev, int quorum, int confirm,
                       double silence_s)
{
  ev->quorum = quorum < 1 ? 1 : quorum;
  ev->confirm = confirm < 1 ? 1 : confirm;
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
    st = events_quorum_result(ev, r);
    break;
  }
  if (st == VT_OK)
    ev->pending++;
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
  struct events_names silent = {0};
  s = ev->stmt[EVENTS_SQL_SILENT_SET];
  rc = sqlite3_bind_double(s, 1, now);
  rc |= sqlite3_bind_double(s, 2, before);
  st = events_bound(ev, EVENTS_SQL_SILENT_SET, rc);
  while (st == VT_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = events_col_text(s, 0);
    st = events_names_add(&silent, name);
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
  }
  events_names_free(&silent);
  return events_auto_end(ev, own, st);
}

/* outages_open and partial_open count address rows; host rows summarize
 * them. batches and results count committed work since open. */
void events_get_stats(struct events *ev, struct events_stats *out)
{
  *out = (struct events_stats){
      .batches = ev->batches,
      .results = ev->results,
      .outages_open = ev->outages_open,
      .partial_open = ev->partial_open,
  };
}
