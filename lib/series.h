/* SPDX-License-Identifier: MIT */
/* The stored series model, one room for its writer (the collector's ingest
 * and RRD store) and its readers (vantage-graph): which series a result of
 * each check type makes, their keys, the RRD file of a series and the data
 * sources a new file has (docs/collector.md, "Series and RRD files", whose
 * table tests/unit/test_series.c holds against this code). */
#ifndef VT_SERIES_H
#define VT_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

/* The data sources a file may have, in this order (bit i of a mask is data
 * source i). All GAUGE, the configured heartbeat, minimum 0. */
enum vt_series_ds {
  VT_DS_UP,    /* 1 or 0 */
  VT_DS_TOTAL, /* ms, and the phases: */
  VT_DS_DNS,
  VT_DS_CONNECT,
  VT_DS_TLS,
  VT_DS_TTFB,
  VT_DS_SHARE, /* 0..1, of a dns or client check's address */
  /* ---- load series (issue 16) ---- */
  VT_DS_LOAD, /* a load check's address: requests (bytes) per second,
                 or a gauge; not in the full layout */
  VT_SERIES_N_DS,
};

/* Name (as in the RRD file) and maximum ("U" = none) of each data source. */
struct vt_series_ds_def {
  const char *name, *max;
};
extern const struct vt_series_ds_def vt_series_ds_defs[VT_SERIES_N_DS];

/* The name of data source d ("up", ...); "?" out of range. */
const char *vt_series_ds_name(enum vt_series_ds d);

/* What a series measures, which decides the data sources of a new file.
 * RRD_KIND_FULL is the layout of the first version: all 7 data sources
 * (storage.layout "full"). */
enum rrd_kind {
  RRD_KIND_FULL,  /* up total dns connect tls ttfb share */
  RRD_KIND_HTTP,  /* up total dns connect tls ttfb (also client) */
  RRD_KIND_TCP,   /* up total connect tls */
  RRD_KIND_DNS,   /* up total dns (a resolver series) */
  RRD_KIND_SHARE, /* share (an address of a dns or client check) */
  RRD_KIND_LOAD,  /* up load (an address of a load check; issue 16) */
  RRD_KIND_N,
};

/* Bit i set = data source i (enum vt_series_ds) in files of kind k; 0 for
 * a kind out of range. */
unsigned rrd_kind_ds_mask(enum rrd_kind k);

/* "full", "http", "tcp", "dns", "share", "load"; "?" out of range. */
const char *rrd_kind_name(enum rrd_kind k);

/* The kind of the main series of a check type (its addresses' share
 * series are RRD_KIND_SHARE). */
enum rrd_kind vt_series_kind(enum vt_check_type t);

/* Whether a check type's main series are per address of the target (tcp,
 * http: key = the address, or VT_SERIES_NO_ADDRESS; what availability is
 * measured on. Load series are keyed by address too, but measure traffic,
 * so they are not among these), and whether it has
 * per-address share series beside its main one (dns, client). */
bool vt_series_per_address(enum vt_check_type t);
bool vt_series_has_shares(enum vt_check_type t);

/* Keys that are no address: a tcp/http result of a target without one, a
 * client check's own view, the prefix of a dns resolver series. */
#define VT_SERIES_NO_ADDRESS "no-address"
#define VT_SERIES_CLIENT "client"
#define VT_SERIES_RESOLVER "resolver-"

/* The key of a tcp or http result's series: its address, or
 * VT_SERIES_NO_ADDRESS for "". */
const char *vt_series_address_key(const char *ip);

/* The key of a dns result's series for resolver ("127.0.0.1:53",
 * "[::1]:53"; "" = "unknown"): "resolver-" with ':' written as '_'. */
void vt_series_resolver_key(const char *resolver, char *key, size_t size);

/* Longest relpath the collector writes (rrd_store checks it again). */
#define VT_SERIES_RELPATH_MAX 255

/* The RRD file of a series, relative to data_dir/rrd:
 * "<target>/<check name>/<key>/<probe>.rrd" with the key's IPv6 ':'
 * written as '-' and resolver brackets dropped. Components are validated
 * by the caller. */
void vt_series_relpath(const char *target, const char *check_name,
                       const char *key, const char *probe, char *rel,
                       size_t size);

#endif
