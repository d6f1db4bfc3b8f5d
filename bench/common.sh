# SPDX-License-Identifier: MIT
# Shared start of the benchmarks in bench/: sourced right after `set -u`
# with the script's arguments and BENCH_NAME set ("probe_bench", ...).
#
#   BENCH_DIR ROOT BUILD       this folder, the repository, the build
#                              directory (argument 1, default _build;
#                              relative paths: the current directory first,
#                              then the repository)
#   say MSG / die MSG          progress on stderr / "BENCH_NAME: MSG", exit 2
#   bench_need_tools HINT T... die naming the missing tools and the Debian
#                              packages (HINT) that bring them
#   bench_servers              cd to $TMPDIR (or /tmp), source
#                              tests/lib/servers.sh and vt_setup (the
#                              caller exports top_srcdir and VANTAGE_*)
#   bench_nginx_for_load       after bench_servers: the next vt_nginx_start
#                              gets 16384 connections and no access log
#   bench_probe                PROBE=$BUILD/vantage-probe, or die when it is
#                              not built
#   bench_raise_nofile [N]     raise the soft open-files limit to N (default
#                              and at most: the hard limit)
#   bench_rusage NAME ARGS...  bench/run_rusage.py --json $WORK/NAME.json
#                              --pid-file $WORK/NAME.pid ARGS (ARGS bound
#                              the run: --limit, --term-after), tracked and
#                              waited for; die when it fails
#   bench_median               the median of the numbers on stdin ("-" when
#                              none)
#   bench_ratio A B            A / B with two decimals ("-" when B is 0)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

build_arg=${1:-_build}
case $build_arg in
/*) BUILD=$build_arg ;;
*)
	if [ -d "$build_arg" ]; then
		BUILD=$(cd "$build_arg" && pwd)
	else
		BUILD=$ROOT/$build_arg
	fi
	;;
esac

say() { echo "==> $*" >&2; }
die() {
	echo "$BENCH_NAME: $*" >&2
	exit 2
}

bench_need_tools() {
	local hint=$1 t missing=
	shift
	for t in "$@"; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 ||
			missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing:$missing (Debian: apt-get install $hint)"
}

bench_servers() {
	cd "${TMPDIR:-/tmp}" || die "cannot cd to ${TMPDIR:-/tmp}"
	# shellcheck disable=SC1091 # (sourced at run time from the repository)
	. "$ROOT/tests/lib/servers.sh"
	vt_setup
}

# servers.sh sizes nginx for the tests (512 connections, access log on).  A
# once pass keeps thousands of connections open at the same moment, so the
# benchmark's nginx gets more connections and no access log; everything else
# (listeners, certificates, locations) stays as the tests have it.
bench_nginx_for_load() {
	eval "$(declare -f _vt_nginx_conf | sed '1s/_vt_nginx_conf/_bench_nginx_conf_tests/')"
	# shellcheck disable=SC2317 # called by vt_nginx_start
	_vt_nginx_conf() {
		_bench_nginx_conf_tests "$@"
		sed -i -e 's/worker_connections [0-9]*;/worker_connections 16384;/' \
			-e 's|^\( *\)access_log .*;|\1access_log off;|' "$VT_TMP/nginx/nginx.conf"
	}
}

bench_probe() {
	PROBE=$BUILD/vantage-probe
	[ -x "$PROBE" ] ||
		die "no vantage-probe in $BUILD (build first: ./test.sh --build-only, or give BUILD_DIR)"
}

bench_raise_nofile() {
	local hard want
	hard=$(ulimit -Hn)
	want=${1:-$hard}
	[ "$hard" != unlimited ] && [ "$want" != unlimited ] && [ "$hard" -lt "$want" ] && want=$hard
	ulimit -Sn "$want" 2>/dev/null || true
}

bench_rusage() {
	local name=$1 pid
	shift
	rm -f "$WORK/$name.pid"
	"$VT_PYTHON" "$BENCH_DIR/run_rusage.py" --json "$WORK/$name.json" \
		--pid-file "$WORK/$name.pid" "$@" &
	pid=$!
	vt_track "$pid"
	for _ in $(seq 1 100); do
		[ -s "$WORK/$name.pid" ] && break
		sleep 0.01
	done
	[ -s "$WORK/$name.pid" ] && vt_track "$(cat "$WORK/$name.pid")"
	wait "$pid" || die "$name: run_rusage.py failed"
}

bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'
}

bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'
}
