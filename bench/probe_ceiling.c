/* SPDX-License-Identifier: MIT */
/* probe_ceiling: the least a program must do to make the probe's requests,
 * for bench/probe_load_bench.sh to measure vantage-probe against in the
 * same run. One libev loop, like the probe; no scheduler, no results, no
 * spool: only the requests, with the probe's options.
 *
 *   probe_ceiling http|https|tcp|dns LIST MAX_IN_FLIGHT [RATE DURATION_S]
 *
 * LIST has one request per line:
 *   http, https: URL IP     (libcurl multi_socket; CONNECT_TO pins IP, a fresh
 *                      connection each, no TLS session reuse, CERTINFO on,
 *                      the CA in $CEILING_CA when set)
 *   tcp:  IP PORT     (non-blocking connect, then close)
 *   dns:  NAME SERVER (c-ares A and AAAA at SERVER "ip:port", one try)
 * Without RATE it runs the list once with at most MAX_IN_FLIGHT at once
 * (the probe's --once). With RATE it starts RATE requests a second, evenly
 * spaced, going round the list, for DURATION_S seconds (the daemon), still
 * with at most MAX_IN_FLIGHT at once, in batches of $CEILING_BATCH (1)
 * started together, as the probe starts one check's addresses together.
 * Timeout: $CEILING_TIMEOUT_S (5).
 * Prints one line: "done=N ok=N failed=N wall_s=W cpu_s=C maxrss_kb=K". */
#include <ares.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
  char a[512], b[128];
  struct curl_slist *pin;
  struct sockaddr_storage sa;
  socklen_t sa_len;
};

static struct ev_loop *loop;
static struct req *reqs;
static size_t n_reqs, next_req;
static int mode; /* 0 http, 1 tcp, 2 dns */
static int max_in_flight, in_flight;
static double rate, duration_s, timeout_s = 5.0, t_start;
static unsigned long batch = 1;
static unsigned long done_n, ok_n, fail_n, due_n;
static const char *ca;

static double now_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start_some(void);

static void finished(int ok)
{
  in_flight--;
  done_n++;
  if (ok)
    ok_n++;
  else
    fail_n++;
  start_some();
}

/* ---- http: libcurl multi_socket on libev ---------------------------------*/

static CURLM *multi;
static ev_timer curl_timer;
static CURL **idle_easies;
static int n_idle;

struct sock {
  ev_io io;
};

static void curl_check_done(void)
{
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *e = m->easy_handle;
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    int ok = m->data.result == CURLE_OK && code == 200;
    curl_multi_remove_handle(multi, e);
    idle_easies[n_idle++] = e;
    finished(ok);
  }
}

static void curl_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
  int running, mask = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                      (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  curl_multi_socket_action(multi, w->fd, mask, &running);
  curl_check_done();
}

static void curl_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
  int running;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  curl_check_done();
}

static int curl_sock_cb(CURL *e, curl_socket_t s, int what, void *up, void *sp)
{
  struct sock *k = sp;
  if (what == CURL_POLL_REMOVE) {
    if (k) {
      ev_io_stop(loop, &k->io);
      free(k);
      curl_multi_assign(multi, s, NULL);
    }
    return 0;
  }
  if (!k) {
    k = calloc(1, sizeof(*k));
    ev_init(&k->io, curl_io_cb);
    curl_multi_assign(multi, s, k);
  }
  ev_io_stop(loop, &k->io);
  ev_io_set(&k->io, s,
            (what & CURL_POLL_IN ? EV_READ : 0) |
                (what & CURL_POLL_OUT ? EV_WRITE : 0));
  ev_io_start(loop, &k->io);
  return 0;
}

static int curl_timer_fn(CURLM *m, long ms, void *up)
{
  ev_timer_stop(loop, &curl_timer);
  if (ms >= 0) {
    ev_timer_set(&curl_timer, ms / 1000.0, 0.);
    ev_timer_start(loop, &curl_timer);
  }
  return 0;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
  return s * n;
}

static void http_start(struct req *r)
{
  CURL *e = n_idle ? idle_easies[--n_idle] : curl_easy_init();
  curl_easy_reset(e);
  if (!r->pin) {
    /* URL host and port, for HOST:PORT:IP:PORT. */
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL, pin[700];
    curl_url_set(u, CURLUPART_URL, r->a, 0);
    curl_url_get(u, CURLUPART_HOST, &h, 0);
    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
    snprintf(pin, sizeof(pin),
             strchr(r->b, ':') ? "%s:%s:[%s]:%s" : "%s:%s:%s:%s", h, p, r->b,
             p);
    r->pin = curl_slist_append(NULL, pin);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
  }
  long ms = (long)(timeout_s * 1000);
  curl_easy_setopt(e, CURLOPT_URL, r->a);
  curl_easy_setopt(e, CURLOPT_CONNECT_TO, r->pin);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  if (ca)
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
  curl_multi_add_handle(multi, e);
}

/* ---- tcp: connect, then close --------------------------------------------*/

struct tcp {
  ev_io io;
  ev_timer t;
};

static void tcp_end(struct tcp *c, int ok)
{
  ev_io_stop(loop, &c->io);
  ev_timer_stop(loop, &c->t);
  close(c->io.fd);
  free(c);
  finished(ok);
}

static void tcp_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  tcp_end((struct tcp *)w, err == 0);
}

static void tcp_timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
  tcp_end((struct tcp *)((char *)w - offsetof(struct tcp, t)), 0);
}

static void tcp_start(struct req *r)
{
  if (!r->sa_len) {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&r->sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r->sa;
    if (inet_pton(AF_INET, r->a, &a4->sin_addr) == 1) {
      a4->sin_family = AF_INET;
      a4->sin_port = htons((unsigned short)atoi(r->b));
      r->sa_len = sizeof(*a4);
    } else {
      inet_pton(AF_INET6, r->a, &a6->sin6_addr);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons((unsigned short)atoi(r->b));
      r->sa_len = sizeof(*a6);
    }
  }
  int fd =
      socket(r->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct tcp *c = calloc(1, sizeof(*c));
  if (fd < 0 || !c) {
    free(c);
    if (fd >= 0)
      close(fd);
    in_flight++;
    finished(0);
    return;
  }
  connect(fd, (struct sockaddr *)&r->sa, r->sa_len);
  ev_io_init(&c->io, tcp_io_cb, fd, EV_WRITE);
  ev_timer_init(&c->t, tcp_timeout_cb, timeout_s, 0.);
  ev_io_start(loop, &c->io);
  ev_timer_start(loop, &c->t);
}

/* ---- dns: c-ares A+AAAA ------------------------------------------------*/

struct chan {
  char server[128];
  ares_channel ch;
  ev_timer t;
  ev_io io[4];
  struct chan *next;
};
static struct chan *chans;

struct pair {
  int pending, ok;
};

static void chan_arm(struct chan *c)
{
  struct timeval tv, *p = ares_timeout(c->ch, NULL, &tv);
  ev_timer_stop(loop, &c->t);
  if (p) {
    ev_timer_set(&c->t, p->tv_sec + p->tv_usec / 1e6, 0.);
    ev_timer_start(loop, &c->t);
  }
}

static void chan_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
  struct chan *c = w->data;
  ares_process_fd(c->ch, revents & EV_READ ? w->fd : ARES_SOCKET_BAD,
                  revents & EV_WRITE ? w->fd : ARES_SOCKET_BAD);
  chan_arm(c);
}

static void chan_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
  struct chan *c = w->data;
  ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  chan_arm(c);
}

static void chan_sock_cb(void *data, ares_socket_t fd, int rd, int wr)
{
  struct chan *c = data;
  for (int i = 0; i < 4; i++) {
    if (ev_is_active(&c->io[i]) && c->io[i].fd == fd) {
      ev_io_stop(loop, &c->io[i]);
      if (rd || wr) {
        ev_io_set(&c->io[i], fd, (rd ? EV_READ : 0) | (wr ? EV_WRITE : 0));
        ev_io_start(loop, &c->io[i]);
      }
      return;
    }
  }
  for (int i = 0; (rd || wr) && i < 4; i++) {
    if (!ev_is_active(&c->io[i])) {
      ev_io_set(&c->io[i], fd, (rd ? EV_READ : 0) | (wr ? EV_WRITE : 0));
      ev_io_start(loop, &c->io[i]);
      return;
    }
  }
}

static struct chan *chan_get(const char *server)
{
  for (struct chan *c = chans; c; c = c->next)
    if (strcmp(c->server, server) == 0)
      return c;
  struct chan *c = calloc(1, sizeof(*c));
  snprintf(c->server, sizeof(c->server), "%s", server);
  static char lookups[] = "b";
  struct ares_options o = {.flags = ARES_FLAG_NOCHECKRESP,
                           .timeout = (int)(timeout_s * 1000),
                           .tries = 1,
                           .lookups = lookups,
                           .sock_state_cb = chan_sock_cb,
                           .sock_state_cb_data = c,
                           .socket_receive_buffer_size = 1 << 20};
  ares_init_options(&c->ch, &o,
                    ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                        ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB |
                        ARES_OPT_SOCK_RCVBUF);
  ares_set_servers_ports_csv(c->ch, server);
  ev_timer_init(&c->t, chan_timer_cb, 0., 0.);
  c->t.data = c;
  for (int i = 0; i < 4; i++) {
    ev_init(&c->io[i], chan_io_cb);
    c->io[i].data = c;
  }
  c->next = chans;
  chans = c;
  return c;
}

static void dns_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen)
{
  struct pair *p = arg;
  if (status == ARES_SUCCESS || status == ARES_ENODATA)
    p->ok++;
  if (--p->pending == 0) {
    int ok = p->ok == 2;
    free(p);
    finished(ok);
  }
}

static void dns_start(struct req *r)
{
  struct chan *c = chan_get(r->b);
  struct pair *p = calloc(1, sizeof(*p));
  p->pending = 2;
  ares_query(c->ch, r->a, 1, 1, dns_cb, p);
  ares_query(c->ch, r->a, 1, 28, dns_cb, p);
  chan_arm(c);
}

/* ---- driver ---------------------------------------------------------------*/

static ev_timer pace;

static void start_one(void)
{
  struct req *r = &reqs[next_req++ % n_reqs];
  in_flight++;
  if (mode == 0)
    http_start(r);
  else if (mode == 1)
    tcp_start(r);
  else
    dns_start(r);
}

/* Once: keep MAX_IN_FLIGHT going until the list is done. Paced: start the
 * requests that are due (and fit). */
static void start_some(void)
{
  if (rate <= 0) {
    while (in_flight < max_in_flight && next_req < n_reqs)
      start_one();
    if (in_flight == 0 && next_req >= n_reqs)
      ev_break(loop, EVBREAK_ALL);
    return;
  }
  double t = now_mono() - t_start;
  /* Due in whole batches: the probe starts a check's addresses together. */
  unsigned long due = t >= duration_s
                          ? (unsigned long)(duration_s * rate)
                          : (unsigned long)(t * rate / batch + 1) * batch;
  while (due_n < due && in_flight < max_in_flight) {
    start_one();
    due_n++;
  }
  if (t >= duration_s && in_flight == 0)
    ev_break(loop, EVBREAK_ALL);
}

static void pace_cb(struct ev_loop *l, ev_timer *w, int revents)
{
  start_some();
}

int main(int argc, char **argv)
{
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: probe_ceiling http|tcp|dns LIST MAX_IN_FLIGHT "
                    "[RATE DURATION_S]\n");
    return 2;
  }
  if (strcmp(argv[1], "http") == 0 || strcmp(argv[1], "https") == 0)
    mode = 0;
  else if (strcmp(argv[1], "tcp") == 0)
    mode = 1;
  else if (strcmp(argv[1], "dns") == 0)
    mode = 2;
  else {
    fprintf(stderr, "probe_ceiling: unknown kind %s\n", argv[1]);
    return 2;
  }
  max_in_flight = atoi(argv[3]);
  if (argc == 6) {
    rate = atof(argv[4]);
    duration_s = atof(argv[5]);
  }
  if (getenv("CEILING_TIMEOUT_S"))
    timeout_s = atof(getenv("CEILING_TIMEOUT_S"));
  ca = getenv("CEILING_CA");
  if (getenv("CEILING_BATCH") && atoi(getenv("CEILING_BATCH")) > 0)
    batch = (unsigned long)atoi(getenv("CEILING_BATCH"));
  FILE *f = fopen(argv[2], "r");
  if (!f) {
    perror(argv[2]);
    return 2;
  }
  size_t cap = 1024;
  reqs = calloc(cap, sizeof(*reqs));
  char line[700];
  while (fgets(line, sizeof(line), f)) {
    if (n_reqs == cap)
      reqs = realloc(reqs, (cap *= 2) * sizeof(*reqs));
    memset(&reqs[n_reqs], 0, sizeof(reqs[0]));
    if (sscanf(line, "%511s %127s", reqs[n_reqs].a, reqs[n_reqs].b) == 2)
      n_reqs++;
  }
  fclose(f);
  if (!n_reqs)
    return 2;
  signal(SIGPIPE, SIG_IGN);
  loop = EV_DEFAULT;
  if (mode == 0) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer_fn);
    ev_timer_init(&curl_timer, curl_timer_cb, 0., 0.);
    idle_easies = calloc((size_t)max_in_flight + 1, sizeof(CURL *));
  } else if (mode == 2) {
    ares_library_init(ARES_LIB_INIT_ALL);
  }
  t_start = now_mono();
  if (rate > 0) {
    ev_timer_init(&pace, pace_cb, 0., batch / rate);
    ev_timer_start(loop, &pace);
  }
  start_some();
  ev_run(loop, 0);
  double wall = now_mono() - t_start;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("done=%lu ok=%lu failed=%lu wall_s=%.3f cpu_s=%.3f maxrss_kb=%ld\n",
         done_n, ok_n, fail_n, wall,
         ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
             ru.ru_stime.tv_usec / 1e6,
         ru.ru_maxrss);
  return 0;
}
