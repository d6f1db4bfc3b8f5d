#!/bin/bash
# SPDX-License-Identifier: MIT
# vantage-collector command line and configuration: every
# tests/conf/collector/bad-*.cfg is rejected by --check with exit 2 and the
# message its "# expect:" line gives; good files and etc/collector.cfg pass.
. "$top_srcdir/tests/lib/tap.sh"
coll=${VANTAGE_COLLECTOR:?}
confdir="$top_srcdir/tests/conf/collector"

for f in "$confdir"/bad-*.cfg; do
	name=$(basename "$f")
	want=$(sed -n 's/^# expect: //p' "$f" | head -n 1)
	rc=0
	err=$("$coll" --check -c "$f" 2>&1 >/dev/null) || rc=$?
	is "$rc" 2 "$name: exit status 2"
	like "$err" "$want" "$name: message names file, line and setting"
done
for f in "$confdir"/good.cfg "$top_srcdir"/etc/collector.cfg; do
	rc=0
	out=$("$coll" --check -c "$f" 2>&1) || rc=$?
	is "$rc" 0 "$(basename "$f"): accepted"
	like "$out" "ok \\([0-9]+ probes, [0-9]+ maintenance windows\\)" \
		"$(basename "$f"): summary line"
done

rc=0; out=$("$coll" --help 2>&1) || rc=$?
is "$rc" 0 "--help exits 0"
for opt in --config --check --log-level --verbose --quiet --version SIGHUP \
	"Exit status" /v1/results /v1/targets /healthz; do
	like "$out" "$opt" "--help documents $opt"
done
rc=0; out=$("$coll" --version 2>&1) || rc=$?
is "$rc" 0 "--version exits 0"
rc=0; out=$("$coll" --bogus 2>&1) || rc=$?
is "$rc" 2 "unknown option exits 2"
rc=0; out=$("$coll" -c /nonexistent.cfg 2>&1) || rc=$?
is "$rc" 2 "missing config exits 2"
like "$out" "/nonexistent.cfg: cannot read" "missing config is named"

# A data directory that cannot be created is a runtime failure (exit 1).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vt-coll.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/file"
cat >"$tmp/c.cfg" <<CFG
collector = { listen = "127.0.0.1:0"; data_dir = "$tmp/file/data"; };
probes = ( { name = "a"; key_file = "$confdir/../test-a.key"; } );
CFG
rc=0; out=$(timeout 20 "$coll" -c "$tmp/c.cfg" 2>&1) || rc=$?
is "$rc" 1 "unusable data_dir exits 1"
like "$out" "$tmp/file/data: cannot create" "data_dir error names the path"
tap_done
