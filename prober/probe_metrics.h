/* SPDX-License-Identifier: MIT */
/* The probe's /metrics in the Prometheus text format (docs/metrics.md):
 * a getter fills struct probe_metrics with what the probe counts, this
 * module writes it. Counters another part adds later get a field here. */
#ifndef PROBER_PROBE_METRICS_H
#define PROBER_PROBE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dns.h"
#include "probe_config.h"
#include "scheduler.h"
#include "spool.h"
#include "uploader.h"

struct probe_metrics {
  const char *name;
  unsigned long long results_ok, results_failed;
  unsigned long long spooled, spool_errors;
  uint64_t spool_next; /* next record number of the spool */
  struct sched_stats sched;
  struct spool_stats spool; /* zero without a spool */
  struct dns_stats dns;
  const struct uploader *uploader; /* NULL without collectors */
  const struct probe_collector_conf *collectors;
  size_t n_collectors;
};

enum vt_status probe_metrics_render(const struct probe_metrics *m,
                                    struct vt_buf *b)
    __attribute__((warn_unused_result));

#endif
