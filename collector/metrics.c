/* SPDX-License-Identifier: MIT */
/* The collector's /metrics (see metrics.h, docs/metrics.md). */
#include "config.h"

#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "rrdcached.h"
#include "vt_time.h"

/* Last result per series: open addressing on an FNV-1a hash of the four
 * names; grows at half full. Process-wide: one collector per process. */
struct metrics_last {
  bool used;
  char target[64], check[64], ip[VT_IP_STRLEN], probe[64];
  bool ok;
  double ts, received;
  double ms[5];
};

static struct metrics_last *last;
static size_t last_cap, last_n;

static uint64_t metrics_hash(const char *t, const char *c, const char *ip,
                             const char *p)
{
  uint64_t h = 1469598103934665603ULL;
  const char *parts[] = {t, c, ip, p};
  for (size_t i = 0; i < 4; i++) {
    for (const char *s = parts[i]; *s; s++)
      h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  }
  return h;
}

static struct metrics_last *metrics_slot(struct metrics_last *tab, size_t cap,
                                         const char *t, const char *c,
                                         const char *ip, const char *p)
{
  size_t i = metrics_hash(t, c, ip, p) & (cap - 1);
  while (tab[i].used && (strcmp(tab[i].target, t) || strcmp(tab[i].check, c) ||
                         strcmp(tab[i].ip, ip) || strcmp(tab[i].probe, p)))
    i = (i + 1) & (cap - 1);
  return &tab[i];
}

static bool metrics_grow(void)
{
  size_t cap = last_cap ? last_cap * 2 : 1024;
  struct metrics_last *tab = calloc(cap, sizeof(*tab));
  if (!tab)
    return false;
  for (size_t i = 0; i < last_cap; i++)
    if (last[i].used)
      *metrics_slot(tab, cap, last[i].target, last[i].check, last[i].ip,
                    last[i].probe) = last[i];
  free(last);
  last = tab;
  last_cap = cap;
  return true;
}

/* Buckets: seconds from 0.5 ms to 30 s; queue depths from 1 to 100,000. */
static const double metrics_le_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                      1,      2.5,   5,      10,    30};
static const double metrics_le_n[] = {1,    10,   50,    100,   500,
                                      1000, 5000, 10000, 50000, 100000};
static struct vt_prom_hist hists[COLL_HIST_N];
static bool hists_ready;

void coll_metrics_observe(enum coll_metrics_hist h, double v)
{
  if (!hists_ready) {
    for (int i = 0; i < COLL_HIST_N; i++)
      if (i == COLL_HIST_RRD_QUEUE)
        vt_prom_hist_init(&hists[i], metrics_le_n,
                          sizeof(metrics_le_n) / sizeof(metrics_le_n[0]));
      else
        vt_prom_hist_init(&hists[i], metrics_le_s,
                          sizeof(metrics_le_s) / sizeof(metrics_le_s[0]));
    hists_ready = true;
  }
  if (h >= 0 && h < COLL_HIST_N)
    vt_prom_hist_observe(&hists[h], v);
}

/* The histograms, grouped by family (stages of a batch share one). */
static enum vt_status metrics_hists(struct vt_buf *b, struct rrd_store *rrd)
{
  coll_metrics_observe(COLL_HIST_N, 0); /* sets the buckets up */
  char backend[32];
  snprintf(backend, sizeof(backend), "backend=\"%s\"",
           rrd && rrd_store_uses_daemon(rrd) ? "rrdcached" : "librrd");
  static const struct {
    const char *name, *help;
    int first, n;
    const char *const labels[3];
  } fam[] = {
      {"vantage_ingest_batch_seconds",
       "Result batches by stage: receive (headers to complete body), store "
       "(complete body to committed), ack (complete body to the reply sent)",
       COLL_HIST_BATCH_RECEIVE,
       3,
       {"stage=\"receive\"", "stage=\"store\"", "stage=\"ack\""}},
      {"vantage_rrd_flush_seconds",
       "RRD writes of one batch (librrd direct or rrdcached BATCH)",
       COLL_HIST_RRD_FLUSH,
       1,
       {NULL}},
      {"vantage_rrd_flush_queue_values",
       "Values queued for the RRD writes of one batch",
       COLL_HIST_RRD_QUEUE,
       1,
       {NULL}},
      {"vantage_sqlite_transaction_seconds",
       "SQLite transactions of the events database, BEGIN to COMMIT done",
       COLL_HIST_SQLITE_TXN,
       1,
       {NULL}},
      {"vantage_sqlite_commit_seconds",
       "COMMIT statements of the events database (the sync to disk)",
       COLL_HIST_SQLITE_COMMIT,
       1,
       {NULL}},
  };
  enum vt_status st = VT_OK;
  for (size_t f = 0; !st && f < sizeof(fam) / sizeof(fam[0]); f++) {
    st = vt_prom_head(b, fam[f].name, "histogram", fam[f].help);
    for (int k = 0; !st && k < fam[f].n; k++) {
      int h = fam[f].first + k;
      bool rrd_h = h == COLL_HIST_RRD_FLUSH || h == COLL_HIST_RRD_QUEUE;
      st = vt_prom_hist_write(b, fam[f].name,
                              rrd_h ? backend : fam[f].labels[k], &hists[h]);
    }
  }
  return st;
}

/* rrdcached's own queue and counters, asked at each scrape (STATS, one
 * round trip on the loop, bounded by the store's I/O timeout); nothing
 * with librrd or when the daemon does not answer. */
static enum vt_status metrics_rrdcached(struct vt_buf *b, struct rrd_store *rrd)
{
  struct rrdcached_stats rs;
  if (!rrd_store_uses_daemon(rrd) || rrd_store_daemon_stats(rrd, &rs) != VT_OK)
    return VT_OK;
  const struct {
    const char *name, *type, *help;
    long long v;
  } one[] = {
      {"vantage_rrdcached_queue_length", "gauge",
       "Files in rrdcached's queue waiting to be written (daemon-wide)",
       rs.queue_length},
      {"vantage_rrdcached_tree_nodes", "gauge",
       "Files in rrdcached's cache (daemon-wide)", rs.tree_nodes},
      {"vantage_rrdcached_updates_received_total", "counter",
       "Values rrdcached received (daemon-wide, since it started)",
       rs.updates_received},
      {"vantage_rrdcached_updates_written_total", "counter",
       "File writes rrdcached did (daemon-wide, since it started)",
       rs.updates_written},
      {"vantage_rrdcached_data_sets_written_total", "counter",
       "Data sets rrdcached wrote (daemon-wide, since it started)",
       rs.data_sets_written},
      {"vantage_rrdcached_journal_bytes_total", "counter",
       "Bytes rrdcached wrote to its journal (daemon-wide, since it started)",
       rs.journal_bytes},
  };
  enum vt_status st = VT_OK;
  for (size_t i = 0; !st && i < sizeof(one) / sizeof(one[0]); i++)
    if (one[i].v >= 0)
      st = vt_prom_one(b, one[i].name, one[i].type, one[i].help,
                       (double)one[i].v);
  return st;
}

void coll_metrics_note(const struct vt_result *r)
{
  if ((last_n + 1) * 2 > last_cap && !metrics_grow())
    return;
  struct metrics_last *e =
      metrics_slot(last, last_cap, r->target, r->name, r->ip, r->probe);
  if (e->used && e->ts > r->ts)
    return; /* a late result does not replace a newer one */
  if (!e->used) {
    last_n++;
    e->used = true;
    snprintf(e->target, sizeof(e->target), "%s", r->target);
    snprintf(e->check, sizeof(e->check), "%s", r->name);
    snprintf(e->ip, sizeof(e->ip), "%s", r->ip);
    snprintf(e->probe, sizeof(e->probe), "%s", r->probe);
  }
  e->ok = r->ok;
  e->ts = r->ts;
  e->received = vt_time_wall();
  double ms[5] = {r->ms_dns, r->ms_connect, r->ms_tls, r->ms_ttfb, r->ms_total};
  memcpy(e->ms, ms, sizeof(ms));
}

static enum vt_status metrics_labels(struct vt_buf *b,
                                     const struct metrics_last *e)
{
  enum vt_status st = vt_buf_adds(b, "{target=\"");
  if (!st)
    st = vt_prom_label(b, e->target);
  if (!st)
    st = vt_buf_adds(b, "\",check=\"");
  if (!st)
    st = vt_prom_label(b, e->check);
  if (!st)
    st = vt_buf_adds(b, "\",address=\"");
  if (!st)
    st = vt_prom_label(b, e->ip);
  if (!st)
    st = vt_buf_adds(b, "\",probe=\"");
  if (!st)
    st = vt_prom_label(b, e->probe);
  if (!st)
    st = vt_buf_adds(b, "\"");
  return st;
}

enum vt_status coll_metrics_render(struct ingest *in, struct events *ev,
                                   struct alerts *alerts, struct rrd_store *rrd,
                                   const struct retention_stats *disk,
                                   double uptime_s, struct vt_buf *b)
{
  enum vt_status st = VT_OK;
  double now = vt_time_wall();
  static const char *const phases[] = {"dns", "connect", "tls", "ttfb",
                                       "total"};
  st = vt_prom_head(b, "vantage_up", "gauge",
                    "Last result of a check of one address from one probe "
                    "(1 ok, 0 failed)");
  for (size_t i = 0; !st && i < last_cap; i++) {
    if (!last[i].used)
      continue;
    st = vt_buf_adds(b, "vantage_up");
    if (!st)
      st = metrics_labels(b, &last[i]);
    if (!st)
      st = vt_buf_addf(b, "} %d\n", last[i].ok ? 1 : 0);
  }
  if (!st)
    st = vt_prom_head(b, "vantage_result_age_seconds", "gauge",
                      "Seconds since the round of the last result");
  for (size_t i = 0; !st && i < last_cap; i++) {
    if (!last[i].used)
      continue;
    st = vt_buf_adds(b, "vantage_result_age_seconds");
    if (!st)
      st = metrics_labels(b, &last[i]);
    if (!st)
      st = vt_buf_addf(b, "} %.3f\n", now - last[i].ts);
  }
  if (!st)
    st = vt_prom_head(b, "vantage_phase_seconds", "gauge",
                      "Latency phases of the last result (dns, connect, tls, "
                      "ttfb, total); absent when not measured");
  for (size_t i = 0; !st && i < last_cap; i++) {
    for (size_t p = 0; !st && last[i].used && p < 5; p++) {
      if (isnan(last[i].ms[p]))
        continue;
      st = vt_buf_adds(b, "vantage_phase_seconds");
      if (!st)
        st = metrics_labels(b, &last[i]);
      if (!st)
        st = vt_buf_addf(b, ",phase=\"%s\"} %.6f\n", phases[p],
                         last[i].ms[p] / 1000.0);
    }
  }
  struct ingest_stats is;
  struct events_stats es;
  struct alerts_stats as = {0};
  ingest_get_stats(in, &is);
  events_get_stats(ev, &es);
  if (alerts)
    alerts_get_stats(alerts, &as);
  const struct {
    const char *name, *type, *help;
    double v;
    bool alerts;
  } one[] = {
      {"vantage_outages_open", "gauge",
       "Address outages open (quorum of probes agree)", (double)es.outages_open,
       false},
      {"vantage_partial_open", "gauge",
       "Partial events open (some probes, below quorum)",
       (double)es.partial_open, false},
      {"vantage_ingest_batches_total", "counter", "Result batches stored",
       (double)is.batches, false},
      {"vantage_ingest_results_total", "counter", "Results stored",
       (double)is.results, false},
      {"vantage_ingest_duplicates_total", "counter",
       "Batches acknowledged again without storing", (double)is.duplicates,
       false},
      {"vantage_ingest_rejected_total", "counter",
       "Requests rejected (signature, format, time)", (double)is.rejected,
       false},
      {"vantage_collector_uptime_seconds", "gauge",
       "Seconds since the collector started", uptime_s, false},
      {"vantage_alerts_queued_total", "counter",
       "Alert events queued (one per receiver)", (double)as.queued, true},
      {"vantage_alerts_delivered_total", "counter", "Alert events delivered",
       (double)as.delivered, true},
      {"vantage_alerts_failed_attempts_total", "counter",
       "Failed delivery attempts (retried)", (double)as.failed_attempts, true},
      {"vantage_alerts_muted_total", "counter",
       "Alert events muted by maintenance windows", (double)as.muted, true},
      {"vantage_alerts_pending", "gauge",
       "Alert events not delivered yet (outbox)", (double)as.pending, true},
      {"vantage_disk_rrd_bytes", "gauge",
       "Bytes allocated by the RRD tree (at the last retention sweep)",
       (double)disk->rrd_bytes, false},
      {"vantage_disk_events_bytes", "gauge",
       "Bytes of events.sqlite with its -wal and -shm (last sweep)",
       (double)disk->events_bytes, false},
      {"vantage_disk_series", "gauge", "RRD files (series) left (last sweep)",
       (double)disk->n_series, false},
      {"vantage_disk_fs_free_bytes", "gauge",
       "Free bytes of data_dir's file system (last sweep)",
       (double)disk->fs_free, false},
      {"vantage_disk_fs_used_ratio", "gauge",
       "Used share of data_dir's file system, 0 to 1 (last sweep)",
       disk->fs_used_percent / 100.0, false},
      {"vantage_disk_warning", "gauge",
       "1 when the file system is fuller than storage.disk_warn",
       disk->warning ? 1.0 : 0.0, false},
      {"vantage_disk_series_removed_total", "counter",
       "Series removed or archived by retention since the start",
       (double)disk->removed_total, false},
  };
  for (size_t i = 0; !st && i < sizeof(one) / sizeof(one[0]); i++)
    if (!one[i].alerts || alerts)
      st = vt_prom_one(b, one[i].name, one[i].type, one[i].help, one[i].v);
  if (!st)
    st = metrics_hists(b, rrd);
  if (!st && rrd)
    st = metrics_rrdcached(b, rrd);
  return st;
}
