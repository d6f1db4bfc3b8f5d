#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_load_bench.sh: vantage-probe at load, against its ceiling measured
# in the same run (bench/probe_ceiling.c: the same requests with the same
# options, the same in-flight limit and rate, on one libev loop and nothing
# else). Real nginx and dnsmasq on 127.0.0.0/8; every run is bounded in
# count and time. See bench/README.md, "Probe at load".
#
#   bench/probe_load_bench.sh [BUILD_DIR]        default BUILD_DIR: _build
#
# Scenarios (each REPEAT times; the table gives medians):
#   once_many   --once, HOSTS hostnames x ADDRS addresses, one http check
#               each (HOSTS x ADDRS checks), vs the ceiling doing the same
#               requests with the same in-flight limit
#   once_one    --once, HOSTS targets on one hostname (ADDRS addresses)
#   once_https  --once, HTTPS_HOSTS x ADDRS https checks
#   daemon_K    the daemon, TARGETS x ADDRS target-IPs with a K check
#               (http, tcp; dns: TARGETS x ADDRS dns checks of distinct
#               names) at RATE checks/s for DAEMON_S seconds, vs the
#               ceiling paced at the same rate: CPU per check (steady
#               state), peak RSS, lateness p50/p99/max, false no_address
# Figures: false failures (results not ok), wall and the ratio to the
# ceiling, peak RSS, CPU per check and the ratio.
#
# Environment: BENCH_HOSTS (2000), BENCH_ADDRS (10), BENCH_HTTPS_HOSTS (200),
# BENCH_TARGETS (1000), BENCH_RATES ("1000 2000"), BENCH_KINDS ("http tcp
# dns"), BENCH_DAEMON_S (20), BENCH_REPEAT (3), BENCH_IN_FLIGHT (64: the
# probe's max_in_flight and the ceiling's limit), VT_KEEP=1 keeps the work
# directory. Exit status 0, or 2 when a tool is missing or setup failed.
set -u

BENCH_NAME=probe_load_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_probe

HOSTS=${BENCH_HOSTS:-2000}
N_ADDRS=${BENCH_ADDRS:-10}
HTTPS_HOSTS=${BENCH_HTTPS_HOSTS:-200}
TARGETS=${BENCH_TARGETS:-1000}
RATES=${BENCH_RATES:-1000 2000}
KINDS=${BENCH_KINDS:-http tcp dns}
DAEMON_S=${BENCH_DAEMON_S:-20}
REPEAT=${BENCH_REPEAT:-3}
IN_FLIGHT=${BENCH_IN_FLIGHT:-64}

bench_need_tools "nginx-light dnsmasq-base python3 openssl gcc libcurl4-openssl-dev libc-ares-dev libev-dev" \
	nginx dnsmasq python3 openssl cc
bench_raise_nofile "$(ulimit -Hn)"

export top_srcdir=$ROOT VANTAGE_PROBE=$PROBE
bench_servers
WORK=$VT_TMP/bench
mkdir -p "$WORK"

say "building probe_ceiling"
cc -O2 -Wall -o "$WORK/probe_ceiling" "$BENCH_DIR/probe_ceiling.c" \
	-lcurl -lcares -lev 2>"$WORK/cc.log" ||
	die "cannot build probe_ceiling: $(tail -n 3 "$WORK/cc.log")"

bench_nginx_for_load
IPS=()
for i in $(seq 1 "$N_ADDRS"); do
	IPS+=("127.0.0.$((40 + i))")
done
NAMES=$HOSTS
[ "$TARGETS" -gt "$NAMES" ] && NAMES=$TARGETS
vt_nginx_start "${IPS[@]}" >&2
VT_DNS_TTL=${BENCH_DNS_TTL:-300} vt_dns_start >&2
DNS_NAMES=$((TARGETS * N_ADDRS))
say "nginx on ${IPS[0]}..${IPS[-1]}, dnsmasq with $NAMES names x $N_ADDRS addresses and $DNS_NAMES names x 1"
{
	for i in $(seq 1 "$NAMES"); do
		for ip in "${IPS[@]}"; do
			echo "$ip h$i.example.test"
		done
	done
	for i in $(seq 1 "$DNS_NAMES"); do
		echo "${IPS[$((i % N_ADDRS))]} d$i.example.test"
	done
} >>"$VT_DNS_HOSTS"
vt_dns_set one.example.test "${IPS[@]}" >&2
RESOLVER=127.0.0.1:$VT_DNS_PORT

# gen_cfg FILE KIND N INTERVAL ONE_HOST: N targets (hostname hI, or
# one.example.test for all with ONE_HOST=1), one KIND check each.
gen_cfg() {
	local f=$1 kind=$2 n=$3 interval=$4 one=${5:-0} i h
	{
		echo "probe = { name = \"load\"; spool_dir = \"$WORK/spool-$(basename "$f" .cfg)\";"
		echo "  max_in_flight = $IN_FLIGHT; max_per_address = $IN_FLIGHT; fsync = \"never\"; };"
		echo "defaults = { interval = $interval; timeout = 5.0;"
		echo "  resolvers = [ \"$RESOLVER\" ]; };"
		echo "targets = ("
		for i in $(seq 1 "$n"); do
			h=h$i.example.test
			[ "$one" = 1 ] && h=one.example.test
			[ "$i" -gt 1 ] && echo ","
			case $kind in
			http) printf '{ name = "t%d"; host = "%s"; checks = ( { type = "http"; url = "http://%s:%d/health"; } ); }' \
				"$i" "$h" "$h" "$VT_HTTP_PORT" ;;
			https) printf '{ name = "t%d"; host = "%s"; checks = ( { type = "http"; url = "https://www.example.test:%d/health"; ca_file = "%s"; } ); }' \
				"$i" "$h" "$VT_HTTPS_PORT" "$VT_CA" ;;
			tcp) printf '{ name = "t%d"; host = "%s"; checks = ( { type = "tcp"; port = %d; } ); }' \
				"$i" "$h" "$VT_HTTP_PORT" ;;
			dns) printf '{ name = "t%d"; host = "d%d.example.test"; checks = ( { type = "dns"; } ); }' \
				"$i" "$i" ;;
			esac
		done
		echo
		echo ");"
	} >"$f"
	"$PROBE" --check -c "$f" >/dev/null 2>"$f.check" ||
		die "generated config $f is invalid: $(tail -n 3 "$f.check")"
}

# gen_list FILE KIND N: the ceiling's requests for the same checks.
gen_list() {
	local f=$1 kind=$2 n=$3 i ip
	for i in $(seq 1 "$n"); do
		case $kind in
		dns) echo "d$i.example.test $RESOLVER" ;;
		*)
			for ip in "${IPS[@]}"; do
				case $kind in
				http) echo "http://h$i.example.test:$VT_HTTP_PORT/health $ip" ;;
				https) echo "https://www.example.test:$VT_HTTPS_PORT/health $ip" ;;
				tcp) echo "$ip $VT_HTTP_PORT" ;;
				esac
			done
			;;
		esac
	done >"$f"
}

run() { bench_rusage "$@"; }
j() { jq -r "$2" "$WORK/$1.json"; }
median() { bench_median; }
ratio() { bench_ratio "$@"; }

ROWS=$WORK/rows.txt
: >"$ROWS"
row() { printf '%-14s %s\n' "$1" "$2" | tee -a "$ROWS" >&2; }

# ---- once passes ---------------------------------------------------------------

once_case() {
	local name=$1 kind=$2 n=$3 one=$4 r
	gen_cfg "$WORK/$name.cfg" "$kind" "$n" 30.0 "$one"
	if [ "$one" = 1 ]; then
		for _ in $(seq 1 "$n"); do
			for ip in "${IPS[@]}"; do
				echo "http://one.example.test:$VT_HTTP_PORT/health $ip"
			done
		done >"$WORK/$name.list"
	else
		gen_list "$WORK/$name.list" "$kind" "$n"
	fi
	for r in $(seq 1 "$REPEAT"); do
		run "$name-p$r" --limit 300 --stdout "$WORK/$name-p$r.out" \
			--stderr "$WORK/$name-p$r.err" -- "$PROBE" -c "$WORK/$name.cfg" --once
		run "$name-c$r" --limit 300 --stdout "$WORK/$name-c$r.out" -- \
			env CEILING_CA="$VT_CA" "$WORK/probe_ceiling" "$kind" "$WORK/$name.list" "$IN_FLIGHT"
	done
	local pw cw prss cf pf pn nad
	pw=$(for r in $(seq 1 "$REPEAT"); do j "$name-p$r" .wall_s; done | median)
	cw=$(for r in $(seq 1 "$REPEAT"); do j "$name-c$r" .wall_s; done | median)
	# The ratio of each probe run to the ceiling run right after it (its
	# median is less moved by a busy minute of the shared machine than the
	# ratio of the two medians; both are printed).
	local pair
	pair=$(for r in $(seq 1 "$REPEAT"); do
		ratio "$(j "$name-p$r" .wall_s)" "$(j "$name-c$r" .wall_s)"
	done | median)
	prss=$(for r in $(seq 1 "$REPEAT"); do j "$name-p$r" .maxrss_kb; done | median)
	pn=$(for r in $(seq 1 "$REPEAT"); do wc -l <"$WORK/$name-p$r.out"; done | median)
	pf=$(for r in $(seq 1 "$REPEAT"); do jq -s '[.[] | select(.ok | not)] | length' "$WORK/$name-p$r.out"; done | median)
	nad=$(for r in $(seq 1 "$REPEAT"); do jq -s '[.[] | select(.error == "no_address")] | length' "$WORK/$name-p$r.out"; done | median)
	cf=$(for r in $(seq 1 "$REPEAT"); do sed 's/.*failed=\([0-9]*\).*/\1/' "$WORK/$name-c$r.out"; done | median)
	row "$name" "checks=$pn false_failures=$pf no_address=$nad wall_s=$pw ceiling_wall_s=$cw ratio=$(ratio "$pw" "$cw") paired_ratio=$pair peak_rss_mib=$((prss / 1024)) ceiling_failed=$cf"
}

say "once: $HOSTS hostnames x $N_ADDRS addresses (http), in flight $IN_FLIGHT"
once_case once_many http "$HOSTS" 0
say "once: $HOSTS targets on one hostname x $N_ADDRS addresses (http)"
once_case once_one http "$HOSTS" 1
say "once: $HTTPS_HOSTS hostnames x $N_ADDRS addresses (https)"
once_case once_https https "$HTTPS_HOSTS" 0

# ---- daemon ---------------------------------------------------------------------

# daemon_case KIND RATE: TARGETS x ADDRS target-IPs (dns: that many names)
# at RATE checks/s.
daemon_case() {
	local kind=$1 rate=$2 n=$TARGETS per interval name r t1 t2
	per=$N_ADDRS
	[ "$kind" = dns ] && n=$((TARGETS * N_ADDRS)) && per=1
	interval=$(python3 -c "print(round($n * $per / $rate, 3))")
	name=daemon_${kind}_$rate
	gen_cfg "$WORK/$name.cfg" "$kind" "$n" "$interval"
	gen_list "$WORK/$name.list" "$kind" "$n"
	t1=$(python3 -c "print(min($interval + 3, $DAEMON_S / 2))")
	t2=$((DAEMON_S - 1))
	for r in $(seq 1 "$REPEAT"); do
		rm -rf "$WORK/spool-$name"
		run "$name-p$r" --term-after "$DAEMON_S" --limit $((DAEMON_S + 30)) \
			--spool "$WORK/spool-$name" --mark "$t1" --mark "$t2" --usr1 \
			--stderr "$WORK/$name-p$r.err" -- "$PROBE" -c "$WORK/$name.cfg"
		cat "$WORK/spool-$name"/seg-*.jsonl >"$WORK/$name-p$r.jsonl" 2>/dev/null
		run "$name-c$r" --limit $((DAEMON_S + 30)) --stdout "$WORK/$name-c$r.out" -- \
			env CEILING_CA="$VT_CA" CEILING_BATCH="$per" "$WORK/probe_ceiling" "$kind" "$WORK/$name.list" \
			"$IN_FLIGHT" "$rate" "$((DAEMON_S - 2))"
	done
	local pcpu ccpu prss fail nad p99 p50 lmax
	pcpu=$(for r in $(seq 1 "$REPEAT"); do
		jq -r '(.marks[1].cpu_s - .marks[0].cpu_s) / ((.marks[1].results.total - .marks[0].results.total) | if . == 0 then 1 else . end) * 1e6' \
			"$WORK/$name-p$r.json"; done | median)
	ccpu=$(for r in $(seq 1 "$REPEAT"); do
		sed 's/.*done=\([0-9]*\).*cpu_s=\([0-9.]*\).*/\2 \1/' "$WORK/$name-c$r.out" |
			awk '{ print $1 / ($2 ? $2 : 1) * 1e6 }'; done | median)
	# The ratio of each probe run to the ceiling run right after it, whose
	# median is less moved by a busy minute of the shared machine than the
	# ratio of the two medians (both are printed).
	local pair
	pair=$(for r in $(seq 1 "$REPEAT"); do
		pr=$(jq -r '(.marks[1].cpu_s - .marks[0].cpu_s) / ((.marks[1].results.total - .marks[0].results.total) | if . == 0 then 1 else . end) * 1e6' \
			"$WORK/$name-p$r.json")
		cr=$(sed 's/.*done=\([0-9]*\).*cpu_s=\([0-9.]*\).*/\2 \1/' "$WORK/$name-c$r.out" |
			awk '{ print $1 / ($2 ? $2 : 1) * 1e6 }')
		ratio "$pr" "$cr"
	done | median)
	prss=$(for r in $(seq 1 "$REPEAT"); do j "$name-p$r" .maxrss_kb; done | median)
	fail=$(for r in $(seq 1 "$REPEAT"); do jq -s '[.[] | select(.ok | not)] | length' "$WORK/$name-p$r.jsonl"; done | median)
	nad=$(for r in $(seq 1 "$REPEAT"); do jq -s '[.[] | select(.error == "no_address")] | length' "$WORK/$name-p$r.jsonl"; done | median)
	p50=$(for r in $(seq 1 "$REPEAT"); do grep -o 'lateness p50 [0-9.]*' "$WORK/$name-p$r.err" | tail -n 1 | awk '{ print $3 }'; done | median)
	p99=$(for r in $(seq 1 "$REPEAT"); do grep -o 'p99 [0-9.]*' "$WORK/$name-p$r.err" | tail -n 1 | awk '{ print $2 }'; done | median)
	lmax=$(for r in $(seq 1 "$REPEAT"); do grep -o 'ms, max [0-9.]*' "$WORK/$name-p$r.err" | tail -n 1 | awk '{ print $3 }'; done | median)
	row "$name" "interval_s=$interval cpu_us_per_check=$pcpu ceiling_us=$ccpu ratio=$(ratio "$pcpu" "$ccpu") paired_ratio=$pair peak_rss_mib=$((prss / 1024)) false_failures=$fail no_address=$nad lateness_ms_p50=$p50 p99=$p99 max=$lmax"
}

for rate in $RATES; do
	for kind in $KINDS; do
		say "daemon: $kind at $rate checks/s for $DAEMON_S s"
		daemon_case "$kind" "$rate"
	done
done

echo "# probe_load_bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cpus, in flight $IN_FLIGHT, repeat $REPEAT (medians)"
cat "$ROWS"
