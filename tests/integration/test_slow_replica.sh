#!/usr/bin/env bash
# A slow replica does not slow the cluster (docs/protocols/chainpaxos-membership.md §7): the
# leader's successor is throttled to 3% of a CPU (a cpu cgroup: 3 ms in every 100) under
# closed-loop SET load from redis-benchmark, which builds no backlog. The leader must move it to
# the tail, and the cluster must then run at well over its throttled pace. Prints the rates with
# no throttle, throttled in the commit path, and after the move, and the time the move took.
# (So throttled, it cannot keep up even at the tail: its predecessor later suspects it, it is
# removed and rejoins, over and over; the rate after the move counts that too.)
source "$(dirname "$0")/lib.sh" "$1"
cluster_start 3 --fsync none

chain=$(info 1 chain)
IFS=, read -r leader slow third <<<"$chain"
expect_eq "$(info "$slow" chain)" "$chain" "chain seen by replica $slow"

# The cpu cgroup (v2 or v1) the slow replica goes into; the test cannot do without one.
cgroup=""
if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  cgroup=/sys/fs/cgroup/catena-slow-$$
  mkdir "$cgroup" && echo "3000 100000" >"$cgroup/cpu.max"
elif [ -d /sys/fs/cgroup/cpu ]; then
  cgroup=/sys/fs/cgroup/cpu/catena-slow-$$
  mkdir "$cgroup" && echo 100000 >"$cgroup/cpu.cfs_period_us" &&
    echo 3000 >"$cgroup/cpu.cfs_quota_us"
else
  fail "no cpu cgroup to throttle a replica with (needs root and cgroups v1 or v2)"
fi
release() { # back to the root cgroup, so that the cgroup can go
  local root=${cgroup%/*}
  echo "$(pid_of "$slow")" >"$root/cgroup.procs" 2>/dev/null || true
  rmdir "$cgroup"
}
cleanup_also release

# Closed-loop load through the leader: 20 clients, one SET each at a time, until killed.
redis-benchmark -p "$(port "$leader")" -t set -c 20 -r 100000 -n 100000000 -q >/dev/null 2>&1 &
load=$!
cleanup_also kill "$load"
executed() { info "$leader" commands_executed; }
# rate SECONDS: SETs executed per second at the leader over the next SECONDS (a decimal).
rate() {
  local before after start
  before=$(executed) start=${EPOCHREALTIME/./}
  sleep "$1"
  after=$(executed)
  echo $(((after - before) * 1000000 / (${EPOCHREALTIME/./} - start)))
}
sleep 1
fast=$(rate 2)

echo "$(pid_of "$slow")" >"$cgroup/cgroup.procs"
throttled_at=${EPOCHREALTIME/./}
# In the commit path, throttled: sampled from 0.2 s to 0.7 s, once the cgroup's first period
# is used up and before a move can happen (the leader needs 3 verdicts a retransmit_ms apart,
# once the round trips grew).
sleep 0.2
in_path=$(rate 0.5)
moved() { grep -q "replica $slow moved to the tail" "$CATENA_DIR/replica-$leader.log"; }
wait_until 30 moved || fail "the throttled replica $slow was not moved to the tail"
moved_ms=$(((${EPOCHREALTIME/./} - throttled_at) / 1000))
sleep 1
at_tail=$(rate 3)
echo "SETs/s at the leader: $fast unthrottled; replica $slow at 3% CPU: $in_path in the" \
  "commit path, $at_tail after it was moved to the tail ($moved_ms ms after the throttle began)"
[ "$at_tail" -ge $((2 * in_path)) ] ||
  fail "at the tail the throttled replica still holds the cluster back ($at_tail vs $in_path)"
pass "slow replica moved to the tail"
