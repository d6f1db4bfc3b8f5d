/* SPDX-License-Identifier: MIT */
/* "load" checks: a server's own traffic counter, per address. Each run is
 * an http check's transfer of the status URL pinned to the slot's address
 * (Host and SNI kept), whose body is then parsed (lib/loadstat.h) and
 * turned into a rate with the sample the slot kept from its previous run.
 * A body that does not parse fails the run with body_mismatch and the
 * parser's reason, which names the line. */
#include "config.h"

#include "check.h"

#include <math.h>
#include <stdlib.h>

#include "buf.h"
#include "loadstat.h"
#include "log.h"
#include "probe_config.h"
#include "result.h"

struct load_check {
  const struct probe_target_conf *t;
  const struct probe_check_conf *c;
  void *http; /* the http check state doing the transfers */
  struct check_run run;
  struct vt_load_rate rate; /* the previous counter sample of this address */
};

/* check_done_fn of the transfer: parse, rate, then finish our run. */
static void load_check_http_done(struct vt_result *res, void *arg)
{
  struct load_check *l = arg;
  /* A failed read may hide a restart whose new count already passed the
   * old one (then no decrease shows it): the next read starts afresh (no
   * rate for it: unknown, never wrong). */
  if (!res->ok)
    l->rate.have = false;
  if (res->ok) {
    const struct probe_check_conf *c = l->c;
    const struct vt_buf *body = http_check_body(l->http);
    struct vt_load_spec spec = {
        .format = c->load_format,
        .field = c->load_field,
        .labels = (const char *const *)c->load_labels,
        .n_labels = c->n_load_labels,
        .kind = c->load_kind,
    };
    struct vt_load_reading rd;
    char why[sizeof(res->detail)];
    if (vt_load_parse(&spec, body->data ? body->data : "", body->len, &rd, why,
                      sizeof(why)) != VT_OK) {
      vt_result_fail(res, VT_ERR_BODY_MISMATCH, "%s", why);
    } else {
      res->load_value = rd.value;
      res->load = vt_load_rate_next(&l->rate, &rd, res->ts, &res->load_reset);
      if (res->load_reset)
        vt_info("load: %s/%s [%s]: counter went down (%.0f): the server "
                "restarted; rate from the new value",
                l->t->name, c->name, res->ip, rd.value);
    }
  }
  check_run_finish(&l->run);
}

static void *load_check_create(struct probe_ctx *ctx,
                               const struct probe_target_conf *t,
                               const struct probe_check_conf *c,
                               const char *key)
{
  struct load_check *l = calloc(1, sizeof(*l));
  if (!l)
    return NULL;
  l->t = t;
  l->c = c;
  l->http = http_check_type.create(ctx, t, c, key);
  if (!l->http) {
    free(l);
    return NULL;
  }
  return l;
}

static enum vt_status load_check_start(void *state, struct vt_result *res,
                                       check_done_fn *done, void *arg)
{
  struct load_check *l = state;
  if (check_run_going(&l->run))
    return VT_EBUSY;
  check_run_begin(&l->run, res, done, arg);
  enum vt_status st =
      http_check_type.start(l->http, res, load_check_http_done, l);
  if (st != VT_OK)
    check_run_forget(&l->run);
  return st;
}

/* The transfer's cancel calls load_check_http_done, which ends our run. */
static void load_check_cancel(void *state)
{
  struct load_check *l = state;
  if (check_run_going(&l->run))
    http_check_type.cancel(l->http);
}

static void load_check_destroy(void *state)
{
  struct load_check *l = state;
  if (!l)
    return;
  http_check_type.destroy(l->http);
  free(l);
}

const struct check_type load_check_type = {
    .type = VT_CHECK_LOAD,
    .fanout = CHECK_FANOUT_ADDRESSES,
    .endpoint = http_check_endpoint,
    .create = load_check_create,
    .start = load_check_start,
    .cancel = load_check_cancel,
    .destroy = load_check_destroy,
};
