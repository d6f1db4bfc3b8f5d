/* SPDX-License-Identifier: MIT */
/* vantage-collector configuration: parsed from a libconfig file into plain
 * structs and validated (file:line:setting on every problem, unknown keys
 * are errors), with the probes' keys loaded. Reference: README.md,
 * "Collector configuration", and docs/collector.md. */
#ifndef COLLECTOR_CONFIG_H
#define COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct alert_conf;

#include "log.h"
#include "vt_status.h"
#include "wire.h"

struct coll_probe_conf {
  char *name;
  char *key_file;
  struct vt_wire_key key;
};

struct coll_rw_conf { /* a remote-write receiver */
  char *name;
  char *url;
};

struct coll_maint_conf {
  char *target;
  double start, end; /* Unix seconds */
  char *reason;
};

struct coll_conf {
  char *path;
  /* collector */
  char *listen; /* "127.0.0.1:8740" */
  char *tls_cert, *tls_key;
  char *data_dir;
  char *rrdcached; /* NULL = librrd direct */
  long max_body;
  double time_window_s;
  enum vt_log_level log_level;
  bool log_level_set;
  char *targets_file;                   /* served at /v1/targets; NULL = none */
  unsigned max_connections;             /* open connections in all */
  unsigned max_connections_per_address; /* 0 = no per-address limit */
  double header_timeout_s; /* a request's headers complete within this */
  double body_timeout_s;   /* its body (and the reply) within this */
  long long max_buffered;  /* bytes of request bodies held at once */
  /* storage */
  int step_s, heartbeat_s;
  double create_budget_s; /* time a request may spend creating RRD files */
  char **rra;
  size_t n_rra;
  bool full_layout;         /* storage.layout "full": 7 data sources per file */
  double retention_s;       /* 0 = series kept forever */
  char *retention_archive;  /* NULL = removed, else moved there */
  double disk_warn_percent; /* default 90 */
  double sweep_interval_s;  /* default 3600 */
  /* quorum */
  int quorum, confirm;
  double silence_s;
  double window_s; /* quorum.window: re-evaluation window (events.h) */
  struct coll_probe_conf *probes;
  size_t n_probes;
  struct coll_maint_conf *maint;
  size_t n_maint;
  struct coll_rw_conf *rw; /* remote_write receivers */
  size_t n_rw;
  /* status page */
  char *status_dir; /* NULL = no status page */
  double
      status_interval_s; /* the collector rebuilds it this often; 0 = never */
  char *status_title;
  char *announcements_file; /* NULL = none */
  /* alerts (docs/alerts.md); NULL = none */
  struct alert_conf *alerts;
};

/* Reads and validates path. On failure every problem has been logged as
 * "FILE:LINE: SETTING: message" and VT_ECONFIG (or VT_ENOMEM) returned. */
enum vt_status coll_conf_load(const char *path, struct coll_conf **out)
    __attribute__((warn_unused_result));

/* Frees (wiping the keys); c may be NULL. */
void coll_conf_free(struct coll_conf *c);

/* The probe named name, or NULL. */
const struct coll_probe_conf *coll_conf_probe(const struct coll_conf *c,
                                              const char *name);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC) into Unix seconds; false if it is
 * not exactly that form. */
bool coll_parse_utc(const char *s, double *out);

struct vt_cfg;
/* Makes a relative path in the file relative to the file's directory. */
void coll_conf_resolve_path(const struct vt_cfg *c, char **p);

#endif
