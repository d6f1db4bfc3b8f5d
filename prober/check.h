/* SPDX-License-Identifier: MIT */
/* The interface every check type plugs into. The scheduler owns one "slot"
 * per (check, key): key is the address for tcp/http checks, the resolver for
 * dns checks and "" for client checks. Each slot has one module state,
 * created once and reused run after run, so a steady probe allocates nothing
 * per check. */
#ifndef PROBE_CHECK_H
#define PROBE_CHECK_H

#include "result.h"
#include "vt_status.h"

struct ev_loop;
struct curl_loop;
struct dns_pool;
struct dns_cache;
struct sched_budget;
struct probe_target_conf;
struct probe_check_conf;

/* What every check may use; owned by main, outlives every check. */
struct probe_ctx {
  struct ev_loop *loop;
  struct curl_loop *curl;
  struct dns_pool *dns;
  struct dns_cache *cache; /* for client checks */
  struct sched_budget *budget; /* checks in flight (scheduler.h); may be NULL */
};

/* Called exactly once per run, with the result the run filled in. */
typedef void check_done_fn(struct vt_result *res, void *arg);

struct check_ops {
  enum vt_check_type type;
  /* Creates the state for one check against one key (borrowed pointers stay
   * valid for the state's life). Returns NULL when out of memory. */
  void *(*create)(struct probe_ctx *ctx, const struct probe_target_conf *t,
                  const struct probe_check_conf *c, const char *key);
  /* Starts one run. The caller has set res's identity fields (ts, probe,
   * target, check, name, host, ip, port) and vt_result_init'ed the rest; the
   * run fills measurements, ok and error, and calls done(res, arg) exactly
   * once, later, from the loop (never from inside start). The run enforces
   * c->timeout_s itself. Returns VT_OK, or an error (then done is never
   * called), e.g. VT_EBUSY when a run is already going. */
  enum vt_status (*start)(void *state, struct vt_result *res,
                          check_done_fn *done, void *arg);
  /* Ends a running run at once: done is called, before cancel returns, with
   * error timeout and detail "cancelled". No-op when idle. */
  void (*cancel)(void *state);
  /* Frees the state; NULL is fine. Must not be running (cancel first). */
  void (*destroy)(void *state);
};

extern const struct check_ops dns_check_ops;    /* dns_check.c */
extern const struct check_ops tcp_check_ops;    /* tcp_check.c */
extern const struct check_ops http_check_ops;   /* http_check.c */
extern const struct check_ops client_check_ops; /* http_check.c */

/* Whole days until cert's notAfter (an OpenSSL X509), rounded down
 * (negative once expired); VT_NO_CERT_DAYS when it cannot be read. The
 * tcp+tls and https checks report it the same way. */
struct x509_st;
int tcp_check_cert_days(const struct x509_st *cert);

#endif
