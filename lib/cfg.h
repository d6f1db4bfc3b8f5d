/* SPDX-License-Identifier: MIT */
/* Helpers for reading our libconfig files strictly: typed getters with
 * bounds, unknown-key detection, and error messages that name the file, the
 * line and the setting ("probe.cfg:12: targets[0].checks[1].port: ..."). All
 * problems are reported (not just the first) and counted in struct vt_cfg. */
#ifndef VT_CFG_H
#define VT_CFG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "vt_status.h"

struct vt_cfg {
  config_t cfg;
  const char *path; /* borrowed */
  int errors;
};

/* Reads path (includes resolved against its directory). Returns VT_OK, or
 * VT_ECONFIG after logging "path:line: message" / "path: cannot read: ...". */
enum vt_status vt_cfg_open(struct vt_cfg *c, const char *path)
    __attribute__((warn_unused_result));

/* Releases the parsed file. c may be NULL. */
void vt_cfg_close(struct vt_cfg *c);

/* Logs "file:line: path: message" for setting s (or the file's start when s
 * is NULL) and counts the error. */
void vt_cfg_error(struct vt_cfg *c, const config_setting_t *s, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reports every member of group g whose name is not in allowed (a
 * NULL-terminated list), and every member that is not itself named. */
void vt_cfg_check_keys(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *const allowed[]);

/* Builds "parent.key" or "parent[i]" into out. Returns out. */
char *vt_cfg_path(char *out, size_t size, const char *parent, const char *key,
                  int index);

/* Typed getters on member key of group g. They return true when the member
 * is present and valid (then *out is set), false when absent (no error
 * unless required) or invalid (error reported, *out untouched). Strings are
 * copied (caller frees). Numbers accept integer and float literals. */
bool vt_cfg_get_string(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *key, bool required,
                       char **out);
bool vt_cfg_get_number(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *key, double min,
                       double max, double *out);
bool vt_cfg_get_int(struct vt_cfg *c, const config_setting_t *g,
                    const char *path, const char *key, long long min,
                    long long max, long long *out);
bool vt_cfg_get_bool(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, bool *out);

/* Arrays of strings / integers ([ "a", "b" ] or ( "a", "b" )). *out is a
 * new array of copies (free with vt_cfg_strv_free / free). An empty array
 * gives n 0 and *out NULL. */
bool vt_cfg_get_strv(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, char ***out, size_t *n);
bool vt_cfg_get_intv(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, long long min,
                     long long max, int **out, size_t *n);

/* Frees an array of n strings; v may be NULL. */
void vt_cfg_strv_free(char **v, size_t n);

/* Copies an array of n strings; NULL on allocation failure (n 0 → NULL
 * with *ok true). */
char **vt_cfg_strv_dup(char *const *v, size_t n, bool *ok);

#endif
