/* SPDX-License-Identifier: MIT */
/* Pieces of the Prometheus text exposition format (0.0.4) shared by the
 * collector's and the probe's /metrics (docs/metrics.md). */
#ifndef VT_PROM_H
#define VT_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "vt_status.h"

#define VT_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n". */
enum vt_status vt_prom_head(struct vt_buf *b, const char *name,
                            const char *type, const char *help)
    __attribute__((warn_unused_result));

/* Appends s as a label value with the format's escapes (\\ \" \n). */
enum vt_status vt_prom_label(struct vt_buf *b, const char *s)
    __attribute__((warn_unused_result));

/* One unlabelled series: head and "name value\n". */
enum vt_status vt_prom_one(struct vt_buf *b, const char *name, const char *type,
                           const char *help, double v)
    __attribute__((warn_unused_result));

/* Appends v as the format writes a float: the shortest decimal that reads
 * back as v, "+Inf", "-Inf" or "NaN". */
enum vt_status vt_prom_float(struct vt_buf *b, double v)
    __attribute__((warn_unused_result));

/* A histogram with fixed buckets (a visible value struct, no allocation):
 * le[] are the buckets' upper bounds, ascending, without +Inf; counts are
 * kept per bucket and written cumulative. */
#define VT_PROM_HIST_MAX 24
struct vt_prom_hist {
  const double *le; /* borrowed; n_le <= VT_PROM_HIST_MAX */
  size_t n_le;
  uint64_t counts[VT_PROM_HIST_MAX + 1]; /* the last: above le[n_le - 1] */
  uint64_t count;
  double sum;
};

/* Empties h and sets its bounds (le must outlive h; n_le is capped at
 * VT_PROM_HIST_MAX). */
void vt_prom_hist_init(struct vt_prom_hist *h, const double *le, size_t n_le);

/* Counts n observations of value v (sum += n * v). A NaN is not counted. */
void vt_prom_hist_add(struct vt_prom_hist *h, double v, uint64_t n);

/* One observation of v. */
void vt_prom_hist_observe(struct vt_prom_hist *h, double v);

/* Writes h's samples (the head, vt_prom_head with "histogram", comes
 * first, once per name): name_bucket{labels,le="..."} for every bound and
 * +Inf, cumulative, then name_sum{labels} and name_count{labels}. labels
 * is NULL or label pairs already escaped ("stage=\"store\""). */
enum vt_status vt_prom_hist_write(struct vt_buf *b, const char *name,
                                  const char *labels,
                                  const struct vt_prom_hist *h)
    __attribute__((warn_unused_result));

#endif
