/* SPDX-License-Identifier: MIT */
/* The stored series model (series.h; docs/collector.md, "Series and RRD
 * files"). */
#include "config.h"

#include "series.h"

#include <stdio.h>
#include <string.h>

/* Data sources in enum vt_series_ds order, with their maximum. */
const struct vt_series_ds_def vt_series_ds_defs[VT_SERIES_N_DS] = {
    {"up", "1"},
    {"total", "U"},
    {"dns", "U"},
    {"connect", "U"},
    {"tls", "U"},
    {"ttfb", "U"},
    {"share", "1"},
    /* ---- load series (issue 16) ---- */
    {"load", "U"},
};

const char *vt_series_ds_name(enum vt_series_ds d)
{
  return (unsigned)d < VT_SERIES_N_DS ? vt_series_ds_defs[d].name : "?";
}

/* Data sources per kind (bits in vt_series_ds_defs order). */
static const unsigned rrd_store_kind_mask[RRD_KIND_N] = {
    [RRD_KIND_FULL] = 0x7f,  [RRD_KIND_HTTP] = 0x3f,
    [RRD_KIND_TCP] = 0x1b,   [RRD_KIND_DNS] = 0x07,
    [RRD_KIND_SHARE] = 0x40, [RRD_KIND_LOAD] = 0x81, /* up load (issue 16) */
};

unsigned rrd_kind_ds_mask(enum rrd_kind k)
{
  return (unsigned)k < RRD_KIND_N ? rrd_store_kind_mask[k] : 0;
}

const char *rrd_kind_name(enum rrd_kind k)
{
  static const char *const names[RRD_KIND_N] = {
      [RRD_KIND_FULL] = "full",   [RRD_KIND_HTTP] = "http",
      [RRD_KIND_TCP] = "tcp",     [RRD_KIND_DNS] = "dns",
      [RRD_KIND_SHARE] = "share", [RRD_KIND_LOAD] = "load",
  };
  return (unsigned)k < RRD_KIND_N ? names[k] : "?";
}

/* The kind of the main series of a check type (its addresses' share
 * series are RRD_KIND_SHARE). */
enum rrd_kind vt_series_kind(enum vt_check_type t)
{
  switch (t) {
  case VT_CHECK_TCP:
    return RRD_KIND_TCP;
  case VT_CHECK_DNS:
    return RRD_KIND_DNS;
  case VT_CHECK_LOAD:
    return RRD_KIND_LOAD;
  case VT_CHECK_HTTP:
  case VT_CHECK_CLIENT:
    break;
  }
  return RRD_KIND_HTTP;
}

bool vt_series_per_address(enum vt_check_type t)
{
  return t == VT_CHECK_TCP || t == VT_CHECK_HTTP;
}

bool vt_series_has_shares(enum vt_check_type t)
{
  return t == VT_CHECK_DNS || t == VT_CHECK_CLIENT;
}

const char *vt_series_address_key(const char *ip)
{
  return ip[0] ? ip : VT_SERIES_NO_ADDRESS;
}

/* The key of a dns result's per-resolver series. */
void vt_series_resolver_key(const char *resolver, char *key, size_t size)
{
  snprintf(key, size, VT_SERIES_RESOLVER "%s",
           resolver[0] ? resolver : "unknown");
  for (char *c = key; *c; c++)
    if (*c == ':')
      *c = '_';
}

/* The file-name form of a key: IPv6 ':' become '-', resolver brackets go. */
static void key_for_path(const char *key, char *out, size_t size)
{
  size_t j = 0;
  for (size_t i = 0; key[i] && j + 1 < size; i++) {
    char ch = key[i];
    if (ch == '[' || ch == ']')
      continue;
    out[j++] = ch == ':' ? '-' : ch;
  }
  out[j] = '\0';
}

/* The RRD file of a series key, relative to the RRD directory. */
void vt_series_relpath(const char *target, const char *check_name,
                       const char *key, const char *probe, char *rel,
                       size_t size)
{
  char k[96];
  key_for_path(key, k, sizeof(k));
  snprintf(rel, size, "%s/%s/%s/%s.rrd", target, check_name, k, probe);
}
