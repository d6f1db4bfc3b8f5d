/* SPDX-License-Identifier: MIT */
/* Marks over a librrd graph (marks.h). One layout, two painters: the
 * layout (pixel extent of each span, the row of each label) is computed
 * once with cairo's text metrics, then painted with cairo onto the PNG or
 * written as SVG elements, so both formats show the same thing.
 *
 * Layout, from the top of the plot down:
 * - a 6-pixel lane per address with spans (lane 0 first): a solid strip
 *   for an outage, a hatched one for a partial event. Shades that overlap
 *   in the plot would mix into a colour no legend row has; the lanes keep
 *   every span apart.
 * - up to MARKS_ROWS rows of labels ("1 1m48s", "3 p2 only"), each placed
 *   in the first row where it does not cover the previous one; a label
 *   that fits nowhere is shortened to its number, and dropped only if even
 *   that does not fit (its legend row still lists it).
 * - behind the lines (librrd drew them already, so the shade is light):
 *   the span over the whole plot height, filled for an outage, hatched
 *   for a partial event. */
#include "config.h"

#include "marks.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "present.h"

#define MARKS_LANE_H 6.0
#define MARKS_ROW_H 13.0
#define MARKS_ROWS 3
#define MARKS_FONT_PX 10.0
#define MARKS_HATCH_PX 6.0
#define MARKS_FONT "DejaVu Sans"

/* A label as placed: text, box and baseline. */
struct marks_label {
  char text[48];
  double x, y, w; /* box left, top, width */
  bool shown;
};

static double marks_x(const struct marks_geom *g, double t)
{
  double x = g->left + (t - g->start) / (g->end - g->start) * g->width;
  return fmin(fmax(x, g->left), g->left + g->width);
}

static int marks_lanes(const struct marks_span *s, size_t n)
{
  int lanes = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i].lane + 1 > lanes)
      lanes = s[i].lane + 1;
  return lanes;
}

/* Pixel extent of each span (at least MARKS_MIN_SPAN_PX wide, centred on
 * the span, kept inside the plot) and the label rows. */
static void marks_layout(const struct marks_geom *g, struct marks_span *s,
                         size_t n, cairo_t *cr, struct marks_label *lab)
{
  double right = g->left + g->width;
  double row_end[MARKS_ROWS];
  for (int r = 0; r < MARKS_ROWS; r++)
    row_end[r] = -INFINITY;
  double y0 = g->top + 1 + marks_lanes(s, n) * MARKS_LANE_H + 2;
  cairo_select_font_face(cr, MARKS_FONT, CAIRO_FONT_SLANT_NORMAL,
                         CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, MARKS_FONT_PX);
  for (size_t i = 0; i < n; i++) {
    double x0 = marks_x(g, s[i].t0), x1 = marks_x(g, s[i].t1);
    if (x1 - x0 < MARKS_MIN_SPAN_PX) {
      double mid = (x0 + x1) / 2;
      x0 = fmax(g->left, mid - MARKS_MIN_SPAN_PX / 2.0);
      x1 = x0 + MARKS_MIN_SPAN_PX;
      if (x1 > right) {
        x1 = right;
        x0 = right - MARKS_MIN_SPAN_PX;
      }
    }
    s[i].x0 = x0;
    s[i].x1 = x1;
    struct marks_label *l = &lab[i];
    *l = (struct marks_label){.shown = false};
    /* The full label, else its number alone (the text up to the space). */
    for (int pass = 0; pass < 2 && !l->shown && s[i].label[0]; pass++) {
      snprintf(l->text, sizeof(l->text), "%s", s[i].label);
      if (pass == 1)
        l->text[strcspn(l->text, " ")] = '\0';
      cairo_text_extents_t ext;
      cairo_text_extents(cr, l->text, &ext);
      l->w = ext.x_advance + 4;
      l->x = fmin(x0, right - l->w);
      for (int r = 0; r < MARKS_ROWS && !l->shown; r++) {
        if (l->x < row_end[r] + 3)
          continue;
        l->y = y0 + r * MARKS_ROW_H;
        row_end[r] = l->x + l->w;
        l->shown = true;
      }
    }
  }
}

static void marks_rgb(cairo_t *cr, unsigned rgb, double alpha)
{
  cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0,
                        ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0, alpha);
}

/* Diagonal lines over the rectangle, clipped to it. */
static void marks_hatch(cairo_t *cr, double x, double y, double w, double h)
{
  cairo_save(cr);
  cairo_rectangle(cr, x, y, w, h);
  cairo_clip(cr);
  cairo_set_line_width(cr, 1.5);
  for (double d = -h; d < w + h; d += MARKS_HATCH_PX) {
    cairo_move_to(cr, x + d, y + h);
    cairo_line_to(cr, x + d + h, y);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

static void marks_paint(cairo_t *cr, const struct marks_geom *g,
                        const struct marks_span *s, size_t n,
                        const struct marks_label *lab)
{
  for (size_t i = 0; i < n; i++) {
    double w = s[i].x1 - s[i].x0;
    double ly = g->top + 1 + s[i].lane * MARKS_LANE_H;
    if (s[i].partial) {
      marks_rgb(cr, s[i].rgb, 0.45);
      marks_hatch(cr, s[i].x0, g->top, w, g->height);
      marks_rgb(cr, s[i].rgb, 0.9);
      marks_hatch(cr, s[i].x0, ly, w, MARKS_LANE_H - 1);
      cairo_set_line_width(cr, 1);
      cairo_rectangle(cr, s[i].x0 + 0.5, ly + 0.5, w - 1, MARKS_LANE_H - 2);
      cairo_stroke(cr);
    } else {
      marks_rgb(cr, s[i].rgb, 0.22);
      cairo_rectangle(cr, s[i].x0, g->top, w, g->height);
      cairo_fill(cr);
      marks_rgb(cr, s[i].rgb, 1.0);
      cairo_rectangle(cr, s[i].x0, ly, w, MARKS_LANE_H - 1);
      cairo_fill(cr);
    }
  }
  cairo_select_font_face(cr, MARKS_FONT, CAIRO_FONT_SLANT_NORMAL,
                         CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, MARKS_FONT_PX);
  for (size_t i = 0; i < n; i++) {
    const struct marks_label *l = &lab[i];
    if (!l->shown)
      continue;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_rectangle(cr, l->x, l->y, l->w, MARKS_ROW_H - 1);
    cairo_fill(cr);
    marks_rgb(cr, s[i].rgb, 1.0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, l->x + 0.5, l->y + 0.5, l->w - 1, MARKS_ROW_H - 2);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0x22 / 255.0, 0x22 / 255.0, 0x22 / 255.0);
    cairo_move_to(cr, l->x + 2, l->y + MARKS_ROW_H - 3);
    cairo_show_text(cr, l->text);
  }
}

struct marks_png_src {
  const unsigned char *p;
  size_t left;
};

static cairo_status_t marks_png_read(void *closure, unsigned char *data,
                                     unsigned int length)
{
  struct marks_png_src *src = closure;
  if (length > src->left)
    return CAIRO_STATUS_READ_ERROR;
  memcpy(data, src->p, length);
  src->p += length;
  src->left -= length;
  return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t marks_png_write(void *closure, const unsigned char *data,
                                      unsigned int length)
{
  return vt_buf_add(closure, data, length) == VT_OK ? CAIRO_STATUS_SUCCESS
                                                    : CAIRO_STATUS_WRITE_ERROR;
}

enum vt_status marks_draw_surface(const struct marks_geom *g,
                                  struct marks_span *spans, size_t n,
                                  cairo_surface_t *sf)
{
  struct marks_label *lab = calloc(n ? n : 1, sizeof(*lab));
  if (!lab)
    return VT_ENOMEM;
  cairo_t *cr = cairo_create(sf);
  marks_layout(g, spans, n, cr, lab);
  marks_paint(cr, g, spans, n, lab);
  cairo_status_t cs = cairo_status(cr);
  cairo_destroy(cr);
  free(lab);
  if (cs != CAIRO_STATUS_SUCCESS) {
    vt_err("graph: cannot draw the marks: %s", cairo_status_to_string(cs));
    return VT_ELIB;
  }
  return VT_OK;
}

enum vt_status marks_draw_png(const struct marks_geom *g,
                              struct marks_span *spans, size_t n,
                              const void *png, size_t len, struct vt_buf *out)
{
  struct marks_png_src src = {.p = png, .left = len};
  cairo_surface_t *sf =
      cairo_image_surface_create_from_png_stream(marks_png_read, &src);
  enum vt_status st = VT_ELIB;
  if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
    vt_err("graph: cannot read librrd's PNG: %s",
           cairo_status_to_string(cairo_surface_status(sf)));
  } else if ((st = marks_draw_surface(g, spans, n, sf)) == VT_OK) {
    cairo_status_t cs =
        cairo_surface_write_to_png_stream(sf, marks_png_write, out);
    if (cs != CAIRO_STATUS_SUCCESS) {
      vt_err("graph: cannot write the marks: %s", cairo_status_to_string(cs));
      st = VT_ELIB;
    }
  }
  cairo_surface_destroy(sf);
  return st;
}

void marks_xml_esc(struct vt_buf *b, const char *s, enum vt_status *st)
{
  if (*st == VT_OK)
    *st = pr_esc(b, s, strlen(s));
}

enum vt_status marks_draw_svg(const struct marks_geom *g,
                              struct marks_span *spans, size_t n,
                              struct vt_buf *out)
{
  struct marks_label *lab = calloc(n ? n : 1, sizeof(*lab));
  if (!lab)
    return VT_ENOMEM;
  /* Text metrics only: the same layout as on a PNG. */
  cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(sf);
  marks_layout(g, spans, n, cr, lab);
  cairo_destroy(cr);
  cairo_surface_destroy(sf);

  enum vt_status st = vt_buf_addf(
      out, "<g id=\"vantage-marks\" font-family=\"%s\" font-size=\"%.0f\">\n",
      MARKS_FONT, MARKS_FONT_PX);
  for (size_t i = 0; st == VT_OK && i < n; i++) {
    const struct marks_span *s = &spans[i];
    double w = s->x1 - s->x0;
    double ly = g->top + 1 + s->lane * MARKS_LANE_H;
    if (s->partial)
      st = vt_buf_addf(
          out,
          "<pattern id=\"vt-hatch-%zu\" width=\"%.0f\" height=\"%.0f\" "
          "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
          "<rect width=\"1.5\" height=\"%.0f\" fill=\"#%06X\"/></pattern>\n",
          i, MARKS_HATCH_PX, MARKS_HATCH_PX, MARKS_HATCH_PX, s->rgb);
    if (st == VT_OK)
      st = vt_buf_adds(out, "<g class=\"span ");
    marks_xml_esc(out, s->kind, &st);
    if (st == VT_OK)
      st = vt_buf_adds(out, "\" data-ip=\"");
    marks_xml_esc(out, s->ip, &st);
    if (st == VT_OK)
      st = vt_buf_addf(out, "\" data-start=\"%.0f\" data-end=\"%.0f\">\n",
                       s->t0, s->t1);
    if (st == VT_OK && s->partial)
      st = vt_buf_addf(
          out,
          "<rect class=\"area\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"%.2f\" fill=\"url(#vt-hatch-%zu)\" fill-opacity=\"0.5\"/>\n"
          "<rect class=\"lane\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"%.2f\" fill=\"url(#vt-hatch-%zu)\" stroke=\"#%06X\"/>\n",
          s->x0, g->top, w, g->height, i, s->x0, ly, w, MARKS_LANE_H - 1, i,
          s->rgb);
    else if (st == VT_OK)
      st = vt_buf_addf(
          out,
          "<rect class=\"area\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"%.2f\" fill=\"#%06X\" fill-opacity=\"0.22\"/>\n"
          "<rect class=\"lane\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"%.2f\" fill=\"#%06X\"/>\n",
          s->x0, g->top, w, g->height, s->rgb, s->x0, ly, w, MARKS_LANE_H - 1,
          s->rgb);
    const struct marks_label *l = &lab[i];
    if (st == VT_OK && l->shown) {
      st = vt_buf_addf(
          out,
          "<rect class=\"label\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
          "height=\"%.0f\" fill=\"#FFFFFF\" fill-opacity=\"0.9\" "
          "stroke=\"#%06X\"/>\n<text x=\"%.2f\" y=\"%.2f\" fill=\"#222222\">",
          l->x, l->y, l->w, MARKS_ROW_H - 1, s->rgb, l->x + 2,
          l->y + MARKS_ROW_H - 3);
      marks_xml_esc(out, l->text, &st);
      if (st == VT_OK)
        st = vt_buf_adds(out, "</text>\n");
    }
    if (st == VT_OK)
      st = vt_buf_adds(out, "</g>\n");
  }
  if (st == VT_OK)
    st = vt_buf_adds(out, "</g>\n");
  free(lab);
  return st;
}
