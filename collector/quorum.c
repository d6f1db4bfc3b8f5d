/* SPDX-License-Identifier: MIT */
/* The quorum engine that turns failed tcp/http/client results into outage,
 * partial and host rows (quorum.h; rules in docs/collector.md, "Events"
 * and "Quorum"). Storage is the owner's: rows and streaks go out through
 * struct quorum_ops.
 *
 * Decisions where the documents are silent:
 * - The engine only follows each probe's failure streaks, per check, in
 *   that probe's ts order, and reports when a probe's view of an entity
 *   begins (a streak reaches `confirm`) or ends (the first ok, or a
 *   retirement at the last result). Verdicts are not decided here as
 *   results arrive: the owner rebuilds them from the stored views with
 *   quorum_sweep, so the order results arrive in cannot change them.
 * - One address, several checks (tcp:443 and http): a probe sees the
 *   address down while any of its checks on it has `confirm` failures in a
 *   row; the sweep counts that probe once.
 * - A client check is its own entity per (target, check name); it has no
 *   row of its own and sets the host down while `quorum` probes see it
 *   fail.
 * - Streaks live in memory (hash tables); the streaks a batch changed go
 *   to the owner at commit (quorum_flush), and after a rollback the owner
 *   reloads the whole engine (rare, and obviously correct). */
#include "config.h"

#include "quorum.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "container.h"
#include "grow.h"
#include "log.h"
#include "result.h"
#include "vt_time.h"

/* Intrusive chained hash table; items embed a node. */
struct quorum_hnode {
  struct quorum_hnode *next;
  uint64_t hash;
};

struct quorum_htab {
  struct quorum_hnode **b;
  size_t cap, n; /* cap is 0 or a power of two */
};

/* Failures in a row of one check of one probe on one address. */
struct quorum_run {
  struct quorum_ent *ent;
  char probe[QUORUM_NAME_LEN];
  char check[QUORUM_NAME_LEN];
  double start;   /* ts of the first failure of the streak; 0 when ok */
  double last_ts; /* ts of the last result applied */
  int count;      /* consecutive failures; 0 = the last result was ok */
  bool dirty;     /* changed since the last flush */
};

struct quorum_target {
  struct quorum_hnode node;
  char name[QUORUM_NAME_LEN];
  struct quorum_ent **ents; /* its addresses and client views */
  size_t n_ents, cap_ents;
};

/* A quorum entity: an address of a target, or a client view. */
struct quorum_ent {
  struct quorum_hnode node;
  struct quorum_target *tgt;
  char key[QUORUM_NAME_LEN]; /* the address, or the client check's name */
  bool client;
  double last_ts; /* latest result from any probe */
  struct quorum_run **st;
  size_t n_st, cap_st;
};

struct quorum {
  int quorum, confirm;
  double silence_s;
  struct quorum_ops ops;
  void *arg;
  struct quorum_htab targets, ents;
  struct quorum_run **dirty; /* to hand out at the next flush */
  size_t n_dirty, cap_dirty;
};

/* The engine logs as part of the events module, as it did before it had a
 * file of its own. */
static enum vt_status quorum_oom(void)
{
  vt_err("events: out of memory");
  return VT_ENOMEM;
}

/* Returns the array p (elements of size) grown so that at least need fit,
 * or NULL (logged; p is left alone). */
/* vt_grow, logging the failure like every allocation here. */
static void *quorum_grow(void *p, size_t *cap, size_t need, size_t size)
{
  void *q = vt_grow(p, cap, need, size);
  if (!q)
    quorum_oom();
  return q;
}

static bool quorum_copy_name(char dst[QUORUM_NAME_LEN], const char *src)
{
  size_t len = strlen(src);
  if (len >= QUORUM_NAME_LEN)
    return false;
  memcpy(dst, src, len + 1);
  return true;
}

/* ---- name sets ---------------------------------------------------------- */

void quorum_names_cleanup(struct quorum_names *s)
{
  free(s->v);
  *s = (struct quorum_names){0};
}

enum vt_status quorum_names_add(struct quorum_names *s, const char *name)
{
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->v[mid], name);
    if (c == 0)
      return VT_OK;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (strlen(name) >= QUORUM_NAME_LEN)
    return VT_EINVAL;
  void *v = quorum_grow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
  if (!v)
    return VT_ENOMEM;
  s->v = v;
  memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
  quorum_copy_name(s->v[lo], name);
  s->n++;
  return VT_OK;
}

enum vt_status quorum_names_parse(struct quorum_names *s, const char *text)
{
  while (*text) {
    size_t len = strcspn(text, ",");
    char name[QUORUM_NAME_LEN];
    if (len >= sizeof(name))
      return VT_EINVAL;
    memcpy(name, text, len);
    name[len] = '\0';
    if (len) {
      enum vt_status st = quorum_names_add(s, name);
      if (st != VT_OK)
        return st;
    }
    text += len + (text[len] == ',');
  }
  return VT_OK;
}

enum vt_status quorum_names_join(const struct quorum_names *s,
                                 struct vt_buf *out)
{
  vt_buf_reset(out);
  for (size_t i = 0; i < s->n; i++) {
    enum vt_status st = vt_buf_addf(out, "%s%s", i ? "," : "", s->v[i]);
    if (st != VT_OK)
      return quorum_oom();
  }
  return VT_OK;
}

/* ---- hash tables -------------------------------------------------------- */

#define QUORUM_FNV_BASIS UINT64_C(14695981039346656037)
#define QUORUM_FNV_PRIME UINT64_C(1099511628211)

/* FNV-1a over s and a separator, so ("ab", "c") and ("a", "bc") differ. */
static uint64_t quorum_hash(uint64_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * QUORUM_FNV_PRIME;
  return (h ^ 0xff) * QUORUM_FNV_PRIME;
}

static enum vt_status quorum_htab_insert(struct quorum_htab *t,
                                         struct quorum_hnode *nd)
{
  if (t->n >= t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct quorum_hnode **b = calloc(cap, sizeof(*b));
    if (!b)
      return quorum_oom();
    for (size_t i = 0; i < t->cap; i++) {
      struct quorum_hnode *p = t->b[i];
      while (p) {
        struct quorum_hnode *next = p->next;
        p->next = b[p->hash & (cap - 1)];
        b[p->hash & (cap - 1)] = p;
        p = next;
      }
    }
    free(t->b);
    t->b = b;
    t->cap = cap;
  }
  nd->next = t->b[nd->hash & (t->cap - 1)];
  t->b[nd->hash & (t->cap - 1)] = nd;
  t->n++;
  return VT_OK;
}

static struct quorum_hnode *quorum_htab_chain(const struct quorum_htab *t,
                                              uint64_t hash)
{
  return t->cap ? t->b[hash & (t->cap - 1)] : NULL;
}

/* ---- the engine's memory ------------------------------------------------ */

static struct quorum_target *quorum_target_find(struct quorum *q,
                                                const char *name, bool create,
                                                enum vt_status *st)
{
  *st = VT_OK;
  uint64_t h = quorum_hash(QUORUM_FNV_BASIS, name);
  for (struct quorum_hnode *nd = quorum_htab_chain(&q->targets, h); nd;
       nd = nd->next) {
    struct quorum_target *t = container_of(nd, struct quorum_target, node);
    if (nd->hash == h && strcmp(t->name, name) == 0)
      return t;
  }
  if (!create)
    return NULL;
  struct quorum_target *t = calloc(1, sizeof(*t));
  if (!t) {
    *st = quorum_oom();
    return NULL;
  }
  t->node.hash = h;
  if (!quorum_copy_name(t->name, name)) {
    *st = VT_EINVAL;
    free(t);
    return NULL;
  }
  *st = quorum_htab_insert(&q->targets, &t->node);
  if (*st != VT_OK) {
    free(t);
    return NULL;
  }
  return t;
}

static uint64_t quorum_ent_hash(const char *target, const char *key,
                                bool client)
{
  uint64_t h = quorum_hash(QUORUM_FNV_BASIS, target);
  return quorum_hash(quorum_hash(h, client ? "c" : "a"), key);
}

static struct quorum_ent *quorum_ent_find(struct quorum *q,
                                          struct quorum_target *tgt,
                                          const char *key, bool client,
                                          enum vt_status *st)
{
  *st = VT_OK;
  uint64_t h = quorum_ent_hash(tgt->name, key, client);
  for (struct quorum_hnode *nd = quorum_htab_chain(&q->ents, h); nd;
       nd = nd->next) {
    struct quorum_ent *e = container_of(nd, struct quorum_ent, node);
    if (nd->hash == h && e->tgt == tgt && e->client == client &&
        strcmp(e->key, key) == 0)
      return e;
  }
  void *v = quorum_grow(tgt->ents, &tgt->cap_ents, tgt->n_ents + 1,
                        sizeof(*tgt->ents));
  if (!v) {
    *st = VT_ENOMEM;
    return NULL;
  }
  tgt->ents = v;
  struct quorum_ent *e = calloc(1, sizeof(*e));
  if (!e) {
    *st = quorum_oom();
    return NULL;
  }
  *e = (struct quorum_ent){
      .node.hash = h, .tgt = tgt, .client = client, .last_ts = -INFINITY};
  if (!quorum_copy_name(e->key, key)) {
    *st = VT_EINVAL;
    free(e);
    return NULL;
  }
  *st = quorum_htab_insert(&q->ents, &e->node);
  if (*st != VT_OK) {
    free(e);
    return NULL;
  }
  tgt->ents[tgt->n_ents++] = e;
  return e;
}

/* The streak of (probe, check) on ent; linear, since an entity has one per
 * probe and check on it (a handful). */
static struct quorum_run *quorum_run_find(struct quorum_ent *ent,
                                          const char *probe, const char *check,
                                          enum vt_status *st)
{
  for (size_t i = 0; i < ent->n_st; i++) {
    struct quorum_run *s = ent->st[i];
    if (strcmp(s->probe, probe) == 0 && strcmp(s->check, check) == 0)
      return s;
  }
  void *v = quorum_grow(ent->st, &ent->cap_st, ent->n_st + 1, sizeof(*ent->st));
  if (!v) {
    *st = VT_ENOMEM;
    return NULL;
  }
  ent->st = v;
  struct quorum_run *s = calloc(1, sizeof(*s));
  if (!s) {
    *st = quorum_oom();
    return NULL;
  }
  *s = (struct quorum_run){.ent = ent, .last_ts = -INFINITY};
  if (!quorum_copy_name(s->probe, probe) ||
      !quorum_copy_name(s->check, check)) {
    *st = VT_EINVAL;
    free(s);
    return NULL;
  }
  ent->st[ent->n_st++] = s;
  return s;
}

static enum vt_status quorum_run_touch(struct quorum *q, struct quorum_run *s)
{
  if (s->dirty)
    return VT_OK;
  void *v =
      quorum_grow(q->dirty, &q->cap_dirty, q->n_dirty + 1, sizeof(*q->dirty));
  if (!v)
    return VT_ENOMEM;
  q->dirty = v;
  q->dirty[q->n_dirty++] = s;
  s->dirty = true;
  return VT_OK;
}

/* r->probe no longer checks ent (an address): every streak of its on ent
 * ends at its last result there, and nothing older than r comes in. */
static enum vt_status quorum_retire(struct quorum *q, struct quorum_ent *ent,
                                    const struct vt_result *r)
{
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < ent->n_st && st == VT_OK; i++) {
    struct quorum_run *s = ent->st[i];
    if (strcmp(s->probe, r->probe) != 0 || strcmp(s->check, r->name) != 0 ||
        r->ts <= s->last_ts)
      continue;
    if (s->count >= q->confirm) {
      const struct quorum_down d = {
          .target = ent->tgt->name,
          .key = ent->key,
          .check = s->check,
          .probe = s->probe,
          .start = s->start,
          .end = s->last_ts,
          .retired = true,
      };
      st = q->ops.down_put(q->arg, &d);
    }
    s->count = 0;
    s->start = 0;
    s->last_ts = r->ts;
    if (st == VT_OK)
      st = quorum_run_touch(q, s);
  }
  return st;
}

enum vt_status quorum_result(struct quorum *q, const struct vt_result *r)
{
  bool client = r->check == VT_CHECK_CLIENT;
  /* A tcp/http result without an address (the name did not resolve) is
   * the dns check's and the client view's business. */
  if (!client && !r->ip[0])
    return VT_OK;
  enum vt_status st;
  struct quorum_target *tgt = quorum_target_find(q, r->target, true, &st);
  if (!tgt)
    return st;
  struct quorum_ent *ent =
      quorum_ent_find(q, tgt, client ? r->name : r->ip, client, &st);
  if (!ent)
    return st;
  if (r->retired)
    return quorum_retire(q, ent, r);
  struct quorum_run *s = quorum_run_find(ent, r->probe, r->name, &st);
  if (!s)
    return st;
  if (r->ts <= s->last_ts) {
    vt_debug("events: %s %s %s from %s: result at %.3f not after %.3f, "
             "ignored by the quorum",
             r->target, r->name, ent->key, r->probe, r->ts, s->last_ts);
    return VT_OK;
  }
  bool was = s->count >= q->confirm;
  int old_count = s->count;
  double old_start = s->start;
  if (r->ok) {
    s->count = 0;
    s->start = 0;
  } else {
    if (s->count == 0)
      s->start = r->ts;
    if (s->count < INT_MAX)
      s->count++;
  }
  s->last_ts = r->ts;
  /* Persist only real changes: an ok after an ok rewrote every streak of
   * every batch (10,000 rows per batch at 10,000 series). The stored
   * last_ts may then lag, which is safe: committed results are never sent
   * again (docs/wire.md), so nothing older than it can come back. */
  if (s->count != old_count || s->start != old_start) {
    st = quorum_run_touch(q, s);
    if (st != VT_OK)
      return st;
  }
  if (r->ts > ent->last_ts)
    ent->last_ts = r->ts;
  bool down = s->count >= q->confirm;
  if (was == down)
    return VT_OK;
  /* The probe's view of the entity changed: it saw it down from the first
   * failure of the streak to the first ok after it. */
  const struct quorum_down d = {
      .target = tgt->name,
      .key = ent->key,
      .client = ent->client,
      .check = s->check,
      .probe = s->probe,
      .start = down ? s->start : old_start,
      .end = down ? NAN : r->ts,
  };
  return q->ops.down_put(q->arg, &d);
}

/* ---- lifetime, loading and flushing ------------------------------------- */

struct quorum *quorum_create(int quorum, int confirm, double silence_s,
                             const struct quorum_ops *ops, void *arg)
{
  struct quorum *q = calloc(1, sizeof(*q));
  if (!q) {
    quorum_oom();
    return NULL;
  }
  q->ops = *ops;
  q->arg = arg;
  quorum_set(q, quorum, confirm, silence_s);
  return q;
}

void quorum_destroy(struct quorum *q)
{
  if (!q)
    return;
  quorum_clear(q);
  free(q->dirty);
  free(q);
}

void quorum_set(struct quorum *q, int quorum, int confirm, double silence_s)
{
  q->quorum = quorum < 1 ? 1 : quorum;
  q->confirm = confirm < 1 ? 1 : confirm;
  if (silence_s > 0)
    q->silence_s = silence_s;
}

void quorum_clear(struct quorum *q)
{
  for (size_t i = 0; i < q->targets.cap; i++) {
    struct quorum_hnode *nd = q->targets.b[i];
    while (nd) {
      struct quorum_hnode *next = nd->next;
      struct quorum_target *t = container_of(nd, struct quorum_target, node);
      for (size_t j = 0; j < t->n_ents; j++) {
        struct quorum_ent *e = t->ents[j];
        for (size_t k = 0; k < e->n_st; k++)
          free(e->st[k]);
        free(e->st);
        free(e);
      }
      free(t->ents);
      free(t);
      nd = next;
    }
  }
  free(q->targets.b);
  free(q->ents.b);
  q->targets = q->ents = (struct quorum_htab){0};
  q->n_dirty = 0;
}

enum vt_status quorum_load_streak(struct quorum *q,
                                  const struct quorum_streak *s)
{
  bool client = !s->ip[0]; /* client views are stored with ip '' */
  enum vt_status st;
  struct quorum_target *tgt = quorum_target_find(q, s->target, true, &st);
  struct quorum_ent *ent =
      tgt ? quorum_ent_find(q, tgt, client ? s->check : s->ip, client, &st)
          : NULL;
  struct quorum_run *k =
      ent ? quorum_run_find(ent, s->probe, s->check, &st) : NULL;
  if (!k)
    return st;
  k->start = s->start;
  k->count = s->count;
  k->last_ts = s->last_ts;
  if (k->last_ts > ent->last_ts)
    ent->last_ts = k->last_ts;
  return VT_OK;
}

enum vt_status quorum_flush(struct quorum *q)
{
  for (size_t i = 0; i < q->n_dirty; i++) {
    const struct quorum_run *k = q->dirty[i];
    const struct quorum_ent *e = k->ent;
    const struct quorum_streak s = {
        .target = e->tgt->name,
        .check = k->check,
        .ip = e->client ? "" : e->key,
        .probe = k->probe,
        .start = k->start,
        .count = k->count,
        .last_ts = k->last_ts,
    };
    enum vt_status st = q->ops.streak_put(q->arg, &s);
    if (st != VT_OK)
      return st;
  }
  for (size_t i = 0; i < q->n_dirty; i++)
    q->dirty[i]->dirty = false;
  q->n_dirty = 0;
  return VT_OK;
}

/* ---- verdicts from the probes' views ------------------------------------ */

struct quorum_edge {
  double t;
  bool retired; /* an end by retirement */
  int delta;    /* +1 at a start, -1 at an end */
  size_t probe; /* index into the distinct probes */
};

static int quorum_edge_cmp(const void *a, const void *b)
{
  const struct quorum_edge *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->delta - y->delta; /* irrelevant: a whole time is applied */
}

void quorum_segs_free(struct quorum_seg *segs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    quorum_names_cleanup(&segs[i].probes);
  free(segs);
}

/* A sweep over the starts and ends: between two consecutive times the
 * number of probes that see the entity down is constant, which decides the
 * kind of that piece; neighbouring pieces of one kind are one segment. */
enum vt_status quorum_sweep(const struct quorum_iv *iv, size_t n, int quorum,
                            struct quorum_seg **out, size_t *nout)
{
  *out = NULL;
  *nout = 0;
  if (!n)
    return VT_OK;
  struct quorum_names probes = {0};
  struct quorum_edge *e = calloc(2 * n, sizeof(*e));
  int *count = NULL;
  struct quorum_seg *segs = NULL;
  size_t nseg = 0, capseg = 0;
  enum vt_status st = e ? VT_OK : quorum_oom();
  for (size_t i = 0; i < n && st == VT_OK; i++)
    st = quorum_names_add(&probes, iv[i].probe);
  if (st == VT_OK && !(count = calloc(probes.n, sizeof(*count))))
    st = quorum_oom();
  if (st != VT_OK)
    goto out;
  size_t ne = 0;
  for (size_t i = 0; i < n; i++) {
    size_t p = 0;
    while (strcmp(probes.v[p], iv[i].probe) != 0)
      p++;
    if (!(iv[i].end > iv[i].start))
      continue; /* a view of no duration decides nothing */
    e[ne++] = (struct quorum_edge){.t = iv[i].start, .delta = 1, .probe = p};
    if (isfinite(iv[i].end))
      e[ne++] = (struct quorum_edge){
          .t = iv[i].end, .delta = -1, .probe = p, .retired = iv[i].retired};
  }
  qsort(e, ne, sizeof(*e), quorum_edge_cmp);
  int down = 0;
  struct quorum_seg *cur = NULL;
  for (size_t i = 0; i < ne && st == VT_OK;) {
    double t = e[i].t;
    bool retired = false;
    for (; i < ne && e[i].t == t; i++) {
      retired |= e[i].retired;
      int before = count[e[i].probe];
      count[e[i].probe] += e[i].delta;
      down += (before == 0) - (count[e[i].probe] == 0);
    }
    int kind = down >= quorum ? 2 : down > 0 ? 1 : 0;
    if (cur && (int)cur->outage + 1 != kind) {
      cur->end = t;
      cur->retired = retired;
      cur = NULL;
    }
    if (!kind)
      continue;
    if (!cur) {
      void *v = quorum_grow(segs, &capseg, nseg + 1, sizeof(*segs));
      if (!v) {
        st = VT_ENOMEM;
        break;
      }
      segs = v;
      cur = &segs[nseg++];
      *cur =
          (struct quorum_seg){.outage = kind == 2, .start = t, .end = INFINITY};
    }
    if (down > cur->seen_by)
      cur->seen_by = down;
    for (size_t p = 0; p < probes.n && st == VT_OK; p++)
      if (count[p] > 0)
        st = quorum_names_add(&cur->probes, probes.v[p]);
  }
  if (st == VT_OK) {
    *out = segs;
    *nout = nseg;
    segs = NULL;
    nseg = 0;
  }
out:
  quorum_segs_free(segs, nseg);
  quorum_names_cleanup(&probes);
  free(count);
  free(e);
  return st;
}
