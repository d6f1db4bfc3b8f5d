/* SPDX-License-Identifier: MIT */
/* PNG encoding of vantage-graph's images, about four times cheaper than
 * cairo's own writer, and the surface librrd draws on, kept for the marks.
 *
 * librrd encodes its PNG with cairo_surface_write_to_png_stream (zlib level
 * 6, every libpng filter tried on every row): 21 ms of CPU for an 860x330
 * graph, more than the drawing. vantage-graph defines that function itself
 * (ELF symbol interposition: the executable's definition comes first for
 * librrd too) and encodes with zlib level 1 and no filter: 5 ms, and on
 * librrd's flat colours as small or smaller. While png_capture_arm() is in
 * force, the next surface librrd would encode is kept instead, so marks
 * are drawn on it and it is encoded once (not encoded, decoded, drawn on
 * and encoded again). Pixels are the same either way: only the PNG's
 * compression differs. */
#ifndef GRAPHS_GRAPH_PNG_H
#define GRAPHS_GRAPH_PNG_H

#include <cairo.h>

#include "buf.h"
#include "vt_status.h"

/* Appends surface (ARGB32 or RGB24, flushed) to out as a PNG. */
enum vt_status png_encode(cairo_surface_t *surface, struct vt_buf *out)
    __attribute__((warn_unused_result));

/* The next cairo_surface_write_to_png_stream call in this process keeps a
 * reference to its surface and writes nothing. */
void png_capture_arm(void);

/* The kept surface (the caller destroys it), or NULL when none was kept
 * (nothing was encoded since png_capture_arm, or the interposition is not
 * in force); disarms. */
cairo_surface_t *png_capture_take(void);

#endif
