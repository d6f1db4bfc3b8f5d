/* SPDX-License-Identifier: MIT */
/* Unit tests for the fan-out address set: answers, keep_gone, statics. */
#include "config.h"

#include "addrset.h"
#include "tap.h"

int main(void)
{
  tap_plan(24);
  struct addrset as;
  addrset_init(&as, 60.0);
  const char *a1[] = {"192.0.2.10", "192.0.2.11"};
  tap_ok(addrset_update(&as, a1, 2, 1000.0) == 0, "first answer fits");
  tap_ok(as.n == 2, "two addresses");
  tap_ok(addrset_add_static(&as, "198.51.100.1", 1000.0), "static added");

  /* The DNS switch: .10/.11 leave the answer, .20 arrives. */
  const char *a2[] = {"192.0.2.20"};
  addrset_update(&as, a2, 1, 1010.0);
  int i10 = addrset_find(&as, "192.0.2.10");
  tap_ok(i10 >= 0 && !as.e[i10].in_answer, "old address left the answer");
  tap_ok(addrset_entry_active(&as, &as.e[i10], 1069.0),
         "old address still checked before keep_gone");
  tap_ok(!addrset_entry_active(&as, &as.e[i10], 1070.5),
         "old address inactive after keep_gone");
  tap_ok(addrset_expire(&as, 1069.0) == 0, "nothing expires early");
  tap_ok(addrset_expire(&as, 1071.0) == 2, "both old addresses expire");
  tap_ok(addrset_find(&as, "198.51.100.1") >= 0, "static never expires");
  tap_ok(addrset_find(&as, "192.0.2.20") >= 0, "new address kept");

  /* An address that comes back is active again with a fresh last_seen. */
  const char *a3[] = {"192.0.2.20", "192.0.2.10"};
  addrset_update(&as, a3, 2, 2000.0);
  i10 = addrset_find(&as, "192.0.2.10");
  tap_ok(i10 >= 0 && as.e[i10].in_answer && as.e[i10].first_seen == 2000.0,
         "returning address re-enters");

  /* An empty answer (NXDOMAIN) keeps everything for keep_gone. */
  addrset_update(&as, NULL, 0, 3000.0);
  tap_ok(addrset_expire(&as, 3059.0) == 0, "empty answer: kept for now");
  tap_ok(addrset_expire(&as, 3061.0) == 2, "empty answer: gone after");

  /* Capacity: extra addresses are dropped and counted. */
  struct addrset big;
  addrset_init(&big, 1.0);
  char ips[ADDRSET_MAX + 3][32];
  const char *ptr[ADDRSET_MAX + 3];
  for (int k = 0; k < ADDRSET_MAX + 3; k++) {
    snprintf(ips[k], sizeof(ips[k]), "10.0.%d.%d", k / 250, k % 250);
    ptr[k] = ips[k];
  }
  tap_ok(addrset_update(&big, ptr, ADDRSET_MAX + 3, 1.0) == 3,
         "overflow counted");
  tap_ok(big.n == ADDRSET_MAX && big.cap == ADDRSET_MAX,
         "a full set holds ADDRSET_MAX entries");
  addrset_cleanup(&big);

  /* Memory follows the content: an empty set holds no array, a set of two
   * addresses room for two. */
  struct addrset small;
  addrset_init(&small, 60.0);
  tap_ok(small.e == NULL && small.cap == 0, "an empty set allocates nothing");
  addrset_update(&small, a1, 2, 1.0);
  addrset_update(&small, a1, 2, 2.0);
  tap_ok(small.n == 2 && small.cap == 2, "two addresses: room for two");

  /* A reloaded target adopts what the old one learnt, never as static and
   * never twice. */
  struct addrset re;
  addrset_init(&re, 60.0);
  tap_ok(addrset_add_static(&re, "192.0.2.10", 1.0) &&
             addrset_adopt(&re, &small.e[0]) && addrset_adopt(&re, &small.e[1]),
         "adopted");
  int i11 = addrset_find(&re, "192.0.2.11");
  tap_ok(re.n == 2 && i11 >= 0 && !re.e[i11].is_static &&
             re.e[addrset_find(&re, "192.0.2.10")].is_static,
         "adopted once each, the new config's static kept");
  addrset_cleanup(&re);
  addrset_cleanup(&small);

  /* Answers rotating through a pool of 200 with a long keep_gone: the set
   * fills with addresses that left, and the current answer must still be
   * in it, first, every round. */
  struct addrset rot;
  addrset_init(&rot, 600.0);
  char pool[200][32];
  for (int k = 0; k < 200; k++)
    snprintf(pool[k], sizeof(pool[k]), "203.0.113.%d", k);
  bool all_in = true, first = true, none_dropped = true, full = false;
  for (int round = 0; round < 30; round++) {
    const char *ans[20];
    for (int k = 0; k < 20; k++)
      ans[k] = pool[(round * 20 + k) % 200];
    double now = 1000.0 + 10.0 * round; /* well inside keep_gone */
    none_dropped &= addrset_update(&rot, ans, 20, now) == 0;
    addrset_expire(&rot, now);
    full |= rot.n == ADDRSET_MAX;
    for (int k = 0; k < 20; k++) {
      int i = addrset_find(&rot, ans[k]);
      all_in &= i >= 0 && rot.e[i].in_answer &&
                addrset_entry_active(&rot, &rot.e[i], now);
      first &= i >= 0 && i < 20;
    }
  }
  tap_ok(full, "rotating pool: the set filled up");
  tap_ok(none_dropped, "rotating pool: no address of an answer dropped");
  tap_ok(all_in, "rotating pool: every current address is in the set");
  tap_ok(first, "rotating pool: the current answer comes first");
  /* The stale entries kept are the most recent ones. */
  int newest_stale = addrset_find(&rot, pool[(28 * 20) % 200]);
  int oldest = addrset_find(&rot, pool[0]);
  tap_ok(newest_stale == 20 && oldest < 0,
         "rotating pool: the stalest addresses gave way");
  addrset_cleanup(&rot);
  addrset_cleanup(&as);
  return tap_done();
}
