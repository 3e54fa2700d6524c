#!/usr/bin/env bash
# The nemesis test (docs/nemesis.md): N real catena-server processes (--fsync always, a data
# directory each), each in its own network namespace, under a recorded mixed workload from many
# connections (catena-recorder), while a nemesis driven by a seed kills and restarts replicas
# (sometimes wiping one, which then rejoins), pauses them (SIGSTOP/SIGCONT), partitions the
# network (the leader, a middle replica or the tail isolated; majority/minority splits; one-way
# cuts; a replica's link down) and removes and re-adds members. At the end it heals everything
# and requires: every replica alive and a member, the same executed instance and keyspace
# digest everywhere, a write through every replica, and a linearizable history (catena-check),
# including a final read of every key through every replica, so a lost acknowledged write fails.
#
#   tests/nemesis/nemesis.sh BUILD_DIR      (catena-server, catena-recorder, catena-check)
#
# Environment: NEMESIS_SEED (1), NEMESIS_SECONDS of faults (75), NEMESIS_REPLICAS (3 or 5;
# default drawn from the seed), NEMESIS_CLIENTS (16), NEMESIS_NET=auto|off (off: loopback and
# process faults only), NEMESIS_KEEP=1 keeps the work directory after a pass.
# Without namespaces (not root, no ip or nft) it says so and runs process faults over loopback.
# Every fault is logged with its time in the work directory's nemesis.log, kept on failure.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(readlink -f "${1:?usage: $0 BUILD_DIR}")
SERVER=$BUILD/catena-server
RECORDER=$BUILD/catena-recorder
CHECKER=$BUILD/catena-check
for tool in "$SERVER" "$RECORDER" "$CHECKER"; do
  [ -x "$tool" ] || { echo "FAIL: no executable $tool (build first)" >&2; exit 1; }
done
SEED=${NEMESIS_SEED:-1}
RUN_SECONDS=${NEMESIS_SECONDS:-75}
CLIENTS=${NEMESIS_CLIENTS:-16}
CLIENT_BASE_PORT=7910 # replica i: clients on 7910+i, peers on 7950+i (this test's private range)
PEER_BASE_PORT=7950

# Seeded generators in this shell (bash's RANDOM reseeds in subshells): rand N sets R to a
# number in [0, N). Only the main shell draws. Two streams: rand for the schedule (fault kinds,
# hold and quiet times), rand_target for the targets, whose number of draws depends on the
# cluster's state; so a seed always gives the same kinds at the same times.
RNG_STATE=$(((SEED * 2654435761 + 12345) & 0x7fffffff))
RNG_TARGET_STATE=$(((SEED * 40503 + 977) & 0x7fffffff))
rand() {
  RNG_STATE=$(((RNG_STATE * 1103515245 + 12345) & 0x7fffffff))
  R=$(((RNG_STATE >> 8) % $1))
}
rand_target() {
  RNG_TARGET_STATE=$(((RNG_TARGET_STATE * 1103515245 + 12345) & 0x7fffffff))
  R=$(((RNG_TARGET_STATE >> 8) % $1))
}
N=${NEMESIS_REPLICAS:-}
if [ -z "$N" ]; then rand 2; N=$((R ? 5 : 3)); fi

WORK=$(mktemp -d "/tmp/catena-nemesis-seed$SEED.XXXXXX")
LOG=$WORK/nemesis.log
HISTORY=$WORK/history.txt
START_US=${EPOCHREALTIME/./}
# say TEXT: a timestamped line on stdout and in nemesis.log.
say() {
  local now=${EPOCHREALTIME/./}
  printf '%s +%07.3fs %s\n' "$(date -u +%H:%M:%S.%3N)" \
    "$(bc <<<"scale=3; ($now - $START_US) / 1000000")" "$*" | tee -a "$LOG"
}
fail() { say "FAIL: $*"; exit 1; }

# One run at a time per machine: runs share the namespace names, the bridge and the ports, and
# each removes what an earlier run left behind. A second run waits for the first.
exec 9>/tmp/catena-nemesis.lock
if ! flock -n 9; then
  echo "another nemesis run holds /tmp/catena-nemesis.lock: waiting for it"
  flock -w 3600 9 || { echo "FAIL: the nemesis lock was not released within an hour" >&2; exit 1; }
fi

# shellcheck source=tests/nemesis/net.sh
source "$HERE/net.sh"
NET=0
if [ "${NEMESIS_NET:-auto}" != off ]; then
  if why=$(net_available); then
    NET=1
  else
    say "NOTE: network namespaces cannot be created here ($why): falling back to PROCESS" \
      "FAULTS ONLY (kill -9, SIGSTOP, membership) over loopback; no partitions are tested"
  fi
else
  say "NOTE: NEMESIS_NET=off: process faults only (kill -9, SIGSTOP, membership) over loopback"
fi

addr() { if [ $NET = 1 ]; then net_addr "$1"; else echo 127.0.0.1; fi; }
client_port() { echo $((CLIENT_BASE_PORT + $1)); }
peer_port() { echo $((PEER_BASE_PORT + $1)); }
# cli I ARGS...: redis-cli to replica I (raw output), given up after 3 s (it may be stopped).
cli() {
  local i=$1
  shift
  timeout 3 redis-cli -h "$(addr "$i")" -p "$(client_port "$i")" "$@" 2>/dev/null | tr -d '\r'
}
info() { cli "$1" INFO everything | sed -n "s/^$2://p"; }

declare -A PID STOPPED
CLUSTER=""
for ((i = 1; i <= N; i++)); do CLUSTER+="${CLUSTER:+,}$i=$(addr "$i"):$(peer_port "$i")"; done

# start_replica I [flags]: replica I on its data directory (in its namespace).
start_replica() {
  local i=$1
  shift
  local run=()
  [ $NET = 1 ] && run=(ip netns exec "$(net_ns "$i")")
  "${run[@]}" "$SERVER" --id "$i" --cluster "$CLUSTER" --bind "$(addr "$i")" \
    --port "$(client_port "$i")" --data-dir "$WORK/data-$i" --fsync always \
    --checkpoint-bytes 1mb "$@" >>"$WORK/replica-$i.log" 2>&1 &
  PID[$i]=$!
  STOPPED[$i]=0
}
alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

RECORDER_PID=""
cleanup() {
  local rc=$? i
  set +e
  [ -n "$RECORDER_PID" ] && kill "$RECORDER_PID" 2>/dev/null
  for i in "${!PID[@]}"; do
    kill -CONT "${PID[$i]}" 2>/dev/null
    kill -KILL "${PID[$i]}" 2>/dev/null
  done
  wait 2>/dev/null
  [ $NET = 1 ] && net_teardown
  if [ $rc -ne 0 ]; then
    echo "--- nemesis FAILED (seed $SEED, $N replicas); everything is kept in $WORK" >&2
    echo "--- reproduce the fault schedule: NEMESIS_SEED=$SEED NEMESIS_REPLICAS=$N" \
      "NEMESIS_SECONDS=$RUN_SECONDS NEMESIS_NET=$([ $NET = 1 ] && echo auto || echo off)" \
      "$0 $BUILD" >&2
    tail -n 5 "$WORK"/replica-*.log >&2
  elif [ "${NEMESIS_KEEP:-0}" = 1 ]; then
    echo "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/nemesis/faults.sh
source "$HERE/faults.sh"

# --- set-up -------------------------------------------------------------------------------
say "seed $SEED: $N replicas, $RUN_SECONDS s of faults, $CLIENTS clients," \
  "$([ $NET = 1 ] && echo "network namespaces $(net_ns 1)..$(net_ns "$N") on $NET_SUBNET.0/24" ||
    echo "loopback"); work directory $WORK"
if [ $NET = 1 ]; then
  net_teardown # leftovers of an aborted run
  net_setup "$N"
fi
if [ $NET = 0 ]; then
  # On loopback an earlier run's replica could answer in place of ours.
  for ((i = 1; i <= N; i++)); do
    for port in $(client_port "$i") $(peer_port "$i"); do
      ! ss -Hltn "sport = :$port" | grep -q . ||
        fail "port $port is in use on this machine: $(ss -Hltnp "sport = :$port")"
    done
  done
fi
for ((i = 1; i <= N; i++)); do start_replica "$i"; done
leader_agreed() {
  local i l
  l=$(info 1 leader_id)
  [ -n "$l" ] && [ "$l" != 0 ] || return 1
  for ((i = 2; i <= N; i++)); do [ "$(info "$i" leader_id)" = "$l" ] || return 1; done
}
wait_until 30 leader_agreed || fail "no leader 30 s after the start"
say "cluster up: leader $(info 1 leader_id), chain $(info 1 chain)"

hosts=""
for ((i = 1; i <= N; i++)); do hosts+="${hosts:+,}$(addr "$i"):$(client_port "$i")"; done
# Keys and timeout keep the history checkable: an operation whose outcome is unknown may take
# effect at any later time, and a few dozen of them on one key group make the search explode.
# A timeout longer than a fault's hold lets most operations caught in a fault complete (or get
# TRYAGAIN) after the heal; many keys spread the unknown ones (from kills) thinly.
"$RECORDER" --hosts "$hosts" --out "$HISTORY" --clients "$CLIENTS" --seed "$SEED" \
  --duration $((RUN_SECONDS + 300)) --stop-file "$WORK/stop" --timeout-ms 8000 --think-ms 10 \
  --keys 64 --counters 8 >"$WORK/recorder.out" 2>&1 &
RECORDER_PID=$!
sleep 2

# --- faults -------------------------------------------------------------------------------
end=$((SECONDS + RUN_SECONDS))
while ((SECONDS < end)); do
  fault_round
  alive_check
done

# --- heal, check --------------------------------------------------------------------------
heal_everything
say "healed; the workload runs 5 s more"
sleep 5
touch "$WORK/stop"
wait "$RECORDER_PID" || fail "catena-recorder: $(cat "$WORK/recorder.out")"
RECORDER_PID=""
say "$(tail -n 1 "$WORK/recorder.out")"
alive_check
final_checks
say "fault counts: $(fault_summary)"
say "PASS: seed $SEED, $N replicas$([ $NET = 1 ] || echo ", PROCESS FAULTS ONLY (no network namespaces)")"
