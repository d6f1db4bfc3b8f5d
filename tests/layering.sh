#!/bin/bash
# SPDX-License-Identifier: MIT
# The build's include flags keep each part to lib/ and its own directory
# (Makefile.am, nostdinc and per-target CPPFLAGS): graphs/ cannot include a
# collector header, lib/ none of the programs'; and vantage-graph does not
# link the collector's libmicrohttpd.
. "$top_srcdir/tests/lib/tap.sh"
: "${CC:?}" "${VT_GRAPH_CPPFLAGS:?}" "${VT_LIB_CPPFLAGS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cpp FLAGS HEADER: preprocesses '#include "HEADER"' as the build does
# (from the build root, where the flags' relative paths start).
cpp() {
	printf '#include "config.h"\n#include "%s"\n' "$2" >"$tmp/t.c"
	(cd "$top_builddir" && $CC $1 -E "$tmp/t.c" -o /dev/null 2>&1)
}

out=$(cpp "$VT_GRAPH_CPPFLAGS" dataset.h) && rc=0 || rc=$?
is "$rc" 0 "graphs' flags reach graphs/ (dataset.h)"
for h in series.h schema.h rrdcached.h collector_config.h; do
	out=$(cpp "$VT_GRAPH_CPPFLAGS" "$h") && rc=0 || rc=$?
	is "$rc" 0 "graphs' flags reach lib/$h"
done
for h in rrd_store.h events.h http_api.h scheduler.h; do
	out=$(cpp "$VT_GRAPH_CPPFLAGS" "$h") && rc=0 || rc=$?
	is "$rc" 1 "graphs' flags do not reach $h"
	like "$out" "$h: No such file" "graphs: $h is not found"
done
for h in dataset.h rrd_store.h probe_config.h; do
	out=$(cpp "$VT_LIB_CPPFLAGS" "$h") && rc=0 || rc=$?
	is "$rc" 1 "lib's flags do not reach $h"
done
# "collector/rrd_store.h" would be found in a source tree that is also the
# build tree (config.h's directory); test.sh builds elsewhere.
if [ "$(cd "$top_srcdir" && pwd -P)" != "$(cd "$top_builddir" && pwd -P)" ]; then
	out=$(cpp "$VT_GRAPH_CPPFLAGS" collector/rrd_store.h) && rc=0 || rc=$?
	is "$rc" 1 "graphs' flags do not reach collector/rrd_store.h"
else
	skip "graphs' flags do not reach collector/rrd_store.h" "built in the source tree"
fi

# The same rule read from the sources: every quoted include of graphs/ is a
# header of lib/ or graphs/ (or config.h), every one of lib/ one of lib/.
bad=
for f in "$top_srcdir"/graphs/*.[ch] "$top_srcdir"/lib/*.[ch]; do
	dir=$(basename "$(dirname "$f")")
	while read -r h; do
		[ "$h" = config.h ] && continue
		[ -f "$top_srcdir/lib/$h" ] && continue
		[ "$dir" = graphs ] && [ -f "$top_srcdir/graphs/$h" ] && continue
		bad="$bad ${f#"$top_srcdir"/}:$h"
	done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
is "${bad# }" "" "graphs/ and lib/ include only lib/ and their own headers"

if command -v ldd >/dev/null 2>&1; then
	libs=$(ldd "${VANTAGE_GRAPH:?}" 2>&1)
	if [[ $libs == *"not a dynamic"* ]]; then
		skip "vantage-graph does not link libmicrohttpd" "static binary"
	else
		is "$(grep -c microhttpd <<<"$libs")" 0 \
			"vantage-graph does not link libmicrohttpd"
	fi
else
	skip "vantage-graph does not link libmicrohttpd" "no ldd"
fi
tap_done
