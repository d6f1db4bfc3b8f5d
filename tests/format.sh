#!/bin/bash
# SPDX-License-Identifier: MIT
# format.sh: the C sources (lib/, prober/, collector/, graphs/, tests/,
# bench/) follow .clang-format, so the style file states what the code is.
# To fix a failure: clang-format -i FILE (Debian 12's clang-format 14).
set -u

: "${top_srcdir:?run me from make check}"
# shellcheck source=tests/lib/tap.sh
. "$top_srcdir/tests/lib/tap.sh"
command -v clang-format >/dev/null 2>&1 || {
	echo "1..0 # SKIP clang-format missing"
	exit 0
}
cd "$top_srcdir" || bail "cannot enter $top_srcdir"
files=()
while IFS= read -r f; do
	files+=("$f")
done < <(find lib prober collector graphs tests bench -name '*.[ch]' | LC_ALL=C sort)
[ "${#files[@]}" -gt 20 ] || bail "only ${#files[@]} C files found below $top_srcdir"
out=$(clang-format --style=file --dry-run "${files[@]}" 2>&1)
bad=$(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' <<<"$out" | LC_ALL=C sort -u | tr '\n' ' ')
is "${bad% }" "" "${#files[@]} C files follow .clang-format (clang-format -i to fix)"
[ -z "$bad" ] || diag "$(head -n 30 <<<"$out")"
tap_done
