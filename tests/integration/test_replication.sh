#!/usr/bin/env bash
# Writes through any replica are read back from every replica; MSET is atomic; concurrent
# INCRs from many clients on every replica sum exactly; pipelined bulk loads are held back,
# not refused.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3

# Written through the leader, read from the followers, and the other way round.
expect_eq "$(cli 1 SET greeting hello)" "OK" "SET via replica 1"
for i in 1 2 3; do expect_eq "$(cli "$i" GET greeting)" "hello" "GET via replica $i"; done
expect_eq "$(cli 3 SET from-tail yes)" "OK" "SET via replica 3"
for i in 1 2 3; do expect_eq "$(cli "$i" GET from-tail)" "yes" "GET from-tail via $i"; done
pass "a write through any replica is read back from all three"

# MSET atomicity: one writer sets a and b to the same value 2000 times (through a follower);
# readers on the other replicas must never see a and b differ.
seq 1 2000 | awk '{print "MSET a " $1 " b " $1}' | cli 2 >/dev/null &
writer=$!
for i in 1 3; do
  cli "$i" -r 400 MGET a b | paste - - | awk '$1 != $2 { bad++ } END { exit bad > 0 }' ||
    fail "MGET a b on replica $i saw a torn MSET"
done
wait $writer
expect_eq "$(cli 1 MGET a b | paste -sd' ')" "2000 2000" "final MSET value"
pass "MSET is atomic as seen from the other replicas"

# INCR from 3 x 50 concurrent clients, 3 x 10000 increments of one key, through all replicas.
for i in 1 2 3; do
  redis-benchmark -p "$(port "$i")" -c 50 -n 10000 -t incr -q >/dev/null &
done
wait
for i in 1 2 3; do
  expect_eq "$(cli "$i" GET counter:__rand_int__)" "30000" "INCR total on replica $i"
done
pass "30000 concurrent INCRs through three replicas sum exactly on every replica"

# A bulk load through the leader and a follower at once: redis-cli --pipe sends 100,000 SETs
# to each as fast as it can. A replica reads no further from a client with 16,384 requests
# waiting for their replies (back-pressure: TCP holds the rest), so the commands never pile up
# beyond what the log takes in and nothing is refused. Before, a 5M-key load made the leader
# hold millions of requests, refuse them with TRYAGAIN and stall until it was removed.
pipe_load() {
  awk -v n=100000 -v tag="$1" 'BEGIN { for (i = 1; i <= n; i++) {
      k = "load:" tag ":" i
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%d\r\n", length(k), k, length(i), i } }' |
    redis-cli -p "$(port "$1")" --pipe 2>&1 | tail -1
}
pipe_load 1 >"$CATENA_DIR/load-1.out" &
loader=$!
expect_eq "$(pipe_load 2)" "errors: 0, replies: 100000" "pipelined load through replica 2"
wait $loader
expect_eq "$(cat "$CATENA_DIR/load-1.out")" "errors: 0, replies: 100000" \
  "pipelined load through replica 1"
for i in 1 2; do
  expect_eq "$(cli 3 GET "load:$i:100000")" "100000" "last key of the load through $i"
  peak=$(info "$i" client_waiting_requests_peak)
  [ "$peak" -le 16384 ] || fail "replica $i let a client have $peak requests waiting"
  [ "$(info "$i" client_input_pauses)" -ge 1 ] || fail "replica $i never held a client back"
done
pass "two pipelined loads of 100,000 SETs: held back at 16,384 waiting requests, none refused"

# Every replica executed the same number of commands.
executed() { cli "$1" INFO stats | tr -d '\r' | sed -n 's/^commands_executed://p'; }
sleep 0.3
expect_eq "$(executed 2)" "$(executed 1)" "commands executed on 2 vs 1"
expect_eq "$(executed 3)" "$(executed 1)" "commands executed on 3 vs 1"
pass "all replicas executed the same commands"
