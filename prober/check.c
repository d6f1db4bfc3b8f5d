/* SPDX-License-Identifier: MIT */
/* The table of check types and what every type shares (see check.h). */
#include "config.h"

#include "check.h"

#include <stdio.h>

#include "probe_config.h"

const struct check_type *const check_types[] = {
    &dns_check_type,    &tcp_check_type,  &http_check_type,
    &client_check_type, &load_check_type, NULL,
};

const struct check_type *check_type_find(const struct check_type *const *table,
                                         enum vt_check_type type)
{
  for (const struct check_type *const *p = table ? table : check_types; *p; p++)
    if ((*p)->type == type)
      return *p;
  return NULL;
}

void check_endpoint_target(const struct probe_target_conf *t,
                           const struct probe_check_conf *c, char *host,
                           size_t size, int *port)
{
  snprintf(host, size, "%s", t->host);
  *port = c->port;
}

void check_destroy(const struct check_type *ct, void *state)
{
  if (!state)
    return;
  ct->cancel(state);
  ct->destroy(state);
}

void check_run_begin(struct check_run *run, struct vt_result *res,
                     check_done_fn *done, void *arg)
{
  *run = (struct check_run){.res = res, .done = done, .arg = arg};
}

void check_run_forget(struct check_run *run)
{
  *run = (struct check_run){0};
}

void check_run_finish(struct check_run *run)
{
  struct check_run r = *run;
  if (!r.done)
    return;
  *run = (struct check_run){0};
  r.done(r.res, r.arg);
}

char *check_result_line(const struct vt_result *r, char *out, size_t size)
{
  char where[320], http[32] = "";
  if (r->ip[0])
    snprintf(where, sizeof(where), "%s [%s]:%d", r->host, r->ip, r->port);
  else if (r->resolver[0])
    snprintf(where, sizeof(where), "%s @%s", r->host, r->resolver);
  else
    snprintf(where, sizeof(where), "%s", r->host);
  if (r->ok) {
    snprintf(out, size, "%s/%s %s %s: ok, %.1f ms", r->target, r->name,
             vt_check_type_name(r->check), where, r->ms_total);
    return out;
  }
  if (r->http_status)
    snprintf(http, sizeof(http), " (HTTP %d)", r->http_status);
  snprintf(out, size, "%s/%s %s %s: %s%s%s%s", r->target, r->name,
           vt_check_type_name(r->check), where, vt_err_name(r->error), http,
           r->detail[0] ? ": " : "", r->detail);
  return out;
}
