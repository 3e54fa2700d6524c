#!/usr/bin/env bash
# Bad input gets a clear error and affects no one else: malformed RESP, a client that never
# reads its replies (its memory bounded), too many clients, peers with a wrong cluster id or an
# unknown node id, what a peer port without a cluster key lets anyone do, wrong flags.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3 --max-client-output 1mb --max-bulk-bytes 1mb --max-clients 8

expect_eq "$(raw 1 '*1\r\n$x\r\n')" "-ERR Protocol error: invalid bulk length" "bad bulk length"
expect_eq "$(raw 2 '*2\r\n$4\r\nECHO\r\n:1\r\n')" \
  "-ERR Protocol error: expected '\$', got ':'" "bad array element"
expect_eq "$(raw 3 '*abc\r\n')" "-ERR Protocol error: invalid multibulk length" "bad count"
# Replies to the requests before the malformed one are sent first, then the connection closes.
expect_eq "$(raw 1 'PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$-5\r\n*1\r\n$4\r\nPING\r\n' | paste -sd' ')" \
  "+PONG +PONG -ERR Protocol error: invalid bulk length" "pipeline before a protocol error"
expect_eq "$(raw 1 '"unbalanced\r\n')" "-ERR Protocol error: unbalanced quotes in request" \
  "inline quotes"
# A bulk larger than --max-bulk-bytes is refused from its header, before any data arrives.
expect_eq "$(raw 2 '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n')" \
  "-ERR Protocol error: invalid bulk length" "oversized bulk"
expect_eq "$(cli 1 PING)" "PONG" "another client after protocol errors"
pass "malformed RESP gets Redis' protocol error, then a close; other clients unaffected"

# A client that pipelines GETs of a 100 KB value and never reads is disconnected at 1 MB, and
# the replica's memory stays bounded: its peak RSS grows by less than 32 MB (replies were
# counted only once per event-loop iteration before, and one read of requests queued 880 MB).
# The kernel's socket buffers absorb replies first (the receive buffer may autotune up to
# tcp_rmem's maximum, 32 MB on some machines): 8,000 GETs ask for 800 MB, more than they hold.
value=$(head -c 100000 /dev/zero | tr '\0' v)
expect_eq "$(cli 1 SET big "$value")" "OK" "SET big value"
kb_of() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$(pid_of 1)/status"; }
rss_before_kb=$(kb_of VmRSS)
printf -v gets '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n%.0s' $(seq 8000)
exec 4<>"/dev/tcp/127.0.0.1/$(port 1)"
# In a subshell: once the server closes the connection, a write gets SIGPIPE.
(for _ in 1 2 3 4; do printf '%s' "$gets"; done >&4) 2>/dev/null || true
limit_closes() {
  cli 1 INFO stats | tr -d '\r' | sed -n 's/^client_output_buffer_limit_disconnections://p'
}
for _ in $(seq 100); do [ "$(limit_closes)" -ge 1 ] && break; sleep 0.1; done
exec 4>&-
[ "$(limit_closes)" -ge 1 ] || fail "the non-reading client was not disconnected in 10 s"
growth_kb=$(( $(kb_of VmHWM) - rss_before_kb ))
[ "$growth_kb" -lt 32768 ] || fail "peak RSS grew by $growth_kb kB for a non-reading client"
expect_eq "$(cli 1 GET greeting)" "" "server still serves after the slow client"
pass "a client that never reads is disconnected at --max-client-output (peak RSS +${growth_kb} kB)"

# Connections beyond --max-clients (8) get Redis' error and a close; the others are served.
for fd in 5 6 7 8 9 10 11 12; do eval "exec $fd<>/dev/tcp/127.0.0.1/$(port 2)"; done
expect_eq "$(raw 2 'PING\r\n')" "-ERR max number of clients reached" "a 9th connection"
printf 'PING\r\n' >&12
read -r -t 2 reply <&12 || true
expect_eq "${reply%$'\r'}" "+PONG" "the 8th connection"
for fd in 5 6 7 8 9 10 11 12; do eval "exec $fd>&-"; done
served() { [ "$(cli 2 PING 2>/dev/null)" = PONG ]; }
wait_until 5 served || fail "no connection after the 8 closed"
expect_eq "$(info 2 rejected_connections)" "1" "rejected_connections"
pass "a connection beyond --max-clients gets '-ERR max number of clients reached'"

# Peers of another cluster, or with an id outside 1-64, are refused and logged; a replica of
# this cluster that is not in the configuration (one asking to join) is let in and logged; the
# cluster keeps working.
peer1="1=127.0.0.1:$((CATENA_PEER_BASE_PORT + 1))"
"$CATENA_BIN" --id 2 --cluster "$peer1,2=127.0.0.1:$((CATENA_PEER_BASE_PORT + 90))" \
  --cluster-id intruders --port $((CATENA_BASE_PORT + 90)) --data-dir "$CATENA_DIR/intruder" \
  >"$CATENA_DIR/intruder.log" 2>&1 &
intruder=$!
"$CATENA_BIN" --id 9 --cluster "$peer1,9=127.0.0.1:$((CATENA_PEER_BASE_PORT + 91))" \
  --port $((CATENA_BASE_PORT + 91)) --data-dir "$CATENA_DIR/stranger" \
  >"$CATENA_DIR/stranger.log" 2>&1 &
stranger=$!
# A hand-made handshake from node 65 (lib.sh's hello_hex).
hex_bytes "$(frame_hex "$(hello_hex "$PEER_VERSION" 65 1)")" >/dev/tcp/127.0.0.1/$((CATENA_PEER_BASE_PORT + 1))
sleep 1.5
kill $intruder $stranger; wait $intruder $stranger 2>/dev/null || true
grep -q "wrong cluster id" "$CATENA_DIR/replica-1.log" || fail "wrong cluster id not logged"
grep -q "node 65 of cluster 'catena': invalid node id" "$CATENA_DIR/replica-1.log" ||
  fail "invalid node id not logged"
grep -q "link from replica 9 up (not in this replica's configuration)" \
  "$CATENA_DIR/replica-1.log" || fail "replica 9, outside the configuration, not logged"
expect_eq "$(cli 2 SET after-intruders ok)" "OK" "write after intruders"
pass "peers of another cluster or with an invalid id are refused, strangers logged"

leader=$(info 1 leader_id)
followers=()
for i in 1 2 3; do [ "$i" = "$leader" ] || followers+=("$i"); done

# Frames that are no ChainPaxos message (an unknown type, a cut ACCEPT), from a peer past the
# handshake, are dropped and counted as malformed; the connection and the cluster go on.
malformed=$(info "$leader" engine_messages_malformed)
hello=$(frame_hex "$(hello_hex "$PEER_VERSION" "${followers[0]}" "$leader")")
if peer_closes $((CATENA_PEER_BASE_PORT + leader)) "$hello$(frame_hex ff00)$(frame_hex 04010203)"
then
  fail "a malformed protocol message closed the peer connection"
fi
expect_eq "$(info "$leader" engine_messages_malformed)" "$((malformed + 2))" \
  "engine_messages_malformed"
expect_eq "$(cli 2 SET after-malformed ok)" "OK" "write after malformed messages"
pass "malformed peer messages are dropped and counted (INFO engine_messages_malformed)"

# Without a cluster key, whoever reaches a peer port can speak for a member: a hand-made
# handshake "from" one follower and one CHANGE_REQUEST to the leader remove the other follower
# (test_security.sh sends the same bytes to a cluster with --cluster-key-file: refused).
if peer_closes $((CATENA_PEER_BASE_PORT + leader)) \
  "$(frame_hex "$(hello_hex "$PEER_VERSION" "${followers[0]}" "$leader")")$(remove_request_hex "${followers[1]}")"
then
  fail "a keyless cluster refused a well-formed handshake"
fi
members_left() { [ "$(cli "$leader" CATENA.MEMBERS | wc -l)" = 2 ]; }
wait_until 5 members_left || fail "the hand-made CHANGE_REQUEST did not remove a replica"
pass "without a cluster key a hand-made handshake can change the membership"

# Wrong flags: a clear message and a non-zero exit.
check_flag_error() {
  local expected=$1 out rc=0
  shift
  out=$("$CATENA_BIN" "$@" 2>&1) || rc=$?
  [ $rc -ne 0 ] || fail "catena-server $* exited 0"
  grep -q -- "$expected" <<<"$out" || fail "catena-server $*: expected '$expected', got '$out'"
}
check_flag_error "unknown option '--bogus'" --bogus
check_flag_error "--id is required" --cluster 1=127.0.0.1:1
check_flag_error "is not one of the --cluster replicas" --id 4 --cluster 1=127.0.0.1:1
check_flag_error "is not ID=HOST:PORT" --id 1 --cluster 1=nohostport
check_flag_error "needs a value" --id
check_flag_error "appears twice" --id 1 --cluster 1=127.0.0.1:1,1=127.0.0.1:2
"$CATENA_BIN" --help | grep -q "Usage: catena-server" || fail "--help"
"$CATENA_BIN" --version | grep -q "catena-server" || fail "--version"
pass "wrong flags are refused with a clear message"
