/* SPDX-License-Identifier: MIT */
/* Address set bookkeeping for the fan-out (see addrset.h). */
#include "config.h"

#include "addrset.h"

#include <stdio.h>
#include <string.h>

void addrset_init(struct addrset *as, double keep_gone_s)
{
  as->n = 0;
  as->keep_gone_s = keep_gone_s;
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
  if (as->n == ADDRSET_MAX)
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

size_t addrset_update(struct addrset *as, char const *const *ips, size_t n,
                      double now)
{
  bool was[ADDRSET_MAX];
  for (size_t i = 0; i < as->n; i++) {
    was[i] = as->e[i].in_answer;
    as->e[i].in_answer = false;
  }
  size_t before = as->n;
  size_t dropped = 0;
  for (size_t i = 0; i < n; i++) {
    struct addrset_entry *e = addrset_get_or_add(as, ips[i], now);
    if (!e) {
      dropped++;
      continue;
    }
    e->in_answer = true;
    e->last_seen = now;
  }
  for (size_t i = 0; i < before; i++)
    if (was[i] && !as->e[i].in_answer)
      as->e[i].left_at = now;
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
    if (addrset_entry_active(as, &as->e[i], now))
      as->e[kept++] = as->e[i];
    else
      dropped++;
  }
  as->n = kept;
  return dropped;
}
