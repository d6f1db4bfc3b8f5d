/* SPDX-License-Identifier: MIT */
/* A server's own traffic counter, for the `load` check: parsers for nginx
 * stub_status, Apache server-status?auto and one named series of the
 * Prometheus text format, and the per-second rate of a counter with
 * restarts (a counter that goes down) handled. Pure functions on text, so
 * the probe and the tests share them. */
#ifndef VT_LOADSTAT_H
#define VT_LOADSTAT_H

#include <stdbool.h>
#include <stddef.h>

#include "vt_status.h"

enum vt_load_format {
  VT_LOAD_NGINX,  /* stub_status */
  VT_LOAD_APACHE, /* mod_status server-status?auto */
  VT_LOAD_PROM,   /* Prometheus text exposition format 0.0.4 */
};

enum vt_load_kind {
  VT_LOAD_AUTO,    /* from the field (nginx, Apache) or # TYPE (Prometheus) */
  VT_LOAD_COUNTER, /* only grows, until the server restarts: store its rate */
  VT_LOAD_GAUGE,   /* a level (active connections): store it as is */
};

/* Lines longer than this are refused (an error naming the line). */
#define VT_LOAD_LINE_MAX 65536

/* What to read. Every pointer is borrowed for the call. */
struct vt_load_spec {
  enum vt_load_format format;
  /* nginx: "requests" (default), "accepts", "handled", "active",
   * "reading", "writing", "waiting". Apache: a key of the ?auto page
   * ("Total Accesses" by default, "Total kBytes", "BusyWorkers", ...).
   * Prometheus: the metric name (required). NULL = the default. */
  const char *field;
  /* Prometheus only: "name=value" pairs every matching series carries;
   * the values of all series of the metric that match are added up. */
  const char *const *labels;
  size_t n_labels;
  enum vt_load_kind kind; /* VT_LOAD_AUTO unless configured */
};

struct vt_load_reading {
  double value;           /* finite, >= 0 for counters */
  enum vt_load_kind kind; /* COUNTER or GAUGE, never AUTO */
  int line;               /* 1-based line the value came from (first match) */
};

/* Parses len bytes of text (no NUL needed) as spec says. On success fills
 * *out and returns VT_OK. Otherwise returns VT_EINVAL (text that does not
 * parse, a missing field or series, NaN or an infinite value, a negative
 * value) or VT_ENOTFOUND (the field or series is absent), with a
 * one-line reason in err (err_size bytes, may be 0) naming the line, e.g.
 * "line 3: expected 3 numbers after \"server accepts handled requests\"". */
enum vt_status vt_load_parse(const struct vt_load_spec *spec, const char *text,
                             size_t len, struct vt_load_reading *out, char *err,
                             size_t err_size)
    __attribute__((warn_unused_result));

/* Checks spec without text: a known nginx field, a Prometheus metric name
 * and labels of the form name=value. Returns false with a reason in err. */
bool vt_load_spec_valid(const struct vt_load_spec *spec, char *err,
                        size_t err_size);

/* Names for enum values: "nginx", "apache", "prometheus" / "auto",
 * "counter", "gauge"; never NULL. The parse functions return false when s
 * is not a name. */
const char *vt_load_format_name(enum vt_load_format f);
bool vt_load_format_parse(const char *s, enum vt_load_format *out);
const char *vt_load_kind_name(enum vt_load_kind k);
bool vt_load_kind_parse(const char *s, enum vt_load_kind *out);

/* The previous sample of one counter (one check, one address). */
struct vt_load_rate {
  bool have;
  double value;
  double ts;
};

/* The load to store for a new reading taken at ts (seconds): a gauge's
 * value; a counter's increase per second since the previous sample, NaN
 * for the first sample or when time did not move forward. A counter that
 * went down was restarted: its new value was counted since the restart,
 * which is at most the elapsed time ago, so the rate is value / elapsed (a
 * restart is never a spike) and *reset (may be NULL) is set. */
double vt_load_rate_next(struct vt_load_rate *st,
                         const struct vt_load_reading *rd, double ts,
                         bool *reset);

#endif
