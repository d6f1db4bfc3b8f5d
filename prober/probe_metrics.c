/* SPDX-License-Identifier: MIT */
/* The probe's /metrics (see probe_metrics.h). */
#include "config.h"

#include "probe_metrics.h"

#include <string.h>

#include "prom.h"

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
    st = vt_prom_head(b, "vantage_probe_runs_total", "counter",
                 "Check runs started (one per check and address)");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_runs_total %llu\n",
                     (unsigned long long)s->runs);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_skipped_total", "counter",
                 "Runs skipped: the previous one was still going");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_skipped_total %llu\n",
                     (unsigned long long)s->skipped);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_in_flight", "gauge", "Runs going now");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_in_flight %d\n", s->running);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_round_lateness_seconds", "summary",
                 "Lateness of check rounds against their schedule");
  if (!st)
    st = vt_buf_addf(b,
                     "vantage_probe_round_lateness_seconds_sum %.6f\n"
                     "vantage_probe_round_lateness_seconds_count %llu\n",
                     s->late_sum_s, (unsigned long long)s->late_n);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_round_lateness_max_seconds", "gauge",
                 "Worst lateness of a round since the start");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_round_lateness_max_seconds %.6f\n",
                     s->late_max_s);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_spooled_total", "counter",
                 "Results written to the spool");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_spooled_total %llu\n", m->spooled);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_spool_errors_total", "counter",
                 "Results the spool could not take");
  if (!st)
    st = vt_buf_addf(b, "vantage_probe_spool_errors_total %llu\n",
                     m->spool_errors);
  if (!st)
    st = vt_prom_head(b, "vantage_probe_spool_backlog_records", "gauge",
                 "Records in the spool not acknowledged by a collector");
  for (size_t i = 0; !st && m->uploader && i < m->n_collectors; i++) {
    struct uploader_stats us;
    uploader_get_stats(m->uploader, i, &us);
    unsigned long long backlog =
        m->spool_next > us.cursor ? m->spool_next - us.cursor : 0;
    st = vt_buf_adds(b, "vantage_probe_spool_backlog_records{collector=\"");
    if (!st) st = vt_prom_label(b, m->collectors[i].url);
    if (!st) st = vt_buf_addf(b, "\"} %llu\n", backlog);
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
  };
  for (size_t k = 0; !st && k < sizeof(up) / sizeof(up[0]); k++) {
    st = vt_prom_head(b, up[k].name, up[k].type, up[k].help);
    for (size_t i = 0; !st && m->uploader && i < m->n_collectors; i++) {
      struct uploader_stats us;
      uploader_get_stats(m->uploader, i, &us);
      unsigned long long v[] = {us.batches, us.records, us.failures,
                                (unsigned long long)us.batch_max};
      st = vt_buf_addf(b, "%s{collector=\"", up[k].name);
      if (!st) st = vt_prom_label(b, m->collectors[i].url);
      if (!st) st = vt_buf_addf(b, "\"} %llu\n", v[k]);
    }
  }
  return st;
}
