/* SPDX-License-Identifier: MIT */
/* The quorum engine: follows the failure streaks of tcp/http/client results
 * and reports each probe's confirmed views (docs/collector.md, "Quorum");
 * quorum_sweep turns stored views into outage and partial segments. It
 * leaves storage to its owner (events.c): views and changed streaks go out
 * through struct quorum_ops, and saved streaks come back in through
 * quorum_load_streak. Internal to the collector. */
#ifndef COLLECTOR_QUORUM_H
#define COLLECTOR_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt_status.h"

struct quorum;
struct vt_buf;
struct vt_result;

#define QUORUM_NAME_LEN 64 /* names of probes, targets, checks; addresses */

/* A sorted set of names (probes, addresses), each shorter than
 * QUORUM_NAME_LEN. Embedded by value; all zero is the empty set. */
struct quorum_names {
  char (*v)[QUORUM_NAME_LEN];
  size_t n, cap;
};

/* Frees the names of s (not NULL) and leaves it empty. */
void quorum_names_cleanup(struct quorum_names *s);

/* Adds a copy of name unless present, keeping s sorted. Returns VT_EINVAL
 * when name does not fit QUORUM_NAME_LEN, VT_ENOMEM (logged). */
enum vt_status quorum_names_add(struct quorum_names *s, const char *name)
    __attribute__((warn_unused_result));

/* Adds the comma-separated names of text ("" adds nothing); fails as
 * quorum_names_add, possibly after adding some. */
enum vt_status quorum_names_parse(struct quorum_names *s, const char *text)
    __attribute__((warn_unused_result));

/* Resets out, then writes the names of s joined by commas into it. Returns
 * VT_ENOMEM (logged). */
enum vt_status quorum_names_join(const struct quorum_names *s,
                                 struct vt_buf *out)
    __attribute__((warn_unused_result));

/* A probe's confirmed view of an entity (an address, or a client view of
 * key = check name): it saw it down from start (the first failure of a
 * streak of `confirm` failures of one check) to end (the first ok result
 * after it; NaN while the streak goes on). The strings are borrowed. */
struct quorum_down {
  const char *target, *key, *check, *probe;
  bool client;
  double start, end;
  bool retired; /* ended because the probe stopped checking the address */
};

/* Failures in a row of one check of one probe on one address, or on a
 * client view (ip ""), as stored. The strings are borrowed for the call. */
struct quorum_streak {
  const char *target, *check, *ip, *probe;
  double start;   /* ts of the first failure of the streak; 0 when ok */
  int count;      /* consecutive failures; 0 = the last result was ok */
  double last_ts; /* ts of the last result applied */
};

/* Storage of the engine's findings, called from quorum_result and
 * quorum_flush with the arg given to quorum_create. Each returns VT_OK or a
 * status it has logged; the engine passes that up unchanged. The verdicts
 * (outage, partial and host rows) are built from the stored views by the
 * owner (events.c, with quorum_sweep), so that they depend on the results'
 * times only, never on the order they arrived in. */
struct quorum_ops {
  /* Stores a view that began (end NaN) or ended (same start, end set). */
  enum vt_status (*down_put)(void *arg, const struct quorum_down *d);
  /* Stores one streak changed since the last quorum_flush. */
  enum vt_status (*streak_put)(void *arg, const struct quorum_streak *s);
};

/* Creates an empty engine that stores through ops (copied) with arg; the
 * settings are as for quorum_set. Returns NULL when out of memory (logged);
 * free with quorum_destroy. */
struct quorum *quorum_create(int quorum, int confirm, double silence_s,
                             const struct quorum_ops *ops, void *arg);

/* Frees q and all its state; q may be NULL. */
void quorum_destroy(struct quorum *q);

/* Replaces the settings: quorum probes to call an address down, confirm
 * consecutive failures for a probe to see it down (both at least 1), and
 * silence_s after which a probe's last result no longer counts (kept when
 * not above 0). Rows already open stay as they are until a probe's view of
 * their address changes. */
void quorum_set(struct quorum *q, int quorum, int confirm, double silence_s);

/* A retirement (r->retired: the probe no longer checks r->ip) ends the
 * probe's views of that address at its last result there, with retired
 * set, and resets its streaks. */
/* Applies one tcp, http or client result r, opening, updating and closing
 * rows through the ops. Results of one probe must come in ts order per
 * (target, check, address); an older one is ignored. A tcp/http result
 * without an address is ignored. Returns VT_OK, VT_EINVAL for a name longer
 * than QUORUM_NAME_LEN allows, VT_ENOMEM, or a status of the ops; after a
 * failure, the caller reloads the engine (quorum_clear, quorum_load_*). */
enum vt_status quorum_result(struct quorum *q, const struct vt_result *r)
    __attribute__((warn_unused_result));

/* Hands every streak changed since the last flush to ops->streak_put, then
 * forgets that they changed. On a failure they stay marked, and the status
 * of streak_put is returned. */
enum vt_status quorum_flush(struct quorum *q)
    __attribute__((warn_unused_result));

/* Forgets all state (streaks, open rows, host states, counts), before a
 * reload. The settings and the ops stay. */
void quorum_clear(struct quorum *q);

/* Loads one saved streak s (ip "" for a client view). Returns VT_EINVAL
 * when a name is too long (the streak is not kept), VT_ENOMEM. */
enum vt_status quorum_load_streak(struct quorum *q,
                                  const struct quorum_streak *s)
    __attribute__((warn_unused_result));

/* One probe's view in a sweep: down over [start, end); end INFINITY while
 * open. probe is borrowed. */
struct quorum_iv {
  const char *probe;
  double start, end;
  bool retired; /* ended because the address left the probe's checks */
};

/* A verdict segment: an outage (at least quorum probes saw the entity down
 * all along) or a partial event (some, fewer than quorum), over
 * [start, end), end INFINITY while open; probes are every probe that saw
 * it down in the segment, seen_by the most at once. */
struct quorum_seg {
  bool outage;
  bool retired; /* ended by a view that ended in a retirement */
  double start, end;
  struct quorum_names probes;
  int seen_by;
};

/* Computes the segments of the n views iv of one entity, in time order, into
 * a new array *out of *nout (free with quorum_segs_free). The result depends
 * on the set of views only, never on their order. A probe seen down by two
 * checks at once counts once. Returns VT_OK or VT_ENOMEM (logged). */
enum vt_status quorum_sweep(const struct quorum_iv *iv, size_t n, int quorum,
                            struct quorum_seg **out, size_t *nout)
    __attribute__((warn_unused_result));

/* Frees n segments of quorum_sweep; segs may be NULL. */
void quorum_segs_free(struct quorum_seg *segs, size_t n);

#endif
