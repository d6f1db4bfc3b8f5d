#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/collector_e2e.sh with every RRD write going through a real
# rrdcached (unix socket, journal), which is also killed with SIGKILL and
# restarted on its journal halfway through; see VT_E2E_RRDCACHED there.
PATH=$PATH:/usr/sbin:/sbin
command -v rrdcached >/dev/null 2>&1 || { echo "1..0 # SKIP no rrdcached"; exit 0; }
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
VT_E2E_RRDCACHED=1
export top_srcdir VT_E2E_RRDCACHED
exec bash "$top_srcdir/tests/collector_e2e.sh"
