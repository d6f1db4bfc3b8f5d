/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "net.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

int vt_net_ip_parse(const char *s, unsigned char bin[16])
{
  if (!s)
    return 0;
  if (inet_pton(AF_INET, s, bin) == 1)
    return AF_INET;
  if (inet_pton(AF_INET6, s, bin) == 1)
    return AF_INET6;
  return 0;
}

bool vt_net_is_ip(const char *s)
{
  unsigned char bin[16];
  return vt_net_ip_parse(s, bin) != 0;
}

bool vt_net_ip_normalize(const char *s, char *out, size_t size)
{
  unsigned char bin[16];
  char text[INET6_ADDRSTRLEN];
  int af = vt_net_ip_parse(s, bin);
  if (!af || !out || !inet_ntop(af, bin, text, sizeof(text)))
    return false;
  size_t n = strlen(text);
  if (n >= size)
    return false;
  memcpy(out, text, n + 1);
  return true;
}

/* "1".."65535" (or "0" with zero_ok) in plain digits. */
static bool port_parse(const char *p, bool zero_ok, unsigned *port)
{
  size_t n = strlen(p);
  if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
    return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (unsigned)(p[i] - '0');
  if (v > 65535 || (v == 0 && !zero_ok))
    return false;
  *port = v;
  return true;
}

static bool copy_host(const char *h, size_t n, char *host, size_t hsize)
{
  if (n == 0 || n >= hsize)
    return false;
  memcpy(host, h, n);
  host[n] = '\0';
  return true;
}

bool vt_net_hostport(const char *s, unsigned flags, char *host, size_t hsize,
                     unsigned *port)
{
  if (!s || !host || !port)
    return false;
  bool optional = flags & VT_NET_PORT_OPTIONAL;
  bool zero_ok = flags & VT_NET_PORT_ZERO;
  const char *p = NULL; /* the port's text, if any */
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || !copy_host(s + 1, (size_t)(end - s - 1), host, hsize))
      return false;
    if (end[1] == ':')
      p = end + 2;
    else if (end[1] != '\0')
      return false;
    /* Brackets hold an IPv6 address and nothing else. */
    unsigned char bin[16];
    if (vt_net_ip_parse(host, bin) != AF_INET6)
      return false;
  } else {
    const char *colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':')) {
      /* Two colons or more: an IPv6 address, never "host:port". */
      if (!(flags & VT_NET_BARE_V6))
        return false;
      if (!copy_host(s, strlen(s), host, hsize))
        return false;
    } else if (colon) {
      if (!copy_host(s, (size_t)(colon - s), host, hsize))
        return false;
      p = colon + 1;
    } else if (!copy_host(s, strlen(s), host, hsize)) {
      return false;
    }
  }
  if (!p)
    return optional;
  return port_parse(p, zero_ok, port);
}

bool vt_net_hostname_ok(const char *s)
{
  if (!s)
    return false;
  size_t n = strlen(s);
  if (n == 0 || n > 253)
    return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
    if (++label > 63)
      return false;
  }
  return true;
}
