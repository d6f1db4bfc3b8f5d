#!/bin/bash
# SPDX-License-Identifier: MIT
# Configuration validation: every tests/conf/bad-*.cfg must be rejected by
# `vantage-probe --check` with exit status 2 and the message its "# expect:"
# line gives (file, line and setting); good-*.cfg and etc/*.cfg must pass.
. "$top_srcdir/tests/lib/tap.sh"
probe=${VANTAGE_PROBE:?}
confdir="$top_srcdir/tests/conf"

for f in "$confdir"/bad-*.cfg; do
	name=$(basename "$f")
	want=$(sed -n 's/^# expect: //p' "$f" | head -n 1)
	rc=0
	err=$("$probe" --check -c "$f" 2>&1 >/dev/null) || rc=$?
	is "$rc" 2 "$name: exit status 2"
	like "$err" "$want" "$name: message names file, line and setting"
	case $err in
	*"Segmentation"* | *"Aborted"* | *AddressSanitizer*) not_ok "$name: no crash" ;;
	esac
done

for f in "$confdir"/good-*.cfg "$top_srcdir"/etc/probe*.cfg; do
	rc=0
	out=$("$probe" --check -c "$f" 2>&1) || rc=$?
	is "$rc" 0 "$(basename "$f"): accepted"
	like "$out" "ok \\(probe [a-z0-9]+, [0-9]+ targets, [0-9]+ checks\\)" \
		"$(basename "$f"): summary line"
done

# Several problems in one file are all reported, not only the first.
tmp=$(mktemp "${TMPDIR:-/tmp}/vt-conf.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<'CFG'
probe = { name = "p1"; colour = "red"; };
targets = ( { name = "www"; host = "www.example.test";
  checks = ( { type = "tcp"; port = 0; }, { type = "http"; } ); } );
CFG
rc=0
err=$("$probe" --check -c "$tmp" 2>&1) || rc=$?
is "$rc" 2 "multi-error file: exit 2"
n=$(grep -c ': err: ' <<<"$err")
like "$n" '^[4-9]$' "multi-error file: every problem reported ($n lines)"
like "$err" "3 errors; configuration rejected" "multi-error file: count given"

# A missing file is a configuration error too.
rc=0
err=$("$probe" --check -c /nonexistent/probe.cfg 2>&1) || rc=$?
is "$rc" 2 "missing file: exit 2"
like "$err" "/nonexistent/probe.cfg: cannot read: No such file" "missing file: named"

tap_done
