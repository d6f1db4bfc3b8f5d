/* SPDX-License-Identifier: MIT */
/* Read-only access to what the collector stored, for graphs, reports and
 * the status page: the collector's configuration (data_dir, rrdcached,
 * maintenance windows, status page settings), the series list and events
 * from events.sqlite (opened read-only; the collector may be writing), and
 * RRD fetches (flushed through rrdcached first when one is configured). */
#ifndef GRAPHS_DATASET_H
#define GRAPHS_DATASET_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"
#include "vt_status.h"

struct coll_conf;
struct gr_ctx;

struct gr_series {
  char target[64];
  enum vt_check_type check_type; /* series of unknown types are not listed */
  char check_name[64];
  char key[80]; /* lib/series.h: address, "client", "resolver-...", ... */
  char probe[64];
  char path[320]; /* relative to the RRD directory */
  double first_ts, last_ts;
  long results;
};

struct gr_outage {
  long id;
  char scope[8];  /* "address" or "host" */
  char kind[8];   /* "outage" or "partial" */
  char state[16]; /* host rows: "degraded" or "down"; else "" */
  char target[64];
  char ip[VT_IP_STRLEN]; /* "" for host rows */
  double start, end;     /* end NAN while open */
  char probes[512];      /* comma-separated, sorted */
  int seen_by, of_probes;
  bool maintenance;    /* overlaps a maintenance window of its target */
  char end_reason[32]; /* "" = recovered; "no longer checked" */
};

struct gr_maint {
  char target[64];
  double start, end;
  char reason[256];
};

struct gr_dns_change {
  double ts;
  char target[64], probe[64], resolver[64];
  char old_answers[512], new_answers[512]; /* comma-separated; "" = none */
};

/* One fetched RRD range: rows cover (start + i*step, start + (i+1)*step];
 * NAN = unknown. data[row * n_ds + ds]. */
struct gr_fetch {
  double start, end;
  long step;
  size_t n_ds, n_rows;
  char **ds_names;
  double *data;
};

/* Opens the data of the collector configured in collector_cfg. Logs why
 * on failure (config errors with file:line, a data_dir without
 * events.sqlite: "no data yet") and returns VT_ECONFIG / VT_ENOTFOUND /
 * VT_EIO. */
enum vt_status gr_open(const char *collector_cfg, struct gr_ctx **out)
    __attribute__((warn_unused_result));
void gr_close(struct gr_ctx *g); /* g may be NULL */

/* In a child process after fork(): drops the parent's database and
 * rrdcached connections (without closing the database) so the child opens
 * its own on first use. */
void gr_after_fork(struct gr_ctx *g);

/* The collector configuration behind g (borrowed). */
const struct coll_conf *gr_conf(const struct gr_ctx *g);

/* The absolute path of a series file into out (returns out). */
char *gr_rrd_path(const struct gr_ctx *g, const char *relpath, char *out,
                  size_t size);

/* Distinct target names that have series, sorted. *out is a new array of
 * n strings (free with gr_free_strv). */
enum vt_status gr_targets(struct gr_ctx *g, char ***out, size_t *n)
    __attribute__((warn_unused_result));
void gr_free_strv(char **v, size_t n);

/* Series of target (NULL = all), sorted by target, check, key, probe. *out
 * is a new array (free()). */
enum vt_status gr_series_list(struct gr_ctx *g, const char *target,
                              struct gr_series **out, size_t *n)
    __attribute__((warn_unused_result));

/* Outage and partial rows of target (NULL = all) that overlap [from, to],
 * sorted by start. *out is a new array (free()). */
enum vt_status gr_outages(struct gr_ctx *g, const char *target, double from,
                          double to, struct gr_outage **out, size_t *n)
    __attribute__((warn_unused_result));

/* Maintenance windows of target (NULL = all) overlapping [from, to]. */
enum vt_status gr_maintenance(struct gr_ctx *g, const char *target, double from,
                              double to, struct gr_maint **out, size_t *n)
    __attribute__((warn_unused_result));

/* DNS answer changes of target within [from, to], by time. */
enum vt_status gr_dns_changes(struct gr_ctx *g, const char *target, double from,
                              double to, struct gr_dns_change **out, size_t *n)
    __attribute__((warn_unused_result));

/* A probe's arrival, silence or return (probe_events). */
struct gr_probe_event {
  double ts; /* when the collector noticed */
  char probe[64];
  char event[16]; /* "first_seen", "silent", "back" */
};

/* Every probe event up to to, by probe, then time. *out: free(). */
enum vt_status gr_probe_events(struct gr_ctx *g, double to,
                               struct gr_probe_event **out, size_t *n)
    __attribute__((warn_unused_result));

/* Fetches cf ("AVERAGE", "MIN", "MAX") of relpath over [start, end] at the
 * finest resolution at or above step (0 = finest), flushing through
 * rrdcached first. A missing or corrupt file is VT_ENOTFOUND / VT_EIO with
 * the file named in the log. Free with gr_fetch_free. */
enum vt_status gr_fetch_rrd(struct gr_ctx *g, const char *relpath,
                            const char *cf, double start, double end, long step,
                            struct gr_fetch *out)
    __attribute__((warn_unused_result));
void gr_fetch_free(struct gr_fetch *f);

/* Index of data source name in f, or -1. */
int gr_fetch_ds(const struct gr_fetch *f, const char *name);

#endif
