/* SPDX-License-Identifier: MIT */
/* The table of check types and the interface every type plugs into. The
 * scheduler owns one "slot" per (check, key): what the key is comes from
 * the type's fan-out (the address for tcp/http checks, the resolver for dns
 * checks, "" for client checks). Each slot has one state of its type,
 * created once and reused run after run, so a steady probe allocates
 * nothing per check. */
#ifndef PROBE_CHECK_H
#define PROBE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

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
  struct dns_cache *cache;     /* for client checks */
  struct sched_budget *budget; /* checks in flight (scheduler.h); may be NULL */
  /* The table of check types; NULL = check_types (tests put fakes here). */
  const struct check_type *const *types;
};

/* Called exactly once per run, with the result the run filled in. */
typedef void check_done_fn(struct vt_result *res, void *arg);

/* How a check type fans out: which runs the scheduler makes of one check
 * per round, what their key is, and what budget they take (scheduler.h). */
enum check_fanout {
  /* One run per resolver of the check; key: the resolver spec. Runs share
   * the resolver's socket (dns.c paces them): no budget. */
  CHECK_FANOUT_RESOLVERS,
  /* One run per address of the target's address set; key: the address.
   * Each run holds a connection: the global budget and the per-address
   * limit. The result's ip is the key; an address that leaves the set is
   * retired (docs/wire.md); a round with no address reports no_address. */
  CHECK_FANOUT_ADDRESSES,
  /* One run per round; key "". It holds a connection: the global budget,
   * no per-address limit. */
  CHECK_FANOUT_ONE,
};

/* One check type: an entry of the table below. Adding a type (say "load"):
 *   1. its enum vt_check_type value and name (lib/result.h, result.c);
 *   2. its configuration keys (probe_config.c);
 *   3. its file, prober/load_check.c (in Makefile.am), ending with
 *      const struct check_type load_check_type = {.type = VT_CHECK_LOAD,
 *      .fanout = ..., .endpoint = ..., .create = ..., .start = ...,
 *      .cancel = ..., .destroy = ...}; its extern below;
 *   4. &load_check_type in check_types[] (check.c).
 * The scheduler learns nothing else: what it does per type comes from the
 * fan-out. tests/unit/test_scheduler.c shows a whole type in 60 lines.
 *
 * A type keeps one state per (check, key), created once and reused run
 * after run. A state runs at most one run at a time. Each run ends exactly
 * once, through check_run_finish (below), which calls done last. */
struct check_type {
  enum vt_check_type type;
  enum check_fanout fanout;
  /* The host and port the check's results name (res->host, res->port):
   * the target's host for most types, the URL's host and port for http.
   * Called once per check when the scheduler is built. */
  void (*endpoint)(const struct probe_target_conf *t,
                   const struct probe_check_conf *c, char *host, size_t size,
                   int *port);
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
  /* Frees an idle state; NULL is fine. Callers use check_destroy, which
   * cancels a running run first: the one way a state dies while running. */
  void (*destroy)(void *state);
};

extern const struct check_type dns_check_type;    /* dns_check.c */
extern const struct check_type tcp_check_type;    /* tcp_check.c */
extern const struct check_type http_check_type;   /* http_check.c */
extern const struct check_type client_check_type; /* http_check.c */
extern const struct check_type load_check_type;   /* load_check.c */

/* The body an http check state received in its last run: kept for checks
 * of type load (and those with a body to find), until the next run. */
struct vt_buf;
const struct vt_buf *http_check_body(const void *state);

/* check_type.endpoint of the http, client and load checks: the URL's host
 * and port. */
void http_check_endpoint(const struct probe_target_conf *t,
                         const struct probe_check_conf *c, char *host,
                         size_t size, int *port);

/* The table of check types, NULL-terminated (check.c). probe_ctx.types
 * replaces it (a test's fake types). */
extern const struct check_type *const check_types[];

/* The entry of table (NULL: check_types) for type; NULL when none. */
const struct check_type *check_type_find(const struct check_type *const *table,
                                         enum vt_check_type type);

/* check_type.endpoint for types that name the target's host and the
 * check's port (0 when it has none). */
void check_endpoint_target(const struct probe_target_conf *t,
                           const struct probe_check_conf *c, char *host,
                           size_t size, int *port);

/* Cancels a run still going (its done is called), then frees state. state
 * may be NULL. */
void check_destroy(const struct check_type *ct, void *state);

/* The run a state is doing: what start was given. A type keeps one in its
 * state and ends every run through check_run_finish. */
struct check_run {
  struct vt_result *res;
  check_done_fn *done;
  void *arg;
};

/* Records the run start was given. */
void check_run_begin(struct check_run *run, struct vt_result *res,
                     check_done_fn *done, void *arg);

/* True while a run is going (between check_run_begin and its finish). */
static inline bool check_run_going(const struct check_run *run)
{
  return run->done != NULL;
}

/* Forgets a run that did not start (start fails: done is never called). */
void check_run_forget(struct check_run *run);

/* Ends the run exactly once: forgets it, then calls done(res, arg) as the
 * very last step, because done may start the next run or destroy the
 * state; the caller must not touch its state after this returns. Does
 * nothing when no run is going (a second finish). */
void check_run_finish(struct check_run *run);

/* One line about a result, for the log and for --once --fail:
 * "TARGET/CHECK TYPE HOST [IP]:PORT: ERROR (HTTP 503): DETAIL" when it
 * failed, "TARGET/CHECK TYPE HOST [IP]:PORT: ok, 12.3 ms" when it passed
 * ("HOST @RESOLVER" for dns, "HOST" when there is neither). Returns out. */
char *check_result_line(const struct vt_result *r, char *out, size_t size);

/* Whole days until cert's notAfter (an OpenSSL X509), rounded down
 * (negative once expired); VT_NO_CERT_DAYS when it cannot be read. The
 * tcp+tls and https checks report it the same way. */
struct x509_st;
int tcp_check_cert_days(const struct x509_st *cert);

#endif
