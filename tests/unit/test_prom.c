/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/prom.c: floats, label escapes and histograms, checked
 * against the rules of the Prometheus text exposition format (0.0.4) by an
 * independent reader below (names, labels and escapes, HELP/TYPE before
 * the samples, one group per family, histogram buckets: le ascending,
 * ending at +Inf, cumulative, +Inf equal to _count, _sum and _count). */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "probe_metrics.h"
#include "prom.h"
#include "tap.h"

#define MAXFAM 32

struct fam {
  char name[128], type[16];
  bool closed; /* samples of another family came after this one's */
  /* histogram: the label set (without le) being read and its state */
  char labels[256];
  double last_le, last_cum;
  bool inf_seen, sum_seen, count_seen;
};

static bool name_ok(const char *s, size_t n, bool metric)
{
  if (!n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = isalpha((unsigned char)c) || c == '_' || (metric && c == ':') ||
              (i > 0 && isdigit((unsigned char)c));
    if (!ok)
      return false;
  }
  return true;
}

static bool float_ok(const char *s, double *v)
{
  if (!strcmp(s, "+Inf")) {
    *v = INFINITY;
    return true;
  }
  if (!strcmp(s, "-Inf")) {
    *v = -INFINITY;
    return true;
  }
  if (!strcmp(s, "NaN")) {
    *v = NAN;
    return true;
  }
  char *end;
  *v = strtod(s, &end);
  return end != s && *end == '\0' && isfinite(*v);
}

static struct fam *fam_find(struct fam *f, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(f[i].name, name))
      return &f[i];
  return NULL;
}

/* The family a sample name belongs to (histogram suffixes stripped when
 * the family is a histogram or summary). */
static struct fam *fam_of(struct fam *f, size_t n, const char *name,
                          const char **suffix)
{
  static const char *const suf[] = {"_bucket", "_sum", "_count"};
  *suffix = "";
  struct fam *x = fam_find(f, n, name);
  if (x)
    return x;
  for (size_t k = 0; k < 3; k++) {
    size_t l = strlen(name), sl = strlen(suf[k]);
    if (l > sl && !strcmp(name + l - sl, suf[k])) {
      char base[128];
      snprintf(base, sizeof(base), "%.*s", (int)(l - sl), name);
      x = fam_find(f, n, base);
      if (x && (!strcmp(x->type, "histogram") || !strcmp(x->type, "summary"))) {
        *suffix = suf[k];
        return x;
      }
    }
  }
  return NULL;
}

static bool hist_close(struct fam *x, char *why, size_t wl)
{
  if (x->labels[0] == '\x01')
    return true; /* nothing read yet */
  if (!x->inf_seen || !x->sum_seen || !x->count_seen) {
    snprintf(why, wl, "%s{%s}: +Inf bucket, _sum or _count missing", x->name,
             x->labels);
    return false;
  }
  return true;
}

/* Reads text; returns true when it follows the rules, else says why. */
static bool prom_valid(const char *text, char *why, size_t wl)
{
  struct fam fam[MAXFAM];
  size_t n_fam = 0;
  struct fam *cur = NULL;
  const char *p = text;
  if (!*p) {
    snprintf(why, wl, "empty");
    return false;
  }
  while (*p) {
    const char *nl = strchr(p, '\n');
    if (!nl) {
      snprintf(why, wl, "last line without a newline");
      return false;
    }
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
    p = nl + 1;
    if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
      char name[128], rest[256] = "";
      if (sscanf(line + 7, "%127s %255[^\n]", name, rest) < 1 ||
          !name_ok(name, strlen(name), true)) {
        snprintf(why, wl, "bad comment: %s", line);
        return false;
      }
      struct fam *x = fam_find(fam, n_fam, name);
      if (x && x->closed) {
        snprintf(why, wl, "%s: HELP/TYPE after its samples", name);
        return false;
      }
      if (!x) {
        if (n_fam == MAXFAM)
          return false;
        x = &fam[n_fam++];
        memset(x, 0, sizeof(*x));
        snprintf(x->name, sizeof(x->name), "%s", name);
        snprintf(x->type, sizeof(x->type), "untyped");
        x->labels[0] = '\x01';
      }
      if (line[2] == 'T') {
        static const char *const types[] = {"counter", "gauge", "histogram",
                                            "summary", "untyped"};
        bool ok = false;
        for (size_t k = 0; k < 5; k++)
          ok = ok || !strcmp(rest, types[k]);
        if (!ok) {
          snprintf(why, wl, "%s: bad type %s", name, rest);
          return false;
        }
        snprintf(x->type, sizeof(x->type), "%s", rest);
      }
      continue;
    }
    if (line[0] == '#')
      continue;
    /* name{labels} value */
    size_t nlen = strcspn(line, "{ ");
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)nlen, line);
    if (!name_ok(line, nlen, true)) {
      snprintf(why, wl, "bad metric name: %s", line);
      return false;
    }
    const char *q = line + nlen;
    char labels[256] = "", le[64] = "";
    size_t ll = 0;
    if (*q == '{') {
      q++;
      while (*q != '}') {
        size_t ln = strcspn(q, "=");
        if (!name_ok(q, ln, false) || q[ln] != '=' || q[ln + 1] != '"') {
          snprintf(why, wl, "bad label: %s", line);
          return false;
        }
        bool is_le = ln == 2 && !strncmp(q, "le", 2);
        const char *lstart = q;
        q += ln + 2;
        char val[128];
        size_t vl = 0;
        while (*q && *q != '"') {
          if (*q == '\\') {
            q++;
            if (*q != '\\' && *q != '"' && *q != 'n') {
              snprintf(why, wl, "bad escape in %s", line);
              return false;
            }
          }
          if (vl + 1 < sizeof(val))
            val[vl++] = *q;
          q++;
        }
        val[vl] = '\0';
        if (*q != '"') {
          snprintf(why, wl, "unterminated label value: %s", line);
          return false;
        }
        q++;
        if (is_le)
          snprintf(le, sizeof(le), "%s", val);
        else
          ll += (size_t)snprintf(labels + ll, sizeof(labels) - ll, "%.*s;",
                                 (int)(q - lstart), lstart);
        if (*q == ',')
          q++;
        else if (*q != '}') {
          snprintf(why, wl, "bad label list: %s", line);
          return false;
        }
      }
      q++;
    }
    if (*q != ' ') {
      snprintf(why, wl, "no value: %s", line);
      return false;
    }
    double v;
    if (!float_ok(q + 1, &v)) {
      snprintf(why, wl, "bad value: %s", line);
      return false;
    }
    const char *suffix;
    struct fam *x = fam_of(fam, n_fam, name, &suffix);
    if (!x) {
      snprintf(why, wl, "%s: sample without TYPE", name);
      return false;
    }
    if (x->closed) {
      snprintf(why, wl, "%s: samples not grouped", x->name);
      return false;
    }
    if (cur && cur != x) {
      if (!strcmp(cur->type, "histogram") && !hist_close(cur, why, wl))
        return false;
      cur->closed = true;
    }
    cur = x;
    if (strcmp(x->type, "histogram"))
      continue;
    if (!*suffix) {
      snprintf(why, wl, "%s: histogram sample without suffix", name);
      return false;
    }
    if (strcmp(x->labels, labels)) {
      if (!hist_close(x, why, wl))
        return false;
      snprintf(x->labels, sizeof(x->labels), "%s", labels);
      x->last_le = -INFINITY;
      x->last_cum = 0;
      x->inf_seen = x->sum_seen = x->count_seen = false;
    }
    if (!strcmp(suffix, "_bucket")) {
      double lv;
      if (!*le || !float_ok(le, &lv) || !(lv > x->last_le) || x->inf_seen) {
        snprintf(why, wl, "%s: le missing or not ascending: %s", name, line);
        return false;
      }
      if (v < x->last_cum) {
        snprintf(why, wl, "%s: buckets not cumulative: %s", name, line);
        return false;
      }
      x->last_le = lv;
      x->last_cum = v;
      x->inf_seen = isinf(lv);
    } else if (!strcmp(suffix, "_count")) {
      if (!x->inf_seen || v != x->last_cum) {
        snprintf(why, wl, "%s: _count differs from the +Inf bucket", name);
        return false;
      }
      x->count_seen = true;
    } else {
      x->sum_seen = true;
    }
  }
  if (cur && !strcmp(cur->type, "histogram"))
    return hist_close(cur, why, wl);
  return true;
}

static void check_float(double v, const char *want)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  tap_ok(vt_prom_float(&b, v) == VT_OK, "float %s written", want);
  tap_is_str(vt_buf_str(&b), want, "float %s: shortest text", want);
  vt_buf_cleanup(&b);
}

int main(void)
{
  tap_plan(34);
  check_float(0.1, "0.1");
  check_float(40, "40");
  check_float(-0.0, "-0");
  check_float(1e20, "1e+20");
  check_float(1e-4 * 16, "0.0016");
  check_float(104.8576, "104.8576");
  check_float(INFINITY, "+Inf");
  check_float(NAN, "NaN");

  static const double le[] = {0.001, 0.01, 0.1, 1};
  struct vt_prom_hist h;
  vt_prom_hist_init(&h, le, 4);
  vt_prom_hist_observe(&h, 0.001); /* le is inclusive */
  vt_prom_hist_observe(&h, 0.005);
  vt_prom_hist_observe(&h, 0.5);
  vt_prom_hist_observe(&h, 5);
  vt_prom_hist_observe(&h, NAN); /* not counted */
  vt_prom_hist_add(&h, 0.05, 2);
  tap_ok(h.count == 6, "6 observations counted, NaN left out");

  struct vt_buf b;
  vt_buf_init(&b, 0);
  enum vt_status st = vt_prom_head(&b, "x_seconds", "histogram", "A test");
  if (!st)
    st = vt_prom_hist_write(&b, "x_seconds", "stage=\"store\"", &h);
  tap_ok(st == VT_OK, "histogram written");
  tap_is_str(vt_buf_str(&b),
             "# HELP x_seconds A test\n"
             "# TYPE x_seconds histogram\n"
             "x_seconds_bucket{stage=\"store\",le=\"0.001\"} 1\n"
             "x_seconds_bucket{stage=\"store\",le=\"0.01\"} 2\n"
             "x_seconds_bucket{stage=\"store\",le=\"0.1\"} 4\n"
             "x_seconds_bucket{stage=\"store\",le=\"1\"} 5\n"
             "x_seconds_bucket{stage=\"store\",le=\"+Inf\"} 6\n"
             "x_seconds_sum{stage=\"store\"} 5.606\n"
             "x_seconds_count{stage=\"store\"} 6\n",
             "cumulative buckets, le inclusive, +Inf, _sum, _count");
  char why[256] = "";
  /* A second label set of the same family, then one without labels. */
  struct vt_prom_hist e;
  vt_prom_hist_init(&e, le, 4);
  st = vt_prom_hist_write(&b, "x_seconds", "stage=\"ack\"", &e);
  if (!st)
    st = vt_prom_head(&b, "y_seconds", "histogram", "Unlabelled");
  if (!st)
    st = vt_prom_hist_write(&b, "y_seconds", NULL, &h);
  if (!st)
    st = vt_prom_head(&b, "z", "gauge", "Label escapes");
  if (!st)
    st = vt_buf_adds(&b, "z{name=\"");
  if (!st)
    st = vt_prom_label(&b, "a\\b\"c\nd");
  if (!st)
    st = vt_buf_adds(&b, "\"} 1\n");
  tap_ok(st == VT_OK, "two label sets, an unlabelled histogram, a gauge");
  tap_ok(strstr(vt_buf_str(&b), "y_seconds_sum 5.606\ny_seconds_count 6\n") !=
             NULL,
         "unlabelled _sum and _count have no braces");
  tap_ok(strstr(vt_buf_str(&b), "z{name=\"a\\\\b\\\"c\\nd\"} 1\n") != NULL,
         "label value escaped");
  bool ok = prom_valid(vt_buf_str(&b), why, sizeof(why));
  tap_ok(ok, "the exposition follows the text-format rules");
  if (!ok)
    printf("#   %s\n", why);

  /* The reader catches what breaks the rules. */
  static const struct {
    const char *text, *what;
  } bad[] = {
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
       "h_sum 1\nh_count 1\n",
       "buckets that are not cumulative"},
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
       "a histogram without +Inf"},
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
       "h_sum 1\nh_count 1\n",
       "_count different from +Inf"},
      {"# TYPE g gauge\ng{a=\"x\\q\"} 1\n", "an unknown escape"},
      {"# TYPE g gauge\ng 1\n# TYPE k gauge\nk 1\ng 2\n",
       "samples of a family not grouped"},
      {"g 1\n", "a sample without TYPE"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    tap_ok(!prom_valid(bad[i].text, why, sizeof(why)), "rejects %s (%s)",
           bad[i].what, why);
  vt_buf_cleanup(&b);

  /* The probe's page: the scheduler's 84 lateness buckets written with
   * every 8th bound keep their counts exactly. */
  struct probe_metrics pm = {.name = "p1", .results_ok = 7};
  pm.sched.late_hist[0] = 1;  /* <= 0.1 ms */
  pm.sched.late_hist[8] = 2;  /* (0.34, 0.4] ms: le 0.0004 */
  pm.sched.late_hist[9] = 3;  /* (0.4, 0.48] ms: le 0.0016 */
  pm.sched.late_hist[80] = 5; /* up to 104.8576 s */
  pm.sched.late_hist[SCHED_LATE_BUCKETS - 1] = 4; /* above */
  pm.sched.late_n = 15;
  pm.sched.late_sum_s = 1234.5;
  pm.sched.queued = 9;
  pm.spool.bytes = 4096;
  vt_buf_init(&b, 0);
  tap_ok(probe_metrics_render(&pm, &b) == VT_OK, "the probe's page written");
  const char *t = vt_buf_str(&b);
  tap_ok(
      strstr(
          t,
          "vantage_probe_round_lateness_seconds_bucket{le=\"0.0001\"} 1\n"
          "vantage_probe_round_lateness_seconds_bucket{le=\"0.0004\"} 3\n"
          "vantage_probe_round_lateness_seconds_bucket{le=\"0.0016\"} 6\n") &&
          strstr(t,
                 "{le=\"26.2144\"} 6\n"
                 "vantage_probe_round_lateness_seconds_bucket{le=\"104.8576\"} "
                 "11\n"
                 "vantage_probe_round_lateness_seconds_bucket{le=\"+Inf\"} 15\n"
                 "vantage_probe_round_lateness_seconds_sum 1234.5\n"
                 "vantage_probe_round_lateness_seconds_count 15\n"),
      "lateness: the scheduler's buckets summed exactly, +Inf = late_n");
  tap_ok(strstr(t, "\nvantage_probe_queued 9\n") &&
             strstr(t, "\nvantage_probe_spool_bytes 4096\n"),
         "queued runs and spool bytes");
  tap_ok(strstr(t, "vantage_probe_skipped_total{reason=\"budget\"} 0\n") !=
             NULL,
         "skipped runs by reason");
  ok = prom_valid(t, why, sizeof(why));
  tap_ok(ok, "the probe's page follows the text-format rules");
  if (!ok)
    printf("#   %s\n", why);
  vt_buf_cleanup(&b);
  return tap_done();
}
