/* SPDX-License-Identifier: MIT */
/* A tiny TAP harness for unit tests: plan, ok/is lines, a summary exit code. */
#ifndef VT_TAP_H
#define VT_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define tap_plan(n) printf("1..%d\n", (n))
#define tap_ok(cond, ...)                                                      \
  do {                                                                         \
    int tap_c_ = !!(cond);                                                     \
    tap_n++;                                                                   \
    if (!tap_c_)                                                               \
      tap_failed++;                                                            \
    printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);                         \
    printf(__VA_ARGS__);                                                       \
    printf("\n");                                                              \
    if (!tap_c_)                                                               \
      printf("#   failed at %s:%d\n", __FILE__, __LINE__);                     \
  } while (0)
#define tap_is_str(got, want, ...)                                             \
  do {                                                                         \
    const char *tap_g_ = (got), *tap_w_ = (want);                              \
    int tap_eq_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0;             \
    tap_ok(tap_eq_, __VA_ARGS__);                                              \
    if (!tap_eq_)                                                              \
      printf("#   got:  %s\n#   want: %s\n", tap_g_ ? tap_g_ : "(null)",       \
             tap_w_ ? tap_w_ : "(null)");                                      \
  } while (0)
/* Failures are counted from the "not ok" lines by the TAP driver, so the
 * exit status stays 0 (a non-zero one would count each failure twice); a
 * crash or a valgrind error still fails the test through its exit status. */
#define tap_done() (tap_failed >= 0 ? 0 : 1)

#endif
