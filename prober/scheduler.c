/* SPDX-License-Identifier: MIT */
/* The probe's scheduler (see scheduler.h).
 *
 * Objects: one sched_target per target, holding its address set and one
 * sched_check per check; each sched_check has an ev_periodic for its rounds
 * and a list of slots, one per key (address for tcp/http, resolver for dns,
 * "" for client). A slot owns the module state and the result buffer, both
 * reused run after run. The target's resolution is a sched_check too: its
 * dns check, or a hidden one whose results only feed the address set. */
#include "config.h"

#include "scheduler.h"

#include <curl/curl.h>
#include <ev.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "addrset.h"
#include "check.h"
#include "container.h"
#include "log.h"
#include "probe_config.h"
#include "vt_time.h"

/* A run that outlives its own timeout by this much is cancelled: a module
 * bug must not wedge a slot forever. */
#define BACKSTOP_GRACE_S 2.0

struct sched_check;
struct budget_addr;

struct sched_slot {
  struct sched_check *chk;
  char key[64];
  void *state;
  bool running;
  bool retire; /* the address expired: free once idle */
  bool state_known, last_ok;
  uint64_t round;    /* the check's round this slot last ran in */
  double down_since; /* ts of the first failed run of a failure streak */
  /* The result of the run going now, from the budget's pool: memory
   * follows the runs in flight, not the number of slots. */
  struct vt_result *res;
  ev_timer backstop;
  struct sched_slot *next;
  /* Waiting for the budget: in the heap (heap_idx) or, when its address
   * is at its limit, in that address's list (blocked). */
  bool queued, blocked;
  bool holds_budget; /* counted in the budget while running */
  double q_ts;       /* round time of the queued run */
  double q_deadline; /* latest start: after it the run is skipped */
  size_t heap_idx;
  struct budget_addr *addr; /* held (running) or waited for (blocked) */
  struct sched_slot *blk_prev, *blk_next;
};

/* One address's share of the budget. Exists while a run holds it or
 * waits for it. */
struct budget_addr {
  char ip[VT_IP_STRLEN];
  int in_flight;
  struct sched_slot *blk_head, *blk_tail;
  struct budget_addr *next; /* hash chain, or the free list */
  bool in_tab;              /* in the hash table (false: on the free list) */
};

/* A result buffer of the pool. */
struct budget_res {
  struct vt_result r;
  struct budget_res *next;
};

struct sched_budget {
  struct ev_loop *loop;
  int max_in_flight, max_per_address;
  int in_flight;
  struct sched_slot **heap; /* min-heap on q_deadline */
  size_t heap_n, heap_cap;
  struct budget_addr **tab; /* open hash of addresses, power of two */
  size_t tab_cap, tab_n;
  struct budget_res *free_res;
  struct budget_addr *free_addrs; /* recycled entries (hash chain link) */
  bool pumping;
};

struct sched_target;

struct sched_check {
  struct sched_target *t;
  const struct probe_check_conf *conf;
  const struct check_type *type; /* from the table: ops and fan-out */
  bool is_resolve;
  bool reportable;
  char host[256]; /* results' host and port: the type's endpoint */
  int port;
  ev_periodic timer;
  struct sched_slot *slots;
  uint64_t round; /* rounds so far; slots run in this one carry it */
};

/* The latest definitive answer of one resolver of the resolution. */
struct resolver_answer {
  bool valid;
  double expiry; /* ev_now() until which its TTL holds (hidden resolution) */
  int n, cap;
  char (*ips)[VT_IP_STRLEN]; /* cap entries, sized to what it holds */
};

/* Makes room for want addresses in ra; false when out of memory. */
static bool resolver_answer_reserve(struct resolver_answer *ra, int want)
{
  if (want <= ra->cap)
    return true;
  char(*ips)[VT_IP_STRLEN] = realloc(ra->ips, (size_t)want * sizeof(*ips));
  if (!ips)
    return false;
  ra->ips = ips;
  ra->cap = want;
  return true;
}

struct sched_target {
  struct sched *s;
  const struct probe_target_conf *conf;
  struct addrset addrs;
  bool attempted;     /* a resolution finished (checks may fan out) */
  bool resolved_once; /* a resolver gave a definitive answer */
  char last_dns_error[32];
  struct resolver_answer *answers; /* one per resolver of resolve.conf */
  struct sched_check resolve;
  struct sched_check *checks; /* tcp, http, client checks */
  size_t n_checks;
  ev_timer kick; /* first resolution at start */
};

enum sched_phase {
  SCHED_IDLE,
  SCHED_ONCE_RESOLVE,
  SCHED_ONCE_CHECKS,
  SCHED_RUNNING,
  SCHED_STOPPING,
};

struct sched {
  struct probe_ctx *ctx;
  struct ev_loop *loop;
  const struct probe_conf *conf;
  sched_emit_fn *emit;
  void *emit_arg;
  struct sched_target *targets;
  size_t n_targets;
  enum sched_phase phase;
  sched_idle_fn *idle;
  void *idle_arg;
  ev_timer idle_timer; /* calls idle from the loop */
  ev_idle reaper;      /* frees retired slots outside their callbacks */
  struct sched_slot *graveyard;
  bool destroying;
  const struct sched *prev; /* replaced by this one, maybe still draining */
  struct sched_stats stats;
  struct sched_budget *budget;
  bool own_budget;        /* made by sched_create (ctx had none) */
  bool no_late;           /* runs starting now are stamped with a past
                             round (the start-up resolution): not late */
  double skip_log_at;     /* when a skip was last logged */
  uint64_t skip_unlogged; /* skips since then, not logged one by one */
};

static const char *sched_phase_name(enum sched_phase p)
{
  switch (p) {
  case SCHED_IDLE:
    return "idle";
  case SCHED_ONCE_RESOLVE:
    return "once-resolve";
  case SCHED_ONCE_CHECKS:
    return "once-checks";
  case SCHED_RUNNING:
    return "running";
  case SCHED_STOPPING:
    return "stopping";
  }
  return "?";
}

static void sched_set_phase(struct sched *s, enum sched_phase p)
{
  vt_debug("sched: %s -> %s", sched_phase_name(s->phase), sched_phase_name(p));
  s->phase = p;
}

/* Copies the string src into dst (size bytes), cut to fit like snprintf's
 * "%s", without its format parsing: a result's identity is copied on every
 * run. */
static void copy_str(char *dst, size_t size, const char *src)
{
  size_t n = strnlen(src, size - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* FNV-1a: a phase that is stable across restarts and probes, so rounds of
 * one check line up at every vantage point. */
static double phase_fraction(const char *a, const char *b)
{
  uint32_t h = 2166136261u;
  for (const char *p = a; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  h = (h ^ '/') * 16777619u;
  for (const char *p = b; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return (double)(h % 10000u) / 10000.0;
}

/* ---- the budget ---------------------------------------------------------*/

int sched_default_max_in_flight(unsigned long long nofile)
{
  /* A check holds one socket (an HTTPS one briefly two while libcurl
   * replaces it); keep room for the spool, the uploads, DNS and the
   * collector's connections. */
  long long n = ((long long)nofile - 64) / 2;
  if (n < 16)
    n = 16;
  if (n > 4096)
    n = 4096;
  return (int)n;
}

struct sched_budget *sched_budget_create(struct ev_loop *loop,
                                         const struct probe_conf *conf)
{
  struct sched_budget *b = calloc(1, sizeof(*b));
  if (!b)
    return NULL;
  *b = (struct sched_budget){.loop = loop};
  sched_budget_set_limits(b, conf);
  return b;
}

void sched_budget_set_limits(struct sched_budget *b,
                             const struct probe_conf *conf)
{
  int max = conf->max_in_flight;
  if (max <= 0) {
    struct rlimit rl;
    unsigned long long nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      nofile = (unsigned long long)rl.rlim_cur;
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
      nofile = 1ull << 20;
    max = sched_default_max_in_flight(nofile);
  }
  if (b->max_in_flight &&
      (b->max_in_flight != max || b->max_per_address != conf->max_per_address))
    vt_info("sched: budget: %d checks in flight, %d per address", max,
            conf->max_per_address > 0 ? conf->max_per_address : 1);
  b->max_in_flight = max;
  b->max_per_address = conf->max_per_address > 0 ? conf->max_per_address : 1;
}

void sched_budget_destroy(struct sched_budget *b)
{
  if (!b)
    return;
  while (b->free_res) {
    struct budget_res *r = b->free_res;
    b->free_res = r->next;
    free(r);
  }
  for (size_t i = 0; i < b->tab_cap; i++) {
    while (b->tab[i]) {
      struct budget_addr *a = b->tab[i];
      b->tab[i] = a->next;
      free(a);
    }
  }
  while (b->free_addrs) {
    struct budget_addr *a = b->free_addrs;
    b->free_addrs = a->next;
    free(a);
  }
  free(b->tab);
  free(b->heap);
  free(b);
}

static struct vt_result *budget_res_get(struct sched_budget *b)
{
  struct budget_res *r = b->free_res;
  if (r) {
    b->free_res = r->next;
    return &r->r;
  }
  r = malloc(sizeof(*r));
  return r ? &r->r : NULL;
}

static void budget_res_put(struct sched_budget *b, struct vt_result *res)
{
  if (!res)
    return;
  /* Its answers were borrowed for the run (lib/result.h) and are gone. */
  res->answers = NULL;
  res->n_answers = 0;
  struct budget_res *r = container_of(res, struct budget_res, r);
  r->next = b->free_res;
  b->free_res = r;
}

static size_t budget_hash(const char *ip)
{
  uint32_t h = 2166136261u;
  for (const char *p = ip; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

/* The entry for ip, made when create; NULL when absent or out of memory. */
static struct budget_addr *budget_addr_get(struct sched_budget *b,
                                           const char *ip, bool create)
{
  if (b->tab_cap) {
    for (struct budget_addr *a = b->tab[budget_hash(ip) & (b->tab_cap - 1)]; a;
         a = a->next)
      if (strcmp(a->ip, ip) == 0)
        return a;
  }
  if (!create)
    return NULL;
  if (b->tab_n >= b->tab_cap) {
    size_t cap = b->tab_cap ? b->tab_cap * 2 : 256;
    struct budget_addr **tab = calloc(cap, sizeof(*tab));
    if (!tab)
      return NULL;
    for (size_t i = 0; i < b->tab_cap; i++) {
      while (b->tab[i]) {
        struct budget_addr *a = b->tab[i];
        b->tab[i] = a->next;
        size_t k = budget_hash(a->ip) & (cap - 1);
        a->next = tab[k];
        tab[k] = a;
      }
    }
    free(b->tab);
    b->tab = tab;
    b->tab_cap = cap;
  }
  struct budget_addr *a = b->free_addrs;
  if (a)
    b->free_addrs = a->next;
  else if (!(a = malloc(sizeof(*a))))
    return NULL;
  *a = (struct budget_addr){0};
  copy_str(a->ip, sizeof(a->ip), ip);
  size_t k = budget_hash(ip) & (b->tab_cap - 1);
  a->next = b->tab[k];
  b->tab[k] = a;
  a->in_tab = true;
  b->tab_n++;
  return a;
}

/* Frees a once nothing holds or waits for it. */
static void budget_addr_maybe_free(struct sched_budget *b,
                                   struct budget_addr *a)
{
  /* Already freed: slot_release hands its entry to the waiters it starts,
   * and a start that fails frees the entry before slot_release does. */
  if (!a->in_tab || a->in_flight > 0 || a->blk_head)
    return;
  struct budget_addr **pp = &b->tab[budget_hash(a->ip) & (b->tab_cap - 1)];
  while (*pp != a)
    pp = &(*pp)->next;
  *pp = a->next;
  a->in_tab = false;
  b->tab_n--;
  /* Kept for the next address (an entry lives for one run, typically):
   * at most as many as were ever held or waited for at once. */
  a->next = b->free_addrs;
  b->free_addrs = a;
}

static void heap_swap(struct sched_budget *b, size_t i, size_t j)
{
  struct sched_slot *t = b->heap[i];
  b->heap[i] = b->heap[j];
  b->heap[j] = t;
  b->heap[i]->heap_idx = i;
  b->heap[j]->heap_idx = j;
}

static void heap_up(struct sched_budget *b, size_t i)
{
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (b->heap[p]->q_deadline <= b->heap[i]->q_deadline)
      break;
    heap_swap(b, i, p);
    i = p;
  }
}

static void heap_down(struct sched_budget *b, size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < b->heap_n && b->heap[l]->q_deadline < b->heap[m]->q_deadline)
      m = l;
    if (r < b->heap_n && b->heap[r]->q_deadline < b->heap[m]->q_deadline)
      m = r;
    if (m == i)
      return;
    heap_swap(b, i, m);
    i = m;
  }
}

static bool heap_push(struct sched_budget *b, struct sched_slot *sl)
{
  if (b->heap_n == b->heap_cap) {
    size_t cap = b->heap_cap ? b->heap_cap * 2 : 256;
    struct sched_slot **h = realloc(b->heap, cap * sizeof(*h));
    if (!h)
      return false;
    b->heap = h;
    b->heap_cap = cap;
  }
  sl->heap_idx = b->heap_n;
  b->heap[b->heap_n++] = sl;
  heap_up(b, sl->heap_idx);
  return true;
}

static void heap_remove(struct sched_budget *b, struct sched_slot *sl)
{
  size_t i = sl->heap_idx;
  b->heap_n--;
  if (i != b->heap_n) {
    b->heap[i] = b->heap[b->heap_n];
    b->heap[i]->heap_idx = i;
    heap_down(b, i);
    heap_up(b, i);
  }
}

static void blk_append(struct budget_addr *a, struct sched_slot *sl)
{
  sl->blk_next = NULL;
  sl->blk_prev = a->blk_tail;
  if (a->blk_tail)
    a->blk_tail->blk_next = sl;
  else
    a->blk_head = sl;
  a->blk_tail = sl;
  sl->addr = a;
  sl->blocked = true;
}

static void blk_remove(struct sched_slot *sl)
{
  struct budget_addr *a = sl->addr;
  if (sl->blk_prev)
    sl->blk_prev->blk_next = sl->blk_next;
  else
    a->blk_head = sl->blk_next;
  if (sl->blk_next)
    sl->blk_next->blk_prev = sl->blk_prev;
  else
    a->blk_tail = sl->blk_prev;
  sl->blk_prev = sl->blk_next = NULL;
  sl->blocked = false;
  sl->addr = NULL;
}

double sched_late_bucket_upper_s(int i)
{
  if (i >= SCHED_LATE_BUCKETS - 1)
    return INFINITY;
  return 1e-4 * exp2(i / 4.0);
}

/* The first bucket whose bound late_s does not exceed: a binary search of
 * the bounds, computed once (a log2 per run cost more). */
static int late_bucket(double late_s)
{
  static double upper[SCHED_LATE_BUCKETS - 1];
  static bool ready;
  if (late_s <= 1e-4)
    return 0;
  if (!ready) {
    for (int i = 0; i < SCHED_LATE_BUCKETS - 1; i++)
      upper[i] = sched_late_bucket_upper_s(i);
    ready = true;
  }
  int lo = 0, hi = SCHED_LATE_BUCKETS - 1; /* the last bucket is open */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (late_s <= upper[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

double sched_late_quantile_s(const struct sched_stats *st, double q)
{
  if (st->late_n == 0)
    return 0;
  uint64_t want = (uint64_t)ceil(q * (double)st->late_n), seen = 0;
  if (want < 1)
    want = 1;
  for (int i = 0; i < SCHED_LATE_BUCKETS; i++) {
    seen += st->late_hist[i];
    if (seen >= want) {
      double up = sched_late_bucket_upper_s(i);
      return up < st->late_max_s ? up : st->late_max_s;
    }
  }
  return st->late_max_s;
}

static void sched_record_late(struct sched *s, double late)
{
  if (late < 0)
    late = 0;
  s->stats.late_n++;
  s->stats.late_sum_s += late;
  if (late > s->stats.late_max_s)
    s->stats.late_max_s = late;
  s->stats.late_hist[late_bucket(late)]++;
}

/* ---- slots --------------------------------------------------------------*/

static void slot_dequeue(struct sched_slot *sl);

static void slot_free(struct sched_slot *sl)
{
  if (!sl)
    return;
  slot_dequeue(sl);
  check_destroy(sl->chk->type, sl->state);
  free(sl);
}

static void slot_backstop_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct sched_slot *slot_get(struct sched_check *chk, const char *key)
{
  for (struct sched_slot *sl = chk->slots; sl; sl = sl->next)
    if (strcmp(sl->key, key) == 0)
      return sl;
  struct sched_slot *sl = calloc(1, sizeof(*sl));
  if (!sl)
    return NULL;
  sl->chk = chk;
  snprintf(sl->key, sizeof(sl->key), "%s", key);
  ev_timer_init(&sl->backstop, slot_backstop_cb, 0., 0.);
  sl->state = chk->type->create(chk->t->s->ctx, chk->t->conf, chk->conf, key);
  if (!sl->state) {
    free(sl);
    return NULL;
  }
  sl->next = chk->slots;
  chk->slots = sl;
  return sl;
}

/* Identity fields of a result, as the scheduler knows them. */
static void slot_fill_identity(struct sched_slot *sl, struct vt_result *r,
                               double ts)
{
  struct sched_check *chk = sl->chk;
  vt_result_init(r);
  r->ts = ts;
  copy_str(r->probe, sizeof(r->probe), chk->t->s->conf->name);
  copy_str(r->target, sizeof(r->target), chk->t->conf->name);
  r->check = chk->conf->type;
  copy_str(r->name, sizeof(r->name), chk->conf->name);
  copy_str(r->host, sizeof(r->host), chk->host);
  if (chk->type->fanout == CHECK_FANOUT_ADDRESSES)
    copy_str(r->ip, sizeof(r->ip), sl->key);
  r->port = chk->port;
}

static void sched_emit(struct sched *s, const struct vt_result *r)
{
  s->stats.results++;
  s->emit(r, s->emit_arg);
}

/* Tells the collector that sl's address left its check's set (docs/wire.md,
 * "Retirement"), through s (the scheduler that goes on). */
static void sched_emit_retired(struct sched *s, struct sched_slot *sl)
{
  struct sched_check *chk = sl->chk;
  if (chk->type->fanout != CHECK_FANOUT_ADDRESSES)
    return;
  struct vt_result r;
  slot_fill_identity(sl, &r, ev_now(s->loop));
  r.ok = true;
  r.retired = true;
  s->emit(&r, s->emit_arg);
}

static void sched_maybe_idle(struct sched *s);
static void target_update_answers(struct sched_target *t, int resolver,
                                  const struct vt_result *r);
static void once_start_checks(struct sched *s);

/* Logs up/down transitions once, with what failed and for how long it was
 * down when it recovers. */
static void slot_log_state(struct sched_slot *sl, const struct vt_result *r)
{
  bool failing = !r->ok && (!sl->state_known || sl->last_ok);
  bool recovered = r->ok && sl->state_known && !sl->last_ok;
  if (failing || recovered || vt_log_threshold >= VT_LOG_DEBUG) {
    char line[640], dur[32];
    check_result_line(r, line, sizeof(line));
    if (failing)
      vt_warn("failing: %s", line);
    else if (recovered)
      vt_notice("recovered after %s: %s",
                vt_time_fmt_duration(r->ts - sl->down_since, dur, sizeof(dur)),
                line);
    else
      vt_debug("%s", line);
  }
  if (failing)
    sl->down_since = r->ts;
  sl->state_known = true;
  sl->last_ok = r->ok;
}

static void budget_pump(struct sched_budget *b);
static void slot_start(struct sched_slot *sl, double ts);
static void slot_start_at(struct sched_slot *sl, double ts,
                          struct budget_addr *a);

/* Runs that hold a connection take the budget (check.h, the fan-outs);
 * those of one per address also count against their address's limit. */
static bool slot_uses_budget(const struct sched_slot *sl)
{
  return !sl->chk->is_resolve &&
         sl->chk->type->fanout != CHECK_FANOUT_RESOLVERS;
}

static bool slot_uses_addr(const struct sched_slot *sl)
{
  return sl->chk->type->fanout == CHECK_FANOUT_ADDRESSES;
}

/* Counts and logs a run that does not happen. Logging every one would
 * flood the log exactly when the probe is overloaded: the first one, then
 * at most one line per 10 s with the count since. */
static void slot_skip(struct sched_slot *sl, bool busy)
{
  struct sched *s = sl->chk->t->s;
  s->stats.skipped++;
  if (busy)
    s->stats.skipped_busy++;
  else
    s->stats.skipped_budget++;
  double now = ev_now(s->loop);
  if (s->skip_log_at > 0 && now - s->skip_log_at < 10.0) {
    s->skip_unlogged++;
    vt_debug("sched: %s/%s [%s]: run skipped (%s)", sl->chk->t->conf->name,
             sl->chk->conf->name, sl->key,
             busy ? "previous run still going" : "no room in its round");
    return;
  }
  char more[64] = "";
  if (s->skip_unlogged)
    snprintf(more, sizeof(more), "; %llu more since the last message",
             (unsigned long long)s->skip_unlogged);
  if (busy)
    vt_warn("sched: %s/%s [%s]: previous run still going; this round is "
            "skipped (%llu skipped so far%s)",
            sl->chk->t->conf->name, sl->chk->conf->name, sl->key,
            (unsigned long long)s->stats.skipped, more);
  else
    vt_warn("sched: %s/%s [%s]: could not start within its round (%d in "
            "flight of %d, %d per address, %d queued); skipped, no data "
            "(%llu skipped so far%s)",
            sl->chk->t->conf->name, sl->chk->conf->name, sl->key,
            s->budget->in_flight, s->budget->max_in_flight,
            s->budget->max_per_address, s->stats.queued,
            (unsigned long long)s->stats.skipped, more);
  s->skip_log_at = now;
  s->skip_unlogged = 0;
}

/* Takes sl out of the queue (heap or its address's list), if there. */
static void slot_dequeue(struct sched_slot *sl)
{
  if (!sl->queued)
    return;
  struct sched *s = sl->chk->t->s;
  struct sched_budget *b = s->budget;
  if (sl->blocked) {
    struct budget_addr *a = sl->addr;
    blk_remove(sl);
    budget_addr_maybe_free(b, a);
  } else {
    heap_remove(b, sl);
  }
  sl->queued = false;
  s->stats.queued--;
}

/* Gives back what a finished run held, and lets the next runs start: first
 * those waiting for this address, then the heap. */
static void slot_release(struct sched_slot *sl, bool pump)
{
  struct sched *s = sl->chk->t->s;
  struct sched_budget *b = s->budget;
  if (!sl->holds_budget)
    return;
  sl->holds_budget = false;
  b->in_flight--;
  s->stats.in_flight--;
  struct budget_addr *a = sl->addr;
  sl->addr = NULL;
  if (a) {
    a->in_flight--;
    double now = a->blk_head ? ev_time() : 0;
    while (a->blk_head && a->in_flight < b->max_per_address) {
      struct sched_slot *w = a->blk_head;
      struct sched *ws = w->chk->t->s;
      blk_remove(w);
      w->queued = false;
      ws->stats.queued--;
      if (now > w->q_deadline) {
        slot_skip(w, false);
        continue;
      }
      if (pump && b->in_flight < b->max_in_flight) {
        slot_start_at(w, w->q_ts, a);
        continue;
      }
      /* No global room: back to the heap, in deadline order. */
      if (heap_push(b, w)) {
        w->queued = true;
        ws->stats.queued++;
      } else {
        slot_skip(w, false);
      }
      break;
    }
    budget_addr_maybe_free(b, a);
  }
  if (pump)
    budget_pump(b);
}

static void slot_done(struct vt_result *r, void *arg)
{
  struct sched_slot *sl = arg;
  struct sched_check *chk = sl->chk;
  struct sched *s = chk->t->s;
  ev_timer_stop(s->loop, &sl->backstop);
  sl->running = false;
  s->stats.running--;

  /* Runs cancelled by sched_destroy are not measurements: drop them. The
   * budget is shared with other schedulers, so give it back all the same
   * (sched_destroy pumps once at the end). */
  if (s->destroying) {
    slot_release(sl, false);
    budget_res_put(s->budget, sl->res);
    sl->res = NULL;
    return;
  }
  {
    if (chk->is_resolve) {
      int idx = 0;
      for (size_t i = 0; i < chk->conf->n_resolvers; i++)
        if (strcmp(chk->conf->resolvers[i], sl->key) == 0)
          idx = (int)i;
      target_update_answers(chk->t, idx, r);
    }
    if (chk->reportable) {
      slot_log_state(sl, r);
      sched_emit(s, r);
    }
  }
  budget_res_put(s->budget, sl->res);
  sl->res = NULL;
  if (sl->retire) {
    /* Unlink now, free from the reaper: the module's callback is still on
     * the stack. */
    struct sched_slot **pp = &chk->slots;
    while (*pp && *pp != sl)
      pp = &(*pp)->next;
    if (*pp)
      *pp = sl->next;
    sl->next = s->graveyard;
    s->graveyard = sl;
    ev_idle_start(s->loop, &s->reaper);
  }
  slot_release(sl, true);
  if (s->phase == SCHED_ONCE_RESOLVE && s->stats.running == 0)
    once_start_checks(s);
  else
    sched_maybe_idle(s);
}

static void slot_backstop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct sched_slot *sl = container_of(w, struct sched_slot, backstop);
  vt_err("sched: %s/%s [%s]: run overran its timeout by %.0fs; cancelling",
         sl->chk->t->conf->name, sl->chk->conf->name, sl->key,
         BACKSTOP_GRACE_S);
  sl->chk->type->cancel(sl->state);
}

/* True when a predecessor (after a reload) still runs this check against
 * this key. */
static bool sched_busy_elsewhere(const struct sched *prev,
                                 const struct sched_check *chk, const char *key)
{
  for (; prev; prev = prev->prev) {
    for (size_t i = 0; i < prev->n_targets; i++) {
      const struct sched_target *t = &prev->targets[i];
      if (strcmp(t->conf->name, chk->t->conf->name) != 0)
        continue;
      for (size_t k = 0; k <= t->n_checks; k++) {
        const struct sched_check *c = k == 0 ? &t->resolve : &t->checks[k - 1];
        if (strcmp(c->conf->name, chk->conf->name) != 0)
          continue;
        for (const struct sched_slot *sl = c->slots; sl; sl = sl->next)
          if (sl->running && strcmp(sl->key, key) == 0)
            return true;
      }
    }
  }
  return false;
}

/* Starts the run of sl for round ts now (the budget, if it takes one, has
 * room). */
static void slot_start(struct sched_slot *sl, double ts)
{
  slot_start_at(sl, ts, NULL);
}

/* slot_start, with sl's address entry when the caller has it (NULL: looked
 * up when needed). */
static void slot_start_at(struct sched_slot *sl, double ts,
                          struct budget_addr *addr)
{
  struct sched_check *chk = sl->chk;
  struct sched *s = chk->t->s;
  struct sched_budget *b = s->budget;
  const char *key = sl->key;
  sl->res = budget_res_get(b);
  if (!sl->res) {
    vt_err("sched: %s/%s [%s]: out of memory; run skipped", chk->t->conf->name,
           chk->conf->name, key);
    slot_skip(sl, false);
    return;
  }
  if (!s->no_late)
    sched_record_late(s, ev_time() - ts);
  slot_fill_identity(sl, sl->res, ts);
  enum vt_status st = chk->type->start(sl->state, sl->res, slot_done, sl);
  if (st != VT_OK) {
    vt_err("sched: %s/%s [%s]: cannot start: %s", chk->t->conf->name,
           chk->conf->name, key, vt_strerror(st));
    if (chk->reportable) {
      vt_result_fail(sl->res, VT_ERR_INTERNAL, "cannot start: %s",
                     vt_strerror(st));
      sched_emit(s, sl->res);
    }
    budget_res_put(b, sl->res);
    sl->res = NULL;
    /* The pump may have made this address's entry for it. */
    struct budget_addr *a = addr ? addr : budget_addr_get(b, key, false);
    if (a)
      budget_addr_maybe_free(b, a);
    return;
  }
  sl->running = true;
  s->stats.running++;
  s->stats.runs++;
  if (slot_uses_budget(sl)) {
    sl->holds_budget = true;
    b->in_flight++;
    s->stats.in_flight++;
    if (slot_uses_addr(sl)) {
      sl->addr = addr ? addr : budget_addr_get(b, key, true);
      if (sl->addr)
        sl->addr->in_flight++;
    }
  }
  ev_timer_set(&sl->backstop, chk->conf->timeout_s + BACKSTOP_GRACE_S, 0.);
  ev_timer_start(s->loop, &sl->backstop);
}

/* Starts queued runs while the budget has room, in deadline order. A run
 * whose deadline passed is skipped; one whose address is at its limit
 * waits in that address's list until a run there finishes. */
static void budget_pump(struct sched_budget *b)
{
  if (b->pumping)
    return;
  b->pumping = true;
  double now = b->heap_n > 0 ? ev_time() : 0;
  while (b->heap_n > 0 && b->in_flight < b->max_in_flight) {
    struct sched_slot *sl = b->heap[0];
    struct sched *s = sl->chk->t->s;
    heap_remove(b, sl);
    sl->queued = false;
    s->stats.queued--;
    if (now > sl->q_deadline) {
      slot_skip(sl, false);
      sched_maybe_idle(s);
      continue;
    }
    struct budget_addr *a = NULL;
    if (slot_uses_addr(sl)) {
      a = budget_addr_get(b, sl->key, true);
      if (a && a->in_flight >= b->max_per_address) {
        blk_append(a, sl);
        sl->queued = true;
        s->stats.queued++;
        continue;
      }
    }
    slot_start_at(sl, sl->q_ts, a);
    sched_maybe_idle(s);
  }
  b->pumping = false;
}

/* Starts one run of chk against key at round time ts, or queues it for
 * the budget. */
static void slot_run(struct sched_check *chk, const char *key, double ts)
{
  struct sched *s = chk->t->s;
  struct sched_slot *sl = slot_get(chk, key);
  if (!sl) {
    vt_err("sched: %s/%s [%s]: out of memory; run skipped", chk->t->conf->name,
           chk->conf->name, key);
    return;
  }
  sl->retire = false;
  sl->round = chk->round;
  if (sl->running || sched_busy_elsewhere(s->prev, chk, key)) {
    slot_skip(sl, true);
    return;
  }
  if (sl->queued) {
    /* The previous round's run never got to start. */
    slot_dequeue(sl);
    slot_skip(sl, false);
  }
  if (!slot_uses_budget(sl)) {
    slot_start(sl, ts);
    return;
  }
  /* The latest start that still leaves the run its timeout before the
   * next round (at least half the interval). */
  const struct probe_check_conf *cc = chk->conf;
  double room = cc->interval_s - cc->timeout_s;
  if (room < cc->interval_s / 2)
    room = cc->interval_s / 2;
  sl->q_ts = ts;
  sl->q_deadline = ts + room;
  if (!heap_push(s->budget, sl)) {
    vt_err("sched: %s/%s [%s]: out of memory queueing; run skipped",
           chk->t->conf->name, chk->conf->name, key);
    slot_skip(sl, false);
    return;
  }
  sl->queued = true;
  s->stats.queued++;
}

/* ---- rounds -------------------------------------------------------------*/

static void check_round(struct sched_check *chk, double ts)
{
  struct sched *s = chk->t->s;
  struct sched_target *t = chk->t;
  s->stats.rounds++;
  chk->round++;
  if (chk->is_resolve) {
    double now = ev_now(s->loop);
    for (size_t i = 0; i < chk->conf->n_resolvers; i++) {
      /* The hidden resolution only feeds the address set: like any client,
       * it keeps an answer for its TTL instead of asking every interval.
       * A dns check always asks: that is its measurement. */
      if (!chk->reportable && now < t->answers[i].expiry)
        continue;
      slot_run(chk, chk->conf->resolvers[i], ts);
    }
    return;
  }
  if (chk->type->fanout == CHECK_FANOUT_RESOLVERS) {
    for (size_t i = 0; i < chk->conf->n_resolvers; i++)
      slot_run(chk, chk->conf->resolvers[i], ts);
    return;
  }
  if (chk->type->fanout == CHECK_FANOUT_ONE) {
    slot_run(chk, "", ts);
    budget_pump(s->budget);
    return;
  }
  if (!t->attempted && t->conf->n_ips == 0) {
    vt_debug("sched: %s/%s: no DNS answer yet; round skipped", t->conf->name,
             chk->conf->name);
    return;
  }
  double now = ev_now(s->loop);
  addrset_expire(&t->addrs, now);
  size_t started = 0;
  for (size_t i = 0; i < t->addrs.n; i++) {
    if (!addrset_entry_active(&t->addrs, &t->addrs.e[i], now))
      continue;
    slot_run(chk, t->addrs.e[i].ip, ts);
    started++;
  }
  /* Retire slots whose address is no longer in the set (those run in this
   * round are in it). */
  for (struct sched_slot *sl = chk->slots, *next; sl; sl = next) {
    next = sl->next;
    if (sl->round == chk->round || addrset_find(&t->addrs, sl->key) >= 0)
      continue;
    if (!sl->retire)
      sched_emit_retired(s, sl);
    if (sl->running) {
      sl->retire = true;
      continue;
    }
    struct sched_slot **pp = &chk->slots;
    while (*pp != sl)
      pp = &(*pp)->next;
    *pp = sl->next;
    vt_info("sched: %s/%s: no longer checking %s (left the DNS answer more "
            "than %gs ago)",
            t->conf->name, chk->conf->name, sl->key, t->conf->keep_gone_s);
    slot_free(sl);
  }
  if (started == 0) {
    /* Nothing to check is itself a result: the gap must be visible. */
    struct vt_result r;
    struct sched_slot tmp = {.chk = chk};
    slot_fill_identity(&tmp, &r, ts);
    r.ip[0] = '\0';
    vt_result_fail(&r, VT_ERR_NO_ADDRESS, "%s has no address to check%s%s",
                   t->conf->host, t->last_dns_error[0] ? "; dns: " : "",
                   t->last_dns_error);
    sched_emit(s, &r);
  }
  budget_pump(s->budget);
}

/* The round time is the periodic's scheduled time, not the wake-up time:
 * results from every probe then share timestamps on the RRD step grid. */
static void check_periodic_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
  struct sched_check *chk = container_of(w, struct sched_check, timer);
  double ts = ev_periodic_at(w) - chk->conf->interval_s;
  /* Lateness is recorded per run as it starts (queueing included); a
   * round this late means the loop itself was held up. */
  double late = ev_time() - ts;
  if (late > 1.0)
    vt_warn("sched: %s/%s: round started %.2fs late", chk->t->conf->name,
            chk->conf->name, late);
  check_round(chk, ts);
}

/* The first resolution runs at once, stamped with the grid point of the
 * round in progress, so it never shares an RRD step with a scheduled one. */
static void target_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct sched_target *t = container_of(w, struct sched_target, kick);
  const struct probe_check_conf *rc = t->resolve.conf;
  double offset = t->resolve.timer.offset, now = ev_now(loop);
  /* The first scheduled round comes before this one could finish: let it
   * do the work, or the two would collide and that round be skipped. */
  if (ev_periodic_at(&t->resolve.timer) - now < rc->timeout_s)
    return;
  double ts = offset + floor((now - offset) / rc->interval_s) * rc->interval_s;
  t->s->no_late = true;
  check_round(&t->resolve, ts);
  t->s->no_late = false;
}

/* Keeps the per-resolver answers and rebuilds the address set from their
 * union. Failures (timeout, SERVFAIL, REFUSED) say nothing about the
 * addresses and keep the previous answer; NXDOMAIN and empty answers are
 * answers, and empty the set (then keep_gone runs). */
static void target_update_answers(struct sched_target *t, int resolver,
                                  const struct vt_result *r)
{
  bool definitive = r->error == VT_ERR_NONE ||
                    r->error == VT_ERR_DNS_UNEXPECTED ||
                    r->error == VT_ERR_NXDOMAIN || r->error == VT_ERR_NO_ANSWER;
  t->attempted = true;
  snprintf(t->last_dns_error, sizeof(t->last_dns_error), "%s",
           r->error == VT_ERR_NONE ? "" : vt_err_name(r->error));
  if (!definitive)
    return;
  struct resolver_answer *ra = &t->answers[resolver];
  ra->expiry = r->error == VT_ERR_NONE && !r->incomplete && r->ttl > 0
                   ? ev_now(t->s->loop) + (double)r->ttl
                   : 0;
  if (!resolver_answer_reserve(ra, ra->n + r->n_answers)) {
    vt_err("dns: %s: out of memory keeping the answer", t->conf->name);
    return;
  }
  if (!r->incomplete || !ra->valid) {
    ra->valid = true;
    ra->n = r->n_answers;
    for (int i = 0; i < r->n_answers; i++)
      snprintf(ra->ips[i], sizeof(ra->ips[i]), "%s", r->answers[i]);
  } else {
    /* One family got no definitive answer: its addresses are unknown, not
     * gone, so keep what that resolver said before and add the new ones. */
    for (int i = 0; i < r->n_answers; i++) {
      bool have = false;
      for (int k = 0; k < ra->n; k++)
        have |= strcmp(ra->ips[k], r->answers[i]) == 0;
      if (!have && ra->n < VT_RESULT_MAX_ANSWERS)
        snprintf(ra->ips[ra->n++], sizeof(ra->ips[0]), "%s", r->answers[i]);
    }
  }

  const char *uni[ADDRSET_MAX];
  size_t n = 0;
  for (size_t k = 0; k < t->resolve.conf->n_resolvers; k++) {
    struct resolver_answer *a = &t->answers[k];
    for (int i = 0; a->valid && i < a->n; i++) {
      bool dup = false;
      for (size_t j = 0; j < n; j++)
        dup |= strcmp(uni[j], a->ips[i]) == 0;
      if (!dup && n < ADDRSET_MAX)
        uni[n++] = a->ips[i];
    }
  }
  double now = ev_now(t->s->loop);
  /* Log the change in the answer: operators want to see a DNS switch. */
  char added[512] = "", removed[512] = "";
  for (size_t j = 0; j < n; j++) {
    int i = addrset_find(&t->addrs, uni[j]);
    if (i < 0 || !t->addrs.e[i].in_answer)
      snprintf(added + strlen(added), sizeof(added) - strlen(added), " +%s",
               uni[j]);
  }
  for (size_t i = 0; i < t->addrs.n; i++) {
    bool still = false;
    for (size_t j = 0; j < n; j++)
      still |= strcmp(uni[j], t->addrs.e[i].ip) == 0;
    if (t->addrs.e[i].in_answer && !still)
      snprintf(removed + strlen(removed), sizeof(removed) - strlen(removed),
               " -%s", t->addrs.e[i].ip);
  }
  size_t dropped = addrset_update(&t->addrs, uni, n, now);
  if (t->resolved_once && (added[0] || removed[0]))
    vt_notice("dns: %s %s: answer changed:%s%s%s", t->conf->name, t->conf->host,
              added, removed,
              removed[0] ? " (left addresses stay checked for keep_gone)" : "");
  else if (!t->resolved_once)
    vt_info("dns: %s %s: answer:%s", t->conf->name, t->conf->host,
            added[0] ? added : " (none)");
  if (dropped)
    vt_warn("dns: %s: %zu addresses beyond the limit of %d are not checked",
            t->conf->name, dropped, ADDRSET_MAX);
  t->resolved_once = true;
}

/* ---- once mode ----------------------------------------------------------*/

/* Creates the slots a round of chk will use. Creating a state may block
 * (a TLS context loads the CA store), so a pass creates them all before
 * any run starts: otherwise the runs already started would be charged for
 * that time and could time out. */
static void check_prepare(struct sched_check *chk, double now)
{
  struct sched_target *t = chk->t;
  if (chk->type->fanout == CHECK_FANOUT_RESOLVERS) {
    for (size_t i = 0; i < chk->conf->n_resolvers; i++)
      (void)slot_get(chk, chk->conf->resolvers[i]);
    return;
  }
  if (chk->type->fanout == CHECK_FANOUT_ONE) {
    (void)slot_get(chk, "");
    return;
  }
  for (size_t i = 0; i < t->addrs.n; i++)
    if (addrset_entry_active(&t->addrs, &t->addrs.e[i], now))
      (void)slot_get(chk, t->addrs.e[i].ip);
}

static void once_start_checks(struct sched *s)
{
  sched_set_phase(s, SCHED_ONCE_CHECKS);
  double ts = ev_now(s->loop);
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    t->attempted = true; /* one pass: use what we have */
    for (size_t k = 0; k < t->n_checks; k++)
      check_prepare(&t->checks[k], ts);
  }
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    for (size_t k = 0; k < t->n_checks; k++)
      check_round(&t->checks[k], ts);
  }
  sched_maybe_idle(s);
}

/* ---- lifecycle ----------------------------------------------------------*/

static void sched_idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct sched *s = container_of(w, struct sched, idle_timer);
  /* Runs may have started since the timer was set (a pass queues and
   * starts many from one callback). */
  if (s->stats.running > 0 || s->stats.queued > 0)
    return;
  sched_idle_fn *idle = s->idle;
  s->idle = NULL;
  if (idle)
    idle(s->idle_arg);
}

static void sched_maybe_idle(struct sched *s)
{
  if (s->stats.running > 0 || s->stats.queued > 0 || !s->idle)
    return;
  if (s->phase != SCHED_ONCE_CHECKS && s->phase != SCHED_STOPPING)
    return;
  ev_timer_set(&s->idle_timer, 0., 0.);
  ev_timer_start(s->loop, &s->idle_timer);
}

static void sched_reaper_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
  struct sched *s = container_of(w, struct sched, reaper);
  ev_idle_stop(loop, w);
  while (s->graveyard) {
    struct sched_slot *sl = s->graveyard;
    s->graveyard = sl->next;
    vt_info("sched: %s/%s: no longer checking %s", sl->chk->t->conf->name,
            sl->chk->conf->name, sl->key);
    slot_free(sl);
  }
}

/* Sets chk up for cc; false when no check type handles cc's type. */
static bool check_init(struct sched_target *t, struct sched_check *chk,
                       const struct probe_check_conf *cc, bool is_resolve)
{
  *chk = (struct sched_check){
      .t = t,
      .conf = cc,
      .type = check_type_find(t->s->ctx->types, cc->type),
      .is_resolve = is_resolve,
      .reportable = !is_resolve || cc != &t->conf->hidden_resolve,
  };
  if (!chk->type) {
    vt_err("sched: %s/%s: no check type %s in this probe", t->conf->name,
           cc->name, vt_check_type_name(cc->type));
    chk->conf = NULL;
    return false;
  }
  chk->type->endpoint(t->conf, cc, chk->host, sizeof(chk->host), &chk->port);
  double offset = phase_fraction(t->conf->name, cc->name) * cc->interval_s;
  ev_periodic_init(&chk->timer, check_periodic_cb, offset, cc->interval_s, 0);
  return true;
}

struct sched *sched_create(struct probe_ctx *ctx, const struct probe_conf *conf,
                           sched_emit_fn *emit, void *arg)
{
  struct sched *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  *s = (struct sched){.ctx = ctx,
                      .loop = ctx->loop,
                      .conf = conf,
                      .emit = emit,
                      .emit_arg = arg};
  ev_timer_init(&s->idle_timer, sched_idle_timer_cb, 0., 0.);
  ev_idle_init(&s->reaper, sched_reaper_cb);
  s->budget = ctx->budget;
  if (!s->budget) {
    s->budget = sched_budget_create(s->loop, conf);
    s->own_budget = true;
    if (!s->budget) {
      free(s);
      return NULL;
    }
  }
  s->stats.max_in_flight = s->budget->max_in_flight;
  s->stats.max_per_address = s->budget->max_per_address;
  s->targets = calloc(conf->n_targets, sizeof(*s->targets));
  if (!s->targets && conf->n_targets) {
    if (s->own_budget)
      sched_budget_destroy(s->budget);
    free(s);
    return NULL;
  }
  s->n_targets = conf->n_targets;
  for (size_t i = 0; i < conf->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    const struct probe_target_conf *tc = &conf->targets[i];
    t->s = s;
    t->conf = tc;
    addrset_init(&t->addrs, tc->keep_gone_s);
    double now = ev_now(s->loop);
    for (size_t k = 0; k < tc->n_ips; k++)
      addrset_add_static(&t->addrs, tc->ips[k], now);
    t->answers = calloc(tc->resolve->n_resolvers, sizeof(*t->answers));
    t->checks = calloc(tc->n_checks, sizeof(*t->checks));
    if (!t->answers || !t->checks) {
      sched_destroy(s);
      return NULL;
    }
    bool ok = check_init(t, &t->resolve, tc->resolve, true);
    /* The resolution is the target's dns check, when it has one. */
    for (size_t k = 0; ok && k < tc->n_checks; k++)
      if (&tc->checks[k] != tc->resolve)
        ok = check_init(t, &t->checks[t->n_checks++], &tc->checks[k], false);
    if (!ok) {
      sched_destroy(s);
      return NULL;
    }
    ev_timer_init(&t->kick, target_kick_cb, 0., 0.);
  }
  return s;
}

void sched_forget(struct sched *s, const struct sched *old)
{
  for (; s; s = (struct sched *)s->prev) {
    if (s->prev == old) {
      s->prev = old->prev;
      return;
    }
  }
}

/* The addresses old checked that s will not (a target, check or static
 * address removed, a name changed) are retired on the wire. */
static void sched_adopt_retire(struct sched *s, const struct sched *old)
{
  for (size_t k = 0; k < old->n_targets; k++) {
    const struct sched_target *o = &old->targets[k];
    const struct sched_target *t = NULL;
    for (size_t i = 0; i < s->n_targets && !t; i++)
      if (strcmp(s->targets[i].conf->name, o->conf->name) == 0 &&
          strcmp(s->targets[i].conf->host, o->conf->host) == 0)
        t = &s->targets[i];
    for (size_t c = 0; o->checks && c < o->n_checks; c++) {
      const struct sched_check *oc = &o->checks[c];
      bool kept = false;
      for (size_t j = 0; t && t->checks && j < t->n_checks && !kept; j++)
        kept = strcmp(t->checks[j].conf->name, oc->conf->name) == 0 &&
               t->checks[j].conf->type == oc->conf->type;
      for (struct sched_slot *sl = oc->slots; sl; sl = sl->next)
        if (!sl->retire && (!kept || addrset_find(&t->addrs, sl->key) < 0))
          sched_emit_retired(s, sl);
    }
  }
}

void sched_adopt(struct sched *s, const struct sched *old)
{
  s->prev = old;
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    for (size_t k = 0; k < old->n_targets; k++) {
      const struct sched_target *o = &old->targets[k];
      if (strcmp(o->conf->name, t->conf->name) != 0 ||
          strcmp(o->conf->host, t->conf->host) != 0)
        continue;
      double now = ev_now(s->loop);
      for (size_t j = 0; j < o->addrs.n; j++) {
        const struct addrset_entry *e = &o->addrs.e[j];
        if (e->is_static) /* statics come from the new config only */
          continue;
        (void)addrset_adopt(&t->addrs, e);
      }
      addrset_expire(&t->addrs, now);
      t->resolved_once = o->resolved_once;
      t->attempted = o->attempted;
    }
  }
  sched_adopt_retire(s, old);
}

void sched_start(struct sched *s, bool once, sched_idle_fn *idle, void *arg)
{
  s->idle = idle;
  s->idle_arg = arg;
  if (once) {
    sched_set_phase(s, SCHED_ONCE_RESOLVE);
    double ts = ev_now(s->loop);
    for (size_t i = 0; i < s->n_targets; i++)
      check_round(&s->targets[i].resolve, ts);
    if (s->stats.running == 0)
      once_start_checks(s);
    return;
  }
  sched_set_phase(s, SCHED_RUNNING);
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    /* Resolve at once so the first rounds have addresses (not after a
     * reload: the address set was adopted). */
    if (!t->attempted)
      ev_timer_start(s->loop, &t->kick);
    ev_periodic_start(s->loop, &t->resolve.timer);
    for (size_t k = 0; k < t->n_checks; k++)
      ev_periodic_start(s->loop, &t->checks[k].timer);
  }
}

/* Takes every queued run of s out of the budget's queue, counting each as
 * skipped (no data) unless s is being destroyed. */
static void sched_drop_queued(struct sched *s)
{
  uint64_t dropped = 0;
  for (size_t i = 0; i < s->n_targets && s->stats.queued > 0; i++) {
    struct sched_target *t = &s->targets[i];
    for (size_t k = 0; t->checks && k < t->n_checks; k++) {
      for (struct sched_slot *sl = t->checks[k].slots; sl; sl = sl->next) {
        if (!sl->queued)
          continue;
        slot_dequeue(sl);
        dropped++;
      }
    }
  }
  if (dropped && !s->destroying) {
    s->stats.skipped += dropped;
    s->stats.skipped_budget += dropped;
    vt_notice("sched: stopping: %llu queued runs dropped (no data)",
              (unsigned long long)dropped);
  }
}

static void sched_stop_timers(struct sched *s)
{
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    ev_timer_stop(s->loop, &t->kick);
    ev_periodic_stop(s->loop, &t->resolve.timer);
    for (size_t k = 0; k < t->n_checks; k++)
      ev_periodic_stop(s->loop, &t->checks[k].timer);
  }
}

void sched_stop(struct sched *s, sched_idle_fn *idle, void *arg)
{
  sched_stop_timers(s);
  sched_drop_queued(s);
  sched_set_phase(s, SCHED_STOPPING);
  s->idle = idle;
  s->idle_arg = arg;
  sched_maybe_idle(s);
}

void sched_get_stats(const struct sched *s, struct sched_stats *out)
{
  *out = s->stats;
  out->max_in_flight = s->budget->max_in_flight;
  out->max_per_address = s->budget->max_per_address;
}

static void check_free_slots(struct sched *s, struct sched_check *chk)
{
  /* Cancel first (done runs synchronously), then free. */
  for (struct sched_slot *sl = chk->slots; sl; sl = sl->next) {
    if (sl->running)
      chk->type->cancel(sl->state);
    ev_timer_stop(s->loop, &sl->backstop);
  }
  while (chk->slots) {
    struct sched_slot *sl = chk->slots;
    chk->slots = sl->next;
    slot_free(sl);
  }
}

void sched_destroy(struct sched *s)
{
  if (!s)
    return;
  s->destroying = true;
  sched_stop_timers(s);
  sched_drop_queued(s);
  ev_timer_stop(s->loop, &s->idle_timer);
  for (size_t i = 0; i < s->n_targets; i++) {
    struct sched_target *t = &s->targets[i];
    if (t->checks) {
      for (size_t k = 0; k < t->n_checks; k++)
        check_free_slots(s, &t->checks[k]);
    }
    if (t->resolve.conf)
      check_free_slots(s, &t->resolve);
    free(t->checks);
    addrset_cleanup(&t->addrs);
    for (size_t k = 0;
         t->answers && t->resolve.conf && k < t->resolve.conf->n_resolvers; k++)
      free(t->answers[k].ips);
    free(t->answers);
  }
  /* Slots retired by the cancellations above land in the graveyard. */
  ev_idle_stop(s->loop, &s->reaper);
  while (s->graveyard) {
    struct sched_slot *sl = s->graveyard;
    s->graveyard = sl->next;
    slot_free(sl);
  }
  free(s->targets);
  if (s->own_budget)
    sched_budget_destroy(s->budget);
  else
    budget_pump(s->budget); /* what this one held, others may use now */
  free(s);
}
