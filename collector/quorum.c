/* SPDX-License-Identifier: MIT */
/* The quorum engine that turns failed tcp/http/client results into outage,
 * partial and host rows (quorum.h; rules in docs/collector.md, "Events"
 * and "Quorum"). Storage is the owner's: rows and streaks go out through
 * struct quorum_ops.
 *
 * Decisions where the documents are silent:
 * - Host rows are kind 'outage', scope 'host', ip NULL, with the state
 *   ('degraded' or 'down') in a `state` column; each state period is its
 *   own row (degraded -> down closes one row and opens the next).
 * - One address, several checks (tcp:443 and http): a probe sees the
 *   address down while any of its checks on it has `confirm` failures in a
 *   row, since the earliest start among those streaks.
 * - A client check is its own quorum entity per (target, check name); it
 *   has no row of its own and sets the host down while `quorum` probes see
 *   it fail.
 * - Quorum state lives in memory (hash tables); the streaks a batch changed
 *   go to the owner at commit (quorum_flush), and after a rollback the
 *   owner reloads the whole engine (rare, and obviously correct). */
#include "config.h"

#include "quorum.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grow.h"
#include "log.h"
#include "result.h"
#include "vt_time.h"

#define quorum_container_of(p, type, member)                                   \
  ((type *)(void *)((char *)(p)-offsetof(type, member)))

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

/* An open row of the outages table, as the engine sees it. */
struct quorum_slot {
  int64_t id; /* 0 = none open */
  double start;
  int seen_by, of_probes;
  struct quorum_names probes; /* every probe that saw it down so far */
};

enum quorum_host {
  QUORUM_HOST_UP,
  QUORUM_HOST_DEGRADED,
  QUORUM_HOST_DOWN,
};

struct quorum_target {
  struct quorum_hnode node;
  char name[QUORUM_NAME_LEN];
  struct quorum_ent **ents; /* its addresses and client views */
  size_t n_ents, cap_ents;
  enum quorum_host host;
  struct quorum_slot host_row;
};

/* A quorum entity: an address of a target, or a client view. */
struct quorum_ent {
  struct quorum_hnode node;
  struct quorum_target *tgt;
  char key[QUORUM_NAME_LEN]; /* the address, or the client check's name */
  bool client;
  bool down;      /* in outage (address) or failing from a quorum (client) */
  double last_ts; /* latest result from any probe */
  struct quorum_run **st;
  size_t n_st, cap_st;
  struct quorum_slot outage, partial; /* addresses only */
};

struct quorum {
  int quorum, confirm;
  double silence_s;
  struct quorum_ops ops;
  void *arg;
  struct quorum_htab targets, ents;
  struct quorum_run **dirty; /* to hand out at the next flush */
  size_t n_dirty, cap_dirty;
  uint64_t outages_open, partial_open;
};

static const char *quorum_host_name(enum quorum_host h)
{
  switch (h) {
  case QUORUM_HOST_UP:
    return "up";
  case QUORUM_HOST_DEGRADED:
    return "degraded";
  case QUORUM_HOST_DOWN:
    return "down";
  }
  return "?";
}

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
    struct quorum_target *t =
        quorum_container_of(nd, struct quorum_target, node);
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
    struct quorum_ent *e = quorum_container_of(nd, struct quorum_ent, node);
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

static void quorum_slot_clear(struct quorum_slot *slot)
{
  quorum_names_cleanup(&slot->probes);
  *slot = (struct quorum_slot){0};
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

/* A probe that sees an entity down, since when. */
struct quorum_seen {
  const char *probe;
  double since;
};

static int quorum_seen_cmp(const void *a, const void *b)
{
  const struct quorum_seen *x = a, *y = b;
  if (x->since != y->since)
    return x->since < y->since ? -1 : 1;
  return strcmp(x->probe, y->probe);
}

/* The probes that see ent down now (a confirmed streak on any of their
 * checks, since the earliest start among those), sorted by that start, into
 * *out (caller frees); and in *of_probes the probes that reported on ent
 * within silence_s before ts, at least as many as see it down. Linear in
 * the entity's streaks, and only run when a probe's view changes. */
static enum vt_status quorum_seen_down(const struct quorum *q,
                                       const struct quorum_ent *ent, double ts,
                                       struct quorum_seen **out, size_t *n,
                                       int *of_probes)
{
  *out = NULL;
  *n = 0;
  *of_probes = 0;
  if (!ent->n_st)
    return VT_OK;
  struct quorum_seen *d = calloc(ent->n_st, sizeof(*d));
  const char **fresh = calloc(ent->n_st, sizeof(*fresh));
  if (!d || !fresh) {
    free(d);
    free(fresh);
    return quorum_oom();
  }
  size_t nd = 0, nf = 0;
  for (size_t i = 0; i < ent->n_st; i++) {
    const struct quorum_run *s = ent->st[i];
    if (s->last_ts >= ts - q->silence_s) {
      size_t j = 0;
      while (j < nf && strcmp(fresh[j], s->probe) != 0)
        j++;
      if (j == nf)
        fresh[nf++] = s->probe;
    }
    if (s->count < q->confirm)
      continue;
    size_t j = 0;
    while (j < nd && strcmp(d[j].probe, s->probe) != 0)
      j++;
    if (j == nd)
      d[nd++] = (struct quorum_seen){.probe = s->probe, .since = s->start};
    else if (s->start < d[j].since)
      d[j].since = s->start;
  }
  free(fresh);
  qsort(d, nd, sizeof(*d), quorum_seen_cmp);
  *out = d;
  *n = nd;
  *of_probes = (int)(nf > nd ? nf : nd);
  return VT_OK;
}

/* ---- outage rows -------------------------------------------------------- */

/* The row of an address: its outage or its partial event. */
static struct quorum_row quorum_addr_row(const struct quorum_ent *ent,
                                         const struct quorum_slot *slot)
{
  return (struct quorum_row){
      .target = ent->tgt->name,
      .ip = ent->key,
      .kind = slot == &ent->outage ? "outage" : "partial",
  };
}

/* The row of a host in state h. */
static struct quorum_row quorum_host_row(const struct quorum_target *tgt,
                                         enum quorum_host h)
{
  return (struct quorum_row){
      .target = tgt->name, .kind = "outage", .state = quorum_host_name(h)};
}

/* Fills the rest of row from slot, its probes joined into buf. */
static enum vt_status quorum_row_fill(struct quorum_row *row,
                                      const struct quorum_slot *slot,
                                      struct vt_buf *buf)
{
  enum vt_status st = quorum_names_join(&slot->probes, buf);
  row->id = slot->id;
  row->start = slot->start;
  row->probes = vt_buf_str(buf);
  row->seen_by = slot->seen_by;
  row->of_probes = slot->of_probes;
  return st;
}

/* Stores slot (its start, probes and counts set) as the open row `row`
 * names, and keeps its id. now bounds the maintenance overlap while the row
 * is open. */
static enum vt_status quorum_slot_insert(struct quorum *q,
                                         struct quorum_slot *slot,
                                         struct quorum_row row, double now)
{
  struct vt_buf probes;
  vt_buf_init(&probes, 0);
  enum vt_status st = quorum_row_fill(&row, slot, &probes);
  int64_t id = 0;
  if (st == VT_OK)
    st = q->ops.row_open(q->arg, &row, now, &id);
  if (st == VT_OK)
    slot->id = id;
  vt_buf_cleanup(&probes);
  return st;
}

/* Writes slot's probes and counts, and its end unless end is NaN (still
 * open; then now bounds the maintenance overlap). */
static enum vt_status quorum_slot_update(struct quorum *q,
                                         const struct quorum_slot *slot,
                                         struct quorum_row row, double end,
                                         double now)
{
  struct vt_buf probes;
  vt_buf_init(&probes, 0);
  enum vt_status st = quorum_row_fill(&row, slot, &probes);
  if (st == VT_OK)
    st = q->ops.row_update(q->arg, &row, end, now);
  vt_buf_cleanup(&probes);
  return st;
}

/* Merges the probes of d into slot and raises its counts; *changed tells
 * whether the row needs writing. */
static enum vt_status quorum_slot_grow(struct quorum_slot *slot,
                                       const struct quorum_seen *d, size_t n,
                                       int of_probes, bool *changed)
{
  size_t before = slot->probes.n;
  for (size_t i = 0; i < n; i++) {
    enum vt_status st = quorum_names_add(&slot->probes, d[i].probe);
    if (st != VT_OK)
      return st;
  }
  *changed = slot->probes.n != before;
  if ((int)n > slot->seen_by) {
    slot->seen_by = (int)n;
    *changed = true;
  }
  if (of_probes > slot->of_probes) {
    slot->of_probes = of_probes;
    *changed = true;
  }
  return VT_OK;
}

/* Opens an address row (ent's outage or partial) from start. */
static enum vt_status quorum_addr_open(struct quorum *q, struct quorum_ent *ent,
                                       struct quorum_slot *slot, double start,
                                       double now, const struct quorum_seen *d,
                                       size_t n, int of_probes)
{
  quorum_slot_clear(slot);
  slot->start = start;
  bool changed;
  struct quorum_row row = quorum_addr_row(ent, slot);
  enum vt_status st = quorum_slot_grow(slot, d, n, of_probes, &changed);
  if (st == VT_OK)
    st = quorum_slot_insert(q, slot, row, now);
  if (st != VT_OK)
    return st;
  if (slot == &ent->outage)
    q->outages_open++;
  else
    q->partial_open++;
  char iso[32];
  vt_notice("events: %s %s: %s from %s, seen by %d of %d", ent->tgt->name,
            ent->key, row.kind, vt_time_fmt_iso(start, iso, sizeof(iso)),
            slot->seen_by, slot->of_probes);
  return VT_OK;
}

/* Closes an open address row of ent at end (never before its start). A
 * partial event that ends where it began is dropped: probes share round
 * times, so one round often brings the first probe's confirmation and the
 * quorum, or the outage's end and the last probes' recovery, and a row of
 * no duration would only be noise. */
static enum vt_status quorum_addr_close(struct quorum *q,
                                        struct quorum_ent *ent,
                                        struct quorum_slot *slot, double end)
{
  enum vt_status st;
  if (end <= slot->start && slot == &ent->partial) {
    st = q->ops.row_drop(q->arg, slot->id);
    if (st != VT_OK)
      return st;
    vt_debug("events: %s %s: partial event of no duration dropped",
             ent->tgt->name, ent->key);
    q->partial_open--;
    quorum_slot_clear(slot);
    return VT_OK;
  }
  if (end < slot->start)
    end = slot->start;
  struct quorum_row row = quorum_addr_row(ent, slot);
  st = quorum_slot_update(q, slot, row, end, end);
  if (st != VT_OK)
    return st;
  char dur[32], iso[32];
  vt_notice("events: %s %s: %s ended at %s after %s", ent->tgt->name,
            ent->key, row.kind, vt_time_fmt_iso(end, iso, sizeof(iso)),
            vt_time_fmt_duration(end - slot->start, dur, sizeof(dur)));
  if (slot == &ent->outage)
    q->outages_open--;
  else
    q->partial_open--;
  quorum_slot_clear(slot);
  return VT_OK;
}

/* ---- host state --------------------------------------------------------- */

/* Recomputes the host state of tgt after one of its entities changed at
 * `at` (measurement time); ts is the result being applied. An address
 * counts while some probe reported on it within silence_s before ts, so an
 * address dropped from DNS stops holding the host down. A new host row
 * never starts before the one it replaces. */
static enum vt_status quorum_host_update(struct quorum *q,
                                         struct quorum_target *tgt, double at,
                                         double ts)
{
  size_t known = 0, out = 0;
  bool client_down = false;
  for (size_t i = 0; i < tgt->n_ents; i++) {
    const struct quorum_ent *e = tgt->ents[i];
    if (e->client) {
      client_down |= e->down;
    } else if (e->last_ts >= ts - q->silence_s) {
      known++;
      out += e->down;
    }
  }
  enum quorum_host state = QUORUM_HOST_UP;
  if (client_down || (known && out == known))
    state = QUORUM_HOST_DOWN;
  else if (out)
    state = QUORUM_HOST_DEGRADED;
  if (state == tgt->host)
    return VT_OK;

  enum vt_status st = VT_OK;
  struct quorum_slot *slot = &tgt->host_row;
  if (slot->id && at < slot->start)
    at = slot->start;
  if (slot->id) {
    st = quorum_slot_update(q, slot, quorum_host_row(tgt, tgt->host), at, at);
    if (st != VT_OK)
      return st;
    quorum_slot_clear(slot);
  }
  char iso[32];
  vt_notice("events: %s: host %s -> %s at %s", tgt->name,
            quorum_host_name(tgt->host), quorum_host_name(state),
            vt_time_fmt_iso(at, iso, sizeof(iso)));
  tgt->host = state;
  if (state == QUORUM_HOST_UP)
    return VT_OK;

  /* probes: every probe that sees one of the down entities down; of_probes:
   * every probe that reported on the target lately. */
  struct quorum_names fresh = {0};
  slot->start = at;
  for (size_t i = 0; i < tgt->n_ents && st == VT_OK; i++) {
    const struct quorum_ent *e = tgt->ents[i];
    for (size_t k = 0; k < e->n_st && st == VT_OK; k++)
      if (e->st[k]->last_ts >= ts - q->silence_s)
        st = quorum_names_add(&fresh, e->st[k]->probe);
    if (!e->down || st != VT_OK)
      continue;
    struct quorum_seen *d;
    size_t n;
    int of;
    st = quorum_seen_down(q, e, ts, &d, &n, &of);
    for (size_t k = 0; k < n && st == VT_OK; k++)
      st = quorum_names_add(&slot->probes, d[k].probe);
    free(d);
  }
  if (st == VT_OK) {
    slot->seen_by = (int)slot->probes.n;
    slot->of_probes =
        (int)(fresh.n > slot->probes.n ? fresh.n : slot->probes.n);
    st = quorum_slot_insert(q, slot, quorum_host_row(tgt, state), ts);
  }
  quorum_names_cleanup(&fresh);
  return st;
}

/* ---- quorum ------------------------------------------------------------- */

/* Re-evaluates ent after a probe's view of it changed (docs/collector.md,
 * "Quorum"). ts is the result that changed it. */
static enum vt_status quorum_evaluate(struct quorum *q, struct quorum_ent *ent,
                                      double ts)
{
  struct quorum_seen *d;
  size_t n;
  int of;
  enum vt_status st = quorum_seen_down(q, ent, ts, &d, &n, &of);
  if (st != VT_OK)
    return st;
  size_t need = (size_t)q->quorum;

  if (ent->client) {
    bool down = n >= need;
    if (down != ent->down) {
      ent->down = down;
      vt_notice("events: %s client view %s: %s", ent->tgt->name, ent->key,
                down ? "failing from a quorum of probes" : "recovered");
      st = quorum_host_update(q, ent->tgt, down ? d[need - 1].since : ts, ts);
    }
  } else if (!ent->down && n >= need) {
    /* The condition first held when the quorum-th probe's streak began. */
    double start = d[need - 1].since;
    if (ent->partial.id)
      st = quorum_addr_close(q, ent, &ent->partial, start);
    if (st == VT_OK)
      st = quorum_addr_open(q, ent, &ent->outage, start, ts, d, n, of);
    if (st == VT_OK) {
      ent->down = true;
      st = quorum_host_update(q, ent->tgt, start, ts);
    }
  } else if (ent->down && n < need) {
    st = quorum_addr_close(q, ent, &ent->outage, ts);
    if (st == VT_OK && n > 0)
      st = quorum_addr_open(q, ent, &ent->partial, ts, ts, d, n, of);
    if (st == VT_OK) {
      ent->down = false;
      st = quorum_host_update(q, ent->tgt, ts, ts);
    }
  } else if (ent->down) {
    /* Still in outage: more probes may have joined. */
    bool changed;
    st = quorum_slot_grow(&ent->outage, d, n, of, &changed);
    if (st == VT_OK && changed)
      st = quorum_slot_update(q, &ent->outage,
                              quorum_addr_row(ent, &ent->outage), NAN, ts);
  } else if (!ent->partial.id && n > 0) {
    st = quorum_addr_open(q, ent, &ent->partial, d[0].since, ts, d, n, of);
  } else if (ent->partial.id && n == 0) {
    st = quorum_addr_close(q, ent, &ent->partial, ts);
  } else if (ent->partial.id) {
    bool changed;
    st = quorum_slot_grow(&ent->partial, d, n, of, &changed);
    if (st == VT_OK && changed)
      st = quorum_slot_update(q, &ent->partial,
                              quorum_addr_row(ent, &ent->partial), NAN, ts);
  }
  free(d);
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
  if (was == (s->count >= q->confirm))
    return VT_OK;
  return quorum_evaluate(q, ent, r->ts);
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
      struct quorum_target *t =
          quorum_container_of(nd, struct quorum_target, node);
      for (size_t j = 0; j < t->n_ents; j++) {
        struct quorum_ent *e = t->ents[j];
        for (size_t k = 0; k < e->n_st; k++)
          free(e->st[k]);
        free(e->st);
        quorum_slot_clear(&e->outage);
        quorum_slot_clear(&e->partial);
        free(e);
      }
      free(t->ents);
      quorum_slot_clear(&t->host_row);
      free(t);
      nd = next;
    }
  }
  free(q->targets.b);
  free(q->ents.b);
  q->targets = q->ents = (struct quorum_htab){0};
  q->n_dirty = 0;
  q->outages_open = q->partial_open = 0;
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

enum vt_status quorum_load_row(struct quorum *q, const struct quorum_row *row,
                               int64_t *dup)
{
  *dup = 0;
  enum vt_status st;
  struct quorum_target *tgt = quorum_target_find(q, row->target, true, &st);
  if (!tgt)
    return st;
  struct quorum_slot *slot;
  struct quorum_ent *ent = NULL;
  if (!row->ip) {
    slot = &tgt->host_row;
  } else {
    if (!(ent = quorum_ent_find(q, tgt, row->ip, false, &st)))
      return st;
    slot = strcmp(row->kind, "outage") == 0 ? &ent->outage : &ent->partial;
  }
  if (slot->id) {
    /* Left by a version with a bug, or edited by hand: keep the newer. */
    *dup = slot->id;
    if (slot->id > row->id)
      return VT_OK;
    quorum_slot_clear(slot);
  }
  slot->id = row->id;
  slot->start = row->start;
  slot->seen_by = row->seen_by;
  slot->of_probes = row->of_probes;
  st = quorum_names_parse(&slot->probes, row->probes);
  if (st != VT_OK)
    return st;
  if (!ent)
    tgt->host = strcmp(row->state, "down") == 0 ? QUORUM_HOST_DOWN
                                                : QUORUM_HOST_DEGRADED;
  else if (slot == &ent->outage)
    ent->down = true;
  return VT_OK;
}

enum vt_status quorum_load_done(struct quorum *q)
{
  enum vt_status st = VT_OK;
  for (size_t i = 0; i < q->targets.cap; i++) {
    for (struct quorum_hnode *nd = q->targets.b[i]; nd; nd = nd->next) {
      struct quorum_target *t =
          quorum_container_of(nd, struct quorum_target, node);
      for (size_t j = 0; j < t->n_ents && st == VT_OK; j++) {
        struct quorum_ent *e = t->ents[j];
        q->outages_open += e->outage.id != 0;
        q->partial_open += e->partial.id != 0;
        if (!e->client)
          continue;
        struct quorum_seen *d;
        size_t n;
        int of;
        st = quorum_seen_down(q, e, e->last_ts, &d, &n, &of);
        e->down = n >= (size_t)q->quorum;
        free(d);
      }
    }
  }
  return st;
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

void quorum_counts(const struct quorum *q, uint64_t *outages_open,
                   uint64_t *partial_open)
{
  *outages_open = q->outages_open;
  *partial_open = q->partial_open;
}
