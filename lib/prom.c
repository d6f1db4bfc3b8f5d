/* SPDX-License-Identifier: MIT */
/* Prometheus text format pieces (see prom.h). */
#include "config.h"

#include "prom.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum vt_status vt_prom_head(struct vt_buf *b, const char *name,
                            const char *type, const char *help)
{
  return vt_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum vt_status vt_prom_label(struct vt_buf *b, const char *s)
{
  enum vt_status st = VT_OK;
  for (; *s && st == VT_OK; s++)
    st = *s == '\\'   ? vt_buf_adds(b, "\\\\")
         : *s == '"'  ? vt_buf_adds(b, "\\\"")
         : *s == '\n' ? vt_buf_adds(b, "\\n")
                      : vt_buf_add(b, s, 1);
  return st;
}

enum vt_status vt_prom_one(struct vt_buf *b, const char *name, const char *type,
                           const char *help, double v)
{
  enum vt_status st = vt_prom_head(b, name, type, help);
  return st ? st : vt_buf_addf(b, "%s %.17g\n", name, v);
}

enum vt_status vt_prom_float(struct vt_buf *b, double v)
{
  if (isnan(v))
    return vt_buf_adds(b, "NaN");
  if (isinf(v))
    return vt_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
  char text[40];
  if (v == floor(v) && fabs(v) < 1e15) /* integers in full: "40", not "4e+01" */
    return vt_buf_addf(b, "%.0f", v);
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(text, sizeof(text), "%.*g", prec, v);
    if (strtod(text, NULL) == v)
      break;
  }
  return vt_buf_adds(b, text);
}

void vt_prom_hist_init(struct vt_prom_hist *h, const double *le, size_t n_le)
{
  *h = (struct vt_prom_hist){
      .le = le, .n_le = n_le < VT_PROM_HIST_MAX ? n_le : VT_PROM_HIST_MAX};
}

void vt_prom_hist_add(struct vt_prom_hist *h, double v, uint64_t n)
{
  if (isnan(v) || n == 0)
    return;
  size_t i = 0;
  while (i < h->n_le && v > h->le[i])
    i++;
  h->counts[i] += n;
  h->count += n;
  h->sum += v * (double)n;
}

void vt_prom_hist_observe(struct vt_prom_hist *h, double v)
{
  vt_prom_hist_add(h, v, 1);
}

/* "name<suffix>{labels" with a separator before what follows when there
 * are labels; closes nothing. */
static enum vt_status prom_series(struct vt_buf *b, const char *name,
                                  const char *suffix, const char *labels)
{
  return vt_buf_addf(b, "%s%s{%s%s", name, suffix, labels ? labels : "",
                     labels && *labels ? "," : "");
}

enum vt_status vt_prom_hist_write(struct vt_buf *b, const char *name,
                                  const char *labels,
                                  const struct vt_prom_hist *h)
{
  enum vt_status st = VT_OK;
  uint64_t cum = 0;
  for (size_t i = 0; !st && i <= h->n_le; i++) {
    cum += h->counts[i];
    st = prom_series(b, name, "_bucket", labels);
    if (!st)
      st = vt_buf_adds(b, "le=\"");
    if (!st)
      st = vt_prom_float(b, i < h->n_le ? h->le[i] : INFINITY);
    if (!st)
      st = vt_buf_addf(b, "\"} %llu\n", (unsigned long long)cum);
  }
  bool lab = labels && *labels;
  if (!st)
    st = vt_buf_addf(b, "%s_sum%s%s%s ", name, lab ? "{" : "",
                     lab ? labels : "", lab ? "}" : "");
  if (!st)
    st = vt_prom_float(b, h->sum);
  if (!st)
    st = vt_buf_addf(b, "\n%s_count%s%s%s %llu\n", name, lab ? "{" : "",
                     lab ? labels : "", lab ? "}" : "",
                     (unsigned long long)h->count);
  return st;
}
