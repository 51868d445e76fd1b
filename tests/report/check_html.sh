#!/usr/bin/env bash
# check_html.sh — the evaluation report's HTML, rendered by a real browser.
#
# Builds a store the way the programme will: the real relais-broker on a
# temporary directory and free ports, the sample partner CSV files sent by
# relais-agent, a few coordinator actions by relais-intake, across three
# restarts of the broker at later dates (RELAIS_NOW), so the report spans
# several months.  Then renders `relais-admin report --format html`, opens
# it in headless Chromium (Debian's package), and checks that:
#   - the page is self-contained (no <script>, no http(s) src/href);
#   - Chromium renders it: a screenshot of more than 20 KB, and a DOM dump
#     holding the four inline SVG charts;
# The screenshot and the page are left in OUT_DIR for a person to look at.
#
# Usage: check_html.sh BUILD_DIR SOURCE_DIR OUT_DIR
# Exit: 0 pass, 1 fail, 77 skipped (no chromium: deploy/deps.sh installs it).
set -euo pipefail
trap 'echo "FAIL: check_html.sh line $LINENO: $BASH_COMMAND (exit $?)"' ERR

build=$1 src=$2 out=$3
broker_bin=$build/broker/relais-broker
agent=$build/agents/relais-agent
intake=$build/agents/relais-intake
admin=$build/broker/relais-admin

chromium_bin=$(command -v chromium || true)
if [ -z "$chromium_bin" ]; then
  echo "SKIP: chromium is not installed (deploy/deps.sh installs it)"
  exit 77
fi

tmp=$(mktemp -d /tmp/relais-check-html-XXXXXX)
broker_pid=""
stop_broker() {
  if [ -n "$broker_pid" ]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  fi
}
cleanup() {
  stop_broker
  if [ "${RELAIS_TEST_KEEP:-}" = 1 ]; then
    echo "kept: $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
mkdir -p "$out"

# Two free TCP ports, from the kernel.
read -r pport cport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
pep=tcp://127.0.0.1:$pport
cep=tcp://127.0.0.1:$cport

# Starts the broker as of day $1 and waits until it answers.
# --insecure-dev: this test is about the report; keys and roles are
# tested by tests/integration/test_security.c.
start_broker() {
  RELAIS_NOW=$1 "$broker_bin" --data "$tmp/data" --partner-endpoint "$pep" \
    --coordinator-endpoint "$cep" --insecure-dev 2>>"$tmp/broker.log" &
  broker_pid=$!
  for _ in $(seq 50); do
    if "$intake" --broker "$cep" --as ccas-programme --timeout 200 list >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$broker_pid" 2>/dev/null || { echo "FAIL: broker did not start"; cat "$tmp/broker.log"; exit 1; }
  done
  echo "FAIL: broker does not answer"
  exit 1
}

act() { "$intake" --broker "$cep" "$@" >>"$tmp/actions.log"; }
# The first case of structure $1 awaiting an answer (awk reads the whole
# listing: leaving early would kill relais-intake with SIGPIPE).
first_case() {
  "$intake" --broker "$cep" --as "$1" list | awk '/^case / && !id {id = $2} END {print id}'
}

# November: the partners' files.
start_broker 2026-11-20
"$agent" --broker "$pep" --state-dir "$tmp/agent" --as mission-locale submit --csv "$src/deploy/samples/referrals.csv" \
  >"$tmp/submit-ml.log" || true
"$agent" --broker "$pep" --state-dir "$tmp/agent" --as ccas submit --csv "$src/deploy/samples/referrals-ccas.csv" \
  >"$tmp/submit-ccas.log" || true
grep -q '^summary' "$tmp/submit-ml.log" || { echo "FAIL: submit"; cat "$tmp/submit-ml.log"; exit 1; }
stop_broker

# December: answers, a decline, milestones.
start_broker 2026-12-04
c1=$(first_case asq-planoise); c2=$(first_case asq-montrapon); c3=$(first_case mdq-battant)
c4=$(first_case mdq-palente)
act --as asq-planoise accept "$c1"
act --as asq-montrapon accept "$c2"
act --as mdq-battant decline "$c3" --reason "Plus de place avant janvier"
act --as mdq-palente accept "$c4"
act --as asq-planoise milestone "$c1" diagnosis
act --as asq-planoise milestone "$c1" plan
act --as asq-planoise milestone "$c1" contract
stop_broker

# January: a contract, closes with outcomes.
start_broker 2027-01-12
act --as asq-montrapon milestone "$c2" diagnosis
act --as asq-montrapon milestone "$c2" plan
act --as asq-montrapon milestone "$c2" contract
act --as mdq-palente close "$c4" --outcome training
stop_broker

html=$out/report.html png=$out/report.png
RELAIS_NOW=2027-01-12 "$admin" --data "$tmp/data" report --format html >"$html"
if grep -qiE '<script|(src|href)="https?:' "$html"; then
  echo "FAIL: $html is not self-contained"
  exit 1
fi

# Headless Chromium, with everything that would reach the network off.
chrome() {
  timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$tmp/chrome-XXXXXX")" "$@" 2>>"$tmp/chromium.log"
}
rm -f "$png"
chrome --screenshot="$png" --window-size=1280,2400 "file://$html" >/dev/null || true
if [ ! -s "$png" ]; then
  echo "FAIL: no screenshot"; tail -20 "$tmp/chromium.log"; exit 1
fi
size=$(stat -c %s "$png")
if [ "$size" -le 20480 ]; then
  echo "FAIL: screenshot $png is $size bytes: nothing rendered?"
  exit 1
fi
chrome --dump-dom "file://$html" >"$tmp/dom.html" || true
svgs=$(grep -o '<svg' "$tmp/dom.html" | wc -l)
for id in chart-referrals chart-delays chart-outcomes chart-budget; do
  grep -q "id=\"$id\"" "$tmp/dom.html" || { echo "FAIL: $id missing from the DOM"; exit 1; }
done
if [ "$svgs" -lt 4 ]; then
  echo "FAIL: $svgs inline SVG charts in the DOM, 4 expected"
  exit 1
fi
echo "PASS: $html rendered by $("$chromium_bin" --version 2>/dev/null | head -1): $png ($size bytes), $svgs SVG charts"
