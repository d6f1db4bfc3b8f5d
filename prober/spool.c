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
};

void spool_segment_file(uint64_t first, char *out, size_t size)
{
  snprintf(out, size, "seg-%020" PRIu64 ".jsonl", first);
}

static bool parse_segment_name(const char *name, uint64_t *first)
{
  unsigned long long v;
  int end = 0;
  if (sscanf(name, "seg-%20llu.jsonl%n", &v, &end) != 1 || name[end] != '\0' ||
      strlen(name) != strlen("seg-") + 20 + strlen(".jsonl"))
    return false;
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
    if (!parse_segment_name(de->d_name, &first))
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
  int fd = openat(sp->dir_fd, name,
                  O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
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

/* A record could not be written: counted, and logged once per streak. */
static enum vt_status spool_failed(struct spool *sp, const char *what)
{
  if (!sp->failing)
    vt_err("spool: %s: %s: %s (results are not spooled until this clears)",
           sp->dir, what, strerror(errno));
  sp->failing = true;
  sp->stats.lost++;
  sp->streak_lost++;
  return VT_EIO;
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

enum vt_status spool_append(struct spool *sp, const char *rec, size_t len)
{
  if (sp->fd < 0)
    return VT_EIO;
  size_t need = len + 1;
  if (sp->seg_bytes > 0 &&
      (sp->rotate_next || sp->seg_bytes + need > sp->seg_max)) {
    enum vt_status st = spool_rotate(sp);
    if (st != VT_OK)
      return st;
  }
  enum vt_status st = spool_make_room(sp, need);
  if (st != VT_OK)
    return st;
  if (sp->capped) {
    vt_notice("spool: %s: below its cap again (%" PRIu64 " results refused "
              "since the start)",
              sp->dir, sp->stats.refused);
    sp->capped = false;
  }
  /* One writev of record + newline: O_APPEND keeps the line whole, and
   * the record is not copied to add the newline. */
  struct iovec iov[2] = {{.iov_base = (void *)rec, .iov_len = len},
                         {.iov_base = "\n", .iov_len = 1}};
  for (int attempt = 0;; attempt++) {
    ssize_t w = writev(sp->fd, iov, 2);
    if (w == (ssize_t)need)
      break;
    if (w >= 0) {
      /* Short write (volume full): undo it so the segment stays whole. */
      if (ftruncate(sp->fd, (off_t)sp->seg_bytes) != 0)
        vt_err("spool: %s: cannot undo a short write: %s", sp->dir,
               strerror(errno));
      errno = ENOSPC;
    }
    /* The volume is full: with drop_oldest, the oldest records give way
     * (once per record), else this one is lost. */
    int err = errno ? errno : ENOSPC;
    if (err == ENOSPC && attempt == 0 &&
        sp->full == PROBE_SPOOL_DROP_OLDEST &&
        spool_drop_oldest(sp, "the volume is full"))
      continue;
    errno = err;
    /* The next record starts a new segment, so that this one can be
     * deleted once the collectors acknowledge it. */
    sp->rotate_next = true;
    return spool_failed(sp, "write");
  }
  sp->seg_bytes += need;
  sp->total += need;
  sp->next++;
  sp->dirty = true;
  if (sp->policy == PROBE_FSYNC_ALWAYS)
    return spool_sync(sp);
  spool_recovered(sp);
  return VT_OK;
}

enum vt_status spool_sync(struct spool *sp)
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
  return sp->next;
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
    if (sp->policy != PROBE_FSYNC_NEVER)
      (void)spool_sync(sp);
    close(sp->fd);
  }
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
