#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh: build the libFuzzer harnesses with clang
# (-fsanitize=fuzzer,address,undefined) and run each for a while from the
# seed corpus in tests/fuzz/corpus/.
#
#   tests/fuzz/run.sh [-t SECONDS] [-o OUTDIR] [-b BUILDDIR] [HARNESS...]
#     -t SECONDS   per harness (default 5); the test suite uses 3,
#                  bench/README.md gives the long run
#     -o OUTDIR    binaries, working corpus, crash files (default
#                  BUILDDIR/fuzz)
#     -b BUILDDIR  a configured build tree, for config.h (default _build)
#     HARNESS      batch sig probe_conf coll_conf (default: all)
#
# Exit status: 0 all ran clean, 1 a harness found a crash (its input is
# saved in OUTDIR as crash-*), 77 clang or libFuzzer missing.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECS=5 BUILD=$SRC/_build OUT=
while getopts t:o:b: opt; do
	case $opt in
	t) SECS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	b) BUILD=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
OUT=${OUT:-$BUILD/fuzz}
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(batch sig probe_conf coll_conf)
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: no $CC" >&2; exit 77; }
[ -f "$BUILD/config.h" ] || { echo "fuzz: no $BUILD/config.h (configure first)" >&2; exit 2; }
mkdir -p "$OUT" || exit 2
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$OUT/probe.c"
"$CC" -fsanitize=fuzzer "$OUT/probe.c" -o "$OUT/probe" 2>/dev/null ||
	{ echo "fuzz: $CC cannot link -fsanitize=fuzzer (libclang-rt-14-dev?)" >&2; exit 77; }

FLAGS=(-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-I"$BUILD" -I"$SRC/lib" -I"$SRC/prober" -I"$SRC/collector"
	$(pkg-config --cflags libconfig libcrypto libcurl jansson 2>/dev/null))
LIBS=($(pkg-config --libs libconfig libcrypto libcurl jansson libcares) -lm)
LIB_SRC=("$SRC"/lib/*.c)

# build NAME SOURCES...: relinks only when a source is newer than the binary.
build() {
	local name=$1 bin=$OUT/fuzz_$1 f newer=0
	shift
	[ -x "$bin" ] || newer=1
	for f in "$@" "${LIB_SRC[@]}"; do [ "$f" -nt "$bin" ] && newer=1; done
	[ "$newer" = 0 ] && return 0
	"$CC" "${FLAGS[@]}" "$@" "${LIB_SRC[@]}" "${LIBS[@]}" -o "$bin" \
		>"$OUT/build_$name.log" 2>&1 || {
		echo "fuzz: building $name failed:" >&2
		tail -n 20 "$OUT/build_$name.log" >&2
		return 1
	}
}

rc=0
for h in "${HARNESSES[@]}"; do
	case $h in
	batch) build batch "$SRC/tests/fuzz/fuzz_batch.c" || exit 1 ;;
	sig) build sig "$SRC/tests/fuzz/fuzz_sig.c" || exit 1 ;;
	probe_conf) build probe_conf -DFUZZ_PROBE "$SRC/tests/fuzz/fuzz_conf.c" \
		"$SRC/prober/probe_config.c" || exit 1 ;;
	coll_conf) build coll_conf -DFUZZ_COLLECTOR "$SRC/tests/fuzz/fuzz_conf.c" \
		|| exit 1 ;; # the loader is in lib/ (LIB_SRC)
	*) echo "fuzz: unknown harness $h" >&2; exit 2 ;;
	esac
	# A working copy of the seeds: the source tree stays read-only.
	mkdir -p "$OUT/corpus_$h"
	cp -n "$SRC/tests/fuzz/corpus/$h"/* "$OUT/corpus_$h/" 2>/dev/null
	if (cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=$SRC/tests/lib/lsan.supp "./fuzz_$h" \
		-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/crash-$h-" \
		"corpus_$h") >"$OUT/run_$h.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/run_$h.log")
		echo "fuzz: $h: clean, ${execs:-?} executions in ${SECS}s"
	else
		echo "fuzz: $h: FAILED; see $OUT/run_$h.log and $OUT/crash-$h-*" >&2
		grep -m5 -E 'ERROR|SUMMARY' "$OUT/run_$h.log" >&2
		rc=1
	fi
done
exit $rc
