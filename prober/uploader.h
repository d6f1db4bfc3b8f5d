/* SPDX-License-Identifier: MIT */
/* The probe's uploader: sends the spool to one or more collectors
 * (docs/wire.md), each at its own position, on the libev loop. Every
 * collector gets every record, in signed batches of consecutive records.
 * Its position (the next record to send) survives restarts in the spool
 * directory as "cursor-<first 16 hex digits of SHA-256(url)>" (the decimal
 * number and a newline). Segments whose records every collector has
 * acknowledged are deleted, never the newest (the spool appends to it). A
 * collector that is down is retried with exponential backoff; the probe
 * keeps checking and spooling meanwhile.
 *
 * A record the collector refuses (400 naming its line) is set aside in the
 * spool's quarantine file with the reason, counted and logged, and the
 * records behind it go on. Every batch carries the spool's id (the file
 * "id", docs/wire.md). Each reply's Date is compared with our clock, and a
 * probe clock more than UPLOADER_CLOCK_SKEW_S off is reported loudly. */
#ifndef PROBE_UPLOADER_H
#define PROBE_UPLOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vt_status.h"

struct ev_loop;
struct curl_loop;
struct probe_collector_conf;
struct spool;
struct uploader;

/* Called once, from the loop, when a stopped uploader has no request left.
 * It may destroy the uploader. */
typedef void uploader_idle_fn(void *arg);

/* Per-collector counters, for tests and statistics. */
struct uploader_stats {
  uint64_t cursor;      /* next record to send (acknowledged below it) */
  uint64_t batches;     /* batches acknowledged (200) */
  uint64_t records;     /* records in those batches */
  uint64_t failures;    /* failed requests (any cause, 413 included) */
  size_t batch_max;     /* current batch size (halved by 413) */
  uint64_t quarantined; /* records the collector refused, set aside */
  double clock_skew_s;  /* our clock minus the collector's (its Date) */
  const char *state;    /* "idle", "linger", "sending", "backoff", "stopped" */
  unsigned fail_streak; /* failed requests since the last success */
};

/* Creates the uploader for the n collectors in c (n >= 1), reading the
 * spool in spool_dir (which the spool has already created) and signing as
 * probe_name. Everything in c and both strings are copied (keys included),
 * so the caller may free its configuration at once; loop and cl are
 * borrowed and must outlive the uploader. Reads each collector's cursor
 * file and schedules a first send, from the loop, of what waits in the
 * spool. On failure returns NULL with *st set (VT_ENOMEM, VT_EIO for the
 * spool directory, VT_ELIB), after logging why. */
struct uploader *uploader_create(struct ev_loop *loop, struct curl_loop *cl,
                                 const char *spool_dir, const char *probe_name,
                                 const struct probe_collector_conf *c, size_t n,
                                 enum vt_status *st);

/* The spool that appends to spool_dir in this process (or NULL): what its
 * batching holds is written before each read, so a batch takes every
 * record appended (spool_reader_follow). sp must outlive up. */
void uploader_follow(struct uploader *up, struct spool *sp);

/* Tells the uploader that records were appended to the spool: a collector
 * that is idle sends soon (after a linger of a second that lets a round's
 * results share one request); one that is sending picks them up with its next
 * batch, one that is backing off with its retry. Cheap: no I/O here. up may
 * be NULL (no collector configured). */
void uploader_kick(struct uploader *up);

/* Starts no new request. A request in flight finishes (within its timeout)
 * and its acknowledgement is still recorded; then idle(arg) is called once,
 * from the loop (also when nothing was in flight). idle may be NULL. */
void uploader_stop(struct uploader *up, uploader_idle_fn *idle, void *arg);

/* Like uploader_stop, but first sends what the spool still holds: batch
 * after batch while the collectors acknowledge, for at most seconds (a
 * request in flight then still ends within its timeout). A collector that
 * fails, or was already backing off, is not waited for: its records stay
 * in the spool for the next start. idle(arg) runs from the loop once every
 * collector has stopped. */
void uploader_drain(struct uploader *up, double seconds, uploader_idle_fn *idle,
                    void *arg);

/* Copies collector i's counters into *out (i < n of uploader_create). */
void uploader_get_stats(const struct uploader *up, size_t i,
                        struct uploader_stats *out);

/* Cancels a request in flight (the next uploader sends its batch again;
 * the collector drops what it already has), stops every watcher, wipes the
 * keys and frees. up may be NULL. May be called from the idle callback. */
void uploader_destroy(struct uploader *up);

#endif
