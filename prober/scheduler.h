/* SPDX-License-Identifier: MIT */
/* The probe's scheduler: runs every check of every target on libev timers,
 * each at its interval with a stable phase offset (so checks spread over
 * the interval and line up with the collector's RRD step); resolves each
 * target and fans tcp/http checks out to every address in its address set;
 * skips (and counts) a run that is still going when it is due again; and
 * measures its own lateness. Runs that open connections wait for the
 * budget of checks in flight (global and per address) in deadline order;
 * one that cannot start within its round is skipped (counted and logged,
 * no result: the probe's gap, never the target's failure). Results go to an
 * emit callback. */
#ifndef PROBE_SCHEDULER_H
#define PROBE_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

struct ev_loop;
struct probe_ctx;
struct probe_conf;
struct sched;

/* Receives each result that should be reported (the hidden resolution of
 * targets without a dns check is not). res is valid during the call only. */
typedef void sched_emit_fn(const struct vt_result *res, void *arg);

/* Called once, from the loop, when a stopped scheduler has no run left, or
 * when a once-mode pass is complete. */
typedef void sched_idle_fn(void *arg);

/* Lateness of run starts (start time minus the round's scheduled time), in
 * buckets growing by 2^(1/4) from 0.1 ms: bucket i counts lateness up to
 * sched_late_bucket_upper_s(i); the last one counts everything above. */
#define SCHED_LATE_BUCKETS 84

struct sched_stats {
  uint64_t rounds;         /* check rounds started */
  uint64_t runs;           /* runs started (one per check and address) */
  uint64_t skipped;        /* runs skipped, both kinds below */
  uint64_t skipped_busy;   /* the previous run was still going */
  uint64_t skipped_budget; /* queued, but could not start within its round
                              (in-flight budget or per-address limit) */
  uint64_t results;        /* results emitted */
  uint64_t late_n;         /* runs measured for lateness */
  double late_sum_s;       /* sum of the runs' lateness */
  double late_max_s;       /* worst lateness of a run */
  uint64_t late_hist[SCHED_LATE_BUCKETS];
  int running;       /* runs going now (all kinds) */
  int in_flight;     /* of those, runs holding the budget (tcp/http/client) */
  int queued;        /* runs waiting for the budget */
  int max_in_flight; /* the budget's limits now */
  int max_per_address;
};

/* The budget of checks in flight, shared by every scheduler of one probe
 * (a reload runs the old and the new one side by side): a global limit and
 * a per-address limit, with a queue in deadline order. */
struct sched_budget;

/* The default global limit for a process whose open-files limit is nofile:
 * half of it, less a reserve for the spool, uploads and DNS, within
 * [16, 4096]. */
int sched_default_max_in_flight(unsigned long long nofile);

/* Creates a budget on loop with conf's limits (probe.max_in_flight, 0 =
 * sched_default_max_in_flight of the open-files limit now;
 * probe.max_per_address). NULL when out of memory. */
struct sched_budget *sched_budget_create(struct ev_loop *loop,
                                         const struct probe_conf *conf);

/* Takes conf's limits (after a reload); runs already going are not
 * affected. */
void sched_budget_set_limits(struct sched_budget *b,
                             const struct probe_conf *conf);

/* Frees b, which no scheduler may use any more. b may be NULL. */
void sched_budget_destroy(struct sched_budget *b);

/* Upper bound of lateness bucket i, in seconds (INFINITY for the last). */
double sched_late_bucket_upper_s(int i);

/* The q-quantile (0 < q <= 1) of the lateness histogram in st, in seconds:
 * the upper bound of the bucket that holds it (at most 19 % above the true
 * value), or st->late_max_s when that is smaller; 0 when nothing was
 * measured. */
double sched_late_quantile_s(const struct sched_stats *st, double q);

/* Builds the scheduler for conf (borrowed; must outlive it). Its tcp,
 * http and client runs share ctx->budget (when NULL, the scheduler makes
 * its own from conf's limits). Returns NULL when out of memory. Nothing
 * runs before sched_start. */
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
