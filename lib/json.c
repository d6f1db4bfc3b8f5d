/* SPDX-License-Identifier: MIT */
/* JSON writing helpers (see json.h). */
#include "config.h"

#include "json.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

enum vt_status vt_json_str(struct vt_buf *b, const char *s)
{
  if (!s)
    return vt_buf_add(b, "null", 4);
  enum vt_status st = vt_buf_add(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)s;
  while (st == VT_OK && *p) {
    unsigned char c = *p;
    /* A run of printable ASCII goes in one piece: a result is mostly
     * names and addresses, and the probe writes one per check. */
    size_t run = 0;
    while (p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\')
      run++;
    if (run > 0) {
      st = vt_buf_add(b, p, run);
      p += run;
      continue;
    }
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      st = vt_buf_add(b, esc, 2);
      p++;
    } else if (c < 0x20 || c == 0x7F) {
      st = vt_buf_addf(b, "\\u%04x", c);
      p++;
    } else {
      size_t n = vt_utf8_seq(p, SIZE_MAX, NULL);
      if (n == 0) {
        st = vt_buf_add(b, "\\ufffd", 6);
        p++;
      } else {
        st = vt_buf_add(b, p, n);
        p += n;
      }
    }
  }
  if (st == VT_OK)
    st = vt_buf_add(b, "\"", 1);
  return st;
}

/* Writes v (|v| < 1e12) with exactly decimals (0..3) digits after the
 * point, as printf's "%.*f" does but without its cost (the probe writes
 * several numbers per check); the last digit may differ from printf's in
 * rare halfway cases, which no measurement here can tell apart. */
static enum vt_status json_fixed(struct vt_buf *b, double v, int decimals)
{
  static const uint64_t scale[] = {1, 10, 100, 1000};
  char tmp[48], *p = tmp + sizeof(tmp);
  uint64_t m = (uint64_t)llround(fabs(v) * (double)scale[decimals]);
  for (int i = 0; i < decimals; i++) {
    *--p = (char)('0' + m % 10);
    m /= 10;
  }
  if (decimals > 0)
    *--p = '.';
  do {
    *--p = (char)('0' + m % 10);
    m /= 10;
  } while (m);
  if (v < 0)
    *--p = '-';
  return vt_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

enum vt_status vt_json_num(struct vt_buf *b, double v, int decimals)
{
  if (!isfinite(v))
    return vt_buf_add(b, "null", 4);
  bool whole = v == floor(v);
  if (fabs(v) < 1e12 && decimals >= 0 && decimals <= 3)
    return json_fixed(b, v, whole ? 0 : decimals);
  if (whole && fabs(v) < 1e15)
    return vt_buf_addf(b, "%.0f", v);
  return vt_buf_addf(b, "%.*f", decimals, v);
}

enum vt_status vt_json_fixed(struct vt_buf *b, double v, int decimals)
{
  if (!isfinite(v))
    return vt_buf_add(b, "null", 4);
  if (fabs(v) < 1e12 && decimals >= 0 && decimals <= 3)
    return json_fixed(b, v, decimals);
  return vt_buf_addf(b, "%.*f", decimals, v);
}
