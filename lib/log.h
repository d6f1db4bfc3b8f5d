/* SPDX-License-Identifier: MIT */
/* One logging module for every binary: syslog levels, a verbosity test
 * before any formatting, and printf-style checking. Messages start with the
 * module ("http: ...") and name the check, host and address. */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum vt_log_level {
  VT_LOG_ERR = 3,
  VT_LOG_WARNING = 4,
  VT_LOG_NOTICE = 5,
  VT_LOG_INFO = 6,
  VT_LOG_DEBUG = 7,
};

extern enum vt_log_level vt_log_threshold;

/* Sets the verbosity and the program name shown in each line. ident is
 * borrowed and must outlive logging. */
void vt_log_init(const char *ident, enum vt_log_level threshold);

/* With plain, lines are "<ident>: <level>: <message>" without time and pid
 * (for command-line use: --check, --once); the default is timestamped. */
void vt_log_set_plain(bool plain);

/* Parses "err", "warning", "notice", "info" or "debug". Returns false on an
 * unknown name and leaves *out alone. */
bool vt_log_level_parse(const char *name, enum vt_log_level *out);

/* Name of a level ("info"); never NULL. */
const char *vt_log_level_name(enum vt_log_level level);

/* Writes one line to stderr: "<time> <ident>[pid] <level>: <message>", or
 * "<N><level>: <message>" (N the syslog priority) when stderr is the
 * journal (JOURNAL_STREAM names it). Control bytes in the formatted
 * message are escaped (vt_log_escape), so one call is always exactly one
 * line. */
void vt_log_write(enum vt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies in into out (size bytes, always NUL-terminated when size > 0)
 * with control bytes (below 0x20, and 0x7f) written as \xNN and the
 * backslash as \\, so a name sent by a peer cannot forge log lines or
 * send escape sequences to a terminal. Truncates at a whole escape.
 * Returns out. in may be NULL ("(null)"). */
char *vt_log_escape(const char *in, char *out, size_t size);

/* Back-off for a message that may repeat at a high rate (a refused
 * connection, a rejected record): the first occurrence is logged, then at
 * most one line per interval_s saying how many were left out meanwhile
 * (collectd's utils_complain does the same). Zero-initialise; interval_s
 * 0 means 10 s. */
struct vt_log_backoff {
  double interval_s;
  double last;              /* monotonic time of the last line written */
  unsigned long suppressed; /* occurrences not logged since */
  unsigned long total;      /* every occurrence */
};

/* Counts one occurrence at monotonic time now. Returns true when the
 * caller should write its line now; *skipped (may be NULL) then gets the
 * number of occurrences left out since the previous line. */
bool vt_log_backoff_due(struct vt_log_backoff *b, double now,
                        unsigned long *skipped);

#define VT_LOG(level, ...)                                                     \
  do {                                                                         \
    if ((level) <= vt_log_threshold)                                           \
      vt_log_write((level), __VA_ARGS__);                                      \
  } while (0)
#define vt_err(...) VT_LOG(VT_LOG_ERR, __VA_ARGS__)
#define vt_warn(...) VT_LOG(VT_LOG_WARNING, __VA_ARGS__)
#define vt_notice(...) VT_LOG(VT_LOG_NOTICE, __VA_ARGS__)
#define vt_info(...) VT_LOG(VT_LOG_INFO, __VA_ARGS__)
#define vt_debug(...) VT_LOG(VT_LOG_DEBUG, __VA_ARGS__)

#endif
