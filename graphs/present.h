/* SPDX-License-Identifier: MIT */
/* Presentation rules of vantage-graph, one function each, shared by the
 * graphs (SVG text), the reports and the status page: escaping for HTML
 * and XML, availability truncated (never rounded up: 99.89 % never reads
 * 99.9 %), numbers, time formats and sets of time intervals. */
#ifndef GRAPHS_PRESENT_H
#define GRAPHS_PRESENT_H

#include <stddef.h>

#include "buf.h"
#include "vt_status.h"

/* Appends len bytes of s escaped for HTML text, quoted HTML attributes and
 * XML 1.0 text and attributes (Atom, SVG): & < > " ' as entities, tab and
 * line breaks as a space, and every byte that is not valid UTF-8
 * (lib/utf8.h), a C0 or C1 control or DEL as U+FFFD, so the output is
 * always well-formed. */
enum vt_status pr_esc(struct vt_buf *b, const char *s, size_t len)
    __attribute__((warn_unused_result));

/* a truncated (not rounded) to decimals places: 0.9999996 never reads
 * 1.000000. A bias of 1e-6 of the last place absorbs binary representation
 * error (0.999 * 1000 is 998.9999...). */
double pr_trunc(double a, int decimals);

/* An availability (0..1) as a percentage with decimals places, truncated
 * (pr_trunc to decimals + 2): "99.89 %"; "no data" for NAN. */
char *pr_pct(double availability, int decimals, char *out, size_t size);

/* A figure (seconds, counts) as text: whole numbers without decimals,
 * others with 3 (as lib/json.h's vt_json_num(b, v, 3) writes them); ""
 * for NAN or infinity. */
char *pr_num(double v, char *out, size_t size);

enum pr_tfmt {
  PR_T_ISO,   /* 2026-11-21T10:02:13Z */
  PR_T_HUMAN, /* 2026-11-21 10:02 UTC */
  PR_T_DATE,  /* 2026-11-21 */
  PR_T_MONTH, /* November 2026 */
  PR_T_HMS,   /* 10:02:13 */
  PR_T_MDHMS, /* 11-21 10:02:13 */
};

/* t (seconds since the epoch, rounded down) in UTC in format f; "?" when
 * it does not fit (or t is not a time). Returns out. */
char *pr_time(double t, enum pr_tfmt f, char *out, size_t size);

/* A set of half-open time intervals [s, e). "Normalized": sorted,
 * disjoint, not touching. */
struct pr_iv {
  double s, e;
};
struct pr_ivs {
  struct pr_iv *v;
  size_t n, cap;
};

void pr_ivs_free(struct pr_ivs *a);
/* Appends [s, e) when not empty, extending the last interval when it
 * touches it (consecutive rows stay one interval). Does not normalize. */
enum vt_status pr_ivs_add(struct pr_ivs *a, double s, double e)
    __attribute__((warn_unused_result));
/* Sorts and joins overlapping or touching intervals. */
void pr_ivs_norm(struct pr_ivs *a);
/* Adds every interval of b to a, then normalizes a. */
enum vt_status pr_ivs_merge(struct pr_ivs *a, const struct pr_ivs *b)
    __attribute__((warn_unused_result));
/* out = a minus b (a and b normalized; out is reset and comes out
 * normalized). */
enum vt_status pr_ivs_sub(const struct pr_ivs *a, const struct pr_ivs *b,
                          struct pr_ivs *out)
    __attribute__((warn_unused_result));
/* Total length of a. */
double pr_ivs_len(const struct pr_ivs *a);
/* Length of [s, e) covered by normalized a. */
double pr_ivs_within(const struct pr_ivs *a, double s, double e);

#endif
