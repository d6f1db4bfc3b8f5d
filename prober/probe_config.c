/* SPDX-License-Identifier: MIT */
/* vantage-probe configuration: parse the libconfig file into struct
 * probe_conf, then validate. Unknown keys are errors (a typo must not drop
 * a check silently); every problem is reported with file and line before
 * the load fails. The reference is README.md, "Probe configuration". */
#include "config.h"

#include "probe_config.h"

#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "net.h"
#include "wire.h"

/* Defaults (README "Probe configuration"). */
#define DEF_INTERVAL_S 10.0
#define DEF_TIMEOUT_S 5.0
#define DEF_KEEP_GONE_S 600.0
#define DEF_MAX_BODY 65536L
#define DEF_SPOOL_DIR "/var/lib/vantage/probe/spool"
#define DEF_FSYNC_INTERVAL_S 1.0
/* Connections to one server at once: what an operator accepts from a
 * monitor without noticing it. */
#define DEF_MAX_PER_ADDRESS 8
/* A+AAAA pairs in flight per resolver: 128 answers fit the default socket
 * receive buffer (212992 bytes, about 1.7 KB per small datagram). */
#define DEF_DNS_MAX_IN_FLIGHT 64
#define DEF_BATCH_MAX 5000
#define DEF_UPLOAD_TIMEOUT_S 10.0
#define DEF_TARGETS_INTERVAL_S 60.0

#define MIN_INTERVAL_S 0.1
#define MAX_INTERVAL_S 86400.0
#define MIN_TIMEOUT_S 0.01
#define MAX_TIMEOUT_S 600.0
#define MAX_KEEP_GONE_S (30.0 * 86400)
#define MAX_BODY_LIMIT (1L << 30)
#define MAX_TARGETS 10000
#define MAX_CHECKS 64
#define MAX_BATCH 100000
#define MIN_UPLOAD_TIMEOUT_S 1.0
#define MAX_UPLOAD_TIMEOUT_S 300.0
#define MAX_COLLECTORS 16
#define MIN_TARGETS_INTERVAL_S 1.0
#define MAX_TARGETS_INTERVAL_S 86400.0

/* Settings a target or check inherits from the level above. */
struct inherit {
  double interval_s, timeout_s, keep_gone_s;
  char **resolvers;
  size_t n_resolvers;
};

static const char *const top_keys[] = {"probe", "defaults", "targets",
                                       "collector", NULL};
/* What a targets text fetched from a collector may hold. */
static const char *const fetched_keys[] = {"defaults", "targets", NULL};
static const char *const probe_keys[] = {"name",
                                         "spool_dir",
                                         "fsync",
                                         "fsync_interval",
                                         "log_level",
                                         "spool_max_mb",
                                         "spool_full",
                                         "max_in_flight",
                                         "max_per_address",
                                         "dns_max_in_flight",
                                         "metrics_listen",
                                         NULL};
static const char *const defaults_keys[] = {"interval", "timeout", "resolvers",
                                            "keep_gone", NULL};
static const char *const target_keys[] = {"name",      "host",    "ips",
                                          "interval",  "timeout", "resolvers",
                                          "keep_gone", "checks",  NULL};
static const char *const collector_keys[] = {
    "url",       "key_file", "ca_file",          "verify",
    "batch_max", "timeout",  "targets_interval", NULL};
static const char *const check_common_keys[] = {
    "type", "name", "interval", "timeout", "resolvers", NULL};
static const char *const dns_keys[] = {"expect", NULL};
static const char *const tcp_keys[] = {"port", "tls", "verify", "ca_file",
                                       NULL};
static const char *const http_keys[] = {
    "url",    "status",  "body", "max_body", "follow_redirects",
    "verify", "ca_file", NULL};
static const char *const load_keys[] = {
    "url",    "status",  "max_body", "follow_redirects",
    "verify", "ca_file", "format",   "field",
    "labels", "kind",    NULL};
/* Status pages (node_exporter's is some 100 KB) get a larger default. */
#define DEF_LOAD_MAX_BODY (4L << 20)

bool probe_resolver_parse(const char *spec, char *addr, size_t addr_size,
                          int *port)
{
  char host[64];
  unsigned p = 53;
  if (!vt_net_hostport(spec, VT_NET_PORT_OPTIONAL | VT_NET_BARE_V6, host,
                       sizeof(host), &p) ||
      !vt_net_is_ip(host) || strlen(host) >= addr_size)
    return false;
  snprintf(addr, addr_size, "%s", host);
  *port = (int)p;
  return true;
}

static void check_free_fields(struct probe_check_conf *c)
{
  free(c->name);
  vt_cfg_strv_free(c->resolvers, c->n_resolvers);
  vt_cfg_strv_free(c->expect, c->n_expect);
  free(c->url);
  free(c->status);
  free(c->body);
  free(c->ca_file);
  free(c->load_field);
  vt_cfg_strv_free(c->load_labels, c->n_load_labels);
}

void probe_conf_free(struct probe_conf *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n_targets; i++) {
    struct probe_target_conf *t = &c->targets[i];
    free(t->name);
    free(t->host);
    vt_cfg_strv_free(t->ips, t->n_ips);
    for (size_t k = 0; k < t->n_checks; k++)
      check_free_fields(&t->checks[k]);
    free(t->checks);
    check_free_fields(&t->hidden_resolve);
  }
  free(c->targets);
  for (size_t i = 0; i < c->n_collectors; i++) {
    struct probe_collector_conf *col = &c->collectors[i];
    free(col->url);
    free(col->key_file);
    free(col->ca_file);
    vt_wire_key_wipe(&col->key);
  }
  free(c->collectors);
  free(c->path);
  free(c->name);
  free(c->spool_dir);
  free(c->metrics_listen);
  free(c);
}

/* Reads interval/timeout/resolvers (and keep_gone when asked) from g over
 * the inherited values in *in. */
static void read_inherit(struct vt_cfg *c, config_setting_t *g,
                         const char *path, struct inherit *in,
                         bool with_keep_gone)
{
  vt_cfg_get_number(c, g, path, "interval", MIN_INTERVAL_S, MAX_INTERVAL_S,
                    &in->interval_s);
  vt_cfg_get_number(c, g, path, "timeout", MIN_TIMEOUT_S, MAX_TIMEOUT_S,
                    &in->timeout_s);
  if (with_keep_gone)
    vt_cfg_get_number(c, g, path, "keep_gone", 0, MAX_KEEP_GONE_S,
                      &in->keep_gone_s);
  char **res = NULL;
  size_t n = 0;
  if (!vt_cfg_get_strv(c, g, path, "resolvers", &res, &n))
    return;
  char p[256];
  vt_cfg_path(p, sizeof(p), path, "resolvers", 0);
  config_setting_t *s = config_setting_get_member(g, "resolvers");
  bool ok = true;
  if (n == 0) {
    vt_cfg_error(c, s, p, "needs at least one resolver (or \"system\")");
    ok = false;
  }
  for (size_t i = 0; i < n; i++) {
    char addr[64];
    int port;
    if (strcmp(res[i], "system") != 0 &&
        !probe_resolver_parse(res[i], addr, sizeof(addr), &port)) {
      vt_cfg_error(c, s, p,
                   "\"%s\" is not \"system\" or an IP address with an "
                   "optional port (\"127.0.0.1:5353\", \"[::1]:53\")",
                   res[i]);
      ok = false;
    }
  }
  if (!ok) {
    vt_cfg_strv_free(res, n);
    return;
  }
  in->resolvers = res; /* owned by the caller's scope (freed there) */
  in->n_resolvers = n;
}

static bool url_host_port(const char *url, char **scheme, char **host)
{
  CURLU *u = curl_url();
  if (!u)
    return false;
  bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK;
  curl_url_cleanup(u);
  return ok;
}

static bool key_allowed(const char *name, const char *const *list)
{
  for (size_t i = 0; list && list[i]; i++)
    if (strcmp(name, list[i]) == 0)
      return true;
  return false;
}

/* The load check's own settings: format (required), field, labels, kind. */
static void parse_load(struct vt_cfg *c, config_setting_t *g, const char *path,
                       struct probe_check_conf *chk)
{
  char p[256], *s = NULL;
  if (vt_cfg_get_string(c, g, path, "format", true, &s) &&
      !vt_load_format_parse(s, &chk->load_format))
    vt_cfg_error(c, config_setting_get_member(g, "format"),
                 vt_cfg_path(p, sizeof(p), path, "format", 0),
                 "unknown format \"%s\" (nginx, apache, prometheus)", s);
  free(s);
  s = NULL;
  if (vt_cfg_get_string(c, g, path, "kind", false, &s) &&
      !vt_load_kind_parse(s, &chk->load_kind))
    vt_cfg_error(c, config_setting_get_member(g, "kind"),
                 vt_cfg_path(p, sizeof(p), path, "kind", 0),
                 "unknown kind \"%s\" (auto, counter, gauge)", s);
  free(s);
  vt_cfg_get_string(c, g, path, "field", false, &chk->load_field);
  vt_cfg_get_strv(c, g, path, "labels", &chk->load_labels, &chk->n_load_labels);
  if (c->errors)
    return;
  struct vt_load_spec spec = {
      .format = chk->load_format,
      .field = chk->load_field,
      .labels = (const char *const *)chk->load_labels,
      .n_labels = chk->n_load_labels,
      .kind = chk->load_kind,
  };
  char why[200];
  if (!vt_load_spec_valid(&spec, why, sizeof(why))) {
    const char *key =
        chk->n_load_labels && !strstr(why, "name \"") && strstr(why, "label")
            ? "labels"
            : "field";
    config_setting_t *m = config_setting_get_member(g, key);
    vt_cfg_error(c, m ? m : g, vt_cfg_path(p, sizeof(p), path, key, 0), "%s",
                 why);
  }
}

static void parse_check(struct vt_cfg *c, config_setting_t *g, const char *path,
                        const struct inherit *tin, struct probe_check_conf *chk)
{
  *chk = (struct probe_check_conf){
      .line = config_setting_source_line(g),
      .verify = true,
      .max_body = DEF_MAX_BODY,
  };
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path, "a check must be a group { type = ...; }");
    return;
  }
  char *type = NULL;
  if (!vt_cfg_get_string(c, g, path, "type", true, &type))
    return;
  if (!vt_check_type_parse(type, &chk->type)) {
    char p[256];
    vt_cfg_error(c, config_setting_get_member(g, "type"),
                 vt_cfg_path(p, sizeof(p), path, "type", 0),
                 "unknown check type \"%s\" (dns, tcp, http, client, load)",
                 type);
    free(type);
    return;
  }
  free(type);

  const char *const *specific = chk->type == VT_CHECK_DNS    ? dns_keys
                                : chk->type == VT_CHECK_TCP  ? tcp_keys
                                : chk->type == VT_CHECK_LOAD ? load_keys
                                                             : http_keys;
  if (chk->type == VT_CHECK_LOAD)
    chk->max_body = DEF_LOAD_MAX_BODY;
  int n = config_setting_length(g);
  for (int i = 0; i < n; i++) {
    config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
    const char *name = config_setting_name(m);
    if (!name || key_allowed(name, check_common_keys) ||
        key_allowed(name, specific))
      continue;
    char p[256];
    bool elsewhere =
        key_allowed(name, dns_keys) || key_allowed(name, tcp_keys) ||
        key_allowed(name, http_keys) || key_allowed(name, load_keys);
    if (elsewhere)
      vt_cfg_error(c, m, vt_cfg_path(p, sizeof(p), path, name, 0),
                   "not valid for a check of type %s",
                   vt_check_type_name(chk->type));
    else
      vt_cfg_error(c, m, vt_cfg_path(p, sizeof(p), path, name, 0),
                   "unknown setting");
  }

  if (!vt_cfg_get_string(c, g, path, "name", false, &chk->name))
    chk->name = strdup(vt_check_type_name(chk->type));
  else if (!vt_wire_name_ok(chk->name)) {
    char p[256];
    vt_cfg_error(c, config_setting_get_member(g, "name"),
                 vt_cfg_path(p, sizeof(p), path, "name", 0),
                 "\"%s\" must be 1-63 characters of A-Z a-z 0-9 . _ -",
                 chk->name);
  }
  struct inherit in = *tin;
  in.resolvers = NULL;
  in.n_resolvers = 0;
  read_inherit(c, g, path, &in, false);
  chk->interval_s = in.interval_s;
  chk->timeout_s = in.timeout_s;
  bool dup_ok;
  if (in.resolvers) {
    chk->resolvers = in.resolvers;
    chk->n_resolvers = in.n_resolvers;
  } else {
    chk->resolvers = vt_cfg_strv_dup(tin->resolvers, tin->n_resolvers, &dup_ok);
    chk->n_resolvers = dup_ok ? tin->n_resolvers : 0;
  }
  /* Allowed, but a slow target then skips rounds (runs never stack). */
  if (chk->timeout_s > chk->interval_s)
    vt_warn("%s:%d: %s: timeout %gs is longer than interval %gs: a run "
            "still going when the next is due skips that round",
            c->path, config_setting_source_line(g), path, chk->timeout_s,
            chk->interval_s);

  char p[256];
  switch (chk->type) {
  case VT_CHECK_DNS:
    if (vt_cfg_get_strv(c, g, path, "expect", &chk->expect, &chk->n_expect)) {
      for (size_t i = 0; i < chk->n_expect; i++) {
        char norm[VT_IP_STRLEN];
        if (!vt_net_ip_normalize(chk->expect[i], norm, sizeof(norm)))
          vt_cfg_error(c, config_setting_get_member(g, "expect"),
                       vt_cfg_path(p, sizeof(p), path, "expect", 0),
                       "\"%s\" is not an IP address", chk->expect[i]);
      }
    }
    break;
  case VT_CHECK_TCP: {
    long long port;
    if (vt_cfg_get_int(c, g, path, "port", 1, 65535, &port))
      chk->port = (int)port;
    else if (!config_setting_get_member(g, "port"))
      vt_cfg_error(c, g, vt_cfg_path(p, sizeof(p), path, "port", 0),
                   "missing (required for tcp checks)");
    vt_cfg_get_bool(c, g, path, "tls", &chk->tls);
    vt_cfg_get_bool(c, g, path, "verify", &chk->verify);
    vt_cfg_get_string(c, g, path, "ca_file", false, &chk->ca_file);
    break;
  }
  case VT_CHECK_HTTP:
  case VT_CHECK_CLIENT:
  case VT_CHECK_LOAD: {
    if (vt_cfg_get_string(c, g, path, "url", true, &chk->url)) {
      char *scheme = NULL, *host = NULL;
      bool ascii = true;
      for (const char *q = chk->url; *q; q++)
        ascii &= (unsigned char)*q < 0x80;
      if (!url_host_port(chk->url, &scheme, &host) ||
          (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        vt_cfg_error(c, config_setting_get_member(g, "url"),
                     vt_cfg_path(p, sizeof(p), path, "url", 0),
                     "\"%s\" is not an http:// or https:// URL with a host",
                     chk->url);
      else if (!ascii)
        vt_cfg_error(c, config_setting_get_member(g, "url"),
                     vt_cfg_path(p, sizeof(p), path, "url", 0),
                     "\"%s\" has non-ASCII characters: write the host in "
                     "its xn-- (punycode) form and percent-encode the path",
                     chk->url);
      curl_free(scheme);
      curl_free(host);
    }
    if (!vt_cfg_get_intv(c, g, path, "status", 100, 599, &chk->status,
                         &chk->n_status) ||
        chk->n_status == 0) {
      if (config_setting_get_member(g, "status") && chk->n_status == 0 &&
          chk->status == NULL && c->errors == 0)
        vt_cfg_error(c, config_setting_get_member(g, "status"),
                     vt_cfg_path(p, sizeof(p), path, "status", 0),
                     "needs at least one status code");
      free(chk->status);
      chk->status = malloc(sizeof(int));
      if (chk->status) {
        chk->status[0] = 200;
        chk->n_status = 1;
      }
    }
    vt_cfg_get_string(c, g, path, "body", false, &chk->body);
    long long mb;
    if (vt_cfg_get_int(c, g, path, "max_body", 1, MAX_BODY_LIMIT, &mb))
      chk->max_body = (long)mb;
    vt_cfg_get_bool(c, g, path, "follow_redirects", &chk->follow_redirects);
    vt_cfg_get_bool(c, g, path, "verify", &chk->verify);
    vt_cfg_get_string(c, g, path, "ca_file", false, &chk->ca_file);
    if (chk->type == VT_CHECK_LOAD)
      parse_load(c, g, path, chk);
    break;
  }
  }
  if (chk->ca_file && access(chk->ca_file, R_OK) != 0)
    vt_cfg_error(c, config_setting_get_member(g, "ca_file"),
                 vt_cfg_path(p, sizeof(p), path, "ca_file", 0),
                 "cannot read \"%s\"", chk->ca_file);
  if (chk->type == VT_CHECK_CLIENT && chk->n_resolvers > 1)
    vt_info("config: %s: a client check resolves through its first "
            "resolver (%s) only, as a stub resolver would",
            path, chk->resolvers[0]);
}

static void parse_target(struct vt_cfg *c, config_setting_t *g,
                         const char *path, const struct inherit *din,
                         struct probe_target_conf *t)
{
  *t = (struct probe_target_conf){.line = config_setting_source_line(g)};
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path, "a target must be a group { name = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, target_keys);
  char p[256];
  if (vt_cfg_get_string(c, g, path, "name", true, &t->name) &&
      !vt_wire_name_ok(t->name))
    vt_cfg_error(c, config_setting_get_member(g, "name"),
                 vt_cfg_path(p, sizeof(p), path, "name", 0),
                 "\"%s\" must be 1-63 characters of A-Z a-z 0-9 . _ -",
                 t->name);
  if (vt_cfg_get_string(c, g, path, "host", true, &t->host) &&
      !vt_net_hostname_ok(t->host))
    vt_cfg_error(c, config_setting_get_member(g, "host"),
                 vt_cfg_path(p, sizeof(p), path, "host", 0),
                 "\"%s\" is not a host name (put addresses in ips)", t->host);
  if (vt_cfg_get_strv(c, g, path, "ips", &t->ips, &t->n_ips)) {
    for (size_t i = 0; i < t->n_ips; i++) {
      char norm[VT_IP_STRLEN];
      if (!vt_net_ip_normalize(t->ips[i], norm, sizeof(norm))) {
        vt_cfg_error(c, config_setting_get_member(g, "ips"),
                     vt_cfg_path(p, sizeof(p), path, "ips", 0),
                     "\"%s\" is not an IP address", t->ips[i]);
        continue;
      }
      char *n = strdup(norm);
      if (n) {
        free(t->ips[i]);
        t->ips[i] = n;
      }
    }
  }

  struct inherit in = *din;
  in.resolvers = NULL;
  in.n_resolvers = 0;
  read_inherit(c, g, path, &in, true);
  bool own_resolvers = in.resolvers != NULL;
  if (!own_resolvers) {
    in.resolvers = din->resolvers;
    in.n_resolvers = din->n_resolvers;
  }
  t->keep_gone_s = in.keep_gone_s;

  config_setting_t *checks = config_setting_get_member(g, "checks");
  vt_cfg_path(p, sizeof(p), path, "checks", 0);
  int n = 0;
  if (!checks)
    vt_cfg_error(c, g, p, "missing (a target needs at least one check)");
  else if (!config_setting_is_list(checks))
    vt_cfg_error(c, checks, p, "expected a list ( { ... }, { ... } )");
  else if ((n = config_setting_length(checks)) == 0)
    vt_cfg_error(c, checks, p, "a target needs at least one check");
  else if (n > MAX_CHECKS)
    vt_cfg_error(c, checks, p, "at most %d checks per target", MAX_CHECKS);
  if (n > 0 && n <= MAX_CHECKS) {
    t->checks = calloc((size_t)n, sizeof(*t->checks));
    if (!t->checks) {
      vt_cfg_error(c, checks, p, "out of memory");
      n = 0;
    }
    t->n_checks = (size_t)n;
  }
  int n_dns = 0;
  for (int i = 0; i < (int)t->n_checks; i++) {
    char pc[256];
    vt_cfg_path(pc, sizeof(pc), p, NULL, i);
    parse_check(c, config_setting_get_elem(checks, (unsigned)i), pc, &in,
                &t->checks[i]);
    if (t->checks[i].type == VT_CHECK_DNS && t->checks[i].name)
      n_dns++;
    for (int k = 0; k < i; k++) {
      if (t->checks[i].name && t->checks[k].name &&
          strcmp(t->checks[i].name, t->checks[k].name) == 0)
        vt_cfg_error(c, config_setting_get_elem(checks, (unsigned)i), pc,
                     "two checks named \"%s\" in target %s: give each a "
                     "distinct name = \"...\"",
                     t->checks[i].name, t->name ? t->name : "?");
    }
  }
  if (n_dns > 1)
    vt_cfg_error(c, checks, p,
                 "at most one dns check per target (list several resolvers "
                 "in it instead)");

  /* The fan-out resolves through the dns check when there is one. */
  t->resolve = NULL;
  for (size_t i = 0; i < t->n_checks; i++)
    if (t->checks[i].type == VT_CHECK_DNS)
      t->resolve = &t->checks[i];
  if (!t->resolve) {
    bool ok;
    t->hidden_resolve = (struct probe_check_conf){
        .type = VT_CHECK_DNS,
        .name = strdup("resolve"),
        .line = t->line,
        .interval_s = in.interval_s,
        .timeout_s = in.timeout_s,
        .resolvers = vt_cfg_strv_dup(in.resolvers, in.n_resolvers, &ok),
        .n_resolvers = in.n_resolvers,
    };
    if (!ok || !t->hidden_resolve.name)
      vt_cfg_error(c, g, path, "out of memory");
    if (t->hidden_resolve.timeout_s > t->hidden_resolve.interval_s)
      t->hidden_resolve.timeout_s = t->hidden_resolve.interval_s;
    t->resolve = &t->hidden_resolve;
  }
  if (own_resolvers)
    vt_cfg_strv_free(in.resolvers, in.n_resolvers);
}

/* Makes a relative path relative to the directory of the config file, as
 * @include is, so a key next to the config is found whatever the daemon's
 * working directory. Returns a new string, NULL when out of memory. */
static char *path_near_config(const char *config_path, const char *file)
{
  if (file[0] == '/')
    return strdup(file);
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", config_path);
  const char *d = dirname(dir);
  size_t n = strlen(d) + 1 + strlen(file) + 1;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, "%s/%s", d, file);
  return out;
}

/* One collector group: url, key_file (loaded here, so a bad key is a config
 * error and not a stream of 401s), ca_file, verify, batch_max, timeout. */
static void parse_collector(struct vt_cfg *c, config_setting_t *g,
                            const char *path, struct probe_collector_conf *col)
{
  *col = (struct probe_collector_conf){
      .line = config_setting_source_line(g),
      .verify = true,
      .batch_max = DEF_BATCH_MAX,
      .timeout_s = DEF_UPLOAD_TIMEOUT_S,
      .targets_interval_s = DEF_TARGETS_INTERVAL_S,
  };
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path,
                 "a collector must be a group { url = ...; key_file = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, collector_keys);
  char p[256];
  if (vt_cfg_get_string(c, g, path, "url", true, &col->url)) {
    char *scheme = NULL, *host = NULL;
    if (!url_host_port(col->url, &scheme, &host) ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
      vt_cfg_error(c, config_setting_get_member(g, "url"),
                   vt_cfg_path(p, sizeof(p), path, "url", 0),
                   "\"%s\" is not an http:// or https:// URL with a host",
                   col->url);
    else if (strpbrk(col->url, "?#"))
      vt_cfg_error(c, config_setting_get_member(g, "url"),
                   vt_cfg_path(p, sizeof(p), path, "url", 0),
                   "\"%s\": a base URL takes no query or fragment "
                   "(the probe appends /v1/results)",
                   col->url);
    curl_free(scheme);
    curl_free(host);
  }
  char *key_file = NULL;
  if (vt_cfg_get_string(c, g, path, "key_file", true, &key_file)) {
    config_setting_t *s = config_setting_get_member(g, "key_file");
    vt_cfg_path(p, sizeof(p), path, "key_file", 0);
    col->key_file = path_near_config(c->path, key_file);
    char why[256] = "";
    if (!col->key_file)
      vt_cfg_error(c, s, p, "out of memory");
    else if (vt_wire_key_load(col->key_file, &col->key, why, sizeof(why)) !=
             VT_OK)
      vt_cfg_error(c, s, p, "unusable key: %s", why[0] ? why : col->key_file);
    free(key_file);
  }
  vt_cfg_get_string(c, g, path, "ca_file", false, &col->ca_file);
  if (col->ca_file && access(col->ca_file, R_OK) != 0)
    vt_cfg_error(c, config_setting_get_member(g, "ca_file"),
                 vt_cfg_path(p, sizeof(p), path, "ca_file", 0),
                 "cannot read \"%s\"", col->ca_file);
  vt_cfg_get_bool(c, g, path, "verify", &col->verify);
  long long bm;
  if (vt_cfg_get_int(c, g, path, "batch_max", 1, MAX_BATCH, &bm))
    col->batch_max = (long)bm;
  vt_cfg_get_number(c, g, path, "timeout", MIN_UPLOAD_TIMEOUT_S,
                    MAX_UPLOAD_TIMEOUT_S, &col->timeout_s);
  vt_cfg_get_number(c, g, path, "targets_interval", MIN_TARGETS_INTERVAL_S,
                    MAX_TARGETS_INTERVAL_S, &col->targets_interval_s);
}

/* collector = { ... }; or collector = ( { ... }, { ... } ); every collector
 * gets every record, each at its own pace. */
static void parse_collectors(struct vt_cfg *c, config_setting_t *s,
                             struct probe_conf *pc)
{
  bool list = config_setting_is_list(s);
  int n = list ? config_setting_length(s) : 1;
  if (!list && !config_setting_is_group(s)) {
    vt_cfg_error(c, s, "collector",
                 "expected a group { url = ...; key_file = ...; } or a list "
                 "of them");
    return;
  }
  if (n == 0) {
    vt_cfg_error(c, s, "collector",
                 "needs at least one collector (or leave the setting out)");
    return;
  }
  if (n > MAX_COLLECTORS) {
    vt_cfg_error(c, s, "collector", "at most %d collectors", MAX_COLLECTORS);
    return;
  }
  pc->collectors = calloc((size_t)n, sizeof(*pc->collectors));
  if (!pc->collectors) {
    vt_cfg_error(c, s, "collector", "out of memory");
    return;
  }
  pc->n_collectors = (size_t)n;
  for (int i = 0; i < n; i++) {
    char p[64] = "collector";
    config_setting_t *g = s;
    if (list) {
      vt_cfg_path(p, sizeof(p), "collector", NULL, i);
      g = config_setting_get_elem(s, (unsigned)i);
    }
    struct probe_collector_conf *col = &pc->collectors[i];
    parse_collector(c, g, p, col);
    config_setting_t *ti = config_setting_get_member(g, "targets_interval");
    if (i > 0 && ti) {
      char pt[96];
      vt_cfg_error(c, ti, vt_cfg_path(pt, sizeof(pt), p, "targets_interval", 0),
                   "targets are fetched from the first collector only");
    }
    /* The upload position is kept per URL (uploader.h): one URL twice
     * would share it. */
    for (int k = 0; k < i && col->url; k++)
      if (pc->collectors[k].url && strcmp(pc->collectors[k].url, col->url) == 0)
        vt_cfg_error(c, g, p, "collector \"%s\" is listed twice", col->url);
  }
}

/* Reports what a fetched text may not hold: "probe" and "collector" (the
 * collector must not redirect the probe to another spool, name or
 * collector) and anything unknown. */
static void check_fetched_keys(struct vt_cfg *f, const config_setting_t *root)
{
  int n = config_setting_length(root);
  for (int i = 0; i < n; i++) {
    config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
    const char *name = config_setting_name(m);
    if (name && key_allowed(name, fetched_keys))
      continue;
    if (name && key_allowed(name, top_keys))
      vt_cfg_error(f, m, name,
                   "not allowed in targets fetched from the collector (only "
                   "defaults and targets): the collector must not redirect "
                   "the probe");
    else
      vt_cfg_error(f, m, name ? name : "", "unknown setting");
  }
}

/* Parses the file in c into pc; f, when not NULL, is the targets text
 * fetched from the collector, used when c has no targets. */
static enum vt_status parse(struct vt_cfg *c, struct vt_cfg *f,
                            struct probe_conf *pc)
{
  config_setting_t *root = config_root_setting(&c->cfg);
  vt_cfg_check_keys(c, root, "", top_keys);

  config_setting_t *probe = config_setting_get_member(root, "probe");
  if (!probe || !config_setting_is_group(probe)) {
    vt_cfg_error(c, probe, "probe",
                 probe ? "expected a group { name = \"...\"; }"
                       : "missing (probe = { name = \"...\"; };)");
  } else {
    vt_cfg_check_keys(c, probe, "probe", probe_keys);
    if (vt_cfg_get_string(c, probe, "probe", "name", true, &pc->name) &&
        !vt_wire_name_ok(pc->name))
      vt_cfg_error(c, config_setting_get_member(probe, "name"), "probe.name",
                   "\"%s\" must be 1-63 characters of A-Z a-z 0-9 . _ -",
                   pc->name);
    vt_cfg_get_string(c, probe, "probe", "spool_dir", false, &pc->spool_dir);
    char ml_host[64];
    unsigned ml_port;
    if (vt_cfg_get_string(c, probe, "probe", "metrics_listen", false,
                          &pc->metrics_listen) &&
        (!vt_net_hostport(pc->metrics_listen, 0, ml_host, sizeof(ml_host),
                          &ml_port) ||
         !vt_net_is_ip(ml_host)))
      vt_cfg_error(c, config_setting_get_member(probe, "metrics_listen"),
                   "probe.metrics_listen",
                   "\"%s\" is not IP:PORT (a numeric address, [::1]:PORT "
                   "for IPv6, port 1-65535)",
                   pc->metrics_listen);
    char *fs = NULL;
    if (vt_cfg_get_string(c, probe, "probe", "fsync", false, &fs)) {
      if (strcmp(fs, "always") == 0)
        pc->fsync = PROBE_FSYNC_ALWAYS;
      else if (strcmp(fs, "interval") == 0)
        pc->fsync = PROBE_FSYNC_INTERVAL;
      else if (strcmp(fs, "never") == 0)
        pc->fsync = PROBE_FSYNC_NEVER;
      else
        vt_cfg_error(c, config_setting_get_member(probe, "fsync"),
                     "probe.fsync",
                     "\"%s\" is not one of always, interval, never", fs);
      free(fs);
    }
    vt_cfg_get_number(c, probe, "probe", "fsync_interval", 0.01, 3600,
                      &pc->fsync_interval_s);
    /* At least 1 MiB: the spool keeps 16 segments' worth under its cap
     * and a segment holds many records. */
    vt_cfg_get_number(c, probe, "probe", "spool_max_mb", 1, 1 << 20,
                      &pc->spool_max_mb);
    char *sf = NULL;
    if (vt_cfg_get_string(c, probe, "probe", "spool_full", false, &sf)) {
      if (strcmp(sf, "drop_oldest") == 0)
        pc->spool_full = PROBE_SPOOL_DROP_OLDEST;
      else if (strcmp(sf, "refuse") == 0)
        pc->spool_full = PROBE_SPOOL_REFUSE;
      else
        vt_cfg_error(c, config_setting_get_member(probe, "spool_full"),
                     "probe.spool_full",
                     "\"%s\" is not one of drop_oldest, refuse", sf);
      free(sf);
    }
    long long v;
    if (vt_cfg_get_int(c, probe, "probe", "max_in_flight", 0, 65536, &v))
      pc->max_in_flight = (int)v;
    if (vt_cfg_get_int(c, probe, "probe", "max_per_address", 1, 65536, &v))
      pc->max_per_address = (int)v;
    if (vt_cfg_get_int(c, probe, "probe", "dns_max_in_flight", 1, 4096, &v))
      pc->dns_max_in_flight = (int)v;
    char *lvl = NULL;
    if (vt_cfg_get_string(c, probe, "probe", "log_level", false, &lvl)) {
      if (vt_log_level_parse(lvl, &pc->log_level))
        pc->log_level_set = true;
      else
        vt_cfg_error(
            c, config_setting_get_member(probe, "log_level"), "probe.log_level",
            "\"%s\" is not one of err, warning, notice, info, debug", lvl);
      free(lvl);
    }
  }
  if (!pc->spool_dir)
    pc->spool_dir = strdup(DEF_SPOOL_DIR);

  /* Without targets of its own the probe fetches them from its first
   * collector; then defaults and targets come from the fetched text f (the
   * file's own defaults when f has none). dc and tc own what is parsed, so
   * that errors name the right file. */
  config_setting_t *coll = config_setting_get_member(root, "collector");
  config_setting_t *targets = config_setting_get_member(root, "targets");
  config_setting_t *defs = config_setting_get_member(root, "defaults");
  struct vt_cfg *dc = c, *tc = c;
  pc->targets_fetched = !targets && coll;
  if (pc->targets_fetched && f) {
    config_setting_t *froot = config_root_setting(&f->cfg);
    check_fetched_keys(f, froot);
    tc = f;
    targets = config_setting_get_member(froot, "targets");
    config_setting_t *fdefs = config_setting_get_member(froot, "defaults");
    if (fdefs) {
      defs = fdefs;
      dc = f;
    }
  }

  struct inherit din = {.interval_s = DEF_INTERVAL_S,
                        .timeout_s = DEF_TIMEOUT_S,
                        .keep_gone_s = DEF_KEEP_GONE_S};
  char *sys = "system";
  if (defs && !config_setting_is_group(defs)) {
    vt_cfg_error(dc, defs, "defaults", "expected a group { ... }");
  } else if (defs) {
    vt_cfg_check_keys(dc, defs, "defaults", defaults_keys);
    read_inherit(dc, defs, "defaults", &din, true);
  }
  bool own_resolvers = din.resolvers != NULL;
  if (!own_resolvers) {
    din.resolvers = &sys;
    din.n_resolvers = 1;
  }

  int n = 0;
  if (!targets && tc == f)
    vt_cfg_error(tc, NULL, "targets",
                 "missing: the collector's targets_file needs targets = "
                 "( { ... } );");
  else if (!targets && !pc->targets_fetched)
    vt_cfg_error(tc, NULL, "targets",
                 "missing (targets = ( { ... } );, or a collector to fetch "
                 "them from)");
  else if (targets && !config_setting_is_list(targets))
    vt_cfg_error(tc, targets, "targets", "expected a list ( { ... }, ... )");
  else if (targets && (n = config_setting_length(targets)) == 0)
    vt_cfg_error(tc, targets, "targets", "needs at least one target");
  else if (n > MAX_TARGETS)
    vt_cfg_error(tc, targets, "targets", "at most %d targets", MAX_TARGETS);
  if (n > 0 && n <= MAX_TARGETS) {
    pc->targets = calloc((size_t)n, sizeof(*pc->targets));
    if (pc->targets)
      pc->n_targets = (size_t)n;
  }
  for (size_t i = 0; i < pc->n_targets; i++) {
    char p[64];
    vt_cfg_path(p, sizeof(p), "targets", NULL, (int)i);
    config_setting_t *tg = config_setting_get_elem(targets, (unsigned)i);
    parse_target(tc, tg, p, &din, &pc->targets[i]);
    for (size_t k = 0; k < i; k++) {
      if (pc->targets[i].name && pc->targets[k].name &&
          strcmp(pc->targets[i].name, pc->targets[k].name) == 0)
        vt_cfg_error(tc, tg, p, "target name \"%s\" is already used",
                     pc->targets[i].name);
    }
  }
  if (own_resolvers)
    vt_cfg_strv_free(din.resolvers, din.n_resolvers);

  if (coll)
    parse_collectors(c, coll, pc);
  return c->errors || (f && f->errors) ? VT_ECONFIG : VT_OK;
}

/* Opens a fetched targets text (len bytes) as f, named name in messages.
 * @include is refused before libconfig sees it: the collector must not make
 * the probe read its own files. A NUL byte would end libconfig's parse
 * early, silently dropping the rest, so it is refused too. */
static enum vt_status fetched_open(struct vt_cfg *f, const char *name,
                                   const char *text, size_t len)
{
  *f = (struct vt_cfg){.path = name};
  enum vt_status st = VT_OK;
  if (memchr(text, '\0', len)) {
    vt_err("%s: holds a NUL byte: not a configuration text", name);
    return VT_ECONFIG;
  }
  int line = 1;
  for (size_t i = 0; i < len; line++) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    size_t k = i;
    while (k < end && (text[k] == ' ' || text[k] == '\t'))
      k++;
    if (end - k >= 8 && memcmp(text + k, "@include", 8) == 0) {
      vt_err("%s:%d: @include is not allowed in targets fetched from the "
             "collector",
             name, line);
      st = VT_ECONFIG;
    }
    i = end + 1;
  }
  if (st != VT_OK)
    return st;
  char *copy = malloc(len + 1);
  if (!copy)
    return VT_ENOMEM;
  memcpy(copy, text, len);
  copy[len] = '\0';
  config_init(&f->cfg);
  if (config_read_string(&f->cfg, copy) != CONFIG_TRUE) {
    vt_err("%s:%d: %s", name, config_error_line(&f->cfg),
           config_error_text(&f->cfg));
    config_destroy(&f->cfg);
    st = VT_ECONFIG;
  }
  free(copy);
  return st;
}

/* Loads path (or own_text, named path, when not NULL), with the fetched
 * text (name, text, len) when text is not NULL; see
 * probe_conf_load_fetched. */
static enum vt_status load(const char *path, const char *own_text,
                           const char *name, const char *text, size_t len,
                           struct probe_conf **out)
{
  struct vt_cfg c, f;
  bool c_open = false, f_open = false;
  struct probe_conf *pc = calloc(1, sizeof(*pc));
  enum vt_status st = VT_ENOMEM;
  if (!pc)
    goto out;
  pc->fsync = PROBE_FSYNC_INTERVAL;
  pc->fsync_interval_s = DEF_FSYNC_INTERVAL_S;
  pc->max_in_flight = 0; /* from the open-files limit */
  pc->max_per_address = DEF_MAX_PER_ADDRESS;
  pc->dns_max_in_flight = DEF_DNS_MAX_IN_FLIGHT;
  pc->log_level = VT_LOG_INFO;
  if (!(pc->path = strdup(path)))
    goto out;
  if (own_text)
    st = fetched_open(&c, path, own_text, strlen(own_text));
  else
    st = vt_cfg_open(&c, path);
  if (st != VT_OK)
    goto out;
  c_open = true;
  /* A file with targets of its own does not use fetched ones. */
  if (text &&
      !config_setting_get_member(config_root_setting(&c.cfg), "targets")) {
    if ((st = fetched_open(&f, name, text, len)) != VT_OK)
      goto out;
    f_open = true;
  }
  st = parse(&c, f_open ? &f : NULL, pc);
  if (st == VT_OK && !pc->spool_dir)
    st = VT_ENOMEM;
  if (c.errors)
    vt_err("%s: %d error%s; configuration rejected", path, c.errors,
           c.errors == 1 ? "" : "s");
  if (f_open && f.errors)
    vt_err("%s: %d error%s; targets rejected", name, f.errors,
           f.errors == 1 ? "" : "s");

out:
  if (f_open)
    vt_cfg_close(&f);
  if (c_open)
    vt_cfg_close(&c);
  if (st != VT_OK) {
    probe_conf_free(pc);
    return st;
  }
  *out = pc;
  return VT_OK;
}

enum vt_status probe_conf_load(const char *path, struct probe_conf **out)
{
  return load(path, NULL, NULL, NULL, 0, out);
}

enum vt_status probe_conf_load_text(const char *name, const char *own_text,
                                    struct probe_conf **out)
{
  return load(name, own_text, NULL, NULL, 0, out);
}

enum vt_status probe_conf_load_fetched_text(const char *path, const char *name,
                                            const char *text, size_t len,
                                            struct probe_conf **out)
{
  return load(path, NULL, name, text, len, out);
}

enum vt_status probe_conf_load_fetched(const char *path,
                                       const char *targets_path,
                                       struct probe_conf **out)
{
  struct vt_buf b;
  vt_buf_init(&b, PROBE_FETCHED_MAX);
  enum vt_status st = vt_buf_add_file(&b, targets_path);
  if (st == VT_EFULL) {
    vt_err("%s: larger than %u bytes", targets_path, PROBE_FETCHED_MAX);
    st = VT_ECONFIG;
  } else if (st != VT_OK) {
    vt_err("%s: cannot read: %s", targets_path, strerror(errno));
    st = VT_ECONFIG;
  }
  if (st == VT_OK)
    st = load(path, NULL, targets_path, vt_buf_str(&b), b.len, out);
  vt_buf_cleanup(&b);
  return st;
}
