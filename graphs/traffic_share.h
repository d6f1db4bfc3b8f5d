/* SPDX-License-Identifier: MIT */
/* During a DNS switch, the share of a target's real traffic (its load
 * checks: each server's own counter) still on the addresses that left the
 * DNS answer: the figure an operator waits for before upgrading the old
 * servers (issue 16). */
#ifndef GRAPHS_TRAFFIC_SHARE_H
#define GRAPHS_TRAFFIC_SHARE_H

#include <stdbool.h>
#include <stddef.h>

#include "vt_status.h"

struct gr_ctx;

/* How far back a switch counts as going on, and the window the load is
 * averaged over. */
#define TRAFFIC_SWITCH_RECENT_S (6 * 3600.0)
#define TRAFFIC_WINDOW_S 60.0

struct traffic_share {
  double switch_ts; /* the last answer change that dropped addresses */
  size_t n_old;     /* addresses that left the answer */
  double old_load, total_load; /* per second, over the window */
  double pct;                  /* 100 * old_load / total_load */
};

/* Fills *out and returns VT_OK when target's DNS answer lost addresses
 * within `recent` seconds before now and its load series have values in
 * the window [max(now - window, the switch), now] (the shares are the mean per
 * series, averaged over probes per address, summed per side). VT_ENOTFOUND when
 * there is no such switch or no load to weigh; other errors from the data
 * layer (logged there). */
enum vt_status traffic_share_old(struct gr_ctx *g, const char *target,
                                 double now, double recent, double window,
                                 struct traffic_share *out)
    __attribute__((warn_unused_result));

/* One HTML paragraph for the service page ("<p class="still-old">Still on
 * old servers: 23 % of requests (switch at 14:02:10 UTC)</p>") into out,
 * or "" when no switch is going on. Returns out. */
char *traffic_share_html(struct gr_ctx *g, const char *target, double now,
                         char *out, size_t size);

#endif
