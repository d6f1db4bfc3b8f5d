/* SPDX-License-Identifier: MIT */
/* Marks drawn over a librrd graph, where librrd cannot draw them: spans
 * with a minimum width in pixels (a 47-minute outage is a fifth of a
 * pixel on an 800-pixel month), one lane per address at the top of the
 * plot so overlapping spans stay apart, hatching for partial events, and
 * numbered labels in the plot keyed to the legend rows. The same marks
 * go onto a PNG (cairo, the library librrd draws with) or into an SVG as
 * elements and text. */
#ifndef GRAPHS_MARKS_H
#define GRAPHS_MARKS_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>

#include "buf.h"
#include "vt_status.h"

/* Narrowest span drawn, in pixels. */
#define MARKS_MIN_SPAN_PX 4

/* The plot area librrd reports (graph_left, graph_top, graph_width,
 * graph_height, graph_start, graph_end of rrd_graph_v). */
struct marks_geom {
  double left, top, width, height;
  double start, end;
};

struct marks_span {
  double t0, t1;  /* seconds */
  unsigned rgb;   /* 0xRRGGBB */
  int lane;       /* 0 = top lane */
  bool partial;   /* hatched, not filled */
  char label[48]; /* drawn in the plot: "1 1m48s", "3 p2 only" */
  char kind[12];  /* "outage" or "partial": SVG class */
  char ip[48];    /* SVG data-ip */
  /* filled in by marks_draw_*: where the span was drawn */
  double x0, x1;
};

/* Appends s to b escaped for XML text and attributes (present.h's
 * pr_esc). *st: sticky status, nothing is appended unless VT_OK. */
void marks_xml_esc(struct vt_buf *b, const char *s, enum vt_status *st);

/* Draws spans on surface (librrd's, kept by graph_png.h's capture).
 * Returns VT_ELIB when cairo fails. */
enum vt_status marks_draw_surface(const struct marks_geom *g,
                                  struct marks_span *spans, size_t n,
                                  cairo_surface_t *surface)
    __attribute__((warn_unused_result));

/* Draws spans over the PNG image png (len bytes) and writes the new PNG
 * into out. Returns VT_ELIB when cairo cannot read or write the image. */
enum vt_status marks_draw_png(const struct marks_geom *g,
                              struct marks_span *spans, size_t n,
                              const void *png, size_t len, struct vt_buf *out)
    __attribute__((warn_unused_result));

/* Appends the spans as SVG elements (a <g id="vantage-marks">: one <rect
 * class="span KIND"> per span with data-ip, data-start and data-end, and
 * its label as <text>) to out. */
enum vt_status marks_draw_svg(const struct marks_geom *g,
                              struct marks_span *spans, size_t n,
                              struct vt_buf *out)
    __attribute__((warn_unused_result));

#endif
