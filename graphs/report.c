/* SPDX-License-Identifier: MIT */
/* Availability reports (report.h): per target, address and probe over a
 * period, from the outage rows the quorum engine stored, the maintenance
 * windows and the `up` series, written as text, JSON, CSV or HTML.
 *
 * All figures are unions of half-open time intervals clipped to
 * [start, end), so they add up to the second:
 *   period = maintenance + no data + measured, down <= measured.
 * Decisions where the documents are silent:
 * - Maintenance is subtracted from everything, per-probe figures included
 *   (DESIGN.md: "maintenance windows excluded").
 * - Time inside an outage row is never "no data": the quorum measured it,
 *   even when the probes' RRD rows were lost or the RRD files are gone.
 * - An outage row wholly inside maintenance is listed (marked) but is not
 *   counted in n_outages, MTTR or longest; its counted_s is 0.
 * - MTTR and longest take the address outages that ended inside the
 *   period, each from max(its start, the period's start) to its end.
 * - Open rows run to min(end, now); they are listed with no end.
 * - Percentages and fractions are truncated, never rounded up: an SLA of
 *   99.9 % must not be shown for 99.8996 %. A tiny epsilon absorbs binary
 *   floating point (0.964 stored as 0.96399999...).
 * - A series whose file is missing counts as no data (gr_fetch_rrd logs
 *   it); an unreadable one fails the report rather than under-report. */
#include "config.h"

#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "collector_config.h"
#include "json.h"
#include "log.h"
#include "net.h"
#include "present.h"
#include "series.h"
#include "timespec.h"
#include "vt_time.h"

enum report_exit {
  REPORT_EXIT_OK = 0,
  REPORT_EXIT_RUNTIME = 1,
  REPORT_EXIT_USAGE = 2,
};

/* ---- interval sets ------------------------------------------------------- */

/* struct pr_ivs (present.h). */

/* Length of [start, end) minus the union of the given sets (each
 * normalized). */
static enum vt_status report_rest_len(double start, double end,
                                      const struct pr_ivs *const *minus,
                                      size_t n, double *out)
{
  struct pr_ivs a = {0}, b = {0};
  enum vt_status st = pr_ivs_add(&a, start, end);
  for (size_t i = 0; i < n && st == VT_OK; i++) {
    st = pr_ivs_sub(&a, minus[i], &b);
    struct pr_ivs t = a;
    a = b;
    b = t;
  }
  *out = pr_ivs_len(&a);
  pr_ivs_free(&a);
  pr_ivs_free(&b);
  return st;
}

/* ---- computing ----------------------------------------------------------- */

/* One fetched `up` series of a target, reduced to what the report needs. */
struct report_series {
  const struct gr_series *se;
  struct pr_ivs known; /* rows with a value, clipped to the period */
  double up_w, w;      /* sum of up * weight and of weight, outside
                          maintenance */
};

/* What one target's computation works on. */
struct report_work {
  double start, end, now;
  struct pr_ivs maint;   /* union of its windows, clipped */
  struct pr_ivs out_all; /* address outage rows and host rows */
  struct report_series *ser;
  size_t n_ser;
};

static bool report_is_ip(const char *s, unsigned char *bin, int *family)
{
  int af = vt_net_ip_parse(s, bin);
  *family = af == AF_INET6 ? 6 : 4;
  return af != 0;
}

/* IPv4 before IPv6, each in numeric order (a human reads them so). */
static int report_ip_cmp(const void *x, const void *y)
{
  const struct report_addr *a = x, *b = y;
  unsigned char ba[16] = {0}, bb[16] = {0};
  int fa = 0, fb = 0;
  bool oka = report_is_ip(a->ip, ba, &fa), okb = report_is_ip(b->ip, bb, &fb);
  if (!oka || !okb || fa != fb)
    return oka && okb ? fa - fb : strcmp(a->ip, b->ip);
  return memcmp(ba, bb, fa == 4 ? 4 : 16);
}

static int report_probe_cmp(const void *x, const void *y)
{
  return strcmp(((const struct report_probe *)x)->probe,
                ((const struct report_probe *)y)->probe);
}

/* The part of row inside [start, end), open rows running to now. */
static void report_clip(const struct report_work *w, const struct gr_outage *o,
                        double *s, double *e)
{
  double end = isnan(o->end) ? (w->now < w->end ? w->now : w->end) : o->end;
  *s = o->start > w->start ? o->start : w->start;
  *e = end < w->end ? end : w->end;
  if (*e < *s)
    *e = *s;
}

/* Seconds of row counted: clipped, less maintenance. */
static double report_counted(const struct report_work *w,
                             const struct gr_outage *o)
{
  double s, e;
  report_clip(w, o, &s, &e);
  return (e - s) - pr_ivs_within(&w->maint, s, e);
}

static bool report_is_addr_outage(const struct gr_outage *o)
{
  return !strcmp(o->scope, "address") && !strcmp(o->kind, "outage");
}

static double report_avail(double down, double measured)
{
  return measured > 0 ? 1.0 - down / measured : NAN;
}

/* Fetches series se and reduces it to known intervals and weighted ups. */
static enum vt_status report_fetch(struct gr_ctx *g, struct report_work *w,
                                   struct report_series *rs)
{
  struct gr_fetch f;
  enum vt_status st =
      gr_fetch_rrd(g, rs->se->path, "AVERAGE", w->start, w->end, 0, &f);
  if (st == VT_ENOTFOUND)
    return VT_OK; /* logged; a missing file is no data */
  if (st != VT_OK)
    return st;
  int up = gr_fetch_ds(&f, vt_series_ds_name(VT_DS_UP));
  for (size_t i = 0; up >= 0 && i < f.n_rows && st == VT_OK; i++) {
    double v = f.data[i * f.n_ds + (size_t)up];
    if (isnan(v))
      continue;
    /* Row i holds (t, t + step]; as time in the period, [t, t + step). */
    double s = f.start + (double)i * (double)f.step, e = s + (double)f.step;
    if (s < w->start)
      s = w->start;
    if (e > w->end)
      e = w->end;
    if (e <= s)
      continue;
    st = pr_ivs_add(&rs->known, s, e);
    double wt = (e - s) - pr_ivs_within(&w->maint, s, e);
    rs->up_w += v * wt;
    rs->w += wt;
  }
  pr_ivs_norm(&rs->known);
  gr_fetch_free(&f);
  return st;
}

/* Adds ip to the address list unless present. */
static enum vt_status report_addr_add(struct report_target *t, size_t *cap,
                                      const char *ip)
{
  for (size_t i = 0; i < t->n_addrs; i++)
    if (!strcmp(t->addrs[i].ip, ip))
      return VT_OK;
  if (t->n_addrs == *cap) {
    size_t n = *cap ? *cap * 2 : 8;
    struct report_addr *v = realloc(t->addrs, n * sizeof(*v));
    if (!v)
      return VT_ENOMEM;
    t->addrs = v;
    *cap = n;
  }
  t->addrs[t->n_addrs++] = (struct report_addr){.availability = NAN};
  snprintf(t->addrs[t->n_addrs - 1].ip, VT_IP_STRLEN, "%s", ip);
  return VT_OK;
}

static enum vt_status report_probe_add(struct report_target *t, size_t *cap,
                                       const char *probe)
{
  for (size_t i = 0; i < t->n_probes; i++)
    if (!strcmp(t->probes[i].probe, probe))
      return VT_OK;
  if (t->n_probes == *cap) {
    size_t n = *cap ? *cap * 2 : 8;
    struct report_probe *v = realloc(t->probes, n * sizeof(*v));
    if (!v)
      return VT_ENOMEM;
    t->probes = v;
    *cap = n;
  }
  t->probes[t->n_probes++] = (struct report_probe){.availability = NAN};
  snprintf(t->probes[t->n_probes - 1].probe, sizeof(t->probes->probe), "%s",
           probe);
  return VT_OK;
}

/* Sorts the outage rows of the period into t->outages and t->partials. */
static enum vt_status report_rows(struct gr_ctx *g, struct report_work *w,
                                  struct report_target *t)
{
  struct gr_outage *rows = NULL;
  size_t n = 0;
  enum vt_status st = gr_outages(g, t->target, w->start, w->end, &rows, &n);
  if (st != VT_OK)
    return st;
  st = VT_ENOMEM;
  if (n && (!(t->outages = calloc(n, sizeof(*rows))) ||
            !(t->partials = calloc(n, sizeof(*rows)))))
    goto cleanup;
  for (size_t i = 0; i < n; i++) {
    const struct gr_outage *o = &rows[i];
    /* gr_outages takes [from, to] closed; the report is half-open. */
    if (o->start >= w->end || (!isnan(o->end) && o->end < w->start) ||
        (!isnan(o->end) && o->end == w->start && o->start < w->start))
      continue;
    if (!strcmp(o->kind, "partial")) {
      t->partials[t->n_partials++] = *o;
      continue;
    }
    t->outages[t->n_outages++] = *o;
    double s, e;
    report_clip(w, o, &s, &e);
    if ((st = pr_ivs_add(&w->out_all, s, e)) != VT_OK)
      goto cleanup;
  }
  pr_ivs_norm(&w->out_all);
  st = VT_OK;
cleanup:
  free(rows);
  return st;
}

/* Address figures (report.h). */
static enum vt_status report_address(const struct report_work *w,
                                     const struct report_target *t,
                                     struct report_addr *a)
{
  struct pr_ivs outs = {0}, down = {0}, known = {0};
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < t->n_outages && st == VT_OK; i++) {
    const struct gr_outage *o = &t->outages[i];
    if (!report_is_addr_outage(o) || strcmp(o->ip, a->ip) != 0)
      continue;
    double s, e;
    report_clip(w, o, &s, &e);
    st = pr_ivs_add(&outs, s, e);
    if (report_counted(w, o) > 0)
      a->n_outages++;
  }
  pr_ivs_norm(&outs);
  for (size_t i = 0; i < w->n_ser && st == VT_OK; i++)
    if (!strcmp(w->ser[i].se->key, a->ip))
      st = pr_ivs_merge(&known, &w->ser[i].known);
  if (st == VT_OK)
    st = pr_ivs_sub(&outs, &w->maint, &down);
  const struct pr_ivs *minus[] = {&known, &w->maint, &outs};
  if (st == VT_OK)
    st = report_rest_len(w->start, w->end, minus, 3, &a->nodata_s);
  a->down_s = pr_ivs_len(&down);
  a->maint_s = pr_ivs_len(&w->maint);
  a->measured_s = (w->end - w->start) - a->maint_s - a->nodata_s;
  a->availability = report_avail(a->down_s, a->measured_s);
  pr_ivs_free(&outs);
  pr_ivs_free(&down);
  pr_ivs_free(&known);
  return st;
}

/* Target figures: host rows, no data of all addresses, MTTR. */
static enum vt_status report_target_sums(const struct report_work *w,
                                         struct report_target *t)
{
  struct pr_ivs known = {0};
  enum vt_status st = VT_OK;
  double n_closed = 0, sum = 0;
  t->down_s = t->degraded_s = 0;
  t->mttr_s = t->longest_s = NAN;
  for (size_t i = 0; i < t->n_outages; i++) {
    const struct gr_outage *o = &t->outages[i];
    double counted = report_counted(w, o);
    if (!strcmp(o->scope, "host")) {
      /* Host rows of one target never overlap: one row per state. */
      if (!strcmp(o->state, "down"))
        t->down_s += counted;
      else
        t->degraded_s += counted;
      continue;
    }
    if (!report_is_addr_outage(o) || isnan(o->end) || o->end > w->end ||
        o->end <= w->start || counted <= 0)
      continue;
    double d = o->end - (o->start > w->start ? o->start : w->start);
    sum += d;
    n_closed++;
    if (isnan(t->longest_s) || d > t->longest_s)
      t->longest_s = d;
  }
  if (n_closed)
    t->mttr_s = sum / n_closed;
  for (size_t i = 0; i < w->n_ser && st == VT_OK; i++)
    st = pr_ivs_merge(&known, &w->ser[i].known);
  const struct pr_ivs *minus[] = {&known, &w->maint, &w->out_all};
  if (st == VT_OK)
    st = report_rest_len(w->start, w->end, minus, 3, &t->nodata_s);
  t->maint_s = pr_ivs_len(&w->maint);
  t->measured_s = (w->end - w->start) - t->maint_s - t->nodata_s;
  t->availability = report_avail(t->down_s, t->measured_s);
  pr_ivs_free(&known);
  return st;
}

static enum vt_status report_probe(const struct report_work *w,
                                   struct report_probe *p)
{
  struct pr_ivs known = {0}, rest = {0};
  double up_w = 0, wt = 0;
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < w->n_ser && st == VT_OK; i++) {
    const struct report_series *rs = &w->ser[i];
    if (strcmp(rs->se->probe, p->probe) != 0)
      continue;
    st = pr_ivs_merge(&known, &rs->known);
    up_w += rs->up_w;
    wt += rs->w;
  }
  if (st == VT_OK)
    st = pr_ivs_sub(&known, &w->maint, &rest);
  p->measured_s = pr_ivs_len(&rest);
  p->nodata_s = (w->end - w->start) - pr_ivs_len(&w->maint) - p->measured_s;
  p->availability = wt > 0 ? up_w / wt : NAN;
  pr_ivs_free(&known);
  pr_ivs_free(&rest);
  return st;
}

static void report_target_free(struct report_target *t)
{
  free(t->addrs);
  free(t->probes);
  free(t->outages);
  free(t->partials);
  free(t->maint);
}

/* Fills t (t->target set) over w's period. */
static enum vt_status report_target_compute(struct gr_ctx *g,
                                            struct report_work *w,
                                            struct report_target *t)
{
  struct gr_series *series = NULL;
  size_t n_series = 0, cap_addrs = 0, cap_probes = 0;
  enum vt_status st =
      gr_maintenance(g, t->target, w->start, w->end, &t->maint, &t->n_maint);
  for (size_t i = 0; i < t->n_maint && st == VT_OK; i++) {
    double s = t->maint[i].start > w->start ? t->maint[i].start : w->start;
    double e = t->maint[i].end < w->end ? t->maint[i].end : w->end;
    st = pr_ivs_add(&w->maint, s, e);
  }
  pr_ivs_norm(&w->maint);
  if (st == VT_OK)
    st = report_rows(g, w, t);
  if (st == VT_OK)
    st = gr_series_list(g, t->target, &series, &n_series);
  if (st != VT_OK)
    goto cleanup;
  if (n_series && !(w->ser = calloc(n_series, sizeof(*w->ser)))) {
    st = VT_ENOMEM;
    goto cleanup;
  }
  long step = gr_conf(g)->step_s > 0 ? gr_conf(g)->step_s : 1;
  for (size_t i = 0; i < n_series; i++) {
    const struct gr_series *se = &series[i];
    unsigned char bin[16];
    int family;
    /* The up of tcp and http checks, per address; a series whose results
     * all lie outside the period has no row in it. */
    if (!vt_series_per_address(se->check_type) ||
        !report_is_ip(se->key, bin, &family) || se->last_ts <= w->start ||
        se->first_ts - (double)step >= w->end)
      continue;
    struct report_series *rs = &w->ser[w->n_ser++];
    rs->se = se;
    if ((st = report_fetch(g, w, rs)) != VT_OK ||
        (st = report_addr_add(t, &cap_addrs, se->key)) != VT_OK ||
        (st = report_probe_add(t, &cap_probes, se->probe)) != VT_OK)
      goto cleanup;
  }
  for (size_t i = 0; i < t->n_outages && st == VT_OK; i++)
    if (report_is_addr_outage(&t->outages[i]))
      st = report_addr_add(t, &cap_addrs, t->outages[i].ip);
  if (st != VT_OK)
    goto cleanup;
  /* qsort with a NULL base is undefined even for 0 elements. */
  if (t->n_addrs)
    qsort(t->addrs, t->n_addrs, sizeof(*t->addrs), report_ip_cmp);
  if (t->n_probes)
    qsort(t->probes, t->n_probes, sizeof(*t->probes), report_probe_cmp);
  for (size_t i = 0; i < t->n_addrs && st == VT_OK; i++)
    st = report_address(w, t, &t->addrs[i]);
  for (size_t i = 0; i < t->n_probes && st == VT_OK; i++)
    st = report_probe(w, &t->probes[i]);
  if (st == VT_OK)
    st = report_target_sums(w, t);

cleanup:
  for (size_t i = 0; i < w->n_ser; i++)
    pr_ivs_free(&w->ser[i].known);
  free(w->ser);
  w->ser = NULL;
  w->n_ser = 0;
  free(series);
  return st;
}

void report_free(struct report *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->n; i++)
    report_target_free(&r->targets[i]);
  free(r->targets);
  free(r);
}

/* Logs `unknown target "x" (known: a, b)`. */
static void report_unknown(const char *target, char **known, size_t n)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < n && st == VT_OK; i++)
    st = vt_buf_addf(&b, "%s%s", i ? ", " : "", known[i]);
  vt_err("unknown target \"%s\" (known: %s)", target,
         st == VT_OK && n ? vt_buf_str(&b) : "none");
  vt_buf_cleanup(&b);
}

enum vt_status report_compute(struct gr_ctx *g, const char *target,
                              double start, double end, struct report **out)
{
  *out = NULL;
  char **names = NULL;
  size_t n_names = 0;
  struct report *r = calloc(1, sizeof(*r));
  enum vt_status st = r ? gr_targets(g, &names, &n_names) : VT_ENOMEM;
  if (st != VT_OK)
    goto cleanup;
  r->start = start;
  r->end = end;
  size_t want = n_names;
  if (target) {
    bool found = false;
    for (size_t i = 0; i < n_names && !found; i++)
      found = !strcmp(names[i], target);
    if (!found) {
      report_unknown(target, names, n_names);
      st = VT_ENOTFOUND;
      goto cleanup;
    }
    want = 1;
  }
  if (want && !(r->targets = calloc(want, sizeof(*r->targets)))) {
    st = VT_ENOMEM;
    goto cleanup;
  }
  struct report_work w = {.start = start, .end = end, .now = vt_time_wall()};
  for (size_t i = 0; i < n_names && st == VT_OK; i++) {
    if (target && strcmp(names[i], target) != 0)
      continue;
    struct report_target *t = &r->targets[r->n++];
    snprintf(t->target, sizeof(t->target), "%s", names[i]);
    st = report_target_compute(g, &w, t);
    pr_ivs_free(&w.maint);
    pr_ivs_free(&w.out_all);
  }

cleanup:
  gr_free_strv(names, n_names);
  if (st != VT_OK) {
    report_free(r);
    return st;
  }
  *out = r;
  return VT_OK;
}

/* ---- formatting helpers -------------------------------------------------- */

/* "1m48s (108 s)". */
static const char *report_dur(double s, char *out, size_t size)
{
  char d[32], n[32];
  if (isnan(s))
    snprintf(out, size, "-");
  else
    snprintf(out, size, "%s (%s s)", vt_time_fmt_duration(s, d, sizeof(d)),
             pr_num(s, n, sizeof(n)));
  return out;
}

/* End of a row as listed: open rows run to now. */
static double report_row_end(const struct gr_outage *o, double now)
{
  return isnan(o->end) ? now : o->end;
}

/* What a row is about: "192.0.2.1" or "host down". */
static const char *report_row_what(const struct gr_outage *o, char *out,
                                   size_t size)
{
  if (!strcmp(o->scope, "host"))
    snprintf(out, size, "host %s", o->state);
  else
    snprintf(out, size, "%s", o->ip);
  return out;
}

/* "p1,p2 (seen by 2 of 3)". */
static const char *report_seen(const struct gr_outage *o, char *out,
                               size_t size)
{
  snprintf(out, size, "%s (seen by %d of %d)", o->probes, o->seen_by,
           o->of_probes);
  return out;
}

/* Everything a writer needs besides the report. */
struct report_out {
  FILE *f;
  double now;
};

/* The period and t's maintenance again, for the seconds counted of each
 * row (free w->maint with report_ivs_free). */
static enum vt_status report_work_of(const struct report *r,
                                     const struct report_target *t, double now,
                                     struct report_work *w)
{
  *w = (struct report_work){.start = r->start, .end = r->end, .now = now};
  for (size_t i = 0; i < t->n_maint; i++) {
    double s = t->maint[i].start > r->start ? t->maint[i].start : r->start;
    double e = t->maint[i].end < r->end ? t->maint[i].end : r->end;
    enum vt_status st = pr_ivs_add(&w->maint, s, e);
    if (st != VT_OK)
      return st;
  }
  pr_ivs_norm(&w->maint);
  return VT_OK;
}

/* Address outages counted (not wholly in maintenance). */
static size_t report_n_outages(const struct report_target *t)
{
  size_t n = 0;
  for (size_t i = 0; i < t->n_addrs; i++)
    n += t->addrs[i].n_outages;
  return n;
}

/* ---- text ---------------------------------------------------------------- */

#define REPORT_MAX_COLS 8

/* A table of strings printed with aligned columns. */
struct report_table {
  size_t ncol;
  char **cell; /* row-major */
  size_t n, cap;
  bool failed;
};

__attribute__((format(printf, 2, 3))) static void
report_cell(struct report_table *t, const char *fmt, ...)
{
  if (t->failed)
    return;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 32;
    char **v = realloc(t->cell, cap * sizeof(*v));
    if (!v) {
      t->failed = true;
      return;
    }
    t->cell = v;
    t->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&t->cell[t->n], fmt, ap) < 0)
    t->failed = true;
  else
    t->n++;
  va_end(ap);
}

/* Prints and frees t; a failed table is VT_ENOMEM. */
static enum vt_status report_table_print(struct report_table *t, FILE *f,
                                         const char *indent)
{
  size_t width[REPORT_MAX_COLS] = {0};
  for (size_t i = 0; i < t->n && !t->failed; i++) {
    size_t len = strlen(t->cell[i]);
    if (len > width[i % t->ncol])
      width[i % t->ncol] = len;
  }
  for (size_t i = 0; i < t->n && !t->failed; i++) {
    size_t c = i % t->ncol;
    bool last = c + 1 == t->ncol || i + 1 == t->n;
    if (c == 0)
      fputs(indent, f);
    fprintf(f, "%-*s%s", last ? 0 : (int)width[c], t->cell[i],
            last ? "\n" : "  ");
  }
  enum vt_status st = t->failed ? VT_ENOMEM : VT_OK;
  for (size_t i = 0; i < t->n; i++)
    free(t->cell[i]);
  free(t->cell);
  *t = (struct report_table){0};
  return st;
}

/* Rows of outages (w set: with the seconds counted) or partial events. */
static void report_text_rows(struct report_table *tb,
                             const struct gr_outage *rows, size_t n,
                             const struct report_work *w)
{
  char a[32], b[32], d[32], what[96], seen[600];
  report_cell(tb, "START");
  report_cell(tb, "END");
  report_cell(tb, "DURATION");
  if (w)
    report_cell(tb, "COUNTED");
  report_cell(tb, "%s", w ? "AFFECTS" : "ADDRESS");
  report_cell(tb, "PROBES");
  for (size_t i = 0; i < n; i++) {
    const struct gr_outage *r = &rows[i];
    double now = w ? w->now : vt_time_wall();
    double end = report_row_end(r, now);
    report_cell(tb, "%s", pr_time(r->start, PR_T_ISO, a, sizeof(a)));
    char endtxt[96];
    snprintf(endtxt, sizeof(endtxt), "%s%s%s%s",
             isnan(r->end) ? "(ongoing)" : pr_time(end, PR_T_ISO, b, sizeof(b)),
             r->end_reason[0] ? " (" : "", r->end_reason,
             r->end_reason[0] ? ")" : "");
    report_cell(tb, "%s", endtxt);
    report_cell(tb, "%s", vt_time_fmt_duration(end - r->start, d, sizeof(d)));
    if (w)
      report_cell(tb, "%s",
                  vt_time_fmt_duration(report_counted(w, r), d, sizeof(d)));
    report_cell(tb, "%s%s", report_row_what(r, what, sizeof(what)),
                r->maintenance && w ? " (maintenance)" : "");
    report_cell(tb, "%s", report_seen(r, seen, sizeof(seen)));
  }
}

static enum vt_status report_text_target(const struct report_target *t,
                                         const struct report_work *w, FILE *f)
{
  char c1[64], c2[64], c3[64], c4[64];
  enum vt_status st = VT_OK;
  fprintf(f, "\n%s\n", t->target);
  if (isnan(t->availability))
    fprintf(f, "  No data in this period: no probe has a value for it "
               "outside maintenance.\n");

  struct report_table tb = {.ncol = 7};
  if (t->n_addrs) {
    report_cell(&tb, "ADDRESS");
    report_cell(&tb, "AVAILABILITY");
    report_cell(&tb, "DOWN");
    report_cell(&tb, "MAINTENANCE");
    report_cell(&tb, "NO DATA");
    report_cell(&tb, "MEASURED");
    report_cell(&tb, "OUTAGES");
    for (size_t i = 0; i < t->n_addrs; i++) {
      const struct report_addr *a = &t->addrs[i];
      report_cell(&tb, "%s", a->ip);
      report_cell(&tb, "%s", pr_pct(a->availability, 3, c1, sizeof(c1)));
      report_cell(&tb, "%s", report_dur(a->down_s, c2, sizeof(c2)));
      report_cell(&tb, "%s", report_dur(a->maint_s, c3, sizeof(c3)));
      report_cell(&tb, "%s", report_dur(a->nodata_s, c4, sizeof(c4)));
      report_cell(&tb, "%s", report_dur(a->measured_s, c1, sizeof(c1)));
      report_cell(&tb, "%zu", a->n_outages);
    }
    if ((st = report_table_print(&tb, f, "  ")) != VT_OK)
      return st;
  }

  if (t->n_probes) {
    fputc('\n', f);
    tb = (struct report_table){.ncol = 4};
    report_cell(&tb, "PROBE");
    report_cell(&tb, "AVAILABILITY");
    report_cell(&tb, "MEASURED");
    report_cell(&tb, "NO DATA");
    for (size_t i = 0; i < t->n_probes; i++) {
      const struct report_probe *p = &t->probes[i];
      report_cell(&tb, "%s", p->probe);
      report_cell(&tb, "%s", pr_pct(p->availability, 3, c1, sizeof(c1)));
      report_cell(&tb, "%s", report_dur(p->measured_s, c2, sizeof(c2)));
      report_cell(&tb, "%s", report_dur(p->nodata_s, c3, sizeof(c3)));
    }
    if ((st = report_table_print(&tb, f, "  ")) != VT_OK)
      return st;
  }

  fprintf(f, "\n  Outages: %zu counted", report_n_outages(t));
  if (!isnan(t->mttr_s))
    fprintf(f, ", MTTR %s, longest %s",
            vt_time_fmt_duration(t->mttr_s, c1, sizeof(c1)),
            vt_time_fmt_duration(t->longest_s, c2, sizeof(c2)));
  fprintf(f, " (%zu rows of addresses and host states)\n", t->n_outages);
  if (t->n_outages) {
    tb = (struct report_table){.ncol = 6};
    report_text_rows(&tb, t->outages, t->n_outages, w);
    if ((st = report_table_print(&tb, f, "    ")) != VT_OK)
      return st;
  }
  fprintf(f,
          "\n  Partial events (seen by fewer probes than the quorum): "
          "%zu\n",
          t->n_partials);
  if (t->n_partials) {
    tb = (struct report_table){.ncol = 5};
    report_text_rows(&tb, t->partials, t->n_partials, NULL);
    if ((st = report_table_print(&tb, f, "    ")) != VT_OK)
      return st;
  }
  fprintf(f, "\n  Maintenance windows (excluded): %zu\n", t->n_maint);
  if (t->n_maint) {
    tb = (struct report_table){.ncol = 4};
    report_cell(&tb, "START");
    report_cell(&tb, "END");
    report_cell(&tb, "DURATION");
    report_cell(&tb, "REASON");
    for (size_t i = 0; i < t->n_maint; i++) {
      const struct gr_maint *m = &t->maint[i];
      report_cell(&tb, "%s", pr_time(m->start, PR_T_ISO, c1, sizeof(c1)));
      report_cell(&tb, "%s", pr_time(m->end, PR_T_ISO, c2, sizeof(c2)));
      report_cell(&tb, "%s",
                  vt_time_fmt_duration(m->end - m->start, c3, sizeof(c3)));
      report_cell(&tb, "%s", m->reason);
    }
    if ((st = report_table_print(&tb, f, "    ")) != VT_OK)
      return st;
  }
  return VT_OK;
}

static enum vt_status report_text(const struct report *r,
                                  const struct report_out *o)
{
  FILE *f = o->f;
  char a[32], b[32], d[32], c1[64], c2[64], c3[64], c4[64], c5[64];
  fprintf(f, "Availability report, %s .. %s (%s, UTC)\n",
          pr_time(r->start, PR_T_ISO, a, sizeof(a)),
          pr_time(r->end, PR_T_ISO, b, sizeof(b)),
          vt_time_fmt_duration(r->end - r->start, d, sizeof(d)));
  fprintf(f, "availability = 1 - down / measured; measured = period - "
             "maintenance - no data\n\n");
  if (!r->n) {
    fprintf(f, "No data: the collector has no series yet.\n");
    return VT_OK;
  }
  struct report_table tb = {.ncol = 7};
  report_cell(&tb, "TARGET");
  report_cell(&tb, "AVAILABILITY");
  report_cell(&tb, "DOWN");
  report_cell(&tb, "DEGRADED");
  report_cell(&tb, "MAINTENANCE");
  report_cell(&tb, "NO DATA");
  report_cell(&tb, "MEASURED");
  for (size_t i = 0; i < r->n; i++) {
    const struct report_target *t = &r->targets[i];
    report_cell(&tb, "%s", t->target);
    report_cell(&tb, "%s", pr_pct(t->availability, 3, c1, sizeof(c1)));
    report_cell(&tb, "%s", report_dur(t->down_s, c2, sizeof(c2)));
    report_cell(&tb, "%s", report_dur(t->degraded_s, c3, sizeof(c3)));
    report_cell(&tb, "%s", report_dur(t->maint_s, c4, sizeof(c4)));
    report_cell(&tb, "%s", report_dur(t->nodata_s, c5, sizeof(c5)));
    report_cell(&tb, "%s", report_dur(t->measured_s, c1, sizeof(c1)));
  }
  enum vt_status st = report_table_print(&tb, f, "");
  for (size_t i = 0; i < r->n && st == VT_OK; i++) {
    struct report_work w;
    st = report_work_of(r, &r->targets[i], o->now, &w);
    if (st == VT_OK)
      st = report_text_target(&r->targets[i], &w, f);
    pr_ivs_free(&w.maint);
  }
  return st;
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON document in a buffer; the first error sticks. */
struct report_json {
  struct vt_buf b;
  enum vt_status st;
};

__attribute__((format(printf, 2, 3))) static void
report_j(struct report_json *j, const char *fmt, ...)
{
  if (j->st != VT_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  j->st = vt_buf_vaddf(&j->b, fmt, ap);
  va_end(ap);
}

static void report_j_str(struct report_json *j, const char *s)
{
  if (j->st == VT_OK)
    j->st = vt_json_str(&j->b, s);
}

/* ,"key":number (null when NaN). */
static void report_j_num(struct report_json *j, const char *key, double v)
{
  char n[32];
  report_j(j, ",\"%s\":%s", key, isnan(v) ? "null" : pr_num(v, n, 32));
}

/* ,"availability":0.964000 (null when not measurable). */
static void report_j_avail(struct report_json *j, double a)
{
  if (isnan(a))
    report_j(j, ",\"availability\":null");
  else
    report_j(j, ",\"availability\":%.6f", pr_trunc(a, 6));
}

/* ,"KEY":unix,"KEY_utc":"..." (both null when NaN). */
static void report_j_time(struct report_json *j, const char *key, double t)
{
  char u[32];
  if (isnan(t)) {
    report_j(j, ",\"%s\":null,\"%s_utc\":null", key, key);
    return;
  }
  report_j_num(j, key, t);
  report_j(j, ",\"%s_utc\":\"%s\"", key, pr_time(t, PR_T_ISO, u, sizeof(u)));
}

static void report_j_rows(struct report_json *j, const char *key,
                          const struct gr_outage *rows, size_t n,
                          const struct report_work *w, bool outages)
{
  report_j(j, ",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    const struct gr_outage *o = &rows[i];
    report_j(j, "%s{\"scope\":", i ? "," : "");
    report_j_str(j, o->scope);
    report_j(j, ",\"ip\":");
    report_j_str(j, o->ip[0] ? o->ip : NULL);
    report_j(j, ",\"state\":");
    report_j_str(j, o->state[0] ? o->state : NULL);
    report_j_time(j, "start", o->start);
    report_j_time(j, "end", o->end);
    report_j(j, ",\"open\":%s", isnan(o->end) ? "true" : "false");
    report_j(j, ",\"end_reason\":");
    report_j_str(j, isnan(o->end)      ? NULL
                    : o->end_reason[0] ? o->end_reason
                                       : "recovered");
    report_j_num(j, "duration_s", report_row_end(o, w->now) - o->start);
    if (outages)
      report_j_num(j, "counted_s", report_counted(w, o));
    report_j(j, ",\"probes\":[");
    for (const char *p = o->probes; *p;) {
      size_t len = strcspn(p, ",");
      char name[128];
      snprintf(name, sizeof(name), "%.*s", (int)len, p);
      report_j(j, "%s", p == o->probes ? "" : ",");
      report_j_str(j, name);
      p += len + (p[len] == ',');
    }
    report_j(j, "],\"seen_by\":%d,\"of_probes\":%d,\"maintenance\":%s}",
             o->seen_by, o->of_probes, o->maintenance ? "true" : "false");
  }
  report_j(j, "]");
}

static void report_j_target(struct report_json *j, const struct report *r,
                            const struct report_target *t, double now)
{
  struct report_work w;
  enum vt_status st = report_work_of(r, t, now, &w);
  if (st != VT_OK && j->st == VT_OK)
    j->st = st;

  report_j(j, "{\"target\":");
  report_j_str(j, t->target);
  report_j_avail(j, t->availability);
  report_j_num(j, "down_s", t->down_s);
  report_j_num(j, "degraded_s", t->degraded_s);
  report_j_num(j, "maint_s", t->maint_s);
  report_j_num(j, "nodata_s", t->nodata_s);
  report_j_num(j, "measured_s", t->measured_s);
  report_j(j, ",\"n_outages\":%zu", report_n_outages(t));
  report_j_num(j, "mttr_s", t->mttr_s);
  report_j_num(j, "longest_s", t->longest_s);
  report_j(j, ",\"addresses\":[");
  for (size_t i = 0; i < t->n_addrs; i++) {
    const struct report_addr *a = &t->addrs[i];
    report_j(j, "%s{\"ip\":", i ? "," : "");
    report_j_str(j, a->ip);
    report_j_avail(j, a->availability);
    report_j_num(j, "down_s", a->down_s);
    report_j_num(j, "maint_s", a->maint_s);
    report_j_num(j, "nodata_s", a->nodata_s);
    report_j_num(j, "measured_s", a->measured_s);
    report_j(j, ",\"n_outages\":%zu}", a->n_outages);
  }
  report_j(j, "],\"probes\":[");
  for (size_t i = 0; i < t->n_probes; i++) {
    const struct report_probe *p = &t->probes[i];
    report_j(j, "%s{\"probe\":", i ? "," : "");
    report_j_str(j, p->probe);
    report_j_avail(j, p->availability);
    report_j_num(j, "measured_s", p->measured_s);
    report_j_num(j, "nodata_s", p->nodata_s);
    report_j(j, "}");
  }
  report_j(j, "]");
  report_j_rows(j, "outages", t->outages, t->n_outages, &w, true);
  report_j_rows(j, "partials", t->partials, t->n_partials, &w, false);
  report_j(j, ",\"maintenance\":[");
  for (size_t i = 0; i < t->n_maint; i++) {
    const struct gr_maint *m = &t->maint[i];
    report_j(j, "%s{\"reason\":", i ? "," : "");
    report_j_str(j, m->reason);
    report_j_time(j, "start", m->start);
    report_j_time(j, "end", m->end);
    report_j_num(j, "duration_s", m->end - m->start);
    report_j(j, "}");
  }
  report_j(j, "]}");
  pr_ivs_free(&w.maint);
}

static enum vt_status report_json(const struct report *r,
                                  const struct report_out *o)
{
  struct report_json j = {.st = VT_OK};
  vt_buf_init(&j.b, 0);
  report_j(&j, "{\"start\":");
  char n[32];
  report_j(&j, "%s", pr_num(r->start, n, sizeof(n)));
  report_j(&j, ",\"start_utc\":\"%s\"", pr_time(r->start, PR_T_ISO, n, 32));
  report_j_time(&j, "end", r->end);
  report_j_num(&j, "period_s", r->end - r->start);
  report_j(&j, ",\"targets\":[");
  for (size_t i = 0; i < r->n; i++) {
    report_j(&j, "%s", i ? "," : "");
    report_j_target(&j, r, &r->targets[i], o->now);
  }
  report_j(&j, "]}\n");
  enum vt_status st = j.st;
  if (st == VT_OK)
    fwrite(vt_buf_str(&j.b), 1, j.b.len, o->f);
  vt_buf_cleanup(&j.b);
  return st;
}

/* ---- CSV (RFC 4180) ------------------------------------------------------ */

static void report_csv_field(FILE *f, const char *s, bool last)
{
  if (strpbrk(s, ",\"\r\n")) {
    fputc('"', f);
    for (; *s; s++) {
      if (*s == '"')
        fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputs(last ? "\r\n" : ",", f);
}

/* One row: scope, target, address, probe, then the figures (NaN = empty). */
static void report_csv_row(FILE *f, const struct report *r, const char *scope,
                           const char *target, const char *ip,
                           const char *probe, double avail, const double num[8])
{
  char a[32], b[32];
  report_csv_field(f, scope, false);
  report_csv_field(f, target, false);
  report_csv_field(f, ip, false);
  report_csv_field(f, probe, false);
  report_csv_field(f, pr_time(r->start, PR_T_ISO, a, sizeof(a)), false);
  report_csv_field(f, pr_time(r->end, PR_T_ISO, b, sizeof(b)), false);
  if (isnan(avail))
    a[0] = '\0';
  else
    snprintf(a, sizeof(a), "%.6f", pr_trunc(avail, 6));
  report_csv_field(f, a, false);
  for (int i = 0; i < 8; i++)
    report_csv_field(f, pr_num(num[i], a, sizeof(a)), i == 7);
}

static enum vt_status report_csv(const struct report *r,
                                 const struct report_out *o)
{
  FILE *f = o->f;
  fputs("scope,target,address,probe,start_utc,end_utc,availability,down_s,"
        "degraded_s,maint_s,nodata_s,measured_s,n_outages,mttr_s,"
        "longest_s\r\n",
        f);
  for (size_t i = 0; i < r->n; i++) {
    const struct report_target *t = &r->targets[i];
    double n_out = (double)report_n_outages(t);
    report_csv_row(f, r, "target", t->target, "", "", t->availability,
                   (double[8]){t->down_s, t->degraded_s, t->maint_s,
                               t->nodata_s, t->measured_s, n_out, t->mttr_s,
                               t->longest_s});
    for (size_t k = 0; k < t->n_addrs; k++) {
      const struct report_addr *a = &t->addrs[k];
      report_csv_row(f, r, "address", t->target, a->ip, "", a->availability,
                     (double[8]){a->down_s, NAN, a->maint_s, a->nodata_s,
                                 a->measured_s, (double)a->n_outages, NAN,
                                 NAN});
    }
    for (size_t k = 0; k < t->n_probes; k++) {
      const struct report_probe *p = &t->probes[k];
      report_csv_row(f, r, "probe", t->target, "", p->probe, p->availability,
                     (double[8]){NAN, NAN, t->maint_s, p->nodata_s,
                                 p->measured_s, NAN, NAN, NAN});
    }
  }
  return VT_OK;
}

/* ---- HTML ---------------------------------------------------------------- */

/* s escaped for HTML (present.h's pr_esc: invalid UTF-8 and control
 * characters become U+FFFD). */
static void report_html_esc(FILE *f, const char *s)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  if (pr_esc(&b, s, strlen(s)) == VT_OK && b.len)
    fwrite(b.data, 1, b.len, f);
  vt_buf_cleanup(&b);
}

/* <th scope="col"> cells of a header row. */
static void report_html_head(FILE *f, const char *const *cols)
{
  fputs("<thead><tr>", f);
  for (; *cols; cols++) {
    fputs("<th scope=\"col\">", f);
    report_html_esc(f, *cols);
    fputs("</th>", f);
  }
  fputs("</tr></thead>\n<tbody>\n", f);
}

/* A <td>, class "num" for figures so they align right. */
static void report_html_td(FILE *f, const char *text, bool num)
{
  fputs(num ? "<td class=\"num\">" : "<td>", f);
  report_html_esc(f, text);
  fputs("</td>", f);
}

static void report_html_time(FILE *f, double t)
{
  char u[32];
  pr_time(t, PR_T_ISO, u, sizeof(u));
  fprintf(f, "<td><time datetime=\"%s\">%s</time></td>", u, u);
}

/* An empty table says so instead of showing a bare header. */
static void report_html_none(FILE *f, size_t n, int cols)
{
  if (!n)
    fprintf(f, "<tr><td colspan=\"%d\">None</td></tr>\n", cols);
}

/* Outages (w set: with the seconds counted) or partial events. */
static void report_html_rows(FILE *f, const char *caption,
                             const struct gr_outage *rows, size_t n,
                             const struct report_work *w, double now)
{
  static const char *const ocols[] = {
      "Start", "End", "Duration", "Counted", "Affects", "Probes", NULL};
  static const char *const pcols[] = {"Start",   "End",    "Duration",
                                      "Address", "Probes", NULL};
  char d[32], what[96], seen[600];
  fputs("<table>\n<caption>", f);
  report_html_esc(f, caption);
  fputs("</caption>\n", f);
  report_html_head(f, w ? ocols : pcols);
  for (size_t i = 0; i < n; i++) {
    const struct gr_outage *o = &rows[i];
    fputs("<tr>", f);
    report_html_time(f, o->start);
    if (isnan(o->end))
      report_html_td(f, "ongoing", false);
    else if (o->end_reason[0])
      report_html_td(f, o->end_reason, false);
    else
      report_html_time(f, o->end);
    report_html_td(
        f,
        vt_time_fmt_duration(report_row_end(o, now) - o->start, d, sizeof(d)),
        true);
    if (w)
      report_html_td(
          f, vt_time_fmt_duration(report_counted(w, o), d, sizeof(d)), true);
    report_row_what(o, what, sizeof(what));
    if (o->maintenance && w)
      strncat(what, " (maintenance)", sizeof(what) - strlen(what) - 1);
    report_html_td(f, what, false);
    report_html_td(f, report_seen(o, seen, sizeof(seen)), false);
    fputs("</tr>\n", f);
  }
  report_html_none(f, n, w ? 6 : 5);
  fputs("</tbody>\n</table>\n", f);
}

static void report_html_target(FILE *f, const struct report_target *t,
                               const struct report_work *w)
{
  double now = w->now;
  char c[64], cap[160];
  fputs("<section>\n<h2>", f);
  report_html_esc(f, t->target);
  fputs("</h2>\n", f);
  if (isnan(t->availability))
    fputs("<p class=\"nodata\">No data in this period: no probe has a value "
          "for it outside maintenance.</p>\n",
          f);

  static const char *const acols[] = {
      "Address", "Availability", "Down",    "Maintenance",
      "No data", "Measured",     "Outages", NULL};
  snprintf(cap, sizeof(cap), "%s: availability per address", t->target);
  fputs("<table>\n<caption>", f);
  report_html_esc(f, cap);
  fputs("</caption>\n", f);
  report_html_head(f, acols);
  for (size_t i = 0; i < t->n_addrs; i++) {
    const struct report_addr *a = &t->addrs[i];
    fputs("<tr><th scope=\"row\">", f);
    report_html_esc(f, a->ip);
    fputs("</th>", f);
    report_html_td(f, pr_pct(a->availability, 3, c, sizeof(c)), true);
    report_html_td(f, report_dur(a->down_s, c, sizeof(c)), true);
    report_html_td(f, report_dur(a->maint_s, c, sizeof(c)), true);
    report_html_td(f, report_dur(a->nodata_s, c, sizeof(c)), true);
    report_html_td(f, report_dur(a->measured_s, c, sizeof(c)), true);
    snprintf(c, sizeof(c), "%zu", a->n_outages);
    report_html_td(f, c, true);
    fputs("</tr>\n", f);
  }
  report_html_none(f, t->n_addrs, 7);
  fputs("</tbody>\n</table>\n", f);

  static const char *const pcols[] = {"Probe", "Availability", "Measured",
                                      "No data", NULL};
  snprintf(cap, sizeof(cap), "%s: availability per probe", t->target);
  fputs("<table>\n<caption>", f);
  report_html_esc(f, cap);
  fputs("</caption>\n", f);
  report_html_head(f, pcols);
  for (size_t i = 0; i < t->n_probes; i++) {
    const struct report_probe *p = &t->probes[i];
    fputs("<tr><th scope=\"row\">", f);
    report_html_esc(f, p->probe);
    fputs("</th>", f);
    report_html_td(f, pr_pct(p->availability, 3, c, sizeof(c)), true);
    report_html_td(f, report_dur(p->measured_s, c, sizeof(c)), true);
    report_html_td(f, report_dur(p->nodata_s, c, sizeof(c)), true);
    fputs("</tr>\n", f);
  }
  report_html_none(f, t->n_probes, 4);
  fputs("</tbody>\n</table>\n", f);

  char m1[32], m2[32];
  if (isnan(t->mttr_s))
    snprintf(cap, sizeof(cap), "%s: outages (%zu counted)", t->target,
             report_n_outages(t));
  else
    snprintf(cap, sizeof(cap), "%s: outages (%zu counted; MTTR %s, longest %s)",
             t->target, report_n_outages(t),
             vt_time_fmt_duration(t->mttr_s, m1, sizeof(m1)),
             vt_time_fmt_duration(t->longest_s, m2, sizeof(m2)));
  report_html_rows(f, cap, t->outages, t->n_outages, w, now);
  snprintf(cap, sizeof(cap),
           "%s: partial events (seen by fewer probes than the quorum)",
           t->target);
  report_html_rows(f, cap, t->partials, t->n_partials, NULL, now);

  static const char *const mcols[] = {"Start", "End", "Duration", "Reason",
                                      NULL};
  snprintf(cap, sizeof(cap), "%s: maintenance windows (excluded)", t->target);
  fputs("<table>\n<caption>", f);
  report_html_esc(f, cap);
  fputs("</caption>\n", f);
  report_html_head(f, mcols);
  for (size_t i = 0; i < t->n_maint; i++) {
    const struct gr_maint *m = &t->maint[i];
    fputs("<tr>", f);
    report_html_time(f, m->start);
    report_html_time(f, m->end);
    report_html_td(f, vt_time_fmt_duration(m->end - m->start, c, sizeof(c)),
                   true);
    report_html_td(f, m->reason, false);
    fputs("</tr>\n", f);
  }
  report_html_none(f, t->n_maint, 4);
  fputs("</tbody>\n</table>\n</section>\n", f);
}

static enum vt_status report_html(const struct report *r,
                                  const struct report_out *o)
{
  FILE *f = o->f;
  char a[32], b[32], c[64], d[64], e[64], g[64], h[64];
  pr_time(r->start, PR_T_ISO, a, sizeof(a));
  pr_time(r->end, PR_T_ISO, b, sizeof(b));
  fprintf(f,
          "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">\n"
          "<title>Availability report %s to %s</title>\n"
          "<style>\n"
          "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;"
          "background:#fff;line-height:1.4}\n"
          "table{border-collapse:collapse;margin:0 0 1.5rem}\n"
          "caption{text-align:left;font-weight:bold;padding:.3rem 0}\n"
          "th,td{border:1px solid #767676;padding:.25rem .6rem;"
          "text-align:left}\n"
          "thead th{background:#eee}\n"
          "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
          ".nodata{font-style:italic}\n"
          "</style>\n</head>\n<body>\n<main>\n"
          "<h1>Availability report</h1>\n"
          "<p>From <time datetime=\"%s\">%s</time> to "
          "<time datetime=\"%s\">%s</time> (UTC). Availability = 1 &minus; "
          "down / measured, where measured = period &minus; maintenance "
          "&minus; no data.</p>\n",
          a, b, a, a, b, b);
  if (!r->n)
    fputs("<p class=\"nodata\">No data: the collector has no series "
          "yet.</p>\n",
          f);
  static const char *const cols[] = {
      "Target",      "Availability", "Down",     "Degraded",
      "Maintenance", "No data",      "Measured", NULL};
  fputs("<table>\n<caption>Availability per target</caption>\n", f);
  report_html_head(f, cols);
  for (size_t i = 0; i < r->n; i++) {
    const struct report_target *t = &r->targets[i];
    fputs("<tr><th scope=\"row\">", f);
    report_html_esc(f, t->target);
    fputs("</th>", f);
    report_html_td(f, pr_pct(t->availability, 3, c, sizeof(c)), true);
    report_html_td(f, report_dur(t->down_s, d, sizeof(d)), true);
    report_html_td(f, report_dur(t->degraded_s, e, sizeof(e)), true);
    report_html_td(f, report_dur(t->maint_s, g, sizeof(g)), true);
    report_html_td(f, report_dur(t->nodata_s, h, sizeof(h)), true);
    report_html_td(f, report_dur(t->measured_s, c, sizeof(c)), true);
    fputs("</tr>\n", f);
  }
  report_html_none(f, r->n, 7);
  fputs("</tbody>\n</table>\n", f);
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < r->n && st == VT_OK; i++) {
    struct report_work w;
    st = report_work_of(r, &r->targets[i], o->now, &w);
    if (st == VT_OK)
      report_html_target(f, &r->targets[i], &w);
    pr_ivs_free(&w.maint);
  }
  fputs("</main>\n</body>\n</html>\n", f);
  return st;
}

/* ---- writing and the command --------------------------------------------- */

enum vt_status report_write(const struct report *r, enum report_format fmt,
                            FILE *out)
{
  struct report_out o = {.f = out, .now = vt_time_wall()};
  enum vt_status st = VT_EINVAL;
  switch (fmt) {
  case REPORT_TEXT:
    st = report_text(r, &o);
    break;
  case REPORT_JSON:
    st = report_json(r, &o);
    break;
  case REPORT_CSV:
    st = report_csv(r, &o);
    break;
  case REPORT_HTML:
    st = report_html(r, &o);
    break;
  }
  if (st == VT_OK && (fflush(out) != 0 || ferror(out)))
    st = VT_EIO;
  return st;
}

void report_usage(FILE *out)
{
  fprintf(out,
          "  report --period PERIOD [--target NAME] [--format FORMAT] "
          "[-o FILE]\n"
          "      Availability per target, address and probe over PERIOD: "
          "day, week,\n"
          "      month (the last complete one, UTC) or START..END. Down time "
          "comes from\n"
          "      the quorum's outages, maintenance windows are excluded and "
          "listed,\n"
          "      time without any probe's value is \"no data\", apart from "
          "down time;\n"
          "      outages with MTTR and longest, partial events. FORMAT: "
          "text\n"
          "      (default), json, csv, html. Every target unless --target; "
          "an unknown\n"
          "      target exits 1, a period with no data still gives a report "
          "(\"no data\").\n");
}

static bool report_format_parse(const char *s, enum report_format *out)
{
  static const char *const names[] = {"text", "json", "csv", "html"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, names[i])) {
      *out = (enum report_format)i;
      return true;
    }
  return false;
}

int report_cmd(struct gr_ctx *g, int argc, char **argv)
{
  static const struct option opts[] = {
      {"target", required_argument, NULL, 't'},
      {"period", required_argument, NULL, 'p'},
      {"format", required_argument, NULL, 'f'},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *target = NULL, *period = NULL, *output = NULL;
  enum report_format fmt = REPORT_TEXT;
  bool help = false;
  int c;
  /* main() already ran getopt over the global options: start afresh. */
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":t:p:f:o:h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      target = optarg;
      break;
    case 'p':
      period = optarg;
      break;
    case 'o':
      output = optarg;
      break;
    case 'h':
      help = true;
      break;
    case 'f':
      if (!report_format_parse(optarg, &fmt)) {
        fprintf(stderr,
                "vantage-graph report: --format: unknown format \"%s\" "
                "(text, json, csv, html)\n",
                optarg);
        return REPORT_EXIT_USAGE;
      }
      break;
    case ':':
      fprintf(stderr, "vantage-graph report: %s needs a value\n",
              argv[optind - 1]);
      return REPORT_EXIT_USAGE;
    default:
      fprintf(stderr,
              "vantage-graph report: unknown option \"%s\"\n"
              "Try 'vantage-graph report --help' for more information.\n",
              argv[optind - 1]);
      return REPORT_EXIT_USAGE;
    }
  }
  if (help) {
    printf("Usage: vantage-graph [-c FILE] report [OPTIONS]\n");
    report_usage(stdout);
    return REPORT_EXIT_OK;
  }
  if (optind < argc) {
    fprintf(stderr, "vantage-graph report: unexpected argument \"%s\"\n",
            argv[optind]);
    return REPORT_EXIT_USAGE;
  }
  if (!period) {
    fprintf(stderr, "vantage-graph report: --period is required (day, "
                    "week, month or START..END)\n");
    return REPORT_EXIT_USAGE;
  }
  double start, end;
  char err[256];
  if (!ts_parse_period(period, vt_time_wall(), &start, &end, err,
                       sizeof(err))) {
    fprintf(stderr, "vantage-graph report: --period: %s\n", err);
    return REPORT_EXIT_USAGE;
  }
  if (!g)
    return REPORT_EXIT_USAGE;

  struct report *r = NULL;
  FILE *f = NULL;
  int rc = REPORT_EXIT_RUNTIME;
  enum vt_status st = report_compute(g, target, start, end, &r);
  if (st != VT_OK) {
    if (st == VT_ENOMEM)
      vt_err("report: %s", vt_strerror(st));
    goto cleanup;
  }
  f = output ? fopen(output, "w") : stdout;
  if (!f) {
    vt_err("report: %s: %s", output, strerror(errno));
    goto cleanup;
  }
  st = report_write(r, fmt, f);
  if (output && fclose(f) != 0 && st == VT_OK)
    st = VT_EIO;
  f = NULL;
  if (st != VT_OK) {
    vt_err("report: %s: %s", output ? output : "standard output",
           st == VT_EIO ? strerror(errno) : vt_strerror(st));
    goto cleanup;
  }
  rc = REPORT_EXIT_OK;
cleanup:
  report_free(r);
  return rc;
}
