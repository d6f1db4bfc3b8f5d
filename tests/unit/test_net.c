/* SPDX-License-Identifier: MIT */
/* Unit tests for the shared mechanisms in lib/: addresses and host:port
 * (net.h), atomic file writes (fsutil.h), retry delays (backoff.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "fsutil.h"
#include "net.h"
#include "tap.h"

/* One row: input, flags, expected ok, host, port (port 7 = untouched). */
static const struct {
  const char *in;
  unsigned flags;
  int ok;
  const char *host;
  unsigned port;
} hp[] = {
    {"127.0.0.1:8740", 0, 1, "127.0.0.1", 8740},
    {"[::1]:53", 0, 1, "::1", 53},
    {"example.org:443", 0, 1, "example.org", 443},
    {"a:65535", 0, 1, "a", 65535},
    {"a:65536", 0, 0, NULL, 0},
    {"a:0", 0, 0, NULL, 0},
    {"a:0", VT_NET_PORT_ZERO, 1, "a", 0},
    {"a:", 0, 0, NULL, 0},
    {":80", 0, 0, NULL, 0},
    {"a:+80", 0, 0, NULL, 0},
    {"a: 80", 0, 0, NULL, 0},
    {"a:0x50", 0, 0, NULL, 0},
    {"a:080", 0, 1, "a", 80},
    {"a:123456", 0, 0, NULL, 0},
    {"a", 0, 0, NULL, 0},
    {"a", VT_NET_PORT_OPTIONAL, 1, "a", 7},
    {"::1", 0, 0, NULL, 0},
    {"::1", VT_NET_PORT_OPTIONAL, 0, NULL, 0},
    {"::1", VT_NET_PORT_OPTIONAL | VT_NET_BARE_V6, 1, "::1", 7},
    {"::1:53", VT_NET_BARE_V6 | VT_NET_PORT_OPTIONAL, 1, "::1:53", 7},
    {"[::1]", 0, 0, NULL, 0},
    {"[::1]", VT_NET_PORT_OPTIONAL, 1, "::1", 7},
    {"[::1]x", VT_NET_PORT_OPTIONAL, 0, NULL, 0},
    {"[::1", VT_NET_PORT_OPTIONAL, 0, NULL, 0},
    {"[]:80", 0, 0, NULL, 0},
    {"[127.0.0.1]:80", 0, 0, NULL, 0},
    {"[fe80::1]:8080", 0, 1, "fe80::1", 8080},
    {"", VT_NET_PORT_OPTIONAL, 0, NULL, 0},
};

static void test_hostport(void)
{
  for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
    char host[64] = "";
    unsigned port = 7;
    bool ok = vt_net_hostport(hp[i].in, hp[i].flags, host, sizeof(host), &port);
    if (hp[i].ok)
      tap_ok(ok && strcmp(host, hp[i].host) == 0 && port == hp[i].port,
             "hostport \"%s\" (flags %u) -> \"%s\" %u (got %d \"%s\" %u)",
             hp[i].in, hp[i].flags, hp[i].host, hp[i].port, ok, host, port);
    else
      tap_ok(!ok, "hostport \"%s\" (flags %u) refused", hp[i].in, hp[i].flags);
  }
  char small[4];
  unsigned port;
  tap_ok(!vt_net_hostport("abcd:80", 0, small, sizeof(small), &port),
         "a host longer than the buffer is refused");
  tap_ok(vt_net_hostport("abc:80", 0, small, sizeof(small), &port),
         "a host that just fits is taken");
}

static void test_ip(void)
{
  unsigned char bin[16];
  tap_ok(vt_net_ip_parse("10.1.2.3", bin) == AF_INET && bin[0] == 10 &&
             bin[3] == 3,
         "IPv4 parsed into bytes");
  tap_ok(vt_net_ip_parse("2001:db8::1", bin) == AF_INET6 && bin[0] == 0x20 &&
             bin[15] == 1,
         "IPv6 parsed into bytes");
  const char *not_ip[] = {"",    "1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d",
                          "::g", "[::1]", " 1.2.3.4",  "1.2.3.4 ",  NULL};
  for (size_t i = 0; not_ip[i]; i++)
    tap_ok(!vt_net_is_ip(not_ip[i]), "\"%s\" is not an address", not_ip[i]);
  tap_ok(!vt_net_is_ip(NULL), "NULL is not an address");
  char out[64];
  tap_ok(vt_net_ip_normalize("2001:DB8:0:0::1", out, sizeof(out)) &&
             strcmp(out, "2001:db8::1") == 0,
         "IPv6 normalized to the short lower-case form");
  tap_ok(vt_net_ip_normalize("::ffff:10.0.0.1", out, sizeof(out)) &&
             strcmp(out, "::ffff:10.0.0.1") == 0,
         "v4-mapped kept as inet_ntop writes it");
  char tiny[8];
  tap_ok(!vt_net_ip_normalize("2001:db8::1", tiny, sizeof(tiny)),
         "normalize refuses a short buffer");
}

static void test_hostname(void)
{
  char l63[64], l64[65], long254[256];
  memset(l63, 'a', 63);
  l63[63] = '\0';
  memset(l64, 'a', 64);
  l64[64] = '\0';
  for (size_t i = 0; i < 254; i++)
    long254[i] = i % 2 ? '.' : 'a';
  long254[254] = '\0';
  const struct {
    const char *s;
    int ok;
  } t[] = {{"example.org", 1},  {"a", 1},    {"a-b_c.d", 1},
           {"example.org.", 1}, {l63, 1},    {l64, 0},
           {long254, 0},        {"", 0},     {".a", 0},
           {"a..b", 0},         {"a b", 0},  {"caf\xc3\xa9.fr", 0},
           {"a/b", 0},          {"a\xe9", 0}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    tap_ok(vt_net_hostname_ok(t[i].s) == (bool)t[i].ok, "hostname %.20s%s: %s",
           t[i].s, strlen(t[i].s) > 20 ? "..." : "",
           t[i].ok ? "ok" : "refused");
}

static char *slurp(int dirfd, const char *name)
{
  static char buf[256];
  int fd = openat(dirfd, name, O_RDONLY);
  if (fd < 0)
    return NULL;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return buf;
}

static void test_atomic(void)
{
  char dir[] = "/tmp/vt-test-net-XXXXXX";
  if (!mkdtemp(dir)) {
    tap_ok(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  const char *what = NULL;
  tap_ok(vt_write_file_atomic(dfd, "f", "one\n", 4, 0640, VT_FS_DURABLE,
                              &what) == 0,
         "durable write into a directory fd");
  char *got = slurp(dfd, "f");
  tap_is_str(got, "one\n", "contents written");
  tap_ok(vt_write_file_atomic(dfd, "f", "two\n", 4, 0640, 0, NULL) == 0 &&
             (got = slurp(dfd, "f")) && strcmp(got, "two\n") == 0,
         "replaced whole");
  tap_ok(faccessat(dfd, "f.tmp", F_OK, 0) != 0, "no temporary file left");
  char path[128];
  snprintf(path, sizeof(path), "%s/g", dir);
  tap_ok(vt_write_file_atomic(AT_FDCWD, path, "x", 1, 0600,
                              VT_FS_DURABLE | VT_FS_TMP_PID, NULL) == 0 &&
             (got = slurp(dfd, "g")) && strcmp(got, "x") == 0,
         "path with AT_FDCWD, PID-named temporary file");
  snprintf(path, sizeof(path), "%s/none/h", dir);
  what = NULL;
  errno = 0;
  tap_ok(vt_write_file_atomic(AT_FDCWD, path, "x", 1, 0600, 0, &what) != 0 &&
             errno == ENOENT && what && strcmp(what, "create") == 0,
         "a missing directory fails at \"create\" with ENOENT");
  /* A directory where the file belongs: the rename fails, the temporary
   * file is removed. */
  mkdirat(dfd, "d", 0700);
  mkdirat(dfd, "d/x", 0700);
  what = NULL;
  tap_ok(vt_write_file_atomic(dfd, "d", "x", 1, 0600, 0, &what) != 0 && what &&
             strcmp(what, "rename") == 0 &&
             faccessat(dfd, "d.tmp", F_OK, 0) != 0,
         "rename over a non-empty directory fails, temporary removed");
  if (access("/dev/full", W_OK) == 0) {
    int fd = open("/dev/full", O_WRONLY);
    errno = 0;
    tap_ok(vt_write_all(fd, "abc", 3) != 0 && errno == ENOSPC,
           "vt_write_all reports ENOSPC from /dev/full");
    close(fd);
  } else {
    tap_ok(1, "# SKIP no /dev/full");
  }
  snprintf(path, sizeof(path), "%s/p/q/r/file", dir);
  tap_ok(vt_mkdir_parents(path, 0750) == 0 &&
             faccessat(dfd, "p/q/r", F_OK, 0) == 0 &&
             faccessat(dfd, "p/q/r/file", F_OK, 0) != 0,
         "mkdir_parents makes the directories, not the file");
  unlinkat(dfd, "f", 0);
  unlinkat(dfd, "g", 0);
  unlinkat(dfd, "d/x", AT_REMOVEDIR);
  unlinkat(dfd, "d", AT_REMOVEDIR);
  unlinkat(dfd, "p/q/r", AT_REMOVEDIR);
  unlinkat(dfd, "p/q", AT_REMOVEDIR);
  unlinkat(dfd, "p", AT_REMOVEDIR);
  close(dfd);
  rmdir(dir);
}

static void test_backoff(void)
{
  tap_ok(vt_backoff_delay(NULL, 1, 1, 60) == 1 &&
             vt_backoff_delay(NULL, 2, 1, 60) == 2 &&
             vt_backoff_delay(NULL, 6, 1, 60) == 32 &&
             vt_backoff_delay(NULL, 7, 1, 60) == 60 &&
             vt_backoff_delay(NULL, 1000, 1, 60) == 60,
         "doubles from min, stops at max, no overflow at attempt 1000");
  uint64_t st;
  vt_jitter_seed(&st, 0);
  double lo = 1e9, hi = 0;
  int bad = 0;
  for (int i = 0; i < 10000; i++) {
    double d = vt_backoff_delay(&st, 3, 1, 60);
    if (d < 3.0 || d >= 5.0)
      bad++;
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  tap_ok(bad == 0 && lo < 3.1 && hi > 4.9,
         "jitter within [0.75, 1.25) of 4 s and spread over it (%.3f-%.3f)", lo,
         hi);
  uint64_t a, b;
  vt_jitter_seed(&a, 1);
  vt_jitter_seed(&b, 2);
  tap_ok(a != 0 && a != b, "seeds differ and are never 0");
}

int main(void)
{
  test_hostport();
  test_ip();
  test_hostname();
  test_atomic();
  test_backoff();
  printf("1..%d\n", tap_n);
  return tap_done();
}
