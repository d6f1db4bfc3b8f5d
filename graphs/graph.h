/* SPDX-License-Identifier: MIT */
/* The graphs (librrd's graph API, PNG and SVG): load-shift (share of DNS
 * answers and client requests per address, stacked), outage-gap (latency
 * per address, broken and shaded where the address was unreachable, with
 * start, end and duration; no-data spans shaded apart) and latency (per
 * address and probe: min/avg/max band and phases). Fixed sizes, stable
 * colours per address. */
#ifndef GRAPHS_GRAPH_H
#define GRAPHS_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "result.h"
#include "vt_status.h"

struct gr_ctx;

/* GRAPH_PROBES: one address (--ip) as each probe saw it, one line per
 * probe and check, with the address's outages and partial events. */
enum graph_kind {
  GRAPH_LOAD_SHIFT,
  GRAPH_OUTAGE_GAP,
  GRAPH_LATENCY,
  GRAPH_PROBES,
  /* the traffic view of the load shift (issue 16): each address's own
   * requests (or bytes) per second from load checks, stacked, with the
   * DNS switches marked */
  GRAPH_TRAFFIC
};
enum graph_format { GRAPH_PNG, GRAPH_SVG };

struct graph_opts {
  enum graph_kind kind;
  const char *target;
  const char *ip;    /* latency: one address (NULL = every address) */
  const char *probe; /* NULL = across all probes */
  double start, end;
  enum graph_format format;
  int width, height; /* of the plot area; 0 = 800 x 250 */
  const char *output;
  const char *title; /* NULL = a default naming kind, target and range */
  bool compact;      /* for phones: no title, no vertical label */
};

/* A labelled span drawn on an outage-gap graph (for tests and pages). */
struct graph_span {
  char ip[VT_IP_STRLEN];
  double start, end;
  bool nodata;    /* "no data" (blind), not "down" */
  bool partial;   /* a partial event: seen by fewer probes than quorum */
  char seen[64];  /* partial: "p2 only", "2 of 3" */
  int number;     /* outages and partial events: marker number, 0 = none */
  char label[96]; /* "11:02:13-11:04:01, 1m48s" */
};

struct graph_info {
  int image_width, image_height;
  size_t n_spans;
  struct graph_span spans[64];
};

/* Parses "load-shift", "outage-gap", "latency", "probes", "traffic". */
bool graph_kind_parse(const char *s, enum graph_kind *out);

/* Renders one graph into o->output (written to a temporary file and renamed,
 * so a reader never sees half an image). info (may be NULL) receives the
 * image size and the spans drawn. Returns VT_ENOTFOUND for an unknown
 * target, VT_EINVAL for a range without any data (nothing is written: no
 * blank image that claims to be a graph), VT_EIO for unreadable or corrupt
 * files; each logged with what and why. */
enum vt_status graph_render(struct gr_ctx *g, const struct graph_opts *o,
                            struct graph_info *info)
    __attribute__((warn_unused_result));

/* `vantage-graph graph ...`: parses its options, renders, returns the exit
 * status (0, 1 runtime, 2 usage). argv[0] is "graph". */
int graph_cmd(struct gr_ctx *g, int argc, char **argv);

/* Prints the graph subcommand's options. */
void graph_usage(FILE *out);

#endif
