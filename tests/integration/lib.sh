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

cleanup() {
  local rc=$?
  [ "$CLUSTER_SIZE" -gt 0 ] && "$TOP/scripts/cluster" stop "$CLUSTER_SIZE" >/dev/null 2>&1
  if [ $rc -ne 0 ]; then
    echo "--- FAILED ($rc); replica logs:" >&2
    tail -n 30 "$CATENA_DIR"/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$CATENA_DIR"
  exit $rc
}
trap cleanup EXIT

# cluster_start N [flags...]: starts replicas 1..N and waits for a leader.
cluster_start() {
  CLUSTER_SIZE=$1
  shift
  CATENA_ARGS="$*" "$TOP/scripts/cluster" start "$CLUSTER_SIZE" >/dev/null
}

port() { echo $((CATENA_BASE_PORT + $1)); }
# cli I args...: redis-cli against replica I, raw output.
cli() { local i=$1; shift; redis-cli -p "$(port "$i")" "$@"; }

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
