/* SPDX-License-Identifier: MIT */
/* Unit tests for the log helpers: control bytes escaped (so a peer's name
 * cannot forge a line), truncation at a whole escape, and the back-off
 * that sums up repeated refusals. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tap.h"

int main(void)
{
  tap_plan(11);
  char out[64];
  tap_is_str(vt_log_escape("fra1", out, sizeof(out)), "fra1", "plain name");
  tap_is_str(vt_log_escape("a\033[31mb\r\nc", out, sizeof(out)),
             "a\\x1b[31mb\\x0d\\x0ac", "ESC, CR, LF escaped");
  tap_is_str(vt_log_escape("x\x7fy\\", out, sizeof(out)), "x\\x7fy\\\\",
             "DEL and backslash escaped");
  tap_is_str(vt_log_escape("\x01\x02", out, 6), "\\x01",
             "truncated at a whole escape");
  tap_is_str(vt_log_escape(NULL, out, sizeof(out)), "(null)", "NULL input");
  tap_is_str(vt_log_escape("\xc3\xa9", out, sizeof(out)), "\xc3\xa9",
             "UTF-8 left alone");

  struct vt_log_backoff b = {.interval_s = 10};
  unsigned long skipped = 99;
  tap_ok(vt_log_backoff_due(&b, 100.0, &skipped) && skipped == 0,
         "first occurrence logged");
  int due = 0;
  for (int i = 0; i < 1000; i++)
    due += vt_log_backoff_due(&b, 100.0 + i * 0.005, NULL);
  tap_ok(due == 0, "1000 more within the interval: none logged");
  tap_ok(vt_log_backoff_due(&b, 110.5, &skipped) && skipped == 1000,
         "after the interval: one line with the count left out (%lu)", skipped);
  tap_ok(b.total == 1002, "every occurrence counted");
  struct vt_log_backoff d = {0};
  vt_log_backoff_due(&d, 0.0, NULL);
  tap_ok(!vt_log_backoff_due(&d, 9.9, NULL) &&
             vt_log_backoff_due(&d, 10.0, NULL),
         "interval 0 means 10 s");
  return tap_done();
}
