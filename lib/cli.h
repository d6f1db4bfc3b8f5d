/* SPDX-License-Identifier: MIT */
/* Command-line helpers shared by the three programs: the -l/-v/-q log-level
 * options and -V, so their wording and exit codes cannot drift apart. */
#ifndef VT_CLI_H
#define VT_CLI_H

#include "log.h"

enum vt_cli_res {
  VT_CLI_HANDLED = 0, /* the option was a log-level option; *level is set */
  VT_CLI_NOT_MINE,    /* not a log-level option; the caller handles it */
  VT_CLI_USAGE,       /* bad argument; the message is on stderr, exit 2 */
};

/* Handles one getopt result opt: 'l' (arg is the level name), 'v' (debug)
 * or 'q' (warning), storing the level in *level. prog prefixes the error
 * message; arg may be NULL for options other than 'l'. On an unknown level
 * name prints the error to stderr, leaves *level alone and returns
 * VT_CLI_USAGE. */
enum vt_cli_res vt_cli_log_option(const char *prog, int opt, const char *arg,
                                  enum vt_log_level *level)
    __attribute__((warn_unused_result));

/* Prints "<prog> <version>" to stdout, for -V/--version. */
void vt_cli_version(const char *prog);

#endif
