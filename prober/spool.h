/* SPDX-License-Identifier: MIT */
/* The probe's on-disk spool: every result is appended here, in the compact
 * wire form, before anything else happens to it, so a collector that is
 * down (or a probe that restarts) loses nothing. Append-only segment files
 * "seg-<first record number, 20 digits>.jsonl" in one directory, one record
 * per line, rotated by size; a lock file keeps two probes out of one spool.
 *
 * Durability follows the fsync policy: "always" loses nothing that was
 * appended; "interval" loses at most fsync_interval_s of results on a power
 * failure (a crash of the probe alone loses nothing: the data is in the page
 * cache); "never" leaves it to the kernel. A torn last line left by a crash
 * is cut off when the spool is opened. */
#ifndef PROBE_SPOOL_H
#define PROBE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "probe_config.h"
#include "vt_status.h"

struct spool;

#define SPOOL_SEGMENT_BYTES (4u << 20)

/* Opens (creating it if needed, mode 0750) the spool directory dir and
 * continues the newest segment. On failure logs why (with the path) and
 * returns NULL with *st set. */
struct spool *spool_open(const char *dir, enum probe_fsync policy,
                         size_t segment_bytes, enum vt_status *st);

/* Appends one record (a line without its newline). Syncs when the policy is
 * "always". Returns VT_EIO (logged once per failure streak) on failure. */
enum vt_status spool_append(struct spool *sp, const char *rec, size_t len)
    __attribute__((warn_unused_result));

/* Syncs pending appends (the "interval" policy calls this on a timer). */
enum vt_status spool_sync(struct spool *sp);

/* Number of the next record to be appended (records count from 0 over the
 * spool's life). */
uint64_t spool_next_record(const struct spool *sp);

/* Syncs and closes; sp may be NULL. */
void spool_close(struct spool *sp);

#endif
