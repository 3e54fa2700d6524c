# shellcheck shell=bash
# The nemesis test's network: one namespace per replica (catnem<i>, address 10.77.0.<i>/24),
# joined by veth pairs to a bridge in the root namespace (catnembr, 10.77.0.254), where the
# clients run. Faults between replicas are nftables rules in the receiving replica's namespace
# (packets silently dropped, as a real partition does); a link fault takes the replica's veth
# down (cutting its clients too). Sourced by nemesis.sh, which sets N (replicas).

NET_PREFIX=catnem
NET_BRIDGE=${NET_PREFIX}br
NET_SUBNET=10.77.0

net_ns() { echo "$NET_PREFIX$1"; }
net_addr() { echo "$NET_SUBNET.$1"; }

# net_available: true if this process can create namespaces, veths and nftables rules; else
# prints why to stdout.
net_available() {
  [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
  command -v ip >/dev/null || { echo "no 'ip' command (iproute2)"; return 1; }
  command -v nft >/dev/null || { echo "no 'nft' command (Debian package nftables)"; return 1; }
  local probe=${NET_PREFIX}probe err
  ip netns del "$probe" 2>/dev/null || true
  err=$(ip netns add "$probe" 2>&1) || { echo "ip netns add failed: $err"; return 1; }
  err=$( { ip -n "$probe" link add "${probe}a" type veth peer name "${probe}b" &&
    ip netns exec "$probe" nft add table inet probe; } 2>&1) ||
    { ip netns del "$probe"; echo "veth or nftables in a namespace failed: $err"; return 1; }
  ip netns del "$probe"
}

# net_teardown: removes every namespace, veth and the bridge of this or an earlier (aborted)
# run, after killing the processes still running in those namespaces (only ours live there).
net_teardown() {
  local ns pid link
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NET_PREFIX" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep "^$NET_PREFIX" || true); do
    ip link del "$link" 2>/dev/null || true
  done
}

# net_setup N: the bridge and N namespaces, each with a veth, its address and an empty
# nftables table whose input chain holds the partition rules.
net_setup() {
  local n=$1 i ns
  ip link add "$NET_BRIDGE" type bridge
  ip addr add "$NET_SUBNET.254/24" dev "$NET_BRIDGE"
  ip link set "$NET_BRIDGE" up
  for ((i = 1; i <= n; i++)); do
    ns=$(net_ns "$i")
    ip netns add "$ns"
    ip link add "$NET_PREFIX${i}h" type veth peer name "$NET_PREFIX${i}n"
    ip link set "$NET_PREFIX${i}n" netns "$ns"
    ip link set "$NET_PREFIX${i}h" master "$NET_BRIDGE" up
    ip -n "$ns" addr add "$(net_addr "$i")/24" dev "$NET_PREFIX${i}n"
    ip -n "$ns" link set "$NET_PREFIX${i}n" up
    ip -n "$ns" link set lo up
    ip netns exec "$ns" nft -f - <<EOF
table inet $NET_PREFIX {
  chain input { type filter hook input priority 0; policy accept; }
}
EOF
  done
}

# net_cut FROM TO: packets from replica FROM to replica TO are dropped (one way).
net_cut() {
  ip netns exec "$(net_ns "$2")" nft add rule inet $NET_PREFIX input \
    ip saddr "$(net_addr "$1")" drop
}

# net_link I up|down: replica I's veth (its clients are cut off too).
net_link() { ip link set "$NET_PREFIX${1}h" "$2"; }

# net_heal N: every cut removed, every link up.
net_heal() {
  local n=$1 i
  for ((i = 1; i <= n; i++)); do
    ip netns exec "$(net_ns "$i")" nft flush chain inet $NET_PREFIX input
    net_link "$i" up
  done
}

# net_rules N: the rules in force, one line (for the log).
net_rules() {
  local n=$1 i
  for ((i = 1; i <= n; i++)); do
    ip netns exec "$(net_ns "$i")" nft list chain inet $NET_PREFIX input |
      grep -o 'saddr [0-9.]* drop' | sed "s/saddr $NET_SUBNET.\([0-9]*\) drop/\1->$i/"
  done | paste -sd' '
}
