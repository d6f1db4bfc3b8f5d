/* SPDX-License-Identifier: MIT */
/* DNS on the libev loop with c-ares: A and AAAA lookups at one resolver
 * (an address with optional port, or the system's resolv.conf), telling
 * SERVFAIL, REFUSED, NXDOMAIN, empty answers and timeouts apart, with TTLs
 * and the time taken. Also a small TTL-respecting cache for client checks. */
#ifndef PROBE_DNS_H
#define PROBE_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

struct ev_loop;
struct dns_pool;
struct dns_query;
struct dns_cache;

/* Outcome of one A+AAAA resolution. */
struct dns_answer {
  enum vt_err error; /* VT_ERR_NONE when at least one address came back */
  char detail[128];  /* e.g. c-ares' message; "" when ok */
  int rcode; /* of the A answer (or AAAA when A had none); -1 = no packet */
  int n;     /* addresses, A first then AAAA, in the server's order */
  char addrs[VT_RESULT_MAX_ANSWERS][VT_IP_STRLEN];
  long ttl;        /* smallest TTL of the addresses; -1 when n == 0 */
  bool incomplete; /* one family answered, the other got no definitive
                      answer (timeout, ...): addresses may be missing */
  double ms;       /* time from sending to the last answer, monotonic clock */
};

/* ans belongs to the pool (an answer block shared by the queries a lookup
 * answers, recycled afterwards): it is valid until the callback returns. */
typedef void dns_answer_fn(void *arg, const struct dns_answer *ans);

/* Creates the pool of c-ares channels (one per resolver and timeout) on
 * loop. Returns NULL when out of memory or c-ares cannot start. */
struct dns_pool *dns_pool_create(struct ev_loop *loop);

/* Lookups (A+AAAA pairs) a channel has out at once unless
 * dns_pool_set_max_in_flight says otherwise (probe.dns_max_in_flight). */
#define DNS_DEFAULT_MAX_IN_FLIGHT 64

/* Sets how many lookups each resolver (channel) has in flight; the rest
 * wait in a queue, in the order they were asked. n >= 1. */
void dns_pool_set_max_in_flight(struct dns_pool *p, int n);

struct dns_stats {
  uint64_t lookups_sent; /* A+AAAA pairs sent */
  uint64_t coalesced;    /* queries answered by a lookup already going */
  uint64_t retries;      /* halves asked again after half the timeout */
  int queued;            /* lookups waiting for room at their resolver */
  int in_flight;         /* lookups out now, all resolvers */
};

/* Copies the pool's counters. */
void dns_pool_get_stats(const struct dns_pool *p, struct dns_stats *out);

/* Frees the pool; queries still running are cancelled without callbacks.
 * p may be NULL. */
void dns_pool_destroy(struct dns_pool *p);

/* Resolves host (A and AAAA) at resolver ("system" or an address with
 * optional port, see probe_resolver_parse) within timeout_s: each half gets
 * half the timeout, and is asked again once when it got nothing. A lookup
 * of the same host at the same resolver and timeout that is queued or in
 * flight answers this query too (the answer's ms is then that lookup's,
 * from its first send). cb runs
 * exactly once, from the loop, never from inside this call, unless the
 * query is cancelled first. *out (may be NULL) receives a handle for
 * dns_query_cancel, valid until cb runs. Returns VT_EINVAL for a bad
 * resolver, VT_ENOMEM, or VT_ELIB when c-ares fails. */
enum vt_status dns_resolve(struct dns_pool *p, const char *resolver,
                           double timeout_s, const char *host,
                           dns_answer_fn *cb, void *arg, struct dns_query **out)
    __attribute__((warn_unused_result));

/* Cancels a query: its callback will not run. q may be NULL. */
void dns_query_cancel(struct dns_query *q);

/* A cache of answers kept as long as their TTL says, the way a stub
 * resolver in front of a browser would. */
struct dns_cache *dns_cache_create(struct dns_pool *pool);
/* Frees the cache; c may be NULL. Call it before dns_pool_destroy: the
 * cache borrows the pool and cancels its pending queries there. */
void dns_cache_destroy(struct dns_cache *c);

/* Like dns_resolve, answering from the cache while the entry for (resolver,
 * host) is younger than its TTL (from_cache true, ms 0), else resolving and
 * storing the answer. Failed lookups are not cached. */
typedef void dns_cache_fn(void *arg, const struct dns_answer *ans,
                          bool from_cache);
enum vt_status dns_cache_lookup(struct dns_cache *c, const char *resolver,
                                double timeout_s, const char *host,
                                dns_cache_fn *cb, void *arg,
                                struct dns_query **out)
    __attribute__((warn_unused_result));

#endif
