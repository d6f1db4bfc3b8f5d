/* SPDX-License-Identifier: MIT */
/* The static status page: a folder (index.html, one page per service,
 * style.css, the graphs, status.json) that any web server can serve. It is
 * written to a temporary folder next to the output and renamed into place,
 * so a reader never sees a half-written page. */
#ifndef GRAPHS_STATUS_PAGE_H
#define GRAPHS_STATUS_PAGE_H

#include <stdio.h>

#include "vt_status.h"

struct gr_ctx;

/* Builds the page into dir (replacing it atomically), drawing the graphs
 * with one worker process per core. */
enum vt_status status_page_build(struct gr_ctx *g, const char *dir)
    __attribute__((warn_unused_result));

/* The same with workers graph processes (0 = one per core, 1 = none: in
 * this process). */
enum vt_status status_page_build_jobs(struct gr_ctx *g, const char *dir,
                                      int workers)
    __attribute__((warn_unused_result));

/* `vantage-graph status-page -o DIR`; argv[0] is "status-page". */
int status_page_cmd(struct gr_ctx *g, int argc, char **argv);
void status_page_usage(FILE *out);

#endif
