/* SPDX-License-Identifier: MIT */
/* rrd_ceiling.c: the ceiling of bench/collector_bench.sh. A plain librrd
 * update loop over the files the collector created: for each round, for
 * each file (in the order of the list, which is the collector's sorted
 * order), one rrd_updatex_r() with one value, formatted the way the
 * collector formats it, with RRD_SKIP_PAST_UPDATES as the collector passes.
 * No JSON, no HTTP, no SQLite, no directory walk, no fsync.
 *
 *   rrd_ceiling LISTFILE ROUNDS FIRST_TS STEP [LIMIT_S [DS_MASK]]
 *
 * LISTFILE: absolute paths, one per line. Round r (0-based) stamps its
 * values FIRST_TS + r * STEP. Prints one JSON object per round on stdout:
 *   {"round":r,"ts":T,"files":N,"failed":F,"seconds":S,"cpu_s":C}
 * (C: user + system CPU seconds of the round, from getrusage)
 * and the first failures on stderr. Stops early (exit 1) after LIMIT_S
 * seconds in total (default 120). Exit 1 when any update failed.
 * Build: cc -O2 -o rrd_ceiling rrd_ceiling.c -lrrd */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <rrd.h>

/* CPU seconds (user + system) of this process so far. */
static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_mono(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The collector's rrd_store_format(): "%.15g", or "%.17g" when that does
 * not read back, "U" for unknown. */
static size_t fmt_value(char *out, size_t size, size_t len, double v)
{
  if (!isfinite(v))
    return len + (size_t)snprintf(out + len, size - len, ":U");
  int n = snprintf(out + len, size - len, ":%.15g", v);
  if (strtod(out + len + 1, NULL) != v)
    n = snprintf(out + len, size - len, ":%.17g", v);
  return len + (size_t)n;
}

int main(int argc, char **argv)
{
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: rrd_ceiling LISTFILE ROUNDS FIRST_TS STEP "
                    "[LIMIT_S [DS_MASK]]\n");
    return 2;
  }
  long rounds = strtol(argv[2], NULL, 10);
  long first_ts = strtol(argv[3], NULL, 10);
  long step = strtol(argv[4], NULL, 10);
  double limit_s = argc > 5 ? strtod(argv[5], NULL) : 120.0;
  /* The data sources the files hold (bits in the order below; lean tcp
   * files: 0x1b), all seven by default. */
  unsigned long mask = argc > 6 ? strtoul(argv[6], NULL, 0) : 0x7f;
  if (rounds < 1 || rounds > 1000 || first_ts <= 0 || step < 1) {
    fprintf(stderr, "rrd_ceiling: bad ROUNDS, FIRST_TS or STEP\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  size_t n = 0, cap = 0;
  char **paths = NULL, *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  while ((len = getline(&line, &lcap, f)) > 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (!len)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      char **p = realloc(paths, cap * sizeof(*p));
      if (!p) {
        fprintf(stderr, "rrd_ceiling: out of memory\n");
        return 2;
      }
      paths = p;
    }
    if (!(paths[n++] = strdup(line))) {
      fprintf(stderr, "rrd_ceiling: out of memory\n");
      return 2;
    }
  }
  free(line);
  fclose(f);
  if (!n) {
    fprintf(stderr, "rrd_ceiling: %s lists no file\n", argv[1]);
    return 2;
  }

  double start = now_mono();
  long failed_total = 0;
  int rc = 0;
  for (long r = 0; r < rounds; r++) {
    long ts = first_ts + r * step;
    long failed = 0;
    double t0 = now_mono(), c0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
      /* The values of the benchmark's records (see collector_send.py):
       * up, total, dns, connect, tls, ttfb, share. */
      double connect = 0.25 + (double)(i % 97) / 100.0;
      double v[7] = {1, connect + 0.25, NAN, connect, NAN, NAN, NAN};
      char val[256];
      size_t l = (size_t)snprintf(val, sizeof(val), "%ld", ts);
      for (int k = 0; k < 7; k++)
        if (mask & (1ul << k))
          l = fmt_value(val, sizeof(val), l, v[k]);
      const char *args[1] = {val};
      rrd_clear_error();
      if (rrd_updatex_r(paths[i], NULL, RRD_SKIP_PAST_UPDATES, 1, args) != 0) {
        if (failed_total + failed < 5)
          fprintf(stderr, "rrd_ceiling: %s: %s\n", paths[i], rrd_get_error());
        failed++;
      }
    }
    double secs = now_mono() - t0, cpu = cpu_s() - c0;
    failed_total += failed;
    printf("{\"round\":%ld,\"ts\":%ld,\"files\":%zu,\"failed\":%ld,"
           "\"seconds\":%.6f,\"cpu_s\":%.6f}\n",
           r, ts, n, failed, secs, cpu);
    fflush(stdout);
    if (now_mono() - start > limit_s && r + 1 < rounds) {
      fprintf(stderr,
              "rrd_ceiling: time limit %.0f s reached after %ld "
              "round(s)\n",
              limit_s, r + 1);
      rc = 1;
      break;
    }
  }
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  return failed_total ? 1 : rc;
}
