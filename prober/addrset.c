/* SPDX-License-Identifier: MIT */
/* Address set bookkeeping for the fan-out (see addrset.h). */
#include "config.h"

#include "addrset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void addrset_init(struct addrset *as, double keep_gone_s)
{
  *as = (struct addrset){.keep_gone_s = keep_gone_s};
}

void addrset_cleanup(struct addrset *as)
{
  free(as->e);
  addrset_init(as, as->keep_gone_s);
}

/* Room for one more entry: the array grows 1, 2, 4, ... up to
 * ADDRSET_MAX, so a set of one or two addresses costs one or two entries.
 * False when full or out of memory. */
static bool addrset_reserve(struct addrset *as)
{
  if (as->n < as->cap)
    return true;
  if (as->cap >= ADDRSET_MAX)
    return false;
  size_t cap = as->cap ? 2 * as->cap : 1;
  if (cap > ADDRSET_MAX)
    cap = ADDRSET_MAX;
  struct addrset_entry *e = realloc(as->e, cap * sizeof(*e));
  if (!e)
    return false;
  as->e = e;
  as->cap = cap;
  return true;
}

int addrset_find(const struct addrset *as, const char *ip)
{
  for (size_t i = 0; i < as->n; i++)
    if (strcmp(as->e[i].ip, ip) == 0)
      return (int)i;
  return -1;
}

static struct addrset_entry *addrset_get_or_add(struct addrset *as,
                                                const char *ip, double now)
{
  int i = addrset_find(as, ip);
  if (i >= 0)
    return &as->e[i];
  if (!addrset_reserve(as))
    return NULL;
  struct addrset_entry *e = &as->e[as->n++];
  *e = (struct addrset_entry){
      .first_seen = now, .last_seen = now, .left_at = now};
  snprintf(e->ip, sizeof(e->ip), "%s", ip);
  return e;
}

bool addrset_add_static(struct addrset *as, const char *ip, double now)
{
  struct addrset_entry *e = addrset_get_or_add(as, ip, now);
  if (e)
    e->is_static = true;
  return e != NULL;
}

bool addrset_adopt(struct addrset *as, const struct addrset_entry *e)
{
  if (addrset_find(as, e->ip) >= 0)
    return true;
  if (!addrset_reserve(as))
    return false;
  as->e[as->n] = *e;
  as->e[as->n].is_static = false;
  as->n++;
  return true;
}

/* The entry to give up for an address of the current answer when the set
 * is full: the one that left the answer longest ago. Static entries and
 * those in the answer never give way. -1 when there is none. */
static int addrset_stalest(const struct addrset *as)
{
  int best = -1;
  for (size_t i = 0; i < as->n; i++) {
    const struct addrset_entry *e = &as->e[i];
    if (e->in_answer || e->is_static)
      continue;
    if (best < 0 || e->left_at < as->e[best].left_at)
      best = (int)i;
  }
  return best;
}

/* Orders the set: the current answer first, then static addresses, then
 * those that left the answer, most recent first. A round starts its
 * checks in this order, so when the probe's budget cannot start them all,
 * the addresses clients are sent to now are the ones checked. */
static int addrset_rank(const struct addrset_entry *e)
{
  return e->in_answer ? 0 : e->is_static ? 1 : 2;
}

static void addrset_order(struct addrset *as)
{
  /* Insertion sort, stable: at most ADDRSET_MAX entries. */
  for (size_t i = 1; i < as->n; i++) {
    struct addrset_entry x = as->e[i];
    size_t j = i;
    while (j > 0) {
      const struct addrset_entry *p = &as->e[j - 1];
      int rp = addrset_rank(p), rx = addrset_rank(&x);
      if (rp < rx || (rp == rx && (rx != 2 || p->left_at >= x.left_at)))
        break;
      as->e[j] = as->e[j - 1];
      j--;
    }
    as->e[j] = x;
  }
}

size_t addrset_update(struct addrset *as, char const *const *ips, size_t n,
                      double now)
{
  bool was[ADDRSET_MAX];
  for (size_t i = 0; i < as->n; i++) {
    was[i] = as->e[i].in_answer;
    as->e[i].in_answer = false;
  }
  /* First mark what the set already holds, so that making room for the
   * new addresses never gives up one of the answer. */
  for (size_t i = 0; i < n; i++) {
    int k = addrset_find(as, ips[i]);
    if (k >= 0) {
      as->e[k].in_answer = true;
      as->e[k].last_seen = now;
    }
  }
  for (size_t i = 0; i < as->n; i++)
    if (was[i] && !as->e[i].in_answer)
      as->e[i].left_at = now;
  size_t dropped = 0;
  for (size_t i = 0; i < n; i++) {
    if (addrset_find(as, ips[i]) >= 0)
      continue;
    if (as->n == ADDRSET_MAX) {
      /* Full: an address that left the answer gives way before
       * keep_gone ends; the current answer always comes first. */
      int k = addrset_stalest(as);
      if (k < 0) {
        dropped++;
        continue;
      }
      memmove(&as->e[k], &as->e[k + 1],
              (as->n - (size_t)k - 1) * sizeof(as->e[0]));
      as->n--;
    }
    struct addrset_entry *e = addrset_get_or_add(as, ips[i], now);
    if (!e) {
      dropped++; /* out of memory: counted like an address with no room */
      continue;
    }
    e->in_answer = true;
  }
  addrset_order(as);
  return dropped;
}

bool addrset_entry_active(const struct addrset *as,
                          const struct addrset_entry *e, double now)
{
  return e->in_answer || e->is_static || now - e->left_at < as->keep_gone_s;
}

size_t addrset_expire(struct addrset *as, double now)
{
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < as->n; i++) {
    if (addrset_entry_active(as, &as->e[i], now)) {
      if (kept != i) /* a set with nothing to drop is not rewritten */
        as->e[kept] = as->e[i];
      kept++;
    } else
      dropped++;
  }
  as->n = kept;
  return dropped;
}
