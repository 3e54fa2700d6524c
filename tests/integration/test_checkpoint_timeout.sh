#!/usr/bin/env bash
# A background checkpoint that hangs is killed after --checkpoint-timeout (issue 5): the child
# stops itself (CATENA_DEBUG_CHECKPOINT_STOP, read by the child only), the replica kills it
# after 1 s, serializes the next checkpoint on the event loop, and forks for the one after;
# writes are served all along and nothing is lost.
source "$(dirname "$0")/lib.sh" "$1"
export CATENA_DEBUG_CHECKPOINT_STOP=1
cluster_start 3 --checkpoint-bytes 64kb --checkpoint-timeout 1

leader=$(info 1 leader_id)
log=$CATENA_DIR/replica-$leader.log
value=$(head -c 200 /dev/zero | tr '\0' v)
written=0
# write N: N more SETs of 200-byte values through the leader, each acknowledged.
write() {
  local i
  for ((i = written; i < written + $1; i++)); do echo "SET ck:$i $value"; done |
    cli "$leader" >"$CATENA_DIR/replies" || fail "SETs refused"
  [ "$(grep -vc '^OK$' "$CATENA_DIR/replies")" = 0 ] || fail "a SET was not acknowledged"
  written=$((written + $1))
}
killed() { grep -q "still running after 1 s: killing it" "$log"; }
on_loop() { grep -q "failed: timed out; the next one is serialized on the event loop" "$log"; }
write 2000
wait_until 10 killed || fail "the stopped checkpoint child was not killed"
wait_until 5 on_loop || fail "the killed child's checkpoint was not reported failed"
expect_eq "$(info "$leader" rdb_last_bgsave_status)" err "INFO after the timeout"
forks=$(info "$leader" checkpoint_forks)
# The next checkpoint runs on the loop (no fork); the one after forks again (and hangs again).
write 2000
write 2000
forked_again() { [ "$(info "$leader" checkpoint_forks)" -gt "$forks" ]; }
wait_until 10 forked_again || fail "no background checkpoint after the one on the loop"
# As Redis' rdb_last_bgsave_status: the last child that finished; one running changes nothing
# (it said ok while the next child ran, and the check above failed when the writes outlasted
# the timeout: the next child forked before INFO was asked).
expect_eq "$(info "$leader" rdb_last_bgsave_status)" err "INFO while the next child runs"
for i in 1 2 3; do
  expect_eq "$(cli "$i" DBSIZE)" "$written" "keys at replica $i"
done
pass "a hung checkpoint child is killed after --checkpoint-timeout, and checkpoints go on"
