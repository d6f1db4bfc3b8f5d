#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh: watch vantage do its whole job, in about four minutes.
#
#   sudo ./demo.sh          (Debian 12; root: it installs packages and
#                           builds a private network of namespaces)
#
# It installs what is missing (apt-get), builds (./test.sh --build-only),
# and then replays the incident vantage was made for, in a private network
# lab of network namespaces (nothing leaves this machine):
#   - "old" web servers (real nginx) on two addresses, "new" ones on two
#     others, a DNS server (dnsmasq) answering www.example.test with the old
#     addresses (TTL 10 s), a collector, and three probes as three vantage
#     points (each with its own state, spool and key), checking every second;
#   - steady traffic, then the DNS switch to the new addresses: the clients
#     follow as their cached answers expire;
#   - one vantage point loses its route to one new address for 20 s (a
#     partial outage, which the quorum of 2 of 3 must not call an outage);
#   - the old servers go down for 60 s (the "upgrade") and come back;
# then writes the availability report, the load-shift and outage-gap graphs
# and the status page into demo-out/, prints a summary (the outages found,
# next to what the demo did, and availability) and stops every process it
# started (also on Ctrl-C).  Time is compressed: 1 s checks and RRD steps.
#
#   ./demo.sh               install, build, run (about 4 minutes)
#   ./demo.sh --no-build    use the existing build in _build/
#   ./demo.sh --quick       the same story in about a minute
#   VT_KEEP=1 ./demo.sh     also keep the scratch files of the servers
#                           (demo-out/vt-test.*)
set -u

ORIG_PWD=$PWD
cd "$(dirname "$0")" || exit 1
ROOT=$PWD
OUT=$ROOT/demo-out
BUILD_STEP=1
# Phases in seconds: steady, clients follow, partial route loss, settle,
# upgrade (old servers down), tail; DNS TTL.
PHASES=(40 30 20 15 60 20)
TTL=10
for arg in "$@"; do
	case $arg in
	--no-build) BUILD_STEP=0 ;;
	--quick)
		PHASES=(6 8 6 3 10 4)
		TTL=4
		;;
	-h | --help)
		sed -n '3,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	cat >&2 <<'EOF'
demo.sh: please run it as root, e.g. `sudo ./demo.sh`.
It installs the packages it needs with apt-get, and it builds a private
network of Linux network namespaces (ip netns) for its servers, collector
and probes; both need root. Nothing it starts talks to the outside world,
and it stops everything it started when it ends.
EOF
	exit 1
fi

if [ "$BUILD_STEP" = 1 ]; then
	echo "==> installing what is missing and building (./test.sh --build-only)"
	"$ROOT/test.sh" --build-only || exit 1
fi

top_srcdir=$ROOT
top_builddir=$ROOT/_build
VANTAGE_PROBE=$top_builddir/vantage-probe
VANTAGE_COLLECTOR=$top_builddir/vantage-collector
VANTAGE_GRAPH=$top_builddir/vantage-graph
export top_srcdir top_builddir VANTAGE_PROBE VANTAGE_COLLECTOR VANTAGE_GRAPH
for b in "$VANTAGE_PROBE" "$VANTAGE_COLLECTOR" "$VANTAGE_GRAPH"; do
	if [ ! -x "$b" ]; then
		echo "demo.sh: $b is missing; run without --no-build" >&2
		exit 1
	fi
done

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
# shellcheck source=tests/lib/netlab.sh
. "$ROOT/tests/lib/netlab.sh"
# shellcheck source=tests/lib/demo_scenario.sh
. "$ROOT/tests/lib/demo_scenario.sh"
for t in nginx dnsmasq rrdtool python3 ip; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "demo.sh: $t not found (./test.sh --build-only installs it)" >&2
		exit 1
	}
done
why=$(vt_lab_require)
if [ -n "$why" ]; then
	echo "demo.sh: cannot build the network lab: ${why#1..0 # SKIP network lab: }" >&2
	exit 1
fi

# Output of the previous run goes; demo-out/ holds everything of this one
# (it stays), the servers' scratch files go into demo-out/vt-test.* (removed
# at the end unless VT_KEEP=1).
rm -rf "$OUT"
mkdir -p "$OUT" || exit 1
cd "$OUT" || exit 1
vt_setup # every process started is stopped at exit, however it exits

# Ctrl-C: say so, keep the servers' last words out of the way (in
# demo-out/logs/cleanup.log), stop everything (the EXIT trap of servers.sh).
_demo_interrupted() {
	echo
	echo "==> interrupted: stopping every process the demo started"
	mkdir -p "$OUT/logs"
	exec 2>>"$OUT/logs/cleanup.log"
	exit 130
}
trap _demo_interrupted INT TERM HUP

T_START=$(date +%s)
say() { printf '[%3ds] %s\n' "$(($(date +%s) - T_START))" "$*"; }
DEMO_SAY=say
DEMO_DIR=$OUT
DEMO_TTL=$TTL
DEMO_INTERVAL=1
DEMO_STEP=1
rel() { realpath -s --relative-to="${ORIG_PWD:-$ROOT}" "$1"; }

echo "==> the scenario (about $((PHASES[0] + PHASES[1] + PHASES[2] + PHASES[3] + PHASES[4] + PHASES[5] + 20)) s; Ctrl-C stops it cleanly)"
demo_setup
say "the collector rebuilds the status page every ${DEMO_STATUS_INTERVAL} s: $(rel "$OUT/status")/index.html"
demo_run "${PHASES[@]}"
demo_stop
if ! demo_render; then
	echo "demo.sh: vantage-graph failed; last lines of $(rel "$OUT/logs/graph.log"):" >&2
	tail -n 20 "$OUT/logs/graph.log" >&2
	exit 1
fi
demo_analyze || {
	echo "demo.sh: could not read the results back" >&2
	exit 1
}
demo_teardown
say "done; every process the demo started is stopped ($DEMO_LEFT left)"

demo_summary
R=$(rel "$OUT")
cat <<EOF

Outputs, in $R/
  report        $R/report.txt  (also report.json, report.html)
  graphs        $R/graphs/load-shift.png  $R/graphs/outage-gap.png
                $R/graphs/traffic.png (the users' real requests per address)  (and .svg)
  status page   $R/status/index.html
                browse it:  python3 -m http.server -d $R/status 8000
                then open   http://127.0.0.1:8000/
  data, logs    $R/data (RRD files, events.sqlite)  $R/logs  $R/timeline.tsv
  ask more      $(rel "$VANTAGE_GRAPH") -c $R/collector.cfg report --period $DEMO_PERIOD
EOF
