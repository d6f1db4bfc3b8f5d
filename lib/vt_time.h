/* SPDX-License-Identifier: MIT */
/* Clocks: wall time for timestamps, monotonic time for measurements. */
#ifndef VT_TIME_H
#define VT_TIME_H

/* Seconds since the Unix epoch, with sub-second precision (CLOCK_REALTIME). */
double vt_time_wall(void);

/* Seconds on CLOCK_MONOTONIC; only differences mean something. */
double vt_time_mono(void);

/* Formats a duration in seconds as "1m48s", "2h03m", "45s" or "0.25s" into
 * out (at least 16 bytes). Returns out. */
char *vt_time_fmt_duration(double seconds, char *out, unsigned long size);

/* Formats Unix time t as ISO 8601 UTC with milliseconds
 * ("2026-12-03T11:40:00.123Z") into out (at least 32 bytes). Returns out. */
char *vt_time_fmt_iso(double t, char *out, unsigned long size);

#endif
