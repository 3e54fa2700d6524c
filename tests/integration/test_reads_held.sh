#!/usr/bin/env bash
# A follower whose executions lag its engine: every decided batch waits 800 ms in its apply queue
# before it executes (CATENA_DEBUG_APPLY_HOLD_MS). A write acknowledged by the leader has executed in
# the follower's engine but not yet in its key space; a read there must still return it, because
# the read waits in the same queue behind that write (src/server/apply_queue.h). Were reads
# served as the engine releases them, every check below would see the old value.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3
hold_ms=800

# Restart replica 2 with the hold; it may be removed meanwhile, then it joins again by itself.
pid=$(pid_of 2)
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
CATENA_DEBUG_APPLY_HOLD_MS=$hold_ms "$TOP/scripts/cluster" start-one 3 2
in_chain() { [ "$(info 2 membership)" = member ] && [ "$(info 1 members)" = 3 ]; }
wait_until 30 in_chain || fail "replica 2 is not a member 30 s after its restart"
expect_eq "$(cli 2 SET warm up)" "OK" "a write through the held replica"

now_ms() { date +%s%3N; }

# The writes go through another replica, whose answer does not wait for replica 2's key space.
writer=1
[ "$(info 1 leader_id)" = 2 ] && writer=3
slow_reads=0
for round in 1 2 3 4 5; do
  expect_eq "$(cli "$writer" SET k "v$round")" "OK" "SET k v$round through replica $writer"
  started=$(now_ms)
  expect_eq "$(cli 2 GET k)" "v$round" "GET k at replica 2 right after SET k v$round"
  # The GET waited for the held write (reads themselves are not held): the window is there.
  [ $(($(now_ms) - started)) -ge $((hold_ms / 4)) ] && slow_reads=$((slow_reads + 1))
  expect_eq "$(cli 2 MGET k warm | paste -sd' ')" "v$round up" "MGET at replica 2"
done
[ "$slow_reads" -ge 3 ] || fail "only $slow_reads of 5 GETs waited for the held write"
pass "reads at a replica whose executions lag wait for the writes acknowledged before them"

# A chain read and a stale read: the chain read waits too; a stale read may not.
expect_eq "$(cli "$writer" SET k chained)" "OK" "SET k chained"
expect_eq "$(printf 'CATENA.READMODE chain\r\nGET k\r\n' | cli 2 | paste -sd' ')" "OK chained" \
  "chain read at replica 2"
pass "chain reads wait for the writes acknowledged before them"

# Read-your-writes on one connection at the held replica itself.
out=$(printf 'SET own 1\r\nINCR own\r\nGET own\r\n' | cli 2 | paste -sd' ')
expect_eq "$out" "OK 2 2" "pipelined writes then read at replica 2"
pass "a connection at the held replica reads its own writes"
