/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): what people follow: the Atom feed and the
 * SVG badges. */
#include "config.h"

#include "status_page_int.h"

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
                  pr_time(t, PR_T_ISO, iso, sizeof(iso)), el);
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

void status_page_feed(struct status_page_out *o,
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
        pr_time(inc->start, PR_T_HUMAN, a, sizeof(a)),
        isnan(inc->end) ? "now" : pr_time(inc->end, PR_T_HUMAN, b, sizeof(b)),
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
                      pr_time(x->notes[k].at, PR_T_HUMAN, a, sizeof(a)));
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
      status_page_put(o, "; from %s",
                      pr_time(an->start, PR_T_HUMAN, a, sizeof(a)));
    if (!isnan(an->end))
      status_page_put(o, " until %s",
                      pr_time(an->end, PR_T_HUMAN, a, sizeof(a)));
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

enum vt_status status_page_badges(const struct status_page_ctx *x,
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
      pr_pct(a, 3, pct, sizeof(pct));
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
