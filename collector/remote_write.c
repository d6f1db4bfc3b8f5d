/* SPDX-License-Identifier: MIT */
/* Remote write to Prometheus-compatible receivers (remote_write.h). */
#include "config.h"

#include "remote_write.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <snappy-c.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"

enum {
  RW_BATCH_BYTES = 256 * 1024, /* journal bytes per request at most */
  RW_FIELDS = 12,
};
#define RW_BACKOFF_MAX_S 30.0

struct rw_receiver {
  struct remote_write *rw;
  char *name, *url;
  char cursor_path[PATH_MAX];
  uint64_t cursor; /* journal offset sent (under rw->lock) */
  pthread_t thread;
  bool started;
  bool failing; /* a failure was logged; quiet until it heals */
};

struct remote_write {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool stop;
  int fd;        /* the journal, O_APPEND */
  uint64_t size; /* its length (under lock) */
  struct rw_receiver *recv;
  size_t n_recv;
  struct vt_buf line; /* append scratch (caller's thread) */
};

/* ---- journal ------------------------------------------------------------- */

/* "\t<v>" with the fewest digits that read back as v, "\tU" for unknown. */
static enum vt_status rw_num(struct vt_buf *b, double v)
{
  if (!isfinite(v))
    return vt_buf_adds(b, "\tU");
  char out[32];
  int n = snprintf(out, sizeof(out), "\t%.15g", v);
  if (strtod(out + 1, NULL) != v)
    n = snprintf(out, sizeof(out), "\t%.17g", v);
  return vt_buf_add(b, out, (size_t)n);
}

enum vt_status remote_write_results(struct remote_write *rw,
                                    const struct vt_result *recs,
                                    const size_t *order, size_t n)
{
  if (!rw || !n)
    return VT_OK;
  vt_buf_reset(&rw->line);
  for (size_t i = 0; i < n; i++) {
    const struct vt_result *r = &recs[order[i]];
    const char *addr = r->check == VT_CHECK_DNS
                           ? (r->resolver[0] ? r->resolver : "unknown")
                       : r->ip[0] ? r->ip
                                  : "no-address";
    bool ok = r->ok;
    enum vt_status bst = vt_buf_addf(
        &rw->line, "%lld\t%s\t%s\t%s\t%s\t%s\t%d",
        (long long)llround(r->ts * 1000), r->target, r->host[0] ? r->host : "-",
        addr, r->probe, r->name, ok ? 1 : 0);
    /* Latency of a failed check is unknown, as in the RRD files. */
    if (bst == VT_OK)
      bst = rw_num(&rw->line, ok ? r->ms_total : NAN);
    if (bst == VT_OK)
      bst = rw_num(&rw->line, ok ? r->ms_dns : NAN);
    if (bst == VT_OK)
      bst = rw_num(&rw->line, ok ? r->ms_connect : NAN);
    if (bst == VT_OK)
      bst = rw_num(&rw->line, ok ? r->ms_tls : NAN);
    if (bst == VT_OK)
      bst = rw_num(&rw->line, ok ? r->ms_ttfb : NAN);
    if (bst == VT_OK)
      bst = vt_buf_add(&rw->line, "\n", 1);
    if (bst != VT_OK) {
      vt_err("remote write: out of memory; %zu results not journalled", n);
      return bst;
    }
  }
  pthread_mutex_lock(&rw->lock);
  const char *p = rw->line.data;
  size_t left = rw->line.len;
  enum vt_status st = VT_OK;
  while (left) {
    ssize_t w = write(rw->fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      vt_err("remote write: journal: %s", strerror(errno));
      st = VT_EIO;
      break;
    }
    p += w;
    left -= (size_t)w;
    rw->size += (uint64_t)w;
  }
  pthread_cond_broadcast(&rw->wake);
  pthread_mutex_unlock(&rw->lock);
  return st;
}

/* Writes the cursor file atomically. */
static void rw_save_cursor(const struct rw_receiver *r, uint64_t cursor)
{
  char text[32];
  int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", cursor);
  const char *what;
  if (vt_write_file_atomic(AT_FDCWD, r->cursor_path, text, (size_t)n, 0640,
                           VT_FS_DURABLE, &what) != 0)
    vt_err("remote write: %s: cannot save the cursor (%s): %s",
           r->cursor_path, what, strerror(errno));
}

/* Empties the journal once every receiver has sent all of it (under
 * lock). The journal goes first: a cursor past the end reads as 0. */
static void rw_maybe_truncate(struct remote_write *rw)
{
  for (size_t i = 0; i < rw->n_recv; i++)
    if (rw->recv[i].cursor != rw->size)
      return;
  if (!rw->size || ftruncate(rw->fd, 0) != 0)
    return;
  rw->size = 0;
  for (size_t i = 0; i < rw->n_recv; i++) {
    rw->recv[i].cursor = 0;
    rw_save_cursor(&rw->recv[i], 0);
  }
}

/* ---- protobuf (prometheus.WriteRequest) ----------------------------------- */

/* Base-128 varint of v into out (10 bytes at most); returns its length. */
static size_t pb_varint_to(unsigned char *out, uint64_t v)
{
  size_t n = 0;
  do {
    out[n] = (unsigned char)(v & 0x7f);
    v >>= 7;
    if (v)
      out[n] |= 0x80;
    n++;
  } while (v);
  return n;
}

static enum vt_status pb_varint(struct vt_buf *b, uint64_t v)
{
  unsigned char out[10];
  return vt_buf_add(b, out, pb_varint_to(out, v));
}

static size_t pb_varint_len(uint64_t v)
{
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static enum vt_status pb_bytes(struct vt_buf *b, unsigned field,
                               const void *data, size_t len)
{
  enum vt_status st = pb_varint(b, (uint64_t)(field << 3 | 2));
  if (st == VT_OK)
    st = pb_varint(b, len);
  return st == VT_OK ? vt_buf_add(b, data, len) : st;
}

/* Label { string name = 1; string value = 2; } as field 1 of TimeSeries. */
static enum vt_status pb_label(struct vt_buf *b, const char *name,
                               const char *value)
{
  size_t ln = strlen(name), lv = strlen(value);
  size_t len = 1 + pb_varint_len(ln) + ln + 1 + pb_varint_len(lv) + lv;
  enum vt_status st = pb_varint(b, 1 << 3 | 2);
  if (st == VT_OK)
    st = pb_varint(b, len);
  if (st == VT_OK)
    st = pb_bytes(b, 1, name, ln);
  return st == VT_OK ? pb_bytes(b, 2, value, lv) : st;
}

/* A run of encoded bytes inside a buffer. */
struct pb_span {
  size_t off, len;
};

/* Appends label (name, value) to b and returns where it is. */
static enum vt_status pb_label_span(struct vt_buf *b, const char *name,
                                    const char *value, struct pb_span *sp)
{
  sp->off = b->len;
  enum vt_status st = pb_label(b, name, value);
  sp->len = b->len - sp->off;
  return st;
}

/* One TimeSeries with one Sample as field 1 of WriteRequest, from labels
 * encoded once per line (in name order: __name__, address check host,
 * phase, probe target); parts with len 0 are left out. */
static enum vt_status pb_series(struct vt_buf *out, const struct vt_buf *lab,
                                const struct pb_span *parts, size_t n_parts,
                                double value, int64_t t_ms)
{
  /* Sample { double value = 1; int64 timestamp = 2; } */
  unsigned char sample[2 + 1 + 8 + 1 + 10];
  size_t sl = 2; /* room for the field tag and length (< 128) */
  sample[sl++] = 1 << 3 | 1;
  memcpy(sample + sl, &value, 8); /* little-endian IEEE 754 on our targets */
  sl += 8;
  sample[sl++] = 2 << 3 | 0;
  sl += pb_varint_to(sample + sl, (uint64_t)t_ms);
  sample[0] = 2 << 3 | 2;
  sample[1] = (unsigned char)(sl - 2);
  size_t len = sl;
  for (size_t i = 0; i < n_parts; i++)
    len += parts[i].len;
  enum vt_status st = pb_varint(out, 1 << 3 | 2);
  if (st == VT_OK)
    st = pb_varint(out, len);
  for (size_t i = 0; st == VT_OK && i < n_parts; i++)
    st = vt_buf_add(out, lab->data + parts[i].off, parts[i].len);
  return st == VT_OK ? vt_buf_add(out, sample, sl) : st;
}

/* Encodes the journal lines text[0..len) (whole lines) into req; lab is
 * scratch for the labels of a line. */
static enum vt_status rw_encode(char *text, size_t len, struct vt_buf *req,
                                struct vt_buf *lab)
{
  static const char *const phases[] = {"total", "dns", "connect", "tls",
                                       "ttfb"};
  vt_buf_reset(req);
  /* The labels every line shares a value set of, encoded once. */
  vt_buf_reset(lab);
  struct pb_span up, lat, ph[5];
  enum vt_status st = pb_label_span(lab, "__name__", "vantage_up", &up);
  if (st == VT_OK)
    st = pb_label_span(lab, "__name__", "vantage_latency_ms", &lat);
  for (size_t p = 0; st == VT_OK && p < 5; p++)
    st = pb_label_span(lab, "phase", phases[p], &ph[p]);
  size_t fixed = lab->len;
  for (char *line = text, *end = text + len; st == VT_OK && line < end;) {
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl)
      break;
    *nl = '\0';
    char *f[RW_FIELDS];
    size_t nf = 0;
    for (char *p = line; nf < RW_FIELDS; nf++) {
      f[nf] = p;
      char *tab = strchr(p, '\t');
      if (!tab) {
        nf++;
        break;
      }
      *tab = '\0';
      p = tab + 1;
    }
    line = nl + 1;
    if (nf != RW_FIELDS)
      continue; /* a torn line cannot happen (appends are whole) */
    lab->len = fixed;
    struct pb_span a, c, h, pr, tg;
    st = pb_label_span(lab, "address", f[3], &a);
    if (st == VT_OK)
      st = pb_label_span(lab, "check", f[5], &c);
    if (st == VT_OK)
      st = pb_label_span(lab, "host", f[2], &h);
    if (st == VT_OK)
      st = pb_label_span(lab, "probe", f[4], &pr);
    if (st == VT_OK)
      st = pb_label_span(lab, "target", f[1], &tg);
    /* address, check and host are adjacent in lab, as probe and target. */
    struct pb_span mid = {a.off, a.len + c.len + h.len},
                   tail = {pr.off, pr.len + tg.len};
    int64_t t = strtoll(f[0], NULL, 10);
    if (st == VT_OK)
      st = pb_series(req, lab, (struct pb_span[]){up, mid, tail}, 3,
                     strtod(f[6], NULL), t);
    for (size_t p = 0; st == VT_OK && p < 5; p++)
      if (strcmp(f[7 + p], "U") != 0)
        st = pb_series(req, lab, (struct pb_span[]){lat, mid, ph[p], tail}, 4,
                       strtod(f[7 + p], NULL), t);
  }
  return st;
}

/* ---- sender -------------------------------------------------------------- */

static size_t rw_curl_sink(char *p, size_t size, size_t n, void *arg)
{
  struct vt_buf *b = arg;
  size_t len = size * n;
  /* The start of the reply, for the log; the rest is read and dropped. */
  if (b->len < 512 && vt_buf_add(b, p, len < 512 ? len : 512) != VT_OK)
    return 0;
  return len;
}

/* POSTs body; returns the HTTP status, or 0 for a transport failure (why
 * in err). */
static long rw_post(CURL *curl, const char *url, const char *body, size_t len,
                    struct vt_buf *reply, char *err)
{
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Content-Type: application/x-protobuf");
  h = curl_slist_append(h, "Content-Encoding: snappy");
  h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
  h = curl_slist_append(h, "User-Agent: vantage-collector");
  vt_buf_reset(reply);
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rw_curl_sink);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
  err[0] = '\0';
  long code = 0;
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  return code;
}

/* Waits up to s seconds or until stopped (under lock). */
static void rw_wait(struct remote_write *rw, double s)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  double t = (double)until.tv_sec + until.tv_nsec / 1e9 + s;
  until.tv_sec = (time_t)t;
  until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
  if (!rw->stop)
    pthread_cond_timedwait(&rw->wake, &rw->lock, &until);
}

static void *rw_thread(void *arg)
{
  struct rw_receiver *r = arg;
  struct remote_write *rw = r->rw;
  CURL *curl = curl_easy_init();
  struct vt_buf req, ts, reply;
  vt_buf_init(&req, 0);
  vt_buf_init(&ts, 0);
  vt_buf_init(&reply, 0);
  char *text = malloc(RW_BATCH_BYTES), *packed = NULL;
  size_t packed_cap = 0;
  double backoff = 0.5;
  char err[CURL_ERROR_SIZE];
  pthread_mutex_lock(&rw->lock);
  while (!rw->stop && curl && text) {
    if (r->cursor > rw->size)
      r->cursor = 0; /* the journal was emptied after the cursor was saved */
    if (r->cursor == rw->size) {
      rw_wait(rw, 1.0);
      continue;
    }
    uint64_t from = r->cursor, avail = rw->size - from;
    pthread_mutex_unlock(&rw->lock);
    size_t want = avail < RW_BATCH_BYTES ? (size_t)avail : RW_BATCH_BYTES;
    ssize_t got = pread(rw->fd, text, want, (off_t)from);
    size_t whole = 0;
    for (ssize_t i = got; i > 0; i--)
      if (text[i - 1] == '\n') {
        whole = (size_t)i;
        break;
      }
    long code = -1;
    if (whole) {
      enum vt_status st = rw_encode(text, whole, &req, &ts);
      size_t need = snappy_max_compressed_length(req.len);
      if (st == VT_OK && need > packed_cap) {
        free(packed);
        packed = malloc(need);
        packed_cap = packed ? need : 0;
      }
      size_t plen = packed_cap;
      if (st == VT_OK && packed &&
          snappy_compress(req.data, req.len, packed, &plen) == SNAPPY_OK)
        code = rw_post(curl, r->url, packed, plen, &reply, err);
    }
    pthread_mutex_lock(&rw->lock);
    if (code >= 200 && code < 300) {
      if (r->failing)
        vt_notice("remote write: %s: sending again", r->name);
      r->failing = false;
      backoff = 0.5;
      r->cursor = from + whole;
      rw_save_cursor(r, r->cursor);
      rw_maybe_truncate(rw);
      continue;
    }
    if (code >= 400 && code < 500 && code != 429) {
      /* The receiver refuses these samples for good (out of order, too
       * old): sending them again would block the rest. */
      vt_warn("remote write: %s: HTTP %ld, %zu journal bytes dropped: %.*s",
              r->name, code, whole, (int)reply.len,
              reply.data ? reply.data : "");
      r->cursor = from + whole;
      rw_save_cursor(r, r->cursor);
      rw_maybe_truncate(rw);
      continue;
    }
    if (!r->failing)
      vt_warn("remote write: %s: %s%s%ld; kept in the journal, retrying",
              r->name, code > 0 ? "HTTP " : err, code > 0 ? "" : " ",
              code > 0 ? code : 0L);
    r->failing = true;
    rw_wait(rw, backoff);
    backoff = backoff * 2 > RW_BACKOFF_MAX_S ? RW_BACKOFF_MAX_S : backoff * 2;
  }
  pthread_mutex_unlock(&rw->lock);
  free(text);
  free(packed);
  vt_buf_cleanup(&req);
  vt_buf_cleanup(&ts);
  vt_buf_cleanup(&reply);
  if (curl)
    curl_easy_cleanup(curl);
  return NULL;
}

/* ---- API ----------------------------------------------------------------- */

struct remote_write *remote_write_open(const char *dir,
                                       const struct remote_write_receiver *rc,
                                       size_t n, enum vt_status *st)
{
  *st = VT_ENOMEM;
  struct remote_write *rw = calloc(1, sizeof(*rw));
  if (!rw)
    return NULL;
  pthread_mutex_init(&rw->lock, NULL);
  pthread_cond_init(&rw->wake, NULL);
  vt_buf_init(&rw->line, 0);
  rw->fd = -1;
  char path[PATH_MAX];
  if ((mkdir(dir, 0750) != 0 && errno != EEXIST) ||
      snprintf(path, sizeof(path), "%s/journal", dir) >= (int)sizeof(path) ||
      (rw->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) <
          0) {
    vt_err("remote write: %s: %s", dir, strerror(errno));
    *st = VT_EIO;
    remote_write_close(rw);
    return NULL;
  }
  struct stat sb;
  if (fstat(rw->fd, &sb) == 0)
    rw->size = (uint64_t)sb.st_size;
  if (!(rw->recv = calloc(n ? n : 1, sizeof(*rw->recv)))) {
    remote_write_close(rw);
    return NULL;
  }
  rw->n_recv = n;
  for (size_t i = 0; i < n; i++) {
    struct rw_receiver *r = &rw->recv[i];
    r->rw = rw;
    r->name = strdup(rc[i].name);
    r->url = strdup(rc[i].url);
    snprintf(r->cursor_path, sizeof(r->cursor_path), "%s/%s.cursor", dir,
             rc[i].name);
    FILE *f = fopen(r->cursor_path, "r");
    unsigned long long c = 0;
    if (f) {
      if (fscanf(f, "%llu", &c) != 1)
        c = 0;
      fclose(f);
    } else {
      /* A new receiver gets what is stored from now on. */
      c = rw->size;
      rw_save_cursor(r, c);
    }
    r->cursor = c > rw->size ? 0 : c;
    vt_info("remote write: %s: %s, %" PRIu64 " journal bytes to send", r->name,
            r->url, rw->size - r->cursor);
  }
  for (size_t i = 0; i < n; i++) {
    if (!rw->recv[i].name || !rw->recv[i].url ||
        pthread_create(&rw->recv[i].thread, NULL, rw_thread, &rw->recv[i]) !=
            0) {
      remote_write_close(rw);
      return NULL;
    }
    rw->recv[i].started = true;
  }
  *st = VT_OK;
  return rw;
}

size_t remote_write_count(const struct remote_write *rw)
{
  return rw ? rw->n_recv : 0;
}

const char *remote_write_name(const struct remote_write *rw, size_t i)
{
  return rw && i < rw->n_recv ? rw->recv[i].name : "";
}

uint64_t remote_write_pending(struct remote_write *rw, size_t i)
{
  if (!rw || i >= rw->n_recv)
    return 0;
  pthread_mutex_lock(&rw->lock);
  uint64_t c = rw->recv[i].cursor, sz = rw->size;
  pthread_mutex_unlock(&rw->lock);
  return c > sz ? sz : sz - c;
}

void remote_write_close(struct remote_write *rw)
{
  if (!rw)
    return;
  pthread_mutex_lock(&rw->lock);
  rw->stop = true;
  pthread_cond_broadcast(&rw->wake);
  pthread_mutex_unlock(&rw->lock);
  for (size_t i = 0; i < rw->n_recv; i++) {
    if (rw->recv[i].started)
      pthread_join(rw->recv[i].thread, NULL);
    free(rw->recv[i].name);
    free(rw->recv[i].url);
  }
  free(rw->recv);
  if (rw->fd >= 0)
    close(rw->fd);
  vt_buf_cleanup(&rw->line);
  pthread_cond_destroy(&rw->wake);
  pthread_mutex_destroy(&rw->lock);
  free(rw);
}
