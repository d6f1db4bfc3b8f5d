/* SPDX-License-Identifier: MIT */
/* GET /metrics on the collector: the Prometheus text exposition format
 * (version 0.0.4). Series and their cardinality: docs/metrics.md. The last
 * result of each (target, check, address, probe) is kept in memory, fed by
 * ingest (coll_metrics_note) on the loop thread. */
#ifndef COLLECTOR_METRICS_H
#define COLLECTOR_METRICS_H

#include "alert.h"
#include "buf.h"
#include "events.h"
#include "ingest.h"
#include "prom.h"
#include "result.h"
#include "rrd_store.h"

#define COLL_METRICS_CONTENT_TYPE VT_PROM_CONTENT_TYPE

/* Remembers r as the last result of its series (process-wide table). */
void coll_metrics_note(const struct vt_result *r);

/* Writes every series into body; alerts may be NULL. */
enum vt_status coll_metrics_render(struct ingest *in, struct events *ev,
                                   struct alerts *alerts, struct rrd_store *rrd,
                                   double uptime_s, struct vt_buf *body)
    __attribute__((warn_unused_result));

#endif
