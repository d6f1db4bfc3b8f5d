/* SPDX-License-Identifier: MIT */
/* Presentation rules (see present.h). */
#include "config.h"

#include "present.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "utf8.h"

enum vt_status pr_esc(struct vt_buf *b, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  enum vt_status st = VT_OK;
  while (p < end && st == VT_OK) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p < 0x7f && *p != '&' && *p != '<' &&
           *p != '>' && *p != '"' && *p != '\'')
      p++;
    if (p > run && (st = vt_buf_add(b, run, (size_t)(p - run))) != VT_OK)
      break;
    if (p >= end)
      break;
    uint32_t cp = 0;
    size_t n = vt_utf8_seq(p, (size_t)(end - p), &cp);
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
      /* C1 controls are parse errors in HTML and discouraged in XML. */
      if (*p < 0x20 || *p == 0x7f || n == 0 || (cp >= 0x80 && cp <= 0x9f))
        rep = "\xef\xbf\xbd";
    }
    if (rep) {
      st = vt_buf_add(b, rep, strlen(rep));
      p++;
    } else {
      st = vt_buf_add(b, p, n);
      p += n;
    }
  }
  return st;
}

double pr_trunc(double a, int decimals)
{
  double scale = pow(10, decimals);
  return floor(a * scale + 1e-6) / scale;
}

char *pr_pct(double availability, int decimals, char *out, size_t size)
{
  if (isnan(availability))
    snprintf(out, size, "no data");
  else
    snprintf(out, size, "%.*f %%", decimals,
             pr_trunc(availability, decimals + 2) * 100.0);
  return out;
}

char *pr_num(double v, char *out, size_t size)
{
  if (!isfinite(v))
    snprintf(out, size, "%s", "");
  else if (v == floor(v) && fabs(v) < 1e15)
    snprintf(out, size, "%.0f", v);
  else
    snprintf(out, size, "%.3f", v);
  return out;
}

char *pr_time(double t, enum pr_tfmt f, char *out, size_t size)
{
  struct tm tm;
  size_t n = 0;
  time_t tt = isfinite(t) ? (time_t)floor(t) : 0;
  if (isfinite(t) && gmtime_r(&tt, &tm)) {
    /* The formats are literals, so the compiler checks them. */
    switch (f) {
    case PR_T_ISO:
      n = strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
      break;
    case PR_T_HUMAN:
      n = strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
      break;
    case PR_T_DATE:
      n = strftime(out, size, "%Y-%m-%d", &tm);
      break;
    case PR_T_MONTH:
      n = strftime(out, size, "%B %Y", &tm);
      break;
    case PR_T_HMS:
      n = strftime(out, size, "%H:%M:%S", &tm);
      break;
    case PR_T_MDHMS:
      n = strftime(out, size, "%m-%d %H:%M:%S", &tm);
      break;
    }
  }
  if (n == 0 && size > 0)
    snprintf(out, size, "?");
  return out;
}

void pr_ivs_free(struct pr_ivs *a)
{
  free(a->v);
  *a = (struct pr_ivs){0};
}

enum vt_status pr_ivs_add(struct pr_ivs *a, double s, double e)
{
  if (!(e > s))
    return VT_OK;
  if (a->n && a->v[a->n - 1].e == s) {
    a->v[a->n - 1].e = e;
    return VT_OK;
  }
  struct pr_iv *v = vt_grow(a->v, &a->cap, a->n + 1, sizeof(*v));
  if (!v)
    return VT_ENOMEM;
  a->v = v;
  a->v[a->n++] = (struct pr_iv){s, e};
  return VT_OK;
}

static int pr_iv_cmp(const void *x, const void *y)
{
  const struct pr_iv *a = x, *b = y;
  if (a->s != b->s)
    return a->s < b->s ? -1 : 1;
  return a->e < b->e ? -1 : a->e > b->e;
}

void pr_ivs_norm(struct pr_ivs *a)
{
  if (a->n < 2)
    return;
  qsort(a->v, a->n, sizeof(*a->v), pr_iv_cmp);
  size_t k = 0;
  for (size_t i = 1; i < a->n; i++) {
    if (a->v[i].s <= a->v[k].e) {
      if (a->v[i].e > a->v[k].e)
        a->v[k].e = a->v[i].e;
    } else {
      a->v[++k] = a->v[i];
    }
  }
  a->n = k + 1;
}

enum vt_status pr_ivs_merge(struct pr_ivs *a, const struct pr_ivs *b)
{
  for (size_t i = 0; i < b->n; i++) {
    enum vt_status st = pr_ivs_add(a, b->v[i].s, b->v[i].e);
    if (st != VT_OK)
      return st;
  }
  pr_ivs_norm(a);
  return VT_OK;
}

enum vt_status pr_ivs_sub(const struct pr_ivs *a, const struct pr_ivs *b,
                          struct pr_ivs *out)
{
  out->n = 0;
  size_t j = 0;
  for (size_t i = 0; i < a->n; i++) {
    double s = a->v[i].s, e = a->v[i].e;
    while (j < b->n && b->v[j].e <= s)
      j++;
    for (size_t k = j; k < b->n && b->v[k].s < e; k++) {
      enum vt_status st = pr_ivs_add(out, s, b->v[k].s);
      if (st != VT_OK)
        return st;
      if (b->v[k].e > s)
        s = b->v[k].e;
    }
    enum vt_status st = pr_ivs_add(out, s, e);
    if (st != VT_OK)
      return st;
  }
  return VT_OK;
}

double pr_ivs_len(const struct pr_ivs *a)
{
  double sum = 0;
  for (size_t i = 0; i < a->n; i++)
    sum += a->v[i].e - a->v[i].s;
  return sum;
}

double pr_ivs_within(const struct pr_ivs *a, double s, double e)
{
  double sum = 0;
  for (size_t i = 0; i < a->n && a->v[i].s < e; i++) {
    double lo = a->v[i].s > s ? a->v[i].s : s;
    double hi = a->v[i].e < e ? a->v[i].e : e;
    if (hi > lo)
      sum += hi - lo;
  }
  return sum;
}
