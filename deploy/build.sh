#!/usr/bin/env bash
# Builds relais with CMake into build/ (or the directory given), after
# installing any missing Debian package.
#   deploy/build.sh              build/        RelWithDebInfo, -Werror
#   deploy/build.sh --sanitize   build-asan/   Debug, ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/deps.sh
dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  args=(-DCMAKE_BUILD_TYPE=Debug -DRELAIS_SANITIZE=ON)
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
echo "$dir"
