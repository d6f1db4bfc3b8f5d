/* SPDX-License-Identifier: MIT */
/* Availability reports: per hostname (target), per address and per probe,
 * over a period, computed from the stored events (outages, partial events,
 * maintenance windows) and series (no-data time, per-probe results), with
 * the outages listed so the percentage matches them to the second. Text,
 * JSON, CSV and HTML. */
#ifndef GRAPHS_REPORT_H
#define GRAPHS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "dataset.h"
#include "vt_status.h"

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_CSV, REPORT_HTML };

/* Definitions (README "Availability reports"):
 * measured = period - maintenance - no data; availability = 1 - down /
 * measured (NAN when measured is 0). For an address, down = its outage rows
 * (quorum-confirmed) clipped to the period, less maintenance; no data =
 * time when no probe had a value for it. For a target, down = host rows in
 * state "down"; degraded time is listed apart. For a probe, availability =
 * the mean of its `up` over the rows it has values for. */
struct report_addr {
  char ip[VT_IP_STRLEN];
  double availability;
  double down_s, nodata_s, maint_s, measured_s;
  size_t n_outages;
};

struct report_probe {
  char probe[64];
  double availability;
  double measured_s, nodata_s;
};

struct report_target {
  char target[64];
  double availability;
  double down_s, degraded_s, maint_s, nodata_s, measured_s;
  double mttr_s, longest_s; /* over closed address outages; NAN if none */
  struct report_addr *addrs;
  size_t n_addrs;
  struct report_probe *probes;
  size_t n_probes;
  struct gr_outage *outages; /* address outages and host rows */
  size_t n_outages;
  struct gr_outage *partials;
  size_t n_partials;
  struct gr_maint *maint;
  size_t n_maint;
};

struct report {
  double start, end;
  struct report_target *targets;
  size_t n;
};

/* Computes the report of target (NULL = every target) over [start, end).
 * VT_ENOTFOUND for an unknown target (logged). *out: free with
 * report_free. */
enum vt_status report_compute(struct gr_ctx *g, const char *target,
                              double start, double end, struct report **out)
    __attribute__((warn_unused_result));
void report_free(struct report *r); /* r may be NULL */

/* Writes r in format f. */
enum vt_status report_write(const struct report *r, enum report_format f,
                            FILE *out) __attribute__((warn_unused_result));

/* `vantage-graph report ...`; argv[0] is "report". Returns the exit status. */
int report_cmd(struct gr_ctx *g, int argc, char **argv);
void report_usage(FILE *out);

#endif
