#!/usr/bin/env bash
# The exactly-once session table does not keep a session per connection ever opened: a closed
# connection's session ends through the log (END) on every replica, and a replica restarted
# after kill -9 ends the sessions of its earlier run (END_ALL). Ended sessions are forgotten
# COMMAND_WINDOW (2^20) instances later, which the unit tests of kv/sessions check.
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3

live() { echo $(($(info "$1" client_sessions) - $(info "$1" client_sessions_ended))); }

# 3 x 1000 connections of one SET each: redis-benchmark -k 0 opens one per request.
for i in 1 2 3; do
  redis-benchmark -p "$(port "$i")" -c 10 -n 1000 -k 0 -t set -q >/dev/null &
done
wait
all_ended() { for i in 1 2 3; do [ "$(live "$i")" -eq 0 ] || return 1; done; }
wait_until 10 all_ended || fail "sessions still live: $(live 1), $(live 2), $(live 3)"
for i in 1 2 3; do
  [ "$(info "$i" client_sessions_ended)" -ge 3000 ] ||
    fail "replica $i ended $(info "$i" client_sessions_ended) sessions, not 3000"
done
pass "3,000 connections of one SET each, closed: no session is live on any replica"

# Connections kept open on replicas 1 and 2; replica 2 is killed and restarts on its data.
set_on() { # set_on FD PORT: a SET on a new connection that stays open as FD
  eval "exec $1<>/dev/tcp/127.0.0.1/$2"
  printf '*3\r\n$3\r\nSET\r\n$4\r\nkept\r\n$1\r\n1\r\n' >&"$1"
  local reply
  read -r reply <&"$1"
  expect_eq "${reply%$'\r'}" "+OK" "SET on a kept connection"
}
set_on 5 "$(port 1)"
set_on 6 "$(port 2)"
two_live() { [ "$(live 3)" -eq 2 ]; }
wait_until 5 two_live || fail "replica 3 sees $(live 3) live sessions, not 2"
kill -9 "$(pid_of 2)"
exec 6>&-
wait_until 5 bash -c "! kill -0 $(pid_of 2) 2>/dev/null" || fail "replica 2 did not die"
"$TOP/scripts/cluster" start-one 3 2 >/dev/null 5>&- # the replica must not inherit fd 5
one_live() { [ "$(live 3)" -eq 1 ] && [ "$(live 1)" -eq 1 ]; }
wait_until 20 one_live || fail "after replica 2's restart: $(live 1) and $(live 3) live sessions"
exec 5>&-
wait_until 10 all_ended || fail "sessions still live: $(live 1), $(live 2), $(live 3)"
pass "a restarted replica ends the sessions of its earlier run, and only those"

# Commands refused while their replica joins (TRYAGAIN) leave no hole in their connection's
# sequence numbers: on the same connection, a command sent once the replica is a member runs.
kill -9 "$(pid_of 3)"
wait_until 5 bash -c "! kill -0 $(pid_of 3) 2>/dev/null" || fail "replica 3 did not die"
rm -rf "$CATENA_DIR/data-3"
# Replicas 1 and 2 are paused while replica 3 starts, so that it cannot have joined before the
# first SET (a state transfer on loopback takes a few milliseconds).
kill -STOP "$(pid_of 1)" "$(pid_of 2)"
CATENA_ARGS=--join "$TOP/scripts/cluster" start-one 3 3 >/dev/null
listening() { (exec 7<>"/dev/tcp/127.0.0.1/$(port 3)") 2>/dev/null; }
wait_until 5 listening || { kill -CONT "$(pid_of 1)" "$(pid_of 2)"; fail "replica 3 does not listen"; }
exec 7<>"/dev/tcp/127.0.0.1/$(port 3)"
printf '*3\r\n$3\r\nSET\r\n$6\r\njoined\r\n$1\r\n1\r\n' >&7
read -r -t 10 reply <&7
kill -CONT "$(pid_of 1)" "$(pid_of 2)"
reply=${reply%$'\r'}
[[ "$reply" == -TRYAGAIN* ]] || fail "a SET while replica 3 joins: '$reply', not TRYAGAIN"
refused=1
for attempt in $(seq 400); do
  printf '*3\r\n$3\r\nSET\r\n$6\r\njoined\r\n$1\r\n1\r\n' >&7
  read -r -t 10 reply <&7 || fail "no reply on the connection after $refused refusals"
  reply=${reply%$'\r'}
  [ "$reply" = "+OK" ] && break
  [[ "$reply" == -TRYAGAIN* ]] || fail "unexpected reply: $reply"
  refused=$((refused + 1))
  sleep 0.05
done
exec 7>&-
expect_eq "$reply" "+OK" "a SET once replica 3 joined"
expect_eq "$(cli 1 GET joined)" "1" "the SET through the joined replica, read on replica 1"
pass "$refused SETs refused while replica 3 joined, then one on the same connection ran"
