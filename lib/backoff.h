/* SPDX-License-Identifier: MIT */
/* Retry delays: doubling from a minimum to a maximum, with jitter so that
 * peers restarted together (probes after a collector's outage) do not
 * retry in step. */
#ifndef VT_BACKOFF_H
#define VT_BACKOFF_H

#include <stdint.h>

/* Seeds a jitter source (xorshift64) from the clock and the PID; seed
 * mixes in something of the caller's (0 is fine). Never 0 afterwards. */
void vt_jitter_seed(uint64_t *state, uint64_t seed);

/* A uniform number in [0, 1) from state. */
double vt_jitter_next(uint64_t *state);

/* The delay before retry number attempt (1 for the first retry): min
 * doubled attempt - 1 times, at most max; then times a factor in
 * [0.75, 1.25) drawn from state, unless state is NULL. The caller caps
 * the result again if the jitter must not pass max. */
double vt_backoff_delay(uint64_t *state, unsigned attempt, double min,
                        double max);

#endif
