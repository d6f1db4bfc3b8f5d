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
#include "retention.h"
#include "rrd_store.h"

#define COLL_METRICS_CONTENT_TYPE VT_PROM_CONTENT_TYPE

/* Histograms of the collector's own work (process-wide, loop thread). */
enum coll_metrics_hist {
  COLL_HIST_BATCH_RECEIVE, /* POST /v1/results: headers to complete body */
  COLL_HIST_BATCH_STORE,   /* complete body to committed (RRD + SQLite) */
  COLL_HIST_BATCH_ACK,     /* complete body to the 200 reply sent */
  COLL_HIST_RRD_FLUSH,     /* one rrd_store_flush (a batch's RRD writes) */
  COLL_HIST_RRD_QUEUE,     /* values queued for that flush */
  COLL_HIST_SQLITE_TXN,    /* an events transaction, BEGIN to COMMIT done */
  COLL_HIST_SQLITE_COMMIT, /* its COMMIT statement alone */
  COLL_HIST_N,
};

/* Counts one observation v (seconds, or values for COLL_HIST_RRD_QUEUE). */
void coll_metrics_observe(enum coll_metrics_hist h, double v);

/* Remembers r as the last result of its series (process-wide table). */
void coll_metrics_note(const struct vt_result *r);

/* Writes every series into body; alerts may be NULL. disk is what the
 * last retention sweep found (the figures /healthz shows too). */
enum vt_status coll_metrics_render(struct ingest *in, struct events *ev,
                                   struct alerts *alerts, struct rrd_store *rrd,
                                   const struct retention_stats *disk,
                                   double uptime_s, struct vt_buf *body)
    __attribute__((warn_unused_result));

#endif
