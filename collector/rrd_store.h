/* SPDX-License-Identifier: MIT */
/* All RRD writes of the collector: one file per series, created on first
 * sight with the configured layout (docs/collector.md), updated through
 * librrd directly or through rrdcached's text protocol. Updates are queued
 * per batch and written by rrd_store_flush, grouped per file (one librrd
 * call or one rrdcached BATCH), always with skip-past-updates semantics so
 * a re-sent value is a no-op. */
#ifndef COLLECTOR_RRD_STORE_H
#define COLLECTOR_RRD_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "series.h" /* enum rrd_kind, the data sources */
#include "vt_status.h"

struct rrd_store;

struct rrd_store_conf {
  const char *dir;       /* root of the RRD tree; created if missing */
  const char *rrdcached; /* NULL = librrd direct; "unix:/path" or "host:port" */
  int step_s;            /* default 10 */
  int heartbeat_s;       /* default 30 */
  char *const *rra;      /* RRA definitions; NULL/0 = the default layout */
  size_t n_rra;
  double io_timeout_s; /* rrdcached socket timeout; default 5 */
  bool full_layout;    /* every new file with all 7 data sources and the
                          RRAs of vantage <= 0.1 (storage.layout "full") */
};

/* The data sources a file may have, in this order (series.h, enum
 * vt_series_ds). NAN = unknown. A file
 * stores those of its kind (the kind of its first value) and existing
 * files are written with the data sources they have. */
struct rrd_values {
  double up, total, dns, connect, tls, ttfb, share;
  double load; /* load checks: per second (or a gauge); last, not in FULL */
  enum rrd_kind kind; /* of the file, when it is created */
};

/* Size in bytes of a new file of kind k with the lean default RRAs at
 * step_s (what rrd_store creates unless configured otherwise). */
size_t rrd_kind_file_size(enum rrd_kind k, long step_s);

/* Converts every 7-data-source file below dir into its lean layout (the
 * kind read from its values: the smallest kind holding every data source
 * with a known value), keeping the history librrd can carry over (rrdcreate
 * --source: rows mapped by data source and consolidation). Files already
 * lean are left alone. Prints one line per file to out when not NULL;
 * *n_done and *n_failed count the files. Returns VT_OK or VT_EIO. */
enum vt_status rrd_store_convert_tree(const char *dir, long step_s, void *out,
                                      size_t *n_done, size_t *n_failed);

/* Opens the store (connects to rrdcached when configured). On failure logs
 * why and returns NULL with *st set. */
struct rrd_store *rrd_store_open(const struct rrd_store_conf *conf,
                                 enum vt_status *st);

/* Flushes nothing, disconnects, frees; s may be NULL. */
void rrd_store_close(struct rrd_store *s);

/* Queues one update of the file relpath (relative to dir; its components
 * were validated by the caller, and are checked again here: no "..", no
 * leading '/', only [A-Za-z0-9._-/]) at ts (whole seconds). The file is
 * created (with its directories) at flush time if missing. Returns VT_EINVAL
 * for a bad path, VT_ENOMEM. */
enum vt_status rrd_store_queue(struct rrd_store *s, const char *relpath,
                               long ts, const struct rrd_values *v)
    __attribute__((warn_unused_result));

/* Creates relpath now (with its directories) if it does not exist, its
 * first value to come at first_ts; *created tells whether it did. Over
 * rrdcached's TCP link the daemon creates files itself: nothing happens
 * here. Lets the ingest bound the time a request spends creating files. */
enum vt_status rrd_store_ensure(struct rrd_store *s, const char *relpath,
                                long first_ts, bool *created)
    __attribute__((warn_unused_result));

/* From now on, rrd_store_ensure_kind queues the files it would create
 * (under tag, a record number of the caller's: a later call moves the tag
 * on) instead of creating them, until rrd_store_create_run creates them
 * all, in parallel. */
void rrd_store_create_defer(struct rrd_store *s, size_t tag);

/* Creates the queued files with one thread per core (at most
 * RRD_STORE_CREATE_THREADS), in queue order; once budget_s (> 0) has
 * passed, no further file is started, except those of the first tag.
 * *created: files made; *undone_tag: the tag of the first file not made,
 * SIZE_MAX when all were. VT_EIO when a file failed (logged). Ends the
 * deferral. */
#define RRD_STORE_CREATE_THREADS 8
enum vt_status rrd_store_create_run(struct rrd_store *s, double budget_s,
                                    size_t *created, size_t *undone_tag)
    __attribute__((warn_unused_result));

/* rrd_store_ensure for a file of the given kind. */
enum vt_status rrd_store_ensure_kind(struct rrd_store *s, const char *relpath,
                                     long first_ts, enum rrd_kind kind,
                                     bool *created)
    __attribute__((warn_unused_result));

/* Writes everything queued, per file in time order. Returns VT_OK, or
 * VT_EIO when a write failed (logged once with the file and librrd's or
 * rrdcached's message); the queue is emptied either way. A value at or
 * before the file's last update is skipped silently (a re-send). */
enum vt_status rrd_store_flush(struct rrd_store *s)
    __attribute__((warn_unused_result));

/* Forgets which files exist (after files were removed behind the store's
 * back, by retention): the next write of each looks again. */
void rrd_store_forget(struct rrd_store *s);

/* Values queued now (for /metrics: the queue a flush writes). */
size_t rrd_store_queued(const struct rrd_store *s);

/* True when the store writes through rrdcached, false for librrd direct. */
bool rrd_store_uses_daemon(const struct rrd_store *s);

struct rrdcached_stats;

/* The rrdcached daemon's STATS (rrdcached.h) into *out. Returns VT_OK,
 * VT_ENOTFOUND when the store writes with librrd, or VT_EIO. */
enum vt_status rrd_store_daemon_stats(struct rrd_store *s,
                                      struct rrdcached_stats *out);

/* Drops the queue without writing (a rejected batch). */
void rrd_store_discard(struct rrd_store *s);

/* Asks rrdcached to write relpath to disk now (no-op without rrdcached);
 * readers call this before fetching. */
enum vt_status rrd_store_flush_file(struct rrd_store *s, const char *relpath);

/* Absolute path of relpath into out; returns out. */
char *rrd_store_path(const struct rrd_store *s, const char *relpath, char *out,
                     size_t size);

#endif
