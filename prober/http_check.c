/* SPDX-License-Identifier: MIT */
/* HTTP(S) checks on curl_loop. An "http" check pins one address of the
 * target (its slot key) with CURLOPT_CONNECT_TO, so Host and SNI stay the
 * URL's host while every address is measured on its own. A "client" check
 * behaves like a browser: it looks the host up through the TTL-respecting
 * cache, takes the first address the server gave, and runs the same
 * transfer pinned to it. Each slot reuses one easy handle and one body
 * buffer run after run. */
#include "config.h"

#include "check.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "buf.h"
#include "curl_loop.h"
#include "dns.h"
#include "log.h"
#include "probe_config.h"
#include "result.h"
#include "vt_time.h"

#define HTTP_CHECK_USER_AGENT "vantage-probe/" PACKAGE_VERSION
#define HTTP_CHECK_MAX_REDIRS 5L

enum http_check_state {
  HTTP_CHECK_IDLE,
  HTTP_CHECK_RESOLVING, /* client checks: waiting for the DNS answer */
  HTTP_CHECK_TRANSFER,  /* the easy handle is in the multi handle */
};

struct http_check {
  struct probe_ctx *ctx;
  const struct probe_target_conf *t;
  const struct probe_check_conf *c;
  bool client;
  enum http_check_state state;

  /* From the URL, parsed once at create. url_host keeps the brackets of an
   * IPv6 literal because that is how CONNECT_TO matches it. */
  bool url_ok;
  char *url_host;     /* curl_free */
  char dns_host[256]; /* url_host without an IPv6 literal's brackets */
  int url_port;       /* explicit, or 80/443 by scheme */

  /* The pin. Built once for http checks; rebuilt for client checks only
   * when the chosen address changes. Must outlive each transfer
   * (CURLOPT_CONNECT_TO.md). */
  char pin_ip[VT_IP_STRLEN];
  struct curl_slist *pin;

  CURL *easy;
  unsigned memo;      /* the options easy holds (HTTP_MEMO_*) */
  struct vt_buf body; /* kept when c->body is set or for load checks;
                         capped at max_body */
  size_t body_bytes;  /* received in this run, kept or not */
  bool too_large;     /* the write callback stopped the transfer */
  bool body_nomem;
  char errbuf[CURL_ERROR_SIZE];
  /* Days left of the leaf certificate as OpenSSL verified it: curl lists
   * no certificate when verification fails, and an expired one is exactly
   * what cert_days_left must show (as tcp+tls does). */
  int verify_cert_days;

  /* The current run. */
  struct check_run run;
  double t_start; /* monotonic */
  struct dns_query *query;
};

static const char *http_check_state_name(enum http_check_state s)
{
  switch (s) {
  case HTTP_CHECK_IDLE:
    return "idle";
  case HTTP_CHECK_RESOLVING:
    return "resolving";
  case HTTP_CHECK_TRANSFER:
    return "transfer";
  }
  return "?";
}

/* "http: www/health www.example.test [192.0.2.1]:443: " then the message. */
#define HTTP_CHECK_LOG(level, h, fmt, ...)                                     \
  VT_LOG(level, "%s: %s/%s %s [%s]:%d: " fmt, (h)->client ? "client" : "http", \
         (h)->t->name, (h)->c->name, (h)->t->host,                             \
         (h)->pin_ip[0] ? (h)->pin_ip : "-", (h)->url_port, __VA_ARGS__)

static void http_check_set_state(struct http_check *h, enum http_check_state s)
{
  HTTP_CHECK_LOG(VT_LOG_DEBUG, h, "%s -> %s", http_check_state_name(h->state),
                 http_check_state_name(s));
  h->state = s;
}

/* ---- URL and pin ------------------------------------------------------- */

/* Scheme, host and port of url by curl's own parser, so they match what
 * the transfer will use: host keeps the brackets of an IPv6 literal
 * (that is how CONNECT_TO matches it), port is explicit or 80/443 by
 * scheme. scheme and host are the caller's to curl_free, set or not. */
static CURLUcode http_url_split(const char *url, char **scheme, char **host,
                                int *port)
{
  char *p = NULL;
  CURLU *u = curl_url();
  if (!u)
    return CURLUE_OUT_OF_MEMORY;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_SCHEME, scheme, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_HOST, host, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
  if (uc == CURLUE_OK) {
    char *end;
    long n = strtol(p, &end, 10);
    if (*end || n < 1 || n > 65535)
      uc = CURLUE_BAD_PORT_NUMBER;
    else
      *port = (int)n;
  }
  curl_free(p);
  curl_url_cleanup(u);
  return uc;
}

/* check_type.endpoint: the URL's host and port. */
void http_check_endpoint(const struct probe_target_conf *t,
                         const struct probe_check_conf *c, char *host,
                         size_t size, int *port)
{
  char *scheme = NULL, *h = NULL;
  (void)t;
  *port = 0;
  if (http_url_split(c->url, &scheme, &h, port) != CURLUE_OK)
    *port = 0;
  snprintf(host, size, "%s", h ? h : "");
  curl_free(scheme);
  curl_free(h);
}

/* Takes host and port from the URL (validated at config load; a bad one
 * is logged and leaves url_ok false). */
static enum vt_status http_check_parse_url(struct http_check *h)
{
  char *scheme = NULL;
  CURLUcode uc = http_url_split(h->c->url, &scheme, &h->url_host, &h->url_port);
  enum vt_status st = VT_EINVAL;
  if (uc == CURLUE_OUT_OF_MEMORY) {
    st = VT_ENOMEM;
    goto out;
  }
  if (uc == CURLUE_BAD_PORT_NUMBER)
    goto out;
  if (uc != CURLUE_OK) {
    vt_err("http: %s/%s: line %d: bad url \"%s\": %s", h->t->name, h->c->name,
           h->c->line, h->c->url, curl_url_strerror(uc));
    goto out;
  }
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    vt_err("http: %s/%s: line %d: url \"%s\" is not http or https", h->t->name,
           h->c->name, h->c->line, h->c->url);
    goto out;
  }
  const char *name = h->url_host;
  size_t len = strlen(name);
  if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
    name++;
    len -= 2;
  }
  if (len >= sizeof(h->dns_host))
    goto out;
  memcpy(h->dns_host, name, len);
  h->dns_host[len] = '\0';
  h->url_ok = true;
  st = VT_OK;
out:
  curl_free(scheme);
  return st;
}

/* Pins the transfer to ip. The first entry is the URL's own host and port.
 * The second, with empty ports, keeps redirects to the same host on another
 * port (http -> https) on the same address. Other hosts a redirect names are
 * resolved by libcurl as usual. */
static enum vt_status http_check_pin(struct http_check *h, const char *ip)
{
  if (h->pin && strcmp(h->pin_ip, ip) == 0)
    return VT_OK;
  curl_slist_free_all(h->pin);
  h->pin = NULL;
  h->pin_ip[0] = '\0';

  bool v6 = strchr(ip, ':') != NULL;
  const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
  char line[512];
  int n = snprintf(line, sizeof(line), "%s:%d:%s%s%s:%d", h->url_host,
                   h->url_port, lb, ip, rb, h->url_port);
  if (n < 0 || (size_t)n >= sizeof(line))
    return VT_EINVAL;
  struct curl_slist *l = curl_slist_append(NULL, line);
  if (!l)
    return VT_ENOMEM;
  snprintf(line, sizeof(line), "%s::%s%s%s:", h->url_host, lb, ip, rb);
  struct curl_slist *l2 = curl_slist_append(l, line);
  if (!l2) {
    curl_slist_free_all(l);
    return VT_ENOMEM;
  }
  h->pin = l2;
  snprintf(h->pin_ip, sizeof(h->pin_ip), "%s", ip);
  return VT_OK;
}

/* ---- transfer ---------------------------------------------------------- */

/* CURLOPT_WRITEFUNCTION: counts the body and keeps it when it has to be
 * searched. One byte past max_body aborts the transfer (returning less than
 * given makes curl stop with CURLE_WRITE_ERROR), so a huge body is never
 * downloaded. */
static size_t http_check_write_cb(char *ptr, size_t size, size_t nmemb,
                                  void *userdata)
{
  struct http_check *h = userdata;
  size_t n = size * nmemb;
  long max = h->c->max_body;
  h->body_bytes += n;
  if (max > 0 && h->body_bytes > (size_t)max) {
    h->too_large = true;
    return 0;
  }
  if ((h->c->body || h->c->type == VT_CHECK_LOAD) &&
      vt_buf_add(&h->body, ptr, n) != VT_OK) {
    h->body_nomem = true;
    return 0;
  }
  return n;
}

static void http_check_xfer_done(CURL *easy, CURLcode rc, void *arg);

/* The SSL_CTX ex_data slot that leads the verify callback to its check;
 * -1 when OpenSSL has none to give. The probe runs one loop, one thread. */
static int http_check_ex_index(void)
{
  static int idx = -2;
  if (idx == -2)
    idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  return idx;
}

/* OpenSSL's verify callback: notes the leaf certificate's days left and
 * leaves the verdict to OpenSSL and curl. */
static int http_check_verify_cb(int ok, X509_STORE_CTX *store)
{
  X509 *cert = X509_STORE_CTX_get_current_cert(store);
  SSL *ssl =
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  struct http_check *h =
      ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), http_check_ex_index())
          : NULL;
  if (h && cert && X509_STORE_CTX_get_error_depth(store) == 0)
    h->verify_cert_days = tcp_check_cert_days(cert);
  return ok;
}

/* CURLOPT_SSL_CTX_FUNCTION (OpenSSL backend): libcurl 7.88 makes an SSL_CTX
 * per connection and calls this after setting its verify mode, which is
 * kept. */
static CURLcode http_check_ssl_ctx_cb(CURL *e, void *sslctx, void *arg)
{
  SSL_CTX *ctx = sslctx;
  (void)e;
  if (SSL_CTX_set_ex_data(ctx, http_check_ex_index(), arg) == 1)
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), http_check_verify_cb);
  return CURLE_OK;
}

/* What a pooled easy handle holds (its curl_loop memo), so a run sets only
 * the options that differ from the last run on it: curl_easy_reset and
 * two dozen options cost about as much as the rest of the probe's work on
 * a result. Only http checks use the pool. */
#define HTTP_MEMO_COMMON 0x1u /* the options every http check sets alike */
#define HTTP_MEMO_FOLLOW 0x2u /* FOLLOWLOCATION on */
#define HTTP_MEMO_VERIFY 0x4u /* SSL_VERIFYPEER and VERIFYHOST on */
#define HTTP_MEMO_CA 0x8u     /* CAINFO is a check's ca_file */

/* The options every http check sets the same way, on a handle that
 * curl_easy_reset just cleared. */
static bool http_check_set_common(CURL *e)
{
  bool bad = false;
  /* An environment proxy would defeat the pin. */
  bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") !=
         CURLE_OK;
  /* A fresh connection and a full handshake every run: a reused connection
   * or resumed TLS session would hide connect and TLS problems and leave
   * CERTINFO empty. The session cache is per easy handle and survives
   * curl_easy_reset. */
  bad |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L) != CURLE_OK;
  bad |=
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, HTTP_CHECK_MAX_REDIRS) != CURLE_OK;
  /* Also for http URLs: a redirect may lead to https. */
  bad |= curl_easy_setopt(e, CURLOPT_CERTINFO, 1L) != CURLE_OK;
  if (http_check_ex_index() >= 0)
    bad |= curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION,
                            http_check_ssl_ctx_cb) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |=
      curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_CHECK_USER_AGENT) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_check_write_cb) !=
         CURLE_OK;
  return !bad;
}

/* Sets the options of this run on a handle from the pool (only those that
 * differ from what its memo says it holds; all of them after a
 * curl_easy_reset when it holds something else, or a CA file this check
 * does not want) and adds it to the multi handle. */
static enum vt_status http_check_begin(struct http_check *h, double timeout_s)
{
  const struct probe_check_conf *c = h->c;
  if (!h->easy && !(h->easy = curl_loop_easy_get(h->ctx->curl, &h->memo)))
    return VT_ENOMEM;
  CURL *e = h->easy;
  vt_buf_reset(&h->body);
  h->body_bytes = 0;
  h->too_large = false;
  h->body_nomem = false;
  h->errbuf[0] = '\0';
  h->verify_cert_days = VT_NO_CERT_DAYS;

  unsigned want =
      HTTP_MEMO_COMMON | (c->follow_redirects ? HTTP_MEMO_FOLLOW : 0) |
      (c->verify ? HTTP_MEMO_VERIFY : 0) | (c->ca_file ? HTTP_MEMO_CA : 0);
  unsigned have = h->memo;
  h->memo = 0; /* until every option below is set */
  bool bad = false;
  /* The default CA bundle comes back only with a reset. */
  if (!(have & HTTP_MEMO_COMMON) || ((have & HTTP_MEMO_CA) && !c->ca_file)) {
    curl_easy_reset(e);
    bad |= !http_check_set_common(e);
    have = HTTP_MEMO_COMMON | HTTP_MEMO_VERIFY; /* curl's defaults */
  }
  if ((have ^ want) & HTTP_MEMO_FOLLOW)
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
                            c->follow_redirects ? 1L : 0L) != CURLE_OK;
  if ((have ^ want) & HTTP_MEMO_VERIFY) {
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L) !=
           CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L) !=
           CURLE_OK;
  }
  if (c->ca_file)
    bad |= curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;

  /* What changes from run to run. */
  long timeout_ms = lround(timeout_s * 1000.0);
  if (timeout_ms < 1)
    timeout_ms = 1;
  bad |= curl_easy_setopt(e, CURLOPT_URL, c->url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->pin) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK;
  if (http_check_ex_index() >= 0)
    bad |= curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, h) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf) != CURLE_OK;
  if (bad) {
    HTTP_CHECK_LOG(VT_LOG_ERR, h, "%s", "cannot set curl options");
    return VT_ELIB;
  }
  h->memo = want;
  return curl_loop_add(h->ctx->curl, e, http_check_xfer_done, h);
}

/* Parses OpenSSL's "Jan 30 12:00:00 2027 GMT" (ASN1_TIME_print; the day is
 * space-padded). Month names by hand: strptime's %b follows LC_TIME. */
static bool http_check_parse_cert_time(const char *s, time_t *out)
{
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char mon[4];
  int d, hh, mm, ss, y;
  if (sscanf(s, " %3s %d %d:%d:%d %d", mon, &d, &hh, &mm, &ss, &y) != 6)
    return false;
  for (int i = 0; i < 12; i++) {
    if (strcmp(mon, months[i]) == 0) {
      struct tm tm = {.tm_year = y - 1900,
                      .tm_mon = i,
                      .tm_mday = d,
                      .tm_hour = hh,
                      .tm_min = mm,
                      .tm_sec = ss};
      *out = timegm(&tm);
      return *out != (time_t)-1;
    }
  }
  return false;
}

/* Days until the leaf certificate (the first one curl lists) expires;
 * VT_NO_CERT_DAYS when there was no TLS. Works without verification. */
static int http_check_cert_days(CURL *e)
{
  struct curl_certinfo *ci = NULL;
  if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
      ci->num_of_certs < 1)
    return VT_NO_CERT_DAYS;
  static const char key[] = "Expire date:";
  for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
    if (strncmp(l->data, key, sizeof(key) - 1) != 0)
      continue;
    time_t expiry;
    if (!http_check_parse_cert_time(l->data + sizeof(key) - 1, &expiry))
      return VT_NO_CERT_DAYS;
    return (int)floor(difftime(expiry, time(NULL)) / 86400.0);
  }
  return VT_NO_CERT_DAYS;
}

/* curl's phase timestamps are offsets from the start of the transfer, in
 * microseconds; 0 means the phase was not reached. */
static curl_off_t http_check_time_us(CURL *e, CURLINFO info)
{
  curl_off_t v = 0;
  if (curl_easy_getinfo(e, info, &v) != CURLE_OK)
    return 0;
  return v;
}

/* Whether the TCP handshake completed. libcurl 7.88 leaves CONNECT_TIME_T
 * at 0 when the TLS handshake then stalls or fails, so a server that accepts
 * but never answers the ClientHello would look like a lost SYN. The local
 * port is known only once the socket connected (tested: 0 for a dropped
 * SYN, set for a stalled handshake). */
static bool http_check_tcp_connected(CURL *e)
{
  long local_port = 0;
  if (http_check_time_us(e, CURLINFO_CONNECT_TIME_T) > 0)
    return true;
  return curl_easy_getinfo(e, CURLINFO_LOCAL_PORT, &local_port) == CURLE_OK &&
         local_port > 0;
}

/* Phases: connect is the TCP handshake alone (CONNECT - NAMELOOKUP; the
 * lookup is ~0 because the address is pinned), tls the TLS handshake
 * (APPCONNECT - CONNECT), ttfb and total count from the start of the
 * transfer. With redirects, curl reports the last request's phases and a
 * total that spans all of them. */
static void http_check_measure(struct http_check *h)
{
  CURL *e = h->easy;
  struct vt_result *r = h->run.res;
  curl_off_t lookup = http_check_time_us(e, CURLINFO_NAMELOOKUP_TIME_T);
  curl_off_t conn = http_check_time_us(e, CURLINFO_CONNECT_TIME_T);
  curl_off_t app = http_check_time_us(e, CURLINFO_APPCONNECT_TIME_T);
  curl_off_t ttfb = http_check_time_us(e, CURLINFO_STARTTRANSFER_TIME_T);
  curl_off_t total = http_check_time_us(e, CURLINFO_TOTAL_TIME_T);
  if (conn > 0)
    r->ms_connect = (double)(conn - lookup) / 1000.0;
  if (app > 0 && conn > 0)
    r->ms_tls = (double)(app - conn) / 1000.0;
  if (ttfb > 0)
    r->ms_ttfb = (double)ttfb / 1000.0;
  if (total > 0)
    r->ms_total = (double)total / 1000.0;
  long code = 0;
  if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
      code > 0)
    r->http_status = (int)code;
  r->cert_days_left = http_check_cert_days(e);
  if (r->cert_days_left == VT_NO_CERT_DAYS)
    r->cert_days_left = h->verify_cert_days;
}

/* Maps a failed transfer to an error class (README, "Error classes"). */
static void http_check_classify(struct http_check *h, CURLcode rc)
{
  struct vt_result *r = h->run.res;
  const char *msg = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
  long os_errno = 0;
  curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &os_errno);

  switch (rc) {
  case CURLE_WRITE_ERROR:
    if (h->too_large)
      vt_result_fail(r, VT_ERR_TOO_LARGE, "body larger than %ld bytes",
                     h->c->max_body);
    else
      vt_result_fail(r, VT_ERR_INTERNAL, "%s",
                     h->body_nomem ? "out of memory" : msg);
    return;
  case CURLE_COULDNT_CONNECT:
    if (os_errno == ECONNREFUSED)
      vt_result_fail(r, VT_ERR_CONNECT_REFUSED, "%s", msg);
    else if (os_errno == ETIMEDOUT)
      vt_result_fail(r, VT_ERR_CONNECT_TIMEOUT, "%s", msg);
    else if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH ||
             os_errno == EHOSTDOWN || os_errno == ENETDOWN)
      vt_result_fail(r, VT_ERR_UNREACHABLE, "%s", msg);
    else
      /* EMFILE, ENOBUFS, EADDRNOTAVAIL...: the probe's own trouble, not
       * the target's; never blame the address for it. */
      vt_result_fail(r, VT_ERR_INTERNAL, "%s (errno %ld)", msg, os_errno);
    return;
  case CURLE_OPERATION_TIMEDOUT:
    /* Connected or not tells "no answer to SYN" from "slow server". */
    if (http_check_tcp_connected(h->easy))
      vt_result_fail(r, VT_ERR_TIMEOUT, "%s", msg);
    else
      vt_result_fail(r, VT_ERR_CONNECT_TIMEOUT, "%s", msg);
    return;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
  case CURLE_PEER_FAILED_VERIFICATION:
    vt_result_fail(r, VT_ERR_TLS, "%s", msg);
    return;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    vt_result_fail(r, VT_ERR_NETWORK, "%s", msg);
    return;
#if LIBCURL_VERSION_NUM >= 0x080600
  case CURLE_TOO_LARGE: /* a response header over the limit */
#endif
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_URL_MALFORMAT:
    vt_result_fail(r, VT_ERR_HTTP, "%s", msg);
    return;
  case CURLE_COULDNT_RESOLVE_HOST: /* a redirect to another host */
    vt_result_fail(r, VT_ERR_DNS_ERROR, "%s", msg);
    return;
  case CURLE_OUT_OF_MEMORY:
    /* libcurl 7.88 gives this for a response header line longer than its
     * CURL_MAX_HTTP_HEADER (100 KiB): the server's fault once an answer
     * began (newer libcurl says CURLE_TOO_LARGE). */
    if (r->http_status > 0 || r->ms_ttfb > 0) {
      vt_result_fail(r, VT_ERR_HTTP, "response header too large (%s)", msg);
      return;
    }
    vt_result_fail(r, VT_ERR_INTERNAL, "%s", msg);
    return;
  case CURLE_FAILED_INIT:
  case CURLE_ABORTED_BY_CALLBACK:
    vt_result_fail(r, VT_ERR_INTERNAL, "%s", msg);
    return;
  default:
    vt_result_fail(r, VT_ERR_NETWORK, "%s", msg);
    return;
  }
}

/* Checks the status against the accepted list; when the list is empty,
 * any 2xx passes. */
static bool http_check_status_ok(const struct probe_check_conf *c, int code)
{
  if (c->n_status == 0)
    return code >= 200 && code < 300;
  for (size_t i = 0; i < c->n_status; i++)
    if (c->status[i] == code)
      return true;
  return false;
}

static void http_check_status_fail(struct http_check *h, int code)
{
  const struct probe_check_conf *c = h->c;
  char want[96] = "2xx";
  size_t off = 0;
  for (size_t i = 0; i < c->n_status && off < sizeof(want); i++) {
    int n = snprintf(want + off, sizeof(want) - off, "%s%d", i ? ", " : "",
                     c->status[i]);
    if (n < 0)
      break;
    off += (size_t)n;
  }
  vt_result_fail(h->run.res, VT_ERR_HTTP_STATUS, "got %d, expected %s", code,
                 want);
}

/* Records the run; the caller's res already carries its identity. */
static void http_check_arm(struct http_check *h, struct vt_result *res,
                           check_done_fn *done, void *arg)
{
  check_run_begin(&h->run, res, done, arg);
  h->t_start = vt_time_mono();
  res->port = h->url_port;
}

/* Lets go of what a run held: the easy handle (out of the multi by now)
 * goes back to the pool. */
static void http_check_release(struct http_check *h)
{
  curl_loop_easy_put(h->ctx->curl, h->easy, h->memo);
  h->easy = NULL;
  h->memo = 0;
  h->query = NULL;
}

/* Forgets a run that could not start (its done will never be called). */
static void http_check_disarm(struct http_check *h)
{
  http_check_release(h);
  check_run_forget(&h->run);
}

/* Ends the run exactly once: back to idle, then done as the very last step
 * (check_run_finish), because done may destroy the state (the slot is
 * removed, for instance). */
static void http_check_finish(struct http_check *h)
{
  struct vt_result *r = h->run.res;
  if (r->error == VT_ERR_NONE) {
    r->ok = true;
    HTTP_CHECK_LOG(VT_LOG_DEBUG, h, "ok, status %d in %.1f ms", r->http_status,
                   r->ms_total);
  } else {
    HTTP_CHECK_LOG(VT_LOG_DEBUG, h, "%s: %s", vt_err_name(r->error), r->detail);
  }
  http_check_release(h);
  http_check_set_state(h, HTTP_CHECK_IDLE);
  check_run_finish(&h->run);
}

/* curl_loop_done_fn: the transfer ended and is out of the multi handle. */
static void http_check_xfer_done(CURL *easy, CURLcode rc, void *arg)
{
  struct http_check *h = arg;
  struct vt_result *r = h->run.res;
  (void)easy;
  http_check_measure(h);
  if (h->client) {
    /* The address that really served the (last) request. */
    char *ip = NULL;
    if (curl_easy_getinfo(h->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
        ip && *ip)
      snprintf(r->ip, sizeof(r->ip), "%s", ip);
    r->body_bytes = (long)h->body_bytes;
  }
  if (rc != CURLE_OK)
    http_check_classify(h, rc);
  else if (!http_check_status_ok(h->c, r->http_status))
    http_check_status_fail(h, r->http_status);
  else if (h->c->body && !memmem(h->body.data ? h->body.data : "", h->body.len,
                                 h->c->body, strlen(h->c->body)))
    vt_result_fail(r, VT_ERR_BODY_MISMATCH, "body does not contain \"%.64s\"",
                   h->c->body);
  http_check_finish(h);
}

/* ---- common ops -------------------------------------------------------- */

static struct http_check *http_check_new(struct probe_ctx *ctx,
                                         const struct probe_target_conf *t,
                                         const struct probe_check_conf *c,
                                         bool client)
{
  struct http_check *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  *h = (struct http_check){.ctx = ctx, .t = t, .c = c, .client = client};
  vt_buf_init(&h->body, c->max_body > 0 ? (size_t)c->max_body : 0);
  /* A bad URL (which validation should have caught) leaves url_ok false:
   * start then refuses with VT_EINVAL rather than run unpinned. */
  if (http_check_parse_url(h) == VT_ENOMEM) {
    curl_free(h->url_host);
    free(h);
    return NULL;
  }
  return h;
}

static void http_check_destroy(void *state)
{
  struct http_check *h = state;
  if (!h)
    return;
  /* Idle (check_destroy cancels first): no query, no transfer, and the
   * easy handle is back in the pool. */
  curl_easy_cleanup(h->easy);
  curl_slist_free_all(h->pin);
  curl_free(h->url_host);
  vt_buf_cleanup(&h->body);
  free(h);
}

static void http_check_cancel(void *state)
{
  struct http_check *h = state;
  if (h->state == HTTP_CHECK_IDLE)
    return;
  if (h->state == HTTP_CHECK_RESOLVING)
    dns_query_cancel(h->query);
  else if (h->easy)
    curl_loop_remove(h->ctx->curl, h->easy);
  vt_result_fail(h->run.res, VT_ERR_TIMEOUT, "cancelled");
  http_check_finish(h);
}

/* ---- http: one slot per address ---------------------------------------- */

static void *http_check_create(struct probe_ctx *ctx,
                               const struct probe_target_conf *t,
                               const struct probe_check_conf *c,
                               const char *key)
{
  struct http_check *h = http_check_new(ctx, t, c, false);
  if (!h)
    return NULL;
  if (h->url_ok && http_check_pin(h, key) != VT_OK) {
    http_check_destroy(h);
    return NULL;
  }
  return h;
}

static enum vt_status http_check_start(void *state, struct vt_result *res,
                                       check_done_fn *done, void *arg)
{
  struct http_check *h = state;
  if (h->state != HTTP_CHECK_IDLE)
    return VT_EBUSY;
  if (!h->url_ok || !h->pin)
    return VT_EINVAL;
  http_check_arm(h, res, done, arg);
  enum vt_status st = http_check_begin(h, h->c->timeout_s);
  if (st != VT_OK) {
    http_check_disarm(h);
    return st;
  }
  http_check_set_state(h, HTTP_CHECK_TRANSFER);
  return VT_OK;
}

const struct check_type http_check_type = {
    .type = VT_CHECK_HTTP,
    .fanout = CHECK_FANOUT_ADDRESSES,
    .endpoint = http_check_endpoint,
    .create = http_check_create,
    .start = http_check_start,
    .cancel = http_check_cancel,
    .destroy = http_check_destroy,
};

/* ---- client: resolve like a browser, then the same transfer ------------ */

static void *client_check_create(struct probe_ctx *ctx,
                                 const struct probe_target_conf *t,
                                 const struct probe_check_conf *c,
                                 const char *key)
{
  (void)key; /* always "": one slot per check */
  return http_check_new(ctx, t, c, true);
}

/* dns_cache_fn: the answer (or failure) for the URL's host. */
static void client_check_resolved(void *arg, const struct dns_answer *ans,
                                  bool from_cache)
{
  struct http_check *h = arg;
  struct vt_result *r = h->run.res;
  h->query = NULL;
  r->ms_dns = from_cache ? 0.0 : ans->ms;
  if (ans->error != VT_ERR_NONE) {
    vt_result_fail(r, ans->error, "%s", ans->detail);
    http_check_finish(h);
    return;
  }
  if (ans->n < 1) {
    vt_result_fail(r, VT_ERR_NO_ADDRESS, "no address for %s", h->url_host);
    http_check_finish(h);
    return;
  }
  /* The first address in the server's order: what a browser tries first,
   * and what round robin rotates. */
  snprintf(r->ip, sizeof(r->ip), "%s", ans->addrs[0]);
  enum vt_status st = http_check_pin(h, ans->addrs[0]);
  /* The timeout covers the whole run, lookup included. */
  double left_s = h->c->timeout_s - (vt_time_mono() - h->t_start);
  if (st == VT_OK)
    st = http_check_begin(h, left_s);
  if (st != VT_OK) {
    vt_result_fail(r, VT_ERR_INTERNAL, "cannot start the transfer: %s",
                   vt_strerror(st));
    http_check_finish(h);
    return;
  }
  http_check_set_state(h, HTTP_CHECK_TRANSFER);
}

static enum vt_status client_check_start(void *state, struct vt_result *res,
                                         check_done_fn *done, void *arg)
{
  struct http_check *h = state;
  if (h->state != HTTP_CHECK_IDLE)
    return VT_EBUSY;
  if (!h->url_ok)
    return VT_EINVAL;
  const struct probe_check_conf *c = h->c;
  const char *resolver = c->n_resolvers > 0 ? c->resolvers[0] : "system";
  http_check_arm(h, res, done, arg);
  http_check_set_state(h, HTTP_CHECK_RESOLVING);
  enum vt_status st =
      dns_cache_lookup(h->ctx->cache, resolver, c->timeout_s, h->dns_host,
                       client_check_resolved, h, &h->query);
  if (st != VT_OK) {
    HTTP_CHECK_LOG(VT_LOG_DEBUG, h, "lookup not started: %s", vt_strerror(st));
    http_check_set_state(h, HTTP_CHECK_IDLE);
    http_check_disarm(h);
    return st;
  }
  return VT_OK;
}

const struct check_type client_check_type = {
    .type = VT_CHECK_CLIENT,
    .fanout = CHECK_FANOUT_ONE,
    .endpoint = http_check_endpoint,
    .create = client_check_create,
    .start = client_check_start,
    .cancel = http_check_cancel,
    .destroy = http_check_destroy,
};

/* ---- load: the body of the last run (load_check.c) --------------------- */

const struct vt_buf *http_check_body(const void *state)
{
  const struct http_check *h = state;
  return &h->body;
}
