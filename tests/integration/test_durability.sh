#!/usr/bin/env bash
# A power loss on real processes: kill -9 all 3 replicas (--fsync always, the default) while
# redis-benchmark SETs and counting clients INCR their own counters through every replica,
# then restart them on the same data directories. Every acknowledged INCR must still be there,
# applied once (a counter ends between the last value acknowledged and that plus the one
# command in flight), the replicas must agree, take writes again, and say they recovered.
# Checkpoints are taken every 256 KB of records here (64 MB by default), so the restarts start
# from snapshot files plus the log after them.
source "$(dirname "$0")/lib.sh" "$1"
flags=(--checkpoint-bytes 256kb)
cluster_start 3 "${flags[@]}"

stop=$CATENA_DIR/stop
# counting_client I: INCR durable:I through replica I over one connection until $stop exists
# or the connection breaks; the last acknowledged value goes to acked-I.
counting_client() {
  local reply acked=0
  coproc CLI { redis-cli -p "$(port "$1")" 2>&1; }
  while [ ! -e "$stop" ]; do
    echo "INCR durable:$1" >&"${CLI[1]}" 2>/dev/null || break
    IFS= read -r -t 15 reply <&"${CLI[0]}" || break
    [[ "$reply" =~ ^[0-9]+$ ]] || break # the replica died: an error, or nothing
    acked=$reply
    echo "$acked" >"$CATENA_DIR/acked-$1"
  done
  kill "$CLI_PID" 2>/dev/null || true
}

# power_loss ROUND: load, kill -9 everything mid-load, restart, check.
power_loss() {
  local round=$1 i pids=()
  rm -f "$stop" "$CATENA_DIR"/acked-*
  redis-benchmark -p "$(port 1)" -t set -n 10000000 -c 20 -d 128 -r 100000 -q \
    >/dev/null 2>&1 &
  local bench=$!
  for i in 1 2 3; do counting_client "$i" & pids+=($!); done
  sleep 2
  # Checkpoints under load are serialized by a forked child (server/checkpoint.h).
  for i in 1 2 3; do
    [ "$(info "$i" checkpoint_forks)" -ge 1 ] && [ "$(info "$i" rdb_last_bgsave_status)" = ok ] ||
      fail "round $round: replica $i: no background checkpoint under load: $(cli "$i" INFO persistence | tr -d '\r' | paste -sd' ')"
  done
  for i in 1 2 3; do kill -9 "$(pid_of "$i")"; done
  wait "${pids[@]}" 2>/dev/null || true
  kill "$bench" 2>/dev/null || true
  wait "$bench" 2>/dev/null || true
  touch "$stop"
  local -A acked
  for i in 1 2 3; do
    acked[$i]=$(cat "$CATENA_DIR/acked-$i" 2>/dev/null || echo 0)
    [ "${acked[$i]}" -gt 0 ] || fail "round $round: client $i got no INCR acknowledged"
  done
  for i in 1 2 3; do wait_until 5 bash -c "! kill -0 $(pid_of "$i") 2>/dev/null"; done
  cluster_start 3 "${flags[@]}"
  for i in 1 2 3; do
    grep -q "recovered from.*(from a snapshot)" "$CATENA_DIR/replica-$i.log" ||
      fail "round $round: replica $i did not recover from a snapshot and its log: $(grep recovered "$CATENA_DIR/replica-$i.log")"
  done
  for i in 1 2 3; do
    for j in 1 2 3; do
      local value
      value=$(cli "$j" GET "durable:$i")
      [ "$value" -ge "${acked[$i]}" ] ||
        fail "round $round: replica $j has durable:$i = $value, but ${acked[$i]} was acknowledged"
      [ "$value" -le $((acked[$i] + 1)) ] ||
        fail "round $round: durable:$i = $value, more than ${acked[$i]} acknowledged + 1 in flight"
    done
  done
  local sizes
  sizes=$(for j in 1 2 3; do cli "$j" DBSIZE; done | sort -u | wc -l)
  expect_eq "$sizes" "1" "round $round: DBSIZE agrees on the 3 replicas"
  expect_eq "$(cli 2 INCR after:$round)" "1" "round $round: a write after the restart"
  pass "round $round: kill -9 of all 3 under load; after the restart every acknowledged INCR" \
    "is there exactly once (acked ${acked[1]}/${acked[2]}/${acked[3]}), the replicas agree"
}

power_loss 1
for i in 1 2 3; do
  ls "$CATENA_DIR/data-$i"/snapshot-*.snap >/dev/null 2>&1 ||
    fail "replica $i wrote no snapshot: $(ls -R "$CATENA_DIR/data-$i")"
done
pass "each replica keeps a snapshot and the log after it ($(ls "$CATENA_DIR/data-1/wal" | wc -l) segment(s) in data-1)"
power_loss 2

# INFO persistence reports the log's work since the restart (the write above was fsynced).
expect_eq "$(info 2 aof_enabled)" 1 "INFO aof_enabled"
[ "$(info 2 wal_fsyncs)" -ge 1 ] && [ "$(info 2 wal_records_written)" -ge 1 ] ||
  fail "INFO persistence counts no fsync or record: $(cli 2 INFO persistence | tr -d '\r' | paste -sd' ')"
pass "INFO persistence: $(info 2 wal_fsyncs) fsyncs (average $(info 2 wal_fsync_avg_us) us) since the restart"

# A damaged log: replica 3 stopped, the CRC of its log's first record flipped (records follow
# it, so it is no torn tail). It must refuse to start and leave its files alone; with --repair
# it moves the directory aside, joins again and gets the data from the others.
for i in $(seq 100); do echo "SET repair:$i v$i"; done | cli 1 >/dev/null
kill "$(pid_of 3)"
wait_until 10 bash -c "! kill -0 $(pid_of 3) 2>/dev/null" || fail "replica 3 did not stop"
segment=$(ls "$CATENA_DIR/data-3/wal/"*.wal | head -n 1)
printf '\xff' | dd of="$segment" bs=1 seek=20 conv=notrunc status=none
before=$(cd "$CATENA_DIR/data-3" && find . -type f -exec md5sum {} + | sort)
cluster="1=127.0.0.1:$((CATENA_PEER_BASE_PORT + 1)),2=127.0.0.1:$((CATENA_PEER_BASE_PORT + 2))"
cluster+=",3=127.0.0.1:$((CATENA_PEER_BASE_PORT + 3))"
# start_replica I [flags]: replica I alone, on its data directory.
start_replica() {
  local i=$1
  shift
  "$CATENA_BIN" --id "$i" --cluster "$cluster" --port "$(port "$i")" \
    --data-dir "$CATENA_DIR/data-$i" "${flags[@]}" "$@" >"$CATENA_DIR/replica-$i.log" 2>&1 &
  echo $! >"$CATENA_DIR/replica-$i.pid"
}
start_replica 3
wait_until 10 bash -c "! kill -0 $(pid_of 3) 2>/dev/null" || fail "replica 3 started on a corrupt log"
wait "$(pid_of 3)" && fail "replica 3 exited with status 0 on a corrupt log"
grep -q "corrupt record.*refusing to start (nothing was deleted" "$CATENA_DIR/replica-3.log" ||
  fail "no clear message for the corrupt log: $(tail -n 3 "$CATENA_DIR/replica-3.log")"
expect_eq "$(cd "$CATENA_DIR/data-3" && find . -type f -exec md5sum {} + | sort)" "$before" \
  "data-3 after the refused start"
pass "a corrupt record in the middle of the log: replica 3 refuses to start, its files untouched"
start_replica 3 --repair
is_member() { [ "$(info "$1" membership)" = member ]; }
wait_until 20 is_member 3 || fail "replica 3 is '$(info 3 membership)' 20 s after --repair"
aside=$(ls -d "$CATENA_DIR"/data-3.damaged-*) || fail "no data-3.damaged-* directory"
expect_eq "$(cd "$aside" && find . -type f -exec md5sum {} + | sort)" "$before" \
  "the damaged directory moved aside"
expect_eq "$(cli 3 GET repair:100)" "v100" "GET repair:100 on the repaired replica"
expect_eq "$(cli 3 DBSIZE)" "$(cli 1 DBSIZE)" "DBSIZE on replica 3 vs replica 1"
pass "--repair: replica 3 moved its damaged directory aside, joined again and has the data"

# The logs of all three now hold the ADD that brought replica 3 back, with its address: a
# restart re-executes it before the peer links exist (it crashed there once).
kill -9 "$(pid_of 1)"
wait_until 5 bash -c "! kill -0 $(pid_of 1) 2>/dev/null" || fail "replica 1 did not die"
start_replica 1
# The others may have removed it meanwhile: then it joins again before it serves.
serves() { [ "$(cli 1 GET repair:100 2>/dev/null)" = v100 ]; }
wait_until 20 serves ||
  fail "replica 1 does not serve 20 s after its restart ($(info 1 membership)): $(tail -n 3 "$CATENA_DIR/replica-1.log")"
grep -q "recovered from" "$CATENA_DIR/replica-1.log" || fail "replica 1 did not recover"
expect_eq "$(cli 2 INCR after-add)" "1" "a write after replica 1's restart"
pass "a replica whose log holds an ADD (replica 3's) restarts, recovers and serves"
