/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the status-page parsers of lib/loadstat.c. The first
 * input byte picks the format and field, the rest is the page, given
 * without a NUL (the parser must never read past len). A success must be
 * a finite value >= 0 of a known kind with a line inside the text; a
 * failure must say why. Build and run: tests/fuzz/run.sh loadstat. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loadstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  static const char *const labels[] = {"code=200", "device=eth0"};
  static const struct vt_load_spec specs[] = {
      {.format = VT_LOAD_NGINX},
      {.format = VT_LOAD_NGINX, .field = "active"},
      {.format = VT_LOAD_APACHE},
      {.format = VT_LOAD_APACHE, .field = "BusyWorkers"},
      {.format = VT_LOAD_PROM, .field = "x_total"},
      {.format = VT_LOAD_PROM,
       .field = "x_total",
       .labels = labels,
       .n_labels = 2},
      {.format = VT_LOAD_PROM, .field = "y", .kind = VT_LOAD_COUNTER},
  };
  const struct vt_load_spec *spec =
      &specs[data[0] % (sizeof(specs) / sizeof(specs[0]))];
  size_t len = size - 1;
  /* An exact-size copy, so ASan sees a read past the end. */
  char *text = malloc(len ? len : 1);
  if (!text)
    return 0;
  memcpy(text, data + 1, len);
  struct vt_load_reading rd;
  char err[200] = "";
  enum vt_status st = vt_load_parse(spec, text, len, &rd, err, sizeof(err));
  if (st == VT_OK) {
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
      lines += text[i] == '\n';
    if (!isfinite(rd.value) || rd.value < 0 ||
        (rd.kind != VT_LOAD_COUNTER && rd.kind != VT_LOAD_GAUGE) ||
        rd.line < 1 || (size_t)rd.line > lines)
      abort();
    struct vt_load_rate r = {0};
    double x = vt_load_rate_next(&r, &rd, 10, NULL);
    x = vt_load_rate_next(&r, &rd, 20, NULL);
    if (!(x == 0 || (rd.kind == VT_LOAD_GAUGE && x == rd.value)))
      abort();
  } else if (!err[0] || !memchr(err, '\0', sizeof(err))) {
    abort();
  }
  free(text);
  return 0;
}
