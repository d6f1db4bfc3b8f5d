#!/bin/bash
# SPDX-License-Identifier: MIT
# Command line: --help, --version, bad options and exit codes.
. "$top_srcdir/tests/lib/tap.sh"
probe=${VANTAGE_PROBE:?}
good="$top_srcdir/tests/conf/good-full.cfg"

rc=0; out=$("$probe" --help 2>&1) || rc=$?
is "$rc" 0 "--help exits 0"
like "$out" "Usage: vantage-probe" "--help shows usage"
for opt in --config --check --once --log-level --verbose --quiet --version; do
	like "$out" "$opt" "--help documents $opt"
done
like "$out" "SIGHUP" "--help documents signals"
like "$out" "Exit status" "--help documents exit codes"

rc=0; out=$("$probe" --version 2>&1) || rc=$?
is "$rc" 0 "--version exits 0"
like "$out" "^vantage-probe [0-9]+\.[0-9]+" "--version prints a version"

rc=0; out=$("$probe" --frobnicate 2>&1) || rc=$?
is "$rc" 2 "unknown option exits 2"
like "$out" "Try 'vantage-probe --help'" "unknown option points at --help"

rc=0; out=$("$probe" -c "$good" extra 2>&1) || rc=$?
is "$rc" 2 "stray argument exits 2"

rc=0; out=$("$probe" -c "$good" --log-level chatty 2>&1) || rc=$?
is "$rc" 2 "bad --log-level exits 2"
like "$out" "unknown level \"chatty\"" "bad --log-level is named"

rc=0; out=$("$probe" -c "$good" --check --once 2>&1) || rc=$?
is "$rc" 2 "--check with --once exits 2"

rc=0; out=$("$probe" --check -c "$good" 2>&1) || rc=$?
is "$rc" 0 "--check on a good file exits 0"

# A spool directory that cannot be created is a runtime failure (exit 1).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vt-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/file"
cat >"$tmp/p.cfg" <<CFG
probe = { name = "p1"; spool_dir = "$tmp/file/spool"; };
defaults = { resolvers = [ "127.0.0.1:9" ]; };
targets = ( { name = "www"; host = "www.example.test"; checks = ( { type = "dns"; } ); } );
CFG
rc=0; out=$(timeout 20 "$probe" -c "$tmp/p.cfg" 2>&1) || rc=$?
is "$rc" 1 "unusable spool directory exits 1"
like "$out" "spool: $tmp/file/spool: cannot create" "spool error names the path"
tap_done
