/* SPDX-License-Identifier: MIT */
/* Command-line helpers shared by the three programs: the -l/-v/-q log-level
 * options and -V, so their wording and exit codes cannot drift apart. */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <stdbool.h>
#include <stdio.h>

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

/* The options every program has, for the default branch of its getopt
 * switch: -l/-v/-q (the level into *level, and *level_given set when
 * level_given is not NULL), -h (usage(stdout)), -V, and anything else
 * (getopt's '?': "Try '<prog> --help'"). Returns -1 when parsing goes on,
 * or the exit status: 0 after -h and -V, 2 on a usage error. */
int vt_cli_std_option(const char *prog, int opt, const char *arg,
                      enum vt_log_level *level, bool *level_given,
                      void (*usage)(FILE *out));

/* After getopt: false, with "<prog>: unexpected argument" and the "Try"
 * line on stderr, when an operand is left in argv. */
bool vt_cli_no_operands(const char *prog, int argc, char **argv, int optind);

#endif
