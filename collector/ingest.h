/* SPDX-License-Identifier: MIT */
/* The collector's ingest path for POST /v1/results (docs/wire.md): checks a
 * batch completely before storing anything (size, headers, probe, signature,
 * time, every record), stores the records not stored before (exactly once,
 * by record number) as RRD updates and events in one SQLite transaction,
 * and only then acknowledges. */
#ifndef COLLECTOR_INGEST_H
#define COLLECTOR_INGEST_H

#include "buf.h"
#include "vt_status.h"

struct coll_conf;
struct events;
struct http_api_request;
struct ingest;
struct rrd_store;

/* Creates the ingest path over the stores (borrowed; they outlive it).
 * conf is borrowed too and may be replaced with ingest_set_conf. NULL when
 * out of memory. */
struct ingest *ingest_create(const struct coll_conf *conf,
                             struct rrd_store *rrd, struct events *ev);

/* Switches to a reloaded configuration (probes, keys, limits). */
void ingest_set_conf(struct ingest *in, const struct coll_conf *conf);

/* Every result stored from now on also goes to rw (NULL = none). */
struct remote_write;
void ingest_set_remote_write(struct ingest *in, struct remote_write *rw);

/* Handles one POST /v1/results: sets *status (200, 400, 401, 413, 503) and
 * writes the one-line JSON reply into reply. */
void ingest_results(struct ingest *in, const struct http_api_request *req,
                    int *status, struct vt_buf *reply);

/* http_api's precheck for POST /v1/results, before the body is read:
 * leaves *status 0 when the headers name a known probe, are well-formed and
 * carry a time within the window; else sets the status (400, 401) and the
 * reason in reply. The signature is checked with the body. */
void ingest_precheck(struct ingest *in, const struct http_api_request *req,
                     int *status, struct vt_buf *reply);

/* Verifies a signed GET (e.g. /v1/targets): returns 0 when the request is
 * signed by a known probe within the time window, else the HTTP status to
 * reply with (reason in reply). */
int ingest_verify_get(struct ingest *in, const struct http_api_request *req,
                      struct vt_buf *reply);

struct ingest_stats {
  unsigned long long batches, duplicates, rejected, results;
  unsigned long long ahead; /* records set aside: ts ahead of our clock */
};
void ingest_get_stats(const struct ingest *in, struct ingest_stats *out);

/* Frees; in may be NULL. */
void ingest_destroy(struct ingest *in);

#endif
