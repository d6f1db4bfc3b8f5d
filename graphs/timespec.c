/* SPDX-License-Identifier: MIT */
/* Time arguments of vantage-graph (see timespec.h). Everything is UTC: a
 * post-mortem compares timestamps from several places, so local time would
 * only add confusion. */
#include "config.h"

#include "timespec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool fail(char *err, unsigned long size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, unsigned long size, const char *fmt, ...)
{
  if (err && size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* "YYYY-MM-DD[T ]HH:MM[:SS][Z]" or "YYYY-MM-DD" (midnight), UTC. */
static bool ts_parse_iso(const char *s, double *out)
{
  struct tm tm = {0};
  int n = 0, len = (int)strlen(s);
  int y, mo, d, h = 0, mi = 0, sec = 0;
  char sep;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == len) {
    /* date only */
  } else if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi,
                    &sec, &n) == 7 &&
             (sep == 'T' || sep == ' ') &&
             (n == len || (n == len - 1 && s[n] == 'Z'))) {
  } else if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi,
                    &n) == 6 &&
             (sep == 'T' || sep == ' ') &&
             (n == len || (n == len - 1 && s[n] == 'Z'))) {
    sec = 0;
  } else {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return false;
  *out = (double)t;
  return true;
}

bool ts_parse(const char *s, double now, double *out, char *err,
              unsigned long errsize)
{
  if (!s || !*s)
    return fail(err, errsize, "empty time");
  if (strcmp(s, "now") == 0) {
    *out = now;
    return true;
  }
  if (s[0] == '-' || s[0] == '+') {
    char *end;
    double v = strtod(s + 1, &end);
    if (end == s + 1 || !isfinite(v) || v < 0)
      return fail(err, errsize,
                  "\"%s\" is not a relative time (-30s, -90m, -3h, -1d, "
                  "-2w)",
                  s);
    double unit;
    if (!strcmp(end, "s"))
      unit = 1;
    else if (!strcmp(end, "m") || !strcmp(end, "min"))
      unit = 60;
    else if (!strcmp(end, "h"))
      unit = 3600;
    else if (!strcmp(end, "d"))
      unit = 86400;
    else if (!strcmp(end, "w"))
      unit = 7 * 86400;
    else
      return fail(err, errsize, "\"%s\": unknown unit (s, m, h, d, w)", s);
    *out = now + (s[0] == '-' ? -v : v) * unit;
    return true;
  }
  bool digits = true;
  for (const char *p = s; *p; p++)
    digits &= isdigit((unsigned char)*p) != 0;
  if (digits && strlen(s) <= 12) {
    *out = strtod(s, NULL);
    return true;
  }
  if (ts_parse_iso(s, out))
    return true;
  return fail(err, errsize,
              "\"%s\" is not a time (2026-11-21T10:00:00Z, Unix seconds, "
              "-3h, now)",
              s);
}

bool ts_parse_period(const char *s, double now, double *start, double *end,
                     char *err, unsigned long errsize)
{
  time_t t = (time_t)floor(now);
  struct tm tm;
  gmtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (!strcmp(s, "day")) {
    double today = (double)timegm(&tm);
    *start = today - 86400;
    *end = today;
    return true;
  }
  if (!strcmp(s, "week")) {
    double today = (double)timegm(&tm);
    int since_monday = (tm.tm_wday + 6) % 7;
    *end = today - since_monday * 86400.0;
    *start = *end - 7 * 86400.0;
    return true;
  }
  if (!strcmp(s, "month")) {
    tm.tm_mday = 1;
    *end = (double)timegm(&tm);
    tm.tm_mon -= 1; /* timegm normalizes January - 1 */
    *start = (double)timegm(&tm);
    return true;
  }
  const char *dots = strstr(s, "..");
  if (!dots)
    return fail(err, errsize,
                "\"%s\" is not a period (day, week, month or START..END)", s);
  char a[64], b[64];
  size_t la = (size_t)(dots - s);
  if (la == 0 || la >= sizeof(a) || strlen(dots + 2) >= sizeof(b) || !dots[2])
    return fail(err, errsize, "\"%s\": expected START..END", s);
  memcpy(a, s, la);
  a[la] = '\0';
  snprintf(b, sizeof(b), "%s", dots + 2);
  if (!ts_parse(a, now, start, err, errsize) ||
      !ts_parse(b, now, end, err, errsize))
    return false;
  if (*end <= *start)
    return fail(err, errsize, "\"%s\": the end is not after the start", s);
  return true;
}
