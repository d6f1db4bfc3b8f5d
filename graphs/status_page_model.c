/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): the data of one build: services, 90-day
 * bars, state, incidents, all read before anything is written. */
#include "config.h"

#include "net.h"
#include "status_page_int.h"

/* ---- the data ------------------------------------------------------------ */

const char *const status_page_state_names[] = {
    [STATUS_PAGE_OPERATIONAL] = "operational",
    [STATUS_PAGE_DEGRADED] = "degraded",
    [STATUS_PAGE_DOWN] = "down",
    [STATUS_PAGE_MAINTENANCE] = "maintenance",
    [STATUS_PAGE_NODATA] = "no_data",
};

const char *const status_page_state_labels[] = {
    [STATUS_PAGE_OPERATIONAL] = "Operational",
    [STATUS_PAGE_DEGRADED] = "Degraded",
    [STATUS_PAGE_DOWN] = "Down",
    [STATUS_PAGE_MAINTENANCE] = "Maintenance",
    [STATUS_PAGE_NODATA] = "No data",
};

const char *const status_page_day_names[] = {
    [STATUS_PAGE_DAY_OK] = "ok",       [STATUS_PAGE_DAY_WARN] = "warn",
    [STATUS_PAGE_DAY_BAD] = "bad",     [STATUS_PAGE_DAY_MAINT] = "maint",
    [STATUS_PAGE_DAY_NODATA] = "none",
};

const char *const status_page_ann_kinds[] = {
    [STATUS_PAGE_ANN_MAINTENANCE] = "maintenance",
    [STATUS_PAGE_ANN_HOTFIX] = "hotfix",
    [STATUS_PAGE_ANN_INCIDENT] = "incident",
    [STATUS_PAGE_ANN_NOTICE] = "notice",
};

const char *const status_page_ann_labels[] = {
    [STATUS_PAGE_ANN_MAINTENANCE] = "Maintenance",
    [STATUS_PAGE_ANN_HOTFIX] = "Hotfix",
    [STATUS_PAGE_ANN_INCIDENT] = "Incident",
    [STATUS_PAGE_ANN_NOTICE] = "Notice",
};

const char *const status_page_period_names[] = {
    "current_month", "previous_month", "last_90_days", "last_24_hours",
    "last_30_days"};

const struct status_page_range status_page_ranges[STATUS_PAGE_N_RANGES] = {
    {"3h", "Last 3 hours", "the last 3 hours", 3 * 3600.0},
    {"1d", "Last day", "the last day", 86400.0},
    {"7d", "Last 7 days", "the last 7 days", 7 * 86400.0},
    {"30d", "Last 30 days", "the last 30 days", 30 * 86400.0},
};

const struct status_page_kind status_page_kinds[STATUS_PAGE_N_KINDS] = {
    {GRAPH_OUTAGE_GAP, "outage-gap", "Outage gaps", "latency and outages"},
    {GRAPH_LOAD_SHIFT, "load-shift", "Load shift", "share per address"},
    {GRAPH_TRAFFIC, "traffic", "Traffic", "the servers' own load per address"},
};

static int status_page_str_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int status_page_name_cmp(const void *key, const void *elem)
{
  return strcmp(key, *(char *const *)elem);
}

/* Index of target in the sorted service list, or -1. */
long status_page_svc_index(const struct status_page_ctx *x, const char *target)
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
                                        struct pr_ivs *out)
{
  enum vt_status st = VT_OK;
  for (size_t p = 0; p < s->n_probes && st == VT_OK; p++) {
    struct pr_ivs mine = {0}, rest = {0}, both = {0};
    double since = NAN;
    for (size_t i = 0; i < x->n_pev && st == VT_OK; i++) {
      const struct gr_probe_event *e = &x->pev[i];
      if (strcmp(e->probe, s->probes[p]) != 0)
        continue;
      if (strcmp(e->event, "silent") == 0 && isnan(since)) {
        since = e->ts - x->conf->silence_s;
      } else if (strcmp(e->event, "silent") != 0 && !isnan(since)) {
        st = pr_ivs_add(&mine, since, e->ts);
        since = NAN;
      }
    }
    if (st == VT_OK && !isnan(since))
      st = pr_ivs_add(&mine, since, x->now);
    pr_ivs_norm(&mine);
    if (st == VT_OK && p == 0) {
      *out = mine;
      continue;
    }
    /* out and mine: out less (out less mine) */
    if (st == VT_OK && (st = pr_ivs_sub(out, &mine, &rest)) == VT_OK)
      st = pr_ivs_sub(out, &rest, &both);
    pr_ivs_free(out);
    *out = both;
    pr_ivs_free(&mine);
    pr_ivs_free(&rest);
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
  struct pr_ivs down = {0}, deg = {0}, maint = {0}, d1 = {0}, g1 = {0},
                g2 = {0}, blind = {0}, b1 = {0}, nd = {0};
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < x->n_outages && st == VT_OK; i++) {
    const struct gr_outage *o = &x->outages[i];
    if (strcmp(o->target, s->name) != 0 || strcmp(o->scope, "host") != 0)
      continue;
    double end = isnan(o->end) ? x->now : fmin(o->end, x->now);
    st =
        pr_ivs_add(strcmp(o->state, "down") == 0 ? &down : &deg, o->start, end);
  }
  for (size_t i = 0; i < x->n_maint && st == VT_OK; i++)
    if (strcmp(x->maint[i].target, s->name) == 0)
      st = pr_ivs_add(&maint, x->maint[i].start, x->maint[i].end);
  if (st != VT_OK)
    goto out;
  pr_ivs_norm(&down);
  pr_ivs_norm(&deg);
  pr_ivs_norm(&maint);
  /* down less maintenance; degraded less maintenance and less down */
  if ((st = pr_ivs_sub(&down, &maint, &d1)) != VT_OK ||
      (st = pr_ivs_sub(&deg, &maint, &g1)) != VT_OK ||
      (st = pr_ivs_sub(&g1, &down, &g2)) != VT_OK)
    goto out;
  /* No data: every probe silent, less maintenance (not measured anyway)
   * and less the outages (time inside an outage counts as measured, as
   * in the report). */
  if ((st = status_page_blind(x, s, &blind)) != VT_OK ||
      (st = pr_ivs_sub(&blind, &maint, &b1)) != VT_OK ||
      (st = pr_ivs_sub(&b1, &down, &nd)) != VT_OK)
    goto out;
  for (size_t d = 0; d < STATUS_PAGE_DAYS; d++) {
    struct status_page_day *day = &s->days[d];
    double from = x->day0 + (double)d * STATUS_PAGE_DAY_S;
    double to = fmin(from + STATUS_PAGE_DAY_S, x->now);
    day->maint_s = pr_ivs_within(&maint, from, to);
    double a = isnan(s->first_ts) ? to : fmax(from, s->first_ts);
    double b = isnan(s->last_ts) ? to : fmin(to, s->last_ts);
    if (b > a) {
      day->nodata_s = pr_ivs_within(&nd, a, b);
      day->measured_s = (b - a) - pr_ivs_within(&maint, a, b) - day->nodata_s;
      day->down_s = pr_ivs_within(&d1, a, b);
      day->degraded_s = pr_ivs_within(&g2, a, b);
    }
    day->availability =
        day->measured_s > 0 ? 1.0 - day->down_s / day->measured_s : NAN;
    day->cls = status_page_classify(day);
  }
out:
  pr_ivs_free(&down);
  pr_ivs_free(&deg);
  pr_ivs_free(&maint);
  pr_ivs_free(&d1);
  pr_ivs_free(&g1);
  pr_ivs_free(&g2);
  pr_ivs_free(&blind);
  pr_ivs_free(&b1);
  pr_ivs_free(&nd);
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
    *inc = (struct status_page_incident){
        .svc = (size_t)svc,
        .start = o->start,
        .end = o->end,
        .end_reason = o->end_reason[0] ? o->end_reason : NULL,
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

void status_page_ctx_free(struct status_page_ctx *x)
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
 * client checks for load-shift, load checks for traffic, tcp and http
 * checks for outage-gap (the selection graph.h describes). */
static bool status_page_draws(enum graph_kind kind, const struct gr_series *se)
{
  if (!vt_net_is_ip(se->key))
    return false;
  if (kind == GRAPH_LOAD_SHIFT)
    return vt_series_has_shares(se->check_type);
  if (kind == GRAPH_TRAFFIC)
    return se->check_type == VT_CHECK_LOAD;
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
enum vt_status status_page_load(struct status_page_ctx *x)
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
  return status_page_incidents(x);
}

enum vt_status status_page_load_reports(struct status_page_ctx *x)
{
  enum vt_status st;
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
