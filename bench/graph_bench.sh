#!/bin/bash
# SPDX-License-Identifier: MIT
# graph_bench.sh: how long vantage-graph takes to draw each graph kind over
# 1 day and 30 days for one target of 10 addresses x 3 probes, against
# `rrdtool graph` drawing exactly the same DEF/CDEF/LINE/AREA set (the
# ceiling), and how long it takes to build the whole status page for 100
# services, in one run (see bench/README.md, "Graphs").
#
#   bench/graph_bench.sh [BUILD_DIR]      default BUILD_DIR: _build
#
# BUILD_DIR holds a built vantage-collector and vantage-graph (relative
# paths are taken from the current directory if they exist there, else from
# the repository root).  Needs python3, cc, librrd's headers and rrdtool.
# Debian: apt-get install python3 gcc librrd-dev rrdtool
#
# What it does (all on loopback, under $TMPDIR; every loop is bounded):
#   1. Data, through the real collector (default RRAs, 7.4 MB per file):
#      a. the collector gets round T0 = END - 30 days of target "api"
#         (10 addresses, tcp + dns, 3 probes) and creates its 63 files;
#      b. the fill helper (C, below) writes 30 days of 10 s values into
#         them with rrd_updatex_r (T0 + 10 s .. END - 10 s: outages, no-data
#         spans and DNS switches included); it also fills 5 template files
#         (copies of files the collector made, so the collector's layout);
#      c. the 1500 series files of 100 status-page services (2 addresses,
#         3 probes, tcp + dns) become hard links to those templates;
#      d. the collector gets the rest of the feed in time order: round T0
#         of the 100 services, the rounds around every outage and DNS
#         switch (it records the outages, host incidents and DNS changes in
#         events.sqlite; the RRD values of those old rounds are skipped by
#         RRD_SKIP_PAST_UPDATES, the history is already there), and a last
#         round at END for every series.  Then it is stopped.
#   2. The status page: `vantage-graph status-page -o DIR`, once profiled
#      (warm-up) and BENCH_SP_RUNS times timed: wall, CPU, peak RSS.
#   3. Each graph kind (load-shift, outage-gap, latency) over 1 day and
#      30 days, PNG: one run under the argv shim records the exact argument
#      vector vantage-graph hands to rrd_graph_v; `rrdtool graph` gets that
#      vector (the ceiling); then BENCH_RUNS runs of each, interleaved;
#      median wall and CPU, the ratio, and whether both wrote the same bytes.
#   4. The summary (bench/graph_report.py) on stdout; progress on stderr.
# Exit status 0; 1 when an invariant failed (a batch not stored, the
# series or outages not in events.sqlite, a render failing, a ceiling
# image differing from vantage-graph's, the status page missing graphs);
# 2 when a tool is missing or the setup failed.  With BENCH_STRICT=1 a
# missed target (a graph over 1.5x its ceiling, the status page 30 s or
# more) exits 1 as well.
#
# Environment: BENCH_RUNS (5), BENCH_SP_SERVICES (100, up to 1000),
# BENCH_SP_RUNS (3), BENCH_SP_ONE_WORKER (1: also a full build with
# --jobs 1), BENCH_SP_CEIL (1000: graphs of the status page replayed
# through rrd_graph_v for its ceiling), BENCH_SP_INTERVAL (60: the steady
# state's incremental build starts that long after the previous one),
# BENCH_SP_COPY=1 (status-page files as copies, not hard links: 11 GB for
# 100 services), BENCH_STRICT (0), VT_KEEP=1 keeps the work directory
# ($TMPDIR or /tmp, vt-test.XXXXXX/gbench) except the RRD files, images and
# pages; VT_KEEP=2 keeps those too (0.5 GB).
set -u

BENCH_NAME=graph_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
COLLECTOR=$BUILD/vantage-collector
GRAPH=$BUILD/vantage-graph

RUNS=${BENCH_RUNS:-5}
SP_SERVICES=${BENCH_SP_SERVICES:-100}
SP_RUNS=${BENCH_SP_RUNS:-3}
SP_COPY=${BENCH_SP_COPY:-0}
# Bytes of one file with the collector's default RRAs at the 10 s step.
RRD_FILE_BYTES=7393208

[ -x "$COLLECTOR" ] || die "no vantage-collector in $BUILD (build first: ./test.sh --build-only, or give BUILD_DIR)"
[ -x "$GRAPH" ] || die "no vantage-graph in $BUILD"
case $RUNS in [1-9] | 1[0-9]) ;; *) die "BENCH_RUNS must be 1..19" ;; esac
case $SP_RUNS in [1-9]) ;; *) die "BENCH_SP_RUNS must be 1..9" ;; esac
case $SP_SERVICES in [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | 1000) ;;
*) die "BENCH_SP_SERVICES must be 1..1000" ;; esac
bench_need_tools "python3 gcc librrd-dev rrdtool" python3 cc rrdtool
RRDTOOL=$(command -v rrdtool)

export top_srcdir=$ROOT VANTAGE_COLLECTOR=$COLLECTOR
bench_servers
WORK=$VT_TMP/gbench
DATA=$WORK/data
mkdir -p "$WORK/tpl" "$WORK/img" "$WORK/runs" "$DATA"
# The RRD files, images and pages go unless VT_KEEP=2.
if [ "${VT_KEEP:-0}" = 2 ]; then
	export VT_KEEP=1
else
	vt_at_exit "rm -rf '$DATA/rrd' '$WORK/tpl' '$WORK/img' '$WORK/site' '$WORK'/site.*"
fi

# 63 main files + 5 templates (+ the status-page files when copied), and
# room for SQLite, images and pages.
n_files=68
[ "$SP_COPY" = 1 ] && n_files=$((n_files + SP_SERVICES * 15))
need_kb=$((n_files * (RRD_FILE_BYTES / 1024) * 11 / 10 + 204800))
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$avail_kb" -ge "$need_kb" ] ||
	die "$WORK: ${avail_kb} kB free, the benchmark needs about ${need_kb} kB"

# ---- helpers in C ---------------------------------------------------------------

# graph_fill PLAN: for each line "path t_from t_to kind base [event...]"
# of PLAN (a relative path is taken from the current directory), one value per 10 s step
# for t_from..t_to, in the form the collector writes
# ("ts:up:total:dns:connect:tls:ttfb:share", U for unknown), handed to
# rrd_updatex_r 8640 values at a time with RRD_SKIP_PAST_UPDATES.  kind:
#   tcp       up 1, total = connect = base ms +-15 % (deterministic noise,
#             a 4x spike one step in 500)
#   share     share = base (the answer's 1/n or 0), others unknown
#   resolver  up 1, total = dns = base ms +-15 %
# events: o:S:E  the check failed in [S, E): up 0, latencies unknown
#         g:S:E  no result at all in [S, E): nothing written (the rows
#                become unknown after the 30 s heartbeat)
#         s:S:E:V  share V in [S, E)
# Prints one line per file: "relpath rows seconds".
cat >"$WORK/graph_fill.c" <<'EOF'
#include <rrd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP 10
#define CHUNK 8640
#define MAX_EV 64

struct ev { char type; long s, e; double v; };

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* splitmix64 of (seed, ts): noise that is the same on every run */
static double noise(uint64_t seed, long ts)
{
  uint64_t z = seed ^ ((uint64_t)ts * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: graph_fill PLAN\n");
    return 2;
  }
  FILE *plan = fopen(argv[1], "r");
  if (!plan) {
    perror(argv[1]);
    return 2;
  }
  char line[8192];
  char **av = malloc(CHUNK * sizeof(*av));
  char *buf = malloc((size_t)CHUNK * 128);
  if (!av || !buf)
    return 2;
  int rc = 0;
  while (fgets(line, sizeof(line), plan)) {
    char path[1024], kind[16];
    long t_from, t_to;
    double base;
    int off = 0;
    if (sscanf(line, "%1023s %ld %ld %15s %lf%n", path, &t_from, &t_to, kind,
               &base, &off) != 5) {
      fprintf(stderr, "graph_fill: bad line: %s", line);
      return 2;
    }
    struct ev ev[MAX_EV];
    int n_ev = 0, k = 0;
    char *p = line + off, tok[128];
    while (n_ev < MAX_EV && sscanf(p, "%127s%n", tok, &k) == 1) {
      p += k;
      struct ev *e = &ev[n_ev];
      e->type = tok[0];
      e->v = 0;
      int got = sscanf(tok + 1, ":%ld:%ld:%lf", &e->s, &e->e, &e->v);
      if (got < 2 || (e->type == 's' && got != 3) ||
          !strchr("ogs", e->type)) {
        fprintf(stderr, "graph_fill: %s: bad event %s\n", path, tok);
        return 2;
      }
      n_ev++;
    }
    uint64_t seed = 1469598103934665603ull;
    for (const char *c = path; *c; c++)
      seed = (seed ^ (unsigned char)*c) * 1099511628211ull;
    double t0 = now();
    long rows = 0;
    for (long ts = t_from; ts <= t_to && !rc;) {
      int n = 0;
      for (; n < CHUNK && ts <= t_to; ts += STEP) {
        bool down = false, gap = false;
        double share = base;
        for (int i = 0; i < n_ev; i++) {
          if (ts < ev[i].s || ts >= ev[i].e)
            continue;
          if (ev[i].type == 'o')
            down = true;
          else if (ev[i].type == 'g')
            gap = true;
          else
            share = ev[i].v;
        }
        if (gap)
          continue;
        char *s = av[n] = buf + (size_t)n * 128;
        double u = noise(seed, ts);
        double ms = base * (0.85 + 0.3 * u);
        if (u > 0.998)
          ms *= 4;
        /* The collector's lean layouts: share files hold share; tcp files
         * up, total, connect, tls; dns (resolver) files up, total, dns. */
        if (kind[0] == 's')
          snprintf(s, 128, "%ld:%.6g", ts, share);
        else if (down)
          snprintf(s, 128, kind[0] == 't' ? "%ld:0:U:U:U" : "%ld:0:U:U", ts);
        else if (kind[0] == 't')
          snprintf(s, 128, "%ld:1:%.3f:%.3f:U", ts, ms, ms);
        else
          snprintf(s, 128, "%ld:1:%.3f:%.3f", ts, ms, ms);
        n++;
      }
      if (n == 0)
        continue;
      rrd_clear_error();
      if (rrd_updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, n,
                        (const char **)av) != 0) {
        fprintf(stderr, "graph_fill: %s: %s\n", path, rrd_get_error());
        rc = 1;
      }
      rows += n;
    }
    printf("%s %ld %.3f\n", path, rows, now() - t0);
    fflush(stdout);
    if (rc)
      break;
  }
  fclose(plan);
  return rc;
}
EOF

# graph_shim.so (LD_PRELOAD): wraps rrd_graph_v, rrd_fetch_r, rrd_info_r
# and sqlite3_step.  GRAPH_ARGV_OUT=FILE appends every argument vector
# handed to rrd_graph_v ("ARGC=n\0" then n NUL-terminated strings);
# GRAPH_PROF_OUT=FILE writes at exit the calls, wall and CPU time spent in
# each (outermost calls only) and the process's totals, as JSON.
cat >"$WORK/graph_shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct rrd_info_t rrd_info_t;
typedef double rrd_value_t;
typedef struct sqlite3_stmt sqlite3_stmt;

enum { P_GRAPH, P_FETCH, P_INFO, P_SQL, P_N };
static const char *const pname[P_N] = {"rrd_graph_v", "rrd_fetch_r",
                                       "rrd_info_r", "sqlite3_step"};
static struct { long n; double wall, cpu; } prof[P_N];
static int depth;
static double w_start, c_start;

static double clk(clockid_t c)
{
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((constructor)) static void shim_init(void)
{
  w_start = clk(CLOCK_MONOTONIC);
  c_start = clk(CLOCK_PROCESS_CPUTIME_ID);
}

__attribute__((destructor)) static void shim_fini(void)
{
  const char *f = getenv("GRAPH_PROF_OUT");
  FILE *o = f ? fopen(f, "w") : NULL;
  if (!o)
    return;
  fprintf(o, "{\"wall\": %.6f, \"cpu\": %.6f", clk(CLOCK_MONOTONIC) - w_start,
          clk(CLOCK_PROCESS_CPUTIME_ID) - c_start);
  for (int i = 0; i < P_N; i++)
    fprintf(o, ", \"%s\": {\"n\": %ld, \"wall\": %.6f, \"cpu\": %.6f}",
            pname[i], prof[i].n, prof[i].wall, prof[i].cpu);
  fprintf(o, "}\n");
  fclose(o);
}

#define ENTER                                                                  \
  double w0 = 0, c0 = 0;                                                       \
  int top = depth++ == 0;                                                      \
  if (top) {                                                                   \
    w0 = clk(CLOCK_MONOTONIC);                                                 \
    c0 = clk(CLOCK_PROCESS_CPUTIME_ID);                                        \
  }
#define LEAVE(k)                                                               \
  if (top) {                                                                   \
    prof[k].n++;                                                               \
    prof[k].wall += clk(CLOCK_MONOTONIC) - w0;                                 \
    prof[k].cpu += clk(CLOCK_PROCESS_CPUTIME_ID) - c0;                         \
  }                                                                            \
  depth--;

static void *real(const char *name)
{
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    fprintf(stderr, "graph_shim: no %s\n", name);
    abort();
  }
  return f;
}

rrd_info_t *rrd_graph_v(int argc, char **argv)
{
  static rrd_info_t *(*fn)(int, char **);
  if (!fn)
    fn = (rrd_info_t * (*)(int, char **)) real("rrd_graph_v");
  const char *f = getenv("GRAPH_ARGV_OUT");
  if (f) {
    /* One write(2) with O_APPEND per vector: the status page's worker
     * processes append to the same file. */
    size_t len = 32;
    for (int i = 0; i < argc; i++)
      len += strlen(argv[i]) + 1;
    char *b = malloc(len), *p = b;
    int fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (b && fd >= 0) {
      p += snprintf(p, 32, "ARGC=%d", argc) + 1;
      for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(p, argv[i], n);
        p += n;
      }
      if (write(fd, b, (size_t)(p - b)) < 0)
        perror("graph_shim");
    }
    if (fd >= 0)
      close(fd);
    free(b);
  }
  ENTER
  rrd_info_t *r = fn(argc, argv);
  LEAVE(P_GRAPH)
  return r;
}

int rrd_fetch_r(const char *file, const char *cf, time_t *start, time_t *end,
                unsigned long *step, unsigned long *ds_cnt, char ***ds_namv,
                rrd_value_t **data)
{
  static int (*fn)(const char *, const char *, time_t *, time_t *,
                   unsigned long *, unsigned long *, char ***, rrd_value_t **);
  if (!fn)
    fn = (int (*)(const char *, const char *, time_t *, time_t *,
                  unsigned long *, unsigned long *, char ***,
                  rrd_value_t **))real("rrd_fetch_r");
  ENTER
  int r = fn(file, cf, start, end, step, ds_cnt, ds_namv, data);
  LEAVE(P_FETCH)
  return r;
}

rrd_info_t *rrd_info_r(const char *file)
{
  static rrd_info_t *(*fn)(const char *);
  if (!fn)
    fn = (rrd_info_t * (*)(const char *)) real("rrd_info_r");
  ENTER
  rrd_info_t *r = fn(file);
  LEAVE(P_INFO)
  return r;
}

int sqlite3_step(sqlite3_stmt *s)
{
  static int (*fn)(sqlite3_stmt *);
  if (!fn)
    fn = (int (*)(sqlite3_stmt *))real("sqlite3_step");
  ENTER
  int r = fn(s);
  LEAVE(P_SQL)
  return r;
}
EOF

# sp_ceiling ARGV_FILE OUT_DIR N: the status page's ceiling. Replays up to N
# of the argument vectors the status page handed to rrd_graph_v (recorded
# by the shim; evenly sampled) through rrd_graph_v in one process, as
# `rrdtool graph` draws them (librrd's own PNG writer, cairo's), writing
# each image to OUT_DIR; prints "n cpu_s wall_s bytes failed recorded".
cat >"$WORK/sp_ceiling.c" <<'EOF'
#include <locale.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu(void)
{
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

static double wall(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  if (argc != 4)
    return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f)
    return 2;
  setenv("TZ", "UTC", 1);
  tzset();
  setlocale(LC_NUMERIC, "C");
  char *data = NULL;
  size_t len = 0, cap = 0, r;
  static char chunk[1 << 16];
  while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (len + r + 1 > cap) {
      cap = (len + r + 1) * 2;
      data = realloc(data, cap);
      if (!data)
        return 2;
    }
    memcpy(data + len, chunk, r);
    len += r;
  }
  fclose(f);
  if (!data)
    return 2;
  data[len] = 0;
  /* Index the vectors: "ARGC=n\0" then n strings. */
  size_t nv = 0, capv = 0, *at = NULL;
  for (size_t i = 0; i < len;) {
    if (strncmp(data + i, "ARGC=", 5) == 0) {
      if (nv == capv) {
        capv = capv ? 2 * capv : 1024;
        at = realloc(at, capv * sizeof(*at));
        if (!at)
          return 2;
      }
      at[nv++] = i;
    }
    i += strlen(data + i) + 1;
  }
  long want = atol(argv[3]);
  size_t step = want > 0 && nv > (size_t)want ? nv / (size_t)want : 1;
  size_t n = 0, bytes = 0, failed = 0;
  double c0 = cpu(), w0 = wall();
  for (size_t k = 0; k < nv; k += step) {
    size_t i = at[k];
    int ac = atoi(data + i + 5);
    char **av = calloc((size_t)ac + 1, sizeof(*av));
    if (!av)
      return 2;
    i += strlen(data + i) + 1;
    for (int a = 0; a < ac && i < len; a++) {
      av[a] = data + i;
      i += strlen(data + i) + 1;
    }
    rrd_clear_error();
    rrd_info_t *info = rrd_graph_v(ac, av);
    free(av);
    if (!info) {
      fprintf(stderr, "sp_ceiling: %s\n", rrd_get_error());
      failed++;
      continue;
    }
    for (rrd_info_t *x = info; x; x = x->next)
      if (strcmp(x->key, "image") == 0 && x->type == RD_I_BLO) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%zu.png", argv[2], n);
        FILE *o = fopen(path, "wb");
        if (o) {
          fwrite(x->value.u_blo.ptr, 1, x->value.u_blo.size, o);
          fclose(o);
        }
        bytes += x->value.u_blo.size;
      }
    rrd_info_free(info);
    n++;
  }
  printf("%zu %.3f %.3f %zu %zu %zu\n", n, cpu() - c0, wall() - w0, bytes,
         failed, nv);
  return failed ? 1 : 0;
}
EOF

# graph_px A B: exit 0 when the two PNG files have the same size and
# pixels (vantage-graph encodes its PNG itself, so the bytes differ from
# librrd's: graphs/graph_png.h).
cat >"$WORK/graph_px.c" <<'EOF'
#include <cairo.h>
#include <stddef.h>

int main(int argc, char **argv)
{
  if (argc != 3)
    return 2;
  cairo_surface_t *a = cairo_image_surface_create_from_png(argv[1]);
  cairo_surface_t *b = cairo_image_surface_create_from_png(argv[2]);
  if (cairo_surface_status(a) || cairo_surface_status(b))
    return 2;
  int w = cairo_image_surface_get_width(a);
  int h = cairo_image_surface_get_height(a);
  if (w != cairo_image_surface_get_width(b) ||
      h != cairo_image_surface_get_height(b))
    return 1;
  /* An opaque image may come back as RGB24 (alpha byte undefined) or as
   * ARGB32 (alpha 255): compare colours, and alpha when both have one. */
  int sa = cairo_image_surface_get_stride(a);
  int sb = cairo_image_surface_get_stride(b);
  unsigned mask = cairo_image_surface_get_format(a) == CAIRO_FORMAT_ARGB32 &&
                          cairo_image_surface_get_format(b) ==
                              CAIRO_FORMAT_ARGB32
                      ? 0xffffffffu
                      : 0x00ffffffu;
  const unsigned char *da = cairo_image_surface_get_data(a);
  const unsigned char *db = cairo_image_surface_get_data(b);
  for (int y = 0; y < h; y++) {
    const unsigned *ra = (const unsigned *)(da + (size_t)y * sa);
    const unsigned *rb = (const unsigned *)(db + (size_t)y * sb);
    for (int x = 0; x < w; x++)
      if ((ra[x] & mask) != (rb[x] & mask))
        return 1;
  }
  return 0;
}
EOF

say "building the fill helper and the argv/profile shim"
cc -O2 -Wall -o "$WORK/graph_fill" "$WORK/graph_fill.c" -lrrd 2>"$WORK/cc.log" ||
	die "cannot build graph_fill (librrd-dev?): $(tail -n 3 "$WORK/cc.log")"
cc -O2 -Wall -shared -fPIC -o "$WORK/graph_shim.so" "$WORK/graph_shim.c" -ldl 2>>"$WORK/cc.log" ||
	die "cannot build graph_shim.so: $(tail -n 3 "$WORK/cc.log")"
cc -O2 -Wall -o "$WORK/sp_ceiling" "$WORK/sp_ceiling.c" -lrrd 2>>"$WORK/cc.log" ||
	die "cannot build sp_ceiling: $(tail -n 3 "$WORK/cc.log")"
# shellcheck disable=SC2046
cc -O2 -Wall -o "$WORK/graph_px" "$WORK/graph_px.c" $(pkg-config --cflags --libs cairo) 2>>"$WORK/cc.log" ||
	die "cannot build graph_px (libcairo2-dev?): $(tail -n 3 "$WORK/cc.log")"

# ---- 1. data ----------------------------------------------------------------------

for p in p1 p2 p3; do vt_key "$p" >/dev/null; done
PORT=$(vt_free_port)
CFG=$WORK/collector.cfg
cat >"$CFG" <<CFG
collector = { listen = "127.0.0.1:$PORT"; data_dir = "$DATA"; };
storage = { step = 10; heartbeat = 30; };
quorum = { quorum = 2; confirm = 2; silence = 60.0; };
probes = ( { name = "p1"; key_file = "$VT_TMP/keys/p1.key"; },
           { name = "p2"; key_file = "$VT_TMP/keys/p2.key"; },
           { name = "p3"; key_file = "$VT_TMP/keys/p3.key"; } );
CFG

END=$(($(date +%s) / 10 * 10))
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpus=$(nproc)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel=$(uname -r)"
	echo "fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "graph=$("$GRAPH" --version 2>&1 | head -n 1) ($GRAPH, built $(date -u -r "$GRAPH" +%Y-%m-%dT%H:%MZ))"
	# Read-only: the source tree now (the binary may be older than it).
	echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
		[ -n "$(git -C "$ROOT" status --porcelain -- graphs lib 2>/dev/null)" ] &&
			echo ', graphs/ or lib/ modified in the work tree')"
	echo "librrd=$(dpkg-query -W -f='${Version}' librrd8 2>/dev/null || echo '?')"
	echo "cairo=$(dpkg-query -W -f='${Version}' libcairo2 2>/dev/null || echo '?')"
	echo "pango=$(dpkg-query -W -f='${Version}' libpango-1.0-0 2>/dev/null || echo '?')"
	echo "sqlite=$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo '?')"
	echo "end=$END"
	echo "runs=$RUNS"
	echo "sp_runs=$SP_RUNS"
	echo "sp_services=$SP_SERVICES"
	echo "sp_copy=$SP_COPY"
} >"$WORK/env.txt"

"$VT_PYTHON" "$BENCH_DIR/graph_scenario.py" plan --end "$END" --out "$WORK" \
	--tpl-dir "$WORK/tpl" --services "$SP_SERVICES" || die "graph_scenario.py plan failed"

vt_collector_start "$CFG" "$PORT" >&2 || die "the collector did not start"
send() {
	"$VT_PYTHON" "$BENCH_DIR/graph_scenario.py" send --url "http://127.0.0.1:$PORT" \
		--keys "$VT_TMP/keys" --rounds "$WORK/rounds.json" --stage "$1" --limit 120
}
t_setup=$(date +%s.%N)
say "1a. round T0 of api: the collector creates its 63 files (default RRAs)"
send first || die "the collector did not store round T0"

# Templates for the status page: files the collector made (its layout),
# holding round T0 only so far.
W_RRD=$DATA/rrd/api
for t in tcp/192.0.2.11:tcp-1 tcp/192.0.2.11:tcp-2 dns/192.0.2.11:share-1 \
	dns/192.0.2.11:share-2 dns/resolver-127.0.0.1_53:resolver; do
	cp "$W_RRD/${t%%:*}/p1.rrd" "$WORK/tpl/${t##*:}.rrd" ||
		die "the collector did not create api's files"
done

say "1b. 30 days of 10 s values into 63 + 5 files (two fill helpers in parallel)"
awk 'NR % 2 == 1' "$WORK/fill.plan" >"$WORK/fill.1.plan"
awk 'NR % 2 == 0' "$WORK/fill.plan" >"$WORK/fill.2.plan"
cat "$WORK/tpl.plan" >>"$WORK/fill.2.plan"
t=$(date +%s.%N)
(cd "$DATA/rrd" && exec timeout -k 5 240 "$WORK/graph_fill" "$WORK/fill.1.plan") \
	>"$WORK/fill.1.out" 2>"$WORK/fill.1.err" &
f1=$!
vt_track "$f1"
(cd "$DATA/rrd" && exec timeout -k 5 240 "$WORK/graph_fill" "$WORK/fill.2.plan") \
	>"$WORK/fill.2.out" 2>"$WORK/fill.2.err" &
f2=$!
vt_track "$f2"
rc1=0 rc2=0
wait "$f1" || rc1=$?
wait "$f2" || rc2=$?
[ "$rc1$rc2" = 00 ] ||
	die "the fill helper failed: $(cat "$WORK/fill.1.err" "$WORK/fill.2.err" | tail -n 3)"
awk -v t="$t" 'BEGIN { "date +%s.%N" | getline n; printf "fill_s=%.1f\n", n - t }' >>"$WORK/env.txt"
awk '{ rows += $2; cpu += $3 } END { printf "fill_files=%d\nfill_rows=%d\nfill_file_s=%.1f\n", NR, rows, cpu }' \
	"$WORK/fill.1.out" "$WORK/fill.2.out" >>"$WORK/env.txt"

say "1c. $((SP_SERVICES * 15)) status-page series files: $([ "$SP_COPY" = 1 ] && echo copies || echo hard links) of the 5 templates"
copy=()
[ "$SP_COPY" = 1 ] && copy=(--copy)
"$VT_PYTHON" "$BENCH_DIR/graph_scenario.py" links --rrd "$DATA/rrd" --tpl "$WORK/tpl" \
	--list "$WORK/links.txt" "${copy[@]}" || die "graph_scenario.py links failed"

say "1d. the rest of the feed, in time order (outages, DNS switches, round END)"
send rest || die "the collector did not store the feed"
rc=0
vt_collector_stop || rc=$?
echo "collector_stop_rc=$rc" >>"$WORK/env.txt"
mv "$VT_TMP/collector.log" "$WORK/collector.log" 2>/dev/null
awk -v t="$t_setup" 'BEGIN { "date +%s.%N" | getline n; printf "setup_s=%.1f\n", n - t }' >>"$WORK/env.txt"
DB=$DATA/events.sqlite
{
	echo "series_api=$(vt_sql "$DB" "select count(*) from series where target = 'api'")"
	echo "series_all=$(vt_sql "$DB" 'select count(*) from series')"
	echo "targets=$(vt_sql "$DB" 'select count(distinct target) from series')"
	echo "outages_api=$(vt_sql "$DB" "select count(*) from outages where target = 'api' and scope = 'address' and kind = 'outage' and \"end\" is not null")"
	echo "outages_addr=$(vt_sql "$DB" "select count(*) from outages where scope = 'address' and kind = 'outage'")"
	echo "outages_host=$(vt_sql "$DB" "select count(*) from outages where scope = 'host'")"
	echo "outages_open=$(vt_sql "$DB" "select count(*) from outages where \"end\" is null")"
	echo "dns_changes=$(vt_sql "$DB" 'select count(*) from dns_changes')"
	echo "api_first_ts=$(vt_sql "$DB" "select min(first_ts) from series where target = 'api'")"
	echo "api_last_ts=$(vt_sql "$DB" "select max(last_ts) from series where target = 'api'")"
	echo "rrd_files=$(find "$DATA/rrd" -name '*.rrd' | wc -l)"
	echo "api_last_update=$("$RRDTOOL" lastupdate "$W_RRD/tcp/192.0.2.11/p1.rrd" | awk -F: 'NR == 3 { print $1 }')"
	echo "data_du_kb=$(du -sk "$DATA" | awk '{ print $1 }')"
	echo "api_outages=$(vt_sql "$DB" "select ip || ' ' || cast(start - $END as int) || ' ' || cast(\"end\" - start as int) from outages where target = 'api' and scope = 'address' and kind = 'outage' order by start" | tr '\n' ',')"
} >>"$WORK/env.txt"

# ---- 2. the status page --------------------------------------------------------

say "2. status page: $SP_SERVICES services, one profiled run, then $SP_RUNS timed"
"$VT_PYTHON" "$BENCH_DIR/graph_time.py" status-page --graph "$GRAPH" --config "$CFG" \
	--out-dir "$WORK/site" --shim "$WORK/graph_shim.so" --runs "$SP_RUNS" \
	--json "$WORK/sp.json" --limit $((150 + SP_SERVICES)) \
	--ceiling "$WORK/sp_ceiling" --ceiling-n "${BENCH_SP_CEIL:-1000}" \
	--interval "${BENCH_SP_INTERVAL:-60}" \
	--one-worker "${BENCH_SP_ONE_WORKER:-1}" || say "status page: FAILED (see the summary)"

# ---- 3. the graphs ---------------------------------------------------------------

say "3. graphs: 3 kinds x (1 d, 30 d), vantage-graph against rrdtool graph, $RUNS runs each"
"$VT_PYTHON" "$BENCH_DIR/graph_time.py" graphs --graph "$GRAPH" --config "$CFG" \
	--rrdtool "$RRDTOOL" --shim "$WORK/graph_shim.so" --target api --end "$END" \
	--img-dir "$WORK/img" --log-dir "$WORK/runs" --runs "$RUNS" --json "$WORK/graphs.json" --limit 60 \
	--px "$WORK/graph_px" ||
	say "graphs: FAILED (see the summary)"

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/env.txt"

# ---- 4. summary ----------------------------------------------------------------------

say "done; summary:"
rc=0
"$VT_PYTHON" "$BENCH_DIR/graph_report.py" "$WORK" || rc=$?
[ "${VT_KEEP:-0}" = 1 ] && say "work directory kept (without the RRD files): $WORK"
exit "$rc"
