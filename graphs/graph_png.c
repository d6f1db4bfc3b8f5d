/* SPDX-License-Identifier: MIT */
/* Fast PNG encoding and the capture of librrd's surface (see graph_png.h). */
#include "config.h"

#include "graph_png.h"

#include <dlfcn.h>
#include <png.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* One process draws one graph at a time (graph.c), so the capture is a
 * plain process-wide slot. */
static bool png_armed;
static cairo_surface_t *png_kept;

struct png_sink {
  cairo_write_func_t write;
  void *closure;
  bool failed;
};

static void png_sink_write(png_structp p, png_bytep data, png_size_t len)
{
  struct png_sink *s = png_get_io_ptr(p);
  while (!s->failed && len > 0) {
    unsigned n = len > 1u << 30 ? 1u << 30 : (unsigned)len;
    if (s->write(s->closure, data, n) != CAIRO_STATUS_SUCCESS)
      s->failed = true;
    data += n;
    len -= n;
  }
}

static void png_sink_flush(png_structp p)
{
  (void)p;
}

/* libpng reports errors by longjmp; nothing of ours is allocated between
 * setjmp and the end but the row, freed on both paths. */
static cairo_status_t png_write_stream(cairo_surface_t *sf,
                                       cairo_write_func_t write, void *closure)
{
  cairo_surface_flush(sf);
  cairo_format_t fmt = cairo_image_surface_get_format(sf);
  int w = cairo_image_surface_get_width(sf);
  int h = cairo_image_surface_get_height(sf);
  int stride = cairo_image_surface_get_stride(sf);
  const unsigned char *data = cairo_image_surface_get_data(sf);
  if (!data || w <= 0 || h <= 0)
    return CAIRO_STATUS_INVALID_SIZE;
  /* An opaque image (librrd's are) is written as RGB, as cairo does. */
  bool alpha = false;
  for (int y = 0; fmt == CAIRO_FORMAT_ARGB32 && y < h && !alpha; y++) {
    const uint32_t *src = (const uint32_t *)(data + (size_t)y * stride);
    for (int x = 0; x < w; x++)
      if (src[x] < 0xff000000u) {
        alpha = true;
        break;
      }
  }
  struct png_sink sink = {write, closure, false};
  png_structp p =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = p ? png_create_info_struct(p) : NULL;
  unsigned char *volatile row = malloc((size_t)w * 4);
  cairo_status_t st = CAIRO_STATUS_NO_MEMORY;
  if (!p || !info || !row)
    goto out;
  if (setjmp(png_jmpbuf(p))) {
    st = CAIRO_STATUS_WRITE_ERROR;
    goto out;
  }
  png_set_write_fn(p, &sink, png_sink_write, png_sink_flush);
  png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
               alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(p, 1);
  png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  png_write_info(p, info);
  for (int y = 0; y < h && !sink.failed; y++) {
    const uint32_t *src = (const uint32_t *)(data + (size_t)y * stride);
    unsigned char *o = row;
    for (int x = 0; x < w; x++) {
      uint32_t v = src[x];
      unsigned a = alpha ? v >> 24 : 255;
      unsigned r = v >> 16 & 0xff, g = v >> 8 & 0xff, b = v & 0xff;
      if (a != 255 && a != 0) { /* cairo stores premultiplied alpha */
        r = (r * 255 + a / 2) / a;
        g = (g * 255 + a / 2) / a;
        b = (b * 255 + a / 2) / a;
      } else if (a == 0) {
        r = g = b = 0;
      }
      *o++ = (unsigned char)r;
      *o++ = (unsigned char)g;
      *o++ = (unsigned char)b;
      if (alpha)
        *o++ = (unsigned char)a;
    }
    png_write_row(p, row);
  }
  png_write_end(p, info);
  st = sink.failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
out:
  png_destroy_write_struct(p ? &p : NULL, info ? &info : NULL);
  free(row);
  return st;
}

/* The interposed function: librrd's PNG and the marks' go through here. */
cairo_status_t cairo_surface_write_to_png_stream(cairo_surface_t *surface,
                                                 cairo_write_func_t write,
                                                 void *closure);
cairo_status_t cairo_surface_write_to_png_stream(cairo_surface_t *surface,
                                                 cairo_write_func_t write,
                                                 void *closure)
{
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
    return cairo_surface_status(surface);
  cairo_format_t fmt =
      cairo_surface_get_type(surface) == CAIRO_SURFACE_TYPE_IMAGE
          ? cairo_image_surface_get_format(surface)
          : CAIRO_FORMAT_INVALID;
  if (fmt == CAIRO_FORMAT_ARGB32 || fmt == CAIRO_FORMAT_RGB24) {
    if (png_armed) {
      png_armed = false;
      if (png_kept)
        cairo_surface_destroy(png_kept);
      png_kept = cairo_surface_reference(surface);
      return CAIRO_STATUS_SUCCESS;
    }
    return png_write_stream(surface, write, closure);
  }
  /* Anything else: cairo's own writer. */
  typedef cairo_status_t (*real_fn)(cairo_surface_t *, cairo_write_func_t,
                                    void *);
  real_fn real;
  *(void **)&real = dlsym(RTLD_NEXT, "cairo_surface_write_to_png_stream");
  return real ? real(surface, write, closure) : CAIRO_STATUS_WRITE_ERROR;
}

static cairo_status_t png_buf_write(void *closure, const unsigned char *data,
                                    unsigned int length)
{
  return vt_buf_add(closure, data, length) == VT_OK ? CAIRO_STATUS_SUCCESS
                                                    : CAIRO_STATUS_WRITE_ERROR;
}

enum vt_status png_encode(cairo_surface_t *surface, struct vt_buf *out)
{
  cairo_status_t cs = png_write_stream(surface, png_buf_write, out);
  if (cs == CAIRO_STATUS_NO_MEMORY)
    return VT_ENOMEM;
  return cs == CAIRO_STATUS_SUCCESS ? VT_OK : VT_ELIB;
}

void png_capture_arm(void)
{
  png_armed = true;
  if (png_kept) {
    cairo_surface_destroy(png_kept);
    png_kept = NULL;
  }
}

cairo_surface_t *png_capture_take(void)
{
  cairo_surface_t *s = png_kept;
  png_kept = NULL;
  png_armed = false;
  return s;
}
