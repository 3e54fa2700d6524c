#!/usr/bin/env bash
# Membership changes on real processes: CATENA.REMOVE and CATENA.ADD of a running replica (it
# catches up on the writes it missed), then a fourth replica started with --join.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3

peer_port() { echo $((CATENA_PEER_BASE_PORT + $1)); }
is_member() { [ "$(info "$1" membership)" = member ]; }
# check_keys I PREFIX N: replica I reads PREFIX:1..N back as v1..vN (local reads).
check_keys() {
  local i=$1 prefix=$2 n=$3 k got
  got=$(for ((k = 1; k <= n; k++)); do echo "GET $prefix:$k"; done | cli "$i" | paste -sd' ')
  expect_eq "$got" "$(seq 1 "$n" | sed 's/^/v/' | paste -sd' ')" "$prefix keys on replica $i"
}
write_keys() {
  local i=$1 prefix=$2 n=$3
  expect_eq "$(seq 1 "$n" | awk -v p="$prefix" '{print "SET " p ":" $1 " v" $1}' | cli "$i" |
    sort -u)" "OK" "writing $prefix keys through replica $i"
}

# Bad arguments, removing a non-member and adding a member are refused at once.
expect_eq "$(cli 1 CATENA.REMOVE 9)" "ERR replica 9 is not a member" "remove a non-member"
expect_eq "$(cli 1 CATENA.REMOVE x)" "ERR 'x' is not a replica id (1-64)" "remove x"
expect_eq "$(cli 1 CATENA.ADD 127.0.0.1:"$(peer_port 2)")" "ERR replica 2 is already a member" \
  "add a member"
expect_eq "$(cli 1 CATENA.ADD nowhere)" "ERR 'nowhere' is not a peer address (host:port)" \
  "add a malformed address"
cli 1 CATENA.ADD 127.0.0.1:1 | grep -q "give its id .* or start that replica with --join" ||
  fail "adding an unknown address must ask for the id"
pass "bad membership changes are refused with clear errors"

# (a) Remove replica 3, keep writing, add it back: it must hold every key.
write_keys 1 before 50
expect_eq "$(cli 1 CATENA.REMOVE 3)" "OK" "CATENA.REMOVE 3"
expect_eq "$(cli 1 CATENA.MEMBERS | wc -l)" "2" "members after the removal"
cli 1 CATENA.MEMBERS | grep -q "^3 " && fail "replica 3 is still listed: $(cli 1 CATENA.MEMBERS)"
write_keys 2 during 50
pass "replica 3 removed; the two others still take writes"

expect_eq "$(cli 1 CATENA.ADD 127.0.0.1:"$(peer_port 3)")" "OK" "CATENA.ADD replica 3"
wait_until 15 is_member 3 ||
  fail "replica 3 is '$(info 3 membership)', not a member, 15 s after CATENA.ADD"
check_keys 3 before 50
check_keys 3 during 50
expect_eq "$(cli 1 CATENA.MEMBERS | wc -l)" "3" "members after adding 3 back"
pass "replica 3 added back; its local reads return the keys written while it was out"

# (b) A fourth replica joins: the three running ones were started knowing only 1-3. The store
# holds over 2 MB first, so its state transfer travels in 1 MB STATE_PARTs.
redis-benchmark -p "$(port 1)" -t set -n 3000 -r 3000 -d 1200 -c 10 -q >/dev/null 2>&1
[ "$(cli 1 DBSIZE)" -gt 1500 ] || fail "the bulk load before the join wrote $(cli 1 DBSIZE) keys"
cluster="1=127.0.0.1:$(peer_port 1),2=127.0.0.1:$(peer_port 2),3=127.0.0.1:$(peer_port 3)"
cluster+=",4=127.0.0.1:$(peer_port 4)"
# Its state loads on a thread, made 3 s long here (longer than suspect_ms): src/server/install.h.
CATENA_DEBUG_INSTALL_DELAY_MS=3000 \
  "$CATENA_BIN" --id 4 --cluster "$cluster" --port "$(port 4)" --join \
  --data-dir "$CATENA_DIR/data-4" \
  >"$CATENA_DIR/replica-4.log" 2>&1 &
echo $! >"$CATENA_DIR/replica-4.pid"
CLUSTER_SIZE=4 # stopped with the others on exit
wait_until 20 is_member 4 ||
  fail "replica 4 is '$(info 4 membership)', not a member, 20 s after starting with --join"
# Meanwhile it stays a member and its loop goes on: the others commit (the chain's ack passes
# through it), and its local reads wait for the state, then see it.
expect_eq "$(info 4 loading)" "1" "INFO loading on replica 4 while its state loads"
expect_eq "$(cli 1 SET during_install yes)" "OK" "a write while replica 4 loads its state"
expect_eq "$(info 4 loading)" "1" "INFO loading on replica 4 after that write"
check_keys 4 before 50
check_keys 4 during 50
expect_eq "$(cli 4 GET during_install)" "yes" "GET during_install on replica 4"
grep "replica 4 removed" "$CATENA_DIR"/replica-*.log &&
  fail "replica 4 was removed while its state loaded on a thread"
grep -q "state for a joining replica at instance .* serialized in the background" \
  "$CATENA_DIR"/replica-[123].log || fail "replica 4's state was not serialized by a forked child"
transferred=$(sed -n 's/.*installed the state transfer at instance [0-9]*: [0-9]* keys, \([0-9]*\) bytes.*/\1/p' \
  "$CATENA_DIR/replica-4.log" | tail -n 1)
[ "${transferred:-0}" -gt $((2 << 20)) ] ||
  fail "replica 4's state transfer was ${transferred:-none} bytes, not over 2 MB (2 parts or more)"
expect_eq "$(cli 4 DBSIZE)" "$(cli 1 DBSIZE)" "DBSIZE on the joined replica vs replica 1"
expect_eq "$(cli 4 SET via4 yes)" "OK" "SET through the joined replica"
expect_eq "$(cli 1 GET via4)" "yes" "GET via4 on replica 1"
expect_eq "$(cli 1 CATENA.MEMBERS | wc -l)" "4" "members after the join"
pass "replica 4 joined with --join (its state loading for 3 s on a thread), serves the data and takes writes"

# (c) A fifth replica that knows only replicas 1 and 5: it is added after 4, whose address it
# learns from 4's connection (the handshake says where a replica listens), not from --cluster.
cluster="1=127.0.0.1:$(peer_port 1),5=127.0.0.1:$(peer_port 5)"
"$CATENA_BIN" --id 5 --cluster "$cluster" --port "$(port 5)" --join \
  --data-dir "$CATENA_DIR/data-5" \
  >"$CATENA_DIR/replica-5.log" 2>&1 &
echo $! >"$CATENA_DIR/replica-5.pid"
CLUSTER_SIZE=5
wait_until 20 is_member 5 ||
  fail "replica 5 is '$(info 5 membership)', not a member, 20 s after starting with --join"
grep -q "replica 4 listens on 127.0.0.1:$(peer_port 4) (from its handshake)" \
  "$CATENA_DIR/replica-5.log" || fail "replica 5 did not learn replica 4's address"
check_keys 5 during 50
expect_eq "$(cli 5 SET via5 yes)" "OK" "SET through replica 5"
expect_eq "$(cli 4 GET via5)" "yes" "GET via5 on replica 4"
pass "replica 5, started knowing only replica 1, joined and learned the others' addresses"
