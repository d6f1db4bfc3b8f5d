/* SPDX-License-Identifier: MIT */
/* The static status page (see status_page.h): current state per service,
 * 90-day uptime bars, incident history, announcements and the graphs, as
 * plain HTML + CSS (no JavaScript, no external assets) plus status.json,
 * built in a temporary folder and swapped in atomically. This file holds
 * the graphs and the build; the other rooms are status_page_model.c (the
 * data), _ann.c (announcements, notes), _html.c, _json.c, _feed.c (Atom,
 * badges), _publish.c (files, the swap) and _present.c (the output
 * buffer; the rules themselves are present.h's). */
#include "config.h"

#include "status_page.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "collector_config.h"
#include "dataset.h"
#include "fsutil.h"
#include "graph.h"
#include "graph_jobs.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "vt_time.h"
#include "wire.h"

#include "status_page_int.h"

/* ---- graphs -------------------------------------------------------------- */

/* Alt text that says what the image shows, spans included, so the graph
 * is not only a picture. */
static void status_page_alt(char *out, size_t size, const char *svc, size_t k,
                            size_t r, const struct graph_info *info)
{
  int n;
  if (status_page_kinds[k].kind == GRAPH_LOAD_SHIFT) {
    snprintf(out, size,
             "Load-shift graph of %s over %s: the share of DNS answers and "
             "client requests that went to each address, stacked.",
             svc, status_page_ranges[r].phrase);
    return;
  }
  if (status_page_kinds[k].kind == GRAPH_TRAFFIC) {
    snprintf(out, size,
             "Traffic graph of %s over %s: the load each address's server "
             "reported (per second), stacked, with the DNS answer changes "
             "marked.",
             svc, status_page_ranges[r].phrase);
    return;
  }
  n = snprintf(out, size,
               "Outage-gap graph of %s over %s: latency per address, broken "
               "and shaded where an address was unreachable. ",
               svc, status_page_ranges[r].phrase);
  if (n < 0 || (size_t)n >= size)
    return;
  if (!info->n_spans) {
    snprintf(out + n, size - (size_t)n, "No outages in this period.");
    return;
  }
  n += snprintf(out + n, size - (size_t)n, "Spans shown: ");
  for (size_t i = 0; i < info->n_spans && i < STATUS_PAGE_ALT_SPANS; i++) {
    if (n < 0 || (size_t)n >= size)
      return;
    const struct graph_span *sp = &info->spans[i];
    n += snprintf(out + n, size - (size_t)n, "%s%s %s %s", i ? "; " : "",
                  sp->ip[0] ? sp->ip : "all addresses",
                  sp->nodata ? "no data" : "unreachable", sp->label);
  }
  if (n >= 0 && (size_t)n < size && info->n_spans > STATUS_PAGE_ALT_SPANS)
    n += snprintf(out + n, size - (size_t)n, "; and %zu more",
                  info->n_spans - STATUS_PAGE_ALT_SPANS);
  if (n >= 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, ".");
}

/* Where a job's result goes: a graph of a service (kind k, range r; k ==
 * STATUS_PAGE_N_KINDS for the probes view of address pg), wide or narrow. */
struct status_page_slot {
  size_t svc, k, r, pg;
  bool narrow;
};

struct status_page_jobs {
  const struct status_page_ctx *x;
  struct graph_job *jobs;
  struct status_page_slot *slots;
  size_t n;
};

static void status_page_job_alt(struct graph_job *job,
                                const struct graph_info *info, void *arg)
{
  const struct status_page_jobs *js = arg;
  const struct status_page_slot *sl = &js->slots[job - js->jobs];
  const struct status_page_svc *s = &js->x->svc[sl->svc];
  if (sl->k < STATUS_PAGE_N_KINDS) {
    status_page_alt(job->alt, sizeof(job->alt), s->name, sl->k, sl->r, info);
    return;
  }
  int n = snprintf(job->alt, sizeof(job->alt),
                   "Latency of %s (%s) as each probe saw it over %s: one "
                   "line per probe, outages shaded, partial events hatched. ",
                   s->pg[sl->pg].ip, s->name, status_page_ranges[sl->r].phrase);
  for (size_t i = 0; i < info->n_spans && n > 0 &&
                     (size_t)n < sizeof(job->alt) && i < STATUS_PAGE_ALT_SPANS;
       i++) {
    const struct graph_span *sp = &info->spans[i];
    n += snprintf(job->alt + n, sizeof(job->alt) - (size_t)n, "%s%s %s%s%s",
                  i ? "; " : "",
                  sp->nodata    ? "no data"
                  : sp->partial ? "partial event, seen by"
                                : "unreachable",
                  sp->partial ? sp->seen : "", sp->partial ? ", " : "",
                  sp->label);
  }
}

/* The fingerprint of a graph (graph_jobs.h): what it shows, with the range
 * end and the newest value counted in steps of STATUS_PAGE_REDRAW_FRACTION
 * of the range (each graph's steps at a phase of its own), and the
 * service's event rows. A 3-hour graph is redrawn
 * when its end moved by 108 s (7 pixels), a 30-day one by 7.2 hours; an
 * outage that starts or ends redraws at once (the event rows). Redrawing
 * at every pixel would redraw nearly every graph at every build of a page
 * with a thousand services, which is then slower than its interval. */
#define STATUS_PAGE_REDRAW_FRACTION 0.01
static uint64_t status_page_fp(const struct status_page_ctx *x,
                               const struct status_page_svc *s,
                               const struct graph_job *j, const double *drawn)
{
  double span = j->opts.end - j->opts.start;
  double px = span * STATUS_PAGE_REDRAW_FRACTION;
  /* Each graph's steps start at a phase of its own (from its service, kind
   * and range; the same for its wide and narrow image), so a build redraws
   * an even share of each range's graphs, not all 3-hour graphs of every
   * service at once every 108 s and all day graphs at once every 864 s. */
  char ph[300];
  int phl = snprintf(ph, sizeof(ph), "%s|%d|%s|%.0f", s->name,
                     (int)j->opts.kind, j->opts.ip ? j->opts.ip : "", span);
  double phase =
      (double)(graph_jobs_fp(GRAPH_JOBS_FP0, ph, phl > 0 ? (size_t)phl : 0) %
               1000003u) /
      1000003.0 * px;
  char key[512];
  int len =
      snprintf(key, sizeof(key), "%s|%s|%s|%d|%s|%d|%d|%d|%.0f|%.0f|%.0f",
               PACKAGE_VERSION, j->name, s->name, (int)j->opts.kind,
               j->opts.ip ? j->opts.ip : "", j->opts.width, j->opts.height,
               (int)j->opts.compact, floor((x->now + phase) / px),
               floor((drawn[1] + phase) / px), drawn[0]);
  uint64_t h = graph_jobs_fp(GRAPH_JOBS_FP0, key, len > 0 ? (size_t)len : 0);
  return graph_jobs_fp(h, &s->ev_fp, sizeof(s->ev_fp));
}

/* Adds the wide and the narrow job of one graph, or says why there is
 * none. */
static void status_page_add_jobs(struct status_page_jobs *js,
                                 struct status_page_svc *s,
                                 struct status_page_graph *gr,
                                 struct status_page_slot slot,
                                 enum graph_kind kind, const char *ip,
                                 const char *base, const double *d)
{
  const struct status_page_ctx *x = js->x;
  double start = x->now - status_page_ranges[slot.r].span_s;
  /* graph_render logs a graph without series as an error; here it is
   * normal (a service without DNS checks has no load shift), so it is
   * not asked for at all. */
  if (isnan(d[0])) {
    /* A service without load checks has no traffic figure at all. */
    gr->missing = kind == GRAPH_TRAFFIC ? NULL
                  : kind == GRAPH_LOAD_SHIFT
                      ? "No DNS or client-view checks for this service."
                      : "No TCP or HTTP checks for this service.";
    return;
  }
  if (d[1] < start || d[0] > x->now) {
    gr->missing = "No data for this period.";
    return;
  }
  for (int narrow = 0; narrow < 2; narrow++) {
    struct graph_job *j = &js->jobs[js->n];
    *j = (struct graph_job){
        .opts =
            {
                .kind = kind,
                .target = s->name,
                .ip = ip,
                .start = start,
                .end = x->now,
                .format = GRAPH_PNG,
                .width = narrow ? STATUS_PAGE_GRAPH_NW : STATUS_PAGE_GRAPH_W,
                .height = narrow ? STATUS_PAGE_GRAPH_NH : STATUS_PAGE_GRAPH_H,
                .compact = narrow,
            },
    };
    snprintf(j->name, sizeof(j->name), "%s%s.png", base,
             narrow ? "-narrow" : "");
    j->fp = status_page_fp(x, s, j, d);
    slot.narrow = narrow;
    js->slots[js->n++] = slot;
  }
}

/* graph_jobs_meanwhile_fn: the reports, while the workers draw. */
static enum vt_status status_page_reports(void *arg)
{
  struct status_page_ctx *x = arg;
  enum vt_status st = status_page_load_reports(x);
  x->t_reports = vt_time_mono() - x->t_jobs;
  return st;
}

/* Renders every service's graphs (2 kinds x 4 ranges, and the probes view
 * of each address over one range; each wide and narrow) into tmp/graphs,
 * in parallel, redrawing only those whose fingerprint changed since the
 * build in x->dir. A graph without data (or with unreadable files, logged
 * by graph_render) becomes a text in the page; only running out of memory
 * or an unwritable folder stops the build. */
static enum vt_status status_page_graphs(struct status_page_ctx *x)
{
  char gdir[PATH_MAX], prev[PATH_MAX];
  snprintf(gdir, sizeof(gdir), "%s/graphs", x->tmp);
  snprintf(prev, sizeof(prev), "%s/graphs", x->dir);
  if (mkdir(gdir, 0755) != 0) {
    vt_err("status page: %s: cannot create: %s", gdir, strerror(errno));
    return VT_EIO;
  }
  size_t cap = 0;
  for (size_t i = 0; i < x->n; i++)
    cap += 2 * (STATUS_PAGE_N_KINDS * STATUS_PAGE_N_RANGES + x->svc[i].n_pg);
  struct status_page_jobs js = {
      .x = x,
      .jobs = calloc(cap ? cap : 1, sizeof(*js.jobs)),
      .slots = calloc(cap ? cap : 1, sizeof(*js.slots)),
  };
  enum vt_status st = VT_ENOMEM;
  if (!js.jobs || !js.slots)
    goto out;
  for (size_t i = 0; i < x->n; i++) {
    struct status_page_svc *s = &x->svc[i];
    for (size_t k = 0; k < STATUS_PAGE_N_KINDS; k++)
      for (size_t r = 0; r < STATUS_PAGE_N_RANGES; r++) {
        char base[160];
        snprintf(base, sizeof(base), "%s-%s-%s", s->name,
                 status_page_kinds[k].slug, status_page_ranges[r].slug);
        status_page_add_jobs(
            &js, s, &s->graphs[k][r],
            (struct status_page_slot){.svc = i, .k = k, .r = r},
            status_page_kinds[k].kind, NULL, base, s->drawn[k]);
      }
    for (size_t p = 0; p < s->n_pg; p++) {
      char base[160];
      snprintf(base, sizeof(base), "%s-probes-%s-%s", s->name, s->pg[p].slug,
               status_page_ranges[STATUS_PAGE_PROBES_RANGE].slug);
      status_page_add_jobs(
          &js, s, &s->pg[p].g,
          (struct status_page_slot){.svc = i,
                                    .k = STATUS_PAGE_N_KINDS,
                                    .r = STATUS_PAGE_PROBES_RANGE,
                                    .pg = p},
          GRAPH_PROBES, s->pg[p].ip, base, s->drawn[0]);
    }
  }
  x->t_jobs = vt_time_mono();
  st = graph_jobs_run(x->g, js.jobs, js.n, gdir, prev, x->workers,
                      status_page_job_alt, &js, status_page_reports, x,
                      &x->gstats);
  if (st != VT_OK)
    goto out;
  for (size_t i = 0; i < js.n; i++) {
    const struct status_page_slot *sl = &js.slots[i];
    const struct graph_job *j = &js.jobs[i];
    struct status_page_svc *s = &x->svc[sl->svc];
    struct status_page_graph *gr = sl->k < STATUS_PAGE_N_KINDS
                                       ? &s->graphs[sl->k][sl->r]
                                       : &s->pg[sl->pg].g;
    bool ok = j->state == GRAPH_JOB_OK;
    if (sl->narrow) {
      gr->narrow_ok = ok;
      gr->nwidth = j->width;
      gr->nheight = j->height;
      continue;
    }
    gr->ok = ok;
    gr->width = j->width;
    gr->height = j->height;
    snprintf(gr->alt, sizeof(gr->alt), "%s", j->alt);
    if (!ok)
      gr->missing = j->state == GRAPH_JOB_NODATA
                        ? "No data for this period."
                        : "This graph could not be drawn (the data could not "
                          "be read).";
  }
out:
  free(js.jobs);
  free(js.slots);
  return st;
}

/* ---- the build ----------------------------------------------------------- */

static enum vt_status status_page_write_all(struct status_page_ctx *x)
{
  enum vt_status st = VT_OK;
  struct status_page_out o = {.st = VT_OK};
  vt_buf_init(&o.b, 0);
  char sdir[PATH_MAX];
  snprintf(sdir, sizeof(sdir), "%s/services", x->tmp);
  if (mkdir(sdir, 0755) != 0) {
    vt_err("status page: %s: cannot create: %s", sdir, strerror(errno));
    st = VT_EIO;
    goto out;
  }
  status_page_raw(&o, status_page_css, strlen(status_page_css));
  if ((st = status_page_write_file(x->tmp, "style.css", &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_raw(&o, status_page_favicon, strlen(status_page_favicon));
  if ((st = status_page_write_file(x->tmp, "favicon.svg", &o)) != VT_OK)
    goto out;
  for (size_t i = 0; i < x->n; i++) {
    vt_buf_reset(&o.b);
    status_page_service(&o, x, i);
    char rel[96];
    snprintf(rel, sizeof(rel), "%s.html", x->names[i]);
    if ((st = status_page_write_file(sdir, rel, &o)) != VT_OK)
      goto out;
    if (!x->svc[i].n_pg)
      continue;
    vt_buf_reset(&o.b);
    status_page_probes_page(&o, x, i);
    snprintf(rel, sizeof(rel), "%s-probes.html", x->names[i]);
    if ((st = status_page_write_file(sdir, rel, &o)) != VT_OK)
      goto out;
  }
  if ((st = status_page_badges(x, &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_feed(&o, x);
  if ((st = status_page_write_file(x->tmp, "feed.xml", &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_json(&o, x);
  if ((st = status_page_write_file(x->tmp, "status.json", &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_index(&o, x);
  if ((st = status_page_write_file(x->tmp, "index.html", &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_put(&o, "vantage-graph status page; this folder is replaced "
                      "as a whole by every build\n");
  st = status_page_write_file(x->tmp, STATUS_PAGE_MARKER, &o);
out:
  vt_buf_cleanup(&o.b);
  return st;
}

enum vt_status status_page_build(struct gr_ctx *g, const char *dir_arg)
{
  return status_page_build_jobs(g, dir_arg, 0);
}

enum vt_status status_page_build_jobs(struct gr_ctx *g, const char *dir_arg,
                                      int workers)
{
  double t0 = vt_time_mono();
  char dir[PATH_MAX];
  size_t len = strlen(dir_arg);
  while (len > 1 && dir_arg[len - 1] == '/')
    len--;
  /* Room for ".vTIME.PID" and the files inside. */
  if (len == 0 || len + 128 >= sizeof(dir)) {
    vt_err("status page: \"%s\": not a usable output folder", dir_arg);
    return VT_EINVAL;
  }
  memcpy(dir, dir_arg, len);
  dir[len] = '\0';
  if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0 ||
      strcmp(dir, "..") == 0 ||
      (strrchr(dir, '/') && (strcmp(strrchr(dir, '/'), "/.") == 0 ||
                             strcmp(strrchr(dir, '/'), "/..") == 0))) {
    vt_err("status page: \"%s\": give the folder by name (it is replaced as "
           "a whole)",
           dir_arg);
    return VT_EINVAL;
  }

  struct status_page_ctx x = {
      .g = g, .conf = gr_conf(g), .dir = dir, .workers = workers};
  x.title =
      x.conf->status_title ? x.conf->status_title : STATUS_PAGE_DEFAULT_TITLE;
  x.now = floor(vt_time_wall());
  double today = floor(x.now / STATUS_PAGE_DAY_S) * STATUS_PAGE_DAY_S;
  x.day0 = today - (STATUS_PAGE_DAYS - 1) * STATUS_PAGE_DAY_S;
  x.period[STATUS_PAGE_P_MONTH][0] = status_page_month(x.now, 0);
  x.period[STATUS_PAGE_P_MONTH][1] = x.now;
  x.period[STATUS_PAGE_P_PREV_MONTH][0] = status_page_month(x.now, -1);
  x.period[STATUS_PAGE_P_PREV_MONTH][1] = x.period[STATUS_PAGE_P_MONTH][0];
  x.period[STATUS_PAGE_P_90D][0] = x.day0;
  x.period[STATUS_PAGE_P_90D][1] = x.now;
  x.period[STATUS_PAGE_P_24H][0] = x.now - STATUS_PAGE_DAY_S;
  x.period[STATUS_PAGE_P_24H][1] = x.now;
  x.period[STATUS_PAGE_P_30D][0] = x.now - 30 * STATUS_PAGE_DAY_S;
  x.period[STATUS_PAGE_P_30D][1] = x.now;

  enum vt_status st = status_page_load(&x);
  if (st != VT_OK)
    goto out;
  double t_load = vt_time_mono();

  char parent[PATH_MAX];
  const char *base;
  status_page_split(dir, parent, sizeof(parent), &base);
  if (vt_mkdir_p(parent, 0755) != 0) {
    vt_err("status page: %s: cannot create: %s", parent, strerror(errno));
    st = VT_EIO;
    goto out;
  }
  status_page_clean_leftovers(dir);
  snprintf(x.tmp, sizeof(x.tmp), "%s.tmp.%ld", dir, (long)getpid());
  if (mkdir(x.tmp, 0755) != 0) {
    vt_err("status page: %s: cannot create: %s", x.tmp, strerror(errno));
    st = VT_EIO;
    goto out;
  }
  double t_graphs = 0, t_pages = 0;
  if ((st = status_page_graphs(&x)) != VT_OK ||
      (t_graphs = vt_time_mono(), (st = status_page_write_all(&x)) != VT_OK) ||
      (t_pages = vt_time_mono(),
       (st = status_page_swap(dir, x.tmp, x.now)) != VT_OK)) {
    status_page_rmtree(x.tmp);
    goto out;
  }
  double t_end = vt_time_mono();
  vt_info("status page: %s: %zu service%s, %zu incident%s, %zu "
          "announcement%s, built in %.2fs; graphs: %zu drawn by %zu "
          "worker%s, %zu unchanged",
          dir, x.n, x.n == 1 ? "" : "s", x.n_inc, x.n_inc == 1 ? "" : "s",
          x.n_ann, x.n_ann == 1 ? "" : "s", t_end - t0, x.gstats.rendered,
          x.gstats.workers, x.gstats.workers == 1 ? "" : "s", x.gstats.reused);
  vt_debug("status page: %s: data %.2fs, graphs %.2fs (the reports %.2fs "
           "of it, beside the workers), pages %.2fs, publishing %.2fs",
           dir, t_load - t0, t_graphs - x.t_jobs, x.t_reports,
           t_pages - t_graphs, t_end - t_pages);
out:
  /* Other failures were logged where they happened, with their cause. */
  if (st == VT_ENOMEM)
    vt_err("status page: %s: out of memory; not updated", dir);
  status_page_ctx_free(&x);
  return st;
}

void status_page_usage(FILE *out)
{
  fprintf(out,
          "  status-page [-o DIR]\n"
          "      Write the static status page: index.html, one page per\n"
          "      service (services/NAME.html), style.css, graphs/ and\n"
          "      status.json. No JavaScript; any web server can serve it.\n"
          "      DIR becomes a symbolic link to a new folder, swapped\n"
          "      atomically, so a reader never sees a half-written page.\n"
          "      -o, --output DIR   the folder (default: status.output_dir\n"
          "                         of the collector's configuration)\n"
          "      -j, --jobs N       graph worker processes (default 0: one\n"
          "                         per core). Graphs whose events did not\n"
          "                         change and whose range and data moved by\n"
          "                         less than 1 %% of the range since the\n"
          "                         previous build in DIR are reused.\n");
}

int status_page_cmd(struct gr_ctx *g, int argc, char **argv)
{
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'},
      {"jobs", required_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *dir = NULL;
  int c, workers = 0;
  char *end;
  optind = 0; /* glibc: rescan from argv[1] for this subcommand */
  while ((c = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      dir = optarg;
      break;
    case 'j':
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || v < 0 || v > 64) {
        fprintf(stderr,
                "vantage-graph: status-page: --jobs: \"%s\" is not "
                "a number of processes from 0 (one per core) to "
                "64\n",
                optarg);
        return 2;
      }
      workers = (int)v;
      break;
    case 'h':
      printf("Usage: vantage-graph [-c FILE] status-page [-o DIR]\n");
      status_page_usage(stdout);
      return 0;
    default:
      fprintf(stderr, "Try 'vantage-graph status-page --help' for more "
                      "information.\n");
      return 2;
    }
  }
  if (!g) {
    status_page_usage(stdout);
    return 0;
  }
  if (optind < argc) {
    fprintf(stderr, "vantage-graph: status-page: unexpected argument \"%s\"\n",
            argv[optind]);
    return 2;
  }
  if (!dir)
    dir = gr_conf(g)->status_dir;
  if (!dir) {
    fprintf(stderr, "vantage-graph: status-page: no folder: give -o DIR or "
                    "set status.output_dir in the collector's "
                    "configuration\n");
    return 2;
  }
  enum vt_status st = status_page_build_jobs(g, dir, workers);
  return st == VT_OK ? 0 : st == VT_ECONFIG || st == VT_EINVAL ? 2 : 1;
}
