/* SPDX-License-Identifier: MIT */
/* Clock helpers (see vt_time.h). */
#include "config.h"

#include "vt_time.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

double vt_time_wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double vt_time_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *vt_time_fmt_duration(double seconds, char *out, unsigned long size)
{
  if (seconds < 0 || isnan(seconds)) {
    snprintf(out, size, "?");
    return out;
  }
  if (seconds < 10 && seconds != floor(seconds)) {
    snprintf(out, size, "%.2fs", seconds);
    return out;
  }
  long s = lround(seconds);
  long d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
  if (d)
    snprintf(out, size, "%ldd%02ldh%02ldm", d, h, m);
  else if (h)
    snprintf(out, size, "%ldh%02ldm%02lds", h, m, sec);
  else if (m)
    snprintf(out, size, "%ldm%02lds", m, sec);
  else
    snprintf(out, size, "%lds", sec);
  return out;
}

char *vt_time_fmt_iso(double t, char *out, unsigned long size)
{
  double whole = floor(t);
  time_t s = (time_t)whole;
  struct tm tm;
  if (!isfinite(t) || !gmtime_r(&s, &tm)) {
    snprintf(out, size, "?");
    return out;
  }
  char base[32];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  int ms = (int)((t - whole) * 1000);
  snprintf(out, size, "%s.%03dZ", base, ms > 999 ? 999 : ms);
  return out;
}
