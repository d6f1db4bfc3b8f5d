/* SPDX-License-Identifier: MIT */
/* malloc_count.c: an LD_PRELOAD allocation counter for bench/probe_bench.sh.
 * Counts malloc/calloc/realloc/memalign-family calls and frees, and charges
 * each allocation to the library that asked for it: the first caller frame
 * outside libc and the dynamic loader (so strdup() from libcurl counts as
 * libcurl). The vantage-probe binary (lib/ and prober/ are linked in
 * statically) is "probe".
 *
 *   cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c -ldl
 *   MALLOC_COUNT_OUT=counts.txt LD_PRELOAD=./malloc_count.so vantage-probe ...
 *
 * One line is appended to MALLOC_COUNT_OUT (default: stderr) at exit, and
 * one at each SIGUSR2 (the probe does not use that signal), so a daemon can
 * be sampled twice and the difference taken:
 *
 *   malloc_count: tag=exit allocs=N frees=N malloc=N calloc=N realloc=N
 *     memalign=N probe=N libcurl=N openssl=N c-ares=N libev=N libconfig=N
 *     libc=N other=N
 *
 * (one line; wrapped here). "libc" counts allocations whose stack could not
 * be walked past libc, "other" any other library. realloc(p, n) with p !=
 * NULL counts as one allocation, like valgrind's "allocs". Not meant for
 * production: the attribution walks the stack when libc is the caller. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's own entry points (exported since 2.2.5): no dlsym bootstrap. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

enum mc_class {
  MC_PROBE,
  MC_CURL,
  MC_OPENSSL,
  MC_CARES,
  MC_EV,
  MC_CONFIG,
  MC_LIBC,
  MC_OTHER,
  MC_N,
};
static const char *const mc_class_name[MC_N] = {
    "probe", "libcurl",   "openssl", "c-ares",
    "libev", "libconfig", "libc",    "other"};

enum mc_fn { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_MEMALIGN, MC_FN_N };
static const char *const mc_fn_name[MC_FN_N] = {"malloc", "calloc", "realloc",
                                                "memalign"};

static uint64_t mc_by_class[MC_N];
static uint64_t mc_by_fn[MC_FN_N];
static uint64_t mc_frees;
static char mc_path[4096]; /* MALLOC_COUNT_OUT, read once at start */

/* Set while we classify, so allocations made by dladdr() or backtrace()
 * themselves are counted but not classified (no recursion). */
static __thread int mc_busy __attribute__((tls_model("initial-exec")));

/* Return address -> class, direct-mapped; 0 = empty (class + 1 stored). */
#define MC_CACHE 8192
static struct {
  uintptr_t addr;
  unsigned char cls1;
} mc_cache[MC_CACHE];

static int mc_classify_dso(const char *path)
{
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  if (strncmp(b, "libc.so", 7) == 0 || strncmp(b, "ld-linux", 8) == 0 ||
      strncmp(b, "malloc_count", 12) == 0)
    return MC_LIBC;
  if (strncmp(b, "libcurl", 7) == 0)
    return MC_CURL;
  if (strncmp(b, "libssl", 6) == 0 || strncmp(b, "libcrypto", 9) == 0)
    return MC_OPENSSL;
  if (strncmp(b, "libcares", 8) == 0)
    return MC_CARES;
  if (strncmp(b, "libev", 5) == 0)
    return MC_EV;
  if (strncmp(b, "libconfig", 9) == 0)
    return MC_CONFIG;
  if (strstr(b, "vantage"))
    return MC_PROBE;
  return MC_OTHER;
}

static int mc_classify_addr(uintptr_t a)
{
  size_t i = (a >> 2) % MC_CACHE;
  if (mc_cache[i].addr == a && mc_cache[i].cls1)
    return mc_cache[i].cls1 - 1;
  Dl_info info;
  int cls = MC_OTHER;
  if (dladdr((void *)a, &info) && info.dli_fname)
    cls = mc_classify_dso(info.dli_fname);
  mc_cache[i].addr = a;
  mc_cache[i].cls1 = (unsigned char)(cls + 1);
  return cls;
}

static void mc_count(enum mc_fn fn, void *caller)
{
  __atomic_fetch_add(&mc_by_fn[fn], 1, __ATOMIC_RELAXED);
  int cls = MC_LIBC;
  if (!mc_busy) {
    mc_busy = 1;
    cls = mc_classify_addr((uintptr_t)caller);
    if (cls == MC_LIBC) {
      /* Called from libc (strdup, fopen, getaddrinfo...): find who called
       * libc. Our own frames count as libc and are skipped too. */
      void *frames[16];
      int n = backtrace(frames, 16);
      for (int k = 0; k < n; k++) {
        int c = mc_classify_addr((uintptr_t)frames[k]);
        if (c != MC_LIBC) {
          cls = c;
          break;
        }
      }
    }
    mc_busy = 0;
  }
  __atomic_fetch_add(&mc_by_class[cls], 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
  mc_count(MC_MALLOC, __builtin_return_address(0));
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
  mc_count(MC_CALLOC, __builtin_return_address(0));
  return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
  mc_count(MC_REALLOC, __builtin_return_address(0));
  return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  mc_count(MC_REALLOC, __builtin_return_address(0));
  return __libc_realloc(p, bytes);
}

void *memalign(size_t align, size_t n)
{
  mc_count(MC_MEMALIGN, __builtin_return_address(0));
  return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
  mc_count(MC_MEMALIGN, __builtin_return_address(0));
  return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
  if (align < sizeof(void *) || (align & (align - 1)))
    return EINVAL;
  mc_count(MC_MEMALIGN, __builtin_return_address(0));
  void *p = __libc_memalign(align, n);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

void *valloc(size_t n)
{
  mc_count(MC_MEMALIGN, __builtin_return_address(0));
  return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void free(void *p)
{
  if (p)
    __atomic_fetch_add(&mc_frees, 1, __ATOMIC_RELAXED);
  __libc_free(p);
}

/* ---- reporting (async-signal-safe: no stdio, no allocation) ------------ */

static char *mc_put_str(char *o, const char *end, const char *s)
{
  while (*s && o < end)
    *o++ = *s++;
  return o;
}

static char *mc_put_u64(char *o, const char *end, uint64_t v)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0 && o < end)
    *o++ = tmp[--n];
  return o;
}

static void mc_report(const char *tag)
{
  char buf[512];
  char *o = buf, *end = buf + sizeof(buf) - 1;
  uint64_t allocs = 0;
  for (int i = 0; i < MC_FN_N; i++)
    allocs += __atomic_load_n(&mc_by_fn[i], __ATOMIC_RELAXED);
  o = mc_put_str(o, end, "malloc_count: tag=");
  o = mc_put_str(o, end, tag);
  o = mc_put_str(o, end, " allocs=");
  o = mc_put_u64(o, end, allocs);
  o = mc_put_str(o, end, " frees=");
  o = mc_put_u64(o, end, __atomic_load_n(&mc_frees, __ATOMIC_RELAXED));
  for (int i = 0; i < MC_FN_N; i++) {
    o = mc_put_str(o, end, " ");
    o = mc_put_str(o, end, mc_fn_name[i]);
    o = mc_put_str(o, end, "=");
    o = mc_put_u64(o, end, __atomic_load_n(&mc_by_fn[i], __ATOMIC_RELAXED));
  }
  for (int i = 0; i < MC_N; i++) {
    o = mc_put_str(o, end, " ");
    o = mc_put_str(o, end, mc_class_name[i]);
    o = mc_put_str(o, end, "=");
    o = mc_put_u64(o, end, __atomic_load_n(&mc_by_class[i], __ATOMIC_RELAXED));
  }
  *o++ = '\n';
  int saved = errno;
  int fd = 2;
  if (mc_path[0])
    fd = open(mc_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, buf, (size_t)(o - buf));
    (void)w;
    if (fd != 2)
      close(fd);
  }
  errno = saved;
}

static void mc_on_usr2(int sig)
{
  (void)sig;
  mc_report("sample");
}

__attribute__((constructor)) static void mc_init(void)
{
  const char *path = getenv("MALLOC_COUNT_OUT");
  if (path && strlen(path) < sizeof(mc_path))
    memcpy(mc_path, path, strlen(path) + 1);
  /* Load the unwinder now, outside any allocation. */
  void *frames[2];
  mc_busy = 1;
  backtrace(frames, 2);
  mc_busy = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = mc_on_usr2;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
}

__attribute__((destructor)) static void mc_fini(void)
{
  mc_report("exit");
}
