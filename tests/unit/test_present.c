/* SPDX-License-Identifier: MIT */
/* Unit tests for the presentation rules (graphs/present.h) and the UTF-8
 * validator (lib/utf8.h): one function, one test each, as tables and, for
 * the validator and the interval sets, exhaustive or randomized checks
 * against a simple model. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "present.h"
#include "tap.h"
#include "utf8.h"

/* Encodes cp (any value below 2^21) into out in the given number of bytes,
 * overlong when n is more than needed; returns n. */
static size_t enc(uint32_t cp, size_t n, unsigned char *out)
{
  static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
  for (size_t i = n - 1; i > 0; i--) {
    out[i] = (unsigned char)(0x80 | (cp & 0x3F));
    cp >>= 6;
  }
  out[0] = n == 1 ? (unsigned char)cp : (unsigned char)(lead[n] | cp);
  out[n] = 0;
  return n;
}

static void test_utf8(void)
{
  /* Every code point in its shortest form: accepted with its length and
   * value, except the surrogates; every one in a longer form: rejected. */
  size_t bad = 0, overlong_ok = 0;
  unsigned char b[8];
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    enc(cp, n, b);
    uint32_t got = 0xFFFFFFFF;
    size_t len = vt_utf8_seq(b, SIZE_MAX, &got);
    bool sur = cp >= 0xD800 && cp <= 0xDFFF;
    if (sur ? len != 0 : len != n || got != cp)
      bad++;
    for (size_t m = n + 1; m <= 4 && m > 1; m++) {
      enc(cp, m, b);
      overlong_ok += vt_utf8_seq(b, SIZE_MAX, NULL) != 0;
    }
  }
  tap_ok(bad == 0 && overlong_ok == 0,
         "vt_utf8_seq: all 1,114,112 code points in shortest form accepted "
         "(surrogates rejected), every overlong form rejected (%zu wrong, "
         "%zu overlong accepted)",
         bad, overlong_ok);
  static const struct {
    const char *in;
    size_t want;
  } cases[] = {
      {"\x80", 0},             /* stray continuation */
      {"\xC2", 0},             /* truncated by the NUL */
      {"\xE2\x82", 0},         /* truncated */
      {"\xE2\x82\x41", 0},     /* not a continuation */
      {"\xF4\x90\x80\x80", 0}, /* U+110000 */
      {"\xF5\x80\x80\x80", 0}, /* no such lead byte */
      {"\xFF", 0},
      {"\xC2\x85", 2}, /* U+0085, a C1 control: valid UTF-8 */
      {"\xE2\x82\xAC", 3},
      {"\xF0\x9F\x98\x80", 4},
  };
  size_t wrong = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (vt_utf8_seq((const unsigned char *)cases[i].in, SIZE_MAX, NULL) !=
        cases[i].want) {
      printf("#   case %zu: got %zu\n", i,
             vt_utf8_seq((const unsigned char *)cases[i].in, SIZE_MAX, NULL));
      wrong++;
    }
  /* A sequence cut by the end of the buffer, not by a NUL. */
  wrong += vt_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 2, NULL) != 0;
  wrong += vt_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 3, NULL) != 3;
  tap_ok(wrong == 0, "vt_utf8_seq: %zu malformed and valid edge cases",
         sizeof(cases) / sizeof(cases[0]));
}

#define FFFD "\xEF\xBF\xBD"

static void test_esc(void)
{
  static const struct {
    const char *in;
    int len; /* -1: strlen */
    const char *want;
  } cases[] = {
      {"plain text 1-2", -1, "plain text 1-2"},
      {"<a href=\"x\">'&'</a>", -1,
       "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"},
      {"tab\there\nline", -1, "tab here line"},
      {"bell\x07 del\x7f", -1, "bell" FFFD " del" FFFD},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", -1,
       "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
      {"bad \xFF byte", -1, "bad " FFFD " byte"},
      {"overlong \xC0\xAF", -1, "overlong " FFFD FFFD},
      {"surrogate \xED\xA0\x80", -1, "surrogate " FFFD FFFD FFFD},
      {"c1 \xC2\x85", -1, "c1 " FFFD FFFD},
      {"cut \xC3\xA9", 5, "cut " FFFD},
      {"", -1, ""},
  };
  size_t n = sizeof(cases) / sizeof(cases[0]), wrong = 0;
  struct vt_buf b;
  vt_buf_init(&b, 0);
  for (size_t i = 0; i < n; i++) {
    vt_buf_reset(&b);
    size_t len = cases[i].len < 0 ? strlen(cases[i].in) : (size_t)cases[i].len;
    enum vt_status st = pr_esc(&b, cases[i].in, len);
    const char *got = b.len ? vt_buf_str(&b) : "";
    if (st != VT_OK || strcmp(got, cases[i].want) != 0) {
      printf("#   case %zu: got \"%s\" want \"%s\"\n", i, got, cases[i].want);
      wrong++;
    }
  }
  /* Whatever the input, the output is valid UTF-8 without controls or a
   * markup character: random bytes, 2000 strings. */
  uint64_t x = 88172645463325252ull;
  size_t invalid = 0;
  for (int r = 0; r < 2000; r++) {
    char in[32];
    for (size_t i = 0; i < sizeof(in); i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      in[i] = (char)(x & 0xFF);
    }
    vt_buf_reset(&b);
    if (pr_esc(&b, in, sizeof(in)) != VT_OK) {
      invalid++;
      continue;
    }
    const unsigned char *p = (const unsigned char *)b.data;
    for (size_t i = 0; i < b.len;) {
      uint32_t cp;
      size_t k = vt_utf8_seq(p + i, b.len - i, &cp);
      if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == '<' ||
          cp == '>' || cp == '"' || cp == '\'') {
        invalid++;
        break;
      }
      i += k;
    }
  }
  vt_buf_cleanup(&b);
  tap_ok(wrong == 0 && invalid == 0,
         "pr_esc: %zu cases (markup, controls, invalid and cut UTF-8); 2000 "
         "random byte strings give valid text (%zu wrong, %zu invalid)",
         n, wrong, invalid);
}

static void test_pct(void)
{
  char o[32];
  size_t wrong = 0;
  static const struct {
    double a;
    int d;
    const char *want;
  } cases[] =
      {
          {0.9989, 1, "99.8 %"}, /* 99.89 % never reads 99.9 % */
          {0.99899999, 2, "99.89 %"},
          {0.999, 1, "99.9 %"}, /* 0.999 * 1000 = 998.999...: still 99.9 */
          {0.9999996, 4, "99.9999 %"},
          {1.0, 3, "100.000 %"},
          {0.0, 2, "0.00 %"},
          {0.96432, 3, "96.432 %"},
      };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pr_pct(cases[i].a, cases[i].d, o, sizeof(o));
    if (strcmp(o, cases[i].want)) {
      printf("#   %.9f (%d): got %s want %s\n", cases[i].a, cases[i].d, o,
             cases[i].want);
      wrong++;
    }
  }
  pr_pct(NAN, 2, o, sizeof(o));
  wrong += strcmp(o, "no data") != 0;
  /* Truncation never rounds up: for 100,000 availabilities, the figure
   * read back is at most the value and less than one last place below. */
  size_t up = 0;
  for (int i = 0; i <= 100000; i++) {
    double a = i / 100000.0 - 1e-9 * (i % 7);
    double t = pr_trunc(a, 4);
    up += t > a + 1e-12 || a - t >= 1e-4;
  }
  wrong += pr_trunc(0.9999996, 6) != 0.999999;
  tap_ok(wrong == 0 && up == 0,
         "pr_pct / pr_trunc: truncated, never rounded up (%zu wrong, %zu "
         "rounded up of 100001)",
         wrong, up);
}

static void test_num(void)
{
  static const double v[] = {0, 60, -3, 1.5, 0.1234, 86400.25, 1e13, 1e-4};
  static const char *const want[] = {
      "0",    "60", "-3", "1.500", "0.123", "86400.250", "10000000000000",
      "0.000"};
  size_t wrong = 0, differ = 0;
  char o[64];
  struct vt_buf b;
  vt_buf_init(&b, 0);
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    if (strcmp(pr_num(v[i], o, sizeof(o)), want[i])) {
      printf("#   %g: got %s want %s\n", v[i], o, want[i]);
      wrong++;
    }
    vt_buf_reset(&b);
    if (vt_json_num(&b, v[i], 3) != VT_OK || strcmp(vt_buf_str(&b), o))
      differ++;
  }
  vt_buf_cleanup(&b);
  wrong += strcmp(pr_num(NAN, o, sizeof(o)), "") != 0;
  wrong += strcmp(pr_num(INFINITY, o, sizeof(o)), "") != 0;
  tap_ok(wrong == 0 && differ == 0,
         "pr_num: whole numbers without decimals, others with 3, \"\" for "
         "NAN; the same text as vt_json_num (%zu wrong, %zu differ)",
         wrong, differ);
}

static void test_time(void)
{
  static const struct {
    enum pr_tfmt f;
    const char *want;
  } cases[] = {
      {PR_T_ISO, "2026-11-21T10:02:13Z"},
      {PR_T_HUMAN, "2026-11-21 10:02 UTC"},
      {PR_T_DATE, "2026-11-21"},
      {PR_T_MONTH, "November 2026"},
      {PR_T_HMS, "10:02:13"},
      {PR_T_MDHMS, "11-21 10:02:13"},
  };
  size_t wrong = 0;
  char o[40];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    /* A fraction of a second is cut, not rounded. */
    if (strcmp(pr_time(1795255333.9, cases[i].f, o, sizeof(o)),
               cases[i].want)) {
      printf("#   format %d: got %s want %s\n", (int)cases[i].f, o,
             cases[i].want);
      wrong++;
    }
  }
  wrong += strcmp(pr_time(NAN, PR_T_ISO, o, sizeof(o)), "?") != 0;
  char small[8];
  wrong +=
      strcmp(pr_time(1795255333, PR_T_ISO, small, sizeof(small)), "?") != 0;
  tap_ok(wrong == 0,
         "pr_time: 6 formats in UTC, \"?\" for NAN and a short buffer (%zu "
         "wrong)",
         wrong);
}

/* The interval sets against a model: a bitmap of 1-second cells. */
#define CELLS 240
static void ivs_mark(const struct pr_ivs *a, bool *m)
{
  memset(m, 0, CELLS);
  for (size_t i = 0; i < a->n; i++)
    for (int c = (int)a->v[i].s; c < (int)a->v[i].e && c < CELLS; c++)
      m[c] = true;
}

static bool ivs_normalized(const struct pr_ivs *a)
{
  for (size_t i = 0; i < a->n; i++)
    if (!(a->v[i].e > a->v[i].s) || (i && !(a->v[i].s > a->v[i - 1].e)))
      return false;
  return true;
}

static void test_ivs(void)
{
  uint64_t x = 0x9E3779B97F4A7C15ull;
  size_t wrong = 0, oom = 0;
  for (int r = 0; r < 500; r++) {
    struct pr_ivs a = {0}, b = {0}, d = {0}, u = {0};
    for (int k = 0; k < 2; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int n = (int)(x % 12);
      for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double s = (double)(x % CELLS), e = s + (double)((x >> 20) % 40);
        if (e > CELLS)
          e = CELLS;
        oom += pr_ivs_add(k ? &b : &a, s, e) != VT_OK;
      }
    }
    bool ma[CELLS], mb[CELLS], md[CELLS], mu[CELLS];
    pr_ivs_norm(&a);
    pr_ivs_norm(&b);
    ivs_mark(&a, ma);
    ivs_mark(&b, mb);
    oom += pr_ivs_sub(&a, &b, &d) != VT_OK;
    oom += pr_ivs_merge(&u, &a) != VT_OK;
    oom += pr_ivs_merge(&u, &b) != VT_OK;
    ivs_mark(&d, md);
    ivs_mark(&u, mu);
    int len = 0, within = 0;
    bool ok = ivs_normalized(&a) && ivs_normalized(&d) && ivs_normalized(&u);
    for (int c = 0; c < CELLS; c++) {
      ok = ok && md[c] == (ma[c] && !mb[c]) && mu[c] == (ma[c] || mb[c]);
      len += ma[c];
      within += ma[c] && c >= 50 && c < 130;
    }
    ok = ok && pr_ivs_len(&a) == len && pr_ivs_within(&a, 50, 130) == within;
    wrong += !ok;
    pr_ivs_free(&a);
    pr_ivs_free(&b);
    pr_ivs_free(&d);
    pr_ivs_free(&u);
  }
  struct pr_ivs t = {0};
  oom += pr_ivs_add(&t, 0, 10) != VT_OK;
  oom += pr_ivs_add(&t, 10, 20) != VT_OK; /* touching: one interval */
  oom += pr_ivs_add(&t, 30, 30) != VT_OK; /* empty: nothing */
  wrong += !(t.n == 1 && t.v[0].s == 0 && t.v[0].e == 20);
  pr_ivs_free(&t);
  tap_ok(wrong == 0 && oom == 0,
         "pr_ivs: add, norm, merge, sub, len, within agree with a bitmap "
         "on 500 random pairs of sets; touching intervals join (%zu wrong)",
         wrong);
}

int main(void)
{
  tap_plan(7);
  test_utf8();
  test_esc();
  test_pct();
  test_num();
  test_time();
  test_ivs();
  return tap_done();
}
