/* SPDX-License-Identifier: MIT */
/* A signed request to a collector (see collector_req.h, docs/wire.md): what
 * the uploader and the targets fetcher share of talking to a collector. */
#include "config.h"

#include "collector_req.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "probe_config.h"

#define COLLECTOR_REQ_USER_AGENT "vantage-probe/" PACKAGE_VERSION
/* Room for one header line: the longest is the signature's, 85 bytes. */
#define COLLECTOR_REQ_HDR_MAX 160

/* A POST carries a batch of records; everything else is a GET. */
static bool collector_req_is_post(const struct collector_req *req)
{
  return req->kind == VT_WIRE_RESULTS;
}

/* url + path, keeping a path prefix ("https://h/vantage"). */
static char *collector_req_endpoint(const char *url, const char *path_end)
{
  char *out = NULL, *path = NULL, *full = NULL;
  CURLU *u = curl_url();
  if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto out;
  size_t len = strlen(path);
  while (len > 0 && path[len - 1] == '/')
    len--;
  char np[2048];
  if (snprintf(np, sizeof(np), "%.*s%s", (int)len, path, path_end) >=
      (int)sizeof(np))
    goto out;
  if (curl_url_set(u, CURLUPART_PATH, np, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
    goto out;
  out = strdup(full);
out:
  curl_free(path);
  curl_free(full);
  curl_url_cleanup(u);
  return out;
}

static size_t collector_req_write_cb(char *ptr, size_t size, size_t nmemb,
                                     void *arg)
{
  struct collector_req *req = arg;
  size_t n = size * nmemb;
  if (req->reply_mode == COLLECTOR_REQ_CUT) {
    /* A longer reply is cut, not failed: its start is all the caller
     * reads. */
    size_t room = req->reply.max_len - req->reply.len;
    if (vt_buf_add(&req->reply, ptr, n < room ? n : room) != VT_OK)
      return 0; /* out of memory: curl fails with CURLE_WRITE_ERROR */
    return n;
  }
  if (vt_buf_add(&req->reply, ptr, n) != VT_OK) {
    req->reply_full = req->reply.len + n > req->reply.max_len;
    return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
  }
  return n;
}

enum vt_status collector_req_init(struct collector_req *req,
                                  const struct probe_collector_conf *conf,
                                  enum vt_wire_kind kind, size_t reply_max,
                                  enum collector_req_reply reply_mode)
{
  assert(reply_max > 0);
  *req = (struct collector_req){.kind = kind, .reply_mode = reply_mode};
  vt_buf_init(&req->reply, reply_max);
  const char *path = kind == VT_WIRE_RESULTS ? "/v1/results" : "/v1/targets";
  if (!(req->url = collector_req_endpoint(conf->url, path)) ||
      !(req->easy = curl_easy_init()))
    return VT_ENOMEM;
  CURL *e = req->easy;
  long timeout_ms = (long)(conf->timeout_s * 1000.0);
  bool bad = false;
  bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
  if (collector_req_is_post(req))
    bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
  else
    bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
  /* Like the checks: no proxy from the environment. */
  bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, conf->verify ? 1L : 0L) !=
         CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, conf->verify ? 2L : 0L) !=
         CURLE_OK;
  if (conf->ca_file)
    bad |= curl_easy_setopt(e, CURLOPT_CAINFO, conf->ca_file) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, COLLECTOR_REQ_USER_AGENT) !=
         CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collector_req_write_cb) !=
         CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, req) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) != CURLE_OK;
  return bad ? VT_ELIB : VT_OK;
}

enum vt_status collector_req_sign(struct collector_req *req,
                                  const struct vt_wire_key *key,
                                  const char *probe, uint64_t seq,
                                  uint64_t count, const char *body,
                                  size_t body_len)
{
  int64_t now = (int64_t)time(NULL);
  char sig[VT_WIRE_SIG_HEXLEN + 1];
  enum vt_status st = vt_wire_sign_spool(key, req->kind, probe, req->spool, seq,
                                         count, now, body, body_len, sig);
  if (st != VT_OK)
    return st;
  req->probe = probe;
  req->body = body;
  req->body_len = body_len;
  req->seq = seq;
  req->count = count;
  req->time = now;
  memcpy(req->sig, sig, sizeof(sig));
  return VT_OK;
}

enum vt_status collector_req_prepare(struct collector_req *req)
{
  bool post = collector_req_is_post(req);
  char h[8][COLLECTOR_REQ_HDR_MAX];
  size_t n = 0;
  if (post)
    snprintf(h[n++], sizeof(h[0]), "Content-Type: application/x-ndjson");
  snprintf(h[n++], sizeof(h[0]), "%s: %s", VT_WIRE_HDR_PROBE, req->probe);
  snprintf(h[n++], sizeof(h[0]), "%s: %" PRIu64, VT_WIRE_HDR_SEQ, req->seq);
  snprintf(h[n++], sizeof(h[0]), "%s: %" PRIu64, VT_WIRE_HDR_COUNT, req->count);
  snprintf(h[n++], sizeof(h[0]), "%s: %" PRId64, VT_WIRE_HDR_TIME, req->time);
  snprintf(h[n++], sizeof(h[0]), "%s: %s", VT_WIRE_HDR_SIG, req->sig);
  if (req->spool && req->spool[0])
    snprintf(h[n++], sizeof(h[0]), "%s: %s", VT_WIRE_HDR_SPOOL, req->spool);
  /* No "Expect: 100-continue" round trip before large bodies. */
  if (post)
    snprintf(h[n++], sizeof(h[0]), "Expect:");
  curl_slist_free_all(req->headers);
  req->headers = NULL;
  for (size_t i = 0; i < n; i++) {
    struct curl_slist *l = curl_slist_append(req->headers, h[i]);
    if (!l) {
      curl_slist_free_all(req->headers);
      req->headers = NULL;
      return VT_ENOMEM;
    }
    req->headers = l;
  }
  vt_buf_reset(&req->reply);
  req->reply_full = false;
  req->errbuf[0] = '\0';
  bool bad = false;
  bad |=
      curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK;
  if (post) {
    bad |= curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)req->body_len) != CURLE_OK;
    /* Not COPYPOSTFIELDS: the body stays with the caller until done runs. */
    bad |=
        curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->body) != CURLE_OK;
  }
  return bad ? VT_ELIB : VT_OK;
}

const char *collector_req_strerror(const struct collector_req *req, CURLcode rc)
{
  return req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc);
}

void collector_req_reason(const struct collector_req *req, char *out,
                          size_t size)
{
  const char *reply = vt_buf_str(&req->reply);
  json_t *root = json_loadb(reply, req->reply.len, 0, NULL);
  const char *e = json_string_value(json_object_get(root, "error"));
  const char *src = e ? e : reply;
  size_t i = 0;
  for (; src[i] && i + 1 < size && src[i] != '\n'; i++)
    out[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
  out[i] = '\0';
  json_decref(root);
}

bool collector_req_clock_skew(const struct collector_req *req, double *skew_s)
{
  struct curl_header *h = NULL;
  if (curl_easy_header(req->easy, "Date", 0, CURLH_HEADER, -1, &h) !=
          CURLHE_OK ||
      !h || !h->value)
    return false;
  time_t theirs = curl_getdate(h->value, NULL);
  if (theirs == (time_t)-1)
    return false;
  *skew_s = difftime(time(NULL), theirs);
  return true;
}

void collector_req_cleanup(struct collector_req *req)
{
  if (!req)
    return;
  curl_easy_cleanup(req->easy);
  curl_slist_free_all(req->headers);
  free(req->url);
  vt_buf_cleanup(&req->reply);
  *req = (struct collector_req){0};
}
