/* SPDX-License-Identifier: MIT */
/* Unit tests for graphs/graph_png.h: the PNG encoder gives back the same
 * pixels (opaque and translucent, premultiplied alpha), the interposed
 * cairo_surface_write_to_png_stream is the one this program calls (as
 * librrd does), and the capture keeps the surface instead of encoding. */
#include "config.h"

#include <cairo.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "graph_png.h"
#include "tap.h"

struct src {
  const unsigned char *p;
  size_t left;
};

static cairo_status_t rd(void *c, unsigned char *d, unsigned int n)
{
  struct src *s = c;
  if (n > s->left)
    return CAIRO_STATUS_READ_ERROR;
  memcpy(d, s->p, n);
  s->p += n;
  s->left -= n;
  return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t wr(void *c, const unsigned char *d, unsigned int n)
{
  return vt_buf_add(c, d, n) == VT_OK ? CAIRO_STATUS_SUCCESS
                                      : CAIRO_STATUS_WRITE_ERROR;
}

/* A graph-like picture: background, anti-aliased lines and curves;
 * translucent when alpha. */
static cairo_surface_t *picture(bool alpha)
{
  cairo_surface_t *sf =
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 301, 97);
  cairo_t *cr = cairo_create(sf);
  if (!alpha) {
    cairo_set_source_rgb(cr, 0.98, 0.97, 0.96);
    cairo_paint(cr);
  }
  cairo_set_source_rgba(cr, 0.1, 0.4, 0.8, alpha ? 0.5 : 1.0);
  cairo_set_line_width(cr, 1.3);
  cairo_move_to(cr, 3, 90);
  for (int x = 3; x < 300; x += 7)
    cairo_line_to(cr, x, 50 + 40 * ((x * 37) % 11) / 11.0 - 20);
  cairo_stroke(cr);
  cairo_set_source_rgba(cr, 0.8, 0.1, 0.1, alpha ? 0.3 : 1.0);
  cairo_rectangle(cr, 120.5, 10.25, 33.3, 60);
  cairo_fill(cr);
  /* Anti-aliased curves, as the glyphs of a label would be (text itself
   * would make fontconfig's caches look like leaks to valgrind). */
  cairo_set_source_rgba(cr, 0.1, 0.1, 0.1, alpha ? 0.8 : 1.0);
  cairo_arc(cr, 40.3, 20.7, 6.1, 0, 6.283);
  cairo_stroke(cr);
  cairo_destroy(cr);
  cairo_surface_flush(sf);
  return sf;
}

/* Pixels of a and b equal (colour, and alpha when both have it)? */
static bool same(cairo_surface_t *a, cairo_surface_t *b, bool alpha)
{
  int w = cairo_image_surface_get_width(a),
      h = cairo_image_surface_get_height(a);
  if (w != cairo_image_surface_get_width(b) ||
      h != cairo_image_surface_get_height(b))
    return false;
  uint32_t mask = alpha ? 0xffffffffu : 0x00ffffffu;
  for (int y = 0; y < h; y++) {
    const uint32_t *ra =
        (const uint32_t *)(cairo_image_surface_get_data(a) +
                           (size_t)y * cairo_image_surface_get_stride(a));
    const uint32_t *rb =
        (const uint32_t *)(cairo_image_surface_get_data(b) +
                           (size_t)y * cairo_image_surface_get_stride(b));
    for (int x = 0; x < w; x++) {
      uint32_t p = ra[x], q = rb[x];
      /* Premultiplied alpha does not survive a round trip exactly (nor
       * through cairo's own writer): one step per channel at most. */
      for (int k = 0; k < 32; k += 8) {
        int d = (int)(p >> k & 0xff) - (int)(q >> k & 0xff);
        if ((mask >> k & 0xff) && (d > 1 || d < -1))
          return false;
      }
    }
  }
  return true;
}

int main(void)
{
  tap_plan(4);
  for (int alpha = 0; alpha < 2; alpha++) {
    cairo_surface_t *sf = picture(alpha);
    struct vt_buf ours, cairos;
    vt_buf_init(&ours, 0);
    vt_buf_init(&cairos, 0);
    enum vt_status st = png_encode(sf, &ours);
    /* The interposed writer: what librrd calls. */
    cairo_status_t cs = cairo_surface_write_to_png_stream(sf, wr, &cairos);
    struct src s = {(const unsigned char *)ours.data, ours.len};
    cairo_surface_t *back = cairo_image_surface_create_from_png_stream(rd, &s);
    bool ok = st == VT_OK && cs == CAIRO_STATUS_SUCCESS &&
              cairo_surface_status(back) == CAIRO_STATUS_SUCCESS &&
              same(sf, back, true) && ours.len == cairos.len &&
              memcmp(ours.data, cairos.data, ours.len) == 0;
    tap_ok(ok,
           "%s picture: png_encode and the interposed cairo writer give the "
           "same %zu bytes, decoded by cairo to the same pixels",
           alpha ? "translucent" : "opaque", ours.len);
    cairo_surface_destroy(back);
    vt_buf_cleanup(&ours);
    vt_buf_cleanup(&cairos);
    cairo_surface_destroy(sf);
  }
  cairo_surface_t *sf = picture(false);
  struct vt_buf out;
  vt_buf_init(&out, 0);
  png_capture_arm();
  cairo_status_t cs = cairo_surface_write_to_png_stream(sf, wr, &out);
  cairo_surface_t *kept = png_capture_take();
  tap_ok(cs == CAIRO_STATUS_SUCCESS && out.len == 0 && kept == sf,
         "armed: the surface is kept, nothing encoded");
  cs = cairo_surface_write_to_png_stream(sf, wr, &out);
  tap_ok(cs == CAIRO_STATUS_SUCCESS && out.len > 0 && !png_capture_take(),
         "disarmed after one: the next is encoded (%zu bytes)", out.len);
  if (kept)
    cairo_surface_destroy(kept);
  cairo_surface_destroy(sf);
  vt_buf_cleanup(&out);
  return tap_done();
}
