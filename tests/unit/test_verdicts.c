/* SPDX-License-Identifier: MIT */
/* A differential, seeded property test of verdicts by event time (issue 8):
 * one set of results from three probes on three addresses and a client
 * view, with outages, partial events and lone failures, is delivered to
 * the events engine (real SQLite files) in five ways: (a) live, round by
 * round; (b) in batches of random length, interleaved at random; (c) two
 * probes live and the third a day late; (d) each probe's whole history in
 * one batch; (e) batches that overlap and repeat earlier results. The
 * outage, partial and host rows and the silence rows must be identical in
 * every case. VT_VERDICT_SEEDS sets the number of seeds (default 12, 3
 * under valgrind). */
#include "config.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "result.h"
#include "tap.h"

#define N_PROBES 3
#define N_ADDRS 3
#define N_ROUNDS 160
#define STEP_S 10.0
#define T0 1800000000.0

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
}

static const char *addr_name(int a)
{
  static const char *const names[] = {"192.0.2.1", "192.0.2.2", "2001:db8::3",
                                      "browser"};
  return names[a];
}

/* Probe p's results of rounds [from, to) as one batch. */
static int feed(struct events *ev, int p, int from, int to)
{
  int bad = events_begin(ev) != VT_OK;
  char probe[8];
  snprintf(probe, sizeof(probe), "p%d", p + 1);
  for (int r = from; r < to; r++)
    for (int a = 0; a <= N_ADDRS; a++) {
      if (ok[p][a][r] == 2)
        continue;
      struct vt_result res;
      vt_result_init(&res);
      /* Probes do not share exact times: each has its own phase. */
      res.ts = T0 + r * STEP_S + 0.1 * p + 0.01 * a;
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
      bad += events_series_result(ev, res.target, res.check, res.name,
                                  addr_name(a), probe, "x.rrd",
                                  res.ts) != VT_OK;
      bad += events_result(ev, &res) != VT_OK;
    }
  bad += events_commit(ev) != VT_OK;
  return bad;
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

static struct events *open_case(int seed, const char *name, char *path,
                                size_t size)
{
  snprintf(path, size, "%s/s%d-%s.db", test_dir, seed, name);
  enum vt_status st;
  struct events *ev =
      events_open(&(struct events_conf){.path = path,
                                        .quorum = 2,
                                        .confirm = 2,
                                        .silence_s = 600},
                  &st);
  if (!ev)
    printf("# events_open %s: %s\n", path, vt_strerror(st));
  return ev;
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
    struct events *ev = open_case(0, c ? "retire-late" : "retire", path[c],
                                  sizeof(path[c]));
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
    unlink(path[c]);
  }
  tap_is_str(got[0],
             "address|198.51.100.2|partial||1800000050.000|1800000050.100|p1|"
             "1|3|\n"
             "address|198.51.100.2|outage||1800000050.100|1800000110.100|"
             "p1,p2,p3|3|3|no longer checked\n"
             "address|198.51.100.2|partial||1800000110.100|1800000110.200|p3|"
             "1|3|no longer checked\n"
             "host||outage|degraded|1800000050.100|1800000110.100|p1,p2,p3|3|"
             "3|no longer checked\n",
             "retirement: the outage ends at the last result, \"no longer "
             "checked\"; so does the host's degraded state");
  tap_is_str(got[1], got[0], "retirement: the same in another order");
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
  static const char *const cases[] = {"live", "shuffled", "late",
                                      "one-batch", "overlaps"};
  enum { N_CASES = sizeof(cases) / sizeof(cases[0]) };
  tap_plan(seeds * (N_CASES - 1) + 1 + 4);
  test_retire();
  int rows_total = 0, outages_total = 0;
  for (int seed = 1; seed <= seeds; seed++) {
    rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)seed;
    make_history();
    char *got[N_CASES] = {0};
    for (int c = 0; c < N_CASES; c++) {
      char path[512];
      struct events *ev = open_case(seed, cases[c], path, sizeof(path));
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
      events_close(ev);
      got[c] = verdicts(path);
      if (bad)
        snprintf(got[c], 65536, "%d calls failed", bad);
      unlink(path);
    }
    for (const char *p = got[0]; (p = strstr(p, "address|")); p++) {
      rows_total++;
      outages_total += strncmp(strchr(p + 8, '|') + 1, "outage", 6) == 0;
    }
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
  tap_ok(outages_total > seeds / 2 && rows_total > outages_total,
         "the histories had outages and partial events (%d address rows, %d "
         "outages over %d seeds)",
         rows_total, outages_total, seeds);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
