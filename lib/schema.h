/* SPDX-License-Identifier: MIT */
/* What the collector stores, for its writer (collector/main.c, events.c)
 * and its readers (vantage-graph's dataset.c): the files in data_dir and
 * the schema of events.sqlite, with the column lists both sides name. The
 * series below data_dir/rrd are series.h's. */
#ifndef VT_SCHEMA_H
#define VT_SCHEMA_H

/* data_dir's layout: names relative to data_dir ("%s/" VT_DATA_RRD). */
#define VT_DATA_RRD "rrd"                   /* the RRD files (series.h) */
#define VT_DATA_EVENTS "events.sqlite"      /* this schema (WAL) */
#define VT_DATA_ALERTS "alerts.sqlite"      /* the alerts' outbox */
#define VT_DATA_REMOTE_WRITE "remote_write" /* journal and cursors */
#define VT_DATA_QUARANTINE "quarantine"     /* results too far ahead */

/* The schema version in meta; a reader refuses a newer one, the collector
 * any other. */
#define VT_SCHEMA_VERSION 1

/* Every table and index, created if missing (one statement list for
 * sqlite3_exec). */
extern const char vt_schema_sql[];

/* Column lists, in the order of the VT_COL_* indexes. */
#define VT_SCHEMA_SERIES_COLS                                                  \
  "target, check_type, check_name, key, probe, path, first_ts, last_ts,"       \
  " results"
enum vt_series_col {
  VT_COL_SERIES_TARGET,
  VT_COL_SERIES_CHECK_TYPE, /* vt_check_type_name() */
  VT_COL_SERIES_CHECK_NAME,
  VT_COL_SERIES_KEY, /* series.h: an address, "client", ... */
  VT_COL_SERIES_PROBE,
  VT_COL_SERIES_PATH, /* below data_dir/rrd */
  VT_COL_SERIES_FIRST_TS,
  VT_COL_SERIES_LAST_TS,
  VT_COL_SERIES_RESULTS,
};

/* outages as a reader lists them ("end" NULL while open, end_reason NULL
 * read as ""). */
#define VT_SCHEMA_OUTAGE_COLS                                                  \
  "id, scope, kind, state, target, ip, start, \"end\", probes, seen_by,"       \
  " of_probes, maintenance, coalesce(end_reason, '')"
enum vt_outage_col {
  VT_COL_OUTAGE_ID,
  VT_COL_OUTAGE_SCOPE, /* "address" or "host" */
  VT_COL_OUTAGE_KIND,  /* "outage" or "partial" */
  VT_COL_OUTAGE_STATE, /* host rows: "degraded" or "down" */
  VT_COL_OUTAGE_TARGET,
  VT_COL_OUTAGE_IP,
  VT_COL_OUTAGE_START,
  VT_COL_OUTAGE_END,
  VT_COL_OUTAGE_PROBES,
  VT_COL_OUTAGE_SEEN_BY,
  VT_COL_OUTAGE_OF_PROBES,
  VT_COL_OUTAGE_MAINTENANCE,
  VT_COL_OUTAGE_END_REASON,
};

#define VT_SCHEMA_DNS_CHANGE_COLS                                              \
  "ts, target, probe, resolver, old_answers, new_answers"
enum vt_dns_change_col {
  VT_COL_DNS_CHANGE_TS,
  VT_COL_DNS_CHANGE_TARGET,
  VT_COL_DNS_CHANGE_PROBE,
  VT_COL_DNS_CHANGE_RESOLVER,
  VT_COL_DNS_CHANGE_OLD,
  VT_COL_DNS_CHANGE_NEW,
};

#define VT_SCHEMA_PROBE_EVENT_COLS "ts, probe, event"
enum vt_probe_event_col {
  VT_COL_PROBE_EVENT_TS,
  VT_COL_PROBE_EVENT_PROBE,
  VT_COL_PROBE_EVENT_EVENT, /* "first_seen", "silent", "back" */
};

#endif
