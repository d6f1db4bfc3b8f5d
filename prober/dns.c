/* SPDX-License-Identifier: MIT */
/* DNS on the libev loop (see dns.h): a pool of c-ares channels, one per
 * resolver and timeout, each joined to the loop through its socket-state
 * callback and one ev_timer; A+AAAA lookups combined into one answer with
 * rcode, TTL and timing; and a small TTL cache in front of them.
 *
 * Losing no answer: identical lookups in flight (host at one channel) are
 * sent once and answer every query waiting on them; a channel has at most
 * max_in_flight lookups out and queues the rest; its UDP socket's receive
 * buffer is sized for the answers those can bring; and a half (A or AAAA)
 * that got nothing in half the timeout is asked once more within it. */
#include "config.h"

#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ev.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "container.h"
#include "log.h"
#include "probe_config.h"
#include "vt_time.h"

enum {
  DNS_RCODE_NXDOMAIN = 3,
  DNS_CLASS_IN = 1,
  DNS_TYPE_A = 1,
  DNS_TYPE_AAAA = 28,
};

/* One socket of a channel. Entries outlive their sockets: when c-ares closes
 * a socket we only stop the watcher and keep the entry for the next socket.
 * The close is reported from inside ares_process_fd(), often from this very
 * watcher's callback, so freeing it there would free a watcher whose callback
 * is on the stack; and a steady probe should not allocate per query. */
struct dns_sock {
  ev_io io;
  int fd; /* -1 while unused */
  struct dns_chan *chan;
  struct dns_sock *next;
};

/* What the kernel charges a small UDP datagram against the receive buffer
 * (skb overhead included; about 1.3 KB on loopback, rounded up). */
#define DNS_RCVBUF_PER_ANSWER 2048

/* Pacing of one resolver, shared by its channels (one per timeout):
 * lookups sent and not answered, and those waiting to be. */
struct dns_pace {
  char *resolver;
  int in_flight;
  int max_in_flight; /* the pool's, lowered when a socket buffer is small */
  struct dns_lookup *queue, *queue_tail; /* not sent yet, FIFO */
  bool warned_rcvbuf;
  struct dns_pace *next;
};

/* One c-ares channel: one resolver, one timeout, kept for the pool's life so
 * that queries reuse its socket instead of paying for a channel each. */
struct dns_chan {
  struct dns_pool *pool;
  char *resolver;
  int timeout_ms;
  ares_channel ares;
  ev_timer timer; /* fires when ares_timeout() says a query may expire */
  struct dns_sock *socks;
  struct dns_chan *next;
  struct dns_pace *pace;     /* shared by the resolver's channels */
  struct dns_lookup *active; /* queued or in flight, by host */
};

struct dns_pool {
  struct ev_loop *loop;
  int max_in_flight; /* lookups (A+AAAA pairs) per resolver */
  struct dns_pace *paces;
  struct dns_stats stats;
  struct dns_lookup *lookups; /* every lookup not yet freed */
  struct dns_chan *chans;
  struct dns_query *queries;    /* every query not yet freed */
  struct dns_query *delivering; /* whose user callback is running */
  struct dns_result *free_res;  /* results to reuse */
  bool destroying;              /* c-ares callbacks must not touch queries */
};

/* One of the two halves (A or AAAA) of a lookup. */
struct dns_half {
  struct dns_lookup *lk;
  int type;   /* DNS_TYPE_A or DNS_TYPE_AAAA */
  int tries;  /* sent so far */
  int status; /* ARES_*, after parsing; -1 while no reply came */
  int rcode;  /* -1 = no packet */
  int n;
  char addrs[VT_RESULT_MAX_ANSWERS][VT_IP_STRLEN];
  long ttl; /* smallest; -1 when n == 0 */
};

struct dns_cache_entry {
  char *resolver;
  char *host;
  bool valid; /* ans holds a successful answer */
  double expiry_mono;
  struct dns_answer ans;
  struct dns_cache_entry *next;
};

struct dns_cache {
  struct dns_pool *pool;
  struct dns_cache_entry *entries;
};

/* One A+AAAA resolution of host at one channel, shared by every query that
 * asked for it while it was queued or in flight. */
struct dns_lookup {
  struct dns_chan *ch;
  char *host;
  struct dns_lookup *prev, *next; /* in pool->lookups */
  struct dns_lookup *act_next;    /* in ch->active */
  struct dns_lookup *q_next;      /* in ch->pace->queue */
  struct dns_query *waiters;      /* via wait_next */
  bool sent, answered;
  int pending;            /* c-ares callbacks still to come */
  double t0_mono;         /* first send */
  struct dns_result *res; /* from the send on; NULL while queued */
};

/* What a sent lookup learns: its halves and the answer, taken from the
 * pool's free list when the lookup is sent and shared by the queries it
 * answers until each has been delivered. Memory follows the lookups in
 * flight, not the queued ones (a queued lookup or query is a few dozen
 * bytes, where an answer holds VT_RESULT_MAX_ANSWERS addresses). */
struct dns_result {
  int refs; /* the lookup until it is freed, each query holding ans */
  struct dns_half half[2]; /* A, AAAA */
  struct dns_answer ans;
  struct dns_result *next_free;
};

/* The answer of a lookup that could not get memory for its result. */
static const struct dns_answer dns_oom_answer = {
    .error = VT_ERR_INTERNAL,
    .detail = "out of memory",
    .rcode = -1,
    .ttl = -1,
};

struct dns_query {
  struct dns_pool *pool;
  struct dns_query *prev, *next; /* in pool->queries */
  struct dns_lookup *lk;         /* waiting on it; NULL once answered */
  struct dns_query *wait_next;
  /* Exactly one of cb and cache_cb is set until delivery or cancel. */
  dns_answer_fn *cb;
  dns_cache_fn *cache_cb;
  void *arg;
  struct dns_cache *cache;       /* lookups through the cache, else NULL */
  struct dns_cache_entry *entry; /* where to store a successful answer */
  bool from_cache;
  bool answered; /* ans is final (user callback pending, done or dropped) */
  bool orphaned; /* the pool was destroyed from this query's callback */
  const struct dns_answer *ans; /* once answered: in res, or dns_oom_answer */
  struct dns_result *res;       /* held (a reference), or NULL */
  ev_timer defer;               /* delivers ans from the loop */
};

/* ---- channels ------------------------------------------------------------ */

static void dns_chan_arm_timer(struct dns_chan *ch)
{
  struct timeval tv;
  struct timeval *next = ares_timeout(ch->ares, NULL, &tv);
  ev_timer_stop(ch->pool->loop, &ch->timer);
  if (!next)
    return; /* nothing pending */
  ev_timer_set(&ch->timer, (double)next->tv_sec + next->tv_usec / 1e6, 0.);
  ev_timer_start(ch->pool->loop, &ch->timer);
}

static void dns_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
  struct dns_sock *s = container_of(w, struct dns_sock, io);
  struct dns_chan *ch = s->chan;
  int fd = s->fd;
  (void)loop;
  ares_process_fd(ch->ares, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  /* s may have been stopped and reassigned by now; only ch is used. */
  dns_chan_arm_timer(ch);
}

static void dns_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct dns_chan *ch = container_of(w, struct dns_chan, timer);
  (void)loop;
  (void)revents;
  /* With no fds, c-ares only expires queries whose time is up. */
  ares_process_fd(ch->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  dns_chan_arm_timer(ch);
}

static struct dns_sock *dns_sock_find(struct dns_chan *ch, int fd)
{
  for (struct dns_sock *s = ch->socks; s; s = s->next)
    if (s->fd == fd)
      return s;
  return NULL;
}

/* c-ares tells which events it wants on fd; (0, 0) means it closes fd. */
static void dns_on_sock_state(void *data, ares_socket_t fd, int readable,
                              int writable)
{
  struct dns_chan *ch = data;
  struct ev_loop *loop = ch->pool->loop;
  struct dns_sock *s = dns_sock_find(ch, fd);

  if (!readable && !writable) {
    if (s) {
      ev_io_stop(loop, &s->io);
      s->fd = -1;
    }
    return;
  }
  if (!s)
    s = dns_sock_find(ch, -1);
  if (!s) {
    s = malloc(sizeof(*s));
    if (!s) {
      /* Nothing to return to c-ares. The query cannot hear its answer and
       * expires through the channel timer, so the check reports a timeout. */
      vt_err("dns: %s: out of memory watching a socket", ch->resolver);
      return;
    }
    *s = (struct dns_sock){.fd = -1, .chan = ch, .next = ch->socks};
    ev_init(&s->io, dns_on_io);
    ch->socks = s;
  }
  /* The fd number may be a reused one: always stop, set and start again
   * (ev.pod, "The special problem of disappearing file descriptors"). */
  ev_io_stop(loop, &s->io);
  ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
  s->fd = fd;
  ev_io_start(loop, &s->io);
}

/* Turns a resolver spec into the one server a channel talks to. */
static enum vt_status dns_server_parse(const char *spec,
                                       struct ares_addr_port_node *out)
{
  char addr[VT_IP_STRLEN];
  int port;
  if (!probe_resolver_parse(spec, addr, sizeof(addr), &port))
    return VT_EINVAL;
  *out = (struct ares_addr_port_node){.udp_port = port, .tcp_port = port};
  if (inet_pton(AF_INET, addr, &out->addr.addr4) == 1)
    out->family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &out->addr.addr6) == 1)
    out->family = AF_INET6;
  else
    return VT_EINVAL;
  return VT_OK;
}

/* Sizes a new socket's receive buffer for the answers the channel may have
 * out (two per lookup), and lowers the channel's limit to what the kernel
 * granted: an answer that does not fit is dropped and its query times out,
 * which a check would report as the resolver's failure. */
static int dns_on_sock_config(ares_socket_t fd, int type, void *data)
{
  struct dns_chan *ch = data;
  if (type != SOCK_DGRAM)
    return 0;
  struct dns_pace *pc = ch->pace;
  int want = 2 * ch->pool->max_in_flight * DNS_RCVBUF_PER_ANSWER;
  int have = 0;
  socklen_t len = sizeof(have);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len) == 0 && have >= want) {
    return 0;
  }
  /* Linux doubles the value asked for (bookkeeping overhead) and caps it
   * at net.core.rmem_max; SO_RCVBUFFORCE passes the cap with
   * CAP_NET_ADMIN. */
  int ask = want / 2;
#ifdef SO_RCVBUFFORCE
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &ask, sizeof(ask)) != 0)
#endif
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ask, sizeof(ask));
  len = sizeof(have);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len) != 0)
    have = want;
  int fits = have / (2 * DNS_RCVBUF_PER_ANSWER);
  if (fits < 1)
    fits = 1;
  if (fits < pc->max_in_flight)
    pc->max_in_flight = fits;
  if (fits < ch->pool->max_in_flight && !pc->warned_rcvbuf) {
    pc->warned_rcvbuf = true;
    vt_warn("dns: %s: the socket receive buffer holds %d bytes, room for %d "
            "lookups in flight, not probe.dns_max_in_flight = %d (raise "
            "net.core.rmem_max); pacing at %d",
            ch->resolver, have, fits, ch->pool->max_in_flight, fits);
  }
  return 0;
}

static void dns_chan_free(struct dns_chan *ch)
{
  if (!ch)
    return;
  /* ares_destroy() reports ARES_EDESTRUCTION to every query and closes the
   * sockets through dns_on_sock_state, so the watchers stop here too. */
  if (ch->ares)
    ares_destroy(ch->ares);
  ev_timer_stop(ch->pool->loop, &ch->timer);
  while (ch->socks) {
    struct dns_sock *s = ch->socks;
    ch->socks = s->next;
    ev_io_stop(ch->pool->loop, &s->io);
    free(s);
  }
  free(ch->resolver);
  free(ch);
}

static enum vt_status dns_chan_create(struct dns_pool *p, const char *resolver,
                                      int timeout_ms, struct dns_chan **out)
{
  bool is_system = strcmp(resolver, "system") == 0;
  struct ares_addr_port_node server;
  if (!is_system && dns_server_parse(resolver, &server) != VT_OK) {
    vt_err("dns: bad resolver \"%s\"", resolver);
    return VT_EINVAL;
  }

  enum vt_status st = VT_ENOMEM;
  struct dns_chan *ch = malloc(sizeof(*ch));
  if (!ch)
    return VT_ENOMEM;
  *ch = (struct dns_chan){.pool = p, .timeout_ms = timeout_ms};
  ev_init(&ch->timer, dns_on_timer);
  ch->resolver = strdup(resolver);
  if (!ch->resolver)
    goto fail;
  for (ch->pace = p->paces; ch->pace; ch->pace = ch->pace->next)
    if (strcmp(ch->pace->resolver, resolver) == 0)
      break;
  if (!ch->pace) {
    struct dns_pace *pc = calloc(1, sizeof(*pc));
    if (!pc || !(pc->resolver = strdup(resolver))) {
      free(pc);
      goto fail;
    }
    pc->max_in_flight = p->max_in_flight;
    pc->next = p->paces;
    p->paces = pc;
    ch->pace = pc;
  }

  /* "b": DNS only, never /etc/hosts. NOCHECKRESP: hand SERVFAIL and REFUSED
   * back (ARES_ESERVFAIL/EREFUSED with the packet) instead of trying the
   * next server and ending in ECONNREFUSED. One c-ares try of half the
   * timeout: 1.18 doubles the per-try timeout each round, which would blur
   * the deadline the check promises, so the one retry is ours
   * (dns_on_reply), within the same deadline. */
  static char lookups[] = "b";
  int try_ms = timeout_ms / 2;
  struct ares_options o = {
      .flags = ARES_FLAG_NOCHECKRESP,
      .timeout = try_ms > 0 ? try_ms : 1,
      .tries = 1,
      .lookups = lookups,
      .sock_state_cb = dns_on_sock_state,
      .sock_state_cb_data = ch,
  };
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
             ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
#ifdef ARES_OPT_QUERY_CACHE
  /* A check must ask the server every time; c-ares >= 1.31 caches by
   * default, and a max TTL of 0 turns that off. */
  o.qcache_max_ttl = 0;
  mask |= ARES_OPT_QUERY_CACHE;
#endif
  int rc = ares_init_options(&ch->ares, &o, mask);
  if (rc != ARES_SUCCESS) {
    ch->ares = NULL;
    vt_err("dns: %s: cannot start c-ares: %s", resolver, ares_strerror(rc));
    st = rc == ARES_ENOMEM ? VT_ENOMEM : VT_ELIB;
    goto fail;
  }
  ares_set_socket_configure_callback(ch->ares, dns_on_sock_config, ch);
  if (!is_system) {
    server.next = NULL;
    rc = ares_set_servers_ports(ch->ares, &server);
    if (rc != ARES_SUCCESS) {
      vt_err("dns: %s: cannot set the server: %s", resolver, ares_strerror(rc));
      st = rc == ARES_ENOMEM ? VT_ENOMEM : VT_ELIB;
      goto fail;
    }
  }
  ch->next = p->chans;
  p->chans = ch;
  *out = ch;
  return VT_OK;

fail:
  dns_chan_free(ch);
  return st;
}

/* Finds or creates the channel for (resolver, timeout). */
static enum vt_status dns_chan_get(struct dns_pool *p, const char *resolver,
                                   double timeout_s, struct dns_chan **out)
{
  if (!(timeout_s > 0 && timeout_s < 86400))
    return VT_EINVAL;
  int timeout_ms = (int)lround(timeout_s * 1000);
  if (timeout_ms < 1)
    timeout_ms = 1;
  for (struct dns_chan *ch = p->chans; ch; ch = ch->next) {
    if (ch->timeout_ms == timeout_ms && strcmp(ch->resolver, resolver) == 0) {
      *out = ch;
      return VT_OK;
    }
  }
  return dns_chan_create(p, resolver, timeout_ms, out);
}

/* ---- results ------------------------------------------------------------- */

/* A result with one reference, from the free list; NULL when out of
 * memory. */
static struct dns_result *dns_result_get(struct dns_pool *p)
{
  struct dns_result *r = p->free_res;
  if (r)
    p->free_res = r->next_free;
  else if (!(r = malloc(sizeof(*r))))
    return NULL;
  r->refs = 1;
  r->next_free = NULL;
  return r;
}

/* Drops a reference to r (may be NULL); the last one gives it back to the
 * free list of p, or frees it when p is NULL (the pool is gone). */
static void dns_result_put(struct dns_pool *p, struct dns_result *r)
{
  if (!r || --r->refs > 0)
    return;
  if (!p) {
    free(r);
    return;
  }
  r->next_free = p->free_res;
  p->free_res = r;
}

/* ---- pool ---------------------------------------------------------------- */

struct dns_pool *dns_pool_create(struct ev_loop *loop)
{
  int rc = ares_library_init(ARES_LIB_INIT_ALL);
  if (rc != ARES_SUCCESS) {
    vt_err("dns: cannot initialise c-ares: %s", ares_strerror(rc));
    return NULL;
  }
  struct dns_pool *p = malloc(sizeof(*p));
  if (!p) {
    ares_library_cleanup();
    return NULL;
  }
  *p = (struct dns_pool){.loop = loop,
                         .max_in_flight = DNS_DEFAULT_MAX_IN_FLIGHT};
  return p;
}

void dns_pool_destroy(struct dns_pool *p)
{
  if (!p)
    return;
  p->destroying = true;
  while (p->chans) {
    struct dns_chan *ch = p->chans;
    p->chans = ch->next;
    dns_chan_free(ch);
  }
  while (p->paces) {
    struct dns_pace *pc = p->paces;
    p->paces = pc->next;
    free(pc->resolver);
    free(pc);
  }
  while (p->lookups) {
    struct dns_lookup *lk = p->lookups;
    p->lookups = lk->next;
    dns_result_put(p, lk->res);
    free(lk->host);
    free(lk);
  }
  /* c-ares holds no query now; free what is left, delivered or not, except
   * the one whose callback called us: dns_on_defer frees that one. */
  while (p->queries) {
    struct dns_query *q = p->queries;
    p->queries = q->next;
    ev_timer_stop(p->loop, &q->defer);
    if (q == p->delivering) {
      q->orphaned = true; /* keeps its result: dns_on_defer frees both */
    } else {
      dns_result_put(p, q->res);
      free(q);
    }
  }
  while (p->free_res) {
    struct dns_result *r = p->free_res;
    p->free_res = r->next_free;
    free(r);
  }
  free(p);
  ares_library_cleanup();
}

/* ---- queries ------------------------------------------------------------- */

static void dns_query_unlink(struct dns_query *q)
{
  if (q->prev)
    q->prev->next = q->next;
  else
    q->pool->queries = q->next;
  if (q->next)
    q->next->prev = q->prev;
  q->prev = q->next = NULL;
}

/* Frees q once nobody holds it: its answer was delivered or will never be,
 * and it waits on no lookup. */
static void dns_query_release(struct dns_query *q)
{
  if (q->lk || !q->answered || ev_is_active(&q->defer) ||
      q == q->pool->delivering)
    return;
  dns_query_unlink(q);
  dns_result_put(q->pool, q->res);
  free(q);
}

/* Runs the user's callback from the loop. The callback may start queries,
 * cancel this one, or even destroy the pool (which then leaves q to us). */
static void dns_on_defer(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct dns_query *q = container_of(w, struct dns_query, defer);
  struct dns_pool *p = q->pool;
  dns_answer_fn *cb = q->cb;
  dns_cache_fn *cache_cb = q->cache_cb;
  (void)loop;
  (void)revents;
  q->cb = NULL;
  q->cache_cb = NULL;
  p->delivering = q;
  if (cb)
    cb(q->arg, q->ans);
  else if (cache_cb)
    cache_cb(q->arg, q->ans, q->from_cache);
  if (q->orphaned) {
    dns_result_put(NULL, q->res);
    free(q);
    return;
  }
  p->delivering = NULL;
  dns_query_release(q);
}

static struct dns_query *dns_query_new(struct dns_pool *p)
{
  struct dns_query *q = malloc(sizeof(*q));
  if (!q)
    return NULL;
  *q = (struct dns_query){.pool = p, .next = p->queries};
  if (p->queries)
    p->queries->prev = q;
  p->queries = q;
  ev_timer_init(&q->defer, dns_on_defer, 0., 0.);
  return q;
}

static enum vt_err dns_err_from_ares(int status)
{
  switch (status) {
  case ARES_SUCCESS:
    return VT_ERR_NONE;
  case ARES_ENOTFOUND:
    return VT_ERR_NXDOMAIN;
  case ARES_ESERVFAIL:
    return VT_ERR_SERVFAIL;
  case ARES_EREFUSED:
    return VT_ERR_REFUSED;
  case ARES_ETIMEOUT:
    return VT_ERR_DNS_TIMEOUT;
  case ARES_ENODATA:
    return VT_ERR_NO_ANSWER;
  default:
    return VT_ERR_DNS_ERROR;
  }
}

static void dns_half_add_ttl(struct dns_half *h, int ttl)
{
  if (h->ttl < 0 || ttl < h->ttl)
    h->ttl = ttl < 0 ? 0 : ttl;
}

/* Collects the addresses of a NOERROR answer; ARES_ENODATA when it held none
 * of the asked type (a CNAME alone, for example). */
static int dns_half_parse_addrs(struct dns_half *h, const unsigned char *abuf,
                                int alen)
{
  int n = VT_RESULT_MAX_ANSWERS;
  if (h->type == DNS_TYPE_A) {
    struct ares_addrttl ttls[VT_RESULT_MAX_ANSWERS];
    int rc = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
    if (rc != ARES_SUCCESS)
      return rc;
    for (int i = 0; i < n; i++) {
      inet_ntop(AF_INET, &ttls[i].ipaddr, h->addrs[i], VT_IP_STRLEN);
      dns_half_add_ttl(h, ttls[i].ttl);
    }
  } else {
    struct ares_addr6ttl ttls[VT_RESULT_MAX_ANSWERS];
    int rc = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);
    if (rc != ARES_SUCCESS)
      return rc;
    for (int i = 0; i < n; i++) {
      inet_ntop(AF_INET6, &ttls[i].ip6addr, h->addrs[i], VT_IP_STRLEN);
      dns_half_add_ttl(h, ttls[i].ttl);
    }
  }
  h->n = n;
  return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* Merges the two halves into lk->ans (see dns.h for the rules). */
static void dns_lookup_combine(struct dns_lookup *q)
{
  struct dns_answer *a = &q->res->ans;
  *a = (struct dns_answer){.rcode = -1, .ttl = -1};
  a->ms = (vt_time_mono() - q->t0_mono) * 1000.;
  for (int k = 0; k < 2; k++) {
    const struct dns_half *h = &q->res->half[k];
    for (int i = 0; i < h->n && a->n < VT_RESULT_MAX_ANSWERS; i++)
      memcpy(a->addrs[a->n++], h->addrs[i], VT_IP_STRLEN);
    if (h->n > 0 && (a->ttl < 0 || h->ttl < a->ttl))
      a->ttl = h->ttl;
  }
  /* Which half speaks for the name. NXDOMAIN is about the name, so either
   * half's says it all. Otherwise a half without a definitive answer (no
   * packet: a timeout, an unreachable server, or still out) wins over a
   * NODATA of the other half, which only says "none of that type": an A
   * timeout plus an AAAA NODATA is a timeout, not an empty answer. Then A
   * before AAAA. */
  const struct dns_half *h = &q->res->half[0], *o = &q->res->half[1];
  if (o->rcode == DNS_RCODE_NXDOMAIN && h->rcode != DNS_RCODE_NXDOMAIN)
    h = o;
  else if (h->rcode != DNS_RCODE_NXDOMAIN && h->rcode >= 0 &&
           h->status == ARES_ENODATA && o->rcode < 0)
    h = o;
  else if (h->status < 0 && o->status >= 0)
    h = o;
  a->rcode = h->rcode >= 0 ? h->rcode : o->rcode;
  if (a->n > 0) {
    /* One family answered; the other failed without a definitive answer,
     * so its addresses are unknown, not gone. */
    for (int k = 0; k < 2; k++) {
      const struct dns_half *f = &q->res->half[k];
      if (f->n == 0 && (f->rcode < 0 || f->status < 0)) {
        a->incomplete = true;
        snprintf(a->detail, sizeof(a->detail), "%s lookup: %s",
                 f->type == DNS_TYPE_A ? "A" : "AAAA",
                 f->status < 0 ? "no reply" : ares_strerror(f->status));
      }
    }
    return;
  }
  a->rcode = h->rcode;
  a->error = dns_err_from_ares(h->status < 0 ? ARES_ETIMEOUT : h->status);
  snprintf(a->detail, sizeof(a->detail), "%s",
           ares_strerror(h->status < 0 ? ARES_ETIMEOUT : h->status));
}

static void dns_cache_store(struct dns_query *q)
{
  struct dns_cache_entry *e = q->entry;
  if (!e || q->ans->error != VT_ERR_NONE)
    return;
  e->ans = *q->ans;
  e->expiry_mono = vt_time_mono() + (double)q->ans->ttl;
  e->valid = true;
}

/* ---- lookups ------------------------------------------------------------- */

static void dns_lookup_free(struct dns_lookup *lk)
{
  struct dns_pool *p = lk->ch->pool;
  if (lk->prev)
    lk->prev->next = lk->next;
  else
    p->lookups = lk->next;
  if (lk->next)
    lk->next->prev = lk->prev;
  dns_result_put(p, lk->res);
  free(lk->host);
  free(lk);
}

/* Frees lk once c-ares owes it nothing and nobody waits on it. */
static void dns_lookup_release(struct dns_lookup *lk)
{
  if (lk->pending > 0 || lk->waiters || (lk->sent && !lk->answered))
    return;
  dns_lookup_free(lk);
}

/* Takes lk out of its channel's active list (new queries for its host then
 * start a new lookup). */
static void dns_lookup_deactivate(struct dns_lookup *lk)
{
  struct dns_lookup **pp = &lk->ch->active;
  while (*pp && *pp != lk)
    pp = &(*pp)->act_next;
  if (*pp)
    *pp = lk->act_next;
  lk->act_next = NULL;
}

static void dns_on_reply(void *arg, int status, int timeouts,
                         unsigned char *abuf, int alen);
static void dns_lookup_answer(struct dns_lookup *lk);

static void dns_half_send(struct dns_half *h)
{
  struct dns_lookup *lk = h->lk;
  h->tries++;
  lk->pending++;
  ares_query(lk->ch->ares, lk->host, DNS_CLASS_IN, h->type, dns_on_reply, h);
}

static void dns_lookup_send(struct dns_lookup *lk)
{
  struct dns_chan *ch = lk->ch;
  lk->res = dns_result_get(ch->pool);
  lk->sent = true;
  ch->pace->in_flight++;
  if (!lk->res) {
    dns_lookup_answer(lk); /* out of memory: an internal error, at once */
    return;
  }
  for (int k = 0; k < 2; k++) {
    lk->res->half[k] = (struct dns_half){
        .lk = lk,
        .type = k == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA,
        .status = -1,
        .rcode = -1,
        .ttl = -1,
    };
  }
  ch->pool->stats.lookups_sent++;
  lk->t0_mono = vt_time_mono();
  /* Both counted before either is sent, plus one for this function: c-ares
   * may call back from inside ares_query() (a socket that cannot be
   * opened, say), and must not free lk under us. */
  lk->pending = 3;
  for (int k = 0; k < 2; k++) {
    lk->res->half[k].tries = 1;
    ares_query(ch->ares, lk->host, DNS_CLASS_IN, lk->res->half[k].type,
               dns_on_reply, &lk->res->half[k]);
  }
  if (--lk->pending == 0 && !lk->answered)
    dns_lookup_answer(lk);
}

/* Sends queued lookups while the resolver has room. */
static void dns_pace_pump(struct dns_pool *p, struct dns_pace *pc)
{
  while (pc->queue && pc->in_flight < pc->max_in_flight) {
    struct dns_lookup *lk = pc->queue;
    pc->queue = lk->q_next;
    if (!pc->queue)
      pc->queue_tail = NULL;
    lk->q_next = NULL;
    p->stats.queued--;
    dns_lookup_send(lk);
    dns_chan_arm_timer(lk->ch);
    dns_lookup_release(lk); /* answered at once: nobody else holds it */
  }
}

/* The lookup has its answer: every waiter gets it (through the loop). */
static void dns_lookup_answer(struct dns_lookup *lk)
{
  struct dns_chan *ch = lk->ch;
  if (lk->res)
    dns_lookup_combine(lk);
  lk->answered = true;
  ch->pace->in_flight--;
  dns_lookup_deactivate(lk);
  while (lk->waiters) {
    struct dns_query *q = lk->waiters;
    lk->waiters = q->wait_next;
    q->wait_next = NULL;
    q->lk = NULL;
    q->ans = lk->res ? &lk->res->ans : &dns_oom_answer;
    q->res = lk->res;
    if (q->res)
      q->res->refs++;
    q->answered = true;
    dns_cache_store(q);
    if (q->cb || q->cache_cb)
      ev_timer_start(ch->pool->loop, &q->defer);
    else
      dns_query_release(q);
  }
}

/* c-ares' callback for one half. No user code runs from here: delivery goes
 * through q->defer, so callbacks never nest inside ares_process_fd() and may
 * start queries or destroy the pool freely. */
static void dns_on_reply(void *arg, int status, int timeouts,
                         unsigned char *abuf, int alen)
{
  struct dns_half *h = arg;
  struct dns_lookup *lk = h->lk;
  struct dns_chan *ch = lk->ch;
  (void)timeouts;
  lk->pending--;
  if (ch->pool->destroying)
    return; /* dns_pool_destroy frees lk */

  if (!lk->answered) {
    /* Nothing came back in half the timeout (a datagram lost on the way,
     * either way): ask once more, which still ends within the timeout. */
    if (status == ARES_ETIMEOUT && h->tries < 2) {
      ch->pool->stats.retries++;
      dns_half_send(h);
      return;
    }
    h->rcode = abuf && alen >= 4 ? abuf[3] & 0x0F : -1;
    h->status =
        status == ARES_SUCCESS ? dns_half_parse_addrs(h, abuf, alen) : status;
    /* ECONNREFUSED means nothing listens at the resolver. The other half
     * usually cannot tell: the ICMP error that one send() consumed is gone,
     * and that query would sit out the whole timeout. Answer now. */
    if (lk->pending == 0 || status == ARES_ECONNREFUSED) {
      dns_lookup_answer(lk);
      dns_pace_pump(ch->pool, ch->pace);
    }
  }
  /* c-ares is done with this half once this returns. */
  dns_lookup_release(lk);
}

static enum vt_status dns_query_start(struct dns_pool *p, const char *resolver,
                                      double timeout_s, const char *host,
                                      struct dns_query *q)
{
  struct dns_chan *ch = NULL;
  enum vt_status st = dns_chan_get(p, resolver, timeout_s, &ch);
  if (st != VT_OK)
    return st;
  struct dns_lookup *lk = ch->active;
  while (lk && strcasecmp(lk->host, host) != 0)
    lk = lk->act_next;
  if (lk) {
    p->stats.coalesced++;
  } else {
    lk = calloc(1, sizeof(*lk));
    if (!lk || !(lk->host = strdup(host))) {
      free(lk);
      return VT_ENOMEM;
    }
    lk->ch = ch;
    lk->next = p->lookups;
    if (p->lookups)
      p->lookups->prev = lk;
    p->lookups = lk;
    lk->act_next = ch->active;
    ch->active = lk;
  }
  /* Waiting before anything is sent: c-ares may answer from inside
   * ares_query() (a send that fails at once, say). */
  q->lk = lk;
  q->wait_next = lk->waiters;
  lk->waiters = q;
  if (lk->sent)
    return VT_OK;
  struct dns_pace *pc = ch->pace;
  if (lk->q_next || pc->queue_tail == lk)
    return VT_OK; /* already queued */
  if (pc->in_flight < pc->max_in_flight) {
    dns_lookup_send(lk);
    dns_chan_arm_timer(ch);
    dns_lookup_release(lk);
  } else {
    if (pc->queue_tail)
      pc->queue_tail->q_next = lk;
    else
      pc->queue = lk;
    pc->queue_tail = lk;
    p->stats.queued++;
  }
  return VT_OK;
}

enum vt_status dns_resolve(struct dns_pool *p, const char *resolver,
                           double timeout_s, const char *host,
                           dns_answer_fn *cb, void *arg, struct dns_query **out)
{
  if (out)
    *out = NULL;
  if (!p || !resolver || !host || !cb)
    return VT_EINVAL;
  struct dns_query *q = dns_query_new(p);
  if (!q)
    return VT_ENOMEM;
  q->cb = cb;
  q->arg = arg;
  enum vt_status st = dns_query_start(p, resolver, timeout_s, host, q);
  if (st != VT_OK) {
    dns_query_unlink(q);
    free(q);
    return st;
  }
  if (out)
    *out = q;
  return VT_OK;
}

/* Stops q waiting on its lookup; a queued lookup nobody waits for any more
 * is dropped before it is sent. */
static void dns_query_detach(struct dns_query *q)
{
  struct dns_lookup *lk = q->lk;
  if (!lk)
    return;
  struct dns_query **pp = &lk->waiters;
  while (*pp && *pp != q)
    pp = &(*pp)->wait_next;
  if (*pp)
    *pp = q->wait_next;
  q->wait_next = NULL;
  q->lk = NULL;
  if (lk->waiters || lk->sent)
    return; /* a sent one still answers (nobody), then goes */
  struct dns_pace *pc = lk->ch->pace;
  struct dns_lookup **qp = &pc->queue, *prev = NULL;
  while (*qp && *qp != lk) {
    prev = *qp;
    qp = &(*qp)->q_next;
  }
  if (*qp) {
    *qp = lk->q_next;
    if (pc->queue_tail == lk)
      pc->queue_tail = prev;
    lk->ch->pool->stats.queued--;
  }
  dns_lookup_deactivate(lk);
  dns_lookup_free(lk);
}

void dns_query_cancel(struct dns_query *q)
{
  if (!q)
    return;
  q->cb = NULL;
  q->cache_cb = NULL;
  dns_query_detach(q);
  /* Answered and waiting for the loop: drop the delivery. */
  ev_timer_stop(q->pool->loop, &q->defer);
  if (!q->answered)
    q->answered = true; /* nothing will come for it now */
  dns_query_release(q);
}

void dns_pool_set_max_in_flight(struct dns_pool *p, int n)
{
  if (!p || n < 1)
    return;
  p->max_in_flight = n;
  for (struct dns_pace *pc = p->paces; pc; pc = pc->next) {
    pc->max_in_flight = n;
    dns_pace_pump(p, pc);
  }
}

void dns_pool_get_stats(const struct dns_pool *p, struct dns_stats *out)
{
  *out = p->stats;
  out->in_flight = 0;
  for (const struct dns_pace *pc = p->paces; pc; pc = pc->next)
    out->in_flight += pc->in_flight;
}

/* ---- cache --------------------------------------------------------------- */

struct dns_cache *dns_cache_create(struct dns_pool *pool)
{
  struct dns_cache *c = malloc(sizeof(*c));
  if (!c)
    return NULL;
  *c = (struct dns_cache){.pool = pool};
  return c;
}

void dns_cache_destroy(struct dns_cache *c)
{
  if (!c)
    return;
  /* Lookups still running keep their callbacks but stop storing here. */
  for (struct dns_query *q = c->pool->queries; q; q = q->next) {
    if (q->cache == c) {
      q->cache = NULL;
      q->entry = NULL;
    }
  }
  while (c->entries) {
    struct dns_cache_entry *e = c->entries;
    c->entries = e->next;
    free(e->resolver);
    free(e->host);
    free(e);
  }
  free(c);
}

static struct dns_cache_entry *
dns_cache_entry_get(struct dns_cache *c, const char *resolver, const char *host)
{
  for (struct dns_cache_entry *e = c->entries; e; e = e->next)
    if (strcmp(e->host, host) == 0 && strcmp(e->resolver, resolver) == 0)
      return e;
  struct dns_cache_entry *e = calloc(1, sizeof(*e));
  if (!e)
    return NULL;
  e->resolver = strdup(resolver);
  e->host = strdup(host);
  if (!e->resolver || !e->host) {
    free(e->resolver);
    free(e->host);
    free(e);
    return NULL;
  }
  e->next = c->entries;
  c->entries = e;
  return e;
}

enum vt_status dns_cache_lookup(struct dns_cache *c, const char *resolver,
                                double timeout_s, const char *host,
                                dns_cache_fn *cb, void *arg,
                                struct dns_query **out)
{
  if (out)
    *out = NULL;
  if (!c || !resolver || !host || !cb)
    return VT_EINVAL;
  struct dns_cache_entry *e = dns_cache_entry_get(c, resolver, host);
  if (!e)
    return VT_ENOMEM;
  struct dns_query *q = dns_query_new(c->pool);
  if (!q)
    return VT_ENOMEM;
  q->cache_cb = cb;
  q->arg = arg;

  double left_s = e->expiry_mono - vt_time_mono();
  if (e->valid && left_s > 0) {
    /* A hit still goes through the loop, as dns.h promises. The TTL handed
     * out counts down like a stub resolver's would. */
    struct dns_result *r = dns_result_get(c->pool);
    if (!r) {
      dns_query_unlink(q);
      free(q);
      return VT_ENOMEM;
    }
    r->ans = e->ans;
    r->ans.ms = 0;
    r->ans.ttl = (long)ceil(left_s);
    q->res = r;
    q->ans = &r->ans;
    q->from_cache = true;
    q->answered = true;
    ev_timer_start(c->pool->loop, &q->defer);
  } else {
    q->cache = c;
    q->entry = e;
    enum vt_status st = dns_query_start(c->pool, resolver, timeout_s, host, q);
    if (st != VT_OK) {
      dns_query_unlink(q);
      free(q);
      return st;
    }
  }
  if (out)
    *out = q;
  return VT_OK;
}
