/* SPDX-License-Identifier: MIT */
/* `vantage-probe check URL|HOST:PORT ...`: the ad-hoc check, without a
 * configuration file. It builds a configuration from the command line and
 * runs it through the scheduler's once mode, so it checks exactly the way
 * the daemon does: every address behind the name, Host, SNI and
 * certificate pinned to the name. */
#ifndef PROBE_ADHOC_H
#define PROBE_ADHOC_H

/* Runs `vantage-probe check`; argv[0] is "check". Returns the exit status:
 * 0 every address passed, 1 any check failed (or the probe could not
 * start), 2 usage error. */
int adhoc_main(int argc, char **argv);

#endif
