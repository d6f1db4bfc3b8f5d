/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the collector's batch parser. A body is split into
 * lines the way ingest_parse does and each line goes through
 * vt_result_from_json; a record that parses must have safe names (they
 * become RRD path components). Build and run: tests/fuzz/run.sh. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "result.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vt_log_threshold = 0; /* parsers do not log; keep the run quiet anyway */
  const char *p = (const char *)data, *end = p + size;
  struct vt_rec_ctx ctx = {0}; /* the batch's answers, as ingest keeps them */
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    struct vt_result r;
    char why[160];
    if (vt_result_from_json(p, len, &ctx, &r, why, sizeof(why)) == VT_OK) {
      if (!vt_wire_name_ok(r.probe) || !vt_wire_name_ok(r.target) ||
          !vt_wire_name_ok(r.name))
        abort(); /* a parsed record with a name that is not a safe name */
    } else if (!memchr(why, '\0', sizeof(why))) {
      abort(); /* the reason must be a terminated string */
    }
    if (!nl)
      break;
    p = nl + 1;
  }
  vt_rec_ctx_free(&ctx);
  return 0;
}
