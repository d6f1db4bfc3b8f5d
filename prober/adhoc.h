/* SPDX-License-Identifier: MIT */
/* `vantage-probe check URL|HOST:PORT ...`: the ad-hoc check, without a
 * configuration file. It builds a configuration from the command line and
 * runs it through the scheduler's once mode, so it checks exactly the way
 * the daemon does: every address behind the name, Host, SNI and
 * certificate pinned to the name. Also the one-line failure summary that
 * `--once --fail` prints. */
#ifndef PROBE_ADHOC_H
#define PROBE_ADHOC_H

#include <stddef.h>

struct vt_result;

/* Runs `vantage-probe check`; argv[0] is "check". Returns the exit status:
 * 0 every address passed, 1 any check failed (or the probe could not
 * start), 2 usage error. */
int adhoc_main(int argc, char **argv);

/* Formats a failed result as one line (no newline) into out:
 * "TARGET/CHECK TYPE HOST [IP]:PORT: ERROR (HTTP 503): DETAIL". Returns
 * out. */
char *adhoc_fail_line(const struct vt_result *r, char *out, size_t size);

#endif
