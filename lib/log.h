/* SPDX-License-Identifier: MIT */
/* One logging module for every binary: syslog levels, a verbosity test
 * before any formatting, and printf-style checking. Messages start with the
 * module ("http: ...") and name the check, host and address. */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stdbool.h>

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
 * journal (JOURNAL_STREAM names it). */
void vt_log_write(enum vt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
