/* SPDX-License-Identifier: MIT */
/* Tests for the RRD store through its public API: librrd direct writes read
 * back with rrd_fetch_r, skip semantics for re-sent values, path checks, the
 * file layout, a real rrdcached (unix socket and TCP, killed and restarted to
 * force a reconnect), a daemon that never answers, and throughput figures as
 * TAP diagnostics. The rrdcached cases are skipped without the binary. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rrd.h>

#include "log.h"
#include "rrd_store.h"
#include "tap.h"
#include "vt_time.h"

extern char **environ;

#define T0 1700000000L /* a multiple of the 10 s step */
#define N_DS 7
#define N_DAEMON_TESTS 19 /* reported as skipped without rrdcached */

static const char *const ds_names[N_DS] = {"up",  "total", "dns",  "connect",
                                           "tls", "ttfb",  "share"};

static char test_dir[PATH_MAX];
static pid_t daemon_pid = -1;
static char daemon_port[16];

/* Values with few binary digits, so that librrd's PDP arithmetic (value *
 * seconds / seconds) gives them back exactly; tls stays unknown. */
static struct rrd_values vals(double up, double total)
{
  return (struct rrd_values){.up = up,
                             .total = total,
                             .dns = total / 8,
                             .connect = total / 4,
                             .tls = NAN,
                             .ttfb = total / 2,
                             .share = 0.5};
}

static const struct rrd_values unknown = {.up = NAN,
                                          .total = NAN,
                                          .dns = NAN,
                                          .connect = NAN,
                                          .tls = NAN,
                                          .ttfb = NAN,
                                          .share = NAN};

static void vals_array(const struct rrd_values *v, double out[N_DS])
{
  out[0] = v->up, out[1] = v->total, out[2] = v->dns, out[3] = v->connect;
  out[4] = v->tls, out[5] = v->ttfb, out[6] = v->share;
}

/* Reads the AVERAGE row of file that ends at ts: rrd_fetch_r's row i covers
 * (start + i * step, start + (i + 1) * step]. */
static int fetch_row(const char *file, long ts, double out[N_DS])
{
  time_t start = ts - 10, end = ts;
  unsigned long step = 10, ds_cnt = 0;
  char **names = NULL;
  rrd_value_t *data = NULL;
  rrd_clear_error();
  if (rrd_fetch_r(file, "AVERAGE", &start, &end, &step, &ds_cnt, &names,
                  &data) != 0) {
    printf("# fetch %s: %s\n", file, rrd_get_error());
    return -1;
  }
  long row = (ts - (long)start) / (long)step - 1;
  int rc = step == 10 && ds_cnt == N_DS && row >= 0 ? 0 : -1;
  for (unsigned long i = 0; i < ds_cnt; i++) {
    if (rc == 0)
      out[i] = data[(unsigned long)row * ds_cnt + i];
    rrd_freemem(names[i]);
  }
  rrd_freemem(names);
  rrd_freemem(data);
  return rc;
}

/* Whether the row of file at ts holds exactly v (unknown where v is NAN). */
static bool row_is(const char *file, long ts, const struct rrd_values *v)
{
  double got[N_DS], want[N_DS];
  vals_array(v, want);
  if (fetch_row(file, ts, got) != 0)
    return false;
  for (int i = 0; i < N_DS; i++) {
    if (isnan(want[i]) ? !isnan(got[i]) : got[i] != want[i]) {
      printf("#   %s at %ld: %s is %.17g, want %.17g\n", file, ts, ds_names[i],
             got[i], want[i]);
      return false;
    }
  }
  return true;
}

/* Sends what the code under test logs to path until log_end(). */
static int log_begin(const char *path)
{
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, 2);
    close(fd);
  }
  return saved;
}

static void log_end(int saved)
{
  fflush(stderr);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
}

static bool file_contains(const char *path, const char *needle)
{
  char buf[16384];
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

static int count_lines(const char *path, const char *needle)
{
  char line[2048];
  int n = 0;
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof(line), f))
    n += strstr(line, needle) != NULL;
  if (f)
    fclose(f);
  return n;
}

static const char *info_str(rrd_info_t *info, const char *key)
{
  for (; info; info = info->next)
    if (strcmp(info->key, key) == 0 && info->type == RD_I_STR)
      return info->value.u_str;
  return NULL;
}

static double info_num(rrd_info_t *info, const char *key)
{
  for (; info; info = info->next) {
    if (strcmp(info->key, key) != 0)
      continue;
    if (info->type == RD_I_CNT)
      return (double)info->value.u_cnt;
    if (info->type == RD_I_VAL)
      return info->value.u_val;
    if (info->type == RD_I_INT)
      return info->value.u_int;
  }
  return NAN;
}

/* Counts the RRAs and checks their rows against want (n entries). */
static bool rras_are(rrd_info_t *info, const long *want, int n)
{
  char key[64];
  snprintf(key, sizeof(key), "rra[%d].rows", n);
  if (!isnan(info_num(info, key)))
    return false;
  for (int i = 0; i < n; i++) {
    snprintf(key, sizeof(key), "rra[%d].rows", i);
    if (info_num(info, key) != (double)want[i]) {
      printf("#   %s = %g, want %ld\n", key, info_num(info, key), want[i]);
      return false;
    }
  }
  return true;
}

static bool layout_ok(const char *file, long step, long heartbeat)
{
  rrd_clear_error();
  rrd_info_t *info = rrd_info_r(file);
  bool ok = info && info_num(info, "step") == (double)step;
  for (int i = 0; ok && i < N_DS; i++) {
    char key[64];
    snprintf(key, sizeof(key), "ds[%s].type", ds_names[i]);
    const char *type = info_str(info, key);
    snprintf(key, sizeof(key), "ds[%s].minimal_heartbeat", ds_names[i]);
    ok = type && strcmp(type, "GAUGE") == 0 &&
         info_num(info, key) == (double)heartbeat;
  }
  ok = ok && info_num(info, "ds[up].max") == 1 &&
       info_num(info, "ds[share].max") == 1 &&
       isnan(info_num(info, "ds[ttfb].max"));
  rrd_info_free(info);
  return ok;
}

/* ---- rrdcached ---- */

static int test_connect_unix(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* A free loopback port for rrdcached's TCP listener (it cannot report one
 * it picked itself). */
static void pick_port(void)
{
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    snprintf(daemon_port, sizeof(daemon_port), "%u", ntohs(sa.sin_port));
  if (fd >= 0)
    close(fd);
}

/* Starts rrdcached in the foreground with its base in dir; waits until its
 * socket answers. Returns false when it cannot run. */
static bool daemon_start(const char *dir)
{
  char sock[PATH_MAX + 8], pidf[PATH_MAX], journal[PATH_MAX], log[PATH_MAX],
      tcp[64];
  snprintf(sock, sizeof(sock), "unix:%s/rrdcached.sock", dir);
  snprintf(pidf, sizeof(pidf), "%s/rrdcached.pid", dir);
  snprintf(journal, sizeof(journal), "%s/journal", dir);
  snprintf(log, sizeof(log), "%s/rrdcached.log", dir);
  snprintf(tcp, sizeof(tcp), "127.0.0.1:%s", daemon_port);
  mkdir(journal, 0750);
  /* -R lets CREATE over TCP make directories; -B keeps files under -b;
   * -m comes before the -l it applies to. */
  char *argv[] = {"rrdcached", "-g", "-R", "-B",    "-b", (char *)dir,
                  "-p",        pidf, "-j", journal, "-m", "0660",
                  "-l",        sock, "-l", tcp,     NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawnp(&daemon_pid, "rrdcached", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    daemon_pid = -1;
    return false;
  }
  for (int i = 0; i < 100; i++) {
    int fd = test_connect_unix(sock + 5);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
      break;
    usleep(50000);
  }
  kill(daemon_pid, SIGKILL);
  waitpid(daemon_pid, NULL, 0);
  daemon_pid = -1;
  return false;
}

static void daemon_stop(int sig)
{
  if (daemon_pid < 0)
    return;
  kill(daemon_pid, sig);
  waitpid(daemon_pid, NULL, 0);
  daemon_pid = -1;
}

static void daemon_stop_at_exit(void)
{
  daemon_stop(SIGTERM);
}

static void daemon_tests(const char *dir)
{
  char sock[PATH_MAX + 8], path[PATH_MAX], logf[PATH_MAX + 16];
  snprintf(sock, sizeof(sock), "unix:%s/rrdcached.sock", dir);
  snprintf(logf, sizeof(logf), "%s/store.log", dir);
  enum vt_status st;
  struct rrd_store *s = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .rrdcached = sock}, &st);
  tap_ok(s && st == VT_OK, "rrdcached: open over the unix socket");
  char tcp[64];
  snprintf(tcp, sizeof(tcp), "127.0.0.1:%s", daemon_port);
  struct rrd_store *t = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .rrdcached = tcp}, &st);
  tap_ok(t && st == VT_OK, "rrdcached: open over TCP");
  if (!s || !t) {
    rrd_store_close(s);
    rrd_store_close(t);
    for (int i = 2; i < N_DAEMON_TESTS; i++)
      tap_ok(false, "rrdcached: not reached");
    return;
  }

  const char *a = "web/http/192.0.2.1/probe-1.rrd", *b = "web/client/p1.rrd";
  struct rrd_values v1 = vals(1, 100.5), v2 = vals(0, 240.25),
                    v3 = vals(1, 80.125), v4 = vals(1, 64);
  st = rrd_store_queue(s, a, T0 + 10, &v2);
  st |= rrd_store_queue(s, a, T0, &v1);
  st |= rrd_store_queue(s, b, T0, &v3);
  tap_ok(st == VT_OK && rrd_store_flush(s) == VT_OK,
         "rrdcached: three updates of two files flushed");
  tap_ok(rrd_store_flush_file(s, a) == VT_OK &&
             rrd_store_flush_file(s, b) == VT_OK,
         "rrdcached: FLUSH of both files");
  tap_ok(row_is(rrd_store_path(s, a, path, sizeof(path)), T0, &v1) &&
             row_is(path, T0 + 10, &v2) &&
             row_is(rrd_store_path(s, b, path, sizeof(path)), T0, &v3),
         "rrdcached: values on disk after FLUSH");

  /* A re-sent old value makes rrdcached drop the rest of its UPDATE; the
   * new value must still arrive. */
  st = rrd_store_queue(s, a, T0 + 10, &v4);
  st |= rrd_store_queue(s, a, T0 + 20, &v3);
  enum vt_log_level old = vt_log_threshold;
  vt_log_threshold = VT_LOG_DEBUG;
  int saved = log_begin(logf);
  enum vt_status fst = st == VT_OK ? rrd_store_flush(s) : st;
  log_end(saved);
  vt_log_threshold = old;
  tap_ok(fst == VT_OK && rrd_store_flush_file(s, a) == VT_OK &&
             file_contains(logf, "1 value(s) up to 1700000010 skipped, "
                                 "1 sent again"),
         "rrdcached: re-sent value plus a new one: no error, sent again");
  tap_ok(row_is(rrd_store_path(s, a, path, sizeof(path)), T0 + 10, &v2) &&
             row_is(path, T0 + 20, &v3),
         "rrdcached: old value kept, new one written");

  /* Over TCP, the file is created with CREATE, directories with -R. */
  const char *c = "tcp/check/addr/p1.rrd";
  st = rrd_store_queue(t, c, T0, &v1);
  st |= rrd_store_queue(t, c, T0 + 10, &v2);
  tap_ok(st == VT_OK && rrd_store_flush(t) == VT_OK &&
             rrd_store_flush_file(t, c) == VT_OK,
         "rrdcached over TCP: CREATE, updates and FLUSH");
  tap_ok(row_is(rrd_store_path(t, c, path, sizeof(path)), T0, &v1) &&
             row_is(path, T0 + 10, &v2) && layout_ok(path, 10, 30),
         "rrdcached over TCP: layout and values on disk");
  tap_ok(rrd_store_flush_file(s, "web/none.rrd") == VT_ENOTFOUND,
         "rrdcached: FLUSH of a missing file is VT_ENOTFOUND");

  /* A file rrdcached cannot write fails alone; the others go through. */
  char blocker[PATH_MAX + 16];
  snprintf(blocker, sizeof(blocker), "%s/blocker", dir);
  int bfd = open(blocker, O_WRONLY | O_CREAT, 0640);
  if (bfd >= 0)
    close(bfd);
  st = rrd_store_queue(t, "blocker/x.rrd", T0, &v1);
  st |= rrd_store_queue(t, c, T0 + 20, &v3);
  saved = log_begin(logf);
  fst = st == VT_OK ? rrd_store_flush(t) : st;
  log_end(saved);
  tap_ok(fst == VT_EIO && file_contains(logf, "rrd: blocker/x.rrd: ") &&
             rrd_store_flush_file(t, c) == VT_OK &&
             row_is(rrd_store_path(t, c, path, sizeof(path)), T0 + 20, &v3),
         "rrdcached over TCP: a failing file is logged, the others written");

  /* Kill the daemon hard and start it again: both connections are dead
   * and the next flush has to reconnect and send again. */
  daemon_stop(SIGKILL);
  tap_ok(daemon_start(dir), "rrdcached: restarted after kill -9");
  st = rrd_store_queue(s, a, T0 + 30, &v4);
  st |= rrd_store_queue(s, b, T0 + 10, &v4);
  st |= rrd_store_queue(t, c, T0 + 30, &v3);
  vt_log_threshold = VT_LOG_INFO;
  saved = log_begin(logf);
  enum vt_status sst = st == VT_OK ? rrd_store_flush(s) : st;
  enum vt_status tst = rrd_store_flush(t);
  log_end(saved);
  vt_log_threshold = old;
  tap_ok(sst == VT_OK && tst == VT_OK,
         "rrdcached: flush after the restart succeeds");
  tap_ok(file_contains(logf, "reconnecting once"),
         "rrdcached: it reconnected and sent again");
  tap_ok(rrd_store_flush_file(s, a) == VT_OK &&
             rrd_store_flush_file(s, b) == VT_OK &&
             rrd_store_flush_file(t, c) == VT_OK,
         "rrdcached: FLUSH after the restart");
  tap_ok(row_is(rrd_store_path(s, a, path, sizeof(path)), T0 + 30, &v4) &&
             row_is(rrd_store_path(s, b, path, sizeof(path)), T0 + 10, &v4) &&
             row_is(rrd_store_path(t, c, path, sizeof(path)), T0 + 30, &v3),
         "rrdcached: values after the restart on disk");
  tap_ok(row_is(rrd_store_path(s, a, path, sizeof(path)), T0 + 20, &v3),
         "rrdcached: values from before the restart still there");

  /* A root with a space travels escaped ("\ ") in rrdcached's lines. */
  char spaced[PATH_MAX + 16];
  snprintf(spaced, sizeof(spaced), "%s/sp ace", dir);
  struct rrd_store *sp = rrd_store_open(
      &(struct rrd_store_conf){.dir = spaced, .rrdcached = sock}, &st);
  st = sp ? rrd_store_queue(sp, "x.rrd", T0, &v1) : st;
  tap_ok(st == VT_OK && rrd_store_flush(sp) == VT_OK &&
             rrd_store_flush_file(sp, "x.rrd") == VT_OK &&
             row_is(rrd_store_path(sp, "x.rrd", path, sizeof(path)), T0, &v1),
         "rrdcached: a root with a space in its name");
  rrd_store_close(sp);

  /* Discard drops the queue without a word to the daemon. */
  st = rrd_store_queue(s, a, T0 + 40, &v1);
  rrd_store_discard(s);
  tap_ok(
      st == VT_OK && rrd_store_flush(s) == VT_OK &&
          rrd_store_flush_file(s, a) == VT_OK &&
          row_is(rrd_store_path(s, a, path, sizeof(path)), T0 + 40, &unknown),
      "rrdcached: a discarded update is not written");
  rrd_store_close(s);
  rrd_store_close(t);
}

/* A socket that accepts connections into its backlog and never answers,
 * like a stopped daemon. */
static void dead_daemon_tests(const char *dir)
{
  char path[PATH_MAX], addr[PATH_MAX + 8], logf[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/dead.sock", dir);
  snprintf(addr, sizeof(addr), "unix:%s", path);
  snprintf(logf, sizeof(logf), "%s/dead.log", dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool listening = lfd >= 0 &&
                   bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                   listen(lfd, 4) == 0;
  enum vt_status st = VT_EINVAL;
  struct rrd_store *s =
      listening ? rrd_store_open(&(struct rrd_store_conf){.dir = dir,
                                                          .rrdcached = addr,
                                                          .io_timeout_s = 1},
                                 &st)
                : NULL;
  tap_ok(s && st == VT_OK, "dead rrdcached: open (connect reaches the "
                           "backlog)");
  struct rrd_values v = vals(1, 2);
  st = s ? rrd_store_queue(s, "x/y.rrd", T0, &v) : VT_EINVAL;
  int saved = log_begin(logf);
  double t0 = vt_time_mono();
  enum vt_status fst = s && st == VT_OK ? rrd_store_flush(s) : VT_OK;
  double took = vt_time_mono() - t0;
  log_end(saved);
  tap_ok(fst == VT_EIO, "dead rrdcached: flush fails with VT_EIO");
  tap_ok(took > 0.9 && took < 2.5, "dead rrdcached: after %.2fs (timeout 1s)",
         took);
  tap_ok(file_contains(logf, "rrdcached: unix:") &&
             file_contains(logf, "no progress within 1s"),
         "dead rrdcached: logged with the address");
  rrd_store_close(s);
  if (lfd >= 0)
    close(lfd);
  unlink(path);

  st = VT_OK;
  saved = log_begin(logf);
  s = rrd_store_open(&(struct rrd_store_conf){.dir = dir,
                                              .rrdcached = addr,
                                              .io_timeout_s = 1},
                     &st);
  log_end(saved);
  tap_ok(!s && st == VT_EIO && file_contains(logf, "connect"),
         "no rrdcached: open fails with VT_EIO and says why");
  rrd_store_close(s);
}

/* ---- throughput ---- */

/* 10 updates to each of 1000 files, queued round by round as results come
 * in; the first flush also creates the files. The RRAs are the default set
 * with few rows: update work is the same, files stay small. */
static void bench(const char *dir, const char *daemon, const char *label)
{
  static char *const rra[] = {"RRA:AVERAGE:0.5:1:360", "RRA:AVERAGE:0.5:6:60",
                              "RRA:MIN:0.5:6:60",      "RRA:MAX:0.5:6:60",
                              "RRA:AVERAGE:0.5:360:4", "RRA:MIN:0.5:360:4",
                              "RRA:MAX:0.5:360:4"};
  enum vt_status st;
  struct rrd_store *s = rrd_store_open(
      &(struct rrd_store_conf){
          .dir = dir, .rrdcached = daemon, .rra = rra, .n_rra = 7},
      &st);
  if (!s) {
    printf("# bench %s: cannot open: %s\n", label, vt_strerror(st));
    return;
  }
  for (int round = 0; round < 2; round++) {
    double t0 = vt_time_mono();
    st = VT_OK;
    for (int u = 0; u < 10; u++) {
      for (int f = 0; f < 1000; f++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "bench/target-%02d/http/probe-%d.rrd",
                 f / 10, f % 10);
        struct rrd_values v = vals(1, f + u);
        st |= rrd_store_queue(s, rel, T0 + round * 100 + u * 10, &v);
      }
    }
    double queued = vt_time_mono();
    st |= rrd_store_flush(s);
    double t1 = vt_time_mono();
    /* make check runs this under valgrind, which preloads its helpers. */
    const char *preload = getenv("LD_PRELOAD");
    printf("# %s: 10000 updates, 1000 files%s: %.3fs (queue %.3fs), "
           "%.0f updates/s%s%s\n",
           label, round ? "" : ", creating them", t1 - t0, queued - t0,
           10000 / (t1 - t0), st == VT_OK ? "" : " (errors)",
           preload && strstr(preload, "vgpreload") ? " under valgrind" : "");
  }
  rrd_store_close(s);
}

int main(void)
{
  tap_plan(42 + N_DAEMON_TESTS);
  vt_log_init("test_rrd_store", VT_LOG_ERR);
  char tmpl[] = "test-rrd-store.XXXXXX";
  if (!mkdtemp(tmpl) || !realpath(tmpl, test_dir)) {
    perror("mkdtemp");
    return 1;
  }
  char dir[PATH_MAX + 16], path[PATH_MAX], logf[PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/direct", test_dir);
  snprintf(logf, sizeof(logf), "%s/direct.log", test_dir);

  /* (1) librrd direct: two files, values read back exactly. */
  enum vt_status st;
  struct rrd_store *s =
      rrd_store_open(&(struct rrd_store_conf){.dir = dir}, &st);
  tap_ok(s && st == VT_OK, "direct: open creates the root");
  if (!s)
    return tap_done();
  const char *a = "web/http/192.0.2.1/probe-1.rrd", *b = "web/client/p1.rrd";
  struct rrd_values v1 = vals(1, 100.5), v2 = vals(0, 240.25),
                    v3 = vals(1, 80.125), w1 = vals(1, 12), w2 = vals(0, 36);
  /* Out of order on purpose: flush sorts per file and time. */
  st = rrd_store_queue(s, a, T0 + 40, &v3);
  st |= rrd_store_queue(s, b, T0, &w1);
  st |= rrd_store_queue(s, a, T0, &v1);
  st |= rrd_store_queue(s, a, T0 + 10, &v2);
  st |= rrd_store_queue(s, b, T0 + 20, &w2);
  tap_ok(st == VT_OK, "direct: five updates queued");
  tap_ok(rrd_store_flush(s) == VT_OK, "direct: flush");
  rrd_store_path(s, a, path, sizeof(path));
  tap_ok(row_is(path, T0, &v1), "direct: first value, unknown tls is NaN");
  tap_ok(row_is(path, T0 + 10, &v2), "direct: second value one step later");
  tap_ok(row_is(path, T0 + 20, &v3) && row_is(path, T0 + 30, &v3) &&
             row_is(path, T0 + 40, &v3),
         "direct: a value 3 steps later (= heartbeat) fills the gap");
  rrd_store_path(s, b, path, sizeof(path));
  tap_ok(row_is(path, T0, &w1) && row_is(path, T0 + 10, &w2) &&
             row_is(path, T0 + 20, &w2),
         "direct: second file, two updates 2 steps apart");

  /* (2) Skip semantics: a re-sent value is a no-op, the new one lands; a
   * time repeated within the queue keeps the first. */
  struct rrd_values v4 = vals(1, 50), v5 = vals(1, 60), v6 = vals(0, 70);
  st = rrd_store_queue(s, a, T0 + 10, &v4);
  st |= rrd_store_queue(s, a, T0 + 50, &v4);
  st |= rrd_store_queue(s, a, T0 + 60, &v5);
  st |= rrd_store_queue(s, a, T0 + 60, &v6);
  tap_ok(st == VT_OK && rrd_store_flush(s) == VT_OK,
         "direct: re-sent value plus new ones: flush OK");
  rrd_store_path(s, a, path, sizeof(path));
  tap_ok(row_is(path, T0 + 10, &v2), "direct: the old value is unchanged");
  tap_ok(row_is(path, T0 + 50, &v4), "direct: the new value is there");
  tap_ok(row_is(path, T0 + 60, &v5),
         "direct: of two values with one time, the first queued wins");

  /* (3) Paths: rejected when queued. */
  static const char *const bad[] = {
      "../x/y.rrd",   "/etc/passwd", "a//b.rrd", "a/.hidden.rrd",
      "a/b c.rrd",    "a\\b",        "",         "a/",
      "a/../../b.rrd"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    tap_ok(rrd_store_queue(s, bad[i], T0, &v1) == VT_EINVAL,
           "path \"%s\" rejected", bad[i]);
  char longname[300];
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  tap_ok(rrd_store_queue(s, longname, T0, &v1) == VT_EINVAL &&
             rrd_store_queue(s, "ok.rrd", 0, &v1) == VT_EINVAL,
         "a 299-byte path and a zero time are rejected");
  struct stat sb;
  snprintf(path, sizeof(path), "%s/web/http", dir);
  tap_ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0750,
         "directories are created with mode 0750");

  /* A symlink planted in the tree does not lead a write out of it. */
  char outside[PATH_MAX + 16], link[PATH_MAX + 16], escaped[PATH_MAX + 32];
  snprintf(outside, sizeof(outside), "%s/outside", test_dir);
  snprintf(link, sizeof(link), "%s/evil", dir);
  snprintf(escaped, sizeof(escaped), "%s/x.rrd", outside);
  mkdir(outside, 0750);
  bool linked = symlink(outside, link) == 0;
  int saved = log_begin(logf);
  st = rrd_store_queue(s, "evil/x.rrd", T0, &v1);
  /* Eleven more failing files: ten are logged, the rest summed up. */
  for (int i = 0; i < 11; i++) {
    char rel[32];
    snprintf(rel, sizeof(rel), "evil/%d.rrd", i);
    st |= rrd_store_queue(s, rel, T0, &v1);
  }
  enum vt_status fst = rrd_store_flush(s);
  log_end(saved);
  tap_ok(linked && st == VT_OK && fst == VT_EIO && access(escaped, F_OK) != 0 &&
             file_contains(logf, "evil"),
         "a symlinked directory is refused and logged");
  tap_ok(count_lines(logf, "cannot open directory") == 10 &&
             file_contains(logf, "2 more file(s) failed"),
         "ten failed files are logged, the rest counted");
  snprintf(escaped, sizeof(escaped), "%s/x/y.rrd", dir);
  tap_is_str(rrd_store_path(s, "x/y.rrd", path, sizeof(path)), escaped,
             "rrd_store_path joins the root and relpath");
  tap_is_str(rrd_store_path(s, "../y.rrd", path, sizeof(path)), "",
             "rrd_store_path of a bad relpath is empty");
  tap_ok(rrd_store_flush_file(s, a) == VT_OK,
         "flush_file without rrdcached is a no-op");
  rrd_store_discard(s);
  tap_ok(rrd_store_flush(s) == VT_OK, "flush of an empty queue");

  /* (4) File layout. */
  rrd_store_path(s, a, path, sizeof(path));
  static const long rows10[] = {8640, 50400, 10080, 10080, 17568, 17568, 17568};
  rrd_info_t *info = rrd_info_r(path);
  tap_ok(layout_ok(path, 10, 30), "layout: step 10, 7 GAUGE DS, hb 30, maxima");
  tap_ok(info && rras_are(info, rows10, 7), "layout: 7 RRAs with their rows");
  tap_is_str(info_str(info, "rra[1].cf"), "AVERAGE", "layout: rra[1] AVERAGE");
  tap_is_str(info_str(info, "rra[6].cf"), "MAX", "layout: rra[6] MAX");
  rrd_info_free(info);
  rrd_store_close(s);

  /* Another step scales the rows to the same spans. */
  snprintf(dir, sizeof(dir), "%s/step60", test_dir);
  s = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .step_s = 60, .heartbeat_s = 180},
      &st);
  st = s ? rrd_store_queue(s, "x.rrd", T0, &v1) : st;
  tap_ok(s && st == VT_OK && rrd_store_flush(s) == VT_OK,
         "step 60: file written");
  static const long rows60[] = {1440, 50400, 10080, 10080, 17568, 17568, 17568};
  rrd_store_path(s, "x.rrd", path, sizeof(path));
  info = rrd_info_r(path);
  tap_ok(layout_ok(path, 60, 180) && info && rras_are(info, rows60, 7),
         "step 60: 1 day, 35 days and 732 days of rows");
  rrd_info_free(info);
  rrd_store_close(s);

  /* conf->rra replaces the RRAs. */
  static char *const one_rra[] = {"RRA:LAST:0.5:1:10"};
  snprintf(dir, sizeof(dir), "%s/own", test_dir);
  s = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .rra = one_rra, .n_rra = 1}, &st);
  st = s ? rrd_store_queue(s, "x.rrd", T0, &v1) : st;
  tap_ok(s && st == VT_OK && rrd_store_flush(s) == VT_OK,
         "own RRA: file written");
  rrd_store_path(s, "x.rrd", path, sizeof(path));
  info = rrd_info_r(path);
  static const long rows_own[] = {10};
  tap_ok(info && rras_are(info, rows_own, 1) &&
             strcmp(info_str(info, "rra[0].cf"), "LAST") == 0,
         "own RRA: the only one");
  rrd_info_free(info);
  rrd_store_close(s);

  static char *const bad_rra[] = {"RRA:AVERAGE:0.5:1:10 DS:x"};
  saved = log_begin(logf);
  s = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .rra = bad_rra, .n_rra = 1}, &st);
  struct rrd_store *s2 =
      rrd_store_open(&(struct rrd_store_conf){.dir = dir, .step_s = -1}, &st);
  struct rrd_store *s3 = rrd_store_open(
      &(struct rrd_store_conf){.dir = dir, .rrdcached = "host:"}, &st);
  log_end(saved);
  tap_ok(!s && !s2 && !s3 && st == VT_EINVAL,
         "open refuses a bad RRA, step or rrdcached address");

  /* (5) rrdcached, (6) a daemon that never answers. */
  snprintf(dir, sizeof(dir), "%s/cached", test_dir);
  mkdir(dir, 0750);
  atexit(daemon_stop_at_exit);
  pick_port();
  bool have_daemon =
      strlen(dir) + 20 < sizeof(((struct sockaddr_un *)0)->sun_path) &&
      daemon_port[0] && daemon_start(dir);
  if (have_daemon) {
    daemon_tests(dir);
  } else {
    for (int i = 0; i < N_DAEMON_TESTS; i++)
      printf("ok %d # SKIP no rrdcached (or its socket path is too long)\n",
             ++tap_n);
  }
  dead_daemon_tests(test_dir);

  /* Throughput, for information. */
  if (!getenv("VT_RRD_BENCH") || strcmp(getenv("VT_RRD_BENCH"), "0") != 0) {
    snprintf(dir, sizeof(dir), "%s/bench-direct", test_dir);
    bench(dir, NULL, "direct");
    if (have_daemon) {
      char sock[PATH_MAX + 32];
      snprintf(sock, sizeof(sock), "unix:%s/cached/rrdcached.sock", test_dir);
      snprintf(dir, sizeof(dir), "%s/cached", test_dir);
      bench(dir, sock, "rrdcached");
    }
  }
  daemon_stop(SIGTERM);

  if (!tap_failed) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    if (system(cmd) != 0)
      fprintf(stderr, "cleanup failed\n");
  }
  return tap_done();
}
