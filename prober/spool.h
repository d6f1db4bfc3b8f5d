/* SPDX-License-Identifier: MIT */
/* The probe's on-disk spool: every result is appended here, in the compact
 * wire form, before anything else happens to it, so a collector that is
 * down (or a probe that restarts) loses nothing. Append-only segment files
 * "seg-<first record number, 20 digits>.jsonl" in one directory, one record
 * per line, rotated by size; a lock file keeps two probes out of one spool.
 *
 * Durability follows the fsync policy: "always" loses nothing that was
 * appended; "interval" loses at most fsync_interval_s of results on a power
 * failure; "never" leaves it to the kernel. The probe batches (spool_batch):
 * with "always" the records of one loop iteration go in one write (and one
 * sync) when the iteration ends; with the others records are held until
 * they make SPOOL_HOLD_BYTES or the oldest is SPOOL_HOLD_S old, so a probe
 * killed (SIGKILL, a crash) loses at most the last SPOOL_HOLD_S of results
 * (what was written is in the page cache). Held records are written before
 * anything reads them, syncs, rotates, reloads or exits. A torn last line
 * left by a crash is cut off when the spool is opened.
 *
 * Space: segments are at most 1/64 of the volume (1/16 of the cap), so a
 * small volume works and an acknowledged segment soon stops being the one
 * appended to. A record that would take the spool over its cap
 * (spool_set_cap), or that the volume has no room for, is handled by the
 * policy: drop the oldest segment (its records counted and logged), or
 * refuse the record. A failure streak is logged once, and its end with the
 * count of records lost; after a failed write the next record goes into a
 * new segment, so the uploader can delete the full one once it is
 * acknowledged, and the spool recovers by itself.
 *
 * Identity: the file "id" holds 32 random hex digits, created with the
 * spool and sent with every batch (docs/wire.md), so a collector tells a
 * rebuilt spool (numbered from 0 again) from a replay.
 *
 * Quarantine: records a collector refused are appended to "quarantine.jsonl"
 * (spool_quarantine), one JSON object per line with the reason. */
#ifndef PROBE_SPOOL_H
#define PROBE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "probe_config.h"
#include "vt_status.h"
#include "wire.h"

struct spool;
struct ev_loop;

#define SPOOL_SEGMENT_BYTES (4u << 20)
#define SPOOL_SEGMENT_MIN (16u << 10)
#define SPOOL_ID_HEXLEN VT_WIRE_SPOOL_HEXLEN
#define SPOOL_QUARANTINE_FILE "quarantine.jsonl"
/* Batching with fsync other than "always": held records are written when
 * they reach this many bytes, or when the oldest is this old. */
#define SPOOL_HOLD_BYTES (64u << 10)
#define SPOOL_HOLD_S 0.05

/* Counters since the spool was opened. */
struct spool_stats {
  uint64_t bytes;     /* size of the segments, as last counted */
  uint64_t lost;      /* records that could not be written (volume full, I/O) */
  uint64_t dropped;   /* records of oldest segments deleted for the cap */
  uint64_t refused;   /* records refused at the cap (policy "refuse") */
  uint64_t lost_held; /* of lost: records spool_append took (VT_OK) that
                         batching then could not write */
};

/* Opens (creating it if needed, mode 0750) the spool directory dir and
 * continues the newest segment; creates the spool's id on first use.
 * segment_bytes 0 sizes segments from the volume (1/64 of it, between
 * SPOOL_SEGMENT_MIN and SPOOL_SEGMENT_BYTES). On failure logs why (with the
 * path) and returns NULL with *st set. */
struct spool *spool_open(const char *dir, enum probe_fsync policy,
                         size_t segment_bytes, enum vt_status *st);

/* Caps the segments at max_bytes in all (0: no cap but the volume), with
 * full saying what happens to a record that does not fit (also when the
 * volume is full). Segments shrink to a 16th of the cap. */
void spool_set_cap(struct spool *sp, uint64_t max_bytes,
                   enum probe_spool_full full);

/* Appends one record (a line without its newline). Syncs when the policy is
 * "always". Returns VT_EFULL when the cap refused it, VT_EIO when it could
 * not be written (each logged once per streak, counted in spool_stats).
 * Batching (spool_batch): the cap's verdict comes at once, the write (and
 * the sync of "always") later, as spool_batch says; a record that cannot
 * be written then is counted in spool_stats' lost and logged the same way. */
enum vt_status spool_append(struct spool *sp, const char *rec, size_t len)
    __attribute__((warn_unused_result));

/* Batches appends into few writes, on loop. With fsync "always", the
 * appends of one iteration: an ev_prepare watcher writes (and syncs) them
 * before the loop waits again, so nothing appended is lost by the wait.
 * With "interval" and "never", appends coalesce over iterations: they are
 * written once they hold SPOOL_HOLD_BYTES, or by an ev_timer when the
 * oldest is SPOOL_HOLD_S old (about 20 writes a second at any rate instead
 * of one per iteration; each write costs the file system an inode update
 * and a block reservation), so a probe killed meanwhile loses at most
 * SPOOL_HOLD_S of results. spool_flush, spool_sync, spool_close and a
 * spool_read of a following reader (spool_reader_follow) write them first.
 * Neither watcher keeps the loop alive. The loop must outlive sp. */
void spool_batch(struct spool *sp, struct ev_loop *loop);

/* Writes the records batching holds now (a write that fails is counted and
 * logged as spool_append says). */
void spool_flush(struct spool *sp);

/* Writes the records batching holds and syncs what was appended (the
 * "interval" policy calls this on a timer). */
enum vt_status spool_sync(struct spool *sp);

/* Number of the next record to be appended (records count from 0 over the
 * spool's life; those batching holds count). */
uint64_t spool_next_record(const struct spool *sp);

/* The spool's id (SPOOL_ID_HEXLEN lowercase hex digits), owned by sp. */
const char *spool_id(const struct spool *sp);

/* The counters, and the segments' size counted again when the directory
 * changed. */
void spool_get_stats(struct spool *sp, struct spool_stats *out);

/* Reads the id of the spool in dir into out (SPOOL_ID_HEXLEN + 1 bytes).
 * Returns VT_ENOTFOUND when it has none yet, VT_EINVAL when the file does
 * not hold one, VT_EIO when unreadable. Does not log. */
enum vt_status spool_id_load(const char *dir, char *out)
    __attribute__((warn_unused_result));

/* The segments of the spool in dir, by first record, oldest first, into a
 * new array (*segs, caller frees; NULL when there are none). Returns VT_EIO
 * (errno kept) or VT_ENOMEM. Does not log. */
enum vt_status spool_list(const char *dir, uint64_t **segs, size_t *n)
    __attribute__((warn_unused_result));

/* The file name of the segment starting at record first. */
void spool_segment_file(uint64_t first, char *out, size_t size);

/* The one parser of segment file names: "seg-", exactly 20 decimal digits
 * and ".jsonl", nothing else (no sign, no blank, no other length) and a
 * number that fits in 64 bits, so that a name it accepts is the name
 * spool_segment_file gives *first. False for any other name. */
bool spool_segment_parse(const char *name, uint64_t *first);

/* ---- reading (the uploader) ----------------------------------------------
 * The spool's records read back in order, in batches of consecutive
 * records, by a process that may run beside the one appending (only whole
 * lines are records), and the segments every reader is done with deleted.
 * Reading is plain blocking I/O: a batch is at most a few MiB, normally
 * just written and still in the page cache. */

struct spool_reader;

/* Where record `record` starts: byte off of the segment starting at record
 * seg. A hint that saves reading a segment from its start for every batch. */
struct spool_pos {
  bool valid;
  uint64_t seg;
  uint64_t record;
  off_t off;
};

/* Records [from, to) the read stepped over; reading went on with next. */
struct spool_skip {
  bool set;
  uint64_t from, to, next;
};

/* One batch: what to read, and what was read. */
struct spool_batch {
  uint64_t from;      /* the first record wanted */
  size_t max_records; /* at most this many records (>= 1) */
  size_t max_bytes;   /* and this many bytes, one record at least */

  uint64_t first; /* the first record read: from, or where a skip went on */
  uint64_t count; /* records [first, first + count) were appended to out */
  bool full;      /* a limit ended the batch: more records wait */
  struct spool_pos end; /* where the read stopped (record first + count, or
                           the spool's end when count is 0) */
  /* Records no longer in the spool (deleted at its cap, or wanted from
   * before its oldest segment): [from, to), going on with the oldest. */
  struct spool_skip gone;
  /* Records missing between two segments: [from, to). */
  struct spool_skip hole;
  /* from lies past the spool's end (to, the number of the record the
   * spool appends next, as far as the segment files show): a position
   * from another spool, or a spool put back from a backup. Nothing was
   * read; next is the oldest record the spool holds. */
  struct spool_skip past_end;
};

/* A reader of the spool in dir (which exists). On failure logs why and
 * returns NULL with *st set (VT_EIO, VT_ENOMEM). */
struct spool_reader *spool_reader_open(const char *dir, enum vt_status *st);

/* Tells rd that sp (the same directory, in this process) appends to it:
 * every spool_read writes first what sp's batching holds, so a read sees
 * every record appended. sp must outlive rd, or be unset (NULL) before it
 * is closed. */
void spool_reader_follow(struct spool_reader *rd, struct spool *sp);

/* Reads the batch b->from on (hint, when valid and in the same segment and
 * at or before b->from, says where to start reading), appending each record
 * with its newline to out. Fills the out fields of b. Returns VT_EIO (a
 * segment unreadable, a record longer than 16 MiB) or VT_ENOMEM after
 * logging why; the records read so far stay in out. */
enum vt_status spool_read(struct spool_reader *rd, const struct spool_pos *hint,
                          struct spool_batch *b, struct vt_buf *out)
    __attribute__((warn_unused_result));

/* Deletes every segment whose records all lie below record below, never
 * the newest (the spool appends to it). Logs each deletion, and a failure
 * (then stops). */
void spool_release(struct spool_reader *rd, uint64_t below);

/* Frees the reader; rd may be NULL. */
void spool_reader_close(struct spool_reader *rd);

/* Appends record number rec (len bytes) of the spool in dir to its
 * quarantine file with why and who refused it, as one JSON line, and syncs
 * it. Returns VT_EIO (errno kept) or VT_ENOMEM. Does not log. */
enum vt_status spool_quarantine(const char *dir, uint64_t rec, const char *line,
                                size_t len, const char *who, const char *why)
    __attribute__((warn_unused_result));

/* The highest record number who set aside in the quarantine file of the
 * spool in dir, into *max; false when there is none (or no file). */
bool spool_quarantine_max(const char *dir, const char *who, uint64_t *max);

/* Syncs and closes; sp may be NULL. */
void spool_close(struct spool *sp);

#endif
