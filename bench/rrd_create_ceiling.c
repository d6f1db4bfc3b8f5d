/* SPDX-License-Identifier: MIT */
/* rrd_create_ceiling.c: the first-sight ceiling of bench/storage_bench.sh.
 * A plain librrd loop that creates N files with the layout of TEMPLATE (a
 * file the collector created): one rrd_create_r2() after the other in one
 * thread, as the collector's first version did, no directories per
 * series, no JSON, no HTTP, no SQLite.
 *
 *   rrd_create_ceiling TEMPLATE DIR N STEP LAST_UP
 *
 * Prints {"files":N,"seconds":S,"cpu_s":C} (C: user + system CPU seconds,
 * getrusage). Exit 1 when a creation failed (why on stderr).
 * Build: cc -O2 -o rrd_create_ceiling rrd_create_ceiling.c -lrrd */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <rrd.h>

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  if (argc != 6) {
    fprintf(stderr, "usage: rrd_create_ceiling TEMPLATE DIR N STEP LAST_UP\n");
    return 2;
  }
  long n = atol(argv[3]);
  unsigned long step = strtoul(argv[4], NULL, 10);
  time_t last_up = (time_t)atoll(argv[5]);
  double t0 = mono_s(), c0 = cpu_s();
  char path[4096];
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "%s/s%06ld.rrd", argv[2], i);
    rrd_clear_error();
    if (rrd_create_r2(path, step, last_up, 1, NULL, argv[1], 0, NULL) != 0) {
      fprintf(stderr, "%s: %s\n", path, rrd_get_error());
      return 1;
    }
  }
  printf("{\"files\":%ld,\"seconds\":%.3f,\"cpu_s\":%.3f}\n", n, mono_s() - t0,
         cpu_s() - c0);
  return 0;
}
