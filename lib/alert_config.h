/* SPDX-License-Identifier: MIT */
/* The "alerts" group of the collector's configuration (docs/alerts.md):
 * receivers and event classes, parsed with the rest of collector.cfg
 * (collector_config.h). The alerts themselves are collector/alert.h. */
#ifndef VT_ALERT_CONFIG_H
#define VT_ALERT_CONFIG_H

#include <stddef.h>

#include <libconfig.h>

#include "cfg.h"
#include "wire.h"

enum alert_rx_type {
  ALERT_RX_ALERTMANAGER,
  ALERT_RX_WEBHOOK,
  ALERT_RX_PROGRAM
};

struct alert_rx_conf {
  char *name;
  enum alert_rx_type type;
  char *url;      /* alertmanager (base URL) and webhook */
  char *key_file; /* webhook: HMAC key (lib/wire key file) */
  struct vt_wire_key key;
  char *command; /* program: run with /bin/sh -c */
  double timeout_s;
  unsigned events; /* ALERT_EV_* bits this receiver gets */
};

/* Event classes (receiver setting "events"). */
enum {
  ALERT_EV_OUTAGE = 1u << 0,  /* an address down by quorum */
  ALERT_EV_PARTIAL = 1u << 1, /* some probes, below quorum */
  ALERT_EV_HOST = 1u << 2,    /* host degraded, down, up */
  ALERT_EV_PROBE = 1u << 3,   /* a probe silent, back */
  ALERT_EV_CERT = 1u << 4,    /* a quorum of probes: certificate expires */
  ALERT_EV_DNS = 1u << 5, /* a quorum of probes: answers differ from expect */
  ALERT_EV_DEFAULT = ALERT_EV_OUTAGE | ALERT_EV_HOST | ALERT_EV_PROBE |
                     ALERT_EV_CERT | ALERT_EV_DNS,
};
/* The bit of an event name ("outage", ...), 0 if unknown. */
unsigned alert_event_bit(const char *name);

struct alert_conf {
  char *status_url; /* link in every event (generatorURL); NULL = none */
  int cert_days;    /* certificate-expiry events this many days ahead */
  double retry_min_s, retry_max_s;
  struct alert_rx_conf *rx;
  size_t n_rx;
};

/* Parses the "alerts" group of the collector's configuration into *out
 * (errors through vt_cfg_error). */
void alert_conf_parse(struct vt_cfg *c, const config_setting_t *g,
                      struct alert_conf **out);
void alert_conf_free(struct alert_conf *a); /* a may be NULL */

#endif
