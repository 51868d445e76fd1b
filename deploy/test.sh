#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script):
# installs what is missing, builds twice (the release build, and a Debug
# build with AddressSanitizer + UndefinedBehaviorSanitizer), and runs every
# test (unit, integration against the real broker, the Python contract
# client) in both builds, then a short pass of the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/deps.sh
status=0
for mode in "" --sanitize; do
  dir=$(deploy/build.sh $mode)
  echo "== tests in $dir"
  # halt_on_error: a sanitizer report fails the test that produced it.
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -j2 || status=1
done
# The broker under valgrind for the integration flows: any leak or memory
# error makes its exit status non-zero, which fails the test that stopped it.
echo "== integration tests with the broker under valgrind"
for t in test_flow test_cases test_security; do
  RELAIS_BROKER_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
    build/tests/$t --jobs 1 || status=1
done
# Bad input: each libFuzzer target for 20 s (about a minute in all) on a
# copy of its seed corpus; a crash, leak or sanitizer report fails the run.
echo "== fuzz (tests/fuzz/run.sh 20)"
tests/fuzz/run.sh 20 || status=1
exit $status
