/* SPDX-License-Identifier: MIT */
/* The share of traffic still on the old servers (traffic_share.h). */
#include "config.h"

#include "traffic_share.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "log.h"

/* Whether ip is in the comma-separated list. */
static bool traffic_in_list(const char *list, const char *ip)
{
  size_t n = strlen(ip);
  for (const char *p = list; p && *p;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == n && memcmp(p, ip, n) == 0)
      return true;
    p = c ? c + 1 : NULL;
  }
  return false;
}

/* The mean of the known values of data source "load" of one file over
 * [from, to]; NAN when none. */
static double traffic_mean(struct gr_ctx *g, const char *relpath, double from,
                           double to)
{
  struct gr_fetch f;
  if (gr_fetch_rrd(g, relpath, "AVERAGE", from, to, 1, &f) != VT_OK)
    return NAN;
  int d = gr_fetch_ds(&f, "load");
  double sum = 0;
  size_t n = 0;
  for (size_t r = 0; d >= 0 && r < f.n_rows; r++) {
    double v = f.data[r * f.n_ds + (size_t)d];
    if (!isnan(v)) {
      sum += v;
      n++;
    }
  }
  gr_fetch_free(&f);
  return n ? sum / (double)n : NAN;
}

enum vt_status traffic_share_old(struct gr_ctx *g, const char *target,
                                 double now, double recent, double window,
                                 struct traffic_share *out)
{
  struct gr_dns_change *ch = NULL;
  size_t n_ch = 0;
  struct gr_series *ser = NULL;
  size_t n_ser = 0;
  enum vt_status st = gr_dns_changes(g, target, now - recent, now, &ch, &n_ch);
  if (st != VT_OK)
    return st;
  /* The last change that dropped an address. */
  const struct gr_dns_change *sw = NULL;
  for (size_t i = 0; i < n_ch; i++) {
    const char *p = ch[i].old_answers;
    bool dropped = false;
    while (p && *p && !dropped) {
      const char *c = strchr(p, ',');
      char ip[64];
      snprintf(ip, sizeof(ip), "%.*s", (int)(c ? (size_t)(c - p) : strlen(p)),
               p);
      dropped = !traffic_in_list(ch[i].new_answers, ip);
      p = c ? c + 1 : NULL;
    }
    if (dropped && (!sw || ch[i].ts >= sw->ts))
      sw = &ch[i];
  }
  st = VT_ENOTFOUND;
  if (!sw)
    goto out;
  if ((st = gr_series_list(g, target, &ser, &n_ser)) != VT_OK)
    goto out;
  *out = (struct traffic_share){.switch_ts = sw->ts};
  /* Per address: the mean over its probes' series (sorted by check, key,
   * probe, so one address's series are adjacent per check). */
  size_t i = 0;
  bool any = false;
  while (i < n_ser) {
    if (ser[i].check_type != VT_CHECK_LOAD) {
      i++;
      continue;
    }
    size_t j = i;
    double sum = 0;
    size_t n = 0;
    while (j < n_ser && ser[j].check_type == VT_CHECK_LOAD &&
           strcmp(ser[j].check_name, ser[i].check_name) == 0 &&
           strcmp(ser[j].key, ser[i].key) == 0) {
      double m = traffic_mean(g, ser[j].path, fmax(now - window, sw->ts), now);
      if (!isnan(m)) {
        sum += m;
        n++;
      }
      j++;
    }
    if (n) {
      double load = sum / (double)n;
      any = true;
      out->total_load += load;
      if (traffic_in_list(sw->old_answers, ser[i].key) &&
          !traffic_in_list(sw->new_answers, ser[i].key)) {
        out->old_load += load;
        out->n_old++;
      }
    }
    i = j;
  }
  if (!any || !(out->total_load > 0))
    goto out;
  out->pct = 100.0 * out->old_load / out->total_load;
  st = VT_OK;
out:
  free(ch);
  free(ser);
  return st;
}

char *traffic_share_html(struct gr_ctx *g, const char *target, double now,
                         char *out, size_t size)
{
  struct traffic_share ts;
  out[0] = '\0';
  if (traffic_share_old(g, target, now, TRAFFIC_SWITCH_RECENT_S,
                        TRAFFIC_WINDOW_S, &ts) != VT_OK)
    return out;
  char when[32];
  time_t t = (time_t)ts.switch_ts;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, size,
           "<p class=\"still-old\">Still on old servers: <strong>%.0f "
           "%%</strong> of the traffic (%zu address%s left the DNS answer at "
           "%s UTC; each server's own count, last %.0f s)</p>\n",
           ts.pct, ts.n_old, ts.n_old == 1 ? "" : "es", when, TRAFFIC_WINDOW_S);
  return out;
}
