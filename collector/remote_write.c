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
  RW_BATCH_BYTES = 256 * 1024,   /* journal bytes per request (at least) */
  RW_VERSION = 1,                /* of the journal's records */
  RW_REC_HEAD = 1,               /* generation and marks, first in the file */
  RW_REC_RESULTS = 2,            /* results of one batch */
  RW_REC_MAX_RESULTS = 1024,     /* results per record at most */
  RW_REC_MAX = 64 * 1024 * 1024, /* a length above this is corrupt */
  RW_STR_MAX = 0xffff,
};
#define RW_BACKOFF_MAX_S 30.0

/* The highest record sequence journalled per probe and spool: a batch
 * journalled whose SQLite commit a crash lost comes again from the probe,
 * and its records below the mark are not journalled twice. */
struct rw_mark {
  char *probe, *spool; /* spool "" for none */
  uint64_t end;
};

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
  char *dir;
  int fd;            /* the journal, O_APPEND */
  uint64_t size;     /* its length (under lock) */
  uint64_t gen;      /* its generation, in its head record */
  uint64_t head_len; /* length of the head record */
  struct rw_mark *marks;
  size_t n_marks;
  struct rw_receiver *recv;
  size_t n_recv;
  struct vt_buf line; /* append scratch (caller's thread) */
};

/* ---- journal ------------------------------------------------------------- */

/* Binary records, little-endian: u32 len, then len bytes (u8 version,
 * u8 type, payload), then u32 CRC-32 of those len bytes. Strings are u16
 * length + bytes. A record that fails its checks at open is a torn tail
 * (a crash during a write, before the batch was acknowledged): it and what
 * follows are cut off, with a log line. */

static uint32_t rw_crc_table[256];
static pthread_once_t rw_crc_once = PTHREAD_ONCE_INIT;

static void rw_crc_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    rw_crc_table[i] = c;
  }
}

static uint32_t rw_crc(const unsigned char *p, size_t n)
{
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++)
    c = rw_crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static void rw_put(unsigned char *at, uint64_t v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    at[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t rw_get(const unsigned char *at, size_t n)
{
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t)at[i] << (8 * i);
  return v;
}

static enum vt_status rw_add_int(struct vt_buf *b, uint64_t v, size_t n)
{
  unsigned char out[8];
  rw_put(out, v, n);
  return vt_buf_add(b, out, n);
}

static enum vt_status rw_add_str(struct vt_buf *b, const char *s)
{
  size_t n = strnlen(s, RW_STR_MAX);
  enum vt_status st = rw_add_int(b, n, 2);
  return st == VT_OK ? vt_buf_add(b, s, n) : st;
}

/* Starts a record of type in b: returns its offset for rw_rec_end. */
static size_t rw_rec_begin(struct vt_buf *b, unsigned type, enum vt_status *st)
{
  size_t at = b->len;
  unsigned char h[6] = {0, 0, 0, 0, RW_VERSION, (unsigned char)type};
  *st = vt_buf_add(b, h, sizeof(h));
  return at;
}

static enum vt_status rw_rec_end(struct vt_buf *b, size_t at)
{
  unsigned char *p = (unsigned char *)b->data + at;
  size_t len = b->len - at - 4;
  rw_put(p, len, 4);
  return rw_add_int(b, rw_crc(p + 4, len), 4);
}

/* A reader over one record's payload; a short field sets bad. */
struct rw_rd {
  const unsigned char *p, *end;
  bool bad;
};

static uint64_t rw_rd_int(struct rw_rd *r, size_t n)
{
  if ((size_t)(r->end - r->p) < n) {
    r->bad = true;
    return 0;
  }
  uint64_t v = rw_get(r->p, n);
  r->p += n;
  return v;
}

/* A string as pointer and length (not NUL-terminated). */
static const char *rw_rd_str(struct rw_rd *r, size_t *len)
{
  *len = (size_t)rw_rd_int(r, 2);
  if ((size_t)(r->end - r->p) < *len) {
    r->bad = true;
    *len = 0;
    return "";
  }
  const char *s = (const char *)r->p;
  r->p += *len;
  return s;
}

static double rw_rd_double(struct rw_rd *r)
{
  uint64_t bits = rw_rd_int(r, 8);
  double v;
  memcpy(&v, &bits, sizeof(v));
  return v;
}

static struct rw_mark *rw_mark_find(struct remote_write *rw, const char *probe,
                                    size_t lp, const char *spool, size_t ls)
{
  for (size_t i = 0; i < rw->n_marks; i++)
    if (strlen(rw->marks[i].probe) == lp &&
        memcmp(rw->marks[i].probe, probe, lp) == 0 &&
        strlen(rw->marks[i].spool) == ls &&
        memcmp(rw->marks[i].spool, spool, ls) == 0)
      return &rw->marks[i];
  return NULL;
}

/* Raises the mark of (probe, spool) to end. */
static enum vt_status rw_mark_set(struct remote_write *rw, const char *probe,
                                  size_t lp, const char *spool, size_t ls,
                                  uint64_t end)
{
  struct rw_mark *m = rw_mark_find(rw, probe, lp, spool, ls);
  if (!m) {
    struct rw_mark *a =
        realloc(rw->marks, (rw->n_marks + 1) * sizeof(*rw->marks));
    if (!a)
      return VT_ENOMEM;
    rw->marks = a;
    m = &a[rw->n_marks];
    m->probe = strndup(probe, lp);
    m->spool = strndup(spool, ls);
    m->end = 0;
    if (!m->probe || !m->spool) {
      free(m->probe);
      free(m->spool);
      return VT_ENOMEM;
    }
    rw->n_marks++;
  }
  if (end > m->end)
    m->end = end;
  return VT_OK;
}

/* The head record: generation and the marks (under lock). */
static enum vt_status rw_head(struct remote_write *rw, struct vt_buf *b,
                              uint64_t gen)
{
  enum vt_status st;
  size_t at = rw_rec_begin(b, RW_REC_HEAD, &st);
  if (st == VT_OK)
    st = rw_add_int(b, gen, 8);
  if (st == VT_OK)
    st = rw_add_int(b, rw->n_marks, 4);
  for (size_t i = 0; st == VT_OK && i < rw->n_marks; i++) {
    st = rw_add_str(b, rw->marks[i].probe);
    if (st == VT_OK)
      st = rw_add_str(b, rw->marks[i].spool);
    if (st == VT_OK)
      st = rw_add_int(b, rw->marks[i].end, 8);
  }
  return st == VT_OK ? rw_rec_end(b, at) : st;
}

/* The address label of a result: the resolver of a dns check. */
static const char *rw_address(const struct vt_result *r)
{
  return r->check == VT_CHECK_DNS ? (r->resolver[0] ? r->resolver : "unknown")
         : r->ip[0]               ? r->ip
                                  : "no-address";
}

/* One result: i64 ms, u8 flags (bit 0 up, bit 1+p phase p present),
 * target, host, address, check, then the present phases as doubles. */
static enum vt_status rw_add_result(struct vt_buf *b, const struct vt_result *r)
{
  const double ph[5] = {r->ms_total, r->ms_dns, r->ms_connect, r->ms_tls,
                        r->ms_ttfb};
  unsigned flags = r->ok ? 1 : 0;
  /* Latency of a failed check is unknown, as in the RRD files. */
  for (size_t p = 0; r->ok && p < 5; p++)
    if (isfinite(ph[p]))
      flags |= 2u << p;
  unsigned char h[9];
  rw_put(h, (uint64_t)llround(r->ts * 1000), 8);
  h[8] = (unsigned char)flags;
  enum vt_status st = vt_buf_add(b, h, sizeof(h));
  if (st == VT_OK)
    st = rw_add_str(b, r->target);
  if (st == VT_OK)
    st = rw_add_str(b, r->host[0] ? r->host : "-");
  if (st == VT_OK)
    st = rw_add_str(b, rw_address(r));
  if (st == VT_OK)
    st = rw_add_str(b, r->name);
  for (size_t p = 0; st == VT_OK && p < 5; p++)
    if (flags & (2u << p)) {
      uint64_t bits;
      memcpy(&bits, &ph[p], sizeof(bits));
      st = rw_add_int(b, bits, 8);
    }
  return st;
}

enum vt_status remote_write_results(struct remote_write *rw, const char *probe,
                                    const char *spool, uint64_t seq0,
                                    uint64_t end, const struct vt_result *recs,
                                    const size_t *order, size_t n)
{
  if (!rw || !n)
    return VT_OK;
  if (!spool)
    spool = "";
  size_t lp = strnlen(probe, RW_STR_MAX), ls = strnlen(spool, RW_STR_MAX);
  pthread_mutex_lock(&rw->lock);
  const struct rw_mark *m = rw_mark_find(rw, probe, lp, spool, ls);
  uint64_t mark = m ? m->end : 0;
  pthread_mutex_unlock(&rw->lock);
  vt_buf_reset(&rw->line);
  enum vt_status st = VT_OK;
  size_t dup = 0;
  for (size_t i = 0; st == VT_OK && i < n;) {
    size_t at = rw_rec_begin(&rw->line, RW_REC_RESULTS, &st), cnt_at = 0,
           cnt = 0;
    if (st == VT_OK)
      st = rw_add_str(&rw->line, probe);
    if (st == VT_OK)
      st = rw_add_str(&rw->line, spool);
    if (st == VT_OK)
      st = rw_add_int(&rw->line, end, 8);
    cnt_at = rw->line.len;
    if (st == VT_OK)
      st = rw_add_int(&rw->line, 0, 4);
    for (; st == VT_OK && i < n && cnt < RW_REC_MAX_RESULTS; i++) {
      if (seq0 + order[i] < mark) {
        dup++;
        continue;
      }
      st = rw_add_result(&rw->line, &recs[order[i]]);
      cnt++;
    }
    if (st == VT_OK && !cnt) {
      rw->line.len = at;
      break;
    }
    if (st == VT_OK) {
      rw_put((unsigned char *)rw->line.data + cnt_at, cnt, 4);
      st = rw_rec_end(&rw->line, at);
    }
  }
  if (st != VT_OK) {
    vt_err("remote write: out of memory; %zu results not journalled", n);
    return st;
  }
  if (dup)
    vt_notice("remote write: probe %s: %zu results journalled before a "
              "restart not journalled again",
              probe, dup);
  if (!rw->line.len)
    return VT_OK;
  /* Durable before the batch is acknowledged: the caller commits after. */
  pthread_mutex_lock(&rw->lock);
  if (vt_write_all(rw->fd, rw->line.data, rw->line.len) != 0 ||
      fdatasync(rw->fd) != 0) {
    vt_err("remote write: %s/journal: %s; the batch is refused", rw->dir,
           strerror(errno));
    /* Whatever part was written is cut off again. */
    if (ftruncate(rw->fd, (off_t)rw->size) != 0)
      vt_err("remote write: %s/journal: cannot cut a failed write: %s", rw->dir,
             strerror(errno));
    st = VT_EIO;
  } else {
    rw->size += rw->line.len;
    st = rw_mark_set(rw, probe, lp, spool, ls, end);
  }
  pthread_cond_broadcast(&rw->wake);
  pthread_mutex_unlock(&rw->lock);
  return st;
}

/* Writes the cursor file ("generation offset") atomically. */
static void rw_save_cursor(const struct rw_receiver *r, uint64_t gen,
                           uint64_t cursor)
{
  char text[48];
  int n =
      snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64 "\n", gen, cursor);
  const char *what;
  if (vt_write_file_atomic(AT_FDCWD, r->cursor_path, text, (size_t)n, 0640,
                           VT_FS_DURABLE, &what) != 0)
    vt_err("remote write: %s: cannot save the cursor (%s): %s", r->cursor_path,
           what, strerror(errno));
}

/* Writes a journal of generation gen holding only its head record as
 * dir/journal (through a temporary file and a rename, durable); returns
 * its fd (O_APPEND) or -1 (logged). Under lock. */
static int rw_new_journal(struct remote_write *rw, uint64_t gen, uint64_t *len)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/journal", rw->dir);
  struct vt_buf b;
  vt_buf_init(&b, 0);
  int fd = -1;
  const char *what = "encode";
  if (rw_head(rw, &b, gen) != VT_OK ||
      vt_write_file_atomic(AT_FDCWD, path, b.data, b.len, 0640, VT_FS_DURABLE,
                           &what) != 0 ||
      (what = "open", fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0) {
    vt_err("remote write: %s: %s: %s", path, what, strerror(errno));
    vt_buf_cleanup(&b);
    return -1;
  }
  *len = b.len;
  vt_buf_cleanup(&b);
  return fd;
}

/* Starts a new, empty generation of the journal once every receiver has
 * sent all of it (under lock). The journal goes first: a cursor of an
 * older generation reads as the start of the new one. */
static void rw_maybe_truncate(struct remote_write *rw)
{
  for (size_t i = 0; i < rw->n_recv; i++)
    if (rw->recv[i].cursor != rw->size)
      return;
  if (rw->size <= rw->head_len)
    return;
  uint64_t len;
  int fd = rw_new_journal(rw, rw->gen + 1, &len);
  if (fd < 0)
    return;
  close(rw->fd);
  rw->fd = fd;
  rw->gen++;
  rw->size = rw->head_len = len;
  for (size_t i = 0; i < rw->n_recv; i++) {
    rw->recv[i].cursor = len;
    rw_save_cursor(&rw->recv[i], rw->gen, len);
  }
}

/* Reads the journal at open: checks every record, cuts a torn tail, takes
 * the generation and rebuilds the marks. Returns false when the file does
 * not start with a valid head record (empty, corrupt or of an earlier
 * version). */
static bool rw_scan(struct remote_write *rw)
{
  uint64_t off = 0;
  bool ok = true;
  for (;;) {
    unsigned char h[4];
    ssize_t got = pread(rw->fd, h, 4, (off_t)off);
    if (got == 0 && off == rw->size) {
      ok = off > 0; /* an empty file has no head record yet */
      break;
    }
    size_t len = got == 4 ? (size_t)rw_get(h, 4) : 0;
    bool good = false;
    if (len >= 2 && len <= RW_REC_MAX && off + 8 + len <= rw->size) {
      unsigned char *body = malloc(len + 4);
      if (body &&
          pread(rw->fd, body, len + 4, (off_t)(off + 4)) ==
              (ssize_t)(len + 4) &&
          rw_crc(body, len) == (uint32_t)rw_get(body + len, 4) &&
          body[0] == RW_VERSION &&
          (body[1] == RW_REC_RESULTS || (body[1] == RW_REC_HEAD && !off)) &&
          (off || body[1] == RW_REC_HEAD)) {
        struct rw_rd r = {body + 2, body + len, false};
        if (body[1] == RW_REC_HEAD) {
          rw->gen = rw_rd_int(&r, 8);
          for (uint64_t i = 0, n = rw_rd_int(&r, 4); !r.bad && i < n; i++) {
            size_t lp, ls;
            const char *pr = rw_rd_str(&r, &lp), *sp = rw_rd_str(&r, &ls);
            uint64_t end = rw_rd_int(&r, 8);
            if (!r.bad && rw_mark_set(rw, pr, lp, sp, ls, end) != VT_OK)
              r.bad = true;
          }
          rw->head_len = 8 + len;
        } else {
          size_t lp, ls;
          const char *pr = rw_rd_str(&r, &lp), *sp = rw_rd_str(&r, &ls);
          uint64_t end = rw_rd_int(&r, 8);
          if (!r.bad && rw_mark_set(rw, pr, lp, sp, ls, end) != VT_OK)
            r.bad = true;
        }
        good = !r.bad;
      }
      free(body);
    }
    if (!good) {
      if (!off) {
        ok = false;
        break;
      }
      vt_warn("remote write: %s/journal: torn or corrupt record at byte "
              "%" PRIu64 " (a crash while writing a batch that was not "
              "acknowledged): %" PRIu64 " bytes cut off",
              rw->dir, off, rw->size - off);
      if (ftruncate(rw->fd, (off_t)off) == 0)
        rw->size = off;
      break;
    }
    off += 8 + len;
  }
  return ok;
}

/* ---- protobuf (prometheus.WriteRequest) -----------------------------------
 */

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

/* A run of encoded bytes inside a buffer. */
struct pb_span {
  size_t off, len;
};

/* Label { string name = 1; string value = 2; } as field 1 of TimeSeries,
 * value[0..lv) (a journal string is not NUL-terminated); sp gets where it
 * is in b. */
static enum vt_status pb_label_n(struct vt_buf *b, const char *name,
                                 const char *value, size_t lv,
                                 struct pb_span *sp)
{
  sp->off = b->len;
  size_t ln = strlen(name);
  size_t len = 1 + pb_varint_len(ln) + ln + 1 + pb_varint_len(lv) + lv;
  enum vt_status st = pb_varint(b, 1 << 3 | 2);
  if (st == VT_OK)
    st = pb_varint(b, len);
  if (st == VT_OK)
    st = pb_bytes(b, 1, name, ln);
  if (st == VT_OK)
    st = pb_bytes(b, 2, value, lv);
  sp->len = b->len - sp->off;
  return st;
}

static enum vt_status pb_label_span(struct vt_buf *b, const char *name,
                                    const char *value, struct pb_span *sp)
{
  return pb_label_n(b, name, value, strlen(value), sp);
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

/* Encodes the whole journal records data[0..len) into req; lab is scratch
 * for the labels of a result. Records other than results are passed
 * over. */
static enum vt_status rw_encode(const unsigned char *data, size_t len,
                                struct vt_buf *req, struct vt_buf *lab)
{
  static const char *const phases[] = {"total", "dns", "connect", "tls",
                                       "ttfb"};
  vt_buf_reset(req);
  /* The labels every result shares a value set of, encoded once. */
  vt_buf_reset(lab);
  struct pb_span up, lat, ph[5];
  enum vt_status st = pb_label_span(lab, "__name__", "vantage_up", &up);
  if (st == VT_OK)
    st = pb_label_span(lab, "__name__", "vantage_latency_ms", &lat);
  for (size_t p = 0; st == VT_OK && p < 5; p++)
    st = pb_label_span(lab, "phase", phases[p], &ph[p]);
  size_t fixed = lab->len;
  for (size_t off = 0; st == VT_OK && off + 8 <= len;) {
    size_t rl = (size_t)rw_get(data + off, 4);
    struct rw_rd r = {data + off + 4, data + off + 4 + rl, false};
    off += 8 + rl;
    if (rl < 2 || r.p[0] != RW_VERSION || r.p[1] != RW_REC_RESULTS)
      continue;
    r.p += 2;
    size_t lp, ls;
    const char *probe = rw_rd_str(&r, &lp);
    (void)rw_rd_str(&r, &ls);
    (void)rw_rd_int(&r, 8);
    uint64_t n = rw_rd_int(&r, 4);
    for (uint64_t i = 0; st == VT_OK && !r.bad && i < n; i++) {
      int64_t t = (int64_t)rw_rd_int(&r, 8);
      unsigned flags = (unsigned)rw_rd_int(&r, 1);
      size_t lt, lh, la, lc;
      const char *tg_s = rw_rd_str(&r, &lt), *h_s = rw_rd_str(&r, &lh),
                 *a_s = rw_rd_str(&r, &la), *c_s = rw_rd_str(&r, &lc);
      if (r.bad)
        break;
      lab->len = fixed;
      struct pb_span a, c, h, pr, tg;
      st = pb_label_n(lab, "address", a_s, la, &a);
      if (st == VT_OK)
        st = pb_label_n(lab, "check", c_s, lc, &c);
      if (st == VT_OK)
        st = pb_label_n(lab, "host", h_s, lh, &h);
      if (st == VT_OK)
        st = pb_label_n(lab, "probe", probe, lp, &pr);
      if (st == VT_OK)
        st = pb_label_n(lab, "target", tg_s, lt, &tg);
      /* address, check and host are adjacent in lab, as probe and
       * target. */
      struct pb_span mid = {a.off, a.len + c.len + h.len},
                     tail = {pr.off, pr.len + tg.len};
      if (st == VT_OK)
        st = pb_series(req, lab, (struct pb_span[]){up, mid, tail}, 3,
                       flags & 1 ? 1.0 : 0.0, t);
      for (size_t p = 0; st == VT_OK && p < 5; p++)
        if (flags & (2u << p)) {
          double v = rw_rd_double(&r);
          st = pb_series(req, lab, (struct pb_span[]){lat, mid, ph[p], tail}, 4,
                         v, t);
        }
    }
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
  size_t cap = RW_BATCH_BYTES;
  unsigned char *text = malloc(cap);
  char *packed = NULL;
  size_t packed_cap = 0;
  double backoff = 0.5;
  char err[CURL_ERROR_SIZE];
  pthread_mutex_lock(&rw->lock);
  while (!rw->stop && curl && text) {
    if (r->cursor > rw->size || r->cursor < rw->head_len)
      r->cursor = rw->head_len; /* a new generation began */
    if (r->cursor == rw->size) {
      rw_wait(rw, 1.0);
      continue;
    }
    /* No new generation can begin while this cursor is behind. */
    uint64_t from = r->cursor, avail = rw->size - from;
    int fd = rw->fd;
    pthread_mutex_unlock(&rw->lock);
    size_t want = avail < cap ? (size_t)avail : cap;
    ssize_t got = pread(fd, text, want, (off_t)from);
    size_t whole = 0, first = 0;
    while (got > 0 && whole + 4 <= (size_t)got) {
      size_t rl = 8 + (size_t)rw_get(text + whole, 4);
      if (!whole)
        first = rl;
      if (whole + rl > (size_t)got)
        break;
      whole += rl;
    }
    if (!whole && first > cap && first <= avail && first <= RW_REC_MAX + 8) {
      /* A record larger than the buffer: read it whole next time. */
      unsigned char *bigger = realloc(text, first);
      pthread_mutex_lock(&rw->lock);
      if (bigger) {
        text = bigger;
        cap = first;
        continue;
      }
      break;
    }
    long code = -1;
    snprintf(err, sizeof(err), "cannot read the journal");
    if (whole) {
      enum vt_status st = rw_encode(text, whole, &req, &ts);
      size_t need = snappy_max_compressed_length(req.len);
      if (st == VT_OK && need > packed_cap) {
        free(packed);
        packed = malloc(need);
        packed_cap = packed ? need : 0;
      }
      size_t plen = packed_cap;
      if (st == VT_OK && !req.len)
        code = 204; /* records without samples: nothing to send */
      else if (st == VT_OK && packed &&
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
      rw_save_cursor(r, rw->gen, r->cursor);
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
      rw_save_cursor(r, rw->gen, r->cursor);
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
  pthread_once(&rw_crc_once, rw_crc_init);
  char path[PATH_MAX];
  if (!(rw->dir = strdup(dir))) {
    remote_write_close(rw);
    return NULL;
  }
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
  bool fresh = false;
  if (!rw_scan(rw)) {
    /* Empty, or not this version's journal: a new one (what was there is
     * kept aside for the operator). */
    if (rw->size) {
      char aside[PATH_MAX + 48];
      struct stat ab;
      for (int k = 0; k < 100; k++) {
        snprintf(aside, sizeof(aside), "%s.unreadable-%ld.%d", path,
                 (long)time(NULL), k);
        if (lstat(aside, &ab) != 0)
          break;
      }
      vt_err("remote write: %s: not a journal of this version (%" PRIu64
             " bytes); moved aside as %s, results in it are not sent",
             path, rw->size, aside);
      if (rename(path, aside) != 0)
        vt_err("remote write: %s: %s", aside, strerror(errno));
    }
    close(rw->fd);
    rw->fd = rw_new_journal(rw, 1, &rw->size);
    if (rw->fd < 0) {
      *st = VT_EIO;
      remote_write_close(rw);
      return NULL;
    }
    rw->gen = 1;
    rw->head_len = rw->size;
    fresh = true;
  }
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
    unsigned long long g = 0, c = 0;
    bool known = false;
    if (f) {
      known = fscanf(f, "%llu %llu", &g, &c) == 2 && !fresh;
      fclose(f);
    }
    if (!known) {
      /* A new receiver gets what is stored from now on. */
      g = rw->gen;
      c = rw->size;
      rw_save_cursor(r, g, c);
    }
    /* A cursor of an earlier generation had sent all of it; one past the
     * end met a torn tail cut off. */
    r->cursor = g < rw->gen || c < rw->head_len ? rw->head_len
                : c > rw->size                  ? rw->size
                                                : c;
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
  for (size_t i = 0; i < rw->n_marks; i++) {
    free(rw->marks[i].probe);
    free(rw->marks[i].spool);
  }
  free(rw->marks);
  free(rw->dir);
  vt_buf_cleanup(&rw->line);
  pthread_cond_destroy(&rw->wake);
  pthread_mutex_destroy(&rw->lock);
  free(rw);
}
