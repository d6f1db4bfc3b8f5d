/* SPDX-License-Identifier: MIT */
/* Unit tests for the uploader against a fake collector on loopback, served
 * from the same libev loop: records arrive once and in order across
 * segments, acknowledged segments are deleted, the cursor file survives a
 * restart, 413 halves the batch, a 503 is retried, and stop waits for the
 * request in flight. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "container.h"
#include "curl_loop.h"
#include "log.h"
#include "probe_config.h"
#include "spool.h"
#include "tap.h"
#include "uploader.h"
#include "wire.h"

/* The fake collector: one connection at a time (the uploader keeps one
 * alive), requests read whole, then answered per docs/wire.md. */
struct fake {
  struct ev_loop *loop;
  int lfd, cfd;
  int port;
  ev_io lio, cio;
  char buf[1 << 20];
  size_t len;
  struct vt_wire_key key;
  uint64_t next;        /* the collector's next record */
  struct vt_buf stored; /* stored lines, in order */
  unsigned requests, bad, too_large, failed;
  size_t max_body; /* 413 above (0 = no limit) */
  int fail;        /* answer this many requests with 503 */
};

static struct fake fk;

static void fake_reply(struct fake *f, int status, const char *body)
{
  char out[512];
  int n = snprintf(out, sizeof(out),
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   status, strlen(body), body);
  if (write(f->cfd, out, (size_t)n) != n)
    f->bad++;
}

/* Value of header name in the head (NUL-terminated), or NULL. */
static const char *fake_header(const char *head, const char *name, char *out,
                               size_t size)
{
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
      const char *v = p + 3 + nl;
      while (*v == ' ')
        v++;
      size_t l = strcspn(v, "\r");
      if (l >= size)
        return NULL;
      memcpy(out, v, l);
      out[l] = '\0';
      return out;
    }
  }
  return NULL;
}

/* Handles one whole request in buf; returns its length, 0 when more bytes
 * are needed. */
static size_t fake_request(struct fake *f)
{
  char *end = memmem(f->buf, f->len, "\r\n\r\n", 4);
  if (!end)
    return 0;
  *end = '\0';
  size_t head_len = (size_t)(end - f->buf) + 4;
  char v[6][128];
  uint64_t clen = 0, seq = 0, count = 0;
  int64_t t = 0;
  if (!fake_header(f->buf, "Content-Length", v[0], sizeof(v[0])) ||
      !vt_wire_parse_u64(v[0], &clen)) {
    f->bad++;
    return f->len;
  }
  if (f->len < head_len + clen) {
    *end = '\r';
    return 0;
  }
  const char *body = f->buf + head_len;
  f->requests++;
  if (f->max_body && clen > f->max_body) {
    f->too_large++;
    fake_reply(f, 413, "{\"error\":\"body too large\"}");
  } else if (f->fail > 0) {
    f->fail--;
    f->failed++;
    fake_reply(f, 503, "{\"error\":\"try later\"}");
  } else if (!fake_header(f->buf, VT_WIRE_HDR_PROBE, v[0], sizeof(v[0])) ||
             !fake_header(f->buf, VT_WIRE_HDR_SEQ, v[1], sizeof(v[1])) ||
             !fake_header(f->buf, VT_WIRE_HDR_COUNT, v[2], sizeof(v[2])) ||
             !fake_header(f->buf, VT_WIRE_HDR_TIME, v[3], sizeof(v[3])) ||
             !fake_header(f->buf, VT_WIRE_HDR_SIG, v[4], sizeof(v[4])) ||
             !vt_wire_parse_u64(v[1], &seq) ||
             !vt_wire_parse_u64(v[2], &count) || !vt_wire_parse_i64(v[3], &t) ||
             /* The spool's id, signed (the spool made it). */
             !fake_header(f->buf, VT_WIRE_HDR_SPOOL, v[5], sizeof(v[5])) ||
             !vt_wire_spool_ok(v[5]) ||
             !vt_wire_verify_spool(&f->key, VT_WIRE_RESULTS, v[0], v[5], seq,
                                   count, t, body, clen, v[4]) ||
             strncmp(f->buf, "POST /v1/results ", 17) != 0) {
    f->bad++;
    fake_reply(f, 401, "{\"error\":\"bad signature\"}");
  } else {
    /* Store the records from next on (exactly once, docs/wire.md). */
    const char *p = body;
    for (uint64_t i = 0; i < count; i++) {
      const char *nl = memchr(p, '\n', clen - (size_t)(p - body));
      if (!nl) {
        f->bad++;
        break;
      }
      if (seq + i >= f->next && vt_buf_add(&f->stored, p, (size_t)(nl - p + 1)))
        f->bad++;
      p = nl + 1;
    }
    if (seq + count > f->next)
      f->next = seq + count;
    char r[128];
    snprintf(r, sizeof(r),
             "{\"stored\":1,\"duplicate\":false,\"next\":%" PRIu64 "}",
             f->next);
    fake_reply(f, 200, r);
  }
  return head_len + clen;
}

static void fake_read(struct ev_loop *loop, ev_io *w, int revents)
{
  struct fake *f = container_of(w, struct fake, cio);
  ssize_t n = read(f->cfd, f->buf + f->len, sizeof(f->buf) - f->len);
  if (n <= 0) {
    ev_io_stop(loop, &f->cio);
    close(f->cfd);
    f->cfd = -1;
    f->len = 0;
    return;
  }
  f->len += (size_t)n;
  size_t used;
  while (f->len > 0 && (used = fake_request(f)) > 0) {
    memmove(f->buf, f->buf + used, f->len - used);
    f->len -= used;
  }
}

static void fake_accept(struct ev_loop *loop, ev_io *w, int revents)
{
  struct fake *f = container_of(w, struct fake, lio);
  int fd = accept(f->lfd, NULL, NULL);
  if (fd < 0)
    return;
  if (f->cfd >= 0) {
    ev_io_stop(loop, &f->cio);
    close(f->cfd);
  }
  f->cfd = fd;
  f->len = 0;
  ev_io_init(&f->cio, fake_read, fd, EV_READ);
  ev_io_start(loop, &f->cio);
}

/* Listens on port (0: any free one). */
static int fake_start_port(struct fake *f, struct ev_loop *loop, int port)
{
  f->loop = loop;
  f->cfd = -1;
  f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  int one = 1;
  if (f->lfd >= 0)
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(f->lfd, 8) != 0 ||
      getsockname(f->lfd, (struct sockaddr *)&sa, &sl) != 0)
    return -1;
  f->port = ntohs(sa.sin_port);
  ev_io_init(&f->lio, fake_accept, f->lfd, EV_READ);
  ev_io_start(loop, &f->lio);
  vt_buf_init(&f->stored, 0);
  return 0;
}

static int fake_start(struct fake *f, struct ev_loop *loop)
{
  return fake_start_port(f, loop, 0);
}

static void fake_stop(struct fake *f)
{
  ev_io_stop(f->loop, &f->lio);
  if (f->cfd >= 0) {
    ev_io_stop(f->loop, &f->cio);
    close(f->cfd);
  }
  close(f->lfd);
  vt_buf_cleanup(&f->stored);
}

/* ---- driving the loop ------------------------------------------------- */

static uint64_t want_next;
static bool idle_called;

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  if (fk.next >= want_next)
    ev_break(loop, EVBREAK_ONE);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until the fake collector has record n - 1 (or 15 s). */
static bool run_until(struct ev_loop *loop, uint64_t n)
{
  ev_timer poll, deadline;
  want_next = n;
  ev_timer_init(&poll, poll_cb, 0.01, 0.01);
  ev_timer_init(&deadline, deadline_cb, 15., 0.);
  ev_timer_start(loop, &poll);
  ev_timer_start(loop, &deadline);
  ev_run(loop, 0);
  ev_timer_stop(loop, &poll);
  ev_timer_stop(loop, &deadline);
  return fk.next >= n;
}

static void on_idle(void *arg)
{
  idle_called = true;
  ev_break(arg, EVBREAK_ONE);
}

static int count_segments(const char *dir)
{
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^seg-'", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p && fscanf(p, "%d", &n) != 1)
    n = -1;
  if (p)
    pclose(p);
  return n;
}

/* Appends records [from, to) and the expected text of each. */
static void append(struct spool *sp, struct vt_buf *want, int from, int to)
{
  for (int i = from; i < to; i++) {
    char rec[128];
    int n = snprintf(rec, sizeof(rec),
                     "{\"probe\":\"t1\",\"n\":%d,\"pad\":\"%040d\"}", i, i);
    if (spool_append(sp, rec, (size_t)n) != VT_OK ||
        vt_buf_add(want, rec, (size_t)n) != VT_OK ||
        vt_buf_add(want, "\n", 1) != VT_OK)
      fprintf(stderr, "append %d failed\n", i);
  }
}

int main(void)
{
  tap_plan(16);
  vt_log_init("test_uploader", getenv("VT_DEBUG") ? VT_LOG_DEBUG : VT_LOG_ERR);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char dir[] = "test-uploader.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  struct ev_loop *loop = ev_default_loop(0);
  struct curl_loop *cl = curl_loop_create(loop);
  if (!cl || fake_start(&fk, loop) != 0) {
    perror("setup");
    return 1;
  }
  memset(fk.key.bytes, 'k', 32);
  fk.key.len = 32;

  enum vt_status st;
  /* Segments of about 10 records, so batches cross segment boundaries. */
  struct spool *sp = spool_open(dir, PROBE_FSYNC_NEVER, 800, &st);
  struct vt_buf want;
  vt_buf_init(&want, 0);
  append(sp, &want, 0, 100);

  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", fk.port);
  struct probe_collector_conf cc = {.url = url,
                                    .key = fk.key,
                                    .verify = true,
                                    .batch_max = 7,
                                    .timeout_s = 5.0};
  struct uploader *up = uploader_create(loop, cl, dir, "t1", &cc, 1, &st);
  tap_ok(up && st == VT_OK, "created");

  tap_ok(run_until(loop, 100), "a backlog of 100 records is acknowledged");
  tap_ok(fk.stored.len == want.len &&
             memcmp(vt_buf_str(&fk.stored), vt_buf_str(&want), want.len) == 0,
         "every record arrived once, in order");
  tap_ok(fk.bad == 0 && fk.requests == 15,
         "batches of at most 7, signed (%u requests, %u bad)", fk.requests,
         fk.bad);
  tap_ok(count_segments(dir) == 1, "acknowledged segments deleted (%d left)",
         count_segments(dir));

  /* Live records: a kick sends them after the linger. */
  append(sp, &want, 100, 130);
  uploader_kick(up);
  tap_ok(run_until(loop, 130) && fk.stored.len == want.len,
         "records appended later follow");

  /* 413: batches shrink until they fit, nothing is lost. */
  fk.max_body = 250; /* about 4 records */
  append(sp, &want, 130, 160);
  uploader_kick(up);
  struct uploader_stats us;
  bool ok = run_until(loop, 160);
  uploader_get_stats(up, 0, &us);
  tap_ok(ok && fk.too_large > 0 && us.batch_max <= 3,
         "413 halves the batch (%u refused, now %zu)", fk.too_large,
         us.batch_max);
  tap_ok(fk.stored.len == want.len &&
             memcmp(vt_buf_str(&fk.stored), vt_buf_str(&want), want.len) == 0,
         "and every record still arrives once, in order");

  /* 503: retried after the backoff (linger 1 s + about 1 s). */
  fk.max_body = 0;
  fk.fail = 1;
  append(sp, &want, 160, 170);
  uploader_kick(up);
  double t0 = ev_time();
  ok = run_until(loop, 170);
  uploader_get_stats(up, 0, &us);
  tap_ok(ok && fk.failed == 1 && ev_time() - t0 > 1.5,
         "503 retried with backoff (%.1f s)", ev_time() - t0);

  /* Stop: idle once nothing is in flight. */
  uploader_stop(up, on_idle, loop);
  ev_run(loop, 0);
  tap_ok(idle_called, "stop calls idle");
  uploader_destroy(up);

  char text[32] = "";
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "cat '%s'/cursor-*", dir);
  FILE *p = popen(cmd, "r");
  if (p && !fgets(text, sizeof(text), p))
    text[0] = '\0';
  if (p)
    pclose(p);
  tap_is_str(text, "170\n", "cursor file holds the next record");

  /* A restart resumes at the cursor: nothing is sent twice. */
  unsigned before = fk.requests;
  append(sp, &want, 170, 175);
  up = uploader_create(loop, cl, dir, "t1", &cc, 1, &st);
  uploader_get_stats(up, 0, &us);
  tap_ok(up && us.cursor == 170, "restart resumes at record %" PRIu64,
         us.cursor);
  ok = run_until(loop, 175);
  tap_ok(ok && fk.requests == before + 1 && fk.stored.len == want.len,
         "only the new records are sent");

  /* A collector that is down does not hold up stop beyond the timeout. */
  fake_stop(&fk);
  append(sp, &want, 175, 180);
  uploader_kick(up);
  t0 = ev_time();
  idle_called = false;
  ev_timer dl;
  ev_timer_init(&dl, deadline_cb, 1.5, 0.);
  ev_timer_start(loop, &dl);
  ev_run(loop, 0); /* the send fails (connection refused) */
  ev_timer_stop(loop, &dl);
  uploader_stop(up, on_idle, loop);
  ev_run(loop, 0);
  tap_ok(idle_called && ev_time() - t0 < 3.0, "stop while backing off");
  uploader_get_stats(up, 0, &us);
  tap_ok(us.failures >= 1 && us.cursor == 175, "failures counted (%" PRIu64 ")",
         us.failures);
  uploader_destroy(up);

  /* SIGTERM's drain with a collector in backoff that has come back: it is
   * tried at once, and the spool is sent (issue 8). Three failures first,
   * so the next retry is seconds away. */
  up = uploader_create(loop, cl, dir, "t1", &cc, 1, &st);
  uploader_kick(up);
  ev_timer_init(&dl, deadline_cb, 3.6, 0.);
  ev_timer_start(loop, &dl);
  ev_run(loop, 0);
  ev_timer_stop(loop, &dl);
  uploader_get_stats(up, 0, &us);
  unsigned fails_before = (unsigned)us.failures;
  int back = fake_start_port(&fk, loop, fk.port);
  idle_called = false;
  t0 = ev_time();
  uploader_drain(up, 5.0, on_idle, loop);
  ev_timer_init(&dl, deadline_cb, 3.0, 0.);
  ev_timer_start(loop, &dl);
  ev_run(loop, 0);
  ev_timer_stop(loop, &dl);
  uploader_get_stats(up, 0, &us);
  tap_ok(back == 0 && fails_before >= 2 && idle_called && us.cursor == 180 &&
             fk.next == 180 && ev_time() - t0 < 1.5,
         "drain sends to a collector in backoff that is back (%u failures "
         "before, cursor %" PRIu64 ", %.2f s)",
         fails_before, us.cursor, ev_time() - t0);
  uploader_destroy(up);
  fake_stop(&fk);

  spool_close(sp);
  vt_buf_cleanup(&want);
  curl_loop_destroy(cl);
  ev_loop_destroy(loop);
  curl_global_cleanup();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
