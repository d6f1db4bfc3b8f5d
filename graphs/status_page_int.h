/* SPDX-License-Identifier: MIT */
/* The status page's rooms (status_page*.c) share this: the model of one
 * build and the functions one room calls in another. Private to graphs/. */
#ifndef GRAPHS_STATUS_PAGE_INT_H
#define GRAPHS_STATUS_PAGE_INT_H

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
#include "present.h"
#include "report.h"
#include "series.h"
#include "vt_time.h"
#include "wire.h"

#define STATUS_PAGE_DAYS 90
#define STATUS_PAGE_INCIDENT_DAYS 30
#define STATUS_PAGE_DAY_S 86400.0
/* A service whose newest result is older than this (or 3 x the quorum
 * silence / the RRD heartbeat, if longer) is shown as "no data": probes
 * run every few seconds to a minute, so ten minutes without any result is
 * blindness, not a slow probe. */
#define STATUS_PAGE_STALE_MIN_S 600.0
/* Announcements with an end stay on the page this long after it, so the
 * "completed" note of last night's maintenance is still there tomorrow. */
#define STATUS_PAGE_ANN_KEEP_S (7 * 86400.0)
/* Graph plot areas. The wide image (about 860 pixels with axes and the
 * legend) fits the page's column at its native size; the narrow one
 * (about 330 pixels, no title, no vertical label) fits a 390-pixel phone,
 * which gets it through <picture>. Neither is ever scaled by CSS. */
#define STATUS_PAGE_GRAPH_W 700
#define STATUS_PAGE_GRAPH_H 200
#define STATUS_PAGE_GRAPH_NW 200
#define STATUS_PAGE_GRAPH_NH 160
#define STATUS_PAGE_NARROW_MEDIA "(max-width: 56rem)"
/* The probes view of each address: one range. */
#define STATUS_PAGE_PROBES_RANGE 1
#define STATUS_PAGE_ALT_SPANS 5
#define STATUS_PAGE_MARKER ".vantage-status-page"
#define STATUS_PAGE_DEFAULT_TITLE "Service status"

enum status_page_state {
  STATUS_PAGE_OPERATIONAL,
  STATUS_PAGE_DEGRADED,
  STATUS_PAGE_DOWN,
  STATUS_PAGE_MAINTENANCE,
  STATUS_PAGE_NODATA,
};

/* Machine name (status.json, CSS class) and label of each state. */
extern const char *const status_page_state_names[];
extern const char *const status_page_state_labels[];

enum status_page_day_class {
  STATUS_PAGE_DAY_OK,    /* >= 99.9 % */
  STATUS_PAGE_DAY_WARN,  /* >= 99 % */
  STATUS_PAGE_DAY_BAD,   /* < 99 % */
  STATUS_PAGE_DAY_MAINT, /* maintenance that day, no downtime below 99.9 % */
  STATUS_PAGE_DAY_NODATA,
};

/* CSS class suffix and status.json name of each day class. */
extern const char *const status_page_day_names[];

struct status_page_day {
  double measured_s, down_s, degraded_s, maint_s;
  double nodata_s;     /* every probe of the service silent */
  double availability; /* NAN when nothing was measured */
  enum status_page_day_class cls;
};

enum status_page_ann_kind {
  STATUS_PAGE_ANN_MAINTENANCE,
  STATUS_PAGE_ANN_HOTFIX,
  STATUS_PAGE_ANN_INCIDENT,
  STATUS_PAGE_ANN_NOTICE,
};

extern const char *const status_page_ann_kinds[];

extern const char *const status_page_ann_labels[];

struct status_page_ann {
  enum status_page_ann_kind kind;
  char *title, *text; /* text may be NULL */
  double start, end;  /* NAN when not given */
  char **targets;     /* none = every service */
  size_t n_targets;
  bool from_window; /* a maintenance window of the collector */
  int rank;         /* sort order, set by status_page_ann_collect */
  double key;
};

/* An operator's note on an incident, from the announcements file's
 * "notes" list: attached to the latest incident of its service that began
 * at or before it (STATUS_PAGE_NOTE_GRACE_S later at most). */
struct status_page_note {
  char *target, *text;
  double at;
  long inc; /* index into x->inc after status_page_notes; -1 = none */
};
#define STATUS_PAGE_NOTE_GRACE_S 300.0

struct status_page_graph {
  bool ok;
  int width, height;
  const char *missing; /* why there is no image, when !ok */
  char alt[1024];
  bool narrow_ok; /* the narrow rendering, for phones */
  int nwidth, nheight;
};

/* The probes view of one address of a service. */
struct status_page_pgraph {
  char ip[64];
  char slug[64]; /* the address in a file name (':' as '-') */
  struct status_page_graph g;
};

struct status_page_range {
  const char *slug, *label, *phrase;
  double span_s;
};
#define STATUS_PAGE_N_RANGES 4
extern const struct status_page_range status_page_ranges[STATUS_PAGE_N_RANGES];

struct status_page_kind {
  enum graph_kind kind;
  const char *slug, *label, *phrase;
};
#define STATUS_PAGE_N_KINDS 3
extern const struct status_page_kind status_page_kinds[STATUS_PAGE_N_KINDS];

/* The report periods shown per service and in status.json; each is one
 * report_compute over all targets, so the figures are the report's. */
enum {
  STATUS_PAGE_P_MONTH,
  STATUS_PAGE_P_PREV_MONTH,
  STATUS_PAGE_P_90D,
  STATUS_PAGE_P_24H, /* the badges' */
  STATUS_PAGE_P_30D,
  STATUS_PAGE_N_PERIODS
};
extern const char *const status_page_period_names[];

struct status_page_svc {
  const char *name; /* borrowed from the target list */
  enum status_page_state state;
  double first_ts, last_ts; /* NAN without series */
  /* Time span of the series each graph kind draws (NAN: none), so a
   * graph that cannot have data is not even asked for. */
  double drawn[STATUS_PAGE_N_KINDS][2];
  struct status_page_day days[STATUS_PAGE_DAYS];
  const struct report_target *rt[STATUS_PAGE_N_PERIODS];
  struct status_page_graph graphs[STATUS_PAGE_N_KINDS][STATUS_PAGE_N_RANGES];
  struct status_page_pgraph *pg; /* per address with tcp/http checks */
  size_t n_pg;
  uint64_t ev_fp;         /* fingerprint of its event rows (graph_jobs.h) */
  const char *probes[32]; /* that have series of it (borrowed) */
  size_t n_probes;
};

/* One incident: a chain of adjoining host rows of a target (degraded, then
 * down, then degraded again is one incident), or an address outage that no
 * host row covers. */
struct status_page_incident {
  size_t svc;
  double start, end; /* end NAN while open */
  bool down, maintenance;
  const char *end_reason; /* of the row that ended it; NULL = recovered */
  double down_s;
  const struct gr_outage *host; /* first host row; NULL for a lone address */
  const struct gr_outage **addrs;
  size_t n_addrs;
};

/* Everything one build reads, computed before anything is written. */
struct status_page_ctx {
  struct gr_ctx *g;
  const struct coll_conf *conf;
  const char *title;
  double now;  /* whole seconds, so the report periods can be re-run */
  double day0; /* start of the oldest of the 90 UTC days */
  double period[STATUS_PAGE_N_PERIODS][2];
  char **names;
  size_t n;
  struct status_page_svc *svc;
  struct gr_series *series;
  size_t n_series;
  struct gr_outage *outages; /* every target, the 90 days */
  size_t n_outages;
  struct gr_maint *maint; /* every target, 90 days back and the future */
  size_t n_maint;
  struct status_page_ann *ann;
  size_t n_ann;
  struct status_page_note *notes; /* by time */
  size_t n_notes;
  struct gr_probe_event *pev; /* by probe, then time */
  size_t n_pev;
  struct status_page_incident *inc;
  size_t n_inc;
  struct report *rep[STATUS_PAGE_N_PERIODS];
  char tmp[PATH_MAX];
  const char *dir; /* the output folder (the previous build, if any) */
  int workers;     /* graph worker processes; 0 = one per core */
  struct graph_jobs_stats gstats;
  double t_jobs, t_reports; /* when the graph jobs started; the reports' time */
};

/* Pages are built with many small appends; the first failure sticks and is
 * checked once when the file is written (like a FILE's error flag), which
 * keeps the templates readable. */
struct status_page_out {
  struct vt_buf b;
  enum vt_status st;
};

/* status_page_present.c */
void status_page_put(struct status_page_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void status_page_raw(struct status_page_out *o, const char *s, size_t len);
void status_page_escn(struct status_page_out *o, const char *s, size_t len);
void status_page_esc(struct status_page_out *o, const char *s);
void status_page_esc_text(struct status_page_out *o, const char *s);
void status_page_time(struct status_page_out *o, double t);
double status_page_month(double t, int delta);

/* status_page_ann.c */
void status_page_ann_free(struct status_page_ann *a, size_t n);
void status_page_notes_free(struct status_page_note *v, size_t n);
const char *status_page_ann_phase(const struct status_page_ann *a, double now);
bool status_page_ann_for(const struct status_page_ann *a, const char *svc);
enum vt_status status_page_ann_collect(struct status_page_ctx *x);

/* status_page_model.c */
long status_page_svc_index(const struct status_page_ctx *x, const char *target);
void status_page_ctx_free(struct status_page_ctx *x);
enum vt_status status_page_load(struct status_page_ctx *x);

/* The availability reports of every period (x->rep, each service's rt[]):
 * only the pages need them, so they are computed while the graphs are
 * drawn. */
enum vt_status status_page_load_reports(struct status_page_ctx *x);

/* status_page_publish.c */
enum vt_status status_page_write_file(const char *dir, const char *rel,
                                      struct status_page_out *o);
void status_page_rmtree(const char *path);
void status_page_split(const char *dir, char *parent, size_t psize,
                       const char **base);
void status_page_clean_leftovers(const char *dir);
enum vt_status status_page_swap(const char *dir, const char *tmp, double now);

/* status_page_html.c */
extern const char status_page_favicon[];
extern const char status_page_css[];
void status_page_seen(struct status_page_out *o, const struct gr_outage *r);
void status_page_index(struct status_page_out *o,
                       const struct status_page_ctx *x);
void status_page_service(struct status_page_out *o,
                         const struct status_page_ctx *x, size_t si);
void status_page_probes_page(struct status_page_out *o,
                             const struct status_page_ctx *x, size_t si);

/* status_page_json.c */
void status_page_json(struct status_page_out *o,
                      const struct status_page_ctx *x);

/* status_page_feed.c */
void status_page_feed(struct status_page_out *o,
                      const struct status_page_ctx *x);
enum vt_status status_page_badges(const struct status_page_ctx *x,
                                  struct status_page_out *o);

#endif
