#!/usr/bin/env bash
# The command-line programs under valgrind, against a real broker: the
# partner agent (submit through its outbox, status, events), the intake
# client (list, accept, decline), the programme team's tool (verify,
# budget, report, backup).  Any leak or memory error valgrind reports
# fails the test.  (The broker itself runs under valgrind in deploy/test.sh
# through the integration harness; the sanitizer build covers the rest.)
# Usage: tools_valgrind.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/relais-vg-XXXXXX)
trap 'kill -9 $broker 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pep=tcp://127.0.0.1:$(port)
cep=tcp://127.0.0.1:$(port)
# --insecure-dev: this test is about memory errors; keys and roles are
# tested by tests/integration/test_security.c.
RELAIS_NOW=2026-11-20 "$build/broker/relais-broker" --data "$work/data" \
  --partner-endpoint "$pep" --coordinator-endpoint "$cep" --insecure-dev 2>"$work/broker.log" &
broker=$!
sleep 0.5
vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
passed=0 failed=0
run() {
  local name=$1; shift
  "${vg[@]}" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ $rc -eq 99 ] || grep -q "==[0-9]*==" "$work/err"; then
    failed=$((failed + 1)); echo "FAIL $name: valgrind reported:"; head -30 "$work/err"
  elif [ $rc -ne 0 ]; then
    failed=$((failed + 1)); echo "FAIL $name: exit $rc"; tail -5 "$work/err"
  else
    passed=$((passed + 1))
  fi
}
A=("$build/agents/relais-agent" --broker "$pep" --as mission-locale --state-dir "$work/agent" --timeout 10000)
I=("$build/agents/relais-intake" --broker "$cep" --timeout 10000)
M=("$build/broker/relais-admin" --data "$work/data")
run submit "${A[@]}" submit --csv "$src/deploy/samples/referrals.csv" --wait 60
run status "${A[@]}" status
run events "${A[@]}" events --from 0 --state "$work/seq"
run list "${I[@]}" --as asq-planoise list --all
run accept "${I[@]}" --as asq-planoise accept C0000001
run decline "${I[@]}" --as mdq-clairs-soleils decline C0000002 --reason "Complet"
run verify "${M[@]}" verify
run budget "${M[@]}" budget
run report "${M[@]}" report --format html
run backup "${M[@]}" backup "$work/backup"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
