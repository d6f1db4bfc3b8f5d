/* SPDX-License-Identifier: MIT */
/* The dns check (check.h): resolves the target's host, A and AAAA, at the
 * slot's resolver and records rcode, answers, TTL and time; with `expect`,
 * the answer set must equal the expected one. */
#include "config.h"

#include <arpa/inet.h>
#include <ev.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "container.h"
#include "dns.h"
#include "log.h"
#include "net.h"
#include "probe_config.h"
#include "vt_time.h"

/* c-ares gives up by itself at the check's timeout (dns.c sets TIMEOUTMS and
 * one try); the backstop only catches a resolver that takes longer than
 * that, such as "system" with several servers in resolv.conf. */
#define DNS_CHECK_BACKSTOP_S 0.5

/* An address in binary form: sorting and comparing it ignores how the text
 * was written ("2001:db8::1" vs "2001:DB8:0::1"). */
struct dns_check_addr {
  unsigned char family; /* 4 or 6, so IPv4 sorts first */
  unsigned char bytes[16];
};

struct dns_check {
  struct probe_ctx *ctx;
  const struct probe_target_conf *t;
  const struct probe_check_conf *c;
  const char *resolver;          /* the slot's key, borrowed */
  struct dns_check_addr *expect; /* sorted, without duplicates */
  size_t n_expect;
  ev_timer deadline;
  /* The run in progress. */
  struct check_run run;
  double t0_mono;
  struct dns_query *q;
};

static bool dns_check_addr_parse(const char *s, struct dns_check_addr *out)
{
  *out = (struct dns_check_addr){.family = 4};
  int af = vt_net_ip_parse(s, out->bytes);
  if (af == AF_INET6)
    out->family = 6;
  return af != 0;
}

static int dns_check_addr_cmp(const void *a, const void *b)
{
  return memcmp(a, b, sizeof(struct dns_check_addr));
}

/* Sorts a and drops duplicates; returns the new count. */
static size_t dns_check_addr_set(struct dns_check_addr *a, size_t n)
{
  if (n == 0)
    return 0;
  qsort(a, n, sizeof(*a), dns_check_addr_cmp);
  size_t k = 1;
  for (size_t i = 1; i < n; i++)
    if (dns_check_addr_cmp(&a[i], &a[k - 1]) != 0)
      a[k++] = a[i];
  return k;
}

/* Writes "a,b,c" into out (truncated to size). */
static void dns_check_addr_fmt(const struct dns_check_addr *a, size_t n,
                               char *out, size_t size)
{
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && len < size; i++) {
    char ip[VT_IP_STRLEN];
    inet_ntop(a[i].family == 4 ? AF_INET : AF_INET6, a[i].bytes, ip,
              sizeof(ip));
    int w = snprintf(out + len, size - len, "%s%s", i ? "," : "", ip);
    if (w < 0)
      break;
    len += (size_t)w;
  }
}

/* Compares the answers in res with the expected set; on a mismatch fails
 * res with VT_ERR_DNS_UNEXPECTED. */
static void dns_check_compare(const struct dns_check *dc, struct vt_result *res)
{
  struct dns_check_addr got[VT_RESULT_MAX_ANSWERS];
  size_t n_got = 0;
  for (int i = 0; i < res->n_answers; i++)
    if (dns_check_addr_parse(res->answers[i], &got[n_got]))
      n_got++;
  n_got = dns_check_addr_set(got, n_got);
  if (n_got == dc->n_expect &&
      memcmp(got, dc->expect, n_got * sizeof(got[0])) == 0)
    return;
  char got_s[sizeof(res->detail)], exp_s[sizeof(res->detail)];
  dns_check_addr_fmt(got, n_got, got_s, sizeof(got_s));
  dns_check_addr_fmt(dc->expect, dc->n_expect, exp_s, sizeof(exp_s));
  vt_result_fail(res, VT_ERR_DNS_UNEXPECTED, "got %s expected %s", got_s,
                 exp_s);
}

/* Ends the run exactly once: stops the deadline, drops the query, logs and
 * reports (check_run_finish: done may start the next run or destroy the
 * state). */
static void dns_check_finish(struct dns_check *dc)
{
  if (!check_run_going(&dc->run))
    return;
  ev_timer_stop(dc->ctx->loop, &dc->deadline);
  dns_query_cancel(dc->q);
  dc->q = NULL;

  const struct vt_result *res = dc->run.res;
  if (res->ok)
    vt_debug("dns: %s %s @%s: ok, %d answers, ttl %ld, %.1f ms", dc->t->name,
             dc->t->host, dc->resolver, res->n_answers, res->ttl,
             res->ms_total);
  else
    vt_debug("dns: %s %s @%s: %s (%s)", dc->t->name, dc->t->host, dc->resolver,
             vt_err_name(res->error), res->detail);
  check_run_finish(&dc->run);
}

static void dns_check_on_answer(void *arg, const struct dns_answer *ans)
{
  struct dns_check *dc = arg;
  struct vt_result *res = dc->run.res;
  dc->q = NULL; /* the handle dies with this callback */

  res->rcode = ans->rcode;
  /* Borrowed, not copied: ans is valid until this callback returns, and
   * the run finishes (its done callback encodes, spools and reads the
   * result) before it does, in dns_check_finish below. */
  res->answers = ans->n > 0 ? ans->addrs : NULL;
  res->n_answers = ans->n;
  res->ttl = ans->ttl;
  res->ms_dns = res->ms_total = ans->ms;
  if (ans->error != VT_ERR_NONE) {
    vt_result_fail(res, ans->error, "%s", ans->detail);
  } else {
    res->ok = true;
    res->error = VT_ERR_NONE;
    res->incomplete = ans->incomplete;
    if (ans->incomplete)
      snprintf(res->detail, sizeof(res->detail), "%s", ans->detail);
    if (dc->c->n_expect > 0)
      dns_check_compare(dc, res);
  }
  dns_check_finish(dc);
}

static void dns_check_on_deadline(struct ev_loop *loop, ev_timer *w,
                                  int revents)
{
  struct dns_check *dc = container_of(w, struct dns_check, deadline);
  (void)loop;
  (void)revents;
  double ms = (vt_time_mono() - dc->t0_mono) * 1000.;
  dc->run.res->ms_dns = dc->run.res->ms_total = ms;
  vt_result_fail(dc->run.res, VT_ERR_DNS_TIMEOUT, "no answer within %.1f s",
                 dc->c->timeout_s);
  dns_check_finish(dc);
}

static void dns_check_destroy(void *state)
{
  struct dns_check *dc = state;
  if (!dc)
    return;
  /* Idle (check_destroy cancels first): no watcher, no query. */
  free(dc->expect);
  free(dc);
}

static void *dns_check_create(struct probe_ctx *ctx,
                              const struct probe_target_conf *t,
                              const struct probe_check_conf *c, const char *key)
{
  struct dns_check *dc = malloc(sizeof(*dc));
  if (!dc)
    return NULL;
  *dc = (struct dns_check){.ctx = ctx, .t = t, .c = c, .resolver = key};
  ev_init(&dc->deadline, dns_check_on_deadline);
  if (c->n_expect > 0) {
    dc->expect = calloc(c->n_expect, sizeof(dc->expect[0]));
    if (!dc->expect) {
      free(dc);
      return NULL;
    }
    for (size_t i = 0; i < c->n_expect; i++) {
      if (dns_check_addr_parse(c->expect[i], &dc->expect[dc->n_expect]))
        dc->n_expect++;
      else
        vt_warn("dns: %s: line %d: expect \"%s\" is not an address, ignored",
                t->name, c->line, c->expect[i]);
    }
    dc->n_expect = dns_check_addr_set(dc->expect, dc->n_expect);
  }
  return dc;
}

static enum vt_status dns_check_start(void *state, struct vt_result *res,
                                      check_done_fn *done, void *arg)
{
  struct dns_check *dc = state;
  if (check_run_going(&dc->run))
    return VT_EBUSY;
  struct dns_query *q;
  enum vt_status st = dns_resolve(dc->ctx->dns, dc->resolver, dc->c->timeout_s,
                                  dc->t->host, dns_check_on_answer, dc, &q);
  if (st != VT_OK)
    return st;
  check_run_begin(&dc->run, res, done, arg);
  dc->t0_mono = vt_time_mono();
  dc->q = q;
  snprintf(res->resolver, sizeof(res->resolver), "%s", dc->resolver);
  ev_timer_set(&dc->deadline, dc->c->timeout_s + DNS_CHECK_BACKSTOP_S, 0.);
  ev_timer_start(dc->ctx->loop, &dc->deadline);
  return VT_OK;
}

/* Ends the run now, reporting a timeout with detail "cancelled". */
static void dns_check_cancel(void *state)
{
  struct dns_check *dc = state;
  if (!check_run_going(&dc->run))
    return;
  vt_result_fail(dc->run.res, VT_ERR_TIMEOUT, "cancelled");
  dns_check_finish(dc);
}

const struct check_type dns_check_type = {
    .type = VT_CHECK_DNS,
    .fanout = CHECK_FANOUT_RESOLVERS,
    .endpoint = check_endpoint_target,
    .create = dns_check_create,
    .start = dns_check_start,
    .cancel = dns_check_cancel,
    .destroy = dns_check_destroy,
};
