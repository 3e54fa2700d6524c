#!/usr/bin/env bash
# Local reads on real processes: linearizable by default, read-your-writes inside a pipeline,
# CATENA.READMODE chain and stale, and reads served without the log (no commands replicated).
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3

replicated() { cli "$1" INFO stats | tr -d '\r' | sed -n 's/^commands_replicated://p'; }

expect_eq "$(cli 2 CATENA.READMODE)" "linearizable" "default read mode"
expect_eq "$(cli 1 SET k v1)" "OK" "SET"
before=$(replicated 3)
for i in 1 2 3; do expect_eq "$(cli "$i" GET k)" "v1" "GET on replica $i"; done
expect_eq "$(replicated 3)" "$before" "GETs in linearizable mode are not replicated"
pass "linearizable reads are served locally on every replica"

# A pipelined write then read on one connection reads its own write, on every replica.
for i in 1 2 3; do
  out=$(printf 'SET rw%s x\r\nGET rw%s\r\nINCR n%s\r\nGET n%s\r\n' "$i" "$i" "$i" "$i" |
    cli "$i" | paste -sd' ')
  expect_eq "$out" "OK x 1 1" "pipelined write then read on replica $i"
done
pass "a read pipelined after a write on the same connection sees it"

expect_eq "$(printf 'CATENA.READMODE chain\r\nGET k\r\n' | cli 3 | paste -sd' ')" "OK v1" \
  "chain read"
expect_eq "$(printf 'CATENA.READMODE stale\r\nGET k\r\nCATENA.READMODE\r\n' | cli 2 |
  paste -sd' ')" "OK v1 stale" "stale read"
expect_eq "$(cli 1 CATENA.READMODE sometimes)" \
  "ERR unknown read mode 'sometimes': linearizable, chain or stale" "bad read mode"
pass "CATENA.READMODE switches between linearizable, chain and stale"

# Concurrent writers and readers: every GET of a counter is monotonic at each reader and the
# final value is exact.
for i in 1 2 3; do redis-benchmark -p "$(port "$i")" -c 20 -n 5000 -t incr -q >/dev/null & done
for i in 1 2 3; do
  cli "$i" -r 300 GET counter:__rand_int__ | awk 'NF { v = $1 + 0; if (v < last) bad = 1; last = v }
    END { exit bad }' || fail "GET went backwards on replica $i"
done
wait
for i in 1 2 3; do expect_eq "$(cli "$i" GET counter:__rand_int__)" "15000" "final counter $i"; done
pass "reads never go backwards during concurrent increments; totals are exact"
