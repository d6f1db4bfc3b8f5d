/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the configuration loaders. The input is written to a
 * file and loaded as a probe configuration (FUZZ_PROBE) or a collector
 * configuration (FUZZ_COLLECTOR); whatever it holds, the loader returns a
 * status and frees what it built (ASan and LSan watch). Build and run:
 * tests/fuzz/run.sh. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#if defined(FUZZ_PROBE)
#include "probe_config.h"
#else
#include "collector_config.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

static void fuzz_cleanup(void)
{
  unlink(fuzz_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vt_log_threshold = 0; /* config errors are logged; not wanted here */
  if (!fuzz_path[0]) {
    snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/vt-fuzz-conf.%ld.cfg",
             (long)getpid());
    atexit(fuzz_cleanup);
  }
  /* @include could name /dev/zero or a FIFO and hang the run: the
   * loaders' own include handling is not what is fuzzed here. */
  if (size >= 8 && memmem(data, size, "@include", 8))
    return 0;
  FILE *f = fopen(fuzz_path, "wb");
  if (!f)
    return 0;
  fwrite(data, 1, size, f);
  fclose(f);
#if defined(FUZZ_PROBE)
  struct probe_conf *c = NULL;
  if (probe_conf_load(fuzz_path, &c) == VT_OK)
    probe_conf_free(c);
#else
  struct coll_conf *c = NULL;
  if (coll_conf_load(fuzz_path, &c) == VT_OK)
    coll_conf_free(c);
#endif
  return 0;
}
