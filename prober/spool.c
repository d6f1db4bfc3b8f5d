/* SPDX-License-Identifier: MIT */
/* Append-only segmented spool (see spool.h). */
#include "config.h"

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "fsutil.h"
#include "log.h"
#include "wire.h"

struct spool {
  char *dir;
  int dir_fd;
  int lock_fd;
  int fd;             /* current segment */
  uint64_t seg_first; /* number of the first record in the segment */
  uint64_t next;      /* number of the next record */
  size_t seg_bytes;   /* size of the current segment */
  size_t seg_max;
  enum probe_fsync policy;
  bool dirty;
  bool failing;       /* in a failure streak: log once */
  bool rotate_next;   /* a write failed: the next record starts a segment */
  uint64_t max_bytes; /* cap; 0 = none */
  enum probe_spool_full full; /* what to do at the cap */
  uint64_t total;             /* bytes of all segments (an upper bound) */
  struct timespec counted;    /* the directory's mtime when total was */
  bool capped;                /* refusing at the cap: log once */
  uint64_t streak_lost;       /* records lost in the current streak */
  struct spool_stats stats;
  char id[SPOOL_ID_HEXLEN + 1];
  /* Batching (spool_batch): records appended and not written yet, each
   * with its newline. With fsync "always" they are written (and synced)
   * when the loop iteration ends; else when they reach SPOOL_HOLD_BYTES or
   * the oldest is SPOOL_HOLD_S old. */
  struct ev_loop *loop; /* NULL: every append writes at once */
  ev_prepare flusher;   /* "always": at the end of each iteration */
  ev_timer aging;       /* other policies: the oldest held record's age */
  struct vt_buf pend;
  uint64_t pend_n;
};

/* Bytes of appended records held before they are written anyway: per loop
 * iteration ("always"), and coalesced over iterations (other policies). */
#define SPOOL_PEND_MAX (1u << 20)

#define SPOOL_SEG_PREFIX "seg-"
#define SPOOL_SEG_SUFFIX ".jsonl"
#define SPOOL_SEG_DIGITS 20

void spool_segment_file(uint64_t first, char *out, size_t size)
{
  snprintf(out, size, SPOOL_SEG_PREFIX "%020" PRIu64 SPOOL_SEG_SUFFIX, first);
}

bool spool_segment_parse(const char *name, uint64_t *first)
{
  size_t pl = strlen(SPOOL_SEG_PREFIX), sl = strlen(SPOOL_SEG_SUFFIX);
  if (strncmp(name, SPOOL_SEG_PREFIX, pl) != 0 ||
      strlen(name) != pl + SPOOL_SEG_DIGITS + sl ||
      strcmp(name + pl + SPOOL_SEG_DIGITS, SPOOL_SEG_SUFFIX) != 0)
    return false;
  uint64_t v = 0;
  for (const char *p = name + pl; p < name + pl + SPOOL_SEG_DIGITS; p++) {
    if (*p < '0' || *p > '9')
      return false;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false; /* more than 64 bits */
    v = 10 * v + d;
  }
  *first = v;
  return true;
}

static int spool_cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

enum vt_status spool_list(const char *dir, uint64_t **segs, size_t *n)
{
  *segs = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return VT_EIO;
  enum vt_status st = VT_OK;
  size_t alloc = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    uint64_t first;
    if (!spool_segment_parse(de->d_name, &first))
      continue;
    if (*n == alloc) {
      size_t na = alloc ? 2 * alloc : 16;
      uint64_t *p = realloc(*segs, na * sizeof(*p));
      if (!p) {
        st = VT_ENOMEM;
        break;
      }
      *segs = p;
      alloc = na;
    }
    (*segs)[(*n)++] = first;
  }
  closedir(d);
  if (st != VT_OK) {
    free(*segs);
    *segs = NULL;
    *n = 0;
    return st;
  }
  if (*n)
    qsort(*segs, *n, sizeof(**segs), spool_cmp_u64);
  return VT_OK;
}

/* ---- identity ----------------------------------------------------------- */

static enum vt_status spool_id_read(int dir_fd, char *out)
{
  int fd = openat(dir_fd, "id", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? VT_ENOTFOUND : VT_EIO;
  char buf[SPOOL_ID_HEXLEN + 2];
  ssize_t got = read(fd, buf, sizeof(buf));
  close(fd);
  if (got < 0)
    return VT_EIO;
  if (got > 0 && buf[got - 1] == '\n')
    got--;
  if (got != SPOOL_ID_HEXLEN)
    return VT_EINVAL;
  buf[got] = '\0';
  if (!vt_wire_spool_ok(buf))
    return VT_EINVAL;
  memcpy(out, buf, SPOOL_ID_HEXLEN + 1);
  return VT_OK;
}

enum vt_status spool_id_load(const char *dir, char *out)
{
  int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return VT_EIO;
  enum vt_status st = spool_id_read(dir_fd, out);
  close(dir_fd);
  return st;
}

/* Reads the spool's id, or creates it (random, written durably: temporary
 * file, fsync, rename, fsync of the directory). An unreadable or damaged
 * id is not replaced: that would make the collector take the records that
 * follow for a new spool's and store the re-sent ones twice. */
static int spool_id_init(struct spool *sp, bool has_segments)
{
  enum vt_status st = spool_id_read(sp->dir_fd, sp->id);
  if (st == VT_OK && has_segments)
    return 0;
  if (st == VT_OK) {
    /* The segment appended to is never deleted, so an id without any
     * segment means they were removed by hand: the records are numbered
     * from 0 again, which the old identity's collectors would take for
     * duplicates. */
    vt_warn("spool: %s: id %s but no segments (removed by hand?): starting "
            "a new spool identity",
            sp->dir, sp->id);
    st = VT_ENOTFOUND;
  }
  if (st != VT_ENOTFOUND) {
    vt_err("spool: %s/id: %s; remove it to start a new spool identity (the "
           "collector then counts the records from 0 again)",
           sp->dir,
           st == VT_EINVAL ? "not 32 lowercase hex digits" : strerror(errno));
    return -1;
  }
  unsigned char rnd[SPOOL_ID_HEXLEN / 2];
  int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  bool ok = rfd >= 0 && read(rfd, rnd, sizeof(rnd)) == (ssize_t)sizeof(rnd);
  if (rfd >= 0)
    close(rfd);
  if (!ok) {
    vt_err("spool: cannot read /dev/urandom: %s", strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < sizeof(rnd); i++)
    snprintf(sp->id + 2 * i, 3, "%02x", rnd[i]);
  char text[SPOOL_ID_HEXLEN + 2];
  int len = snprintf(text, sizeof(text), "%s\n", sp->id);
  const char *what;
  if (vt_write_file_atomic(sp->dir_fd, "id", text, (size_t)len, 0640,
                           VT_FS_DURABLE, &what) != 0)
    goto fail;
  vt_notice("spool: %s: new spool, id %s", sp->dir, sp->id);
  return 0;
fail:
  vt_err("spool: %s/id: cannot %s: %s", sp->dir, what, strerror(errno));
  return -1;
}

const char *spool_id(const struct spool *sp)
{
  return sp->id;
}

/* ---- space -------------------------------------------------------------- */

static bool spool_same_time(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Counts the bytes of every segment again when the directory changed since
 * the last count (the uploader deletes acknowledged segments by itself;
 * between two counts the total only grows by our appends, so it stays an
 * upper bound). */
static void spool_recount(struct spool *sp, bool always)
{
  struct stat ds;
  if (fstat(sp->dir_fd, &ds) != 0)
    return;
  if (!always && spool_same_time(&ds.st_mtim, &sp->counted))
    return;
  uint64_t *segs;
  size_t n;
  if (spool_list(sp->dir, &segs, &n) != VT_OK)
    return;
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    char name[64];
    struct stat st;
    spool_segment_file(segs[i], name, sizeof(name));
    if (fstatat(sp->dir_fd, name, &st, 0) == 0)
      total += (uint64_t)st.st_size;
  }
  free(segs);
  sp->total = total;
  sp->counted = ds.st_mtim;
}

/* Deletes the oldest segment that is not the one appended to, counting its
 * records as dropped. False when there is none. */
static bool spool_drop_oldest(struct spool *sp, const char *why)
{
  uint64_t *segs;
  size_t n;
  if (spool_list(sp->dir, &segs, &n) != VT_OK)
    return false;
  bool done = false;
  if (n >= 2 && segs[0] != sp->seg_first) {
    char name[64];
    struct stat st;
    spool_segment_file(segs[0], name, sizeof(name));
    off_t size = fstatat(sp->dir_fd, name, &st, 0) == 0 ? st.st_size : 0;
    if (unlinkat(sp->dir_fd, name, 0) == 0) {
      uint64_t records = segs[1] - segs[0];
      bool first = sp->stats.dropped == 0;
      sp->stats.dropped += records;
      sp->total = sp->total > (uint64_t)size ? sp->total - (uint64_t)size : 0;
      VT_LOG(first ? VT_LOG_WARNING : VT_LOG_INFO,
             "spool: %s: %s: dropped the oldest %" PRIu64 " records (%" PRIu64
             " to %" PRIu64
             ", not yet acknowledged by every collector); %" PRIu64
             " dropped since the start",
             sp->dir, why, records, segs[0], segs[1] - 1, sp->stats.dropped);
      done = true;
    } else if (errno == ENOENT) {
      done = true; /* the uploader was quicker */
    } else {
      vt_err("spool: %s/%s: cannot delete: %s", sp->dir, name, strerror(errno));
    }
  }
  free(segs);
  return done;
}

/* Segment size for a volume of fs_bytes (0: unknown) and a cap. */
static size_t spool_segment_size(uint64_t fs_bytes, uint64_t max_bytes)
{
  uint64_t seg = SPOOL_SEGMENT_BYTES;
  if (fs_bytes && fs_bytes / 64 < seg)
    seg = fs_bytes / 64;
  if (max_bytes && max_bytes / 16 < seg)
    seg = max_bytes / 16;
  if (seg < SPOOL_SEGMENT_MIN)
    seg = SPOOL_SEGMENT_MIN;
  return (size_t)seg;
}

/* Opens segment first for appending; cuts a torn last line and counts the
 * records in it. */
static int spool_open_segment(struct spool *sp, uint64_t first, bool existing)
{
  char name[64];
  spool_segment_file(first, name, sizeof(name));
  int fd =
      openat(sp->dir_fd, name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    vt_err("spool: %s/%s: cannot open: %s", sp->dir, name, strerror(errno));
    return -1;
  }
  uint64_t records = 0;
  off_t good = 0, pos = 0;
  if (existing) {
    char buf[65536];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
          records++;
          good = pos + i + 1;
        }
      }
      pos += n;
    }
    if (n < 0) {
      vt_err("spool: %s/%s: cannot read: %s", sp->dir, name, strerror(errno));
      close(fd);
      return -1;
    }
    if (good != pos) {
      vt_warn("spool: %s/%s: cutting a torn record of %lld bytes at the end "
              "(left by a crash)",
              sp->dir, name, (long long)(pos - good));
      if (ftruncate(fd, good) != 0) {
        vt_err("spool: %s/%s: cannot truncate: %s", sp->dir, name,
               strerror(errno));
        close(fd);
        return -1;
      }
    }
  }
  sp->fd = fd;
  sp->seg_first = first;
  sp->next = first + records;
  sp->seg_bytes = (size_t)good;
  return 0;
}

struct spool *spool_open(const char *dir, enum probe_fsync policy,
                         size_t segment_bytes, enum vt_status *st)
{
  *st = VT_EIO;
  struct spool *sp = calloc(1, sizeof(*sp));
  if (!sp || !(sp->dir = strdup(dir))) {
    free(sp);
    *st = VT_ENOMEM;
    return NULL;
  }
  sp->dir_fd = sp->lock_fd = sp->fd = -1;
  sp->policy = policy;
  sp->seg_max = segment_bytes;

  if (vt_mkdir_p(dir, 0750) != 0) {
    vt_err("spool: %s: cannot create: %s", dir, strerror(errno));
    goto fail;
  }
  sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sp->dir_fd < 0) {
    vt_err("spool: %s: cannot open: %s", dir, strerror(errno));
    goto fail;
  }
  sp->lock_fd = openat(sp->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    vt_err("spool: %s: %s", dir,
           errno == EWOULDBLOCK ? "in use by another probe (lock held)"
                                : strerror(errno));
    goto fail;
  }

  if (!segment_bytes) {
    struct statvfs vfs;
    uint64_t fs = fstatvfs(sp->dir_fd, &vfs) == 0
                      ? (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize
                      : 0;
    sp->seg_max = spool_segment_size(fs, 0);
  }

  /* Continue the newest segment. */
  uint64_t *segs;
  size_t n;
  if (spool_list(dir, &segs, &n) != VT_OK) {
    vt_err("spool: %s: cannot list: %s", dir, strerror(errno));
    goto fail;
  }
  uint64_t newest = n ? segs[n - 1] : 0;
  free(segs);
  if (spool_id_init(sp, n > 0) != 0)
    goto fail;
  if (spool_open_segment(sp, newest, n > 0) != 0)
    goto fail;
  spool_recount(sp, true);
  vt_info("spool: %s: open, id %s, next record %" PRIu64 ", %" PRIu64
          " bytes in %zu segment%s of at most %zu, fsync %s",
          dir, sp->id, sp->next, sp->total, n ? n : 1, n > 1 ? "s" : "",
          sp->seg_max,
          policy == PROBE_FSYNC_ALWAYS     ? "always"
          : policy == PROBE_FSYNC_INTERVAL ? "interval"
                                           : "never");
  *st = VT_OK;
  return sp;

fail:
  spool_close(sp);
  return NULL;
}

void spool_set_cap(struct spool *sp, uint64_t max_bytes,
                   enum probe_spool_full full)
{
  sp->max_bytes = max_bytes;
  sp->full = full;
  if (max_bytes) {
    size_t seg = spool_segment_size(0, max_bytes);
    if (seg < sp->seg_max)
      sp->seg_max = seg;
    vt_info("spool: %s: at most %" PRIu64 " bytes (%s beyond), segments of "
            "at most %zu",
            sp->dir, max_bytes,
            full == PROBE_SPOOL_REFUSE ? "new records refused"
                                       : "the oldest dropped",
            sp->seg_max);
  }
}

/* n records could not be written: counted, and logged once per streak. */
static enum vt_status spool_failed_n(struct spool *sp, const char *what,
                                     uint64_t n)
{
  if (!sp->failing)
    vt_err("spool: %s: %s: %s (results are not spooled until this clears)",
           sp->dir, what, strerror(errno));
  sp->failing = true;
  sp->stats.lost += n;
  sp->streak_lost += n;
  return VT_EIO;
}

static enum vt_status spool_failed(struct spool *sp, const char *what)
{
  return spool_failed_n(sp, what, 1);
}

static void spool_recovered(struct spool *sp)
{
  if (!sp->failing)
    return;
  vt_notice("spool: %s: writing again (%" PRIu64 " results could not be "
            "spooled meanwhile, %" PRIu64 " since the start)",
            sp->dir, sp->streak_lost, sp->stats.lost);
  sp->failing = false;
  sp->streak_lost = 0;
}

/* Starts the segment of the next record. The new file is created before
 * anything else; its name is synced with the directory. */
static enum vt_status spool_rotate(struct spool *sp)
{
  char name[64];
  spool_segment_file(sp->next, name, sizeof(name));
  int fd =
      openat(sp->dir_fd, name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    return spool_failed(sp, "create a segment");
  /* A failed sync of the full segment is logged (once) but does not stop
   * the rotation: the new segment is what lets the spool recover. */
  if (sp->dirty && fdatasync(sp->fd) != 0 && !sp->failing)
    vt_err("spool: %s: fdatasync: %s", sp->dir, strerror(errno));
  close(sp->fd);
  sp->fd = fd;
  sp->seg_first = sp->next;
  sp->seg_bytes = 0;
  sp->dirty = false;
  sp->rotate_next = false;
  fsync(sp->dir_fd);
  return VT_OK;
}

/* Makes room under the cap for need bytes; VT_EFULL when the policy
 * refuses the record. */
static enum vt_status spool_make_room(struct spool *sp, size_t need)
{
  if (!sp->max_bytes || sp->total + need <= sp->max_bytes)
    return VT_OK;
  spool_recount(sp, false);
  while (sp->total + need > sp->max_bytes) {
    if (sp->full == PROBE_SPOOL_REFUSE) {
      if (!sp->capped)
        vt_err("spool: %s: full (%" PRIu64 " of at most %" PRIu64 " bytes): "
               "refusing new results until the collectors catch up",
               sp->dir, sp->total, sp->max_bytes);
      sp->capped = true;
      sp->stats.refused++;
      return VT_EFULL;
    }
    /* The segment appended to goes last: start a new one first. */
    if (!spool_drop_oldest(sp, "at its cap") &&
        (sp->seg_bytes == 0 || spool_rotate(sp) != VT_OK ||
         !spool_drop_oldest(sp, "at its cap")))
      break; /* nothing left to drop: try the write anyway */
  }
  return VT_OK;
}

static enum vt_status spool_datasync(struct spool *sp);

/* The cap's verdict on need more bytes, with the notice when the spool
 * leaves its cap. */
static enum vt_status spool_admit(struct spool *sp, size_t need)
{
  enum vt_status st = spool_make_room(sp, need);
  if (st != VT_OK)
    return st;
  if (sp->capped) {
    vt_notice("spool: %s: below its cap again (%" PRIu64 " results refused "
              "since the start)",
              sp->dir, sp->stats.refused);
    sp->capped = false;
  }
  return VT_OK;
}

/* Writes n whole records (len bytes, each with its newline, from iov) at
 * the end of the current segment, which has room for them. */
static enum vt_status spool_write(struct spool *sp, struct iovec *iov,
                                  int iovcnt, size_t len, uint64_t n)
{
  /* One writev: O_APPEND keeps the lines whole, and a record is not copied
   * to add its newline. */
  for (int attempt = 0;; attempt++) {
    ssize_t w = writev(sp->fd, iov, iovcnt);
    if (w == (ssize_t)len)
      break;
    if (w >= 0) {
      /* Short write (volume full): undo it so the segment stays whole. */
      if (ftruncate(sp->fd, (off_t)sp->seg_bytes) != 0)
        vt_err("spool: %s: cannot undo a short write: %s", sp->dir,
               strerror(errno));
      errno = ENOSPC;
    }
    /* The volume is full: with drop_oldest, the oldest records give way
     * (once per record written), else these are lost. */
    int err = errno ? errno : ENOSPC;
    if (err == ENOSPC && (uint64_t)attempt < n &&
        sp->full == PROBE_SPOOL_DROP_OLDEST &&
        spool_drop_oldest(sp, "the volume is full"))
      continue;
    errno = err;
    /* The next record starts a new segment, so that this one can be
     * deleted once the collectors acknowledge it. */
    sp->rotate_next = true;
    return spool_failed_n(sp, "write", n);
  }
  sp->seg_bytes += len;
  sp->total += len;
  sp->next += n;
  sp->dirty = true;
  if (sp->policy == PROBE_FSYNC_ALWAYS)
    return spool_datasync(sp);
  spool_recovered(sp);
  return VT_OK;
}

/* Starts a new segment when the record of need bytes does not belong in
 * the current one. */
static enum vt_status spool_place(struct spool *sp, size_t need)
{
  if (sp->seg_bytes > 0 &&
      (sp->rotate_next || sp->seg_bytes + need > sp->seg_max))
    return spool_rotate(sp);
  return VT_OK;
}

/* Writes the records held by batching: runs of records that fit in one
 * segment, one write each (in a steady probe, one write per loop
 * iteration). A run that cannot be written is lost and counted, as a
 * single record would be. */
void spool_flush(struct spool *sp)
{
  if (sp->loop && ev_is_active(&sp->aging)) {
    ev_ref(sp->loop);
    ev_timer_stop(sp->loop, &sp->aging);
  }
  if (sp->pend_n == 0)
    return;
  const char *p = sp->pend.data, *end = p + sp->pend.len;
  uint64_t written = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t first = (size_t)(nl - p) + 1;
    if (spool_place(sp, first) != VT_OK) {
      p += first; /* lost and counted, like an unbatched record */
      continue;
    }
    const char *q = p + first;
    uint64_t n = 1;
    while (q < end) {
      const char *e = memchr(q, '\n', (size_t)(end - q));
      size_t rl = (size_t)(e - q) + 1;
      if (sp->seg_bytes + (size_t)(q - p) + rl > sp->seg_max)
        break;
      q += rl;
      n++;
    }
    struct iovec iov = {.iov_base = (void *)p, .iov_len = (size_t)(q - p)};
    if (spool_write(sp, &iov, 1, (size_t)(q - p), n) == VT_OK)
      written += n;
    p = q;
  }
  sp->stats.lost_held += sp->pend_n - written;
  vt_debug("spool: %s: %" PRIu64 " of %" PRIu64 " records written in one "
           "go",
           sp->dir, written, sp->pend_n);
  vt_buf_reset(&sp->pend);
  sp->pend_n = 0;
  if (sp->pend.alloc > 2 * SPOOL_PEND_MAX)
    vt_buf_cleanup(&sp->pend);
}

static void spool_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
  (void)loop;
  (void)revents;
  spool_flush(w->data);
}

static void spool_aging_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)revents;
  ev_ref(loop); /* the timer stopped by itself: undo its ev_unref */
  spool_flush(w->data);
}

void spool_batch(struct spool *sp, struct ev_loop *loop)
{
  if (sp->loop)
    return;
  sp->loop = loop;
  ev_prepare_init(&sp->flusher, spool_flush_cb);
  sp->flusher.data = sp;
  ev_timer_init(&sp->aging, spool_aging_cb, SPOOL_HOLD_S, 0.);
  sp->aging.data = sp;
  if (sp->policy == PROBE_FSYNC_ALWAYS) {
    ev_prepare_start(loop, &sp->flusher);
    /* The watcher alone must not keep the loop running. */
    ev_unref(loop);
  }
}

/* A record was held: the first of a batch starts the clock of its age;
 * a batch that is big enough goes now. */
static void spool_held(struct spool *sp, bool first)
{
  if (sp->policy == PROBE_FSYNC_ALWAYS) {
    if (sp->pend.len >= SPOOL_PEND_MAX)
      spool_flush(sp);
    return;
  }
  if (sp->pend.len >= SPOOL_HOLD_BYTES) {
    spool_flush(sp);
  } else if (first && !ev_is_active(&sp->aging)) {
    ev_timer_set(&sp->aging, SPOOL_HOLD_S, 0.);
    ev_timer_start(sp->loop, &sp->aging);
    ev_unref(sp->loop); /* nor does this timer */
  }
}

enum vt_status spool_append(struct spool *sp, const char *rec, size_t len)
{
  if (sp->fd < 0)
    return VT_EIO;
  size_t need = len + 1;
  if (sp->loop) {
    /* Batching: the cap's verdict now (the records held count), the write
     * when the loop iteration ends. */
    enum vt_status st = spool_admit(sp, sp->pend.len + need);
    if (st != VT_OK)
      return st;
    size_t held = sp->pend.len;
    if (vt_buf_add(&sp->pend, rec, len) == VT_OK &&
        vt_buf_add(&sp->pend, "\n", 1) == VT_OK) {
      spool_held(sp, sp->pend_n++ == 0);
      return VT_OK;
    }
    /* Out of memory: what is held goes now, this record unbatched. */
    sp->pend.len = held;
    spool_flush(sp);
  }
  enum vt_status st = spool_place(sp, need);
  if (st != VT_OK)
    return st;
  if ((st = spool_admit(sp, need)) != VT_OK)
    return st;
  struct iovec iov[2] = {{.iov_base = (void *)rec, .iov_len = len},
                         {.iov_base = "\n", .iov_len = 1}};
  return spool_write(sp, iov, 2, need, 1);
}

enum vt_status spool_sync(struct spool *sp)
{
  spool_flush(sp);
  return spool_datasync(sp);
}

/* Syncs what was written. */
static enum vt_status spool_datasync(struct spool *sp)
{
  if (!sp->dirty || sp->fd < 0)
    return VT_OK;
  if (fdatasync(sp->fd) != 0) {
    if (!sp->failing)
      vt_err("spool: %s: fdatasync: %s (results may be lost on a power "
             "failure)",
             sp->dir, strerror(errno));
    sp->failing = true;
    sp->rotate_next = true;
    return VT_EIO;
  }
  sp->dirty = false;
  spool_recovered(sp);
  return VT_OK;
}

uint64_t spool_next_record(const struct spool *sp)
{
  return sp->next + sp->pend_n;
}

void spool_get_stats(struct spool *sp, struct spool_stats *out)
{
  spool_recount(sp, false); /* the uploader deletes segments by itself */
  *out = sp->stats;
  out->bytes = sp->total;
}

enum vt_status spool_quarantine(const char *dir, uint64_t rec, const char *line,
                                size_t len, const char *who, const char *why)
{
  /* The record as text, not parsed: it may not be JSON at all. A line
   * that is not even UTF-8 is kept in hex. */
  json_t *o = json_pack("{s:I, s:f, s:s, s:s}", "record", (json_int_t)rec, "at",
                        (double)time(NULL), "collector", who, "reason", why);
  json_t *text_line = json_stringn(line, len);
  if (o && text_line) {
    json_object_set_new(o, "line", text_line);
  } else if (o) {
    char *hex = malloc(2 * len + 1);
    for (size_t i = 0; hex && i < len; i++)
      snprintf(hex + 2 * i, 3, "%02x", (unsigned char)line[i]);
    if (hex)
      hex[2 * len] = '\0';
    if (!hex || json_object_set_new(o, "line_hex", json_string(hex)) != 0) {
      json_decref(o);
      o = NULL;
    }
    free(hex);
  }
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!text)
    return VT_ENOMEM;
  enum vt_status st = VT_EIO;
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, SPOOL_QUARANTINE_FILE);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd >= 0) {
    size_t tl = strlen(text);
    text[tl] = '\n';
    errno = ENOSPC;
    if (write(fd, text, tl + 1) == (ssize_t)(tl + 1) && fdatasync(fd) == 0)
      st = VT_OK;
    int saved = errno;
    close(fd);
    errno = saved;
  }
  free(text);
  return st;
}

void spool_close(struct spool *sp)
{
  if (!sp)
    return;
  if (sp->fd >= 0) {
    spool_flush(sp);
    if (sp->policy != PROBE_FSYNC_NEVER)
      (void)spool_sync(sp);
    close(sp->fd);
  }
  if (sp->loop) {
    spool_flush(sp); /* stops the aging timer (nothing held: no write) */
    if (sp->policy == PROBE_FSYNC_ALWAYS) {
      ev_ref(sp->loop);
      ev_prepare_stop(sp->loop, &sp->flusher);
    }
  }
  vt_buf_cleanup(&sp->pend);
  if (sp->lock_fd >= 0)
    close(sp->lock_fd);
  if (sp->dir_fd >= 0)
    close(sp->dir_fd);
  free(sp->dir);
  free(sp);
}

bool spool_quarantine_max(const char *dir, const char *who, uint64_t *max)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, SPOOL_QUARANTINE_FILE);
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  bool found = false;
  char *line = NULL;
  size_t alloc = 0;
  ssize_t len;
  while ((len = getline(&line, &alloc, f)) > 0) {
    json_t *o = json_loadb(line, (size_t)len, 0, NULL);
    json_t *rec = json_object_get(o, "record");
    const char *c = json_string_value(json_object_get(o, "collector"));
    if (json_is_integer(rec) && json_integer_value(rec) >= 0 && c &&
        strcmp(c, who) == 0 &&
        (!found || (uint64_t)json_integer_value(rec) > *max)) {
      *max = (uint64_t)json_integer_value(rec);
      found = true;
    }
    json_decref(o);
  }
  free(line);
  fclose(f);
  return found;
}

/* ---- reading ------------------------------------------------------------ */

/* Bytes read from a segment at a time; the buffer doubles for a longer
 * record, up to SPOOL_LINE_MAX. */
#define SPOOL_READ_CHUNK (64u << 10)
/* A record longer than this is not something the spool writes. */
#define SPOOL_LINE_MAX (16u << 20)

struct spool_reader {
  char *dir;
  int dir_fd;
  struct spool *writer; /* spool_reader_follow */
  char *scratch;        /* segment read buffer */
  size_t scratch_alloc;
};

struct spool_reader *spool_reader_open(const char *dir, enum vt_status *st)
{
  *st = VT_ENOMEM;
  struct spool_reader *rd = calloc(1, sizeof(*rd));
  if (!rd)
    goto fail;
  rd->dir_fd = -1;
  if (!(rd->dir = strdup(dir)) || !(rd->scratch = malloc(SPOOL_READ_CHUNK)))
    goto fail;
  rd->scratch_alloc = SPOOL_READ_CHUNK;
  rd->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rd->dir_fd < 0) {
    vt_err("spool: %s: cannot open: %s", dir, strerror(errno));
    *st = VT_EIO;
    goto fail;
  }
  *st = VT_OK;
  return rd;
fail:
  if (*st == VT_ENOMEM)
    vt_err("spool: out of memory");
  spool_reader_close(rd);
  return NULL;
}

void spool_reader_close(struct spool_reader *rd)
{
  if (!rd)
    return;
  if (rd->dir_fd >= 0)
    close(rd->dir_fd);
  free(rd->scratch);
  free(rd->dir);
  free(rd);
}

void spool_reader_follow(struct spool_reader *rd, struct spool *sp)
{
  rd->writer = sp;
}

/* Lists the segments; logs a failure. */
static enum vt_status spool_reader_list(struct spool_reader *rd,
                                        uint64_t **segs, size_t *n)
{
  enum vt_status st = spool_list(rd->dir, segs, n);
  if (st == VT_EIO)
    vt_err("spool: %s: cannot list: %s", rd->dir, strerror(errno));
  else if (st != VT_OK)
    vt_err("spool: %s: cannot list: %s", rd->dir, vt_strerror(st));
  return st;
}

/* Reads segment seg from *off (where record *rec starts), appending the
 * records from b->first on to out until a limit is reached (b->full).
 * Stops at the end of the file; a last line without its newline is not a
 * record yet (the spool counts only whole lines). */
static enum vt_status spool_read_segment(struct spool_reader *rd,
                                         struct spool_batch *b, uint64_t seg,
                                         uint64_t *rec, off_t *off,
                                         struct vt_buf *out)
{
  enum vt_status st = VT_OK;
  char name[64];
  spool_segment_file(seg, name, sizeof(name));
  int fd = openat(rd->dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return VT_OK; /* deleted since the listing: nothing to read */
    vt_err("spool: %s/%s: cannot open: %s", rd->dir, name, strerror(errno));
    return VT_EIO;
  }
  for (;;) {
    ssize_t got = pread(fd, rd->scratch, rd->scratch_alloc, *off);
    if (got < 0) {
      vt_err("spool: %s/%s: cannot read: %s", rd->dir, name, strerror(errno));
      st = VT_EIO;
      goto out;
    }
    if (got == 0)
      goto out;
    size_t used = 0;
    const char *nl;
    while ((nl = memchr(rd->scratch + used, '\n', (size_t)got - used))) {
      size_t len = (size_t)(nl - (rd->scratch + used)) + 1;
      if (*rec >= b->first) {
        if (b->count >= b->max_records ||
            (b->count > 0 && out->len + len > b->max_bytes)) {
          b->full = true;
          goto out;
        }
        if ((st = vt_buf_add(out, rd->scratch + used, len)) != VT_OK) {
          vt_err("spool: out of memory reading %s/%s", rd->dir, name);
          goto out;
        }
        b->count++;
      }
      (*rec)++;
      used += len;
      *off += (off_t)len;
    }
    if (used > 0)
      continue;
    /* No whole line in this chunk. */
    if ((size_t)got < rd->scratch_alloc)
      goto out; /* a line still being written (or torn): not a record yet */
    if (rd->scratch_alloc >= SPOOL_LINE_MAX) {
      vt_err("spool: %s/%s: a record at offset %lld is longer than %u "
             "bytes; cannot read it",
             rd->dir, name, (long long)*off, SPOOL_LINE_MAX);
      st = VT_EIO;
      goto out;
    }
    char *p = realloc(rd->scratch, 2 * rd->scratch_alloc);
    if (!p) {
      vt_err("spool: out of memory reading %s/%s", rd->dir, name);
      st = VT_ENOMEM;
      goto out;
    }
    rd->scratch = p;
    rd->scratch_alloc *= 2;
  }
out:
  close(fd);
  return st;
}

/* One pass of spool_read over the listing segs (n >= 1). */
static enum vt_status spool_read_pass(struct spool_reader *rd,
                                      const uint64_t *segs, size_t n,
                                      const struct spool_pos *hint,
                                      struct spool_batch *b, struct vt_buf *out,
                                      uint64_t *end_rec)
{
  /* The segment holding the first record: the last one starting at or
   * below. */
  size_t k = n;
  while (k > 0 && segs[k - 1] > b->first)
    k--;
  if (k == 0) {
    b->gone = (struct spool_skip){
        .set = true, .from = b->first, .to = segs[0], .next = segs[0]};
    b->first = segs[0];
    k = 1;
  }
  size_t first = k - 1;
  uint64_t rec = segs[first];
  off_t off = 0;
  if (hint && hint->valid && hint->seg == segs[first] &&
      hint->record <= b->first) {
    rec = hint->record;
    off = hint->off;
  }
  enum vt_status st = VT_OK;
  uint64_t seg = segs[first]; /* the segment rec and off refer to */
  for (size_t i = first; i < n && !b->full; i++) {
    if (i > first) {
      /* A batch is consecutive records: the next segment must continue
       * the numbering, else the batch ends here. A first record that fell
       * into a hole between segments skips the hole. */
      if (b->count == 0 && rec < segs[i]) {
        b->hole = (struct spool_skip){
            .set = true, .from = b->first, .to = segs[i], .next = segs[i]};
        b->first = segs[i];
      } else if (rec != segs[i]) {
        break;
      }
      rec = seg = segs[i];
      off = 0;
    }
    if ((st = spool_read_segment(rd, b, seg, &rec, &off, out)) != VT_OK)
      return st;
  }
  b->end =
      (struct spool_pos){.valid = true, .seg = seg, .record = rec, .off = off};
  /* The spool's end, when the read got there. */
  *end_rec = seg == segs[n - 1] ? rec : UINT64_MAX;
  return VT_OK;
}

enum vt_status spool_read(struct spool_reader *rd, const struct spool_pos *hint,
                          struct spool_batch *b, struct vt_buf *out)
{
  b->first = b->from;
  b->count = 0;
  b->full = false;
  b->end = (struct spool_pos){0};
  b->gone = b->hole = b->past_end = (struct spool_skip){0};
  if (b->max_records == 0)
    b->max_records = 1;
  if (rd->writer)
    spool_flush(rd->writer); /* every record appended, none held back */
  uint64_t *segs;
  size_t n;
  enum vt_status st = spool_reader_list(rd, &segs, &n);
  if (st != VT_OK || n == 0) {
    free(segs);
    return st;
  }
  uint64_t end_rec;
  st = spool_read_pass(rd, segs, n, hint, b, out, &end_rec);
  if (st == VT_OK && b->count == 0 && end_rec < b->first)
    b->past_end = (struct spool_skip){
        .set = true, .from = b->first, .to = end_rec, .next = segs[0]};
  free(segs);
  return st;
}

void spool_release(struct spool_reader *rd, uint64_t below)
{
  uint64_t *segs;
  size_t n;
  if (spool_reader_list(rd, &segs, &n) != VT_OK)
    return;
  /* Segment i holds records [segs[i], segs[i + 1]). */
  for (size_t i = 0; i + 1 < n && segs[i + 1] <= below; i++) {
    char name[64];
    spool_segment_file(segs[i], name, sizeof(name));
    if (unlinkat(rd->dir_fd, name, 0) != 0 && errno != ENOENT) {
      vt_err("spool: %s/%s: cannot delete: %s", rd->dir, name, strerror(errno));
      break;
    }
    vt_info("spool: %s/%s: deleted (records %" PRIu64 " to %" PRIu64
            " acknowledged by every collector)",
            rd->dir, name, segs[i], segs[i + 1] - 1);
  }
  free(segs);
}
