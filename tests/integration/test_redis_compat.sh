#!/usr/bin/env bash
# The same commands against a real redis-server and a catena cluster give the same replies,
# byte for byte as redis-cli shows them (types, nils, exact error texts).
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3
redis_port=$((CATENA_BASE_PORT + 99))
# The durable reference, as catena is by default (CONFIG GET appendonly compares them).
redis_start "$redis_port" --appendonly yes --appendfsync always

commands=(
  "SET k v" "GET k" "GET missing" "SET k v2 NX" "SET k v3 XX" "SET newk v XX" "SET k v4 GET"
  "SET k v NX XX" "SET k v GET NX" "SETNX k x" "SETNX k2 x" "GETSET k2 y" "GETSET k3 z"
  "DEL k k2 missing" "EXISTS k k k2 k3" "SET n 10" "INCR n" "INCRBY n 5" "DECR n"
  "DECRBY n 3" "INCRBY n notanumber" "INCRBY n 1.5" "INCR k3" "SET big 9223372036854775807"
  "INCR big" "DECRBY n -9223372036854775808" "SET z -0" "INCR z" "SET sp 01" "INCR sp"
  "APPEND s hello" "APPEND s world" "STRLEN s" "STRLEN missing" "GET s"
  "MSET a 1 b 2 c 3" "MGET a b missing c" "MSET a" "MSET a 1 b" "DBSIZE"
  "GET" "SET" "GET a b" "INCR" "FOO bar baz" "foo" "PING" "PING hello" "PING a b" "ECHO hi"
  "ECHO" "SELECT 0" "SELECT 16" "SELECT x" "CLIENT SETNAME myname" "CLIENT GETNAME"
  "CLIENT FOO" "CLIENT SETNAME" "CONFIG GET save" "CONFIG GET appendonly" "FLUSHALL bogus"
  "FLUSHALL" "DBSIZE" "GET a" "FLUSHALL ASYNC" "EXISTS a"
  "AUTH x" "AUTH default x" "AUTH bob x" "HELLO 3 AUTH bob x" "CONFIG GET requirepass"
)
differences=0
replica=1
for command in "${commands[@]}"; do
  # shellcheck disable=SC2086
  expected=$(redis-cli -p "$redis_port" --no-raw $command 2>&1)
  # shellcheck disable=SC2086
  actual=$(redis-cli -p "$(port $replica)" --no-raw $command 2>&1)
  if [ "$expected" != "$actual" ]; then
    echo "differs: $command" >&2
    echo "  redis:  $expected" >&2
    echo "  catena: $actual" >&2
    differences=$((differences + 1))
  fi
  replica=$((replica % 3 + 1))
done
[ $differences -eq 0 ] || fail "$differences of ${#commands[@]} commands differ from redis-server"
pass "${#commands[@]} commands give the same replies as redis-server $(redis-server --version | cut -d' ' -f3)"
