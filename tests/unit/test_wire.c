/* SPDX-License-Identifier: MIT */
/* Unit tests for the probe → collector protocol: signatures (known answers,
 * tampering, length prefixes), key files, header numbers, names, addresses,
 * and result records read back from both JSON forms or refused. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "net.h"
#include "result.h"
#include "tap.h"
#include "wire.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The key of the known-answer vectors: 32 ASCII bytes. */
static const char test_key_text[] = "0123456789abcdef0123456789abcdef";

static void test_key(struct vt_wire_key *k)
{
  memset(k, 0, sizeof(*k));
  k->len = strlen(test_key_text);
  memcpy(k->bytes, test_key_text, k->len);
}

/* ---- signatures --------------------------------------------------------- */

struct req {
  const char *what;
  enum vt_wire_kind kind;
  const char *probe;
  uint64_t seq, count;
  int64_t time;
  const char *body;
  size_t body_len;
};

static const char good_body[] = "line1\nline2\n";

static const struct req good_req = {
    .what = "untouched",
    .kind = VT_WIRE_RESULTS,
    .probe = "fra1",
    .seq = 1200,
    .count = 2,
    .time = 1700000000,
    .body = good_body,
    .body_len = sizeof(good_body) - 1,
};

static bool req_sign(const struct vt_wire_key *k, const struct req *r,
                     char hex[VT_WIRE_SIG_HEXLEN + 1])
{
  return vt_wire_sign(k, r->kind, r->probe, r->seq, r->count, r->time, r->body,
                      r->body_len, hex) == VT_OK;
}

static bool req_verify(const struct vt_wire_key *k, const struct req *r,
                       const char *hex)
{
  return vt_wire_verify(k, r->kind, r->probe, r->seq, r->count, r->time,
                        r->body, r->body_len, hex);
}

/* Computed independently of this code, over bytes built by printf(1):
 *
 *   printf 'vantage-results-v1\n4:fra1\n1200\n2\n1700000000\n12:line1\nline2\n'
 * |
 *     openssl dgst -sha256 -mac HMAC \
 *       -macopt key:0123456789abcdef0123456789abcdef
 *   printf 'vantage-targets-v1\n4:fra1\n0\n0\n1700000000\n0:' |
 *     openssl dgst -sha256 -mac HMAC \
 *       -macopt key:0123456789abcdef0123456789abcdef
 *
 * (OpenSSL 3.0; Python's hmac module gives the same two values.) */
static const char kat_results[] =
    "02c803cdd6dee864f3d10ee52f6b99c885e8d076a25ac6f1902b5cf681a008e1";
static const char kat_targets[] =
    "6c0277648c9c47591b5fc1027ab35c7e5412447cf608e94c3617b134e0c1d946";

static void test_known_answers(void)
{
  struct vt_wire_key k;
  test_key(&k);
  char hex[VT_WIRE_SIG_HEXLEN + 1];
  tap_ok(req_sign(&k, &good_req, hex), "sign a results batch");
  tap_is_str(hex, kat_results, "results signature matches openssl dgst");
  tap_ok(vt_wire_sign(&k, VT_WIRE_TARGETS, "fra1", 0, 0, 1700000000, NULL, 0,
                      hex) == VT_OK,
         "sign a targets request (NULL empty body)");
  tap_is_str(hex, kat_targets, "targets signature matches openssl dgst");
  tap_ok(vt_wire_verify(&k, VT_WIRE_TARGETS, "fra1", 0, 0, 1700000000, "", 0,
                        kat_targets),
         "targets signature verifies");
}

static void test_tampering(void)
{
  struct vt_wire_key k;
  test_key(&k);
  char hex[VT_WIRE_SIG_HEXLEN + 1];
  bool signed_ok = req_sign(&k, &good_req, hex);
  tap_ok(signed_ok && req_verify(&k, &good_req, hex), "round trip verifies");

  /* One changed bit in each signed field must break the signature. */
  char body[sizeof(good_body)];
  memcpy(body, good_body, sizeof(body));
  body[3] ^= 0x01;
  struct req bad[] = {good_req, good_req, good_req, good_req, good_req,
                      good_req, good_req, good_req, good_req};
  bad[0].what = "body bit flipped";
  bad[0].body = body;
  bad[1].what = "probe bit flipped";
  bad[1].probe = "fra0"; /* '1' ^ 0x01 */
  bad[2].what = "seq bit flipped";
  bad[2].seq ^= 1;
  bad[3].what = "count bit flipped";
  bad[3].count ^= 1;
  bad[4].what = "time bit flipped";
  bad[4].time ^= 1;
  bad[5].what = "kind changed";
  bad[5].kind = VT_WIRE_TARGETS;
  bad[6].what = "body cut short";
  bad[6].body_len--;
  bad[7].what = "time negated";
  bad[7].time = -bad[7].time;
  bad[8].what = "seq top bit flipped";
  bad[8].seq ^= UINT64_C(1) << 63;
  for (size_t i = 0; i < N(bad); i++)
    tap_ok(signed_ok && !req_verify(&k, &bad[i], hex), "verify fails: %s",
           bad[i].what);

  struct vt_wire_key other = k;
  other.bytes[31] ^= 0x80;
  tap_ok(!req_verify(&other, &good_req, hex), "verify fails: other key");

  char upper[VT_WIRE_SIG_HEXLEN + 1];
  for (size_t i = 0; i <= VT_WIRE_SIG_HEXLEN; i++)
    upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
  tap_ok(strcmp(upper, hex) != 0 && req_verify(&k, &good_req, upper),
         "uppercase hex accepted");

  char longer[VT_WIRE_SIG_HEXLEN + 2], shorter[VT_WIRE_SIG_HEXLEN],
      nonhex[VT_WIRE_SIG_HEXLEN + 1], spaced[VT_WIRE_SIG_HEXLEN + 2];
  snprintf(longer, sizeof(longer), "%s0", hex);
  snprintf(shorter, sizeof(shorter), "%s", hex);
  memcpy(nonhex, hex, sizeof(nonhex));
  nonhex[17] = 'g';
  snprintf(spaced, sizeof(spaced), " %s", hex);
  const struct {
    const char *what, *hex;
  } malformed[] = {
      {"65 hex digits", longer},
      {"63 hex digits", shorter},
      {"a non-hex digit", nonhex},
      {"a leading space", spaced},
      {"empty", ""},
      {"NULL", NULL},
  };
  for (size_t i = 0; i < N(malformed); i++)
    tap_ok(!req_verify(&k, &good_req, malformed[i].hex), "verify rejects %s",
           malformed[i].what);

  /* Without length prefixes these two requests would hash the same bytes,
   * "p\n1\n2\n3\n4\nx": a "\n" in the probe name shifts every field. */
  const struct req shift_a = {.kind = VT_WIRE_RESULTS,
                              .probe = "p",
                              .seq = 1,
                              .count = 2,
                              .time = 3,
                              .body = "4\nx",
                              .body_len = 3};
  const struct req shift_b = {.kind = VT_WIRE_RESULTS,
                              .probe = "p\n1",
                              .seq = 2,
                              .count = 3,
                              .time = 4,
                              .body = "x",
                              .body_len = 1};
  char naive_a[64], naive_b[64], sig_a[VT_WIRE_SIG_HEXLEN + 1],
      sig_b[VT_WIRE_SIG_HEXLEN + 1];
  snprintf(naive_a, sizeof(naive_a),
           "%s\n%" PRIu64 "\n%" PRIu64 "\n%" PRId64 "\n%s", shift_a.probe,
           shift_a.seq, shift_a.count, shift_a.time, shift_a.body);
  snprintf(naive_b, sizeof(naive_b),
           "%s\n%" PRIu64 "\n%" PRIu64 "\n%" PRId64 "\n%s", shift_b.probe,
           shift_b.seq, shift_b.count, shift_b.time, shift_b.body);
  tap_ok(strcmp(naive_a, naive_b) == 0 && req_sign(&k, &shift_a, sig_a) &&
             req_sign(&k, &shift_b, sig_b) && strcmp(sig_a, sig_b) != 0,
         "length prefixes separate a shifted probe/body split");
  const struct req ab_c = {.probe = "ab", .body = "c", .body_len = 1};
  const struct req a_bc = {.probe = "a", .body = "bc", .body_len = 2};
  tap_ok(req_sign(&k, &ab_c, sig_a) && req_sign(&k, &a_bc, sig_b) &&
             strcmp(sig_a, sig_b) != 0,
         "(\"ab\", \"c\") and (\"a\", \"bc\") sign differently");
  tap_ok(vt_wire_sign(&k, VT_WIRE_RESULTS, NULL, 0, 0, 0, "", 0, sig_a) ==
             VT_EINVAL,
         "sign refuses a NULL probe");
}

/* The spool's id (X-Vantage-Spool) is signed; computed like the others:
 *
 *   printf 'vantage-results-v1\n4:fra1\n1200\n2\n1700000000\n'\
 * 's32:00112233445566778899aabbccddeeff\n12:line1\nline2\n' |
 *     openssl dgst -sha256 -mac HMAC \
 *       -macopt key:0123456789abcdef0123456789abcdef */
static const char kat_spool[] =
    "37fccac186a9ac183055ec4113bc70aa726b97249022041169101b875236ef51";

static void test_spool_ids(void)
{
  struct vt_wire_key k;
  test_key(&k);
  const char *id = "00112233445566778899aabbccddeeff";
  const char *other = "00112233445566778899aabbccddeef0";
  const struct req *r = &good_req;
  char hex[VT_WIRE_SIG_HEXLEN + 1], plain[VT_WIRE_SIG_HEXLEN + 1];
  tap_ok(vt_wire_sign_spool(&k, r->kind, r->probe, id, r->seq, r->count,
                            r->time, r->body, r->body_len, hex) == VT_OK,
         "sign with a spool id");
  tap_is_str(hex, kat_spool, "spool signature matches openssl dgst");
  tap_ok(vt_wire_verify_spool(&k, r->kind, r->probe, id, r->seq, r->count,
                              r->time, r->body, r->body_len, hex),
         "spool signature verifies");
  tap_ok(!vt_wire_verify_spool(&k, r->kind, r->probe, other, r->seq, r->count,
                               r->time, r->body, r->body_len, hex) &&
             !req_verify(&k, r, hex),
         "another spool id, or none, does not verify");
  tap_ok(req_sign(&k, r, plain) &&
             !vt_wire_verify_spool(&k, r->kind, r->probe, id, r->seq, r->count,
                                   r->time, r->body, r->body_len, plain) &&
             vt_wire_verify_spool(&k, r->kind, r->probe, "", r->seq, r->count,
                                  r->time, r->body, r->body_len, plain),
         "a signature without an id does not pass for one with; \"\" is none");
  tap_ok(vt_wire_spool_ok(id) && !vt_wire_spool_ok("00112233") &&
             !vt_wire_spool_ok("00112233445566778899AABBCCDDEEFF") &&
             !vt_wire_spool_ok("00112233445566778899aabbccddeeff0") &&
             !vt_wire_spool_ok(NULL),
         "spool ids: 32 lowercase hex digits");
}

/* ---- key files ---------------------------------------------------------- */

static bool write_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return false;
  bool ok = write(fd, data, len) == (ssize_t)len;
  return close(fd) == 0 && ok;
}

static void test_key_files(void)
{
  char dir[] = "test-wire.XXXXXX";
  if (!mkdtemp(dir)) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    exit(1);
  }
  /* Base64-like key material, so a stripped byte would be noticed. */
  static char text[5000];
  for (size_t i = 0; i < sizeof(text); i++)
    text[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"[i % 54];
  struct {
    const char *what;
    size_t key_len;    /* bytes of text */
    const char *tail;  /* appended after them */
    enum vt_status st; /* expected */
    size_t len;        /* expected key length */
    const char *err;   /* expected in the reason */
  } cases[] = {
      {"31 bytes", 31, "", VT_EINVAL, 0, "shorter than 32 bytes"},
      {"31 bytes and a newline", 31, "\n", VT_EINVAL, 0, "shorter than 32"},
      {"exactly 32 bytes", 32, "", VT_OK, 32, NULL},
      {"32 bytes and a newline", 32, "\n", VT_OK, 32, NULL},
      {"32 bytes and CRLF", 32, "\r\n", VT_OK, 32, NULL},
      {"only one newline stripped", 32, "\n\n", VT_OK, 33, NULL},
      {"a lone CR kept", 32, "\r", VT_OK, 33, NULL},
      {"1024 bytes", 1024, "", VT_OK, 1024, NULL},
      {"1024 bytes and CRLF", 1024, "\r\n", VT_OK, 1024, NULL},
      {"1025 bytes", 1025, "", VT_EINVAL, 0, "larger than 1024 bytes"},
      {"1025 bytes and a newline", 1025, "\n", VT_EINVAL, 0, "larger"},
      {"5000 bytes", 5000, "", VT_EINVAL, 0, "larger than 1024 bytes"},
  };
  char path[64], err[256];
  for (size_t i = 0; i < N(cases); i++) {
    snprintf(path, sizeof(path), "%s/k%zu", dir, i);
    char *data = malloc(cases[i].key_len + 2);
    memcpy(data, text, cases[i].key_len);
    size_t tail = strlen(cases[i].tail);
    memcpy(data + cases[i].key_len, cases[i].tail, tail);
    bool written = write_file(path, data, cases[i].key_len + tail);
    free(data);
    struct vt_wire_key k;
    err[0] = '\0';
    enum vt_status st = vt_wire_key_load(path, &k, err, sizeof(err));
    bool ok = written && st == cases[i].st;
    if (st == VT_OK)
      ok = ok && k.len == cases[i].len && memcmp(k.bytes, text, 32) == 0;
    else
      ok = ok && strstr(err, cases[i].err) && strstr(err, path);
    tap_ok(ok, "key file: %s", cases[i].what);
    if (!ok)
      printf("#   status %d, len %zu, err \"%s\"\n", st, k.len, err);
    unlink(path);
  }

  struct vt_wire_key k;
  snprintf(path, sizeof(path), "%s/missing", dir);
  err[0] = '\0';
  tap_ok(vt_wire_key_load(path, &k, err, sizeof(err)) == VT_EIO &&
             strstr(err, strerror(ENOENT)),
         "missing key file: VT_EIO with the system's reason");
  tap_ok(vt_wire_key_load(dir, &k, NULL, 0) == VT_EIO,
         "a directory is unreadable (NULL err allowed)");

  /* A key from a file signs like the same bytes in memory. */
  snprintf(path, sizeof(path), "%s/key", dir);
  char hex_file[VT_WIRE_SIG_HEXLEN + 1], hex_mem[VT_WIRE_SIG_HEXLEN + 1];
  struct vt_wire_key mem;
  test_key(&mem);
  tap_ok(write_file(path, "0123456789abcdef0123456789abcdef\n", 33) &&
             vt_wire_key_load(path, &k, err, sizeof(err)) == VT_OK &&
             req_sign(&k, &good_req, hex_file) &&
             req_sign(&mem, &good_req, hex_mem) &&
             strcmp(hex_file, hex_mem) == 0 &&
             strcmp(hex_file, kat_results) == 0,
         "a loaded key signs like the in-memory one");
  unlink(path);
  vt_wire_key_wipe(&k);
  unsigned char zero[sizeof(k.bytes)] = {0};
  tap_ok(k.len == 0 && memcmp(k.bytes, zero, sizeof(zero)) == 0,
         "wipe clears bytes and length");
  rmdir(dir);
}

/* ---- header numbers, names, addresses ----------------------------------- */

static void test_numbers(void)
{
  const struct {
    const char *s;
    bool ok;
    uint64_t v;
  } u[] = {
      {"", false, 0},
      {"0", true, 0},
      {"42", true, 42},
      {"1700000000", true, 1700000000},
      {"-1", false, 0},
      {"+1", false, 0},
      {" 1", false, 0},
      {"1 ", false, 0},
      {"00", false, 0},
      {"01", false, 0},
      {"1a", false, 0},
      {"0x10", false, 0},
      {"18446744073709551615", true, UINT64_MAX},
      {"18446744073709551616", false, 0},
      {"99999999999999999999", false, 0},
  };
  for (size_t i = 0; i < N(u); i++) {
    uint64_t v = 12345;
    bool ok = vt_wire_parse_u64(u[i].s, &v);
    tap_ok(ok == u[i].ok && (!ok ? v == 12345 : v == u[i].v), "u64 \"%s\" %s",
           u[i].s, u[i].ok ? "parses" : "rejected");
  }
  const struct {
    const char *s;
    bool ok;
    int64_t v;
  } s[] = {
      {"", false, 0},
      {"-", false, 0},
      {"0", true, 0},
      {"-1", true, -1},
      {"+1", false, 0},
      {" 1", false, 0},
      {"--1", false, 0},
      {"-0", false, 0},
      {"00", false, 0},
      {"-01", false, 0},
      {"1a", false, 0},
      {"1700000000", true, 1700000000},
      {"9223372036854775807", true, INT64_MAX},
      {"9223372036854775808", false, 0},
      {"-9223372036854775808", true, INT64_MIN},
      {"-9223372036854775809", false, 0},
  };
  for (size_t i = 0; i < N(s); i++) {
    int64_t v = 12345;
    bool ok = vt_wire_parse_i64(s[i].s, &v);
    tap_ok(ok == s[i].ok && (!ok ? v == 12345 : v == s[i].v), "i64 \"%s\" %s",
           s[i].s, s[i].ok ? "parses" : "rejected");
  }
  uint64_t v;
  tap_ok(!vt_wire_parse_u64(NULL, &v), "u64 NULL rejected");
}

static char name63[64], name64[65];

static void test_names(void)
{
  memset(name63, 'a', 63);
  memset(name64, 'a', 64);
  const struct {
    const char *s;
    bool ok;
  } cases[] = {
      {"ok_1.2-3", true},     {"fra1", true},     {"_x", true},
      {"x.", true},           {"A-Z.09", true},   {name63, true},
      {name64, false},        {"", false},        {"../x", false},
      {"..", false},          {".hidden", false}, {"-x", false},
      {"a/b", false},         {"a b", false},     {"a\\b", false},
      {"caf\xc3\xa9", false}, {"a:b", false},     {NULL, false},
  };
  for (size_t i = 0; i < N(cases); i++)
    tap_ok(vt_wire_name_ok(cases[i].s) == cases[i].ok, "name \"%.20s\" %s",
           cases[i].s ? cases[i].s : "(null)",
           cases[i].ok ? "accepted" : "rejected");
}

static void test_ips(void)
{
  const struct {
    const char *s, *want; /* want NULL: rejected */
  } cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"2001:DB8:0::0:1", "2001:db8::1"},
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
      {"::", "::"},
      {"300.1.1.1", NULL},
      {"1.2.3", NULL},
      {"::ffff:1.2.3.4x", NULL},
      {" 1.2.3.4", NULL},
      {"fe80::1%eth0", NULL},
      {"example.com", NULL},
      {"", NULL},
  };
  for (size_t i = 0; i < N(cases); i++) {
    char out[VT_IP_STRLEN] = "";
    bool ok = vt_net_ip_normalize(cases[i].s, out, sizeof(out));
    tap_ok(cases[i].want ? ok && strcmp(out, cases[i].want) == 0 : !ok,
           "ip \"%s\" %s", cases[i].s,
           cases[i].want ? "normalized" : "rejected");
  }
  char small[8];
  tap_ok(!vt_net_ip_normalize("2001:db8::1", small, sizeof(small)),
         "ip: too small an output buffer fails");
}

/* ---- result records: round trips ---------------------------------------- */

static void base(struct vt_result *r, enum vt_check_type check,
                 const char *name)
{
  vt_result_init(r);
  r->ts = 1700000000.25;
  snprintf(r->probe, sizeof(r->probe), "fra1");
  snprintf(r->target, sizeof(r->target), "www");
  r->check = check;
  snprintf(r->name, sizeof(r->name), "%s", name);
  snprintf(r->host, sizeof(r->host), "www.example.test");
}

static bool same_num(double a, double b)
{
  return (isnan(a) && isnan(b)) || a == b;
}

/* The first field in which a and b differ, or NULL. */
static const char *result_diff(const struct vt_result *a,
                               const struct vt_result *b)
{
#define STR(f)                                                                 \
  do {                                                                         \
    if (strcmp(a->f, b->f) != 0)                                               \
      return #f;                                                               \
  } while (0)
#define NUM(f)                                                                 \
  do {                                                                         \
    if (!same_num(a->f, b->f))                                                 \
      return #f;                                                               \
  } while (0)
#define EQ(f)                                                                  \
  do {                                                                         \
    if (a->f != b->f)                                                          \
      return #f;                                                               \
  } while (0)
  NUM(ts);
  STR(probe);
  STR(target);
  EQ(check);
  STR(name);
  STR(host);
  STR(ip);
  EQ(port);
  EQ(ok);
  EQ(error);
  STR(detail);
  EQ(http_status);
  NUM(ms_dns);
  NUM(ms_connect);
  NUM(ms_tls);
  NUM(ms_ttfb);
  NUM(ms_total);
  STR(resolver);
  EQ(rcode);
  EQ(n_answers);
  for (int i = 0; i < a->n_answers; i++)
    STR(answers[i]);
  EQ(ttl);
  EQ(incomplete);
  EQ(cert_days_left);
  EQ(body_bytes);
  NUM(load);
  NUM(load_value);
  EQ(load_reset);
#undef STR
#undef NUM
#undef EQ
  return NULL;
}

/* The answers the results of make_results borrow (lib/result.h). */
static char answers3[3][VT_IP_STRLEN];
static char answers_full[VT_RESULT_MAX_ANSWERS][VT_IP_STRLEN];

static int make_results(struct vt_result *rs)
{
  int n = 0;
  struct vt_result *r = &rs[n++];
  base(r, VT_CHECK_DNS, "dns");
  r->ts = 1700000000.5;
  snprintf(r->resolver, sizeof(r->resolver), "[2001:db8::53]:5353");
  r->rcode = 0;
  r->n_answers = 3;
  snprintf(answers3[0], sizeof(answers3[0]), "192.0.2.1");
  snprintf(answers3[1], sizeof(answers3[1]), "2001:db8::1");
  snprintf(answers3[2], sizeof(answers3[2]), "192.0.2.2");
  r->answers = answers3;
  r->ttl = 300;
  r->ok = true;
  r->incomplete = true;
  snprintf(r->detail, sizeof(r->detail), "AAAA: no definitive answer");
  r->ms_dns = 12.5;
  r->ms_total = 12.5;

  r = &rs[n++];
  base(r, VT_CHECK_DNS, "dns");
  r->ts = 946684800; /* the first accepted second */
  snprintf(r->resolver, sizeof(r->resolver), "system");
  r->rcode = 3;
  vt_result_fail(r, VT_ERR_NXDOMAIN, NULL);
  r->ms_total = 3;

  r = &rs[n++];
  base(r, VT_CHECK_DNS, "dns-full");
  snprintf(r->resolver, sizeof(r->resolver), "127.0.0.1:5353");
  r->rcode = 10; /* NOTZONE, the last named rcode */
  r->n_answers = VT_RESULT_MAX_ANSWERS;
  for (int i = 0; i < r->n_answers; i++)
    snprintf(answers_full[i], sizeof(answers_full[i]), "198.51.100.%d", i);
  r->answers = answers_full;
  r->ttl = 2147483647;
  vt_result_fail(r, VT_ERR_DNS_ERROR, "rcode %s", "NOTZONE");

  r = &rs[n++];
  base(r, VT_CHECK_TCP, "tls");
  snprintf(r->ip, sizeof(r->ip), "2001:db8::1");
  r->port = 443;
  r->ok = true;
  r->ms_connect = 1.25;
  r->ms_tls = 7.75;
  r->ms_total = 9;
  r->cert_days_left = -3;

  r = &rs[n++];
  base(r, VT_CHECK_TCP, "smtp");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.9");
  r->port = 1;
  vt_result_fail(r, VT_ERR_CONNECT_TIMEOUT,
                 "tab\there \"quoted\" \\ caf\xc3\xa9 "
                 "\x01 end");
  r->ms_total = 5000;

  r = &rs[n++];
  base(r, VT_CHECK_HTTP, "health");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.10");
  r->port = 443;
  vt_result_fail(r, VT_ERR_HTTP_STATUS, "got %d, expected 200", 503);
  r->http_status = 503;
  r->ms_connect = 0.5;
  r->ms_tls = 2.5;
  r->ms_ttfb = 10.125;
  r->ms_total = 12.25;
  r->cert_days_left = 29;

  r = &rs[n++];
  base(r, VT_CHECK_HTTP, "v6-literal");
  snprintf(r->host, sizeof(r->host), "[2001:db8::1]");
  snprintf(r->ip, sizeof(r->ip), "2001:db8::1");
  r->port = 8080;
  r->ok = true;
  r->http_status = 200;
  r->cert_days_left = 0;
  r->ms_total = 0;

  r = &rs[n++];
  base(r, VT_CHECK_CLIENT, "browser");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.7");
  r->port = 443;
  r->ok = true;
  r->http_status = 200;
  r->body_bytes = 12345;
  r->ms_dns = 1;
  r->ms_connect = 2;
  r->ms_tls = 3;
  r->ms_ttfb = 4;
  r->ms_total = 3600000;
  r->cert_days_left = 99999;

  r = &rs[n++];
  base(r, VT_CHECK_CLIENT, "big");
  r->ts = 4102444799.5;
  snprintf(r->ip, sizeof(r->ip), "::ffff:192.0.2.8");
  r->port = 65535;
  r->body_bytes = 0;
  vt_result_fail(r, VT_ERR_TOO_LARGE, "%s", "");
  memset(r->detail, 'd', sizeof(r->detail) - 1); /* the longest detail */
  r->cert_days_left = -99999;

  r = &rs[n++];
  base(r, VT_CHECK_LOAD, "load");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.11");
  r->port = 80;
  r->ok = true;
  r->http_status = 200;
  r->load = 201.5;
  r->load_value = 31070465;
  r->load_reset = true;
  r->ms_total = 1;

  r = &rs[n++];
  base(r, VT_CHECK_LOAD, "first-read");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.12");
  r->port = 80;
  r->ok = true;
  r->load_value = 1e15; /* a counter's first read: no rate */

  r = &rs[n++];
  base(r, VT_CHECK_LOAD, "unparsable");
  snprintf(r->ip, sizeof(r->ip), "192.0.2.13");
  vt_result_fail(r, VT_ERR_BODY_MISMATCH, "line 1: not nginx stub_status");
  return n;
}

/* Every record parses back to what was written. All of them are parsed
 * into one context first and compared after: a later record's answers must
 * not disturb an earlier one's. */
static void test_round_trips(void)
{
  struct vt_result rs[16], back[16][2];
  char err[16][2][160], json[16][2][4096];
  bool parsed[16][2];
  int n = make_results(rs);
  struct vt_rec_ctx ctx = {0};
  struct vt_buf b;
  vt_buf_init(&b, 0);
  for (int i = 0; i < n; i++) {
    for (int compact = 1; compact >= 0; compact--) {
      vt_buf_reset(&b);
      err[i][compact][0] = '\0';
      parsed[i][compact] =
          vt_result_to_json(&rs[i], compact, &b) == VT_OK &&
          vt_result_from_json(vt_buf_str(&b), b.len, &ctx, &back[i][compact],
                              err[i][compact],
                              sizeof(err[i][compact])) == VT_OK;
      snprintf(json[i][compact], sizeof(json[i][compact]), "%s",
               vt_buf_str(&b));
    }
  }
  for (int i = 0; i < n; i++) {
    for (int compact = 1; compact >= 0; compact--) {
      bool ok = parsed[i][compact];
      const char *diff = ok ? result_diff(&rs[i], &back[i][compact]) : NULL;
      tap_ok(ok && !diff, "round trip %s/%s, %s form",
             vt_check_type_name(rs[i].check), rs[i].name,
             compact ? "compact" : "full");
      if (!ok || diff)
        printf("#   %s: %s\n#   %s\n", diff ? diff : "error", err[i][compact],
               json[i][compact]);
    }
  }
  vt_buf_cleanup(&b);
  vt_rec_ctx_free(&ctx);
}

/* ---- result records: accepted and refused input ------------------------- */

/* The parse context of the records below (freed at the end of main). */
static struct vt_rec_ctx rctx;

#define TS "\"ts\":1700000000"
#define PROBE "\"probe\":\"fra1\""
#define TARGET "\"target\":\"www\""
#define CHECK "\"check\":\"tcp\""
#define NAME "\"name\":\"t1\""
#define HOST "\"host\":\"h.example\""
#define OK "\"ok\":true"
/* A valid record with extra fields (",\"k\":v") appended. */
#define REC(extra)                                                             \
  "{" TS "," PROBE "," TARGET "," CHECK "," NAME "," HOST "," OK extra "}"
/* All required fields but one, which a row then sets itself. */
#define NO_TS "{" PROBE "," TARGET "," CHECK "," NAME "," HOST "," OK
#define NO_PROBE "{" TS "," TARGET "," CHECK "," NAME "," HOST "," OK
#define NO_TARGET "{" TS "," PROBE "," CHECK "," NAME "," HOST "," OK
#define NO_CHECK "{" TS "," PROBE "," TARGET "," NAME "," HOST "," OK
#define NO_NAME "{" TS "," PROBE "," TARGET "," CHECK "," HOST "," OK
#define NO_HOST "{" TS "," PROBE "," TARGET "," CHECK "," NAME "," OK
#define NO_OK "{" TS "," PROBE "," TARGET "," CHECK "," NAME "," HOST

static void test_accepted(void)
{
  const char *cases[] = {
      REC(""),
      REC("") "\n",
      "\n " REC("") " \r\n",
      REC(",\"ip\":null,\"port\":null,\"error\":null,\"detail\":null,"
          "\"http_status\":null,\"ms\":{\"dns\":null,\"connect\":null,"
          "\"tls\":null,\"ttfb\":null,\"total\":null},\"resolver\":null,"
          "\"rcode\":null,\"answers\":[],\"ttl\":null,\"incomplete\":null,"
          "\"cert_days_left\":null,\"body_bytes\":null"),
      REC(",\"port\":0,\"http_status\":0,\"ttl\":0,\"detail\":\"\","
          "\"ms\":{},\"incomplete\":false"),
      REC(",\"resolver\":\"[::1]:53\",\"rcode\":\"NOERROR\""),
      REC(",\"detail\":\"\\u0001\\u001f\\ud83d\\ude00\"") /* not NUL */,
  };
  for (size_t i = 0; i < N(cases); i++) {
    struct vt_result r;
    char err[160] = "";
    tap_ok(vt_result_from_json(cases[i], strlen(cases[i]), &rctx, &r, err,
                               sizeof(err)) == VT_OK,
           "accepted: case %zu", i);
    if (err[0])
      printf("#   %s\n#   %s\n", err, cases[i]);
  }

  /* Addresses come back normalized; the detail is cut at a character. */
  static const char rec[] = REC(",\"ip\":\"2001:DB8:0::1\",\"answers\":"
                                "[\"::FFFF:192.0.2.1\",\"192.0.2.2\"]");
  struct vt_result r;
  tap_ok(vt_result_from_json(rec, strlen(rec), &rctx, &r, NULL, 0) == VT_OK &&
             strcmp(r.ip, "2001:db8::1") == 0 && r.n_answers == 2 &&
             strcmp(r.answers[0], "::ffff:192.0.2.1") == 0,
         "ip and answers normalized");
  char longrec[600];
  char a158[159];
  memset(a158, 'a', 158);
  a158[158] = '\0';
  snprintf(longrec, sizeof(longrec), REC(",\"detail\":\"%s\xc3\xa9\""), a158);
  tap_ok(vt_result_from_json(longrec, strlen(longrec), &rctx, &r, NULL, 0) ==
                 VT_OK &&
             strlen(r.detail) == 158,
         "long detail cut before a split UTF-8 character");
  char a300[301];
  memset(a300, 'b', 300);
  a300[300] = '\0';
  snprintf(longrec, sizeof(longrec), REC(",\"detail\":\"%s\""), a300);
  tap_ok(vt_result_from_json(longrec, strlen(longrec), &rctx, &r, NULL, 0) ==
                 VT_OK &&
             strlen(r.detail) == sizeof(r.detail) - 1,
         "long detail truncated to fit");

  /* The length bounds the input: no NUL needed, bytes after it ignored. */
  static const char tail[] = REC("") "GARBAGE";
  tap_ok(vt_result_from_json(tail, sizeof(tail) - 1 - 7, &rctx, &r, NULL, 0) ==
             VT_OK,
         "only len bytes are read");
}

static char many_answers[2048], huge_host[1200];

static void build_big_rows(void)
{
  size_t n = (size_t)snprintf(many_answers, sizeof(many_answers), "%s",
                              REC(",\"answers\":["));
  n--; /* drop the closing brace: the array goes last */
  for (int i = 0; i <= VT_RESULT_MAX_ANSWERS; i++)
    n += (size_t)snprintf(many_answers + n, sizeof(many_answers) - n,
                          "%s\"192.0.2.%d\"", i ? "," : "", i);
  snprintf(many_answers + n, sizeof(many_answers) - n, "]}");

  char host[1001];
  memset(host, 'h', 1000);
  host[1000] = '\0';
  snprintf(huge_host, sizeof(huge_host), NO_HOST ",\"host\":\"%s\"}", host);
}

static void test_refused(void)
{
  build_big_rows();
  const struct {
    const char *json, *want; /* want: expected in the reason */
  } cases[] = {
      {"[]", "not a JSON object"},
      {"\"x\"", "invalid JSON"},
      {"", "invalid JSON"},
      {"{\"ts\":1700000000,\"probe\":\"fra1\"", "invalid JSON"},
      {REC("") " x", "invalid JSON"},
      {REC("") REC(""), "invalid JSON"},
      {REC(",\"ok\":false"), "duplicate"},
      {REC(",\"extra\":1"), "unknown field \"extra\""},
      {REC(",\"load\":-1"), "field \"load\": not in 0..1e18"},
      {REC(",\"load_value\":2e18"), "field \"load_value\": not in 0..1e18"},
      {REC(",\"load\":\"5\""), "field \"load\": not a number"},
      {REC(",\"load_reset\":1"), "field \"load_reset\": not a boolean"},
      {REC(",\"a\\u0001b\":1"), "unknown field \"a?b\""},
      {"{}", "field \"ts\": missing"},
      {NO_TS "}", "field \"ts\": missing"},
      {NO_PROBE "}", "field \"probe\": missing"},
      {NO_TARGET "}", "field \"target\": missing"},
      {NO_NAME "}", "field \"name\": missing"},
      {NO_CHECK "}", "field \"check\": missing"},
      {NO_HOST "}", "field \"host\": missing"},
      {NO_OK "}", "field \"ok\": missing"},
      {NO_TS ",\"ts\":1e400}", "invalid JSON"},
      {NO_TS ",\"ts\":946684799.999}", "field \"ts\""},
      {NO_TS ",\"ts\":4102444800}", "field \"ts\""},
      {NO_TS ",\"ts\":\"1700000000\"}", "field \"ts\": not a number"},
      {NO_TS ",\"ts\":null}", "field \"ts\": null"},
      {NO_PROBE ",\"probe\":null}", "field \"probe\": null"},
      {NO_PROBE ",\"probe\":\".hidden\"}", "field \"probe\""},
      {NO_TARGET ",\"target\":\"\"}", "field \"target\""},
      {NO_NAME ",\"name\":\"../etc\"}", "field \"name\""},
      {NO_NAME ",\"name\":\"a/b\"}", "field \"name\""},
      {NO_NAME ",\"name\":\"a\\u0000b\"}", "field \"name\": contains a NUL"},
      {NO_NAME ",\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaa\"}",
       "field \"name\": longer than 63"},
      {NO_CHECK ",\"check\":\"icmp\"}", "field \"check\": unknown check type"},
      {NO_CHECK ",\"check\":\"dns\\u0000x\"}", "field \"check\": contains"},
      {NO_OK ",\"ok\":\"true\"}", "field \"ok\": not a boolean"},
      {NO_OK ",\"ok\":false}", "field \"error\": missing although"},
      {NO_OK ",\"ok\":false,\"error\":null}", "field \"error\": missing"},
      {NO_OK ",\"ok\":false,\"error\":\"bogus\"}",
       "field \"error\": unknown error class \"bogus\""},
      {NO_OK ",\"ok\":false,\"error\":\"none\"}", "field \"error\": unknown"},
      {REC(",\"error\":\"tls\""), "field \"error\": set although ok is true"},
      {huge_host, "field \"host\": longer than 253"},
      {NO_HOST ",\"host\":\"\"}", "field \"host\""},
      {NO_HOST ",\"host\":\"a/b\"}", "field \"host\""},
      {NO_HOST ",\"host\":\"a\\u0000b\"}", "field \"host\": contains a NUL"},
      {NO_HOST ",\"host\":\"[::1\"}", "field \"host\""},
      {NO_HOST ",\"host\":\"[1.2.3.4]\"}", "field \"host\""},
      {REC(",\"ip\":\"300.1.1.1\""), "field \"ip\": not an IP address"},
      {REC(",\"ip\":\"::ffff:1.2.3.4x\""), "field \"ip\": not an IP address"},
      {REC(",\"ip\":\"1.2.3.4\\u0000\""), "field \"ip\": contains a NUL"},
      {REC(",\"ip\":\"\""), "field \"ip\""},
      {REC(",\"ip\":7"), "field \"ip\": not a string"},
      {REC(",\"port\":70000"), "field \"port\""},
      {REC(",\"port\":-1"), "field \"port\""},
      {REC(",\"port\":80.5"), "field \"port\": not an integer"},
      {REC(",\"port\":\"80\""), "field \"port\": not an integer"},
      {REC(",\"port\":99999999999999999999"), "invalid JSON"},
      {REC(",\"http_status\":1000"), "field \"http_status\""},
      {REC(",\"detail\":5"), "field \"detail\": not a string"},
      {REC(",\"detail\":\"a\\u0000b\""), "field \"detail\": contains a NUL"},
      {REC(",\"detail\":\"\xff\""), "invalid JSON"},
      {REC(",\"ms\":{\"total\":-1}"), "field \"ms.total\""},
      {REC(",\"ms\":{\"connect\":3600001}"), "field \"ms.connect\""},
      {REC(",\"ms\":{\"dns\":\"1\"}"), "field \"ms.dns\": not a number"},
      {REC(",\"ms\":{\"bogus\":1}"), "field \"ms\": unknown phase"},
      {REC(",\"ms\":5"), "field \"ms\": not an object"},
      {REC(",\"resolver\":\"evil/../x\""), "field \"resolver\""},
      {REC(",\"resolver\":\"\""), "field \"resolver\""},
      {REC(",\"rcode\":\"RCODE?\""), "field \"rcode\""},
      {REC(",\"rcode\":\"noerror\""), "field \"rcode\""},
      {REC(",\"rcode\":3"), "field \"rcode\": not a string"},
      {many_answers, "field \"answers\": more than 32"},
      {REC(",\"answers\":[\"192.0.2.1\",\"x\"]"), "field \"answers[1]\""},
      {REC(",\"answers\":[null]"), "field \"answers[0]\": not a string"},
      {REC(",\"answers\":\"192.0.2.1\""), "field \"answers\": not an array"},
      {REC(",\"ttl\":-5"), "field \"ttl\""},
      {REC(",\"ttl\":2147483648"), "field \"ttl\""},
      {REC(",\"incomplete\":1"), "field \"incomplete\": not a boolean"},
      {REC(",\"cert_days_left\":100000"), "field \"cert_days_left\""},
      {REC(",\"cert_days_left\":-100000"), "field \"cert_days_left\""},
      {REC(",\"body_bytes\":-1"), "field \"body_bytes\""},
  };
  for (size_t i = 0; i < N(cases); i++) {
    struct vt_result r;
    char err[160] = "";
    enum vt_status st = vt_result_from_json(
        cases[i].json, strlen(cases[i].json), &rctx, &r, err, sizeof(err));
    bool ok = st == VT_EINVAL && strstr(err, cases[i].want);
    tap_ok(ok, "refused (%s): %.50s", cases[i].want, cases[i].json);
    if (!ok)
      printf("#   status %d, reason \"%s\"\n", st, err);
  }

  /* A refused record leaves *out freshly initialized, not half filled. */
  static const char bad[] = REC(",\"port\":70000");
  struct vt_result r;
  char tiny[12];
  tap_ok(vt_result_from_json(bad, strlen(bad), &rctx, &r, tiny, sizeof(tiny)) ==
                 VT_EINVAL &&
             r.probe[0] == '\0' && r.rcode == -1 && strlen(tiny) == 11,
         "refusal resets *out; the reason is cut to errsize");
  tap_ok(vt_result_from_json(bad, strlen(bad), &rctx, &r, NULL, 0) == VT_EINVAL,
         "refusal without a reason buffer");
}

/* ---- result records: size and answer storage ---------------------------- */

/* A DNS record with VT_RESULT_MAX_ANSWERS addresses, the k-th of a batch:
 * every address differs from those of the other records. */
static void full_dns_record(int k, struct vt_result *r,
                            char (*ans)[VT_IP_STRLEN])
{
  base(r, VT_CHECK_DNS, "dns");
  snprintf(r->resolver, sizeof(r->resolver), "192.0.2.53");
  r->rcode = 0;
  r->ok = true;
  r->ttl = 60;
  for (int i = 0; i < VT_RESULT_MAX_ANSWERS; i++)
    snprintf(ans[i], VT_IP_STRLEN, "2001:db8:%x::%x", k + 1, i + 1);
  r->answers = ans;
  r->n_answers = VT_RESULT_MAX_ANSWERS;
}

static void test_answer_storage(void)
{
  /* Every tcp/http/client/load record of a batch is one struct vt_result
   * (the collector's per-batch array, the probe's run pool): the DNS
   * answers are borrowed, not carried, so a record is sized to what it
   * holds. With the answers inside it was 2,328 bytes; keep it small. */
  printf("# sizeof(struct vt_result) = %zu\n", sizeof(struct vt_result));
  tap_ok(sizeof(struct vt_result) < 1024,
         "struct vt_result stays under 1 KiB (%zu bytes)",
         sizeof(struct vt_result));

  /* A batch of full DNS records, more than a block of the context holds,
   * parsed into one context: each keeps its own 32 answers. */
  enum { N_REC = 20 };
  static char ans[N_REC][VT_RESULT_MAX_ANSWERS][VT_IP_STRLEN];
  static struct vt_result in[N_REC], out[N_REC];
  struct vt_rec_ctx ctx = {0};
  struct vt_buf b;
  vt_buf_init(&b, 0);
  bool ok = true;
  for (int k = 0; k < N_REC && ok; k++) {
    full_dns_record(k, &in[k], ans[k]);
    vt_buf_reset(&b);
    ok = vt_result_to_json(&in[k], true, &b) == VT_OK &&
         vt_result_from_json(vt_buf_str(&b), b.len, &ctx, &out[k], NULL, 0) ==
             VT_OK;
  }
  const char *diff = NULL;
  int bad = -1;
  for (int k = 0; k < N_REC && ok && !diff; k++) {
    diff = result_diff(&in[k], &out[k]);
    bad = k;
  }
  tap_ok(ok && !diff,
         "%d dns records with %d answers each round-trip "
         "through one context",
         N_REC, VT_RESULT_MAX_ANSWERS);
  if (diff)
    printf("#   record %d: %s\n", bad, diff);
  bool apart = true;
  for (int k = 0; k < N_REC; k++)
    for (int j = 0; j < N_REC; j++)
      apart &= j == k ||
               out[k].answers + VT_RESULT_MAX_ANSWERS <= out[j].answers ||
               out[j].answers + VT_RESULT_MAX_ANSWERS <= out[k].answers;
  tap_ok(apart, "their answers do not overlap");

  /* A refused record gives back the room its answers took (refused after
   * every field was read: ok with an error class). */
  struct vt_rec_block *cur = ctx.cur;
  int used = ctx.used;
  static const char refused[] =
      REC(",\"answers\":[\"192.0.2.1\",\"192.0.2.2\"],\"error\":\"servfail\"");
  struct vt_result r;
  tap_ok(vt_result_from_json(refused, strlen(refused), &ctx, &r, NULL, 0) ==
                 VT_EINVAL &&
             ctx.cur == cur && ctx.used == used && !r.answers &&
             r.n_answers == 0,
         "a refused record leaves the context as it was");
  static const char none[] = REC("");
  tap_ok(vt_result_from_json(none, strlen(none), &ctx, &r, NULL, 0) == VT_OK &&
             ctx.cur == cur && ctx.used == used && !r.answers &&
             r.n_answers == 0,
         "a record without answers takes nothing");

  /* Reset: the next batch reuses the first block, no allocation. */
  struct vt_rec_block *head = ctx.head;
  vt_rec_ctx_reset(&ctx);
  vt_buf_reset(&b);
  ok = vt_result_to_json(&in[N_REC - 1], true, &b) == VT_OK &&
       vt_result_from_json(vt_buf_str(&b), b.len, &ctx, &r, NULL, 0) == VT_OK;
  tap_ok(ok && ctx.head == head && ctx.cur == head &&
             ctx.used == VT_RESULT_MAX_ANSWERS &&
             !result_diff(&in[N_REC - 1], &r),
         "after a reset the next batch reuses the first block");

  char err[64] = "";
  tap_ok(vt_result_from_json(none, strlen(none), NULL, &r, err, sizeof(err)) ==
                 VT_EINVAL &&
             strstr(err, "no parse context"),
         "no context: refused");
  vt_buf_cleanup(&b);
  vt_rec_ctx_free(&ctx);
  tap_ok(!ctx.head && !ctx.cur, "the context frees its blocks");
}

int main(void)
{
  test_known_answers();
  test_tampering();
  test_spool_ids();
  test_key_files();
  test_numbers();
  test_names();
  test_ips();
  test_round_trips();
  test_accepted();
  test_refused();
  test_answer_storage();
  vt_rec_ctx_free(&rctx);
  /* The tables set the number of tests; TAP allows the plan last, and a
   * crash before it still fails the run (no plan). */
  tap_plan(tap_n);
  return tap_done();
}
