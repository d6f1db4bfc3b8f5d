/* SPDX-License-Identifier: MIT */
/* Tests for the collector's HTTP(S) server through its public API: the
 * server runs on this process's libev loop on 127.0.0.1:0, and requests come
 * from the curl command-line tool in a child process, so the test needs no
 * threads. TLS cases need openssl(1) to make a certificate and are skipped
 * without it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "container.h"
#include "http_api.h"
#include "log.h"
#include "tap.h"

#define TEST_MAX_BODY 4096
/* Every wait on the loop ends after this, so a bug cannot hang make check. */
#define TEST_WATCHDOG_S 15.0

static struct ev_loop *test_loop;
static char test_dir[] = "/tmp/test_http_api.XXXXXX";

/* What the handler saw last, and how often it ran. */
static struct {
  int calls;
  char method[16];
  char path[256];
  char client[64];
  char probe_hdr[64]; /* X-Vantage-Probe, looked up in lower case */
  bool no_such_hdr;   /* http_api_header of an absent name was NULL */
  struct vt_buf body;
} seen;

/* http_api_conf.done calls: the last one. */
static struct {
  int calls, status;
  char path[64];
  double body_s, reply_s;
} done_seen;

static void test_done(void *arg, const char *path, int status, double body_s,
                      double reply_s)
{
  (void)arg;
  done_seen.calls++;
  done_seen.status = status;
  snprintf(done_seen.path, sizeof(done_seen.path), "%s", path);
  done_seen.body_s = body_s;
  done_seen.reply_s = reply_s;
}

static struct http_api *test_stop_me; /* stopped by the handler on /stop */

static void test_copy(char *dst, size_t n, const char *src)
{
  snprintf(dst, n, "%s", src ? src : "(null)");
}

static void test_handler(void *arg, const struct http_api_request *req,
                         int *status, const char **content_type,
                         struct vt_buf *body)
{
  (void)arg;
  seen.calls++;
  test_copy(seen.method, sizeof(seen.method), req->method);
  test_copy(seen.path, sizeof(seen.path), req->path);
  test_copy(seen.client, sizeof(seen.client), req->client);
  test_copy(seen.probe_hdr, sizeof(seen.probe_hdr),
            http_api_header(req, "x-vantage-probe"));
  seen.no_such_hdr = http_api_header(req, "X-Not-Sent") == NULL;
  vt_buf_reset(&seen.body);
  if (vt_buf_add(&seen.body, req->body, req->body_len) != VT_OK)
    abort();
  if (strcmp(req->path, "/stop") == 0) {
    /* Stopping from inside the handler must be deferred, not crash. */
    http_api_stop(test_stop_me);
    test_stop_me = NULL;
  }
  if (strcmp(req->path, "/text") == 0) {
    *content_type = "text/plain";
    *status = 202;
    if (vt_buf_adds(body, "plain") != VT_OK)
      abort();
    return;
  }
  *status = 200;
  *content_type = "application/json";
  if (vt_buf_addf(body, "{\"len\":%zu}", req->body_len) != VT_OK)
    abort();
}

/* ---- running commands while the loop serves ----------------------------- */

static void test_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
  (void)revents;
  ev_child_stop(loop, w);
  ev_break(loop, EVBREAK_ONE);
}

static void test_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ONE);
}

/* Runs argv (PATH lookup) with stdout and stderr to files in test_dir,
 * serving the loop until it exits. Returns its exit status, or -1 when it
 * did not exit normally in time. */
static int test_run(char *const argv[])
{
  char out[128], err[128];
  snprintf(out, sizeof(out), "%s/stdout", test_dir);
  snprintf(err, sizeof(err), "%s/stderr", test_dir);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  ev_child child;
  ev_child_init(&child, test_child_cb, pid, 0);
  ev_child_start(test_loop, &child);
  ev_timer dog;
  ev_timer_init(&dog, test_watchdog_cb, TEST_WATCHDOG_S, 0.);
  ev_timer_start(test_loop, &dog);
  ev_run(test_loop, 0);
  ev_timer_stop(test_loop, &dog);
  if (ev_is_active(&child)) {
    ev_child_stop(test_loop, &child);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  return WIFEXITED(child.rstatus) ? WEXITSTATUS(child.rstatus) : -1;
}

/* Reads a file of test_dir into a static buffer ("" when missing). */
static const char *test_slurp(const char *name)
{
  static char data[8192];
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", test_dir, name);
  data[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return data;
  size_t n = fread(data, 1, sizeof(data) - 1, f);
  data[n] = '\0';
  fclose(f);
  return data;
}

static bool test_write(const char *name, const void *data, size_t len)
{
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", test_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  bool ok = fwrite(data, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

/* What the last test_curl got: "<http code> <content type>", and how many
 * body bytes curl sent. */
static char test_status[128];
static long test_uploaded;

/* Runs curl with the given extra arguments against url. Returns curl's
 * exit status, fills test_status and test_uploaded; file "body" has the
 * reply body. */
static int test_curl(const char *url, const char *const extra[])
{
  char body[128];
  snprintf(body, sizeof(body), "%s/body", test_dir);
  const char *argv[32] = {
      "curl",       "-sS",
      "--max-time", "10",
      "--noproxy",  "*",
      "-o",         body,
      "-w",         "%{size_upload} %{http_code} %{content_type}"};
  size_t n = 10;
  for (size_t i = 0; extra && extra[i] && n < 30; i++)
    argv[n++] = extra[i];
  argv[n++] = url;
  argv[n] = NULL;
  int rc = test_run((char *const *)argv);
  const char *out = test_slurp("stdout");
  char *rest;
  test_uploaded = strtol(out, &rest, 10);
  snprintf(test_status, sizeof(test_status), "%s",
           *rest == ' ' ? rest + 1 : rest);
  return rc;
}

/* ---- idle connection ---------------------------------------------------- */

struct test_idle {
  ev_io io;
  bool closed;
  ev_tstamp at;
};

static void test_idle_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  (void)revents;
  struct test_idle *t = container_of(w, struct test_idle, io);
  char c;
  ssize_t n = recv(w->fd, &c, 1, 0);
  if (n > 0)
    return; /* MHD sent something (an error page): keep waiting for EOF */
  if (n < 0 && errno == EINTR)
    return;
  t->closed = true;
  t->at = ev_time();
  ev_io_stop(loop, w);
  ev_break(loop, EVBREAK_ONE);
}

/* Connects to port, sends nothing, and returns how long the server took to
 * close the connection (-1 if it did not within the watchdog). */
static double test_idle_close(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  struct test_idle t = {.closed = false};
  ev_io_init(&t.io, test_idle_cb, fd, EV_READ);
  ev_io_start(test_loop, &t.io);
  ev_timer dog;
  ev_timer_init(&dog, test_watchdog_cb, 5.0, 0.);
  ev_timer_start(test_loop, &dog);
  ev_tstamp t0 = ev_time();
  ev_run(test_loop, 0);
  ev_timer_stop(test_loop, &dog);
  ev_io_stop(test_loop, &t.io);
  close(fd);
  return t.closed ? t.at - t0 : -1;
}

/* ---- cases -------------------------------------------------------------- */

static void test_plain(void)
{
  enum vt_status st;
  struct http_api_conf conf = {
      .listen = "127.0.0.1:0",
      .max_body = TEST_MAX_BODY,
      .conn_limit = 16,
      .conn_timeout_s = 5,
      .done = test_done,
  };
  struct http_api *api =
      http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(api && st == VT_OK, "starts on 127.0.0.1:0");
  if (!api)
    return;
  int port = http_api_port(api);
  tap_ok(port > 0 && port < 65536, "port 0 resolves to a real port (%d)", port);
  char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  char url[128];

  /* GET reaches the handler with method, path and client address. */
  snprintf(url, sizeof(url), "%s/healthz", base);
  int rc =
      test_curl(url, (const char *const[]){"-H", "X-Vantage-Probe: p1", NULL});
  tap_ok(rc == 0, "GET /healthz: curl exit %d", rc);
  tap_is_str(test_status, "200 application/json",
             "GET: status and content type from the handler");
  tap_is_str(test_slurp("body"), "{\"len\":0}", "GET: body from the handler");
  tap_ok(seen.calls == 1, "GET: handler called once");
  tap_is_str(seen.method, "GET", "GET: method");
  tap_is_str(seen.path, "/healthz", "GET: path");
  tap_is_str(seen.client, "127.0.0.1", "GET: client address");
  tap_is_str(seen.probe_hdr, "p1", "header looked up case-insensitively");
  tap_ok(seen.no_such_hdr, "absent header is NULL");
  tap_ok(done_seen.calls == 1 && done_seen.status == 200 &&
             strcmp(done_seen.path, "/healthz") == 0,
         "done: called once the reply is sent, with path and status");
  tap_ok(done_seen.body_s >= 0 && done_seen.body_s < 5 &&
             done_seen.reply_s >= 0 && done_seen.reply_s < 5,
         "done: body %.6f s, reply %.6f s", done_seen.body_s,
         done_seen.reply_s);

  /* POST of 1 KiB of binary data arrives byte for byte. */
  char up[1024];
  for (size_t i = 0; i < sizeof(up); i++)
    up[i] = (char)(i * 7 % 256); /* includes NUL bytes */
  tap_ok(test_write("up1k", up, sizeof(up)), "write upload file");
  char data_arg[128];
  snprintf(data_arg, sizeof(data_arg), "@%s/up1k", test_dir);
  snprintf(url, sizeof(url), "%s/v1/results", base);
  rc = test_curl(url,
                 (const char *const[]){"--data-binary", data_arg, "-H",
                                       "Content-Type: application/json", NULL});
  tap_ok(rc == 0 && strncmp(test_status, "200 ", 4) == 0,
         "POST 1 KiB: 200 (curl exit %d, %s)", rc, test_status);
  tap_ok(seen.calls == 2 && strcmp(seen.method, "POST") == 0 &&
             strcmp(seen.path, "/v1/results") == 0,
         "POST reaches the handler");
  tap_ok(seen.body.len == sizeof(up) &&
             memcmp(seen.body.data, up, sizeof(up)) == 0,
         "POST body arrives exactly (%zu bytes)", seen.body.len);

  /* A body of exactly max_body is still accepted (boundary). */
  char full[TEST_MAX_BODY];
  memset(full, 'x', sizeof(full));
  tap_ok(test_write("full", full, sizeof(full)), "write max_body file");
  snprintf(data_arg, sizeof(data_arg), "@%s/full", test_dir);
  rc = test_curl(url, (const char *const[]){"--data-binary", data_arg, NULL});
  tap_ok(rc == 0 && strncmp(test_status, "200 ", 4) == 0 && seen.calls == 3 &&
             seen.body.len == TEST_MAX_BODY,
         "body of exactly max_body accepted (%s)", test_status);

  /* The query string is not part of the path. */
  snprintf(url, sizeof(url), "%s/v1/graph?id=web&from=-1d", base);
  rc = test_curl(url, NULL);
  tap_ok(rc == 0 && seen.calls == 4, "GET with query reaches the handler");
  tap_is_str(seen.path, "/v1/graph", "query string stripped from path");

  /* The handler chooses status and content type. */
  snprintf(url, sizeof(url), "%s/text", base);
  rc = test_curl(url, NULL);
  tap_is_str(test_status, "202 text/plain",
             "status and content type are the handler's");

  /* Over max_body with Content-Length: 413 before reading the body. Both
   * with curl's "Expect: 100-continue" (the body is then never sent) and
   * without (the body is already on its way). */
  static char big[64 * 1024];
  memset(big, 'y', sizeof(big));
  tap_ok(test_write("big", big, sizeof(big)), "write 64 KiB file");
  snprintf(data_arg, sizeof(data_arg), "@%s/big", test_dir);
  snprintf(url, sizeof(url), "%s/v1/results", base);
  int before = seen.calls;
  rc = test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                            "Expect: 100-continue", NULL});
  tap_ok(strncmp(test_status, "413 ", 4) == 0,
         "Content-Length over max_body: 413 (curl exit %d, %s)", rc,
         test_status);
  tap_is_str(test_slurp("body"), "{\"error\":\"body larger than 4096 bytes\"}",
             "413 body names the limit");
  tap_ok(seen.calls == before && test_uploaded == 0,
         "handler not called, body never sent (%ld bytes)", test_uploaded);
  rc = test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                            "Expect:", NULL});
  tap_ok(strncmp(test_status, "413 ", 4) == 0 && seen.calls == before,
         "same without Expect: 413, handler not called (curl exit %d, %s)", rc,
         test_status);

  /* Chunked: no length up front, so the limit trips while receiving. */
  rc =
      test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                           "Transfer-Encoding: chunked", NULL});
  tap_ok(strncmp(test_status, "413 ", 4) == 0,
         "chunked upload over max_body: 413 (curl exit %d, %s)", rc,
         test_status);
  tap_ok(seen.calls == before, "handler not called for the chunked body");
  /* Far past the cap a chunked sender is cut off instead: 2 MiB. */
  static char huge[2 * 1024 * 1024];
  memset(huge, 'z', sizeof(huge));
  tap_ok(test_write("huge", huge, sizeof(huge)), "write 2 MiB file");
  snprintf(data_arg, sizeof(data_arg), "@%s/huge", test_dir);
  rc =
      test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                           "Transfer-Encoding: chunked", NULL});
  tap_ok(rc != 0 && seen.calls == before,
         "endless chunked body: connection closed (curl exit %d, %s)", rc,
         test_status);
  /* A small chunked body still works. */
  snprintf(data_arg, sizeof(data_arg), "@%s/up1k", test_dir);
  rc =
      test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                           "Transfer-Encoding: chunked", NULL});
  tap_ok(rc == 0 && seen.calls == before + 1 && seen.body.len == sizeof(up) &&
             memcmp(seen.body.data, up, sizeof(up)) == 0,
         "small chunked body arrives exactly");

  /* Both framings at once is how requests get smuggled: 400. */
  before = seen.calls;
  rc = test_curl(url, (const char *const[]){"--data-binary", data_arg, "-H",
                                            "Transfer-Encoding: chunked", "-H",
                                            "Content-Length: 5", NULL});
  tap_ok(strncmp(test_status, "400 ", 4) == 0 && seen.calls == before,
         "Content-Length with Transfer-Encoding: 400 (curl exit %d, %s)", rc,
         test_status);

  /* MHD percent-decodes the path before we see it (documented here so a
   * change in MHD or in our handling shows up). */
  snprintf(url, sizeof(url), "%s/a%%2Fb%%3Fc?q=%%3F", base);
  rc = test_curl(url, NULL);
  tap_is_str(seen.path, "/a/b?c", "path arrives percent-decoded");

  /* Binding where we already listen fails cleanly. */
  char taken[64];
  snprintf(taken, sizeof(taken), "127.0.0.1:%d", port);
  struct http_api_conf dup = conf;
  dup.listen = taken;
  st = VT_OK;
  struct http_api *api2 =
      http_api_start(test_loop, &dup, test_handler, NULL, &st);
  tap_ok(!api2 && st == VT_ELIB, "port in use: NULL with status %s",
         vt_strerror(st));
  http_api_stop(api2);

  http_api_stop(api);
}

/* A server whose handler stops it mid-request: the stop is deferred until
 * MHD_run has returned (valgrind would see a use after free otherwise). */
static void test_stop_in_handler(void)
{
  enum vt_status st;
  struct http_api_conf conf = {.listen = "127.0.0.1:0", .max_body = 16};
  test_stop_me = http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(test_stop_me != NULL, "second server starts");
  if (!test_stop_me)
    return;
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/stop",
           http_api_port(test_stop_me));
  int before = seen.calls;
  test_curl(url, NULL);
  tap_ok(seen.calls == before + 1 && test_stop_me == NULL,
         "handler stopped its own server without a crash");
}

static void test_idle(void)
{
  enum vt_status st;
  struct http_api_conf conf = {
      .listen = "127.0.0.1:0", .max_body = 16, .conn_timeout_s = 1};
  struct http_api *api =
      http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(api != NULL, "server with a 1 s connection timeout starts");
  if (!api)
    return;
  double s = test_idle_close(http_api_port(api));
  tap_ok(s >= 0.5 && s <= 3.0,
         "silent connection closed after the timeout (%.2f s)", s);
  http_api_stop(api);
}

static void test_bad_conf(void)
{
  static const struct {
    const char *listen;
    const char *why;
  } bad[] = {
      {"localhost:8740", "a host name (no DNS here)"},
      {"127.0.0.1", "no port"},
      {"127.0.0.1:", "empty port"},
      {"127.0.0.1:65536", "port out of range"},
      {"127.0.0.1:0x50", "port not decimal"},
      {"::1:8740", "IPv6 without brackets"},
      {"[::1]8740", "no colon after ]"},
      {"[127.0.0.1]:80", "IPv4 in brackets"},
      {"", "empty"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct http_api_conf conf = {.listen = bad[i].listen, .max_body = 16};
    enum vt_status st = VT_OK;
    struct http_api *api =
        http_api_start(test_loop, &conf, test_handler, NULL, &st);
    tap_ok(!api && st == VT_EINVAL, "listen \"%s\" refused: %s", bad[i].listen,
           bad[i].why);
    http_api_stop(api);
  }
  struct http_api_conf conf = {.listen = "127.0.0.1:0",
                               .max_body = 16,
                               .tls_cert_file = "/nonexistent/cert.pem",
                               .tls_key_file = "/nonexistent/key.pem"};
  enum vt_status st = VT_OK;
  struct http_api *api =
      http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(!api && st == VT_EIO, "missing certificate file: VT_EIO");
  http_api_stop(api);
  conf.tls_key_file = NULL;
  api = http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(!api && st == VT_EINVAL, "certificate without key refused");
  http_api_stop(api);
  http_api_stop(NULL);
  tap_ok(1, "http_api_stop(NULL) is a no-op");
}

static void test_ipv6(void)
{
  enum vt_status st;
  struct http_api_conf conf = {.listen = "[::1]:0", .max_body = 16};
  struct http_api *api =
      http_api_start(test_loop, &conf, test_handler, NULL, &st);
  if (!api) {
    /* Containers without IPv6 on lo: not this module's failure. */
    printf("ok %d - # SKIP no IPv6 loopback\n", ++tap_n);
    printf("ok %d - # SKIP no IPv6 loopback\n", ++tap_n);
    return;
  }
  tap_ok(http_api_port(api) > 0, "listens on [::1]:0");
  char url[64];
  snprintf(url, sizeof(url), "http://[::1]:%d/v6", http_api_port(api));
  test_curl(url, NULL);
  tap_is_str(seen.client, "::1", "IPv6 client address text");
  http_api_stop(api);
}

#define TEST_TLS_N 7

static void test_tls(void)
{
  char cert[128], key[128], cn_arg[160], san_arg[64];
  snprintf(cert, sizeof(cert), "%s/cert.pem", test_dir);
  snprintf(key, sizeof(key), "%s/key.pem", test_dir);
  snprintf(cn_arg, sizeof(cn_arg), "/CN=localhost");
  snprintf(san_arg, sizeof(san_arg),
           "subjectAltName=DNS:localhost,IP:127.0.0.1");
  char *const gen[] = {"openssl",
                       "req",
                       "-x509",
                       "-newkey",
                       "ec",
                       "-pkeyopt",
                       "ec_paramgen_curve:P-256",
                       "-nodes",
                       "-days",
                       "2",
                       "-subj",
                       cn_arg,
                       "-addext",
                       san_arg,
                       "-keyout",
                       key,
                       "-out",
                       cert,
                       NULL};
  if (test_run(gen) != 0) {
    for (int i = 0; i < TEST_TLS_N; i++)
      printf("ok %d - # SKIP openssl cannot make a certificate\n", ++tap_n);
    return;
  }
  enum vt_status st;
  struct http_api_conf conf = {.listen = "127.0.0.1:0",
                               .tls_cert_file = cert,
                               .tls_key_file = key,
                               .max_body = 16};
  struct http_api *api =
      http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(api && st == VT_OK, "TLS server starts");
  if (!api) {
    for (int i = 1; i < TEST_TLS_N; i++)
      printf("ok %d - # SKIP no TLS server\n", ++tap_n);
    return;
  }
  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/tls", http_api_port(api));
  int before = seen.calls;
  int rc = test_curl(url, (const char *const[]){"--cacert", cert, NULL});
  tap_ok(rc == 0 && strncmp(test_status, "200 ", 4) == 0,
         "https request verified against the certificate (curl exit %d, %s)",
         rc, test_status);
  tap_ok(seen.calls == before + 1 && strcmp(seen.path, "/tls") == 0,
         "https request reaches the handler");
  rc = test_curl(url,
                 (const char *const[]){"--cacert", cert, "--tlsv1.3", NULL});
  tap_ok(rc == 0, "TLS 1.3 client accepted (curl exit %d)", rc);
  /* OpenSSL 3 refuses TLS 1.1 on its own above security level 0, so lower
   * it; the same client capped at 1.2 must then succeed, which shows that
   * the refusal is the server's and is about the version. (GnuTLS drops
   * the connection without an alert, so curl only sees it close.) */
  const char *weak[] = {
      "--cacert", cert,        "--tlsv1.0",           "--tls-max",
      "1.1",      "--ciphers", "DEFAULT:@SECLEVEL=0", NULL};
  rc = test_curl(url, weak);
  tap_ok(rc != 0 && seen.calls == before + 2,
         "TLS 1.1 client refused (curl exit %d)", rc);
  weak[4] = "1.2";
  rc = test_curl(url, weak);
  tap_ok(rc == 0 && seen.calls == before + 3,
         "same client capped at TLS 1.2 accepted (curl exit %d)", rc);
  http_api_stop(api);

  /* A key where the certificate belongs: GnuTLS refuses, MHD logs why. */
  conf.tls_cert_file = key;
  api = http_api_start(test_loop, &conf, test_handler, NULL, &st);
  tap_ok(!api && st == VT_ELIB, "key given as certificate: VT_ELIB (%s)",
         vt_strerror(st));
  http_api_stop(api);
}

static void test_cleanup_dir(void)
{
  static const char *const files[] = {"stdout", "stderr",   "body",
                                      "up1k",   "full",     "big",
                                      "huge",   "cert.pem", "key.pem"};
  char path[128];
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", test_dir, files[i]);
    unlink(path);
  }
  rmdir(test_dir);
}

int main(void)
{
  /* As in the collector: a peer closing early must not kill us. */
  signal(SIGPIPE, SIG_IGN);
  vt_log_init("test_http_api", VT_LOG_WARNING);
  if (!mkdtemp(test_dir)) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  /* ev_child needs the default loop (it owns SIGCHLD). */
  test_loop = ev_default_loop(0);
  vt_buf_init(&seen.body, 0);

  char *const probe_curl[] = {"curl", "--version", NULL};
  if (test_run(probe_curl) != 0) {
    printf("1..0 # SKIP curl(1) not installed\n");
    ev_loop_destroy(test_loop);
    test_cleanup_dir();
    return 0;
  }
  tap_plan(60);

  test_plain();
  test_stop_in_handler();
  test_idle();
  test_bad_conf();
  test_ipv6();
  test_tls();

  vt_buf_cleanup(&seen.body);
  ev_loop_destroy(test_loop);
  test_cleanup_dir();
  return tap_done();
}
