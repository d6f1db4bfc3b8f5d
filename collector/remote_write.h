/* SPDX-License-Identifier: MIT */
/* Remote write: every stored result goes to a journal on disk
 * (data_dir/remote_write/journal, binary records with a CRC, made durable
 * before the batch is acknowledged), and one thread per configured
 * receiver sends it from its own durable cursor
 * (data_dir/remote_write/<name>.cursor, "generation offset") as a Prometheus
 * remote-write request (prometheus.WriteRequest, protobuf encoded here,
 * snappy block compressed, HTTP POST with libcurl). The cursor moves only
 * after a 2xx; a receiver that is down is retried with a growing pause and
 * catches up in order. Once every cursor is at the end, the journal
 * starts a new generation, empty. Samples: vantage_up and
 * vantage_latency_ms{phase=...}, labelled target, host, address, probe, check
 * (docs/collector.md, "Remote write"). */
#ifndef COLLECTOR_REMOTE_WRITE_H
#define COLLECTOR_REMOTE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

struct remote_write;

struct remote_write_receiver {
  const char *name; /* [A-Za-z0-9._-], names the cursor file */
  const char *url;  /* http:// or https:// */
};

/* Opens the journal in dir (created) and starts one sender thread per
 * receiver. Returns NULL with *st set on failure (logged). */
struct remote_write *remote_write_open(const char *dir,
                                       const struct remote_write_receiver *r,
                                       size_t n, enum vt_status *st);

/* Appends the results recs[order[0..n)] of a batch of probe (and spool,
 * NULL for none) to the journal and makes them durable (fdatasync): called
 * once they are stored, before the batch is committed and acknowledged.
 * recs[i] is the probe's record seq0 + i; the batch ends at end. Records
 * below the mark an earlier journalled batch of the same probe and spool
 * left (journalled, then a crash before the commit, sent again by the
 * probe) are not journalled twice. Returns VT_OK, or VT_EIO or VT_ENOMEM
 * (logged; nothing of the batch is journalled: refuse it). */
enum vt_status remote_write_results(struct remote_write *rw, const char *probe,
                                    const char *spool, uint64_t seq0,
                                    uint64_t end, const struct vt_result *recs,
                                    const size_t *order, size_t n);

/* Number of receivers, and the name of receiver i. */
size_t remote_write_count(const struct remote_write *rw);
const char *remote_write_name(const struct remote_write *rw, size_t i);

/* Journal bytes receiver i has not sent yet. */
uint64_t remote_write_pending(struct remote_write *rw, size_t i);

/* Stops the threads (a request in flight ends first) and frees; rw may be
 * NULL. */
void remote_write_close(struct remote_write *rw);

#endif
