/* SPDX-License-Identifier: MIT */
/* Prometheus text format pieces (see prom.h). */
#include "config.h"

#include "prom.h"

enum vt_status vt_prom_head(struct vt_buf *b, const char *name,
                            const char *type, const char *help)
{
  return vt_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                     type);
}

enum vt_status vt_prom_label(struct vt_buf *b, const char *s)
{
  enum vt_status st = VT_OK;
  for (; *s && st == VT_OK; s++)
    st = *s == '\\'   ? vt_buf_adds(b, "\\\\")
         : *s == '"'  ? vt_buf_adds(b, "\\\"")
         : *s == '\n' ? vt_buf_adds(b, "\\n")
                      : vt_buf_add(b, s, 1);
  return st;
}

enum vt_status vt_prom_one(struct vt_buf *b, const char *name,
                           const char *type, const char *help, double v)
{
  enum vt_status st = vt_prom_head(b, name, type, help);
  return st ? st : vt_buf_addf(b, "%s %.17g\n", name, v);
}
