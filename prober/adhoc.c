/* SPDX-License-Identifier: MIT */
/* `vantage-probe check` (see adhoc.h): the command line becomes a probe
 * configuration text (one target per argument, loaded and validated by
 * probe_config.c like any file), and each try is one once-mode pass of the
 * scheduler, so the DNS, TCP and HTTP code is the daemon's own. */
#include "config.h"

#include "adhoc.h"

#include <ares.h>
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "check.h"
#include "cli.h"
#include "curl_loop.h"
#include "dns.h"
#include "grow.h"
#include "json.h"
#include "log.h"
#include "net.h"
#include "probe_config.h"
#include "result.h"
#include "scheduler.h"
#include "vt_time.h"

#define PROG "vantage-probe check"
#define ADHOC_MAX_ARGS 64
#define ADHOC_MAX_IPS 32
#define ADHOC_MAX_RESOLVERS 8
#define ADHOC_RETRY_S 1.0 /* between tries with --wait */

enum adhoc_exit {
  ADHOC_PASSED = 0,
  ADHOC_FAILED = 1, /* a check failed, or the probe could not start */
  ADHOC_USAGE = 2,
};

/* One URL or HOST:PORT argument. */
struct adhoc_arg {
  const char *text; /* as given */
  enum vt_check_type type;
  char host[256]; /* the name (or the address, when literal) */
  int port;
  bool literal; /* the host is an address: checked without DNS */
};

struct adhoc {
  /* options */
  const char *resolvers[ADHOC_MAX_RESOLVERS];
  size_t n_resolvers;
  char ips[ADHOC_MAX_IPS][VT_IP_STRLEN];
  size_t n_ips;
  bool json, tls, insecure, follow;
  double wait_s, timeout_s;
  const char *status, *body, *ca_file;
  struct adhoc_arg args[ADHOC_MAX_ARGS];
  size_t n_args;
  /* one try */
  struct ev_loop *loop;
  struct vt_result *res;
  size_t n_res, cap_res;
  bool oom;
};

static void usage(FILE *out)
{
  fprintf(
      out,
      "Usage: vantage-probe check [OPTIONS] URL|HOST:PORT ...\n"
      "Check every address behind each name once, without a configuration\n"
      "file: resolve the name (A and AAAA), then run the HTTP(S) check of\n"
      "the URL, or a TCP connect to HOST:PORT, against each address, with\n"
      "the Host header, TLS SNI and certificate name kept those of the\n"
      "name. Prints one line per address.\n"
      "\n"
      "Options:\n"
      "      --resolver ADDR[:PORT]  ask this resolver (repeatable; default\n"
      "                            the system's, from resolv.conf)\n"
      "      --ip ADDR             check ADDR under the name instead of the\n"
      "                            addresses in DNS (repeatable; DNS is not\n"
      "                            asked): new servers before a DNS switch\n"
      "      --wait SECONDS        try again every second until every\n"
      "                            address passes or SECONDS have passed\n"
      "      --timeout SECONDS     deadline of each check (default 5)\n"
      "      --status LIST         accepted HTTP status codes, e.g. 200,204\n"
      "                            (default 200)\n"
      "      --body TEXT           the body must contain TEXT\n"
      "      --follow              follow up to 5 redirects\n"
      "      --tls                 HOST:PORT: also do a TLS handshake\n"
      "      --ca-file FILE        extra CA bundle (PEM) to verify with\n"
      "  -k, --insecure            do not verify certificates\n"
      "      --json                print JSON instead of a table\n"
      "  -l, --log-level LVL       log on stderr from LVL (default err)\n"
      "  -v, --verbose             same as --log-level debug\n"
      "  -q, --quiet               same as --log-level warning\n"
      "  -h, --help                show this help and exit\n"
      "\n"
      "Exit status: 0 every address passed, 1 any check failed (a DNS\n"
      "failure included), 2 usage error.\n");
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'vantage-probe check --help' for more information.\n");
  return ADHOC_USAGE;
}

static bool parse_seconds(const char *s, double min, double max, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
    return false;
  *out = v;
  return true;
}

/* Normalizes an IP literal (brackets allowed around IPv6) into out. */
static bool ip_normalize(const char *s, char *out, size_t size)
{
  char tmp[VT_IP_STRLEN + 2];
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    if (n - 2 >= sizeof(tmp))
      return false;
    memcpy(tmp, s + 1, n - 2);
    tmp[n - 2] = '\0';
  } else {
    snprintf(tmp, sizeof(tmp), "%s", s);
  }
  return vt_net_ip_normalize(tmp, out, size);
}

/* A URL (http:// or https://) or HOST:PORT into a. */
static bool parse_target_arg(const char *s, struct adhoc_arg *a)
{
  *a = (struct adhoc_arg){.text = s};
  char host[256];
  if (strstr(s, "://")) {
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    bool ok =
        u && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    if (ok) {
      snprintf(host, sizeof(host), "%s", h);
      a->port = atoi(p);
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    if (!ok)
      return false;
    a->type = VT_CHECK_HTTP;
  } else {
    unsigned port;
    if (!vt_net_hostport(s, 0, host, sizeof(host), &port))
      return false;
    a->port = (int)port;
    a->type = VT_CHECK_TCP;
  }
  if (ip_normalize(host, a->host, sizeof(a->host))) {
    a->literal = true;
    return true;
  }
  snprintf(a->host, sizeof(a->host), "%s", host);
  return vt_net_hostname_ok(a->host);
}

/* Appends s as a libconfig string literal. False when s holds a control
 * character (no escape for it in libconfig 1.5) or out of memory. */
static bool cfg_str(struct vt_buf *b, const char *s)
{
  if (vt_buf_adds(b, "\"") != VT_OK)
    return false;
  for (const char *p = s; *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return false;
    char esc[3] = {'\\', *p, '\0'};
    if (vt_buf_adds(b, *p == '"' || *p == '\\' ? esc : esc + 1) != VT_OK)
      return false;
  }
  return vt_buf_adds(b, "\"") == VT_OK;
}

/* The configuration text for the command line. Returns false (message on
 * stderr) on a value the text cannot carry. */
static bool build_text(const struct adhoc *a, struct vt_buf *b)
{
  bool ok = vt_buf_addf(b,
                        "probe = { name = \"check\"; };\n"
                        "defaults = { interval = 600.0; timeout = %.3f; "
                        "keep_gone = 0.0; resolvers = [ ",
                        a->timeout_s) == VT_OK;
  for (size_t i = 0; ok && i < a->n_resolvers; i++)
    ok = (i == 0 || vt_buf_adds(b, ", ") == VT_OK) &&
         cfg_str(b, a->resolvers[i]);
  if (ok && a->n_resolvers == 0)
    ok = vt_buf_adds(b, "\"system\"") == VT_OK;
  ok = ok && vt_buf_adds(b, " ]; };\ntargets = (\n") == VT_OK;
  for (size_t i = 0; ok && i < a->n_args; i++) {
    const struct adhoc_arg *t = &a->args[i];
    bool dns = !t->literal && a->n_ips == 0;
    ok = vt_buf_addf(b, "%s  { name = \"t%zu\"; host = ", i ? ",\n" : "",
                     i + 1) == VT_OK &&
         /* An address as host: only the http URL names it, and an IPv6
          * one is no host name (the setting is not used without DNS). */
         cfg_str(b, t->literal && strchr(t->host, ':') ? "address" : t->host) &&
         vt_buf_adds(b, "; ips = [ ") == VT_OK;
    if (t->literal)
      ok = ok && cfg_str(b, t->host);
    for (size_t k = 0; ok && !t->literal && k < a->n_ips; k++)
      ok = (k == 0 || vt_buf_adds(b, ", ") == VT_OK) && cfg_str(b, a->ips[k]);
    ok = ok && vt_buf_adds(b, " ];\n    checks = ( ") == VT_OK;
    if (ok && dns)
      ok = vt_buf_adds(b, "{ type = \"dns\"; }, ") == VT_OK;
    if (ok && t->type == VT_CHECK_HTTP) {
      ok = vt_buf_adds(b, "{ type = \"http\"; url = ") == VT_OK &&
           cfg_str(b, t->text) &&
           vt_buf_addf(b, "; status = [ %s ]; follow_redirects = %s; ",
                       a->status ? a->status : "200",
                       a->follow ? "true" : "false") == VT_OK;
      if (ok && a->body)
        ok = vt_buf_adds(b, "body = ") == VT_OK && cfg_str(b, a->body) &&
             vt_buf_adds(b, "; ") == VT_OK;
    } else if (ok) {
      ok = vt_buf_addf(b, "{ type = \"tcp\"; port = %d; tls = %s; ", t->port,
                       a->tls ? "true" : "false") == VT_OK;
    }
    ok = ok && vt_buf_addf(b, "verify = %s; ",
                           a->insecure ? "false" : "true") == VT_OK;
    if (ok && a->ca_file)
      ok = vt_buf_adds(b, "ca_file = ") == VT_OK && cfg_str(b, a->ca_file) &&
           vt_buf_adds(b, "; ") == VT_OK;
    ok = ok && vt_buf_adds(b, "} ); }") == VT_OK;
  }
  ok = ok && vt_buf_adds(b, "\n);\n") == VT_OK;
  if (!ok)
    fprintf(stderr, PROG ": an argument holds a control character (or out "
                         "of memory)\n");
  return ok;
}

/* sched_emit_fn: keeps every result of the try. Its answers are only
 * borrowed for this call (lib/result.h), and the results are printed after
 * the try: each kept result gets its own copy. */
static void on_result(const struct vt_result *r, void *arg)
{
  struct adhoc *a = arg;
  struct vt_result *n = vt_grow(a->res, &a->cap_res, a->n_res + 1, sizeof(*n));
  if (!n) {
    a->oom = true;
    return;
  }
  a->res = n;
  char(*ans)[VT_IP_STRLEN] = NULL;
  int n_ans = r->answers ? r->n_answers : 0;
  if (n_ans > 0) {
    ans = malloc(sizeof(*ans) * (size_t)n_ans);
    if (!ans) {
      a->oom = true;
      return;
    }
    memcpy(ans, r->answers, sizeof(*ans) * (size_t)n_ans);
  }
  n = &a->res[a->n_res++];
  *n = *r;
  n->answers = (const char(*)[VT_IP_STRLEN])ans;
  n->n_answers = n_ans;
}

/* Forgets the kept results and frees their answers. */
static void results_clear(struct adhoc *a)
{
  for (size_t i = 0; i < a->n_res; i++)
    free((void *)a->res[i].answers);
  a->n_res = 0;
}

static void on_idle(void *arg)
{
  struct adhoc *a = arg;
  ev_break(a->loop, EVBREAK_ALL);
}

/* Sorts by argument, then DNS before addresses, then by address (IPv4
 * before IPv6, numerically), so the table reads the same every time. */
static int cmp_result(const void *x, const void *y)
{
  const struct vt_result *a = x, *b = y;
  size_t ta = strtoul(a->target + 1, NULL, 10),
         tb = strtoul(b->target + 1, NULL, 10);
  if (ta != tb)
    return ta < tb ? -1 : 1;
  bool da = a->check == VT_CHECK_DNS, db = b->check == VT_CHECK_DNS;
  if (da != db)
    return da ? -1 : 1;
  if (da)
    return strcmp(a->resolver, b->resolver);
  /* IPv4 before IPv6, then by address bytes. */
  unsigned char ba[17] = {0}, bb[17] = {0};
  ba[0] = vt_net_ip_parse(a->ip, ba + 1) == AF_INET6 ? 6 : 4;
  bb[0] = vt_net_ip_parse(b->ip, bb + 1) == AF_INET6 ? 6 : 4;
  return memcmp(ba, bb, sizeof(ba));
}

static size_t count_failed(const struct adhoc *a)
{
  size_t n = 0;
  for (size_t i = 0; i < a->n_res; i++)
    n += !a->res[i].ok;
  return n;
}

static void fmt_ms(char *out, size_t size, double ms)
{
  if (isnan(ms))
    snprintf(out, size, "-");
  else
    snprintf(out, size, "%.1f", ms);
}

static void print_table(const struct adhoc *a, int tries)
{
  int w = 7; /* "ADDRESS" */
  for (size_t i = 0; i < a->n_res; i++)
    if ((int)strlen(a->res[i].ip) > w)
      w = (int)strlen(a->res[i].ip);
  size_t checked = 0;
  for (size_t t = 0; t < a->n_args; t++) {
    const struct adhoc_arg *arg = &a->args[t];
    char tname[16];
    snprintf(tname, sizeof(tname), "t%zu", t + 1);
    printf("%s%s (%s port %d)\n", t ? "\n" : "", arg->text,
           arg->type == VT_CHECK_HTTP ? "http"
           : a->tls                   ? "tcp+tls"
                                      : "tcp",
           arg->port);
    if (arg->literal || a->n_ips)
      printf("  addresses given: %s\n",
             arg->literal ? arg->host : "--ip (DNS not asked)");
    bool header = false;
    for (size_t i = 0; i < a->n_res; i++) {
      const struct vt_result *r = &a->res[i];
      if (strcmp(r->target, tname) != 0)
        continue;
      if (r->check == VT_CHECK_DNS) {
        printf("  dns %s @%s: %s", r->host, r->resolver,
               r->ok ? vt_rcode_name(r->rcode) : vt_err_name(r->error));
        for (int k = 0; k < r->n_answers; k++)
          printf(" %s", r->answers[k]);
        if (r->ttl >= 0)
          printf(" (ttl %ld s)", r->ttl);
        if (!r->ok && r->detail[0])
          printf(": %s", r->detail);
        printf("\n");
        continue;
      }
      if (!header) {
        printf("  %-*s  %-15s %4s %8s %8s %8s %8s %5s  %s\n", w, "ADDRESS",
               "RESULT", "HTTP", "CONNECT", "TLS", "TTFB", "TOTAL", "CERT",
               "DETAIL");
        header = true;
      }
      char http[8] = "-", c[16], tl[16], fb[16], tot[16], cert[16] = "-";
      if (r->http_status)
        snprintf(http, sizeof(http), "%d", r->http_status);
      fmt_ms(c, sizeof(c), r->ms_connect);
      fmt_ms(tl, sizeof(tl), r->ms_tls);
      fmt_ms(fb, sizeof(fb), r->ms_ttfb);
      fmt_ms(tot, sizeof(tot), r->ms_total);
      if (r->cert_days_left != VT_NO_CERT_DAYS)
        snprintf(cert, sizeof(cert), "%d", r->cert_days_left);
      printf("  %-*s  %-15s %4s %8s %8s %8s %8s %5s  %s\n", w,
             r->ip[0] ? r->ip : "-", r->ok ? "ok" : vt_err_name(r->error), http,
             c, tl, fb, tot, cert, r->ok ? "" : r->detail);
      checked++;
    }
  }
  size_t failed = count_failed(a);
  char after[48] = "";
  if (tries > 1)
    snprintf(after, sizeof(after), " (after %d tries)", tries);
  if (failed == 0)
    printf("\nall %zu addresses passed%s\n", checked, after);
  else
    printf("\n%zu of %zu results failed%s\n", failed, a->n_res, after);
}

static bool print_json(const struct adhoc *a, int tries)
{
  struct vt_buf b;
  vt_buf_init(&b, 0);
  size_t failed = count_failed(a);
  bool ok =
      vt_buf_addf(&b,
                  "{\"ok\":%s,\"tries\":%d,\"results\":%zu,"
                  "\"failed\":%zu,\"targets\":[",
                  failed ? "false" : "true", tries, a->n_res, failed) == VT_OK;
  for (size_t t = 0; ok && t < a->n_args; t++) {
    const struct adhoc_arg *arg = &a->args[t];
    char tname[16];
    snprintf(tname, sizeof(tname), "t%zu", t + 1);
    size_t tf = 0;
    for (size_t i = 0; i < a->n_res; i++)
      tf += strcmp(a->res[i].target, tname) == 0 && !a->res[i].ok;
    ok = vt_buf_addf(&b, "%s{\"target\":", t ? "," : "") == VT_OK &&
         vt_json_str(&b, arg->text) == VT_OK &&
         vt_buf_addf(&b, ",\"check\":\"%s\",\"host\":",
                     vt_check_type_name(arg->type)) == VT_OK &&
         vt_json_str(&b, arg->host) == VT_OK &&
         vt_buf_addf(&b, ",\"port\":%d,\"dns\":%s,\"ok\":%s,\"results\":[",
                     arg->port, arg->literal || a->n_ips ? "false" : "true",
                     tf ? "false" : "true") == VT_OK;
    bool first = true;
    for (size_t i = 0; ok && i < a->n_res; i++) {
      if (strcmp(a->res[i].target, tname) != 0)
        continue;
      ok = (first || vt_buf_adds(&b, ",") == VT_OK) &&
           vt_result_to_json(&a->res[i], false, &b) == VT_OK;
      first = false;
    }
    ok = ok && vt_buf_adds(&b, "]}") == VT_OK;
  }
  ok = ok && vt_buf_adds(&b, "]}\n") == VT_OK;
  if (ok)
    fputs(vt_buf_str(&b), stdout);
  else
    fprintf(stderr, PROG ": out of memory\n");
  vt_buf_cleanup(&b);
  return ok;
}

/* Loads the configuration text; with --ip (or an address as the host) the
 * target's resolution gets no resolver, so the scheduler's once pass asks
 * no DNS and checks exactly the static addresses. */
static struct probe_conf *load_conf(const struct adhoc *a)
{
  struct vt_buf text;
  vt_buf_init(&text, 0);
  struct probe_conf *conf = NULL;
  if (build_text(a, &text)) {
    vt_debug("check: configuration:\n%s", vt_buf_str(&text));
    if (probe_conf_load_text("command line", vt_buf_str(&text), &conf) != VT_OK)
      conf = NULL;
  }
  vt_buf_cleanup(&text);
  for (size_t i = 0; conf && i < conf->n_targets; i++) {
    struct probe_target_conf *t = &conf->targets[i];
    if (t->n_ips == 0 || t->resolve != &t->hidden_resolve)
      continue;
    vt_cfg_strv_free(t->hidden_resolve.resolvers,
                     t->hidden_resolve.n_resolvers);
    t->hidden_resolve.resolvers = NULL;
    t->hidden_resolve.n_resolvers = 0;
  }
  return conf;
}

/* Runs tries until every result passed or --wait is over; returns the
 * number of tries, 0 when the probe could not start. */
static int run_tries(struct adhoc *a, const struct probe_conf *conf)
{
  struct probe_ctx ctx = {.loop = a->loop};
  ctx.curl = curl_loop_create(a->loop);
  ctx.dns = dns_pool_create(a->loop);
  ctx.cache = ctx.dns ? dns_cache_create(ctx.dns) : NULL;
  int tries = 0;
  if (!ctx.curl || !ctx.dns || !ctx.cache) {
    vt_err("check: cannot set up libcurl or c-ares on the event loop");
    goto out;
  }
  double deadline = vt_time_mono() + a->wait_s;
  for (;;) {
    results_clear(a);
    a->oom = false;
    struct sched *s = sched_create(&ctx, conf, on_result, a);
    if (!s) {
      vt_err("check: out of memory");
      tries = 0;
      goto out;
    }
    tries++;
    sched_start(s, true, on_idle, a);
    ev_run(a->loop, 0);
    sched_destroy(s);
    if (a->oom) {
      vt_err("check: out of memory keeping the results");
      tries = 0;
      goto out;
    }
    size_t failed = count_failed(a);
    double left = deadline - vt_time_mono();
    if (failed == 0 || left <= 0)
      break;
    for (size_t i = 0; i < a->n_res; i++) {
      char line[640];
      if (!a->res[i].ok)
        fprintf(stderr, PROG ": try %d: %s\n", tries,
                check_result_line(&a->res[i], line, sizeof(line)));
    }
    /* The last try starts when the time is up. */
    double pause = left < ADHOC_RETRY_S ? left : ADHOC_RETRY_S;
    fprintf(stderr,
            PROG ": try %d: %zu failed; trying again in %.1f s "
                 "(%.1f s left)\n",
            tries, failed, pause, left);
    ev_sleep(pause);
    ev_now_update(a->loop);
  }
  qsort(a->res, a->n_res, sizeof(*a->res), cmp_result);
out:
  dns_cache_destroy(ctx.cache);
  dns_pool_destroy(ctx.dns);
  curl_loop_destroy(ctx.curl);
  return tries;
}

/* Parses the options into a; returns -1 to go on, or an exit status. */
static int parse_args(struct adhoc *a, int argc, char **argv)
{
  enum {
    O_RESOLVER = 256,
    O_IP,
    O_WAIT,
    O_TIMEOUT,
    O_STATUS,
    O_BODY,
    O_FOLLOW,
    O_TLS,
    O_CA,
    O_JSON
  };
  static const struct option opts[] = {
      {"resolver", required_argument, NULL, O_RESOLVER},
      {"ip", required_argument, NULL, O_IP},
      {"wait", required_argument, NULL, O_WAIT},
      {"timeout", required_argument, NULL, O_TIMEOUT},
      {"status", required_argument, NULL, O_STATUS},
      {"body", required_argument, NULL, O_BODY},
      {"follow", no_argument, NULL, O_FOLLOW},
      {"tls", no_argument, NULL, O_TLS},
      {"ca-file", required_argument, NULL, O_CA},
      {"insecure", no_argument, NULL, 'k'},
      {"json", no_argument, NULL, O_JSON},
      {"log-level", required_argument, NULL, 'l'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  enum vt_log_level level = VT_LOG_ERR;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "kl:vqh", opts, NULL)) != -1) {
    char addr[64];
    int port;
    switch (c) {
    case O_RESOLVER:
      if (strcmp(optarg, "system") != 0 &&
          !probe_resolver_parse(optarg, addr, sizeof(addr), &port))
        return usage_error("--resolver: \"%s\" is not \"system\" or an IP "
                           "address with an optional port",
                           optarg);
      if (a->n_resolvers == ADHOC_MAX_RESOLVERS)
        return usage_error("--resolver: at most %d", ADHOC_MAX_RESOLVERS);
      a->resolvers[a->n_resolvers++] = optarg;
      break;
    case O_IP:
      if (a->n_ips == ADHOC_MAX_IPS)
        return usage_error("--ip: at most %d addresses", ADHOC_MAX_IPS);
      if (!ip_normalize(optarg, a->ips[a->n_ips], sizeof(a->ips[0])))
        return usage_error("--ip: \"%s\" is not an IP address", optarg);
      a->n_ips++;
      break;
    case O_WAIT:
      if (!parse_seconds(optarg, 0, 86400, &a->wait_s))
        return usage_error("--wait: \"%s\" is not a number of seconds in "
                           "[0, 86400]",
                           optarg);
      break;
    case O_TIMEOUT:
      if (!parse_seconds(optarg, 0.01, 600, &a->timeout_s))
        return usage_error("--timeout: \"%s\" is not a number of seconds in "
                           "[0.01, 600]",
                           optarg);
      break;
    case O_STATUS:
      for (const char *p = optarg; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 100 || v > 599 || (*end && *end != ','))
          return usage_error("--status: \"%s\" is not a list of HTTP status "
                             "codes (100-599), e.g. 200,204",
                             optarg);
        p = *end ? end + 1 : end;
      }
      a->status = optarg;
      break;
    case O_BODY:
      a->body = optarg;
      break;
    case O_FOLLOW:
      a->follow = true;
      break;
    case O_TLS:
      a->tls = true;
      break;
    case O_CA:
      if (access(optarg, R_OK) != 0)
        return usage_error("--ca-file: cannot read \"%s\"", optarg);
      a->ca_file = optarg;
      break;
    case 'k':
      a->insecure = true;
      break;
    case O_JSON:
      a->json = true;
      break;
    case 'l':
    case 'v':
    case 'q':
      if (vt_cli_log_option(PROG, c, optarg, &level) != VT_CLI_HANDLED)
        return ADHOC_USAGE;
      break;
    case 'h':
      usage(stdout);
      return ADHOC_PASSED;
    default:
      fprintf(stderr, "Try 'vantage-probe check --help' for more "
                      "information.\n");
      return ADHOC_USAGE;
    }
  }
  vt_log_threshold = level;
  if (optind == argc)
    return usage_error("%s", "no URL or HOST:PORT to check");
  for (; optind < argc; optind++) {
    if (a->n_args == ADHOC_MAX_ARGS)
      return usage_error("at most %d URLs or HOST:PORT", ADHOC_MAX_ARGS);
    struct adhoc_arg *t = &a->args[a->n_args++];
    if (!parse_target_arg(argv[optind], t))
      return usage_error("\"%s\" is not an http:// or https:// URL or "
                         "HOST:PORT with a host name or an address",
                         argv[optind]);
    if (t->type == VT_CHECK_HTTP && (a->tls))
      return usage_error("--tls is for HOST:PORT (%s is a URL)", t->text);
    if (t->type == VT_CHECK_TCP && (a->status || a->body || a->follow))
      return usage_error("--status, --body and --follow are for URLs (%s is "
                         "HOST:PORT)",
                         t->text);
  }
  return -1;
}

int adhoc_main(int argc, char **argv)
{
  struct adhoc *a = calloc(1, sizeof(*a));
  if (!a) {
    fprintf(stderr, PROG ": out of memory\n");
    return ADHOC_FAILED;
  }
  a->timeout_s = 5.0;
  vt_log_init("vantage-probe", VT_LOG_ERR);
  vt_log_set_plain(true);
  int rc = parse_args(a, argc, argv);
  if (rc >= 0)
    goto out;
  rc = ADHOC_FAILED;
  struct probe_conf *conf = load_conf(a);
  if (!conf) {
    rc = ADHOC_USAGE;
    goto out;
  }
  /* A peer closing mid-write must be an error return, not a signal. */
  signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
      ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
    vt_err("check: cannot initialise libcurl or c-ares");
    probe_conf_free(conf);
    goto out;
  }
  a->loop = EV_DEFAULT;
  int tries = run_tries(a, conf);
  if (tries > 0) {
    if (a->json ? print_json(a, tries) : (print_table(a, tries), true))
      rc = count_failed(a) ? ADHOC_FAILED : ADHOC_PASSED;
  }
  probe_conf_free(conf);
  ares_library_cleanup();
  curl_global_cleanup();
out:
  results_clear(a);
  free(a->res);
  free(a);
  return rc;
}
