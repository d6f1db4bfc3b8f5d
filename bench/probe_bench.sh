#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_bench.sh: throughput, steady-state and allocation benchmarks of
# vantage-probe against real nginx and dnsmasq on loopback (see
# bench/README.md for what each figure means and the figures measured).
#
#   bench/probe_bench.sh [BUILD_DIR]      default BUILD_DIR: _build
#
# BUILD_DIR holds a built vantage-probe (relative paths are taken from the
# current directory if they exist there, else from the repository root).
# Needs nginx, dnsmasq, curl, python3, openssl and cc; valgrind is optional
# (benchmark 3b is skipped without it).  Debian:
#   apt-get install nginx-light dnsmasq-base curl python3 openssl gcc valgrind
#
# Benchmarks (all on 127.0.0.0/8; every loop is bounded in count and time):
#   1. one `vantage-probe --once` pass: targets x addresses x (tcp, http,
#      https) plus one DNS check per target; the same pass with http+https
#      only; and the curl CLI doing those same HTTP(S) requests (ceiling).
#   2. the daemon on the same checks at interval 1 s for BENCH_DAEMON_S
#      seconds, then SIGTERM: results/s, lateness, skipped rounds, RSS, CPU.
#   3a. allocations per check run by check type, with bench/malloc_count.c
#      preloaded (sampled twice in one daemon run; split by library).
#   3b. valgrind memcheck on a smaller daemon config, 4 s and 10 s runs:
#      marginal allocations per run and "definitely lost".
# The summary table goes to stdout, progress to stderr.  Exit status 0, or 1
# when an invariant failed (a check not ok, a skipped round, a leak, a
# memcheck error), 2 when a tool is missing or the setup failed.
#
# Environment: BENCH_TARGETS (50), BENCH_ADDRS (10, at most 60),
# BENCH_REPEAT (3 passes of each kind in benchmark 1), BENCH_DAEMON_S (12),
# BENCH_VALGRIND (1; 0 skips 3b), VT_KEEP=1 keeps the work directory
# ($TMPDIR or /tmp, vt-test.XXXXXX/bench).
set -u

BENCH_NAME=probe_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_probe

N_TARGETS=${BENCH_TARGETS:-50}
N_ADDRS=${BENCH_ADDRS:-10}
REPEAT=${BENCH_REPEAT:-3}
DAEMON_S=${BENCH_DAEMON_S:-12}
USE_VALGRIND=${BENCH_VALGRIND:-1}

case $N_ADDRS in [1-9] | [1-5][0-9] | 60) ;; *) die "BENCH_ADDRS must be 1..60" ;; esac
bench_need_tools "nginx-light dnsmasq-base curl python3 openssl gcc" \
	nginx dnsmasq curl python3 openssl cc
if [ "$USE_VALGRIND" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
	say "valgrind not found: benchmark 3b skipped (apt-get install valgrind)"
	USE_VALGRIND=0
fi

# Once mode opens every check's socket at once (targets x addresses x 3,
# plus nginx's side): raise the soft descriptor limit as far as allowed.
[ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt 16384 ] && bench_raise_nofile 16384
need=$((N_TARGETS * N_ADDRS * 3 + 200))
[ "$(ulimit -Sn)" = unlimited ] || [ "$(ulimit -Sn)" -ge "$need" ] ||
	die "open-file limit $(ulimit -Sn) is below the $need the once pass needs"

# ---- servers ------------------------------------------------------------------

export top_srcdir=$ROOT VANTAGE_PROBE=$PROBE
bench_servers
WORK=$VT_TMP/bench
mkdir -p "$WORK"

bench_nginx_for_load

IPS=()
for i in $(seq 1 "$N_ADDRS"); do
	IPS+=("127.0.0.$((20 + i))")
done
say "starting nginx on ${IPS[0]}..${IPS[-1]} and dnsmasq ($N_TARGETS names x $N_ADDRS addresses)"
vt_nginx_start "${IPS[@]}" >&2
vt_dns_start >&2
# One reload for all names: write them, then let vt_dns_set add the last
# one, HUP dnsmasq and wait until it answers.
for i in $(seq 1 "$N_TARGETS"); do
	for ip in "${IPS[@]}"; do
		echo "$ip t$i.example.test"
	done
done >>"$VT_DNS_HOSTS"
vt_dns_set www.example.test "${IPS[@]}" >&2
r=$(vt_dns_query "t$N_TARGETS.example.test")
[ "$(echo "$r" | wc -w)" -eq $((N_ADDRS + 1)) ] || die "dnsmasq answers '$r' for t$N_TARGETS.example.test"
RESOLVER=127.0.0.1:$VT_DNS_PORT

# ---- helpers ------------------------------------------------------------------

# nginx runs as one process (master_process off): its CPU seconds so far.
nginx_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' \
		"/proc/$VT_NGINX_PID/stat" 2>/dev/null || echo 0
}

# gen_cfg FILE KINDS SPOOL TIMEOUT [NTARGETS] [HOST]
# KINDS: words among tcp http https tls (tls = tcp with TLS on the https
# port). Each target has a dns check. The https URL names www.example.test,
# the name the test certificate carries; the target's own name is what is
# resolved (HOST overrides it; tls checks need www.example.test there).
gen_cfg() {
	local f=$1 kinds=" $2 " spool=$3 timeout=$4 n=${5:-$N_TARGETS} host=${6:-}
	local i h
	{
		echo "probe = { name = \"bench\"; spool_dir = \"$spool\"; };"
		echo "defaults = { interval = 1.0; timeout = $timeout;"
		echo "  resolvers = [ \"$RESOLVER\" ]; };"
		echo "targets = ("
		for i in $(seq 1 "$n"); do
			h=${host:-t$i.example.test}
			[ "$i" -gt 1 ] && echo ","
			printf '{ name = "t%d"; host = "%s"; checks = (\n  { type = "dns"; }' "$i" "$h"
			case $kinds in *" tcp "*)
				printf ',\n  { type = "tcp"; port = %d; }' "$VT_HTTP_PORT" ;;
			esac
			case $kinds in *" tls "*)
				printf ',\n  { type = "tcp"; name = "tls"; port = %d; tls = true; ca_file = "%s"; }' \
					"$VT_HTTPS_PORT" "$VT_CA" ;;
			esac
			case $kinds in *" http "*)
				printf ',\n  { type = "http"; url = "http://%s:%d/health"; body = "ok"; }' \
					"$h" "$VT_HTTP_PORT" ;;
			esac
			case $kinds in *" https "*)
				printf ',\n  { type = "http"; name = "https"; url = "https://www.example.test:%d/health"; body = "ok"; ca_file = "%s"; }' \
					"$VT_HTTPS_PORT" "$VT_CA" ;;
			esac
			printf ' ); }'
		done
		echo
		echo ");"
	} >"$f"
	"$PROBE" --check -c "$f" >/dev/null 2>"$f.check" ||
		die "generated config $f is invalid: $(tail -n 3 "$f.check")"
}

# measure NAME [run_rusage options] -- COMMAND...: runs COMMAND through
# run_rusage.py (tracked, bounded), notes nginx's CPU around it.
measure() {
	local name=$1 n0 n1
	n0=$(nginx_cpu)
	bench_rusage "$@"
	n1=$(nginx_cpu)
	echo "$n0 $n1" >"$WORK/$name.nginx"
}

# ---- environment -----------------------------------------------------------------

{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpus=$(nproc)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel=$(uname -r)"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "curl=$(curl --version | head -n 1)"
	echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
	echo "probe=$("$PROBE" --version) ($PROBE)"
	echo "targets=$N_TARGETS"
	echo "addrs=$N_ADDRS"
	echo "daemon_s=$DAEMON_S"
} >"$WORK/env.txt"

# ---- 1. once-pass throughput vs the curl CLI ---------------------------------

say "1. once passes: ${REPEAT}x probe (tcp+http+https), ${REPEAT}x probe (http+https), ${REPEAT}x curl"
gen_cfg "$WORK/once_full.cfg" "tcp http https" "$WORK/spool-once" 5.0
gen_cfg "$WORK/once_http.cfg" "http https" "$WORK/spool-once" 5.0

# The same HTTP(S) requests for the curl CLI: one transfer per check and
# address, pinned with --connect-to like the probe's CONNECT_TO, a fresh
# connection each (Connection: close, no TLS session reuse), the same CA.
# curl 7.88 caps --parallel-max at 300, so ask for that much explicitly.
{
	echo 'parallel'
	echo 'parallel-max = 300'
	echo 'parallel-immediate'
	echo 'no-progress-meter'
	echo 'show-error'
	first=1
	for i in $(seq 1 "$N_TARGETS"); do
		for ip in "${IPS[@]}"; do
			[ "$first" = 1 ] || echo next
			first=0
			echo "url = \"http://t$i.example.test:$VT_HTTP_PORT/health\""
			echo "connect-to = \"t$i.example.test:$VT_HTTP_PORT:$ip:$VT_HTTP_PORT\""
			echo 'header = "Connection: close"'
			echo 'output = "/dev/null"'
			# shellcheck disable=SC2028 # curl expands the \n itself
			echo 'write-out = "%{http_code} %{num_connects}\n"'
			echo next
			echo "url = \"https://www.example.test:$VT_HTTPS_PORT/health\""
			echo "connect-to = \"www.example.test:$VT_HTTPS_PORT:$ip:$VT_HTTPS_PORT\""
			echo "cacert = \"$VT_CA\""
			echo 'no-sessionid'
			echo 'header = "Connection: close"'
			echo 'output = "/dev/null"'
			# shellcheck disable=SC2028
			echo 'write-out = "%{http_code} %{num_connects}\n"'
		done
	done
} >"$WORK/curl.cfg"

# One untimed pass first: page cache, nginx and dnsmasq warm.
timeout -k 5 60 "$PROBE" -c "$WORK/once_full.cfg" --once >/dev/null 2>&1
for r in $(seq 1 "$REPEAT"); do
	measure "once_full_$r" --limit 60 --stdout "$WORK/once_full_$r.out" \
		--stderr "$WORK/once_full_$r.err" -- "$PROBE" -c "$WORK/once_full.cfg" --once
	measure "once_http_$r" --limit 60 --stdout "$WORK/once_http_$r.out" \
		--stderr "$WORK/once_http_$r.err" -- "$PROBE" -c "$WORK/once_http.cfg" --once
	measure "curl_$r" --limit 60 --stdout "$WORK/curl_$r.out" \
		--stderr "$WORK/curl_$r.err" -- curl -K "$WORK/curl.cfg"
done

# ---- 2. steady-state daemon -----------------------------------------------------

say "2. daemon: same checks, interval 1 s, ${DAEMON_S} s then SIGTERM"
gen_cfg "$WORK/daemon.cfg" "tcp http https" "$WORK/spool-daemon" 0.9
measure daemon --term-after "$DAEMON_S" --limit $((DAEMON_S + 30)) \
	--spool "$WORK/spool-daemon" --mark 3 --mark $((DAEMON_S - 1)) --usr1 \
	--stderr "$WORK/daemon.err" -- "$PROBE" -c "$WORK/daemon.cfg"

# ---- 3a. allocations per run, by check type (LD_PRELOAD counter) ---------------

say "3a. allocations per run by check type (malloc_count.so preloaded; 5 daemon runs of 6 s)"
cc -O2 -shared -fPIC -o "$WORK/malloc_count.so" "$BENCH_DIR/malloc_count.c" -ldl ||
	die "cannot build malloc_count.so"
for kind in dns tcp tls http https; do
	case $kind in
	dns) gen_cfg "$WORK/alloc_$kind.cfg" "" "$WORK/spool-alloc-$kind" 0.9 ;;
	tls) gen_cfg "$WORK/alloc_$kind.cfg" "tls" "$WORK/spool-alloc-$kind" 0.9 \
		"$N_TARGETS" www.example.test ;;
	*) gen_cfg "$WORK/alloc_$kind.cfg" "$kind" "$WORK/spool-alloc-$kind" 0.9 ;;
	esac
	rm -f "$WORK/alloc_$kind.mc"
	measure "alloc_$kind" --term-after 6 --limit 40 \
		--spool "$WORK/spool-alloc-$kind" --mark 2 --mark 5.5 --usr2 \
		--stderr "$WORK/alloc_$kind.err" -- \
		env MALLOC_COUNT_OUT="$WORK/alloc_$kind.mc" \
		LD_PRELOAD="$WORK/malloc_count.so" "$PROBE" -c "$WORK/alloc_$kind.cfg"
done

# ---- 3b. valgrind memcheck: marginal allocations and leaks ----------------------

if [ "$USE_VALGRIND" = 1 ]; then
	# 10 targets x addresses x (tcp + http), one https check on every
	# address: memcheck runs TLS handshakes ~50x slower, so more https
	# would skip rounds (and time out) instead of measuring.
	vg_t=$((N_TARGETS < 10 ? N_TARGETS : 10))
	gen_cfg "$WORK/vg.cfg" "tcp http" "@SPOOL@" 0.9 "$vg_t"
	"$VT_PYTHON" - "$WORK/vg.cfg" "$VT_HTTPS_PORT" "$VT_CA" <<'EOF'
import sys
path, port, ca = sys.argv[1:4]
s = open(path).read().rstrip().rstrip(";").rstrip().rstrip(")")
s += (',\n{ name = "s1"; host = "t1.example.test"; checks = (\n'
      '  { type = "http"; name = "https"; url = "https://www.example.test:%s/health";'
      ' body = "ok"; ca_file = "%s"; } ); }\n);\n' % (port, ca))
open(path, "w").write(s)
EOF
	for len in 4 10; do
		say "3b. valgrind memcheck, ${len} s"
		sed "s|@SPOOL@|$WORK/spool-vg-$len|" "$WORK/vg.cfg" >"$WORK/vg_$len.cfg"
		"$PROBE" --check -c "$WORK/vg_$len.cfg" >/dev/null 2>&1 || die "vg_$len.cfg invalid"
		measure "vg_$len" --term-after "$len" --limit $((len + 60)) \
			--stderr "$WORK/vg_$len.err" -- \
			valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
			--errors-for-leak-kinds=definite --num-callers=30 \
			--log-file="$WORK/vg_$len.log" "$PROBE" -c "$WORK/vg_$len.cfg"
	done
fi

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/env.txt"

# ---- summary ---------------------------------------------------------------------

say "done; summary:"
rc=0
"$VT_PYTHON" "$BENCH_DIR/bench_report.py" "$WORK" || rc=$?
[ "${VT_KEEP:-0}" = 1 ] && say "work directory kept: $WORK"
exit "$rc"
