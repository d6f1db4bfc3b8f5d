/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): presentation rules of the status page:
 * the output buffer, escaping, times and numbers, time spans. */
#include "config.h"

#include "status_page_int.h"

/* ---- output buffer with a sticky error ------------------------------- */

void status_page_put(struct status_page_out *o, const char *fmt, ...)
{
  if (o->st != VT_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  o->st = vt_buf_vaddf(&o->b, fmt, ap);
  va_end(ap);
}

void status_page_raw(struct status_page_out *o, const char *s,
                     size_t len)
{
  if (o->st == VT_OK)
    o->st = vt_buf_add(&o->b, s, len);
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is invalid,
 * overlong, a surrogate or a C1 control (all parse errors in HTML). */
static size_t status_page_utf8_len(const unsigned char *p)
{
  if (p[0] < 0x80)
    return 1;
  size_t n;
  unsigned cp, min;
  if ((p[0] & 0xe0) == 0xc0) {
    n = 2, cp = p[0] & 0x1fu, min = 0x80;
  } else if ((p[0] & 0xf0) == 0xe0) {
    n = 3, cp = p[0] & 0x0fu, min = 0x800;
  } else if ((p[0] & 0xf8) == 0xf0) {
    n = 4, cp = p[0] & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
      return 0;
    cp = cp << 6 | (p[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
      (cp >= 0x80 && cp <= 0x9f))
    return 0;
  return n;
}

/* Appends len bytes of s escaped for HTML text and quoted attributes.
 * Every string that comes from data (names, reasons, announcement text)
 * goes through here; bytes that are not valid UTF-8 and control characters
 * become U+FFFD so the page stays valid. */
void status_page_escn(struct status_page_out *o, const char *s,
                      size_t len)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end && o->st == VT_OK) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p < 0x7f && *p != '&' && *p != '<' &&
           *p != '>' && *p != '"' && *p != '\'')
      p++;
    status_page_raw(o, (const char *)run, (size_t)(p - run));
    if (p >= end)
      break;
    size_t n = status_page_utf8_len(p);
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
      if (*p < 0x20 || *p == 0x7f || n == 0 || p + n > end)
        rep = "\xef\xbf\xbd";
    }
    if (rep) {
      status_page_raw(o, rep, strlen(rep));
      p++;
    } else {
      status_page_raw(o, (const char *)p, n);
      p += n;
    }
  }
}

void status_page_esc(struct status_page_out *o, const char *s)
{
  status_page_escn(o, s, strlen(s));
}

/* Free text (announcements): paragraphs at blank lines, <br> at single
 * line breaks, everything else escaped. */
void status_page_esc_text(struct status_page_out *o, const char *s)
{
  status_page_put(o, "<p>");
  while (*s) {
    size_t n = strcspn(s, "\n");
    status_page_escn(o, s, n);
    s += n;
    size_t breaks = 0;
    while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
      breaks += *s++ == '\n';
    if (*s && breaks == 1)
      status_page_put(o, "<br>\n");
    else if (*s && breaks > 1)
      status_page_put(o, "</p>\n<p>");
  }
  status_page_put(o, "</p>\n");
}

/* ---- times and numbers --------------------------------------------------- */


/* Formats t (UTC); "?" if it does not fit. The formats are literals so
 * the compiler checks them. */
char *status_page_fmt_time(double t, enum status_page_tfmt f, char *out,
                           size_t size)
{
  time_t tt = (time_t)floor(t);
  struct tm tm;
  size_t n = 0;
  if (gmtime_r(&tt, &tm)) {
    switch (f) {
    case STATUS_PAGE_T_ISO:
      n = strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
      break;
    case STATUS_PAGE_T_HUMAN:
      n = strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
      break;
    case STATUS_PAGE_T_DATE:
      n = strftime(out, size, "%Y-%m-%d", &tm);
      break;
    case STATUS_PAGE_T_MONTH:
      n = strftime(out, size, "%B %Y", &tm);
      break;
    }
  }
  if (n == 0)
    snprintf(out, size, "?");
  return out;
}

/* <time datetime="2026-11-21T10:02:13Z">2026-11-21 10:02 UTC</time> */
void status_page_time(struct status_page_out *o, double t)
{
  char iso[32], human[32];
  status_page_fmt_time(t, STATUS_PAGE_T_ISO, iso, sizeof(iso));
  status_page_fmt_time(t, STATUS_PAGE_T_HUMAN, human, sizeof(human));
  status_page_put(o, "<time datetime=\"%s\">%s</time>", iso, human);
}

/* Truncated, not rounded, to d decimals (as the report does): 0.9999996
 * must not read 1.000000. The small bias absorbs binary representation
 * error (0.999 * 1000 is 998.9999...). */
double status_page_trunc(double a, int d)
{
  double scale = pow(10, d);
  return floor(a * scale + 1e-6) / scale;
}

/* "99.95 %" with d decimals, truncated like the report's figures so that
 * a day with any downtime never reads 100.00 %; "no data" for NAN. */
char *status_page_pct(double availability, int d, char *out, size_t size)
{
  if (isnan(availability))
    snprintf(out, size, "no data");
  else
    snprintf(out, size, "%.*f %%", d,
             status_page_trunc(availability, d + 2) * 100.0);
  return out;
}

/* Start of the UTC month containing t, moved by delta months. */
double status_page_month(double t, int delta)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon += delta;
  return (double)timegm(&tm);
}

/* ---- time spans ---------------------------------------------------------- */

void status_page_spans_free(struct status_page_spans *s)
{
  free(s->v);
  *s = (struct status_page_spans){0};
}

enum vt_status status_page_spans_add(struct status_page_spans *s,
                                     double start, double end)
{
  if (!(end > start))
    return VT_OK;
  if (s->n == s->alloc) {
    size_t na = s->alloc ? 2 * s->alloc : 16;
    struct status_page_span *nv = realloc(s->v, na * sizeof(*nv));
    if (!nv)
      return VT_ENOMEM;
    s->v = nv;
    s->alloc = na;
  }
  s->v[s->n++] = (struct status_page_span){start, end};
  return VT_OK;
}

static int status_page_span_cmp(const void *a, const void *b)
{
  const struct status_page_span *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

/* Sorts and joins overlapping spans, so lengths can be summed. */
void status_page_spans_merge(struct status_page_spans *s)
{
  if (s->n < 2)
    return;
  qsort(s->v, s->n, sizeof(*s->v), status_page_span_cmp);
  size_t w = 0;
  for (size_t i = 1; i < s->n; i++) {
    if (s->v[i].start <= s->v[w].end) {
      if (s->v[i].end > s->v[w].end)
        s->v[w].end = s->v[i].end;
    } else {
      s->v[++w] = s->v[i];
    }
  }
  s->n = w + 1;
}

/* out = a minus b (both merged); out comes out merged. */
enum vt_status status_page_spans_sub(const struct status_page_spans *a,
                                     const struct status_page_spans *b,
                                     struct status_page_spans *out)
{
  size_t j = 0;
  for (size_t i = 0; i < a->n; i++) {
    double cur = a->v[i].start, end = a->v[i].end;
    while (j < b->n && b->v[j].end <= cur)
      j++;
    for (size_t k = j; k < b->n && b->v[k].start < end; k++) {
      if (b->v[k].start > cur &&
          status_page_spans_add(out, cur, b->v[k].start) != VT_OK)
        return VT_ENOMEM;
      if (b->v[k].end > cur)
        cur = b->v[k].end;
    }
    if (status_page_spans_add(out, cur, end) != VT_OK)
      return VT_ENOMEM;
  }
  return VT_OK;
}

/* Seconds of the (merged) spans within [from, to). */
double status_page_spans_within(const struct status_page_spans *s,
                                double from, double to)
{
  double sum = 0;
  for (size_t i = 0; i < s->n && s->v[i].start < to; i++) {
    double a = fmax(s->v[i].start, from), b = fmin(s->v[i].end, to);
    if (b > a)
      sum += b - a;
  }
  return sum;
}
