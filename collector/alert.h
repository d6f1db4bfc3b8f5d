/* SPDX-License-Identifier: MIT */
/* Alerts from the quorum engine's verdicts (docs/alerts.md): events.c tells
 * this module what it opened, changed and closed (events_set_observer); each
 * committed change becomes one event per receiver in a durable SQLite outbox
 * (alerts.sqlite in the data directory), which a delivery thread drains in
 * order per receiver, retrying with backoff: Alertmanager's v2 API, a signed
 * webhook, or a program with the event on standard input. */
#ifndef COLLECTOR_ALERT_H
#define COLLECTOR_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "alert_config.h"
#include "cfg.h"
#include "events.h"
#include "vt_status.h"
#include "wire.h"

/* A maintenance window: alerts of target within [start, end) are muted. */
struct alert_maint {
  const char *target;
  double start, end;
};

struct alerts;

/* Opens the outbox at db_path and starts the delivery thread. conf is
 * borrowed and must outlive the handle (replace with alerts_set_conf).
 * Returns NULL (logged) on failure. */
struct alerts *alerts_start(const struct alert_conf *conf, const char *db_path,
                            enum vt_status *st);
/* Stops the thread (an attempt under way finishes) and closes. */
void alerts_stop(struct alerts *a);
/* Replaces the configuration (reload); conf as for alerts_start. */
void alerts_set_conf(struct alerts *a, const struct alert_conf *conf);
/* Probes that must agree for certificate and DNS `expect` events. */
void alerts_set_quorum(struct alerts *a, int quorum);
/* Replaces the maintenance windows (copied). */
enum vt_status alerts_set_maintenance(struct alerts *a,
                                      const struct alert_maint *m, size_t n);

/* The events observer (events_set_observer(ev, alerts_observe, a)). */
void alerts_observe(void *arg, const struct events_note *n);

/* Counts for /metrics. */
struct alerts_stats {
  unsigned long long queued, delivered, failed_attempts, muted, pending;
};
void alerts_get_stats(struct alerts *a, struct alerts_stats *out);

/* --test-alert: sends one test event to every receiver now and prints one
 * line per receiver to stdout. Returns the number of failures. */
int alerts_test(const struct alert_conf *conf);

#endif
