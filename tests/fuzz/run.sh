#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/CMakeLists.txt, clang, ASan +
# UBSan) into build-fuzz/ and runs each one for SECONDS (default 20).
#
#   tests/fuzz/run.sh          the quick pass deploy/test.sh runs (~1 min)
#   tests/fuzz/run.sh 3600     the long run: an hour per target, before a
#                              release or after touching a parser
#
# Each target works on a COPY of its committed corpus, in
# build-fuzz/run/TARGET/corpus: what the fuzzer discovers stays there, and
# the committed seeds (tests/fuzz/corpus/, written by make_corpus.py) never
# grow by themselves.  A crash, leak, timeout, out-of-memory or sanitizer
# report stops that target, leaves the input as build-fuzz/run/TARGET/crash-*
# (or leak-*, timeout-*, oom-*), prints the end of its log and makes the
# script exit non-zero after the other targets have run.  Reproduce with
#   build-fuzz/fuzz_TARGET build-fuzz/run/TARGET/crash-...
# and, once fixed, commit that input into tests/fuzz/corpus/TARGET/ as a
# regression seed.
#
# Installs nothing itself but what deploy/deps.sh installs (clang and its
# libFuzzer runtime are in that list).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
targets=(envelope csv config)

deploy/deps.sh
build=build-fuzz
cmake -S tests/fuzz -B "$build" -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

supp=$PWD/tests/fuzz/lsan.supp
status=0
for t in "${targets[@]}"; do
  work=$PWD/$build/run/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/tmp"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  # -max_len: 64 KB reaches every parser's limits but the 256 KB frame
  # limit (tested in tests/integration/test_hostile.c).  -timeout: one
  # input taking 10 s is a hang.  TMPDIR: fuzz_envelope's store lives in
  # build-fuzz, even when a crash leaves it behind.  lsan.supp: a leak
  # inside libconfig itself (see there).
  if (cd "$work" && TMPDIR="$work/tmp" \
      ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$supp" \
      UBSAN_OPTIONS=print_stacktrace=1 \
      "../../fuzz_$t" corpus -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 \
        >"$work/log" 2>&1); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    echo "fuzz_$t: OK, ${runs:-?} inputs in ${secs} s"
  else
    status=1
    echo "fuzz_$t: FAILED (log: $work/log)"
    grep -v '^INFO:' "$work/log" | tail -40
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
  fi
done
exit $status
