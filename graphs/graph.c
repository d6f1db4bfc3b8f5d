/* SPDX-License-Identifier: MIT */
/* The graphs of vantage-graph (graph.h): load-shift, outage-gap and latency,
 * drawn by librrd's rrd_graph_v from the collector's RRD files and events.
 * This file picks the series, checks that the range holds data, builds the
 * rrd_graph argument vector and writes the image atomically.
 *
 * Design notes (the why is next to the code):
 * - Colours belong to addresses, not to positions in a legend: an address
 *   keeps its colour in every graph of its target (graph_colors).
 * - load-shift draws the DNS view (each address's share of the answers,
 *   averaged over the probes that answered) stacked above the axis and,
 *   when the target has a client check, the client view (share of the
 *   requests each address served) stacked below it, mirrored, in the same
 *   colours. A DNS switch shows as one band shrinking while another grows,
 *   and whether the clients followed shows right underneath. With only one
 *   view, it is drawn above the axis.
 * - outage-gap and latency read the target's tcp and http checks; with
 *   several such checks each (address, check) gets its own line, dashed
 *   after the first check of an address.
 * - SVG: cairo draws text as glyph outlines, so an SVG from librrd has no
 *   text a reader can search, select or have read aloud. graph_svg_text
 *   adds the title and every legend entry as invisible <text> at the
 *   places librrd reports (coords[i]). */
#include "config.h"

#include "graph.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dataset.h"
#include "fsutil.h"
#include "graph_png.h"
#include "log.h"
#include "marks.h"
#include "net.h"
#include "present.h"
#include "series.h"
#include "timespec.h"
#include "vt_time.h"

#define GRAPH_DEFAULT_WIDTH 800
#define GRAPH_DEFAULT_HEIGHT 250
#define GRAPH_MIN_WIDTH 200
#define GRAPH_MAX_WIDTH 4000
#define GRAPH_MIN_HEIGHT 100
#define GRAPH_MAX_HEIGHT 2000
/* Span entries listed in the legend per kind (outages, no data); the rest
 * are shaded and counted in one line, so a month of flapping cannot push
 * the plot off the image. */
#define GRAPH_MAX_LEGEND_SPANS 10

/* The per-address palette: readable in print and by colour-blind readers.
 * The Okabe-Ito set (Okabe & Ito, "Color Universal Design", 2008) without
 * its yellow (#F0E442, too faint as a line on white), four of Paul Tol's
 * "muted" colours (SRON/EPS/TN/09-002) and ColorBrewer's BrBG brown, each
 * far enough from the others to tell lines apart:
 *    0 #0072B2 blue            6 #000000 black
 *    1 #E69F00 orange          7 #332288 indigo
 *    2 #009E73 bluish green    8 #999933 olive
 *    3 #D55E00 vermillion      9 #882255 wine
 *    4 #56B4E9 sky blue       10 #DDCC77 sand
 *    5 #CC79A7 reddish purple 11 #8C510A brown
 * Spans are shaded in their address's colour at 25 % (alpha 40); no-data
 * spans in a neutral grey, which no address uses. */
static const char *const graph_palette[] = {
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7",
    "#000000", "#332288", "#999933", "#882255", "#DDCC77", "#8C510A",
};
#define GRAPH_N_COLORS (sizeof(graph_palette) / sizeof(graph_palette[0]))
#define GRAPH_SPAN_ALPHA "40"
#define GRAPH_NODATA_COLOR "#8C8C8C60"

/* Phases of the latency graph, with their legend text. */
static const struct {
  enum vt_series_ds ds;
  const char *legend;
} graph_phases[] = {
    {VT_DS_DNS, "dns"},
    {VT_DS_CONNECT, "connect"},
    {VT_DS_TLS, "tls"},
    {VT_DS_TTFB, "first byte"},
};
#define GRAPH_N_PHASES (sizeof(graph_phases) / sizeof(graph_phases[0]))

static const char *const graph_kind_names[] = {
    [GRAPH_LOAD_SHIFT] = "load-shift", [GRAPH_OUTAGE_GAP] = "outage-gap",
    [GRAPH_LATENCY] = "latency",       [GRAPH_PROBES] = "probes",
    [GRAPH_TRAFFIC] = "traffic",
};

/* load-shift: which share series; the other kinds use check series. */
enum graph_view { GRAPH_VIEW_DNS, GRAPH_VIEW_CLIENT, GRAPH_VIEW_CHECK };

/* An address of the target. */
struct graph_addr {
  char ip[VT_IP_STRLEN];
  double first_ts; /* first result in any of its series: legend order */
  int color;       /* index into graph_palette */
  /* outage-gap: the rows of the reference grid any probe measured, and the
   * address's lifetime (first to last result of its drawn series). */
  bool *known;
  double life0, life1;
  bool drawn;
};

/* A selected series, with what grouping and ordering need. */
struct graph_sel {
  const struct gr_series *s;
  enum graph_view view;
  size_t addr; /* index into run->addrs */
};

/* One drawn quantity: an address in one view (load-shift) or of one check
 * (outage-gap, latency), over the series sel[first, first + n), one per
 * probe. */
struct graph_line {
  enum graph_view view;
  size_t addr;
  size_t probe; /* probes: index into run->probes */
  const char *check;
  enum vt_check_type check_type;
  int shade; /* 0 full colour, 1 lighter, 2 darker: the check type */
  bool dashed;
  size_t first, n;
  bool has[VT_SERIES_N_DS]; /* a data source with a known value in range */
  bool minmax;              /* every file has MIN and MAX archives */
};

/* rrd_graph_v's argument vector. Appends are sticky on failure (the first
 * error is kept, later appends do nothing), so the long builders read as a
 * list of arguments and test once, before the vector is used. */
struct graph_argv {
  char **v;
  size_t n, cap;
  enum vt_status st;
};

/* Everything one render needs; graph_run_cleanup frees it. */
struct graph_run {
  struct gr_ctx *g;
  const struct graph_opts *o;
  int width, height;
  bool multi_day; /* span labels carry the date */
  struct gr_series *series;
  size_t n_series;
  struct graph_addr *addrs;
  size_t n_addrs;
  struct graph_sel *sel;
  size_t n_sel;
  struct graph_line *lines;
  size_t n_lines;
  size_t n_checks;     /* distinct tcp/http checks drawn */
  size_t n_types;      /* distinct check types drawn */
  bool per_probe;      /* probes: a line per probe of one address */
  const char **probes; /* probes: names in the order of the lines */
  size_t n_probes;
  struct marks_span *marks;     /* outage-gap, probes: spans drawn over */
  struct graph_span *span_rows; /* their legend rows */
  size_t n_marks;
  /* outage-gap: the time grid of the first fetch; the others map onto it */
  double grid_start;
  long grid_step;
  size_t grid_rows;
  struct gr_outage *outages;
  size_t n_outages;
  size_t n_spans[2]; /* outage, no-data spans drawn (info.spans is capped) */
  struct graph_argv av;
  struct graph_info info;
};

bool graph_kind_parse(const char *s, enum graph_kind *out)
{
  for (size_t i = 0; s && i < sizeof(graph_kind_names) / sizeof(char *); i++)
    if (strcmp(s, graph_kind_names[i]) == 0) {
      *out = (enum graph_kind)i;
      return true;
    }
  return false;
}

/* ---- argument vector ----------------------------------------------------- */

static void graph_argv_reset(struct graph_argv *a)
{
  for (size_t i = 0; i < a->n; i++)
    free(a->v[i]);
  a->n = 0;
  a->st = VT_OK;
}

static void graph_argv_free(struct graph_argv *a)
{
  graph_argv_reset(a);
  free(a->v);
  *a = (struct graph_argv){0};
}

static void graph_arg(struct graph_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void graph_arg(struct graph_argv *a, const char *fmt, ...)
{
  if (a->st != VT_OK)
    return;
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    char **v = realloc(a->v, cap * sizeof(*v));
    if (!v) {
      a->st = VT_ENOMEM;
      return;
    }
    a->v = v;
    a->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!s) {
    a->st = VT_ENOMEM;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  va_end(ap);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

/* Copies in into out with ':' escaped, as rrd_graph wants in file names,
 * legends and comments (an IPv6 address would otherwise end the field). */
static const char *graph_esc(const char *in, char *out, size_t size)
{
  size_t j = 0;
  for (size_t i = 0; in[i] && j + 2 < size; i++) {
    if (in[i] == ':')
      out[j++] = '\\';
    out[j++] = in[i];
  }
  out[j] = '\0';
  return out;
}

/* A legend entry's text: escaped as graph_esc does, after two spaces.
 * librrd 1.7 keeps room for the colour swatch by the width of spaces,
 * which in DejaVu Sans is less than the swatch: without the padding the
 * swatch covers the first character of the text. */
static const char *graph_legend_esc(const char *in, char *out, size_t size)
{
  if (size < 3) {
    out[0] = '\0';
    return out;
  }
  out[0] = out[1] = ' ';
  graph_esc(in, out + 2, size - 2);
  return out;
}

/* ---- helpers ------------------------------------------------------------- */

static unsigned graph_rgb(const char *hex)
{
  return (unsigned)strtoul(hex + 1, NULL, 16);
}

/* A shade of rgb: 1 halfway to white, 2 a third of the way to black. */
static unsigned graph_shade(unsigned rgb, int shade)
{
  unsigned out = 0;
  for (int sh = 16; sh >= 0; sh -= 8) {
    unsigned c = (rgb >> sh) & 255;
    if (shade == 1)
      c = c + (255 - c) / 2;
    else if (shade == 2)
      c = c * 2 / 3;
    out |= c << sh;
  }
  return out;
}

/* The colour of a line: its address's (or, per probe, its probe's),
 * shaded for its check type, as "#RRGGBB" in out (8 bytes). */
static const char *graph_line_color(const struct graph_run *r,
                                    const struct graph_line *line, char *out)
{
  size_t c = r->per_probe ? line->probe % GRAPH_N_COLORS
                          : (size_t)r->addrs[line->addr].color;
  snprintf(out, 8, "#%06X",
           graph_shade(graph_rgb(graph_palette[c]), line->shade));
  return out;
}

static bool graph_is_address(const char *key)
{
  return vt_net_is_ip(key);
}

/* FNV-1a: small, and the same on every platform, so an address gets the
 * same colour wherever a graph is drawn. */
static uint32_t graph_hash(const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

/* "11:02:13", or "11-21 11:02:13" on graphs that cover more than one day,
 * where the time alone would be ambiguous. */
static void graph_fmt_time(const struct graph_run *r, double t, char *out,
                           size_t size)
{
  pr_time(t, r->multi_day ? PR_T_MDHMS : PR_T_HMS, out, size);
}

/* The span label of graph.h: "11:02:13-11:04:01, 1m48s". An open outage
 * ends at the graph's end and says so. */
static void graph_span_label(const struct graph_run *r, double start,
                             double end, bool open, char *out, size_t size)
{
  char a[32], b[32], dur[32];
  graph_fmt_time(r, start, a, sizeof(a));
  vt_time_fmt_duration(end - start, dur, sizeof(dur));
  if (open) {
    snprintf(out, size, "%s-ongoing, %s so far", a, dur);
    return;
  }
  graph_fmt_time(r, end, b, sizeof(b));
  snprintf(out, size, "%s-%s, %s", a, b, dur);
}

/* Records a span in the info; returns it, or NULL past the info's room. */
static struct graph_span *graph_add_span(struct graph_run *r, const char *ip,
                                         double start, double end, bool nodata,
                                         const char *label)
{
  struct graph_info *in = &r->info;
  r->n_spans[nodata]++;
  if (in->n_spans >= sizeof(in->spans) / sizeof(in->spans[0]))
    return NULL;
  struct graph_span *sp = &in->spans[in->n_spans++];
  snprintf(sp->ip, sizeof(sp->ip), "%s", ip);
  sp->start = start;
  sp->end = end;
  sp->nodata = nodata;
  snprintf(sp->label, sizeof(sp->label), "%s", label);
  return sp;
}

/* ---- choosing the series ------------------------------------------------- */

/* Logs the target names that do have data, so a typo is easy to fix. */
static enum vt_status graph_check_target(struct gr_ctx *g, const char *target)
{
  char **names = NULL;
  size_t n = 0;
  enum vt_status st = gr_targets(g, &names, &n);
  if (st != VT_OK)
    return st;
  bool found = false;
  struct vt_buf known;
  vt_buf_init(&known, 400);
  bool full = false;
  for (size_t i = 0; i < n; i++) {
    found |= strcmp(names[i], target) == 0;
    /* A full list is not worth failing over: VT_EFULL just cuts it. */
    if (!full && vt_buf_addf(&known, "%s%s", i ? ", " : "", names[i]) != VT_OK)
      full = true;
  }
  if (!found) {
    if (n)
      vt_err("graph: unknown target \"%s\" (known targets: %s)", target,
             vt_buf_str(&known));
    else
      vt_err("graph: unknown target \"%s\": no target has any data yet",
             target);
    st = VT_ENOTFOUND;
  }
  vt_buf_cleanup(&known);
  gr_free_strv(names, n);
  return st;
}

static int graph_addr_cmp(const void *pa, const void *pb)
{
  const struct graph_addr *a = pa, *b = pb;
  if (a->first_ts != b->first_ts)
    return a->first_ts < b->first_ts ? -1 : 1;
  return strcmp(a->ip, b->ip);
}

static int graph_addr_text_cmp(const void *pa, const void *pb)
{
  const struct graph_addr *const *a = pa, *const *b = pb;
  return strcmp((*a)->ip, (*b)->ip);
}

/* Colours of the target's addresses. Each address takes the palette entry
 * its text hashes to, so the colour does not depend on which graph, filter
 * or legend order shows it. Two addresses of one target hashing alike
 * would be indistinguishable, so the later one in text order moves on to
 * the next free entry: still stable, as it depends only on the target's
 * set of addresses. Past 12 addresses colours repeat. */
static enum vt_status graph_colors(struct graph_run *r)
{
  struct graph_addr **order =
      calloc(r->n_addrs ? r->n_addrs : 1, sizeof(*order));
  if (!order)
    return VT_ENOMEM;
  for (size_t i = 0; i < r->n_addrs; i++)
    order[i] = &r->addrs[i];
  qsort(order, r->n_addrs, sizeof(*order), graph_addr_text_cmp);
  bool taken[GRAPH_N_COLORS] = {false};
  size_t n_taken = 0;
  for (size_t i = 0; i < r->n_addrs; i++) {
    size_t c = graph_hash(order[i]->ip) % GRAPH_N_COLORS;
    if (n_taken < GRAPH_N_COLORS) {
      while (taken[c])
        c = (c + 1) % GRAPH_N_COLORS;
      taken[c] = true;
      n_taken++;
    }
    order[i]->color = (int)c;
  }
  free(order);
  return VT_OK;
}

/* Every address among the target's series keys, with its first result. */
static enum vt_status graph_collect_addrs(struct graph_run *r)
{
  r->addrs = calloc(r->n_series ? r->n_series : 1, sizeof(*r->addrs));
  if (!r->addrs)
    return VT_ENOMEM;
  for (size_t i = 0; i < r->n_series; i++) {
    const struct gr_series *s = &r->series[i];
    if (!graph_is_address(s->key))
      continue;
    size_t k = 0;
    while (k < r->n_addrs && strcmp(r->addrs[k].ip, s->key) != 0)
      k++;
    if (k == r->n_addrs) {
      snprintf(r->addrs[k].ip, sizeof(r->addrs[k].ip), "%s", s->key);
      r->addrs[k].first_ts = s->first_ts;
      r->addrs[k].life0 = INFINITY;
      r->addrs[k].life1 = -INFINITY;
      r->n_addrs++;
    } else if (s->first_ts < r->addrs[k].first_ts) {
      r->addrs[k].first_ts = s->first_ts;
    }
  }
  /* Oldest first: in load-shift the addresses that were there first form
   * the lower bands and the legend reads in order of appearance. */
  qsort(r->addrs, r->n_addrs, sizeof(*r->addrs), graph_addr_cmp);
  return graph_colors(r);
}

static size_t graph_addr_index(const struct graph_run *r, const char *ip)
{
  for (size_t k = 0; k < r->n_addrs; k++)
    if (strcmp(r->addrs[k].ip, ip) == 0)
      return k;
  return SIZE_MAX;
}

/* The view a series belongs to for this graph, or -1 when it is not used. */
static int graph_series_view(const struct graph_opts *o,
                             const struct gr_series *s)
{
  if (!graph_is_address(s->key))
    return -1;
  if (o->probe && strcmp(s->probe, o->probe) != 0)
    return -1;
  if (o->kind == GRAPH_LOAD_SHIFT) {
    if (s->check_type == VT_CHECK_DNS)
      return GRAPH_VIEW_DNS;
    if (s->check_type == VT_CHECK_CLIENT)
      return GRAPH_VIEW_CLIENT;
    return -1;
  }
  if (o->kind == GRAPH_TRAFFIC)
    return s->check_type == VT_CHECK_LOAD ? GRAPH_VIEW_CHECK : -1;
  if (!vt_series_per_address(s->check_type))
    return -1;
  if (o->kind == GRAPH_PROBES && !o->ip)
    return -1;
  if (o->ip && strcmp(s->key, o->ip) != 0)
    return -1;
  return GRAPH_VIEW_CHECK;
}

static int graph_sel_cmp(const void *pa, const void *pb)
{
  const struct graph_sel *a = pa, *b = pb;
  if (a->view != b->view)
    return a->view < b->view ? -1 : 1;
  if (a->addr != b->addr)
    return a->addr < b->addr ? -1 : 1;
  int c = strcmp(a->s->check_name, b->s->check_name);
  return c ? c : strcmp(a->s->probe, b->s->probe);
}

/* probes: by probe, then check (one address). */
static int graph_sel_probe_cmp(const void *pa, const void *pb)
{
  const struct graph_sel *a = pa, *b = pb;
  int c = strcmp(a->s->probe, b->s->probe);
  return c ? c : strcmp(a->s->check_name, b->s->check_name);
}

/* The shade of a check type: http in the full colour, tcp lighter (and
 * dashed), anything else darker, so two lines of one address differ in
 * colour, in the legend swatch too, not only by a dash the swatch does
 * not show. */
static int graph_type_shade(enum vt_check_type type)
{
  return type == VT_CHECK_HTTP ? 0 : type == VT_CHECK_TCP ? 1 : 2;
}

/* Says which part of the selection came up empty, so "no series" names
 * the filter to blame. */
static void graph_log_nothing(const struct graph_run *r)
{
  const struct graph_opts *o = r->o;
  if (o->kind == GRAPH_LOAD_SHIFT)
    vt_err("graph: %s has no dns or client share series%s%s: no load-shift "
           "graph",
           o->target, o->probe ? " from probe " : "", o->probe ? o->probe : "");
  else if (o->kind == GRAPH_TRAFFIC)
    vt_err("graph: %s has no load series%s%s: no traffic graph (configure a "
           "load check)",
           o->target, o->probe ? " from probe " : "", o->probe ? o->probe : "");
  else
    vt_err("graph: %s has no tcp or http series%s%s%s%s: no %s graph",
           o->target, o->ip ? " of address " : "", o->ip ? o->ip : "",
           o->probe ? " from probe " : "", o->probe ? o->probe : "",
           graph_kind_names[o->kind]);
}

/* Picks the series of this graph and groups them into lines. */
static enum vt_status graph_select(struct graph_run *r)
{
  r->sel = calloc(r->n_series ? r->n_series : 1, sizeof(*r->sel));
  r->lines = calloc(r->n_series ? r->n_series : 1, sizeof(*r->lines));
  if (!r->sel || !r->lines)
    return VT_ENOMEM;
  for (size_t i = 0; i < r->n_series; i++) {
    int view = graph_series_view(r->o, &r->series[i]);
    if (view < 0)
      continue;
    r->sel[r->n_sel++] = (struct graph_sel){
        .s = &r->series[i],
        .view = (enum graph_view)view,
        .addr = graph_addr_index(r, r->series[i].key),
    };
  }
  if (!r->n_sel) {
    graph_log_nothing(r);
    return VT_ENOTFOUND;
  }
  qsort(r->sel, r->n_sel, sizeof(*r->sel),
        r->per_probe ? graph_sel_probe_cmp : graph_sel_cmp);
  r->probes = calloc(r->n_sel, sizeof(*r->probes));
  if (!r->probes)
    return VT_ENOMEM;

  /* A line per (view, address), and per check outside load-shift, where
   * averaging a tcp connect with an http transfer would mean nothing;
   * per probe too in the probes view. */
  bool per_check =
      r->o->kind != GRAPH_LOAD_SHIFT && r->o->kind != GRAPH_TRAFFIC;
  for (size_t i = 0; i < r->n_sel; i++) {
    const struct graph_sel *s = &r->sel[i];
    struct graph_line *prev = r->n_lines ? &r->lines[r->n_lines - 1] : NULL;
    bool new_probe =
        !r->n_probes || strcmp(r->probes[r->n_probes - 1], s->s->probe) != 0;
    if (r->per_probe && new_probe)
      r->probes[r->n_probes++] = s->s->probe;
    if (prev && prev->view == s->view && prev->addr == s->addr &&
        (!r->per_probe || !new_probe) &&
        (!per_check || strcmp(prev->check, s->s->check_name) == 0)) {
      prev->n++;
      continue;
    }
    bool same_owner =
        prev && (r->per_probe ? !new_probe : prev->addr == s->addr);
    r->lines[r->n_lines++] = (struct graph_line){
        .view = s->view,
        .addr = s->addr,
        .probe = r->n_probes ? r->n_probes - 1 : 0,
        .check = s->s->check_name,
        .check_type = s->s->check_type,
        .shade = per_check ? graph_type_shade(s->s->check_type) : 0,
        .dashed = per_check && same_owner,
        .first = i,
        .n = 1,
    };
    r->addrs[s->addr].drawn = true;
  }
  if (per_check) {
    /* Check names and types in the order they first appear; few, so a
     * scan. */
    for (size_t i = 0; i < r->n_lines; i++) {
      bool seen = false, seen_type = false;
      for (size_t j = 0; j < i; j++) {
        seen |= strcmp(r->lines[j].check, r->lines[i].check) == 0;
        seen_type |= r->lines[j].check_type == r->lines[i].check_type;
      }
      r->n_checks += !seen;
      r->n_types += !seen_type;
    }
    /* One type only: the full colour, whatever the type, dashed after the
     * first check of an address. Several: shade and dash by type. */
    for (size_t i = 0; i < r->n_lines; i++) {
      if (r->n_types == 1)
        r->lines[i].shade = 0;
      else
        r->lines[i].dashed = r->lines[i].shade != 0;
    }
  }
  return VT_OK;
}

/* ---- the data check ------------------------------------------------------ */

/* Marks the reference grid rows that f has a known `up` for. The first
 * fetch defines the grid; files made under another storage layout map by
 * time. */
static enum vt_status graph_mark_known(struct graph_run *r,
                                       struct graph_addr *a,
                                       const struct gr_fetch *f, int up)
{
  if (!r->grid_step) {
    r->grid_start = f->start;
    r->grid_step = f->step;
    r->grid_rows = f->n_rows;
  }
  if (!a->known && !(a->known = calloc(r->grid_rows ? r->grid_rows : 1, 1)))
    return VT_ENOMEM;
  for (size_t i = 0; i < f->n_rows; i++) {
    if (isnan(f->data[i * f->n_ds + (size_t)up]))
      continue;
    double t_end = f->start + (double)(i + 1) * (double)f->step;
    double row = ceil((t_end - r->grid_start) / (double)r->grid_step) - 1;
    if (row >= 0 && row < (double)r->grid_rows)
      a->known[(size_t)row] = true;
  }
  return VT_OK;
}

/* Whether every archive needed for a min/max band is in the file. */
static bool graph_has_minmax(struct graph_run *r, const char *relpath)
{
  char path[PATH_MAX];
  if (!gr_rrd_path(r->g, relpath, path, sizeof(path))[0])
    return false;
  rrd_clear_error();
  rrd_info_t *info = rrd_info_r(path);
  bool min = false, max = false;
  for (rrd_info_t *i = info; i; i = i->next) {
    size_t klen = strlen(i->key);
    if (i->type != RD_I_STR || klen < 3 || strcmp(i->key + klen - 3, ".cf"))
      continue;
    min |= strcmp(i->value.u_str, "MIN") == 0;
    max |= strcmp(i->value.u_str, "MAX") == 0;
  }
  rrd_info_free(info);
  rrd_clear_error();
  return min && max;
}

/* Fetches every series of the graph once: that flushes rrdcached for the
 * files rrd_graph will read, finds corrupt files before rendering (with the
 * file named), tells whether the range holds any data at all, and gives
 * the rows outage-gap needs for its no-data spans. */
static enum vt_status graph_fetch_all(struct graph_run *r)
{
  const struct graph_opts *o = r->o;
  bool any = false;
  for (size_t l = 0; l < r->n_lines; l++) {
    struct graph_line *line = &r->lines[l];
    struct graph_addr *a = &r->addrs[line->addr];
    line->minmax = o->kind == GRAPH_LATENCY;
    for (size_t i = line->first; i < line->first + line->n; i++) {
      const struct gr_series *s = r->sel[i].s;
      struct gr_fetch f;
      /* Fetch at the graph's own resolution (one row per pixel), as librrd
       * does when it draws: the finest rows of 30 days are 43,200 per file
       * for an 800-pixel graph. librrd picks the archive whose step is
       * closest, so no-data spans are as precise as a pixel (the finest
       * step on short ranges); outage spans come from the events, exact. */
      long fstep = (long)((o->end - o->start) / r->width);
      enum vt_status st =
          gr_fetch_rrd(r->g, s->path, "AVERAGE", o->start, o->end, fstep, &f);
      if (st != VT_OK)
        return st;
      int ds[VT_SERIES_N_DS];
      for (int d = 0; d < VT_SERIES_N_DS; d++)
        ds[d] = gr_fetch_ds(&f, vt_series_ds_name(d));
      /* Any known value will do: stop at the first one. */
      for (int d = 0; d < VT_SERIES_N_DS; d++)
        for (size_t row = 0; ds[d] >= 0 && !line->has[d] && row < f.n_rows;
             row++)
          if (!isnan(f.data[row * f.n_ds + (size_t)ds[d]]))
            line->has[d] = true;
      if ((o->kind == GRAPH_OUTAGE_GAP || o->kind == GRAPH_PROBES) &&
          ds[VT_DS_UP] >= 0)
        st = graph_mark_known(r, a, &f, ds[VT_DS_UP]);
      gr_fetch_free(&f);
      if (st != VT_OK)
        return st;
      if ((o->kind == GRAPH_OUTAGE_GAP || o->kind == GRAPH_PROBES)) {
        a->life0 = fmin(a->life0, s->first_ts);
        a->life1 = fmax(a->life1, s->last_ts);
      }
      if (line->minmax)
        line->minmax = graph_has_minmax(r, s->path);
    }
    switch (o->kind) {
    case GRAPH_LOAD_SHIFT:
      any |= line->has[VT_DS_SHARE];
      break;
    case GRAPH_OUTAGE_GAP:
    case GRAPH_PROBES:
      any |= line->has[VT_DS_UP] || line->has[VT_DS_TOTAL];
      break;
    case GRAPH_LATENCY:
      any |= line->has[VT_DS_TOTAL];
      break;
    case GRAPH_TRAFFIC:
      any |= line->has[VT_DS_LOAD];
      break;
    }
  }
  if (!any) {
    char a[32], b[32];
    /* An answer, not a fault: the status page asks for young services. */
    vt_notice("graph: no data for %s between %s and %s: no graph written",
              o->target, pr_time(o->start, PR_T_ISO, a, sizeof(a)),
              pr_time(o->end, PR_T_ISO, b, sizeof(b)));
    return VT_EINVAL;
  }
  return VT_OK;
}

/* ---- common arguments ---------------------------------------------------- */

/* The smallest of steps[] (n of them, ascending) that is at least want,
 * else the largest. */
static int graph_pick_step(const int *steps, size_t n, double want)
{
  for (size_t i = 0; i < n; i++)
    if (steps[i] >= want)
      return steps[i];
  return steps[n - 1];
}

/* The time axis. Up to 6 hours librrd's own grid reads well. Beyond,
 * labels every few hours ("14:00") up to a day and a half, then dates
 * ("Nov 21") every few days (librrd would write "Week 45" on a month),
 * then months; the label step is picked so labels stay about 60 pixels
 * apart at any width. */
static void graph_xgrid(struct graph_run *r)
{
  double range = r->o->end - r->o->start;
  if (range <= 6 * 3600.0)
    return;
  struct graph_argv *av = &r->av;
  if (range <= 1.5 * 86400) {
    static const int hours[] = {1, 2, 3, 4, 6, 12};
    double px_per_h = r->width * 3600.0 / range;
    int k = graph_pick_step(hours, sizeof(hours) / sizeof(hours[0]),
                            60.0 / px_per_h);
    graph_arg(av, "--x-grid");
    graph_arg(av, "MINUTE:30:HOUR:%d:HOUR:%d:0:%%H:%%M", k, k);
    return;
  }
  double px_per_day = r->width * 86400.0 / range;
  if (range <= 120 * 86400.0) {
    static const int days[] = {1, 2, 3, 5, 7, 10, 14, 15, 30};
    int k = graph_pick_step(days, sizeof(days) / sizeof(days[0]),
                            60.0 / px_per_day);
    graph_arg(av, "--x-grid");
    graph_arg(av, "%s:%d:DAY:%d:DAY:%d:0:%%b %%d",
              px_per_day >= 40 ? "HOUR" : "DAY", px_per_day >= 40 ? 6 : 1, k,
              k);
    return;
  }
  graph_arg(av, "--x-grid");
  graph_arg(av, "DAY:7:MONTH:1:MONTH:1:0:%%b %%Y");
}

static void graph_common_args(struct graph_run *r, const char *vlabel)
{
  const struct graph_opts *o = r->o;
  struct graph_argv *av = &r->av;
  char a[32], b[32];
  graph_arg(av, "graphv"); /* argv[0], ignored */
  /* "-": librrd returns the image in the info list instead of writing a
   * file, so a failed render leaves nothing behind and the file is
   * written (and an SVG completed) in one place, graph_write. */
  graph_arg(av, "-");
  graph_arg(av, "--imgformat");
  graph_arg(av, "%s", o->format == GRAPH_SVG ? "SVG" : "PNG");
  graph_arg(av, "--start");
  graph_arg(av, "%.0f", floor(o->start));
  graph_arg(av, "--end");
  graph_arg(av, "%.0f", ceil(o->end));
  graph_arg(av, "--width");
  graph_arg(av, "%d", r->width);
  graph_arg(av, "--height");
  graph_arg(av, "%d", r->height);
  /* compact: no title, the page around the image says what it shows. */
  if (!o->compact) {
    graph_arg(av, "--title");
    if (o->title)
      graph_arg(av, "%s", o->title);
    else
      graph_arg(av, "%s %s%s%s%s%s, %s to %s", graph_kind_names[o->kind],
                o->target, o->ip && o->kind != GRAPH_LOAD_SHIFT ? " " : "",
                o->ip && o->kind != GRAPH_LOAD_SHIFT ? o->ip : "",
                o->probe ? " from " : "", o->probe ? o->probe : "",
                pr_time(o->start, PR_T_ISO, a, sizeof(a)),
                pr_time(o->end, PR_T_ISO, b, sizeof(b)));
  }
  if (!o->compact) {
    graph_arg(av, "--vertical-label");
    graph_arg(av, "%s", vlabel);
  }
  graph_arg(av, "--slope-mode");
  /* DejaVu (fonts-dejavu-core) everywhere, so both formats and every host
   * render the same metrics. */
  graph_arg(av, "--font");
  graph_arg(av, "DEFAULT:9:DejaVu Sans");
  graph_arg(av, "--font");
  graph_arg(av, "TITLE:10:DejaVu Sans");
  /* White paper, quiet grid, dark text: readable printed and on screen.
   * The grid lines are solid and light, not librrd's dotted ones: cairo
   * strokes every dot of a dotted line as a shape of its own, which was
   * a third of the CPU of drawing a status-page graph (bench/README.md,
   * "Solid grid lines"). */
  graph_arg(av, "--grid-dash");
  graph_arg(av, "1:0");
  static const char *const colors[] = {
      "BACK#FFFFFF",  "CANVAS#FFFFFF", "SHADEA#FFFFFF", "SHADEB#FFFFFF",
      "GRID#EFEFEF",  "MGRID#CFCFCF",  "FONT#222222",   "AXIS#555555",
      "ARROW#555555", "FRAME#555555",
  };
  for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++) {
    graph_arg(av, "--color");
    graph_arg(av, "%s", colors[i]);
  }
  graph_arg(av, "--border");
  graph_arg(av, "0");
  graph_xgrid(r);
  /* librrd centres each time label on its grid line; a label near the
   * right end would be cut at the image's edge ("Thu 08:"). The right
   * axis (the left one mirrored, handy on a wide graph) gives the margin
   * it needs. */
  graph_arg(av, "--right-axis");
  graph_arg(av, "1:0");
  if (o->kind != GRAPH_LOAD_SHIFT && o->kind != GRAPH_TRAFFIC) {
    /* Milliseconds as numbers: "0.9", never librrd's "900 m". */
    graph_arg(av, "--units-exponent");
    graph_arg(av, "0");
  }
  graph_arg(av, "--legend-position");
  graph_arg(av, "south");
  graph_arg(av, "--disable-rrdtool-tag");
}

/* DEF:<vname>=<file>:<ds>:<cf> for a series. */
static void graph_def(struct graph_run *r, const char *vname,
                      const struct gr_series *s, enum vt_series_ds ds,
                      const char *cf)
{
  char path[PATH_MAX], esc[2 * PATH_MAX];
  if (!gr_rrd_path(r->g, s->path, path, sizeof(path))[0]) {
    r->av.st = VT_EINVAL;
    return;
  }
  graph_arg(&r->av, "DEF:%s=%s:%s:%s", vname, graph_esc(path, esc, sizeof(esc)),
            vt_series_ds_name(ds), cf);
}

/* CDEF:<name>=<prefix>0,<prefix>1,...,n,AVG: the mean over the probes that
 * have a value, so one probe's gap does not blank the line or band. */
static void graph_cdef_avg(struct graph_run *r, const char *name,
                           const char *prefix, size_t n, const char *post)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = VT_OK;
  for (size_t i = 0; st == VT_OK && i < n; i++)
    st = vt_buf_addf(&b, "%s%zu,", prefix, i);
  if (st == VT_OK)
    st = vt_buf_addf(&b, "%zu,AVG%s", n, post);
  if (st == VT_OK)
    graph_arg(&r->av, "CDEF:%s=%s", name, vt_buf_str(&b));
  else
    r->av.st = st;
  vt_buf_cleanup(&b);
}

/* CDEF:<name>=<prefix>0,<prefix>1,OP,<prefix>2,OP,...<post> with a
 * pairwise operator that skips unknowns (MINNAN, MAXNAN, ADDNAN). */
static void graph_cdef_fold(struct graph_run *r, const char *name,
                            const char *prefix, size_t n, const char *op,
                            const char *post)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = vt_buf_addf(&b, "%s0", prefix);
  for (size_t i = 1; st == VT_OK && i < n; i++)
    st = vt_buf_addf(&b, ",%s%zu,%s", prefix, i, op);
  if (st == VT_OK)
    graph_arg(&r->av, "CDEF:%s=%s%s", name, vt_buf_str(&b), post);
  else
    r->av.st = st;
  vt_buf_cleanup(&b);
}

/* The legend text of a check line: the address (the probe in the probes
 * view), plus the check type when the graph has several ("192.0.2.10
 * tcp"), and the check's name when there are more checks than types. */
static void graph_line_legend(const struct graph_run *r,
                              const struct graph_line *line, const char *suffix,
                              char *out, size_t size)
{
  char text[200];
  const char *who =
      r->per_probe ? r->probes[line->probe] : r->addrs[line->addr].ip;
  if (r->n_checks > r->n_types)
    snprintf(text, sizeof(text), "%s %s %s%s", who,
             vt_check_type_name(line->check_type), line->check, suffix);
  else if (r->n_types > 1)
    snprintf(text, sizeof(text), "%s %s%s", who,
             vt_check_type_name(line->check_type), suffix);
  else
    snprintf(text, sizeof(text), "%s%s", who, suffix);
  graph_legend_esc(text, out, size);
}

/* ---- load-shift ---------------------------------------------------------- */

static bool graph_same_reporter(const struct gr_series *a,
                                const struct gr_series *b)
{
  return strcmp(a->check_name, b->check_name) == 0 &&
         strcmp(a->probe, b->probe) == 0;
}

/* CDEF:n<v>, how many reporters of view v said anything at each time. A
 * reporter is one check of one probe: the shares of each of its answers
 * add up to 1, so an address's mean share is the sum of its shares over
 * the reporters that answered. Averaging over the address's own files
 * instead would count a new address double during a switch: the probes
 * that have not seen it yet have no file for it, only zeros for the old
 * ones. */
static void graph_share_reporters(struct graph_run *r, int v)
{
  struct graph_argv *av = &r->av;
  const struct gr_series **rep = calloc(r->n_sel, sizeof(*rep));
  struct vt_buf b, count;
  vt_buf_init(&b, 0);
  vt_buf_init(&count, 0);
  enum vt_status st = rep ? VT_OK : VT_ENOMEM;
  size_t n_rep = 0;
  for (size_t l = 0; st == VT_OK && l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    for (size_t i = 0; st == VT_OK && (int)line->view == v && i < line->n;
         i++) {
      const struct gr_series *s = r->sel[line->first + i].s;
      bool known = false;
      for (size_t j = 0; j < n_rep && !known; j++)
        known = graph_same_reporter(rep[j], s);
      if (known)
        continue;
      rep[n_rep] = s;
      /* Its series: at most one per address (line) of the view. */
      vt_buf_reset(&b);
      size_t k = 0;
      for (size_t l2 = 0; st == VT_OK && l2 < r->n_lines; l2++) {
        const struct graph_line *o = &r->lines[l2];
        for (size_t i2 = 0; st == VT_OK && (int)o->view == v && i2 < o->n; i2++)
          if (graph_same_reporter(r->sel[o->first + i2].s, s))
            st = vt_buf_addf(&b, k++ ? ",s%zu_%zu,ADDNAN" : "s%zu_%zu", l2, i2);
      }
      if (st == VT_OK)
        graph_arg(av, "CDEF:r%d_%zu=%s,UN,0,1,IF", v, n_rep, vt_buf_str(&b));
      if (st == VT_OK)
        st = vt_buf_addf(&count, n_rep ? ",r%d_%zu,+" : "r%d_%zu", v, n_rep);
      n_rep++;
    }
  }
  if (st == VT_OK)
    graph_arg(av, "CDEF:n%d=%s", v, vt_buf_str(&count));
  else
    av->st = st;
  vt_buf_cleanup(&b);
  vt_buf_cleanup(&count);
  free(rep);
}

static void graph_load_shift(struct graph_run *r)
{
  struct graph_argv *av = &r->av;
  bool views[2] = {false, false};
  for (size_t l = 0; l < r->n_lines; l++)
    views[r->lines[l].view] = true;
  bool both = views[GRAPH_VIEW_DNS] && views[GRAPH_VIEW_CLIENT];
  graph_common_args(r, both                    ? "% answers / requests"
                       : views[GRAPH_VIEW_DNS] ? "% of DNS answers"
                                               : "% of client requests");
  graph_arg(av, "--lower-limit");
  graph_arg(av, "%d", both ? -100 : 0);
  graph_arg(av, "--upper-limit");
  graph_arg(av, "100");
  /* Shares cannot pass 100 %. Only librrd's first row of a new file can
   * (it counts a partly covered row in full), and the axis should not
   * stretch for that. */
  graph_arg(av, "--rigid");
  graph_arg(av, "--units-exponent");
  graph_arg(av, "0");

  char name[32], prefix[32];
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    for (size_t i = 0; i < line->n; i++) {
      snprintf(name, sizeof(name), "s%zu_%zu", l, i);
      graph_def(r, name, r->sel[line->first + i].s, VT_DS_SHARE, "AVERAGE");
    }
  }
  for (int v = GRAPH_VIEW_DNS; v <= GRAPH_VIEW_CLIENT; v++)
    if (views[v])
      graph_share_reporters(r, v);
  for (size_t l = 0; l < r->n_lines; l++) {
    char post[32];
    snprintf(name, sizeof(name), "m%zu", l);
    snprintf(prefix, sizeof(prefix), "s%zu_", l);
    snprintf(post, sizeof(post), ",n%d,/", (int)r->lines[l].view);
    graph_cdef_fold(r, name, prefix, r->lines[l].n, "ADDNAN", post);
  }
  /* Per view, the sum of its addresses (ADDNAN: unknown only when all
   * are). An address without a value while others have one counts as 0,
   * so a band that has not appeared yet does not punch a hole in the
   * stack; the whole view has a gap only where no probe said anything. */
  for (int v = GRAPH_VIEW_DNS; v <= GRAPH_VIEW_CLIENT; v++) {
    struct vt_buf b;
    vt_buf_init(&b, 0);
    enum vt_status st = VT_OK;
    size_t n = 0;
    for (size_t l = 0; st == VT_OK && l < r->n_lines; l++)
      if ((int)r->lines[l].view == v)
        st = vt_buf_addf(&b, n++ ? ",m%zu,ADDNAN" : "m%zu", l);
    if (st != VT_OK)
      av->st = st;
    else if (n)
      graph_arg(av, "CDEF:z%d=%s", v, vt_buf_str(&b));
    vt_buf_cleanup(&b);
  }
  bool *legend_done = calloc(r->n_addrs ? r->n_addrs : 1, sizeof(bool));
  if (!legend_done) {
    av->st = VT_ENOMEM;
    return;
  }
  for (int v = GRAPH_VIEW_DNS; v <= GRAPH_VIEW_CLIENT; v++) {
    bool first = true;
    /* The client view hangs below the axis when both are drawn. */
    int scale = both && v == GRAPH_VIEW_CLIENT ? -100 : 100;
    for (size_t l = 0; l < r->n_lines; l++) {
      const struct graph_line *line = &r->lines[l];
      if ((int)line->view != v)
        continue;
      const struct graph_addr *a = &r->addrs[line->addr];
      graph_arg(av, "CDEF:f%zu=m%zu,UN,z%d,0,*,m%zu,IF,%d,*", l, l, v, l,
                scale);
      char legend[128] = "";
      if (!legend_done[line->addr]) {
        graph_legend_esc(a->ip, legend, sizeof(legend));
        legend_done[line->addr] = true;
      }
      graph_arg(av, "AREA:f%zu%s:%s%s", l, graph_palette[a->color], legend,
                first ? "" : ":STACK");
      first = false;
    }
  }
  free(legend_done);
  /* The footnote on a row of its own: "\\s" after entries without a line
   * end lets librrd put the next comment over the legend row. */
  graph_arg(av, "COMMENT:\\l");
  if (both)
    graph_arg(av, "HRULE:0#555555");
  /* compact: librrd cuts a comment at the image's edge, and the page
   * around the image explains it. */
  if (!r->o->compact && both) {
    graph_arg(av, "COMMENT:above the axis\\: share of DNS answers, averaged "
                  "over probes; below\\: share of client requests\\l");
  } else if (!r->o->compact) {
    graph_arg(av, "COMMENT:share of %s per address, averaged over probes\\l",
              views[GRAPH_VIEW_DNS] ? "DNS answers" : "client requests");
  }
}

/* ---- traffic (issue 16) -------------------------------------------------- */

/* The traffic view of the load shift: per address, the load its own
 * status page reported (a load check; requests or bytes per second, or a
 * gauge), averaged over the probes that read it (they all read the same
 * server counter), stacked oldest address first; an address without a
 * value while others have one counts 0, so the stack has no holes. Each
 * change of the DNS answer a probe saw is a vertical rule. */
static void graph_traffic(struct graph_run *r)
{
  struct graph_argv *av = &r->av;
  graph_common_args(r, "per second");
  graph_arg(av, "--lower-limit");
  graph_arg(av, "0");
  char name[32], prefix[32];
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    for (size_t i = 0; i < line->n; i++) {
      snprintf(name, sizeof(name), "s%zu_%zu", l, i);
      graph_def(r, name, r->sel[line->first + i].s, VT_DS_LOAD, "AVERAGE");
    }
    snprintf(name, sizeof(name), "m%zu", l);
    snprintf(prefix, sizeof(prefix), "s%zu_", l);
    graph_cdef_avg(r, name, prefix, line->n, "");
  }
  /* Known where any address is: z is the sum (ADDNAN). */
  graph_cdef_fold(r, "z", "m", r->n_lines, "ADDNAN", "");
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    const struct graph_addr *a = &r->addrs[line->addr];
    char legend[128];
    graph_legend_esc(a->ip, legend, sizeof(legend));
    graph_arg(av, "CDEF:f%zu=m%zu,UN,z,0,*,m%zu,IF", l, l, l);
    graph_arg(av, "AREA:f%zu%s:%s%s", l, graph_palette[a->color], legend,
              l ? ":STACK" : "");
  }
  graph_arg(av, "COMMENT:\\l");
  /* The switches: one rule per distinct second in which a probe saw the
   * answer change (the first answer of a probe is no change). */
  struct gr_dns_change *ch = NULL;
  size_t n_ch = 0;
  if (gr_dns_changes(r->g, r->o->target, r->o->start, r->o->end, &ch, &n_ch) ==
      VT_OK) {
    double last = -INFINITY;
    bool labelled = false;
    for (size_t i = 0; i < n_ch; i++) {
      if (!ch[i].old_answers[0] || floor(ch[i].ts) == last)
        continue;
      last = floor(ch[i].ts);
      graph_arg(av, "VRULE:%.0f#000000%s", last,
                labelled || r->o->compact ? "" : ":DNS answer changed\\l");
      labelled = true;
    }
  }
  free(ch);
  if (!r->o->compact)
    graph_arg(av, "COMMENT:each server's own count per second (load check), "
                  "averaged over probes\\l");
}

/* ---- outage-gap ---------------------------------------------------------- */

/* No-data spans of address a: runs of grid rows that no probe measured,
 * inside the address's lifetime. Before its first result and after its
 * last one the address was simply not in use (not yet in, or gone from,
 * the DNS answer), which is not blindness. */
static void graph_nodata_spans(struct graph_run *r, const struct graph_addr *a,
                               size_t *n_spans)
{
  *n_spans = 0;
  if (!a->known)
    return;
  double step = (double)r->grid_step;
  size_t run = SIZE_MAX;
  for (size_t i = 0; i <= r->grid_rows; i++) {
    double rs = r->grid_start + (double)i * step, re = rs + step;
    bool inside = i < r->grid_rows && re > a->life0 && re <= a->life1 &&
                  rs >= r->o->start && re <= r->o->end;
    bool blind = inside && !a->known[i];
    if (blind && run == SIZE_MAX)
      run = i;
    if (!blind && run != SIZE_MAX) {
      double s = r->grid_start + (double)run * step;
      double e = r->grid_start + (double)i * step;
      char label[96];
      graph_span_label(r, s, e, false, label, sizeof(label));
      graph_add_span(r, a->ip, s, e, true, label);
      (*n_spans)++;
      run = SIZE_MAX;
    }
  }
}

/* "p2 only" or "2 of 3": who saw a partial event. */
static void graph_seen(const struct gr_outage *o, char *out, size_t size)
{
  if (o->seen_by == 1 && o->probes[0] && !strchr(o->probes, ','))
    snprintf(out, size, "%s only", o->probes);
  else
    snprintf(out, size, "%d of %d", o->seen_by, o->of_probes);
}

/* The outages and partial events of the drawn addresses as marks, one
 * lane per address, numbered in order of start (the legend's order);
 * span_rows[i] describes marks[i]. Each is also a span of the info. */
static void graph_span_marks(struct graph_run *r)
{
  r->marks = calloc(r->n_outages ? r->n_outages : 1, sizeof(*r->marks));
  r->span_rows = calloc(r->n_outages ? r->n_outages : 1, sizeof(*r->span_rows));
  int *lane = calloc(r->n_addrs ? r->n_addrs : 1, sizeof(*lane));
  if (!r->marks || !r->span_rows || !lane) {
    free(lane);
    r->av.st = VT_ENOMEM;
    return;
  }
  int n_lanes = 0;
  for (size_t k = 0; k < r->n_addrs; k++)
    lane[k] = -1;
  for (size_t i = 0; i < r->n_outages; i++) {
    const struct gr_outage *out = &r->outages[i];
    size_t k = graph_addr_index(r, out->ip);
    bool partial = strcmp(out->kind, "partial") == 0;
    if (strcmp(out->scope, "address") != 0 || k == SIZE_MAX ||
        !r->addrs[k].drawn)
      continue;
    if (lane[k] < 0)
      lane[k] = n_lanes++;
    bool open = isnan(out->end);
    double end = open ? r->o->end : out->end;
    struct graph_span *sp = &r->span_rows[r->n_marks];
    struct marks_span *m = &r->marks[r->n_marks];
    r->n_marks++;
    snprintf(sp->ip, sizeof(sp->ip), "%s", out->ip);
    sp->start = out->start;
    sp->end = end;
    sp->partial = partial;
    sp->number = (int)r->n_marks;
    graph_span_label(r, out->start, end, open, sp->label, sizeof(sp->label));
    if (out->maintenance) {
      size_t len = strlen(sp->label);
      snprintf(sp->label + len, sizeof(sp->label) - len, " (maintenance)");
    }
    char dur[32];
    vt_time_fmt_duration(end - out->start, dur, sizeof(dur));
    unsigned rgb =
        r->per_probe ? 0x555555 : graph_rgb(graph_palette[r->addrs[k].color]);
    *m = (struct marks_span){
        .t0 = fmax(out->start, r->o->start),
        .t1 = fmin(end, r->o->end),
        .rgb = rgb,
        .lane = lane[k],
        .partial = partial,
    };
    snprintf(m->kind, sizeof(m->kind), "%s", partial ? "partial" : "outage");
    snprintf(m->ip, sizeof(m->ip), "%s", out->ip);
    if (partial) {
      graph_seen(out, sp->seen, sizeof(sp->seen));
      snprintf(m->label, sizeof(m->label), "%d %s, %s", sp->number, sp->seen,
               dur);
    } else {
      snprintf(m->label, sizeof(m->label), "%d %s", sp->number, dur);
    }
    /* Past the legend's rows a number would point nowhere. */
    if (sp->number > GRAPH_MAX_LEGEND_SPANS)
      snprintf(m->label, sizeof(m->label), "%s", partial ? sp->seen : dur);
    struct graph_span *last =
        graph_add_span(r, sp->ip, sp->start, sp->end, false, sp->label);
    if (last) {
      last->partial = partial;
      last->number = sp->number;
      snprintf(last->seen, sizeof(last->seen), "%s", sp->seen);
    }
  }
  free(lane);
}

static void graph_outage_gap(struct graph_run *r)
{
  struct graph_argv *av = &r->av;
  graph_common_args(r,
                    r->per_probe ? "latency (ms) per probe" : "latency (ms)");
  graph_arg(av, "--lower-limit");
  graph_arg(av, "0");

  char name[32], prefix[32];
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    snprintf(prefix, sizeof(prefix), "t%zu_", l);
    for (size_t i = 0; i < line->n; i++) {
      snprintf(name, sizeof(name), "%s%zu", prefix, i);
      graph_def(r, name, r->sel[line->first + i].s, VT_DS_TOTAL, "AVERAGE");
    }
    snprintf(name, sizeof(name), "lat%zu", l);
    graph_cdef_avg(r, name, prefix, line->n, "");
  }
  /* A CDEF needs a variable even when it only looks at TIME; lat0 serves,
   * POPped at once. nil is always unknown: a legend entry that draws
   * nothing, so spans can be shaded behind the lines and still be listed
   * after them. */
  graph_arg(av, "CDEF:nil=lat0,POP,UNKN");

  /* No data, per address: every probe's `up` unknown (UN multiplied is a
   * logical and) within the address's lifetime. */
  for (size_t k = 0; k < r->n_addrs; k++) {
    struct graph_addr *a = &r->addrs[k];
    size_t n_spans = 0;
    if (!a->drawn)
      continue;
    graph_nodata_spans(r, a, &n_spans);
    if (!n_spans)
      continue;
    struct vt_buf b;
    vt_buf_init(&b, 0);
    enum vt_status st = VT_OK;
    size_t n = 0;
    for (size_t l = 0; st == VT_OK && l < r->n_lines; l++) {
      const struct graph_line *line = &r->lines[l];
      if (line->addr != k)
        continue;
      for (size_t i = 0; st == VT_OK && i < line->n; i++, n++) {
        snprintf(name, sizeof(name), "u%zu_%zu", k, n);
        graph_def(r, name, r->sel[line->first + i].s, VT_DS_UP, "AVERAGE");
        st = vt_buf_addf(&b, n ? "%s,UN,*," : "%s,UN,", name);
      }
    }
    if (st == VT_OK)
      graph_arg(av, "CDEF:nd%zu=%sTIME,%.0f,GE,*,TIME,%.0f,LE,*,INF,UNKN,IF", k,
                vt_buf_str(&b), floor(a->life0), ceil(a->life1));
    else
      av->st = st;
    vt_buf_cleanup(&b);
    graph_arg(av, "AREA:nd%zu%s", k, GRAPH_NODATA_COLOR);
  }

  /* Outages and partial events of the drawn addresses: marks drawn over
   * the image (marks.h), numbered in the legend's order. */
  graph_span_marks(r);

  /* The lines, on top of the shading; broken where `total` is unknown,
   * which is where the check failed or nobody measured. */
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    char legend[192], color[8];
    graph_line_legend(r, line, "", legend, sizeof(legend));
    graph_arg(av, "LINE2:lat%zu%s:%s%s", l, graph_line_color(r, line, color),
              legend, line->dashed ? ":dashes=6,3" : "");
  }
  graph_arg(av, "COMMENT:\\l");

  /* Legend entries of the spans: outages and partial events first (with
   * the number of their marker), then no data. */
  for (size_t i = 0; i < r->n_marks && i < GRAPH_MAX_LEGEND_SPANS; i++) {
    const struct graph_span *sp = &r->span_rows[i];
    char text[256], esc[512];
    /* compact: the duration only (the marker's label), so the row fits
     * a narrow image; the page lists the times. */
    const char *when = r->o->compact ? r->marks[i].label : sp->label;
    if (r->o->compact)
      when += strcspn(when, " ") + (when[strcspn(when, " ")] == ' ');
    if (sp->partial)
      snprintf(text, sizeof(text), "[%d] %s partial%s%s: %s", sp->number,
               sp->ip, r->o->compact ? "" : ", seen by ",
               r->o->compact ? "" : sp->seen, when);
    else
      snprintf(text, sizeof(text), "[%d] %s down %s", sp->number, sp->ip, when);
    graph_legend_esc(text, esc, sizeof(esc));
    graph_arg(av, "AREA:nil#%06X%s:%s\\l", r->marks[i].rgb,
              sp->partial ? "80" : GRAPH_SPAN_ALPHA, esc);
  }
  if (r->n_marks > GRAPH_MAX_LEGEND_SPANS)
    graph_arg(av, "COMMENT:  and %zu more outages or partial events\\l",
              r->n_marks - GRAPH_MAX_LEGEND_SPANS);
  size_t listed = 0;
  for (size_t i = 0; i < r->info.n_spans; i++) {
    const struct graph_span *sp = &r->info.spans[i];
    if (!sp->nodata || listed >= GRAPH_MAX_LEGEND_SPANS)
      continue;
    listed++;
    char text[192], esc[384];
    char dur[32];
    snprintf(text, sizeof(text), "%s no data %s", sp->ip,
             r->o->compact
                 ? vt_time_fmt_duration(sp->end - sp->start, dur, sizeof(dur))
                 : sp->label);
    graph_legend_esc(text, esc, sizeof(esc));
    graph_arg(av, "AREA:nil%s:%s\\l", GRAPH_NODATA_COLOR, esc);
  }
  if (r->n_spans[1] > listed)
    graph_arg(av, "COMMENT:  and %zu more no-data spans\\l",
              r->n_spans[1] - listed);
}

/* ---- latency ------------------------------------------------------------- */

/* The phases of the latency graph, dashed, for a single line only: four
 * more lines per address would bury the comparison between addresses.
 * Their colours skip the address's. */
static void graph_phase_lines(struct graph_run *r)
{
  struct graph_argv *av = &r->av;
  char name[32], prefix[32];
  if (r->n_lines != 1)
    return;
  const struct graph_line *line = &r->lines[0];
  static const int phase_colors[] = {1, 2, 5, 7, 3};
  size_t c = 0;
  for (size_t p = 0; p < GRAPH_N_PHASES; p++) {
    enum vt_series_ds ds = graph_phases[p].ds;
    if (!line->has[ds])
      continue;
    for (size_t i = 0; i < line->n; i++) {
      snprintf(name, sizeof(name), "p%zu_%zu", p, i);
      graph_def(r, name, r->sel[line->first + i].s, ds, "AVERAGE");
    }
    snprintf(name, sizeof(name), "ph%zu", p);
    snprintf(prefix, sizeof(prefix), "p%zu_", p);
    graph_cdef_avg(r, name, prefix, line->n, "");
    if (phase_colors[c] == r->addrs[line->addr].color)
      c++;
    char legend[64];
    graph_arg(av, "LINE1:ph%zu%s:%s:dashes=4,2", p,
              graph_palette[phase_colors[c++]],
              graph_legend_esc(graph_phases[p].legend, legend, sizeof(legend)));
  }
}

static void graph_latency(struct graph_run *r)
{
  struct graph_argv *av = &r->av;
  graph_common_args(r, "ms");
  graph_arg(av, "--lower-limit");
  graph_arg(av, "0");

  char name[32], prefix[32];
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    for (size_t i = 0; i < line->n; i++) {
      const struct gr_series *s = r->sel[line->first + i].s;
      snprintf(name, sizeof(name), "a%zu_%zu", l, i);
      graph_def(r, name, s, VT_DS_TOTAL, "AVERAGE");
      /* The MIN and MAX archives keep the extremes an average hides;
       * files without them give the spread across probes instead. */
      if (line->minmax) {
        snprintf(name, sizeof(name), "lo%zu_%zu", l, i);
        graph_def(r, name, s, VT_DS_TOTAL, "MIN");
        snprintf(name, sizeof(name), "hi%zu_%zu", l, i);
        graph_def(r, name, s, VT_DS_TOTAL, "MAX");
      }
    }
    snprintf(name, sizeof(name), "avg%zu", l);
    snprintf(prefix, sizeof(prefix), "a%zu_", l);
    graph_cdef_avg(r, name, prefix, line->n, "");
    snprintf(name, sizeof(name), "lo%zu", l);
    snprintf(prefix, sizeof(prefix), "%s%zu_", line->minmax ? "lo" : "a", l);
    graph_cdef_fold(r, name, prefix, line->n, "MINNAN", "");
    snprintf(name, sizeof(name), "hi%zu", l);
    snprintf(prefix, sizeof(prefix), "%s%zu_", line->minmax ? "hi" : "a", l);
    graph_cdef_fold(r, name, prefix, line->n, "MAXNAN", "");
    graph_arg(av, "CDEF:rng%zu=hi%zu,lo%zu,-", l, l, l);
  }
  /* Bands first, so every average line stays visible on top. An AREA
   * without a colour draws nothing and is the base the band stacks on.
   * The lines carry the legend; one comment explains the bands. */
  bool all_minmax = true;
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    all_minmax &= line->minmax;
    char color[8];
    graph_arg(av, "AREA:lo%zu", l);
    graph_arg(av, "AREA:rng%zu%s" GRAPH_SPAN_ALPHA "::STACK", l,
              graph_line_color(r, line, color));
  }
  for (size_t l = 0; l < r->n_lines; l++) {
    const struct graph_line *line = &r->lines[l];
    char legend[192], color[8];
    graph_line_legend(r, line, "", legend, sizeof(legend));
    graph_arg(av, "LINE2:avg%zu%s:%s%s", l, graph_line_color(r, line, color),
              legend, line->dashed ? ":dashes=6,3" : "");
  }
  graph_phase_lines(r);
  graph_arg(av, "COMMENT:\\l");
  graph_arg(av, "COMMENT:line\\: mean total time over %s; band\\: %s\\l",
            r->o->probe ? "the probe" : "the probes",
            all_minmax ? "minimum to maximum" : "lowest to highest probe");
}

/* ---- output -------------------------------------------------------------- */

/* The SVG from librrd, with a text layer before its closing tag: the title
 * and each legend entry (librrd's legend[i], placed at coords[i]) as
 * invisible text, so the image can be searched, selected and read aloud.
 * out receives the document. */
static enum vt_status graph_svg_text(const struct graph_run *r,
                                     const struct marks_geom *geom,
                                     rrd_info_t *info, const char *title,
                                     const unsigned char *svg, size_t len,
                                     struct vt_buf *out)
{
  const char *end = NULL;
  for (size_t i = len; i >= 6 && !end; i--)
    if (memcmp(svg + i - 6, "</svg>", 6) == 0)
      end = (const char *)svg + i - 6;
  if (!end) /* not what librrd writes; leave it alone */
    return vt_buf_add(out, svg, len);
  enum vt_status st = vt_buf_add(out, svg, (size_t)(end - (const char *)svg));
  if (st == VT_OK && r->n_marks && geom->end > geom->start)
    st = marks_draw_svg(geom, r->marks, r->n_marks, out);
  if (st == VT_OK)
    st = vt_buf_adds(out, "<g id=\"vantage-text\" fill-opacity=\"0\" "
                          "font-family=\"DejaVu Sans\" font-size=\"9\">\n"
                          "<title>");
  marks_xml_esc(out, title, &st);
  if (st == VT_OK)
    st = vt_buf_addf(out,
                     "</title>\n<text x=\"%d\" y=\"12\" "
                     "text-anchor=\"middle\">",
                     r->info.image_width / 2);
  marks_xml_esc(out, title, &st);
  if (st == VT_OK)
    st = vt_buf_adds(out, "</text>\n");
  /* legend[i] and coords[i] come as pairs, in that order. */
  const char *legend = NULL;
  for (rrd_info_t *i = info; st == VT_OK && i; i = i->next) {
    if (i->type != RD_I_STR)
      continue;
    if (strncmp(i->key, "legend[", 7) == 0) {
      legend = i->value.u_str;
      continue;
    }
    int x1, y1, x2, y2;
    if (strncmp(i->key, "coords[", 7) != 0 || !legend ||
        sscanf(i->value.u_str, "%d,%d,%d,%d", &x1, &y1, &x2, &y2) != 4)
      continue;
    legend += strspn(legend, " ");
    if (*legend) {
      st = vt_buf_addf(out, "<text x=\"%d\" y=\"%d\">", x1, y2 - 3);
      marks_xml_esc(out, legend, &st);
      if (st == VT_OK)
        st = vt_buf_adds(out, "</text>\n");
    }
    legend = NULL;
  }
  if (st == VT_OK)
    st = vt_buf_adds(out, "</g>\n");
  /* The blob is not NUL-terminated. */
  if (st == VT_OK)
    st = vt_buf_add(out, end, len - (size_t)(end - (const char *)svg));
  return st;
}

/* Writes data to path through path.tmp.PID and rename(), so a reader (a
 * web server serving the status page) sees the old image or the new one,
 * never half of one. No fsync: a graph lost in a power cut is redrawn. */
static enum vt_status graph_write(const char *path, const void *data,
                                  size_t len)
{
  const char *what;
  if (vt_write_file_atomic(AT_FDCWD, path, data, len, 0644, VT_FS_TMP_PID,
                           &what) != 0) {
    vt_err("graph: %s: cannot %s: %s", path, what, strerror(errno));
    return VT_EIO;
  }
  return VT_OK;
}

static long graph_info_long(const rrd_info_t *i)
{
  switch (i->type) {
  case RD_I_CNT:
    return (long)i->value.u_cnt;
  case RD_I_INT:
    return i->value.u_int;
  case RD_I_VAL:
    return isnan(i->value.u_val) ? 0 : lround(i->value.u_val);
  default:
    return 0;
  }
}

/* Runs rrd_graph_v over the built vector and writes the image. */
static enum vt_status graph_draw(struct graph_run *r)
{
  if (r->av.st != VT_OK)
    return r->av.st;
  rrd_clear_error();
  /* A PNG: keep librrd's surface, to draw the marks on it and encode it
   * once (graph_png.h). */
  if (r->o->format != GRAPH_SVG)
    png_capture_arm();
  rrd_info_t *info = rrd_graph_v((int)r->av.n, r->av.v);
  cairo_surface_t *surface = png_capture_take();
  if (!info) {
    if (surface)
      cairo_surface_destroy(surface);
    vt_err("graph: %s %s: %s", graph_kind_names[r->o->kind], r->o->target,
           rrd_test_error() ? rrd_get_error() : "rrd_graph failed");
    rrd_clear_error();
    return VT_EIO;
  }
  const rrd_info_t *image = NULL;
  struct marks_geom geom = {0};
  for (rrd_info_t *i = info; i; i = i->next) {
    if (strcmp(i->key, "graph_left") == 0)
      geom.left = (double)graph_info_long(i);
    else if (strcmp(i->key, "graph_top") == 0)
      geom.top = (double)graph_info_long(i);
    else if (strcmp(i->key, "graph_width") == 0)
      geom.width = (double)graph_info_long(i);
    else if (strcmp(i->key, "graph_height") == 0)
      geom.height = (double)graph_info_long(i);
    else if (strcmp(i->key, "graph_start") == 0)
      geom.start = (double)graph_info_long(i);
    else if (strcmp(i->key, "graph_end") == 0)
      geom.end = (double)graph_info_long(i);
    else if (strcmp(i->key, "image_width") == 0)
      r->info.image_width = (int)graph_info_long(i);
    else if (strcmp(i->key, "image_height") == 0)
      r->info.image_height = (int)graph_info_long(i);
    else if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO)
      image = i;
  }
  enum vt_status st = VT_ELIB;
  struct vt_buf svg;
  vt_buf_init(&svg, 0);
  if (surface) {
    st = VT_OK;
    if (r->n_marks && geom.end > geom.start)
      st = marks_draw_surface(&geom, r->marks, r->n_marks, surface);
    if (st == VT_OK)
      st = png_encode(surface, &svg);
    if (st == VT_OK)
      st = graph_write(r->o->output, svg.data, svg.len);
    goto cleanup;
  }
  if (!image) {
    vt_err("graph: %s %s: librrd returned no image",
           graph_kind_names[r->o->kind], r->o->target);
    goto cleanup;
  }
  if (r->o->format == GRAPH_SVG) {
    /* The title is the argument after --title. */
    const char *title = "";
    for (size_t i = 0; i + 1 < r->av.n; i++)
      if (strcmp(r->av.v[i], "--title") == 0)
        title = r->av.v[i + 1];
    st = graph_svg_text(r, &geom, info, title, image->value.u_blo.ptr,
                        image->value.u_blo.size, &svg);
    if (st == VT_OK)
      st = graph_write(r->o->output, svg.data, svg.len);
  } else if (r->n_marks && geom.end > geom.start) {
    st = marks_draw_png(&geom, r->marks, r->n_marks, image->value.u_blo.ptr,
                        image->value.u_blo.size, &svg);
    if (st == VT_OK)
      st = graph_write(r->o->output, svg.data, svg.len);
  } else {
    st = graph_write(r->o->output, image->value.u_blo.ptr,
                     image->value.u_blo.size);
  }

cleanup:
  if (surface)
    cairo_surface_destroy(surface);
  vt_buf_cleanup(&svg);
  rrd_info_free(info);
  return st;
}

static void graph_run_cleanup(struct graph_run *r)
{
  for (size_t k = 0; r->addrs && k < r->n_addrs; k++)
    free(r->addrs[k].known);
  free(r->addrs);
  free(r->sel);
  free(r->lines);
  free(r->series);
  free(r->outages);
  free(r->marks);
  free(r->span_rows);
  free(r->probes);
  graph_argv_free(&r->av);
}

enum vt_status graph_render(struct gr_ctx *g, const struct graph_opts *o,
                            struct graph_info *info)
{
  /* Axis labels and numbers must not depend on where the graph is drawn:
   * times are UTC everywhere in vantage-graph, and rrd_graph formats
   * numbers with the C library. Process-wide, as is librrd's own state
   * (one graph at a time per process: its pango font map is shared). */
  setenv("TZ", "UTC", 1);
  tzset();
  setlocale(LC_NUMERIC, "C");

  struct graph_run r = {
      .g = g,
      .o = o,
      .width = o->width ? o->width : GRAPH_DEFAULT_WIDTH,
      .height = o->height ? o->height : GRAPH_DEFAULT_HEIGHT,
  };
  enum vt_status st = VT_EINVAL;
  if (!o->target || !o->output || !(o->end > o->start) ||
      r.width < GRAPH_MIN_WIDTH || r.width > GRAPH_MAX_WIDTH ||
      r.height < GRAPH_MIN_HEIGHT || r.height > GRAPH_MAX_HEIGHT) {
    vt_err("graph: invalid options (target, output, range or size)");
    goto cleanup;
  }
  r.multi_day = floor(o->start / 86400) != floor((o->end - 1) / 86400);
  r.per_probe = o->kind == GRAPH_PROBES;

  /* The target's series first: a target with series exists, so the list
   * of every target (for the message about an unknown one) is read only
   * when there are none; the status page asks for thousands of graphs. */
  if ((st = gr_series_list(g, o->target, &r.series, &r.n_series)) != VT_OK)
    goto cleanup;
  if (!r.n_series && (st = graph_check_target(g, o->target)) != VT_OK)
    goto cleanup;
  if ((st = graph_collect_addrs(&r)) != VT_OK)
    goto cleanup;
  if ((st = graph_select(&r)) != VT_OK)
    goto cleanup;
  if ((st = graph_fetch_all(&r)) != VT_OK)
    goto cleanup;

  switch (o->kind) {
  case GRAPH_LOAD_SHIFT:
    graph_load_shift(&r);
    break;
  case GRAPH_OUTAGE_GAP:
  case GRAPH_PROBES:
    st = gr_outages(g, o->target, o->start, o->end, &r.outages, &r.n_outages);
    if (st != VT_OK)
      goto cleanup;
    graph_outage_gap(&r);
    break;
  case GRAPH_LATENCY:
    graph_latency(&r);
    break;
  case GRAPH_TRAFFIC:
    graph_traffic(&r);
    break;
  }
  st = graph_draw(&r);
  if (st == VT_OK && info)
    *info = r.info;

cleanup:
  graph_run_cleanup(&r);
  return st;
}

/* ---- command line -------------------------------------------------------- */

void graph_usage(FILE *out)
{
  fprintf(out,
          "  graph --kind KIND --target NAME -o FILE [OPTIONS]\n"
          "      One graph of a target, PNG or SVG. KIND is one of\n"
          "        load-shift  share of DNS answers per address, stacked\n"
          "                    (client requests mirrored below the axis)\n"
          "        outage-gap  latency per address, outages shaded and\n"
          "                    labelled, no-data spans in grey\n"
          "        latency     min/avg/max band per address, and phases\n"
          "                    (dns, connect, tls, first byte) for one\n"
          "        probes      one address (--ip) as each probe saw it: a\n"
          "                    line per probe, outages and partial events\n"
          "        traffic     each address's own requests per second (load\n"
          "                    checks), stacked, DNS switches marked\n"
          "    --ip IP               only this address (outage-gap, "
          "latency;\n"
          "                          needed by probes)\n"
          "    --probe NAME          only this probe (default: averaged "
          "over all)\n"
          "    --start T, --end T    range (default -1d to now)\n"
          "    --format png|svg      default from the -o extension, else "
          "png\n"
          "    --width W, --height H plot area in pixels (default 800 x "
          "250;\n"
          "                          %d..%d x %d..%d); axes and legend "
          "add to it\n"
          "    --title TEXT          instead of kind, target and range\n"
          "    -o, --output FILE     written whole or not at all\n",
          GRAPH_MIN_WIDTH, GRAPH_MAX_WIDTH, GRAPH_MIN_HEIGHT, GRAPH_MAX_HEIGHT);
}

static int graph_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int graph_usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "vantage-graph: graph: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry 'vantage-graph graph --help' for more "
                  "information.\n");
  va_end(ap);
  return 2;
}

static bool graph_parse_int(const char *s, int lo, int hi, int *out)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *out = (int)v;
  return true;
}

int graph_cmd(struct gr_ctx *g, int argc, char **argv)
{
  enum {
    OPT_KIND = 256,
    OPT_TARGET,
    OPT_IP,
    OPT_PROBE,
    OPT_START,
    OPT_END,
    OPT_FORMAT,
    OPT_WIDTH,
    OPT_HEIGHT,
    OPT_TITLE,
  };
  static const struct option opts[] = {
      {"kind", required_argument, NULL, OPT_KIND},
      {"target", required_argument, NULL, OPT_TARGET},
      {"ip", required_argument, NULL, OPT_IP},
      {"probe", required_argument, NULL, OPT_PROBE},
      {"start", required_argument, NULL, OPT_START},
      {"end", required_argument, NULL, OPT_END},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"width", required_argument, NULL, OPT_WIDTH},
      {"height", required_argument, NULL, OPT_HEIGHT},
      {"title", required_argument, NULL, OPT_TITLE},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct graph_opts o = {.width = GRAPH_DEFAULT_WIDTH,
                         .height = GRAPH_DEFAULT_HEIGHT};
  const char *kind = NULL, *start = "-1d", *end = "now", *format = NULL;
  char err[128];
  int c;
  /* main() ran getopt over the global options already: start afresh. */
  optind = 0;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_KIND:
      kind = optarg;
      break;
    case OPT_TARGET:
      o.target = optarg;
      break;
    case OPT_IP:
      o.ip = optarg;
      break;
    case OPT_PROBE:
      o.probe = optarg;
      break;
    case OPT_START:
      start = optarg;
      break;
    case OPT_END:
      end = optarg;
      break;
    case OPT_FORMAT:
      format = optarg;
      break;
    case OPT_TITLE:
      o.title = optarg;
      break;
    case OPT_WIDTH:
      if (!graph_parse_int(optarg, GRAPH_MIN_WIDTH, GRAPH_MAX_WIDTH, &o.width))
        return graph_usage_error("--width: \"%s\" is not a number of "
                                 "pixels from 200 to 4000",
                                 optarg);
      break;
    case OPT_HEIGHT:
      if (!graph_parse_int(optarg, GRAPH_MIN_HEIGHT, GRAPH_MAX_HEIGHT,
                           &o.height))
        return graph_usage_error("--height: \"%s\" is not a number of "
                                 "pixels from 100 to 2000",
                                 optarg);
      break;
    case 'o':
      o.output = optarg;
      break;
    case 'h':
      graph_usage(stdout);
      return 0;
    default:
      fprintf(stderr, "Try 'vantage-graph graph --help' for more "
                      "information.\n");
      return 2;
    }
  }
  if (optind < argc)
    return graph_usage_error("unexpected argument \"%s\"", argv[optind]);
  if (!kind)
    return graph_usage_error("--kind is needed (load-shift, outage-gap, "
                             "latency, probes)");
  if (!graph_kind_parse(kind, &o.kind))
    return graph_usage_error("--kind: unknown kind \"%s\" (load-shift, "
                             "outage-gap, latency, probes)",
                             kind);
  if (o.kind == GRAPH_PROBES && !o.ip)
    return graph_usage_error("--kind probes needs --ip: the address to show "
                             "as each probe saw it");
  if (!o.target)
    return graph_usage_error("--target is needed");
  if (!o.output)
    return graph_usage_error("-o FILE is needed");
  if (o.ip && o.kind == GRAPH_TRAFFIC)
    return graph_usage_error("--ip does not apply to traffic: it stacks "
                             "every address");
  if (o.ip && o.kind == GRAPH_LOAD_SHIFT)
    return graph_usage_error("--ip does not apply to load-shift: it shows "
                             "the shares of all addresses");
  if (format) {
    if (strcasecmp(format, "png") == 0)
      o.format = GRAPH_PNG;
    else if (strcasecmp(format, "svg") == 0)
      o.format = GRAPH_SVG;
    else
      return graph_usage_error("--format: \"%s\" is not png or svg", format);
  } else {
    const char *dot = strrchr(o.output, '.');
    o.format = dot && strcasecmp(dot, ".svg") == 0 ? GRAPH_SVG : GRAPH_PNG;
  }
  double now = vt_time_wall();
  if (!ts_parse(start, now, &o.start, err, sizeof(err)))
    return graph_usage_error("--start: %s", err);
  if (!ts_parse(end, now, &o.end, err, sizeof(err)))
    return graph_usage_error("--end: %s", err);
  if (!(o.end > o.start))
    return graph_usage_error("the range is empty: --end must come after "
                             "--start");
  if (!g)
    return 2;

  struct graph_info info;
  enum vt_status st = graph_render(g, &o, &info);
  if (st != VT_OK)
    return 1;
  printf("%s: %s %s, %dx%d (plot %dx%d)\n", o.output,
         o.format == GRAPH_SVG ? "svg" : "png", graph_kind_names[o.kind],
         info.image_width, info.image_height, o.width, o.height);
  for (size_t i = 0; i < info.n_spans; i++) {
    const struct graph_span *sp = &info.spans[i];
    if (sp->partial)
      printf("  [%d] %s partial (%s) %s\n", sp->number, sp->ip, sp->seen,
             sp->label);
    else if (sp->number)
      printf("  [%d] %s down %s\n", sp->number, sp->ip, sp->label);
    else
      printf("  %s %s %s\n", sp->ip, sp->nodata ? "no data" : "down",
             sp->label);
  }
  return 0;
}
