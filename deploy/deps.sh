#!/usr/bin/env bash
# Installs the Debian 12 packages relais needs to build, test and run, and
# only those missing (idempotent: a second run installs nothing).
#   deploy/deps.sh            build + test dependencies
#   deploy/deps.sh --bench    also the optional benchmark comparison deps
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
      libcriterion-dev libutf8proc-dev libcsv-dev libconfig-dev libjansson-dev libsodium-dev
      valgrind python3 python3-zmq python3-protobuf protobuf-compiler
      clang libclang-rt-14-dev  # tests/fuzz: libFuzzer is libclang-rt-14-dev's
      chromium)  # headless, for the HTML report's browser test (tests/report)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(nats-server libnats-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "relais: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
