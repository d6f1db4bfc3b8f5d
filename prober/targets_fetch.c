/* SPDX-License-Identifier: MIT */
/* Fetches the probe's targets from its first collector (see
 * targets_fetch.h): a small state machine on the libev loop that GETs
 * /v1/targets signed through curl_loop, compares the text with the one in
 * use by SHA-256, and saves, validates and hands over a new one. */
#include "config.h"

#include "targets_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <openssl/evp.h>

#include "backoff.h"
#include "buf.h"
#include "collector_req.h"
#include "container.h"
#include "curl_loop.h"
#include "fsutil.h"
#include "log.h"
#include "probe_config.h"
#include "wire.h"

/* A failed request is retried after this, doubling up to the interval. */
#define TF_RETRY_MIN_S 5.0
/* In a failure streak, log the first failure, every change of kind, and
 * every tenth (a 404 only once: the collector simply serves no targets). */
#define TF_LOG_EVERY 10
#define TF_DIGEST_LEN 32 /* SHA-256 */
#define TF_NAMES_MAX 400 /* bytes of target names in a log line */

/* Failure kinds other than an HTTP status, for "log on change". */
#define TF_KIND_LOCAL (-1L) /* disk, memory, libcrypto */
#define TF_KIND_CURL 10000L /* + CURLcode */

enum tf_state {
  TF_WAITING,  /* the timer runs for the next request (or the first) */
  TF_FETCHING, /* a request is in flight */
  TF_BACKOFF,  /* the last request failed: the timer runs for the retry */
  TF_DONE,     /* once mode: the outcome is handed over */
};

struct targets_fetch {
  struct ev_loop *loop;
  struct curl_loop *cl;
  enum tf_state state;
  char *config_path;
  char *spool_dir;  /* NULL: once mode */
  char *saved_path; /* TARGETS_FETCH_FILE in spool_dir */
  char *new_path;   /* the same + ".new": a text being validated */
  char *probe;
  char *url; /* the collector as configured, for targets_fetch_same */
  char *ca_file;
  bool verify;
  double timeout_s, interval_s;
  struct vt_wire_key key;

  /* The request; its URL (url + /v1/targets) names it in logs. */
  struct collector_req req;

  /* SHA-256 of the text in use, and of the one last rejected (reported
   * once, not at every request). */
  unsigned char current[TF_DIGEST_LEN], rejected[TF_DIGEST_LEN];
  bool have_current, have_rejected;

  /* Failure streak. */
  unsigned fails;
  long last_kind;
  double fail_since;
  uint64_t rng; /* xorshift64 state for the retry jitter */

  ev_timer timer;   /* the next request or retry */
  ev_timer deliver; /* hands pending over from the loop */
  struct probe_conf *pending;
  targets_fetch_fn *fn;
  void *arg;
};

static const char *tf_state_name(enum tf_state s)
{
  switch (s) {
  case TF_WAITING:
    return "waiting";
  case TF_FETCHING:
    return "fetching";
  case TF_BACKOFF:
    return "backoff";
  case TF_DONE:
    return "done";
  }
  return "?";
}

static void tf_set_state(struct targets_fetch *tf, enum tf_state s)
{
  if (tf->state == s)
    return;
  vt_debug("targets: %s: %s -> %s", tf->req.url, tf_state_name(tf->state),
           tf_state_name(s));
  tf->state = s;
}

static bool tf_digest(const char *data, size_t len,
                      unsigned char md[TF_DIGEST_LEN])
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
      out_len != TF_DIGEST_LEN)
    return false;
  memcpy(md, out, TF_DIGEST_LEN);
  return true;
}

/* "www, api, ..." into out: enough to see in the log what is checked. */
static void tf_names(const struct probe_conf *c, char *out, size_t size)
{
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < c->n_targets; i++) {
    int w = snprintf(out + used, size - used, "%s%s", i ? ", " : "",
                     c->targets[i].name);
    if (w < 0 || (size_t)w >= size - used ||
        used + (size_t)w + 32 > TF_NAMES_MAX) {
      out[used] = '\0';
      snprintf(out + used, size - used, "%s... (%zu more)", i ? ", " : "",
               c->n_targets - i);
      return;
    }
    used += (size_t)w;
  }
}

/* ---- handing over -------------------------------------------------------- */

static void tf_deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct targets_fetch *tf = container_of(w, struct targets_fetch, deliver);
  struct probe_conf *conf = tf->pending;
  targets_fetch_fn *fn = tf->fn;
  void *arg = tf->arg;
  tf->pending = NULL;
  (void)loop;
  (void)revents;
  /* Last: fn may destroy the fetcher. */
  fn(conf, arg);
}

/* Hands conf (NULL in once mode: nothing to run) to fn from a 0 s timer,
 * so fn never runs inside a curl callback of ours and may destroy us. */
static void tf_hand_over(struct targets_fetch *tf, struct probe_conf *conf)
{
  /* Not handed over yet (two texts within one loop iteration): the newer
   * one wins. */
  probe_conf_free(tf->pending);
  tf->pending = conf;
  ev_timer_stop(tf->loop, &tf->deliver);
  ev_timer_set(&tf->deliver, 0., 0.);
  ev_timer_start(tf->loop, &tf->deliver);
}

/* ---- outcomes ------------------------------------------------------------ */

/* The next regular request, one interval from now. */
static void tf_wait(struct targets_fetch *tf)
{
  ev_timer_stop(tf->loop, &tf->timer);
  ev_timer_set(&tf->timer, tf->interval_s, 0.);
  ev_timer_start(tf->loop, &tf->timer);
  tf_set_state(tf, TF_WAITING);
}

/* The collector answered 200: ends a failure streak. */
static void tf_recovered(struct targets_fetch *tf)
{
  if (tf->fails > 0)
    vt_notice("targets: %s: answering again after %u failures (%.0f s)",
              tf->req.url, tf->fails, ev_now(tf->loop) - tf->fail_since);
  tf->fails = 0;
  tf->last_kind = 0;
}

/* Counts and logs a failure and schedules the retry: after 5 s doubling
 * up to the interval, ±25 % jitter so that probes restarted together do
 * not ask in step; at the interval when refused (slow: a key or a clock
 * needs an operator). In once mode there is no retry: fn learns that
 * there are no targets. */
static void tf_failed(struct targets_fetch *tf, long kind, const char *why,
                      bool slow)
{
  if (tf->fails == 0)
    tf->fail_since = ev_now(tf->loop);
  tf->fails++;
  if (!tf->spool_dir) {
    vt_err("targets: %s: %s", tf->req.url, why);
    tf_set_state(tf, TF_DONE);
    tf_hand_over(tf, NULL);
    return;
  }
  double delay = tf->interval_s;
  if (!slow) {
    delay =
        vt_backoff_delay(&tf->rng, tf->fails, TF_RETRY_MIN_S, tf->interval_s);
    if (delay > tf->interval_s)
      delay = tf->interval_s;
  }
  if (kind != tf->last_kind || (kind != 404 && tf->fails % TF_LOG_EVERY == 0)) {
    if (kind == 404)
      vt_notice("targets: %s: %s; asking again every %.0f s", tf->req.url, why,
                delay);
    else if (slow)
      vt_err("targets: %s: %s; asking again in %.0f s (failure %u)",
             tf->req.url, why, delay, tf->fails);
    else
      vt_warn("targets: %s: %s; asking again in %.1f s (failure %u)",
              tf->req.url, why, delay, tf->fails);
  }
  tf->last_kind = kind;
  ev_timer_stop(tf->loop, &tf->timer);
  ev_timer_set(&tf->timer, delay, 0.);
  ev_timer_start(tf->loop, &tf->timer);
  tf_set_state(tf, TF_BACKOFF);
}

/* Writes the reply to new_path and syncs it, so that the file validated is
 * the one renamed into place. Logs failures. */
static enum vt_status tf_save(struct targets_fetch *tf)
{
  const char *what = "open";
  int fd = open(tf->new_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    goto fail;
  what = "write";
  if (vt_write_all(fd, tf->req.reply.data, tf->req.reply.len) != 0)
    goto fail_close;
  what = "fsync";
  if (fsync(fd) != 0)
    goto fail_close;
  what = "close";
  if (close(fd) != 0)
    goto fail;
  return VT_OK;

fail_close:;
  int saved = errno;
  close(fd);
  errno = saved;
fail:
  vt_err("targets: %s: %s failed: %s", tf->new_path, what, strerror(errno));
  return VT_EIO;
}

/* Renames the validated text into place and syncs the directory, so a
 * restart after a power cut finds the old text or the new, whole. */
static enum vt_status tf_install(struct targets_fetch *tf)
{
  if (rename(tf->new_path, tf->saved_path) != 0) {
    vt_err("targets: cannot rename %s to %s: %s", tf->new_path, tf->saved_path,
           strerror(errno));
    return VT_EIO;
  }
  int dfd = open(tf->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0)
    vt_warn("targets: %s: fsync of the directory failed: %s", tf->spool_dir,
            strerror(errno));
  if (dfd >= 0)
    close(dfd);
  return VT_OK;
}

/* Once mode: the text is checked in memory (the spool directory may be a
 * running daemon's) and handed over, or NULL. */
static void tf_got_once(struct targets_fetch *tf)
{
  struct probe_conf *nc = NULL;
  tf_set_state(tf, TF_DONE);
  if (probe_conf_load_fetched_text(tf->config_path, tf->req.url,
                                   tf->req.reply.data ? tf->req.reply.data : "",
                                   tf->req.reply.len, &nc) != VT_OK) {
    vt_err("targets: %s: the targets served are rejected (see above)",
           tf->req.url);
    nc = NULL;
  } else if (!nc->targets_fetched) {
    /* The file got targets of its own since it was read: use those. */
    vt_notice("targets: %s now has targets of its own", tf->config_path);
  }
  tf_hand_over(tf, nc);
}

/* 200: a text. The same as in use (or as last rejected) changes nothing;
 * a new one is saved, validated with the configuration file, and either
 * installed and handed over, or reported once and kept aside. */
static void tf_got(struct targets_fetch *tf)
{
  unsigned char md[TF_DIGEST_LEN];
  const char *text = tf->req.reply.data ? tf->req.reply.data : "";
  if (!tf_digest(text, tf->req.reply.len, md)) {
    tf_failed(tf, TF_KIND_LOCAL, "SHA-256 failed", false);
    return;
  }
  tf_recovered(tf);
  if (!tf->spool_dir) {
    tf_got_once(tf);
    return;
  }
  if (tf->have_current && memcmp(md, tf->current, sizeof(md)) == 0) {
    vt_debug("targets: %s: unchanged (%zu bytes)", tf->req.url,
             tf->req.reply.len);
    tf_wait(tf);
    return;
  }
  if (tf->have_rejected && memcmp(md, tf->rejected, sizeof(md)) == 0) {
    vt_debug("targets: %s: still the text rejected before", tf->req.url);
    tf_wait(tf);
    return;
  }
  if (tf_save(tf) != VT_OK) {
    tf_failed(tf, TF_KIND_LOCAL, "cannot save the new targets", false);
    return;
  }
  struct probe_conf *nc = NULL;
  enum vt_status st =
      probe_conf_load_fetched(tf->config_path, tf->new_path, &nc);
  if (st == VT_ENOMEM) {
    tf_failed(tf, TF_KIND_LOCAL, "out of memory", false);
    return;
  }
  if (st != VT_OK || !nc->targets_fetched) {
    if (st == VT_OK)
      vt_warn("targets: %s now has targets of its own: fetched targets are "
              "not used (reload it with SIGHUP)",
              tf->config_path);
    else
      vt_err("targets: %s: new targets rejected (see above; the text stays "
             "in %s); %s",
             tf->req.url, tf->new_path,
             tf->have_current ? "still checking the previous targets"
                              : "still waiting for valid targets");
    probe_conf_free(nc);
    memcpy(tf->rejected, md, sizeof(md));
    tf->have_rejected = true;
    tf_wait(tf);
    return;
  }
  if (tf_install(tf) != VT_OK) {
    probe_conf_free(nc);
    tf_failed(tf, TF_KIND_LOCAL, "cannot install the new targets", false);
    return;
  }
  char names[TF_NAMES_MAX];
  tf_names(nc, names, sizeof(names));
  vt_notice("targets: %s: %s: %zu target%s: %s", tf->req.url,
            tf->have_current ? "targets changed" : "got targets", nc->n_targets,
            nc->n_targets == 1 ? "" : "s", names);
  memcpy(tf->current, md, sizeof(md));
  tf->have_current = true;
  tf->have_rejected = false;
  tf_hand_over(tf, nc);
  tf_wait(tf);
}

/* curl_loop_done_fn: the request ended (the easy handle is back with us). */
static void tf_done(CURL *easy, CURLcode rc, void *arg)
{
  struct targets_fetch *tf = arg;
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  char why[CURL_ERROR_SIZE + 64], reason[160];
  if (rc != CURLE_OK) {
    if (tf->req.reply_full)
      snprintf(why, sizeof(why), "the reply is larger than %u bytes",
               PROBE_FETCHED_MAX);
    else
      snprintf(why, sizeof(why), "%s", collector_req_strerror(&tf->req, rc));
    tf_failed(tf, TF_KIND_CURL + (long)rc, why, false);
  } else if (status == 200) {
    tf_got(tf);
  } else if (status == 404) {
    tf_failed(tf, 404, "404: the collector serves no targets (no targets_file)",
              true);
  } else {
    collector_req_reason(&tf->req, reason, sizeof(reason));
    snprintf(why, sizeof(why), "HTTP %ld%s%s", status, reason[0] ? ": " : "",
             reason);
    /* 5xx (and anything odd) is the collector's trouble: retry soon.
     * Other 4xx mean this probe is refused (key, clock): slowly. */
    tf_failed(tf, status, why, status >= 400 && status < 500);
  }
  /* A large text is not kept between requests. */
  vt_buf_cleanup(&tf->req.reply);
}

/* ---- requesting ---------------------------------------------------------- */

/* Signs the request (docs/wire.md: seq and count 0, empty body) and hands
 * it to curl_loop. */
static enum vt_status tf_start_request(struct targets_fetch *tf)
{
  enum vt_status st =
      collector_req_sign(&tf->req, &tf->key, tf->probe, 0, 0, "", 0);
  if (st != VT_OK) {
    vt_err("targets: %s: cannot sign: %s", tf->req.url, vt_strerror(st));
    return st;
  }
  if ((st = collector_req_prepare(&tf->req)) != VT_OK) {
    if (st == VT_ELIB)
      vt_err("targets: %s: cannot set up the request", tf->req.url);
    return st;
  }
  return curl_loop_add(tf->cl, tf->req.easy, tf_done, tf);
}

static void tf_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct targets_fetch *tf = container_of(w, struct targets_fetch, timer);
  (void)loop;
  (void)revents;
  enum vt_status st = tf_start_request(tf);
  if (st != VT_OK) {
    char why[96];
    snprintf(why, sizeof(why), "cannot send: %s", vt_strerror(st));
    tf_failed(tf, TF_KIND_LOCAL, why, false);
    return;
  }
  vt_debug("targets: %s: asking", tf->req.url);
  tf_set_state(tf, TF_FETCHING);
}

/* ---- setup --------------------------------------------------------------- */

/* The digest of the saved text the running targets came from; without it
 * the first answer is validated and handed over again (harmless). */
static void tf_hash_saved(struct targets_fetch *tf)
{
  struct vt_buf b;
  vt_buf_init(&b, PROBE_FETCHED_MAX);
  bool ok = vt_buf_add_file(&b, tf->saved_path) == VT_OK;
  if (!ok)
    vt_debug("targets: %s: %s", tf->saved_path, strerror(errno));
  if (ok && tf_digest(vt_buf_str(&b), b.len, tf->current))
    tf->have_current = true;
  vt_buf_cleanup(&b);
}

static char *tf_join(const char *dir, const char *name)
{
  size_t n = strlen(dir) + 1 + strlen(name) + 1;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, "%s/%s", dir, name);
  return out;
}

struct targets_fetch *
targets_fetch_create(struct ev_loop *loop, struct curl_loop *cl,
                     const char *config_path, const char *spool_dir,
                     const struct probe_conf *conf, bool saved_in_use,
                     targets_fetch_fn *fn, void *arg, enum vt_status *st)
{
  const struct probe_collector_conf *col = &conf->collectors[0];
  *st = VT_ENOMEM;
  struct targets_fetch *tf = calloc(1, sizeof(*tf));
  if (!tf)
    goto fail;
  *tf = (struct targets_fetch){
      .loop = loop,
      .cl = cl,
      .state = TF_WAITING,
      .verify = col->verify,
      .timeout_s = col->timeout_s,
      .interval_s = col->targets_interval_s,
      .key = col->key,
      .fn = fn,
      .arg = arg,
  };
  ev_timer_init(&tf->timer, tf_timer_cb, 0., 0.);
  ev_timer_init(&tf->deliver, tf_deliver_cb, 0., 0.);
  vt_jitter_seed(&tf->rng, (uint64_t)(uintptr_t)tf);
  if (!(tf->config_path = strdup(config_path)) ||
      !(tf->probe = strdup(conf->name)) || !(tf->url = strdup(col->url)) ||
      (col->ca_file && !(tf->ca_file = strdup(col->ca_file))))
    goto fail;
  if (spool_dir &&
      (!(tf->spool_dir = strdup(spool_dir)) ||
       !(tf->saved_path = tf_join(spool_dir, TARGETS_FETCH_FILE)) ||
       !(tf->new_path = tf_join(spool_dir, TARGETS_FETCH_FILE ".new"))))
    goto fail;
  /* The easy handle is set up once; each request changes its headers. */
  if ((*st = collector_req_init(&tf->req, col, VT_WIRE_TARGETS,
                                PROBE_FETCHED_MAX, COLLECTOR_REQ_WHOLE)) !=
      VT_OK) {
    if (*st == VT_ELIB)
      vt_err("targets: %s: cannot set up libcurl", tf->req.url);
    goto fail;
  }
  if (spool_dir && saved_in_use)
    tf_hash_saved(tf);
  ev_timer_start(loop, &tf->timer);
  *st = VT_OK;
  return tf;

fail:
  if (*st == VT_ENOMEM)
    vt_err("targets: out of memory");
  targets_fetch_destroy(tf);
  return NULL;
}

static bool tf_str_same(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool targets_fetch_same(const struct targets_fetch *tf,
                        const struct probe_conf *conf)
{
  if (conf->n_collectors == 0)
    return false;
  const struct probe_collector_conf *col = &conf->collectors[0];
  return strcmp(tf->probe, conf->name) == 0 && strcmp(tf->url, col->url) == 0 &&
         tf_str_same(tf->ca_file, col->ca_file) && tf->verify == col->verify &&
         tf->timeout_s == col->timeout_s &&
         tf->interval_s == col->targets_interval_s &&
         tf->key.len == col->key.len &&
         memcmp(tf->key.bytes, col->key.bytes, col->key.len) == 0;
}

void targets_fetch_poke(struct targets_fetch *tf)
{
  tf->have_rejected = false;
  if (tf->state != TF_WAITING && tf->state != TF_BACKOFF)
    return; /* in flight: its answer is checked afresh anyway */
  ev_timer_stop(tf->loop, &tf->timer);
  ev_timer_set(&tf->timer, 0., 0.);
  ev_timer_start(tf->loop, &tf->timer);
  tf_set_state(tf, TF_WAITING);
}

void targets_fetch_destroy(struct targets_fetch *tf)
{
  if (!tf)
    return;
  if (tf->state == TF_FETCHING)
    curl_loop_remove(tf->cl, tf->req.easy);
  collector_req_cleanup(&tf->req);
  ev_timer_stop(tf->loop, &tf->timer);
  ev_timer_stop(tf->loop, &tf->deliver);
  probe_conf_free(tf->pending);
  vt_wire_key_wipe(&tf->key);
  free(tf->config_path);
  free(tf->spool_dir);
  free(tf->saved_path);
  free(tf->new_path);
  free(tf->probe);
  free(tf->url);
  free(tf->ca_file);
  free(tf);
}
