/* SPDX-License-Identifier: MIT */
/* Pieces of the Prometheus text exposition format (0.0.4) shared by the
 * collector's and the probe's /metrics (docs/metrics.md). */
#ifndef VT_PROM_H
#define VT_PROM_H

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
enum vt_status vt_prom_one(struct vt_buf *b, const char *name,
                           const char *type, const char *help, double v)
    __attribute__((warn_unused_result));

#endif
