#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds,
# starts the broker with the built-in Besançon configuration and its data
# under ./var/, pushes the bundled sample referrals through the real
# partner agent (its outbox in ./var/agent-state, next to the broker's data,
# so that wiping var/ starts both afresh), shows each referral's ack and each
# structure's routed cases, then keeps the broker serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(deploy/build.sh)
bin=$PWD/$dir
mkdir -p var
log=var/broker.log

"$bin/broker/relais-broker" --data var/data 2>>"$log" &
broker=$!
trap 'kill -TERM $broker 2>/dev/null; wait $broker 2>/dev/null; echo; echo "relais-broker stopped; data kept in var/data"' EXIT INT TERM

# Wait until it answers.
for _ in $(seq 50); do
  if "$bin/agents/relais-intake" --as ccas-programme --timeout 200 list >/dev/null 2>&1; then
    break
  fi
  kill -0 $broker 2>/dev/null || { echo "relais-broker failed to start:"; tail -5 "$log"; exit 1; }
done

echo "== relais-broker $("$bin/broker/relais-broker" --version | cut -d' ' -f2) is up (log: $log)"
echo
echo "== Mission locale submits deploy/samples/referrals.csv"
"$bin/agents/relais-agent" --as mission-locale --state-dir var/agent-state submit --csv deploy/samples/referrals.csv || true
echo
echo "== CCAS (antennes sociales) submits deploy/samples/referrals-ccas.csv"
"$bin/agents/relais-agent" --as ccas --state-dir var/agent-state submit --csv deploy/samples/referrals-ccas.csv || true
echo
echo "== Cases routed to each structure, awaiting an answer"
for s in asq-planoise asq-montrapon mdq-clairs-soleils mdq-battant mdq-palente assoc-insertion asq-centre ccas-programme; do
  n=$("$bin/agents/relais-intake" --as "$s" --json list | grep -c '"case_id"' || true)
  echo "-- $s: $n case(s) awaiting an answer; the first three:"
  "$bin/agents/relais-intake" --as "$s" list | grep -A1 '^case ' | grep -v '^--' | head -n 6 || true # grep finds nothing for a structure without cases
done
echo
echo "== The Mission locale's status events (closed loop), the last five"
"$bin/agents/relais-agent" --as mission-locale events --state var/ml-events.seq | tail -n 5

cat <<MSG

relais-broker is serving (partners: tcp://127.0.0.1:7410, coordinators: tcp://127.0.0.1:7411).
From another terminal, in $PWD:
  $dir/agents/relais-intake --as asq-planoise list
  $dir/agents/relais-intake --as asq-planoise accept C0000001
  $dir/agents/relais-intake --as asq-planoise milestone C0000001 diagnosis
  $dir/agents/relais-agent  --as mission-locale --state-dir var/agent-state events
  $dir/agents/relais-agent  --as mission-locale --state-dir var/agent-state status
  $dir/agents/relais-agent  --as mission-locale --state-dir var/agent-state submit --csv deploy/samples/referrals.csv   # all replays
Press Ctrl-C to stop the broker (the data stays in var/data; run again to carry on).
MSG
wait $broker
