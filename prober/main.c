/* SPDX-License-Identifier: MIT */
/* vantage-probe: checks every IP behind each configured hostname (DNS, TCP,
 * HTTP(S) and client-view checks) on one libev loop, and spools the results
 * for the collector. This file is wiring only: options, config, signals. */
#include "config.h"

#include <ares.h>
#include <curl/curl.h>
#include <ev.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "adhoc.h"
#include "buf.h"
#include "check.h"
#include "cli.h"
#include "curl_loop.h"
#include "dns.h"
#include "log.h"
#include "metrics_http.h"
#include "probe_config.h"
#include "probe_metrics.h"
#include "prom.h"
#include "result.h"
#include "scheduler.h"
#include "spool.h"
#include "targets_fetch.h"
#include "uploader.h"

#define DEFAULT_CONFIG "/etc/vantage/probe.cfg"
#define STATS_INTERVAL_S 300.0

enum exit_code {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1, /* could not start: spool, libraries, ... */
  EXIT_USAGE = 2,   /* bad command line or configuration */
};

/* A scheduler replaced by a reload, draining its last runs. */
struct retiring {
  struct sched *sched;
  struct probe_conf *conf;
  struct probe *probe;
  struct retiring *next;
};

struct probe {
  struct ev_loop *loop;
  const char *config_path;
  bool once;
  bool fail; /* --fail: --once exits 1 when a check failed */
  bool stopping;
  struct probe_conf *conf;
  struct probe_ctx ctx;
  struct sched *sched;
  struct spool *spool;
  char *spool_dir; /* the one open (a reload's new one waits for a restart) */
  struct uploader *uploader; /* NULL without collectors */
  size_t n_uploads;          /* collectors the uploader has */
  /* While the targets come from the collector (targets_fetched). */
  struct targets_fetch *fetch;
  struct vt_buf line;
  struct retiring *retiring;
  ev_signal sig_hup, sig_term, sig_int, sig_usr1;
  ev_timer fsync_timer, stats_timer;
  unsigned long long spooled, spool_errors;
  unsigned long long results_ok, results_failed; /* /metrics */
  struct sched_stats sched_gone; /* counters of schedulers reloads replaced */
  struct metrics_http *metrics;  /* probe.metrics_listen; NULL = off */
  char *metrics_addr;            /* the address it listens on */
  unsigned long long once_results, once_failed;
};

/* Every check in flight holds a socket (two for DNS over TCP): take the
 * hard limit as the soft one, since systemd's soft default of 1024 fails a
 * large --once pass with EMFILE. */
static void raise_fd_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    vt_debug("probe: open files limit raised from %llu to %llu",
             (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

static void usage(FILE *out)
{
  fprintf(
      out,
      "Usage: vantage-probe [OPTIONS]\n"
      "       vantage-probe check [OPTIONS] URL|HOST:PORT ...\n"
      "Check every IP address behind each configured hostname (DNS, TCP,\n"
      "HTTP(S) and client-view checks) and spool the results for the\n"
      "vantage collector.\n"
      "\n"
      "Options:\n"
      "  -c, --config FILE     configuration file (default %s)\n"
      "      --check           validate the configuration and exit\n"
      "      --once            run every check once against every address,\n"
      "                        print one JSON object per result on stdout\n"
      "                        and exit 0 whatever the targets did\n"
      "      --fail            with --once: exit 1 when any check failed,\n"
      "                        one line per failure on stderr\n"
      "  -l, --log-level LVL   err, warning, notice, info (default), debug\n"
      "  -v, --verbose         same as --log-level debug\n"
      "  -q, --quiet           same as --log-level warning\n"
      "  -h, --help            show this help and exit\n"
      "  -V, --version         show the version and exit\n"
      "\n"
      "Signals: SIGHUP reloads the configuration (a bad one is rejected and\n"
      "the running one kept); SIGTERM and SIGINT let running checks finish\n"
      "within their timeout, upload what the spool holds (bounded by the\n"
      "upload timeout), then exit 0 (a second one exits at once);\n"
      "SIGUSR1 logs scheduling statistics.\n"
      "\n"
      "`vantage-probe check --help` tells about the ad-hoc check.\n"
      "\n"
      "Exit status: 0 success, 1 runtime failure (spool, libraries) or,\n"
      "with --once --fail, a failed check, 2 usage or configuration error.\n",
      DEFAULT_CONFIG);
}

static void emit_stdout(const struct vt_result *r, void *arg)
{
  struct probe *p = arg;
  vt_buf_reset(&p->line);
  if (vt_result_to_json(r, false, &p->line) != VT_OK) {
    vt_err("probe: out of memory formatting a result");
    return;
  }
  /* No flush per result: stdio's buffer makes one write of many lines
   * (a pass of 20,000 checks is otherwise 20,000 writes); run() flushes
   * when the pass is done. */
  if (vt_buf_add(&p->line, "\n", 1) != VT_OK) {
    vt_err("probe: out of memory formatting a result");
    return;
  }
  fwrite(p->line.data, 1, p->line.len, stdout);
  p->once_results++;
  if (!r->ok) {
    p->once_failed++;
    char line[640];
    if (p->fail)
      fprintf(stderr, "vantage-probe: failed: %s\n",
              check_result_line(r, line, sizeof(line)));
  }
}

static void emit_spool(const struct vt_result *r, void *arg)
{
  struct probe *p = arg;
  vt_buf_reset(&p->line);
  enum vt_status st = vt_result_to_json(r, true, &p->line);
  if (st == VT_OK)
    st = spool_append(p->spool, vt_buf_str(&p->line), p->line.len);
  if (r->ok)
    p->results_ok++;
  else
    p->results_failed++;
  if (st == VT_OK) {
    p->spooled++;
    uploader_kick(p->uploader);
  } else {
    p->spool_errors++;
  }
}

/* Adds x's counters, histogram and gauges into acc (the limits stay). */
static void sched_stats_add(struct sched_stats *acc,
                            const struct sched_stats *x)
{
  acc->rounds += x->rounds;
  acc->runs += x->runs;
  acc->skipped += x->skipped;
  acc->skipped_busy += x->skipped_busy;
  acc->skipped_budget += x->skipped_budget;
  acc->results += x->results;
  acc->late_n += x->late_n;
  acc->late_sum_s += x->late_sum_s;
  if (x->late_max_s > acc->late_max_s)
    acc->late_max_s = x->late_max_s;
  for (int i = 0; i < SCHED_LATE_BUCKETS; i++)
    acc->late_hist[i] += x->late_hist[i];
  acc->running += x->running;
  acc->in_flight += x->in_flight;
  acc->queued += x->queued;
}

/* The scheduler counters over the probe's life: those of the schedulers
 * reloads replaced, of those still draining and of the running one, so
 * that /metrics counters do not start again at a reload. */
static void probe_sched_stats(const struct probe *p, struct sched_stats *out)
{
  *out = p->sched_gone;
  struct sched_stats x;
  for (const struct retiring *r = p->retiring; r; r = r->next) {
    sched_get_stats(r->sched, &x);
    sched_stats_add(out, &x);
  }
  if (p->sched) {
    sched_get_stats(p->sched, &x);
    sched_stats_add(out, &x);
    out->max_in_flight = x.max_in_flight;
    out->max_per_address = x.max_per_address;
  }
}

/* Results spooled and not, as spool_append said, less what batching then
 * could not write. */
static void spool_counts(struct probe *p, unsigned long long *spooled,
                         unsigned long long *errors)
{
  struct spool_stats ss = {0};
  if (p->spool)
    spool_get_stats(p->spool, &ss);
  *spooled = p->spooled - ss.lost_held;
  *errors = p->spool_errors + ss.lost_held;
}

static void log_stats(struct probe *p, const char *why)
{
  struct sched_stats st;
  probe_sched_stats(p, &st);
  unsigned long long spooled, spool_errors;
  spool_counts(p, &spooled, &spool_errors);
  vt_info("probe: %s: %llu rounds, %llu runs, %llu skipped (%llu still "
          "running when due, %llu found no room in their round), %llu "
          "results, %d running (%d of %d in flight, %d per address), %d "
          "queued; lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms; %llu "
          "spooled, %llu spool errors",
          why, (unsigned long long)st.rounds, (unsigned long long)st.runs,
          (unsigned long long)st.skipped, (unsigned long long)st.skipped_busy,
          (unsigned long long)st.skipped_budget, (unsigned long long)st.results,
          st.running, st.in_flight, st.max_in_flight, st.max_per_address,
          st.queued, 1000.0 * sched_late_quantile_s(&st, 0.50),
          1000.0 * sched_late_quantile_s(&st, 0.99), 1000.0 * st.late_max_s,
          spooled, spool_errors);
  struct dns_stats ds;
  dns_pool_get_stats(p->ctx.dns, &ds);
  vt_info("probe: %s: dns: %llu lookups sent, %llu queries answered by a "
          "lookup already going, %llu retries, %d in flight, %d queued",
          why, (unsigned long long)ds.lookups_sent,
          (unsigned long long)ds.coalesced, (unsigned long long)ds.retries,
          ds.in_flight, ds.queued);
  if (p->spool) {
    struct spool_stats ss;
    spool_get_stats(p->spool, &ss);
    vt_info("probe: %s: spool %llu bytes; %llu results lost (not "
            "writable), %llu dropped (oldest, at the cap), %llu refused (at "
            "the cap)",
            why, (unsigned long long)ss.bytes, (unsigned long long)ss.lost,
            (unsigned long long)ss.dropped, (unsigned long long)ss.refused);
  }
  for (size_t i = 0; p->uploader && i < p->n_uploads; i++) {
    struct uploader_stats us;
    uploader_get_stats(p->uploader, i, &us);
    vt_info("probe: %s: collector %zu: at record %llu, %llu batches, %llu "
            "records acknowledged, %llu failures, batches of %zu, %llu "
            "records set aside (refused), clock %+.0f s",
            why, i, (unsigned long long)us.cursor,
            (unsigned long long)us.batches, (unsigned long long)us.records,
            (unsigned long long)us.failures, us.batch_max,
            (unsigned long long)us.quarantined, us.clock_skew_s);
  }
}

/* GET /metrics and /healthz of probe.metrics_listen (docs/metrics.md). */
static int probe_http(void *arg, const char *path, const char **ctype,
                      struct vt_buf *b)
{
  struct probe *p = arg;
  if (strcmp(path, "/healthz") == 0) {
    *ctype = "application/json";
    return vt_buf_addf(b, "{\"status\":\"ok\",\"probe\":\"%s\"}\n",
                       p->conf->name) == VT_OK
               ? 200
               : 500;
  }
  if (strcmp(path, "/metrics") != 0) {
    return vt_buf_adds(b, "not found\n") == VT_OK ? 404 : 500;
  }
  *ctype = VT_PROM_CONTENT_TYPE;
  struct probe_metrics pm = {.name = p->conf->name,
                             .results_ok = p->results_ok,
                             .results_failed = p->results_failed,
                             .spool_next =
                                 p->spool ? spool_next_record(p->spool) : 0,
                             .uploader = p->uploader,
                             .collectors = p->conf->collectors,
                             .n_collectors = p->n_uploads};
  spool_counts(p, &pm.spooled, &pm.spool_errors);
  probe_sched_stats(p, &pm.sched);
  if (p->spool)
    spool_get_stats(p->spool, &pm.spool);
  if (p->ctx.dns)
    dns_pool_get_stats(p->ctx.dns, &pm.dns);
  return probe_metrics_render(&pm, b) == VT_OK ? 200 : 500;
}

static void break_loop(void *arg)
{
  struct probe *p = arg;
  ev_break(p->loop, EVBREAK_ALL);
}

/* SIGTERM, second step: the checks have finished and their results are in
 * the spool; send what the collectors do not have yet, bounded by the
 * longest upload timeout, then exit. */
static void checks_stopped(void *arg)
{
  struct probe *p = arg;
  spool_flush(p->spool); /* the last results, for the drain to read */
  if (!p->uploader) {
    ev_break(p->loop, EVBREAK_ALL);
    return;
  }
  double drain_s = 0;
  for (size_t i = 0; i < p->conf->n_collectors; i++)
    if (p->conf->collectors[i].timeout_s > drain_s)
      drain_s = p->conf->collectors[i].timeout_s;
  vt_notice("probe: checks finished; sending what the spool still holds "
            "(at most %.0f s)",
            drain_s);
  uploader_drain(p->uploader, drain_s, break_loop, p);
}

static bool str_same(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* True when a and b upload the same way (the probe name signs requests). */
static bool collectors_same(const struct probe_conf *a,
                            const struct probe_conf *b)
{
  if (a->n_collectors != b->n_collectors ||
      (a->n_collectors && strcmp(a->name, b->name) != 0))
    return false;
  for (size_t i = 0; i < a->n_collectors; i++) {
    const struct probe_collector_conf *x = &a->collectors[i],
                                      *y = &b->collectors[i];
    if (!str_same(x->url, y->url) || !str_same(x->ca_file, y->ca_file) ||
        x->verify != y->verify || x->batch_max != y->batch_max ||
        x->timeout_s != y->timeout_s || x->key.len != y->key.len ||
        memcmp(x->key.bytes, y->key.bytes, x->key.len) != 0)
      return false;
  }
  return true;
}

/* Replaces the uploader after a reload changed the collector settings. The
 * new one resumes from the cursor files; a batch the old one had in flight
 * is sent again (the collector drops what it already has). On failure the
 * old one keeps going. */
static void reload_uploader(struct probe *p, const struct probe_conf *nc)
{
  struct uploader *nu = NULL;
  if (nc->n_collectors) {
    enum vt_status st;
    nu = uploader_create(p->loop, p->ctx.curl, p->spool_dir, nc->name,
                         nc->collectors, nc->n_collectors, &st);
    if (!nu) {
      vt_err("probe: reload: cannot set up the new collector settings (%s); "
             "uploading as before",
             vt_strerror(st));
      return;
    }
  }
  uploader_follow(nu, p->spool);
  uploader_destroy(p->uploader);
  p->uploader = nu;
  p->n_uploads = nc->n_collectors;
  vt_notice("probe: collector settings changed: uploading to %zu "
            "collector%s",
            nc->n_collectors, nc->n_collectors == 1 ? "" : "s");
}

/* Moves the /metrics listener to nc's probe.metrics_listen when that
 * changed: the new socket first, so that a bad address (unparsable, in
 * use, not local) keeps the old listener, and says why. */
static void reload_metrics(struct probe *p, const struct probe_conf *nc)
{
  if (str_same(p->metrics_addr, nc->metrics_listen))
    return;
  if (!nc->metrics_listen) {
    metrics_http_stop(p->metrics);
    p->metrics = NULL;
    vt_notice("probe: probe.metrics_listen removed: no longer listening on "
              "%s",
              p->metrics_addr);
    free(p->metrics_addr);
    p->metrics_addr = NULL;
    return;
  }
  char *addr = strdup(nc->metrics_listen);
  enum vt_status st = VT_ENOMEM;
  struct metrics_http *nm =
      addr ? metrics_http_start(p->loop, addr, probe_http, p, &st) : NULL;
  if (!nm) {
    vt_err("probe: reload: cannot listen on %s for /metrics (%s); %s%s",
           nc->metrics_listen, vt_strerror(st),
           p->metrics_addr ? "still listening on " : "not listening",
           p->metrics_addr ? p->metrics_addr : "");
    free(addr);
    return;
  }
  metrics_http_stop(p->metrics);
  vt_notice("probe: /metrics and /healthz now on %s%s%s", addr,
            p->metrics_addr ? " instead of " : "",
            p->metrics_addr ? p->metrics_addr : "");
  free(p->metrics_addr);
  p->metrics = nm;
  p->metrics_addr = addr;
}

static void retired_idle(void *arg)
{
  struct retiring *r = arg;
  struct probe *p = r->probe;
  for (struct retiring **pp = &p->retiring; *pp; pp = &(*pp)->next) {
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  }
  sched_forget(p->sched, r->sched);
  struct sched_stats gone;
  sched_get_stats(r->sched, &gone);
  gone.running = gone.in_flight = gone.queued = 0; /* drained */
  sched_stats_add(&p->sched_gone, &gone);
  sched_destroy(r->sched);
  probe_conf_free(r->conf);
  free(r);
  vt_debug("probe: previous configuration drained");
}

/* Loads the configuration file. When it has no targets of its own, they
 * come from the text last fetched from the collector (TARGETS_FETCH_FILE in
 * spool_dir, or in the file's own spool directory when NULL), if there is
 * one. A saved text that is rejected fails the load, or, with fallback,
 * leaves the probe without targets until the collector sends new ones. */
static enum vt_status load_conf(const char *path, const char *spool_dir,
                                bool fallback, struct probe_conf **out)
{
  struct probe_conf *nc = NULL, *full = NULL;
  enum vt_status st = probe_conf_load(path, &nc);
  if (st != VT_OK || !nc->targets_fetched)
    goto out;
  char saved[PATH_MAX];
  snprintf(saved, sizeof(saved), "%s/%s", spool_dir ? spool_dir : nc->spool_dir,
           TARGETS_FETCH_FILE);
  if (access(saved, F_OK) != 0)
    goto out; /* nothing fetched yet */
  st = probe_conf_load_fetched(path, saved, &full);
  if (st == VT_OK) {
    probe_conf_free(nc);
    nc = full;
  } else if (fallback && st == VT_ECONFIG) {
    vt_warn("probe: the targets saved in %s are rejected (see above); "
            "waiting for targets from %s",
            saved, nc->collectors[0].url);
    st = VT_OK;
  }
out:
  if (st != VT_OK) {
    probe_conf_free(nc);
    return st;
  }
  *out = nc;
  return VT_OK;
}

static void sync_fetch(struct probe *p);

/* Puts nc (loaded and valid; ownership moves here) in place of the running
 * configuration: a new scheduler takes over the address sets and running
 * checks of the old one, which drains; the uploader and the targets
 * fetcher are made anew when their settings changed. SIGHUP and new
 * fetched targets both come through here. On failure the running
 * configuration stays. */
static void apply_conf(struct probe *p, struct probe_conf *nc)
{
  if (p->stopping) {
    probe_conf_free(nc);
    return;
  }
  if (strcmp(nc->spool_dir, p->conf->spool_dir) != 0)
    vt_warn("probe: probe.spool_dir changed to %s; it takes effect at the "
            "next restart (still spooling to %s)",
            nc->spool_dir, p->conf->spool_dir);
  if (p->spool && (nc->spool_max_mb != p->conf->spool_max_mb ||
                   nc->spool_full != p->conf->spool_full))
    spool_set_cap(p->spool, (uint64_t)(nc->spool_max_mb * 1048576.0),
                  nc->spool_full);
  struct sched *ns = sched_create(&p->ctx, nc, emit_spool, p);
  struct retiring *r = calloc(1, sizeof(*r));
  if (!ns || !r) {
    vt_err("probe: reload: out of memory; the running configuration stays");
    sched_destroy(ns);
    probe_conf_free(nc);
    free(r);
    return;
  }
  sched_adopt(ns, p->sched);
  sched_budget_set_limits(p->ctx.budget, nc);
  dns_pool_set_max_in_flight(p->ctx.dns, nc->dns_max_in_flight);
  if (!collectors_same(p->conf, nc))
    reload_uploader(p, nc);
  reload_metrics(p, nc);
  *r = (struct retiring){
      .sched = p->sched, .conf = p->conf, .probe = p, .next = p->retiring};
  p->retiring = r;
  sched_stop(r->sched, retired_idle, r);
  p->sched = ns;
  p->conf = nc;
  if (nc->log_level_set)
    vt_log_threshold = nc->log_level;
  sched_start(ns, false, NULL, NULL);
  size_t checks = 0;
  for (size_t i = 0; i < nc->n_targets; i++)
    checks += nc->targets[i].n_checks;
  vt_notice("probe: reloaded: %zu targets, %zu checks", nc->n_targets, checks);
  sync_fetch(p);
}

/* targets_fetch_fn, daemon: the collector sent new, valid targets. */
static void on_targets(struct probe_conf *nc, void *arg)
{
  if (nc)
    apply_conf(arg, nc);
}

/* Keeps the targets fetcher in line with the running configuration: one
 * while the targets come from the collector, made anew when the settings
 * it uses changed. Runs from the fetcher's own callback too, which allows
 * destroying it. */
static void sync_fetch(struct probe *p)
{
  const struct probe_conf *c = p->conf;
  if (!c->targets_fetched) {
    if (p->fetch)
      vt_notice("probe: the configuration has targets of its own: no "
                "longer fetching them");
    targets_fetch_destroy(p->fetch);
    p->fetch = NULL;
    return;
  }
  if (p->fetch && targets_fetch_same(p->fetch, c))
    return;
  enum vt_status st;
  struct targets_fetch *nf =
      targets_fetch_create(p->loop, p->ctx.curl, p->config_path, p->spool_dir,
                           c, c->n_targets > 0, on_targets, p, &st);
  if (!nf) {
    vt_err("probe: cannot set up fetching the targets (%s)%s", vt_strerror(st),
           p->fetch ? "; fetching as before" : "");
    return;
  }
  targets_fetch_destroy(p->fetch);
  p->fetch = nf;
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
  struct probe *p = w->data;
  if (p->stopping)
    return;
  vt_notice("probe: SIGHUP: reloading %s", p->config_path);
  if (p->spool)
    spool_flush(p->spool); /* the results so far written, as at exit */
  struct probe_conf *nc = NULL;
  if (load_conf(p->config_path, p->spool_dir, false, &nc) != VT_OK) {
    vt_err("probe: reload of %s rejected; the running configuration stays",
           p->config_path);
    return;
  }
  apply_conf(p, nc);
  /* A text rejected before may fit the file now, and whoever reloads
   * wants the collector's latest targets. */
  if (p->fetch)
    targets_fetch_poke(p->fetch);
}

static void on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
  struct probe *p = w->data;
  if (p->stopping) {
    vt_notice("probe: signal %d again: exiting now", w->signum);
    ev_break(loop, EVBREAK_ALL);
    return;
  }
  p->stopping = true;
  struct sched_stats st;
  sched_get_stats(p->sched, &st);
  vt_notice("probe: signal %d: stopping; letting %d running checks finish",
            w->signum, st.running);
  for (struct retiring *r = p->retiring; r; r = r->next)
    sched_stop(r->sched, NULL, NULL);
  /* No new targets while stopping. */
  targets_fetch_destroy(p->fetch);
  p->fetch = NULL;
  /* First the running checks finish (each within its timeout), then the
   * uploader drains (checks_stopped); what it cannot send stays in the
   * spool for the next start. */
  sched_stop(p->sched, checks_stopped, p);
}

static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
  log_stats(w->data, "statistics");
}

static void on_fsync(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct probe *p = w->data;
  (void)spool_sync(p->spool);
}

static void on_stats(struct ev_loop *loop, ev_timer *w, int revents)
{
  log_stats(w->data, "statistics");
}

/* targets_fetch_fn, --once: the collector's targets, or NULL. */
static void on_once_targets(struct probe_conf *nc, void *arg)
{
  struct probe *p = arg;
  if (nc) {
    probe_conf_free(p->conf);
    p->conf = nc;
  }
  ev_break(p->loop, EVBREAK_ALL);
}

/* --once without targets in the file: asks the collector once, bounded by
 * its timeout, before anything runs. False when no targets came. */
static bool fetch_once(struct probe *p)
{
  enum vt_status st;
  p->fetch = targets_fetch_create(p->loop, p->ctx.curl, p->config_path, NULL,
                                  p->conf, false, on_once_targets, p, &st);
  if (p->fetch) {
    ev_run(p->loop, 0);
    targets_fetch_destroy(p->fetch);
    p->fetch = NULL;
  }
  if (p->conf->n_targets > 0)
    return true;
  vt_err("probe: --once: %s has no targets and none could be fetched from "
         "%s",
         p->config_path, p->conf->collectors[0].url);
  return false;
}

static int run(struct probe *p)
{
  int rc = EXIT_OK;
  p->loop = EV_DEFAULT;
  p->ctx.loop = p->loop;
  p->ctx.curl = curl_loop_create(p->loop);
  p->ctx.dns = dns_pool_create(p->loop);
  p->ctx.cache = p->ctx.dns ? dns_cache_create(p->ctx.dns) : NULL;
  if (!p->ctx.curl || !p->ctx.dns || !p->ctx.cache) {
    vt_err("probe: cannot set up libcurl or c-ares on the event loop");
    rc = EXIT_RUNTIME;
    goto out;
  }
  if (!p->once) {
    enum vt_status st;
    p->spool = spool_open(p->conf->spool_dir, p->conf->fsync, 0, &st);
    if (!p->spool || !(p->spool_dir = strdup(p->conf->spool_dir))) {
      rc = EXIT_RUNTIME;
      goto out;
    }
    spool_set_cap(p->spool, (uint64_t)(p->conf->spool_max_mb * 1048576.0),
                  p->conf->spool_full);
    spool_batch(p->spool, p->loop); /* few writes, not one per result */
    if (p->conf->n_collectors) {
      p->uploader =
          uploader_create(p->loop, p->ctx.curl, p->spool_dir, p->conf->name,
                          p->conf->collectors, p->conf->n_collectors, &st);
      if (!p->uploader) {
        rc = EXIT_RUNTIME;
        goto out;
      }
      uploader_follow(p->uploader, p->spool);
      p->n_uploads = p->conf->n_collectors;
    }
  } else if (p->conf->targets_fetched && !fetch_once(p)) {
    rc = EXIT_RUNTIME;
    goto out;
  }
  p->ctx.budget = sched_budget_create(p->loop, p->conf);
  if (p->ctx.budget)
    p->sched =
        sched_create(&p->ctx, p->conf, p->once ? emit_stdout : emit_spool, p);
  dns_pool_set_max_in_flight(p->ctx.dns, p->conf->dns_max_in_flight);
  if (!p->sched) {
    vt_err("probe: out of memory");
    rc = EXIT_RUNTIME;
    goto out;
  }

  ev_signal_init(&p->sig_term, on_term, SIGTERM);
  ev_signal_init(&p->sig_int, on_term, SIGINT);
  p->sig_term.data = p->sig_int.data = p;
  ev_signal_start(p->loop, &p->sig_term);
  ev_signal_start(p->loop, &p->sig_int);
  ev_signal_init(&p->sig_usr1, on_usr1, SIGUSR1);
  p->sig_usr1.data = p;
  ev_signal_start(p->loop, &p->sig_usr1);

  if (p->once) {
    sched_start(p->sched, true, break_loop, p);
  } else {
    ev_signal_init(&p->sig_hup, on_hup, SIGHUP);
    p->sig_hup.data = p;
    ev_signal_start(p->loop, &p->sig_hup);
    if (p->conf->fsync == PROBE_FSYNC_INTERVAL) {
      ev_timer_init(&p->fsync_timer, on_fsync, p->conf->fsync_interval_s,
                    p->conf->fsync_interval_s);
      p->fsync_timer.data = p;
      ev_timer_start(p->loop, &p->fsync_timer);
    }
    ev_timer_init(&p->stats_timer, on_stats, STATS_INTERVAL_S,
                  STATS_INTERVAL_S);
    p->stats_timer.data = p;
    ev_timer_start(p->loop, &p->stats_timer);
    size_t checks = 0;
    for (size_t i = 0; i < p->conf->n_targets; i++)
      checks += p->conf->targets[i].n_checks;
    vt_notice("probe: %s started: %zu targets, %zu checks, spool %s, %zu "
              "collector%s",
              p->conf->name, p->conf->n_targets, checks, p->conf->spool_dir,
              p->n_uploads, p->n_uploads == 1 ? "" : "s");
    if (p->conf->targets_fetched && p->conf->n_targets == 0)
      vt_notice("probe: waiting for targets from %s",
                p->conf->collectors[0].url);
    else if (p->conf->targets_fetched)
      vt_notice("probe: checking the targets last fetched from %s (%s/%s) "
                "while asking for new ones",
                p->conf->collectors[0].url, p->spool_dir, TARGETS_FETCH_FILE);
    sync_fetch(p);
    sched_start(p->sched, false, NULL, NULL);
    if (p->conf->metrics_listen) {
      enum vt_status mst;
      p->metrics = metrics_http_start(p->loop, p->conf->metrics_listen,
                                      probe_http, p, &mst);
      if (!p->metrics || !(p->metrics_addr = strdup(p->conf->metrics_listen))) {
        rc = EXIT_RUNTIME;
        goto out;
      }
    }
  }
  ev_run(p->loop, 0);
  fflush(stdout);
  if (!p->once) {
    log_stats(p, "exiting");
  } else {
    struct sched_stats st;
    sched_get_stats(p->sched, &st);
    if (st.skipped)
      vt_warn("probe: --once: %llu runs skipped by the probe (no room in the "
              "budget of %d checks in flight, %d per address, within their "
              "round): no data for them, not failures",
              (unsigned long long)st.skipped, st.max_in_flight,
              st.max_per_address);
  }
  if (p->once && p->fail && p->once_failed) {
    fprintf(stderr, "vantage-probe: %llu of %llu results failed\n",
            p->once_failed, p->once_results);
    rc = EXIT_RUNTIME;
  }

out:
  metrics_http_stop(p->metrics);
  p->metrics = NULL;
  free(p->metrics_addr);
  p->metrics_addr = NULL;
  while (p->retiring) {
    struct retiring *r = p->retiring;
    p->retiring = r->next;
    sched_destroy(r->sched);
    probe_conf_free(r->conf);
    free(r);
  }
  sched_destroy(p->sched);
  sched_budget_destroy(p->ctx.budget);
  /* Before curl_loop_destroy: they remove their easy handles from the
   * multi. */
  targets_fetch_destroy(p->fetch);
  uploader_destroy(p->uploader);
  spool_close(p->spool);
  free(p->spool_dir);
  dns_cache_destroy(p->ctx.cache);
  dns_pool_destroy(p->ctx.dns);
  curl_loop_destroy(p->ctx.curl);
  if (p->loop) {
    ev_signal_stop(p->loop, &p->sig_term);
    ev_signal_stop(p->loop, &p->sig_int);
    ev_signal_stop(p->loop, &p->sig_usr1);
    ev_signal_stop(p->loop, &p->sig_hup);
    ev_timer_stop(p->loop, &p->fsync_timer);
    ev_timer_stop(p->loop, &p->stats_timer);
  }
  return rc;
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"check", no_argument, NULL, 'k'},
      {"once", no_argument, NULL, 'o'},
      {"fail", no_argument, NULL, 'F'},
      {"log-level", required_argument, NULL, 'l'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  /* The ad-hoc check has options of its own. */
  if (argc > 1 && strcmp(argv[1], "check") == 0)
    return adhoc_main(argc - 1, argv + 1);
  struct probe p = {.config_path = DEFAULT_CONFIG};
  bool check_only = false, level_given = false;
  enum vt_log_level level = VT_LOG_INFO;
  int c;
  while ((c = getopt_long(argc, argv, "c:l:vqhV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      p.config_path = optarg;
      break;
    case 'k':
      check_only = true;
      break;
    case 'o':
      p.once = true;
      break;
    case 'F':
      p.fail = true;
      break;
    default: {
      int rc = vt_cli_std_option("vantage-probe", c, optarg, &level,
                                 &level_given, usage);
      if (rc >= 0)
        return rc;
    }
    }
  }
  if (!vt_cli_no_operands("vantage-probe", argc, argv, optind))
    return EXIT_USAGE;
  if (p.fail && !p.once) {
    fprintf(stderr, "vantage-probe: --fail goes with --once\n");
    return EXIT_USAGE;
  }
  if (check_only && p.once) {
    fprintf(stderr, "vantage-probe: --check and --once exclude each other\n");
    return EXIT_USAGE;
  }
  vt_log_init("vantage-probe", level);
  vt_log_set_plain(check_only || p.once);

  /* The daemon starts with the targets last fetched, if its file has none. */
  enum vt_status st = check_only || p.once
                          ? probe_conf_load(p.config_path, &p.conf)
                          : load_conf(p.config_path, NULL, true, &p.conf);
  if (st != VT_OK)
    return st == VT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
  if (p.conf->log_level_set && !level_given)
    vt_log_threshold = p.conf->log_level;
  if (check_only && p.conf->targets_fetched) {
    printf("%s: ok (probe %s; no targets of its own: they are fetched from "
           "%s)\n",
           p.config_path, p.conf->name, p.conf->collectors[0].url);
    probe_conf_free(p.conf);
    return EXIT_OK;
  }
  if (check_only) {
    size_t checks = 0;
    for (size_t i = 0; i < p.conf->n_targets; i++)
      checks += p.conf->targets[i].n_checks;
    printf("%s: ok (probe %s, %zu targets, %zu checks)\n", p.config_path,
           p.conf->name, p.conf->n_targets, checks);
    probe_conf_free(p.conf);
    return EXIT_OK;
  }

  /* A peer closing mid-write must be an error return, not a signal. */
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
      ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
    vt_err("probe: cannot initialise libcurl or c-ares");
    probe_conf_free(p.conf);
    return EXIT_RUNTIME;
  }
  vt_buf_init(&p.line, 0);
  int rc = run(&p);
  vt_buf_cleanup(&p.line);
  probe_conf_free(p.conf);
  ares_library_cleanup();
  curl_global_cleanup();
  return rc;
}
