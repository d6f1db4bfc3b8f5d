/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "backoff.h"

#include <time.h>
#include <unistd.h>

void vt_jitter_seed(uint64_t *state, uint64_t seed)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t s = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
               ((uint64_t)getpid() << 32) ^ seed;
  *state = s ? s : 1;
}

double vt_jitter_next(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return (double)(x >> 11) / (double)(1ull << 53);
}

double vt_backoff_delay(uint64_t *state, unsigned attempt, double min,
                        double max)
{
  double d = min;
  for (unsigned i = 1; i < attempt && d < max; i++)
    d *= 2;
  if (d > max)
    d = max;
  if (state)
    d *= 0.75 + 0.5 * vt_jitter_next(state);
  return d;
}
