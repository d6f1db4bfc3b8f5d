/* SPDX-License-Identifier: MIT */
/* The client of rrdcached's text protocol (rrdcached(1)), for the
 * collector's RRD store and vantage-graph's reads: one connection on a
 * non-blocking socket with a timeout, reconnected once when the daemon went
 * away; BATCH of UPDATEs (and CREATEs over TCP) and FLUSH. Not
 * thread-safe. */
#ifndef VT_RRDCACHED_H
#define VT_RRDCACHED_H

#include <stdbool.h>
#include <stddef.h>

#include "vt_status.h"

struct rrdcached;

struct rrdcached_conf {
  /* "unix:/path" or "/path" for a unix socket; "host:port", "host" or
   * "[v6addr]:port" over TCP (port 42217 when not given). */
  const char *address;
  const char *root;    /* the RRD tree: absolute, symlinks resolved */
  long step_s;         /* of the files CREATE makes */
  char *const *layout; /* DS and RRA definitions for CREATE; borrowed, */
  int n_layout;        /* ... so they must outlive the connection */
  size_t relpath_max;  /* longest relpath the caller will pass */
  size_t value_max;    /* longest value text the caller will pass */
  double io_timeout_s; /* bound on each wait for the daemon, > 0 */
  bool reader;         /* a reader, which fetches from the files when the daemon
                          fails: its failures are logged at debug level, a FLUSH
                          the daemon refuses as a warning */
};

/* One value for rrdcached_update; the strings are borrowed for the call. */
struct rrdcached_value {
  const char *relpath; /* the file, below root */
  long ts;
  const char *text;    /* "ts:v:...:v", as rrdupdate(1) takes it */
  char *const *layout; /* CREATE's definitions for this file; NULL = */
  int n_layout;        /* ... those of the conf */
};

/* Parses conf->address, checks that the longest line the store can make
 * fits rrdcached's, and connects. On failure logs why and returns NULL with
 * *st set (VT_EINVAL, VT_EIO, VT_ENOMEM). Free with rrdcached_close. */
struct rrdcached *rrdcached_open(const struct rrdcached_conf *conf,
                                 enum vt_status *st);

/* Disconnects and frees; c may be NULL. */
void rrdcached_close(struct rrdcached *c);

/* Whether the daemon creates missing files (CREATE, over TCP, names
 * relative to its -b directory). Over a unix socket it shares our file
 * system and the caller creates them before rrdcached_update. */
bool rrdcached_creates_files(const struct rrdcached *c);

/* Writes the n values of v, sorted by relpath and then ts with no ts twice
 * per file, as one BATCH, and a second one for what the daemon sent back: a
 * value at or before a file's last update is skipped as a re-send (and the
 * values after it go again), and over TCP a missing file is created. Each
 * file that fails is passed once to file_error (not NULL) with the
 * daemon's message; a failure of the daemon itself is logged here, once
 * per outage. Returns VT_OK, VT_EIO (some file or the daemon failed) or
 * VT_ENOMEM. */
enum vt_status rrdcached_update(
    struct rrdcached *c, const struct rrdcached_value *v, size_t n,
    void (*file_error)(void *arg, const char *relpath, const char *msg),
    void *arg) __attribute__((warn_unused_result));

/* Asks the daemon to write relpath to disk now. Returns VT_OK, VT_ENOTFOUND
 * when it has no such file, or VT_EIO (logged). */
enum vt_status rrdcached_flush(struct rrdcached *c, const char *relpath);

/* What the daemon's STATS command reports (rrdcached(1)); -1 for a value
 * it did not send. Daemon-wide: other clients of the daemon count too. */
struct rrdcached_stats {
  long long queue_length;     /* files waiting for the writer threads */
  long long updates_received; /* UPDATE values received */
  long long updates_written;  /* file writes done */
  long long data_sets_written;
  long long tree_nodes;    /* files in the cache */
  long long journal_bytes; /* written to the journal */
};

/* Asks the daemon for its STATS. Returns VT_OK, VT_EIO (the daemon failed,
 * logged once per outage) or VT_ENOMEM. */
enum vt_status rrdcached_get_stats(struct rrdcached *c,
                                   struct rrdcached_stats *out);

#endif
