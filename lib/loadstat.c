/* SPDX-License-Identifier: MIT */
/* Traffic counters from servers' status pages (see loadstat.h). Strict:
 * anything that is not the format is an error naming the line, because a
 * misconfigured URL (an HTML page, a login form) must not read as zero
 * traffic. */
#include "config.h"

#include "loadstat.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of the text: [p, p+n) without the line end. */
struct load_line {
  const char *p;
  size_t n;
  int no; /* 1-based */
};

struct load_cursor {
  const char *text, *end;
  int no;
};

/* The next line into *l (a trailing \r dropped); false at the end. */
static bool load_next_line(struct load_cursor *c, struct load_line *l)
{
  if (c->text >= c->end)
    return false;
  const char *nl = memchr(c->text, '\n', (size_t)(c->end - c->text));
  const char *e = nl ? nl : c->end;
  l->p = c->text;
  l->n = (size_t)(e - c->text);
  if (l->n && l->p[l->n - 1] == '\r')
    l->n--;
  l->no = ++c->no;
  c->text = nl ? nl + 1 : c->end;
  return true;
}

static void load_err(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void load_err(char *err, size_t size, const char *fmt, ...)
{
  if (!err || size == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, size, fmt, ap);
  va_end(ap);
}

/* The start of a line, printable, for messages (at most 40 bytes). */
static const char *load_snippet(const struct load_line *l, char out[48])
{
  size_t n = l->n < 40 ? l->n : 40, j = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)l->p[i];
    out[j++] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
  }
  if (l->n > 40) {
    out[j++] = '.';
    out[j++] = '.';
    out[j++] = '.';
  }
  out[j] = '\0';
  return out;
}

static bool load_is_space(char ch)
{
  return ch == ' ' || ch == '\t';
}

static void load_skip_space(const char **p, const char *e)
{
  while (*p < e && load_is_space(**p))
    (*p)++;
}

/* A non-negative decimal number ("123", "0.5", ".25") in [p, e); the
 * token ends at a space or e. Advances *p past it. */
static bool load_decimal(const char **p, const char *e, double *out)
{
  const char *s = *p;
  char buf[64];
  size_t n = 0;
  bool digit = false, dot = false;
  while (s < e && !load_is_space(*s)) {
    if (*s >= '0' && *s <= '9')
      digit = true;
    else if (*s == '.' && !dot)
      dot = true;
    else
      return false;
    if (n + 1 >= sizeof(buf))
      return false;
    buf[n++] = *s++;
  }
  if (!digit)
    return false;
  buf[n] = '\0';
  *out = strtod(buf, NULL);
  *p = s;
  return isfinite(*out);
}

static bool load_line_is(const struct load_line *l, const char *s)
{
  size_t n = strlen(s);
  return l->n >= n && memcmp(l->p, s, n) == 0;
}

/* ---- nginx stub_status ------------------------------------------------- */

static const char *const load_nginx_fields[] = {
    "active", "accepts", "handled", "requests", "reading", "writing", "waiting",
};
#define LOAD_NGINX_N 7

static int load_nginx_field(const char *f)
{
  if (!f)
    return 3; /* requests */
  for (int i = 0; i < LOAD_NGINX_N; i++)
    if (strcmp(f, load_nginx_fields[i]) == 0)
      return i;
  return -1;
}

static enum vt_status load_parse_nginx(const struct vt_load_spec *spec,
                                       struct load_cursor *c,
                                       struct vt_load_reading *out, char *err,
                                       size_t err_size)
{
  int want = load_nginx_field(spec->field);
  double v[LOAD_NGINX_N];
  int line_of[LOAD_NGINX_N] = {0};
  struct load_line l;
  char snip[48];
  bool counters_next = false;
  while (load_next_line(c, &l)) {
    const char *p = l.p, *e = l.p + l.n;
    if (counters_next) {
      counters_next = false;
      for (int i = 1; i <= 3; i++) {
        load_skip_space(&p, e);
        if (!load_decimal(&p, e, &v[i])) {
          load_err(err, err_size,
                   "line %d: expected 3 numbers after \"server accepts "
                   "handled requests\", got \"%s\"",
                   l.no, load_snippet(&l, snip));
          return VT_EINVAL;
        }
        line_of[i] = l.no;
      }
      load_skip_space(&p, e);
    } else if (load_line_is(&l, "Active connections:")) {
      p += strlen("Active connections:");
      load_skip_space(&p, e);
      if (!load_decimal(&p, e, &v[0])) {
        load_err(err, err_size,
                 "line %d: no number after \"Active "
                 "connections:\"",
                 l.no);
        return VT_EINVAL;
      }
      line_of[0] = l.no;
      load_skip_space(&p, e);
    } else if (load_line_is(&l, "server accepts handled requests")) {
      p += strlen("server accepts handled requests");
      load_skip_space(&p, e);
      counters_next = true;
    } else if (load_line_is(&l, "Reading:")) {
      static const char *const keys[] = {"Reading:", "Writing:", "Waiting:"};
      for (int i = 0; i < 3; i++) {
        load_skip_space(&p, e);
        size_t kn = strlen(keys[i]);
        double x;
        if ((size_t)(e - p) < kn || memcmp(p, keys[i], kn) != 0 ||
            (p += kn, load_skip_space(&p, e), !load_decimal(&p, e, &x))) {
          load_err(err, err_size,
                   "line %d: expected \"Reading: N Writing: "
                   "N Waiting: N\", got \"%s\"",
                   l.no, load_snippet(&l, snip));
          return VT_EINVAL;
        }
        v[4 + i] = x;
        line_of[4 + i] = l.no;
      }
      load_skip_space(&p, e);
    } else {
      load_skip_space(&p, e);
    }
    if (p != e) {
      load_err(err, err_size, "line %d: not nginx stub_status: \"%s\"", l.no,
               load_snippet(&l, snip));
      return VT_EINVAL;
    }
  }
  if (counters_next) {
    load_err(err, err_size, "line %d: the counters line is missing", c->no + 1);
    return VT_EINVAL;
  }
  if (!line_of[want]) {
    load_err(err, err_size, "no \"%s\" in %d lines of nginx stub_status",
             load_nginx_fields[want], c->no);
    return VT_ENOTFOUND;
  }
  out->value = v[want];
  out->line = line_of[want];
  out->kind = want >= 1 && want <= 3 ? VT_LOAD_COUNTER : VT_LOAD_GAUGE;
  return VT_OK;
}

/* ---- Apache server-status?auto ----------------------------------------- */

static enum vt_status load_parse_apache(const struct vt_load_spec *spec,
                                        struct load_cursor *c,
                                        struct vt_load_reading *out, char *err,
                                        size_t err_size)
{
  const char *field = spec->field ? spec->field : "Total Accesses";
  size_t fn = strlen(field);
  struct load_line l;
  char snip[48];
  int found = 0;
  while (load_next_line(c, &l)) {
    const char *colon = memchr(l.p, ':', l.n);
    if (!colon) {
      /* 2.4 starts with the server's name; blank lines are harmless. */
      if (l.no == 1 || l.n == 0)
        continue;
      load_err(err, err_size,
               "line %d: not \"Key: value\" of Apache "
               "server-status?auto: \"%s\"",
               l.no, load_snippet(&l, snip));
      return VT_EINVAL;
    }
    if (found || (size_t)(colon - l.p) != fn || memcmp(l.p, field, fn) != 0)
      continue;
    const char *p = colon + 1, *e = l.p + l.n;
    load_skip_space(&p, e);
    double x;
    if (!load_decimal(&p, e, &x) || (load_skip_space(&p, e), p != e)) {
      load_err(err, err_size, "line %d: \"%s\" is not a number: \"%s\"", l.no,
               field, load_snippet(&l, snip));
      return VT_EINVAL;
    }
    out->value = x;
    out->line = found = l.no;
  }
  if (!found) {
    load_err(err, err_size,
             "no \"%s:\" in %d lines of Apache "
             "server-status?auto",
             field, c->no);
    return VT_ENOTFOUND;
  }
  out->kind =
      strncmp(field, "Total ", 6) == 0 ? VT_LOAD_COUNTER : VT_LOAD_GAUGE;
  return VT_OK;
}

/* ---- Prometheus text format -------------------------------------------- */

static bool load_name_start(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
         ch == ':';
}

static bool load_name_char(char ch)
{
  return load_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* A metric (colons allowed) or label name at *p; advances past it. */
static bool load_name(const char **p, const char *e, bool metric)
{
  const char *s = *p;
  if (s >= e || !load_name_start(*s) || (!metric && *s == ':'))
    return false;
  while (s < e && load_name_char(*s) && (metric || *s != ':'))
    s++;
  *p = s;
  return true;
}

/* Whether the spec's label "k=v" (kn bytes of key) is the label [k, k+ln)
 * with the quoted value [q, qe) (escapes \\ \" \n). */
static bool load_label_eq(const char *want, const char *k, size_t kn,
                          const char *q, const char *qe)
{
  const char *eq = strchr(want, '=');
  if (!eq || (size_t)(eq - want) != kn || memcmp(want, k, kn) != 0)
    return false;
  const char *w = eq + 1;
  while (q < qe) {
    char ch = *q++;
    if (ch == '\\' && q < qe) {
      ch = *q++;
      if (ch == 'n')
        ch = '\n';
    }
    if (*w++ != ch)
      return false;
  }
  return *w == '\0';
}

/* Parses the label set at *p ('{' already consumed) up to its '}';
 * counts in *matched the spec labels the series carries. */
static bool load_labels(const char **p, const char *e,
                        const struct vt_load_spec *spec, bool *matched)
{
  const char *s = *p;
  size_t hits = 0;
  for (;;) {
    load_skip_space(&s, e);
    if (s < e && *s == '}')
      break;
    const char *k = s;
    if (!load_name(&s, e, false))
      return false;
    size_t kn = (size_t)(s - k);
    load_skip_space(&s, e);
    if (s >= e || *s++ != '=')
      return false;
    load_skip_space(&s, e);
    if (s >= e || *s++ != '"')
      return false;
    const char *q = s;
    while (s < e && *s != '"') {
      if (*s == '\\') {
        if (++s >= e || (*s != '\\' && *s != '"' && *s != 'n'))
          return false;
      }
      s++;
    }
    if (s >= e)
      return false;
    const char *qe = s++;
    for (size_t i = 0; i < spec->n_labels; i++)
      hits += load_label_eq(spec->labels[i], k, kn, q, qe);
    load_skip_space(&s, e);
    if (s < e && *s == ',') {
      s++;
      continue;
    }
    if (s < e && *s == '}')
      break;
    return false;
  }
  *p = s + 1;
  *matched = hits == spec->n_labels;
  return true;
}

/* A sample value: a float, "NaN", "+Inf" or "-Inf". */
static bool load_prom_value(const char **p, const char *e, double *out)
{
  const char *s = *p;
  char buf[64];
  size_t n = 0;
  while (s < e && !load_is_space(*s)) {
    if (n + 1 >= sizeof(buf))
      return false;
    buf[n++] = *s++;
  }
  buf[n] = '\0';
  if (n == 0)
    return false;
  if (strcmp(buf, "NaN") == 0)
    *out = NAN;
  else if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0)
    *out = INFINITY;
  else if (strcmp(buf, "-Inf") == 0)
    *out = -INFINITY;
  else {
    /* strtod would also take "nan", "infinity" and hex: refuse those. */
    for (size_t i = 0; i < n; i++)
      if (!strchr("0123456789+-.eE", buf[i]))
        return false;
    char *end;
    *out = strtod(buf, &end);
    if (*end)
      return false;
  }
  *p = s;
  return true;
}

/* An optional timestamp: an integer in milliseconds. */
static bool load_prom_ts(const char **p, const char *e)
{
  const char *s = *p;
  if (s < e && *s == '-')
    s++;
  const char *d = s;
  while (s < e && *s >= '0' && *s <= '9')
    s++;
  if (s == d)
    return false;
  *p = s;
  return true;
}

/* "# TYPE name type": sets *kind when name is the spec's metric. */
static void load_prom_comment(const struct load_line *l, const char *metric,
                              enum vt_load_kind *kind)
{
  static const char type[] = "# TYPE ";
  size_t mn = strlen(metric), tn = sizeof(type) - 1;
  if (l->n < tn + mn + 1 || memcmp(l->p, type, tn) != 0 ||
      memcmp(l->p + tn, metric, mn) != 0 || !load_is_space(l->p[tn + mn]))
    return;
  const char *p = l->p + tn + mn, *e = l->p + l->n;
  load_skip_space(&p, e);
  size_t n = (size_t)(e - p);
  if (n == 7 && memcmp(p, "counter", 7) == 0)
    *kind = VT_LOAD_COUNTER;
  else if (n == 5 && memcmp(p, "gauge", 5) == 0)
    *kind = VT_LOAD_GAUGE;
}

static enum vt_status load_parse_prom(const struct vt_load_spec *spec,
                                      struct load_cursor *c,
                                      struct vt_load_reading *out, char *err,
                                      size_t err_size)
{
  const char *metric = spec->field;
  size_t mn = strlen(metric);
  enum vt_load_kind typed = VT_LOAD_AUTO;
  double sum = 0;
  int first = 0;
  struct load_line l;
  char snip[48];
  while (load_next_line(c, &l)) {
    const char *p = l.p, *e = l.p + l.n;
    load_skip_space(&p, e);
    if (p == e)
      continue;
    if (*p == '#') {
      load_prom_comment(&l, metric, &typed);
      continue;
    }
    const char *name = p;
    bool matched = spec->n_labels == 0;
    if (!load_name(&p, e, true))
      goto bad;
    bool ours = (size_t)(p - name) == mn && memcmp(name, metric, mn) == 0;
    if (p < e && *p == '{') {
      p++;
      if (!load_labels(&p, e, spec, &matched))
        goto bad;
    }
    if (p == e || !load_is_space(*p))
      goto bad;
    load_skip_space(&p, e);
    double v;
    if (!load_prom_value(&p, e, &v))
      goto bad;
    load_skip_space(&p, e);
    if (p < e && !load_prom_ts(&p, e))
      goto bad;
    load_skip_space(&p, e);
    if (p != e)
      goto bad;
    if (!ours || !matched)
      continue;
    if (!isfinite(v)) {
      load_err(err, err_size, "line %d: %s is %s", l.no, metric,
               isnan(v) ? "NaN"
               : v > 0  ? "+Inf"
                        : "-Inf");
      return VT_EINVAL;
    }
    sum += v;
    if (!first)
      first = l.no;
    continue;
  bad:
    load_err(err, err_size, "line %d: not a Prometheus text sample: \"%s\"",
             l.no, load_snippet(&l, snip));
    return VT_EINVAL;
  }
  if (!first) {
    load_err(err, err_size, "no series %s%s in %d lines", metric,
             spec->n_labels ? " with the given labels" : "", c->no);
    return VT_ENOTFOUND;
  }
  if (typed == VT_LOAD_AUTO)
    typed = mn > 6 && strcmp(metric + mn - 6, "_total") == 0 ? VT_LOAD_COUNTER
                                                             : VT_LOAD_GAUGE;
  out->value = sum;
  out->kind = typed;
  out->line = first;
  return VT_OK;
}

/* ---- common ------------------------------------------------------------ */

bool vt_load_spec_valid(const struct vt_load_spec *spec, char *err,
                        size_t err_size)
{
  switch (spec->format) {
  case VT_LOAD_NGINX:
    if (load_nginx_field(spec->field) < 0) {
      load_err(err, err_size,
               "unknown nginx field \"%s\" (requests, accepts, "
               "handled, active, reading, writing, waiting)",
               spec->field);
      return false;
    }
    break;
  case VT_LOAD_APACHE:
    if (spec->field && (!*spec->field || strchr(spec->field, ':') ||
                        strchr(spec->field, '\n'))) {
      load_err(err, err_size, "\"%s\" is not a key of server-status?auto",
               spec->field);
      return false;
    }
    break;
  case VT_LOAD_PROM: {
    const char *p = spec->field;
    if (!p) {
      load_err(err, err_size,
               "the prometheus format needs the metric's "
               "name in field");
      return false;
    }
    if (!load_name(&p, p + strlen(p), true) || *p) {
      load_err(err, err_size, "\"%s\" is not a Prometheus metric name",
               spec->field ? spec->field : "");
      return false;
    }
    break;
  }
  }
  if (spec->n_labels && spec->format != VT_LOAD_PROM) {
    load_err(err, err_size, "labels apply to the prometheus format only");
    return false;
  }
  for (size_t i = 0; i < spec->n_labels; i++) {
    const char *p = spec->labels[i], *eq = strchr(p, '=');
    if (!eq || !load_name(&p, eq, false) || p != eq) {
      load_err(err, err_size, "label \"%s\" is not name=value",
               spec->labels[i]);
      return false;
    }
  }
  return true;
}

enum vt_status vt_load_parse(const struct vt_load_spec *spec, const char *text,
                             size_t len, struct vt_load_reading *out, char *err,
                             size_t err_size)
{
  if (err && err_size)
    err[0] = '\0';
  if (!vt_load_spec_valid(spec, err, err_size))
    return VT_EINVAL;
  /* Long lines and NUL bytes first, so the parsers see plain text. */
  struct load_cursor c = {.text = text, .end = text + len};
  struct load_line l;
  while (load_next_line(&c, &l)) {
    if (l.n > VT_LOAD_LINE_MAX) {
      load_err(err, err_size, "line %d: longer than %d bytes", l.no,
               VT_LOAD_LINE_MAX);
      return VT_EINVAL;
    }
    if (memchr(l.p, '\0', l.n)) {
      load_err(err, err_size, "line %d: a NUL byte", l.no);
      return VT_EINVAL;
    }
  }
  if (len == 0) {
    load_err(err, err_size, "empty body");
    return VT_EINVAL;
  }
  c = (struct load_cursor){.text = text, .end = text + len};
  enum vt_status st = VT_EINVAL;
  switch (spec->format) {
  case VT_LOAD_NGINX:
    st = load_parse_nginx(spec, &c, out, err, err_size);
    break;
  case VT_LOAD_APACHE:
    st = load_parse_apache(spec, &c, out, err, err_size);
    break;
  case VT_LOAD_PROM:
    st = load_parse_prom(spec, &c, out, err, err_size);
    break;
  }
  if (st != VT_OK)
    return st;
  if (spec->kind != VT_LOAD_AUTO)
    out->kind = spec->kind;
  /* Traffic is never negative; the wire and the RRD files take >= 0. */
  if (out->value < 0) {
    load_err(err, err_size, "line %d: %s is negative (%g)", out->line,
             out->kind == VT_LOAD_COUNTER ? "counter" : "gauge", out->value);
    return VT_EINVAL;
  }
  return VT_OK;
}

static const char *const load_format_names[] = {
    [VT_LOAD_NGINX] = "nginx",
    [VT_LOAD_APACHE] = "apache",
    [VT_LOAD_PROM] = "prometheus",
};

static const char *const load_kind_names[] = {
    [VT_LOAD_AUTO] = "auto",
    [VT_LOAD_COUNTER] = "counter",
    [VT_LOAD_GAUGE] = "gauge",
};

const char *vt_load_format_name(enum vt_load_format f)
{
  return (unsigned)f < 3 ? load_format_names[f] : "?";
}

bool vt_load_format_parse(const char *s, enum vt_load_format *out)
{
  for (int i = 0; i < 3; i++)
    if (strcmp(s, load_format_names[i]) == 0) {
      *out = (enum vt_load_format)i;
      return true;
    }
  return false;
}

const char *vt_load_kind_name(enum vt_load_kind k)
{
  return (unsigned)k < 3 ? load_kind_names[k] : "?";
}

bool vt_load_kind_parse(const char *s, enum vt_load_kind *out)
{
  for (int i = 0; i < 3; i++)
    if (strcmp(s, load_kind_names[i]) == 0) {
      *out = (enum vt_load_kind)i;
      return true;
    }
  return false;
}

double vt_load_rate_next(struct vt_load_rate *st,
                         const struct vt_load_reading *rd, double ts,
                         bool *reset)
{
  if (reset)
    *reset = false;
  if (rd->kind == VT_LOAD_GAUGE) {
    st->have = false;
    return rd->value;
  }
  double rate = NAN;
  if (st->have && ts > st->ts) {
    double elapsed = ts - st->ts;
    if (rd->value >= st->value) {
      rate = (rd->value - st->value) / elapsed;
    } else {
      rate = rd->value / elapsed;
      if (reset)
        *reset = true;
    }
  } else if (st->have && ts <= st->ts) {
    return NAN; /* time did not move: keep the older sample */
  }
  st->have = true;
  st->value = rd->value;
  st->ts = ts;
  return rate;
}
