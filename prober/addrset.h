/* SPDX-License-Identifier: MIT */
/* The addresses a target's tcp/http checks fan out to: those in the latest
 * DNS answer, those that left the answer less than keep_gone seconds ago
 * (so old servers stay visible after a DNS switch), and static ones from the
 * config. Pure bookkeeping with explicit times, no I/O. */
#ifndef PROBE_ADDRSET_H
#define PROBE_ADDRSET_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

/* At most this many entries; the array grows to what the set holds. */
#define ADDRSET_MAX 64

struct addrset_entry {
  char ip[VT_IP_STRLEN];
  double first_seen; /* first time in an answer (or added statically) */
  double last_seen;  /* last answer that held it */
  double left_at;    /* first answer without it (valid when !in_answer) */
  bool in_answer;    /* in the latest answer */
  bool is_static;    /* from the config's ips list; never expires */
};

/* The entries live on the heap, sized to what the set holds (a target
 * with no address, a dns-only one, holds none): memory follows the
 * addresses, not ADDRSET_MAX. */
struct addrset {
  struct addrset_entry *e; /* n entries, room for cap; NULL when cap is 0 */
  size_t n, cap;
  double keep_gone_s;
};

/* Initializes an empty set (no allocation). */
void addrset_init(struct addrset *as, double keep_gone_s);

/* Frees the entries and leaves an empty set. */
void addrset_cleanup(struct addrset *as);

/* Adds a static address (normalized text). Returns false when full (or out
 * of memory). */
bool addrset_add_static(struct addrset *as, const char *ip, double now);

/* Adds a copy of e (from another set: a reloaded target keeps what it
 * learnt), as not static, unless the set holds its address already.
 * Returns false when full (or out of memory). */
bool addrset_adopt(struct addrset *as, const struct addrset_entry *e);

/* Records a new answer (the union over resolvers) seen at now. Addresses in
 * ips become in_answer; others leave the answer (last_seen kept). When the
 * set is full, a new address of the answer takes the place of the one that
 * left the answer longest ago (before its keep_gone ends); only when every
 * entry is in the answer or static is it dropped, and counted in the return
 * value (as is one the set has no memory for). Afterwards the entries are
 * ordered: the answer first, then static addresses, then those that left,
 * most recent first. */
size_t addrset_update(struct addrset *as, char const *const *ips, size_t n,
                      double now);

/* Drops entries that left the answer more than keep_gone_s before now.
 * Returns how many were dropped. */
size_t addrset_expire(struct addrset *as, double now);

/* True when the entry should still be checked at now. */
bool addrset_entry_active(const struct addrset *as,
                          const struct addrset_entry *e, double now);

/* Index of ip in the set, or -1. */
int addrset_find(const struct addrset *as, const char *ip);

#endif
