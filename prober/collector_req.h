/* SPDX-License-Identifier: MIT */
/* A signed request to a collector (docs/wire.md): the curl easy handle for
 * one endpoint of one collector (POST /v1/results or GET /v1/targets), set
 * up once from its configuration, the X-Vantage-* headers of each request,
 * and the reply. Embedded by value in the uploader's per-collector state and
 * in the targets fetcher, which run the transfer through curl_loop. Does not
 * log: the callers name the collector in their messages. */
#ifndef PROBE_COLLECTOR_REQ_H
#define PROBE_COLLECTOR_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "vt_status.h"
#include "wire.h"

struct probe_collector_conf;

/* What happens to a reply longer than the reply_max of collector_req_init. */
enum collector_req_reply {
  COLLECTOR_REQ_CUT,   /* its start is kept, the rest dropped */
  COLLECTOR_REQ_WHOLE, /* the transfer fails (CURLE_WRITE_ERROR, reply_full) */
};

struct collector_req {
  CURL *easy; /* set up by collector_req_init; the owner adds it to curl_loop */
  char *url;  /* the collector's URL plus the endpoint's path */
  enum vt_wire_kind kind;
  enum collector_req_reply reply_mode;
  struct curl_slist *headers; /* of the last request, read by libcurl */
  /* The probe's spool id, sent (signed) with every request when set;
   * borrowed, set by the owner after collector_req_init. */
  const char *spool;

  /* The request signed last (collector_req_sign), borrowed. */
  const char *probe;
  const char *body;
  size_t body_len;
  uint64_t seq, count;
  int64_t time;
  char sig[VT_WIRE_SIG_HEXLEN + 1];

  /* The outcome of the last request. */
  struct vt_buf reply;          /* its body, NUL-terminated, capped */
  bool reply_full;              /* COLLECTOR_REQ_WHOLE: the reply was longer */
  char errbuf[CURL_ERROR_SIZE]; /* libcurl's message; "" when none */
};

/* Sets up req for the endpoint of kind (POST /v1/results or GET /v1/targets)
 * at the collector conf: the URL (conf->url plus the path, after a path
 * prefix of its own), TLS verification and ca_file, timeout_s, no proxy from
 * the environment, http and https only, no signals, the user agent, and the
 * reply capture: up to reply_max (> 0) bytes, a longer reply treated as
 * reply_mode says. conf is read now, not kept. req must not move afterwards
 * (libcurl keeps pointers into it). Returns VT_ENOMEM (also for a URL that
 * does not parse, which probe_config has ruled out) or VT_ELIB when libcurl
 * refuses an option. On failure req keeps what was built (url is set for
 * VT_ELIB, for the caller's message); collector_req_cleanup frees it. */
enum vt_status collector_req_init(struct collector_req *req,
                                  const struct probe_collector_conf *conf,
                                  enum vt_wire_kind kind, size_t reply_max,
                                  enum collector_req_reply reply_mode)
    __attribute__((warn_unused_result));

/* Signs the next request (seq, count and body, X-Vantage-Time now, and
 * req->spool when set) with key as probe. A GET signs an empty body ("", 0).
 * Nothing is allocated and nothing is copied: probe must stay valid until
 * collector_req_prepare, body until the transfer ends (a POST sends it from
 * there). Returns the status of vt_wire_sign. */
enum vt_status
collector_req_sign(struct collector_req *req, const struct vt_wire_key *key,
                   const char *probe, uint64_t seq, uint64_t count,
                   const char *body, size_t body_len)
    __attribute__((warn_unused_result));

/* Makes the request signed last ready for curl_loop_add(req->easy): replaces
 * the header list (the X-Vantage-* headers; a POST also sends Content-Type
 * application/x-ndjson and no "Expect: 100-continue"), sets the body of a
 * POST, and empties reply, reply_full and errbuf. Not while a transfer runs.
 * Returns VT_ENOMEM, or VT_ELIB when libcurl refuses an option. */
enum vt_status collector_req_prepare(struct collector_req *req)
    __attribute__((warn_unused_result));

/* Why a transfer of req ended with rc: libcurl's message from errbuf, else
 * curl_easy_strerror(rc). Never NULL; req's or static storage, valid until
 * the next collector_req_prepare. */
const char *collector_req_strerror(const struct collector_req *req,
                                   CURLcode rc);

/* The collector's reason for refusing the last request: the "error" string
 * of a JSON reply, else the reply's first line, into out (size >= 1 bytes),
 * cut to fit, with unprintable bytes as '?'. "" for an empty reply. */
void collector_req_reason(const struct collector_req *req, char *out,
                          size_t size);

/* The collector's clock against ours, from the Date header of the last
 * reply: *skew_s is our time minus the collector's (positive: this probe is
 * ahead), to the second. False when the reply had no usable Date. */
bool collector_req_clock_skew(const struct collector_req *req, double *skew_s);

/* Frees the easy handle, the header list, the URL and the reply, and leaves
 * req all zero. The transfer must not be running (curl_loop_remove it
 * first). req may be NULL or all zero (never initialised). */
void collector_req_cleanup(struct collector_req *req);

#endif
