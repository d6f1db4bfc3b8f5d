/* SPDX-License-Identifier: MIT */
/* Time arguments of vantage-graph: absolute ("2026-11-21T10:00:00Z",
 * "2026-11-21 10:00", Unix seconds "1795300000") or relative to now ("-3h",
 * "-1d", "-90m", "-30s", "-2w", "now"), and periods for reports ("day",
 * "week", "month": the last full one in UTC; "START..END"). */
#ifndef GRAPHS_TIMESPEC_H
#define GRAPHS_TIMESPEC_H

#include <stdbool.h>

/* Parses s relative to now into *out (Unix seconds). False on anything
 * else; err (may be NULL, size >= 64) gets the reason. */
bool ts_parse(const char *s, double now, double *out, char *err,
              unsigned long errsize);

/* Parses a report period into [*start, *end). "day", "week" and "month"
 * are the last complete UTC day, ISO week (Monday-Sunday) and calendar
 * month before now; "START..END" takes two ts_parse times. */
bool ts_parse_period(const char *s, double now, double *start, double *end,
                     char *err, unsigned long errsize);

/* Times are formatted by present.h's pr_time. */

#endif
