/* SPDX-License-Identifier: MIT */
/* Network names and addresses as the configs and the wire spell them:
 * IP literals, "host:port" with "[v6]:port", DNS host names. One parser
 * for every setting that takes them, so they all accept the same text. */
#ifndef VT_NET_H
#define VT_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Parses an IPv4 or IPv6 literal into bin (4 or 16 bytes used). Returns
 * AF_INET, AF_INET6, or 0 when s is not an address. */
int vt_net_ip_parse(const char *s, unsigned char bin[16]);

/* True when s is an IPv4 or IPv6 literal. */
bool vt_net_is_ip(const char *s);

/* Writes the canonical form of the IP literal s into out (inet_ntop's:
 * lower case, shortest IPv6); false when s is not one or out is short. */
bool vt_net_ip_normalize(const char *s, char *out, size_t size);

/* Flags of vt_net_hostport. */
enum {
  VT_NET_PORT_OPTIONAL = 1, /* "host" alone is fine; *port keeps its value */
  VT_NET_PORT_ZERO = 2,     /* port 0 is allowed (e.g. "any free port") */
  VT_NET_BARE_V6 = 4,       /* "::1" (two colons, no brackets) is an IPv6
                               address without a port, not host "::" port 1 */
};

/* Splits "host:port", "[v6]:port" (and, with the flags above, "host",
 * "[v6]" or a bare IPv6 address) into host (without brackets) and port.
 * The port is plain decimal digits (no sign, no spaces, no "0x"), 1-65535.
 * Without VT_NET_BARE_V6 a bare IPv6 address is refused as ambiguous.
 * False, with host and *port undefined, on anything else, an empty host or
 * a host that does not fit in hsize. */
bool vt_net_hostport(const char *s, unsigned flags, char *host, size_t hsize,
                     unsigned *port);

/* True for a DNS host name as the probe checks it: labels of letters,
 * digits, '-' and '_' (1-63 bytes each), joined by single dots, 253 bytes
 * in all. Byte-wise: the locale never widens the alphabet. */
bool vt_net_hostname_ok(const char *s);

#endif
