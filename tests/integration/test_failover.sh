#!/usr/bin/env bash
# Leader failure on real processes: kill -9 the leader of a 3-replica cluster while
# redis-benchmark SETs through one follower, an INCR burst from redis-benchmark goes through the
# other, and a counting client INCRs its own counter through each. Writes must resume through
# both survivors under a new leader they agree on, acknowledged INCRs must be applied exactly
# once, and the survivors must end with the same data. Prints, per survivor, the unavailability
# window (kill -9 to the reply of the first acknowledged INCR sent after it) and the longest
# local read.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3

now_us() { echo "${EPOCHREALTIME/./}"; }
# lines FILE: a client's output in $CATENA_DIR, progress lines (ended by \r) split.
lines() { tr '\r' '\n' <"$CATENA_DIR/$1"; }

leader=$(info 1 leader_id)
for i in 2 3; do expect_eq "$(info "$i" leader_id)" "$leader" "leader seen by replica $i"; done
survivors=()
for i in 1 2 3; do [ "$i" = "$leader" ] || survivors+=("$i"); done
a=${survivors[0]} # takes redis-benchmark's SETs (with leader 1: replica 2, its successor,
b=${survivors[1]} # which runs first); b takes the INCR burst and the reading client

# The counting clients, one per survivor: one INCR of failover:counter:I per redis-cli run (a
# fresh connection each time, so a command never waits behind an earlier one), until $stop
# exists. One line per command in incr-I.log: send time, reply time (microseconds), reply. A
# client that gets an error simply sends the next INCR; one that waits 15 s gives up (an empty
# reply, an unknown outcome).
stop=$CATENA_DIR/stop
incr_client() {
  local sent reply
  while [ ! -e "$stop" ]; do
    sent=$(now_us)
    reply=$(timeout 15 redis-cli -p "$(port "$1")" INCR "failover:counter:$1" 2>&1) || true
    echo "$sent $(now_us) ${reply//[$'\r\n']/ }"
  done >"$CATENA_DIR/incr-$1.log"
}
# The reading client: GET of one key through replica $b, logged the same way in reads.log.
read_client() {
  local sent reply
  while [ ! -e "$stop" ]; do
    sent=$(now_us)
    reply=$(timeout 15 redis-cli -p "$(port "$b")" GET failover:read 2>&1) || true
    echo "$sent $(now_us) ${reply//[$'\r\n']/ }"
  done >"$CATENA_DIR/reads.log"
}

bench_pid=""
incr_pids=""
burst_pid=""
stop_clients() {
  touch "$stop"
  for pid in $incr_pids; do wait "$pid" || true; done
  for pid in $bench_pid $burst_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  incr_pids=""
  bench_pid=""
  burst_pid=""
}
# shellcheck disable=SC2154 # rc is set by the trap itself
trap 'rc=$?; set +e; stop_clients; (exit $rc); cleanup' EXIT

redis-benchmark -p "$(port "$a")" -t set -c 20 -n 100000000 -r 10000 -d 64 -q \
  >"$CATENA_DIR/bench.log" 2>&1 &
bench_pid=$!
expect_eq "$(cli "$a" SET failover:read r)" OK "SET failover:read"
for i in "$a" "$b"; do
  incr_client "$i" &
  incr_pids+=" $!"
done
read_client &
incr_pids+=" $!"

# acked I: INCRs acknowledged through replica I so far.
acked() { grep -cE '^[0-9]+ [0-9]+ [0-9]+$' "$CATENA_DIR/incr-$1.log" || true; }
has_acks() { [ "$(acked "$1")" -ge "$2" ]; }
for i in "$a" "$b"; do
  wait_until 10 has_acks "$i" 20 || fail "no INCRs acknowledged through replica $i before the kill"
done

# A burst of INCRs on one key from 10 connections through replica $b, under way at the kill:
# each connection has a command in flight to the dead leader, which replica $b must resubmit
# to the new one, and the new leader must not apply twice what the old one had decided.
burst=100000
redis-benchmark -p "$(port "$b")" -t incr -c 10 -n $burst -q >"$CATENA_DIR/burst.log" 2>&1 &
burst_pid=$!
burst_started() { local v; v=$(cli "$b" GET counter:__rand_int__); [ "${v:-0}" -ge 1000 ]; }
wait_until 10 burst_started || fail "the INCR burst does not progress"
executed_before=$(info "$a" highest_executed)

kill -9 "$(pid_of "$leader")"
killed_at=$(now_us)
kill -0 "$burst_pid" 2>/dev/null ||
  fail "the INCR burst ended before the kill (a fast machine: make \$burst larger)"
echo "# killed leader $leader (pid $(pid_of "$leader")); load through replicas $a and $b"

# Both survivors agree on a new leader that is one of them.
new_leader_agreed() {
  local la lb
  la=$(info "$a" leader_id)
  lb=$(info "$b" leader_id)
  [ "$la" = "$lb" ] && { [ "$la" = "$a" ] || [ "$la" = "$b" ]; }
}
wait_until 10 new_leader_agreed ||
  fail "no new leader 10 s after the kill: replica $a says $(info "$a" leader_id)," \
    "replica $b says $(info "$b" leader_id)"
new_leader=$(info "$a" leader_id)
elected_ms=$((($(now_us) - killed_at) / 1000))
pass "replicas $a and $b agree on new leader $new_leader (seen $elected_ms ms after the kill)"

# A write after the kill through each survivor (retried until acknowledged) is read back from
# the other survivor at once: a linearizable local read must see a completed write.
# set_retry I KEY VALUE: SET through replica I, retried on errors for up to 10 s.
set_retry() {
  local deadline=$((SECONDS + 10)) reply
  while ((SECONDS < deadline)); do
    reply=$(cli "$1" SET "$2" "$3" 2>&1) || true
    [ "$reply" = OK ] && return 0
    echo "# SET through replica $1 answered: $reply"
    sleep 0.05
  done
  return 1
}
set_retry "$a" after:a "via-$a" || fail "SET through replica $a never succeeded after the kill"
expect_eq "$(cli "$b" GET after:a)" "via-$a" "GET after:a on replica $b"
set_retry "$b" after:b "via-$b" || fail "SET through replica $b never succeeded after the kill"
expect_eq "$(cli "$a" GET after:b)" "via-$b" "GET after:b on replica $a"
pass "a SET after the kill through each survivor is read back from the other"

# The counters keep increasing, each read on the other survivor, and the benchmark's writes go
# on.
counter_grew() {
  local now
  now=$(cli "$1" GET "failover:counter:$2")
  [ "$now" -gt "$3" ]
}
c1=$(cli "$b" GET "failover:counter:$b")
wait_until 5 counter_grew "$a" "$b" "$c1" || fail "counter $b stuck at $c1 (read on replica $a)"
c2=$(cli "$a" GET "failover:counter:$a")
wait_until 5 counter_grew "$b" "$a" "$c2" || fail "counter $a stuck at $c2 (read on replica $b)"
executed_grew() { [ "$(info "$a" highest_executed)" -gt "$1" ]; }
e1=$(info "$a" highest_executed)
wait_until 5 executed_grew "$e1" || fail "replica $a executes nothing new after the failover"
kill -0 "$bench_pid" 2>/dev/null || fail "redis-benchmark exited: $(lines bench.log | tail -n 3)"
pass "INCRs through replicas $a and $b and SETs through replica $a continue (executed" \
  "instances on $a: $executed_before before the kill, $e1, then $(info "$a" highest_executed))"

sleep 1 # more load under the new leader

# The burst completes, every one of its INCRs answered without error and applied once. With
# --fsync always on a slow disk it may take a while: it only has to keep progressing (the SET
# load has shown what it had to, so it stops to leave the disk to the burst).
kill "$bench_pid" 2>/dev/null || true
burst_done() { ! kill -0 "$burst_pid" 2>/dev/null; }
burst_count=0
burst_progressed() {
  local v
  v=$(cli "$b" GET counter:__rand_int__)
  [ "${v:-0}" -gt "$burst_count" ] && burst_count=$v
}
until burst_done; do
  wait_until 10 burst_progressed ||
    fail "the INCR burst stopped progressing at $burst_count of $burst INCRs"
  wait_until 1 burst_done || true
done
wait "$burst_pid" || fail "redis-benchmark (INCR burst) failed: $(lines burst.log | tail -n 3)"
burst_pid=""
lines burst.log | grep -qi error &&
  fail "the INCR burst saw errors: $(lines burst.log | grep -i error | sort | uniq -c)"
for i in "$a" "$b"; do
  expect_eq "$(cli "$i" GET counter:__rand_int__)" "$burst" "INCR burst total on replica $i"
done
pass "$burst INCRs from 10 connections through replica $b, in flight at the kill, applied" \
  "exactly once ($(lines burst.log | grep -o '[0-9.]* requests per second' | tail -n 1) overall)"

stop_clients

# Per survivor: the unavailability window, from the kill to the reply of the first INCR sent
# after it that succeeded; then exactly once: every acknowledged INCR counted, nothing applied
# twice. A TRYAGAIN reply means the command was not applied; anything else but an integer leaves
# its fate unknown.
for i in "$a" "$b"; do
  log=$CATENA_DIR/incr-$i.log
  role=follower
  [ "$i" = "$new_leader" ] && role="new leader"
  first_done=$(awk -v k="$killed_at" '$1 >= k && $3 ~ /^[0-9]+$/ && NF == 3 { print $2; exit }' \
    "$log")
  [ -n "${first_done:-}" ] || fail "no INCR sent through replica $i after the kill was acknowledged"
  window_ms=$(((first_done - killed_at) / 1000))
  longest_ms=$(awk '{ d = $2 - $1; if (d > m) m = d } END { printf "%d", m / 1000 }' "$log")
  echo "# unavailability window through replica $i ($role): $window_ms ms from kill -9 to the" \
    "first acknowledged INCR sent after it (longest single INCR: $longest_ms ms)"
  [ "$window_ms" -lt 10000 ] || fail "writes through replica $i stopped for $window_ms ms"

  total=$(wc -l <"$log")
  ok=$(acked "$i")
  rejected=$(grep -c '^[0-9]* [0-9]* TRYAGAIN' "$log" || true)
  unknown=$((total - ok - rejected))
  echo "# INCRs through replica $i: $total sent, $ok acknowledged, $rejected TRYAGAIN, $unknown" \
    "other errors ($(grep -vE '^[0-9]+ [0-9]+ [0-9]+$' "$log" | cut -d' ' -f3- | sort |
      uniq -c | paste -sd';' || true))"
  # The replies themselves: the acknowledged values are distinct and increasing.
  awk '$3 ~ /^[0-9]+$/ && NF == 3 { if ($3 <= last) exit 1; last = $3 }' "$log" ||
    fail "an INCR reply through replica $i repeated or went backwards"
  value_a=$(cli "$a" GET "failover:counter:$i")
  value_b=$(cli "$b" GET "failover:counter:$i")
  expect_eq "$value_b" "$value_a" "counter $i on replica $b vs replica $a"
  ((value_a >= ok && value_a <= ok + unknown)) ||
    fail "counter $i is $value_a, expected between $ok acknowledged and $((ok + unknown))"
  pass "counter $i = $value_a = $ok acknowledged INCRs through replica $i (+ at most $unknown" \
    "of unknown outcome)"
done

# Local linearizable reads through replica $b: all read the value, the longest wait is shown.
grep -vq '^[0-9]* [0-9]* r$' "$CATENA_DIR/reads.log" &&
  fail "GET failover:read through replica $b answered otherwise than r:" \
    "$(grep -v '^[0-9]* [0-9]* r$' "$CATENA_DIR/reads.log" | cut -d' ' -f3- | sort | uniq -c)"
longest_read_ms=$(awk '{ d = $2 - $1; if (d > m) m = d } END { printf "%d", m / 1000 }' \
  "$CATENA_DIR/reads.log")
echo "# reads through replica $b: $(wc -l <"$CATENA_DIR/reads.log") GETs, the longest took" \
  "$longest_read_ms ms"
[ "$longest_read_ms" -lt 10000 ] || fail "a read through replica $b waited $longest_read_ms ms"
pass "local reads through replica $b answered throughout"

# The survivors converge: same last executed instance, same keys and values.
converged() { [ "$(info "$a" highest_executed)" = "$(info "$b" highest_executed)" ]; }
wait_until 5 converged || fail "replicas $a and $b executed different instances"
keys=$(seq -f 'key:%012g' 0 9999 | paste -sd' ')
# shellcheck disable=SC2086
sum_a=$(cli "$a" MGET $keys | md5sum)
# shellcheck disable=SC2086
sum_b=$(cli "$b" MGET $keys | md5sum)
expect_eq "$sum_b" "$sum_a" "benchmark keys on replica $b vs replica $a"
expect_eq "$(cli "$b" DBSIZE)" "$(cli "$a" DBSIZE)" "DBSIZE on replica $b vs replica $a"
echo "# after the failover: replica $a duplicates_skipped $(info "$a" duplicates_skipped)," \
  "commands_rejected $(info "$a" commands_rejected); replica $b duplicates_skipped" \
  "$(info "$b" duplicates_skipped), commands_rejected $(info "$b" commands_rejected)"
pass "the survivors hold the same data"

# The dead leader is found by failure detection and removed from the chain.
removed() { ! cli "$1" CATENA.MEMBERS | grep -q "^$leader "; }
wait_until 10 removed "$a" || fail "replica $leader still a member: $(cli "$a" CATENA.MEMBERS)"
wait_until 10 removed "$b" || fail "replica $leader still a member: $(cli "$b" CATENA.MEMBERS)"
for i in "$a" "$b"; do kill -0 "$(pid_of "$i")" || fail "replica $i exited"; done
pass "replica $leader removed from the chain; the survivors run on"
