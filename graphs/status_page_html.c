/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): the HTML pages: index, one per service,
 * the probes view. */
#include "config.h"

#include "status_page_int.h"
#include "traffic_share.h"

/* ---- HTML ---------------------------------------------------------------- */

/* Browsers ask for /favicon.ico when a page names no icon; a tiny one of
 * our own keeps the access log free of 404s. */
const char status_page_favicon[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<circle cx=\"8\" cy=\"8\" r=\"7\" fill=\"#1a7f37\"/>"
    "<path d=\"M4.5 8.5l2.5 2.5 4.5-5\" fill=\"none\" stroke=\"#fff\" "
    "stroke-width=\"2\"/></svg>\n";

const char status_page_css[] =
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
  pr_time(x->day0 + (double)i * STATUS_PAGE_DAY_S, PR_T_DATE, date,
          sizeof(date));
  pr_pct(d->availability, 2, pct, sizeof(pct));
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
  if (!gr->ok && !gr->missing)
    return; /* a kind this service has no checks for (traffic) */
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
void status_page_seen(struct status_page_out *o, const struct gr_outage *r)
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

void status_page_index(struct status_page_out *o,
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
    status_page_put(o, "<p class=\"note\">Last %d days: %s available",
                    STATUS_PAGE_DAYS,
                    pr_pct(rt ? rt->availability : NAN, 3, pct, sizeof(pct)));
    rt = s->rt[STATUS_PAGE_P_MONTH];
    status_page_put(o, "; this month: %s</p>\n",
                    pr_pct(rt ? rt->availability : NAN, 3, pct, sizeof(pct)));
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
      pr_pct(rt->availability, 3, pct, sizeof(pct)),
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

void status_page_service(struct status_page_out *o,
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
  char still_old[512]; /* issue 16: during a switch, traffic on old servers */
  status_page_put(
      o, "%s",
      traffic_share_html(x->g, s->name, x->now, still_old, sizeof(still_old)));
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
  pr_time(x->period[STATUS_PAGE_P_MONTH][0], PR_T_MONTH, month, sizeof(month));
  pr_time(x->period[STATUS_PAGE_P_PREV_MONTH][0], PR_T_MONTH, prev,
          sizeof(prev));
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
void status_page_probes_page(struct status_page_out *o,
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
