/* SPDX-License-Identifier: MIT */
/* Log-level and version options shared by vantage-probe, vantage-collector
 * and vantage-graph. */
#include "config.h"

#include "cli.h"

#include <stdio.h>

enum vt_cli_res vt_cli_log_option(const char *prog, int opt, const char *arg,
                                  enum vt_log_level *level)
{
  switch (opt) {
  case 'l':
    if (!vt_log_level_parse(arg, level)) {
      fprintf(stderr,
              "%s: --log-level: unknown level \"%s\" "
              "(err, warning, notice, info, debug)\n",
              prog, arg);
      return VT_CLI_USAGE;
    }
    return VT_CLI_HANDLED;
  case 'v':
    *level = VT_LOG_DEBUG;
    return VT_CLI_HANDLED;
  case 'q':
    *level = VT_LOG_WARNING;
    return VT_CLI_HANDLED;
  default:
    return VT_CLI_NOT_MINE;
  }
}

void vt_cli_version(const char *prog)
{
  printf("%s %s\n", prog, PACKAGE_VERSION);
}

int vt_cli_std_option(const char *prog, int opt, const char *arg,
                      enum vt_log_level *level, bool *level_given,
                      void (*usage)(FILE *out))
{
  switch (vt_cli_log_option(prog, opt, arg, level)) {
  case VT_CLI_HANDLED:
    if (level_given)
      *level_given = true;
    return -1;
  case VT_CLI_USAGE:
    return 2;
  case VT_CLI_NOT_MINE:
    break;
  }
  switch (opt) {
  case 'h':
    usage(stdout);
    return 0;
  case 'V':
    vt_cli_version(prog);
    return 0;
  default:
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    return 2;
  }
}

bool vt_cli_no_operands(const char *prog, int argc, char **argv, int optind)
{
  if (optind >= argc)
    return true;
  fprintf(stderr,
          "%s: unexpected argument \"%s\"\n"
          "Try '%s --help' for more information.\n",
          prog, argv[optind], prog);
  return false;
}
