/* SPDX-License-Identifier: MIT */
/* vantage-graph: graphs, availability reports and the static status page,
 * from what vantage-collector stored. This file is wiring only: global
 * options, opening the data, dispatching to a subcommand. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "graph.h"
#include "log.h"
#include "report.h"
#include "status_page.h"

#define DEFAULT_CONFIG "/etc/vantage/collector.cfg"

enum exit_code {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1,
  EXIT_USAGE = 2,
};

static void usage(FILE *out)
{
  fprintf(out,
          "Usage: vantage-graph [-c FILE] [-l LEVEL | -v | -q] COMMAND "
          "[OPTIONS]\n"
          "Graphs, availability reports and a static status page from what\n"
          "vantage-collector stored (its RRD files and events database).\n"
          "\n"
          "Global options:\n"
          "  -c, --config FILE     the collector's configuration (default "
          "%s)\n"
          "  -l, --log-level LVL   err, warning, notice (default), info, "
          "debug\n"
          "  -v, --verbose         same as --log-level debug\n"
          "  -q, --quiet           same as --log-level warning\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n"
          "\n"
          "Commands:\n",
          DEFAULT_CONFIG);
  graph_usage(out);
  report_usage(out);
  status_page_usage(out);
  fprintf(out,
          "\n"
          "Times: 2026-11-21T10:00:00Z, Unix seconds, or relative to now:\n"
          "-30s, -90m, -3h, -1d, -2w, now. All times are UTC.\n"
          "\n"
          "Exit status: 0 success, 1 no data or unreadable data, 2 usage or\n"
          "configuration error.\n");
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"log-level", required_argument, NULL, 'l'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  const char *config = DEFAULT_CONFIG;
  enum vt_log_level level = VT_LOG_NOTICE;
  int c;
  /* "+": stop at the subcommand; its options are its own. */
  while ((c = getopt_long(argc, argv, "+c:l:vqhV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      config = optarg;
      break;
    default: {
      int rc =
          vt_cli_std_option("vantage-graph", c, optarg, &level, NULL, usage);
      if (rc >= 0)
        return rc;
    }
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "vantage-graph: a command is needed (graph, report, "
                    "status-page)\n"
                    "Try 'vantage-graph --help' for more information.\n");
    return EXIT_USAGE;
  }
  vt_log_init("vantage-graph", level);
  vt_log_set_plain(true);

  const char *cmd = argv[optind];
  int (*run)(struct gr_ctx *, int, char **) = NULL;
  if (strcmp(cmd, "graph") == 0)
    run = graph_cmd;
  else if (strcmp(cmd, "report") == 0)
    run = report_cmd;
  else if (strcmp(cmd, "status-page") == 0)
    run = status_page_cmd;
  if (!run) {
    fprintf(stderr,
            "vantage-graph: unknown command \"%s\" (graph, report, "
            "status-page)\n",
            cmd);
    return EXIT_USAGE;
  }
  /* Subcommand --help works without any data. */
  for (int i = optind + 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return run(NULL, argc - optind, argv + optind);

  struct gr_ctx *g = NULL;
  enum vt_status st = gr_open(config, &g);
  if (st != VT_OK)
    return st == VT_ECONFIG ? EXIT_USAGE : EXIT_RUNTIME;
  int rc = run(g, argc - optind, argv + optind);
  gr_close(g);
  return rc;
}
