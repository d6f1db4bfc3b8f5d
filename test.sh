#!/bin/bash
# SPDX-License-Identifier: MIT
# test.sh: install what the build and the tests need (Debian), build out of
# tree in _build/, run `make check`, and print one summary line:
#
#   N passed, N failed[, N skipped]
#
# Counts are individual TAP results, from the automake test-suite summary
# (PASS+XFAIL passed; FAIL+XPASS+ERROR failed; SKIP skipped).  Exit status is
# non-zero when anything failed or the build broke ("0 passed, 1 failed").
#
#   ./test.sh               build + make check, then the same suite again
#                           in an ASan/UBSan build (_build-asan); the
#                           summary line counts both passes
#   ./test.sh --no-sanitize only the plain pass
#   ./test.sh --distcheck   build + make distcheck (read-only source, VPATH)
#   ./test.sh --build-only  install + build, no tests (used by demo.sh)
#   ./test.sh --no-install  skip the package step
#
# Logs: _build/test-logs/{apt,autoreconf,configure,make,check}.log and the
# per-test tests/*.log under _build/.
set -u

cd "$(dirname "$0")" || exit 1
ROOT=$PWD
BUILD=$ROOT/_build
LOGS=$BUILD/test-logs
MODE=check
INSTALL=1
SANITIZE=1
JOBS=${JOBS:-2}

for arg in "$@"; do
	case $arg in
	--distcheck) MODE=distcheck ;;
	--build-only) MODE=build ;;
	--no-install) INSTALL=0 ;;
	--no-sanitize) SANITIZE=0 ;;
	-h | --help)
		sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

PKGS=(build-essential autoconf automake libtool pkg-config
	libcurl4-openssl-dev libc-ares-dev libev-dev librrd-dev libconfig-dev
	libmicrohttpd-dev libssl-dev libsqlite3-dev libsnappy-dev libcairo2-dev libpng-dev
	rrdcached rrdtool fonts-dejavu-core openssl python3
	nginx-light dnsmasq-base jq libjansson-dev iproute2)
# Only the test suite needs these (memory checks, the status page in a
# browser, libFuzzer for tests/fuzz.sh, Prometheus, Alertmanager and
# VictoriaMetrics for alerts, /metrics and remote write, the Debian packages
# and the man pages, clang-format for the style check); the demo does not.
TEST_PKGS=(valgrind chromium faketime clang libclang-rt-14-dev prometheus
	prometheus-alertmanager victoria-metrics
	debhelper dpkg-dev lintian groff man-db clang-format)
# npm installs axe-core for the status page's accessibility check; Debian's
# npm only where no npm is installed (a nodejs from elsewhere brings its
# own and conflicts with Debian's).
command -v npm >/dev/null 2>&1 || TEST_PKGS+=(npm)

say() { echo "==> $*"; }

# The final line, always printed last.
summary() {
	local pass=$1 fail=$2 skip=$3
	if [ "$skip" -gt 0 ]; then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
}

die_build() {
	local what=$1 log=$2
	echo "test.sh: $what failed; last lines of ${log#"$ROOT"/}:" >&2
	tail -n 40 "$log" >&2
	summary 0 1 0
	exit 1
}

install_packages() {
	local p missing=() sudo=()
	local want=("${PKGS[@]}")
	[ "$MODE" = build ] || want+=("${TEST_PKGS[@]}")
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "test.sh: missing packages (need root): ${missing[*]}" >&2
			return 1
		}
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	# Packages like nginx and rrdcached start a system service on install;
	# a temporary policy-rc.d (only if none exists) keeps them from doing so.
	local policy=/usr/sbin/policy-rc.d created=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 755 "$policy" && created=1
	fi
	local rc=0
	{
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends "${missing[@]}"
	} >>"$LOGS/apt.log" 2>&1 || rc=$?
	[ "$created" = 1 ] && "${sudo[@]}" rm -f "$policy"
	if [ "$rc" -ne 0 ]; then
		echo "test.sh: apt-get failed; see ${LOGS#"$ROOT"/}/apt.log" >&2
		tail -n 20 "$LOGS/apt.log" >&2
	fi
	return "$rc"
}

build() {
	say "autoreconf"
	(cd "$ROOT" && autoreconf -fi) >"$LOGS/autoreconf.log" 2>&1 ||
		die_build autoreconf "$LOGS/autoreconf.log"
	say "configure (out of tree: _build)"
	(cd "$BUILD" && "$ROOT/configure") >"$LOGS/configure.log" 2>&1 ||
		die_build configure "$LOGS/configure.log"
	say "make -j$JOBS"
	make -C "$BUILD" -j"$JOBS" >"$LOGS/make.log" 2>&1 ||
		die_build make "$LOGS/make.log"
}

# Reads "# PASS: N" style lines (a test-suite.log, or make's own output)
# and sets T_PASS T_FAIL T_SKIP; returns 1 when there is no summary.
parse_summary() {
	local f=$1 k v
	local pass=0 xfail=0 fail=0 xpass=0 error=0 skip=0 seen=0
	[ -f "$f" ] || return 1
	# The last summary in the file wins (distcheck output has one).
	while read -r k v; do
		case $k in
		TOTAL:) seen=1 pass=0 xfail=0 fail=0 xpass=0 error=0 skip=0 ;;
		PASS:) pass=$v ;;
		XFAIL:) xfail=$v ;;
		FAIL:) fail=$v ;;
		XPASS:) xpass=$v ;;
		ERROR:) error=$v ;;
		SKIP:) skip=$v ;;
		esac
	done < <(sed -n 's/^# \(TOTAL\|PASS\|XFAIL\|FAIL\|XPASS\|ERROR\|SKIP\): *\([0-9][0-9]*\).*$/\1: \2/p' "$f")
	[ "$seen" = 1 ] || return 1
	T_PASS=$((pass + xfail))
	T_FAIL=$((fail + xpass + error))
	T_SKIP=$skip
}

# Tail of every test log whose result is FAIL, ERROR or XPASS.
show_failures() {
	local dir=$1 trs log
	while IFS= read -r trs; do
		grep -Eq '^:global-test-result: (FAIL|ERROR|XPASS)' "$trs" || continue
		log=${trs%.trs}.log
		echo "---- ${log#"$ROOT"/} (last 40 lines)"
		tail -n 40 "$log"
	done < <(find "$dir" -name '*.trs' 2>/dev/null | sort)
}

mkdir -p "$LOGS" || exit 1
if [ "$INSTALL" = 1 ]; then
	install_packages || {
		summary 0 1 0
		exit 1
	}
fi
build
# The status page's accessibility check runs axe-core (npm) in chromium;
# it goes into the build folder, never into the source tree.
install_axe() {
	local dir=$BUILD/tests/node
	[ -f "$dir/node_modules/axe-core/axe.min.js" ] && return 0
	command -v npm >/dev/null 2>&1 || {
		echo "test.sh: no npm: the accessibility check (axe-core) is skipped" >&2
		return 0
	}
	say "npm install axe-core (into ${dir#"$ROOT"/})"
	mkdir -p "$dir" && npm install --prefix "$dir" --no-audit --no-fund \
		axe-core@4 >"$LOGS/npm.log" 2>&1 ||
		echo "test.sh: npm install axe-core failed; see ${LOGS#"$ROOT"/}/npm.log" >&2
}
[ "$MODE" = build ] || install_axe
[ "$MODE" = build ] && {
	say "built $BUILD/vantage-probe"
	exit 0
}

export AM_COLOR_TESTS=no
T_PASS=0 T_FAIL=0 T_SKIP=0
if [ "$MODE" = distcheck ]; then
	say "make distcheck"
	rc=0
	make -C "$BUILD" -j"$JOBS" distcheck >"$LOGS/distcheck.log" 2>&1 || rc=$?
	if ! parse_summary "$LOGS/distcheck.log"; then
		T_PASS=0 T_FAIL=0 T_SKIP=0
	fi
	if [ "$rc" -ne 0 ]; then
		show_failures "$BUILD"
		echo "---- make distcheck (last 30 lines)"
		tail -n 30 "$LOGS/distcheck.log"
		[ "$T_FAIL" -gt 0 ] || T_FAIL=1
	fi
else
	# run_check DIR LOG: make check in DIR; adds its counts to the totals.
	run_check() {
		local dir=$1 log=$2 rc=0
		rm -f "$dir/test-suite.log"
		make -C "$dir" -k -j"$JOBS" check >"$log" 2>&1 || rc=$?
		if ! parse_summary "$dir/test-suite.log"; then
			T_PASS=0 T_FAIL=0 T_SKIP=0
		fi
		if [ "$T_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
			show_failures "$dir"
		fi
		if [ "$rc" -ne 0 ] && [ "$T_FAIL" -eq 0 ]; then
			# Something outside the TAP tests broke (a test program that
			# did not build, check-local, no test-suite.log): count it once.
			echo "---- make check failed outside the test results (last 30 lines of ${log#"$ROOT"/})"
			grep -v '^\(PASS\|SKIP\|XFAIL\): ' "$log" | tail -n 30
			T_FAIL=1
		fi
		ALL_PASS=$((ALL_PASS + T_PASS))
		ALL_FAIL=$((ALL_FAIL + T_FAIL))
		ALL_SKIP=$((ALL_SKIP + T_SKIP))
	}
	ALL_PASS=0 ALL_FAIL=0 ALL_SKIP=0
	say "make -j$JOBS check"
	run_check "$BUILD" "$LOGS/check.log"
	say "plain pass: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	if [ "$SANITIZE" = 1 ]; then
		# The same suite with AddressSanitizer and UBSan (errors abort, so
		# the tests' exit-status checks catch them; leaks fail the probe's
		# exit status through LeakSanitizer). valgrind cannot run ASan
		# binaries, so it is off for this pass.
		ASAN=$ROOT/_build-asan
		mkdir -p "$ASAN"
		say "configure --enable-sanitizers (out of tree: _build-asan)"
		(cd "$ASAN" && "$ROOT/configure" --enable-sanitizers) \
			>"$LOGS/configure-asan.log" 2>&1 ||
			die_build "configure (sanitizers)" "$LOGS/configure-asan.log"
		make -C "$ASAN" -j"$JOBS" >"$LOGS/make-asan.log" 2>&1 ||
			die_build "make (sanitizers)" "$LOGS/make-asan.log"
		say "make -j$JOBS check (ASan/UBSan)"
		export VT_VALGRIND=0
		run_check "$ASAN" "$LOGS/check-asan.log"
		say "sanitizer pass: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	fi
	T_PASS=$ALL_PASS T_FAIL=$ALL_FAIL T_SKIP=$ALL_SKIP
fi
summary "$T_PASS" "$T_FAIL" "$T_SKIP"
[ "$T_FAIL" -eq 0 ]
