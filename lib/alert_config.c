/* SPDX-License-Identifier: MIT */
/* The "alerts" group of the collector's configuration (docs/alerts.md). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alert_config.h"
#include "collector_config.h"

#define DEF_RETRY_MIN_S 1.0
#define DEF_RETRY_MAX_S 300.0
#define DEF_TIMEOUT_S 10.0
#define DEF_CERT_DAYS 14

static const char *const alert_keys[] = {"status_url", "retry_min", "retry_max",
                                         "receivers",  "cert_days", NULL};
static const char *const rx_keys[] = {
    "name", "type", "url", "key_file", "command", "timeout", "events", NULL};

unsigned alert_event_bit(const char *name)
{
  static const struct {
    const char *name;
    unsigned bit;
  } names[] = {{"outage", ALERT_EV_OUTAGE}, {"partial", ALERT_EV_PARTIAL},
               {"host", ALERT_EV_HOST},     {"probe", ALERT_EV_PROBE},
               {"cert", ALERT_EV_CERT},     {"dns", ALERT_EV_DNS}};
  for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(name, names[i].name) == 0)
      return names[i].bit;
  return 0;
}

static void alert_rx_parse(struct vt_cfg *c, const config_setting_t *g,
                           const char *path, struct alert_rx_conf *r)
{
  char pk[160];
  vt_cfg_check_keys(c, g, path, rx_keys);
  if (vt_cfg_get_string(c, g, path, "name", true, &r->name) &&
      !vt_wire_name_ok(r->name))
    vt_cfg_error(c, config_setting_get_member(g, "name"),
                 vt_cfg_path(pk, sizeof(pk), path, "name", 0),
                 "\"%s\" is not a name ([A-Za-z0-9._-]{1,63})", r->name);
  char *type = NULL;
  if (vt_cfg_get_string(c, g, path, "type", true, &type)) {
    if (strcmp(type, "alertmanager") == 0)
      r->type = ALERT_RX_ALERTMANAGER;
    else if (strcmp(type, "webhook") == 0)
      r->type = ALERT_RX_WEBHOOK;
    else if (strcmp(type, "program") == 0)
      r->type = ALERT_RX_PROGRAM;
    else
      vt_cfg_error(c, config_setting_get_member(g, "type"),
                   vt_cfg_path(pk, sizeof(pk), path, "type", 0),
                   "\"%s\" is not alertmanager, webhook or program", type);
  }
  r->events = ALERT_EV_DEFAULT;
  char **ev = NULL;
  size_t n_ev = 0;
  if (vt_cfg_get_strv(c, g, path, "events", &ev, &n_ev)) {
    r->events = 0;
    for (size_t i = 0; i < n_ev; i++) {
      unsigned bit = alert_event_bit(ev[i]);
      if (!bit)
        vt_cfg_error(c, config_setting_get_member(g, "events"),
                     vt_cfg_path(pk, sizeof(pk), path, "events", 0),
                     "\"%s\" is not outage, partial, host, probe, cert or dns",
                     ev[i]);
      r->events |= bit;
    }
    vt_cfg_strv_free(ev, n_ev);
  }
  r->timeout_s = DEF_TIMEOUT_S;
  vt_cfg_get_number(c, g, path, "timeout", 0.1, 3600, &r->timeout_s);
  bool program = type && strcmp(type, "program") == 0;
  free(type);
  if (program) {
    vt_cfg_get_string(c, g, path, "command", true, &r->command);
  } else if (vt_cfg_get_string(c, g, path, "url", true, &r->url) &&
             strncmp(r->url, "http://", 7) != 0 &&
             strncmp(r->url, "https://", 8) != 0) {
    vt_cfg_error(c, config_setting_get_member(g, "url"),
                 vt_cfg_path(pk, sizeof(pk), path, "url", 0),
                 "\"%s\" is not an http:// or https:// URL", r->url);
  }
  if (r->type == ALERT_RX_WEBHOOK &&
      vt_cfg_get_string(c, g, path, "key_file", true, &r->key_file)) {
    coll_conf_resolve_path(c, &r->key_file);
    char err[256];
    if (vt_wire_key_load(r->key_file, &r->key, err, sizeof(err)) != VT_OK)
      vt_cfg_error(c, config_setting_get_member(g, "key_file"),
                   vt_cfg_path(pk, sizeof(pk), path, "key_file", 0), "%s: %s",
                   r->key_file, err);
  }
}

void alert_conf_parse(struct vt_cfg *c, const config_setting_t *g,
                      struct alert_conf **out)
{
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, "alerts", "expected a group { receivers = ...; }");
    return;
  }
  struct alert_conf *a = calloc(1, sizeof(*a));
  if (!a) {
    vt_cfg_error(c, g, "alerts", "out of memory");
    return;
  }
  *out = a;
  a->retry_min_s = DEF_RETRY_MIN_S;
  a->retry_max_s = DEF_RETRY_MAX_S;
  a->cert_days = DEF_CERT_DAYS;
  long long days;
  if (vt_cfg_get_int(c, g, "alerts", "cert_days", 0, 3650, &days))
    a->cert_days = (int)days;
  vt_cfg_check_keys(c, g, "alerts", alert_keys);
  vt_cfg_get_string(c, g, "alerts", "status_url", false, &a->status_url);
  vt_cfg_get_number(c, g, "alerts", "retry_min", 0.01, 3600, &a->retry_min_s);
  vt_cfg_get_number(c, g, "alerts", "retry_max", 0.01, 86400, &a->retry_max_s);
  if (a->retry_max_s < a->retry_min_s)
    vt_cfg_error(c, g, "alerts.retry_max", "shorter than retry_min");
  const config_setting_t *list = config_setting_get_member(g, "receivers");
  if (!list)
    return;
  if (!config_setting_is_list(list)) {
    vt_cfg_error(c, list, "alerts.receivers",
                 "expected a list ( { name = ...; type = ...; }, ... )");
    return;
  }
  int n = config_setting_length(list);
  a->rx = n ? calloc((size_t)n, sizeof(*a->rx)) : NULL;
  if (n && !a->rx) {
    vt_cfg_error(c, list, "alerts.receivers", "out of memory");
    return;
  }
  a->n_rx = (size_t)n;
  for (int i = 0; i < n; i++) {
    const config_setting_t *r = config_setting_get_elem(list, (unsigned)i);
    char path[64];
    vt_cfg_path(path, sizeof(path), "alerts.receivers", NULL, i);
    if (!config_setting_is_group(r)) {
      vt_cfg_error(c, r, path, "expected a group { name = ...; type = ...; }");
      continue;
    }
    alert_rx_parse(c, r, path, &a->rx[i]);
    for (int k = 0; k < i; k++)
      if (a->rx[i].name && a->rx[k].name &&
          strcmp(a->rx[i].name, a->rx[k].name) == 0)
        vt_cfg_error(c, r, path, "receiver \"%s\" is listed twice",
                     a->rx[i].name);
  }
}

void alert_conf_free(struct alert_conf *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->n_rx; i++) {
    free(a->rx[i].name);
    free(a->rx[i].url);
    free(a->rx[i].key_file);
    free(a->rx[i].command);
    vt_wire_key_wipe(&a->rx[i].key);
  }
  free(a->rx);
  free(a->status_url);
  free(a);
}
