#!/usr/bin/env bash
# Security on real processes, for clients: --requirepass answered as redis-server 7.0 answers
# with the same requirepass (byte for byte as redis-cli shows it), Redis' limits before AUTH, a
# 1 GB bulk header, the password kept out of INFO, redis-cli and redis-benchmark with -a, the
# secret files' errors.
source "$(dirname "$0")/lib.sh" "$1"
export CATENA_PASSWORD=catena-test-password
cluster_start 3
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
pass "missing or empty secret files exit 2 with a clear message"
