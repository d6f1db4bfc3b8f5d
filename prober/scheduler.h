/* SPDX-License-Identifier: MIT */
/* The probe's scheduler: runs every check of every target on libev timers,
 * each at its interval with a stable phase offset (so checks spread over
 * the interval and line up with the collector's RRD step); resolves each
 * target and fans tcp/http checks out to every address in its address set;
 * skips (and counts) a run that is still going when it is due again; and
 * measures its own lateness. Results go to an emit callback. */
#ifndef PROBE_SCHEDULER_H
#define PROBE_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

struct probe_ctx;
struct probe_conf;
struct sched;

/* Receives each result that should be reported (the hidden resolution of
 * targets without a dns check is not). res is valid during the call only. */
typedef void sched_emit_fn(const struct vt_result *res, void *arg);

/* Called once, from the loop, when a stopped scheduler has no run left, or
 * when a once-mode pass is complete. */
typedef void sched_idle_fn(void *arg);

struct sched_stats {
  uint64_t rounds;     /* check rounds started */
  uint64_t runs;       /* runs started (one per check and address) */
  uint64_t skipped;    /* runs skipped: the previous one was still going */
  uint64_t results;    /* results emitted */
  uint64_t late_n;     /* rounds measured for lateness */
  double late_sum_s;   /* sum of the rounds' lateness */
  double late_max_s;   /* worst lateness of a round */
  int running;         /* runs going now */
};

/* Builds the scheduler for conf (borrowed; must outlive it). Returns NULL
 * when out of memory. Nothing runs before sched_start. */
struct sched *sched_create(struct probe_ctx *ctx, const struct probe_conf *conf,
                           sched_emit_fn *emit, void *arg);

/* Takes over the address sets of old's targets with the same name and host
 * (so a reload keeps checking addresses that left the answer), and treats a
 * run still going in old (or in old's own predecessors) as busy, so a
 * reload never stacks two runs of one check against one address. old must
 * stay alive until sched_forget(s, old). */
void sched_adopt(struct sched *s, const struct sched *old);

/* Drops every reference s holds to old (call before destroying old). */
void sched_forget(struct sched *s, const struct sched *old);

/* Starts running. With once, every target is resolved, then every check
 * runs once against every address, and idle(arg) is called when all are
 * done; without, checks run on their schedule until sched_stop. */
void sched_start(struct sched *s, bool once, sched_idle_fn *idle, void *arg);

/* Starts no new run; idle(arg) is called (from the loop) once every running
 * run has finished (each is bounded by its timeout). */
void sched_stop(struct sched *s, sched_idle_fn *idle, void *arg);

/* Copies the counters. */
void sched_get_stats(const struct sched *s, struct sched_stats *out);

/* Cancels what still runs (no results are emitted for them) and frees.
 * s may be NULL. */
void sched_destroy(struct sched *s);

#endif
