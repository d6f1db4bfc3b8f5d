/* SPDX-License-Identifier: MIT */
/* A differential, seeded property test of verdicts by event time (issue 8):
 * one set of results from three probes on three addresses and a client
 * view, with outages, partial events, lone failures, probes silent for a
 * while and probes dead at the end, is delivered to the events engine (real
 * SQLite files) in five ways: (a) live, round by round; (b) in batches of
 * random length, interleaved at random; (c) two probes live and the third a
 * day late; (d) each probe's whole history in one batch; (e) batches that
 * overlap and repeat earlier results. Each batch is followed by a tick of a
 * simulated wall clock (the batch's arrival), so probes whose results are
 * late are first held silent and then not. The outage, partial and host
 * rows, the silence rows and vantage-graph's JSON report (outages,
 * availability, from real RRD files) must be identical in every case.
 * Then pruning: live delivery with a short window, pruned after every
 * batch, gives the rows of the same delivery unpruned. VT_VERDICT_SEEDS
 * sets the number of seeds (default 12, 3 under valgrind). */
#include "config.h"

#include <fcntl.h>
#include <rrd.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "report.h"
#include "result.h"
#include "tap.h"

#define N_PROBES 3
#define N_ADDRS 3
#define N_ROUNDS 160
#define STEP_S 10.0
#define T0 1700000000.0 /* in the past: the report's open rows end at now */
#define SILENCE_S 100.0
#define T_END (T0 + N_ROUNDS * STEP_S)

static char test_dir[256];

/* xorshift64* */
static uint64_t rng;
static unsigned rnd(unsigned n)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (unsigned)((rng * UINT64_C(2685821657736338717)) >> 33) % n;
}

/* ok[p][a][r]: probe p's result on address a (a == N_ADDRS: the client
 * view) at round r; 2 = no result (a skipped round). */
static unsigned char ok[N_PROBES][N_ADDRS + 1][N_ROUNDS];

static void make_history(void)
{
  memset(ok, 1, sizeof(ok));
  for (int a = 0; a <= N_ADDRS; a++) {
    /* A few episodes: everyone down (an outage), one or two probes down
     * (a partial event, or an outage for two), lone failures. */
    int episodes = 1 + (int)rnd(4);
    for (int e = 0; e < episodes; e++) {
      int start = (int)rnd(N_ROUNDS), len = 1 + (int)rnd(20);
      unsigned who = 1 + rnd((1u << N_PROBES) - 1); /* a non-empty set */
      for (int p = 0; p < N_PROBES; p++)
        if (who & (1u << p))
          for (int r = start; r < start + len && r < N_ROUNDS; r++)
            ok[p][a][r] = 0;
    }
    for (int p = 0; p < N_PROBES; p++)
      for (int r = 0; r < N_ROUNDS; r++) {
        if (rnd(40) == 0)
          ok[p][a][r] = 0;
        else if (rnd(60) == 0)
          ok[p][a][r] = 2;
      }
  }
  /* Silences: a probe that sends nothing for longer than SILENCE_S, and
   * one dead for the last rounds. */
  if (rnd(3) != 0) {
    int p = (int)rnd(N_PROBES), start = (int)rnd(N_ROUNDS - 40);
    int len = 8 + (int)rnd(25);
    for (int a = 0; a <= N_ADDRS; a++)
      memset(&ok[p][a][start], 2, (size_t)len);
  }
  if (rnd(3) == 0) {
    int p = (int)rnd(N_PROBES), len = 15 + (int)rnd(20);
    for (int a = 0; a <= N_ADDRS; a++)
      memset(&ok[p][a][N_ROUNDS - len], 2, (size_t)len);
  }
}

/* The RRD file of probe p's results on address a (a < N_ADDRS). */
static const char *rrd_name(int p, int a, char *out, size_t size)
{
  snprintf(out, size, "www/a%d-p%d.rrd", a, p + 1);
  return out;
}

/* The result time of probe p on address a at round r: probes do not share
 * exact times, each has its own phase. */
static double result_ts(int p, int a, int r)
{
  return T0 + r * STEP_S + 0.1 * p + 0.01 * a;
}

/* Writes each address series of the history to a real RRD file below dir
 * (up = 1 or 0 per result), as the collector would. */
static int write_rrds(const char *dir)
{
  char path[600], name[64];
  snprintf(path, sizeof(path), "%s/www", dir);
  if (mkdir(dir, 0700) != 0 || mkdir(path, 0700) != 0)
    return 1;
  int bad = 0;
  for (int p = 0; p < N_PROBES; p++)
    for (int a = 0; a < N_ADDRS; a++) {
      snprintf(path, sizeof(path), "%s/%s", dir,
               rrd_name(p, a, name, sizeof(name)));
      const char *def[] = {"DS:up:GAUGE:30:0:1", "RRA:AVERAGE:0.5:1:400"};
      rrd_clear_error();
      if (rrd_create_r(path, (unsigned long)STEP_S, (time_t)(T0 - STEP_S), 2,
                       def) != 0) {
        printf("# rrd_create %s: %s\n", path, rrd_get_error());
        bad++;
        continue;
      }
      static char vals[N_ROUNDS][40];
      const char *argv[N_ROUNDS];
      int n = 0;
      for (int r = 0; r < N_ROUNDS; r++)
        if (ok[p][a][r] != 2) {
          snprintf(vals[n], sizeof(vals[n]), "%.3f:%d", result_ts(p, a, r),
                   ok[p][a][r]);
          argv[n] = vals[n];
          n++;
        }
      if (n && rrd_update_r(path, "up", n, argv) != 0) {
        printf("# rrd_update %s: %s\n", path, rrd_get_error());
        bad++;
      }
    }
  return bad;
}

static const char *addr_name(int a)
{
  static const char *const names[] = {"192.0.2.1", "192.0.2.2", "2001:db8::3",
                                      "browser"};
  return names[a];
}

/* The simulated wall clock: a batch arrives once its last round is over,
 * and never before an earlier batch. */
static double wall;

/* Silences announced to the observer (alerts) in the current case. */
static int silent_notes;
static void count_notes(void *arg, const struct events_note *n)
{
  (void)arg;
  silent_notes += n->kind == EVENTS_NOTE_PROBE_SILENT;
}

/* Probe p's results of rounds [from, to) as one batch, arriving at the wall
 * clock (the probe is seen then, if it sent anything), then a tick. */
static int feed(struct events *ev, int p, int from, int to)
{
  int bad = events_begin(ev) != VT_OK;
  char probe[8], name[64];
  snprintf(probe, sizeof(probe), "p%d", p + 1);
  if (T0 + to * STEP_S > wall)
    wall = T0 + to * STEP_S;
  int sent = 0;
  for (int r = from; r < to; r++)
    for (int a = 0; a <= N_ADDRS; a++) {
      if (ok[p][a][r] == 2)
        continue;
      sent++;
      struct vt_result res;
      vt_result_init(&res);
      res.ts = result_ts(p, a, r);
      res.check = a == N_ADDRS ? VT_CHECK_CLIENT : VT_CHECK_TCP;
      snprintf(res.probe, sizeof(res.probe), "%s", probe);
      snprintf(res.target, sizeof(res.target), "www");
      snprintf(res.name, sizeof(res.name), "%s",
               a == N_ADDRS ? "browser" : "port443");
      if (a < N_ADDRS)
        snprintf(res.ip, sizeof(res.ip), "%s", addr_name(a));
      res.ok = ok[p][a][r] == 1;
      if (!res.ok)
        res.error = VT_ERR_CONNECT_TIMEOUT;
      bad += events_series_result(
                 ev, res.target, res.check, res.name, addr_name(a), probe,
                 a < N_ADDRS ? rrd_name(p, a, name, sizeof(name)) : "c.rrd",
                 res.ts) != VT_OK;
      bad += events_result(ev, &res) != VT_OK;
    }
  if (sent)
    bad += events_probe_seen(ev, probe, 0, wall) != VT_OK;
  bad += events_commit(ev) != VT_OK;
  return bad + (events_tick(ev, wall) != VT_OK);
}

/* After the last batch: the probes that are alive (a result in the last
 * rounds) call again SILENCE_S later; a tick then finds the others silent.
 * The same in every delivery: arrival decides only who is silent now. */
static int finish(struct events *ev)
{
  int bad = events_begin(ev) != VT_OK;
  for (int p = 0; p < N_PROBES; p++) {
    bool alive = false;
    for (int a = 0; a <= N_ADDRS; a++)
      for (int r = N_ROUNDS - 3; r < N_ROUNDS; r++)
        alive |= ok[p][a][r] != 2;
    char probe[8];
    snprintf(probe, sizeof(probe), "p%d", p + 1);
    if (alive)
      bad += events_probe_seen(ev, probe, 0, T_END + SILENCE_S) != VT_OK;
  }
  bad += events_commit(ev) != VT_OK;
  return bad + (events_tick(ev, T_END + SILENCE_S + 1) != VT_OK);
}

/* A batch plan: per probe, the cut points of its batches. */
struct plan {
  int cut[N_PROBES][N_ROUNDS + 1];
  int n[N_PROBES];
};

static void plan_random(struct plan *pl, int max_len)
{
  for (int p = 0; p < N_PROBES; p++) {
    int r = 0, n = 0;
    pl->cut[p][n++] = 0;
    while (r < N_ROUNDS) {
      r += 1 + (int)rnd((unsigned)max_len);
      if (r > N_ROUNDS)
        r = N_ROUNDS;
      pl->cut[p][n++] = r;
    }
    pl->n[p] = n;
  }
}

/* Delivers the plan's batches, choosing the next probe at random (or in
 * turn when turns), probe `late` only after all others. overlap > 0 also
 * re-sends up to that many rounds before each batch. */
static int deliver(struct events *ev, const struct plan *pl, bool turns,
                   int late, int overlap)
{
  int next[N_PROBES] = {0};
  int bad = 0, turn = 0;
  for (;;) {
    int avail[N_PROBES], na = 0;
    for (int p = 0; p < N_PROBES; p++)
      if (next[p] + 1 < pl->n[p] && p != late)
        avail[na++] = p;
    if (!na && late >= 0 && next[late] + 1 < pl->n[late])
      avail[na++] = late;
    if (!na)
      break;
    int p = turns ? avail[turn++ % na] : avail[rnd((unsigned)na)];
    int from = pl->cut[p][next[p]], to = pl->cut[p][next[p] + 1];
    if (overlap > 0) {
      from -= (int)rnd((unsigned)overlap + 1);
      if (from < 0)
        from = 0;
    }
    bad += feed(ev, p, from, to);
    if (overlap > 0 && rnd(3) == 0)
      bad += feed(ev, p, from, to); /* the same batch again */
    next[p]++;
  }
  return bad;
}

static int query_cb(void *arg, int n, char **vals, char **names)
{
  (void)names;
  char *out = arg;
  size_t len = strlen(out);
  for (int i = 0; i < n && len + 1 < 65536; i++)
    len += (size_t)snprintf(out + len, 65536 - len, "%s%s", i ? "|" : "",
                            vals[i] ? vals[i] : "-");
  if (len + 1 < 65536)
    snprintf(out + len, 65536 - len, "\n");
  return 0;
}

/* The verdicts of a database, as text. */
static char *verdicts(const char *path)
{
  char *out = calloc(1, 65536);
  sqlite3 *db = NULL;
  char *msg = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_exec(db,
                   "SELECT scope, coalesce(ip, ''), kind, coalesce(state, ''),"
                   " printf('%.3f', start), printf('%.3f', \"end\"), probes,"
                   " seen_by, of_probes, coalesce(end_reason, '')"
                   " FROM outages"
                   " ORDER BY scope, ip, start, kind, state;"
                   "SELECT 'silence', probe, event, ts FROM probe_events"
                   " WHERE event != 'first_seen' ORDER BY probe, ts",
                   query_cb, out, &msg) != SQLITE_OK)
    snprintf(out, 65536, "error: %s", msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  sqlite3_close(db);
  return out;
}

/* Opens the events of a new case directory (dir/events.sqlite), with the
 * seed's RRD files as its rrd/ and a collector configuration
 * dir/collector.cfg for vantage-graph. window_s 0: the default. */
static struct events *open_case(int seed, const char *name, double window_s,
                                char *path, size_t size)
{
  char dir[400], file[512];
  snprintf(dir, sizeof(dir), "%s/s%d-%s", test_dir, seed, name);
  snprintf(path, size, "%s/events.sqlite", dir);
  wall = 0;
  if (mkdir(dir, 0700) != 0) {
    printf("# mkdir %s failed\n", dir);
    return NULL;
  }
  snprintf(file, sizeof(file), "%s/rrd", dir);
  char rrd[400];
  snprintf(rrd, sizeof(rrd), "%s/s%d-rrd", test_dir, seed);
  if (symlink(rrd, file) != 0)
    printf("# symlink %s failed\n", file);
  snprintf(file, sizeof(file), "%s/key", dir);
  FILE *f = fopen(file, "w");
  if (f) {
    fputs("0123456789abcdef0123456789abcdef0123\n", f);
    fclose(f);
  }
  snprintf(file, sizeof(file), "%s/collector.cfg", dir);
  if ((f = fopen(file, "w"))) {
    fprintf(f,
            "collector = { data_dir = \"%s\"; };\n"
            "storage = { step = 10; };\n"
            "probes = ( { name = \"p1\"; key_file = \"%s/key\"; } );\n",
            dir, dir);
    fclose(f);
  }
  enum vt_status st;
  struct events *ev = events_open(&(struct events_conf){.path = path,
                                                        .quorum = 2,
                                                        .confirm = 2,
                                                        .silence_s = SILENCE_S,
                                                        .window_s = window_s},
                                  &st);
  if (!ev)
    printf("# events_open %s: %s\n", path, vt_strerror(st));
  silent_notes = 0;
  if (ev)
    events_set_observer(ev, count_notes, NULL);
  return ev;
}

/* vantage-graph's JSON report over the history, from the case directory of
 * the events file at path, appended to out (64 KiB). The duration of a row
 * still open runs to now; it is masked. */
static void report_json(const char *path, char *out)
{
  char cfg[512];
  snprintf(cfg, sizeof(cfg), "%.*s/collector.cfg",
           (int)(strrchr(path, '/') - path), path);
  struct gr_ctx *g = NULL;
  struct report *r = NULL;
  char *text = NULL;
  size_t len = 0;
  enum vt_status st = gr_open(cfg, &g);
  if (st == VT_OK)
    st = report_compute(g, NULL, T0, T_END, &r);
  FILE *mem = st == VT_OK ? open_memstream(&text, &len) : NULL;
  if (mem) {
    st = report_write(r, REPORT_JSON, mem);
    fclose(mem);
  }
  for (char *o = text; o && (o = strstr(o, "\"open\":true"));) {
    char *d = strstr(o, "\"duration_s\":");
    if (!d)
      break;
    for (d += 13; *d && *d != ',' && *d != '}'; d++)
      *d = 'X';
    o = d;
  }
  size_t used = strlen(out);
  snprintf(out + used, 65536 - used, "report: %s\n",
           st == VT_OK && text ? text : vt_strerror(st));
  free(text);
  report_free(r);
  gr_close(g);
}

/* One result (or retirement) of probe p on ip of target "old". */
static int one(struct events *ev, int p, const char *ip, double ts, int what)
{
  struct vt_result res;
  vt_result_init(&res);
  res.ts = ts;
  res.check = VT_CHECK_TCP;
  snprintf(res.probe, sizeof(res.probe), "p%d", p + 1);
  snprintf(res.target, sizeof(res.target), "old");
  snprintf(res.name, sizeof(res.name), "port443");
  snprintf(res.ip, sizeof(res.ip), "%s", ip);
  res.ok = what != 0;
  res.retired = what == 2;
  if (!res.ok)
    res.error = VT_ERR_CONNECT_REFUSED;
  int bad = 0;
  if (!res.retired)
    bad += events_series_result(ev, res.target, res.check, res.name, ip,
                                res.probe, "x.rrd", ts) != VT_OK;
  return bad + (events_result(ev, &res) != VT_OK);
}

/* Retirement: two addresses, one down from every probe and then retired by
 * each (keep_gone, or removed by SIGHUP): the outage ends at the last
 * result, "no longer checked", nothing stays open, the host is up again;
 * the same in any delivery order. */
static void test_retire(void)
{
  char path[2][512];
  char *got[2];
  for (int c = 0; c < 2; c++) {
    struct events *ev =
        open_case(0, c ? "retire-late" : "retire", 0, path[c], sizeof(path[c]));
    int bad = !ev;
    for (int pass = 0; ev && pass < 2; pass++)
      for (int p = 0; p < N_PROBES; p++) {
        if (c == 1 && (pass == 0) != (p == 2))
          continue; /* case 1: p3 first, then the others */
        bad += events_begin(ev) != VT_OK;
        for (int r = 0; r < 20; r++) {
          double ts = T0 + r * STEP_S + 0.1 * p;
          bad += one(ev, p, "198.51.100.1", ts, 1);
          if (r < 12)
            bad += one(ev, p, "198.51.100.2", ts, r < 5);
          else if (r == 12)
            bad += one(ev, p, "198.51.100.2", ts + 1, 2);
        }
        bad += events_commit(ev) != VT_OK;
      }
    struct events_stats es;
    if (ev)
      events_get_stats(ev, &es);
    tap_ok(ev && es.outages_open == 0 && es.partial_open == 0,
           "retirement (%s): no outage or partial event left open",
           c ? "p3 first" : "live order");
    events_close(ev);
    got[c] = verdicts(path[c]);
    if (bad)
      snprintf(got[c], 65536, "%d calls failed", bad);
  }
  tap_is_str(got[0],
             "address|198.51.100.2|partial||1700000050.000|1700000050.100|p1|"
             "1|3|\n"
             "address|198.51.100.2|outage||1700000050.100|1700000110.100|"
             "p1,p2,p3|3|3|no longer checked\n"
             "address|198.51.100.2|partial||1700000110.100|1700000110.200|p3|"
             "1|3|no longer checked\n"
             "host||outage|degraded|1700000050.100|1700000110.100|p1,p2,p3|3|"
             "3|no longer checked\n",
             "retirement: the outage ends at the last result, \"no longer "
             "checked\"; so does the host's degraded state");
  tap_is_str(got[1], got[0], "retirement: the same in another order");
  free(got[0]);
  free(got[1]);
}

/* Pruning: live delivery with a window of 30 rounds, pruned after every
 * batch, leaves the rows (verdicts and silences) of the same delivery
 * unpruned, and the views, retirements and result spans older than the
 * window are gone. */
static void test_prune(void)
{
  static char late_log[4096];
  rng = UINT64_C(0x9E3779B97F4A7C15) * 77;
  make_history();
  for (int a = 0; a <= N_ADDRS; a++) /* p1 silent long before the window */
    memset(&ok[0][a][20], 2, 20);
  char rrd[400];
  snprintf(rrd, sizeof(rrd), "%s/s77-rrd", test_dir);
  (void)write_rrds(rrd);
  struct plan pl;
  plan_random(&pl, 1);
  char *got[2];
  uint64_t pruned = 0;
  char left[2][64];
  for (int c = 0; c < 2; c++) {
    char path[512];
    struct events *ev = open_case(77, c ? "pruned" : "unpruned", 30 * STEP_S,
                                  path, sizeof(path));
    int bad = !ev;
    int next[N_PROBES] = {0};
    for (int r = 0; ev && r < N_ROUNDS; r++)
      for (int p = 0; p < N_PROBES; p++) {
        bad += feed(ev, p, pl.cut[p][next[p]], pl.cut[p][next[p] + 1]);
        next[p]++;
        uint64_t n = 0;
        if (c == 1)
          bad += events_prune(ev, &n) != VT_OK;
        pruned += n;
      }
    if (ev) {
      /* A retirement long ago goes too; its results, older than the
       * window, are logged as such (stderr caught in a file). */
      char logf[512];
      snprintf(logf, sizeof(logf), "%s/late-%d.log", test_dir, c);
      fflush(stderr);
      int saved = dup(2), fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0)
        dup2(fd, 2);
      bad += events_begin(ev) != VT_OK;
      bad += one(ev, 0, "198.51.100.9", T0 + 1, 1);
      bad += one(ev, 0, "198.51.100.9", T0 + 2, 2);
      bad += events_commit(ev) != VT_OK;
      fflush(stderr);
      if (saved >= 0)
        dup2(saved, 2);
      if (fd >= 0)
        close(fd);
      if (saved >= 0)
        close(saved);
      FILE *f = fopen(logf, "r");
      size_t got_n = f ? fread(late_log, 1, sizeof(late_log) - 1, f) : 0;
      late_log[got_n] = '\0';
      if (f)
        fclose(f);
      bad += finish(ev);
      uint64_t n = 0;
      if (c == 1)
        bad += events_prune(ev, &n) != VT_OK;
      pruned += n;
    }
    events_close(ev);
    got[c] = verdicts(path);
    if (bad)
      snprintf(got[c], 65536, "%d calls failed", bad);
    sqlite3 *db = NULL;
    snprintf(left[c], sizeof(left[c]), "?");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
      sqlite3_stmt *s = NULL;
      if (sqlite3_prepare_v2(
              db,
              "SELECT (SELECT count(*) FROM downs WHERE \"end\" < ?1),"
              " (SELECT count(*) FROM retired WHERE ts < ?1),"
              " (SELECT count(*) FROM covers c WHERE EXISTS (SELECT 1"
              " FROM covers n WHERE n.probe = c.probe AND n.start > c.start"
              " AND n.start < ?1))",
              -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_double(s, 1, T_END - 30 * STEP_S);
        if (sqlite3_step(s) == SQLITE_ROW)
          snprintf(left[c], sizeof(left[c]), "%d/%d/%d",
                   sqlite3_column_int(s, 0), sqlite3_column_int(s, 1),
                   sqlite3_column_int(s, 2));
      }
      sqlite3_finalize(s);
      sqlite3_close(db);
    }
  }
  tap_ok(strcmp(got[0], got[1]) == 0 && strstr(got[0], "address|"),
         "pruning after every batch leaves the verdicts and silences as "
         "they are");
  if (strcmp(got[0], got[1]) != 0)
    printf("# unpruned:\n%s# pruned:\n%s", got[0], got[1]);
  tap_ok(pruned > 0 && strcmp(left[1], "0/0/0") == 0 &&
             strcmp(left[0], "0/0/0") != 0,
         "pruned %llu rows: none older than the window left (views, "
         "retirements, spans before it: %s unpruned, %s pruned)",
         (unsigned long long)pruned, left[0], left[1]);
  tap_ok(strstr(late_log, "results (the oldest of probe p1 at "
                          "2023-11-14T22:13:21.000Z) came more than "
                          "quorum.window (5m00s) behind the latest result: "
                          "stored in their series, but verdicts and "
                          "silences that ended before") != NULL,
         "results older than the window are logged, with what happens to "
         "them");
  if (!strstr(late_log, "quorum.window"))
    printf("# log: %s\n", late_log);
  free(got[0]);
  free(got[1]);
}

int main(void)
{
  vt_log_init("test_verdicts", VT_LOG_WARNING);
  /* Under valgrind (tests/lib/valgrind.sh) a few seeds check memory; the
   * sanitizer pass runs them all. */
  const char *env = getenv("VT_VERDICT_SEEDS");
  int seeds = env ? atoi(env) : getenv("VT_UNDER_VALGRIND") ? 3 : 12;
  if (seeds < 1)
    seeds = 1;
  /* tmpfs when there is one: each batch is a synchronous commit. */
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : ".";
  snprintf(test_dir, sizeof(test_dir), "%s/test-verdicts.XXXXXX", base);
  if (!mkdtemp(test_dir)) {
    printf("1..0 # SKIP cannot make a directory\n");
    return 0;
  }
  static const char *const cases[] = {"live", "shuffled", "late", "one-batch",
                                      "overlaps"};
  enum { N_CASES = sizeof(cases) / sizeof(cases[0]) };
  tap_plan(seeds * (N_CASES - 1) + 1 + 4 + 3);
  test_retire();
  int rows_total = 0, outages_total = 0, silences_total = 0, reports = 0;
  int withdrawn = 0; /* silences announced, then covered by late results */
  for (int seed = 1; seed <= seeds; seed++) {
    rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)seed;
    make_history();
    char rrd[400];
    snprintf(rrd, sizeof(rrd), "%s/s%d-rrd", test_dir, seed);
    if (write_rrds(rrd))
      printf("# RRD files of seed %d incomplete\n", seed);
    char *got[N_CASES] = {0};
    for (int c = 0; c < N_CASES; c++) {
      char path[512];
      struct events *ev = open_case(seed, cases[c], 0, path, sizeof(path));
      int bad = !ev;
      struct plan pl;
      if (ev) {
        switch (c) {
        case 0: /* live: one round per batch, probes in turn */
          plan_random(&pl, 1);
          bad += deliver(ev, &pl, true, -1, 0);
          break;
        case 1:
          plan_random(&pl, 20);
          bad += deliver(ev, &pl, false, -1, 0);
          break;
        case 2:
          plan_random(&pl, 6);
          bad += deliver(ev, &pl, false, (int)rnd(N_PROBES), 0);
          break;
        case 3:
          plan_random(&pl, N_ROUNDS);
          for (int p = 0; p < N_PROBES; p++)
            pl.n[p] = 2, pl.cut[p][1] = N_ROUNDS;
          bad += deliver(ev, &pl, false, -1, 0);
          break;
        case 4:
          plan_random(&pl, 10);
          bad += deliver(ev, &pl, false, -1, 8);
          break;
        }
      }
      if (ev)
        bad += finish(ev);
      events_close(ev);
      got[c] = verdicts(path);
      for (const char *p = got[c]; (p = strstr(p, "|silent|")); p++)
        silent_notes--;
      withdrawn += silent_notes;
      report_json(path, got[c]);
      if (bad)
        snprintf(got[c], 65536, "%d calls failed", bad);
    }
    for (const char *p = got[0]; (p = strstr(p, "address|")); p++) {
      rows_total++;
      outages_total += strncmp(strchr(p + 8, '|') + 1, "outage", 6) == 0;
    }
    for (const char *p = got[0]; (p = strstr(p, "|silent|")); p++)
      silences_total++;
    reports += strstr(got[0], "\"availability\":0.") != NULL;
    if (getenv("VT_VERDICT_SHOW"))
      printf("# seed %d:\n%s", seed, got[0]);
    for (int c = 1; c < N_CASES; c++) {
      bool same = strcmp(got[c], got[0]) == 0;
      tap_ok(same, "seed %d: %s delivery gives the verdicts of live delivery",
             seed, cases[c]);
      if (!same)
        printf("# live:\n%s# %s:\n%s", got[0], cases[c], got[c]);
    }
    for (int c = 0; c < N_CASES; c++)
      free(got[c]);
  }
  tap_ok(outages_total > seeds / 2 && rows_total > outages_total &&
             silences_total > 0 && reports == seeds && withdrawn > 0,
         "the histories had outages, partial events and silences (%d address "
         "rows, %d outages, %d silences over %d seeds; %d reports with "
         "availability below 100 %%; %d silences held while results were "
         "late, then withdrawn)",
         rows_total, outages_total, silences_total, seeds, reports, withdrawn);
  test_prune();
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
