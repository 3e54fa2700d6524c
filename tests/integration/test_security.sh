#!/usr/bin/env bash
# Security on real processes. Clients: --requirepass answered as redis-server 7.0 answers with
# the same requirepass (byte for byte as redis-cli shows it), Redis' limits before AUTH, a 1 GB
# bulk header, the password kept out of INFO, redis-cli and redis-benchmark with -a, the secret
# files' errors, loopback only without --bind. Peers: with a cluster key
# the replicas replicate; a replica with another key or none cannot join; a hand-made, old-style
# or replayed handshake is refused, and what it sends after is not applied.
source "$(dirname "$0")/lib.sh" "$1"
export CATENA_PASSWORD=catena-test-password
key_file=$CATENA_DIR/cluster.key
head -c 32 /dev/urandom | base64 >"$key_file"
cluster_start 3 --cluster-key-file "$key_file"
redis_port=$((CATENA_BASE_PORT + 99))
redis_start "$redis_port" --requirepass "$CATENA_PASSWORD"

# session PORT "CMD;CMD...": the commands on one connection, as redis-cli shows the replies; the
# server's name, version and connection id in HELLO's reply are masked.
session() {
  tr ';' '\n' <<<"$2" | redis-cli -p "$1" --no-raw 2>&1 |
    sed -E 's/"(redis|catena)"/"SERVER"/; s/"7\.0\.[0-9]+"/"VERSION"/
            /"id"$/{n;s/\(integer\) [0-9]+/(integer) ID/}; s/("id" => \(integer\) )[0-9]+/\1ID/'
}
pass=$CATENA_PASSWORD
sessions=(
  "GET k" "SET k v" "PING" "DBSIZE" "CLIENT SETNAME x" "CONFIG GET requirepass" "INFO"
  "FOO bar" "ECHO" "GET a b" "HELLO" "HELLO 3" "HELLO 2 SETNAME x" "HELLO 4"
  "HELLO x" "HELLO 3 AUTH default" "HELLO 3 AUTH default wrong;GET k"
  "HELLO 3 AUTH bob $pass;GET k" "HELLO 3 AUTH default $pass;GET k"
  "HELLO 2 AUTH default $pass SETNAME me;CLIENT GETNAME;GET k" "AUTH wrong;GET k"
  "AUTH bob $pass;GET k" "AUTH DEFAULT $pass" "AUTH a b c" "AUTH" "AUTH $pass;SET k v;GET k"
  "AUTH default $pass;GET k;CONFIG GET requirepass" "AUTH $pass;AUTH wrong;GET k"
)
differences=0
leader=$(info 1 leader_id) # HELLO says "master" there, as redis-server does
for s in "${sessions[@]}"; do
  expected=$(session "$redis_port" "$s")
  actual=$(session "$(port "$leader")" "$s")
  if [ "$expected" != "$actual" ]; then
    printf 'differs: %s\n  redis:  %s\n  catena: %s\n' "$s" "$expected" "$actual" >&2
    differences=$((differences + 1))
  fi
done
[ $differences -eq 0 ] || fail "$differences of ${#sessions[@]} sessions differ from redis-server"
# Before AUTH: at most 10 arguments and 16 KB bulks, checked from the headers; QUIT works.
for bytes in '*11\r\n' '*2\r\n$4\r\nAUTH\r\n$16385\r\n' 'QUIT\r\nPING\r\n' \
  "AUTH $pass\r\n*1\r\n\$1073741824\r\n" '*1\r\n$1073741824\r\n'; do
  expect_eq "$(raw 3 "$bytes")" "$(raw_port "$redis_port" "$bytes")" "raw '$bytes'"
done
pass "${#sessions[@]} sessions and 5 raw requests answered as redis-server with requirepass"

# A client announcing a 1 GB bulk (over the default 512 MB) is refused from the header and
# closed though it goes on sending; meanwhile another client's commands are answered at once.
errors_before=$(info 1 protocol_errors)
(printf "AUTH $pass\r\n*1\r\n\$1073741824\r\n"; head -c 64000000 /dev/zero) \
  >"/dev/tcp/127.0.0.1/$(port 1)" 2>/dev/null &
big_bulk=$!
start_ms=$(date +%s%3N)
pongs=$(cli 1 -r 200 PING | grep -c PONG)
elapsed_ms=$(($(date +%s%3N) - start_ms))
wait $big_bulk || true
expect_eq "$pongs" 200 "PINGs while a client announces 1 GB"
[ $elapsed_ms -lt 2000 ] || fail "200 PINGs took $elapsed_ms ms beside the 1 GB client"
expect_eq "$(info 1 protocol_errors)" $((errors_before + 1)) "the 1 GB client's protocol error"
pass "a 1 GB bulk header is refused and closed; another client's 200 PINGs took $elapsed_ms ms"

# By default (no --bind) a replica listens for clients and peers on loopback only: another
# address of this machine is refused.
for listen_port in "$(port 1)" $((CATENA_PEER_BASE_PORT + 1)); do
  expect_eq "$(ss -ltnH "sport = :$listen_port" | awk '{ print $4 }')" "127.0.0.1:$listen_port" \
    "the address port $listen_port listens on"
done
other_address=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.[0-9.]+$' || true)
if [ -n "$other_address" ]; then
  ! (exec 7<>"/dev/tcp/$other_address/$(port 1)") 2>/dev/null ||
    fail "a connection to $other_address:$(port 1) was accepted"
  pass "without --bind, clients and peers are heard on 127.0.0.1 only ($other_address refused)"
else
  pass "without --bind, clients and peers are heard on 127.0.0.1 only (no other address to try)"
fi

expect_eq "$(redis-cli -p "$(port 1)" -a "$pass" --no-auth-warning SET viacli 1)" "OK" "cli -a"
redis-benchmark -p "$(port 1)" -a "$pass" -t set,get -n 2000 -c 4 --csv \
  >"$CATENA_DIR/bench.csv" 2>&1
grep -q '^"GET","[1-9]' "$CATENA_DIR/bench.csv" ||
  fail "redis-benchmark -a: $(cat "$CATENA_DIR/bench.csv")"
! cli 1 INFO everything | grep -q "$pass" || fail "INFO shows the password"
! grep -q "$pass" "$CATENA_DIR"/replica-*.log || fail "a log shows the password"
[ "$(info "$leader" acl_access_denied_auth)" -ge 6 ] || fail "refused AUTHs not counted"
pass "redis-cli and redis-benchmark -a work; the password is in no INFO and no log"

# A missing or empty password file is an error (exit 2) that names the file.
check_exit_2() {
  local expected=$1 out rc=0
  shift
  out=$("$CATENA_BIN" --id 1 --cluster 1=127.0.0.1:1 "$@" 2>&1) || rc=$?
  [ $rc -eq 2 ] || fail "catena-server $*: exit $rc, not 2"
  grep -q -- "$expected" <<<"$out" || fail "catena-server $*: expected '$expected', got '$out'"
}
: >"$CATENA_DIR/empty"
check_exit_2 "--requirepass-file: cannot read '$CATENA_DIR/missing'" \
  --requirepass-file "$CATENA_DIR/missing"
check_exit_2 "--requirepass-file: the password is empty" --requirepass-file "$CATENA_DIR/empty"
check_exit_2 "--cluster-key-file: the cluster key is empty" --cluster-key-file "$CATENA_DIR/empty"
check_exit_2 "shorter than 16 bytes" --cluster-key short
pass "missing or empty secret files exit 2 with a clear message"

# The keyed cluster replicates. A 4th replica with another key and a 5th with none try to
# join: refused on both sides, counted and logged; data and membership stay as they were.
expect_eq "$(cli 2 SET keyed yes)" "OK" "write through replica 2"
replicated() { [ "$(cli 3 GET keyed)" = yes ]; }
wait_until 5 replicated || fail "the write did not reach replica 3"
keys_before=$(cli 1 DBSIZE)
members_before=$(cli 1 CATENA.MEMBERS)
peer1="1=127.0.0.1:$((CATENA_PEER_BASE_PORT + 1))"
joiner() { # joiner ID FLAGS...: a replica that asks to join through replica 1
  local id=$1
  shift
  "$CATENA_BIN" --id "$id" --cluster "$peer1,$id=127.0.0.1:$((CATENA_PEER_BASE_PORT + id))" \
    --port $((CATENA_BASE_PORT + id)) --data-dir "$CATENA_DIR/joiner-$id" --fsync none --join \
    "$@" >"$CATENA_DIR/joiner-$id.log" 2>&1 &
}
joiner 4 --cluster-key "another key of more than 16 bytes"
wrong_key=$!
joiner 5
no_key=$!
cleanup_also kill $wrong_key $no_key
refusals() { [ "$(info 1 peer_auth_failures)" -ge 2 ]; }
wait_until 10 refusals || fail "the joiners' handshakes were not refused"
sleep 1 # a joiner that got in would be added within the election timeout
kill $wrong_key $no_key
wait $wrong_key $no_key 2>/dev/null || true
expect_eq "$(cli 1 CATENA.MEMBERS)" "$members_before" "members after the joiners"
expect_eq "$(cli 1 DBSIZE)" "$keys_before" "keys after the joiners"
grep -q "node 4 of cluster 'catena': it closed the connection before proving the cluster key" \
  "$CATENA_DIR/replica-1.log" || fail "the wrong key was not logged by replica 1"
grep -q "node 5 of cluster 'catena': it has no cluster key" "$CATENA_DIR/replica-1.log" ||
  fail "the missing key was not logged by replica 1"
grep -q "link to replica 1 refused: it did not prove the cluster key" \
  "$CATENA_DIR/joiner-4.log" || fail "the joiner with another key did not say why"
pass "replicas with another key or none cannot join; refusals logged and counted"

# Raw connections to the leader's peer port: the keyless handshake that changed a keyless
# cluster's membership in test_bad_input.sh, and an old-style (version 2) one, each followed by
# a request to remove a follower. Both are closed, and nothing changes.
followers=()
for i in 1 2 3; do [ "$i" = "$leader" ] || followers+=("$i"); done
leader_peer_port=$((CATENA_PEER_BASE_PORT + leader))
remove=$(remove_request_hex "${followers[1]}")
for version in 3 2; do
  peer_closes "$leader_peer_port" "$(frame_hex "$(hello_hex "$version" "${followers[0]}" \
    "$leader")")$remove" || fail "a version $version handshake without the key was not closed"
done

# A replay: this script plays a replica that knows the key (HMAC with openssl) once, which
# works; the same HELLO and PROOF sent again meet a new nonce and are refused.
nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
hello=$(hello_hex "$PEER_VERSION" "${followers[0]}" "$leader" "$nonce")
links_up() { grep -c "link from replica ${followers[0]} up (cluster key proved)" \
  "$CATENA_DIR/replica-$leader.log"; }
links_before=$(links_up)
exec 5<>"/dev/tcp/127.0.0.1/$leader_peer_port"
hex_bytes "$(frame_hex "$hello")" >&5
challenge=$(head -c 73 <&5 | od -An -v -tx1 | tr -d ' \n') # length, magic, type, nonce, MAC
label=$(printf 'catena peer connector' | od -An -v -tx1 | tr -d ' \n')00
mac=$(hex_bytes "$label$hello${challenge:18:64}" |
  openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$key_file")" -binary | od -An -v -tx1 |
  tr -d ' \n')
proof=$(frame_hex "4341544e03$mac")
hex_bytes "$proof" >&5
new_link() { [ "$(links_up)" -gt "$links_before" ]; }
wait_until 5 new_link ||
  fail "a handshake with the right key was not accepted"
exec 5>&-
peer_closes "$leader_peer_port" "$(frame_hex "$hello")$proof$remove" ||
  fail "a replayed handshake was not closed"
grep -q "it did not prove the cluster key (a wrong key, or a replayed handshake)" \
  "$CATENA_DIR/replica-$leader.log" || fail "the replay was not logged"
sleep 0.5
expect_eq "$(cli 1 CATENA.MEMBERS)" "$members_before" "members after the raw peers"
expect_eq "$(cli "${followers[1]}" GET keyed)" "yes" "the follower still serves"
pass "hand-made, old-style and replayed handshakes are closed; what follows is not applied"
