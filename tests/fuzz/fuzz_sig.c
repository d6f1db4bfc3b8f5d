/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the signature check. The input is five header values
 * and a body separated by newlines (probe, seq, count, time, signature,
 * then the body): the header parsers must accept only what they promise,
 * vt_wire_verify must never accept a signature it did not make, and a
 * signature made by vt_wire_sign must verify. Build and run:
 * tests/fuzz/run.sh. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vt_log_threshold = 0;
  char *copy = malloc(size + 1);
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  char *f[5] = {0};
  char *p = copy;
  int n = 0;
  for (; n < 5 && p; n++) {
    f[n] = p;
    char *nl = memchr(p, '\n', (size_t)(copy + size - p));
    if (nl)
      *nl = '\0';
    p = nl ? nl + 1 : NULL;
  }
  const char *body = p ? p : "";
  size_t body_len = p ? (size_t)(copy + size - p) : 0;
  static const struct vt_wire_key key = {
      .bytes = "0123456789abcdef0123456789abcdef", .len = 32};
  uint64_t seq = 0, count = 0;
  int64_t t = 0;
  if (n == 5 && vt_wire_name_ok(f[0]) && vt_wire_parse_u64(f[1], &seq) &&
      vt_wire_parse_u64(f[2], &count) && vt_wire_parse_i64(f[3], &t)) {
    char good[65];
    if (vt_wire_sign(&key, VT_WIRE_RESULTS, f[0], seq, count, t, body, body_len,
                     good) != VT_OK)
      abort();
    if (!vt_wire_verify(&key, VT_WIRE_RESULTS, f[0], seq, count, t, body,
                        body_len, good))
      abort(); /* its own signature must verify */
    bool ok = vt_wire_verify(&key, VT_WIRE_RESULTS, f[0], seq, count, t, body,
                             body_len, f[4]);
    /* Only the exact lowercase hex of the right MAC may pass. */
    if (ok && strcmp(f[4], good) != 0)
      abort();
    if (vt_wire_verify(&key, VT_WIRE_TARGETS, f[0], seq, count, t, body,
                       body_len, good))
      abort(); /* a results signature is not a targets signature */
  }
  free(copy);
  return 0;
}
