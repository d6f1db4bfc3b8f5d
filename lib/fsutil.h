/* SPDX-License-Identifier: MIT */
/* Small file-system helpers shared by the daemons. */
#ifndef VT_FSUTIL_H
#define VT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates path and its missing parents with mode (like mkdir -p). Returns
 * 0, or -1 with errno set (ENAMETOOLONG past PATH_MAX). Existing
 * directories are fine. */
int vt_mkdir_p(const char *path, mode_t mode);

/* Creates the directories of path, not its last component. */
int vt_mkdir_parents(const char *path, mode_t mode);

/* Writes all len bytes to fd, again after EINTR and short writes (a write
 * that writes nothing reads as ENOSPC). Returns 0, or -1 with errno set. */
int vt_write_all(int fd, const void *data, size_t len);

/* Flags of vt_write_file_atomic. */
enum {
  VT_FS_DURABLE = 1, /* fsync the file before the rename, the directory
                        after it: a power cut leaves the old file or the
                        new one, never an empty one */
  VT_FS_TMP_PID = 2, /* write through NAME.tmp.PID, not NAME.tmp (several
                        processes may write the same name) */
};

/* Replaces the file name (relative to the directory dirfd, or a path with
 * AT_FDCWD) with len bytes of data, through a temporary file and rename(2),
 * so a reader sees the old contents or the new, whole. Returns 0, or -1
 * with errno set, the temporary file removed and *what (when what is not
 * NULL) naming the step that failed: "create", "write", "fsync", "rename"
 * or "fsync of the directory". */
int vt_write_file_atomic(int dirfd, const char *name, const void *data,
                         size_t len, mode_t mode, unsigned flags,
                         const char **what);

#endif
