/* SPDX-License-Identifier: MIT */
/* The collector's events in SQLite (WAL): probes and their record
 * numbering (exactly-once ingest), series counters, DNS answer changes,
 * the quorum engine's outages and partial events, probe silences, and
 * maintenance windows. Schema and rules: docs/collector.md. All writes of
 * one batch happen between events_begin and events_commit. */
#ifndef COLLECTOR_EVENTS_H
#define COLLECTOR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

struct events;

struct events_conf {
  const char *path; /* the SQLite file; its directory must exist */
  int quorum;       /* probes needed to call an address down */
  int confirm;      /* consecutive failures for a probe to see it down */
  double silence_s; /* a probe silent this long gets a "silent" event */
  double window_s;  /* re-evaluation window; 0 = EVENTS_WINDOW_S */
};

/* The default of the re-evaluation window (quorum.window): results this far
 * behind the latest result time still re-evaluate the verdicts and silences
 * they touch (a day-long collector outage and its catch-up); verdicts that
 * ended before that are final. An older result is still stored (its series
 * counts, its RRD file as RRD allows) but changes no verdict that ended
 * before the window; the collector logs how many such results a batch had.
 * The probes' views and silences older than the window are pruned
 * (events_prune). */
#define EVENTS_WINDOW_S (2 * 86400.0)

/* outages.end_reason of a verdict that ended because its address left the
 * probes' check sets (docs/wire.md, "Retirement"); NULL means recovered. */
#define EVENTS_NO_LONGER_CHECKED "no longer checked"

struct events_maint {
  const char *target;
  double start, end;
  const char *reason;
};

/* Opens (creating the schema if needed) and loads the open outages and the
 * quorum state. Logs why on failure and returns NULL with *st set. */
struct events *events_open(const struct events_conf *conf, enum vt_status *st);
void events_close(struct events *ev); /* ev may be NULL */

/* Replaces the quorum settings (reload). */
void events_set_quorum(struct events *ev, int quorum, int confirm,
                       double silence_s);

/* Replaces the re-evaluation window (reload); not above 0 keeps it. */
void events_set_window(struct events *ev, double window_s);

/* Deletes what can no longer change a verdict or a silence: probes' views
 * (`downs`) that ended, retirements (`retired`) and result spans (`covers`)
 * older than the window. Called from events_tick at most every few
 * minutes; *n (may be NULL) gets the number of rows deleted. */
enum vt_status events_prune(struct events *ev, uint64_t *n)
    __attribute__((warn_unused_result));

/* Replaces the maintenance windows (config load and reload). */
enum vt_status events_set_maintenance(struct events *ev,
                                      const struct events_maint *m, size_t n)
    __attribute__((warn_unused_result));

/* Transaction of one batch. */
enum vt_status events_begin(struct events *ev)
    __attribute__((warn_unused_result));
enum vt_status events_commit(struct events *ev)
    __attribute__((warn_unused_result));
void events_rollback(struct events *ev);

/* Next record number expected from probe (0 for a new probe). */
enum vt_status events_probe_next(struct events *ev, const char *probe,
                                 uint64_t *next)
    __attribute__((warn_unused_result));

/* Records that probe's records below next are stored, and that it was seen
 * at now (first_seen, last_seen; "back" after a silence only for a probe
 * that never sent a result: the others are back by their results' times,
 * events_tick). In the batch's transaction. */
enum vt_status events_probe_seen(struct events *ev, const char *probe,
                                 uint64_t next, double now)
    __attribute__((warn_unused_result));

/* Next record number expected from the spool spool (its id, X-Vantage-Spool)
 * of probe: the spool's own when it is known (*known), else the probe's
 * number from before it sent spool ids when this is its first spool, else
 * 0 (a rebuilt spool numbers from 0 again). */
enum vt_status events_spool_next(struct events *ev, const char *probe,
                                 const char *spool, uint64_t *next, bool *known)
    __attribute__((warn_unused_result));

/* Records that spool's records below next are stored (never goes back).
 * In the batch's transaction, next to events_probe_seen. */
enum vt_status events_spool_seen(struct events *ev, const char *probe,
                                 const char *spool, uint64_t next, double now)
    __attribute__((warn_unused_result));

/* Counts one stored result of the series (target, check name, key, probe)
 * at file path (relative); creates the series row on first sight. */
enum vt_status events_series_result(struct events *ev, const char *target,
                                    enum vt_check_type type,
                                    const char *check_name, const char *key,
                                    const char *probe, const char *path,
                                    double ts)
    __attribute__((warn_unused_result));

/* Addresses seen before in share series of (target, check name, probe), for
 * writing share = 0 to those not in a new answer. Fills up to max entries of
 * out and returns the count. */
size_t events_known_addresses(struct events *ev, const char *target,
                              const char *check_name, const char *probe,
                              char (*out)[VT_IP_STRLEN], size_t max);

/* Feeds one stored result to the DNS change tracker (dns results) and the
 * quorum engine (tcp, http and client results). Results of one probe must
 * come in ts order per (target, check, address). */
enum vt_status events_result(struct events *ev, const struct vt_result *r)
    __attribute__((warn_unused_result));

/* Periodic work (silences, pruning); call every few seconds with the wall
 * time. A probe not heard from for silence_s (and none within silence_s of
 * the first tick: the collector may have been down) is silent from its last
 * result's time plus silence_s; silences are then kept by event time (see
 * docs/collector.md, "Silences by event time"). */
enum vt_status events_tick(struct events *ev, double now)
    __attribute__((warn_unused_result));

/* Verdict changes. Outage, partial and host rows are rebuilt at each commit
 * from the probes' stored views (docs/collector.md, "Verdicts by event
 * time") and reach the outages table through three static functions of
 * events.c, and only through them: events_verdict_open (a new row, open or
 * already closed), events_verdict_change (its end, probes, counts or end
 * reason changed; an end may also be withdrawn when later results show the
 * outage went on) and events_verdict_delete (later results showed the row
 * never happened as stored: it merged into another or moved). They run
 * inside the batch's transaction; hooks for alerts belong there. */

/* For /healthz: checks that the database file is still an SQLite
 * database and answers a query (within the short busy timeout). Returns
 * VT_OK, VT_EBUSY (locked by another process) or VT_EIO, with the reason
 * in why. */
enum vt_status events_health(struct events *ev, char *why, size_t why_len);
/* Observer of verdict changes (alerts, collector/alert.c). One call per
 * row opened, changed, closed or dropped and per probe silent or back, made
 * inside the transaction; then EVENTS_NOTE_COMMIT or EVENTS_NOTE_ROLLBACK
 * says whether the calls since the last of those happened. Strings are
 * borrowed for the call. */
enum events_note_kind {
  EVENTS_NOTE_OPEN,   /* a row opened (outage, partial, host state) */
  EVENTS_NOTE_UPDATE, /* its probes or end changed; end NaN: open (again
                       * when reopened: late results withdrew its end) */
  EVENTS_NOTE_DROP,   /* a partial event of no duration deleted */
  EVENTS_NOTE_PROBE_SILENT,
  EVENTS_NOTE_PROBE_BACK,
  EVENTS_NOTE_RESULT, /* a stored result (cert expiry, DNS `expect`) */
  EVENTS_NOTE_COMMIT,
  EVENTS_NOTE_ROLLBACK,
};
struct events_note {
  enum events_note_kind kind;
  int64_t id;         /* row id (rows only) */
  const char *target; /* rows */
  const char *ip;     /* NULL for a host row */
  const char *row;    /* "outage" or "partial" */
  const char *state;  /* host rows: "degraded" or "down"; else NULL */
  const char *probes; /* rows: comma-separated; probe notes: the probe */
  double start, end;  /* end NaN while open; probe notes: start = when */
  int seen_by, of_probes;
  bool reopened;  /* UPDATE of an ended row whose end late results withdrew */
  double old_end; /* UPDATE: the end it had (NaN while it was open) */
  const struct vt_result *result; /* EVENTS_NOTE_RESULT */
};
typedef void events_observer_fn(void *arg, const struct events_note *n);
void events_set_observer(struct events *ev, events_observer_fn *fn, void *arg);

/* Counts, for tests and /healthz. */
struct events_stats {
  uint64_t batches, results, outages_open, partial_open;
};
void events_get_stats(struct events *ev, struct events_stats *out);

#endif
