#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds,
# starts the broker with the built-in Besançon configuration and its data
# under ./var/, pushes the bundled sample referrals through the real
# partner agent (its outbox in ./var/agent-state, next to the broker's data,
# so that wiping var/ starts both afresh), shows each referral's ack and each
# structure's routed cases, then keeps the broker serving until Ctrl-C.
#
# Keys (CurveZMQ): on the first run it makes, under var/keys/, the
# broker's key pair and one per demo identity (the two partners, every
# structure's coordinators, the programme staff) with relais-keygen, and
# var/keys/authorized_keys listing them; every call below uses them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(deploy/build.sh)
bin=$PWD/$dir
mkdir -p var
log=var/broker.log
keys=var/keys
structures="asq-planoise asq-montrapon mdq-clairs-soleils mdq-battant mdq-palente assoc-insertion asq-centre ccas-programme"

# One key pair per identity, made once; an existing key is kept.
mkdir -p -m 700 "$keys"
keygen() { [ -f "$keys/$1.key" ] || "$bin/broker/relais-keygen" "$keys/$1.key" >/dev/null 2>&1; }
keygen broker
if [ ! -f "$keys/authorized_keys" ]; then
  {
    echo "# Who may connect to the demo broker: ROLE ID PUBLIC-KEY (see README, Security)."
    echo "# Edit, then 'kill -HUP <broker pid>' to apply."
    for p in mission-locale ccas; do keygen "$p"; echo "partner $p $(cat "$keys/$p.key.pub")"; done
    for s in $structures; do keygen "$s"; echo "coordinator $s $(cat "$keys/$s.key.pub")"; done
    keygen ccas-team; echo "staff ccas-team $(cat "$keys/ccas-team.key.pub")"
  } >"$keys/authorized_keys.new"
  mv "$keys/authorized_keys.new" "$keys/authorized_keys"
fi
agent()  { local id=$1; shift; "$bin/agents/relais-agent"  --as "$id" --key "$keys/$id.key" --broker-key "$keys/broker.key.pub" --state-dir var/agent-state "$@"; }
intake() { local id=$1; shift; "$bin/agents/relais-intake" --as "$id" --key "$keys/$id.key" --broker-key "$keys/broker.key.pub" "$@"; }

"$bin/broker/relais-broker" --data var/data --secret-key "$keys/broker.key" \
  --keys "$keys/authorized_keys" 2>>"$log" &
broker=$!
trap 'kill -TERM $broker 2>/dev/null; wait $broker 2>/dev/null; echo; echo "relais-broker stopped; data kept in var/data"' EXIT INT TERM

# Wait until it answers.
for _ in $(seq 50); do
  if intake ccas-programme --timeout 200 list >/dev/null 2>&1; then
    break
  fi
  kill -0 $broker 2>/dev/null || { echo "relais-broker failed to start:"; tail -5 "$log"; exit 1; }
done

echo "== relais-broker $("$bin/broker/relais-broker" --version | cut -d' ' -f2) is up (log: $log)"
echo
echo "== Mission locale submits deploy/samples/referrals.csv"
agent mission-locale submit --csv deploy/samples/referrals.csv || true
echo
echo "== CCAS (antennes sociales) submits deploy/samples/referrals-ccas.csv"
agent ccas submit --csv deploy/samples/referrals-ccas.csv || true
echo
echo "== Cases routed to each structure, awaiting an answer"
for s in $structures; do
  n=$(intake "$s" --json list | grep -c '"case_id"' || true)
  echo "-- $s: $n case(s) awaiting an answer; the first three:"
  intake "$s" list | grep -A1 '^case ' | grep -v '^--' | head -n 6 || true
done
echo
echo "== The Mission locale's status events (closed loop), the last five"
agent mission-locale events --state var/ml-events.seq | tail -n 5

cat <<MSG

relais-broker is serving (partners: tcp://127.0.0.1:7410, coordinators: tcp://127.0.0.1:7411),
encrypted and authenticated with CurveZMQ: every client shows its own key
(var/keys/ID.key, made by relais-keygen) and the broker's public key.
From another terminal, in $PWD:
  export RELAIS_BROKER_KEY=$keys/broker.key.pub
  $dir/agents/relais-intake --as asq-planoise --key $keys/asq-planoise.key list
  $dir/agents/relais-intake --as asq-planoise --key $keys/asq-planoise.key accept C0000001
  $dir/agents/relais-intake --as asq-planoise --key $keys/asq-planoise.key milestone C0000001 diagnosis
  $dir/agents/relais-agent  --as mission-locale --key $keys/mission-locale.key --state-dir var/agent-state events
  $dir/agents/relais-agent  --as mission-locale --key $keys/mission-locale.key --state-dir var/agent-state status
  $dir/agents/relais-agent  --as mission-locale --key $keys/mission-locale.key --state-dir var/agent-state submit --csv deploy/samples/referrals.csv   # all replays
  $dir/broker/relais-admin audit --case C0000001          # who did what on that case
  $dir/broker/relais-admin access-report --person C0000001
Keys: $keys/authorized_keys lists who may connect; edit it and run
'kill -HUP $broker' to add or revoke a key without a restart.
Press Ctrl-C to stop the broker (the data stays in var/data; run again to carry on).
MSG
wait $broker
