/* SPDX-License-Identifier: MIT */
/* The probe's /metrics (see probe_metrics.h). */
#include "config.h"

#include "probe_metrics.h"

#include <string.h>

#include "prom.h"

/* The scheduler's lateness histogram (SCHED_LATE_BUCKETS buckets growing
 * by 2^(1/4)) written with every 8th of its bounds, from 0.1 ms to 105 s:
 * the counts stay exact, since each bound is one of the scheduler's. */
static enum vt_status probe_metrics_lateness(const struct sched_stats *s,
                                             struct vt_buf *b)
{
  enum { STEP = 8, N_LE = (SCHED_LATE_BUCKETS - 1 + STEP - 1) / STEP };
  double le[N_LE];
  for (int k = 0; k < N_LE; k++)
    le[k] = sched_late_bucket_upper_s(k * STEP);
  struct vt_prom_hist h;
  vt_prom_hist_init(&h, le, N_LE);
  for (int i = 0; i < SCHED_LATE_BUCKETS; i++)
    vt_prom_hist_add(&h, sched_late_bucket_upper_s(i), s->late_hist[i]);
  h.sum = s->late_sum_s;
  return vt_prom_hist_write(b, "vantage_probe_round_lateness_seconds", NULL,
                            &h);
}

enum vt_status probe_metrics_render(const struct probe_metrics *m,
                                    struct vt_buf *b)
{
  const struct sched_stats *s = &m->sched;
  enum vt_status st = vt_prom_head(b, "vantage_probe_checks_total", "counter",
                                   "Check results by result (ok, failed)");
  if (!st)
    st = vt_buf_addf(b,
                     "vantage_probe_checks_total{result=\"ok\"} %llu\n"
                     "vantage_probe_checks_total{result=\"failed\"} %llu\n",
                     m->results_ok, m->results_failed);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_skipped_total", "counter",
                      "Runs skipped: busy (the previous one was still going) "
                      "or budget (queued, no room within its round)");
  if (!st)
    st = vt_buf_addf(b,
                     "vantage_probe_skipped_total{reason=\"busy\"} %llu\n"
                     "vantage_probe_skipped_total{reason=\"budget\"} %llu\n",
                     (unsigned long long)s->skipped_busy,
                     (unsigned long long)s->skipped_budget);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_round_lateness_seconds", "histogram",
                      "Lateness of runs against their schedule");
  if (!st)
    st = probe_metrics_lateness(s, b);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_spool_records_lost_total", "counter",
                      "Records lost: not written (write), oldest segments "
                      "deleted for the cap (dropped), refused at the cap "
                      "(refused)");
  if (!st)
    st = vt_buf_addf(
        b,
        "vantage_probe_spool_records_lost_total{reason=\"write\"} %llu\n"
        "vantage_probe_spool_records_lost_total{reason=\"dropped\"} %llu\n"
        "vantage_probe_spool_records_lost_total{reason=\"refused\"} %llu\n",
        (unsigned long long)m->spool.lost, (unsigned long long)m->spool.dropped,
        (unsigned long long)m->spool.refused);
  const struct {
    const char *name, *type, *help;
    double v;
  } one[] = {
      {"vantage_probe_runs_total", "counter",
       "Check runs started (one per check and address)", (double)s->runs},
      {"vantage_probe_in_flight", "gauge", "Runs going now",
       (double)s->running},
      {"vantage_probe_queued", "gauge",
       "Runs waiting for room in the in-flight budget", (double)s->queued},
      {"vantage_probe_round_lateness_max_seconds", "gauge",
       "Worst lateness of a run since the start", s->late_max_s},
      {"vantage_probe_dns_lookups_total", "counter",
       "DNS lookups sent (A and AAAA pairs)", (double)m->dns.lookups_sent},
      {"vantage_probe_dns_in_flight", "gauge", "DNS lookups out now",
       (double)m->dns.in_flight},
      {"vantage_probe_dns_queued", "gauge",
       "DNS lookups waiting for room at their resolver", (double)m->dns.queued},
      {"vantage_probe_spooled_total", "counter", "Results written to the spool",
       (double)m->spooled},
      {"vantage_probe_spool_errors_total", "counter",
       "Results the spool could not take", (double)m->spool_errors},
      {"vantage_probe_spool_bytes", "gauge",
       "Size of the spool's segments: records not yet acknowledged by every "
       "collector",
       (double)m->spool.bytes},
  };
  for (size_t i = 0; !st && i < sizeof(one) / sizeof(one[0]); i++)
    st = vt_prom_one(b, one[i].name, one[i].type, one[i].help, one[i].v);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_spool_backlog_records", "gauge",
                      "Records in the spool not acknowledged by a collector");
  for (size_t i = 0; !st && m->uploader && i < m->n_collectors; i++) {
    struct uploader_stats us;
    uploader_get_stats(m->uploader, i, &us);
    unsigned long long backlog =
        m->spool_next > us.cursor ? m->spool_next - us.cursor : 0;
    st = vt_buf_adds(b, "vantage_probe_spool_backlog_records{collector=\"");
    if (!st)
      st = vt_prom_label(b, m->collectors[i].url);
    if (!st)
      st = vt_buf_addf(b, "\"} %llu\n", backlog);
  }
  static const struct {
    const char *name, *type, *help;
  } up[] = {
      {"vantage_probe_upload_batches_total", "counter",
       "Batches a collector acknowledged"},
      {"vantage_probe_upload_records_total", "counter",
       "Records a collector acknowledged"},
      {"vantage_probe_upload_failures_total", "counter",
       "Failed upload requests"},
      {"vantage_probe_upload_batch_max", "gauge",
       "Current batch size (halved by 413)"},
      {"vantage_probe_upload_failure_streak", "gauge",
       "Failed requests since the last acknowledged one"},
  };
  for (size_t k = 0; !st && k < sizeof(up) / sizeof(up[0]); k++) {
    st = vt_prom_head(b, up[k].name, up[k].type, up[k].help);
    for (size_t i = 0; !st && m->uploader && i < m->n_collectors; i++) {
      struct uploader_stats us;
      uploader_get_stats(m->uploader, i, &us);
      unsigned long long v[] = {us.batches, us.records, us.failures,
                                (unsigned long long)us.batch_max,
                                us.fail_streak};
      st = vt_buf_addf(b, "%s{collector=\"", up[k].name);
      if (!st)
        st = vt_prom_label(b, m->collectors[i].url);
      if (!st)
        st = vt_buf_addf(b, "\"} %llu\n", v[k]);
    }
  }
  if (!st)
    st = vt_prom_head(b, "vantage_probe_upload_state", "gauge",
                      "Upload state per collector: 1 for the current one "
                      "(idle, linger, sending, backoff, stopped)");
  static const char *const states[] = {"idle", "linger", "sending", "backoff",
                                       "stopped"};
  for (size_t i = 0; !st && m->uploader && i < m->n_collectors; i++) {
    struct uploader_stats us;
    uploader_get_stats(m->uploader, i, &us);
    for (size_t k = 0; !st && k < sizeof(states) / sizeof(states[0]); k++) {
      st = vt_buf_adds(b, "vantage_probe_upload_state{collector=\"");
      if (!st)
        st = vt_prom_label(b, m->collectors[i].url);
      if (!st)
        st = vt_buf_addf(b, "\",state=\"%s\"} %d\n", states[k],
                         us.state && strcmp(us.state, states[k]) == 0);
    }
  }
  return st;
}