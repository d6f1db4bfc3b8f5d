# SPDX-License-Identifier: MIT
# tap.sh: tiny TAP producer for bash tests, read by build-aux/tap-driver.sh.
#
#   tap_plan N            print "1..N" up front (optional: tap_done prints a
#                         trailing plan when none was given)
#   ok DESC / not_ok DESC one result line
#   check DESC CMD...     run CMD; ok when it exits 0 (its output is shown as
#                         "# " diagnostics when it fails)
#   is GOT WANT DESC      string equality, "# got"/"# want" on failure
#   like GOT ERE DESC     extended-regex match, diagnostics on failure
#   skip DESC REASON      "ok N - DESC # SKIP REASON"
#   diag MSG...           "# MSG" on stdout (kept in the .log)
#   bail MSG              "Bail out! MSG" and exit 1
#   tap_done              trailing plan if needed; exit 0 (the driver counts
#                         "not ok" lines; VT_TAP_STRICT=1 exits 1 on failure)
#
# Sourcing this file twice is harmless; counters are only reset by the first.
# not_ok/check/is/like return 1 on failure so "check ... || bail ..." works,
# except under "set -e", where they return 0 so one failure does not abort
# the rest of the test (and the trailing plan).

if [ -z "${_TAP_SH_LOADED:-}" ]; then
	_TAP_SH_LOADED=1
	TAP_N=0
	TAP_FAILED=0
	TAP_PLANNED=
fi

# TAP treats " # " in a description as a directive; keep descriptions plain.
_tap_desc() {
	local d="$*"
	d=${d//$'\n'/ }
	d=${d//#/No.}
	printf '%s' "$d"
}

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $(_tap_desc "$@")"
	return 0
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $(_tap_desc "$@")"
	_tap_fail_rc
}

_tap_fail_rc() {
	case $- in
	*e*) return 0 ;;
	*) return 1 ;;
	esac
}

check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "command: $*"
		diag "exit status: $rc"
		[ -z "$out" ] || diag "$(printf '%s' "$out" | tail -n 20)"
		_tap_fail_rc
	fi
}

is() {
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		ok "$@"
	else
		not_ok "$@"
		diag "got:  '$got'"
		diag "want: '$want'"
		_tap_fail_rc
	fi
}

like() {
	local got=$1 re=$2
	shift 2
	if [[ $got =~ $re ]]; then
		ok "$@"
	else
		not_ok "$@"
		diag "got:  '$got'"
		diag "want match for: $re"
		_tap_fail_rc
	fi
}

skip() {
	local desc=$1 reason=${2:-}
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $(_tap_desc "$desc") # SKIP $(_tap_desc "$reason")"
}

bail() {
	echo "Bail out! $(_tap_desc "$@")"
	exit 1
}

tap_done() {
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_N"
	elif [ "$TAP_PLANNED" != "$TAP_N" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_N"
		exit 1
	fi
	# Failures are counted from the "not ok" lines by the TAP driver; a
	# non-zero exit would count each one twice. Exit non-zero only when the
	# test itself broke (wrong plan above, or a crash before tap_done).
	# VT_TAP_STRICT=1 (standalone runs) exits 1 on any failure instead.
	[ "$TAP_FAILED" -eq 0 ] || [ "${VT_TAP_STRICT:-0}" = 0 ] || exit 1
	exit 0
}
