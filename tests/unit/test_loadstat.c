/* SPDX-License-Identifier: MIT */
/* lib/loadstat: status-page parsers (tables of good and hostile inputs)
 * and the counter rate with restarts. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadstat.h"
#include "tap.h"

#define NGINX_OK                                                               \
  "Active connections: 291 \n"                                                 \
  "server accepts handled requests\n"                                          \
  " 16630948 16630947 31070465 \n"                                             \
  "Reading: 6 Writing: 179 Waiting: 106 \n"

#define APACHE_OK                                                              \
  "localhost\n"                                                                \
  "ServerVersion: Apache/2.4.57 (Debian)\n"                                    \
  "Total Accesses: 131\n"                                                      \
  "Total kBytes: 143\n"                                                        \
  "ReqPerSec: .0123\n"                                                         \
  "BusyWorkers: 2\n"                                                           \
  "Scoreboard: _W__...\n"

#define PROM_OK                                                                \
  "# HELP http_requests_total Requests.\n"                                     \
  "# TYPE http_requests_total counter\n"                                       \
  "http_requests_total{method=\"get\",code=\"200\"} 1027 1395066363000\n"      \
  "http_requests_total{method=\"post\",code=\"200\"} 3\n"                      \
  "http_requests_total{method=\"get\",code=\"400\"} 5\n"                       \
  "node_network_transmit_bytes_total{device=\"eth0\"} 1.5e+09\n"               \
  "node_network_transmit_bytes_total{device=\"lo\"} 42\n"                      \
  "weird{path=\"a\\\"b\\\\c\\n\",} 7\n"                                        \
  "# TYPE temp gauge\n"                                                        \
  "temp 21.5\n"                                                                \
  "up_ish 1\n"

struct good {
  enum vt_load_format fmt;
  const char *field;
  const char *labels[3];
  const char *text;
  double value;
  enum vt_load_kind kind;
  int line;
};

static const struct good goods[] = {
    {VT_LOAD_NGINX, NULL, {0}, NGINX_OK, 31070465, VT_LOAD_COUNTER, 3},
    {VT_LOAD_NGINX, "accepts", {0}, NGINX_OK, 16630948, VT_LOAD_COUNTER, 3},
    {VT_LOAD_NGINX, "handled", {0}, NGINX_OK, 16630947, VT_LOAD_COUNTER, 3},
    {VT_LOAD_NGINX, "active", {0}, NGINX_OK, 291, VT_LOAD_GAUGE, 1},
    {VT_LOAD_NGINX, "writing", {0}, NGINX_OK, 179, VT_LOAD_GAUGE, 4},
    {VT_LOAD_NGINX,
     "waiting",
     {0},
     "Active connections: 1\r\nserver accepts "
     "handled requests\r\n 1 1 1\r\nReading: 0 Writing: 1 Waiting: 0\r\n",
     0,
     VT_LOAD_GAUGE,
     4},
    {VT_LOAD_APACHE, NULL, {0}, APACHE_OK, 131, VT_LOAD_COUNTER, 3},
    {VT_LOAD_APACHE, "Total kBytes", {0}, APACHE_OK, 143, VT_LOAD_COUNTER, 4},
    {VT_LOAD_APACHE, "BusyWorkers", {0}, APACHE_OK, 2, VT_LOAD_GAUGE, 6},
    {VT_LOAD_APACHE, "ReqPerSec", {0}, APACHE_OK, 0.0123, VT_LOAD_GAUGE, 5},
    {VT_LOAD_PROM,
     "http_requests_total",
     {0},
     PROM_OK,
     1035,
     VT_LOAD_COUNTER,
     3},
    {VT_LOAD_PROM,
     "http_requests_total",
     {"code=200"},
     PROM_OK,
     1030,
     VT_LOAD_COUNTER,
     3},
    {VT_LOAD_PROM,
     "http_requests_total",
     {"code=200", "method=post"},
     PROM_OK,
     3,
     VT_LOAD_COUNTER,
     4},
    {VT_LOAD_PROM,
     "node_network_transmit_bytes_total",
     {"device=eth0"},
     PROM_OK,
     1.5e9,
     VT_LOAD_COUNTER,
     6},
    {VT_LOAD_PROM, "weird", {"path=a\"b\\c\n"}, PROM_OK, 7, VT_LOAD_GAUGE, 8},
    {VT_LOAD_PROM, "temp", {0}, PROM_OK, 21.5, VT_LOAD_GAUGE, 10},
    {VT_LOAD_PROM, "up_ish", {0}, PROM_OK, 1, VT_LOAD_GAUGE, 11},
};

struct bad {
  enum vt_load_format fmt;
  const char *field;
  const char *label;
  const char *text;
  enum vt_status st;
  const char *err; /* substring of the message */
};

static const struct bad bads[] = {
    {VT_LOAD_NGINX, NULL, NULL, "", VT_EINVAL, "empty body"},
    {VT_LOAD_NGINX, NULL, NULL, "<!DOCTYPE html>\n<html>\n", VT_EINVAL,
     "line 1: not nginx stub_status: \"<!DOCTYPE html>\""},
    {VT_LOAD_NGINX, NULL, NULL,
     "Active connections: 1\nserver accepts handled requests\n 1 2\n",
     VT_EINVAL, "line 3: expected 3 numbers"},
    {VT_LOAD_NGINX, NULL, NULL,
     "Active connections: 1\nserver accepts handled requests\n 1 2 NaN\n",
     VT_EINVAL, "line 3: expected 3 numbers"},
    {VT_LOAD_NGINX, NULL, NULL,
     "Active connections: 1\nserver accepts handled requests\n 1 2 -3\n",
     VT_EINVAL, "line 3: expected 3 numbers"},
    {VT_LOAD_NGINX, NULL, NULL,
     "Active connections: 1\nserver accepts "
     "handled requests\n",
     VT_EINVAL, "line 3: the counters line is missing"},
    {VT_LOAD_NGINX, NULL, NULL, "Active connections: 1\n", VT_ENOTFOUND,
     "no \"requests\""},
    {VT_LOAD_NGINX, "active", NULL, "Active connections: x\n", VT_EINVAL,
     "line 1: no number"},
    {VT_LOAD_NGINX, "active", NULL,
     "Active connections: 1\nReading: 1 "
     "Writing: 2\n",
     VT_EINVAL, "line 2: expected \"Reading: N"},
    {VT_LOAD_NGINX, "bogus", NULL, NGINX_OK, VT_EINVAL,
     "unknown nginx field \"bogus\""},
    {VT_LOAD_APACHE, NULL, NULL, "host\nTotal Accesses: many\n", VT_EINVAL,
     "line 2: \"Total Accesses\" is not a number"},
    {VT_LOAD_APACHE, NULL, NULL, "host\nTotal Accesses: 1e400\n", VT_EINVAL,
     "line 2: \"Total Accesses\" is not a number"},
    {VT_LOAD_APACHE, NULL, NULL, "host\nUptime: 3\njunk\n", VT_EINVAL,
     "line 3: not \"Key: value\""},
    {VT_LOAD_APACHE, NULL, NULL, "host\nUptime: 3\n", VT_ENOTFOUND,
     "no \"Total Accesses:\""},
    {VT_LOAD_PROM, "x_total", NULL, "x_total NaN\n", VT_EINVAL,
     "line 1: x_total is NaN"},
    {VT_LOAD_PROM, "x_total", NULL, "# TYPE x_total counter\nx_total +Inf\n",
     VT_EINVAL, "line 2: x_total is +Inf"},
    {VT_LOAD_PROM, "x_total", NULL, "x_total -Inf\n", VT_EINVAL,
     "line 1: x_total is -Inf"},
    {VT_LOAD_PROM, "x_total", NULL, "x_total -5\n", VT_EINVAL,
     "line 1: counter is negative"},
    {VT_LOAD_PROM, "temp", NULL, "# TYPE temp gauge\ntemp -5.5\n", VT_EINVAL,
     "line 2: gauge is negative (-5.5)"},
    {VT_LOAD_PROM, "x_total", NULL, "a 1\nx_total{a=\"1\" 2\n", VT_EINVAL,
     "line 2: not a Prometheus text sample"},
    {VT_LOAD_PROM, "x_total", NULL, "a 1\n\nx_total nan\n", VT_EINVAL,
     "line 3: not a Prometheus text sample"},
    {VT_LOAD_PROM, "x_total", NULL, "x_total 0x10\n", VT_EINVAL,
     "line 1: not a Prometheus text sample"},
    {VT_LOAD_PROM, "x_total", NULL, "x_total 1 2 3\n", VT_EINVAL,
     "line 1: not a Prometheus text sample"},
    {VT_LOAD_PROM, "x_total", NULL, "x_total{a=\"\\q\"} 1\n", VT_EINVAL,
     "line 1: not a Prometheus text sample"},
    {VT_LOAD_PROM, "x_total", NULL, "<html>\n", VT_EINVAL,
     "line 1: not a Prometheus text sample: \"<html>\""},
    {VT_LOAD_PROM, "x_total", "a=2", "x_total{a=\"1\"} 1\n", VT_ENOTFOUND,
     "no series x_total with the given labels"},
    {VT_LOAD_PROM, "x_total", NULL, "x_totals 1\n", VT_ENOTFOUND,
     "no series x_total in 1 lines"},
    {VT_LOAD_PROM, "9bad", NULL, "x 1\n", VT_EINVAL,
     "not a Prometheus metric name"},
    {VT_LOAD_PROM, "x", "noequals", "x 1\n", VT_EINVAL,
     "label \"noequals\" is not name=value"},
    {VT_LOAD_NGINX, NULL, "a=b", NGINX_OK, VT_EINVAL,
     "labels apply to the prometheus format only"},
    {VT_LOAD_PROM, "x", NULL, "x 1\nx\0 2\n", VT_EINVAL, "line 2: a NUL byte"},
};

static void test_goods(void)
{
  for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
    const struct good *g = &goods[i];
    size_t nl = 0;
    while (nl < 3 && g->labels[nl])
      nl++;
    struct vt_load_spec spec = {.format = g->fmt,
                                .field = g->field,
                                .labels = g->labels,
                                .n_labels = nl};
    struct vt_load_reading rd;
    char err[256];
    enum vt_status st =
        vt_load_parse(&spec, g->text, strlen(g->text), &rd, err, sizeof(err));
    tap_ok(st == VT_OK && fabs(rd.value - g->value) < 1e-9 &&
               rd.kind == g->kind && rd.line == g->line,
           "%s %s%s%s: %g (%s, line %d)", vt_load_format_name(g->fmt),
           g->field ? g->field : "(default)", nl ? " " : "",
           nl && !strchr(g->labels[0], '\n') ? g->labels[0] : "", g->value,
           vt_load_kind_name(g->kind), g->line);
    if (st != VT_OK)
      printf("#   %s\n", err);
    else if (fabs(rd.value - g->value) >= 1e-9 || rd.line != g->line)
      printf("#   got %g line %d kind %d\n", rd.value, rd.line, rd.kind);
  }
}

static void test_bads(void)
{
  for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
    const struct bad *b = &bads[i];
    const char *labels[1] = {b->label};
    struct vt_load_spec spec = {.format = b->fmt,
                                .field = b->field,
                                .labels = labels,
                                .n_labels = b->label ? 1 : 0};
    struct vt_load_reading rd;
    char err[256] = "";
    size_t len = strlen(b->text);
    if (strstr(b->err, "NUL"))
      len = 10; /* "x 1\nx\0 2\n" */
    enum vt_status st =
        vt_load_parse(&spec, b->text, len, &rd, err, sizeof(err));
    tap_ok(st == b->st && strstr(err, b->err), "hostile %zu: %s", i, b->err);
    if (st != b->st || !strstr(err, b->err))
      printf("#   status %d, message: %s\n", st, err);
  }
}

/* A line of 100 KiB: refused by number, without reading past it. */
static void test_huge(void)
{
  size_t n = 100 * 1024;
  char *text = malloc(n + 64);
  strcpy(text, "x 1\n# ");
  memset(text + 6, 'a', n);
  strcpy(text + 6 + n, "\nx 2\n");
  struct vt_load_spec spec = {.format = VT_LOAD_PROM, .field = "x"};
  struct vt_load_reading rd;
  char err[128];
  enum vt_status st = vt_load_parse(&spec, text, strlen(text), &rd, err, 128);
  tap_ok(st == VT_EINVAL && strstr(err, "line 2: longer than 65536 bytes"),
         "a 100 KiB line is refused naming line 2 (%s)", err);
  /* A huge but legal label set on a line of its own still parses. */
  size_t m = 60000;
  char *big = malloc(m + 64);
  strcpy(big, "y{a=\"");
  memset(big + 5, 'b', m);
  strcpy(big + 5 + m, "\"} 3\nx 4\n");
  st = vt_load_parse(&spec, big, strlen(big), &rd, err, 128);
  tap_ok(st == VT_OK && rd.value == 4 && rd.line == 2,
         "a 60 KB label value elsewhere is skipped");
  /* A message buffer of 0 bytes is fine. */
  st = vt_load_parse(&spec, "<html>", 6, &rd, NULL, 0);
  tap_ok(st == VT_EINVAL, "no message buffer");
  free(big);
  free(text);
}

/* The rate: counter steps, restarts, gauges, time standing still. */
static void test_rate(void)
{
  struct vt_load_rate r = {0};
  struct vt_load_reading c = {.kind = VT_LOAD_COUNTER};
  bool reset;
  c.value = 1000;
  tap_ok(isnan(vt_load_rate_next(&r, &c, 100, &reset)) && !reset,
         "first sample: no rate");
  c.value = 1500;
  tap_ok(vt_load_rate_next(&r, &c, 110, &reset) == 50 && !reset,
         "500 in 10 s: 50/s");
  c.value = 1500;
  tap_ok(vt_load_rate_next(&r, &c, 120, &reset) == 0, "unchanged: 0/s");
  c.value = 30; /* restarted */
  double x = vt_load_rate_next(&r, &c, 130, &reset);
  tap_ok(x == 3 && reset, "restart: 30 since at most 10 s: 3/s, no spike");
  c.value = 130;
  tap_ok(vt_load_rate_next(&r, &c, 140, &reset) == 10 && !reset,
         "after the restart: 10/s");
  c.value = 200;
  tap_ok(isnan(vt_load_rate_next(&r, &c, 140, NULL)),
         "same time again: no rate");
  c.value = 330;
  tap_ok(vt_load_rate_next(&r, &c, 150, NULL) == 20,
         "the sample kept is the older one: 200 in 10 s");
  struct vt_load_reading g = {.kind = VT_LOAD_GAUGE, .value = 17};
  tap_ok(vt_load_rate_next(&r, &g, 160, NULL) == 17, "gauge: as is");
  tap_ok(!r.have, "a gauge keeps no counter sample");
  /* Property: a counter with random restarts never gives a rate above the
   * true one, and never a negative one. */
  unsigned seed = 12345;
  struct vt_load_rate p = {0};
  double counter = 0, worst = 0;
  bool neg = false;
  for (int i = 0; i < 2000; i++) {
    seed = seed * 1103515245u + 12345u;
    double inc = (double)((seed >> 8) % 1000);
    if ((seed >> 20) % 50 == 0)
      counter = inc / 2; /* a restart mid-interval */
    else
      counter += inc;
    struct vt_load_reading s = {.kind = VT_LOAD_COUNTER, .value = counter};
    double rate = vt_load_rate_next(&p, &s, 10.0 * i, NULL);
    if (!isnan(rate)) {
      neg |= rate < 0;
      if (rate * 10 - inc > worst)
        worst = rate * 10 - inc;
    }
  }
  tap_ok(!neg && worst <= 1e-9,
         "2000 random steps with restarts: rate never negative nor above "
         "the true increase (excess %g)",
         worst);
}

static void test_names(void)
{
  enum vt_load_format f;
  enum vt_load_kind k;
  tap_ok(vt_load_format_parse("prometheus", &f) && f == VT_LOAD_PROM &&
             !vt_load_format_parse("prom", &f) &&
             vt_load_kind_parse("gauge", &k) && k == VT_LOAD_GAUGE &&
             !vt_load_kind_parse("rate", &k),
         "format and kind names");
}

int main(void)
{
  tap_plan(
      (int)(sizeof(goods) / sizeof(goods[0]) + sizeof(bads) / sizeof(bads[0])) +
      3 + 10 + 1);
  test_goods();
  test_bads();
  test_huge();
  test_rate();
  test_names();
  return tap_done();
}
