/* SPDX-License-Identifier: MIT */
/* Unit tests for the stored series model (lib/series.c): the naming table
 * of docs/collector.md ("Series and RRD files", between the series-table
 * markers) is rebuilt here from the code, row by row, and must be the
 * doc's exactly, so neither changes alone. Every check type has a row. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "series.h"
#include "tap.h"

enum role { MAIN, SHARE };

/* The rows of the doc's table, as inputs: the result's address (tcp,
 * http), resolver (dns) or the share's address. */
static const struct row {
  enum vt_check_type type;
  enum role role;
  const char *series; /* the doc's words */
  const char *in;
} rows[] = {
    {VT_CHECK_DNS, MAIN, "per resolver", "127.0.0.1:53"},
    {VT_CHECK_DNS, MAIN, "per resolver", "[::1]:53"},
    {VT_CHECK_DNS, SHARE, "share per address", "192.0.2.1"},
    {VT_CHECK_TCP, MAIN, "per address", "192.0.2.1"},
    {VT_CHECK_TCP, MAIN, "per address", "2001:db8::1"},
    {VT_CHECK_TCP, MAIN, "no address", ""},
    {VT_CHECK_HTTP, MAIN, "per address", "192.0.2.1"},
    {VT_CHECK_HTTP, MAIN, "no address", ""},
    {VT_CHECK_CLIENT, MAIN, "client view", NULL},
    {VT_CHECK_CLIENT, SHARE, "share per address", "2001:db8::1"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* The key of a row, as the ingest makes it (collector/ingest.c). */
static void row_key(const struct row *r, char *key, size_t size)
{
  if (r->role == SHARE)
    snprintf(key, size, "%s", r->in);
  else if (r->type == VT_CHECK_DNS)
    vt_series_resolver_key(r->in, key, size);
  else if (r->type == VT_CHECK_CLIENT)
    snprintf(key, size, "%s", VT_SERIES_CLIENT);
  else
    snprintf(key, size, "%s", vt_series_address_key(r->in));
}

/* The data sources of a kind, space-separated. */
static void ds_list(enum rrd_kind k, char *out, size_t size)
{
  size_t len = 0;
  out[0] = '\0';
  for (int d = 0; d < VT_SERIES_N_DS; d++)
    if (rrd_kind_ds_mask(k) & (1u << d))
      len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "",
                              vt_series_ds_name(d));
}

/* The doc's table line of r. */
static void row_line(const struct row *r, char *out, size_t size)
{
  char key[96], rel[320], ds[128];
  row_key(r, key, sizeof(key));
  const char *type = vt_check_type_name(r->type);
  vt_series_relpath("www", type, key, "p1", rel, sizeof(rel));
  ds_list(r->role == SHARE ? RRD_KIND_SHARE : vt_series_kind(r->type), ds,
          sizeof(ds));
  snprintf(out, size, "| `%s` | %s | `%s` | `%s` | `%s` |", type, r->series,
           key, rel, ds);
}

/* The table rows of the doc (the lines between the markers that start
 * with "| `"), at most max. */
static size_t doc_rows(const char *path, char (*out)[256], size_t max)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[512];
  size_t n = 0;
  bool in = false;
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    if (strstr(line, "<!-- series-table: begin -->"))
      in = true;
    else if (strstr(line, "<!-- series-table: end -->"))
      in = false;
    else if (in && strncmp(line, "| `", 3) == 0 && n < max)
      snprintf(out[n++], sizeof(out[0]), "%s", line);
  }
  fclose(f);
  return n;
}

int main(void)
{
  int n_types = 0;
  while (strcmp(vt_check_type_name(n_types), "?") != 0)
    n_types++;
  tap_plan(10 + n_types + 1 + (int)N_ROWS);

  /* The model on its own. */
  tap_is_str(vt_series_address_key(""), "no-address", "no address: no-address");
  tap_is_str(vt_series_address_key("192.0.2.1"), "192.0.2.1",
             "an address is its own key");
  char key[96], rel[320];
  vt_series_resolver_key("", key, sizeof(key));
  tap_is_str(key, "resolver-unknown", "a result without resolver");
  vt_series_relpath("t", "c", "fe80::1", "p", rel, sizeof(rel));
  tap_is_str(rel, "t/c/fe80--1/p.rrd", "IPv6 ':' is '-' in the file name");
  tap_ok(rrd_kind_ds_mask(RRD_KIND_FULL) == (1u << VT_SERIES_N_DS) - 1,
         "the full layout has every data source");
  tap_ok(rrd_kind_ds_mask(RRD_KIND_N) == 0, "no data sources out of range");
  tap_is_str(rrd_kind_name(RRD_KIND_SHARE), "share", "kind names");
  tap_is_str(vt_series_ds_name(VT_SERIES_N_DS), "?", "no name out of range");
  tap_ok(vt_series_per_address(VT_CHECK_TCP) &&
             vt_series_per_address(VT_CHECK_HTTP) &&
             !vt_series_per_address(VT_CHECK_DNS) &&
             !vt_series_per_address(VT_CHECK_CLIENT),
         "tcp and http series are per address");
  tap_ok(vt_series_has_shares(VT_CHECK_DNS) &&
             vt_series_has_shares(VT_CHECK_CLIENT) &&
             !vt_series_has_shares(VT_CHECK_TCP) &&
             !vt_series_has_shares(VT_CHECK_HTTP),
         "dns and client checks have share series");

  /* Every check type the wire knows has a row. */
  for (int t = 0; t < n_types; t++) {
    bool found = false;
    for (size_t i = 0; i < N_ROWS; i++)
      found |= (int)rows[i].type == t;
    tap_ok(found, "check type %s has a row", vt_check_type_name(t));
  }

  /* The doc's table, row for row. */
  const char *top = getenv("top_srcdir");
  char path[4096];
  snprintf(path, sizeof(path), "%s/docs/collector.md", top ? top : ".");
  static char doc[64][256];
  size_t n_doc = doc_rows(path, doc, 64);
  tap_ok(n_doc == N_ROWS, "%s: %zu table rows, the code's %zu", path, n_doc,
         N_ROWS);
  for (size_t i = 0; i < N_ROWS; i++) {
    char want[256];
    row_line(&rows[i], want, sizeof(want));
    tap_is_str(i < n_doc ? doc[i] : "(missing)", want, "doc row %zu: %s %s",
               i + 1, vt_check_type_name(rows[i].type), rows[i].series);
  }
  return tap_done();
}
