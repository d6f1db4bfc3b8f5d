/* SPDX-License-Identifier: MIT */
/* Unit tests for the report writers (report_write) on a report built by
 * hand: how figures are rounded (truncated, never up), "no data", JSON
 * null, RFC 4180 quoting and HTML escaping. The figures themselves are
 * tested end to end against the collector in tests/graph_report.sh. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tap.h"

#define T0 1795219200.0 /* 2026-11-21T00:00:00Z */

/* Writes r in f into a new string (caller frees). */
static char *render(const struct report *r, enum report_format f,
                    enum vt_status *st)
{
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out)
    return NULL;
  *st = report_write(r, f, out);
  fclose(out);
  return text;
}

static bool has(const char *text, const char *needle)
{
  bool found = text && strstr(text, needle);
  if (!found)
    printf("#   missing: %s\n", needle);
  return found;
}

int main(void)
{
  struct report_addr addrs[] = {
      {.ip = "192.0.2.1",
       .availability = 0.99962,
       .down_s = 108,
       .measured_s = 284210.5,
       .n_outages = 1},
      /* Just under 100 %: must not show as 100.000 %. */
      {.ip = "2001:db8::1", .availability = 0.9999996, .measured_s = 1e6},
      {.ip = "192.0.2.9", .availability = NAN, .nodata_s = 86400},
  };
  struct report_probe probes[] = {
      {.probe = "fra1", .availability = 1, .measured_s = 86400},
  };
  struct gr_outage outages[] = {
      {.scope = "address",
       .kind = "outage",
       .target = "www",
       .ip = "192.0.2.1",
       .start = T0 + 600,
       .end = T0 + 708,
       .probes = "fra1,nyc1",
       .seen_by = 2,
       .of_probes = 3},
      {.scope = "host",
       .kind = "outage",
       .state = "down",
       .target = "www",
       .start = T0 + 4000,
       .end = NAN, /* still open */
       .probes = "fra1",
       .seen_by = 1,
       .of_probes = 3},
  };
  struct gr_maint maint[] = {
      {.target = "www",
       .start = T0 + 1800,
       .end = T0 + 2100,
       .reason = "<script>alert(\"x\")</script> & co"},
  };
  struct report_target targets[] = {
      {.target = "www",
       .availability = 0.99962,
       .down_s = 108,
       .maint_s = 300,
       .measured_s = 284210.5,
       .mttr_s = 108,
       .longest_s = 108,
       .addrs = addrs,
       .n_addrs = 3,
       .probes = probes,
       .n_probes = 1,
       .outages = outages,
       .n_outages = 2,
       .maint = maint,
       .n_maint = 1},
      {.target = "a,\"b\"",
       .availability = NAN,
       .mttr_s = NAN,
       .longest_s = NAN,
       .nodata_s = 86400},
  };
  struct report r = {
      .start = T0, .end = T0 + 86400, .targets = targets, .n = 2};

  tap_plan(20);
  enum vt_status st = VT_EINVAL;
  char *text = render(&r, REPORT_TEXT, &st);
  tap_ok(st == VT_OK, "text written");
  tap_ok(has(text, "99.962 %") && has(text, "1m48s (108 s)"),
         "text: percentage with 3 decimals, duration and seconds");
  const char *v6 = text ? strstr(text, "2001:db8::1") : NULL;
  tap_ok(v6 && strncmp(v6 + strcspn(v6, "9"), "99.999 %", 8) == 0,
         "text: 99.99996 %% is truncated, not rounded up to 100.000 %%");
  tap_ok(has(text, "no data"), "text: no availability is \"no data\"");
  tap_ok(has(text, "fra1,nyc1 (seen by 2 of 3)"), "text: seen by 2 of 3");
  tap_ok(has(text, "(ongoing)") && has(text, "host down"),
         "text: an open host row is ongoing");
  tap_ok(has(text, "284210.500 s"), "text: fractional seconds kept");
  free(text);

  text = render(&r, REPORT_JSON, &st);
  tap_ok(st == VT_OK, "json written");
  tap_ok(has(text, "\"ip\":\"192.0.2.1\",\"availability\":0.999620,"),
         "json: availability as a fraction with 6 decimals");
  tap_ok(has(text, "\"availability\":0.999999,"),
         "json: truncated at 6 decimals");
  tap_ok(has(text, "\"ip\":\"192.0.2.9\",\"availability\":null,"),
         "json: no data is null");
  tap_ok(has(text, "\"end\":null,\"end_utc\":null,\"open\":true"),
         "json: an open row has no end");
  tap_ok(has(text, "\"probes\":[\"fra1\",\"nyc1\"]"), "json: probes listed");
  tap_ok(has(text, "\"target\":\"a,\\\"b\\\"\""), "json: names escaped");
  free(text);

  text = render(&r, REPORT_CSV, &st);
  tap_ok(st == VT_OK && has(text, "scope,target,address,probe,"),
         "csv written with a header row");
  tap_ok(has(text, "\r\ntarget,\"a,\"\"b\"\"\",,,"),
         "csv: RFC 4180 quoting, CRLF line ends");
  tap_ok(has(text, "address,www,192.0.2.9,,2026-11-21T00:00:00Z,"
                   "2026-11-22T00:00:00Z,,0,,0,86400,0,0,,\r\n"),
         "csv: no data is an empty field");
  free(text);

  text = render(&r, REPORT_HTML, &st);
  tap_ok(st == VT_OK && has(text, "<!DOCTYPE html>") &&
             has(text, "<caption>") && has(text, "<th scope=\"row\">") &&
             !strstr(text, "<script>"),
         "html: standalone page, captions, row headers, no script");
  tap_ok(has(text, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                   "&amp; co"),
         "html: text escaped");
  free(text);

  /* Bytes that are not UTF-8 never reach the page (graphs/present.h). */
  struct report_target bad = {.target = "bad \xff\xc0\xaf name",
                              .availability = NAN,
                              .mttr_s = NAN,
                              .longest_s = NAN};
  struct report r2 = {.start = T0, .end = T0 + 86400, .targets = &bad, .n = 1};
  text = render(&r2, REPORT_HTML, &st);
  tap_ok(st == VT_OK &&
             has(text, "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd name") &&
             !strstr(text, "\xff"),
         "html: invalid UTF-8 in a name becomes U+FFFD");
  free(text);
  return tap_done();
}
