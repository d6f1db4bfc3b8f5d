/* SPDX-License-Identifier: MIT */
/* The scheduler (scheduler.h) driven by fake check types (check.h): a fake
 * resolution that answers from a table, and fake connection checks that
 * take a set time on a libev timer. No network, no sleep: each case is a
 * pass of the loop of a fraction of a second. Covers fan-out, queueing
 * under the global budget, the per-address limit, the deadline (a run
 * that cannot start within its round is skipped, never failed), busy
 * rounds, destroy while running, and the shared pieces of check.h. */
#include "config.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "probe_config.h"
#include "result.h"
#include "scheduler.h"
#include "tap.h"

/* ---- what the fakes saw -------------------------------------------------*/

#define MAX_KEYS 16

static struct {
  double run_s;    /* how long a fake connection run takes */
  bool fail_all;   /* fake connection runs fail (connect_refused) */
  int refuse_from; /* > 0: connection starts from this one on fail */
  int attempts;    /* connection starts asked for */
  int creates, destroys, destroyed_running;
  int starts, cancels, finishes;
  int in_flight, max_in_flight;
  struct {
    char key[64];
    int in_flight, max_in_flight;
  } keys[MAX_KEYS];
  size_t n_keys;
} fk;

static void fk_reset(double run_s)
{
  memset(&fk, 0, sizeof(fk));
  fk.run_s = run_s;
}

/* Runs against key now going; NULL when the table is full. */
static int *fk_key(const char *key, int **max)
{
  for (size_t i = 0; i < fk.n_keys; i++)
    if (strcmp(fk.keys[i].key, key) == 0) {
      *max = &fk.keys[i].max_in_flight;
      return &fk.keys[i].in_flight;
    }
  if (fk.n_keys == MAX_KEYS)
    return NULL;
  snprintf(fk.keys[fk.n_keys].key, sizeof(fk.keys[0].key), "%s", key);
  *max = &fk.keys[fk.n_keys].max_in_flight;
  return &fk.keys[fk.n_keys++].in_flight;
}

static int fk_key_max(const char *key)
{
  for (size_t i = 0; i < fk.n_keys; i++)
    if (strcmp(fk.keys[i].key, key) == 0)
      return fk.keys[i].max_in_flight;
  return 0;
}

/* ---- the fake resolution: answers from a table, from the loop -----------*/

static const struct {
  const char *host;
  const char *ips[4];
} fake_zone[] = {
    {"a.test", {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}},
    {"b1.test", {"10.0.0.9"}},
    {"b2.test", {"10.0.0.9"}},
    {"b3.test", {"10.0.0.9"}},
    {"one.test", {"10.0.0.7"}},
    /* none.test: NXDOMAIN */
};

struct fake_state {
  struct ev_loop *loop;
  const struct probe_target_conf *t;
  char key[64];
  bool conn; /* a connection check (counted), else the resolution */
  char answers[4][VT_IP_STRLEN]; /* the result borrows them (result.h) */
  ev_timer timer;
  struct check_run run;
};

static void fake_finish(struct fake_state *f)
{
  ev_timer_stop(f->loop, &f->timer);
  if (f->conn && check_run_going(&f->run)) {
    fk.in_flight--;
    int *max, *n = fk_key(f->key, &max);
    if (n)
      (*n)--;
    fk.finishes++;
  }
  check_run_finish(&f->run);
}

static void fake_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct fake_state *f = w->data;
  struct vt_result *r = f->run.res;
  (void)loop;
  (void)revents;
  if (!f->conn) {
    r->ttl = 60;
    for (size_t i = 0; i < sizeof(fake_zone) / sizeof(fake_zone[0]); i++) {
      if (strcmp(fake_zone[i].host, f->t->host) != 0)
        continue;
      for (int k = 0; k < 4 && fake_zone[i].ips[k]; k++)
        snprintf(f->answers[r->n_answers++], sizeof(f->answers[0]), "%s",
                 fake_zone[i].ips[k]);
      r->answers = f->answers;
    }
    if (r->n_answers == 0) {
      r->ttl = 0;
      vt_result_fail(r, VT_ERR_NXDOMAIN, "%s", "no such name");
    } else {
      r->ok = true;
    }
  } else if (fk.fail_all) {
    vt_result_fail(r, VT_ERR_CONNECT_REFUSED, "%s", "refused");
  } else {
    r->ok = true;
    r->ms_total = fk.run_s * 1000.0;
  }
  fake_finish(f);
}

static void *fake_create(struct probe_ctx *ctx,
                         const struct probe_target_conf *t,
                         const struct probe_check_conf *c, const char *key,
                         bool conn)
{
  (void)c;
  struct fake_state *f = calloc(1, sizeof(*f));
  if (!f)
    return NULL;
  f->loop = ctx->loop;
  f->t = t;
  f->conn = conn;
  snprintf(f->key, sizeof(f->key), "%s", key);
  ev_timer_init(&f->timer, fake_timer_cb, 0., 0.);
  f->timer.data = f;
  if (conn)
    fk.creates++;
  return f;
}

static void *fake_resolve_create(struct probe_ctx *ctx,
                                 const struct probe_target_conf *t,
                                 const struct probe_check_conf *c,
                                 const char *key)
{
  return fake_create(ctx, t, c, key, false);
}

static void *fake_conn_create(struct probe_ctx *ctx,
                              const struct probe_target_conf *t,
                              const struct probe_check_conf *c, const char *key)
{
  return fake_create(ctx, t, c, key, true);
}

static enum vt_status fake_start(void *state, struct vt_result *res,
                                 check_done_fn *done, void *arg)
{
  struct fake_state *f = state;
  if (check_run_going(&f->run))
    return VT_EBUSY;
  if (f->conn && fk.refuse_from > 0 && ++fk.attempts >= fk.refuse_from)
    return VT_EIO;
  check_run_begin(&f->run, res, done, arg);
  if (f->conn) {
    fk.starts++;
    if (++fk.in_flight > fk.max_in_flight)
      fk.max_in_flight = fk.in_flight;
    int *max, *n = fk_key(f->key, &max);
    if (n && ++*n > *max)
      *max = *n;
  }
  ev_timer_set(&f->timer, f->conn ? fk.run_s : 0.001, 0.);
  ev_timer_start(f->loop, &f->timer);
  return VT_OK;
}

static void fake_cancel(void *state)
{
  struct fake_state *f = state;
  if (!check_run_going(&f->run))
    return;
  if (f->conn)
    fk.cancels++;
  vt_result_fail(f->run.res, VT_ERR_TIMEOUT, "%s", "cancelled");
  fake_finish(f);
}

static void fake_destroy(void *state)
{
  struct fake_state *f = state;
  if (!f)
    return;
  if (check_run_going(&f->run))
    fk.destroyed_running++;
  if (f->conn)
    fk.destroys++;
  free(f);
}

static const struct check_type fake_resolve_type = {
    .type = VT_CHECK_DNS,
    .fanout = CHECK_FANOUT_RESOLVERS,
    .endpoint = check_endpoint_target,
    .create = fake_resolve_create,
    .start = fake_start,
    .cancel = fake_cancel,
    .destroy = fake_destroy,
};

/* As tcp: one run per address, the budget and the per-address limit. */
static const struct check_type fake_tcp_type = {
    .type = VT_CHECK_TCP,
    .fanout = CHECK_FANOUT_ADDRESSES,
    .endpoint = check_endpoint_target,
    .create = fake_conn_create,
    .start = fake_start,
    .cancel = fake_cancel,
    .destroy = fake_destroy,
};

/* As client: one run per round, the budget only. */
static const struct check_type fake_client_type = {
    .type = VT_CHECK_CLIENT,
    .fanout = CHECK_FANOUT_ONE,
    .endpoint = check_endpoint_target,
    .create = fake_conn_create,
    .start = fake_start,
    .cancel = fake_cancel,
    .destroy = fake_destroy,
};

static const struct check_type *const fake_types[] = {
    &fake_resolve_type, &fake_tcp_type, &fake_client_type, NULL};

/* ---- a pass -------------------------------------------------------------*/

#define MAX_RESULTS 64

static struct {
  struct vt_result r[MAX_RESULTS];
  size_t n;
  bool idle;
} got;

static void on_emit(const struct vt_result *res, void *arg)
{
  (void)arg;
  if (got.n >= MAX_RESULTS)
    return;
  struct vt_result *r = &got.r[got.n++];
  *r = *res;
  /* The answers are borrowed for this call only (lib/result.h), and the
   * checks here do not read them: keep none rather than a dangling one. */
  r->answers = NULL;
  r->n_answers = 0;
}

static void on_idle(void *arg)
{
  struct ev_loop *loop = arg;
  got.idle = true;
  ev_break(loop, EVBREAK_ALL);
}

static void on_limit(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

/* Loads a probe configuration with these probe settings and targets. */
static struct probe_conf *conf_text(const char *probe, const char *targets)
{
  char text[4096];
  snprintf(text, sizeof(text),
           "probe = { name = \"t\"; spool_dir = \"/nonexistent\"; %s };\n"
           "defaults = { resolvers = [ \"127.0.0.1\" ]; };\n"
           "targets = ( %s );\n",
           probe, targets);
  struct probe_conf *conf = NULL;
  if (probe_conf_load_text("test", text, &conf) != VT_OK)
    return NULL;
  return conf;
}

struct pass {
  struct ev_loop *loop;
  struct probe_ctx ctx;
  struct probe_conf *conf;
  struct sched *s;
  struct sched_stats st;
};

/* Builds the scheduler for the configuration on the fake types. */
static bool pass_init(struct pass *p, const char *probe, const char *targets)
{
  memset(&got, 0, sizeof(got));
  *p = (struct pass){.loop = ev_loop_new(EVFLAG_AUTO)};
  p->ctx = (struct probe_ctx){.loop = p->loop, .types = fake_types};
  p->conf = conf_text(probe, targets);
  p->s = p->conf ? sched_create(&p->ctx, p->conf, on_emit, NULL) : NULL;
  return p->s != NULL;
}

/* Runs the loop until the scheduler is idle or limit_s passed. */
static void pass_run(struct pass *p, double limit_s)
{
  ev_timer limit;
  ev_timer_init(&limit, on_limit, limit_s, 0.);
  ev_timer_start(p->loop, &limit);
  ev_run(p->loop, 0);
  ev_timer_stop(p->loop, &limit);
  sched_get_stats(p->s, &p->st);
}

static void pass_free(struct pass *p)
{
  sched_destroy(p->s);
  probe_conf_free(p->conf);
  ev_loop_destroy(p->loop);
}

static size_t count(enum vt_check_type type, bool ok)
{
  size_t n = 0;
  for (size_t i = 0; i < got.n; i++)
    n += got.r[i].check == type && got.r[i].ok == ok;
  return n;
}

static size_t count_ip(const char *ip)
{
  size_t n = 0;
  for (size_t i = 0; i < got.n; i++)
    n += strcmp(got.r[i].ip, ip) == 0;
  return n;
}

static int failed(void)
{
  int n = 0;
  for (size_t i = 0; i < got.n; i++)
    n += !got.r[i].ok;
  return n;
}

/* ---- cases --------------------------------------------------------------*/

static void test_fanout_and_queue(void)
{
  struct pass p;
  fk_reset(0.02);
  bool ok = pass_init(&p, "max_in_flight = 2;",
                      "{ name = \"a\"; host = \"a.test\"; checks = ("
                      " { type = \"tcp\"; port = 8080; },"
                      " { type = \"client\"; url = \"http://a.test/\"; } ); },"
                      "{ name = \"n\"; host = \"none.test\"; checks = ("
                      " { type = \"tcp\"; port = 80; } ); }");
  tap_ok(ok, "fan-out: scheduler built on the fake types");
  if (!ok)
    return;
  sched_start(p.s, true, on_idle, p.loop);
  pass_run(&p, 5.0);
  tap_ok(got.idle, "fan-out: the once pass ends (idle called)");
  tap_ok(count(VT_CHECK_TCP, true) == 4 && count_ip("10.0.0.1") == 1 &&
             count_ip("10.0.0.4") == 1,
         "fan-out: addresses type: one run per address of the answer (%zu)",
         count(VT_CHECK_TCP, true));
  bool ident = true;
  for (size_t i = 0; i < got.n; i++)
    if (got.r[i].check == VT_CHECK_TCP && got.r[i].ok)
      ident &= got.r[i].port == 8080 && strcmp(got.r[i].host, "a.test") == 0 &&
               strcmp(got.r[i].target, "a") == 0 &&
               strcmp(got.r[i].probe, "t") == 0;
  tap_ok(ident, "fan-out: results carry probe, target, host and the "
                "endpoint's port");
  size_t client = count(VT_CHECK_CLIENT, true);
  tap_ok(client == 1, "fan-out: one type: one run per round (%zu)", client);
  tap_ok(count(VT_CHECK_DNS, true) + count(VT_CHECK_DNS, false) == 0,
         "fan-out: the hidden resolution is not reported");
  bool noaddr = false;
  for (size_t i = 0; i < got.n; i++)
    noaddr |= strcmp(got.r[i].target, "n") == 0 &&
              got.r[i].error == VT_ERR_NO_ADDRESS &&
              strstr(got.r[i].detail, "nxdomain") != NULL;
  tap_ok(noaddr && got.n == 6,
         "fan-out: no address is a result (no_address, dns: nxdomain); %zu "
         "results in all",
         got.n);
  tap_ok(fk.max_in_flight == 2,
         "queue: at most max_in_flight = 2 runs at once (%d)",
         fk.max_in_flight);
  tap_ok(fk.starts == 5 && p.st.runs >= 5 && p.st.queued == 0 &&
             p.st.in_flight == 0 && p.st.skipped == 0,
         "queue: every queued run started, none skipped (%d started)",
         fk.starts);
  pass_free(&p);
  tap_ok(fk.creates == fk.destroys && fk.destroyed_running == 0,
         "fan-out: every state freed, none while running");
}

static void test_per_address(void)
{
  struct pass p;
  fk_reset(0.02);
  char targets[1024] = "";
  for (int i = 1; i <= 3; i++)
    snprintf(targets + strlen(targets), sizeof(targets) - strlen(targets),
             "%s{ name = \"b%d\"; host = \"b%d.test\"; checks = ("
             " { type = \"tcp\"; name = \"p1\"; port = 1; },"
             " { type = \"tcp\"; name = \"p2\"; port = 2; } ); }",
             i > 1 ? "," : "", i, i);
  bool ok = pass_init(&p, "max_in_flight = 16; max_per_address = 2;", targets);
  tap_ok(ok, "per address: scheduler built");
  if (!ok)
    return;
  sched_start(p.s, true, on_idle, p.loop);
  pass_run(&p, 5.0);
  tap_ok(got.idle && count(VT_CHECK_TCP, true) == 6 && failed() == 0,
         "per address: 6 runs against one address, all ok (%zu)",
         count(VT_CHECK_TCP, true));
  tap_ok(fk_key_max("10.0.0.9") == 2,
         "per address: at most max_per_address = 2 at once (%d), though 16 "
         "may be in flight",
         fk_key_max("10.0.0.9"));
  pass_free(&p);
}

/* A run that waited for its address and then cannot start: the address's
 * entry is freed by the failed start, and must not be freed again by the
 * run that made room (it used to walk a hash chain without it). */
static void test_waiter_cannot_start(void)
{
  struct pass p;
  fk_reset(0.05);
  fk.refuse_from = 2;
  bool ok = pass_init(&p, "max_in_flight = 16; max_per_address = 1;",
                      "{ name = \"w\"; host = \"one.test\"; checks = ("
                      " { type = \"tcp\"; name = \"p1\"; port = 1; },"
                      " { type = \"tcp\"; name = \"p2\"; port = 2; } ); }");
  tap_ok(ok, "waiter cannot start: scheduler built");
  if (!ok)
    return;
  sched_start(p.s, true, on_idle, p.loop);
  pass_run(&p, 5.0);
  tap_ok(got.idle && fk.starts == 1 && count(VT_CHECK_TCP, true) == 1,
         "waiter cannot start: the pass ends, one run went (%d)", fk.starts);
  tap_ok(failed() == 1,
         "waiter cannot start: the run that could not start is reported as "
         "the probe's failure (%d)",
         failed());
  pass_free(&p);
}

static void test_deadline(void)
{
  struct pass p;
  fk_reset(0.3);
  /* One at a time, 0.3 s each; a round of 1 s with a 0.9 s timeout lets a
   * run start up to 0.5 s late: two start, two cannot. */
  bool ok = pass_init(&p, "max_in_flight = 1;",
                      "{ name = \"a\"; host = \"a.test\"; interval = 1.0;"
                      " timeout = 0.9; checks = ("
                      " { type = \"tcp\"; port = 1; } ); }");
  tap_ok(ok, "deadline: scheduler built");
  if (!ok)
    return;
  sched_start(p.s, true, on_idle, p.loop);
  pass_run(&p, 5.0);
  tap_ok(got.idle, "deadline: the pass ends");
  tap_ok(fk.starts == 2 && got.n == 2 && failed() == 0,
         "deadline: the runs that started have results, all ok (%d, %zu)",
         fk.starts, got.n);
  tap_ok(p.st.skipped_budget == 2 && p.st.skipped == 2,
         "deadline: the two that could not start in their round are "
         "skipped, counted (%llu), not failed",
         (unsigned long long)p.st.skipped_budget);
  pass_free(&p);
}

static void test_busy(void)
{
  struct pass p;
  fk_reset(0.25);
  bool ok = pass_init(&p, "",
                      "{ name = \"o\"; host = \"one.test\"; interval = 0.1;"
                      " timeout = 0.1; checks = ("
                      " { type = \"tcp\"; port = 1; } ); }");
  tap_ok(ok, "busy: scheduler built");
  if (!ok)
    return;
  sched_start(p.s, false, NULL, NULL);
  pass_run(&p, 0.8);
  tap_ok(p.st.skipped_busy >= 1,
         "busy: a round due while the run still goes is skipped (%llu)",
         (unsigned long long)p.st.skipped_busy);
  tap_ok(fk_key_max("10.0.0.7") == 1 && failed() == 0,
         "busy: never two runs of one check against one address; no "
         "failure reported");
  sched_stop(p.s, on_idle, p.loop);
  pass_run(&p, 2.0);
  tap_ok(got.idle && fk.in_flight == 0,
         "busy: stop waits for the run going, then idle");
  pass_free(&p);
}

static void test_destroy_running(void)
{
  struct pass p;
  fk_reset(30.0);
  bool ok = pass_init(&p, "max_in_flight = 3;",
                      "{ name = \"a\"; host = \"a.test\"; checks = ("
                      " { type = \"tcp\"; port = 1; } ); }");
  tap_ok(ok, "destroy: scheduler built");
  if (!ok)
    return;
  sched_start(p.s, true, on_idle, p.loop);
  pass_run(&p, 0.2);
  tap_ok(fk.in_flight == 3 && p.st.queued == 1,
         "destroy: 3 runs going, 1 queued (%d, %d)", fk.in_flight, p.st.queued);
  size_t before = got.n;
  sched_destroy(p.s);
  p.s = NULL;
  tap_ok(fk.cancels == 3 && fk.in_flight == 0,
         "destroy: each running run cancelled once (%d)", fk.cancels);
  tap_ok(got.n == before && !got.idle,
         "destroy: cancelled runs report nothing");
  tap_ok(fk.creates == fk.destroys && fk.destroyed_running == 0,
         "destroy: every state freed, none while running (%d of %d)",
         fk.destroys, fk.creates);
  pass_free(&p);
}

static void test_no_type(void)
{
  static const struct check_type *const no_tcp[] = {&fake_resolve_type, NULL};
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct probe_ctx ctx = {.loop = loop, .types = no_tcp};
  struct probe_conf *conf =
      conf_text("", "{ name = \"a\"; host = \"a.test\"; checks = ("
                    " { type = \"tcp\"; port = 1; } ); }");
  struct sched *s = conf ? sched_create(&ctx, conf, on_emit, NULL) : NULL;
  tap_ok(conf && !s, "a check whose type is not in the table: no scheduler");
  sched_destroy(s);
  probe_conf_free(conf);
  ev_loop_destroy(loop);
  tap_ok(check_type_find(NULL, VT_CHECK_HTTP) == &http_check_type &&
             check_type_find(NULL, VT_CHECK_DNS) == &dns_check_type &&
             check_type_find(no_tcp, VT_CHECK_TCP) == NULL,
         "check_type_find: the table, or the one given");
}

static int done_calls;
static void count_done(struct vt_result *res, void *arg)
{
  (void)res;
  (void)arg;
  done_calls++;
}

static void test_check_h(void)
{
  struct check_run run = {0};
  struct vt_result r;
  vt_result_init(&r);
  tap_ok(!check_run_going(&run), "check_run: idle at first");
  check_run_begin(&run, &r, count_done, NULL);
  tap_ok(check_run_going(&run), "check_run: going after begin");
  check_run_finish(&run);
  check_run_finish(&run);
  tap_ok(done_calls == 1 && !check_run_going(&run),
         "check_run: finished twice, done called once");
  check_run_begin(&run, &r, count_done, NULL);
  check_run_forget(&run);
  check_run_finish(&run);
  tap_ok(done_calls == 1, "check_run: a forgotten run never calls done");

  char line[640];
  vt_result_init(&r);
  snprintf(r.target, sizeof(r.target), "www");
  snprintf(r.name, sizeof(r.name), "health");
  snprintf(r.host, sizeof(r.host), "www.example.test");
  snprintf(r.ip, sizeof(r.ip), "192.0.2.10");
  r.check = VT_CHECK_HTTP;
  r.port = 443;
  r.http_status = 503;
  vt_result_fail(&r, VT_ERR_HTTP_STATUS, "%s", "got 503, expected 200");
  tap_is_str(check_result_line(&r, line, sizeof(line)),
             "www/health http www.example.test [192.0.2.10]:443: http_status "
             "(HTTP 503): got 503, expected 200",
             "result line: a failure");
  vt_result_init(&r);
  snprintf(r.target, sizeof(r.target), "www");
  snprintf(r.name, sizeof(r.name), "dns");
  snprintf(r.host, sizeof(r.host), "www.example.test");
  snprintf(r.resolver, sizeof(r.resolver), "127.0.0.1");
  r.check = VT_CHECK_DNS;
  r.ok = true;
  r.ms_total = 1.25;
  tap_is_str(check_result_line(&r, line, sizeof(line)),
             "www/dns dns www.example.test @127.0.0.1: ok, 1.2 ms",
             "result line: a dns success");
}

int main(void)
{
  vt_log_threshold = VT_LOG_ERR;
  tap_plan(37);
  test_fanout_and_queue();
  test_per_address();
  test_waiter_cannot_start();
  test_deadline();
  test_busy();
  test_destroy_running();
  test_no_type();
  test_check_h();
  return tap_done();
}
