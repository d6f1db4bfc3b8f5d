/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): publishing: files written into the
 * temporary folder, the atomic swap, leftovers of dead builds. */
#include "config.h"

#include "status_page_int.h"

/* ---- files --------------------------------------------------------------- */

enum vt_status status_page_write_file(const char *dir, const char *rel,
                                      struct status_page_out *o)
{
  char path[PATH_MAX];
  if (o->st != VT_OK) {
    vt_err("status page: %s/%s: %s", dir, rel, vt_strerror(o->st));
    return o->st;
  }
  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
    vt_err("status page: %s/%s: path too long", dir, rel);
    return VT_EINVAL;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    goto fail;
  if (vt_write_all(fd, vt_buf_str(&o->b), o->b.len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    goto fail;
  }
  if (close(fd) != 0)
    goto fail;
  return VT_OK;
fail:
  vt_err("status page: %s: cannot write: %s", path, strerror(errno));
  return VT_EIO;
}

static int status_page_rm_one(const char *path, const struct stat *sb, int type,
                              struct FTW *ftw)
{
  if (remove(path) != 0 && errno != ENOENT)
    vt_warn("status page: %s: cannot remove: %s", path, strerror(errno));
  return 0;
}

/* rm -rf that never follows a symbolic link out of the tree. */
void status_page_rmtree(const char *path)
{
  nftw(path, status_page_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Splits dir into its parent folder and last component. */
void status_page_split(const char *dir, char *parent, size_t psize,
                       const char **base)
{
  const char *slash = strrchr(dir, '/');
  if (!slash) {
    snprintf(parent, psize, ".");
    *base = dir;
  } else if (slash == dir) {
    snprintf(parent, psize, "/");
    *base = slash + 1;
  } else {
    snprintf(parent, psize, "%.*s", (int)(slash - dir), dir);
    *base = slash + 1;
  }
}

/* The PID in a leftover "BASE.tmp.PID", "BASE.lnk.PID", "BASE.old.PID" or
 * "BASE.vTIME.PID" name, or 0 when name is not one of ours. */
static long status_page_leftover_pid(const char *name, const char *base)
{
  size_t bl = strlen(base);
  if (strncmp(name, base, bl) != 0 || name[bl] != '.')
    return 0;
  const char *rest = name + bl + 1, *num = NULL;
  if (strncmp(rest, "tmp.", 4) == 0 || strncmp(rest, "lnk.", 4) == 0 ||
      strncmp(rest, "old.", 4) == 0) {
    num = rest + 4;
  } else if (rest[0] == 'v') {
    const char *dot = strchr(rest, '.');
    if (!dot || strspn(rest + 1, "0123456789") != (size_t)(dot - rest - 1))
      return 0;
    num = dot + 1;
  } else {
    return 0;
  }
  char *end;
  long pid = strtol(num, &end, 10);
  return *num && !*end && pid > 0 ? pid : 0;
}

/* Removes what an interrupted build left next to dir (a killed
 * vantage-graph cannot clean up after itself): our names whose builder is
 * gone, never the folder dir currently points to. */
void status_page_clean_leftovers(const char *dir)
{
  char parent[PATH_MAX], cur[PATH_MAX] = "";
  const char *base;
  status_page_split(dir, parent, sizeof(parent), &base);
  ssize_t n = readlink(dir, cur, sizeof(cur) - 1);
  cur[n > 0 ? n : 0] = '\0';
  DIR *d = opendir(parent);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    long pid = status_page_leftover_pid(e->d_name, base);
    if (!pid || strcmp(e->d_name, cur) == 0)
      continue;
    if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
      continue; /* its builder is still at work */
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) <
        sizeof(path)) {
      vt_info("status page: removing %s, left by an interrupted build", path);
      status_page_rmtree(path);
    }
  }
  closedir(d);
}

/* True for a folder that holds nothing or one of our pages: only those
 * may be replaced, so a mistyped -o never wipes someone's web root. */
static bool status_page_replaceable(const char *dir)
{
  char marker[PATH_MAX];
  snprintf(marker, sizeof(marker), "%s/%s", dir, STATUS_PAGE_MARKER);
  if (access(marker, F_OK) == 0)
    return true;
  DIR *d = opendir(dir);
  if (!d)
    return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)))
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

/* Puts the finished build tmp in place as dir.
 *
 * dir is a symbolic link to a versioned folder next to it
 * ("DIR.vTIME.PID"): the build is renamed to a new version, a new link is
 * made beside dir and renamed over it. rename(2) replaces the link
 * atomically, so a reader (or a web server resolving a path) sees the old
 * page or the new one, never a mix or nothing. The old version is removed
 * afterwards; files a reader still has open stay readable until closed.
 *
 * A real folder at dir (one of ours, see status_page_replaceable) cannot
 * be swapped for a link in one rename: it is renamed away and the link put
 * in its place, which leaves dir missing for the microseconds between the
 * two renames, once; every later build swaps atomically. */
enum vt_status status_page_swap(const char *dir, const char *tmp, double now)
{
  char parent[PATH_MAX], ver[PATH_MAX], lnk[PATH_MAX], old[PATH_MAX];
  char cur[PATH_MAX] = "";
  const char *base;
  long pid = (long)getpid();
  status_page_split(dir, parent, sizeof(parent), &base);
  /* A second build by this process within the same second must not
   * collide with the first (now current) version. */
  struct stat sb;
  long long t = (long long)now;
  do
    snprintf(ver, sizeof(ver), "%s.v%lld.%ld", dir, t++, pid);
  while (lstat(ver, &sb) == 0);
  snprintf(lnk, sizeof(lnk), "%s.lnk.%ld", dir, pid);
  snprintf(old, sizeof(old), "%s.old.%ld", dir, pid);
  const char *ver_base = strrchr(ver, '/') ? strrchr(ver, '/') + 1 : ver;

  bool exists = lstat(dir, &sb) == 0;
  if (!exists && errno != ENOENT) {
    vt_err("status page: %s: %s", dir, strerror(errno));
    return VT_EIO;
  }
  bool is_dir = exists && S_ISDIR(sb.st_mode);
  if (exists && !is_dir && !S_ISLNK(sb.st_mode)) {
    vt_err("status page: %s exists and is not a folder or a symbolic link; "
           "not replacing it",
           dir);
    return VT_EINVAL;
  }
  if (is_dir && !status_page_replaceable(dir)) {
    vt_err("status page: %s is a folder that is not a status page (no %s "
           "inside) and not empty; not replacing it",
           dir, STATUS_PAGE_MARKER);
    return VT_EINVAL;
  }
  if (exists && !is_dir) {
    ssize_t n = readlink(dir, cur, sizeof(cur) - 1);
    cur[n > 0 ? n : 0] = '\0';
  }
  unlink(lnk);
  if (rename(tmp, ver) != 0) {
    vt_err("status page: rename %s -> %s: %s", tmp, ver, strerror(errno));
    return VT_EIO;
  }
  if (symlink(ver_base, lnk) != 0) {
    vt_err("status page: symlink %s: %s", lnk, strerror(errno));
    goto undo;
  }
  if (is_dir && rename(dir, old) != 0) {
    vt_err("status page: rename %s -> %s: %s", dir, old, strerror(errno));
    unlink(lnk);
    goto undo;
  }
  if (rename(lnk, dir) != 0) {
    vt_err("status page: rename %s -> %s: %s", lnk, dir, strerror(errno));
    if (is_dir && rename(old, dir) != 0)
      vt_err("status page: %s is now at %s: %s", dir, old, strerror(errno));
    unlink(lnk);
    goto undo;
  }
  if (is_dir)
    status_page_rmtree(old);
  /* Only a version of ours, and only if no concurrent build made it
   * current again in between. */
  char now_cur[PATH_MAX] = "";
  ssize_t n = readlink(dir, now_cur, sizeof(now_cur) - 1);
  now_cur[n > 0 ? n : 0] = '\0';
  if (cur[0] && !strchr(cur, '/') && status_page_leftover_pid(cur, base) &&
      strcmp(cur, now_cur) != 0) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, cur) <
        sizeof(path))
      status_page_rmtree(path);
  }
  return VT_OK;
undo:
  status_page_rmtree(ver);
  return VT_EIO;
}
