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
#include <sys/uio.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

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
  bool failing; /* in a failure streak: log once */
};

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

/* Opens segment first for appending; cuts a torn last line and counts the
 * records in it. */
static int spool_open_segment(struct spool *sp, uint64_t first, bool existing)
{
  char name[64];
  snprintf(name, sizeof(name), "seg-%020" PRIu64 ".jsonl", first);
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
  sp->seg_max = segment_bytes ? segment_bytes : SPOOL_SEGMENT_BYTES;

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

  /* Continue the newest segment. */
  DIR *d = opendir(dir);
  if (!d) {
    vt_err("spool: %s: cannot list: %s", dir, strerror(errno));
    goto fail;
  }
  uint64_t newest = 0;
  bool found = false;
  struct dirent *de;
  while ((de = readdir(d))) {
    uint64_t first;
    if (parse_segment_name(de->d_name, &first) && (!found || first > newest)) {
      newest = first;
      found = true;
    }
  }
  closedir(d);
  if (spool_open_segment(sp, newest, found) != 0)
    goto fail;
  vt_info("spool: %s: open, next record %" PRIu64 ", fsync %s", dir, sp->next,
          policy == PROBE_FSYNC_ALWAYS     ? "always"
          : policy == PROBE_FSYNC_INTERVAL ? "interval"
                                           : "never");
  *st = VT_OK;
  return sp;

fail:
  spool_close(sp);
  return NULL;
}

static enum vt_status spool_failed(struct spool *sp, const char *what)
{
  if (!sp->failing)
    vt_err("spool: %s: %s: %s (results are not spooled until this clears)",
           sp->dir, what, strerror(errno));
  sp->failing = true;
  return VT_EIO;
}

static enum vt_status spool_rotate(struct spool *sp)
{
  if (fdatasync(sp->fd) != 0)
    return spool_failed(sp, "fdatasync");
  close(sp->fd);
  sp->fd = -1;
  if (spool_open_segment(sp, sp->next, false) != 0)
    return VT_EIO;
  /* Make the new name durable too. */
  fsync(sp->dir_fd);
  return VT_OK;
}

enum vt_status spool_append(struct spool *sp, const char *rec, size_t len)
{
  if (sp->fd < 0)
    return VT_EIO;
  if (sp->seg_bytes > 0 && sp->seg_bytes + len + 1 > sp->seg_max) {
    enum vt_status st = spool_rotate(sp);
    if (st != VT_OK)
      return st;
  }
  /* One writev of record + newline: O_APPEND keeps the line whole, and
   * the record is not copied to add the newline. */
  struct iovec iov[2] = {{.iov_base = (void *)rec, .iov_len = len},
                         {.iov_base = "\n", .iov_len = 1}};
  ssize_t w = writev(sp->fd, iov, 2);
  if (w != (ssize_t)(len + 1)) {
    if (w >= 0) {
      /* Short write (disk full): undo it so the segment stays whole. */
      if (ftruncate(sp->fd, (off_t)sp->seg_bytes) != 0)
        vt_err("spool: %s: cannot undo a short write: %s", sp->dir,
               strerror(errno));
      errno = ENOSPC;
    }
    return spool_failed(sp, "write");
  }
  sp->seg_bytes += len + 1;
  sp->next++;
  sp->dirty = true;
  if (sp->policy == PROBE_FSYNC_ALWAYS)
    return spool_sync(sp);
  if (sp->failing) {
    vt_notice("spool: %s: writing again", sp->dir);
    sp->failing = false;
  }
  return VT_OK;
}

enum vt_status spool_sync(struct spool *sp)
{
  if (!sp->dirty || sp->fd < 0)
    return VT_OK;
  if (fdatasync(sp->fd) != 0)
    return spool_failed(sp, "fdatasync");
  sp->dirty = false;
  if (sp->failing) {
    vt_notice("spool: %s: writing again", sp->dir);
    sp->failing = false;
  }
  return VT_OK;
}

uint64_t spool_next_record(const struct spool *sp)
{
  return sp->next;
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
