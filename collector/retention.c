/* SPDX-License-Identifier: MIT */
/* Retention sweep (retention.h). */
#include "config.h"

#include "retention.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "fsutil.h"
#include "log.h"
#include "schema.h"

enum { RETENTION_DEPTH_MAX = 16 };

struct retention_walk {
  const struct retention_conf *conf;
  double cutoff; /* files last updated before are past retention */
  struct retention_stats *st;
  enum vt_status rc;
};

/* Removes or archives path (relpath below the RRD tree). */
static void retention_drop(struct retention_walk *w, const char *path,
                           const char *relpath, time_t last)
{
  const char *archive = w->conf->archive_dir;
  char to[PATH_MAX];
  int rc;
  if (archive) {
    rc = snprintf(to, sizeof(to), "%s/%s", archive, relpath) >=
                     (int)sizeof(to) ||
                 vt_mkdir_parents(to, 0750) != 0 || rename(path, to) != 0
             ? -1
             : 0;
  } else {
    rc = unlink(path);
  }
  if (rc != 0) {
    vt_err("retention: %s: cannot %s: %s", path,
           archive ? "move to the archive" : "remove", strerror(errno));
    w->rc = VT_EIO;
    return;
  }
  vt_notice("retention: %s: last updated %.0f h ago, %s", relpath,
            (w->st->swept_at - (double)last) / 3600,
            archive ? "moved to the archive" : "removed");
  w->st->removed++;
}

static void retention_dir(struct retention_walk *w, const char *dir,
                          const char *rel, int depth)
{
  DIR *d = opendir(dir);
  if (!d) {
    vt_err("retention: %s: %s", dir, strerror(errno));
    w->rc = VT_EIO;
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[PATH_MAX], relpath[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
            (int)sizeof(path) ||
        snprintf(relpath, sizeof(relpath), "%s%s%s", rel, *rel ? "/" : "",
                 e->d_name) >= (int)sizeof(relpath))
      continue;
    struct stat sb;
    if (lstat(path, &sb) != 0)
      continue;
    if (S_ISDIR(sb.st_mode)) {
      if (depth < RETENTION_DEPTH_MAX)
        retention_dir(w, path, relpath, depth + 1);
      /* A directory left empty goes too (ENOTEMPTY otherwise: fine). */
      if (w->conf->keep_s > 0)
        rmdir(path);
      continue;
    }
    size_t len = strlen(e->d_name);
    if (!S_ISREG(sb.st_mode) || len < 5 ||
        strcmp(e->d_name + len - 4, ".rrd") != 0)
      continue;
    /* The file's own last update, not its mtime: a copied or converted
     * file is new on disk and old in time. */
    if (w->conf->keep_s > 0) {
      rrd_clear_error();
      time_t last = rrd_last_r(path);
      if (last > 0 && (double)last < w->cutoff) {
        retention_drop(w, path, relpath, last);
        continue;
      }
    }
    w->st->n_series++;
    w->st->rrd_bytes += (uint64_t)sb.st_blocks * 512u;
  }
  closedir(d);
}

static uint64_t retention_file_bytes(const char *dir, const char *name)
{
  char path[PATH_MAX];
  struct stat sb;
  if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
      stat(path, &sb) != 0)
    return 0;
  return (uint64_t)sb.st_blocks * 512u;
}

enum vt_status retention_sweep(const struct retention_conf *conf, double now,
                               struct retention_stats *stats)
{
  uint64_t total = stats->removed_total;
  *stats = (struct retention_stats){.swept_at = now};
  struct retention_walk w = {
      .conf = conf, .cutoff = now - conf->keep_s, .st = stats, .rc = VT_OK};
  retention_dir(&w, conf->rrd_dir, "", 0);
  stats->removed_total = total + stats->removed;
  stats->events_bytes =
      retention_file_bytes(conf->data_dir, VT_DATA_EVENTS) +
      retention_file_bytes(conf->data_dir, VT_DATA_EVENTS "-wal") +
      retention_file_bytes(conf->data_dir, VT_DATA_EVENTS "-shm");
  struct statvfs vfs;
  if (statvfs(conf->data_dir, &vfs) == 0 && vfs.f_blocks) {
    stats->fs_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    stats->fs_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    uint64_t used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
    /* As df(1) counts: used / (used + available to us). */
    stats->fs_used_percent =
        100.0 * (double)used / (double)(used + stats->fs_free);
    stats->warning =
        conf->warn_percent > 0 && stats->fs_used_percent >= conf->warn_percent;
    if (stats->warning)
      vt_warn("disk: %s is %.1f %% full (warning at %.0f %%): %.1f GB free; "
              "RRD files %.1f GB, events %.1f MB",
              conf->data_dir, stats->fs_used_percent, conf->warn_percent,
              (double)stats->fs_free / 1e9, (double)stats->rrd_bytes / 1e9,
              (double)stats->events_bytes / 1e6);
  }
  if (stats->removed)
    vt_notice("retention: %llu series past %.0f s %s, %llu left",
              (unsigned long long)stats->removed, conf->keep_s,
              conf->archive_dir ? "archived" : "removed",
              (unsigned long long)stats->n_series);
  return w.rc;
}
