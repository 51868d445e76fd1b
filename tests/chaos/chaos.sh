#!/usr/bin/env bash
# Chaos: nothing acknowledged is ever lost, nothing is counted twice.
#
# Partner agents (real relais-agent processes, each with its own durable
# outbox) push referrals while this script kills the broker with SIGKILL at
# random moments and restarts it on the same data directory.  At the end,
# once every outbox is drained, it checks:
#   1. every referral queued by every agent was acknowledged (outbox status:
#      nothing queued, nothing rejected, every row acknowledged);
#   2. the store is internally consistent (relais-admin verify: each case's
#      queue entry and load counter, every partner feed with contiguous seq
#      values and no gap or repeat, index entries, budget, waitlist);
#   3. every referral is in the store exactly once and no case is
#      duplicated: one case per young person (relais-admin cases), and each
#      partner_ref routed exactly once in its partner's feed;
#   4. every routed case is in its structure's queue (verify, and the
#      count of routed cases equals the referrals, none answered here).
#
# Usage: tests/chaos/chaos.sh BUILD_DIR [KILLS [AGENTS [ROWS]]]
#   short form (deploy/test.sh, via ctest): 6 kills, 3 agents x 120 rows
#   long form (by hand):  tests/chaos/chaos.sh build 100 4 2000
# Prints "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
build=$(cd "${1:?usage: chaos.sh BUILD_DIR [KILLS [AGENTS [ROWS]]]}" && pwd)
kills=${2:-6}
agents=${3:-3}
rows=${4:-120}
src=$(cd "$(dirname "$0")/../.." && pwd)
broker_bin=$build/broker/relais-broker
agent_bin=$build/agents/relais-agent
admin_bin=$build/broker/relais-admin
work=$(mktemp -d /tmp/relais-chaos-XXXXXX)
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pep=tcp://127.0.0.1:$(free_port)
cep=tcp://127.0.0.1:$(free_port)

# A programme that never runs out of budget or room: this test is about
# durability, not about the waitlist.
sed -e 's/envelope_eur = 1000000;/envelope_eur = 1000000000;/' \
    -e 's/capacity = [0-9]*;/capacity = 1000000;/' "$src/deploy/relais.conf" > "$work/relais.conf"

partners=(mission-locale ccas departement-25 rectorat addsea gbm-insertion maison-de-quartier association)
broker_pid=
# --insecure-dev: this test is about durability; keys and roles are
# tested by tests/integration/test_security.c.
start_broker() {
  "$broker_bin" --config "$work/relais.conf" --data "$work/data" \
    --partner-endpoint "$pep" --coordinator-endpoint "$cep" --insecure-dev 2>>"$work/broker.log" &
  broker_pid=$!
}
cleanup() {
  [ -n "$broker_pid" ] && kill -9 "$broker_pid" 2>/dev/null
  for p in "${agent_pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "${RELAIS_CHAOS_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Each agent's partner file: distinct, eligible young people whose names
# and birth dates do not resemble one another's (the matcher must keep them
# apart: this test counts one case per row).
for ((a = 0; a < agents; a++)); do
  python3 - "$a" "$rows" "${partners[$a]}" > "$work/${partners[$a]}.csv" <<'PY'
import datetime, sys
a, rows, partner = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
syl = "ka lo mi du ber san tor vel ni ro gu fa che pi zo mar".split()
firsts = ("Lucas Emma Yanis Inès Mamadou Léa Rayan Chloé Adam Sarah Hugo Aïcha Nathan "
          "Manon Karim Camille Théo Fatou Enzo Lina Bilal Jade Moussa Clara Ilyes Zoé Tom "
          "Yasmine Amine Louise Kevin Mariam Noah Eva Sofiane Anaïs Malik Julie Elif Ioana").split()
print("partner_ref,last_name,first_names,birth_date,quartier,postcode,consent,needs")
for r in range(1, rows + 1):
    i = a * 100000 + r
    v, last = i, ""
    for _ in range(5):
        last += syl[v % 16]
        v //= 16
    born = datetime.date(2001, 11, 20) + datetime.timedelta(days=(i * 7919) % 2186)
    print(f"CH-{partner}-{r:05d},{last.capitalize()},{firsts[i % 40]},{born},Planoise,25000,oui,training")
PY
done

start_broker
# Queue everything durably first (--wait 0: queue only, the broker may be
# down), then let each agent deliver in the background, for good.
agent_pids=()
for ((a = 0; a < agents; a++)); do
  p=${partners[$a]}
  "$agent_bin" --as "$p" --broker "$pep" --state-dir "$work/agent-$p" --timeout 500 \
    submit --csv "$work/$p.csv" --wait 0 >/dev/null 2>>"$work/agents.log" ||
    fail "$p: submit --wait 0 did not queue its file"
  "$agent_bin" --as "$p" --broker "$pep" --state-dir "$work/agent-$p" --timeout 500 \
    run --poll 1 >/dev/null 2>>"$work/agents.log" &
  agent_pids+=($!)
done

# The chaos: SIGKILL at random moments (50 to 800 ms apart), restart.
survived=0
for ((k = 0; k < kills; k++)); do
  sleep "0.$((RANDOM % 750 + 50))"
  kill -9 "$broker_pid" 2>/dev/null && survived=$((survived + 1))
  wait "$broker_pid" 2>/dev/null
  sleep "0.$((RANDOM % 300 + 10))"
  start_broker
done

# Then let every outbox drain (bounded wait).
drained=0
for ((i = 0; i < 240; i++)); do
  left=0
  for ((a = 0; a < agents; a++)); do
    p=${partners[$a]}
    q=$("$agent_bin" --as "$p" --state-dir "$work/agent-$p" --json status 2>/dev/null |
        python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["queued"])' 2>/dev/null)
    left=$((left + ${q:-1}))
  done
  if [ "$left" -eq 0 ]; then drained=1; break; fi
  sleep 0.5
done
[ "$drained" = 1 ] && pass || fail "outboxes not drained after 120 s"
for p in "${agent_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${agent_pids[@]}"; do wait "$p" 2>/dev/null; done
agent_pids=()

# 1. every row acknowledged, none rejected
for ((a = 0; a < agents; a++)); do
  p=${partners[$a]}
  st=$("$agent_bin" --as "$p" --state-dir "$work/agent-$p" --json status 2>/dev/null | head -1)
  echo "$st" | python3 -c "
import json,sys
d=json.loads(sys.stdin.readline())
sys.exit(0 if d['acknowledged']==$rows and d['queued']==0 and d['rejected']==0 else 1)" &&
    pass || fail "$p outbox: $st"
done

kill -TERM "$broker_pid"; wait "$broker_pid"; broker_pid=

# 2. the store agrees with itself
if "$admin_bin" --data "$work/data" --config "$work/relais.conf" verify > "$work/verify.txt" 2>&1; then
  pass
else
  fail "relais-admin verify: $(tail -5 "$work/verify.txt")"
fi

# 3. one case per young person, every referral once
total=$((agents * rows))
n_cases=$("$admin_bin" --data "$work/data" --config "$work/relais.conf" --json cases |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
[ "$n_cases" = "$total" ] && pass || fail "$n_cases cases for $total distinct young people"
n_routed=$("$admin_bin" --data "$work/data" --config "$work/relais.conf" --json cases --state routed |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
[ "$n_routed" = "$total" ] && pass || fail "$n_routed routed cases, expected $total (4: queues)"
start_broker
sleep 0.3
for ((a = 0; a < agents; a++)); do
  p=${partners[$a]}
  "$agent_bin" --as "$p" --broker "$pep" --json events --from 0 --state "$work/$p.seq" \
    > "$work/$p.events" 2>/dev/null
  python3 - "$work/$p.events" "$rows" <<'PY' && pass || fail "$p feed: routed events not exactly one per referral"
import collections, json, sys
routed = collections.Counter()
seqs = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "seq" not in e:
        continue
    seqs.append(e["seq"])
    if e["state"] == "routed":
        routed[e["partner_ref"]] += 1
ok = len(routed) == int(sys.argv[2]) and set(routed.values()) == {1}
ok = ok and seqs == list(range(1, len(seqs) + 1))
sys.exit(0 if ok else 1)
PY
done
kill -TERM "$broker_pid"; wait "$broker_pid"; broker_pid=

echo "chaos: $survived broker SIGKILLs survived, $agents agents x $rows referrals"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
