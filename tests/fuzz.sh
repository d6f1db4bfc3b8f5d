#!/bin/bash
# SPDX-License-Identifier: MIT
# A short libFuzzer run of each harness in tests/fuzz/ (batch parser,
# signature check, probe and collector config loaders) from the committed
# seed corpus: 3 s each, ASan+UBSan+LSan. Skipped without clang and
# libclang-rt; the long run is in bench/README.md ("Fuzzing").
. "$top_srcdir/tests/lib/tap.sh"
if grep -q '^SAN_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null; then
	echo "1..0 # SKIP the fuzzers run in the plain pass (they carry ASan themselves)"
	exit 0
fi
out=$top_builddir/fuzz
for h in batch sig probe_conf coll_conf; do
	msg=$("$top_srcdir/tests/fuzz/run.sh" -t "${VT_FUZZ_SECONDS:-3}" \
		-b "$top_builddir" -o "$out" "$h" 2>&1)
	rc=$?
	if [ "$rc" = 77 ]; then
		skip "fuzz $h" "$msg"
		continue
	fi
	is "$rc" 0 "fuzz $h: $(echo "$msg" | tail -n 1)"
	[ "$rc" = 0 ] || diag "$msg"
done
tap_done
