/* SPDX-License-Identifier: MIT */
/* The probe → collector protocol (see wire.h and docs/wire.md): key files,
 * request signatures (HMAC-SHA256 over length-prefixed fields), header
 * numbers, and the validation of the result records of a batch. */
#include "config.h"

#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "net.h"

#define MAC_LEN 32 /* SHA-256 */

/* Record bounds (docs/wire.md, "Checks"). */
#define TS_MIN 946684800.0  /* 2000-01-01T00:00:00Z */
#define TS_END 4102444800.0 /* 2100-01-01T00:00:00Z, exclusive */
#define MS_MAX 3.6e6        /* one hour; timeouts are at most 600 s */
#define HOST_MAX 253        /* RFC 1035 presentation form, no final dot */
#define QUOTE_MAX 32        /* bytes of untrusted input quoted in reasons */

/* The HMAC implementation, fetched once: EVP_MAC_fetch() walks the provider
 * tables under a lock, which is wasted work per request. The collector may
 * verify from several threads, so the first fetch is published with a
 * compare-and-swap and a loser frees its copy. Never freed: it lives as long
 * as libcrypto does. */
static _Atomic(EVP_MAC *) wire_hmac;

static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
  if (!err || errsize == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errsize, fmt, ap);
  va_end(ap);
}

/* ---- key files ---------------------------------------------------------- */

enum vt_status vt_wire_key_load(const char *path, struct vt_wire_key *key,
                                char *err, size_t errsize)
{
  if (!path || !key) {
    set_err(err, errsize, "no key file given");
    return VT_EINVAL;
  }
  key->len = 0;
  /* The largest acceptable file is a maximal key plus "\r\n"; one byte more
   * tells "too large" without reading an arbitrarily large (or endless)
   * file to its end. */
  unsigned char buf[VT_WIRE_KEY_MAX + 3];
  size_t len = 0;
  enum vt_status st = VT_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    set_err(err, errsize, "%s: %s", path, strerror(errno));
    return VT_EIO;
  }
  while (len < sizeof(buf)) {
    ssize_t n = read(fd, buf + len, sizeof(buf) - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      set_err(err, errsize, "%s: %s", path, strerror(errno));
      st = VT_EIO;
      goto out;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  /* One trailing newline is what editors and `base64 > file` add; it is
   * not part of the secret. Only one, so a key may itself end in "\n". */
  if (len > 0 && buf[len - 1] == '\n') {
    len--;
    if (len > 0 && buf[len - 1] == '\r')
      len--;
  }
  if (len > VT_WIRE_KEY_MAX) {
    set_err(err, errsize, "%s: key file larger than %d bytes", path,
            VT_WIRE_KEY_MAX);
    st = VT_EINVAL;
    goto out;
  }
  if (len < VT_WIRE_KEY_MIN) {
    set_err(err, errsize, "%s: key shorter than %d bytes", path,
            VT_WIRE_KEY_MIN);
    st = VT_EINVAL;
    goto out;
  }
  memcpy(key->bytes, buf, len);
  key->len = len;
out:
  OPENSSL_cleanse(buf, sizeof(buf));
  close(fd);
  return st;
}

void vt_wire_key_wipe(struct vt_wire_key *key)
{
  if (key)
    OPENSSL_cleanse(key, sizeof(*key));
}

/* ---- signatures --------------------------------------------------------- */

static EVP_MAC *wire_hmac_get(void)
{
  EVP_MAC *mac = atomic_load_explicit(&wire_hmac, memory_order_acquire);
  if (mac)
    return mac;
  mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac)
    return NULL;
  EVP_MAC *seen = NULL;
  if (!atomic_compare_exchange_strong_explicit(
          &wire_hmac, &seen, mac, memory_order_acq_rel, memory_order_acquire)) {
    EVP_MAC_free(mac);
    mac = seen;
  }
  return mac;
}

static enum vt_status mac_update_str(EVP_MAC_CTX *ctx, const char *s)
{
  return EVP_MAC_update(ctx, (const unsigned char *)s, strlen(s)) == 1
             ? VT_OK
             : VT_ELIB;
}

/* The MAC of the canonical input of docs/wire.md, streamed field by field so
 * a large body is never copied. The variable-length fields (probe, body)
 * carry their length, so no two different requests share an input even when
 * a probe name contains "\n". */
static enum vt_status wire_mac(const struct vt_wire_key *key,
                               enum vt_wire_kind kind, const char *probe,
                               const char *spool, uint64_t seq, uint64_t count,
                               int64_t time, const char *body, size_t body_len,
                               unsigned char mac[MAC_LEN])
{
  if (!key || key->len > VT_WIRE_KEY_MAX || !probe || (!body && body_len) ||
      (kind != VT_WIRE_RESULTS && kind != VT_WIRE_TARGETS &&
       kind != VT_WIRE_ALERT) ||
      (spool && strlen(spool) > VT_WIRE_SPOOL_HEXLEN))
    return VT_EINVAL;
  EVP_MAC *hmac = wire_hmac_get();
  if (!hmac)
    return VT_ELIB;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
  if (!ctx)
    return VT_ELIB;

  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  char probe_len[32], numbers[96 + VT_WIRE_SPOOL_HEXLEN];
  snprintf(probe_len, sizeof(probe_len), "%zu:", strlen(probe));
  /* With a spool id, "s<len>:<id>\n" follows the time. Without one the
   * input is v1's exactly, where a digit follows the time, so no request
   * with an id shares an input with one without. */
  char spool_field[16 + VT_WIRE_SPOOL_HEXLEN] = "";
  if (spool && spool[0])
    snprintf(spool_field, sizeof(spool_field), "s%zu:%s\n", strlen(spool),
             spool);
  snprintf(numbers, sizeof(numbers),
           "\n%" PRIu64 "\n%" PRIu64 "\n%" PRId64 "\n%s%zu:", seq, count, time,
           spool_field, body_len);

  enum vt_status st = VT_ELIB;
  size_t out_len = 0;
  if (EVP_MAC_init(ctx, key->bytes, key->len, params) != 1)
    goto out;
  static const char *const prefix[] = {
      [VT_WIRE_RESULTS] = "vantage-results-v1\n",
      [VT_WIRE_TARGETS] = "vantage-targets-v1\n",
      [VT_WIRE_ALERT] = "vantage-alert-v1\n"};
  if (mac_update_str(ctx, prefix[kind]) || mac_update_str(ctx, probe_len) ||
      mac_update_str(ctx, probe) || mac_update_str(ctx, numbers))
    goto out;
  if (body_len > 0 &&
      EVP_MAC_update(ctx, (const unsigned char *)body, body_len) != 1)
    goto out;
  if (EVP_MAC_final(ctx, mac, &out_len, MAC_LEN) != 1 || out_len != MAC_LEN)
    goto out;
  st = VT_OK;
out:
  EVP_MAC_CTX_free(ctx);
  return st;
}

enum vt_status vt_wire_sign(const struct vt_wire_key *key,
                            enum vt_wire_kind kind, const char *probe,
                            uint64_t seq, uint64_t count, int64_t time,
                            const char *body, size_t body_len, char *hex)
{
  return vt_wire_sign_spool(key, kind, probe, NULL, seq, count, time, body,
                            body_len, hex);
}

enum vt_status vt_wire_sign_spool(const struct vt_wire_key *key,
                                  enum vt_wire_kind kind, const char *probe,
                                  const char *spool, uint64_t seq,
                                  uint64_t count, int64_t time,
                                  const char *body, size_t body_len, char *hex)
{
  if (!hex)
    return VT_EINVAL;
  unsigned char mac[MAC_LEN];
  enum vt_status st =
      wire_mac(key, kind, probe, spool, seq, count, time, body, body_len, mac);
  if (st)
    return st;
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < MAC_LEN; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 0x0F];
  }
  hex[VT_WIRE_SIG_HEXLEN] = '\0';
  return VT_OK;
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool vt_wire_verify(const struct vt_wire_key *key, enum vt_wire_kind kind,
                    const char *probe, uint64_t seq, uint64_t count,
                    int64_t time, const char *body, size_t body_len,
                    const char *hex)
{
  return vt_wire_verify_spool(key, kind, probe, NULL, seq, count, time, body,
                              body_len, hex);
}

bool vt_wire_verify_spool(const struct vt_wire_key *key, enum vt_wire_kind kind,
                          const char *probe, const char *spool, uint64_t seq,
                          uint64_t count, int64_t time, const char *body,
                          size_t body_len, const char *hex)
{
  if (!hex)
    return false;
  /* Decode first: the header is public, only the comparison with the
   * expected MAC has to be constant-time. A NUL stops the loop before
   * anything past the string is read. */
  unsigned char given[MAC_LEN];
  for (size_t i = 0; i < MAC_LEN; i++) {
    int hi = hex_value(hex[2 * i]);
    if (hi < 0)
      return false;
    int lo = hex_value(hex[2 * i + 1]);
    if (lo < 0)
      return false;
    given[i] = (unsigned char)(hi << 4 | lo);
  }
  if (hex[VT_WIRE_SIG_HEXLEN] != '\0')
    return false;
  unsigned char mac[MAC_LEN];
  if (wire_mac(key, kind, probe, spool, seq, count, time, body, body_len, mac))
    return false;
  return CRYPTO_memcmp(mac, given, MAC_LEN) == 0;
}

/* ---- header values ------------------------------------------------------ */

bool vt_wire_spool_ok(const char *s)
{
  size_t i = 0;
  for (; s && s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == VT_WIRE_SPOOL_HEXLEN;
}

/* Digits only, at most max, in canonical form: "0" but not "00" or "01", so
 * each number has exactly one spelling in a header. */
static bool parse_digits(const char *s, uint64_t max, uint64_t *out)
{
  if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool vt_wire_parse_u64(const char *s, uint64_t *out)
{
  uint64_t v;
  if (!s || !out || !parse_digits(s, UINT64_MAX, &v))
    return false;
  *out = v;
  return true;
}

bool vt_wire_parse_i64(const char *s, int64_t *out)
{
  if (!s || !out)
    return false;
  bool neg = s[0] == '-';
  uint64_t v;
  if (!parse_digits(s + neg, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v))
    return false;
  if (neg && v == 0)
    return false; /* "-0": a second spelling of 0 */
  /* -(v - 1) - 1 reaches INT64_MIN without overflowing. */
  *out = neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
  return true;
}

/* ---- names and addresses ------------------------------------------------ */

static bool name_char_ok(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool vt_wire_name_ok(const char *s)
{
  /* Names become path components on the collector: "." first would allow
   * "." and ".." (and hidden files), "-" first an option to some tool. */
  if (!s || s[0] == '\0' || s[0] == '.' || s[0] == '-')
    return false;
  size_t n = 0;
  for (; s[n]; n++) {
    if (n >= 63 || !name_char_ok((unsigned char)s[n]))
      return false;
  }
  return true;
}

/* ---- result records ----------------------------------------------------- */

struct rec_parse {
  struct vt_result r;
  bool error_set; /* "error" held a class (not null) */
  bool oom;       /* ctx could not grow */
  struct vt_rec_ctx *ctx;
  char *err;
  size_t errsize;
};

/* Addresses per block of a vt_rec_ctx: the answers of eight full records
 * (11.8 KB); a record's answers never straddle two blocks. */
#define REC_BLOCK_ADDRS (8 * VT_RESULT_MAX_ANSWERS)

struct vt_rec_block {
  struct vt_rec_block *next;
  char ips[REC_BLOCK_ADDRS][VT_IP_STRLEN];
};

void vt_rec_ctx_reset(struct vt_rec_ctx *ctx)
{
  ctx->cur = ctx->head;
  ctx->used = 0;
}

void vt_rec_ctx_free(struct vt_rec_ctx *ctx)
{
  if (!ctx)
    return;
  while (ctx->head) {
    struct vt_rec_block *b = ctx->head;
    ctx->head = b->next;
    free(b);
  }
  *ctx = (struct vt_rec_ctx){0};
}

/* Room for n (1..VT_RESULT_MAX_ANSWERS) contiguous addresses in ctx, or
 * NULL when out of memory. */
static char (*rec_ctx_take(struct vt_rec_ctx *ctx, int n))[VT_IP_STRLEN]
{
  if (!ctx->cur || ctx->used + n > REC_BLOCK_ADDRS) {
    struct vt_rec_block *b = ctx->cur ? ctx->cur->next : ctx->head;
    if (!b) {
      b = malloc(sizeof(*b));
      if (!b)
        return NULL;
      b->next = NULL;
      if (ctx->cur)
        ctx->cur->next = b;
      else
        ctx->head = b;
    }
    ctx->cur = b;
    ctx->used = 0;
  }
  char(*ips)[VT_IP_STRLEN] = &ctx->cur->ips[ctx->used];
  ctx->used += n;
  return ips;
}

struct rec_field;
typedef bool rec_field_fn(struct rec_parse *p, const struct rec_field *f,
                          json_t *v);

/* One top-level key of a record. A null value means "not measured" (the full
 * form writes nulls, the compact form leaves the key out), which is only
 * allowed for optional fields. */
struct rec_field {
  const char *name;
  bool required;
  rec_field_fn *parse;
  size_t off; /* destination in struct vt_result, for shared parsers */
  size_t size;
};

/* Copies untrusted text for an error reason, at most size - 4 bytes of it
 * (then "..."), with control and non-ASCII bytes replaced: reasons go to
 * logs and back to the sender. size must be at least 5. */
static const char *quote(const char *s, size_t len, char *out, size_t size)
{
  size_t max = size - 4, n = 0;
  for (; n < len && n < max; n++) {
    unsigned char c = (unsigned char)s[n];
    out[n] = c >= 0x20 && c < 0x7F ? (char)c : '?';
  }
  if (len > max) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

static bool field_err(struct rec_parse *p, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Sets the reason `field "name": ...` and returns false. */
static bool field_err(struct rec_parse *p, const char *field, const char *fmt,
                      ...)
{
  if (!p->err || p->errsize == 0)
    return false;
  int n = snprintf(p->err, p->errsize, "field \"%s\": ", field);
  if (n >= 0 && (size_t)n < p->errsize) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* A JSON string without NUL bytes (they would cut the C string short, and
 * so make a name or address mean something else than what was checked), at
 * most max bytes long. */
static bool get_str(struct rec_parse *p, const char *field, json_t *v,
                    size_t max, const char **s, size_t *len)
{
  if (!json_is_string(v))
    return field_err(p, field, "not a string");
  *s = json_string_value(v);
  *len = json_string_length(v);
  if (memchr(*s, '\0', *len))
    return field_err(p, field, "contains a NUL byte");
  if (*len > max)
    return field_err(p, field, "longer than %zu bytes", max);
  return true;
}

/* A JSON integer in [min, max]. Reals such as 80.0 are refused: the writer
 * prints whole numbers without a fraction. */
static bool get_int(struct rec_parse *p, const char *field, json_t *v,
                    json_int_t min, json_int_t max, json_int_t *out)
{
  if (!json_is_integer(v))
    return field_err(p, field, "not an integer");
  json_int_t x = json_integer_value(v);
  if (x < min || x > max)
    return field_err(p, field,
                     "%" JSON_INTEGER_FORMAT " not in %" JSON_INTEGER_FORMAT
                     "..%" JSON_INTEGER_FORMAT,
                     x, min, max);
  *out = x;
  return true;
}

static bool get_bool(struct rec_parse *p, const char *field, json_t *v,
                     bool *out)
{
  if (!json_is_boolean(v))
    return field_err(p, field, "not a boolean");
  *out = json_is_true(v);
  return true;
}

static bool rec_ts(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  if (!json_is_number(v))
    return field_err(p, f->name, "not a number");
  double ts = json_number_value(v);
  if (!isfinite(ts) || ts < TS_MIN || ts >= TS_END)
    return field_err(p, f->name, "not a time between 2000 and 2100");
  p->r.ts = ts;
  return true;
}

/* probe, target and name: they become path components on the collector. */
static bool rec_name(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  if (!get_str(p, f->name, v, f->size - 1, &s, &len))
    return false;
  if (!vt_wire_name_ok(s))
    return field_err(p, f->name, "not a name ([A-Za-z0-9._-]{1,63})");
  memcpy((char *)&p->r + f->off, s, len + 1);
  return true;
}

static bool rec_check(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  char q[QUOTE_MAX + 4];
  if (!get_str(p, f->name, v, 15, &s, &len))
    return false;
  if (!vt_check_type_parse(s, &p->r.check))
    return field_err(p, f->name, "unknown check type \"%s\"",
                     quote(s, len, q, sizeof(q)));
  return true;
}

/* A DNS name as the config allows it (letters, digits, '.', '-', '_'), or
 * an IPv6 literal in brackets, which is what curl reports as the host of
 * an http check on a URL such as http://[2001:db8::1]/. */
static bool rec_host(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  if (!get_str(p, f->name, v, HOST_MAX, &s, &len))
    return false;
  if (len == 0)
    return field_err(p, f->name, "empty");
  bool ok = true;
  if (s[0] == '[') {
    char lit[VT_IP_STRLEN];
    unsigned char bin[16];
    ok = len - 2 < sizeof(lit) && s[len - 1] == ']';
    if (ok) {
      memcpy(lit, s + 1, len - 2);
      lit[len - 2] = '\0';
      ok = vt_net_ip_parse(lit, bin) == AF_INET6;
    }
  } else {
    for (size_t i = 0; ok && i < len; i++)
      ok = name_char_ok((unsigned char)s[i]);
  }
  if (!ok)
    return field_err(p, f->name, "not a host name or [IPv6] literal");
  memcpy(p->r.host, s, len + 1);
  return true;
}

static bool rec_ip(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  if (!get_str(p, f->name, v, 63, &s, &len))
    return false;
  if (!vt_net_ip_normalize(s, p->r.ip, sizeof(p->r.ip)))
    return field_err(p, f->name, "not an IP address");
  return true;
}

static bool rec_port(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  json_int_t x = 0;
  if (!get_int(p, f->name, v, 0, 65535, &x))
    return false;
  p->r.port = (int)x;
  return true;
}

static bool rec_ok(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  return get_bool(p, f->name, v, &p->r.ok);
}

/* A failure class; "none" is the name of no failure and never written (a
 * success has error null), so it is refused like any unknown word. */
static bool rec_error(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  char q[QUOTE_MAX + 4];
  if (!get_str(p, f->name, v, 31, &s, &len))
    return false;
  if (!vt_err_parse(s, &p->r.error) || p->r.error == VT_ERR_NONE)
    return field_err(p, f->name, "unknown error class \"%s\"",
                     quote(s, len, q, sizeof(q)));
  p->error_set = true;
  return true;
}

/* Free text: only stored and escaped on output, so anything but NUL is
 * kept. Too long a text is cut at a UTF-8 character boundary (jansson has
 * already checked the encoding), never refused. */
static bool rec_detail(struct rec_parse *p, const struct rec_field *f,
                       json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  if (!get_str(p, f->name, v, SIZE_MAX, &s, &len))
    return false;
  size_t n = len;
  if (n >= sizeof(p->r.detail)) {
    n = sizeof(p->r.detail) - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(p->r.detail, s, n);
  p->r.detail[n] = '\0';
  return true;
}

static bool rec_http_status(struct rec_parse *p, const struct rec_field *f,
                            json_t *v)
{
  json_int_t x = 0;
  if (!get_int(p, f->name, v, 0, 999, &x))
    return false;
  p->r.http_status = (int)x;
  return true;
}

static bool rec_ms(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  static const struct {
    const char *key;
    const char *field;
    size_t off;
  } phases[] = {
      {"dns", "ms.dns", offsetof(struct vt_result, ms_dns)},
      {"connect", "ms.connect", offsetof(struct vt_result, ms_connect)},
      {"tls", "ms.tls", offsetof(struct vt_result, ms_tls)},
      {"ttfb", "ms.ttfb", offsetof(struct vt_result, ms_ttfb)},
      {"total", "ms.total", offsetof(struct vt_result, ms_total)},
  };
  if (!json_is_object(v))
    return field_err(p, f->name, "not an object");
  const char *key;
  json_t *ms;
  json_object_foreach(v, key, ms)
  {
    size_t i = 0;
    while (i < sizeof(phases) / sizeof(phases[0]) &&
           strcmp(key, phases[i].key) != 0)
      i++;
    if (i == sizeof(phases) / sizeof(phases[0])) {
      char q[QUOTE_MAX + 4];
      return field_err(p, f->name, "unknown phase \"%s\"",
                       quote(key, strlen(key), q, sizeof(q)));
    }
    if (json_is_null(ms))
      continue; /* stays NaN */
    if (!json_is_number(ms))
      return field_err(p, phases[i].field, "not a number");
    double x = json_number_value(ms);
    if (!isfinite(x) || x < 0 || x > MS_MAX)
      return field_err(p, phases[i].field, "not in 0..%.0f", MS_MAX);
    memcpy((char *)&p->r + phases[i].off, &x, sizeof(x));
  }
  return true;
}

/* What the probe writes: "system", an address, "addr:port" or
 * "[v6]:port". The probe checked it against its config, so only the
 * alphabet is checked here; the field is only stored and shown. */
static bool rec_resolver(struct rec_parse *p, const struct rec_field *f,
                         json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  if (!get_str(p, f->name, v, sizeof(p->r.resolver) - 1, &s, &len))
    return false;
  bool ok = len > 0;
  for (size_t i = 0; ok && i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'F') || c == '.' || c == ':' || c == '[' || c == ']';
  }
  if (!ok)
    return field_err(p, f->name, "not \"system\" or an address");
  memcpy(p->r.resolver, s, len + 1);
  return true;
}

/* The rcode as vt_rcode_name() spells it. "RCODE?", its name for every
 * code it does not know, cannot be mapped back and is refused. */
static bool rec_rcode(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  const char *s = NULL;
  size_t len = 0;
  char q[QUOTE_MAX + 4];
  if (!get_str(p, f->name, v, 15, &s, &len))
    return false;
  /* The known names are the codes 0..n-1; stop at the first unknown one. */
  for (int code = 0;; code++) {
    const char *name = vt_rcode_name(code);
    if (!name || strcmp(name, "RCODE?") == 0)
      break;
    if (strcmp(name, s) == 0) {
      p->r.rcode = code;
      return true;
    }
  }
  return field_err(p, f->name, "unknown rcode \"%s\"",
                   quote(s, len, q, sizeof(q)));
}

static bool rec_answers(struct rec_parse *p, const struct rec_field *f,
                        json_t *v)
{
  if (!json_is_array(v))
    return field_err(p, f->name, "not an array");
  if (json_array_size(v) > VT_RESULT_MAX_ANSWERS)
    return field_err(p, f->name, "more than %d addresses",
                     VT_RESULT_MAX_ANSWERS);
  int n = (int)json_array_size(v);
  if (n == 0)
    return true; /* none: answers stays NULL */
  char(*ips)[VT_IP_STRLEN] = rec_ctx_take(p->ctx, n);
  if (!ips) {
    p->oom = true;
    return field_err(p, f->name, "out of memory");
  }
  size_t i;
  json_t *a;
  json_array_foreach(v, i, a)
  {
    char field[32];
    snprintf(field, sizeof(field), "answers[%zu]", i);
    const char *s = NULL;
    size_t len = 0;
    if (!get_str(p, field, a, 63, &s, &len))
      return false;
    if (!vt_net_ip_normalize(s, ips[i], sizeof(ips[i])))
      return field_err(p, field, "not an IP address");
  }
  p->r.answers = (const char(*)[VT_IP_STRLEN])ips;
  p->r.n_answers = n;
  return true;
}

static bool rec_ttl(struct rec_parse *p, const struct rec_field *f, json_t *v)
{
  json_int_t x = 0;
  if (!get_int(p, f->name, v, 0, INT32_MAX, &x)) /* RFC 2181 section 8 */
    return false;
  p->r.ttl = (long)x;
  return true;
}

static bool rec_incomplete(struct rec_parse *p, const struct rec_field *f,
                           json_t *v)
{
  return get_bool(p, f->name, v, &p->r.incomplete);
}

static bool rec_retired(struct rec_parse *p, const struct rec_field *f,
                        json_t *v)
{
  return get_bool(p, f->name, v, &p->r.retired);
}

static bool rec_cert_days(struct rec_parse *p, const struct rec_field *f,
                          json_t *v)
{
  json_int_t x = 0;
  /* Exclusive bounds: VT_NO_CERT_DAYS itself means "no certificate". */
  if (!get_int(p, f->name, v, VT_NO_CERT_DAYS + 1, -VT_NO_CERT_DAYS - 1, &x))
    return false;
  p->r.cert_days_left = (int)x;
  return true;
}

static bool rec_body_bytes(struct rec_parse *p, const struct rec_field *f,
                           json_t *v)
{
  json_int_t x = 0;
  if (!get_int(p, f->name, v, 0, LONG_MAX, &x))
    return false;
  p->r.body_bytes = (long)x;
  return true;
}

/* load, load_value: finite and not negative (a rate, a counter, a
 * gauge); null stays NaN. */
static bool rec_load_num(struct rec_parse *p, const struct rec_field *f,
                         json_t *v)
{
  if (!json_is_number(v))
    return field_err(p, f->name, "not a number");
  double x = json_number_value(v);
  if (!isfinite(x) || x < 0 || x > 1e18)
    return field_err(p, f->name, "not in 0..1e18");
  memcpy((char *)&p->r + f->off, &x, sizeof(x));
  return true;
}

static bool rec_load_reset(struct rec_parse *p, const struct rec_field *f,
                           json_t *v)
{
  return get_bool(p, f->name, v, &p->r.load_reset);
}

#define NAME_FIELD(n)                                                          \
  {                                                                            \
    .name = #n, .required = true, .parse = rec_name,                           \
    .off = offsetof(struct vt_result, n),                                      \
    .size = sizeof(((struct vt_result *)0)->n),                                \
  }

/* Every key a record may have, in the writer's order (vt_result_to_json).
 * Keys not listed here are refused, so a typo or an injected field fails
 * loudly instead of being dropped. */
static const struct rec_field rec_fields[] = {
    {.name = "ts", .required = true, .parse = rec_ts},
    NAME_FIELD(probe),
    NAME_FIELD(target),
    {.name = "check", .required = true, .parse = rec_check},
    NAME_FIELD(name),
    {.name = "host", .required = true, .parse = rec_host},
    {.name = "ip", .parse = rec_ip},
    {.name = "port", .parse = rec_port},
    {.name = "ok", .required = true, .parse = rec_ok},
    {.name = "error", .parse = rec_error},
    {.name = "detail", .parse = rec_detail},
    {.name = "http_status", .parse = rec_http_status},
    {.name = "ms", .parse = rec_ms},
    {.name = "resolver", .parse = rec_resolver},
    {.name = "rcode", .parse = rec_rcode},
    {.name = "answers", .parse = rec_answers},
    {.name = "ttl", .parse = rec_ttl},
    {.name = "incomplete", .parse = rec_incomplete},
    {.name = "cert_days_left", .parse = rec_cert_days},
    {.name = "body_bytes", .parse = rec_body_bytes},
    {.name = "retired", .parse = rec_retired},
    {.name = "load",
     .parse = rec_load_num,
     .off = offsetof(struct vt_result, load)},
    {.name = "load_value",
     .parse = rec_load_num,
     .off = offsetof(struct vt_result, load_value)},
    {.name = "load_reset", .parse = rec_load_reset},
};

#define N_REC_FIELDS (sizeof(rec_fields) / sizeof(rec_fields[0]))

static bool rec_parse_object(struct rec_parse *p, json_t *obj)
{
  bool seen[N_REC_FIELDS] = {false};
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v)
  {
    size_t i = 0;
    while (i < N_REC_FIELDS && strcmp(key, rec_fields[i].name) != 0)
      i++;
    if (i == N_REC_FIELDS) {
      char q[QUOTE_MAX + 4];
      set_err(p->err, p->errsize, "unknown field \"%s\"",
              quote(key, strlen(key), q, sizeof(q)));
      return false;
    }
    const struct rec_field *f = &rec_fields[i];
    if (json_is_null(v)) {
      if (f->required)
        return field_err(p, f->name, "null");
      continue; /* keeps the vt_result_init() value */
    }
    if (!f->parse(p, f, v))
      return false;
    seen[i] = true;
  }
  for (size_t i = 0; i < N_REC_FIELDS; i++) {
    if (rec_fields[i].required && !seen[i])
      return field_err(p, rec_fields[i].name, "missing");
  }
  /* The error class says why a check failed, so it is there exactly when
   * ok is false; either mismatch would count wrongly in the events. */
  if (p->r.ok && p->error_set)
    return field_err(p, "error", "set although ok is true");
  if (!p->r.ok && !p->error_set)
    return field_err(p, "error", "missing although ok is false");
  /* A retirement names the address that left a tcp/http check's set. */
  if (p->r.retired &&
      (!p->r.ok || !p->r.ip[0] ||
       (p->r.check != VT_CHECK_TCP && p->r.check != VT_CHECK_HTTP &&
        p->r.check != VT_CHECK_LOAD)))
    return field_err(p, "retired",
                     "only on an ok tcp, http or load record with an ip");
  return true;
}

enum vt_status vt_result_from_json(const char *line, size_t len,
                                   struct vt_rec_ctx *ctx,
                                   struct vt_result *out, char *err,
                                   size_t errsize)
{
  if (!out)
    return VT_EINVAL;
  vt_result_init(out);
  if (!line || !ctx) {
    set_err(err, errsize, line ? "no parse context" : "no record");
    return VT_EINVAL;
  }
  /* A refused record gives back what it took of ctx. */
  struct vt_rec_block *cur0 = ctx->cur;
  int used0 = ctx->used;
  struct rec_parse p = {.ctx = ctx, .err = err, .errsize = errsize};
  vt_result_init(&p.r);
  /* JSON_ALLOW_NUL lets "\u0000" through to get_str(), which refuses it
   * with the field's name instead of a bare parse error. Without
   * JSON_DISABLE_EOF_CHECK, anything after the object but white space is
   * an error. */
  json_error_t jerr;
  json_t *obj =
      json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  if (!obj) {
    char q[sizeof(jerr.text) + 4];
    set_err(
        err, errsize, "invalid JSON at byte %d: %s", jerr.position,
        quote(jerr.text, strnlen(jerr.text, sizeof(jerr.text)), q, sizeof(q)));
    return VT_EINVAL;
  }
  bool ok = json_is_object(obj);
  if (!ok)
    set_err(err, errsize, "not a JSON object");
  else
    ok = rec_parse_object(&p, obj);
  json_decref(obj);
  if (!ok) {
    ctx->cur = cur0;
    ctx->used = used0;
    return p.oom ? VT_ENOMEM : VT_EINVAL;
  }
  *out = p.r;
  return VT_OK;
}
