/* SPDX-License-Identifier: MIT */
/* Unit tests for the result record and its JSON forms (full and compact). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "result.h"
#include "tap.h"
#include "vt_time.h"

int main(void)
{
  tap_plan(15);
  struct vt_result r;
  vt_result_init(&r);
  r.ts = 1700000000.25;
  strcpy(r.probe, "fra1");
  strcpy(r.target, "www");
  r.check = VT_CHECK_HTTP;
  strcpy(r.name, "health");
  strcpy(r.host, "www.example.test");
  strcpy(r.ip, "192.0.2.10");
  r.port = 443;
  vt_result_fail(&r, VT_ERR_HTTP_STATUS, "got %d, expected 200", 503);
  r.http_status = 503;
  r.ms_connect = 0.5;
  r.ms_total = 12.25;
  r.cert_days_left = 29;

  struct vt_buf b;
  vt_buf_init(&b, 0);
  tap_ok(vt_result_to_json(&r, false, &b) == VT_OK, "full form");
  const char *s = vt_buf_str(&b);
  tap_ok(strstr(s, "\"ts\":1700000000.250") != NULL, "fractional ts");
  tap_ok(strstr(s, "\"error\":\"http_status\"") != NULL, "error class");
  tap_ok(strstr(s, "\"ok\":false") != NULL, "ok false");
  tap_ok(strstr(s, "\"ms\":{\"dns\":null,\"connect\":0.500,\"tls\":null,"
                   "\"ttfb\":null,\"total\":12.250}") != NULL,
         "phases with nulls");
  tap_ok(strstr(s, "\"cert_days_left\":29") != NULL, "cert days");
  tap_ok(strstr(s, "\"resolver\"") == NULL, "no dns fields on http");

  vt_buf_reset(&b);
  tap_ok(vt_result_to_json(&r, true, &b) == VT_OK, "compact form");
  s = vt_buf_str(&b);
  tap_ok(strstr(s, "null") == NULL, "compact form has no nulls");
  tap_ok(strstr(s, "\"ms\":{\"connect\":0.500,\"total\":12.250}") != NULL,
         "compact phases");

  struct vt_result d;
  vt_result_init(&d);
  d.check = VT_CHECK_DNS;
  strcpy(d.resolver, "127.0.0.1:5353");
  d.rcode = 3;
  vt_result_fail(&d, VT_ERR_NXDOMAIN, NULL);
  vt_buf_reset(&b);
  tap_ok(vt_result_to_json(&d, false, &b) == VT_OK, "dns form");
  s = vt_buf_str(&b);
  tap_ok(strstr(s, "\"rcode\":\"NXDOMAIN\"") && strstr(s, "\"answers\":[]") &&
             strstr(s, "\"ttl\":null") && strstr(s, "\"ip\":null"),
         "dns fields");

  enum vt_err e;
  tap_ok(vt_err_parse("connect_refused", &e) && e == VT_ERR_CONNECT_REFUSED,
         "error names parse back");
  int named = 0;
  for (int i = 0; i < VT_ERR_COUNT; i++)
    named += strcmp(vt_err_name((enum vt_err)i), "?") != 0;
  tap_ok(named == VT_ERR_COUNT, "every error class has a name");
  char dur[32];
  tap_is_str(vt_time_fmt_duration(108, dur, sizeof(dur)), "1m48s",
             "duration format");
  vt_buf_cleanup(&b);
  return tap_done();
}
