/* SPDX-License-Identifier: MIT */
/* vantage-collector: authenticates probes, stores their results as RRD
 * series and events, and decides outages by a quorum of vantage points.
 * This file is wiring only: options, config, signals, request routing. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert.h"
#include "buf.h"
#include "cli.h"
#include "collector_config.h"
#include "events.h"
#include "fsutil.h"
#include "http_api.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "remote_write.h"
#include "retention.h"
#include "rrd_store.h"
#include "schema.h"
#include "vt_time.h"

#define DEFAULT_CONFIG "/etc/vantage/collector.cfg"
#define TICK_INTERVAL_S 5.0
#define GRAPH_PROGRAM "vantage-graph"
/* A rebuild running this many intervals (and at least this long) is
 * considered hung. */
#define STATUS_STUCK_FACTOR 10.0
#define STATUS_STUCK_MIN_S 600.0

extern char **environ;

enum exit_code {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1,
  EXIT_USAGE = 2,
};

struct collector {
  struct ev_loop *loop;
  const char *config_path;
  struct coll_conf *conf;
  struct rrd_store *rrd;
  struct events *ev;
  struct alerts *alerts; /* NULL without alerts.receivers */
  struct ingest *ingest;
  struct http_api *api;
  char *targets; /* contents of targets_file, served at /v1/targets */
  size_t targets_len;
  double started;
  ev_signal sig_hup, sig_term, sig_int;
  ev_timer tick;
  /* status page: vantage-graph runs as a child every status_interval_s */
  char graph_exe[PATH_MAX]; /* "" = search PATH */
  ev_timer status_timer;
  ev_child status_child;
  pid_t status_pid; /* 0 = no rebuild running */
  double status_started;
  unsigned status_failures; /* failed rebuilds in a row */
  unsigned status_skipped;  /* ticks skipped while the current one runs */
  bool status_slow;         /* rebuilds outlast the interval (logged) */
  /* retention sweep and disk use (retention.h), every sweep_interval_s */
  ev_timer sweep_timer;
  struct retention_stats disk;
  struct remote_write *rw; /* NULL = no receivers configured */
};

/* What the last retention sweep found: disk use of the RRD tree and the
 * event store, the file system's fill, series removed. */
static const struct retention_stats *collector_disk(const struct collector *c)
{
  return &c->disk;
}

static void usage(FILE *out)
{
  fprintf(
      out,
      "Usage: vantage-collector [OPTIONS]\n"
      "Receive signed result batches from vantage probes, store them as\n"
      "RRD series and SQLite events, and decide outages by quorum.\n"
      "\n"
      "Options:\n"
      "  -c, --config FILE     configuration file (default %s)\n"
      "      --check           validate the configuration and exit\n"
      "      --test-alert      send a test event to every alert receiver,\n"
      "                        print each result; exit 1 if one failed\n"
      "      --convert-rrd DIR convert the 7-data-source files below DIR\n"
      "                        (vantage <= 0.1) to the lean layout of their\n"
      "                        check type, keeping their history; stop the\n"
      "                        collector (and rrdcached) first\n"
      "  -l, --log-level LVL   err, warning, notice, info (default), debug\n"
      "  -v, --verbose         same as --log-level debug\n"
      "  -q, --quiet           same as --log-level warning\n"
      "  -h, --help            show this help and exit\n"
      "  -V, --version         show the version and exit\n"
      "\n"
      "HTTP API: POST /v1/results (signed batches), GET /v1/targets\n"
      "(signed), GET /healthz, GET /metrics (Prometheus).\n"
      "\n"
      "Signals: SIGHUP reloads probes, keys, quorum settings, targets and\n"
      "maintenance windows (a bad configuration is rejected and the\n"
      "running one kept); SIGTERM and SIGINT exit 0 after the request in\n"
      "progress.\n"
      "\n"
      "Exit status: 0 success, 1 runtime failure (storage, listening\n"
      "socket), 2 usage or configuration error.\n",
      DEFAULT_CONFIG);
}

static char *read_file(const char *path, size_t *len)
{
  struct vt_buf b;
  vt_buf_init(&b, 16u << 20);
  if (vt_buf_add_file(&b, path) != VT_OK) {
    vt_buf_cleanup(&b);
    return NULL;
  }
  char *s = vt_buf_take(&b, len);
  return s ? s : strdup("");
}

static enum vt_status load_targets(struct collector *c,
                                   const struct coll_conf *conf)
{
  free(c->targets);
  c->targets = NULL;
  c->targets_len = 0;
  if (!conf->targets_file)
    return VT_OK;
  c->targets = read_file(conf->targets_file, &c->targets_len);
  if (!c->targets) {
    vt_err("collector: %s: cannot read: %s", conf->targets_file,
           strerror(errno));
    return VT_EIO;
  }
  return VT_OK;
}

/* Hands the configured maintenance windows to the events and the alerts.
 * On the heap: a configuration may hold any number of windows. */
static enum vt_status apply_maintenance(struct collector *c,
                                        const struct coll_conf *conf)
{
  size_t n = conf->n_maint;
  struct events_maint *m = calloc(n ? n : 1, sizeof(*m));
  struct alert_maint *am = calloc(n ? n : 1, sizeof(*am));
  enum vt_status st = VT_ENOMEM;
  if (!m || !am) {
    vt_err("collector: maintenance: %zu windows: out of memory", n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    m[i] = (struct events_maint){.target = conf->maint[i].target,
                                 .start = conf->maint[i].start,
                                 .end = conf->maint[i].end,
                                 .reason = conf->maint[i].reason};
    am[i] = (struct alert_maint){.target = conf->maint[i].target,
                                 .start = conf->maint[i].start,
                                 .end = conf->maint[i].end};
  }
  st = events_set_maintenance(c->ev, m, n);
  if (st == VT_OK && c->alerts)
    st = alerts_set_maintenance(c->alerts, am, n);
out:
  free(m);
  free(am);
  return st;
}

/* A fixed JSON reply; 503 if even that cannot be built. */
static void set_reply(struct vt_buf *body, int *status, int code,
                      const char *json)
{
  vt_buf_reset(body);
  *status = vt_buf_adds(body, json) == VT_OK ? code : 503;
}

/* Checks that dir takes a new file (a read-only or full file system, a
 * file or nothing where the directory belongs); the reason into why. */
static bool health_dir(const char *dir, char *why, size_t why_len)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/.healthz-%ld", dir, (long)getpid());
  int fd =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  bool ok = fd >= 0 && write(fd, "x", 1) == 1;
  int err = errno;
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  if (!ok)
    snprintf(why, why_len, "data directory %s: cannot write: %s", dir,
             strerror(err));
  return ok;
}

/* GET /healthz: 200 with "status":"ok", or 503 with "status":"error" and
 * what is wrong (database unusable or locked, data directory not
 * writable); counters of the ingest and the front door either way. */
static void healthz(struct collector *c, int *status, struct vt_buf *body)
{
  struct ingest_stats is;
  struct events_stats es;
  struct http_api_stats hs;
  ingest_get_stats(c->ingest, &is);
  events_get_stats(c->ev, &es);
  http_api_get_stats(c->api, &hs);
  char why[3][512];
  int n_why = 0;
  char rrd_dir[4096];
  snprintf(rrd_dir, sizeof(rrd_dir), "%s/" VT_DATA_RRD, c->conf->data_dir);
  if (!health_dir(c->conf->data_dir, why[n_why], sizeof(why[0])))
    n_why++;
  if (!health_dir(rrd_dir, why[n_why], sizeof(why[0])))
    n_why++;
  if (events_health(c->ev, why[n_why], sizeof(why[0])) != VT_OK)
    n_why++;
  enum vt_status st = vt_buf_addf(
      body,
      "{\"status\":\"%s\",\"uptime_s\":%.0f,\"batches\":%llu,"
      "\"results\":%llu,\"duplicates\":%llu,\"rejected\":%llu,"
      "\"ahead\":%llu,\"outages_open\":%llu,\"partial_open\":%llu,"
      "\"connections\":%lu,\"buffered_bytes\":%zu,\"refused_limit\":%lu,"
      "\"closed_deadline\":%lu,\"evicted\":%lu,\"refused_memory\":%lu,"
      "\"refused_early\":%lu,\"refused_framing\":%lu,\"problems\":[",
      n_why ? "error" : "ok", vt_time_wall() - c->started, is.batches,
      is.results, is.duplicates, is.rejected, is.ahead,
      (unsigned long long)es.outages_open, (unsigned long long)es.partial_open,
      hs.connections, hs.buffered, hs.refused_limit, hs.closed_deadline,
      hs.evicted, hs.refused_memory, hs.refused_precheck, hs.refused_framing);
  for (int i = 0; st == VT_OK && i < n_why; i++) {
    if (i)
      st = vt_buf_adds(body, ",");
    if (st == VT_OK)
      st = vt_json_str(body, why[i]);
  }
  if (st == VT_OK)
    st = vt_buf_adds(body, "]");
  const struct retention_stats *d = collector_disk(c);
  if (st == VT_OK)
    st = vt_buf_addf(
        body,
        ",\"disk\":{\"rrd_bytes\":%llu,\"events_bytes\":%llu,"
        "\"series\":%llu,\"fs_free_bytes\":%llu,"
        "\"fs_used_percent\":%.1f,\"warning\":%s,"
        "\"series_removed\":%llu,\"swept_at\":%.0f}",
        (unsigned long long)d->rrd_bytes, (unsigned long long)d->events_bytes,
        (unsigned long long)d->n_series, (unsigned long long)d->fs_free,
        d->fs_used_percent, d->warning ? "true" : "false",
        (unsigned long long)d->removed_total, d->swept_at);
  /* ,"remote_write":{"<name>":<journal bytes not sent>,...} */
  if (st == VT_OK && c->rw) {
    st = vt_buf_adds(body, ",\"remote_write\":{");
    for (size_t i = 0; st == VT_OK && i < remote_write_count(c->rw); i++)
      st = vt_buf_addf(body, "%s\"%s\":%llu", i ? "," : "",
                       remote_write_name(c->rw, i),
                       (unsigned long long)remote_write_pending(c->rw, i));
    if (st == VT_OK)
      st = vt_buf_adds(body, "}");
  }
  if (st == VT_OK)
    st = vt_buf_adds(body, "}");
  *status = st != VT_OK || n_why ? 503 : 200;
}

/* http_api's precheck: a body is read only for POST /v1/results, and only
 * from a known probe with well-formed headers (ingest_precheck). */
static void precheck(void *arg, const struct http_api_request *req, int *status,
                     struct vt_buf *body)
{
  struct collector *c = arg;
  if (strcmp(req->path, "/v1/results") == 0 &&
      strcmp(req->method, "POST") == 0) {
    ingest_precheck(c->ingest, req, status, body);
    return;
  }
  set_reply(body, status, 405, "{\"error\":\"no request body expected\"}");
}

/* http_api_conf.done: the batch stages only the HTTP layer sees. */
static void request_done(void *arg, const char *path, int status, double body_s,
                         double reply_s)
{
  (void)arg;
  if (status != 200 || strcmp(path, "/v1/results") != 0)
    return;
  coll_metrics_observe(COLL_HIST_BATCH_RECEIVE, body_s);
  coll_metrics_observe(COLL_HIST_BATCH_ACK, reply_s);
}

static void handle(void *arg, const struct http_api_request *req, int *status,
                   const char **ctype, struct vt_buf *body)
{
  struct collector *c = arg;
  *ctype = "application/json";
  if (strcmp(req->path, "/v1/results") == 0) {
    if (strcmp(req->method, "POST") != 0) {
      set_reply(body, status, 405, "{\"error\":\"use POST\"}");
      return;
    }
    ingest_results(c->ingest, req, status, body);
    return;
  }
  if (strcmp(req->path, "/v1/targets") == 0 &&
      strcmp(req->method, "GET") == 0) {
    int code = ingest_verify_get(c->ingest, req, body);
    if (code) {
      *status = code;
      return;
    }
    if (!c->targets) {
      set_reply(body, status, 404,
                "{\"error\":\"no targets_file configured\"}");
      return;
    }
    *ctype = "text/plain; charset=utf-8";
    *status = vt_buf_add(body, c->targets, c->targets_len) == VT_OK ? 200 : 503;
    return;
  }
  if (strcmp(req->path, "/metrics") == 0 && strcmp(req->method, "GET") == 0) {
    *ctype = COLL_METRICS_CONTENT_TYPE;
    *status = coll_metrics_render(c->ingest, c->ev, c->alerts, c->rrd,
                                  collector_disk(c),
                                  vt_time_wall() - c->started, body) == VT_OK
                  ? 200
                  : 503;
    return;
  }
  if (strcmp(req->path, "/healthz") == 0 && strcmp(req->method, "GET") == 0) {
    healthz(c, status, body);
    return;
  }
  set_reply(body, status, 404, "{\"error\":\"not found\"}");
}

/* vantage-graph next to our own executable (an installed pair, or the
 * build tree), else the one on PATH. Resolved once: after a package
 * upgrade /proc/self/exe names a deleted file. */
static void status_find_graph(struct collector *c)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  c->graph_exe[0] = '\0';
  if (n <= 0)
    return;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash)
    return;
  slash[1] = '\0';
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof(path), "%s%s", self, GRAPH_PROGRAM) <
          sizeof(path) &&
      access(path, X_OK) == 0)
    snprintf(c->graph_exe, sizeof(c->graph_exe), "%s", path);
}

static void on_status_child(struct ev_loop *loop, ev_child *w, int revents)
{
  struct collector *c = w->data;
  ev_child_stop(loop, w);
  c->status_pid = 0;
  int ws = w->rstatus;
  double took = vt_time_mono() - c->status_started;
  if (c->status_skipped) {
    vt_debug("collector: status page: %u tick%s skipped while that rebuild "
             "ran (%.1fs)",
             c->status_skipped, c->status_skipped == 1 ? "" : "s", took);
    c->status_skipped = 0;
  } else if (c->status_slow) {
    vt_notice("collector: status page: rebuilds keep up with the interval "
              "again (%.1fs)",
              took);
    c->status_slow = false;
  }
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
    if (c->status_failures)
      vt_notice("collector: status page: rebuilt again after %u failed "
                "attempt%s",
                c->status_failures, c->status_failures == 1 ? "" : "s");
    c->status_failures = 0;
    vt_debug("collector: status page: rebuilt in %.2fs", took);
    return;
  }
  /* Once per streak: a broken page stays broken every interval, and the
   * child has logged its reason already (its stderr is ours). */
  if (c->status_failures++ == 0) {
    if (WIFEXITED(ws))
      vt_err("collector: status page: %s exited with status %d; the "
             "previous page stays; retrying every %gs (logged again on "
             "recovery)",
             GRAPH_PROGRAM, WEXITSTATUS(ws), c->status_timer.repeat);
    else
      vt_err("collector: status page: %s killed by signal %d; the previous "
             "page stays; retrying every %gs (logged again on recovery)",
             GRAPH_PROGRAM, WIFSIGNALED(ws) ? WTERMSIG(ws) : 0,
             c->status_timer.repeat);
  }
}

/* Starts `vantage-graph -c CONFIG status-page -o DIR` as a child. Graphs
 * and reports block on librrd and SQLite for seconds, so they never run
 * inside this loop; ev_child tells us when the child is done. */
static void status_rebuild(struct collector *c)
{
  const struct coll_conf *conf = c->conf;
  if (c->status_pid) {
    double running = vt_time_mono() - c->status_started;
    /* Once until rebuilds keep up again: a page that always takes longer
     * than the interval would otherwise warn at every tick. */
    if (c->status_skipped++ == 0 && !c->status_slow) {
      vt_warn("collector: status page: the rebuild started %.0fs ago (pid "
              "%ld) is still running; skipping ticks until it ends "
              "(consider a longer status.interval)",
              running, (long)c->status_pid);
      c->status_slow = true;
    }
    /* A child stuck for good (a hung rrdcached, a dead NFS mount) would
     * freeze the page silently; end it and let the next tick retry. */
    if (running > STATUS_STUCK_FACTOR * c->status_timer.repeat &&
        running > STATUS_STUCK_MIN_S && kill(c->status_pid, SIGKILL) == 0)
      vt_err("collector: status page: rebuild (pid %ld) stuck for %.0fs; "
             "killed it",
             (long)c->status_pid, running);
    return;
  }
  char *argv[] = {GRAPH_PROGRAM,          "-q",          "-c",
                  (char *)c->config_path, "status-page", "-o",
                  conf->status_dir,       NULL};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, dfl;
  sigemptyset(&none);
  /* libev may block the signals it watches and we ignore SIGPIPE; a
   * child must start with the default dispositions and an empty mask. */
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGHUP);
  sigaddset(&dfl, SIGTERM);
  sigaddset(&dfl, SIGINT);
  sigaddset(&dfl, SIGCHLD);
  int err = posix_spawn_file_actions_init(&fa);
  if (err)
    goto fail;
  err = posix_spawnattr_init(&attr);
  if (err) {
    posix_spawn_file_actions_destroy(&fa);
    goto fail;
  }
  /* During a failure streak the child's own error lines would repeat
   * every interval; the first ones said why, so later ones go nowhere. */
  if (!(err = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
                                               O_RDONLY, 0)) &&
      (!c->status_failures ||
       !(err = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
                                                O_WRONLY, 0))) &&
      !(err = posix_spawnattr_setsigmask(&attr, &none)) &&
      !(err = posix_spawnattr_setsigdefault(&attr, &dfl)) &&
      !(err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                  POSIX_SPAWN_SETSIGDEF))) {
    pid_t pid;
    err = c->graph_exe[0]
              ? posix_spawn(&pid, c->graph_exe, &fa, &attr, argv, environ)
              : posix_spawnp(&pid, GRAPH_PROGRAM, &fa, &attr, argv, environ);
    if (!err) {
      c->status_pid = pid;
      c->status_started = vt_time_mono();
      ev_child_set(&c->status_child, pid, 0);
      ev_child_start(c->loop, &c->status_child);
      vt_debug("collector: status page: rebuilding %s (pid %ld)",
               conf->status_dir, (long)pid);
    }
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (!err)
    return;
fail:
  if (c->status_failures++ == 0)
    vt_err("collector: status page: cannot start %s: %s; retrying every "
           "%gs (logged again on recovery)",
           c->graph_exe[0] ? c->graph_exe : GRAPH_PROGRAM, strerror(err),
           c->status_timer.repeat);
}

static void on_status_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
  status_rebuild(w->data);
}

/* (Re)arms the rebuild timer from the configuration: at start, and after
 * a reload that changed status.interval (the folder and the rest are read
 * at each rebuild). The first rebuild comes at once, so a restart
 * refreshes the page. */
static void status_configure(struct collector *c)
{
  const struct coll_conf *conf = c->conf;
  bool on = conf->status_dir && conf->status_interval_s > 0;
  if (!on) {
    if (ev_is_active(&c->status_timer))
      vt_notice("collector: status page: periodic rebuilds off");
    ev_timer_stop(c->loop, &c->status_timer);
    return;
  }
  if (ev_is_active(&c->status_timer) &&
      c->status_timer.repeat == conf->status_interval_s)
    return;
  ev_timer_stop(c->loop, &c->status_timer);
  ev_timer_set(&c->status_timer, 0., conf->status_interval_s);
  ev_timer_start(c->loop, &c->status_timer);
  vt_info("collector: status page: rebuilding %s every %gs with %s",
          conf->status_dir, conf->status_interval_s,
          c->graph_exe[0] ? c->graph_exe : GRAPH_PROGRAM " (from PATH)");
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct collector *c = w->data;
  const struct coll_conf *conf = c->conf;
  char rrd_dir[4096];
  snprintf(rrd_dir, sizeof(rrd_dir), "%s/" VT_DATA_RRD, conf->data_dir);
  const struct retention_conf rc = {.rrd_dir = rrd_dir,
                                    .data_dir = conf->data_dir,
                                    .keep_s = conf->retention_s,
                                    .archive_dir = conf->retention_archive,
                                    .warn_percent = conf->disk_warn_percent};
  (void)retention_sweep(&rc, vt_time_wall(), &c->disk);
  if (c->disk.removed)
    rrd_store_forget(c->rrd);
  /* The interval of a reloaded configuration applies from now on. */
  w->repeat = conf->sweep_interval_s;
  ev_timer_again(loop, w);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct collector *c = w->data;
  if (events_tick(c->ev, vt_time_wall()) != VT_OK)
    vt_debug("collector: periodic event work failed; retried at the next "
             "tick");
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
  struct collector *c = w->data;
  vt_notice("collector: SIGHUP: reloading %s", c->config_path);
  struct coll_conf *nc = NULL;
  if (coll_conf_load(c->config_path, &nc) != VT_OK) {
    vt_err("collector: reload of %s rejected; the running configuration "
           "stays",
           c->config_path);
    return;
  }
  const char *fixed[][3] = {
      {"collector.listen", c->conf->listen, nc->listen},
      {"collector.data_dir", c->conf->data_dir, nc->data_dir},
      {"collector.rrdcached", c->conf->rrdcached, nc->rrdcached},
      {"collector.tls_cert", c->conf->tls_cert, nc->tls_cert},
  };
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    const char *a = fixed[i][1], *b = fixed[i][2];
    if ((a || b) && (!a || !b || strcmp(a, b) != 0))
      vt_warn("collector: %s changed; it takes effect at the next restart",
              fixed[i][0]);
  }
  if (nc->step_s != c->conf->step_s)
    vt_warn("collector: storage.step changed; it applies to new RRD files "
            "only after a restart");
  if (load_targets(c, nc) != VT_OK || apply_maintenance(c, nc) != VT_OK) {
    vt_err("collector: reload of %s failed; the running configuration stays",
           c->config_path);
    load_targets(c, c->conf);
    coll_conf_free(nc);
    return;
  }
  events_set_quorum(c->ev, nc->quorum, nc->confirm, nc->silence_s);
  events_set_window(c->ev, nc->window_s);
  ingest_set_conf(c->ingest, nc);
  if (c->alerts) {
    alerts_set_conf(c->alerts, nc->alerts);
    alerts_set_quorum(c->alerts, nc->quorum);
  } else if (nc->alerts && nc->alerts->n_rx)
    vt_warn("collector: alerts.receivers added; they start at the next "
            "restart");
  coll_conf_free(c->conf);
  c->conf = nc;
  if (nc->log_level_set)
    vt_log_threshold = nc->log_level;
  status_configure(c);
  vt_notice("collector: reloaded: %zu probes, %zu maintenance windows, "
            "quorum %d of them, confirm %d",
            nc->n_probes, nc->n_maint, nc->quorum, nc->confirm);
}

static void on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
  vt_notice("collector: signal %d: stopping", w->signum);
  ev_break(loop, EVBREAK_ALL);
}

static int mkdir_one(const char *path)
{
  if (vt_mkdir_p(path, 0750) == 0)
    return 0;
  vt_err("collector: %s: cannot create: %s", path, strerror(errno));
  return -1;
}

static int run(struct collector *c)
{
  int rc = EXIT_RUNTIME;
  struct coll_conf *conf = c->conf;
  char rrd_dir[4096], db[4096];
  snprintf(rrd_dir, sizeof(rrd_dir), "%s/" VT_DATA_RRD, conf->data_dir);
  snprintf(db, sizeof(db), "%s/" VT_DATA_EVENTS, conf->data_dir);
  if (mkdir_one(conf->data_dir) || mkdir_one(rrd_dir))
    return EXIT_RUNTIME;

  enum vt_status st;
  struct rrd_store_conf rc_conf = {
      .dir = rrd_dir,
      .rrdcached = conf->rrdcached,
      .step_s = conf->step_s,
      .heartbeat_s = conf->heartbeat_s,
      .rra = conf->rra,
      .n_rra = conf->n_rra,
      .io_timeout_s = 5.0,
      .full_layout = conf->full_layout,
  };
  c->rrd = rrd_store_open(&rc_conf, &st);
  struct events_conf ec = {.path = db,
                           .quorum = conf->quorum,
                           .confirm = conf->confirm,
                           .silence_s = conf->silence_s,
                           .window_s = conf->window_s};
  c->ev = c->rrd ? events_open(&ec, &st) : NULL;
  if (c->ev && conf->alerts && conf->alerts->n_rx) {
    char adb[PATH_MAX];
    snprintf(adb, sizeof(adb), "%s/" VT_DATA_ALERTS, conf->data_dir);
    c->alerts = alerts_start(conf->alerts, adb, &st);
    if (!c->alerts)
      goto out;
    alerts_set_quorum(c->alerts, conf->quorum);
    events_set_observer(c->ev, alerts_observe, c->alerts);
  }
  if (!c->rrd || !c->ev || apply_maintenance(c, conf) != VT_OK ||
      load_targets(c, conf) != VT_OK)
    goto out;
  c->ingest = ingest_create(conf, c->rrd, c->ev);
  if (!c->ingest) {
    vt_err("collector: out of memory");
    goto out;
  }
  if (conf->n_rw) {
    /* Receivers are read at start (a reload keeps them). */
    struct remote_write_receiver *rr = calloc(conf->n_rw, sizeof(*rr));
    if (!rr) {
      vt_err("collector: out of memory");
      goto out;
    }
    for (size_t i = 0; i < conf->n_rw; i++)
      rr[i] = (struct remote_write_receiver){.name = conf->rw[i].name,
                                             .url = conf->rw[i].url};
    char rw_dir[4096];
    snprintf(rw_dir, sizeof(rw_dir), "%s/" VT_DATA_REMOTE_WRITE,
             conf->data_dir);
    c->rw = remote_write_open(rw_dir, rr, conf->n_rw, &st);
    free(rr);
    if (!c->rw)
      goto out;
    ingest_set_remote_write(c->ingest, c->rw);
  }
  c->loop = EV_DEFAULT;
  struct http_api_conf hc = {
      .listen = conf->listen,
      .tls_cert_file = conf->tls_cert,
      .tls_key_file = conf->tls_key,
      .max_body = (size_t)conf->max_body,
      .conn_limit = conf->max_connections,
      .conn_timeout_s = 30,
      .per_ip_limit = conf->max_connections_per_address,
      .header_timeout_s = conf->header_timeout_s,
      .body_timeout_s = conf->body_timeout_s,
      .max_buffered = (size_t)conf->max_buffered,
      .precheck = precheck,
      .done = request_done,
  };
  c->api = http_api_start(c->loop, &hc, handle, c, &st);
  if (!c->api)
    goto out;

  ev_signal_init(&c->sig_hup, on_hup, SIGHUP);
  ev_signal_init(&c->sig_term, on_term, SIGTERM);
  ev_signal_init(&c->sig_int, on_term, SIGINT);
  c->sig_hup.data = c;
  ev_signal_start(c->loop, &c->sig_hup);
  ev_signal_start(c->loop, &c->sig_term);
  ev_signal_start(c->loop, &c->sig_int);
  ev_timer_init(&c->tick, on_tick, TICK_INTERVAL_S, TICK_INTERVAL_S);
  c->tick.data = c;
  ev_timer_start(c->loop, &c->tick);
  status_find_graph(c);
  ev_timer_init(&c->sweep_timer, on_sweep, 0., conf->sweep_interval_s);
  c->sweep_timer.data = c;
  ev_timer_start(c->loop, &c->sweep_timer);
  ev_timer_init(&c->status_timer, on_status_timer, 0., 0.);
  c->status_timer.data = c;
  ev_child_init(&c->status_child, on_status_child, 0, 0);
  c->status_child.data = c;
  status_configure(c);
  c->started = vt_time_wall();
  vt_notice(
      "collector: started: %zu probes, data in %s%s%s, quorum %d, "
      "confirm %d",
      conf->n_probes, conf->data_dir, conf->rrdcached ? ", rrdcached " : "",
      conf->rrdcached ? conf->rrdcached : "", conf->quorum, conf->confirm);
  ev_run(c->loop, 0);
  rc = EXIT_OK;

out:
  if (c->loop) {
    ev_signal_stop(c->loop, &c->sig_hup);
    ev_signal_stop(c->loop, &c->sig_term);
    ev_signal_stop(c->loop, &c->sig_int);
    ev_timer_stop(c->loop, &c->tick);
    ev_timer_stop(c->loop, &c->sweep_timer);
    ev_timer_stop(c->loop, &c->status_timer);
    ev_child_stop(c->loop, &c->status_child);
  }
  /* A rebuild still running would outlive us; the next build removes
   * what it leaves. */
  if (c->status_pid && kill(c->status_pid, SIGTERM) == 0)
    vt_info("collector: status page: stopped the rebuild in progress "
            "(pid %ld)",
            (long)c->status_pid);
  http_api_stop(c->api);
  ingest_destroy(c->ingest);
  if (c->ev)
    events_set_observer(c->ev, NULL, NULL);
  alerts_stop(c->alerts);
  remote_write_close(c->rw);
  events_close(c->ev);
  rrd_store_close(c->rrd);
  free(c->targets);
  return rc;
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"check", no_argument, NULL, 'k'},
      {"convert-rrd", required_argument, NULL, 'C'},
      {"log-level", required_argument, NULL, 'l'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {"test-alert", no_argument, NULL, 'T'},
      {NULL, 0, NULL, 0},
  };
  struct collector c = {.config_path = DEFAULT_CONFIG};
  bool check_only = false, level_given = false, test_alert = false;
  const char *convert_dir = NULL;
  enum vt_log_level level = VT_LOG_INFO;
  int opt;
  while ((opt = getopt_long(argc, argv, "c:l:vqhV", opts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      c.config_path = optarg;
      break;
    case 'k':
      check_only = true;
      break;
    case 'T':
      test_alert = true;
      break;
    case 'C':
      convert_dir = optarg;
      break;
    default: {
      int rc = vt_cli_std_option("vantage-collector", opt, optarg, &level,
                                 &level_given, usage);
      if (rc >= 0)
        return rc;
    }
    }
  }
  if (!vt_cli_no_operands("vantage-collector", argc, argv, optind))
    return EXIT_USAGE;
  vt_log_init("vantage-collector", level);
  vt_log_set_plain(check_only || test_alert || convert_dir);
  if (convert_dir) {
    struct stat sb;
    if (stat(convert_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      fprintf(stderr, "vantage-collector: --convert-rrd %s: not a directory\n",
              convert_dir);
      return EXIT_USAGE;
    }
    size_t done = 0, failed = 0;
    enum vt_status st =
        rrd_store_convert_tree(convert_dir, 0, stdout, &done, &failed);
    printf("%zu file(s) converted, %zu failed\n", done, failed);
    return st == VT_OK ? EXIT_OK : EXIT_RUNTIME;
  }
  if (coll_conf_load(c.config_path, &c.conf) != VT_OK)
    return EXIT_USAGE;
  if (c.conf->log_level_set && !level_given)
    vt_log_threshold = c.conf->log_level;
  if (check_only) {
    printf("%s: ok (%zu probes, %zu maintenance windows)\n", c.config_path,
           c.conf->n_probes, c.conf->n_maint);
    coll_conf_free(c.conf);
    return EXIT_OK;
  }
  signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    vt_err("collector: cannot initialize libcurl");
    coll_conf_free(c.conf);
    return EXIT_RUNTIME;
  }
  if (test_alert) {
    int failed = alerts_test(c.conf->alerts);
    curl_global_cleanup();
    coll_conf_free(c.conf);
    return failed ? EXIT_RUNTIME : EXIT_OK;
  }
  int rc = run(&c);
  curl_global_cleanup();
  coll_conf_free(c.conf);
  return rc;
}
