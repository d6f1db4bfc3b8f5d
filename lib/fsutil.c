/* SPDX-License-Identifier: MIT */
/* File-system helpers (see fsutil.h). */
#include "config.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vt_mkdir_p(const char *path, mode_t mode)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

int vt_mkdir_parents(const char *path, mode_t mode)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf)
    return 0;
  *slash = '\0';
  return vt_mkdir_p(buf, mode);
}

int vt_write_all(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = ENOSPC;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* fsync of the directory that holds name (dirfd itself unless name has a
 * directory part or dirfd is AT_FDCWD). */
static int fsync_parent(int dirfd, const char *name)
{
  if (dirfd != AT_FDCWD && !strchr(name, '/'))
    return fsync(dirfd);
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", name) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = openat(dirfd, dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

int vt_write_file_atomic(int dirfd, const char *name, const void *data,
                         size_t len, mode_t mode, unsigned flags,
                         const char **what)
{
  const char *step = "create";
  char tmp[PATH_MAX];
  int n = flags & VT_FS_TMP_PID
              ? snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid())
              : snprintf(tmp, sizeof(tmp), "%s.tmp", name);
  if (n < 0 || n >= (int)sizeof(tmp)) {
    errno = ENAMETOOLONG;
    goto fail;
  }
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    goto fail;
  step = "write";
  int rc = vt_write_all(fd, data, len);
  if (rc == 0 && (flags & VT_FS_DURABLE)) {
    step = "fsync";
    rc = fsync(fd);
  }
  int e = errno;
  if (close(fd) != 0 && rc == 0) {
    step = "write";
    rc = -1;
    e = errno;
  }
  if (rc != 0) {
    unlinkat(dirfd, tmp, 0);
    errno = e;
    goto fail;
  }
  step = "rename";
  if (renameat(dirfd, tmp, dirfd, name) != 0) {
    e = errno;
    unlinkat(dirfd, tmp, 0);
    errno = e;
    goto fail;
  }
  step = "fsync of the directory";
  if ((flags & VT_FS_DURABLE) && fsync_parent(dirfd, name) != 0)
    goto fail;
  return 0;

fail:
  if (what)
    *what = step;
  return -1;
}
