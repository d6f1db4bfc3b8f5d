/* SPDX-License-Identifier: MIT */
/* The ingest path (see ingest.h). One batch is handled at a time on the
 * loop: parse and check everything, then RRD updates (idempotent), then the
 * events and the probe's record number in one SQLite transaction, then the
 * acknowledgement. A crash anywhere before the commit makes the probe send
 * the batch again; the RRD values it repeats are skipped by librrd, and the
 * events and counters were never committed. */
#include "config.h"

#include "ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector_config.h"
#include "events.h"
#include "fsutil.h"
#include "http_api.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "remote_write.h"
#include "result.h"
#include "rrd_store.h"
#include "schema.h"
#include "series.h"
#include "vt_time.h"
#include "wire.h"

#define MAX_KNOWN 64

#define INGEST_REFUSED_MAX 64

struct ingest {
  const struct coll_conf *conf;
  struct rrd_store *rrd;
  struct events *ev;
  /* Reused from batch to batch: no allocation per record in steady state. */
  struct vt_result *recs;
  struct vt_rec_ctx rec_ctx; /* the DNS answers of recs, for one batch */
  size_t *order;
  size_t *line_off;     /* where each record's line starts in the body */
  unsigned char *ahead; /* 1: ts ahead of our clock, set aside */
  size_t cap;
  struct ingest_stats stats;
  /* Refusals a stranger can cause at will are logged with back-off. */
  struct vt_log_backoff bo_unknown, bo_badsig, bo_stale, bo_future, bo_refused;
  struct remote_write *rw; /* NULL = no remote write */
  /* Records refused by a 400 naming their line: the probe sets them aside
   * (docs/wire.md) and goes on, so the gap they leave is explained. The
   * last INGEST_REFUSED_MAX, in memory. */
  size_t bad_line; /* index of the line a 400 named, SIZE_MAX: none */
  struct ingest_refused {
    char probe[64], spool[40];
    uint64_t rec;
  } refused[INGEST_REFUSED_MAX];
  size_t n_refused;
};

struct ingest *ingest_create(const struct coll_conf *conf,
                             struct rrd_store *rrd, struct events *ev)
{
  struct ingest *in = calloc(1, sizeof(*in));
  if (!in)
    return NULL;
  *in = (struct ingest){.conf = conf, .rrd = rrd, .ev = ev};
  return in;
}

void ingest_set_conf(struct ingest *in, const struct coll_conf *conf)
{
  in->conf = conf;
}

void ingest_set_remote_write(struct ingest *in, struct remote_write *rw)
{
  in->rw = rw;
}

void ingest_get_stats(const struct ingest *in, struct ingest_stats *out)
{
  *out = in->stats;
}

void ingest_destroy(struct ingest *in)
{
  if (!in)
    return;
  free(in->recs);
  vt_rec_ctx_free(&in->rec_ctx);
  free(in->order);
  free(in->line_off);
  free(in->ahead);
  free(in);
}

static void reply_error(struct vt_buf *reply, int *status, int code,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_error(struct vt_buf *reply, int *status, int code,
                        const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  vt_buf_reset(reply);
  if (vt_buf_adds(reply, "{\"error\":") != VT_OK ||
      vt_json_str(reply, msg) != VT_OK || vt_buf_adds(reply, "}") != VT_OK)
    vt_buf_reset(reply);
  *status = code;
}

static enum vt_status ingest_reserve(struct ingest *in, size_t n)
{
  if (n <= in->cap)
    return VT_OK;
  size_t cap = in->cap ? in->cap : 256;
  while (cap < n)
    cap *= 2;
  struct vt_result *r = realloc(in->recs, cap * sizeof(*r));
  if (!r)
    return VT_ENOMEM;
  in->recs = r;
  size_t *o = realloc(in->order, cap * sizeof(*o));
  if (!o)
    return VT_ENOMEM;
  in->order = o;
  size_t *lo = realloc(in->line_off, cap * sizeof(*lo));
  if (!lo)
    return VT_ENOMEM;
  in->line_off = lo;
  unsigned char *ah = realloc(in->ahead, cap);
  if (!ah)
    return VT_ENOMEM;
  in->ahead = ah;
  in->cap = cap;
  return VT_OK;
}

/* The authenticated identity of a request. */
struct ingest_auth {
  const char *probe;
  const char *spool; /* the spool's id (X-Vantage-Spool); NULL: none sent */
  const struct vt_wire_key *key;
  uint64_t seq, count;
  int64_t time;
};

/* Checks the headers alone: present, well-formed, a known probe, a time
 * within the window. Needs no body, so it runs before the body is read
 * (ingest_precheck) and again with it. Returns 0, or the status to reply
 * with (reply filled). */
static int ingest_check_headers(struct ingest *in,
                                const struct http_api_request *req,
                                enum vt_wire_kind kind, struct ingest_auth *a,
                                struct vt_buf *reply)
{
  int status = 0;
  const char *probe = http_api_header(req, VT_WIRE_HDR_PROBE);
  const char *seq = http_api_header(req, VT_WIRE_HDR_SEQ);
  const char *count = http_api_header(req, VT_WIRE_HDR_COUNT);
  const char *time = http_api_header(req, VT_WIRE_HDR_TIME);
  const char *sig = http_api_header(req, VT_WIRE_HDR_SIG);
  a->spool = http_api_header(req, VT_WIRE_HDR_SPOOL);
  if (a->spool && !vt_wire_spool_ok(a->spool)) {
    reply_error(reply, &status, 400, "malformed %s header", VT_WIRE_HDR_SPOOL);
    return status;
  }
  if (kind == VT_WIRE_TARGETS) {
    seq = seq ? seq : "0";
    count = count ? count : "0";
  }
  if (!probe || !seq || !count || !time || !sig) {
    reply_error(reply, &status, 400, "missing %s header",
                !probe   ? VT_WIRE_HDR_PROBE
                : !seq   ? VT_WIRE_HDR_SEQ
                : !count ? VT_WIRE_HDR_COUNT
                : !time  ? VT_WIRE_HDR_TIME
                         : VT_WIRE_HDR_SIG);
    return status;
  }
  if (!vt_wire_parse_u64(seq, &a->seq) ||
      !vt_wire_parse_u64(count, &a->count) ||
      !vt_wire_parse_i64(time, &a->time) || strlen(sig) != VT_WIRE_SIG_HEXLEN) {
    reply_error(reply, &status, 400, "malformed %s header",
                !vt_wire_parse_u64(seq, &a->seq)       ? VT_WIRE_HDR_SEQ
                : !vt_wire_parse_u64(count, &a->count) ? VT_WIRE_HDR_COUNT
                : !vt_wire_parse_i64(time, &a->time)   ? VT_WIRE_HDR_TIME
                                                       : VT_WIRE_HDR_SIG);
    return status;
  }
  const struct coll_probe_conf *p =
      vt_wire_name_ok(probe) ? coll_conf_probe(in->conf, probe) : NULL;
  unsigned long skipped = 0;
  if (!p) {
    /* The name is the peer's: the log escapes its control bytes. */
    if (vt_log_backoff_due(&in->bo_unknown, vt_time_mono(), &skipped))
      vt_warn("ingest: %s: unknown probe \"%.63s\" (%lu more unknown-probe "
              "requests since the last such line)",
              req->client, probe, skipped);
    reply_error(reply, &status, 401, "unknown probe");
    return status;
  }
  /* Sequence arithmetic: the batch's end (seq + count) must fit the
   * database's signed 64-bit record numbers. */
  if (a->count > (uint64_t)INT64_MAX ||
      a->seq > (uint64_t)INT64_MAX - a->count) {
    reply_error(reply, &status, 400,
                "%s %" PRIu64 " + %s %" PRIu64 " is past the last record "
                "number (2^63-1)",
                VT_WIRE_HDR_SEQ, a->seq, VT_WIRE_HDR_COUNT, a->count);
    return status;
  }
  double skew = vt_time_wall() - (double)a->time;
  if (fabs(skew) > in->conf->time_window_s) {
    if (vt_log_backoff_due(&in->bo_stale, vt_time_mono(), &skipped))
      vt_warn("ingest: %s: probe %s: stale time (%.0fs off, window %.0fs; "
              "%lu more since the last such line)",
              req->client, probe, skew, in->conf->time_window_s, skipped);
    reply_error(reply, &status, 401, "stale time");
    return status;
  }
  a->probe = p->name;
  a->key = &p->key;
  return 0;
}

/* Checks headers, probe, time and the signature over the body. Returns 0,
 * or the status to reply with (reply filled). */
static int ingest_authenticate(struct ingest *in,
                               const struct http_api_request *req,
                               enum vt_wire_kind kind, struct ingest_auth *a,
                               struct vt_buf *reply)
{
  int status = ingest_check_headers(in, req, kind, a, reply);
  if (status)
    return status;
  if (!vt_wire_verify_spool(a->key, kind, a->probe, a->spool, a->seq, a->count,
                            a->time, req->body, req->body_len,
                            http_api_header(req, VT_WIRE_HDR_SIG))) {
    unsigned long skipped = 0;
    if (vt_log_backoff_due(&in->bo_badsig, vt_time_mono(), &skipped))
      vt_warn("ingest: %s: probe %s: bad signature (%lu more since the last "
              "such line)",
              req->client, a->probe, skipped);
    reply_error(reply, &status, 401, "bad signature");
    return status;
  }
  return 0;
}

void ingest_precheck(struct ingest *in, const struct http_api_request *req,
                     int *status, struct vt_buf *reply)
{
  struct ingest_auth a;
  *status = ingest_check_headers(in, req, VT_WIRE_RESULTS, &a, reply);
  if (*status)
    in->stats.rejected++;
}

int ingest_verify_get(struct ingest *in, const struct http_api_request *req,
                      struct vt_buf *reply)
{
  struct ingest_auth a;
  return ingest_authenticate(in, req, VT_WIRE_TARGETS, &a, reply);
}

/* How far ahead of our clock a result may be and still be stored: one
 * step. Further ahead (a probe clock stepped forward, inside the time
 * window) it would move its series' last update into the future, and
 * librrd would skip every correct value after it until then. */
static double ingest_ahead_tolerance(const struct ingest *in)
{
  return in->conf->step_s > 0 ? in->conf->step_s : 10;
}

/* Splits and parses the body into in->recs (their DNS answers into
 * in->rec_ctx); returns 0, 400, or 503 when out of memory. */
static int ingest_parse(struct ingest *in, const struct http_api_request *req,
                        const struct ingest_auth *a, struct vt_buf *reply)
{
  int status = 0;
  if (a->count == 0 || a->count > (uint64_t)req->body_len) {
    reply_error(reply, &status, 400, "bad %s %" PRIu64 " for a %zu-byte body",
                VT_WIRE_HDR_COUNT, a->count, req->body_len);
    return status;
  }
  if (ingest_reserve(in, (size_t)a->count) != VT_OK) {
    reply_error(reply, &status, 503, "out of memory");
    return status;
  }
  const char *p = req->body, *end = req->body + req->body_len;
  double now = vt_time_wall();
  size_t n = 0;
  in->bad_line = SIZE_MAX;
  vt_rec_ctx_reset(&in->rec_ctx); /* the previous batch's records are done */
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) {
      reply_error(reply, &status, 400, "line %zu: no newline at the end",
                  n + 1);
      return status;
    }
    if (n == a->count) {
      reply_error(reply, &status, 400, "more than %" PRIu64 " lines", a->count);
      return status;
    }
    in->bad_line = n; /* for the 400s below that name line n + 1 */
    char why[160];
    struct vt_result *r = &in->recs[n];
    enum vt_status st = vt_result_from_json(p, (size_t)(nl - p), &in->rec_ctx,
                                            r, why, sizeof(why));
    if (st == VT_ENOMEM) {
      in->bad_line = SIZE_MAX; /* not the record's fault */
      reply_error(reply, &status, 503, "out of memory");
      return status;
    }
    if (st != VT_OK) {
      reply_error(reply, &status, 400, "line %zu: %s", n + 1, why);
      return status;
    }
    if (strcmp(r->probe, a->probe) != 0) {
      reply_error(reply, &status, 400,
                  "line %zu: probe \"%s\" is not the signer \"%s\"", n + 1,
                  r->probe, a->probe);
      return status;
    }
    if (r->ts > now + in->conf->time_window_s) {
      reply_error(reply, &status, 400, "line %zu: ts is in the future", n + 1);
      return status;
    }
    in->bad_line = SIZE_MAX;
    in->line_off[n] = (size_t)(p - req->body);
    in->ahead[n] = r->ts > now + ingest_ahead_tolerance(in);
    in->order[n] = n;
    n++;
    p = nl + 1;
  }
  if (n != a->count) {
    reply_error(reply, &status, 400, "%zu lines, %s says %" PRIu64, n,
                VT_WIRE_HDR_COUNT, a->count);
    return status;
  }
  return 0;
}

/* The RRD file of r's series key, relative to the RRD directory. */
static void ingest_relpath(const struct vt_result *r, const char *key,
                           char *rel, size_t size)
{
  vt_series_relpath(r->target, r->name, key, r->probe, rel, size);
}

static bool ingest_dns_definitive(const struct vt_result *r)
{
  return r->ok || r->error == VT_ERR_NXDOMAIN || r->error == VT_ERR_NO_ANSWER ||
         r->error == VT_ERR_DNS_UNEXPECTED;
}

static enum vt_status ingest_series(struct ingest *in,
                                    const struct vt_result *r, const char *key,
                                    const struct rrd_values *v)
{
  char rel[320];
  ingest_relpath(r, key, rel, sizeof(rel));
  enum vt_status st = rrd_store_queue(in->rrd, rel, lround(r->ts), v);
  if (st == VT_OK)
    st = events_series_result(in->ev, r->target, r->check, r->name, key,
                              r->probe, rel, r->ts);
  return st;
}

static const struct rrd_values unknown_values = {.up = NAN,
                                                 .total = NAN,
                                                 .dns = NAN,
                                                 .connect = NAN,
                                                 .tls = NAN,
                                                 .ttfb = NAN,
                                                 .share = NAN,
                                                 .load = NAN,
                                                 .kind = RRD_KIND_SHARE};

/* Share series of a dns or client result: each address in `share_of` gets
 * its share, addresses seen before get 0 (the band shrinks to nothing
 * instead of becoming unknown). */
static enum vt_status ingest_shares(struct ingest *in,
                                    const struct vt_result *r,
                                    const char (*ips)[VT_IP_STRLEN], int n,
                                    double each, bool zero_others)
{
  enum vt_status st = VT_OK;
  for (int i = 0; st == VT_OK && i < n; i++) {
    struct rrd_values v = unknown_values;
    v.share = each;
    st = ingest_series(in, r, ips[i], &v);
  }
  if (st != VT_OK || !zero_others)
    return st;
  char known[MAX_KNOWN][VT_IP_STRLEN];
  size_t nk = events_known_addresses(in->ev, r->target, r->name, r->probe,
                                     known, MAX_KNOWN);
  for (size_t k = 0; st == VT_OK && k < nk; k++) {
    bool present = false;
    for (int i = 0; i < n; i++)
      present |= strcmp(known[k], ips[i]) == 0;
    if (present)
      continue;
    struct rrd_values v = unknown_values;
    v.share = 0;
    st = ingest_series(in, r, known[k], &v);
  }
  return st;
}

static enum vt_status ingest_record(struct ingest *in,
                                    const struct vt_result *r)
{
  /* A retirement is no measurement: nothing for the RRD files. */
  if (r->retired)
    return events_result(in->ev, r);
  struct rrd_values v = unknown_values;
  v.kind = vt_series_kind(r->check);
  v.up = r->ok ? 1 : 0;
  /* Latency of a failed check is unknown, not the time it took to fail:
   * graphs break the line there. */
  if (r->ok) {
    v.total = r->ms_total;
    v.dns = r->ms_dns;
    v.connect = r->ms_connect;
    v.tls = r->ms_tls;
    v.ttfb = r->ms_ttfb;
  }
  enum vt_status st = VT_OK;
  switch (r->check) {
  case VT_CHECK_TCP:
  case VT_CHECK_HTTP:
    /* A target without any address is measured too: its own series. */
    st = ingest_series(in, r, vt_series_address_key(r->ip), &v);
    break;
  case VT_CHECK_DNS: {
    char key[80];
    vt_series_resolver_key(r->resolver, key, sizeof(key));
    v.total = r->ok ? r->ms_dns : NAN;
    v.dns = v.total;
    st = ingest_series(in, r, key, &v);
    if (st == VT_OK && ingest_dns_definitive(r))
      st = ingest_shares(in, r, r->answers, r->n_answers,
                         r->n_answers ? 1.0 / r->n_answers : 0, !r->incomplete);
    break;
  }
  case VT_CHECK_CLIENT:
    st = ingest_series(in, r, VT_SERIES_CLIENT, &v);
    if (st == VT_OK && r->ok && r->ip[0])
      st = ingest_shares(in, r, &r->ip, 1, 1.0, true);
    break;
  case VT_CHECK_LOAD:
    /* The load per address; a failed read is unknown load, not zero. */
    v = unknown_values;
    v.kind = vt_series_kind(r->check);
    v.up = r->ok ? 1 : 0;
    v.load = r->ok ? r->load : NAN;
    st = ingest_series(in, r, vt_series_address_key(r->ip), &v);
    break;
  }
  if (st == VT_OK)
    st = events_result(in->ev, r);
  if (st == VT_OK)
    coll_metrics_note(r); /* /metrics: the last result of the series */
  return st;
}

/* Creates the files r's series need that do not exist yet; *created counts
 * them. (Share series written as 0 belong to addresses seen before: their
 * files exist.) */
static enum vt_status ingest_ensure_files(struct ingest *in,
                                          const struct vt_result *r,
                                          size_t *created)
{
  char keys[VT_RESULT_MAX_ANSWERS + 1][80];
  size_t n = 0; /* keys[0] is the main series, the others shares */
  if (r->retired)
    return VT_OK; /* no series */
  switch (r->check) {
  case VT_CHECK_TCP:
  case VT_CHECK_HTTP:
  case VT_CHECK_LOAD:
    snprintf(keys[n++], sizeof(keys[0]), "%s", vt_series_address_key(r->ip));
    break;
  case VT_CHECK_DNS:
    vt_series_resolver_key(r->resolver, keys[n++], sizeof(keys[0]));
    for (int i = 0; ingest_dns_definitive(r) && i < r->n_answers; i++)
      snprintf(keys[n++], sizeof(keys[0]), "%s", r->answers[i]);
    break;
  case VT_CHECK_CLIENT:
    snprintf(keys[n++], sizeof(keys[0]), VT_SERIES_CLIENT);
    if (r->ok && r->ip[0])
      snprintf(keys[n++], sizeof(keys[0]), "%s", r->ip);
    break;
  }
  for (size_t i = 0; i < n; i++) {
    char rel[320];
    bool made;
    ingest_relpath(r, keys[i], rel, sizeof(rel));
    enum vt_status st = rrd_store_ensure_kind(
        in->rrd, rel, lround(r->ts),
        i == 0 ? vt_series_kind(r->check) : RRD_KIND_SHARE, &made);
    if (st != VT_OK)
      return st;
    *created += made;
  }
  return VT_OK;
}

/* How many of the records from skip on to store in this request: all of
 * them, unless creating the files of new series takes longer than the
 * budget; then the records whose files exist (a prefix by record number,
 * which the probe's cursor understands, docs/wire.md) and the rest comes
 * with the next request at once. At least one record always goes in. */
static enum vt_status ingest_budget(struct ingest *in, size_t skip,
                                    size_t count, size_t *cut)
{
  double t0 = vt_time_mono(), budget = in->conf->create_budget_s;
  size_t created = 0, undone = SIZE_MAX;
  *cut = count;
  /* The files to create are queued record by record, then created in
   * parallel (rrd_store_create_run) within the budget. */
  enum vt_status st = VT_OK;
  for (size_t i = skip; st == VT_OK && i < count; i++) {
    if (in->ahead[i])
      continue;
    rrd_store_create_defer(in->rrd, i);
    st = ingest_ensure_files(in, &in->recs[i], &created);
  }
  enum vt_status cst = rrd_store_create_run(in->rrd, budget, &created, &undone);
  if (st != VT_OK || cst != VT_OK)
    return st != VT_OK ? st : cst;
  if (undone != SIZE_MAX && undone < count) {
    *cut = undone;
    vt_info("ingest: probe %s: created %zu new series files in %.2f s; "
            "storing %zu of %zu records now, the rest with the next "
            "request",
            in->recs[skip].probe, created, vt_time_mono() - t0, *cut - skip,
            count - skip);
  }
  return VT_OK;
}

/* Results in time order, so the quorum engine sees each series in order. */
static int by_ts(const void *a, const void *b, void *recs)
{
  const struct vt_result *r = recs;
  double ta = r[*(const size_t *)a].ts;
  double tb = r[*(const size_t *)b].ts;
  if (ta != tb)
    return ta < tb ? -1 : 1;
  return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Writes the lines of the records in [from, to) whose time is ahead of
 * our clock to DATA_DIR/quarantine/PROBE.jsonl, each with the reason, so
 * an operator can look at them and nothing goes silently; returns how
 * many. Logged with back-off. */
static size_t ingest_set_aside(struct ingest *in,
                               const struct http_api_request *req,
                               const struct ingest_auth *a, size_t from,
                               size_t to)
{
  size_t n = 0;
  for (size_t i = from; i < to; i++)
    n += in->ahead[i];
  if (!n)
    return 0;
  in->stats.ahead += n;
  char path[4096];
  snprintf(path, sizeof(path), "%s/" VT_DATA_QUARANTINE, in->conf->data_dir);
  FILE *f = NULL;
  if (vt_mkdir_p(path, 0750) == 0 &&
      (size_t)snprintf(path, sizeof(path), "%s/" VT_DATA_QUARANTINE "/%s.jsonl",
                       in->conf->data_dir, a->probe) < sizeof(path))
    f = fopen(path, "ae");
  double now = vt_time_wall();
  for (size_t i = from; f && i < to; i++) {
    if (!in->ahead[i])
      continue;
    const char *line = req->body + in->line_off[i];
    const char *nl = memchr(line, '\n', req->body_len - in->line_off[i]);
    fprintf(f,
            "{\"received\":%.0f,\"seq\":%" PRIu64 ",\"reason\":\"ts %.0fs "
            "ahead of the collector's clock\",\"record\":%.*s}\n",
            now, a->seq + i, in->recs[i].ts - now, (int)(nl - line), line);
  }
  bool ok = f && fflush(f) == 0 && !ferror(f);
  if (f && fclose(f) != 0)
    ok = false;
  unsigned long skipped = 0;
  if (!ok)
    vt_err("ingest: probe %s: %zu record(s) ahead of the clock not stored, "
           "and %s not writable: %s",
           a->probe, n, path, strerror(errno));
  else if (vt_log_backoff_due(&in->bo_future, vt_time_mono(), &skipped))
    vt_warn("ingest: probe %s: %zu record(s) more than %.0fs ahead of this "
            "collector's clock set aside in %s, not stored (is the probe's "
            "clock right?; %lu more such batches since the last line)",
            a->probe, n, ingest_ahead_tolerance(in), path, skipped);
  return n;
}

/* Remembers that record rec of a's probe and spool was refused with a 400
 * naming its line: the probe sets it aside and sends the next ones. */
static void ingest_refused_add(struct ingest *in, const struct ingest_auth *a,
                               uint64_t rec)
{
  const char *spool = a->spool ? a->spool : "";
  size_t n =
      in->n_refused < INGEST_REFUSED_MAX ? in->n_refused : INGEST_REFUSED_MAX;
  for (size_t i = 0; i < n; i++)
    if (in->refused[i].rec == rec &&
        strcmp(in->refused[i].probe, a->probe) == 0 &&
        strcmp(in->refused[i].spool, spool) == 0)
      return; /* refused again: counted once */
  struct ingest_refused *f = &in->refused[in->n_refused++ % INGEST_REFUSED_MAX];
  snprintf(f->probe, sizeof(f->probe), "%s", a->probe);
  snprintf(f->spool, sizeof(f->spool), "%s", spool);
  f->rec = rec;
}

/* Logs the records [next, a->seq) that never came: those this collector
 * refused are set aside by the probe (its quarantine.jsonl); the others
 * were lost on the probe's side (a spool deleted by hand), or refused
 * before this collector's last start. */
static void ingest_gap_log(struct ingest *in, const struct ingest_auth *a,
                           uint64_t next)
{
  uint64_t gap = a->seq - next, refused = 0;
  size_t n =
      in->n_refused < INGEST_REFUSED_MAX ? in->n_refused : INGEST_REFUSED_MAX;
  for (size_t i = 0; i < n; i++) {
    const struct ingest_refused *f = &in->refused[i];
    refused += f->rec >= next && f->rec < a->seq &&
               strcmp(f->probe, a->probe) == 0 &&
               strcmp(f->spool, a->spool ? a->spool : "") == 0;
  }
  if (refused == gap)
    vt_notice("ingest: probe %s: records %" PRIu64 "..%" PRIu64
              " set aside by the probe (refused here with 400; see its "
              "spool's quarantine.jsonl); storing from %" PRIu64,
              a->probe, next, a->seq - 1, a->seq);
  else if (refused)
    vt_warn("ingest: probe %s: of records %" PRIu64 "..%" PRIu64 ", %" PRIu64
            " set aside by the probe (refused here with 400) and %" PRIu64
            " never arrived (spool lost?); storing from %" PRIu64,
            a->probe, next, a->seq - 1, refused, gap - refused, a->seq);
  else
    vt_warn("ingest: probe %s: records %" PRIu64 "..%" PRIu64
            " never arrived (spool lost, or set aside by the probe before "
            "this collector started?); storing from %" PRIu64,
            a->probe, next, a->seq - 1, a->seq);
}

void ingest_results(struct ingest *in, const struct http_api_request *req,
                    int *status, struct vt_buf *reply)
{
  double t_body = vt_time_mono(); /* the body is complete */
  struct ingest_auth a = {0};
  in->bad_line = SIZE_MAX;
  int code = ingest_authenticate(in, req, VT_WIRE_RESULTS, &a, reply);
  if (!code)
    code = ingest_parse(in, req, &a, reply);
  if (code) {
    in->stats.rejected++;
    *status = code;
    if (code == 400 && a.probe && in->bad_line != SIZE_MAX)
      ingest_refused_add(in, &a, a.seq + in->bad_line);
    /* A 401 has been logged where it was decided; a 400 says why here,
     * with the record line (the probe sets the record aside on its side). */
    unsigned long skipped = 0;
    /* An authenticated probe's refused record is logged every time (only
     * that probe can cause it); a stranger's malformed request with
     * back-off. */
    if (code == 400 &&
        (a.probe ||
         vt_log_backoff_due(&in->bo_refused, vt_time_mono(), &skipped)))
      vt_warn("ingest: %s: probe %s: records %s+%s refused (400): "
              "%s%s",
              req->client,
              a.probe ? a.probe
              : http_api_header(req, VT_WIRE_HDR_PROBE)
                  ? http_api_header(req, VT_WIRE_HDR_PROBE)
                  : "?",
              http_api_header(req, VT_WIRE_HDR_SEQ)
                  ? http_api_header(req, VT_WIRE_HDR_SEQ)
                  : "?",
              http_api_header(req, VT_WIRE_HDR_COUNT)
                  ? http_api_header(req, VT_WIRE_HDR_COUNT)
                  : "?",
              vt_buf_str(reply), skipped ? " (and earlier ones left out)" : "");
    return;
  }

  uint64_t next = 0;
  bool known = true;
  if ((a.spool ? events_spool_next(in->ev, a.probe, a.spool, &next, &known)
               : events_probe_next(in->ev, a.probe, &next)) != VT_OK) {
    reply_error(reply, status, 503, "storage unavailable");
    return;
  }
  if (!known)
    vt_notice("ingest: probe %s: spool %s seen for the first time (records "
              "from %" PRIu64 ")",
              a.probe, a.spool, next);
  uint64_t end = a.seq + a.count;
  if (end <= next) {
    in->stats.duplicates++;
    vt_info("ingest: probe %s: records %" PRIu64 "..%" PRIu64
            " already stored; acknowledged again",
            a.probe, a.seq, end - 1);
    vt_buf_reset(reply);
    if (vt_buf_addf(reply,
                    "{\"stored\":0,\"duplicate\":true,\"next\":%" PRIu64 "}",
                    next) != VT_OK)
      vt_buf_reset(reply);
    *status = 200;
    return;
  }
  size_t skip = next > a.seq ? (size_t)(next - a.seq) : 0;
  if (a.seq > next)
    ingest_gap_log(in, &a, next);

  size_t cut;
  if (ingest_budget(in, skip, (size_t)a.count, &cut) != VT_OK) {
    reply_error(reply, status, 503, "could not create the series files");
    return;
  }
  end = a.seq + cut;
  size_t n = cut - skip;
  size_t *order = in->order + skip;
  qsort_r(order, n, sizeof(*order), by_ts, in->recs);

  enum vt_status st = events_begin(in->ev);
  for (size_t i = 0; st == VT_OK && i < n; i++)
    if (!in->ahead[order[i]])
      st = ingest_record(in, &in->recs[order[i]]);
  if (st == VT_OK) {
    size_t queued = rrd_store_queued(in->rrd);
    double t_rrd = vt_time_mono();
    st = rrd_store_flush(in->rrd);
    if (queued) { /* /metrics */
      coll_metrics_observe(COLL_HIST_RRD_FLUSH, vt_time_mono() - t_rrd);
      coll_metrics_observe(COLL_HIST_RRD_QUEUE, (double)queued);
    }
  } else {
    rrd_store_discard(in->rrd);
  }
  if (st == VT_OK)
    st = events_probe_seen(in->ev, a.probe, end, vt_time_wall());
  if (st == VT_OK && a.spool)
    st = events_spool_seen(in->ev, a.probe, a.spool, end, vt_time_wall());
  /* The remote-write journal, durable before the commit (an error refuses
   * the batch, which the probe sends again), with only the records stored
   * as series values (not those set aside, not retirements). */
  size_t n_rw = 0;
  for (size_t i = 0; st == VT_OK && i < n; i++)
    if (!in->ahead[order[i]] && !in->recs[order[i]].retired)
      order[n_rw++] = order[i];
  if (st == VT_OK)
    st = remote_write_results(in->rw, a.probe, a.spool, a.seq, end, in->recs,
                              order, n_rw);
  if (st == VT_OK)
    st = events_commit(in->ev);
  if (st != VT_OK) {
    events_rollback(in->ev);
    vt_err("ingest: probe %s: records %" PRIu64 "..%" PRIu64
           " not stored (%s); the probe will send them again",
           a.probe, a.seq, end - 1, vt_strerror(st));
    reply_error(reply, status, 503, "could not store the batch");
    return;
  }
  coll_metrics_observe(COLL_HIST_BATCH_STORE, vt_time_mono() - t_body);
  size_t ahead = ingest_set_aside(in, req, &a, skip, cut);
  n -= ahead;
  in->stats.batches++;
  in->stats.results += n;
  vt_debug("ingest: probe %s: stored records %" PRIu64 "..%" PRIu64, a.probe,
           a.seq + skip, end - 1);
  vt_buf_reset(reply);
  if (vt_buf_addf(reply,
                  "{\"stored\":%zu,\"duplicate\":false,\"next\":%" PRIu64
                  ",\"ahead\":%zu}",
                  n, end, ahead) != VT_OK)
    vt_buf_reset(reply);
  *status = 200;
}
