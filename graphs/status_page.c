/* SPDX-License-Identifier: MIT */
/* The static status page (see status_page.h): current state per service,
 * 90-day uptime bars, incident history, announcements and the graphs, as
 * plain HTML + CSS (no JavaScript, no external assets) plus status.json,
 * built in a temporary folder and swapped in atomically. */
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
static const char *const status_page_state_names[] = {
    [STATUS_PAGE_OPERATIONAL] = "operational",
    [STATUS_PAGE_DEGRADED] = "degraded",
    [STATUS_PAGE_DOWN] = "down",
    [STATUS_PAGE_MAINTENANCE] = "maintenance",
    [STATUS_PAGE_NODATA] = "no_data",
};
static const char *const status_page_state_labels[] = {
    [STATUS_PAGE_OPERATIONAL] = "Operational",
    [STATUS_PAGE_DEGRADED] = "Degraded",
    [STATUS_PAGE_DOWN] = "Down",
    [STATUS_PAGE_MAINTENANCE] = "Maintenance",
    [STATUS_PAGE_NODATA] = "No data",
};

enum status_page_day_class {
  STATUS_PAGE_DAY_OK,    /* >= 99.9 % */
  STATUS_PAGE_DAY_WARN,  /* >= 99 % */
  STATUS_PAGE_DAY_BAD,   /* < 99 % */
  STATUS_PAGE_DAY_MAINT, /* maintenance that day, no downtime below 99.9 % */
  STATUS_PAGE_DAY_NODATA,
};

/* CSS class suffix and status.json name of each day class. */
static const char *const status_page_day_names[] = {
    [STATUS_PAGE_DAY_OK] = "ok",       [STATUS_PAGE_DAY_WARN] = "warn",
    [STATUS_PAGE_DAY_BAD] = "bad",     [STATUS_PAGE_DAY_MAINT] = "maint",
    [STATUS_PAGE_DAY_NODATA] = "none",
};

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

static const char *const status_page_ann_kinds[] = {
    [STATUS_PAGE_ANN_MAINTENANCE] = "maintenance",
    [STATUS_PAGE_ANN_HOTFIX] = "hotfix",
    [STATUS_PAGE_ANN_INCIDENT] = "incident",
    [STATUS_PAGE_ANN_NOTICE] = "notice",
};

static const char *const status_page_ann_labels[] = {
    [STATUS_PAGE_ANN_MAINTENANCE] = "Maintenance",
    [STATUS_PAGE_ANN_HOTFIX] = "Hotfix",
    [STATUS_PAGE_ANN_INCIDENT] = "Incident",
    [STATUS_PAGE_ANN_NOTICE] = "Notice",
};

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

static const struct {
  const char *slug, *label, *phrase;
  double span_s;
} status_page_ranges[] = {
    {"3h", "Last 3 hours", "the last 3 hours", 3 * 3600.0},
    {"1d", "Last day", "the last day", 86400.0},
    {"7d", "Last 7 days", "the last 7 days", 7 * 86400.0},
    {"30d", "Last 30 days", "the last 30 days", 30 * 86400.0},
};
#define STATUS_PAGE_N_RANGES                                                   \
  (sizeof(status_page_ranges) / sizeof(status_page_ranges[0]))

static const struct {
  enum graph_kind kind;
  const char *slug, *label, *phrase;
} status_page_kinds[] = {
    {GRAPH_OUTAGE_GAP, "outage-gap", "Outage gaps", "latency and outages"},
    {GRAPH_LOAD_SHIFT, "load-shift", "Load shift", "share per address"},
};
#define STATUS_PAGE_N_KINDS                                                    \
  (sizeof(status_page_kinds) / sizeof(status_page_kinds[0]))

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
static const char *const status_page_period_names[] = {
    "current_month", "previous_month", "last_90_days", "last_24_hours",
    "last_30_days"};

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

struct status_page_span {
  double start, end;
};

struct status_page_spans {
  struct status_page_span *v;
  size_t n, alloc;
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
};

/* ---- output buffer with a sticky error ------------------------------- */

/* Pages are built with many small appends; the first failure sticks and is
 * checked once when the file is written (like a FILE's error flag), which
 * keeps the templates readable. */
struct status_page_out {
  struct vt_buf b;
  enum vt_status st;
};

static void status_page_put(struct status_page_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void status_page_put(struct status_page_out *o, const char *fmt, ...)
{
  if (o->st != VT_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  o->st = vt_buf_vaddf(&o->b, fmt, ap);
  va_end(ap);
}

static void status_page_raw(struct status_page_out *o, const char *s,
                            size_t len)
{
  if (o->st == VT_OK)
    o->st = vt_buf_add(&o->b, s, len);
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is invalid,
 * overlong, a surrogate or a C1 control (all parse errors in HTML). */
static size_t status_page_utf8_len(const unsigned char *p)
{
  if (p[0] < 0x80)
    return 1;
  size_t n;
  unsigned cp, min;
  if ((p[0] & 0xe0) == 0xc0) {
    n = 2, cp = p[0] & 0x1fu, min = 0x80;
  } else if ((p[0] & 0xf0) == 0xe0) {
    n = 3, cp = p[0] & 0x0fu, min = 0x800;
  } else if ((p[0] & 0xf8) == 0xf0) {
    n = 4, cp = p[0] & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
      return 0;
    cp = cp << 6 | (p[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
      (cp >= 0x80 && cp <= 0x9f))
    return 0;
  return n;
}

/* Appends len bytes of s escaped for HTML text and quoted attributes.
 * Every string that comes from data (names, reasons, announcement text)
 * goes through here; bytes that are not valid UTF-8 and control characters
 * become U+FFFD so the page stays valid. */
static void status_page_escn(struct status_page_out *o, const char *s,
                             size_t len)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end && o->st == VT_OK) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p < 0x7f && *p != '&' && *p != '<' &&
           *p != '>' && *p != '"' && *p != '\'')
      p++;
    status_page_raw(o, (const char *)run, (size_t)(p - run));
    if (p >= end)
      break;
    size_t n = status_page_utf8_len(p);
    const char *rep = NULL;
    switch (*p) {
    case '&':
      rep = "&amp;";
      break;
    case '<':
      rep = "&lt;";
      break;
    case '>':
      rep = "&gt;";
      break;
    case '"':
      rep = "&quot;";
      break;
    case '\'':
      rep = "&#39;";
      break;
    case '\t':
    case '\n':
      rep = " ";
      break;
    default:
      if (*p < 0x20 || *p == 0x7f || n == 0 || p + n > end)
        rep = "\xef\xbf\xbd";
    }
    if (rep) {
      status_page_raw(o, rep, strlen(rep));
      p++;
    } else {
      status_page_raw(o, (const char *)p, n);
      p += n;
    }
  }
}

static void status_page_esc(struct status_page_out *o, const char *s)
{
  status_page_escn(o, s, strlen(s));
}

/* Free text (announcements): paragraphs at blank lines, <br> at single
 * line breaks, everything else escaped. */
static void status_page_esc_text(struct status_page_out *o, const char *s)
{
  status_page_put(o, "<p>");
  while (*s) {
    size_t n = strcspn(s, "\n");
    status_page_escn(o, s, n);
    s += n;
    size_t breaks = 0;
    while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
      breaks += *s++ == '\n';
    if (*s && breaks == 1)
      status_page_put(o, "<br>\n");
    else if (*s && breaks > 1)
      status_page_put(o, "</p>\n<p>");
  }
  status_page_put(o, "</p>\n");
}

/* ---- times and numbers --------------------------------------------------- */

enum status_page_tfmt {
  STATUS_PAGE_T_ISO,   /* 2026-11-21T10:02:13Z */
  STATUS_PAGE_T_HUMAN, /* 2026-11-21 10:02 UTC */
  STATUS_PAGE_T_DATE,  /* 2026-11-21 */
  STATUS_PAGE_T_MONTH, /* November 2026 */
};

/* Formats t (UTC); "?" if it does not fit. The formats are literals so
 * the compiler checks them. */
static char *status_page_fmt_time(double t, enum status_page_tfmt f, char *out,
                                  size_t size)
{
  time_t tt = (time_t)floor(t);
  struct tm tm;
  size_t n = 0;
  if (gmtime_r(&tt, &tm)) {
    switch (f) {
    case STATUS_PAGE_T_ISO:
      n = strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
      break;
    case STATUS_PAGE_T_HUMAN:
      n = strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
      break;
    case STATUS_PAGE_T_DATE:
      n = strftime(out, size, "%Y-%m-%d", &tm);
      break;
    case STATUS_PAGE_T_MONTH:
      n = strftime(out, size, "%B %Y", &tm);
      break;
    }
  }
  if (n == 0)
    snprintf(out, size, "?");
  return out;
}

/* <time datetime="2026-11-21T10:02:13Z">2026-11-21 10:02 UTC</time> */
static void status_page_time(struct status_page_out *o, double t)
{
  char iso[32], human[32];
  status_page_fmt_time(t, STATUS_PAGE_T_ISO, iso, sizeof(iso));
  status_page_fmt_time(t, STATUS_PAGE_T_HUMAN, human, sizeof(human));
  status_page_put(o, "<time datetime=\"%s\">%s</time>", iso, human);
}

/* Truncated, not rounded, to d decimals (as the report does): 0.9999996
 * must not read 1.000000. The small bias absorbs binary representation
 * error (0.999 * 1000 is 998.9999...). */
static double status_page_trunc(double a, int d)
{
  double scale = pow(10, d);
  return floor(a * scale + 1e-6) / scale;
}

/* "99.95 %" with d decimals, truncated like the report's figures so that
 * a day with any downtime never reads 100.00 %; "no data" for NAN. */
static char *status_page_pct(double availability, int d, char *out, size_t size)
{
  if (isnan(availability))
    snprintf(out, size, "no data");
  else
    snprintf(out, size, "%.*f %%", d,
             status_page_trunc(availability, d + 2) * 100.0);
  return out;
}

/* Start of the UTC month containing t, moved by delta months. */
static double status_page_month(double t, int delta)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon += delta;
  return (double)timegm(&tm);
}

/* ---- time spans ---------------------------------------------------------- */

static void status_page_spans_free(struct status_page_spans *s)
{
  free(s->v);
  *s = (struct status_page_spans){0};
}

static enum vt_status status_page_spans_add(struct status_page_spans *s,
                                            double start, double end)
{
  if (!(end > start))
    return VT_OK;
  if (s->n == s->alloc) {
    size_t na = s->alloc ? 2 * s->alloc : 16;
    struct status_page_span *nv = realloc(s->v, na * sizeof(*nv));
    if (!nv)
      return VT_ENOMEM;
    s->v = nv;
    s->alloc = na;
  }
  s->v[s->n++] = (struct status_page_span){start, end};
  return VT_OK;
}

static int status_page_span_cmp(const void *a, const void *b)
{
  const struct status_page_span *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

/* Sorts and joins overlapping spans, so lengths can be summed. */
static void status_page_spans_merge(struct status_page_spans *s)
{
  if (s->n < 2)
    return;
  qsort(s->v, s->n, sizeof(*s->v), status_page_span_cmp);
  size_t w = 0;
  for (size_t i = 1; i < s->n; i++) {
    if (s->v[i].start <= s->v[w].end) {
      if (s->v[i].end > s->v[w].end)
        s->v[w].end = s->v[i].end;
    } else {
      s->v[++w] = s->v[i];
    }
  }
  s->n = w + 1;
}

/* out = a minus b (both merged); out comes out merged. */
static enum vt_status status_page_spans_sub(const struct status_page_spans *a,
                                            const struct status_page_spans *b,
                                            struct status_page_spans *out)
{
  size_t j = 0;
  for (size_t i = 0; i < a->n; i++) {
    double cur = a->v[i].start, end = a->v[i].end;
    while (j < b->n && b->v[j].end <= cur)
      j++;
    for (size_t k = j; k < b->n && b->v[k].start < end; k++) {
      if (b->v[k].start > cur &&
          status_page_spans_add(out, cur, b->v[k].start) != VT_OK)
        return VT_ENOMEM;
      if (b->v[k].end > cur)
        cur = b->v[k].end;
    }
    if (status_page_spans_add(out, cur, end) != VT_OK)
      return VT_ENOMEM;
  }
  return VT_OK;
}

/* Seconds of the (merged) spans within [from, to). */
static double status_page_spans_within(const struct status_page_spans *s,
                                       double from, double to)
{
  double sum = 0;
  for (size_t i = 0; i < s->n && s->v[i].start < to; i++) {
    double a = fmax(s->v[i].start, from), b = fmin(s->v[i].end, to);
    if (b > a)
      sum += b - a;
  }
  return sum;
}

/* ---- announcements ------------------------------------------------------- */

static void status_page_ann_free(struct status_page_ann *a, size_t n)
{
  for (size_t i = 0; a && i < n; i++) {
    free(a[i].title);
    free(a[i].text);
    vt_cfg_strv_free(a[i].targets, a[i].n_targets);
  }
  free(a);
}

static const char *const status_page_ann_top_keys[] = {"announcements", "notes",
                                                       NULL};
static const char *const status_page_note_keys[] = {"service", "at", "text",
                                                    NULL};

static void status_page_notes_free(struct status_page_note *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].target);
    free(v[i].text);
  }
  free(v);
}

static int status_page_note_cmp(const void *x, const void *y)
{
  const struct status_page_note *a = x, *b = y;
  return (a->at > b->at) - (a->at < b->at);
}

/* One element of the notes list: { service = "www"; at = "2026-11-21T
 * 10:05:00Z"; text = "..."; }. */
static void status_page_note_parse(struct vt_cfg *c, config_setting_t *g,
                                   const char *path, struct status_page_note *n)
{
  char pk[96];
  n->at = NAN;
  n->inc = -1;
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path,
                 "expected a group { service = ...; at = ...; "
                 "text = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, status_page_note_keys);
  if (vt_cfg_get_string(c, g, path, "service", true, &n->target) &&
      !vt_wire_name_ok(n->target))
    vt_cfg_error(c, config_setting_get_member(g, "service"),
                 vt_cfg_path(pk, sizeof(pk), path, "service", 0),
                 "\"%s\" is not a target name", n->target);
  char *at = NULL;
  if (vt_cfg_get_string(c, g, path, "at", true, &at) &&
      !coll_parse_utc(at, &n->at))
    vt_cfg_error(c, config_setting_get_member(g, "at"),
                 vt_cfg_path(pk, sizeof(pk), path, "at", 0),
                 "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ (UTC)", at);
  free(at);
  if (vt_cfg_get_string(c, g, path, "text", true, &n->text) && !n->text[0])
    vt_cfg_error(c, config_setting_get_member(g, "text"),
                 vt_cfg_path(pk, sizeof(pk), path, "text", 0), "is empty");
}
static const char *const status_page_ann_keys[] = {
    "kind", "title", "text", "start", "end", "targets", NULL};

/* One element of the announcements list into a; problems are counted in
 * c and logged with file:line. */
static void status_page_ann_parse(struct vt_cfg *c, config_setting_t *g,
                                  const char *path, struct status_page_ann *a)
{
  char pk[96];
  a->start = a->end = NAN;
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path, "expected a group { kind = ...; title = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, status_page_ann_keys);
  char *kind = NULL;
  if (vt_cfg_get_string(c, g, path, "kind", true, &kind)) {
    size_t k = 0;
    while (k < 4 && strcmp(kind, status_page_ann_kinds[k]) != 0)
      k++;
    if (k == 4)
      vt_cfg_error(c, config_setting_get_member(g, "kind"),
                   vt_cfg_path(pk, sizeof(pk), path, "kind", 0),
                   "\"%s\" is not maintenance, hotfix, incident or notice",
                   kind);
    else
      a->kind = (enum status_page_ann_kind)k;
  }
  free(kind);
  if (vt_cfg_get_string(c, g, path, "title", true, &a->title) && !a->title[0])
    vt_cfg_error(c, config_setting_get_member(g, "title"),
                 vt_cfg_path(pk, sizeof(pk), path, "title", 0), "is empty");
  vt_cfg_get_string(c, g, path, "text", false, &a->text);
  const char *keys[] = {"start", "end"};
  double *dst[] = {&a->start, &a->end};
  for (int k = 0; k < 2; k++) {
    char *s = NULL;
    if (vt_cfg_get_string(c, g, path, keys[k], false, &s) &&
        !coll_parse_utc(s, dst[k]))
      vt_cfg_error(c, config_setting_get_member(g, keys[k]),
                   vt_cfg_path(pk, sizeof(pk), path, keys[k], 0),
                   "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ (UTC)", s);
    free(s);
  }
  if (!isnan(a->start) && !isnan(a->end) && a->end <= a->start)
    vt_cfg_error(c, config_setting_get_member(g, "end"),
                 vt_cfg_path(pk, sizeof(pk), path, "end", 0),
                 "is not after start");
  if (vt_cfg_get_strv(c, g, path, "targets", &a->targets, &a->n_targets))
    for (size_t i = 0; i < a->n_targets; i++)
      if (!vt_wire_name_ok(a->targets[i]))
        vt_cfg_error(c, config_setting_get_member(g, "targets"),
                     vt_cfg_path(pk, sizeof(pk), path, "targets", 0),
                     "\"%s\" is not a target name", a->targets[i]);
}

/* Reads the announcements file, as strictly as our other configs. On any
 * problem every one has been logged as "FILE:LINE: SETTING: message" and
 * VT_ECONFIG is returned. *out: free with status_page_ann_free. */
static enum vt_status
status_page_ann_load(const char *path, struct status_page_ann **out, size_t *n,
                     struct status_page_note **notes_out, size_t *n_notes_out)
{
  *out = NULL;
  *n = 0;
  *notes_out = NULL;
  *n_notes_out = 0;
  struct status_page_note *notes = NULL;
  size_t n_notes = 0;
  struct vt_cfg c;
  enum vt_status st = vt_cfg_open(&c, path);
  if (st != VT_OK)
    return st;
  config_setting_t *root = config_root_setting(&c.cfg);
  vt_cfg_check_keys(&c, root, "", status_page_ann_top_keys);
  config_setting_t *list = config_setting_get_member(root, "announcements");
  struct status_page_ann *a = NULL;
  size_t count = 0;
  if (list && !config_setting_is_list(list)) {
    vt_cfg_error(&c, list, "announcements",
                 "expected a list ( { kind = ...; title = ...; }, ... )");
  } else if (list) {
    count = (size_t)config_setting_length(list);
    a = calloc(count ? count : 1, sizeof(*a));
    if (!a) {
      st = VT_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < count; i++) {
      char p[48];
      vt_cfg_path(p, sizeof(p), "announcements", NULL, (int)i);
      status_page_ann_parse(&c, config_setting_get_elem(list, (unsigned)i), p,
                            &a[i]);
    }
  }
  config_setting_t *nl = config_setting_get_member(root, "notes");
  if (nl && !config_setting_is_list(nl)) {
    vt_cfg_error(&c, nl, "notes",
                 "expected a list ( { service = ...; at = ...; text = ...; }, "
                 "... )");
  } else if (nl) {
    n_notes = (size_t)config_setting_length(nl);
    notes = calloc(n_notes ? n_notes : 1, sizeof(*notes));
    if (!notes) {
      n_notes = 0;
      st = VT_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < n_notes; i++) {
      char p[48];
      vt_cfg_path(p, sizeof(p), "notes", NULL, (int)i);
      status_page_note_parse(&c, config_setting_get_elem(nl, (unsigned)i), p,
                             &notes[i]);
    }
    qsort(notes, n_notes, sizeof(*notes), status_page_note_cmp);
  }
  if (c.errors) {
    vt_err("%s: %d error%s; announcements rejected", path, c.errors,
           c.errors == 1 ? "" : "s");
    st = VT_ECONFIG;
    goto out;
  }
  *out = a;
  *n = count;
  a = NULL;
  count = 0;
  *notes_out = notes;
  *n_notes_out = n_notes;
  notes = NULL;
  n_notes = 0;
out:
  status_page_notes_free(notes, n_notes);
  status_page_ann_free(a, count);
  vt_cfg_close(&c);
  return st;
}

/* Shown: no end given (until it is taken out of the file), or ended less
 * than STATUS_PAGE_ANN_KEEP_S ago. */
static bool status_page_ann_shown(const struct status_page_ann *a, double now)
{
  return isnan(a->end) || a->end > now - STATUS_PAGE_ANN_KEEP_S;
}

static const char *status_page_ann_phase(const struct status_page_ann *a,
                                         double now)
{
  if (!isnan(a->start) && a->start > now)
    return "scheduled";
  if (!isnan(a->end) && a->end <= now)
    return "completed";
  /* A hotfix or notice with only a start was done then; maintenance and
   * incidents without an end are still going on. */
  if (isnan(a->end) &&
      (a->kind == STATUS_PAGE_ANN_HOTFIX || a->kind == STATUS_PAGE_ANN_NOTICE))
    return "posted";
  if (!isnan(a->start) || !isnan(a->end))
    return "in progress";
  return "posted";
}

static bool status_page_ann_for(const struct status_page_ann *a,
                                const char *svc)
{
  if (!a->n_targets)
    return true;
  for (size_t i = 0; i < a->n_targets; i++)
    if (strcmp(a->targets[i], svc) == 0)
      return true;
  return false;
}

/* Current first, then scheduled (soonest first), then completed (latest
 * first): what a reader needs first is what is happening now. */
static int status_page_ann_rank(const struct status_page_ann *a, double now)
{
  const char *p = status_page_ann_phase(a, now);
  return strcmp(p, "in progress") == 0 || strcmp(p, "posted") == 0 ? 0
         : strcmp(p, "scheduled") == 0                             ? 1
                                                                   : 2;
}

static int status_page_ann_cmp(const void *x, const void *y)
{
  const struct status_page_ann *a = x, *b = y;
  if (a->rank != b->rank)
    return a->rank - b->rank;
  return (a->key > b->key) - (a->key < b->key);
}

/* The collector's maintenance windows become announcements, followed by
 * the file's. Windows that ended long ago are left out. */
static enum vt_status status_page_ann_collect(struct status_page_ctx *x)
{
  struct status_page_ann *file = NULL;
  size_t n_file = 0;
  enum vt_status st = VT_OK;
  if (x->conf->announcements_file) {
    st = status_page_ann_load(x->conf->announcements_file, &file, &n_file,
                              &x->notes, &x->n_notes);
    if (st != VT_OK)
      return st;
  }
  size_t total = x->n_maint + n_file;
  x->ann = calloc(total ? total : 1, sizeof(*x->ann));
  if (!x->ann) {
    status_page_ann_free(file, n_file);
    return VT_ENOMEM;
  }
  for (size_t i = 0; i < x->n_maint; i++) {
    const struct gr_maint *m = &x->maint[i];
    struct status_page_ann *a = &x->ann[x->n_ann];
    *a = (struct status_page_ann){.kind = STATUS_PAGE_ANN_MAINTENANCE,
                                  .start = m->start,
                                  .end = m->end,
                                  .from_window = true};
    if (!status_page_ann_shown(a, x->now))
      continue;
    char title[128];
    snprintf(title, sizeof(title), "Planned maintenance of %s", m->target);
    a->title = strdup(title);
    a->text = m->reason[0] ? strdup(m->reason) : NULL;
    a->targets = calloc(1, sizeof(*a->targets));
    if (a->targets) {
      a->n_targets = 1;
      a->targets[0] = strdup(m->target);
    }
    x->n_ann++;
    if (!a->title || (m->reason[0] && !a->text) || !a->targets ||
        !a->targets[0]) {
      st = VT_ENOMEM;
      goto out;
    }
  }
  for (size_t i = 0; i < n_file; i++)
    if (status_page_ann_shown(&file[i], x->now)) {
      x->ann[x->n_ann++] = file[i];
      file[i] = (struct status_page_ann){0};
    }
  for (size_t i = 0; i < x->n_ann; i++) {
    struct status_page_ann *a = &x->ann[i];
    a->rank = status_page_ann_rank(a, x->now);
    a->key = isnan(a->start) ? x->now : a->start;
    if (a->rank == 2) /* completed: latest first */
      a->key = -a->key;
  }
  qsort(x->ann, x->n_ann, sizeof(*x->ann), status_page_ann_cmp);
out:
  status_page_ann_free(file, n_file);
  return st;
}

/* ---- the data ------------------------------------------------------------ */

static int status_page_str_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int status_page_name_cmp(const void *key, const void *elem)
{
  return strcmp(key, *(char *const *)elem);
}

/* Index of target in the sorted service list, or -1. */
static long status_page_svc_index(const struct status_page_ctx *x,
                                  const char *target)
{
  char *const *p =
      bsearch(target, x->names, x->n, sizeof(*x->names), status_page_name_cmp);
  return p ? (long)(p - x->names) : -1;
}

/* Maintenance windows: the stored ones (history) plus those of the
 * configuration that the collector has not stored yet (it stores them when
 * it starts or reloads), so a window added a minute ago is on the page. */
static enum vt_status status_page_load_maint(struct status_page_ctx *x)
{
  double far = x->now + 3650 * STATUS_PAGE_DAY_S;
  enum vt_status st =
      gr_maintenance(x->g, NULL, x->day0, far, &x->maint, &x->n_maint);
  if (st != VT_OK)
    return st;
  for (size_t i = 0; i < x->conf->n_maint; i++) {
    const struct coll_maint_conf *m = &x->conf->maint[i];
    if (m->end < x->day0)
      continue;
    bool known = false;
    for (size_t k = 0; k < x->n_maint && !known; k++)
      known = strcmp(x->maint[k].target, m->target) == 0 &&
              x->maint[k].start == m->start && x->maint[k].end == m->end;
    if (known)
      continue;
    struct gr_maint *nv = realloc(x->maint, (x->n_maint + 1) * sizeof(*nv));
    if (!nv)
      return VT_ENOMEM;
    x->maint = nv;
    struct gr_maint *w = &x->maint[x->n_maint++];
    *w = (struct gr_maint){.start = m->start, .end = m->end};
    snprintf(w->target, sizeof(w->target), "%s", m->target);
    snprintf(w->reason, sizeof(w->reason), "%s", m->reason ? m->reason : "");
  }
  return VT_OK;
}

static enum status_page_day_class
status_page_classify(const struct status_page_day *d)
{
  if (d->measured_s <= 0)
    return d->maint_s > 0 ? STATUS_PAGE_DAY_MAINT : STATUS_PAGE_DAY_NODATA;
  if (d->availability < 0.99)
    return STATUS_PAGE_DAY_BAD;
  if (d->availability < 0.999)
    return STATUS_PAGE_DAY_WARN;
  return d->maint_s > 0 ? STATUS_PAGE_DAY_MAINT : STATUS_PAGE_DAY_OK;
}

/* When every probe of service s was silent: for each probe, from its last
 * contact (the "silent" event, noticed quorum.silence after it) to its
 * return, intersected over the probes. A probe that was never silent
 * leaves nothing blind. out comes out merged. */
static enum vt_status status_page_blind(const struct status_page_ctx *x,
                                        const struct status_page_svc *s,
                                        struct status_page_spans *out)
{
  enum vt_status st = VT_OK;
  for (size_t p = 0; p < s->n_probes && st == VT_OK; p++) {
    struct status_page_spans mine = {0}, rest = {0}, both = {0};
    double since = NAN;
    for (size_t i = 0; i < x->n_pev && st == VT_OK; i++) {
      const struct gr_probe_event *e = &x->pev[i];
      if (strcmp(e->probe, s->probes[p]) != 0)
        continue;
      if (strcmp(e->event, "silent") == 0 && isnan(since)) {
        since = e->ts - x->conf->silence_s;
      } else if (strcmp(e->event, "silent") != 0 && !isnan(since)) {
        st = status_page_spans_add(&mine, since, e->ts);
        since = NAN;
      }
    }
    if (st == VT_OK && !isnan(since))
      st = status_page_spans_add(&mine, since, x->now);
    status_page_spans_merge(&mine);
    if (st == VT_OK && p == 0) {
      *out = mine;
      continue;
    }
    /* out and mine: out less (out less mine) */
    if (st == VT_OK && (st = status_page_spans_sub(out, &mine, &rest)) == VT_OK)
      st = status_page_spans_sub(out, &rest, &both);
    status_page_spans_free(out);
    *out = both;
    status_page_spans_free(&mine);
    status_page_spans_free(&rest);
  }
  return st;
}

/* The 90 daily figures of one service from its rows alone, no RRD fetch:
 * down = host rows in state "down", less maintenance (the report's target
 * definition); measured = the part of the day between the service's first
 * and last stored result, less maintenance. Finer no-data time (a probe
 * silent inside that span) is only in the report's figures; the bars are
 * an overview, the table below them names the report's numbers. */
static enum vt_status status_page_days(struct status_page_ctx *x, size_t si)
{
  struct status_page_svc *s = &x->svc[si];
  struct status_page_spans down = {0}, deg = {0}, maint = {0}, d1 = {0},
                           g1 = {0}, g2 = {0}, blind = {0}, b1 = {0}, nd = {0};
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < x->n_outages && st == VT_OK; i++) {
    const struct gr_outage *o = &x->outages[i];
    if (strcmp(o->target, s->name) != 0 || strcmp(o->scope, "host") != 0)
      continue;
    double end = isnan(o->end) ? x->now : fmin(o->end, x->now);
    st = status_page_spans_add(strcmp(o->state, "down") == 0 ? &down : &deg,
                               o->start, end);
  }
  for (size_t i = 0; i < x->n_maint && st == VT_OK; i++)
    if (strcmp(x->maint[i].target, s->name) == 0)
      st = status_page_spans_add(&maint, x->maint[i].start, x->maint[i].end);
  if (st != VT_OK)
    goto out;
  status_page_spans_merge(&down);
  status_page_spans_merge(&deg);
  status_page_spans_merge(&maint);
  /* down less maintenance; degraded less maintenance and less down */
  if ((st = status_page_spans_sub(&down, &maint, &d1)) != VT_OK ||
      (st = status_page_spans_sub(&deg, &maint, &g1)) != VT_OK ||
      (st = status_page_spans_sub(&g1, &down, &g2)) != VT_OK)
    goto out;
  /* No data: every probe silent, less maintenance (not measured anyway)
   * and less the outages (time inside an outage counts as measured, as
   * in the report). */
  if ((st = status_page_blind(x, s, &blind)) != VT_OK ||
      (st = status_page_spans_sub(&blind, &maint, &b1)) != VT_OK ||
      (st = status_page_spans_sub(&b1, &down, &nd)) != VT_OK)
    goto out;
  for (size_t d = 0; d < STATUS_PAGE_DAYS; d++) {
    struct status_page_day *day = &s->days[d];
    double from = x->day0 + (double)d * STATUS_PAGE_DAY_S;
    double to = fmin(from + STATUS_PAGE_DAY_S, x->now);
    day->maint_s = status_page_spans_within(&maint, from, to);
    double a = isnan(s->first_ts) ? to : fmax(from, s->first_ts);
    double b = isnan(s->last_ts) ? to : fmin(to, s->last_ts);
    if (b > a) {
      day->nodata_s = status_page_spans_within(&nd, a, b);
      day->measured_s =
          (b - a) - status_page_spans_within(&maint, a, b) - day->nodata_s;
      day->down_s = status_page_spans_within(&d1, a, b);
      day->degraded_s = status_page_spans_within(&g2, a, b);
    }
    day->availability =
        day->measured_s > 0 ? 1.0 - day->down_s / day->measured_s : NAN;
    day->cls = status_page_classify(day);
  }
out:
  status_page_spans_free(&down);
  status_page_spans_free(&deg);
  status_page_spans_free(&maint);
  status_page_spans_free(&d1);
  status_page_spans_free(&g1);
  status_page_spans_free(&g2);
  status_page_spans_free(&blind);
  status_page_spans_free(&b1);
  status_page_spans_free(&nd);
  return st;
}

/* Maintenance now wins (the work is announced); then an open host row
 * (down, degraded) or any open address outage (degraded); then "no data"
 * when no result arrived recently. An open outage outranks "no data": the
 * last evidence says down, and the collector closes the row only when a
 * result says otherwise. */
static enum status_page_state status_page_state_of(struct status_page_ctx *x,
                                                   size_t si)
{
  const char *name = x->svc[si].name;
  for (size_t i = 0; i < x->n_maint; i++)
    if (strcmp(x->maint[i].target, name) == 0 && x->maint[i].start <= x->now &&
        x->now < x->maint[i].end)
      return STATUS_PAGE_MAINTENANCE;
  enum status_page_state s = STATUS_PAGE_OPERATIONAL;
  for (size_t i = 0; i < x->n_outages; i++) {
    const struct gr_outage *o = &x->outages[i];
    if (!isnan(o->end) || strcmp(o->target, name) != 0)
      continue;
    if (strcmp(o->scope, "host") == 0 && strcmp(o->state, "down") == 0)
      return STATUS_PAGE_DOWN;
    if (strcmp(o->scope, "host") == 0 || strcmp(o->kind, "outage") == 0)
      s = STATUS_PAGE_DEGRADED;
  }
  if (s != STATUS_PAGE_OPERATIONAL)
    return s;
  double stale = fmax(STATUS_PAGE_STALE_MIN_S,
                      3.0 * fmax(x->conf->silence_s, x->conf->heartbeat_s));
  if (isnan(x->svc[si].last_ts) || x->svc[si].last_ts < x->now - stale)
    return STATUS_PAGE_NODATA;
  return STATUS_PAGE_OPERATIONAL;
}

static int status_page_inc_cmp(const void *x, const void *y)
{
  const struct status_page_incident *a = x, *b = y;
  return (a->start < b->start) - (a->start > b->start); /* newest first */
}

static bool status_page_overlaps(const struct gr_outage *o, double start,
                                 double end, double now)
{
  double oe = isnan(o->end) ? now : o->end;
  double e = isnan(end) ? now : end;
  return o->start <= e && oe >= start;
}

/* Each note goes to the latest incident of its service that began before
 * it (or up to STATUS_PAGE_NOTE_GRACE_S after: "investigating" written as
 * the alert came in); x->inc is sorted newest first. A note that fits no
 * incident of the last 30 days is not shown, and says so in the log. */
static void status_page_notes_attach(struct status_page_ctx *x)
{
  for (size_t i = 0; i < x->n_notes; i++) {
    struct status_page_note *n = &x->notes[i];
    n->inc = -1;
    for (size_t k = 0; k < x->n_inc && n->inc < 0; k++)
      if (strcmp(x->names[x->inc[k].svc], n->target) == 0 &&
          x->inc[k].start <= n->at + STATUS_PAGE_NOTE_GRACE_S)
        n->inc = (long)k;
    if (n->inc < 0)
      vt_notice("status page: the note on %s at %.0f fits no incident of the "
                "last %d days; not shown",
                n->target, n->at, STATUS_PAGE_INCIDENT_DAYS);
  }
}

/* Incidents of the last 30 days: chains of adjoining host rows of one
 * target, each with the address outages inside it; address outages that
 * no host row covers stand alone. Partial events (below quorum) are not
 * incidents: they are in the report. */
static enum vt_status status_page_incidents(struct status_page_ctx *x)
{
  double since = x->now - STATUS_PAGE_INCIDENT_DAYS * STATUS_PAGE_DAY_S;
  bool *used = calloc(x->n_outages ? x->n_outages : 1, sizeof(*used));
  x->inc = calloc(x->n_outages ? x->n_outages : 1, sizeof(*x->inc));
  if (!used || !x->inc) {
    free(used);
    return VT_ENOMEM;
  }
  enum vt_status st = VT_OK;
  /* Rows come sorted by start, so a chain grows forward. */
  for (size_t i = 0; i < x->n_outages; i++) {
    const struct gr_outage *o = &x->outages[i];
    if (used[i] || strcmp(o->scope, "host") != 0 ||
        (!isnan(o->end) && o->end < since))
      continue;
    long svc = status_page_svc_index(x, o->target);
    if (svc < 0)
      continue;
    struct status_page_incident *inc = &x->inc[x->n_inc++];
    *inc = (struct status_page_incident){
        .svc = (size_t)svc, .start = o->start, .end = o->end, .host = o};
    for (size_t k = i; k < x->n_outages; k++) {
      const struct gr_outage *r = &x->outages[k];
      /* Rows are sorted by start: once one starts after the chain's end
       * (give or take a second), no later one adjoins it. An open row
       * ends the chain. */
      if (k != i && (isnan(inc->end) || r->start > inc->end + 1.0))
        break;
      if (used[k] || strcmp(r->scope, "host") != 0 ||
          strcmp(r->target, o->target) != 0)
        continue;
      used[k] = true;
      if (isnan(r->end) || r->end > inc->end) {
        inc->end = r->end;
        inc->end_reason = r->end_reason[0] ? r->end_reason : NULL;
      }
      inc->maintenance |= r->maintenance;
      if (strcmp(r->state, "down") == 0) {
        inc->down = true;
        inc->down_s += (isnan(r->end) ? x->now : r->end) - r->start;
      }
    }
  }
  for (size_t i = 0; i < x->n_outages; i++) {
    const struct gr_outage *o = &x->outages[i];
    if (strcmp(o->scope, "address") != 0 || strcmp(o->kind, "outage") != 0 ||
        (!isnan(o->end) && o->end < since))
      continue;
    bool covered = false;
    for (size_t k = 0; k < x->n_inc; k++) {
      struct status_page_incident *inc = &x->inc[k];
      if (strcmp(x->names[inc->svc], o->target) != 0 ||
          !status_page_overlaps(o, inc->start, inc->end, x->now))
        continue;
      const struct gr_outage **nv =
          realloc(inc->addrs, (inc->n_addrs + 1) * sizeof(*nv));
      if (!nv) {
        st = VT_ENOMEM;
        goto out;
      }
      inc->addrs = nv;
      inc->addrs[inc->n_addrs++] = o;
      covered = true;
    }
    long svc = status_page_svc_index(x, o->target);
    if (covered || svc < 0)
      continue;
    struct status_page_incident *inc = &x->inc[x->n_inc++];
    *inc = (struct status_page_incident){.svc = (size_t)svc,
                                         .start = o->start,
                                         .end = o->end,
                                         .end_reason = o->end_reason[0]
                                                           ? o->end_reason
                                                           : NULL,
                                         .maintenance = o->maintenance};
    inc->addrs = malloc(sizeof(*inc->addrs));
    if (!inc->addrs) {
      st = VT_ENOMEM;
      goto out;
    }
    inc->addrs[0] = o;
    inc->n_addrs = 1;
  }
  qsort(x->inc, x->n_inc, sizeof(*x->inc), status_page_inc_cmp);
  status_page_notes_attach(x);
out:
  free(used);
  return st;
}

static void status_page_ctx_free(struct status_page_ctx *x)
{
  gr_free_strv(x->names, x->n);
  for (size_t i = 0; x->svc && i < x->n; i++)
    free(x->svc[i].pg);
  free(x->svc);
  free(x->series);
  free(x->outages);
  free(x->maint);
  free(x->pev);
  status_page_ann_free(x->ann, x->n_ann);
  status_page_notes_free(x->notes, x->n_notes);
  for (size_t i = 0; i < x->n_inc; i++)
    free(x->inc[i].addrs);
  free(x->inc);
  for (size_t p = 0; p < STATUS_PAGE_N_PERIODS; p++)
    report_free(x->rep[p]);
}

static void status_page_widen(double *first, double *last,
                              const struct gr_series *se)
{
  if (isnan(*first) || se->first_ts < *first)
    *first = se->first_ts;
  if (isnan(*last) || se->last_ts > *last)
    *last = se->last_ts;
}

/* Whether graph kind draws series se: per-address share series of dns and
 * client checks for load-shift, tcp and http checks for outage-gap (the
 * selection graph.h describes). */
static bool status_page_draws(enum graph_kind kind, const struct gr_series *se)
{
  unsigned char bin[16];
  if (inet_pton(AF_INET, se->key, bin) != 1 &&
      inet_pton(AF_INET6, se->key, bin) != 1)
    return false;
  if (kind == GRAPH_LOAD_SHIFT)
    return vt_series_has_shares(se->check_type);
  return vt_series_per_address(se->check_type);
}

/* Adds se's address to the probes views of s (tcp and http series). */
static enum vt_status status_page_add_pg(struct status_page_svc *s,
                                         const struct gr_series *se)
{
  if (!status_page_draws(GRAPH_OUTAGE_GAP, se))
    return VT_OK;
  for (size_t i = 0; i < s->n_pg; i++)
    if (strcmp(s->pg[i].ip, se->key) == 0)
      return VT_OK;
  struct status_page_pgraph *v = realloc(s->pg, (s->n_pg + 1) * sizeof(*v));
  if (!v)
    return VT_ENOMEM;
  s->pg = v;
  struct status_page_pgraph *p = &v[s->n_pg++];
  *p = (struct status_page_pgraph){.g = {.ok = false}};
  snprintf(p->ip, sizeof(p->ip), "%s", se->key);
  snprintf(p->slug, sizeof(p->slug), "%s", se->key);
  for (char *c = p->slug; *c; c++)
    if (*c == ':')
      *c = '-';
  return VT_OK;
}

/* Each service's fingerprint of its event rows (outages, partial events,
 * host rows, maintenance): a row that opens, closes or changes redraws
 * the service's graphs. */
static void status_page_ev_fp(struct status_page_ctx *x)
{
  for (size_t i = 0; i < x->n; i++)
    x->svc[i].ev_fp = GRAPH_JOBS_FP0;
  for (size_t i = 0; i < x->n_outages; i++) {
    const struct gr_outage *o = &x->outages[i];
    long si = status_page_svc_index(x, o->target);
    if (si < 0)
      continue;
    char row[256];
    int len = snprintf(row, sizeof(row), "%ld|%s|%s|%s|%.3f|%.3f|%d|%d|%s",
                       o->id, o->scope, o->kind, o->ip, o->start,
                       isnan(o->end) ? -1.0 : o->end, o->seen_by, o->of_probes,
                       o->probes);
    x->svc[si].ev_fp =
        graph_jobs_fp(x->svc[si].ev_fp, row, len > 0 ? (size_t)len : 0);
  }
  for (size_t i = 0; i < x->n_maint; i++) {
    long si = status_page_svc_index(x, x->maint[i].target);
    if (si < 0)
      continue;
    double v[2] = {x->maint[i].start, x->maint[i].end};
    x->svc[si].ev_fp = graph_jobs_fp(x->svc[si].ev_fp, v, sizeof(v));
  }
}

/* Reads everything the page shows: the service list, the rows of the last
 * 90 days (one query each for all services), the announcements and the
 * report figures. Nothing is written yet, so a failure leaves the page as
 * it was. */
static enum vt_status status_page_load(struct status_page_ctx *x)
{
  enum vt_status st;
  if ((st = gr_targets(x->g, &x->names, &x->n)) != VT_OK ||
      (st = gr_series_list(x->g, NULL, &x->series, &x->n_series)) != VT_OK ||
      (st = gr_outages(x->g, NULL, x->day0, x->now, &x->outages,
                       &x->n_outages)) != VT_OK ||
      (st = gr_probe_events(x->g, x->now, &x->pev, &x->n_pev)) != VT_OK ||
      (st = status_page_load_maint(x)) != VT_OK ||
      (st = status_page_ann_collect(x)) != VT_OK)
    return st;
  /* Lookups below bsearch with strcmp; do not rely on the database's
   * collation for that order. */
  qsort(x->names, x->n, sizeof(*x->names), status_page_str_cmp);
  x->svc = calloc(x->n ? x->n : 1, sizeof(*x->svc));
  if (!x->svc)
    return VT_ENOMEM;
  for (size_t i = 0; i < x->n; i++) {
    struct status_page_svc *s = &x->svc[i];
    *s = (struct status_page_svc){
        .name = x->names[i], .first_ts = NAN, .last_ts = NAN};
    for (size_t k = 0; k < STATUS_PAGE_N_KINDS; k++)
      s->drawn[k][0] = s->drawn[k][1] = NAN;
  }
  for (size_t i = 0; i < x->n_series; i++) {
    const struct gr_series *se = &x->series[i];
    long si = status_page_svc_index(x, se->target);
    if (si < 0)
      continue;
    struct status_page_svc *s = &x->svc[si];
    status_page_widen(&s->first_ts, &s->last_ts, se);
    for (size_t k = 0; k < STATUS_PAGE_N_KINDS; k++)
      if (status_page_draws(status_page_kinds[k].kind, se))
        status_page_widen(&s->drawn[k][0], &s->drawn[k][1], se);
    if ((st = status_page_add_pg(s, se)) != VT_OK)
      return st;
    bool known = false;
    for (size_t p = 0; p < s->n_probes && !known; p++)
      known = strcmp(s->probes[p], se->probe) == 0;
    if (!known && s->n_probes < sizeof(s->probes) / sizeof(s->probes[0]))
      s->probes[s->n_probes++] = se->probe;
  }
  status_page_ev_fp(x);
  for (size_t i = 0; i < x->n; i++) {
    if ((st = status_page_days(x, i)) != VT_OK)
      return st;
    x->svc[i].state = status_page_state_of(x, i);
  }
  if ((st = status_page_incidents(x)) != VT_OK)
    return st;
  for (size_t p = 0; p < STATUS_PAGE_N_PERIODS; p++) {
    /* The first second of a month has an empty "current month". */
    if (x->period[p][1] <= x->period[p][0])
      continue;
    st = report_compute(x->g, NULL, x->period[p][0], x->period[p][1],
                        &x->rep[p]);
    if (st != VT_OK)
      return st;
    for (size_t t = 0; t < x->rep[p]->n; t++) {
      long si = status_page_svc_index(x, x->rep[p]->targets[t].target);
      if (si >= 0)
        x->svc[si].rt[p] = &x->rep[p]->targets[t];
    }
  }
  return VT_OK;
}

/* ---- files --------------------------------------------------------------- */

static enum vt_status status_page_write_file(const char *dir, const char *rel,
                                             struct status_page_out *o)
{
  char path[PATH_MAX];
  if (o->st != VT_OK) {
    vt_err("status page: %s/%s: %s", dir, rel, vt_strerror(o->st));
    return o->st;
  }
  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
    vt_err("status page: %s/%s: path too long", dir, rel);
    return VT_EINVAL;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    goto fail;
  const char *p = vt_buf_str(&o->b);
  size_t left = o->b.len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      errno = e;
      goto fail;
    }
    p += n;
    left -= (size_t)n;
  }
  if (close(fd) != 0)
    goto fail;
  return VT_OK;
fail:
  vt_err("status page: %s: cannot write: %s", path, strerror(errno));
  return VT_EIO;
}

static int status_page_rm_one(const char *path, const struct stat *sb, int type,
                              struct FTW *ftw)
{
  if (remove(path) != 0 && errno != ENOENT)
    vt_warn("status page: %s: cannot remove: %s", path, strerror(errno));
  return 0;
}

/* rm -rf that never follows a symbolic link out of the tree. */
static void status_page_rmtree(const char *path)
{
  nftw(path, status_page_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Splits dir into its parent folder and last component. */
static void status_page_split(const char *dir, char *parent, size_t psize,
                              const char **base)
{
  const char *slash = strrchr(dir, '/');
  if (!slash) {
    snprintf(parent, psize, ".");
    *base = dir;
  } else if (slash == dir) {
    snprintf(parent, psize, "/");
    *base = slash + 1;
  } else {
    snprintf(parent, psize, "%.*s", (int)(slash - dir), dir);
    *base = slash + 1;
  }
}

/* The PID in a leftover "BASE.tmp.PID", "BASE.lnk.PID", "BASE.old.PID" or
 * "BASE.vTIME.PID" name, or 0 when name is not one of ours. */
static long status_page_leftover_pid(const char *name, const char *base)
{
  size_t bl = strlen(base);
  if (strncmp(name, base, bl) != 0 || name[bl] != '.')
    return 0;
  const char *rest = name + bl + 1, *num = NULL;
  if (strncmp(rest, "tmp.", 4) == 0 || strncmp(rest, "lnk.", 4) == 0 ||
      strncmp(rest, "old.", 4) == 0) {
    num = rest + 4;
  } else if (rest[0] == 'v') {
    const char *dot = strchr(rest, '.');
    if (!dot || strspn(rest + 1, "0123456789") != (size_t)(dot - rest - 1))
      return 0;
    num = dot + 1;
  } else {
    return 0;
  }
  char *end;
  long pid = strtol(num, &end, 10);
  return *num && !*end && pid > 0 ? pid : 0;
}

/* Removes what an interrupted build left next to dir (a killed
 * vantage-graph cannot clean up after itself): our names whose builder is
 * gone, never the folder dir currently points to. */
static void status_page_clean_leftovers(const char *dir)
{
  char parent[PATH_MAX], cur[PATH_MAX] = "";
  const char *base;
  status_page_split(dir, parent, sizeof(parent), &base);
  ssize_t n = readlink(dir, cur, sizeof(cur) - 1);
  cur[n > 0 ? n : 0] = '\0';
  DIR *d = opendir(parent);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    long pid = status_page_leftover_pid(e->d_name, base);
    if (!pid || strcmp(e->d_name, cur) == 0)
      continue;
    if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
      continue; /* its builder is still at work */
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) <
        sizeof(path)) {
      vt_info("status page: removing %s, left by an interrupted build", path);
      status_page_rmtree(path);
    }
  }
  closedir(d);
}

/* True for a folder that holds nothing or one of our pages: only those
 * may be replaced, so a mistyped -o never wipes someone's web root. */
static bool status_page_replaceable(const char *dir)
{
  char marker[PATH_MAX];
  snprintf(marker, sizeof(marker), "%s/%s", dir, STATUS_PAGE_MARKER);
  if (access(marker, F_OK) == 0)
    return true;
  DIR *d = opendir(dir);
  if (!d)
    return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)))
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

/* Puts the finished build tmp in place as dir.
 *
 * dir is a symbolic link to a versioned folder next to it
 * ("DIR.vTIME.PID"): the build is renamed to a new version, a new link is
 * made beside dir and renamed over it. rename(2) replaces the link
 * atomically, so a reader (or a web server resolving a path) sees the old
 * page or the new one, never a mix or nothing. The old version is removed
 * afterwards; files a reader still has open stay readable until closed.
 *
 * A real folder at dir (one of ours, see status_page_replaceable) cannot
 * be swapped for a link in one rename: it is renamed away and the link put
 * in its place, which leaves dir missing for the microseconds between the
 * two renames, once; every later build swaps atomically. */
static enum vt_status status_page_swap(const char *dir, const char *tmp,
                                       double now)
{
  char parent[PATH_MAX], ver[PATH_MAX], lnk[PATH_MAX], old[PATH_MAX];
  char cur[PATH_MAX] = "";
  const char *base;
  long pid = (long)getpid();
  status_page_split(dir, parent, sizeof(parent), &base);
  /* A second build by this process within the same second must not
   * collide with the first (now current) version. */
  struct stat sb;
  long long t = (long long)now;
  do
    snprintf(ver, sizeof(ver), "%s.v%lld.%ld", dir, t++, pid);
  while (lstat(ver, &sb) == 0);
  snprintf(lnk, sizeof(lnk), "%s.lnk.%ld", dir, pid);
  snprintf(old, sizeof(old), "%s.old.%ld", dir, pid);
  const char *ver_base = strrchr(ver, '/') ? strrchr(ver, '/') + 1 : ver;

  bool exists = lstat(dir, &sb) == 0;
  if (!exists && errno != ENOENT) {
    vt_err("status page: %s: %s", dir, strerror(errno));
    return VT_EIO;
  }
  bool is_dir = exists && S_ISDIR(sb.st_mode);
  if (exists && !is_dir && !S_ISLNK(sb.st_mode)) {
    vt_err("status page: %s exists and is not a folder or a symbolic link; "
           "not replacing it",
           dir);
    return VT_EINVAL;
  }
  if (is_dir && !status_page_replaceable(dir)) {
    vt_err("status page: %s is a folder that is not a status page (no %s "
           "inside) and not empty; not replacing it",
           dir, STATUS_PAGE_MARKER);
    return VT_EINVAL;
  }
  if (exists && !is_dir) {
    ssize_t n = readlink(dir, cur, sizeof(cur) - 1);
    cur[n > 0 ? n : 0] = '\0';
  }
  unlink(lnk);
  if (rename(tmp, ver) != 0) {
    vt_err("status page: rename %s -> %s: %s", tmp, ver, strerror(errno));
    return VT_EIO;
  }
  if (symlink(ver_base, lnk) != 0) {
    vt_err("status page: symlink %s: %s", lnk, strerror(errno));
    goto undo;
  }
  if (is_dir && rename(dir, old) != 0) {
    vt_err("status page: rename %s -> %s: %s", dir, old, strerror(errno));
    unlink(lnk);
    goto undo;
  }
  if (rename(lnk, dir) != 0) {
    vt_err("status page: rename %s -> %s: %s", lnk, dir, strerror(errno));
    if (is_dir && rename(old, dir) != 0)
      vt_err("status page: %s is now at %s: %s", dir, old, strerror(errno));
    unlink(lnk);
    goto undo;
  }
  if (is_dir)
    status_page_rmtree(old);
  /* Only a version of ours, and only if no concurrent build made it
   * current again in between. */
  char now_cur[PATH_MAX] = "";
  ssize_t n = readlink(dir, now_cur, sizeof(now_cur) - 1);
  now_cur[n > 0 ? n : 0] = '\0';
  if (cur[0] && !strchr(cur, '/') && status_page_leftover_pid(cur, base) &&
      strcmp(cur, now_cur) != 0) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, cur) <
        sizeof(path))
      status_page_rmtree(path);
  }
  return VT_OK;
undo:
  status_page_rmtree(ver);
  return VT_EIO;
}

/* ---- HTML ---------------------------------------------------------------- */

/* Browsers ask for /favicon.ico when a page names no icon; a tiny one of
 * our own keeps the access log free of 404s. */
static const char status_page_favicon[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<circle cx=\"8\" cy=\"8\" r=\"7\" fill=\"#1a7f37\"/>"
    "<path d=\"M4.5 8.5l2.5 2.5 4.5-5\" fill=\"none\" stroke=\"#fff\" "
    "stroke-width=\"2\"/></svg>\n";

static const char status_page_css[] =
    ":root{--fg:#1f2328;--bg:#fff;--card:#f6f8fa;--muted:#59636e;"
    "--line:#d1d9e0;--link:#0550ae;--on:#fff;--ok:#1a7f37;--warn:#9a6700;"
    "--bad:#cf222e;--maint:#0969da;--none:#656d76;--stripe:#9ec5fe}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;"
    "--card:#151b23;--muted:#9198a1;--line:#3d444d;--link:#6cb6ff;"
    "--on:#0d1117;--ok:#3fb950;--warn:#d29922;--bad:#f85149;"
    "--maint:#4493f8;--none:#8b949e;--stripe:#1f4b8f}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:62rem;padding:0 1rem 2rem;color:var(--fg);"
    "background:var(--bg);font:1rem/1.5 system-ui,-apple-system,\"Segoe "
    "UI\",Roboto,\"Noto Sans\",sans-serif;overflow-wrap:anywhere}\n"
    "a{color:var(--link)}\n"
    "a:focus-visible{outline:3px solid var(--maint);outline-offset:2px}\n"
    ".skip{position:absolute;left:-100vw}\n"
    ".skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.5rem}\n"
    "header{padding:1rem 0 .5rem;border-bottom:1px solid var(--line)}\n"
    "h1{font-size:1.6rem;margin:.25rem 0}\n"
    "h2{font-size:1.3rem;margin:2rem 0 .5rem}\n"
    "h3{font-size:1.1rem;margin:.25rem 0}\n"
    ".updated,.note,.axis,figcaption{color:var(--muted);font-size:.9rem}\n"
    "nav ul{list-style:none;margin:.5rem 0;padding:0;display:flex;"
    "flex-wrap:wrap;gap:.25rem 1rem}\n"
    ".state{display:inline-block;padding:0 .6rem;border-radius:1rem;"
    "font-size:.9rem;font-weight:600;color:var(--on);white-space:nowrap}\n"
    ".state-operational{background:var(--ok)}\n"
    ".state-degraded{background:var(--warn)}\n"
    ".state-down{background:var(--bad)}\n"
    ".state-maintenance{background:var(--maint)}\n"
    ".state-no_data{background:var(--none)}\n"
    ".overall{font-size:1.15rem;font-weight:600;padding:.75rem 1rem;"
    "border-radius:.5rem;border-left:.4rem solid var(--ok);"
    "background:var(--card)}\n"
    ".overall-degraded{border-color:var(--warn)}\n"
    ".overall-down{border-color:var(--bad)}\n"
    ".overall-maintenance{border-color:var(--maint)}\n"
    ".overall-no_data{border-color:var(--none)}\n"
    ".card{border:1px solid var(--line);border-radius:.5rem;padding:.75rem "
    "1rem;margin:1rem 0;background:var(--card)}\n"
    ".card-head{display:flex;flex-wrap:wrap;justify-content:space-between;"
    "align-items:baseline;gap:.25rem 1rem}\n"
    ".bars{display:flex;align-items:flex-end;gap:1px;list-style:none;"
    "margin:.5rem 0 0;padding:0;height:2.2rem}\n"
    ".bars li{position:relative;flex:1 1 0;min-width:0;height:100%;"
    "border-radius:1px}\n"
    ".d-ok{background:var(--ok)}\n"
    ".d-warn{background:var(--warn)}\n"
    ".d-bad{background:var(--bad)}\n"
    ".d-maint{background:repeating-linear-gradient(135deg,var(--maint) 0 "
    "3px,var(--stripe) 3px 5px)}\n"
    ".d-none{background:var(--none)}\n"
    ".bars li.d-none{height:45%}\n"
    ".graphs{display:block}\n"
    ".axis{display:flex;justify-content:space-between}\n"
    ".legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;"
    "gap:.25rem 1.25rem}\n"
    ".sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.35rem;"
    "vertical-align:-.05rem;border-radius:1px}\n"
    ".vh{position:absolute!important;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}\n"
    "figure{margin:1rem 0}\n"
    "img{display:block;box-sizing:content-box;max-width:calc(100% - 2px);"
    "height:auto;border:1px solid var(--line)}\n"
    "@media (max-width:30rem){body{padding:0 .5rem 2rem}"
    ".card{padding:.5rem .25rem}}\n"
    ".scroll-x{overflow-x:auto}\n"
    ".nodata{border:1px dashed var(--line);border-radius:.5rem;padding:1.5rem "
    "1rem;text-align:center;color:var(--muted)}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:.95rem;"
    "overflow-wrap:normal}\n"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid "
    "var(--line);vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".ann{border-left:.35rem solid var(--maint)}\n"
    ".ann-hotfix{border-left-color:var(--warn)}\n"
    ".ann-incident{border-left-color:var(--bad)}\n"
    ".ann-notice{border-left-color:var(--none)}\n"
    ".inc.inc-down{border-left:.35rem solid var(--bad)}\n"
    ".inc.inc-degraded{border-left:.35rem solid var(--warn)}\n"
    "dl.when{display:grid;grid-template-columns:max-content 1fr;"
    "gap:0 1rem;margin:.5rem 0}\n"
    "dl.when dt{font-weight:600}\n"
    "dl.when dd{margin:0}\n"
    "footer{margin-top:3rem;padding-top:1rem;border-top:1px solid "
    "var(--line);color:var(--muted);font-size:.9rem}\n";

/* Opening of every page; root is "" for the top folder, "../" below. */
static void status_page_head(struct status_page_out *o,
                             const struct status_page_ctx *x, const char *root,
                             const char *what)
{
  status_page_put(o,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                  "<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, "
                  "initial-scale=1\">\n"
                  "<meta name=\"color-scheme\" content=\"light dark\">\n"
                  "<meta name=\"generator\" content=\"vantage-graph %s\">\n"
                  "<title>",
                  PACKAGE_VERSION);
  if (what) {
    status_page_esc(o, what);
    status_page_put(o, " \xe2\x80\x93 ");
  }
  status_page_esc(o, x->title);
  status_page_put(o,
                  "</title>\n<link rel=\"stylesheet\" href=\"%sstyle.css\">\n"
                  "<link rel=\"icon\" href=\"%sfavicon.svg\" "
                  "type=\"image/svg+xml\">\n"
                  "<link rel=\"alternate\" type=\"application/atom+xml\" "
                  "title=\"Incidents and announcements\" href=\"%sfeed.xml\">\n"
                  "</head>\n<body>\n"
                  "<a class=\"skip\" href=\"#main\">Skip to the content</a>\n",
                  root, root, root);
}

static void status_page_foot(struct status_page_out *o,
                             const struct status_page_ctx *x, const char *root)
{
  status_page_put(o, "<footer>\n<p>Times are UTC. Generated ");
  status_page_time(o, x->now);
  status_page_put(o,
                  " by vantage-graph %s. For machines: "
                  "<a href=\"%sstatus.json\">status.json</a>. Follow "
                  "incidents and announcements: "
                  "<a href=\"%sfeed.xml\">Atom feed</a>.</p>\n"
                  "</footer>\n</body>\n</html>\n",
                  PACKAGE_VERSION, root, root);
}

static void status_page_pill(struct status_page_out *o,
                             enum status_page_state s)
{
  status_page_put(o, "<span class=\"state state-%s\">%s</span>",
                  status_page_state_names[s], status_page_state_labels[s]);
}

/* "2026-11-20: 99.95 %; down 4m12s; maintenance 30m00s" */
static void status_page_day_text(const struct status_page_ctx *x,
                                 const struct status_page_day *d, size_t i,
                                 char *out, size_t size)
{
  char date[16], pct[24], a[24], b[24], c[24];
  status_page_fmt_time(x->day0 + (double)i * STATUS_PAGE_DAY_S,
                       STATUS_PAGE_T_DATE, date, sizeof(date));
  status_page_pct(d->availability, 2, pct, sizeof(pct));
  int n = snprintf(out, size, "%s: %s", date, pct);
  if (d->down_s > 0 && n >= 0 && (size_t)n < size)
    n += snprintf(out + n, size - (size_t)n, "; down %s",
                  vt_time_fmt_duration(d->down_s, a, sizeof(a)));
  if (d->degraded_s > 0 && n >= 0 && (size_t)n < size)
    n += snprintf(out + n, size - (size_t)n, "; degraded %s",
                  vt_time_fmt_duration(d->degraded_s, b, sizeof(b)));
  if (d->maint_s > 0 && n >= 0 && (size_t)n < size)
    n += snprintf(out + n, size - (size_t)n, "; maintenance %s",
                  vt_time_fmt_duration(d->maint_s, c, sizeof(c)));
  if (d->nodata_s > 0 && n >= 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, "; no data %s",
             vt_time_fmt_duration(d->nodata_s, c, sizeof(c)));
}

/* The 90 cells: colour for the eye, a title for the pointer, and the same
 * words as visually hidden text for screen readers (colour never carries
 * the meaning alone; no-data cells are also half height, maintenance
 * cells striped). */
static void status_page_bars(struct status_page_out *o,
                             const struct status_page_ctx *x,
                             const struct status_page_svc *s)
{
  status_page_put(o, "<ol class=\"bars\" aria-label=\"Daily availability of ");
  status_page_esc(o, s->name);
  status_page_put(o, ", last %d days, oldest first\">\n", STATUS_PAGE_DAYS);
  for (size_t i = 0; i < STATUS_PAGE_DAYS; i++) {
    char text[160];
    status_page_day_text(x, &s->days[i], i, text, sizeof(text));
    status_page_put(o, "<li class=\"d-%s\" title=\"",
                    status_page_day_names[s->days[i].cls]);
    status_page_esc(o, text);
    status_page_put(o, "\"><span class=\"vh\">");
    status_page_esc(o, text);
    status_page_put(o, "</span></li>\n");
  }
  status_page_put(o,
                  "</ol>\n<p class=\"axis\" aria-hidden=\"true\">"
                  "<span>%d days ago</span><span>Today</span></p>\n",
                  STATUS_PAGE_DAYS);
}

static void status_page_legend(struct status_page_out *o)
{
  status_page_put(
      o, "<ul class=\"legend\" aria-label=\"Legend of the daily bars\">\n"
         "<li><span class=\"sw d-ok\"></span>at least 99.9 %%</li>\n"
         "<li><span class=\"sw d-warn\"></span>99 %% to 99.9 %%</li>\n"
         "<li><span class=\"sw d-bad\"></span>below 99 %%</li>\n"
         "<li><span class=\"sw d-maint\"></span>maintenance</li>\n"
         "<li><span class=\"sw d-none\"></span>no data</li>\n</ul>\n");
}

/* <figure> with the image, or the "no data" text in its place (never a
 * broken image). */
/* The image of gr (file root + "graphs/" + base + ".png"), with its
 * narrow rendering for narrow screens: the browser picks one, and neither
 * is scaled. */
static void status_page_img(struct status_page_out *o,
                            const struct status_page_graph *gr,
                            const char *root, const char *base)
{
  if (gr->narrow_ok) {
    status_page_put(o, "<picture>\n<source media=\"%s\" srcset=\"%sgraphs/",
                    STATUS_PAGE_NARROW_MEDIA, root);
    status_page_esc(o, base);
    status_page_put(o, "-narrow.png\"");
    if (gr->nwidth > 0 && gr->nheight > 0)
      status_page_put(o, " width=\"%d\" height=\"%d\"", gr->nwidth,
                      gr->nheight);
    status_page_put(o, ">\n");
  }
  status_page_put(o, "<img src=\"%sgraphs/", root);
  status_page_esc(o, base);
  status_page_put(o, ".png\"");
  /* The size lets the browser reserve the space before the image. */
  if (gr->width > 0 && gr->height > 0)
    status_page_put(o, " width=\"%d\" height=\"%d\"", gr->width, gr->height);
  status_page_put(o, " alt=\"");
  status_page_esc(o, gr->alt);
  status_page_put(o, "\">\n%s", gr->narrow_ok ? "</picture>\n" : "");
}

static void status_page_figure(struct status_page_out *o,
                               const struct status_page_ctx *x,
                               const struct status_page_svc *s, size_t k,
                               size_t r, const char *root)
{
  const struct status_page_graph *gr = &s->graphs[k][r];
  status_page_put(o, "<figure>\n");
  if (gr->ok) {
    char base[200];
    snprintf(base, sizeof(base), "%s-%s-%s", s->name, status_page_kinds[k].slug,
             status_page_ranges[r].slug);
    status_page_img(o, gr, root, base);
  } else {
    status_page_put(o, "<p class=\"nodata\">%s</p>\n", gr->missing);
  }
  status_page_put(o, "<figcaption>%s, %s</figcaption>\n</figure>\n",
                  status_page_kinds[k].label, status_page_ranges[r].phrase);
}

static void status_page_ann_html(struct status_page_out *o,
                                 const struct status_page_ctx *x,
                                 const struct status_page_ann *a,
                                 const char *root)
{
  status_page_put(o, "<article class=\"card ann ann-%s\">\n<h3>%s: ",
                  status_page_ann_kinds[a->kind],
                  status_page_ann_labels[a->kind]);
  status_page_esc(o, a->title);
  status_page_put(o, "</h3>\n<p class=\"note\">%s",
                  status_page_ann_phase(a, x->now));
  if (!isnan(a->start)) {
    status_page_put(o, "; from ");
    status_page_time(o, a->start);
  }
  if (!isnan(a->end)) {
    status_page_put(o, " until ");
    status_page_time(o, a->end);
  }
  if (a->n_targets) {
    status_page_put(o, "; affects ");
    for (size_t i = 0; i < a->n_targets; i++) {
      status_page_put(o, "%s", i ? ", " : "");
      if (status_page_svc_index(x, a->targets[i]) >= 0) {
        status_page_put(o, "<a href=\"%sservices/", root);
        status_page_esc(o, a->targets[i]);
        status_page_put(o, ".html\">");
        status_page_esc(o, a->targets[i]);
        status_page_put(o, "</a>");
      } else {
        status_page_esc(o, a->targets[i]);
      }
    }
  }
  status_page_put(o, "</p>\n");
  if (a->text)
    status_page_esc_text(o, a->text);
  status_page_put(o, "</article>\n");
}

/* "seen by 2 of 3 probes (fra1, ams1)" */
static void status_page_seen(struct status_page_out *o,
                             const struct gr_outage *r)
{
  status_page_put(o, "seen by %d of %d probe%s", r->seen_by, r->of_probes,
                  r->of_probes == 1 ? "" : "s");
  if (!r->probes[0])
    return;
  status_page_put(o, " (");
  for (const char *p = r->probes; *p;) {
    size_t n = strcspn(p, ",");
    status_page_escn(o, p, n);
    p += n;
    if (*p == ',') {
      p++;
      status_page_put(o, ", ");
    }
  }
  status_page_put(o, ")");
}

/* The operator's notes on an incident, oldest first. */
static void status_page_inc_notes(struct status_page_out *o,
                                  const struct status_page_ctx *x,
                                  const struct status_page_incident *inc)
{
  long k = (long)(inc - x->inc);
  bool any = false;
  for (size_t i = 0; i < x->n_notes; i++) {
    const struct status_page_note *n = &x->notes[i];
    if (n->inc != k)
      continue;
    if (!any)
      status_page_put(o, "<h4>Updates</h4>\n<ol class=\"updates\">\n");
    any = true;
    status_page_put(o, "<li>");
    status_page_time(o, n->at);
    status_page_put(o, ": ");
    status_page_esc(o, n->text);
    status_page_put(o, "</li>\n");
  }
  if (any)
    status_page_put(o, "</ol>\n");
}

static void status_page_inc_html(struct status_page_out *o,
                                 const struct status_page_ctx *x,
                                 const struct status_page_incident *inc,
                                 const char *root, bool show_name)
{
  const char *what = inc->down ? "down" : "degraded";
  char dur[24];
  double end = isnan(inc->end) ? x->now : inc->end;
  status_page_put(o, "<article class=\"card inc inc-%s\">\n<h3>", what);
  if (show_name) {
    status_page_put(o, "<a href=\"%sservices/", root);
    status_page_esc(o, x->names[inc->svc]);
    status_page_put(o, ".html\">");
    status_page_esc(o, x->names[inc->svc]);
    status_page_put(o, "</a>: ");
  }
  status_page_put(o, "%s%s%s</h3>\n<dl class=\"when\">\n<dt>Start</dt><dd>",
                  inc->down ? "Down" : "Degraded",
                  isnan(inc->end) ? " (ongoing)" : "",
                  inc->maintenance ? " during maintenance" : "");
  status_page_time(o, inc->start);
  status_page_put(o, "</dd>\n<dt>End</dt><dd>");
  if (isnan(inc->end))
    status_page_put(o, "ongoing");
  else
    status_page_time(o, inc->end);
  if (!isnan(inc->end) && inc->end_reason) {
    status_page_put(o, " (");
    status_page_esc(o, inc->end_reason);
    status_page_put(o, ")");
  }
  status_page_put(o, "</dd>\n<dt>Duration</dt><dd>%s%s",
                  vt_time_fmt_duration(end - inc->start, dur, sizeof(dur)),
                  isnan(inc->end) ? " so far" : "");
  if (inc->down && inc->down_s < end - inc->start - 0.5)
    status_page_put(o, ", down for %s of it",
                    vt_time_fmt_duration(inc->down_s, dur, sizeof(dur)));
  status_page_put(o, "</dd>\n</dl>\n");
  if (inc->n_addrs) {
    status_page_put(o, "<p>Affected addresses:</p>\n<ul>\n");
    for (size_t i = 0; i < inc->n_addrs; i++) {
      const struct gr_outage *a = inc->addrs[i];
      double ae = isnan(a->end) ? x->now : a->end;
      status_page_put(o, "<li>");
      status_page_esc(o, a->ip);
      status_page_put(o, ": unreachable ");
      status_page_time(o, a->start);
      status_page_put(o, " to ");
      if (isnan(a->end))
        status_page_put(o, "now");
      else
        status_page_time(o, a->end);
      status_page_put(o, " (%s), ",
                      vt_time_fmt_duration(ae - a->start, dur, sizeof(dur)));
      status_page_seen(o, a);
      status_page_put(o, "</li>\n");
    }
    status_page_put(o, "</ul>\n");
  } else if (inc->host && inc->host->seen_by > 0) {
    status_page_put(o, "<p>Client view failing, ");
    status_page_seen(o, inc->host);
    status_page_put(o, ".</p>\n");
  }
  status_page_inc_notes(o, x, inc);
  status_page_put(o, "</article>\n");
}

static void status_page_overall(struct status_page_out *o,
                                const struct status_page_ctx *x)
{
  size_t count[STATUS_PAGE_NODATA + 1] = {0};
  for (size_t i = 0; i < x->n; i++)
    count[x->svc[i].state]++;
  enum status_page_state worst = STATUS_PAGE_OPERATIONAL;
  const char *text = "All services are operational.";
  if (!x->n) {
    worst = STATUS_PAGE_NODATA;
    text = "No service has reported yet.";
  } else if (count[STATUS_PAGE_DOWN]) {
    worst = STATUS_PAGE_DOWN;
    text = count[STATUS_PAGE_DOWN] == 1 ? "One service is down."
                                        : "Several services are down.";
  } else if (count[STATUS_PAGE_DEGRADED]) {
    worst = STATUS_PAGE_DEGRADED;
    text = "Some services are degraded.";
  } else if (count[STATUS_PAGE_MAINTENANCE]) {
    worst = STATUS_PAGE_MAINTENANCE;
    text = "Maintenance in progress; all other services are operational.";
  } else if (count[STATUS_PAGE_NODATA]) {
    worst = STATUS_PAGE_NODATA;
    text = "No recent data for some services; the others are operational.";
  }
  status_page_put(o, "<p class=\"overall overall-%s\">%s</p>\n",
                  status_page_state_names[worst], text);
}

static void status_page_index(struct status_page_out *o,
                              const struct status_page_ctx *x)
{
  status_page_head(o, x, "", NULL);
  status_page_put(o, "<header>\n<h1>");
  status_page_esc(o, x->title);
  status_page_put(o, "</h1>\n<p class=\"updated\">Updated ");
  status_page_time(o, x->now);
  status_page_put(o, "</p>\n</header>\n");
  if (x->n) {
    status_page_put(o, "<nav aria-label=\"Services\">\n<ul>\n");
    for (size_t i = 0; i < x->n; i++) {
      status_page_put(o, "<li><a href=\"services/");
      status_page_esc(o, x->names[i]);
      status_page_put(o, ".html\">");
      status_page_esc(o, x->names[i]);
      status_page_put(o, "</a></li>\n");
    }
    status_page_put(o, "</ul>\n</nav>\n");
  }
  status_page_put(o, "<main id=\"main\">\n<h2 id=\"current\">Current "
                     "status</h2>\n");
  status_page_overall(o, x);

  status_page_put(o, "<h2 id=\"announcements\">Announcements</h2>\n");
  if (!x->n_ann)
    status_page_put(o, "<p>No announcements.</p>\n");
  for (size_t i = 0; i < x->n_ann; i++)
    status_page_ann_html(o, x, &x->ann[i], "");

  status_page_put(o, "<h2 id=\"services\">Services</h2>\n");
  if (!x->n)
    status_page_put(o, "<p>No service has any data yet.</p>\n");
  else
    status_page_legend(o);
  for (size_t i = 0; i < x->n; i++) {
    const struct status_page_svc *s = &x->svc[i];
    char pct[24];
    status_page_put(o, "<section class=\"card\" aria-labelledby=\"svc-");
    status_page_esc(o, s->name);
    status_page_put(o, "\">\n<div class=\"card-head\">\n<h3 id=\"svc-");
    status_page_esc(o, s->name);
    status_page_put(o, "\"><a href=\"services/");
    status_page_esc(o, s->name);
    status_page_put(o, ".html\">");
    status_page_esc(o, s->name);
    status_page_put(o, "</a></h3>\n");
    status_page_pill(o, s->state);
    status_page_put(o, "\n</div>\n");
    const struct report_target *rt = s->rt[STATUS_PAGE_P_90D];
    status_page_put(
        o, "<p class=\"note\">Last %d days: %s available", STATUS_PAGE_DAYS,
        status_page_pct(rt ? rt->availability : NAN, 3, pct, sizeof(pct)));
    rt = s->rt[STATUS_PAGE_P_MONTH];
    status_page_put(
        o, "; this month: %s</p>\n",
        status_page_pct(rt ? rt->availability : NAN, 3, pct, sizeof(pct)));
    status_page_bars(o, x, s);
    status_page_figure(o, x, s, 0, 1, "");
    status_page_put(o, "</section>\n");
  }

  status_page_put(o,
                  "<h2 id=\"incidents\">Incident history, last %d "
                  "days</h2>\n",
                  STATUS_PAGE_INCIDENT_DAYS);
  if (!x->n_inc)
    status_page_put(o, "<p>No incidents in the last %d days.</p>\n",
                    STATUS_PAGE_INCIDENT_DAYS);
  for (size_t i = 0; i < x->n_inc; i++)
    status_page_inc_html(o, x, &x->inc[i], "", true);
  status_page_put(o, "</main>\n");
  status_page_foot(o, x, "");
}

static void status_page_avail_row(struct status_page_out *o, const char *label,
                                  const struct report_target *rt)
{
  char pct[24], a[24], b[24], c[24], d[24];
  status_page_put(o, "<tr><th scope=\"row\">%s</th>", label);
  if (!rt) {
    status_page_put(o, "<td class=\"n\">no data</td><td class=\"n\">-</td>"
                       "<td class=\"n\">-</td><td class=\"n\">-</td>"
                       "<td class=\"n\">-</td></tr>\n");
    return;
  }
  status_page_put(
      o,
      "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
      "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
      status_page_pct(rt->availability, 3, pct, sizeof(pct)),
      vt_time_fmt_duration(rt->down_s, a, sizeof(a)),
      vt_time_fmt_duration(rt->degraded_s, b, sizeof(b)),
      vt_time_fmt_duration(rt->maint_s, c, sizeof(c)),
      vt_time_fmt_duration(rt->nodata_s, d, sizeof(d)));
}

/* The partial events of the last 30 days: an address lost from fewer
 * probes than the quorum (a routing error seen only from some places). Not
 * incidents, not counted as downtime, but listed with who saw them. */
static void status_page_partials(struct status_page_out *o,
                                 const struct status_page_ctx *x,
                                 const struct status_page_svc *s)
{
  double since = x->now - STATUS_PAGE_INCIDENT_DAYS * STATUS_PAGE_DAY_S;
  status_page_put(o, "<h2 id=\"partial\">Partial events, last %d days</h2>\n",
                  STATUS_PAGE_INCIDENT_DAYS);
  size_t n = 0;
  /* Newest first, as the incidents. */
  for (size_t i = x->n_outages; i-- > 0;) {
    const struct gr_outage *r = &x->outages[i];
    if (strcmp(r->kind, "partial") != 0 || strcmp(r->target, s->name) != 0 ||
        (!isnan(r->end) && r->end < since))
      continue;
    if (!n++)
      status_page_put(o, "<p class=\"note\">Seen by fewer probes than the "
                         "quorum: not counted as downtime.</p>\n<ul>\n");
    char dur[24];
    double end = isnan(r->end) ? x->now : r->end;
    status_page_put(o, "<li>");
    status_page_esc(o, r->ip[0] ? r->ip : "client view");
    status_page_put(o, ": ");
    status_page_time(o, r->start);
    status_page_put(o, " to ");
    if (isnan(r->end))
      status_page_put(o, "now");
    else
      status_page_time(o, r->end);
    status_page_put(o, " (%s), ",
                    vt_time_fmt_duration(end - r->start, dur, sizeof(dur)));
    status_page_seen(o, r);
    status_page_put(o, "</li>\n");
  }
  if (n)
    status_page_put(o, "</ul>\n");
  else
    status_page_put(o, "<p>No partial events in the last %d days.</p>\n",
                    STATUS_PAGE_INCIDENT_DAYS);
}

static void status_page_service(struct status_page_out *o,
                                const struct status_page_ctx *x, size_t si)
{
  const struct status_page_svc *s = &x->svc[si];
  status_page_head(o, x, "../", s->name);
  status_page_put(o, "<header>\n<p><a href=\"../index.html\">All "
                     "services</a></p>\n<h1>");
  status_page_esc(o, s->name);
  status_page_put(o, "</h1>\n<p>");
  status_page_pill(o, s->state);
  status_page_put(o, " <span class=\"updated\">Updated ");
  status_page_time(o, x->now);
  status_page_put(o, "</span></p>\n</header>\n"
                     "<nav aria-label=\"On this page\">\n<ul>\n"
                     "<li><a href=\"#status\">Status</a></li>\n"
                     "<li><a href=\"#availability\">Availability</a></li>\n");
  for (size_t r = 0; r < STATUS_PAGE_N_RANGES; r++)
    status_page_put(o, "<li><a href=\"#graphs-%s\">Graphs, %s</a></li>\n",
                    status_page_ranges[r].slug, status_page_ranges[r].slug);
  status_page_put(o, "<li><a href=\"#incidents\">Incidents</a></li>\n"
                     "<li><a href=\"#partial\">Partial events</a></li>\n"
                     "</ul>\n</nav>\n<main id=\"main\">\n"
                     "<h2 id=\"status\">Current status</h2>\n");
  size_t open = 0;
  for (size_t i = 0; i < x->n_inc; i++)
    if (x->inc[i].svc == si && isnan(x->inc[i].end))
      open++;
  status_page_put(o, "<p>");
  status_page_pill(o, s->state);
  if (!isnan(s->last_ts)) {
    status_page_put(o, " Last result ");
    status_page_time(o, s->last_ts);
    status_page_put(o, ".");
  }
  status_page_put(o, "</p>\n");
  for (size_t i = 0; i < x->n_inc; i++)
    if (x->inc[i].svc == si && isnan(x->inc[i].end))
      status_page_inc_html(o, x, &x->inc[i], "../", false);
  if (!open)
    status_page_put(o, "<p>No open incident.</p>\n");
  bool any = false;
  for (size_t i = 0; i < x->n_ann; i++) {
    if (!status_page_ann_for(&x->ann[i], s->name))
      continue;
    if (!any)
      status_page_put(o, "<h2 id=\"announcements\">Announcements</h2>\n");
    any = true;
    status_page_ann_html(o, x, &x->ann[i], "../");
  }

  char month[32], prev[32];
  status_page_fmt_time(x->period[STATUS_PAGE_P_MONTH][0], STATUS_PAGE_T_MONTH,
                       month, sizeof(month));
  status_page_fmt_time(x->period[STATUS_PAGE_P_PREV_MONTH][0],
                       STATUS_PAGE_T_MONTH, prev, sizeof(prev));
  status_page_put(o, "<h2 id=\"availability\">Availability</h2>\n"
                     "<div class=\"scroll\" tabindex=\"0\" role=\"region\" "
                     "aria-label=\"Availability per period\">\n<table>\n"
                     "<caption class=\"vh\">Availability of ");
  status_page_esc(o, s->name);
  status_page_put(o, " per period</caption>\n"
                     "<thead><tr><th scope=\"col\">Period</th>"
                     "<th scope=\"col\" class=\"n\">Availability</th>"
                     "<th scope=\"col\" class=\"n\">Down</th>"
                     "<th scope=\"col\" class=\"n\">Degraded</th>"
                     "<th scope=\"col\" class=\"n\">Maintenance</th>"
                     "<th scope=\"col\" class=\"n\">No data</th></tr></thead>"
                     "\n<tbody>\n");
  char label[64];
  snprintf(label, sizeof(label), "%s (so far)", month);
  status_page_avail_row(o, label, s->rt[STATUS_PAGE_P_MONTH]);
  status_page_avail_row(o, prev, s->rt[STATUS_PAGE_P_PREV_MONTH]);
  snprintf(label, sizeof(label), "Last %d days", STATUS_PAGE_DAYS);
  status_page_avail_row(o, label, s->rt[STATUS_PAGE_P_90D]);
  status_page_put(o,
                  "</tbody>\n</table>\n</div>\n<p class=\"note\">"
                  "Availability is measured time without downtime; "
                  "maintenance and time without data are not "
                  "measured.</p>\n"
                  "<h3>Last %d days</h3>\n",
                  STATUS_PAGE_DAYS);
  status_page_legend(o);
  status_page_bars(o, x, s);

  status_page_put(o, "<h2 id=\"graphs\">Graphs</h2>\n");
  for (size_t r = 0; r < STATUS_PAGE_N_RANGES; r++) {
    status_page_put(o, "<h3 id=\"graphs-%s\">%s</h3>\n<div class=\"graphs\">\n",
                    status_page_ranges[r].slug, status_page_ranges[r].label);
    for (size_t k = 0; k < STATUS_PAGE_N_KINDS; k++)
      status_page_figure(o, x, s, k, r, "../");
    status_page_put(o, "</div>\n");
  }

  status_page_put(o, "<h2 id=\"incidents\">Incidents, last %d days</h2>\n",
                  STATUS_PAGE_INCIDENT_DAYS);
  any = false;
  for (size_t i = 0; i < x->n_inc; i++)
    if (x->inc[i].svc == si) {
      status_page_inc_html(o, x, &x->inc[i], "../", false);
      any = true;
    }
  if (!any)
    status_page_put(o, "<p>No incidents in the last %d days.</p>\n",
                    STATUS_PAGE_INCIDENT_DAYS);
  status_page_partials(o, x, s);
  if (s->n_pg) {
    status_page_put(o, "<h2 id=\"probes\">Seen from each vantage point</h2>\n"
                       "<p><a href=\"");
    status_page_esc(o, s->name);
    status_page_put(o, "-probes.html\">Latency of each address as each probe "
                       "saw it</a>: where a path breaks, one probe's line "
                       "breaks and the others' do not.</p>\n");
  }
  status_page_put(o, "</main>\n");
  status_page_foot(o, x, "../");
}

/* services/NAME-probes.html: the probes view of each address. */
static void status_page_probes_page(struct status_page_out *o,
                                    const struct status_page_ctx *x, size_t si)
{
  const struct status_page_svc *s = &x->svc[si];
  char what[160];
  snprintf(what, sizeof(what), "%s from each vantage point", s->name);
  status_page_head(o, x, "../", what);
  status_page_put(o, "<header>\n<p><a href=\"");
  status_page_esc(o, s->name);
  status_page_put(o, ".html\">");
  status_page_esc(o, s->name);
  status_page_put(o, "</a></p>\n<h1>");
  status_page_esc(o, what);
  status_page_put(o, "</h1>\n</header>\n<nav aria-label=\"Addresses\">\n"
                     "<ul>\n");
  for (size_t p = 0; p < s->n_pg; p++) {
    status_page_put(o, "<li><a href=\"#addr-%zu\">", p);
    status_page_esc(o, s->pg[p].ip);
    status_page_put(o, "</a></li>\n");
  }
  status_page_put(o, "</ul>\n</nav>\n<main id=\"main\">\n"
                     "<p>One line per probe (vantage point) and check; "
                     "outages shaded and numbered, partial events (seen by "
                     "fewer probes than the quorum) hatched with the probes "
                     "that saw them.</p>\n");
  for (size_t p = 0; p < s->n_pg; p++) {
    const struct status_page_pgraph *pg = &s->pg[p];
    status_page_put(o, "<h2 id=\"addr-%zu\">", p);
    status_page_esc(o, pg->ip);
    status_page_put(o, "</h2>\n<figure>\n");
    if (pg->g.ok) {
      char base[200];
      snprintf(base, sizeof(base), "%s-probes-%s-%s", s->name, pg->slug,
               status_page_ranges[STATUS_PAGE_PROBES_RANGE].slug);
      status_page_img(o, &pg->g, "../", base);
    } else {
      status_page_put(o, "<p class=\"nodata\">%s</p>\n",
                      pg->g.missing ? pg->g.missing : "No data.");
    }
    status_page_put(o, "<figcaption>");
    status_page_esc(o, pg->ip);
    status_page_put(o, " from each probe, %s</figcaption>\n</figure>\n",
                    status_page_ranges[STATUS_PAGE_PROBES_RANGE].phrase);
  }
  status_page_put(o, "</main>\n");
  status_page_foot(o, x, "../");
}

/* ---- status.json --------------------------------------------------------- */

static void status_page_jstr(struct status_page_out *o, const char *s)
{
  if (o->st == VT_OK)
    o->st = vt_json_str(&o->b, s);
}

/* Seconds as the report's JSON writes them (whole, or 3 decimals), null
 * for NAN, so status.json and `report --format json` read the same. */
static void status_page_jnum(struct status_page_out *o, double v)
{
  if (isnan(v) || isinf(v))
    status_page_put(o, "null");
  else if (v == floor(v) && fabs(v) < 1e15)
    status_page_put(o, "%.0f", v);
  else
    status_page_put(o, "%.3f", v);
}

/* An availability as the report's JSON writes it: 6 decimals, truncated. */
static void status_page_javail(struct status_page_out *o, double a)
{
  if (isnan(a))
    status_page_put(o, "null");
  else
    status_page_put(o, "%.6f", status_page_trunc(a, 6));
}

static void status_page_jtime(struct status_page_out *o, const char *key,
                              double t)
{
  char iso[32];
  status_page_put(o, "\"%s\":", key);
  if (isnan(t)) {
    status_page_put(o, "null");
    return;
  }
  status_page_fmt_time(t, STATUS_PAGE_T_ISO, iso, sizeof(iso));
  status_page_put(o, "\"%s\"", iso);
}

static void status_page_jrow(struct status_page_out *o,
                             const struct gr_outage *r)
{
  status_page_put(o, "{\"scope\":");
  status_page_jstr(o, r->scope);
  status_page_put(o, ",\"state\":");
  status_page_jstr(o, r->state[0] ? r->state : NULL);
  status_page_put(o, ",\"ip\":");
  status_page_jstr(o, r->ip[0] ? r->ip : NULL);
  status_page_put(o, ",");
  status_page_jtime(o, "start", r->start);
  status_page_put(o, ",");
  status_page_jtime(o, "end", r->end);
  status_page_put(o, ",\"seen_by\":%d,\"of_probes\":%d,\"probes\":[",
                  r->seen_by, r->of_probes);
  for (const char *p = r->probes; *p;) {
    size_t n = strcspn(p, ",");
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)n, p);
    status_page_put(o, "%s", p == r->probes ? "" : ",");
    status_page_jstr(o, name);
    p += n + (p[n] == ',');
  }
  status_page_put(o, "],\"maintenance\":%s}",
                  r->maintenance ? "true" : "false");
}

static void status_page_json(struct status_page_out *o,
                             const struct status_page_ctx *x)
{
  status_page_put(
      o, "{\n\"generator\":\"vantage-graph %s\",\n\"title\":", PACKAGE_VERSION);
  status_page_jstr(o, x->title);
  status_page_put(o, ",\n");
  status_page_jtime(o, "generated_at", x->now);
  status_page_put(o, ",\n\"generated_at_unix\":%.0f,\n\"periods\":{", x->now);
  for (size_t p = 0; p < STATUS_PAGE_N_PERIODS; p++)
    status_page_put(o, "%s\"%s\":{\"start\":%.0f,\"end\":%.0f}", p ? "," : "",
                    status_page_period_names[p], x->period[p][0],
                    x->period[p][1]);
  status_page_put(o, "},\n\"services\":[");
  for (size_t i = 0; i < x->n; i++) {
    const struct status_page_svc *s = &x->svc[i];
    status_page_put(o, "%s\n{\"name\":", i ? "," : "");
    status_page_jstr(o, s->name);
    status_page_put(
        o, ",\"state\":\"%s\",\"page\":", status_page_state_names[s->state]);
    char page[96];
    snprintf(page, sizeof(page), "services/%s.html", s->name);
    status_page_jstr(o, page);
    status_page_put(o, ",");
    status_page_jtime(o, "last_result", s->last_ts);
    status_page_put(o, ",\n \"availability\":{");
    for (size_t p = 0; p < STATUS_PAGE_N_PERIODS; p++) {
      const struct report_target *rt = s->rt[p];
      status_page_put(o, "%s\"%s\":", p ? "," : "",
                      status_page_period_names[p]);
      if (!rt) {
        status_page_put(o, "null");
        continue;
      }
      status_page_put(o, "{\"availability\":");
      status_page_javail(o, rt->availability);
      const double v[] = {rt->down_s, rt->degraded_s, rt->maint_s, rt->nodata_s,
                          rt->measured_s};
      const char *k[] = {"down_s", "degraded_s", "maint_s", "nodata_s",
                         "measured_s"};
      for (size_t j = 0; j < 5; j++) {
        status_page_put(o, ",\"%s\":", k[j]);
        status_page_jnum(o, v[j]);
      }
      status_page_put(o, "}");
    }
    status_page_put(o, "},\n \"open_incidents\":[");
    bool first = true;
    for (size_t r = 0; r < x->n_outages; r++) {
      const struct gr_outage *row = &x->outages[r];
      if (!isnan(row->end) || strcmp(row->target, s->name) != 0 ||
          strcmp(row->kind, "outage") != 0)
        continue;
      status_page_put(o, "%s", first ? "" : ",");
      status_page_jrow(o, row);
      first = false;
    }
    status_page_put(o, "],\n \"days\":[");
    for (size_t d = 0; d < STATUS_PAGE_DAYS; d++) {
      char date[16];
      status_page_fmt_time(x->day0 + (double)d * STATUS_PAGE_DAY_S,
                           STATUS_PAGE_T_DATE, date, sizeof(date));
      status_page_put(o, "%s{\"date\":\"%s\",\"availability\":", d ? "," : "",
                      date);
      status_page_javail(o, s->days[d].availability);
      status_page_put(o, ",\"nodata_s\":");
      status_page_jnum(o, s->days[d].nodata_s);
      status_page_put(o, ",\"class\":\"%s\"}",
                      status_page_day_names[s->days[d].cls]);
    }
    status_page_put(o, "]}");
  }
  status_page_put(o, "\n],\n\"incidents\":[");
  for (size_t i = 0; i < x->n_inc; i++) {
    const struct status_page_incident *inc = &x->inc[i];
    status_page_put(o, "%s\n{\"service\":", i ? "," : "");
    status_page_jstr(o, x->names[inc->svc]);
    status_page_put(o, ",\"state\":\"%s\",", inc->down ? "down" : "degraded");
    status_page_jtime(o, "start", inc->start);
    status_page_put(o, ",");
    status_page_jtime(o, "end", inc->end);
    status_page_put(o, ",\"duration_s\":");
    status_page_jnum(o, (isnan(inc->end) ? x->now : inc->end) - inc->start);
    status_page_put(o, ",\"maintenance\":%s,\"addresses\":[",
                    inc->maintenance ? "true" : "false");
    for (size_t a = 0; a < inc->n_addrs; a++) {
      status_page_put(o, "%s", a ? "," : "");
      status_page_jrow(o, inc->addrs[a]);
    }
    status_page_put(o, "],\"notes\":[");
    bool first_note = true;
    for (size_t k = 0; k < x->n_notes; k++) {
      if (x->notes[k].inc != (long)i)
        continue;
      status_page_put(o, "%s{", first_note ? "" : ",");
      status_page_jtime(o, "at", x->notes[k].at);
      status_page_put(o, ",\"text\":");
      status_page_jstr(o, x->notes[k].text);
      status_page_put(o, "}");
      first_note = false;
    }
    status_page_put(o, "]}");
  }
  status_page_put(o, "\n],\n\"announcements\":[");
  for (size_t i = 0; i < x->n_ann; i++) {
    const struct status_page_ann *a = &x->ann[i];
    status_page_put(o, "%s\n{\"kind\":\"%s\",\"source\":\"%s\",\"title\":",
                    i ? "," : "", status_page_ann_kinds[a->kind],
                    a->from_window ? "maintenance_window" : "file");
    status_page_jstr(o, a->title);
    status_page_put(o, ",\"text\":");
    status_page_jstr(o, a->text);
    status_page_put(o, ",");
    status_page_jtime(o, "start", a->start);
    status_page_put(o, ",");
    status_page_jtime(o, "end", a->end);
    status_page_put(o, ",\"phase\":\"%s\",\"targets\":[",
                    status_page_ann_phase(a, x->now));
    for (size_t t = 0; t < a->n_targets; t++) {
      status_page_put(o, "%s", t ? "," : "");
      status_page_jstr(o, a->targets[t]);
    }
    status_page_put(o, "]}");
  }
  status_page_put(o, "\n]\n}\n");
}

/* ---- Atom feed ----------------------------------------------------------- */

/* Atom ids are tag URIs (RFC 4151) built from what does not change while
 * an entry lives: an incident's service and start, an announcement's
 * title and start. A feed reader then shows an ended incident as the same
 * entry, updated. */
#define STATUS_PAGE_TAG "tag:vantage-status,2026:"

static void status_page_xml(struct status_page_out *o, const char *s)
{
  status_page_esc(o, s ? s : "");
}

static void status_page_atom_time(struct status_page_out *o, const char *el,
                                  double t)
{
  char iso[32];
  status_page_put(o, "<%s>%s</%s>\n", el,
                  status_page_fmt_time(t, STATUS_PAGE_T_ISO, iso, sizeof(iso)),
                  el);
}

/* The time an incident last changed: its end, the start of its last
 * address outage, or its start. */
static double status_page_inc_updated(const struct status_page_ctx *x,
                                      const struct status_page_incident *inc)
{
  double u = inc->start;
  for (size_t i = 0; i < x->n_notes; i++)
    if (x->notes[i].inc == (long)(inc - x->inc))
      u = fmax(u, x->notes[i].at);
  if (!isnan(inc->end))
    u = fmax(u, inc->end);
  for (size_t a = 0; a < inc->n_addrs; a++) {
    u = fmax(u, inc->addrs[a]->start);
    if (!isnan(inc->addrs[a]->end))
      u = fmax(u, inc->addrs[a]->end);
  }
  return u;
}

static double status_page_ann_updated(const struct status_page_ann *a,
                                      double now)
{
  if (!isnan(a->end) && a->end <= now)
    return a->end;
  if (!isnan(a->start) && a->start <= now)
    return a->start;
  /* Not started yet (or no dates): when it was published is unknown; the
   * start of its day keeps it stable through the day's rebuilds. */
  return floor(now / STATUS_PAGE_DAY_S) * STATUS_PAGE_DAY_S;
}

static void status_page_feed(struct status_page_out *o,
                             const struct status_page_ctx *x)
{
  double updated = 0;
  for (size_t i = 0; i < x->n_inc; i++)
    updated = fmax(updated, status_page_inc_updated(x, &x->inc[i]));
  for (size_t i = 0; i < x->n_ann; i++)
    updated = fmax(updated, status_page_ann_updated(&x->ann[i], x->now));
  if (updated <= 0)
    updated = x->day0;
  status_page_put(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
                     "<id>" STATUS_PAGE_TAG "feed</id>\n<title>");
  status_page_xml(o, x->title);
  status_page_put(o, "</title>\n<subtitle>Incidents and announcements"
                     "</subtitle>\n<link rel=\"self\" href=\"feed.xml\"/>\n"
                     "<link rel=\"alternate\" type=\"text/html\" "
                     "href=\"index.html\"/>\n<author><name>");
  status_page_xml(o, x->title);
  status_page_put(o,
                  "</name></author>\n<generator version=\"%s\">"
                  "vantage-graph</generator>\n",
                  PACKAGE_VERSION);
  status_page_atom_time(o, "updated", updated);
  for (size_t i = 0; i < x->n_inc; i++) {
    const struct status_page_incident *inc = &x->inc[i];
    const char *svc = x->names[inc->svc];
    char dur[24];
    double end = isnan(inc->end) ? x->now : inc->end;
    status_page_put(o, "<entry>\n<id>" STATUS_PAGE_TAG "incident/");
    status_page_xml(o, svc);
    status_page_put(o, "/%.0f</id>\n<title>", floor(inc->start));
    status_page_xml(o, svc);
    status_page_put(o,
                    ": %s%s</title>\n<link rel=\"alternate\" "
                    "type=\"text/html\" href=\"services/",
                    inc->down ? "down" : "degraded",
                    isnan(inc->end) ? " (ongoing)" : ", resolved");
    status_page_xml(o, svc);
    status_page_put(o, ".html#incidents\"/>\n");
    status_page_atom_time(o, "published", inc->start);
    status_page_atom_time(o, "updated", status_page_inc_updated(x, inc));
    status_page_put(o,
                    "<category term=\"incident\"/>\n<content type=\"text\">");
    char a[32], b[32];
    status_page_put(
        o, "%s from %s to %s (%s%s).", inc->down ? "Down" : "Degraded",
        status_page_fmt_time(inc->start, STATUS_PAGE_T_HUMAN, a, sizeof(a)),
        isnan(inc->end)
            ? "now"
            : status_page_fmt_time(inc->end, STATUS_PAGE_T_HUMAN, b, sizeof(b)),
        vt_time_fmt_duration(end - inc->start, dur, sizeof(dur)),
        isnan(inc->end) ? " so far, ongoing" : "");
    for (size_t k = 0; k < inc->n_addrs; k++) {
      const struct gr_outage *ad = inc->addrs[k];
      status_page_put(o, " ");
      status_page_xml(o, ad->ip);
      status_page_put(o, " unreachable, ");
      status_page_seen(o, ad);
      status_page_put(o, ".");
    }
    for (size_t k = 0; k < x->n_notes; k++) {
      if (x->notes[k].inc != (long)i)
        continue;
      status_page_put(o, "\nUpdate %s: ",
                      status_page_fmt_time(x->notes[k].at, STATUS_PAGE_T_HUMAN,
                                           a, sizeof(a)));
      status_page_xml(o, x->notes[k].text);
    }
    status_page_put(o, "</content>\n</entry>\n");
  }
  for (size_t i = 0; i < x->n_ann; i++) {
    const struct status_page_ann *an = &x->ann[i];
    char key[600];
    int len = snprintf(key, sizeof(key), "%s|%s|%.0f",
                       status_page_ann_kinds[an->kind], an->title,
                       isnan(an->start) ? -1.0 : an->start);
    uint64_t h = graph_jobs_fp(GRAPH_JOBS_FP0, key, len > 0 ? (size_t)len : 0);
    status_page_put(o,
                    "<entry>\n<id>" STATUS_PAGE_TAG "announcement/%016llx"
                    "</id>\n<title>%s: ",
                    (unsigned long long)h, status_page_ann_labels[an->kind]);
    status_page_xml(o, an->title);
    status_page_put(o, "</title>\n<link rel=\"alternate\" type=\"text/html\" "
                       "href=\"index.html#announcements\"/>\n");
    status_page_atom_time(o, "updated", status_page_ann_updated(an, x->now));
    status_page_put(o, "<category term=\"%s\"/>\n<content type=\"text\">%s",
                    status_page_ann_kinds[an->kind],
                    status_page_ann_phase(an, x->now));
    char a[32];
    if (!isnan(an->start))
      status_page_put(
          o, "; from %s",
          status_page_fmt_time(an->start, STATUS_PAGE_T_HUMAN, a, sizeof(a)));
    if (!isnan(an->end))
      status_page_put(
          o, " until %s",
          status_page_fmt_time(an->end, STATUS_PAGE_T_HUMAN, a, sizeof(a)));
    status_page_put(o, ".");
    if (an->text) {
      status_page_put(o, " ");
      status_page_xml(o, an->text);
    }
    status_page_put(o, "</content>\n</entry>\n");
  }
  status_page_put(o, "</feed>\n");
}

/* ---- badges ---------------------------------------------------------------
 */

/* A badge (badges/NAME-status.svg, -uptime-24h.svg, -uptime-30d.svg):
 * "label | value" in the usual two-part shape, text as SVG text, with a
 * <title> for screen readers. The numbers are status.json's, truncated
 * the same way. */
static void status_page_badge(struct status_page_out *o, const char *label,
                              const char *value, const char *color)
{
  /* DejaVu Sans at 11 px: about 7 px per character. */
  int lw = (int)strlen(label) * 7 + 12, vw = (int)strlen(value) * 7 + 12;
  status_page_put(o,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"20\" role=\"img\" aria-label=\"",
                  lw + vw);
  status_page_esc(o, label);
  status_page_put(o, ": ");
  status_page_esc(o, value);
  status_page_put(o, "\">\n<title>");
  status_page_esc(o, label);
  status_page_put(o, ": ");
  status_page_esc(o, value);
  status_page_put(o,
                  "</title>\n<rect width=\"%d\" height=\"20\" "
                  "fill=\"#555555\"/>\n<rect x=\"%d\" width=\"%d\" "
                  "height=\"20\" fill=\"%s\"/>\n<g fill=\"#ffffff\" "
                  "font-family=\"DejaVu Sans,Verdana,sans-serif\" "
                  "font-size=\"11\">\n<text class=\"label\" x=\"6\" "
                  "y=\"14\">",
                  lw, lw, vw, color);
  status_page_esc(o, label);
  status_page_put(o, "</text>\n<text class=\"value\" x=\"%d\" y=\"14\">",
                  lw + 6);
  status_page_esc(o, value);
  status_page_put(o, "</text>\n</g>\n</svg>\n");
}

static enum vt_status status_page_badges(const struct status_page_ctx *x,
                                         struct status_page_out *o)
{
  char bdir[PATH_MAX];
  snprintf(bdir, sizeof(bdir), "%s/badges", x->tmp);
  if (mkdir(bdir, 0755) != 0) {
    vt_err("status page: %s: cannot create: %s", bdir, strerror(errno));
    return VT_EIO;
  }
  /* Dark enough for white text (WCAG AA at 11 px). */
  static const char *const state_color[] = {
      [STATUS_PAGE_OPERATIONAL] = "#1a7f37",
      [STATUS_PAGE_DEGRADED] = "#9a6700",
      [STATUS_PAGE_DOWN] = "#cf222e",
      [STATUS_PAGE_MAINTENANCE] = "#0969da",
      [STATUS_PAGE_NODATA] = "#59636e",
  };
  static const struct {
    int period;
    const char *slug, *label;
  } up[] = {{STATUS_PAGE_P_24H, "uptime-24h", "uptime 24h"},
            {STATUS_PAGE_P_30D, "uptime-30d", "uptime 30d"}};
  enum vt_status st = VT_OK;
  for (size_t i = 0; st == VT_OK && i < x->n; i++) {
    const struct status_page_svc *s = &x->svc[i];
    char rel[160];
    vt_buf_reset(&o->b);
    status_page_badge(o, s->name, status_page_state_labels[s->state],
                      state_color[s->state]);
    snprintf(rel, sizeof(rel), "%s-status.svg", s->name);
    st = status_page_write_file(bdir, rel, o);
    for (size_t u = 0; st == VT_OK && u < 2; u++) {
      const struct report_target *rt = s->rt[up[u].period];
      double a = rt ? rt->availability : NAN;
      char pct[24];
      status_page_pct(a, 3, pct, sizeof(pct));
      vt_buf_reset(&o->b);
      status_page_badge(o, up[u].label, isnan(a) ? "no data" : pct,
                        isnan(a)     ? state_color[STATUS_PAGE_NODATA]
                        : a >= 0.999 ? state_color[STATUS_PAGE_OPERATIONAL]
                        : a >= 0.99  ? state_color[STATUS_PAGE_DEGRADED]
                                     : state_color[STATUS_PAGE_DOWN]);
      snprintf(rel, sizeof(rel), "%s-%s.svg", s->name, up[u].slug);
      st = status_page_write_file(bdir, rel, o);
    }
  }
  return st;
}

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
 * of the range, and the service's event rows. A 3-hour graph is redrawn
 * when its end moved by 108 s (7 pixels), a 30-day one by 7.2 hours; an
 * outage that starts or ends redraws at once (the event rows). Redrawing
 * at every pixel would redraw nearly every graph at every build of a page
 * with a thousand services, which is then slower than its interval. */
#define STATUS_PAGE_REDRAW_FRACTION 0.01
static uint64_t status_page_fp(const struct status_page_ctx *x,
                               const struct status_page_svc *s,
                               const struct graph_job *j, const double *drawn)
{
  double px = (j->opts.end - j->opts.start) * STATUS_PAGE_REDRAW_FRACTION;
  char key[512];
  int len = snprintf(key, sizeof(key), "%s|%s|%s|%d|%s|%d|%d|%d|%.0f|%.0f|%.0f",
                     PACKAGE_VERSION, j->name, s->name, (int)j->opts.kind,
                     j->opts.ip ? j->opts.ip : "", j->opts.width,
                     j->opts.height, (int)j->opts.compact, floor(x->now / px),
                     floor(drawn[1] / px), drawn[0]);
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
    gr->missing = kind == GRAPH_LOAD_SHIFT
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
  st = graph_jobs_run(x->g, js.jobs, js.n, gdir, prev, x->workers,
                      status_page_job_alt, &js, &x->gstats);
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
  status_page_raw(&o, status_page_css, sizeof(status_page_css) - 1);
  if ((st = status_page_write_file(x->tmp, "style.css", &o)) != VT_OK)
    goto out;
  vt_buf_reset(&o.b);
  status_page_raw(&o, status_page_favicon, sizeof(status_page_favicon) - 1);
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
  if ((st = status_page_graphs(&x)) != VT_OK ||
      (st = status_page_write_all(&x)) != VT_OK ||
      (st = status_page_swap(dir, x.tmp, x.now)) != VT_OK) {
    status_page_rmtree(x.tmp);
    goto out;
  }
  vt_info("status page: %s: %zu service%s, %zu incident%s, %zu "
          "announcement%s, built in %.2fs; graphs: %zu drawn by %zu "
          "worker%s, %zu unchanged",
          dir, x.n, x.n == 1 ? "" : "s", x.n_inc, x.n_inc == 1 ? "" : "s",
          x.n_ann, x.n_ann == 1 ? "" : "s", vt_time_mono() - t0,
          x.gstats.rendered, x.gstats.workers, x.gstats.workers == 1 ? "" : "s",
          x.gstats.reused);
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
