/* SPDX-License-Identifier: MIT */
/* The check result record and its JSON form (see result.h). */
#include "config.h"

#include "result.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const check_names[] = {
    [VT_CHECK_DNS] = "dns",   [VT_CHECK_TCP] = "tcp",
    [VT_CHECK_HTTP] = "http", [VT_CHECK_CLIENT] = "client",
    [VT_CHECK_LOAD] = "load",
};

static const char *const err_names[VT_ERR_COUNT] = {
    [VT_ERR_NONE] = "none",
    [VT_ERR_NXDOMAIN] = "nxdomain",
    [VT_ERR_SERVFAIL] = "servfail",
    [VT_ERR_REFUSED] = "refused",
    [VT_ERR_DNS_TIMEOUT] = "dns_timeout",
    [VT_ERR_NO_ANSWER] = "no_answer",
    [VT_ERR_DNS_ERROR] = "dns_error",
    [VT_ERR_DNS_UNEXPECTED] = "dns_unexpected",
    [VT_ERR_NO_ADDRESS] = "no_address",
    [VT_ERR_CONNECT_REFUSED] = "connect_refused",
    [VT_ERR_CONNECT_TIMEOUT] = "connect_timeout",
    [VT_ERR_UNREACHABLE] = "unreachable",
    [VT_ERR_TLS] = "tls",
    [VT_ERR_TIMEOUT] = "timeout",
    [VT_ERR_NETWORK] = "network",
    [VT_ERR_HTTP] = "http",
    [VT_ERR_HTTP_STATUS] = "http_status",
    [VT_ERR_BODY_MISMATCH] = "body_mismatch",
    [VT_ERR_TOO_LARGE] = "too_large",
    [VT_ERR_INTERNAL] = "internal",
};

/* Every value of the 4-bit header rcode has a name, so any answer can be
 * recorded and sent (RFC 6895 registry; 12-15 are unassigned). */
static const char *const rcode_names[16] = {
    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
    "RCODE12",  "RCODE13", "RCODE14",  "RCODE15",
};

void vt_result_init(struct vt_result *r)
{
  *r = (struct vt_result){
      .ms_dns = NAN,
      .ms_connect = NAN,
      .ms_tls = NAN,
      .ms_ttfb = NAN,
      .ms_total = NAN,
      .rcode = -1,
      .answers = NULL, /* none: n_answers 0 */
      .ttl = -1,
      .cert_days_left = VT_NO_CERT_DAYS,
      .body_bytes = -1,
      .load = NAN,
      .load_value = NAN,
  };
}

void vt_result_fail(struct vt_result *r, enum vt_err err, const char *fmt, ...)
{
  r->ok = false;
  r->error = err;
  if (!fmt) {
    r->detail[0] = '\0';
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
  va_end(ap);
}

const char *vt_check_type_name(enum vt_check_type t)
{
  if ((unsigned)t < sizeof(check_names) / sizeof(check_names[0]))
    return check_names[t];
  return "?";
}

const char *vt_err_name(enum vt_err e)
{
  if ((unsigned)e < VT_ERR_COUNT && err_names[e])
    return err_names[e];
  return "?";
}

bool vt_check_type_parse(const char *s, enum vt_check_type *out)
{
  for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++) {
    if (strcmp(s, check_names[i]) == 0) {
      *out = (enum vt_check_type)i;
      return true;
    }
  }
  return false;
}

bool vt_err_parse(const char *s, enum vt_err *out)
{
  for (size_t i = 0; i < VT_ERR_COUNT; i++) {
    if (strcmp(s, err_names[i]) == 0) {
      *out = (enum vt_err)i;
      return true;
    }
  }
  return false;
}

const char *vt_rcode_name(int rcode)
{
  if (rcode < 0)
    return NULL;
  if ((size_t)rcode < sizeof(rcode_names) / sizeof(rcode_names[0]))
    return rcode_names[rcode];
  return "RCODE?";
}

/* Appends ,"key": — the caller writes the value. */
static enum vt_status key(struct vt_buf *b, const char *k)
{
  enum vt_status st = vt_buf_add(b, ",\"", 2);
  if (!st)
    st = vt_buf_adds(b, k);
  return st ? st : vt_buf_add(b, "\":", 2);
}

static enum vt_status str_field(struct vt_buf *b, bool compact, const char *k,
                                const char *v)
{
  bool empty = !v || !*v;
  if (compact && empty)
    return VT_OK;
  enum vt_status st = key(b, k);
  return st ? st : vt_json_str(b, empty ? NULL : v);
}

static enum vt_status num_field(struct vt_buf *b, bool compact, const char *k,
                                double v, bool present)
{
  if (compact && !present)
    return VT_OK;
  enum vt_status st = key(b, k);
  return st ? st : vt_json_num(b, present ? v : NAN, 3);
}

enum vt_status vt_result_to_json(const struct vt_result *r, bool compact,
                                 struct vt_buf *out)
{
  enum vt_status st = vt_buf_adds(out, "{\"ts\":");
  if (!st)
    st = vt_json_fixed(out, r->ts, 3);
  if (!st)
    st = str_field(out, false, "probe", r->probe);
  if (!st)
    st = str_field(out, false, "target", r->target);
  if (!st)
    st = str_field(out, false, "check", vt_check_type_name(r->check));
  if (!st)
    st = str_field(out, false, "name", r->name);
  if (!st)
    st = str_field(out, false, "host", r->host);
  if (!st)
    st = str_field(out, compact, "ip", r->ip);
  if (!st)
    st = num_field(out, compact, "port", r->port, r->port > 0);
  if (!st)
    st = vt_buf_adds(out, r->ok ? ",\"ok\":true" : ",\"ok\":false");
  if (!st)
    st = str_field(out, compact, "error",
                   r->error == VT_ERR_NONE ? NULL : vt_err_name(r->error));
  if (!st)
    st = str_field(out, compact, "detail", r->detail);
  if (!st)
    st = num_field(out, compact, "http_status", r->http_status,
                   r->http_status > 0);

  const struct {
    const char *k;
    double v;
  } ms[] = {{"dns", r->ms_dns},
            {"connect", r->ms_connect},
            {"tls", r->ms_tls},
            {"ttfb", r->ms_ttfb},
            {"total", r->ms_total}};
  bool any_ms = false;
  for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
    any_ms |= isfinite(ms[i].v);
  if (!st && (!compact || any_ms)) {
    st = vt_buf_adds(out, ",\"ms\":{");
    bool first = true;
    for (size_t i = 0; !st && i < sizeof(ms) / sizeof(ms[0]); i++) {
      if (compact && !isfinite(ms[i].v))
        continue;
      st = vt_buf_adds(out, first ? "\"" : ",\"");
      if (!st)
        st = vt_buf_adds(out, ms[i].k);
      if (!st)
        st = vt_buf_add(out, "\":", 2);
      if (!st)
        st = vt_json_num(out, ms[i].v, 3);
      first = false;
    }
    if (!st)
      st = vt_buf_adds(out, "}");
  }

  if (r->check == VT_CHECK_DNS) {
    if (!st)
      st = str_field(out, compact, "resolver", r->resolver);
    if (!st)
      st = str_field(out, compact, "rcode", vt_rcode_name(r->rcode));
    int n = r->answers ? r->n_answers : 0; /* NULL = none */
    if (!st && (!compact || n > 0)) {
      st = vt_buf_adds(out, ",\"answers\":[");
      for (int i = 0; !st && i < n; i++) {
        if (i)
          st = vt_buf_adds(out, ",");
        if (!st)
          st = vt_json_str(out, r->answers[i]);
      }
      if (!st)
        st = vt_buf_adds(out, "]");
    }
    if (!st)
      st = num_field(out, compact, "ttl", (double)r->ttl, r->ttl >= 0);
    if (!st && (!compact || r->incomplete))
      st = vt_buf_adds(out, r->incomplete ? ",\"incomplete\":true"
                                          : ",\"incomplete\":false");
  }
  /* A certificate "valid until 9999-12-31" (RFC 5280's no-expiry date) is
   * millions of days away; the wire format bounds the field. */
  int days = r->cert_days_left;
  if (days != VT_NO_CERT_DAYS)
    days = days > 99999 ? 99999 : days < -99999 ? -99999 : days;
  if (!st)
    st = num_field(out, compact, "cert_days_left", days,
                   r->cert_days_left != VT_NO_CERT_DAYS);
  if (!st && r->body_bytes >= 0)
    st = num_field(out, compact, "body_bytes", (double)r->body_bytes, true);
  if (!st && r->retired)
    st = vt_buf_adds(out, ",\"retired\":true");
  if (r->check == VT_CHECK_LOAD) {
    if (!st)
      st = num_field(out, compact, "load", r->load, isfinite(r->load));
    if (!st)
      st = num_field(out, compact, "load_value", r->load_value,
                     isfinite(r->load_value));
    if (!st && (!compact || r->load_reset))
      st = vt_buf_adds(out, r->load_reset ? ",\"load_reset\":true"
                                          : ",\"load_reset\":false");
  }
  if (!st)
    st = vt_buf_adds(out, "}");
  return st;
}
