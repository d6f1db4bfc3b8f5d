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
