/* SPDX-License-Identifier: MIT */
/* Strict libconfig helpers (see cfg.h). libconfig 1.5: integers and floats
 * do not convert into each other, and unsuffixed literals above INT_MAX wrap
 * silently, so numbers are read by type and range-checked here. */
#include "config.h"

#include "cfg.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum vt_status vt_cfg_open(struct vt_cfg *c, const char *path)
{
  *c = (struct vt_cfg){.path = path};
  config_init(&c->cfg);
  /* @include is resolved against the process CWD unless told otherwise;
   * resolve it against the including file's directory instead. */
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  config_set_include_dir(&c->cfg, dirname(dir));

  FILE *f = fopen(path, "r");
  if (!f) {
    vt_err("%s: cannot read: %s", path, strerror(errno));
    config_destroy(&c->cfg);
    return VT_ECONFIG;
  }
  int okread = config_read(&c->cfg, f);
  fclose(f);
  if (okread != CONFIG_TRUE) {
    const char *file = config_error_file(&c->cfg);
    vt_err("%s:%d: %s", file ? file : path, config_error_line(&c->cfg),
           config_error_text(&c->cfg));
    config_destroy(&c->cfg);
    return VT_ECONFIG;
  }
  return VT_OK;
}

void vt_cfg_close(struct vt_cfg *c)
{
  if (c)
    config_destroy(&c->cfg);
}

void vt_cfg_error(struct vt_cfg *c, const config_setting_t *s, const char *path,
                  const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  const char *file = s ? config_setting_source_file(s) : NULL;
  int line = s ? config_setting_source_line(s) : 0;
  if (!file)
    file = c->path;
  if (line > 0)
    vt_err("%s:%d: %s: %s", file, line, path && *path ? path : "(top)", msg);
  else
    vt_err("%s: %s: %s", file, path && *path ? path : "(top)", msg);
  c->errors++;
}

char *vt_cfg_path(char *out, size_t size, const char *parent, const char *key,
                  int index)
{
  if (key)
    snprintf(out, size, "%s%s%s", parent && *parent ? parent : "",
             parent && *parent ? "." : "", key);
  else
    snprintf(out, size, "%s[%d]", parent ? parent : "", index);
  return out;
}

void vt_cfg_check_keys(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *const allowed[])
{
  int n = config_setting_length(g);
  for (int i = 0; i < n; i++) {
    config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
    const char *name = config_setting_name(m);
    if (!name) {
      vt_cfg_error(c, m, path, "expected a group of settings");
      continue;
    }
    bool known = false;
    for (size_t k = 0; allowed[k]; k++)
      known |= strcmp(allowed[k], name) == 0;
    if (!known) {
      char p[256];
      vt_cfg_error(c, m, vt_cfg_path(p, sizeof(p), path, name, 0),
                   "unknown setting");
    }
  }
}

static const char *type_name(int t)
{
  switch (t) {
  case CONFIG_TYPE_GROUP:
    return "a group";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64:
    return "an integer";
  case CONFIG_TYPE_FLOAT:
    return "a number";
  case CONFIG_TYPE_STRING:
    return "a string";
  case CONFIG_TYPE_BOOL:
    return "a boolean";
  case CONFIG_TYPE_ARRAY:
    return "an array";
  case CONFIG_TYPE_LIST:
    return "a list";
  }
  return "an unknown type";
}

bool vt_cfg_get_string(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *key, bool required,
                       char **out)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = config_setting_get_member(g, key);
  if (!s) {
    if (required)
      vt_cfg_error(c, g, p, "missing (required)");
    return false;
  }
  if (config_setting_type(s) != CONFIG_TYPE_STRING) {
    vt_cfg_error(c, s, p, "expected a string, got %s",
                 type_name(config_setting_type(s)));
    return false;
  }
  char *copy = strdup(config_setting_get_string(s));
  if (!copy) {
    vt_cfg_error(c, s, p, "out of memory");
    return false;
  }
  free(*out);
  *out = copy;
  return true;
}

static bool setting_number(const config_setting_t *s, double *v)
{
  switch (config_setting_type(s)) {
  case CONFIG_TYPE_INT:
    *v = config_setting_get_int(s);
    return true;
  case CONFIG_TYPE_INT64:
    *v = (double)config_setting_get_int64(s);
    return true;
  case CONFIG_TYPE_FLOAT:
    *v = config_setting_get_float(s);
    return true;
  }
  return false;
}

bool vt_cfg_get_number(struct vt_cfg *c, const config_setting_t *g,
                       const char *path, const char *key, double min,
                       double max, double *out)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = config_setting_get_member(g, key);
  if (!s)
    return false;
  double v;
  if (!setting_number(s, &v)) {
    vt_cfg_error(c, s, p, "expected a number, got %s",
                 type_name(config_setting_type(s)));
    return false;
  }
  if (!isfinite(v) || v < min || v > max) {
    vt_cfg_error(c, s, p, "%g is out of range [%g, %g]", v, min, max);
    return false;
  }
  *out = v;
  return true;
}

static bool int_in(struct vt_cfg *c, const config_setting_t *s, const char *p,
                   long long min, long long max, long long *out)
{
  long long v;
  switch (config_setting_type(s)) {
  case CONFIG_TYPE_INT:
    v = config_setting_get_int(s);
    break;
  case CONFIG_TYPE_INT64:
    v = config_setting_get_int64(s);
    break;
  default:
    vt_cfg_error(c, s, p, "expected an integer, got %s",
                 type_name(config_setting_type(s)));
    return false;
  }
  if (v < min || v > max) {
    vt_cfg_error(c, s, p, "%lld is out of range [%lld, %lld]", v, min, max);
    return false;
  }
  *out = v;
  return true;
}

bool vt_cfg_get_int(struct vt_cfg *c, const config_setting_t *g,
                    const char *path, const char *key, long long min,
                    long long max, long long *out)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = config_setting_get_member(g, key);
  return s ? int_in(c, s, p, min, max, out) : false;
}

bool vt_cfg_get_bool(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, bool *out)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = config_setting_get_member(g, key);
  if (!s)
    return false;
  if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
    vt_cfg_error(c, s, p, "expected true or false, got %s",
                 type_name(config_setting_type(s)));
    return false;
  }
  *out = config_setting_get_bool(s);
  return true;
}

void vt_cfg_strv_free(char **v, size_t n)
{
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

char **vt_cfg_strv_dup(char *const *v, size_t n, bool *ok)
{
  *ok = true;
  if (n == 0)
    return NULL;
  char **copy = calloc(n, sizeof(*copy));
  if (!copy) {
    *ok = false;
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    copy[i] = strdup(v[i]);
    if (!copy[i]) {
      vt_cfg_strv_free(copy, i);
      *ok = false;
      return NULL;
    }
  }
  return copy;
}

static config_setting_t *get_collection(struct vt_cfg *c,
                                        const config_setting_t *g,
                                        const char *p, const char *key)
{
  config_setting_t *s = config_setting_get_member(g, key);
  if (!s)
    return NULL;
  if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
    vt_cfg_error(c, s, p, "expected an array [ ... ], got %s",
                 type_name(config_setting_type(s)));
    return NULL;
  }
  return s;
}

bool vt_cfg_get_strv(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, char ***out, size_t *n)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = get_collection(c, g, p, key);
  if (!s)
    return false;
  int len = config_setting_length(s);
  char **v = len ? calloc((size_t)len, sizeof(*v)) : NULL;
  if (len && !v) {
    vt_cfg_error(c, s, p, "out of memory");
    return false;
  }
  for (int i = 0; i < len; i++) {
    config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    char pe[256];
    vt_cfg_path(pe, sizeof(pe), p, NULL, i);
    if (config_setting_type(e) != CONFIG_TYPE_STRING) {
      vt_cfg_error(c, e, pe, "expected a string, got %s",
                   type_name(config_setting_type(e)));
      vt_cfg_strv_free(v, (size_t)i);
      return false;
    }
    v[i] = strdup(config_setting_get_string(e));
    if (!v[i]) {
      vt_cfg_error(c, e, pe, "out of memory");
      vt_cfg_strv_free(v, (size_t)i);
      return false;
    }
  }
  vt_cfg_strv_free(*out, *n);
  *out = v;
  *n = (size_t)len;
  return true;
}

bool vt_cfg_get_intv(struct vt_cfg *c, const config_setting_t *g,
                     const char *path, const char *key, long long min,
                     long long max, int **out, size_t *n)
{
  char p[256];
  vt_cfg_path(p, sizeof(p), path, key, 0);
  config_setting_t *s = get_collection(c, g, p, key);
  if (!s)
    return false;
  int len = config_setting_length(s);
  int *v = len ? calloc((size_t)len, sizeof(*v)) : NULL;
  if (len && !v) {
    vt_cfg_error(c, s, p, "out of memory");
    return false;
  }
  for (int i = 0; i < len; i++) {
    config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    char pe[256];
    long long x;
    if (!int_in(c, e, vt_cfg_path(pe, sizeof(pe), p, NULL, i), min, max, &x)) {
      free(v);
      return false;
    }
    v[i] = (int)x;
  }
  free(*out);
  *out = v;
  *n = (size_t)len;
  return true;
}
