/* SPDX-License-Identifier: MIT */
/* Small file-system helpers shared by the daemons. */
#ifndef VT_FSUTIL_H
#define VT_FSUTIL_H

#include <sys/types.h>

/* Creates path and its missing parents with mode (like mkdir -p). Returns
 * 0, or -1 with errno set (ENAMETOOLONG past PATH_MAX). Existing
 * directories are fine. */
int vt_mkdir_p(const char *path, mode_t mode);

#endif
