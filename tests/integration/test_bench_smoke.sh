#!/usr/bin/env bash
# catena-bench against a 3-replica catena cluster and a redis-server: a 2-second run each with
# --csv gives one header and one row, throughput above 0, no errors, and (catena) a cost
# figure for every replica; --json, a refused connection (exit 1) and a bad flag (exit 2).
source "$(dirname "$0")/lib.sh" "$1"
bench=$(dirname "$CATENA_BIN")/catena-bench
[ -x "$bench" ] || fail "no catena-bench next to $CATENA_BIN"
# Fixed ports, outside the 20000-29999 range the other tests derive from their names.
export CATENA_BASE_PORT=7740 CATENA_PEER_BASE_PORT=7750
redis_port=7760
closed_port=7769
cluster_start 3 --fsync none
redis-server --port "$redis_port" --save '' --appendonly no --dir "$CATENA_DIR" \
  --daemonize yes --pidfile "$CATENA_DIR/redis.pid" --logfile "$CATENA_DIR/redis.log" >/dev/null
stop_redis() {
  local rc=$?
  [ -f "$CATENA_DIR/redis.pid" ] && kill "$(cat "$CATENA_DIR/redis.pid")" 2>/dev/null
  (exit $rc) # cleanup reports and exits with the test's status
  cleanup
}
trap stop_redis EXIT
for _ in $(seq 50); do redis-cli -p "$redis_port" PING >/dev/null 2>&1 && break; sleep 0.1; done

# csv_field FILE NAME: the value in column NAME of the CSV's one row.
csv_field() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    NR == 2 && c { print $c }' "$1"
}

# check_csv FILE WHAT: one header and one row of as many columns; ops/s > 0; no errors.
check_csv() {
  local file=$1 what=$2 field
  expect_eq "$(wc -l <"$file" | tr -d ' ')" 2 "$what: CSV lines"
  expect_eq "$(awk -F, '{ print NF }' "$file" | sort -u | wc -l | tr -d ' ')" 1 \
    "$what: header and row have the same number of columns"
  awk -v v="$(csv_field "$file" ops_per_s)" 'BEGIN { exit !(v > 0) }' ||
    fail "$what: ops_per_s is '$(csv_field "$file" ops_per_s)'"
  for field in errors read_errors write_errors warmup_errors disconnects; do
    expect_eq "$(csv_field "$file" $field)" 0 "$what: $field"
  done
  awk -v r="$(csv_field "$file" read_ops)" -v w="$(csv_field "$file" write_ops)" \
    'BEGIN { exit !(r > 0 && w > 0) }' || fail "$what: reads and writes both ran"
}

hosts=127.0.0.1:$(port 1),127.0.0.1:$(port 2),127.0.0.1:$(port 3)
"$bench" --driver catena --hosts "$hosts" --duration 2 --warmup 0.5 --connections 12 \
  --threads 2 --read-ratio 0.9 --csv >"$CATENA_DIR/catena.csv" ||
  fail "catena-bench against catena exited $?"
check_csv "$CATENA_DIR/catena.csv" catena
expect_eq "$(csv_field "$CATENA_DIR/catena.csv" replica_ids)" "1;2;3" "catena: replica ids"
for field in replica_cpu_us_per_op replica_messages_sent_per_op replica_bytes_received_per_op; do
  [[ "$(csv_field "$CATENA_DIR/catena.csv" $field)" =~ ^[0-9.]+\;[0-9.]+\;[0-9.]+$ ]] ||
    fail "catena: $field is '$(csv_field "$CATENA_DIR/catena.csv" $field)'"
done
pass "catena: $(csv_field "$CATENA_DIR/catena.csv" ops_per_s) ops/s, no errors, cost per replica"

"$bench" --driver redis --hosts "127.0.0.1:$redis_port" --duration 2 --warmup 0.5 \
  --connections 12 --threads 2 --read-ratio 0.9 --csv >"$CATENA_DIR/redis.csv" ||
  fail "catena-bench against redis exited $?"
check_csv "$CATENA_DIR/redis.csv" redis
pass "redis: $(csv_field "$CATENA_DIR/redis.csv" ops_per_s) ops/s, no errors"

# --ops, open loop and --json: the object closes and counts exactly the operations asked for.
"$bench" --hosts "$hosts" --ops 500 --warmup 0 --target-rate 2000 --connections 4 \
  --json >"$CATENA_DIR/out.json" || fail "catena-bench --json exited $?"
grep -q '^  "ops": 500,$' "$CATENA_DIR/out.json" || fail "--ops 500 did not make 500 ops"
[ "$(tail -n 1 "$CATENA_DIR/out.json")" = "}" ] || fail "--json output is not closed"
pass "--ops 500 in open loop, --json"

rc=0
"$bench" --hosts "127.0.0.1:$closed_port" --duration 1 >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "exit status when nothing listens"
rc=0
"$bench" --read-ratio 2 >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "exit status for a bad flag"
pass "a refused connection exits 1, a bad flag 2"

# --reconnect-ms: redis-server restarts in the middle of a run; every connection it dropped is
# opened again and the load goes on.
"$bench" --driver redis --hosts "127.0.0.1:$redis_port" --duration 3 --warmup 0 \
  --connections 6 --reconnect-ms 50 --allow-errors --csv >"$CATENA_DIR/reconnect.csv" &
load=$!
sleep 1
kill "$(cat "$CATENA_DIR/redis.pid")"
for _ in $(seq 50); do redis-cli -p "$redis_port" PING >/dev/null 2>&1 || break; sleep 0.05; done
redis-server --port "$redis_port" --save '' --appendonly no --dir "$CATENA_DIR" \
  --daemonize yes --pidfile "$CATENA_DIR/redis.pid" --logfile "$CATENA_DIR/redis.log" >/dev/null
wait "$load" || fail "catena-bench --reconnect-ms exited $?"
expect_eq "$(csv_field "$CATENA_DIR/reconnect.csv" disconnects)" 6 "connections lost in the restart"
expect_eq "$(csv_field "$CATENA_DIR/reconnect.csv" reconnects)" 6 "connections opened again"
pass "--reconnect-ms: 6 connections lost to a redis-server restart, all 6 opened again"
