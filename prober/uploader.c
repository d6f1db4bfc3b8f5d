/* SPDX-License-Identifier: MIT */
/* Uploads the spool to the collectors (see uploader.h, docs/wire.md): per
 * collector a small state machine on the libev loop that asks the spool for
 * batches of consecutive records (spool_read; the segment files are the
 * spool's business), POSTs them signed through curl_loop, moves its cursor
 * to the collector's "next", persists it, and has the spool delete the
 * segments every collector has acknowledged (spool_release). */
#include "config.h"

#include "uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "backoff.h"
#include "collector_req.h"
#include "container.h"
#include "curl_loop.h"
#include "fsutil.h"
#include "log.h"
#include "probe_config.h"
#include "spool.h"
#include "wire.h"

/* Bytes of records per request (docs/wire.md leaves the limit to the
 * collector's max_body; a 413 makes batches smaller). */
#define UPLOADER_MAX_BODY (4u << 20)
/* Records that trickle in wait this long, so that a steady probe sends one
 * request per second per collector rather than one per record: after a kick
 * of an idle collector, and after a batch that was not full. A backlog goes
 * out back to back. */
#define UPLOADER_LINGER_S 1.0
#define UPLOADER_BACKOFF_MIN_S 1.0
#define UPLOADER_BACKOFF_MAX_S 60.0
/* A collector that is away (refused, timed out, 5xx) is retried at most
 * this far apart, so a backlog starts moving within a few seconds of it
 * accepting again whatever the length of its outage (issue 8). Rejections
 * (4xx: key, clock) keep the slow UPLOADER_BACKOFF_MAX_S pace. */
#define UPLOADER_AWAY_MAX_S 4.0
/* Records in the request that probes a collector after a failure: a small
 * request is cheap for a collector that is coming back; the first
 * acknowledgement sends the backlog back to back in full batches. */
#define UPLOADER_PROBE_RECORDS 1
/* In a failure streak, log the first failure, then every tenth. */
#define UPLOADER_LOG_EVERY 10
/* Bytes of a reply kept: its start is all we read. */
#define UPLOADER_REPLY_MAX 1023
/* A body kept between batches is at most this large (a backlog's is freed
 * once caught up). */
#define UPLOADER_CHUNK (64u << 10)
/* A clock this far from the collector's is reported (Date has whole
 * seconds; the collector refuses requests time_window, 300 s by default,
 * off, and records more than that in the future). */
#define UPLOADER_CLOCK_SKEW_S 10.0

/* Failure kinds other than an HTTP status, for "log on change". */
#define UPLOADER_KIND_LOCAL (-1L) /* spool unreadable, out of memory */
#define UPLOADER_KIND_REPLY (-2L) /* a 200 without a usable "next" */
#define UPLOADER_KIND_CURL 10000L /* + CURLcode */

enum uploader_state {
  UPLOADER_IDLE,    /* caught up: waits for a kick */
  UPLOADER_LINGER,  /* kicked: sends when the timer fires */
  UPLOADER_SENDING, /* a request in flight */
  UPLOADER_BACKOFF, /* failed: retries when the timer fires */
  UPLOADER_STOPPED, /* stopped with nothing in flight */
};

/* One collector. */
struct uploader_coll {
  struct uploader *up;
  enum uploader_state state;
  char *url; /* as configured, for logs */
  struct vt_wire_key key;
  char cursor_name[32]; /* "cursor-<16 hex of SHA-256(url)>" */
  uint64_t cursor;      /* next record to send */
  uint64_t persisted;   /* the cursor as its file holds it */
  bool save_failing;    /* cursor file: log once per failure streak */
  size_t batch_max;     /* records per request; halved by 413 */
  size_t limit;         /* records in the batch being built */
  /* A record the collector refused: the batch before it goes first, then
   * the cursor steps over it. Batches then start again at one record and
   * double, so a run of refused records costs small requests. */
  bool poison_set;
  uint64_t poison;
  size_t slow;            /* batch limit after a refused record; 0: batch_max */
  bool poison_seen;       /* poison_max is set: */
  uint64_t poison_max;    /* the highest record set aside (quarantine file) */
  bool clock_bad;         /* the clock check failed: log the recovery once */
  double clock_logged;    /* skew reported last */
  struct spool_pos pos;   /* where cursor starts, when known */
  struct spool_pos after; /* where the batch in flight ends */
  ev_timer timer;         /* linger and backoff */

  /* The request. The body stays ours until done runs. */
  struct collector_req req;
  struct vt_buf body;
  uint64_t seq, count; /* the batch: records [seq, seq + count) */
  bool full;           /* the batch hit a limit: more records wait */

  /* Failure streak. */
  unsigned fails;
  long last_kind;
  double fail_since;

  struct uploader_stats stats;
};

struct uploader {
  struct ev_loop *loop;
  struct curl_loop *cl;
  char *spool_dir;
  int dir_fd;
  char *probe;
  struct uploader_coll *colls;
  size_t n;
  bool stopping;
  double drain_until; /* uploader_drain: keep sending until then */
  uploader_idle_fn *idle;
  void *idle_arg;
  ev_timer idle_timer;
  uint64_t rng;                /* xorshift64 state for the backoff jitter */
  struct spool_reader *reader; /* shared: one read at a time */
  char spool_id[SPOOL_ID_HEXLEN + 1]; /* "" when the spool has none */
};

static const char *uploader_state_name(enum uploader_state s)
{
  switch (s) {
  case UPLOADER_IDLE:
    return "idle";
  case UPLOADER_LINGER:
    return "linger";
  case UPLOADER_SENDING:
    return "sending";
  case UPLOADER_BACKOFF:
    return "backoff";
  case UPLOADER_STOPPED:
    return "stopped";
  }
  return "?";
}

static void uploader_set_state(struct uploader_coll *c, enum uploader_state s)
{
  if (c->state == s)
    return;
  vt_debug("upload: %s: %s -> %s", c->url, uploader_state_name(c->state),
           uploader_state_name(s));
  c->state = s;
}

static void uploader_send(struct uploader_coll *c);
static void uploader_linger(struct uploader_coll *c);

/* ---- batches from the spool -------------------------------------------- */

/* Builds the next batch: up to batch_max consecutive records from the
 * cursor, at most UPLOADER_MAX_BODY bytes (one record at least), read by
 * the spool. Leaves c->count 0 when nothing waits. */
static enum vt_status uploader_fill(struct uploader_coll *c)
{
  vt_buf_reset(&c->body);
  c->count = 0;
  c->full = false;
  if (c->poison_set && c->cursor >= c->poison) {
    if (c->cursor == c->poison)
      c->cursor++; /* quarantined: the records behind it go on */
    c->poison_set = false;
  }
  c->seq = c->cursor;
  c->limit = c->slow && c->slow < c->batch_max ? c->slow : c->batch_max;
  if (c->poison_set && c->poison - c->seq < c->limit)
    c->limit = (size_t)(c->poison - c->seq);
  struct spool_batch b = {
      .from = c->seq,
      .max_records = c->fails && UPLOADER_PROBE_RECORDS < c->limit
                         ? UPLOADER_PROBE_RECORDS
                         : c->limit,
      .max_bytes = UPLOADER_MAX_BODY,
  };
  enum vt_status st = spool_read(c->up->reader, &c->pos, &b, &c->body);
  if (b.past_end.set) {
    /* Waiting for the spool to reach the cursor would stop the uploads
     * silently; sending again what the spool holds loses nothing (the
     * collector drops what it has). */
    vt_warn("upload: %s: the cursor (record %" PRIu64 ") is past the "
            "spool's end (record %" PRIu64 "); sending again from the oldest "
            "record in the spool, %" PRIu64,
            c->url, b.past_end.from, b.past_end.to, b.past_end.next);
    c->cursor = b.past_end.next;
    c->pos = (struct spool_pos){0};
    return uploader_fill(c);
  }
  if (b.gone.set)
    vt_warn("upload: %s: records %" PRIu64 " to %" PRIu64
            " are no longer in the spool; continuing with %" PRIu64,
            c->url, b.gone.from, b.gone.to - 1, b.gone.next);
  if (b.hole.set)
    vt_warn("upload: %s: records %" PRIu64 " to %" PRIu64
            " are missing from the spool; continuing with %" PRIu64,
            c->url, b.hole.from, b.hole.to - 1, b.hole.next);
  c->cursor = c->seq = b.first;
  c->count = b.count;
  if (st != VT_OK)
    return st;
  c->after = b.end;
  c->full = b.full;
  return VT_OK;
}

/* ---- cursor files ------------------------------------------------------ */

static void uploader_load_cursor(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  c->cursor = c->persisted = 0;
  int fd = openat(up->dir_fd, c->cursor_name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      vt_info("upload: %s: no cursor yet (%s/%s): starting with the oldest "
              "record in the spool",
              c->url, up->spool_dir, c->cursor_name);
    else
      vt_warn("upload: %s: %s/%s: cannot read: %s; starting with the "
              "oldest record (the collector drops what it has)",
              c->url, up->spool_dir, c->cursor_name, strerror(errno));
    return;
  }
  char buf[32];
  ssize_t got = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (got > 0 && buf[got - 1] == '\n')
    got--;
  uint64_t v;
  buf[got > 0 ? got : 0] = '\0';
  if (got <= 0 || !vt_wire_parse_u64(buf, &v)) {
    vt_warn("upload: %s: %s/%s: not a record number; starting with the "
            "oldest record (the collector drops what it has)",
            c->url, up->spool_dir, c->cursor_name);
    return;
  }
  c->cursor = c->persisted = v;
  vt_info("upload: %s: resuming at record %" PRIu64, c->url, v);
}

/* Writes the cursor durably: temporary file, fsync, rename, fsync of the
 * directory. Two fsyncs per acknowledged batch block the loop briefly; they
 * keep a power cut from turning the file empty, and the segment deletion
 * relies only on what is on disk. */
static enum vt_status uploader_save_cursor(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  if (c->cursor == c->persisted)
    return VT_OK;
  char text[32];
  int len = snprintf(text, sizeof(text), "%" PRIu64 "\n", c->cursor);
  const char *what;
  if (vt_write_file_atomic(up->dir_fd, c->cursor_name, text, (size_t)len, 0640,
                           VT_FS_DURABLE, &what) != 0) {
    if (!c->save_failing)
      vt_err("upload: %s: %s/%s: %s failed: %s (acknowledged segments are "
             "deleted all the same; saved again with the next "
             "acknowledgement)",
             c->url, up->spool_dir, c->cursor_name, what, strerror(errno));
    c->save_failing = true;
    return VT_EIO;
  }
  c->persisted = c->cursor;
  if (c->save_failing)
    vt_notice("upload: %s: %s/%s: written again", c->url, up->spool_dir,
              c->cursor_name);
  c->save_failing = false;
  return VT_OK;
}

/* Deletes every segment whose records all lie below every collector's
 * cursor. The cursor in memory counts, not the one on disk: the records
 * were acknowledged, so a cursor file that could not be written (a full
 * volume) must not keep them, and after a crash the older file only makes
 * the uploader skip ahead to the oldest segment left. The newest segment,
 * which the spool appends to, always stays. */
static void uploader_collect(struct uploader *up)
{
  uint64_t low = UINT64_MAX;
  for (size_t i = 0; i < up->n; i++)
    if (up->colls[i].cursor < low)
      low = up->colls[i].cursor;
  spool_release(up->reader, low);
}

/* ---- stopping ---------------------------------------------------------- */

static void uploader_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct uploader *up = container_of(w, struct uploader, idle_timer);
  uploader_idle_fn *idle = up->idle;
  void *arg = up->idle_arg;
  up->idle = NULL;
  (void)loop;
  (void)revents;
  /* Last: idle may destroy the uploader. */
  if (idle)
    idle(arg);
}

/* When stopping and no collector has a request in flight, calls idle from
 * a 0 s timer, so that it never runs inside uploader_stop or a curl
 * callback of ours. */
static void uploader_check_idle(struct uploader *up)
{
  if (!up->stopping)
    return;
  for (size_t i = 0; i < up->n; i++)
    if (up->colls[i].state != UPLOADER_STOPPED)
      return;
  if (up->idle && !ev_is_active(&up->idle_timer)) {
    ev_timer_set(&up->idle_timer, 0., 0.);
    ev_timer_start(up->loop, &up->idle_timer);
  }
}

/* ---- outcomes ---------------------------------------------------------- */

/* Counts a failure of the current batch, logs it (the first of a streak,
 * every tenth, and whenever the kind changes) and schedules the retry:
 * 1 s doubling to UPLOADER_AWAY_MAX_S for a collector that is away (60 s
 * for a rejection), ±25 % jitter so probes do not retry in step. A
 * rejected request (slowest) is logged at err: an operator must fix a key
 * or a clock, and the records wait in the spool meanwhile. */
static void uploader_failed(struct uploader_coll *c, long kind, const char *why,
                            bool slowest)
{
  struct uploader *up = c->up;
  if (c->fails == 0)
    c->fail_since = ev_now(up->loop);
  c->fails++;
  c->stats.failures++;
  double delay =
      slowest ? vt_backoff_delay(&up->rng, 1, UPLOADER_BACKOFF_MAX_S,
                                 UPLOADER_BACKOFF_MAX_S)
              : vt_backoff_delay(&up->rng, c->fails, UPLOADER_BACKOFF_MIN_S,
                                 UPLOADER_AWAY_MAX_S);
  if (delay > UPLOADER_BACKOFF_MAX_S)
    delay = UPLOADER_BACKOFF_MAX_S;
  char next[64];
  if (up->stopping)
    snprintf(next, sizeof(next), "stopping: sent after the restart");
  else
    snprintf(next, sizeof(next), "retrying in %.1f s", delay);
  if (c->fails == 1 || c->fails % UPLOADER_LOG_EVERY == 0 ||
      kind != c->last_kind) {
    if (slowest)
      vt_err("upload: %s: records %" PRIu64 "+%" PRIu64 ": %s; %s (failure "
             "%u)",
             c->url, c->seq, c->count, why, next, c->fails);
    else
      vt_warn("upload: %s: records %" PRIu64 "+%" PRIu64 ": %s; %s (failure "
              "%u; the spool keeps everything)",
              c->url, c->seq, c->count, why, next, c->fails);
  }
  c->last_kind = kind;
  if (up->stopping) {
    uploader_set_state(c, UPLOADER_STOPPED);
    uploader_check_idle(up);
    return;
  }
  ev_timer_set(&c->timer, delay, 0.);
  ev_timer_start(up->loop, &c->timer);
  uploader_set_state(c, UPLOADER_BACKOFF);
}

/* 200: the reply's "next" moves the cursor (never backwards). */
static void uploader_acked(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  json_t *root =
      json_loadb(vt_buf_str(&c->req.reply), c->req.reply.len, 0, NULL);
  json_t *jn = json_object_get(root, "next");
  bool ok = json_is_integer(jn) && json_integer_value(jn) >= 0;
  uint64_t next = ok ? (uint64_t)json_integer_value(jn) : 0;
  json_decref(root);
  if (!ok) {
    uploader_failed(c, UPLOADER_KIND_REPLY,
                    "200 without a \"next\" record number in the reply", false);
    return;
  }
  uint64_t end = c->seq + c->count;
  if (next <= c->cursor) {
    /* No progress: retrying at once would spin. */
    uploader_failed(c, UPLOADER_KIND_REPLY,
                    "the collector acknowledged nothing new", false);
    return;
  }
  /* A collector busy creating the files of new series stores a prefix
   * and says where it stopped; the rest goes at once. */
  bool partial = next < end;
  if (partial)
    vt_info("upload: %s: records %" PRIu64 "+%" PRIu64
            ": the collector stored up to %" PRIu64 "; sending the rest",
            c->url, c->seq, c->count, next);
  else if (next > end)
    vt_notice("upload: %s: the collector already has records up to %" PRIu64
              "; skipping ahead",
              c->url, next);
  vt_debug("upload: %s: records %" PRIu64 "+%" PRIu64 " (%zu bytes) "
           "acknowledged, next %" PRIu64,
           c->url, c->seq, c->count, c->body.len, next);
  if (c->fails > 0)
    vt_notice("upload: %s: recovered after %u failures (%.0f s)", c->url,
              c->fails, ev_now(up->loop) - c->fail_since);
  c->fails = 0;
  c->last_kind = 0;
  c->stats.batches++;
  c->stats.records += c->count;
  if (c->slow && (c->slow *= 2) >= c->batch_max)
    c->slow = 0;
  c->pos = next == c->after.record ? c->after : (struct spool_pos){0};
  c->cursor = next;
  /* Segments go even when the cursor cannot be saved (a full volume):
   * deleting them makes the room to save it. */
  bool saved = uploader_save_cursor(c) == VT_OK;
  uploader_collect(up);
  if (!saved)
    (void)uploader_save_cursor(c);
  if (up->stopping) {
    if (ev_now(up->loop) < up->drain_until) {
      uploader_send(c); /* draining: the rest, or STOPPED when caught up */
      return;
    }
    uploader_set_state(c, UPLOADER_STOPPED);
    uploader_check_idle(up);
    return;
  }
  if (c->full || partial) {
    uploader_send(c); /* a backlog: the next batch at once */
    return;
  }
  /* Caught up: what arrived meanwhile goes with the next linger. */
  uploader_linger(c);
}

/* 413: the batch is larger than the collector takes. Halve it (from what
 * was sent, which the byte limit may have cut below batch_max) and retry
 * at once. */
static void uploader_too_large(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  if (c->count <= 1) {
    uploader_failed(c, 413,
                    "413: a single record is larger than the collector's "
                    "max_body",
                    true);
    return;
  }
  c->stats.failures++;
  c->batch_max = (size_t)(c->count / 2);
  vt_notice("upload: %s: 413 for %" PRIu64 " records (%zu bytes): batches "
            "now at most %zu records",
            c->url, c->count, c->body.len, c->batch_max);
  c->stats.batch_max = c->batch_max;
  if (up->stopping) {
    uploader_set_state(c, UPLOADER_STOPPED);
    uploader_check_idle(up);
    return;
  }
  uploader_send(c);
}

/* Compares the collector's Date with our clock and reports a probe whose
 * clock is off: its results carry wrong times, and the collector refuses
 * its requests (401 "stale time") or their records ("ts is in the
 * future") once it is off by more than the time window. Logged when it
 * starts, when it changes by more than the threshold, and when it ends. */
static void uploader_check_clock(struct uploader_coll *c)
{
  double skew;
  if (!collector_req_clock_skew(&c->req, &skew))
    return;
  c->stats.clock_skew_s = skew;
  if (fabs(skew) <= UPLOADER_CLOCK_SKEW_S) {
    if (c->clock_bad)
      vt_notice("upload: %s: this probe's clock agrees with the collector's "
                "again (%+.0f s)",
                c->url, skew);
    c->clock_bad = false;
    return;
  }
  if (c->clock_bad && fabs(skew - c->clock_logged) <= UPLOADER_CLOCK_SKEW_S)
    return;
  vt_err("upload: %s: THIS PROBE'S CLOCK IS WRONG: %.0f s %s the collector's "
         "(its Date header); results carry wrong times, and the collector "
         "refuses requests and records more than its time window off. Fix "
         "the time synchronisation (NTP) of this machine",
         c->url, fabs(skew), skew > 0 ? "ahead of" : "behind");
  c->clock_bad = true;
  c->clock_logged = skew;
}

/* A 400 that names a line of the batch ("line 21: unknown field"): that
 * record can never be stored. Sets it aside in the spool's quarantine file
 * with the reason, and sends at once what lies before it, then what lies
 * behind it. False when the reply names no line of the batch (the request
 * as a whole was refused: retried like any refusal). */
static bool uploader_refused_record(struct uploader_coll *c, const char *why)
{
  struct uploader *up = c->up;
  unsigned long long line = 0;
  int end = 0;
  if (sscanf(why, "line %llu:%n", &line, &end) != 1 || end == 0 || line < 1 ||
      line > c->count)
    return false;
  /* Line `line` of the body. */
  const char *p = c->body.data, *stop = c->body.data + c->body.len;
  for (unsigned long long i = 1; i < line && p; i++) {
    p = memchr(p, '\n', (size_t)(stop - p));
    p = p ? p + 1 : NULL;
  }
  const char *nl = p ? memchr(p, '\n', (size_t)(stop - p)) : NULL;
  if (!nl)
    return false;
  uint64_t rec = c->seq + line - 1;
  c->stats.failures++;
  if (c->poison_seen && rec <= c->poison_max) {
    /* Sent again (a cursor moved back, a restart before the cursor was
     * saved): it is set aside already. */
    vt_info("upload: %s: record %" PRIu64 " refused again (%s); already set "
            "aside",
            c->url, rec, why);
  } else {
    c->stats.quarantined++;
    c->poison_seen = true;
    c->poison_max = rec;
    if (spool_quarantine(up->spool_dir, rec, p, (size_t)(nl - p), c->url,
                         why) == VT_OK)
      vt_err("upload: %s: record %" PRIu64 " refused by the collector (%s): "
             "set aside in %s/%s; the records behind it go on (%" PRIu64
             " set aside so far)",
             c->url, rec, why, up->spool_dir, SPOOL_QUARANTINE_FILE,
             c->stats.quarantined);
    else
      vt_err("upload: %s: record %" PRIu64 " refused by the collector (%s) "
             "and could not be set aside in %s/%s (%s): skipped; the records "
             "behind it go on",
             c->url, rec, why, up->spool_dir, SPOOL_QUARANTINE_FILE,
             strerror(errno));
  }
  c->poison_set = true;
  c->poison = rec;
  c->slow = 1;
  if (up->stopping && ev_now(up->loop) >= up->drain_until) {
    uploader_set_state(c, UPLOADER_STOPPED);
    uploader_check_idle(up);
    return true;
  }
  uploader_send(c);
  return true;
}

/* curl_loop_done_fn: the request ended (the easy handle is back with us). */
static void uploader_done(CURL *easy, CURLcode rc, void *arg)
{
  struct uploader_coll *c = arg;
  long status = 0;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    uploader_check_clock(c);
  }
  char why[CURL_ERROR_SIZE + 64], reason[160];
  if (rc != CURLE_OK) {
    snprintf(why, sizeof(why), "%s", collector_req_strerror(&c->req, rc));
    uploader_failed(c, UPLOADER_KIND_CURL + (long)rc, why, false);
  } else if (status == 200) {
    uploader_acked(c);
  } else if (status == 413) {
    uploader_too_large(c);
  } else {
    collector_req_reason(&c->req, reason, sizeof(reason));
    if (status == 400 && uploader_refused_record(c, reason))
      return;
    snprintf(why, sizeof(why), "HTTP %ld%s%s", status, reason[0] ? ": " : "",
             reason);
    /* 5xx (and anything odd) is the collector's trouble: back off and
     * retry. Other 4xx mean this probe is refused (key, clock, records):
     * retry at the slowest pace and never drop the batch (docs/wire.md). */
    uploader_failed(c, status, why, status >= 400 && status < 500);
  }
}

/* ---- sending ----------------------------------------------------------- */

/* Signs the batch and hands the request to curl_loop. */
static enum vt_status uploader_start_request(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  enum vt_status st = collector_req_sign(&c->req, &c->key, up->probe, c->seq,
                                         c->count, c->body.data, c->body.len);
  if (st != VT_OK) {
    vt_err("upload: %s: cannot sign: %s", c->url, vt_strerror(st));
    return st;
  }
  if ((st = collector_req_prepare(&c->req)) != VT_OK) {
    if (st == VT_ELIB)
      vt_err("upload: %s: cannot set up the request", c->url);
    return st;
  }
  return curl_loop_add(up->cl, c->req.easy, uploader_done, c);
}

/* Builds the next batch and sends it; goes idle when nothing waits. */
static void uploader_send(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  ev_timer_stop(up->loop, &c->timer);
  enum vt_status st = uploader_fill(c);
  if (st == VT_OK && c->count == 0) {
    /* Caught up. Where the scan stopped is at or below the cursor, so the
     * next batch starts reading there, not at the segment's start. */
    c->pos = c->after;
    /* A backlog grew the body to megabytes; a caught-up probe needs
     * kilobytes. */
    if (c->body.alloc > UPLOADER_CHUNK)
      vt_buf_cleanup(&c->body);
    if (up->stopping) {
      uploader_set_state(c, UPLOADER_STOPPED);
      uploader_check_idle(up);
      return;
    }
    uploader_set_state(c, UPLOADER_IDLE);
    return;
  }
  if (st == VT_OK)
    st = uploader_start_request(c);
  if (st != VT_OK) {
    char why[96];
    snprintf(why, sizeof(why), "cannot send: %s", vt_strerror(st));
    uploader_failed(c, UPLOADER_KIND_LOCAL, why, false);
    return;
  }
  vt_debug("upload: %s: sending records %" PRIu64 "+%" PRIu64 " (%zu bytes)",
           c->url, c->seq, c->count, c->body.len);
  uploader_set_state(c, UPLOADER_SENDING);
}

/* Sends after UPLOADER_LINGER_S. */
static void uploader_linger(struct uploader_coll *c)
{
  ev_timer_stop(c->up->loop, &c->timer);
  ev_timer_set(&c->timer, UPLOADER_LINGER_S, 0.);
  ev_timer_start(c->up->loop, &c->timer);
  uploader_set_state(c, UPLOADER_LINGER);
}

static void uploader_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct uploader_coll *c = container_of(w, struct uploader_coll, timer);
  (void)loop;
  (void)revents;
  uploader_send(c);
}

/* ---- setup ------------------------------------------------------------- */

/* "cursor-" + the first 16 hex digits of SHA-256(url): a stable file name
 * per collector that survives reordering the list. */
static bool uploader_cursor_name(const char *url, char *out, size_t size)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(url, strlen(url), md, &md_len, EVP_sha256(), NULL) != 1 ||
      md_len < 8)
    return false;
  int w = snprintf(out, size, "cursor-");
  for (unsigned i = 0; i < 8; i++)
    w += snprintf(out + w, size - (size_t)w, "%02x", md[i]);
  return true;
}

static enum vt_status uploader_coll_init(struct uploader *up,
                                         struct uploader_coll *c,
                                         const struct probe_collector_conf *cf)
{
  *c = (struct uploader_coll){
      .up = up,
      .state = UPLOADER_IDLE,
      .key = cf->key,
      .batch_max = cf->batch_max > 0 ? (size_t)cf->batch_max : 1,
  };
  ev_timer_init(&c->timer, uploader_timer_cb, 0., 0.);
  c->stats.batch_max = c->batch_max;
  if (!(c->url = strdup(cf->url)))
    return VT_ENOMEM;
  if (!uploader_cursor_name(cf->url, c->cursor_name, sizeof(c->cursor_name))) {
    vt_err("upload: %s: SHA-256 failed", c->url);
    return VT_ELIB;
  }
  enum vt_status st = collector_req_init(&c->req, cf, VT_WIRE_RESULTS,
                                         UPLOADER_REPLY_MAX, COLLECTOR_REQ_CUT);
  if (st != VT_OK) {
    if (st == VT_ELIB)
      vt_err("upload: %s: cannot set up libcurl", c->url);
    return st;
  }
  c->req.spool = up->spool_id;
  /* Records set aside before are not set aside again when sent again. */
  c->poison_seen = spool_quarantine_max(up->spool_dir, c->url, &c->poison_max);
  uploader_load_cursor(c);
  c->stats.cursor = c->cursor;
  return VT_OK;
}

static void uploader_coll_cleanup(struct uploader_coll *c)
{
  struct uploader *up = c->up;
  if (!up)
    return; /* never initialised */
  if (c->state == UPLOADER_SENDING)
    curl_loop_remove(up->cl, c->req.easy);
  collector_req_cleanup(&c->req);
  ev_timer_stop(up->loop, &c->timer);
  vt_buf_cleanup(&c->body);
  free(c->url);
  vt_wire_key_wipe(&c->key);
}

struct uploader *uploader_create(struct ev_loop *loop, struct curl_loop *cl,
                                 const char *spool_dir, const char *probe_name,
                                 const struct probe_collector_conf *c, size_t n,
                                 enum vt_status *st)
{
  *st = VT_ENOMEM;
  struct uploader *up = calloc(1, sizeof(*up));
  if (!up)
    goto fail;
  up->loop = loop;
  up->cl = cl;
  up->dir_fd = -1;
  ev_timer_init(&up->idle_timer, uploader_idle_cb, 0., 0.);
  vt_jitter_seed(&up->rng, (uint64_t)(uintptr_t)up);
  if (!(up->spool_dir = strdup(spool_dir)) || !(up->probe = strdup(probe_name)))
    goto fail;
  up->dir_fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (up->dir_fd < 0) {
    vt_err("upload: %s: cannot open: %s", spool_dir, strerror(errno));
    *st = VT_EIO;
    goto fail;
  }
  if (!(up->reader = spool_reader_open(spool_dir, st)))
    goto fail;
  enum vt_status ist = spool_id_load(spool_dir, up->spool_id);
  if (ist != VT_OK) {
    up->spool_id[0] = '\0';
    if (ist != VT_ENOTFOUND)
      vt_warn("upload: %s/id: cannot read the spool's id (%s); sending "
              "without one",
              spool_dir, vt_strerror(ist));
  }
  if (!(up->colls = calloc(n, sizeof(*up->colls))))
    goto fail;
  up->n = n;
  for (size_t i = 0; i < n; i++)
    if ((*st = uploader_coll_init(up, &up->colls[i], &c[i])) != VT_OK)
      goto fail;
  /* Segments a removed collector was still holding can go now. */
  uploader_collect(up);
  /* Whatever waits in the spool goes out once the loop runs. */
  uploader_kick(up);
  *st = VT_OK;
  return up;

fail:
  if (*st == VT_ENOMEM)
    vt_err("upload: out of memory");
  uploader_destroy(up);
  return NULL;
}

void uploader_follow(struct uploader *up, struct spool *sp)
{
  if (up)
    spool_reader_follow(up->reader, sp);
}

void uploader_kick(struct uploader *up)
{
  if (!up || up->stopping)
    return;
  for (size_t i = 0; i < up->n; i++)
    if (up->colls[i].state == UPLOADER_IDLE)
      uploader_linger(&up->colls[i]);
}

void uploader_stop(struct uploader *up, uploader_idle_fn *idle, void *arg)
{
  up->stopping = true;
  up->idle = idle;
  up->idle_arg = arg;
  for (size_t i = 0; i < up->n; i++) {
    struct uploader_coll *c = &up->colls[i];
    if (c->state == UPLOADER_SENDING)
      continue; /* bounded by its timeout; done() stops it */
    ev_timer_stop(up->loop, &c->timer);
    uploader_set_state(c, UPLOADER_STOPPED);
  }
  uploader_check_idle(up);
}

void uploader_drain(struct uploader *up, double seconds, uploader_idle_fn *idle,
                    void *arg)
{
  up->stopping = true;
  up->drain_until = ev_now(up->loop) + seconds;
  up->idle = idle;
  up->idle_arg = arg;
  for (size_t i = 0; i < up->n; i++) {
    struct uploader_coll *c = &up->colls[i];
    if (c->state == UPLOADER_SENDING || c->state == UPLOADER_STOPPED)
      continue; /* an ack continues the drain */
    /* A collector in backoff may be back: try it once now (bounded by the
     * request timeout); a failure stops it, an ack continues the drain. */
    ev_timer_stop(up->loop, &c->timer);
    uploader_send(c);
  }
  uploader_check_idle(up);
}

void uploader_get_stats(const struct uploader *up, size_t i,
                        struct uploader_stats *out)
{
  const struct uploader_coll *c = &up->colls[i];
  *out = c->stats;
  out->cursor = c->cursor;
  out->batch_max = c->batch_max;
  out->state = uploader_state_name(c->state);
  out->fail_streak = c->fails;
}

void uploader_destroy(struct uploader *up)
{
  if (!up)
    return;
  for (size_t i = 0; i < up->n; i++)
    uploader_coll_cleanup(&up->colls[i]);
  free(up->colls);
  ev_timer_stop(up->loop, &up->idle_timer);
  if (up->dir_fd >= 0)
    close(up->dir_fd);
  spool_reader_close(up->reader);
  free(up->spool_dir);
  free(up->probe);
  free(up);
}
