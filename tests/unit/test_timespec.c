/* SPDX-License-Identifier: MIT */
/* Unit tests for vantage-graph's time arguments and periods. */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "present.h"
#include "tap.h"
#include "timespec.h"

/* 2026-11-21T23:00:00Z, a Saturday. */
#define NOW 1795302000.0

int main(void)
{
  static const struct {
    const char *in;
    bool ok;
    double want;
  } cases[] = {
      {"now", true, NOW},
      {"-3h", true, NOW - 3 * 3600},
      {"-1d", true, NOW - 86400},
      {"-90m", true, NOW - 5400},
      {"-30s", true, NOW - 30},
      {"-2w", true, NOW - 14 * 86400},
      {"-1.5h", true, NOW - 5400},
      {"1795300000", true, 1795300000},
      {"2026-11-21T10:00:00Z", true, 1795255200},
      {"2026-11-21T10:00:00", true, 1795255200},
      {"2026-11-21 10:00", true, 1795255200},
      {"2026-11-21", true, 1795219200},
      {"-3x", false, 0},
      {"-h", false, 0},
      {"yesterday", false, 0},
      {"2026-13-01", false, 0},
      {"2026-11-21T25:00:00Z", false, 0},
      {"", false, 0},
  };
  size_t n = sizeof(cases) / sizeof(cases[0]);
  tap_plan((int)n + 9);
  for (size_t i = 0; i < n; i++) {
    double got = 0;
    char err[128] = "";
    bool ok = ts_parse(cases[i].in, NOW, &got, err, sizeof(err));
    tap_ok(ok == cases[i].ok && (!ok || fabs(got - cases[i].want) < 1e-6),
           "ts_parse(\"%s\") %s %.0f %s", cases[i].in, ok ? "=" : "fails", got,
           err);
  }
  double s, e;
  char err[128];
  tap_ok(ts_parse_period("day", NOW, &s, &e, err, sizeof(err)) &&
             s == 1795132800 && e == 1795219200,
         "day: the last full UTC day");
  tap_ok(ts_parse_period("week", NOW, &s, &e, err, sizeof(err)) &&
             s == 1794182400 && e == 1794787200,
         "week: the last full ISO week (Monday to Monday)");
  tap_ok(ts_parse_period("month", NOW, &s, &e, err, sizeof(err)) &&
             s == 1790812800 && e == 1793491200,
         "month: October 2026");
  tap_ok(ts_parse_period("2026-11-21T10:00:00Z..2026-11-21T11:00:00Z", NOW, &s,
                         &e, err, sizeof(err)) &&
             e - s == 3600,
         "START..END");
  tap_ok(!ts_parse_period("-1h..-2h", NOW, &s, &e, err, sizeof(err)),
         "END before START fails: %s", err);
  tap_ok(!ts_parse_period("fortnight", NOW, &s, &e, err, sizeof(err)),
         "unknown period fails: %s", err);
  char buf[32];
  tap_is_str(pr_time(1795255333, PR_T_ISO, buf, sizeof(buf)),
             "2026-11-21T10:02:13Z", "format UTC");
  tap_is_str(pr_time(1795255333, PR_T_HMS, buf, sizeof(buf)), "10:02:13",
             "format h:m:s");
  tap_ok(ts_parse_period("-1d..now", NOW, &s, &e, err, sizeof(err)) &&
             e == NOW && s == NOW - 86400,
         "relative period");
  return tap_done();
}
