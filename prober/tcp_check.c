/* SPDX-License-Identifier: MIT */
/* TCP checks: connect to the one address a slot is pinned to and, with tls,
 * complete a TLS handshake under the target's name (SNI, hostname and chain
 * verification). Reports connect and handshake times and the days left on
 * the leaf certificate. Everything runs on the probe's libev loop. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "check.h"
#include "container.h"
#include "log.h"
#include "net.h"
#include "probe_config.h"
#include "result.h"
#include "vt_time.h"

enum tcp_check_state {
  TCP_CHECK_IDLE,        /* no run: watchers stopped, no socket, no SSL */
  TCP_CHECK_CONNECTING,  /* connect() in flight, waiting for writability */
  TCP_CHECK_HANDSHAKING, /* TCP is up, TLS handshake in flight */
  TCP_CHECK_FAILING,     /* failed inside start(), reported from the loop */
};

/* One SSL_CTX per distinct ca_file, shared by every state that needs it.
 * Building one costs about 17 ms and 840 KB (OpenSSL 3.0 parses the whole
 * system bundle in SSL_CTX_set_default_verify_paths), which a probe with a
 * thousand slots cannot pay per slot. verify is not part of the key: the
 * handshake never verifies (see tcp_check_tls_ctx_new) and the verdict is
 * read afterwards, so both settings can use the same context. The file's
 * identity is part of the key, so states created after a CA bundle was
 * replaced (a config reload) get the new contents while older states keep
 * theirs. The probe runs one loop in one thread, so the list needs no lock. */
struct tcp_check_tls_ctx {
  struct tcp_check_tls_ctx *next;
  char *ca_file;       /* NULL = system store only */
  struct stat ca_stat; /* ca_file when it was loaded */
  SSL_CTX *ssl_ctx;
  unsigned refs;
};

static struct tcp_check_tls_ctx *tcp_check_tls_ctxs;

struct tcp_check {
  struct ev_loop *loop;
  const struct probe_target_conf *t; /* borrowed, outlives the state */
  const struct probe_check_conf *c;  /* borrowed, outlives the state */
  char ip[VT_IP_STRLEN];             /* the key, for log messages */
  struct sockaddr_storage addr;      /* key:c->port, parsed once */
  socklen_t addr_len;                /* 0 = the key is not an address */
  bool host_is_ip;                   /* no SNI for literals (RFC 6066 3) */
  struct tcp_check_tls_ctx *tls;     /* NULL until loaded (tls only) */
  bool tls_load_failed;              /* logged once, until it recovers */
  enum tcp_check_state state;
  ev_io io;
  ev_timer deadline;
  /* The current run; meaningful only while state != TCP_CHECK_IDLE. */
  int fd;
  SSL *ssl;
  struct check_run run;
  double t_start_s;     /* vt_time_mono() when start() was called */
  double t_tcp_s;       /* vt_time_mono() just before connect() */
  double t_tls_s;       /* vt_time_mono() when the TCP connection was up */
  enum vt_err fail_err; /* TCP_CHECK_FAILING: what to report */
  char fail_detail[sizeof(((struct vt_result *)0)->detail)];
};

static const char *tcp_check_state_name(enum tcp_check_state s)
{
  switch (s) {
  case TCP_CHECK_IDLE:
    return "idle";
  case TCP_CHECK_CONNECTING:
    return "connecting";
  case TCP_CHECK_HANDSHAKING:
    return "handshaking";
  case TCP_CHECK_FAILING:
    return "failing";
  }
  return "?";
}

/* Logs one line prefixed with the check and the address; formats nothing
 * when the level is filtered out. */
static void tcp_check_log(const struct tcp_check *st, enum vt_log_level level,
                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tcp_check_log(const struct tcp_check *st, enum vt_log_level level,
                          const char *fmt, ...)
{
  if (level > vt_log_threshold)
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  vt_log_write(level, "tcp: %s/%s %s [%s]:%d: %s", st->t->name, st->c->name,
               st->t->host, st->ip, st->c->port, msg);
}

static void tcp_check_set_state(struct tcp_check *st, enum tcp_check_state s)
{
  tcp_check_log(st, VT_LOG_DEBUG, "%s -> %s", tcp_check_state_name(st->state),
                tcp_check_state_name(s));
  st->state = s;
}

/* Copies the oldest queued OpenSSL error into buf ("" when none) and empties
 * the queue, which libcurl shares with us on this thread. */
static void tcp_check_ssl_error(char *buf, size_t size)
{
  unsigned long e = ERR_get_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  if (e && ERR_SYSTEM_ERROR(e))
    snprintf(buf, size, "%s", strerror(ERR_GET_REASON(e)));
  else if (reason)
    snprintf(buf, size, "%s", reason);
  else if (e)
    ERR_error_string_n(e, buf, size);
  else if (size)
    buf[0] = '\0';
  ERR_clear_error();
}

static enum vt_status tcp_check_tls_ctx_new(const char *ca_file,
                                            const struct stat *ca_stat,
                                            struct tcp_check_tls_ctx **out,
                                            char *why, size_t why_size)
{
  enum vt_status st = VT_ENOMEM;
  struct tcp_check_tls_ctx *tc = calloc(1, sizeof(*tc));
  if (!tc)
    goto fail;
  if (ca_file && !(tc->ca_file = strdup(ca_file)))
    goto fail;
  if (ca_stat)
    tc->ca_stat = *ca_stat;
  ERR_clear_error();
  tc->ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!tc->ssl_ctx) {
    tcp_check_ssl_error(why, why_size);
    goto fail;
  }
  /* The handshake runs with VERIFY_NONE so that a bad chain still gives us
   * the peer certificate (for cert_days_left). OpenSSL verifies the chain
   * anyway and keeps the verdict for SSL_get_verify_result(). */
  SSL_CTX_set_verify(tc->ssl_ctx, SSL_VERIFY_NONE, NULL);
  /* No resumption: every run must measure and verify a full handshake. */
  SSL_CTX_set_session_cache_mode(tc->ssl_ctx, SSL_SESS_CACHE_OFF);
  /* ca_file first: a missing file is retried at every run, and failing
   * here skips the expensive part. */
  st = VT_ELIB;
  if (ca_file &&
      SSL_CTX_load_verify_locations(tc->ssl_ctx, ca_file, NULL) != 1) {
    tcp_check_ssl_error(why, why_size);
    goto fail;
  }
  if (SSL_CTX_set_default_verify_paths(tc->ssl_ctx) != 1) {
    tcp_check_ssl_error(why, why_size);
    goto fail;
  }
  tc->refs = 1;
  *out = tc;
  return VT_OK;

fail:
  if (tc) {
    SSL_CTX_free(tc->ssl_ctx);
    free(tc->ca_file);
    free(tc);
  }
  return st;
}

/* True when tc was built from ca_file as it is now (sb: its stat). */
static bool tcp_check_tls_ctx_matches(const struct tcp_check_tls_ctx *tc,
                                      const char *ca_file,
                                      const struct stat *sb)
{
  if (!ca_file || !tc->ca_file)
    return !ca_file && !tc->ca_file;
  const struct stat *old = &tc->ca_stat;
  return sb && strcmp(tc->ca_file, ca_file) == 0 && old->st_dev == sb->st_dev &&
         old->st_ino == sb->st_ino && old->st_size == sb->st_size &&
         old->st_mtim.tv_sec == sb->st_mtim.tv_sec &&
         old->st_mtim.tv_nsec == sb->st_mtim.tv_nsec;
}

/* Takes a reference on the shared context for ca_file (NULL = system store
 * only), building it on first use. On failure why holds the reason. */
static enum vt_status tcp_check_tls_ctx_get(const char *ca_file,
                                            struct tcp_check_tls_ctx **out,
                                            char *why, size_t why_size)
{
  /* A file we cannot stat matches nothing; loading it reports why. */
  struct stat sb;
  const struct stat *sbp = ca_file && stat(ca_file, &sb) == 0 ? &sb : NULL;
  for (struct tcp_check_tls_ctx *tc = tcp_check_tls_ctxs; tc; tc = tc->next) {
    if (tcp_check_tls_ctx_matches(tc, ca_file, sbp)) {
      tc->refs++;
      *out = tc;
      return VT_OK;
    }
  }
  enum vt_status st = tcp_check_tls_ctx_new(ca_file, sbp, out, why, why_size);
  if (st != VT_OK)
    return st;
  (*out)->next = tcp_check_tls_ctxs;
  tcp_check_tls_ctxs = *out;
  return VT_OK;
}

/* Drops a reference; the last one frees the context. NULL is fine. */
static void tcp_check_tls_ctx_put(struct tcp_check_tls_ctx *tc)
{
  if (!tc || --tc->refs > 0)
    return;
  for (struct tcp_check_tls_ctx **p = &tcp_check_tls_ctxs; *p;
       p = &(*p)->next) {
    if (*p == tc) {
      *p = tc->next;
      break;
    }
  }
  SSL_CTX_free(tc->ssl_ctx);
  free(tc->ca_file);
  free(tc);
}

/* Makes sure st->tls is loaded. Retried on every run, so that a ca_file that
 * appears later is picked up; the failure is logged once, and so is the
 * recovery. */
static enum vt_status tcp_check_load_tls(struct tcp_check *st)
{
  if (st->tls)
    return VT_OK;
  char why[160];
  enum vt_status rc =
      tcp_check_tls_ctx_get(st->c->ca_file, &st->tls, why, sizeof(why));
  if (rc == VT_OK && st->tls_load_failed) {
    tcp_check_log(st, VT_LOG_NOTICE, "TLS context loaded");
    st->tls_load_failed = false;
  } else if (rc != VT_OK && !st->tls_load_failed) {
    tcp_check_log(st, VT_LOG_ERR, "cannot set up TLS (ca_file %s): %s",
                  st->c->ca_file ? st->c->ca_file : "none",
                  why[0] ? why : vt_strerror(rc));
    st->tls_load_failed = true;
  }
  return rc;
}

/* Whole days until the certificate's notAfter, rounded down, so a certificate
 * that expired an hour ago shows -1, not 0. Shared with http_check.c. */
int tcp_check_cert_days(const X509 *cert)
{
  int day = 0, sec = 0;
  if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(cert)) != 1)
    return VT_NO_CERT_DAYS;
  /* day and sec carry the same sign. */
  return sec < 0 ? day - 1 : day;
}

/* The error class for a failed connect(). */
static enum vt_err tcp_check_connect_err(int err)
{
  switch (err) {
  case ECONNREFUSED:
    return VT_ERR_CONNECT_REFUSED;
  case EHOSTUNREACH:
  case ENETUNREACH:
  case EHOSTDOWN:
  case ENETDOWN:
    return VT_ERR_UNREACHABLE;
  case ETIMEDOUT: /* the kernel gave up on SYNs before our deadline */
    return VT_ERR_CONNECT_TIMEOUT;
  default:
    return VT_ERR_NETWORK;
  }
}

/* Stops the watchers and releases the run's socket and SSL. Safe to call in
 * any state. The io watcher goes before close(): libev must not watch a
 * closed descriptor whose number may be reused at once. */
static void tcp_check_teardown(struct tcp_check *st)
{
  ev_io_stop(st->loop, &st->io);
  ev_timer_stop(st->loop, &st->deadline);
  if (st->ssl) {
    SSL_free(st->ssl); /* the socket BIO does not own the descriptor */
    st->ssl = NULL;
  }
  if (st->fd >= 0) {
    close(st->fd);
    st->fd = -1;
  }
}

/* The one way a run ends: stops the watchers, closes the socket, frees the
 * SSL, fills the result and calls done. err VT_ERR_NONE means success (fmt
 * is then ignored). done may start the next run or destroy the state, so
 * callers must return without touching st once this returns. */
static void tcp_check_finish(struct tcp_check *st, enum vt_err err,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tcp_check_finish(struct tcp_check *st, enum vt_err err,
                             const char *fmt, ...)
{
  struct vt_result *res = st->run.res;
  /* A failed verification or a late failure still has the certificate. */
  const X509 *cert = st->ssl ? SSL_get0_peer_certificate(st->ssl) : NULL;
  if (cert)
    res->cert_days_left = tcp_check_cert_days(cert);
  tcp_check_teardown(st);
  res->ms_total = (vt_time_mono() - st->t_start_s) * 1000.0;
  if (err == VT_ERR_NONE) {
    res->ok = true;
    res->error = VT_ERR_NONE;
    res->detail[0] = '\0';
    if (st->c->tls)
      tcp_check_log(st, VT_LOG_DEBUG, "ok, connect %.3f ms, tls %.3f ms",
                    res->ms_connect, res->ms_tls);
    else
      tcp_check_log(st, VT_LOG_DEBUG, "ok, connect %.3f ms", res->ms_connect);
  } else {
    char detail[sizeof(res->detail)] = "";
    if (fmt) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(detail, sizeof(detail), fmt, ap);
      va_end(ap);
    }
    vt_result_fail(res, err, "%s", detail);
    tcp_check_log(st, VT_LOG_DEBUG, "%s: %s", vt_err_name(err), detail);
  }
  tcp_check_set_state(st, TCP_CHECK_IDLE);
  check_run_finish(&st->run);
}

/* Records a failure found inside start() and reports it from the loop on the
 * next iteration, because check.h forbids calling done from start. */
static void tcp_check_fail_soon(struct tcp_check *st, enum vt_err err,
                                const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tcp_check_fail_soon(struct tcp_check *st, enum vt_err err,
                                const char *fmt, ...)
{
  st->fail_err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->fail_detail, sizeof(st->fail_detail), fmt, ap);
  va_end(ap);
  ev_io_stop(st->loop, &st->io);
  ev_timer_stop(st->loop, &st->deadline);
  ev_timer_set(&st->deadline, 0., 0.);
  ev_timer_start(st->loop, &st->deadline);
  tcp_check_set_state(st, TCP_CHECK_FAILING);
}

/* Waits for the descriptor to become ready for events (EV_READ or
 * EV_WRITE), changing the watcher only when the direction changes. */
static void tcp_check_wait_for(struct tcp_check *st, int events)
{
  if (ev_is_active(&st->io) && (st->io.events & (EV_READ | EV_WRITE)) == events)
    return;
  ev_io_stop(st->loop, &st->io);
  ev_io_modify(&st->io, events);
  ev_io_start(st->loop, &st->io);
}

/* The handshake finished: judge the certificate, close politely, finish. */
static void tcp_check_tls_done(struct tcp_check *st)
{
  st->run.res->ms_tls = (vt_time_mono() - st->t_tls_s) * 1000.0;
  if (st->c->verify) {
    /* Without a certificate the verify result stays X509_V_OK, so an
     * anonymous suite must not pass for a verified one. */
    if (!SSL_get0_peer_certificate(st->ssl)) {
      tcp_check_finish(st, VT_ERR_TLS, "no peer certificate");
      return;
    }
    long vr = SSL_get_verify_result(st->ssl);
    if (vr != X509_V_OK) {
      tcp_check_finish(st, VT_ERR_TLS, "certificate: %s",
                       X509_verify_cert_error_string(vr));
      return;
    }
  }
  /* Best effort close_notify; the measurement is complete, so we neither
   * wait for the peer's answer nor care whether it could be sent. */
  SSL_shutdown(st->ssl);
  ERR_clear_error();
  tcp_check_finish(st, VT_ERR_NONE, NULL);
}

/* Drives the handshake one step as far as the socket allows. */
static void tcp_check_handshake(struct tcp_check *st)
{
  ERR_clear_error();
  int rc = SSL_connect(st->ssl);
  if (rc == 1) {
    tcp_check_tls_done(st);
    return;
  }
  int saved_errno = errno;
  int e = SSL_get_error(st->ssl, rc);
  if (e == SSL_ERROR_WANT_READ) {
    tcp_check_wait_for(st, EV_READ);
    return;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    tcp_check_wait_for(st, EV_WRITE);
    return;
  }
  char why[160];
  tcp_check_ssl_error(why, sizeof(why));
  if (!why[0] && e == SSL_ERROR_SYSCALL && saved_errno)
    snprintf(why, sizeof(why), "%s", strerror(saved_errno));
  else if (!why[0])
    snprintf(why, sizeof(why), "connection closed by peer");
  tcp_check_finish(st, VT_ERR_TLS, "handshake: %s", why);
}

/* Creates this run's SSL with the target's name for SNI and, with verify,
 * for the certificate match. Returns false when OpenSSL refuses (the reason
 * is on its error queue). */
static bool tcp_check_tls_setup(struct tcp_check *st)
{
  const char *host = st->t->host;
  st->ssl = SSL_new(st->tls->ssl_ctx);
  if (!st->ssl || SSL_set_fd(st->ssl, st->fd) != 1)
    return false;
  /* SNI carries names only; a literal address goes without it (RFC 6066
   * section 3) and is matched against the certificate's IP entries. */
  if (!st->host_is_ip && SSL_set_tlsext_host_name(st->ssl, host) != 1)
    return false;
  if (st->c->verify) {
    X509_VERIFY_PARAM *param = SSL_get0_param(st->ssl);
    int ok = st->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                            : SSL_set1_host(st->ssl, host);
    if (ok != 1)
      return false;
  }
  SSL_set_connect_state(st->ssl);
  return true;
}

/* The TCP connection is up: start the handshake. */
static void tcp_check_tls_begin(struct tcp_check *st)
{
  ERR_clear_error();
  if (!tcp_check_tls_setup(st)) {
    char why[160];
    tcp_check_ssl_error(why, sizeof(why));
    if (!why[0])
      snprintf(why, sizeof(why), "out of memory");
    tcp_check_log(st, VT_LOG_ERR, "cannot set up the TLS session: %s", why);
    tcp_check_finish(st, VT_ERR_INTERNAL, "TLS setup: %s", why);
    return;
  }
  st->t_tls_s = vt_time_mono();
  tcp_check_set_state(st, TCP_CHECK_HANDSHAKING);
  /* The socket is writable right now, so the ClientHello goes out at once. */
  tcp_check_handshake(st);
}

/* The socket became writable while connecting: the connect() is over. */
static void tcp_check_connected(struct tcp_check *st)
{
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err) {
    tcp_check_finish(st, tcp_check_connect_err(err), "connect: %s",
                     strerror(err));
    return;
  }
  st->run.res->ms_connect = (vt_time_mono() - st->t_tcp_s) * 1000.0;
  if (!st->c->tls) {
    tcp_check_finish(st, VT_ERR_NONE, NULL);
    return;
  }
  tcp_check_tls_begin(st);
}

static void tcp_check_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  (void)loop;
  (void)revents;
  struct tcp_check *st = container_of(w, struct tcp_check, io);
  switch (st->state) {
  case TCP_CHECK_CONNECTING:
    tcp_check_connected(st);
    break;
  case TCP_CHECK_HANDSHAKING:
    tcp_check_handshake(st);
    break;
  case TCP_CHECK_IDLE:
  case TCP_CHECK_FAILING:
    /* Unreachable: the watcher is stopped whenever we enter these. */
    assert(!"tcp_check: io event in a state without a socket");
    break;
  }
}

static void tcp_check_deadline_cb(struct ev_loop *loop, ev_timer *w,
                                  int revents)
{
  (void)revents;
  struct tcp_check *st = container_of(w, struct tcp_check, deadline);
  if (st->state == TCP_CHECK_FAILING) {
    tcp_check_finish(st, st->fail_err, "%s", st->fail_detail);
    return;
  }
  /* The timer was armed relative to ev_now(), which lags behind when start()
   * ran late in a loop iteration. Measure, and wait for the rest rather than
   * time out early. */
  double left_s = st->c->timeout_s - (vt_time_mono() - st->t_start_s);
  if (left_s > 0.001) {
    ev_timer_set(w, left_s, 0.);
    ev_timer_start(loop, w);
    return;
  }
  /* After a stall of the whole probe both this timer and the socket are
   * ready, and libev runs the timer first. A connection that was already
   * answered (accepted or refused) is a measurement, not a timeout. */
  struct pollfd pfd = {.fd = st->fd, .events = POLLOUT};
  if (st->state == TCP_CHECK_CONNECTING && st->fd >= 0 &&
      poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
    tcp_check_connected(st);
    return;
  }
  if (st->state == TCP_CHECK_CONNECTING)
    tcp_check_finish(st, VT_ERR_CONNECT_TIMEOUT, "no connection after %.1f s",
                     st->c->timeout_s);
  else
    tcp_check_finish(st, VT_ERR_TIMEOUT, "TLS handshake not done after %.1f s",
                     st->c->timeout_s);
}

static void *tcp_check_create(struct probe_ctx *ctx,
                              const struct probe_target_conf *t,
                              const struct probe_check_conf *c, const char *key)
{
  struct tcp_check *st = calloc(1, sizeof(*st));
  if (!st)
    return NULL;
  *st = (struct tcp_check){
      .loop = ctx->loop,
      .t = t,
      .c = c,
      .state = TCP_CHECK_IDLE,
      .fd = -1,
  };
  snprintf(st->ip, sizeof(st->ip), "%s", key);
  ev_init(&st->io, tcp_check_io_cb);
  ev_init(&st->deadline, tcp_check_deadline_cb);

  /* Parse once; getaddrinfo also takes IPv6 scope ids ("fe80::1%eth0"). */
  char port[8];
  snprintf(port, sizeof(port), "%d", c->port);
  struct addrinfo hints = {
      .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
      .ai_socktype = SOCK_STREAM,
  };
  struct addrinfo *ai = NULL;
  int gai = getaddrinfo(key, port, &hints, &ai);
  if (gai == EAI_MEMORY) {
    free(st);
    return NULL;
  }
  if (gai == 0 && ai->ai_addrlen <= sizeof(st->addr)) {
    memcpy(&st->addr, ai->ai_addr, ai->ai_addrlen);
    st->addr_len = ai->ai_addrlen;
  } else {
    /* Every run will fail with "internal"; say why once, here. */
    tcp_check_log(st, VT_LOG_ERR, "not a numeric address: %s",
                  gai ? gai_strerror(gai) : "address too long");
  }
  if (ai)
    freeaddrinfo(ai);

  st->host_is_ip = vt_net_is_ip(t->host);

  /* Load the TLS context now so that the first run measures only the
   * network. A failure other than memory is retried at each run. */
  if (c->tls && tcp_check_load_tls(st) == VT_ENOMEM) {
    free(st);
    return NULL;
  }
  return st;
}

static enum vt_status tcp_check_start(void *state, struct vt_result *res,
                                      check_done_fn *done, void *arg)
{
  struct tcp_check *st = state;
  if (st->state != TCP_CHECK_IDLE)
    return VT_EBUSY;
  check_run_begin(&st->run, res, done, arg);
  st->t_start_s = vt_time_mono();
  ev_timer_set(&st->deadline, st->c->timeout_s, 0.);
  ev_timer_start(st->loop, &st->deadline);

  if (!st->addr_len) {
    tcp_check_fail_soon(st, VT_ERR_INTERNAL, "not a numeric address");
    return VT_OK;
  }
  if (st->c->tls && tcp_check_load_tls(st) != VT_OK) {
    tcp_check_fail_soon(st, VT_ERR_INTERNAL, "cannot set up TLS (ca_file %s)",
                        st->c->ca_file ? st->c->ca_file : "none");
    return VT_OK;
  }
  st->fd = socket(st->addr.ss_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (st->fd < 0) {
    int err = errno;
    tcp_check_log(st, VT_LOG_WARNING, "socket: %s", strerror(err));
    tcp_check_fail_soon(st, VT_ERR_INTERNAL, "socket: %s", strerror(err));
    return VT_OK;
  }
  st->t_tcp_s = vt_time_mono();
  /* EINTR leaves a non-blocking connect running, like EINPROGRESS. A 0
   * return (possible on loopback) also goes through the watcher, which fires
   * at once and reads SO_ERROR 0. */
  if (connect(st->fd, (struct sockaddr *)&st->addr, st->addr_len) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    int err = errno;
    tcp_check_fail_soon(st, tcp_check_connect_err(err), "connect: %s",
                        strerror(err));
    return VT_OK;
  }
  ev_io_set(&st->io, st->fd, EV_WRITE);
  ev_io_start(st->loop, &st->io);
  tcp_check_set_state(st, TCP_CHECK_CONNECTING);
  return VT_OK;
}

static void tcp_check_cancel(void *state)
{
  struct tcp_check *st = state;
  if (!st || st->state == TCP_CHECK_IDLE)
    return;
  tcp_check_finish(st, VT_ERR_TIMEOUT, "cancelled");
}

static void tcp_check_destroy(void *state)
{
  struct tcp_check *st = state;
  if (!st)
    return;
  /* Idle (check_destroy cancels first): no watcher, socket or SSL. */
  assert(st->state == TCP_CHECK_IDLE && "cancel before destroy");
  tcp_check_teardown(st);
  tcp_check_tls_ctx_put(st->tls);
  free(st);
}

const struct check_type tcp_check_type = {
    .type = VT_CHECK_TCP,
    .fanout = CHECK_FANOUT_ADDRESSES,
    .endpoint = check_endpoint_target,
    .create = tcp_check_create,
    .start = tcp_check_start,
    .cancel = tcp_check_cancel,
    .destroy = tcp_check_destroy,
};
