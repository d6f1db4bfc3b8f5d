/* SPDX-License-Identifier: MIT */
/* The probe → collector protocol (docs/wire.md): request signing and
 * verification (HMAC-SHA256 over length-prefixed fields), key files, and
 * parsing of the result records of a batch. Linked by both ends so they
 * cannot drift apart. Pure functions: no I/O except vt_wire_key_load, no
 * logging. */
#ifndef VT_WIRE_H
#define VT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "vt_status.h"

#define VT_WIRE_HDR_PROBE "X-Vantage-Probe"
#define VT_WIRE_HDR_SEQ "X-Vantage-Seq"
#define VT_WIRE_HDR_COUNT "X-Vantage-Count"
#define VT_WIRE_HDR_TIME "X-Vantage-Time"
#define VT_WIRE_HDR_SIG "X-Vantage-Signature"
#define VT_WIRE_HDR_SPOOL "X-Vantage-Spool" /* optional, signed */
#define VT_WIRE_SPOOL_HEXLEN 32
#define VT_WIRE_SIG_HEXLEN 64
#define VT_WIRE_KEY_MIN 32
#define VT_WIRE_KEY_MAX 1024

enum vt_wire_kind {
  VT_WIRE_RESULTS, /* POST /v1/results */
  VT_WIRE_TARGETS, /* GET /v1/targets */
  VT_WIRE_ALERT,   /* the collector's alert webhook (docs/alerts.md) */
};

struct vt_wire_key {
  unsigned char bytes[VT_WIRE_KEY_MAX];
  size_t len;
};

/* Reads a key file (its bytes, one trailing newline stripped). Fails with
 * VT_EINVAL when shorter than VT_WIRE_KEY_MIN or longer than
 * VT_WIRE_KEY_MAX, VT_EIO when unreadable; err (may be NULL) gets a reason. */
enum vt_status vt_wire_key_load(const char *path, struct vt_wire_key *key,
                                char *err, size_t errsize)
    __attribute__((warn_unused_result));

/* Wipes a key (OPENSSL_cleanse). */
void vt_wire_key_wipe(struct vt_wire_key *key);

/* Computes the signature of a request as 64 lowercase hex digits plus NUL
 * into hex (at least 65 bytes). Returns VT_ELIB if libcrypto fails. */
enum vt_status vt_wire_sign(const struct vt_wire_key *key,
                            enum vt_wire_kind kind, const char *probe,
                            uint64_t seq, uint64_t count, int64_t time,
                            const char *body, size_t body_len, char *hex)
    __attribute__((warn_unused_result));

/* True when hex is exactly 64 hex digits and equals the signature of the
 * request (constant-time comparison). */
bool vt_wire_verify(const struct vt_wire_key *key, enum vt_wire_kind kind,
                    const char *probe, uint64_t seq, uint64_t count,
                    int64_t time, const char *body, size_t body_len,
                    const char *hex);

/* The same for a request that names the probe's spool (X-Vantage-Spool,
 * docs/wire.md): spool is its id, at most VT_WIRE_SPOOL_HEXLEN characters;
 * NULL or "" signs and verifies exactly as the functions above. */
enum vt_status vt_wire_sign_spool(const struct vt_wire_key *key,
                                  enum vt_wire_kind kind, const char *probe,
                                  const char *spool, uint64_t seq,
                                  uint64_t count, int64_t time,
                                  const char *body, size_t body_len, char *hex)
    __attribute__((warn_unused_result));
bool vt_wire_verify_spool(const struct vt_wire_key *key, enum vt_wire_kind kind,
                          const char *probe, const char *spool, uint64_t seq,
                          uint64_t count, int64_t time, const char *body,
                          size_t body_len, const char *hex);

/* True for a spool id: exactly VT_WIRE_SPOOL_HEXLEN lowercase hex digits. */
bool vt_wire_spool_ok(const char *s);

/* Parses a decimal header value into *out; false on anything else
 * (signs, spaces, overflow, empty). */
bool vt_wire_parse_u64(const char *s, uint64_t *out);
bool vt_wire_parse_i64(const char *s, int64_t *out);

/* True for a safe name: [A-Za-z0-9._-]{1,63}, not starting with '.' or
 * '-'. The same rule as the configs; names become path components. */
bool vt_wire_name_ok(const char *s);

/* The parse context of result records: holds the DNS answers of the
 * records parsed with it (struct vt_result only points at them), so it must
 * outlive every use of those records. Zero-initialized it is empty; it takes
 * memory only for records with answers, in blocks that never move (a record
 * parsed later does not disturb an earlier one's answers). */
struct vt_rec_block;
struct vt_rec_ctx {
  struct vt_rec_block *head, *cur; /* cur: where the next answers go */
  int used;                        /* addresses taken in cur */
};

/* Forgets the answers of every record parsed with ctx (those records must
 * no longer be used) and keeps the memory for the next batch. */
void vt_rec_ctx_reset(struct vt_rec_ctx *ctx);

/* Frees ctx's memory and leaves it empty; ctx may be NULL. */
void vt_rec_ctx_free(struct vt_rec_ctx *ctx);

/* Parses one compact (or full) JSON result record of len bytes (no NUL
 * needed) into *out, validating every field (names, IPs, check type, error
 * class, numbers finite and in range). The record's answers are stored in
 * ctx (out->answers points there, valid until vt_rec_ctx_reset or _free);
 * a refused record leaves nothing there. On failure returns VT_EINVAL with
 * a short reason in err ("field \"ip\": not an IP address"), or VT_ENOMEM
 * when ctx cannot grow. */
enum vt_status
vt_result_from_json(const char *line, size_t len, struct vt_rec_ctx *ctx,
                    struct vt_result *out, char *err, size_t errsize)
    __attribute__((warn_unused_result));

#endif
