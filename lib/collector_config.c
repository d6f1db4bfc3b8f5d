/* SPDX-License-Identifier: MIT */
/* vantage-collector configuration (see collector_config.h). */
#include "config.h"

#include "collector_config.h"

#include "alert_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "net.h"

#define DEF_LISTEN "127.0.0.1:8740"
#define DEF_DATA_DIR "/var/lib/vantage"
#define DEF_MAX_BODY (8L << 20)
#define DEF_TIME_WINDOW_S 300.0
#define DEF_STEP_S 10
#define DEF_HEARTBEAT_FACTOR 3
/* A batch that brings thousands of new series would spend seconds creating
 * files (4 ms each at the default layout): the request stops creating after
 * this long and acknowledges the records stored so far. */
#define DEF_CREATE_BUDGET_S 0.3
/* Front-door limits (docs/collector.md, "Slow and hostile clients"). */
#define DEF_MAX_CONNECTIONS 1024
#define DEF_MAX_CONNECTIONS_PER_ADDRESS 64
#define DEF_HEADER_TIMEOUT_S 10.0
#define DEF_BODY_TIMEOUT_S 60.0
#define DEF_MAX_BUFFERED (256L << 20)
#define DEF_QUORUM 2
#define DEF_CONFIRM 2
#define DEF_SILENCE_S 60.0
#define DEF_WINDOW_S (2 * 86400.0) /* quorum.window; events.h */

static const char *const top_keys[] = {"collector", "storage",      "quorum",
                                       "probes",    "maintenance",  "status",
                                       "alerts",    "remote_write", NULL};
static const char *const remote_write_keys[] = {"name", "url", NULL};
static const char *const status_keys[] = {"output_dir", "interval", "title",
                                          "announcements_file", NULL};
static const char *const collector_keys[] = {"listen",
                                             "tls_cert",
                                             "tls_key",
                                             "data_dir",
                                             "rrdcached",
                                             "max_body",
                                             "time_window",
                                             "log_level",
                                             "targets_file",
                                             "max_connections",
                                             "max_connections_per_address",
                                             "header_timeout",
                                             "body_timeout",
                                             "max_buffered",
                                             NULL};
static const char *const storage_keys[] = {
    "step",      "heartbeat",         "rra",       "create_budget",  "layout",
    "retention", "retention_archive", "disk_warn", "sweep_interval", NULL};
static const char *const quorum_keys[] = {"quorum", "confirm", "silence",
                                          "window", NULL};
static const char *const probe_keys[] = {"name", "key_file", NULL};
static const char *const maint_keys[] = {"target", "start", "end", "reason",
                                         NULL};

bool coll_parse_utc(const char *s, double *out)
{
  struct tm tm = {0};
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
      s[n] != '\0' || strlen(s) != 20)
    return false;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return false;
  *out = (double)t;
  return true;
}

/* "a.b.c.d:port" or "[v6]:port" with a numeric address. */
static bool listen_ok(const char *s)
{
  char host[64];
  unsigned port;
  return vt_net_hostport(s, VT_NET_PORT_ZERO, host, sizeof(host), &port) &&
         vt_net_is_ip(host);
}

void coll_conf_free(struct coll_conf *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n_probes; i++) {
    free(c->probes[i].name);
    free(c->probes[i].key_file);
    vt_wire_key_wipe(&c->probes[i].key);
  }
  free(c->probes);
  for (size_t i = 0; i < c->n_maint; i++) {
    free(c->maint[i].target);
    free(c->maint[i].reason);
  }
  free(c->maint);
  alert_conf_free(c->alerts);
  vt_cfg_strv_free(c->rra, c->n_rra);
  free(c->path);
  free(c->listen);
  free(c->tls_cert);
  free(c->tls_key);
  free(c->data_dir);
  free(c->rrdcached);
  free(c->retention_archive);
  for (size_t i = 0; i < c->n_rw; i++) {
    free(c->rw[i].name);
    free(c->rw[i].url);
  }
  free(c->rw);
  free(c->targets_file);
  free(c->status_dir);
  free(c->status_title);
  free(c->announcements_file);
  free(c);
}

const struct coll_probe_conf *coll_conf_probe(const struct coll_conf *c,
                                              const char *name)
{
  for (size_t i = 0; i < c->n_probes; i++)
    if (strcmp(c->probes[i].name, name) == 0)
      return &c->probes[i];
  return NULL;
}

/* Relative paths in the file are relative to the file's directory, like
 * @include, so a config and its keys can move together. Replaces *p. */
void coll_conf_resolve_path(const struct vt_cfg *c, char **p)
{
  if (!*p || (*p)[0] == '/')
    return;
  const char *slash = strrchr(c->path, '/');
  if (!slash)
    return;
  int dirlen = (int)(slash - c->path);
  size_t n = (size_t)dirlen + 1 + strlen(*p) + 1;
  char *abs = malloc(n);
  if (!abs)
    return;
  snprintf(abs, n, "%.*s/%s", dirlen, c->path, *p);
  free(*p);
  *p = abs;
}

static void readable(struct vt_cfg *c, config_setting_t *g, const char *path,
                     const char *key, const char *file)
{
  if (file && access(file, R_OK) != 0) {
    char p[256];
    vt_cfg_error(c, config_setting_get_member(g, key),
                 vt_cfg_path(p, sizeof(p), path, key, 0), "cannot read \"%s\"",
                 file);
  }
}

static void parse_collector(struct vt_cfg *c, config_setting_t *g,
                            struct coll_conf *cc)
{
  vt_cfg_check_keys(c, g, "collector", collector_keys);
  if (vt_cfg_get_string(c, g, "collector", "listen", false, &cc->listen) &&
      !listen_ok(cc->listen))
    vt_cfg_error(c, config_setting_get_member(g, "listen"), "collector.listen",
                 "\"%s\" is not ADDRESS:PORT with a numeric address "
                 "(\"127.0.0.1:8740\", \"[::1]:8740\")",
                 cc->listen);
  vt_cfg_get_string(c, g, "collector", "tls_cert", false, &cc->tls_cert);
  vt_cfg_get_string(c, g, "collector", "tls_key", false, &cc->tls_key);
  coll_conf_resolve_path(c, &cc->tls_cert);
  coll_conf_resolve_path(c, &cc->tls_key);
  if (!cc->tls_cert != !cc->tls_key)
    vt_cfg_error(c, g, "collector",
                 "tls_cert and tls_key go together (both or neither)");
  readable(c, g, "collector", "tls_cert", cc->tls_cert);
  readable(c, g, "collector", "tls_key", cc->tls_key);
  if (vt_cfg_get_string(c, g, "collector", "data_dir", false, &cc->data_dir))
    coll_conf_resolve_path(c, &cc->data_dir);
  if (vt_cfg_get_string(c, g, "collector", "rrdcached", false,
                        &cc->rrdcached) &&
      !(strncmp(cc->rrdcached, "unix:/", 6) == 0 || cc->rrdcached[0] == '/' ||
        strchr(cc->rrdcached, ':')))
    vt_cfg_error(
        c, config_setting_get_member(g, "rrdcached"), "collector.rrdcached",
        "\"%s\" is not \"unix:/path\" or \"host:port\"", cc->rrdcached);
  long long mb;
  if (vt_cfg_get_int(c, g, "collector", "max_body", 1024, 1LL << 30, &mb))
    cc->max_body = (long)mb;
  vt_cfg_get_number(c, g, "collector", "time_window", 1, 86400,
                    &cc->time_window_s);
  if (vt_cfg_get_int(c, g, "collector", "max_connections", 1, 1000000, &mb))
    cc->max_connections = (unsigned)mb;
  if (vt_cfg_get_int(c, g, "collector", "max_connections_per_address", 0,
                     1000000, &mb))
    cc->max_connections_per_address = (unsigned)mb;
  vt_cfg_get_number(c, g, "collector", "header_timeout", 0.1, 3600,
                    &cc->header_timeout_s);
  vt_cfg_get_number(c, g, "collector", "body_timeout", 0.1, 3600,
                    &cc->body_timeout_s);
  if (vt_cfg_get_int(c, g, "collector", "max_buffered", 1024, 1LL << 40, &mb))
    cc->max_buffered = (long long)mb;
  if (cc->max_buffered < cc->max_body)
    vt_cfg_error(c, config_setting_get_member(g, "max_buffered"),
                 "collector.max_buffered",
                 "%lld bytes is less than max_body (%ld): no batch of the "
                 "largest size could ever be received",
                 cc->max_buffered, cc->max_body);
  char *lvl = NULL;
  if (vt_cfg_get_string(c, g, "collector", "log_level", false, &lvl)) {
    if (vt_log_level_parse(lvl, &cc->log_level))
      cc->log_level_set = true;
    else
      vt_cfg_error(
          c, config_setting_get_member(g, "log_level"), "collector.log_level",
          "\"%s\" is not one of err, warning, notice, info, debug", lvl);
    free(lvl);
  }
  if (vt_cfg_get_string(c, g, "collector", "targets_file", false,
                        &cc->targets_file)) {
    coll_conf_resolve_path(c, &cc->targets_file);
    readable(c, g, "collector", "targets_file", cc->targets_file);
  }
}

/* remote_write = ( { name = "vm"; url = "http://host:8428/api/v1/write"; } ) */
static void parse_remote_write(struct vt_cfg *c, config_setting_t *list,
                               struct coll_conf *cc)
{
  int n = config_setting_length(list);
  if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
    vt_cfg_error(c, list, "remote_write",
                 "expected a list ( { name = ...; url = ...; }, ... )");
    return;
  }
  if (n <= 0 || !(cc->rw = calloc((size_t)n, sizeof(*cc->rw))))
    return;
  cc->n_rw = (size_t)n;
  for (int i = 0; i < n; i++) {
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct coll_rw_conf *r = &cc->rw[i];
    char path[64], pk[128];
    vt_cfg_path(path, sizeof(path), "remote_write", NULL, i);
    if (!config_setting_is_group(g)) {
      vt_cfg_error(c, g, path, "expected a group { name = ...; url = ...; }");
      continue;
    }
    vt_cfg_check_keys(c, g, path, remote_write_keys);
    if (vt_cfg_get_string(c, g, path, "name", true, &r->name) &&
        !vt_wire_name_ok(r->name))
      vt_cfg_error(c, config_setting_get_member(g, "name"),
                   vt_cfg_path(pk, sizeof(pk), path, "name", 0),
                   "\"%s\" must be 1-63 characters of A-Z a-z 0-9 . _ -",
                   r->name);
    if (vt_cfg_get_string(c, g, path, "url", true, &r->url) &&
        strncmp(r->url, "http://", 7) != 0 &&
        strncmp(r->url, "https://", 8) != 0)
      vt_cfg_error(c, config_setting_get_member(g, "url"),
                   vt_cfg_path(pk, sizeof(pk), path, "url", 0),
                   "\"%s\" is not an http:// or https:// URL", r->url);
    for (int k = 0; k < i; k++)
      if (r->name && cc->rw[k].name && strcmp(r->name, cc->rw[k].name) == 0)
        vt_cfg_error(c, g, path, "receiver \"%s\" given twice", r->name);
  }
}

static void parse_probes(struct vt_cfg *c, config_setting_t *list,
                         struct coll_conf *cc)
{
  if (!config_setting_is_list(list)) {
    vt_cfg_error(c, list, "probes", "expected a list ( { name = ...; }, ... )");
    return;
  }
  int n = config_setting_length(list);
  if (n == 0)
    return;
  cc->probes = calloc((size_t)n, sizeof(*cc->probes));
  if (!cc->probes) {
    vt_cfg_error(c, list, "probes", "out of memory");
    return;
  }
  cc->n_probes = (size_t)n;
  for (int i = 0; i < n; i++) {
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct coll_probe_conf *p = &cc->probes[i];
    char path[64], pk[128];
    vt_cfg_path(path, sizeof(path), "probes", NULL, i);
    if (!config_setting_is_group(g)) {
      vt_cfg_error(c, g, path,
                   "expected a group { name = ...; key_file = ...; }");
      continue;
    }
    vt_cfg_check_keys(c, g, path, probe_keys);
    if (vt_cfg_get_string(c, g, path, "name", true, &p->name) &&
        !vt_wire_name_ok(p->name))
      vt_cfg_error(c, config_setting_get_member(g, "name"),
                   vt_cfg_path(pk, sizeof(pk), path, "name", 0),
                   "\"%s\" must be 1-63 characters of A-Z a-z 0-9 . _ -",
                   p->name);
    if (vt_cfg_get_string(c, g, path, "key_file", true, &p->key_file)) {
      char why[160] = "";
      coll_conf_resolve_path(c, &p->key_file);
      if (vt_wire_key_load(p->key_file, &p->key, why, sizeof(why)) != VT_OK)
        vt_cfg_error(c, config_setting_get_member(g, "key_file"),
                     vt_cfg_path(pk, sizeof(pk), path, "key_file", 0), "%s",
                     why);
    }
    for (int k = 0; k < i; k++)
      if (p->name && cc->probes[k].name &&
          strcmp(p->name, cc->probes[k].name) == 0)
        vt_cfg_error(c, g, path, "probe \"%s\" is listed twice", p->name);
  }
}

static void parse_maintenance(struct vt_cfg *c, config_setting_t *list,
                              struct coll_conf *cc)
{
  if (!config_setting_is_list(list)) {
    vt_cfg_error(c, list, "maintenance", "expected a list ( { ... }, ... )");
    return;
  }
  int n = config_setting_length(list);
  if (n == 0)
    return;
  cc->maint = calloc((size_t)n, sizeof(*cc->maint));
  if (!cc->maint) {
    vt_cfg_error(c, list, "maintenance", "out of memory");
    return;
  }
  cc->n_maint = (size_t)n;
  for (int i = 0; i < n; i++) {
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct coll_maint_conf *m = &cc->maint[i];
    char path[64], pk[128];
    vt_cfg_path(path, sizeof(path), "maintenance", NULL, i);
    if (!config_setting_is_group(g)) {
      vt_cfg_error(c, g, path, "expected a group { target = ...; ... }");
      continue;
    }
    vt_cfg_check_keys(c, g, path, maint_keys);
    if (vt_cfg_get_string(c, g, path, "target", true, &m->target) &&
        !vt_wire_name_ok(m->target))
      vt_cfg_error(c, config_setting_get_member(g, "target"),
                   vt_cfg_path(pk, sizeof(pk), path, "target", 0),
                   "\"%s\" is not a target name", m->target);
    vt_cfg_get_string(c, g, path, "reason", false, &m->reason);
    const char *keys[] = {"start", "end"};
    double *dst[] = {&m->start, &m->end};
    for (int k = 0; k < 2; k++) {
      char *s = NULL;
      if (vt_cfg_get_string(c, g, path, keys[k], true, &s) &&
          !coll_parse_utc(s, dst[k]))
        vt_cfg_error(c, config_setting_get_member(g, keys[k]),
                     vt_cfg_path(pk, sizeof(pk), path, keys[k], 0),
                     "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ (UTC)", s);
      free(s);
    }
    if (m->start && m->end && m->end <= m->start)
      vt_cfg_error(c, g, path, "end is not after start");
  }
}

static enum vt_status parse(struct vt_cfg *c, struct coll_conf *cc)
{
  config_setting_t *root = config_root_setting(&c->cfg);
  vt_cfg_check_keys(c, root, "", top_keys);
  config_setting_t *g = config_setting_get_member(root, "collector");
  if (g && !config_setting_is_group(g))
    vt_cfg_error(c, g, "collector", "expected a group { ... }");
  else if (g)
    parse_collector(c, g, cc);

  g = config_setting_get_member(root, "storage");
  bool hb_set = false;
  if (g && !config_setting_is_group(g)) {
    vt_cfg_error(c, g, "storage", "expected a group { ... }");
  } else if (g) {
    vt_cfg_check_keys(c, g, "storage", storage_keys);
    long long v;
    if (vt_cfg_get_int(c, g, "storage", "step", 1, 3600, &v))
      cc->step_s = (int)v;
    if (vt_cfg_get_int(c, g, "storage", "heartbeat", 1, 86400, &v)) {
      cc->heartbeat_s = (int)v;
      hb_set = true;
    }
    vt_cfg_get_number(c, g, "storage", "create_budget", 0.001, 60,
                      &cc->create_budget_s);
    char *layout = NULL;
    if (vt_cfg_get_string(c, g, "storage", "layout", false, &layout)) {
      if (strcmp(layout, "full") == 0)
        cc->full_layout = true;
      else if (strcmp(layout, "lean") != 0)
        vt_cfg_error(c, config_setting_get_member(g, "layout"),
                     "storage.layout",
                     "\"%s\" is not a layout (\"lean\" or \"full\")", layout);
    }
    free(layout);
    /* Retention: at least an hour (rrdcached may hold values that long). */
    vt_cfg_get_number(c, g, "storage", "retention", 3600, 100 * 366 * 86400.0,
                      &cc->retention_s);
    vt_cfg_get_string(c, g, "storage", "retention_archive", false,
                      &cc->retention_archive);
    vt_cfg_get_number(c, g, "storage", "disk_warn", 1, 100,
                      &cc->disk_warn_percent);
    vt_cfg_get_number(c, g, "storage", "sweep_interval", 1, 86400,
                      &cc->sweep_interval_s);
    if (vt_cfg_get_strv(c, g, "storage", "rra", &cc->rra, &cc->n_rra)) {
      for (size_t i = 0; i < cc->n_rra; i++)
        if (strncmp(cc->rra[i], "RRA:", 4) != 0 ||
            strspn(cc->rra[i], "RAMINVEGTLSX:0123456789.") !=
                strlen(cc->rra[i]))
          vt_cfg_error(c, config_setting_get_member(g, "rra"), "storage.rra",
                       "\"%s\" is not an RRA definition "
                       "(RRA:AVERAGE:0.5:1:8640)",
                       cc->rra[i]);
    }
  }
  if (!hb_set)
    cc->heartbeat_s = cc->step_s * DEF_HEARTBEAT_FACTOR;
  if (cc->heartbeat_s < cc->step_s)
    vt_cfg_error(c, g, "storage.heartbeat",
                 "%ds is shorter than the step %ds: every value would be "
                 "unknown",
                 cc->heartbeat_s, cc->step_s);

  g = config_setting_get_member(root, "quorum");
  bool quorum_set = false;
  if (g && !config_setting_is_group(g)) {
    vt_cfg_error(c, g, "quorum", "expected a group { ... }");
  } else if (g) {
    vt_cfg_check_keys(c, g, "quorum", quorum_keys);
    long long v;
    if (vt_cfg_get_int(c, g, "quorum", "quorum", 1, 1000, &v)) {
      cc->quorum = (int)v;
      quorum_set = true;
    }
    if (vt_cfg_get_int(c, g, "quorum", "confirm", 1, 1000, &v))
      cc->confirm = (int)v;
    vt_cfg_get_number(c, g, "quorum", "silence", 1, 86400, &cc->silence_s);
    /* At least an hour (a restart and its catch-up), at most 90 days. */
    vt_cfg_get_number(c, g, "quorum", "window", 3600, 90 * 86400.0,
                      &cc->window_s);
  }

  g = config_setting_get_member(root, "remote_write");
  if (g)
    parse_remote_write(c, g, cc);

  g = config_setting_get_member(root, "probes");
  if (!g)
    vt_cfg_error(c, NULL, "probes",
                 "missing (probes = ( { name = ...; key_file = ...; } );)");
  else
    parse_probes(c, g, cc);
  /* The default quorum (2) shrinks to fit a single-probe setup; a quorum
   * set by hand that can never be met is an error. */
  if (!quorum_set && cc->n_probes && (size_t)cc->quorum > cc->n_probes)
    cc->quorum = (int)cc->n_probes;
  if (cc->n_probes && (size_t)cc->quorum > cc->n_probes)
    vt_cfg_error(c, config_setting_get_member(root, "quorum"), "quorum.quorum",
                 "%d is more than the %zu probes listed: no outage could "
                 "ever be declared",
                 cc->quorum, cc->n_probes);

  g = config_setting_get_member(root, "maintenance");
  if (g)
    parse_maintenance(c, g, cc);

  g = config_setting_get_member(root, "alerts");
  if (g)
    alert_conf_parse(c, g, &cc->alerts);

  g = config_setting_get_member(root, "status");
  if (g && !config_setting_is_group(g)) {
    vt_cfg_error(c, g, "status", "expected a group { output_dir = ...; }");
  } else if (g) {
    vt_cfg_check_keys(c, g, "status", status_keys);
    if (vt_cfg_get_string(c, g, "status", "output_dir", true, &cc->status_dir))
      coll_conf_resolve_path(c, &cc->status_dir);
    vt_cfg_get_number(c, g, "status", "interval", 0, 86400,
                      &cc->status_interval_s);
    vt_cfg_get_string(c, g, "status", "title", false, &cc->status_title);
    if (vt_cfg_get_string(c, g, "status", "announcements_file", false,
                          &cc->announcements_file)) {
      coll_conf_resolve_path(c, &cc->announcements_file);
      readable(c, g, "status", "announcements_file", cc->announcements_file);
    }
  }
  return c->errors ? VT_ECONFIG : VT_OK;
}

enum vt_status coll_conf_load(const char *path, struct coll_conf **out)
{
  struct coll_conf *cc = calloc(1, sizeof(*cc));
  if (!cc)
    return VT_ENOMEM;
  cc->max_body = DEF_MAX_BODY;
  cc->time_window_s = DEF_TIME_WINDOW_S;
  cc->max_connections = DEF_MAX_CONNECTIONS;
  cc->max_connections_per_address = DEF_MAX_CONNECTIONS_PER_ADDRESS;
  cc->header_timeout_s = DEF_HEADER_TIMEOUT_S;
  cc->body_timeout_s = DEF_BODY_TIMEOUT_S;
  cc->max_buffered = DEF_MAX_BUFFERED;
  cc->log_level = VT_LOG_INFO;
  cc->step_s = DEF_STEP_S;
  cc->create_budget_s = DEF_CREATE_BUDGET_S;
  cc->disk_warn_percent = 90;
  cc->sweep_interval_s = 3600;
  cc->quorum = DEF_QUORUM;
  cc->confirm = DEF_CONFIRM;
  cc->silence_s = DEF_SILENCE_S;
  cc->window_s = DEF_WINDOW_S;
  cc->path = strdup(path);
  struct vt_cfg c;
  enum vt_status st = vt_cfg_open(&c, path);
  if (st != VT_OK) {
    coll_conf_free(cc);
    return st;
  }
  st = parse(&c, cc);
  if (st == VT_OK && !cc->listen)
    cc->listen = strdup(DEF_LISTEN);
  if (st == VT_OK && !cc->data_dir)
    cc->data_dir = strdup(DEF_DATA_DIR);
  if (st == VT_OK && (!cc->path || !cc->listen || !cc->data_dir))
    st = VT_ENOMEM;
  if (st != VT_OK && c.errors)
    vt_err("%s: %d error%s; configuration rejected", path, c.errors,
           c.errors == 1 ? "" : "s");
  vt_cfg_close(&c);
  if (st != VT_OK) {
    coll_conf_free(cc);
    return st;
  }
  *out = cc;
  return VT_OK;
}
