/* SPDX-License-Identifier: MIT */
/* Retention of RRD series and the disk the collector uses: a sweep walks
 * the RRD tree, removes (or moves to an archive folder) the files of series
 * not updated for longer than storage.retention, sums what the tree and the
 * event store take, and warns when the file system is fuller than
 * storage.disk_warn. Events are not touched: outages stay in the report
 * after their series are gone. */
#ifndef COLLECTOR_RETENTION_H
#define COLLECTOR_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt_status.h"

struct retention_conf {
  const char *rrd_dir;     /* the RRD tree */
  const char *data_dir;    /* holds events.sqlite; its file system is watched */
  double keep_s;           /* 0 = keep every series */
  const char *archive_dir; /* NULL = remove; else moved there, same relpath */
  double warn_percent;     /* warn when the file system is this full */
};

/* What the last sweep found (all zero before the first). */
struct retention_stats {
  uint64_t rrd_bytes;         /* allocated by the RRD tree */
  uint64_t events_bytes;      /* events.sqlite with its -wal and -shm */
  uint64_t fs_total, fs_free; /* the data_dir's file system */
  double fs_used_percent;
  bool warning;                    /* fs_used_percent >= warn_percent */
  uint64_t n_series;               /* .rrd files left */
  uint64_t removed, removed_total; /* by the last sweep / since start */
  double swept_at;                 /* wall time of the sweep */
};

/* One sweep at wall time now; *stats is filled in (removed_total adds to
 * what it held). Logs what it removes, and a warning when the disk is fuller
 * than the threshold. Returns VT_OK or VT_EIO (a file or directory that
 * could not be read or removed, logged). */
enum vt_status retention_sweep(const struct retention_conf *conf, double now,
                               struct retention_stats *stats);

#endif
