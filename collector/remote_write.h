/* SPDX-License-Identifier: MIT */
/* Remote write: every stored result goes to a journal on disk
 * (data_dir/remote_write/journal, one text line per result), and one thread
 * per configured receiver sends it from its own durable cursor
 * (data_dir/remote_write/<name>.cursor, a byte offset) as a Prometheus
 * remote-write request (prometheus.WriteRequest, protobuf encoded here,
 * snappy block compressed, HTTP POST with libcurl). The cursor moves only
 * after a 2xx; a receiver that is down is retried with a growing pause and
 * catches up in order. Once every cursor is at the end, the journal is
 * emptied. Samples: vantage_up and vantage_latency_ms{phase=...}, labelled
 * target, host, address, probe, check (docs/collector.md, "Remote
 * write"). */
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

/* Appends the results recs[order[0..n)] to the journal (called once they
 * are stored). Returns VT_OK or VT_EIO (logged). */
enum vt_status remote_write_results(struct remote_write *rw,
                                    const struct vt_result *recs,
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
