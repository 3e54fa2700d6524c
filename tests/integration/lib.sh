# shellcheck shell=bash
# Shared helpers for integration tests: a private cluster on test ports, torn down on exit.
# Usage in a test: source "$(dirname "$0")/lib.sh" "$1"; cluster_start 3 [extra flags]
set -euo pipefail

CATENA_BIN=$(readlink -f "$1")
export CATENA_BIN
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Ports derived from the test name so tests never collide with `make run` or each other.
test_name=$(basename "$0" .sh)
offset=$(( $(cksum <<<"$test_name" | cut -d' ' -f1) % 50 * 100 ))
export CATENA_BASE_PORT=$((20000 + offset))
export CATENA_PEER_BASE_PORT=$((25000 + offset))
CATENA_DIR=$(mktemp -d "/tmp/catena-$test_name.XXXXXX")
export CATENA_DIR
CLUSTER_SIZE=0
cleanup_commands=()

# cleanup_also COMMAND...: run by cleanup before the cluster stops (a test's own processes).
cleanup_also() { cleanup_commands+=("$*"); }

cleanup() {
  local rc=$? command
  for command in "${cleanup_commands[@]}"; do eval "$command" >/dev/null 2>&1 || true; done
  [ "$CLUSTER_SIZE" -gt 0 ] && "$TOP/scripts/cluster" stop "$CLUSTER_SIZE" >/dev/null 2>&1
  if [ $rc -ne 0 ]; then
    echo "--- FAILED ($rc); replica logs:" >&2
    tail -n 30 "$CATENA_DIR"/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$CATENA_DIR"
  exit $rc
}
trap cleanup EXIT

# cluster_start N [flags...]: starts replicas 1..N and waits for a leader. With CATENA_PASSWORD
# exported, the replicas require it (scripts/cluster) and cli authenticates with it.
cluster_start() {
  CLUSTER_SIZE=$1
  shift
  CATENA_ARGS="$*" "$TOP/scripts/cluster" start "$CLUSTER_SIZE" >/dev/null
}

# redis_start PORT [redis-server flags...]: a reference redis-server for comparisons, in
# CATENA_DIR, answering once this returns; cleanup stops it.
redis_start() {
  local redis_port=$1
  shift
  redis-server --port "$redis_port" --save '' --dir "$CATENA_DIR" --daemonize yes \
    --pidfile "$CATENA_DIR/redis-$redis_port.pid" --logfile "$CATENA_DIR/redis-$redis_port.log" \
    "$@" >/dev/null
  cleanup_also redis_stop "$redis_port"
  for _ in $(seq 50); do redis-cli -p "$redis_port" PING >/dev/null 2>&1 && break; sleep 0.1; done
}
redis_stop() {
  local pid
  pid=$(cat "$CATENA_DIR/redis-$1.pid")
  kill "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

port() { echo $((CATENA_BASE_PORT + $1)); }
# cli I args...: redis-cli against replica I, raw output.
cli() {
  local i=$1
  shift
  if [ -n "${CATENA_PASSWORD:-}" ]; then
    REDISCLI_AUTH=$CATENA_PASSWORD redis-cli -p "$(port "$i")" "$@"
  else
    redis-cli -p "$(port "$i")" "$@"
  fi
}
# raw_port PORT BYTES: sends BYTES (printf escapes) on a fresh connection, prints what comes back
# until the server closes it (or 2 s pass), without carriage returns.
raw_port() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf "$2" >&3
  reply=$(timeout 2 cat <&3 2>/dev/null | tr -d '\r') || true
  exec 3>&-
  echo "$reply"
}
# raw I BYTES: raw_port on replica I's client port.
raw() { raw_port "$(port "$1")" "$2"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
pass() { echo "ok - $*"; }
# info I FIELD: a field of INFO (any section) on replica I.
info() { cli "$1" INFO everything | tr -d '\r' | sed -n "s/^$2://p"; }
# wait_until SECONDS COMMAND...: polls COMMAND every 0.05 s; false once SECONDS have passed.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}
pid_of() { cat "$CATENA_DIR/replica-$1.pid"; }

# Hand-made peer frames (docs/protocols/peer-transport.md), as hex strings.
hex_bytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; } # writes the bytes HEX spells
le32() { # le32 N: N as a u32, little-endian
  printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24))
}
frame_hex() { echo "$(le32 $((${#1} / 2)))$1"; } # frame_hex BODY: with its u32 length
PEER_VERSION=7 # PEER_PROTOCOL_VERSION
# hello_hex VERSION FROM TO [NONCE]: a HELLO frame body for cluster "catena", no listening
# address; from version 3 on the auth byte follows (1 and the nonce if one is given).
hello_hex() {
  local body
  body="4341544e$(printf '%02x00' "$1")$(le32 "$2")$(le32 "$3")06$(printf catena | od -An -v -tx1 |
    tr -d ' \n')000000"
  if [ "$1" -ge 3 ]; then body+=$([ -n "${4:-}" ] && echo "01$4" || echo 00); fi
  echo "$body"
}
# remove_request_hex N: a CHANGE_REQUEST frame asking the leader to remove replica N, as the
# member that took an operator's CATENA.REMOVE sends it.
remove_request_hex() { frame_hex "0b0101$(le32 "$1")000000000000"; }
# peer_closes PORT HEX: sends the bytes on a fresh connection to a peer port; true if the
# replica closes the connection within 2 s.
peer_closes() {
  local rc=0
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  hex_bytes "$2" >&3
  timeout 2 cat <&3 >/dev/null || rc=$?
  exec 3>&-
  [ $rc -eq 0 ]
}
