/* SPDX-License-Identifier: MIT */
/* Line-oriented logging to stderr (journald or a terminal picks it up). */
#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum vt_log_level vt_log_threshold = VT_LOG_INFO;
static const char *log_ident = "vantage";
static bool log_plain;
static int log_journal = -1; /* stderr is the journal; -1 = not checked */

/* systemd sets JOURNAL_STREAM to "<dev>:<inode>" of the stream it connects
 * to stderr; when that is still our stderr, lines carry a "<N>" priority
 * prefix (sd-daemon(3)) and no time or pid of their own (the journal
 * records both). */
static bool log_to_journal(void)
{
  if (log_journal < 0) {
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    log_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                  fstat(STDERR_FILENO, &st) == 0 &&
                  (unsigned long long)st.st_dev == dev &&
                  (unsigned long long)st.st_ino == ino;
  }
  return log_journal == 1;
}

static const struct {
  enum vt_log_level level;
  const char *name;
} log_levels[] = {
    {VT_LOG_ERR, "err"},       {VT_LOG_WARNING, "warning"},
    {VT_LOG_NOTICE, "notice"}, {VT_LOG_INFO, "info"},
    {VT_LOG_DEBUG, "debug"},
};

void vt_log_init(const char *ident, enum vt_log_level threshold)
{
  if (ident)
    log_ident = ident;
  vt_log_threshold = threshold;
}

void vt_log_set_plain(bool plain)
{
  log_plain = plain;
}

bool vt_log_level_parse(const char *name, enum vt_log_level *out)
{
  for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
    if (strcmp(name, log_levels[i].name) == 0) {
      *out = log_levels[i].level;
      return true;
    }
  }
  return false;
}

const char *vt_log_level_name(enum vt_log_level level)
{
  for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
    if (log_levels[i].level == level)
      return log_levels[i].name;
  return "?";
}

void vt_log_write(enum vt_log_level level, const char *fmt, ...)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

  char raw[2048], esc[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  /* Untrusted text (a probe name, a peer's header) may hold CR, LF or ESC;
   * escape only when there is something to escape. */
  const char *msg = raw;
  for (const char *p = raw; *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      msg = vt_log_escape(raw, esc, sizeof(esc));
      break;
    }
  }
  if (log_to_journal()) {
    fprintf(stderr, "<%d>%s: %s\n", (int)level, vt_log_level_name(level), msg);
    return;
  }
  if (log_plain) {
    fprintf(stderr, "%s: %s: %s\n", log_ident, vt_log_level_name(level), msg);
    return;
  }
  /* One fprintf per line so concurrent writers do not interleave mid-line. */
  fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s\n", stamp,
          (long)(tv.tv_usec / 1000), log_ident, (long)getpid(),
          vt_log_level_name(level), msg);
}

char *vt_log_escape(const char *in, char *out, size_t size)
{
  static const char hex[] = "0123456789abcdef";
  if (!size)
    return out;
  if (!in)
    in = "(null)";
  size_t j = 0;
  for (; *in; in++) {
    unsigned char c = (unsigned char)*in;
    char e[5];
    size_t n = 0;
    if (c < 0x20 || c == 0x7f) {
      e[n++] = '\\';
      e[n++] = 'x';
      e[n++] = hex[c >> 4];
      e[n++] = hex[c & 15];
    } else if (c == '\\') {
      e[n++] = '\\';
      e[n++] = '\\';
    } else {
      e[n++] = (char)c;
    }
    if (j + n >= size)
      break;
    memcpy(out + j, e, n);
    j += n;
  }
  out[j] = '\0';
  return out;
}

bool vt_log_backoff_due(struct vt_log_backoff *b, double now,
                        unsigned long *skipped)
{
  double interval = b->interval_s > 0 ? b->interval_s : 10.0;
  b->total++;
  if (b->total > 1 && now - b->last < interval) {
    b->suppressed++;
    return false;
  }
  if (skipped)
    *skipped = b->suppressed;
  b->suppressed = 0;
  b->last = now;
  return true;
}
