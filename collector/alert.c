/* SPDX-License-Identifier: MIT */
/* Alerts (see alert.h, docs/alerts.md). The loop thread turns the events
 * observer's notes into event JSON, keeps them until the batch commits, then
 * writes one outbox row per receiver (INSERT OR IGNORE on (receiver, key):
 * once per receiver). A delivery thread with its own SQLite connection sends
 * the oldest undelivered row of each receiver, marks it done or schedules a
 * retry (doubling from retry_min to retry_max); a receiver that fails waits
 * and keeps its order. The outbox survives restarts. */
#include "config.h"

#include "alert.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "log.h"
#include "vt_time.h"

extern char **environ;

struct alert_pending {
  char *key, *body, *target;
  double at;
  unsigned class; /* ALERT_EV_* */
  int64_t row_id; /* rows: remembered for a later drop */
  bool remember;
};

/* A condition decided by a quorum of probes from their last results:
 * "cert" (days left at most cert_days) or "dns" (answers differ from
 * expect), per target, check and address. Firing ones are also in the
 * table alert_conds, so a restart does not announce them again. */
struct alert_cond_probe {
  char name[64];
  bool bad;
  int days;
};
struct alert_cond {
  char id[256]; /* "cert/www/https/192.0.2.1" */
  const char *kind;
  char target[64], check[64], ip[VT_IP_STRLEN], detail[160];
  struct alert_cond_probe *probes;
  size_t n_probes;
  bool firing;
  double since;
};

struct alerts {
  pthread_mutex_t lock; /* maint, stats, stop, the copies below */
  pthread_cond_t wake;
  pthread_t thread;
  bool thread_started, stop;
  /* conf is read by the delivery thread during a whole round (an attempt
   * may take a receiver's timeout) under conf_lock; the loop thread never
   * waits for that: it uses the copies of names and status_url. */
  pthread_mutex_t conf_lock;
  const struct alert_conf *conf;
  char **rx_names;
  unsigned *rx_events;
  size_t n_rx_names;
  char *status_url;
  struct alert_maint *maint;
  size_t n_maint;
  char *path;
  int cert_days, quorum;
  struct alert_cond *conds; /* certificate and DNS `expect` conditions */
  size_t n_conds, cap_conds;
  sqlite3 *db; /* the loop thread's connection */
  struct alert_pending *pending;
  size_t n_pending, cap_pending;
  struct alerts_stats stats;
};

/* ---- time and JSON ------------------------------------------------------ */

static void alert_set_time(json_t *o, const char *k, double t)
{
  char iso[40];
  json_object_set_new(o, k, json_string(vt_time_fmt_iso(t, iso, sizeof(iso))));
}

static json_t *alert_probes_array(const char *csv)
{
  json_t *a = json_array();
  if (!csv)
    return a;
  const char *p = csv;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n)
      json_array_append_new(a, json_stringn(p, n));
    p += n;
    if (*p == ',')
      p++;
  }
  return a;
}

static char *alert_dump(json_t *o)
{
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  return s;
}

/* ---- muting ------------------------------------------------------------- */

static bool alert_muted(struct alerts *a, const char *target, double at)
{
  if (!target)
    return false;
  for (size_t i = 0; i < a->n_maint; i++)
    if (strcmp(a->maint[i].target, target) == 0 && at >= a->maint[i].start &&
        at < a->maint[i].end)
      return true;
  return false;
}

/* ---- the observer (loop thread) ----------------------------------------- */

static void alert_pending_clear(struct alerts *a)
{
  for (size_t i = 0; i < a->n_pending; i++) {
    free(a->pending[i].key);
    free(a->pending[i].body);
    free(a->pending[i].target);
  }
  a->n_pending = 0;
}

static void alert_queue(struct alerts *a, const char *key, char *body,
                        const char *target, double at, int64_t remember_id)
{
  if (!body)
    return;
  json_t *o = json_loads(body, 0, NULL);
  unsigned class =
      o ? alert_event_bit(json_string_value(json_object_get(o, "event"))) : 0;
  json_decref(o);
  if (a->n_pending == a->cap_pending) {
    size_t cap = a->cap_pending ? a->cap_pending * 2 : 16;
    struct alert_pending *p = realloc(a->pending, cap * sizeof(*p));
    if (!p) {
      vt_err("alert: out of memory; event %s lost", key);
      free(body);
      return;
    }
    a->pending = p;
    a->cap_pending = cap;
  }
  a->pending[a->n_pending++] =
      (struct alert_pending){.key = strdup(key),
                             .body = body,
                             .target = target ? strdup(target) : NULL,
                             .at = at,
                             .class = class,
                             .row_id = remember_id,
                             .remember = remember_id != 0};
}

/* "outage", "partial", "host-degraded", "host-down": the first part of a
 * row event's key (row ids are reused after a partial event is dropped). */
static const char *alert_row_class(const struct events_note *n)
{
  if (!n->ip)
    return n->state && strcmp(n->state, "degraded") == 0 ? "host-degraded"
                                                         : "host-down";
  return n->row && strcmp(n->row, "partial") == 0 ? "partial" : "outage";
}

/* The event of a row note: "outage" (address down), "partial" or "host". */
static json_t *alert_row_event(struct alerts *a, const struct events_note *n,
                               const char *status)
{
  json_t *o = json_object();
  bool host = n->ip == NULL;
  json_object_set_new(o, "event",
                      json_string(host     ? "host"
                                  : n->row ? n->row
                                           : "outage"));
  json_object_set_new(o, "status", json_string(status));
  json_object_set_new(o, "target", json_string(n->target));
  json_object_set_new(o, "host", json_string(n->target));
  if (!host)
    json_object_set_new(o, "address", json_string(n->ip));
  if (host)
    json_object_set_new(o, "state",
                        json_string(strcmp(status, "resolved") == 0 ? "up"
                                    : n->state                      ? n->state
                                                                    : "down"));
  if (host)
    json_object_set_new(o, "verdict_state",
                        json_string(n->state ? n->state : "down"));
  json_object_set_new(o, "probes", alert_probes_array(n->probes));
  json_object_set_new(o, "seen_by", json_integer(n->seen_by));
  json_object_set_new(o, "of_probes", json_integer(n->of_probes));
  json_object_set_new(o, "row_id", json_integer(n->id));
  alert_set_time(o, "start", n->start);
  if (!isnan(n->end)) {
    alert_set_time(o, "end", n->end);
    json_object_set_new(o, "duration_s", json_real(n->end - n->start));
  }
  pthread_mutex_lock(&a->lock);
  if (a->status_url)
    json_object_set_new(o, "status_url", json_string(a->status_url));
  pthread_mutex_unlock(&a->lock);
  return o;
}

static struct alert_cond *alert_cond_get(struct alerts *a, const char *kind,
                                         const struct vt_result *r)
{
  char id[256];
  snprintf(id, sizeof(id), "%s/%s/%s/%s", kind, r->target, r->name, r->ip);
  for (size_t i = 0; i < a->n_conds; i++)
    if (strcmp(a->conds[i].id, id) == 0)
      return &a->conds[i];
  if (a->n_conds == a->cap_conds) {
    size_t cap = a->cap_conds ? a->cap_conds * 2 : 16;
    struct alert_cond *c = realloc(a->conds, cap * sizeof(*c));
    if (!c)
      return NULL;
    a->conds = c;
    a->cap_conds = cap;
  }
  struct alert_cond *c = &a->conds[a->n_conds++];
  *c = (struct alert_cond){.kind = kind};
  snprintf(c->id, sizeof(c->id), "%s", id);
  snprintf(c->target, sizeof(c->target), "%s", r->target);
  snprintf(c->check, sizeof(c->check), "%s", r->name);
  snprintf(c->ip, sizeof(c->ip), "%s", r->ip);
  /* Firing before a restart? */
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(a->db, "SELECT since FROM alert_conds WHERE id = ?",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
      c->firing = true;
      c->since = sqlite3_column_double(s, 0);
    }
  }
  sqlite3_finalize(s);
  return c;
}

static void alert_cond_event(struct alerts *a, struct alert_cond *c, double at,
                             int bad, int min_days)
{
  char key[400];
  snprintf(key, sizeof(key), "%s-%.0f-%s", c->id, c->since * 1000,
           c->firing ? "open" : "end");
  json_t *o = json_object();
  json_object_set_new(o, "event", json_string(c->kind));
  json_object_set_new(o, "status",
                      json_string(c->firing ? "firing" : "resolved"));
  json_object_set_new(o, "target", json_string(c->target));
  json_object_set_new(o, "host", json_string(c->target));
  json_object_set_new(o, "check", json_string(c->check));
  if (c->ip[0])
    json_object_set_new(o, "address", json_string(c->ip));
  json_t *probes = json_array();
  for (size_t i = 0; i < c->n_probes; i++)
    if (c->probes[i].bad)
      json_array_append_new(probes, json_string(c->probes[i].name));
  json_object_set_new(o, "probes", probes);
  json_object_set_new(o, "seen_by", json_integer(bad));
  json_object_set_new(o, "of_probes", json_integer((json_int_t)c->n_probes));
  if (strcmp(c->kind, "cert") == 0 && c->firing)
    json_object_set_new(o, "days_left", json_integer(min_days));
  if (strcmp(c->kind, "dns") == 0 && c->firing && c->detail[0])
    json_object_set_new(o, "detail", json_string(c->detail));
  alert_set_time(o, "start", c->since);
  if (!c->firing) {
    alert_set_time(o, "end", at);
    json_object_set_new(o, "duration_s", json_real(at - c->since));
  }
  pthread_mutex_lock(&a->lock);
  if (a->status_url)
    json_object_set_new(o, "status_url", json_string(a->status_url));
  pthread_mutex_unlock(&a->lock);
  json_object_set_new(o, "key", json_string(key));
  vt_notice("alert: %s %s %s%s%s: %s, seen by %d of %zu probes", c->kind,
            c->target, c->check, c->ip[0] ? " " : "", c->ip,
            c->firing ? "firing" : "resolved", bad, c->n_probes);
  alert_queue(a, key, alert_dump(o), c->target, c->firing ? c->since : at, 0);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(a->db,
                         c->firing ? "INSERT OR REPLACE INTO alert_conds "
                                     "(id, since) VALUES (?, ?)"
                                   : "DELETE FROM alert_conds WHERE id = ?",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
    if (c->firing)
      sqlite3_bind_double(s, 2, c->since);
    sqlite3_step(s);
  }
  sqlite3_finalize(s);
}

/* Feeds one result to the certificate and DNS `expect` conditions. */
static void alert_cond_result(struct alerts *a, const struct vt_result *r)
{
  const char *kind = NULL;
  bool bad = false;
  int days = 0;
  if (r->cert_days_left != VT_NO_CERT_DAYS) {
    kind = "cert";
    days = r->cert_days_left;
    bad = days <= a->cert_days;
  } else if (r->check == VT_CHECK_DNS &&
             (r->ok || r->error == VT_ERR_DNS_UNEXPECTED)) {
    kind = "dns";
    bad = !r->ok;
  }
  if (!kind)
    return; /* nothing said about the condition */
  struct alert_cond *c = alert_cond_get(a, kind, r);
  if (!c)
    return;
  struct alert_cond_probe *p = NULL;
  for (size_t i = 0; i < c->n_probes && !p; i++)
    if (strcmp(c->probes[i].name, r->probe) == 0)
      p = &c->probes[i];
  if (!p) {
    struct alert_cond_probe *np =
        realloc(c->probes, (c->n_probes + 1) * sizeof(*np));
    if (!np)
      return;
    c->probes = np;
    p = &c->probes[c->n_probes++];
    *p = (struct alert_cond_probe){0};
    snprintf(p->name, sizeof(p->name), "%s", r->probe);
  }
  p->bad = bad;
  p->days = days;
  if (bad && kind[0] == 'd')
    snprintf(c->detail, sizeof(c->detail), "%s", r->detail);
  int n_bad = 0, min_days = INT32_MAX;
  for (size_t i = 0; i < c->n_probes; i++)
    if (c->probes[i].bad) {
      n_bad++;
      if (c->probes[i].days < min_days)
        min_days = c->probes[i].days;
    }
  int quorum = a->quorum > 0 ? a->quorum : 1;
  if (!c->firing && n_bad >= quorum) {
    c->firing = true;
    c->since = r->ts;
    alert_cond_event(a, c, r->ts, n_bad, min_days);
  } else if (c->firing && n_bad < quorum) {
    c->firing = false;
    alert_cond_event(a, c, r->ts, n_bad, min_days);
  }
}

void alerts_set_quorum(struct alerts *a, int quorum)
{
  a->quorum = quorum;
}

void alerts_observe(void *arg, const struct events_note *n)
{
  struct alerts *a = arg;
  char key[160];
  switch (n->kind) {
  case EVENTS_NOTE_OPEN: {
    snprintf(key, sizeof(key), "%s-%" PRId64 "-%.0f-open", alert_row_class(n),
             n->id, n->start * 1000);
    json_t *o = alert_row_event(a, n, "firing");
    json_object_set_new(o, "key", json_string(key));
    alert_queue(a, key, alert_dump(o), n->target, n->start, n->id);
    break;
  }
  case EVENTS_NOTE_UPDATE: {
    if (isnan(n->end) && !n->reopened)
      break; /* still open: a probe joined or left; no new alert */
    /* Late results moved its end, or withdrew it (firing again); the key
     * names the end it had, so each change is sent once. */
    if (n->reopened)
      snprintf(key, sizeof(key), "%s-%" PRId64 "-%.0f-reopen-%.0f",
               alert_row_class(n), n->id, n->start * 1000, n->old_end * 1000);
    else
      snprintf(key, sizeof(key), "%s-%" PRId64 "-%.0f-end-%.0f",
               alert_row_class(n), n->id, n->start * 1000, n->end * 1000);
    json_t *o = alert_row_event(a, n, n->reopened ? "firing" : "resolved");
    if (!isnan(n->old_end)) {
      json_object_set_new(o, n->reopened ? "reopened" : "updated", json_true());
      alert_set_time(o, "previous_end", n->old_end);
    }
    json_object_set_new(o, "key", json_string(key));
    alert_queue(a, key, alert_dump(o), n->target, n->start,
                n->reopened ? n->id : 0);
    break;
  }
  case EVENTS_NOTE_DROP: {
    /* The open event is in alert_rows; its resolution withdraws it. */
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT body FROM alert_rows WHERE id = ?",
                           -1, &s, NULL) != SQLITE_OK)
      break;
    sqlite3_bind_int64(s, 1, n->id);
    json_t *o = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
      o = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
    sqlite3_finalize(s);
    if (!o) {
      /* Maybe opened in this very batch. */
      for (size_t i = 0; i < a->n_pending && !o; i++)
        if (a->pending[i].remember && a->pending[i].row_id == n->id)
          o = json_loads(a->pending[i].body, 0, NULL);
    }
    if (!o)
      break;
    const char *okey = json_string_value(json_object_get(o, "key"));
    snprintf(key, sizeof(key), "%.140s-drop", okey ? okey : "row");
    json_object_set_new(o, "status", json_string("resolved"));
    json_object_set_new(o, "dropped", json_true());
    json_object_set_new(o, "key", json_string(key));
    double now = vt_time_wall();
    alert_set_time(o, "end", now);
    const char *target = json_string_value(json_object_get(o, "target"));
    char *tcopy = target ? strdup(target) : NULL;
    alert_queue(a, key, alert_dump(o), tcopy, now, 0);
    free(tcopy);
    break;
  }
  case EVENTS_NOTE_PROBE_SILENT:
  case EVENTS_NOTE_PROBE_BACK: {
    bool silent = n->kind == EVENTS_NOTE_PROBE_SILENT;
    snprintf(key, sizeof(key), "probe-%s-%s-%.0f", n->probes,
             silent ? "silent" : "back", n->start * 1000);
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string("probe"));
    json_object_set_new(o, "status",
                        json_string(silent ? "firing" : "resolved"));
    json_object_set_new(o, "state", json_string(silent ? "silent" : "back"));
    json_object_set_new(o, "probe", json_string(n->probes));
    json_object_set_new(o, "probes", alert_probes_array(n->probes));
    alert_set_time(o, silent ? "start" : "end", n->start);
    json_object_set_new(o, "key", json_string(key));
    alert_queue(a, key, alert_dump(o), NULL, n->start, 0);
    break;
  }
  case EVENTS_NOTE_RESULT:
    alert_cond_result(a, n->result);
    break;
  case EVENTS_NOTE_ROLLBACK:
    alert_pending_clear(a);
    break;
  case EVENTS_NOTE_COMMIT: {
    if (!a->n_pending)
      break;
    pthread_mutex_lock(&a->lock);
    size_t queued = 0, muted = 0;
    sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL, *row = NULL;
    int rc = sqlite3_prepare_v2(
        a->db,
        "INSERT OR IGNORE INTO outbox (receiver, key, body, created, next_try)"
        " VALUES (?, ?, ?, ?, ?)",
        -1, &ins, NULL);
    rc |= sqlite3_prepare_v2(
        a->db, "INSERT OR REPLACE INTO alert_rows (id, body) VALUES (?, ?)", -1,
        &row, NULL);
    double now = vt_time_wall();
    for (size_t i = 0; rc == SQLITE_OK && i < a->n_pending; i++) {
      struct alert_pending *p = &a->pending[i];
      if (p->remember) {
        sqlite3_bind_int64(row, 1, p->row_id);
        sqlite3_bind_text(row, 2, p->body, -1, SQLITE_STATIC);
        sqlite3_step(row);
        sqlite3_reset(row);
      }
      if (alert_muted(a, p->target, p->at)) {
        vt_info("alert: %s muted (maintenance of %s)", p->key, p->target);
        muted++;
        continue;
      }
      for (size_t r = 0; r < a->n_rx_names; r++) {
        if (!(a->rx_events[r] & p->class))
          continue;
        sqlite3_bind_text(ins, 1, a->rx_names[r], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, p->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, p->body, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 4, now);
        sqlite3_bind_double(ins, 5, now);
        if (sqlite3_step(ins) == SQLITE_DONE && sqlite3_changes(a->db) > 0)
          queued++;
        sqlite3_reset(ins);
      }
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(row);
    if (rc != SQLITE_OK ||
        sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
      vt_err("alert: %s: cannot queue %zu events: %s", a->path, a->n_pending,
             sqlite3_errmsg(a->db));
      sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
      queued = 0;
    }
    a->stats.queued += queued;
    a->stats.muted += muted;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    alert_pending_clear(a);
    break;
  }
  }
}

/* ---- delivery ----------------------------------------------------------- */

static size_t alert_curl_discard(char *p, size_t size, size_t n, void *arg)
{
  (void)p;
  (void)arg;
  return size * n;
}

/* POSTs body; true on a 2xx answer, else err says why. */
static bool alert_http_post(const struct alert_rx_conf *rx, const char *url,
                            const char *body, struct curl_slist *hdrs,
                            char *err, size_t errsize)
{
  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(err, errsize, "curl_easy_init failed");
    return false;
  }
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(rx->timeout_s * 1000));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, alert_curl_discard);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "vantage-collector/" PACKAGE_VERSION);
  CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) {
    snprintf(err, errsize, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    return false;
  }
  if (code < 200 || code > 299) {
    snprintf(err, errsize, "HTTP %ld", code);
    return false;
  }
  return true;
}

static const char *alert_name(json_t *ev)
{
  const char *e = json_string_value(json_object_get(ev, "event"));
  const char *st = json_string_value(json_object_get(ev, "verdict_state"));
  if (!e)
    return "VantageEvent";
  if (strcmp(e, "outage") == 0)
    return "VantageAddressDown";
  if (strcmp(e, "partial") == 0)
    return "VantagePartialOutage";
  if (strcmp(e, "host") == 0)
    return st && strcmp(st, "degraded") == 0 ? "VantageHostDegraded"
                                             : "VantageHostDown";
  if (strcmp(e, "probe") == 0)
    return "VantageProbeSilent";
  if (strcmp(e, "test") == 0)
    return "VantageTest";
  if (strcmp(e, "cert") == 0)
    return "VantageCertExpiry";
  if (strcmp(e, "dns") == 0)
    return "VantageDNSUnexpected";
  return "VantageEvent";
}

/* The Alertmanager v2 body: one alert, labels that identify it (so its
 * resolution matches), endsAt when resolved. */
static char *alert_am_body(const char *body, const char *generator,
                           char **labels_out, bool *firing)
{
  json_t *ev = json_loads(body, 0, NULL);
  if (!ev)
    return NULL;
  const char *e = json_string_value(json_object_get(ev, "event"));
  json_t *labels = json_object();
  json_object_set_new(labels, "alertname", json_string(alert_name(ev)));
  json_object_set_new(labels, "source", json_string("vantage"));
  bool critical = e && (strcmp(e, "outage") == 0 || strcmp(e, "host") == 0);
  json_object_set_new(labels, "severity",
                      json_string(critical ? "critical" : "warning"));
  static const char *const copy[] = {"target", "host", "address", "probe",
                                     "check"};
  for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
    json_t *v = json_object_get(ev, copy[i]);
    if (json_is_string(v))
      json_object_set(labels, copy[i], v);
  }
  json_t *ann = json_object();
  char *probes = json_dumps(json_object_get(ev, "probes"), JSON_COMPACT);
  json_object_set_new(ann, "probes", json_string(probes ? probes : "[]"));
  free(probes);
  char summary[512];
  snprintf(summary, sizeof(summary),
           "%s %s%s%s seen by %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
           " probes",
           alert_name(ev),
           json_string_value(json_object_get(ev, "target"))
               ? json_string_value(json_object_get(ev, "target"))
               : "",
           json_object_get(ev, "address") ? " " : "",
           json_object_get(ev, "address")
               ? json_string_value(json_object_get(ev, "address"))
               : "",
           json_integer_value(json_object_get(ev, "seen_by")),
           json_integer_value(json_object_get(ev, "of_probes")));
  json_object_set_new(ann, "summary", json_string(summary));
  json_object_set(ann, "key", json_object_get(ev, "key"));
  json_t *alert = json_object();
  json_object_set_new(alert, "labels", labels);
  json_object_set_new(alert, "annotations", ann);
  json_t *start = json_object_get(ev, "start");
  if (json_is_string(start))
    json_object_set(alert, "startsAt", start);
  const char *status = json_string_value(json_object_get(ev, "status"));
  if (status && strcmp(status, "resolved") == 0) {
    json_t *end = json_object_get(ev, "end");
    if (json_is_string(end)) {
      json_object_set(alert, "endsAt", end);
    } else {
      char iso[40];
      json_object_set_new(
          alert, "endsAt",
          json_string(vt_time_fmt_iso(vt_time_wall(), iso, sizeof(iso))));
    }
  }
  if (generator)
    json_object_set_new(alert, "generatorURL", json_string(generator));
  json_decref(ev);
  *labels_out = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
  *firing = !json_object_get(alert, "endsAt");
  json_t *arr = json_array();
  json_array_append_new(arr, alert);
  return alert_dump(arr);
}

/* Runs the program with body on stdin; true when it exits 0 in time.
 * libev's default loop reaps every child of the collector (its SIGCHLD
 * watcher waits for any pid), so the exit status cannot come from
 * waitpid: a wrapper shell writes it to fd 3, a pipe of ours. The command
 * runs in a process group of its own, killed whole at the timeout. */
static bool alert_program(const struct alert_rx_conf *rx, const char *key,
                          const char *body, char *err, size_t errsize)
{
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    snprintf(err, errsize, "pipe: %s", strerror(errno));
    return false;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    snprintf(err, errsize, "pipe: %s", strerror(errno));
    close(in[0]);
    close(in[1]);
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 3);
  posix_spawnattr_init(&at);
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                    POSIX_SPAWN_SETPGROUP);
  char *argv[] = {
      "/bin/sh",       "-c",        "/bin/sh -c \"$1\" 3>&-; echo $? >&3",
      "vantage-alert", rx->command, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    snprintf(err, errsize, "cannot run /bin/sh: %s", strerror(rc));
    return false;
  }
  double deadline = vt_time_mono() + rx->timeout_s;
  size_t len = strlen(body), off = 0;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  char status[16];
  size_t got = 0;
  bool done = false, eof = false;
  while (!done && !eof && vt_time_mono() < deadline) {
    if (in[1] >= 0) {
      ssize_t w = write(in[1], body + off, len - off);
      if (w > 0)
        off += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR)
        off = len; /* EPIPE: the program does not read; its exit decides */
      if (off == len) {
        close(in[1]);
        in[1] = -1;
      }
    }
    struct pollfd pf = {.fd = out[0], .events = POLLIN};
    if (poll(&pf, 1, 20) > 0) {
      ssize_t r = read(out[0], status + got, sizeof(status) - 1 - got);
      if (r > 0)
        got += (size_t)r;
      else if (r == 0)
        eof = true;
      done = memchr(status, '\n', got) != NULL || got == sizeof(status) - 1;
    }
    (void)waitpid(pid, NULL, WNOHANG); /* reaps when libev does not */
  }
  if (in[1] >= 0)
    close(in[1]);
  close(out[0]);
  if (!done && !eof) {
    kill(-pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    vt_warn("alert: %s: program killed after %.1f s (event %s)", rx->name,
            rx->timeout_s, key);
    snprintf(err, errsize, "killed after the %.1f s timeout", rx->timeout_s);
    return false;
  }
  (void)waitpid(pid, NULL, 0);
  status[got] = '\0';
  if (!done) {
    snprintf(err, errsize, "killed");
    return false;
  }
  int code = atoi(status);
  if (code == 0)
    return true;
  snprintf(err, errsize, "exit status %d", code);
  return false;
}

/* Alertmanager forgets an alert after its resolve_timeout unless it is
 * sent again: the alerts it has firing are kept in am_firing (by labels)
 * and re-sent every ALERT_AM_RESEND_S; a resolution deletes the row. */
#define ALERT_AM_RESEND_S 60.0

static void alert_am_track(sqlite3 *db, const char *rx, const char *labels,
                           const char *am, bool firing)
{
  if (!db || !labels)
    return;
  sqlite3_stmt *s = NULL;
  const char *sql = firing ? "INSERT OR REPLACE INTO am_firing (receiver, "
                             "labels, body) VALUES (?, ?, ?)"
                           : "DELETE FROM am_firing WHERE receiver = ? AND "
                             "labels = ?";
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, rx, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, labels, -1, SQLITE_STATIC);
    if (firing)
      sqlite3_bind_text(s, 3, am, -1, SQLITE_STATIC);
    sqlite3_step(s);
  }
  sqlite3_finalize(s);
}

/* Re-sends the firing alerts of every Alertmanager receiver (best effort:
 * a failure waits for the next time). */
static void alert_am_resend(sqlite3 *db, const struct alert_conf *conf)
{
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, "SELECT receiver, body FROM am_firing", -1, &s,
                         NULL) != SQLITE_OK) {
    sqlite3_finalize(s);
    return;
  }
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const struct alert_rx_conf *rx = NULL;
    for (size_t i = 0; conf && i < conf->n_rx; i++)
      if (conf->rx[i].type == ALERT_RX_ALERTMANAGER &&
          strcmp(conf->rx[i].name, name) == 0)
        rx = &conf->rx[i];
    if (!rx)
      continue;
    char url[1024], err[256];
    size_t n = strlen(rx->url);
    snprintf(url, sizeof(url), "%s%s", rx->url,
             n && rx->url[n - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts");
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    if (!alert_http_post(rx, url, (const char *)sqlite3_column_text(s, 1), h,
                         err, sizeof(err)))
      vt_debug("alert: %s: re-sending a firing alert: %s", rx->name, err);
    curl_slist_free_all(h);
  }
  sqlite3_finalize(s);
}

/* Delivers one event to one receiver; db (may be NULL) keeps what
 * Alertmanager has firing. */
static bool alert_deliver(const struct alert_conf *conf,
                          const struct alert_rx_conf *rx, int64_t id,
                          const char *key, const char *body, char *err,
                          size_t errsize, sqlite3 *db)
{
  struct curl_slist *h = NULL;
  bool ok = false;
  char line[256];
  switch (rx->type) {
  case ALERT_RX_PROGRAM:
    return alert_program(rx, key, body, err, errsize);
  case ALERT_RX_ALERTMANAGER: {
    char *labels = NULL;
    bool firing = false;
    char *am =
        alert_am_body(body, conf ? conf->status_url : NULL, &labels, &firing);
    if (!am) {
      snprintf(err, errsize, "event %s is not JSON", key);
      return false;
    }
    char url[1024];
    size_t n = strlen(rx->url);
    snprintf(url, sizeof(url), "%s%s", rx->url,
             n && rx->url[n - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts");
    h = curl_slist_append(h, "Content-Type: application/json");
    ok = alert_http_post(rx, url, am, h, err, errsize);
    if (ok)
      alert_am_track(db, rx->name, labels, am, firing);
    free(labels);
    free(am);
    break;
  }
  case ALERT_RX_WEBHOOK: {
    int64_t now = (int64_t)vt_time_wall();
    char sig[VT_WIRE_SIG_HEXLEN + 1];
    if (vt_wire_sign(&rx->key, VT_WIRE_ALERT, rx->name, (uint64_t)id, 1, now,
                     body, strlen(body), sig) != VT_OK) {
      snprintf(err, errsize, "cannot sign");
      return false;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(line, sizeof(line), "X-Vantage-Receiver: %s", rx->name);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-Vantage-Seq: %" PRId64, id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %" PRId64, VT_WIRE_HDR_TIME, now);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %s", VT_WIRE_HDR_SIG, sig);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "Idempotency-Key: %.200s", key);
    h = curl_slist_append(h, line);
    ok = alert_http_post(rx, rx->url, body, h, err, errsize);
    break;
  }
  }
  curl_slist_free_all(h);
  return ok;
}

static const struct alert_rx_conf *alert_rx_find(const struct alert_conf *c,
                                                 const char *name)
{
  for (size_t i = 0; c && i < c->n_rx; i++)
    if (strcmp(c->rx[i].name, name) == 0)
      return &c->rx[i];
  return NULL;
}

static bool alert_stopping(struct alerts *a)
{
  pthread_mutex_lock(&a->lock);
  bool stop = a->stop;
  pthread_mutex_unlock(&a->lock);
  return stop;
}

static void alert_count(struct alerts *a, unsigned long long *counter)
{
  pthread_mutex_lock(&a->lock);
  (*counter)++;
  pthread_mutex_unlock(&a->lock);
}

/* One pass over the outbox; returns the time of the next due retry (or
 * INFINITY). Called with a->conf_lock held. */
static double alert_round(struct alerts *a, sqlite3 *db)
{
  double next = INFINITY;
  sqlite3_stmt *sel = NULL, *done = NULL, *retry = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT id, receiver, key, body, attempts, next_try "
                         "FROM outbox WHERE done IS NULL ORDER BY id",
                         -1, &sel, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "UPDATE outbox SET done = ?, attempts = "
                         "attempts + 1, last_error = NULL WHERE id = ?",
                         -1, &done, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "UPDATE outbox SET attempts = attempts + 1, "
                         "next_try = ?, last_error = ? WHERE id = ?",
                         -1, &retry, NULL) != SQLITE_OK) {
    vt_err("alert: %s: %s", a->path, sqlite3_errmsg(db));
    next = vt_time_wall() + 5;
    goto out;
  }
  const struct alert_conf *conf = a->conf;
  /* Receivers that wait this round (a failed or not-yet-due row keeps the
   * order of the rest of that receiver's events). */
  bool *blocked = calloc(conf && conf->n_rx ? conf->n_rx : 1, sizeof(bool));
  struct row {
    int64_t id;
    char *rx, *key, *body;
    long attempts;
    double next_try;
  };
  struct row *rows = NULL;
  size_t n = 0, cap = 0;
  while (sqlite3_step(sel) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      struct row *r = realloc(rows, cap * sizeof(*r));
      if (!r)
        break;
      rows = r;
    }
    rows[n++] =
        (struct row){.id = sqlite3_column_int64(sel, 0),
                     .rx = strdup((const char *)sqlite3_column_text(sel, 1)),
                     .key = strdup((const char *)sqlite3_column_text(sel, 2)),
                     .body = strdup((const char *)sqlite3_column_text(sel, 3)),
                     .attempts = sqlite3_column_int(sel, 4),
                     .next_try = sqlite3_column_double(sel, 5)};
  }
  sqlite3_reset(sel);
  for (size_t i = 0; i < n && blocked && !alert_stopping(a); i++) {
    struct row *r = &rows[i];
    const struct alert_rx_conf *rx = alert_rx_find(conf, r->rx);
    if (!rx || !r->rx || !r->key || !r->body)
      continue; /* receiver removed from the config: kept for its return */
    size_t ri = (size_t)(rx - conf->rx);
    if (blocked[ri])
      continue;
    double now = vt_time_wall();
    if (r->next_try > now) {
      blocked[ri] = true;
      if (r->next_try < next)
        next = r->next_try;
      continue;
    }
    char err[512] = "";
    bool ok =
        alert_deliver(conf, rx, r->id, r->key, r->body, err, sizeof(err), db);
    now = vt_time_wall();
    if (ok) {
      sqlite3_bind_double(done, 1, now);
      sqlite3_bind_int64(done, 2, r->id);
      sqlite3_step(done);
      sqlite3_reset(done);
      alert_count(a, &a->stats.delivered);
      vt_info("alert: %s: delivered %s", rx->name, r->key);
    } else {
      double wait =
          conf->retry_min_s * pow(2, r->attempts < 30 ? r->attempts : 30);
      if (wait > conf->retry_max_s)
        wait = conf->retry_max_s;
      sqlite3_bind_double(retry, 1, now + wait);
      sqlite3_bind_text(retry, 2, err, -1, SQLITE_STATIC);
      sqlite3_bind_int64(retry, 3, r->id);
      sqlite3_step(retry);
      sqlite3_reset(retry);
      alert_count(a, &a->stats.failed_attempts);
      blocked[ri] = true;
      if (now + wait < next)
        next = now + wait;
      vt_warn("alert: %s: cannot deliver %s (attempt %ld): %s; retry in "
              "%.1f s",
              rx->name, r->key, r->attempts + 1, err, wait);
    }
  }
  for (size_t i = 0; i < n; i++) {
    free(rows[i].rx);
    free(rows[i].key);
    free(rows[i].body);
  }
  free(rows);
  free(blocked);
out:
  sqlite3_finalize(sel);
  sqlite3_finalize(done);
  sqlite3_finalize(retry);
  return next;
}

static void *alert_thread(void *arg)
{
  struct alerts *a = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    vt_err("alert: %s: cannot open: %s", a->path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);
  double resent = vt_time_mono();
  for (;;) {
    pthread_mutex_lock(&a->conf_lock);
    double next = alert_round(a, db);
    if (vt_time_mono() - resent >= ALERT_AM_RESEND_S) {
      resent = vt_time_mono();
      alert_am_resend(db, a->conf);
    }
    pthread_mutex_unlock(&a->conf_lock);
    pthread_mutex_lock(&a->lock);
    if (a->stop) {
      pthread_mutex_unlock(&a->lock);
      break;
    }
    double now = vt_time_wall();
    double wait = next - now;
    if (wait > 1)
      wait = 1; /* also picks up rows queued by another writer */
    if (wait > 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      double t = (double)ts.tv_sec + ts.tv_nsec / 1e9 + wait;
      ts.tv_sec = (time_t)t;
      ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
      pthread_cond_timedwait(&a->wake, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
  }
  sqlite3_close(db);
  return NULL;
}

/* ---- lifetime ----------------------------------------------------------- */

static const char alert_schema[] =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, key TEXT NOT NULL,"
    " body TEXT NOT NULL, created REAL NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL,"
    " done REAL, last_error TEXT, UNIQUE (receiver, key));"
    "CREATE INDEX IF NOT EXISTS outbox_undone ON outbox (id) WHERE done IS "
    "NULL;"
    "CREATE TABLE IF NOT EXISTS alert_rows (id INTEGER PRIMARY KEY,"
    " body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alert_conds (id TEXT PRIMARY KEY,"
    " since REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS am_firing (receiver TEXT NOT NULL,"
    " labels TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (receiver, "
    "labels));";

static void alert_names_free(struct alerts *a);

struct alerts *alerts_start(const struct alert_conf *conf, const char *db_path,
                            enum vt_status *st)
{
  struct alerts *a = calloc(1, sizeof(*a));
  if (!a || !(a->path = strdup(db_path))) {
    free(a);
    *st = VT_ENOMEM;
    return NULL;
  }
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->conf_lock, NULL);
  pthread_cond_init(&a->wake, NULL);
  alerts_set_conf(a, conf);
  char *msg = NULL;
  if (sqlite3_open(db_path, &a->db) != SQLITE_OK ||
      sqlite3_exec(a->db, alert_schema, NULL, NULL, &msg) != SQLITE_OK) {
    vt_err("alert: %s: cannot open the outbox: %s", db_path,
           msg ? msg : sqlite3_errmsg(a->db));
    sqlite3_free(msg);
    *st = VT_EIO;
    alerts_stop(a);
    return NULL;
  }
  sqlite3_busy_timeout(a->db, 5000);
  if (pthread_create(&a->thread, NULL, alert_thread, a) != 0) {
    vt_err("alert: cannot start the delivery thread");
    *st = VT_ENOMEM;
    alerts_stop(a);
    return NULL;
  }
  a->thread_started = true;
  *st = VT_OK;
  return a;
}

void alerts_stop(struct alerts *a)
{
  if (!a)
    return;
  if (a->thread_started) {
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
  }
  alert_pending_clear(a);
  free(a->pending);
  for (size_t i = 0; i < a->n_conds; i++)
    free(a->conds[i].probes);
  free(a->conds);
  sqlite3_close(a->db);
  for (size_t i = 0; i < a->n_maint; i++)
    free((char *)a->maint[i].target);
  free(a->maint);
  alert_names_free(a);
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->lock);
  pthread_mutex_destroy(&a->conf_lock);
  free(a->path);
  free(a);
}

static void alert_names_free(struct alerts *a)
{
  for (size_t i = 0; i < a->n_rx_names; i++)
    free(a->rx_names[i]);
  free(a->rx_names);
  free(a->rx_events);
  a->rx_events = NULL;
  free(a->status_url);
  a->rx_names = NULL;
  a->n_rx_names = 0;
  a->status_url = NULL;
}

/* Waits for a delivery under way (at most a receiver's timeout). */
void alerts_set_conf(struct alerts *a, const struct alert_conf *conf)
{
  pthread_mutex_lock(&a->conf_lock);
  pthread_mutex_lock(&a->lock);
  a->conf = conf;
  alert_names_free(a);
  size_t n = conf ? conf->n_rx : 0;
  a->rx_names = n ? calloc(n, sizeof(char *)) : NULL;
  a->rx_events = n ? calloc(n, sizeof(unsigned)) : NULL;
  for (size_t i = 0; a->rx_names && a->rx_events && i < n; i++)
    if ((a->rx_names[a->n_rx_names] = strdup(conf->rx[i].name)))
      a->rx_events[a->n_rx_names++] = conf->rx[i].events;
  if (conf && conf->status_url)
    a->status_url = strdup(conf->status_url);
  a->cert_days = conf ? conf->cert_days : 14;
  pthread_cond_signal(&a->wake);
  pthread_mutex_unlock(&a->lock);
  pthread_mutex_unlock(&a->conf_lock);
}

enum vt_status alerts_set_maintenance(struct alerts *a,
                                      const struct alert_maint *m, size_t n)
{
  struct alert_maint *copy = n ? calloc(n, sizeof(*copy)) : NULL;
  if (n && !copy)
    return VT_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    copy[i] = m[i];
    copy[i].target = strdup(m[i].target);
    if (!copy[i].target) {
      for (size_t k = 0; k < i; k++)
        free((char *)copy[k].target);
      free(copy);
      return VT_ENOMEM;
    }
  }
  pthread_mutex_lock(&a->lock);
  struct alert_maint *old = a->maint;
  size_t n_old = a->n_maint;
  a->maint = copy;
  a->n_maint = n;
  pthread_mutex_unlock(&a->lock);
  for (size_t i = 0; i < n_old; i++)
    free((char *)old[i].target);
  free(old);
  return VT_OK;
}

void alerts_get_stats(struct alerts *a, struct alerts_stats *out)
{
  pthread_mutex_lock(&a->lock);
  *out = a->stats;
  pthread_mutex_unlock(&a->lock);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(a->db,
                         "SELECT count(*) FROM outbox WHERE done IS NULL", -1,
                         &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    out->pending = (unsigned long long)sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
}

int alerts_test(const struct alert_conf *conf)
{
  int failures = 0;
  double now = vt_time_wall();
  char key[64];
  snprintf(key, sizeof(key), "test-%.0f", now * 1000);
  json_t *o = json_object();
  json_object_set_new(o, "event", json_string("test"));
  json_object_set_new(o, "status", json_string("firing"));
  json_object_set_new(o, "target", json_string("vantage-test"));
  json_object_set_new(o, "probes", json_array());
  json_object_set_new(o, "key", json_string(key));
  alert_set_time(o, "start", now);
  if (conf && conf->status_url)
    json_object_set_new(o, "status_url", json_string(conf->status_url));
  char *body = alert_dump(o);
  if (!conf || conf->n_rx == 0)
    printf("no receivers configured (alerts.receivers)\n");
  for (size_t i = 0; body && conf && i < conf->n_rx; i++) {
    char err[512] = "";
    bool ok =
        alert_deliver(conf, &conf->rx[i], 0, key, body, err, sizeof(err), NULL);
    static const char *const types[] = {"alertmanager", "webhook", "program"};
    printf("%s (%s): %s%s\n", conf->rx[i].name, types[conf->rx[i].type],
           ok ? "ok" : "FAILED: ", ok ? "" : err);
    failures += !ok;
  }
  free(body);
  fflush(stdout);
  return failures;
}
