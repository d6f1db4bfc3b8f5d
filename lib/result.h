/* SPDX-License-Identifier: MIT */
/* The check result record: one per check, address and run. It is printed by
 * `vantage-probe --once`, spooled by the probe and, in its compact form, sent
 * to the collector. Both ends link this module so the format cannot drift. */
#ifndef VT_RESULT_H
#define VT_RESULT_H

#include <stdbool.h>

#include "buf.h"

enum vt_check_type {
  VT_CHECK_DNS,
  VT_CHECK_TCP,
  VT_CHECK_HTTP,
  VT_CHECK_CLIENT,
  VT_CHECK_LOAD, /* a server's own traffic counter, per address */
};

/* Error classes of a failed check. A target that is down is a measurement,
 * so these are fields of a result, not program errors. The names are part of
 * the interface (README, "Error classes"). */
enum vt_err {
  VT_ERR_NONE = 0,
  VT_ERR_NXDOMAIN,        /* the name does not exist */
  VT_ERR_SERVFAIL,        /* the resolver answered SERVFAIL */
  VT_ERR_REFUSED,         /* the resolver answered REFUSED */
  VT_ERR_DNS_TIMEOUT,     /* the resolver did not answer in time */
  VT_ERR_NO_ANSWER,       /* NOERROR with no A/AAAA records */
  VT_ERR_DNS_ERROR,       /* other DNS failures (FORMERR, bad packet, ...) */
  VT_ERR_DNS_UNEXPECTED,  /* answers differ from the `expect` list */
  VT_ERR_NO_ADDRESS,      /* nothing to check: the host has no address */
  VT_ERR_CONNECT_REFUSED, /* TCP RST on connect */
  VT_ERR_CONNECT_TIMEOUT, /* no answer to SYN within the timeout */
  VT_ERR_UNREACHABLE,     /* ICMP unreachable, no route */
  VT_ERR_TLS,             /* handshake or certificate verification failed */
  VT_ERR_TIMEOUT,         /* connected, but the check did not finish in time */
  VT_ERR_NETWORK,         /* reset or closed mid-transfer, other I/O errors */
  VT_ERR_HTTP,            /* malformed HTTP, unsupported protocol, redirects */
  VT_ERR_HTTP_STATUS,     /* status not in the expected list */
  VT_ERR_BODY_MISMATCH,   /* expected substring not in the body */
  VT_ERR_TOO_LARGE,       /* body larger than max_body */
  VT_ERR_INTERNAL,        /* the probe itself failed (out of memory, ...) */
};

/* Number of enum vt_err values. */
#define VT_ERR_COUNT (VT_ERR_INTERNAL + 1)

#define VT_RESULT_MAX_ANSWERS 32
#define VT_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

struct vt_result {
  double ts; /* Unix seconds, start of the run (scheduled round time) */
  char probe[64];
  char target[64];
  enum vt_check_type check;
  char name[64]; /* check name, unique within its target */
  char host[256];
  char ip[VT_IP_STRLEN]; /* "" = none (dns checks, no address) */
  int port;              /* 0 = none */
  bool ok;
  enum vt_err error;
  char detail[160]; /* human-readable reason, "" = none */
  int http_status;  /* 0 = none */
  /* Phases in milliseconds; NaN = not measured. */
  double ms_dns, ms_connect, ms_tls, ms_ttfb, ms_total;
  /* DNS checks */
  char resolver[64]; /* "" = none */
  int rcode;         /* -1 = no answer packet */
  /* The addresses, A first then AAAA: n_answers (at most
   * VT_RESULT_MAX_ANSWERS) entries borrowed from whoever made the result,
   * NULL/0 = none. Not part of the struct, so a result is sized to what it
   * holds; the storage must outlive every use of the result, and a copy of
   * the struct shares it (a holder that keeps results copies the answers:
   * prober/adhoc.c). The probe's dns check points into the c-ares answer,
   * valid while the run's done callback runs (prober/dns_check.c); a parsed
   * record into its struct vt_rec_ctx (lib/wire.h). */
  const char (*answers)[VT_IP_STRLEN];
  int n_answers;
  long ttl;        /* smallest TTL among the answers; -1 = none */
  bool incomplete; /* A or AAAA got no definitive answer though the other
                      did: addresses of that family are unknown */
  /* TLS */
  int cert_days_left; /* VT_NO_CERT_DAYS = none */
  /* client checks: the number of bytes of the body received */
  long body_bytes; /* -1 = none */
  /* tcp/http: not a check but the probe's word that the address left
   * this check's set at ts (docs/wire.md, "Retirement"); ok is true */
  bool retired;
  /* load checks: what is stored (a counter's increase per second, or a
   * gauge's level; NaN = none, e.g. a counter's first sample), the value
   * read from the status page (NaN = none) and whether the counter went
   * down since the previous sample (a server restart, not a spike) */
  double load;
  double load_value;
  bool load_reset;
};

#define VT_NO_CERT_DAYS (-100000)

/* Clears every field to its "not measured" value (NaN phases, rcode -1, ...).
 */
void vt_result_init(struct vt_result *r);

/* Sets the error class and a detail text (printf-style; may be NULL) and
 * clears ok. */
void vt_result_fail(struct vt_result *r, enum vt_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Names: "dns", "tcp", "http", "client", "load" / "nxdomain",
 * "connect_refused", ... Never NULL. vt_err_name(VT_ERR_NONE) is "none". */
const char *vt_check_type_name(enum vt_check_type t);
const char *vt_err_name(enum vt_err e);

/* Parse a check type name; returns false when unknown. */
bool vt_check_type_parse(const char *s, enum vt_check_type *out);

/* Parse an error class name; returns false when unknown. */
bool vt_err_parse(const char *s, enum vt_err *out);

/* DNS rcode name ("NOERROR", "SERVFAIL", ...) or NULL for -1. */
const char *vt_rcode_name(int rcode);

/* Appends the record as one line of JSON (no trailing newline). With
 * compact, fields that are null or unset are left out (the wire/spool form);
 * otherwise every documented field is present, null where not measured. */
enum vt_status vt_result_to_json(const struct vt_result *r, bool compact,
                                 struct vt_buf *out)
    __attribute__((warn_unused_result));

#endif
