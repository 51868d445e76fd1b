#!/usr/bin/env bash
# The matching quality benchmark, as README "Matching quality" reports it:
#   tests/quality/bench.sh [RUNS]          (default 5; SIZES="10000 100000 1000000")
# For each size: generates the benchmark set (seed 2, 10,000 queries) once
# into $WORK (default /var/tmp/relais-quality, a disk: the 1M store is about
# 1 GB), indexes it into a fresh store with the real identity_index, matches
# the queries with the real identity_match, then matches them RUNS - 1 more
# times against the same store (--reuse) and prints the median of the runs'
# median times (the machine may be shared: one run is noisy), and the ratio
# of each size's time to the first size's.  Not a test: nothing fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
sizes=${SIZES:-"10000 100000 1000000"}
work=${WORK:-/var/tmp/relais-quality}
mkdir -p "$work"
deploy/deps.sh
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-rel -j"$(nproc)" >/dev/null
bench=build-rel/tests/bench_matching
first=""
for n in $sizes; do
  data=$work/q$n store=$work/store$n
  [ -f "$data/truth.csv" ] ||
    python3 tests/quality/gen_referrals.py --known "$n" --queries 10000 --seed 2 --out "$data" >/dev/null
  rm -rf "$store" && mkdir -p "$store"
  out=$("$bench" --data "$data" --work "$store" --keep 2>/dev/null)
  echo "== $n known persons"
  echo "$out" | grep -vE "^  false link|^model"
  medians=$(echo "$out" | awk '/^match time/ {print $6}')
  for ((i = 1; i < runs; i++)); do
    medians="$medians $("$bench" --data "$data" --work "$store" --reuse 2>/dev/null |
      awk '/^match time/ {print $6}')"
  done
  mid=$(echo "$medians" | tr ' ' '\n' | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "median time over $runs runs: $mid us (runs:$(printf ' %s' $medians))"
  if [ -z "$first" ]; then
    first=$mid
  else
    awk -v a="$mid" -v b="$first" 'BEGIN {printf "ratio to the first size: %.2f\n", a / b}'
  fi
  rm -rf "$store"
done
