/* SPDX-License-Identifier: MIT */
/* Unit tests for the scheduler's lateness percentiles and the default
 * budget of checks in flight (scheduler.h), and the fast JSON numbers the
 * results are written with (json.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "scheduler.h"
#include "tap.h"

/* Records late_s in st the way the scheduler does. */
static void add(struct sched_stats *st, double late_s)
{
  int i = 0;
  while (i < SCHED_LATE_BUCKETS - 1 && late_s > sched_late_bucket_upper_s(i))
    i++;
  st->late_hist[i]++;
  st->late_n++;
  if (late_s > st->late_max_s)
    st->late_max_s = late_s;
}

static const char *num(struct vt_buf *b, double v, int dec, bool fixed)
{
  vt_buf_reset(b);
  enum vt_status st = fixed ? vt_json_fixed(b, v, dec) : vt_json_num(b, v, dec);
  return st == VT_OK ? vt_buf_str(b) : "(error)";
}

int main(void)
{
  tap_plan(14);
  struct sched_stats st = {0};
  tap_ok(sched_late_quantile_s(&st, 0.99) == 0, "no runs: lateness 0");
  for (int i = 0; i < 98; i++)
    add(&st, 0.001); /* 1 ms */
  add(&st, 0.050);
  add(&st, 0.300);
  double p50 = sched_late_quantile_s(&st, 0.50);
  double p99 = sched_late_quantile_s(&st, 0.99);
  tap_ok(p50 >= 0.001 && p50 <= 0.00119, "p50 is the 1 ms bucket (%g)", p50);
  tap_ok(p99 >= 0.050 && p99 <= 0.0595, "p99 is the 50 ms bucket (%g)", p99);
  tap_ok(sched_late_quantile_s(&st, 1.0) == 0.300,
         "p100 is the max, not the bucket bound");
  tap_ok(isinf(sched_late_bucket_upper_s(SCHED_LATE_BUCKETS - 1)),
         "the last bucket is open");
  tap_ok(sched_late_bucket_upper_s(SCHED_LATE_BUCKETS - 2) > 100.0,
         "buckets reach past 100 s");

  tap_ok(sched_default_max_in_flight(1024) == 480, "1024 files: 480 in flight");
  tap_ok(sched_default_max_in_flight(40) == 16, "tiny limit: at least 16");
  tap_ok(sched_default_max_in_flight(1u << 20) == 4096, "huge limit: 4096");

  struct vt_buf b;
  vt_buf_init(&b, 0);
  tap_is_str(num(&b, 12.5, 3, false), "12.500", "json: 3 decimals");
  tap_is_str(num(&b, 42, 3, false), "42", "json: whole number");
  tap_is_str(num(&b, -0.0004, 3, false), "-0.000", "json: small negative");
  tap_is_str(num(&b, 1796294468.0, 3, true), "1796294468.000",
             "json: fixed timestamp");
  tap_is_str(num(&b, NAN, 3, false), "null", "json: NaN is null");
  vt_buf_cleanup(&b);
  return tap_done();
}
