/* SPDX-License-Identifier: MIT */
/* Unit tests for the collector's events: probe numbering, series counters,
 * DNS changes, the quorum engine (partial, outage, host rows), crash and
 * rollback recovery, silences, maintenance flags, and a timing figure. */
#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "result.h"
#include "tap.h"
#include "vt_time.h"

static char test_dir[] = "test-events.XXXXXX";

static const char *db_path(const char *name)
{
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof(path[0]), "%s/%s", test_dir, name);
  return p;
}

static struct events *open_db(const char *name, int quorum, int confirm,
                              double silence_s)
{
  enum vt_status st;
  struct events *ev = events_open(&(struct events_conf){.path = db_path(name),
                                                        .quorum = quorum,
                                                        .confirm = confirm,
                                                        .silence_s = silence_s},
                                  &st);
  if (!ev)
    printf("# events_open %s: %s\n", name, vt_strerror(st));
  return ev;
}

/* Rows of sql on a separate connection (so only committed data shows):
 * columns joined by '|', rows by ';', NULL as "". */
static int query_cb(void *arg, int n, char **vals, char **names)
{
  char *out = arg;
  size_t len = strlen(out);
  if (len)
    len += (size_t)snprintf(out + len, 4096 - len, ";");
  for (int i = 0; i < n && len < 4096; i++)
    len += (size_t)snprintf(out + len, 4096 - len, "%s%s", i ? "|" : "",
                            vals[i] ? vals[i] : "");
  return 0;
}

static const char *query(const char *name, const char *sql)
{
  static char out[4096];
  out[0] = '\0';
  sqlite3 *db = NULL;
  char *msg = NULL;
  if (sqlite3_open_v2(db_path(name), &db, SQLITE_OPEN_READONLY, NULL) !=
          SQLITE_OK ||
      sqlite3_exec(db, sql, query_cb, out, &msg) != SQLITE_OK) {
    snprintf(out, sizeof(out), "error: %s", msg ? msg : sqlite3_errmsg(db));
  }
  sqlite3_free(msg);
  sqlite3_close(db);
  return out;
}

static struct vt_result result(const char *probe, const char *target,
                               enum vt_check_type type, const char *check,
                               const char *ip, double ts, bool ok)
{
  struct vt_result r;
  vt_result_init(&r);
  r.ts = ts;
  r.check = type;
  snprintf(r.probe, sizeof(r.probe), "%s", probe);
  snprintf(r.target, sizeof(r.target), "%s", target);
  snprintf(r.name, sizeof(r.name), "%s", check);
  snprintf(r.ip, sizeof(r.ip), "%s", ip);
  r.ok = ok;
  if (!ok)
    r.error = type == VT_CHECK_DNS ? VT_ERR_SERVFAIL : VT_ERR_CONNECT_TIMEOUT;
  return r;
}

/* One round of results on ip (a tcp check) or, with ip NULL, of the client
 * view "browser": round[i] is probe p<i+1>'s result, '+' ok, '-' failed,
 * '.' none. Returns the number of calls that failed. */
static int round_of(struct events *ev, const char *target, const char *ip,
                    double ts, const char *round)
{
  int bad = 0;
  for (int i = 0; round[i]; i++) {
    if (round[i] == '.')
      continue;
    char probe[8];
    snprintf(probe, sizeof(probe), "p%d", i + 1);
    struct vt_result r = ip ? result(probe, target, VT_CHECK_TCP, "port443", ip,
                                     ts, round[i] == '+')
                            : result(probe, target, VT_CHECK_CLIENT, "browser",
                                     "", ts, round[i] == '+');
    /* As ingest does: the series counter first, then the events. */
    bad +=
        events_series_result(ev, r.target, r.check, r.name, ip ? ip : "browser",
                             r.probe, "x", r.ts) != VT_OK;
    bad += events_result(ev, &r) != VT_OK;
  }
  return bad;
}

/* A table of rounds on one address of a target, fed in one batch each. */
struct round {
  double ts;
  const char *a, *b; /* rounds on the first and second address (or NULL) */
};

static int feed_rounds(struct events *ev, const char *target, const char *ip_a,
                       const char *ip_b, const struct round *rounds, size_t n)
{
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    bad += events_begin(ev) != VT_OK;
    if (rounds[i].a)
      bad += round_of(ev, target, ip_a, rounds[i].ts, rounds[i].a);
    if (rounds[i].b)
      bad += round_of(ev, target, ip_b, rounds[i].ts, rounds[i].b);
    bad += events_commit(ev) != VT_OK;
  }
  return bad;
}

#define ADDR_ROWS(t)                                                           \
  "SELECT kind, start, \"end\", probes, seen_by, of_probes FROM outages"       \
  " WHERE target = '" t "' AND scope = 'address' ORDER BY id"
#define HOST_ROWS(t)                                                           \
  "SELECT state, start, \"end\" FROM outages"                                  \
  " WHERE target = '" t "' AND scope = 'host' ORDER BY id"

static void test_probe_numbering(void)
{
  struct events *ev = open_db("probe.db", 2, 2, 60);
  uint64_t next = 99;
  tap_ok(ev && events_probe_next(ev, "p1", &next) == VT_OK && next == 0,
         "a new probe starts at record 0");
  enum vt_status st = events_begin(ev);
  st |= events_probe_seen(ev, "p1", 250, 1000);
  st |= events_commit(ev);
  st |= events_probe_next(ev, "p1", &next);
  tap_ok(st == VT_OK && next == 250, "next record stored in a batch");
  events_close(ev);
  ev = open_db("probe.db", 2, 2, 60);
  next = 0;
  tap_ok(ev && events_probe_next(ev, "p1", &next) == VT_OK && next == 250,
         "next record survives close and open");
  tap_is_str(query("probe.db", "SELECT probe, event, ts FROM probe_events"),
             "p1|first_seen|1000.0", "first sight is an event");

  /* Spool ids: the first continues the numbering the probe had without
   * one; a later new spool (a rebuilt probe) starts at 0. */
  const char *sa = "0123456789abcdef0123456789abcdef";
  const char *sb = "fedcba9876543210fedcba9876543210";
  bool known = true;
  tap_ok(events_spool_next(ev, "p1", sa, &next, &known) == VT_OK &&
             next == 250 && !known,
         "the first spool continues the probe's numbering");
  st = events_begin(ev);
  st |= events_spool_seen(ev, "p1", sa, 300, 1001);
  st |= events_probe_seen(ev, "p1", 300, 1001);
  st |= events_commit(ev);
  tap_ok(st == VT_OK &&
             events_spool_next(ev, "p1", sa, &next, &known) == VT_OK &&
             next == 300 && known,
         "a known spool continues its own numbering");
  tap_ok(events_spool_next(ev, "p1", sb, &next, &known) == VT_OK && next == 0 &&
             !known,
         "a new spool of the same probe starts at 0");
  st = events_begin(ev);
  st |= events_spool_seen(ev, "p1", sb, 10, 1002);
  st |= events_spool_seen(ev, "p1", sb, 5, 1002);
  st |= events_commit(ev);
  tap_ok(
      st == VT_OK && events_spool_next(ev, "p1", sb, &next, &known) == VT_OK &&
          next == 10 &&
          events_spool_next(ev, "p1", sa, &next, &known) == VT_OK &&
          next == 300 &&
          events_spool_next(ev, "p9", sb, &next, &known) == VT_OK && next == 0,
      "spools count apart, never backwards, per probe");
  events_close(ev);

  /* A database from a newer collector is refused, not misread. */
  sqlite3 *db = NULL;
  bool bumped = sqlite3_open(db_path("probe.db"), &db) == SQLITE_OK &&
                sqlite3_exec(db, "UPDATE meta SET version = 2", NULL, NULL,
                             NULL) == SQLITE_OK;
  sqlite3_close(db);
  enum vt_log_level saved = vt_log_threshold;
  vt_log_threshold = 0; /* the expected error */
  enum vt_status st2 = VT_OK;
  ev = events_open(&(struct events_conf){.path = db_path("probe.db"),
                                         .quorum = 2,
                                         .confirm = 2,
                                         .silence_s = 60},
                   &st2);
  vt_log_threshold = saved;
  tap_ok(bumped && !ev && st2 == VT_ECONFIG, "a newer schema is refused");
  events_close(ev);
}

static void test_series(struct events *ev)
{
  enum vt_status st = VT_OK;
  const double ts[] = {10, 5, 20};
  for (size_t i = 0; i < 3; i++)
    st |= events_series_result(ev, "s", VT_CHECK_TCP, "port443", "192.0.2.1",
                               "p1", "s/port443/192.0.2.1/p1.rrd", ts[i]);
  const char *keys[][2] = {
      {"p1", "192.0.2.1"},
      {"p1", "2001:db8::1"},
      {"p1", "resolver-192.0.2.53_53"},
      {"p2", "192.0.2.9"},
  };
  for (size_t i = 0; i < 4; i++)
    st |= events_series_result(ev, "s", VT_CHECK_DNS, "dns", keys[i][1],
                               keys[i][0], "s/dns/x/p.rrd", 100);
  tap_ok(st == VT_OK, "series results counted");
  tap_is_str(query("main.db", "SELECT results, first_ts, last_ts, check_type"
                              " FROM series WHERE check_name = 'port443'"),
             "3|5.0|20.0|tcp", "one row: count, first and last ts");
  char out[4][VT_IP_STRLEN];
  size_t n = events_known_addresses(ev, "s", "dns", "p1", out, 4);
  tap_ok(n == 2 && strcmp(out[0], "192.0.2.1") == 0 &&
             strcmp(out[1], "2001:db8::1") == 0,
         "known addresses: the IP keys of that probe only (%zu)", n);
  tap_ok(events_known_addresses(ev, "s", "dns", "p1", out, 1) == 1,
         "known addresses stop at max");
}

static void test_dns(struct events *ev)
{
  static const struct {
    double ts;
    const char *answers; /* comma-separated */
    enum vt_err err;
    bool incomplete;
    const char *resolver;
    int changes; /* rows for target "d" after this result */
    const char *last;
  } steps[] = {
      {100, "192.0.2.2,192.0.2.1", VT_ERR_NONE, false, "", 1,
       "(none)>192.0.2.1,192.0.2.2"},
      {110, "192.0.2.1,192.0.2.2", VT_ERR_NONE, false, "", 1, NULL},
      {115, "192.0.2.2,192.0.2.1,192.0.2.2", VT_ERR_NONE, false, "", 1, NULL},
      {120, "", VT_ERR_SERVFAIL, false, "", 1, NULL},
      {125, "", VT_ERR_DNS_TIMEOUT, false, "", 1, NULL},
      {130, "192.0.2.1", VT_ERR_NONE, false, "", 2,
       "192.0.2.1,192.0.2.2>192.0.2.1"},
      {140, "2001:db8::1", VT_ERR_NONE, true, "", 3,
       "192.0.2.1>192.0.2.1,2001:db8::1"},
      {150, "", VT_ERR_NONE, true, "", 3, NULL},
      {160, "", VT_ERR_NXDOMAIN, false, "", 4, "192.0.2.1,2001:db8::1>"},
      {170, "192.0.2.1", VT_ERR_NONE, false, "", 5, ">192.0.2.1"},
      {170, "192.0.2.7", VT_ERR_NONE, false, "192.0.2.53", 6,
       "(none)>192.0.2.7"},
      {165, "192.0.2.8", VT_ERR_NONE, false, "192.0.2.53", 6, NULL},
  };
  const char *what[] = {
      "first answer recorded with no old answer",
      "same set in another order: no change",
      "duplicates do not count",
      "SERVFAIL says nothing about the set",
      "a timeout says nothing about the set",
      "a removal is recorded",
      "incomplete answer: addition recorded, no removal",
      "incomplete empty answer: nothing",
      "NXDOMAIN empties the set",
      "answer after NXDOMAIN",
      "each resolver has its own history",
      "an older answer is ignored",
  };
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    struct vt_result r = result("p1", "d", VT_CHECK_DNS, "dns", "", steps[i].ts,
                                steps[i].err == VT_ERR_NONE);
    if (steps[i].err != VT_ERR_NONE)
      r.error = steps[i].err;
    r.incomplete = steps[i].incomplete;
    snprintf(r.resolver, sizeof(r.resolver), "%s", steps[i].resolver);
    char list[256], ans[VT_RESULT_MAX_ANSWERS][VT_IP_STRLEN];
    snprintf(list, sizeof(list), "%s", steps[i].answers);
    for (char *save, *a = strtok_r(list, ",", &save); a;
         a = strtok_r(NULL, ",", &save))
      snprintf(ans[r.n_answers++], VT_IP_STRLEN, "%s", a);
    r.answers = ans; /* borrowed for events_result (lib/result.h) */
    enum vt_status st = events_result(ev, &r); /* its own transaction */
    char want[512];
    snprintf(want, sizeof(want), "%d", steps[i].changes);
    if (steps[i].last) {
      snprintf(want, sizeof(want), "%d|%s", steps[i].changes, steps[i].last);
      tap_is_str(query("main.db",
                       "SELECT (SELECT count(*) FROM dns_changes"
                       " WHERE target = 'd'),"
                       " coalesce(old_answers, '(none)') || '>' || new_answers"
                       " FROM dns_changes WHERE target = 'd'"
                       " ORDER BY id DESC LIMIT 1"),
                 want, "dns: %s", what[i]);
    } else {
      tap_is_str(query("main.db", "SELECT count(*) FROM dns_changes"
                                  " WHERE target = 'd'"),
                 st == VT_OK ? want : "status", "dns: %s", what[i]);
    }
  }
}

static void test_partial(struct events *ev)
{
  static const struct round rounds[] = {
      {100, "+++", NULL}, {110, "-++", NULL}, {120, "-++", NULL},
      {130, "-++", NULL}, {140, "+++", NULL},
  };
  int bad = feed_rounds(ev, "t4", "192.0.2.1", NULL, rounds, 4);
  struct events_stats stats;
  events_get_stats(ev, &stats);
  tap_ok(!bad && stats.partial_open == 1 && stats.outages_open == 0,
         "one probe failing: a partial event is open, no outage");
  tap_is_str(query("main.db", ADDR_ROWS("t4")), "partial|110.0||p1|1|3",
             "partial: seen by 1 of 3 from its first failure");
  bad = feed_rounds(ev, "t4", "192.0.2.1", NULL, rounds + 4, 1);
  tap_is_str(query("main.db", ADDR_ROWS("t4") ";" HOST_ROWS("t4")),
             "partial|110.0|140.0|p1|1|3", "partial ends at the recovery");
}

static void test_outage(struct events *ev)
{
  static const struct round rounds[] = {
      {100, "+++", NULL}, {110, "-++", NULL}, {120, "--+", NULL},
      {130, "---", NULL}, {140, "---", NULL}, {150, "+--", NULL},
      {160, "++-", NULL}, {170, "+++", NULL},
  };
  int bad = feed_rounds(ev, "t5", "192.0.2.1", NULL, rounds, 5);
  tap_is_str(query("main.db", ADDR_ROWS("t5")),
             "partial|110.0|120.0|p1|1|3;outage|120.0||p1,p2,p3|3|3",
             "outage from the 2nd earliest streak start; partial closed");
  bad += feed_rounds(ev, "t5", "192.0.2.1", NULL, rounds + 5, 3);
  tap_ok(!bad, "rounds fed");
  tap_is_str(query("main.db", ADDR_ROWS("t5")),
             "partial|110.0|120.0|p1|1|3;outage|120.0|160.0|p1,p2,p3|3|3;"
             "partial|160.0|170.0|p3|1|3",
             "outage ends at the ok that drops below quorum; partial after");
  tap_is_str(query("main.db", HOST_ROWS("t5")), "down|120.0|160.0",
             "its only address down: host down");
}

static void test_confirm(struct events *ev)
{
  static const struct round rounds[] = {
      {100, "---", NULL}, {110, "+++", NULL}, {120, "-+-", NULL},
      {130, "+-+", NULL}, {140, "-+-", NULL}, {150, "+++", NULL},
  };
  int bad = feed_rounds(ev, "t6", "192.0.2.1", NULL, rounds, 6);
  tap_is_str(query("main.db", "SELECT count(*) FROM outages"
                              " WHERE target = 't6'"),
             bad ? "feed failed" : "0",
             "single failures (streak 1) open nothing, even from all probes");
}

/* A collector killed with SIGKILL: the committed quorum state must survive,
 * the uncommitted batch must not. The parent sends the signal, as an
 * operator would (a process killing itself under valgrind still gets a
 * leak check). Runs while the parent has no database open, since an SQLite
 * connection must not cross a fork. */
static void test_kill9(void)
{
  static const struct round before[] = {
      {100, "+++", NULL},
      {110, "-++", NULL},
      {120, "---", NULL},
  };
  int ready[2];
  if (pipe(ready) != 0) {
    perror("pipe");
    exit(1);
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    struct events *ev = open_db("kill.db", 2, 2, 60);
    if (!ev || feed_rounds(ev, "t7", "192.0.2.1", NULL, before, 3))
      _exit(1);
    if (events_begin(ev) != VT_OK)
      _exit(1);
    round_of(ev, "t7", "192.0.2.1", 130, "+++"); /* never committed */
    if (write(ready[1], "k", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c;
  bool fed = pid > 0 && read(ready[0], &c, 1) == 1;
  close(ready[0]);
  if (pid > 0)
    kill(pid, SIGKILL);
  int status = 0;
  if (pid > 0)
    waitpid(pid, &status, 0);
  tap_ok(fed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
         "collector killed after a commit and in a batch");

  struct events *ev = open_db("kill.db", 2, 2, 60);
  struct events_stats stats = {0};
  if (ev)
    events_get_stats(ev, &stats);
  tap_ok(ev && stats.partial_open == 1 && stats.outages_open == 0,
         "reopened: the committed partial event is open");
  static const struct round after[] = {
      {130, "---", NULL},
      {140, "+++", NULL},
  };
  int bad = ev ? feed_rounds(ev, "t7", "192.0.2.1", NULL, after, 2) : 1;
  tap_is_str(query("kill.db", ADDR_ROWS("t7")),
             bad ? "feed failed"
                 : "partial|110.0|120.0|p1|1|3;outage|120.0|140.0|p1,p2,p3|3|3",
             "streaks survived: outage from 120, closed by the recovery");
  events_close(ev);
}

static void test_rollback(struct events *ev)
{
  static const struct round committed[] = {{90, "++.", NULL}};
  int bad = feed_rounds(ev, "t8", "192.0.2.1", NULL, committed, 1);
  bad += events_begin(ev) != VT_OK;
  bad += round_of(ev, "t8", "192.0.2.1", 100, "--.");
  events_rollback(ev);
  static const struct round later[] = {{110, "--.", NULL}};
  bad += feed_rounds(ev, "t8", "192.0.2.1", NULL, later, 1);
  tap_is_str(query("main.db", ADDR_ROWS("t8")), bad ? "feed failed" : "",
             "rolled-back failures do not count toward confirm");
  static const struct round more[] = {{120, "--.", NULL}};
  bad += feed_rounds(ev, "t8", "192.0.2.1", NULL, more, 1);
  tap_is_str(query("main.db", ADDR_ROWS("t8")), "outage|110.0||p1,p2|2|2",
             "the next failures confirm it");

  /* A rolled-back recovery leaves the outage open, in memory too. */
  struct events_stats stats;
  events_get_stats(ev, &stats);
  uint64_t open_before = stats.outages_open;
  bad += events_begin(ev) != VT_OK;
  bad += round_of(ev, "t8", "192.0.2.1", 130, "++.");
  events_rollback(ev);
  events_get_stats(ev, &stats);
  tap_ok(!bad && stats.outages_open == open_before,
         "rollback restores the open outage count");
  static const struct round still[] = {{140, "--.", NULL}, {150, "++.", NULL}};
  bad += feed_rounds(ev, "t8", "192.0.2.1", NULL, still, 2);
  tap_is_str(query("main.db", ADDR_ROWS("t8")),
             bad ? "feed failed" : "outage|110.0|150.0|p1,p2|2|2",
             "same outage row continues and closes later");
}

static void test_silence(void)
{
  struct events *ev = open_db("silence.db", 2, 2, 60);
  enum vt_status st = ev ? VT_OK : VT_EIO;
  if (ev) {
    st |= events_begin(ev);
    st |= events_probe_seen(ev, "p1", 10, 1000);
    st |= events_commit(ev);
    st |= events_tick(ev, 990); /* the collector's first tick */
    st |= events_tick(ev, 1050);
  }
  tap_is_str(query("silence.db", "SELECT event FROM probe_events"),
             st ? "failed" : "first_seen", "not silent before silence_s");
  if (ev) {
    st |= events_tick(ev, 1061);
    st |= events_tick(ev, 1100);
  }
  /* Restarted: nobody is silent before silence_s of ticks. */
  if (ev) {
    events_close(ev);
    ev = open_db("silence.db", 2, 2, 60);
    st |= ev ? VT_OK : VT_EIO;
  }
  if (ev) {
    st |= events_begin(ev);
    st |= events_probe_seen(ev, "p2", 1, 1100);
    st |= events_commit(ev);
    st |= events_tick(ev, 2000);
    st |= events_tick(ev, 2059);
  }
  tap_is_str(query("silence.db", "SELECT count(*) FROM probe_events"
                                 " WHERE probe = 'p2' AND event = 'silent'"),
             st ? "failed" : "0",
             "after a restart, no probe is silent within silence_s");
  if (ev) {
    st |= events_begin(ev);
    st |= events_probe_seen(ev, "p2", 2, 2058);
    st |= events_commit(ev);
    st |= events_tick(ev, 2061);
  }
  tap_is_str(query("silence.db", "SELECT count(*) FROM probe_events"
                                 " WHERE probe = 'p2' AND event = 'silent'"),
             st ? "failed" : "0", "a probe that came back is not silent");
  tap_is_str(query("silence.db", "SELECT event, ts FROM probe_events"
                                 " WHERE probe = 'p1' ORDER BY id"),
             st ? "failed" : "first_seen|1000.0;silent|1061.0",
             "one silent event after silence_s");
  if (ev) {
    st |= events_probe_seen(ev, "p1", 20, 1200); /* its own transaction */
    st |= events_probe_seen(ev, "p1", 5, 1210);
    st |= events_tick(ev, 1220);
  }
  tap_is_str(query("silence.db",
                   "SELECT group_concat(event) FROM probe_events;"
                   "SELECT next_record, silent_since, last_seen FROM probes"),
             st ? "failed"
                : "first_seen,silent,first_seen,back;20||1210.0;2||2058.0",
             "back after a silence; next record never goes back");
  events_close(ev);
}

/* One batch of probe's tcp results at ts[0..n), seen at now, then a
 * tick at now. */
static enum vt_status silence_batch(struct events *ev, const char *probe,
                                    const double *ts, size_t n, double now)
{
  enum vt_status st = events_begin(ev);
  for (size_t i = 0; i < n && st == VT_OK; i++) {
    struct vt_result r;
    vt_result_init(&r);
    r.ts = ts[i];
    r.ok = true;
    r.check = VT_CHECK_TCP;
    snprintf(r.probe, sizeof(r.probe), "%s", probe);
    snprintf(r.target, sizeof(r.target), "s");
    snprintf(r.name, sizeof(r.name), "tcp");
    snprintf(r.ip, sizeof(r.ip), "192.0.2.9");
    st = events_result(ev, &r);
  }
  if (st == VT_OK)
    st = events_probe_seen(ev, probe, 0, now);
  if (st == VT_OK)
    st = events_commit(ev);
  else
    events_rollback(ev);
  return st == VT_OK ? events_tick(ev, now) : st;
}

/* The silence rows of probe in silence2.db: "event|ts;...". */
static const char *silences(const char *probe)
{
  char sql[200];
  snprintf(sql, sizeof(sql),
           "SELECT event, ts FROM probe_events WHERE probe = '%s'"
           " AND event != 'first_seen' ORDER BY ts",
           probe);
  return query("silence2.db", sql);
}

/* Silences by event time: a probe whose link is cut while it checks is
 * held silent, and not silent once its backlog covers the time; one that
 * sent nothing for a while is silent from its last result + silence_s to
 * its next result; one silent by arrival before it sent any result is
 * back at its first result. */
static void test_silence_event_time(void)
{
  struct events *ev = open_db("silence2.db", 2, 2, 60);
  enum vt_status st = ev ? VT_OK : VT_EIO;
  const double live[] = {1000, 1010, 1020};
  if (ev) {
    st |= silence_batch(ev, "q1", live, 3, 1021);
    st |= events_tick(ev, 1100); /* not heard from since 1021 */
  }
  tap_is_str(silences("q1"), st ? "failed" : "silent|1080.0",
             "cut off: silent from its last result + silence_s");
  double backlog[10];
  for (int i = 0; i < 10; i++)
    backlog[i] = 1030 + 10 * i;
  if (ev)
    st |= silence_batch(ev, "q1", backlog, 10, 1130);
  tap_is_str(silences("q1"), st ? "failed" : "",
             "its backlog covers the time: it was not silent after all");
  const double later[] = {1300, 1310};
  if (ev)
    st |= silence_batch(ev, "q1", later, 2, 1311);
  tap_is_str(silences("q1"), st ? "failed" : "silent|1180.0;back|1300.0",
             "a gap in its results: silent from the last + silence_s, back "
             "at the next");
  /* q2 called without results, was held silent by arrival, then sends. */
  if (ev) {
    st |= events_begin(ev);
    st |= events_probe_seen(ev, "q2", 0, 1311);
    st |= events_commit(ev);
    st |= events_tick(ev, 1400);
  }
  const double first[] = {1410, 1420};
  if (ev)
    st |= silence_batch(ev, "q2", first, 2, 1421);
  tap_is_str(silences("q2"), st ? "failed" : "silent|1400.0;back|1410.0",
             "silent by arrival before any result: back at its first result");
  events_close(ev);
}

static void test_host(struct events *ev)
{
  static const struct round rounds[] = {
      {100, "+++", "+++"}, {110, "---", "+++"}, {120, "---", "+++"},
      {130, "---", "---"}, {140, "---", "---"}, {150, "---", "+++"},
      {160, "+++", "+++"},
  };
  int bad = feed_rounds(ev, "h", "192.0.2.10", "192.0.2.11", rounds, 7);
  tap_is_str(query("main.db", HOST_ROWS("h")),
             bad ? "feed failed"
                 : "degraded|110.0|130.0;down|130.0|150.0;"
                   "degraded|150.0|160.0",
             "host degraded, down, degraded, up with two addresses");
  tap_is_str(query("main.db",
                   "SELECT ip, start, \"end\" FROM outages WHERE target = 'h'"
                   " AND scope = 'address' ORDER BY id"),
             "192.0.2.10|110.0|160.0;192.0.2.11|130.0|150.0",
             "address outages; no empty partial event left");

  /* Client view failing from a quorum while the address answers. */
  static const struct round client[] = {
      {100, "+++", "+++"},
      {110, "+++", "--+"},
      {120, "+++", "--+"},
      {130, "+++", "+-+"},
  };
  bad = 0;
  for (size_t i = 0; i < 4; i++) {
    bad += events_begin(ev) != VT_OK;
    bad += round_of(ev, "c", "192.0.2.20", client[i].ts, client[i].a);
    bad += round_of(ev, "c", NULL, client[i].ts, client[i].b);
    bad += events_commit(ev) != VT_OK;
  }
  tap_is_str(query("main.db",
                   "SELECT state, start, \"end\", probes, seen_by FROM outages"
                   " WHERE target = 'c'"),
             bad ? "feed failed" : "down|110.0|130.0|p1,p2|2",
             "client view failing from a quorum: host down, no address row");
}

static void test_maintenance(struct events *ev)
{
  const struct events_maint m[] = {
      {.target = "m", .start = 1000, .end = 2000, .reason = "upgrade"},
  };
  enum vt_status st = events_set_maintenance(ev, m, 1);
  static const struct round rounds[] = {
      {1100, "---", NULL},
      {1110, "---", NULL},
      {1200, "+++", NULL},
  };
  int bad = feed_rounds(ev, "m", "192.0.2.30", NULL, rounds, 3);
  tap_is_str(query("main.db", "SELECT scope, maintenance FROM outages"
                              " WHERE target IN ('m', 't5') AND kind ="
                              " 'outage' ORDER BY target, scope"),
             st || bad ? "failed" : "address|1;host|1;address|0;host|0",
             "outages in a maintenance window are flagged");
  const struct events_maint late[] = {
      {.target = "h", .start = 0, .end = 115, .reason = NULL},
  };
  st = events_set_maintenance(ev, late, 1);
  tap_is_str(query("main.db", "SELECT group_concat(maintenance, '') FROM"
                              " (SELECT maintenance FROM outages"
                              " WHERE target IN ('h', 'm') ORDER BY id)"),
             st ? "failed" : "1100000",
             "a window announced later re-flags; the replaced one unflags");
  tap_is_str(query("main.db", "SELECT target, reason FROM maintenance"), "h|",
             "maintenance rows replaced");
  const struct events_maint bad_window[] = {
      {.target = "h", .start = 200, .end = 100},
  };
  enum vt_log_level saved = vt_log_threshold;
  vt_log_threshold = 0; /* the expected error */
  st = events_set_maintenance(ev, bad_window, 1);
  vt_log_threshold = saved;
  tap_ok(st == VT_EINVAL && strcmp(query("main.db", "SELECT count(*) FROM"
                                                    " maintenance"),
                                   "1") == 0,
         "an inverted window is refused and changes nothing");
}

static void test_perf(void)
{
  struct events *ev = open_db("perf.db", 2, 2, 60);
  if (!ev) {
    tap_ok(0, "perf database");
    return;
  }
  int bad = 0;
  double t[5];
  /* First sight; a round with half the series failing; a round with the
   * series counter the ingest also writes per result. */
  static const char *const what[] = {"first sight", "half failing",
                                     "with series counters"};
  for (int pass = 0; pass < 3; pass++) {
    t[0] = vt_time_mono();
    bad += events_begin(ev) != VT_OK;
    for (int i = 0; i < 10000; i++) {
      char target[16], ip[VT_IP_STRLEN];
      snprintf(target, sizeof(target), "perf%d", i / 100);
      snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 100, i % 100);
      struct vt_result r = result("p1", target, VT_CHECK_TCP, "port443", ip,
                                  1000 + 10 * pass, pass != 1 || i % 2);
      bad += events_result(ev, &r) != VT_OK;
      if (pass == 2)
        bad += events_series_result(ev, target, VT_CHECK_TCP, "port443", ip,
                                    "p1", "perf.rrd", r.ts) != VT_OK;
    }
    t[1] = vt_time_mono();
    bad += events_commit(ev) != VT_OK;
    t[2] = vt_time_mono();
    printf("# 10000 tcp results on 10000 series in one transaction, %s: "
           "fed in %.1f ms, committed in %.1f ms\n",
           what[pass], (t[1] - t[0]) * 1e3, (t[2] - t[1]) * 1e3);
  }
  events_close(ev);
  t[3] = vt_time_mono();
  ev = open_db("perf.db", 2, 2, 60);
  t[4] = vt_time_mono();
  printf("# reopen with 10000 streaks: %.1f ms\n", (t[4] - t[3]) * 1e3);
  tap_ok(ev && !bad, "10000 results fed and committed");
  /* A streak that never failed is not stored (no row = ok); the 5000 that
   * failed once are stored, and back at 0 after the last pass. */
  tap_is_str(query("perf.db", "SELECT count(*), sum(count) FROM streaks"),
             "5000|0", "only streaks that changed are stored");
  events_close(ev);
}

static void remove_db(const char *name)
{
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < 4; i++) {
    char path[300];
    snprintf(path, sizeof(path), "%s%s", db_path(name), suffix[i]);
    unlink(path);
  }
}

int main(void)
{
  tap_plan(60);
  vt_log_init("test_events", VT_LOG_ERR);
  if (!mkdtemp(test_dir)) {
    perror("mkdtemp");
    return 1;
  }

  test_probe_numbering();
  test_kill9();
  struct events *ev = open_db("main.db", 2, 2, 60);
  tap_ok(ev != NULL, "open");
  if (!ev)
    return 1;
  test_series(ev);
  test_dns(ev);
  test_partial(ev);
  test_outage(ev);
  test_confirm(ev);
  test_rollback(ev);
  test_silence();
  test_silence_event_time();
  test_host(ev);
  test_maintenance(ev);
  struct events_stats stats;
  events_get_stats(ev, &stats);
  tap_ok(stats.batches > 0 && stats.results > 0 && stats.outages_open == 0 &&
             stats.partial_open == 0,
         "stats: %llu batches, %llu results, nothing left open",
         (unsigned long long)stats.batches, (unsigned long long)stats.results);
  events_close(ev);
  test_perf();

  const char *dbs[] = {"probe.db",   "main.db",     "kill.db",
                       "silence.db", "silence2.db", "perf.db"};
  for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
    remove_db(dbs[i]);
  rmdir(test_dir);
  return tap_done();
}
