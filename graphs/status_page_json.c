/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): status.json. */
#include "config.h"

#include "status_page_int.h"

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
  char n[64];
  status_page_put(o, "%s", isfinite(v) ? pr_num(v, n, sizeof(n)) : "null");
}

/* An availability as the report's JSON writes it: 6 decimals, truncated. */
static void status_page_javail(struct status_page_out *o, double a)
{
  if (isnan(a))
    status_page_put(o, "null");
  else
    status_page_put(o, "%.6f", pr_trunc(a, 6));
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
  pr_time(t, PR_T_ISO, iso, sizeof(iso));
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

void status_page_json(struct status_page_out *o,
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
      pr_time(x->day0 + (double)d * STATUS_PAGE_DAY_S, PR_T_DATE, date,
              sizeof(date));
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
