/* SPDX-License-Identifier: MIT */
/* The collector's HTTP(S) server (see http_api.h): libmicrohttpd in external
 * epoll mode, driven by one ev_io on MHD's epoll fd and one ev_timer re-armed
 * from MHD_get_timeout() after every MHD_run(). Requests are buffered up to
 * max_body and handed complete to one handler on the loop. */
#include "config.h"

#include "http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <ev.h>
#include <microhttpd.h>

#include "container.h"
#include "log.h"
#include "net.h"
#include "vt_time.h"

/* Handlers return enum MHD_Result since 0.9.71 (configure asks for it). */
#if MHD_VERSION < 0x00097002
#error "libmicrohttpd >= 0.9.71 is required"
#endif

/* Defaults for zero fields of struct http_api_conf. MHD's own defaults are
 * wrong for us: a connection timeout of 0 means "never". */
#define HTTP_API_DEFAULT_CONN_LIMIT 1024u
#define HTTP_API_DEFAULT_CONN_TIMEOUT_S 30u
#define HTTP_API_DEFAULT_HEADER_TIMEOUT_S 10.0
#define HTTP_API_DEFAULT_BODY_TIMEOUT_S 60.0
/* File descriptors kept free beyond the connection limit: the listening
 * socket, epoll, SQLite, RRD files, rrdcached, the status page child. */
#define HTTP_API_SPARE_FDS 64u
/* MHD accepts this many connections past conn_limit; each one past it
 * evicts the connection whose request has been in progress longest, so a
 * full house of slow clients cannot keep a quick probe out. */
#define HTTP_API_EVICT_MARGIN 64u
/* Distinct libmicrohttpd messages that get their own log back-off. */
#define HTTP_API_LOG_KINDS 8
/* Per-connection pool: holds the request line and headers, so it bounds
 * them (MHD answers 431 beyond it); MHD's default is 32 KiB. */
#define HTTP_API_CONN_MEMORY ((size_t)64 * 1024)
/* GnuTLS priority string: TLS 1.2 and 1.3 only. */
#define HTTP_API_TLS_PRIORITIES "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1"
/* How much of a chunked body past max_body we read and throw away so that
 * the client still gets its 413. MHD 0.9.75 refuses to queue a reply while
 * a body is arriving (MHD_queue_response returns MHD_NO), so the only other
 * way out is closing the connection, which we do past this much: otherwise
 * a client could stream forever without ever being idle. */
#define HTTP_API_DISCARD_MAX ((size_t)1024 * 1024)
/* A PEM certificate chain or key is a few KiB; refuse anything absurd. */
#define HTTP_API_PEM_MAX ((size_t)1024 * 1024)

struct http_api {
  struct ev_loop *loop;
  struct MHD_Daemon *daemon;
  ev_io io;       /* MHD's epoll fd, EV_READ */
  ev_timer timer; /* MHD_get_timeout(), re-armed after every MHD_run */
  http_api_handler_fn *handler;
  void *arg;
  size_t max_body;
  /* PEM contents given to MHD. Kept for the daemon's lifetime because MHD
   * stores the pointers, not copies. */
  char *cert_pem, *key_pem;
  /* http_api_stop from inside the handler (that is, inside MHD_run) must
   * not free the daemon under MHD's feet: it sets stopping and the watcher
   * callback that called MHD_run finishes the job. */
  bool in_run;
  bool stopping;
  /* Front-door limits (http_api_conf) and what they did. */
  double header_timeout_s, body_timeout_s;
  size_t max_buffered; /* 0 = none */
  size_t buffered;     /* bytes allocated for request bodies now */
  void (*precheck)(void *arg, const struct http_api_request *req, int *status,
                   struct vt_buf *body);
  void (*done)(void *arg, const char *path, int status, double body_s,
               double reply_s);
  struct http_api_stats stats;
  unsigned conn_limit; /* past it, the oldest request in progress goes */
  /* Connections by the start of their current request (header or body
   * phase), oldest first; the candidates for eviction. */
  struct http_api_conn *oldest, *newest;
  struct vt_log_backoff bo_evict;
  /* Refusals come by the thousand under attack: one line, then a
   * summary at most every 10 s (vt_log_backoff). */
  struct vt_log_backoff bo_deadline, bo_memory, bo_framing;
  struct {
    const char *fmt; /* MHD's format string: one per kind of message */
    struct vt_log_backoff bo;
  } bo_mhd[HTTP_API_LOG_KINDS];
};

/* Per-connection state (MHD_OPTION_NOTIFY_CONNECTION's socket context):
 * the absolute deadline of the request in progress. MHD's own timeout is
 * an idle timeout that every byte resets, so a client trickling one byte
 * every few seconds would hold its connection forever. */
struct http_api_conn {
  struct http_api *api;
  struct MHD_Connection *conn;
  int fd;
  ev_timer deadline;
  bool in_body; /* headers done: the body deadline runs */
  bool listed;  /* in api's oldest..newest list */
  struct http_api_conn *prev, *next;
};

/* Per-request state, hung on *con_cls from the first access-handler call
 * until MHD_OPTION_NOTIFY_COMPLETED. */
struct http_api_req {
  struct vt_buf body;
  bool too_large;   /* past max_body: the rest is discarded, then 413 */
  size_t discarded; /* bytes thrown away since too_large was set */
  bool replied;     /* a response is queued; ignore whatever still comes */
  size_t charged;   /* bytes of api->buffered that are this body's */
  /* For http_api_conf.done: when the headers and the body were complete
   * (vt_time_mono), the reply's status and the path. */
  double t_head, t_body;
  int status;
  char path[64];
};

/* ---- helpers ------------------------------------------------------------ */

static void http_api_log_cb(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* MHD_OPTION_EXTERNAL_LOGGER: MHD's messages (bind failures, bad
 * certificates, protocol errors) go to our log instead of raw stderr. */
static void http_api_log_cb(void *cls, const char *fmt, va_list ap)
{
  struct http_api *api = cls;
  /* A refused connection is one message each: 2,000 sockets a second
   * would write megabytes. Each kind of message (MHD's format string) is
   * logged once, then summed up at most every 10 s. */
  struct vt_log_backoff *bo = NULL;
  if (api) {
    if (strstr(fmt, "connection limit"))
      api->stats.refused_limit++;
    size_t i = 0;
    while (i < HTTP_API_LOG_KINDS - 1 && api->bo_mhd[i].fmt &&
           api->bo_mhd[i].fmt != fmt)
      i++;
    api->bo_mhd[i].fmt = fmt;
    bo = &api->bo_mhd[i].bo;
  }
  unsigned long skipped = 0;
  if (bo && !vt_log_backoff_due(bo, vt_time_mono(), &skipped))
    return;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  if (skipped)
    vt_warn("http: %s (and %lu more like it since the last such line)", msg,
            skipped);
  else
    vt_warn("http: %s", msg);
}

/* Splits "a.b.c.d:port" or "[v6addr]:port" and resolves it numerically
 * (never DNS) into *ss. Returns VT_EINVAL on anything else. */
static enum vt_status http_api_parse_listen(const char *listen,
                                            struct sockaddr_storage *ss)
{
  char host[INET6_ADDRSTRLEN + 64], port[8];
  unsigned p;
  /* A bare IPv6 address without brackets is ambiguous: refused. */
  if (!vt_net_hostport(listen, VT_NET_PORT_ZERO, host, sizeof(host), &p))
    return VT_EINVAL;
  snprintf(port, sizeof(port), "%u", p);

  struct addrinfo hints = {
      .ai_family = listen[0] == '[' ? AF_INET6 : AF_INET,
      .ai_socktype = SOCK_STREAM,
      .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
  };
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
    return VT_EINVAL;
  enum vt_status st = VT_EINVAL;
  if (ai->ai_addrlen <= sizeof(*ss)) {
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    st = VT_OK;
  }
  freeaddrinfo(ai);
  return st;
}

/* Reads a whole PEM file into *out (malloc'd, NUL-terminated: MHD wants a
 * string). Sized from fstat and read with read(2) into one allocation, so
 * neither realloc nor a stdio buffer leaves copies of a private key in
 * freed memory. */
static enum vt_status http_api_read_pem(const char *path, char **out)
{
  enum vt_status st = VT_EIO;
  char *data = NULL;
  size_t size = 0, len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    vt_err("http: cannot open %s: %s", path, strerror(errno));
    return VT_EIO;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    vt_err("http: cannot stat %s: %s", path, strerror(errno));
    goto cleanup;
  }
  if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
      (uintmax_t)sb.st_size > HTTP_API_PEM_MAX) {
    vt_err("http: %s: not a regular file of 1 byte to %zu bytes", path,
           HTTP_API_PEM_MAX);
    st = VT_EINVAL;
    goto cleanup;
  }
  size = (size_t)sb.st_size;
  if (!(data = malloc(size + 1))) {
    vt_err("http: out of memory reading %s", path);
    st = VT_ENOMEM;
    goto cleanup;
  }
  while (len < size) {
    ssize_t n = read(fd, data + len, size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      vt_err("http: cannot read %s: %s", path, strerror(errno));
      goto cleanup;
    }
    if (n == 0)
      break; /* shrank meanwhile: take what is there */
    len += (size_t)n;
  }
  data[len] = '\0';
  if (len == 0 || memchr(data, '\0', len)) {
    vt_err("http: %s: empty or not PEM text", path);
    st = VT_EINVAL;
    goto cleanup;
  }
  *out = data;
  data = NULL;
  st = VT_OK;
cleanup:
  if (data) {
    explicit_bzero(data, size + 1);
    free(data);
  }
  close(fd);
  return st;
}

/* Frees a PEM string, wiping it first (the key is secret). */
static void http_api_free_pem(char **pem)
{
  if (!*pem)
    return;
  explicit_bzero(*pem, strlen(*pem));
  free(*pem);
  *pem = NULL;
}

/* Queues a response with a copy of body; false when MHD refused it. */
static bool http_api_reply(struct MHD_Connection *conn, unsigned status,
                           const char *content_type, const char *body,
                           size_t len)
{
  /* MUST_COPY: the body lives in a buffer that dies before MHD sends. */
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!resp)
    return false;
  bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    content_type) == MHD_YES &&
            MHD_queue_response(conn, status, resp) == MHD_YES;
  MHD_destroy_response(resp); /* MHD holds its own reference once queued */
  return ok;
}

static enum MHD_Result http_api_reply_too_large(const struct http_api *api,
                                                struct MHD_Connection *conn,
                                                struct http_api_req *r)
{
  char body[96];
  int n = snprintf(body, sizeof(body),
                   "{\"error\":\"body larger than %zu bytes\"}", api->max_body);
  r->replied = true;
  return http_api_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
                        body, (size_t)n)
             ? MHD_YES
             : MHD_NO;
}

/* Peer address as text ("192.0.2.1", "2001:db8::1"), or "?" when unknown. */
static void http_api_client_text(struct MHD_Connection *conn, char *out,
                                 size_t out_len)
{
  snprintf(out, out_len, "?");
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr)
    return;
  socklen_t len = ci->client_addr->sa_family == AF_INET6
                      ? sizeof(struct sockaddr_in6)
                      : sizeof(struct sockaddr_in);
  if (getnameinfo(ci->client_addr, len, out, (socklen_t)out_len, NULL, 0,
                  NI_NUMERICHOST) != 0)
    snprintf(out, out_len, "?");
}

/* Builds the request, runs the handler and queues its reply. */
static enum MHD_Result http_api_dispatch(struct http_api *api,
                                         struct MHD_Connection *conn,
                                         const char *url, const char *method,
                                         struct http_api_req *r)
{
  char client[INET6_ADDRSTRLEN + 64];
  http_api_client_text(conn, client, sizeof(client));
  /* MHD has already cut the query string off url (and percent-decoded
   * the path); cutting at '?' again would break a decoded "%3F". */
  struct http_api_request req = {
      .method = method,
      .path = url,
      .client = client,
      .body = vt_buf_str(&r->body),
      .body_len = r->body.len,
      .conn = conn,
  };
  /* A handler that sets nothing is a bug; 500 says so to the client. */
  int status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  const char *content_type = "application/json";
  struct vt_buf out;
  vt_buf_init(&out, 0);
  r->t_body = vt_time_mono();
  if (api->stopping)
    status = MHD_HTTP_SERVICE_UNAVAILABLE;
  else
    api->handler(api->arg, &req, &status, &content_type, &out);
  if (status < 100 || status > 599) {
    vt_err("http: handler returned status %d for %s %s", status, method, url);
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  }
  r->replied = true;
  r->status = status;
  snprintf(r->path, sizeof(r->path), "%s", url);
  bool ok = http_api_reply(conn, (unsigned)status,
                           content_type ? content_type : "application/json",
                           vt_buf_str(&out), out.len);
  vt_buf_cleanup(&out);
  if (!ok)
    vt_warn("http: cannot queue reply to %s %s from %s", method, url, client);
  return ok ? MHD_YES : MHD_NO;
}

/* ---- deadlines, limits -------------------------------------------------- */

/* Logs a refusal of class bo with back-off: "http: <client>: <what>",
 * then at most one line per 10 s with the count left out. */
static void http_api_refusal(struct vt_log_backoff *bo,
                             struct MHD_Connection *conn, const char *what)
{
  unsigned long skipped = 0;
  if (!vt_log_backoff_due(bo, vt_time_mono(), &skipped))
    return;
  char client[INET6_ADDRSTRLEN + 64];
  http_api_client_text(conn, client, sizeof(client));
  if (skipped)
    vt_warn("http: %s: %s (%lu more such refusals since the last line; "
            "%lu in all)",
            client, what, skipped, bo->total);
  else
    vt_warn("http: %s: %s (further ones summed up every %.0fs)", client, what,
            bo->interval_s > 0 ? bo->interval_s : 10.0);
}

static struct http_api_conn *http_api_conn_of(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void http_api_conn_unlist(struct http_api_conn *hc)
{
  struct http_api *api = hc->api;
  if (!hc->listed)
    return;
  if (hc->prev)
    hc->prev->next = hc->next;
  else
    api->oldest = hc->next;
  if (hc->next)
    hc->next->prev = hc->prev;
  else
    api->newest = hc->prev;
  hc->prev = hc->next = NULL;
  hc->listed = false;
}

/* (Re)starts the connection's one deadline: header_timeout_s for the next
 * request line and headers, body_timeout_s once they are in; and makes
 * it the newest for eviction. */
static void http_api_conn_arm(struct http_api_conn *hc, bool in_body)
{
  struct http_api *api = hc->api;
  http_api_conn_unlist(hc);
  hc->prev = api->newest;
  if (api->newest)
    api->newest->next = hc;
  else
    api->oldest = hc;
  api->newest = hc;
  hc->listed = true;
  hc->in_body = in_body;
  ev_timer_stop(api->loop, &hc->deadline);
  ev_timer_set(&hc->deadline,
               in_body ? api->body_timeout_s : api->header_timeout_s, 0.);
  ev_timer_start(api->loop, &hc->deadline);
}

/* The deadline passed: shut the socket down. MHD owns the descriptor, so
 * it is not closed here; MHD sees the hang-up at its next run (epoll
 * reports it at once) and closes the connection the ordinary way, with
 * NOTIFY_COMPLETED and NOTIFY_CONNECTION. */
static void http_api_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)loop;
  (void)revents;
  struct http_api_conn *hc = container_of(w, struct http_api_conn, deadline);
  struct http_api *api = hc->api;
  api->stats.closed_deadline++;
  char what[96];
  snprintf(what, sizeof(what), "closed: %s not complete within %gs",
           hc->in_body ? "request body" : "request headers",
           hc->in_body ? api->body_timeout_s : api->header_timeout_s);
  http_api_refusal(&api->bo_deadline, hc->conn, what);
  http_api_conn_unlist(hc);
  shutdown(hc->fd, SHUT_RDWR);
}

/* Past conn_limit: shuts down the connection whose request has been in
 * progress longest (the slowest client), never the one just opened. */
static void http_api_evict(struct http_api *api, struct http_api_conn *fresh)
{
  struct http_api_conn *victim = api->oldest;
  if (!victim || victim == fresh)
    return;
  api->stats.evicted++;
  char what[128];
  snprintf(what, sizeof(what),
           "closed: the oldest request in progress (%u connections open, "
           "collector.max_connections)",
           (unsigned)api->stats.connections);
  http_api_refusal(&api->bo_evict, victim->conn, what);
  ev_timer_stop(api->loop, &victim->deadline);
  http_api_conn_unlist(victim);
  shutdown(victim->fd, SHUT_RDWR);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection opened or closed. */
static void http_api_conn_cb(void *cls, struct MHD_Connection *conn,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
  struct http_api *api = cls;
  struct http_api_conn *hc = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    if (!hc)
      return;
    ev_timer_stop(api->loop, &hc->deadline);
    http_api_conn_unlist(hc);
    free(hc);
    *socket_context = NULL;
    api->stats.connections--;
    return;
  }
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci || !(hc = calloc(1, sizeof(*hc)))) {
    /* Without a deadline MHD's idle timeout still applies. */
    vt_warn("http: out of memory for a connection's state");
    return;
  }
  *hc = (struct http_api_conn){.api = api, .conn = conn, .fd = ci->connect_fd};
  ev_init(&hc->deadline, http_api_deadline_cb);
  *socket_context = hc;
  api->stats.connections++;
  http_api_conn_arm(hc, false);
  if (api->stats.connections > api->conn_limit)
    http_api_evict(api, hc);
}

/* Two Content-Length fields, even equal ones, are refused: a proxy in
 * front may take the other one (RFC 9112 section 6.3: "MUST treat it as
 * an unrecoverable error"). */
static enum MHD_Result http_api_count_cl(void *cls, enum MHD_ValueKind kind,
                                         const char *key, const char *value)
{
  (void)kind;
  (void)value;
  if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
    ++*(unsigned *)cls;
  return MHD_YES;
}

static enum MHD_Result http_api_reply_error(struct MHD_Connection *conn,
                                            struct http_api_req *r,
                                            unsigned status, const char *json)
{
  r->replied = true;
  return http_api_reply(conn, status, "application/json", json, strlen(json))
             ? MHD_YES
             : MHD_NO;
}

/* Runs the precheck on the headers alone; true when it answered. */
static bool http_api_precheck(struct http_api *api, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              enum MHD_Result *ret, struct http_api_req *r)
{
  char client[INET6_ADDRSTRLEN + 64];
  http_api_client_text(conn, client, sizeof(client));
  struct http_api_request req = {
      .method = method, .path = url, .client = client, .conn = conn};
  int status = 0;
  struct vt_buf out;
  vt_buf_init(&out, 0);
  api->precheck(api->arg, &req, &status, &out);
  if (status == 0) {
    vt_buf_cleanup(&out);
    return false;
  }
  if (status < 100 || status > 599)
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  api->stats.refused_precheck++;
  r->replied = true;
  *ret = http_api_reply(conn, (unsigned)status, "application/json",
                        vt_buf_str(&out), out.len)
             ? MHD_YES
             : MHD_NO;
  vt_buf_cleanup(&out);
  return true;
}

/* ---- MHD callbacks ------------------------------------------------------ */

/* MHD calls this once after the headers (*con_cls NULL), once per chunk of
 * body (*upload_data_size > 0) and once more at the end (size 0). */
static enum MHD_Result
http_api_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                   const char *method, const char *version,
                   const char *upload_data, size_t *upload_data_size,
                   void **con_cls)
{
  struct http_api *api = cls;
  struct http_api_req *r = *con_cls;
  (void)version;

  if (!r) {
    if (!(r = calloc(1, sizeof(*r)))) {
      vt_warn("http: out of memory for %s %s", method, url);
      return MHD_NO; /* MHD closes the connection */
    }
    vt_buf_init(&r->body, 0); /* capped by hand against max_body below */
    r->t_head = vt_time_mono();
    *con_cls = r;
    struct http_api_conn *hc = http_api_conn_of(conn);
    if (hc)
      http_api_conn_arm(hc, true); /* headers in: the body's deadline */
    unsigned n_cl = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, http_api_count_cl, &n_cl);
    if (n_cl > 1) {
      api->stats.refused_framing++;
      http_api_refusal(&api->bo_framing, conn,
                       "refused: more than one Content-Length");
      return http_api_reply_error(
          conn, r, MHD_HTTP_BAD_REQUEST,
          "{\"error\":\"more than one Content-Length\"}");
    }
    const char *cl = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    /* 0.9.75 accepts both framings at once; a proxy in front may pick
     * the other one, which is how requests get smuggled (RFC 9112
     * section 6.3 lets a server reject this). */
    if (cl && te) {
      api->stats.refused_framing++;
      return http_api_reply_error(
          conn, r, MHD_HTTP_BAD_REQUEST,
          "{\"error\":\"both Content-Length and Transfer-Encoding\"}");
    }
    /* Refuse a declared oversize body before reading a byte of it. MHD
     * has already answered a malformed Content-Length with 400. */
    unsigned long long declared = 0;
    if (cl) {
      errno = 0;
      declared = strtoull(cl, NULL, 10);
      if (errno == ERANGE || declared > api->max_body)
        return http_api_reply_too_large(api, conn, r);
    }
    /* Who sends a body must be a known probe with well-formed signature
     * headers before a byte of it is held (the signature itself covers
     * the body, so it is checked at the end). */
    enum MHD_Result ret;
    if (api->precheck && (declared > 0 || te) &&
        http_api_precheck(api, conn, url, method, &ret, r))
      return ret;
    if (api->max_buffered && declared > api->max_buffered - api->buffered) {
      api->stats.refused_memory++;
      http_api_refusal(&api->bo_memory, conn,
                       "refused with 503: request bodies in memory at "
                       "collector.max_buffered");
      return http_api_reply_error(conn, r, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "{\"error\":\"busy: too many request "
                                  "bodies in memory, retry later\"}");
    }
    return MHD_YES;
  }

  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0; /* consumed, whether kept or discarded */
    if (r->replied)
      return MHD_YES;
    if (!r->too_large && n > api->max_body - r->body.len) {
      /* Chunked uploads declare no length; we learn only now. Keep
       * reading to the end so that the 413 arrives as a clean reply. */
      r->too_large = true;
      vt_buf_cleanup(&r->body);
      api->buffered -= r->charged;
      r->charged = 0;
    }
    if (r->too_large) {
      r->discarded += n;
      if (r->discarded > HTTP_API_DISCARD_MAX) {
        char client[INET6_ADDRSTRLEN + 64];
        http_api_client_text(conn, client, sizeof(client));
        vt_info("http: closing %s %s from %s: body over %zu bytes", method, url,
                client, api->max_body);
        return MHD_NO;
      }
      return MHD_YES;
    }
    if (api->max_buffered && n > api->max_buffered - api->buffered) {
      /* Mid-body, MHD 0.9.75 cannot queue a reply: close instead. */
      api->stats.refused_memory++;
      http_api_refusal(&api->bo_memory, conn,
                       "closed: request bodies in memory at "
                       "collector.max_buffered");
      return MHD_NO;
    }
    if (vt_buf_add(&r->body, upload_data, n) != VT_OK) {
      vt_warn("http: out of memory for the body of %s %s", method, url);
      return MHD_NO;
    }
    api->buffered += r->body.alloc - r->charged;
    r->charged = r->body.alloc;
    return MHD_YES;
  }

  if (r->replied)
    return MHD_YES;
  if (r->too_large)
    return http_api_reply_too_large(api, conn, r);
  return http_api_dispatch(api, conn, url, method, r);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over (replied, aborted or
 * timed out); free its state. */
static void http_api_completed_cb(void *cls, struct MHD_Connection *conn,
                                  void **con_cls,
                                  enum MHD_RequestTerminationCode toe)
{
  struct http_api *api = cls;
  /* A kept-alive connection gets header_timeout_s for its next request
   * from now. */
  struct http_api_conn *hc = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                                 ? http_api_conn_of(conn)
                                 : NULL;
  if (hc)
    http_api_conn_arm(hc, false);
  struct http_api_req *r = *con_cls;
  if (!r)
    return;
  if (api->done && r->replied && r->t_body > 0 &&
      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
    api->done(api->arg, r->path, r->status, r->t_body - r->t_head,
              vt_time_mono() - r->t_body);
  api->buffered -= r->charged;
  vt_buf_cleanup(&r->body);
  free(r);
  *con_cls = NULL;
}

/* ---- libev wiring ------------------------------------------------------- */

/* Raises the soft RLIMIT_NOFILE so that conn_limit connections fit (a
 * systemd default of 1024 would make accept() fail with EMFILE before
 * MHD's limit, and MHD then spins on the listening socket); returns the
 * limit that fits when even the hard limit is too low. */
static unsigned http_api_fd_room(unsigned conn_limit)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return conn_limit;
  rlim_t want = (rlim_t)conn_limit + HTTP_API_SPARE_FDS;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
                     ? want
                     : rl.rlim_max;
    rl.rlim_cur = cur;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl))
      return conn_limit;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    unsigned fit = rl.rlim_cur > 2 * HTTP_API_SPARE_FDS
                       ? (unsigned)(rl.rlim_cur - HTTP_API_SPARE_FDS)
                       : HTTP_API_SPARE_FDS;
    vt_warn("http: open-file limit %llu is too low for %u connections; "
            "accepting at most %u (raise LimitNOFILE)",
            (unsigned long long)rl.rlim_cur, conn_limit, fit);
    return fit;
  }
  return conn_limit;
}

static void http_api_destroy(struct http_api *api);

/* Runs MHD once, then re-arms the timer from MHD's own deadline: MHD
 * expires idle connections only inside MHD_run, so without the timer a
 * silent client would hold its connection forever. */
static void http_api_run(struct http_api *api)
{
  api->in_run = true;
  MHD_run(api->daemon);
  api->in_run = false;
  if (api->stopping) {
    http_api_destroy(api); /* deferred http_api_stop from the handler */
    return;
  }
  ev_timer_stop(api->loop, &api->timer);
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(api->daemon, &ms) != MHD_YES)
    return; /* nothing pending, no connection with a deadline */
  /* 0 means "call MHD_run again at once" (e.g. TLS data already
   * decrypted in GnuTLS buffers, which epoll cannot see): a 0 s timer
   * does that on the next loop iteration without recursing. */
  ev_timer_set(&api->timer, (double)ms / 1000.0, 0.);
  ev_timer_start(api->loop, &api->timer);
}

static void http_api_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
  (void)loop;
  (void)revents;
  http_api_run(container_of(w, struct http_api, io));
}

static void http_api_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  (void)loop;
  (void)revents;
  http_api_run(container_of(w, struct http_api, timer));
}

/* ---- public ------------------------------------------------------------- */

const char *http_api_header(const struct http_api_request *req,
                            const char *name)
{
  /* MHD compares header names case-insensitively. */
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct http_api *http_api_start(struct ev_loop *loop,
                                const struct http_api_conf *conf,
                                http_api_handler_fn *handler, void *arg,
                                enum vt_status *st)
{
  struct http_api *api = NULL;
  enum vt_status rc = VT_OK;
  const char *listen = conf->listen ? conf->listen : "";
  bool tls = conf->tls_cert_file || conf->tls_key_file;

  struct sockaddr_storage ss = {0};
  rc = http_api_parse_listen(listen, &ss);
  if (rc != VT_OK) {
    vt_err("http: bad listen address \"%s\" (want a.b.c.d:port or "
           "[v6addr]:port)",
           listen);
    goto fail;
  }
  if (tls && !(conf->tls_cert_file && conf->tls_key_file)) {
    vt_err("http: TLS needs both a certificate and a key file");
    rc = VT_EINVAL;
    goto fail;
  }

  if (!(api = calloc(1, sizeof(*api)))) {
    vt_err("http: out of memory");
    rc = VT_ENOMEM;
    goto fail;
  }
  *api = (struct http_api){
      .loop = loop,
      .handler = handler,
      .arg = arg,
      .max_body = conf->max_body,
      .header_timeout_s = conf->header_timeout_s > 0
                              ? conf->header_timeout_s
                              : HTTP_API_DEFAULT_HEADER_TIMEOUT_S,
      .body_timeout_s = conf->body_timeout_s > 0
                            ? conf->body_timeout_s
                            : HTTP_API_DEFAULT_BODY_TIMEOUT_S,
      .max_buffered = conf->max_buffered,
      .precheck = conf->precheck,
      .done = conf->done,
  };
  ev_init(&api->io, http_api_io_cb);
  ev_init(&api->timer, http_api_timer_cb);

  unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6; /* IPv6 only: no dual stack on "[::]" */
  if (tls) {
    flags |= MHD_USE_TLS;
    if ((rc = http_api_read_pem(conf->tls_cert_file, &api->cert_pem)) !=
            VT_OK ||
        (rc = http_api_read_pem(conf->tls_key_file, &api->key_pem)) != VT_OK)
      goto fail;
  }

  unsigned int conn_limit =
      conf->conn_limit ? conf->conn_limit : HTTP_API_DEFAULT_CONN_LIMIT;
  conn_limit = http_api_fd_room(conn_limit + HTTP_API_EVICT_MARGIN) -
               HTTP_API_EVICT_MARGIN;
  api->conn_limit = conn_limit;
  unsigned int conn_timeout_s = conf->conn_timeout_s
                                    ? conf->conn_timeout_s
                                    : HTTP_API_DEFAULT_CONN_TIMEOUT_S;
  uint16_t port = ss.ss_family == AF_INET6
                      ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  /* TLS options only when TLS is on: MHD refuses them on a plain daemon.
   * Strings go in ptr_value; MHD keeps the pointers (see cert_pem). */
  struct MHD_OptionItem tls_opts[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, api->cert_pem},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, api->key_pem},
      {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_API_TLS_PRIORITIES},
      {MHD_OPTION_END, 0, NULL},
  };
  struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
  /* Varargs: every value must have exactly the type MHD reads. The
   * logger goes first so that start-up errors reach it. One option and its
   * value per line, hence no clang-format. */
  errno = 0;
  /* clang-format off */
  api->daemon = MHD_start_daemon(
      flags, port, NULL, NULL, http_api_access_cb, api,
      MHD_OPTION_EXTERNAL_LOGGER, http_api_log_cb, (void *)api,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_LIMIT, conn_limit + HTTP_API_EVICT_MARGIN,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->per_ip_limit,
      MHD_OPTION_CONNECTION_TIMEOUT, conn_timeout_s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_API_CONN_MEMORY,
#if MHD_VERSION >= 0x00097205
      /* main() ignores SIGPIPE, so MHD may use plain send()/sendfile(). */
      MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
#endif
      MHD_OPTION_NOTIFY_COMPLETED, http_api_completed_cb, (void *)api,
      MHD_OPTION_NOTIFY_CONNECTION, http_api_conn_cb, (void *)api,
      MHD_OPTION_ARRAY, tls ? tls_opts : no_opts,
      MHD_OPTION_END);
  /* clang-format on */
  int err = errno;
  if (!api->daemon) {
    /* MHD has logged the precise reason through http_api_log_cb. */
    vt_err("http: cannot listen on %s: %s", listen,
           err ? strerror(err) : "libmicrohttpd refused to start");
    rc = VT_ELIB;
    goto fail;
  }

  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_EPOLL_FD);
  if (!di || di->epoll_fd < 0) {
    vt_err("http: libmicrohttpd gave no epoll fd");
    rc = VT_ELIB;
    goto fail;
  }
  ev_io_set(&api->io, di->epoll_fd, EV_READ);
  ev_io_start(loop, &api->io);
  /* MHD may already have work (none on a fresh daemon, but the contract
   * is "MHD_run after every poll"), and this arms the first timer. */
  http_api_run(api);
  char host[INET6_ADDRSTRLEN + 64];
  if (getnameinfo((struct sockaddr *)&ss, sizeof(ss), host, sizeof(host), NULL,
                  0, NI_NUMERICHOST) != 0)
    snprintf(host, sizeof(host), "?");
  bool v6 = ss.ss_family == AF_INET6;
  vt_notice("http: listening on %s%s%s:%d (%s)", v6 ? "[" : "", host,
            v6 ? "]" : "", http_api_port(api), tls ? "https" : "http");
  *st = VT_OK;
  return api;

fail:
  http_api_destroy(api);
  *st = rc;
  return NULL;
}

void http_api_get_stats(const struct http_api *api, struct http_api_stats *out)
{
  *out = api->stats;
  out->buffered = api->buffered;
}

int http_api_port(const struct http_api *api)
{
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return di ? (int)di->port : -1;
}

/* Stops watchers, closes every connection and frees. */
static void http_api_destroy(struct http_api *api)
{
  if (!api)
    return;
  ev_io_stop(api->loop, &api->io);
  ev_timer_stop(api->loop, &api->timer);
  if (api->daemon)
    MHD_stop_daemon(api->daemon); /* runs NOTIFY_COMPLETED for each */
  http_api_free_pem(&api->cert_pem);
  http_api_free_pem(&api->key_pem);
  free(api);
}

void http_api_stop(struct http_api *api)
{
  if (!api)
    return;
  if (api->in_run) {
    /* Called from the handler: MHD_run is on the stack. Stop watching now
     * so nothing new comes in; http_api_run frees once MHD returns. */
    api->stopping = true;
    ev_io_stop(api->loop, &api->io);
    ev_timer_stop(api->loop, &api->timer);
    return;
  }
  http_api_destroy(api);
}
