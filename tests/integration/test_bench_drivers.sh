#!/usr/bin/env bash
# catena-bench's etcd and ZooKeeper drivers against a 1-member etcd and a 3-server ZooKeeper
# ensemble on private ports (7850-7869, started as scripts/compare starts them): 2-second runs
# with --csv give one header and one row, throughput above 0 and no errors, with linearizable
# and with --serializable-reads reads, pipelined; --cdf writes a distribution; etcd reports its
# CPU, and ZooKeeper's servers theirs through /proc (--server-pids). Then one ZooKeeper session
# alone, the point of `make compare` that used to fail every request: ZooKeeper 3.8.0
# (ZOOKEEPER-4537) forgets now and then a request that arrives as its CommitProcessor goes
# idle, and a lone session then waits for its client's timeout (6.7 s); the driver reads after
# its sync's reply and wakes a stalled server (driver_zk_stall.c).
source "$(dirname "$0")/lib.sh" "$1"
bench=$(dirname "$CATENA_BIN")/catena-bench
[ -x "$bench" ] || fail "no catena-bench next to $CATENA_BIN"
work=$CATENA_DIR build=$(dirname "$CATENA_BIN") top=$TOP
COMPARE_ETCD_BASE=7850 COMPARE_ZK_BASE=7860
source "$TOP/scripts/compare-servers"
cleanup_also servers_stop_all

csv_field() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    NR == 2 && c { print $c }' "$1"
}

# run_driver NAME DRIVER HOSTS FLAGS...: a 2-second run; its CSV must parse and show work done.
run_driver() {
  local name=$1 driver=$2 hosts=$3 file="$CATENA_DIR/$1.csv" field
  shift 3
  "$bench" --driver "$driver" --hosts "$hosts" --duration 2 --warmup 0.5 --connections 8 \
    --read-ratio 0.5 --keys 1000 --csv --cdf "$CATENA_DIR/$name.cdf" "$@" >"$file" ||
    fail "$name: catena-bench exited $?"
  expect_eq "$(wc -l <"$file" | tr -d ' ')" 2 "$name: CSV lines"
  expect_eq "$(awk -F, '{ print NF }' "$file" | sort -u | wc -l | tr -d ' ')" 1 \
    "$name: header and row have the same number of columns"
  expect_eq "$(csv_field "$file" driver)" "$driver" "$name: driver"
  for field in errors warmup_errors disconnects; do
    expect_eq "$(csv_field "$file" $field)" 0 "$name: $field"
  done
  awk -v r="$(csv_field "$file" read_ops)" -v w="$(csv_field "$file" write_ops)" \
    -v t="$(csv_field "$file" ops_per_s)" 'BEGIN { exit !(r > 0 && w > 0 && t > 0) }' ||
    fail "$name: ops_per_s '$(csv_field "$file" ops_per_s)', reads and writes both ran"
  [ "$(grep -vc '^#' "$CATENA_DIR/$name.cdf")" -gt 50 ] || fail "$name: --cdf file too short"
  pass "$name: $(csv_field "$file" ops_per_s) ops/s, no errors"
}

etcd_start 1
zookeeper_start 3
etcd_host=127.0.0.1:7851 zk_host=127.0.0.1:7861 zk_hosts=$server_hosts # 7861-7863

run_driver etcd-linearizable etcd "$etcd_host" --pipeline 2
[[ "$(csv_field "$CATENA_DIR/etcd-linearizable.csv" replica_cpu_us_per_op)" =~ ^[0-9.]+$ ]] ||
  fail "etcd: no CPU per operation from /metrics"
run_driver etcd-serializable etcd "$etcd_host" --serializable-reads --threads 2
run_driver zookeeper-sync zookeeper "$zk_hosts" --pipeline 2 --server-pids "$server_pid_list"
zk_cpu=$(csv_field "$CATENA_DIR/zookeeper-sync.csv" replica_cpu_us_per_op)
[[ "$zk_cpu" =~ ^[0-9.]+\;[0-9.]+\;[0-9.]+$ ]] ||
  fail "zookeeper: no CPU per operation of each server from /proc (--server-pids): '$zk_cpu'"
run_driver zookeeper-serializable zookeeper "$zk_hosts" --serializable-reads --threads 2
# Before the fix, most such runs of 5 seconds failed (the stall outlasts --drain-timeout).
run_driver zookeeper-one-session zookeeper "$zk_host" --connections 1 --duration 4

# A value written through each driver is there for the system's own client to read back.
# (Captured, not piped into grep -q: with pipefail, etcdctl could die of SIGPIPE.)
keys=$(ETCDCTL_API=3 etcdctl --endpoints "$etcd_host" get --prefix key: --keys-only --limit 1 2>&1) ||
  fail "etcdctl get failed: $keys"
grep -q '^key:' <<<"$keys" || fail "etcd: no key written under key: (etcdctl said: $keys)"
pass "etcd holds the keys written"
