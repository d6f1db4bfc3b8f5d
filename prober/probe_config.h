/* SPDX-License-Identifier: MIT */
/* vantage-probe configuration: parsed from a libconfig file into plain
 * structs, then validated. Every string is a private copy (libconfig's die
 * with its config_t). Inherited settings (interval, timeout, resolvers) are
 * already resolved into each check. */
#ifndef PROBE_CONFIG_H
#define PROBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "loadstat.h"
#include "log.h"
#include "result.h"
#include "vt_status.h"
#include "wire.h"

/* The largest targets text fetched from a collector that is accepted. */
#define PROBE_FETCHED_MAX (16u << 20)

enum probe_fsync {
  PROBE_FSYNC_ALWAYS,   /* fsync after every record */
  PROBE_FSYNC_INTERVAL, /* fsync at most every fsync_interval_s */
  PROBE_FSYNC_NEVER,    /* leave it to the kernel */
};

/* What the spool does when a record would take it over spool_max_mb (or
 * the volume is full). */
enum probe_spool_full {
  PROBE_SPOOL_DROP_OLDEST, /* delete the oldest segment (counted, logged) */
  PROBE_SPOOL_REFUSE,      /* keep what is spooled, lose the new record */
};

struct probe_check_conf {
  enum vt_check_type type;
  char *name; /* unique within the target; defaults to the type name */
  int line;   /* line in the config file, for log messages */
  double interval_s;
  double timeout_s;
  char **resolvers; /* "system", "127.0.0.1", "127.0.0.1:5353", "[::1]:53" */
  size_t n_resolvers;
  /* dns */
  char **expect; /* addresses the answer must equal (as a set); may be 0 */
  size_t n_expect;
  /* tcp */
  int port;
  bool tls;
  /* http, client */
  char *url;
  int *status; /* accepted HTTP status codes; default { 200 } */
  size_t n_status;
  char *body;    /* substring the body must contain; NULL = any */
  long max_body; /* bytes; larger bodies fail with too_large */
  bool follow_redirects;
  /* tcp with tls, http, client, load */
  bool verify;   /* verify the certificate chain and name */
  char *ca_file; /* extra CA bundle (PEM); NULL = system store */
  /* load (with url, status, max_body, follow_redirects, verify, ca_file):
   * what to read from the status page (lib/loadstat.h) */
  enum vt_load_format load_format;
  char *load_field;   /* NULL = the format's default */
  char **load_labels; /* "name=value" */
  size_t n_load_labels;
  enum vt_load_kind load_kind;
};

struct probe_target_conf {
  char *name;
  char *host;
  int line;
  char **ips; /* static extra addresses, normalized text form */
  size_t n_ips;
  double keep_gone_s;
  struct probe_check_conf *checks;
  size_t n_checks;
  /* The resolution behind the fan-out: points at the target's dns check
   * when it has one, otherwise at hidden_resolve, built from the target's
   * settings, whose results are not reported. */
  const struct probe_check_conf *resolve;
  struct probe_check_conf hidden_resolve;
};

/* One collector the spool is uploaded to (README "collector"). */
struct probe_collector_conf {
  char *url;              /* base URL; /v1/results is appended */
  char *key_file;         /* resolved against the config file's directory */
  struct vt_wire_key key; /* loaded and checked at load; wiped on free */
  char *ca_file;          /* extra CA bundle (PEM); NULL = system store */
  bool verify;            /* verify the certificate chain and name */
  long batch_max;         /* records per request */
  double timeout_s;       /* per request */
  int line;               /* line in the config file, for log messages */
  /* GET /v1/targets this often (only the first collector is asked). */
  double targets_interval_s;
};

struct probe_conf {
  char *path; /* the file this came from */
  char *name; /* probe name, [A-Za-z0-9._-]{1,63} */
  char *spool_dir;
  enum probe_fsync fsync;
  double fsync_interval_s;
  double spool_max_mb;              /* 0: no cap but the volume's */
  enum probe_spool_full spool_full; /* over the cap, or the volume full */
  enum vt_log_level log_level;
  bool log_level_set; /* set in the file (the command line wins otherwise) */
  /* The budget of checks in flight (scheduler.h). max_in_flight 0 = from
   * the open-files limit (sched_default_max_in_flight). */
  int max_in_flight;
  int max_per_address;
  int dns_max_in_flight; /* query pairs in flight per resolver (dns.h) */
  char *metrics_listen;  /* GET /metrics and /healthz; NULL = off */
  struct probe_target_conf *targets;
  size_t n_targets;
  struct probe_collector_conf *collectors; /* none: results stay spooled */
  size_t n_collectors;
  /* The file has no targets of its own: they are fetched from the first
   * collector (targets_fetch.h). n_targets is 0 until a fetched text has
   * been loaded with probe_conf_load_fetched*. */
  bool targets_fetched;
};

/* Reads and validates path. On success *out is a new config (free with
 * probe_conf_free). On failure every problem has been logged as
 * "FILE:LINE: SETTING: message" and VT_ECONFIG (or VT_ENOMEM) is returned. */
enum vt_status probe_conf_load(const char *path, struct probe_conf **out)
    __attribute__((warn_unused_result));

/* Like probe_conf_load, plus the targets fetched from the collector: when
 * path has no targets (so targets_fetched), "defaults" and "targets" come
 * from the file targets_path (at most 16 MiB), where "probe" and
 * "collector" are errors (the collector must not redirect the probe), as is
 * @include; path's own defaults apply when targets_path has none. When path
 * has targets, targets_path is ignored. Problems in targets_path are
 * logged as "TARGETS_PATH:LINE: SETTING: message". Returns as
 * probe_conf_load. */
enum vt_status probe_conf_load_fetched(const char *path,
                                       const char *targets_path,
                                       struct probe_conf **out)
    __attribute__((warn_unused_result));

/* The same with the fetched text in memory (len bytes, no NUL needed), for
 * --once; name stands for its file in messages (e.g. the URL). */
enum vt_status probe_conf_load_fetched_text(const char *path, const char *name,
                                            const char *text, size_t len,
                                            struct probe_conf **out)
    __attribute__((warn_unused_result));

/* Like probe_conf_load, from the text own_text (NUL-terminated; @include
 * is refused) instead of a file; name stands for the file in messages. For
 * `vantage-probe check`, which builds its configuration from the command
 * line. */
enum vt_status probe_conf_load_text(const char *name, const char *own_text,
                                    struct probe_conf **out)
    __attribute__((warn_unused_result));

/* Frees a config; c may be NULL. */
void probe_conf_free(struct probe_conf *c);

/* Splits a resolver spec ("127.0.0.1:5353", "[::1]:53", "::1", "10.0.0.1")
 * into a numeric address and port (53 when absent). Returns false when the
 * spec is not an IPv4/IPv6 address with an optional port in 1..65535.
 * "system" is handled by callers. */
bool probe_resolver_parse(const char *spec, char *addr, size_t addr_size,
                          int *port);

#endif
