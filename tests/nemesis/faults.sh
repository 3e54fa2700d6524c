# shellcheck shell=bash
# The nemesis itself: one fault round at a time (a fault, sometimes a second process fault on
# another replica, a hold, the heal, a quiet gap), kinds and times drawn with rand, targets with
# rand_target (nemesis.sh), every injection and heal logged by say. Then the final heal and
# checks. Sourced by nemesis.sh (which defines N, NET, PID, STOPPED, cli, info, start_replica,
# alive, say, fail).

declare -A COUNT DOWN REMOVED
HEALS=()

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s; false once SECONDS have passed.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
count() { COUNT[$1]=$((${COUNT[$1]:-0} + 1)); }
fault_summary() {
  local k out=""
  for k in $(printf '%s\n' "${!COUNT[@]}" | sort); do out+="${out:+, }$k ${COUNT[$k]}"; done
  echo "${out:-none}"
}

# view: sets VIEW_LEADER and VIEW_CHAIN (array, chain order) from the first replica, starting
# at a random one, that answers, is a member and knows a leader. False if none does.
view() {
  local k i text
  rand_target "$N"
  for ((k = 0; k < N; k++)); do
    i=$(((R + k) % N + 1))
    alive "$i" && [ "${STOPPED[$i]}" = 0 ] || continue
    text=$(cli "$i" INFO replication)
    VIEW_LEADER=$(sed -n 's/^leader_id://p' <<<"$text")
    IFS=, read -r -a VIEW_CHAIN <<<"$(sed -n 's/^chain://p' <<<"$text")"
    [ "$(sed -n 's/^membership://p' <<<"$text")" = member ] && [ -n "$VIEW_LEADER" ] &&
      [ "$VIEW_LEADER" != 0 ] && [ "${#VIEW_CHAIN[@]}" -gt 0 ] && return 0
  done
  return 1
}

# pick WHICH: sets T to a replica: leader, tail, middle (neither), or any; from the view when
# there is one, else any replica.
pick() {
  local len=${#VIEW_CHAIN[@]}
  if [ "$HAVE_VIEW" = 0 ] || [ "$1" = any ] || { [ "$1" = middle ] && [ "$len" -lt 3 ]; }; then
    rand_target "$N"
    T=$((R + 1))
  elif [ "$1" = leader ]; then
    T=$VIEW_LEADER
  elif [ "$1" = tail ]; then
    T=${VIEW_CHAIN[len - 1]}
  else
    rand_target $((len - 2))
    T=${VIEW_CHAIN[R + 1]}
  fi
}
role() {
  [ "$HAVE_VIEW" = 1 ] || { echo "?"; return; }
  local len=${#VIEW_CHAIN[@]}
  if [ "$1" = "$VIEW_LEADER" ]; then echo leader
  elif [ "$1" = "${VIEW_CHAIN[len - 1]}" ]; then echo tail
  elif [[ ",${VIEW_CHAIN[*]}," =~ [,\ ]$1[,\ ] ]]; then echo middle
  else echo not-a-member; fi
}

# --- process faults -----------------------------------------------------------------------
# kill_replica I [wipe]: kill -9; the heal restarts it on its data directory, or, wiped, empty
# with --join (a replica that lost its disk).
kill_replica() {
  local i=$1 how=${2:-keep}
  alive "$i" || return 0
  kill -CONT "${PID[$i]}" 2>/dev/null || true # a stopped process dies only once continued
  kill -KILL "${PID[$i]}"
  wait "${PID[$i]}" 2>/dev/null || true
  DOWN[$i]=1
  STOPPED[$i]=0
  if [ "$how" = wipe ]; then
    count kill9-wipe
    say "FAULT kill -9 replica $i ($(role "$i")); it will restart with an empty disk and --join"
    HEALS+=("restart_replica $i wipe")
  else
    count kill9
    say "FAULT kill -9 replica $i ($(role "$i"))"
    HEALS+=("restart_replica $i")
  fi
}
# joined I: false if replica I's latest start was with --join and it has not installed a state
# transfer since (so its data directory may not yet hold a member's state). A recovery logs the
# transfers it replays before the start line, so only lines after the last start count.
joined() {
  awk '/ catena [0-9.]+ replica [0-9]+: clients on/ { joining = /joining a running cluster/ }
    /installed the state transfer/ { joining = 0 }
    END { exit joining }' "$WORK/replica-$1.log"
}
restart_replica() {
  local i=$1 flags=() what=""
  [ "${DOWN[$i]:-0}" = 1 ] || return 0
  if [ "${2:-}" = wipe ]; then
    rm -rf "$WORK/data-$i"
    flags=(--join)
    what=" (empty disk, --join)"
  elif ! joined "$i"; then
    # Killed before its join completed: restarted with the same command line, --join, as a
    # supervisor would. (Without it, an empty data directory starts a founding member.)
    flags=(--join)
    what=" (its join had not completed: --join again)"
  fi
  start_replica "$i" "${flags[@]}"
  DOWN[$i]=0
  say "HEAL restart replica $i$what (pid ${PID[$i]})"
}
pause_replica() {
  local i=$1
  alive "$i" && [ "${STOPPED[$i]}" = 0 ] || return 0
  kill -STOP "${PID[$i]}"
  STOPPED[$i]=1
  count sigstop
  say "FAULT SIGSTOP replica $i ($(role "$i"))"
  HEALS+=("resume_replica $i")
}
resume_replica() {
  [ "${STOPPED[$1]}" = 1 ] || return 0
  kill -CONT "${PID[$1]}" 2>/dev/null || true
  STOPPED[$1]=0
  say "HEAL SIGCONT replica $1"
}

# --- network faults (namespaces only) -----------------------------------------------------
isolate() {
  local i=$1 j
  for ((j = 1; j <= N; j++)); do [ "$j" = "$i" ] || { net_cut "$i" "$j"; net_cut "$j" "$i"; }; done
  count "isolate-$2"
  say "FAULT isolate replica $i ($2) from every other replica, both ways (clients still reach it)"
  HEALS+=(heal_network)
}
# split: a random minority (1 of 3; 1 or 2 of 5) cut from the rest, both ways.
split() {
  local order=() i j k minority
  for ((i = 1; i <= N; i++)); do order+=("$i"); done
  for ((i = N - 1; i > 0; i--)); do # Fisher-Yates
    rand_target $((i + 1))
    k=${order[i]}
    order[i]=${order[R]}
    order[R]=$k
  done
  rand_target $(((N - 1) / 2)); minority=$((R + 1))
  for ((i = 0; i < minority; i++)); do
    for ((j = minority; j < N; j++)); do
      net_cut "${order[i]}" "${order[j]}"
      net_cut "${order[j]}" "${order[i]}"
    done
  done
  count split
  say "FAULT partition {${order[*]:0:minority}} | {${order[*]:minority}}"
  HEALS+=(heal_network)
}
# one_way: packets from one replica to another dropped (the reverse direction still works);
# half the time from the leader to its successor, else a random pair.
one_way() {
  local from to
  rand_target 2
  if [ "$HAVE_VIEW" = 1 ] && [ "$R" = 0 ] && [ "${#VIEW_CHAIN[@]}" -ge 2 ]; then
    from=${VIEW_CHAIN[0]}
    to=${VIEW_CHAIN[1]}
  else
    rand_target "$N"; from=$((R + 1))
    rand_target $((N - 1)); to=$(((from + R) % N + 1))
  fi
  net_cut "$from" "$to"
  count one-way
  say "FAULT one-way cut: replica $from ($(role "$from")) -> replica $to ($(role "$to")) dropped"
  HEALS+=(heal_network)
}
link_down() {
  net_link "$1" down
  count link-down
  say "FAULT link of replica $1 ($(role "$1")) down: cut from peers and clients"
  HEALS+=(heal_network)
}
heal_network() {
  local rules
  rules=$(net_rules "$N")
  net_heal "$N"
  say "HEAL network (cuts were: ${rules:-none}; links up)"
}

# --- membership ---------------------------------------------------------------------------
# admin I ARGS: a membership command sent to replica I, waiting up to 15 s for the reply.
admin() {
  local i=$1
  shift
  timeout 15 redis-cli -h "$(addr "$i")" -p "$(client_port "$i")" "$@" 2>&1 | tr -d '\r' |
    paste -sd' '
}
# some_other I: sets O to a running, unpaused replica other than I (preferring members).
some_other() {
  local k
  rand_target "$N"
  for ((k = 0; k < N; k++)); do
    O=$(((R + k) % N + 1))
    [ "$O" != "$1" ] && alive "$O" && [ "${STOPPED[$O]}" = 0 ] && [ "${REMOVED[$O]:-0}" = 0 ] &&
      return 0
  done
  return 1
}
remove_member() {
  local i=$1 reply
  some_other "$i" || return 0
  reply=$(admin "$O" CATENA.REMOVE "$i")
  count remove
  say "FAULT CATENA.REMOVE $i ($(role "$i")) sent to replica $O: ${reply:-no reply in 15 s}"
  # Without a reply or after TRYAGAIN the removal may still happen: add it back anyway.
  [[ "$reply" =~ ^ERR ]] || REMOVED[$i]=1
  HEALS+=("add_member $i")
}
# add_member I: CATENA.ADD I back if the nemesis (maybe) removed it; true once it is a member.
add_member() {
  local i=$1 reply
  [ "${REMOVED[$i]:-0}" = 1 ] || return 0
  some_other "$i" || return 1
  reply=$(admin "$O" CATENA.ADD "$(addr "$i"):$(peer_port "$i")")
  count add
  say "HEAL CATENA.ADD $(addr "$i"):$(peer_port "$i") (replica $i) sent to replica $O:" \
    "${reply:-no reply in 15 s}"
  [ "$reply" = OK ] || [[ "$reply" =~ "is already a member" ]] || return 1
  REMOVED[$i]=0
}

# --- rounds -------------------------------------------------------------------------------
# wipe_allowed I: losing I's disk stays within what the cluster survives: every replica is in
# the chain, and every other one is running and holds a member's state (not itself joining).
# Two disks lost before the first has its state back would be a majority of 3 gone for good.
# Every replica is asked now: one replica's view may be stale (seed 5: a replica removed while
# cut off still reported the chain of 3, and the wipe left a 2-member configuration with half
# of it empty, which nothing can repair).
wipe_allowed() {
  local j text
  for ((j = 1; j <= N; j++)); do
    [ "$j" = "$1" ] || { [ "${DOWN[$j]:-0}" = 0 ] && joined "$j"; } || return 1
    alive "$j" && [ "${STOPPED[$j]}" = 0 ] || return 1
    text=$(cli "$j" INFO replication)
    [ "$(sed -n 's/^membership://p' <<<"$text")" = member ] &&
      [ "$(sed -n 's/^members://p' <<<"$text")" = "$N" ] || return 1
  done
}
# inject KIND: one fault of KIND on a target drawn now.
inject() {
  case $1 in
    kill9) pick any; kill_replica "$T" ;;
    kill9-leader) pick leader; kill_replica "$T" ;;
    wipe)
      pick any
      if wipe_allowed "$T"; then
        kill_replica "$T" wipe
      else
        say "NOTE no disk wipe now (a replica is down, joining or out of the chain): kill -9 only"
        kill_replica "$T"
      fi
      ;;
    pause) pick any; pause_replica "$T" ;;
    pause-leader) pick leader; pause_replica "$T" ;;
    isolate-leader) pick leader; isolate "$T" leader ;;
    isolate-middle) pick middle; isolate "$T" middle ;;
    isolate-tail) pick tail; isolate "$T" tail ;;
    split) split ;;
    one-way) one_way ;;
    link) pick any; link_down "$T" ;;
    member) pick any; remove_member "$T" ;;
  esac
}
# draw_kind: sets K from the weights (percent) of the mode.
draw_kind() {
  local weights kind w
  if [ "$NET" = 1 ]; then
    weights="kill9:10 kill9-leader:7 wipe:4 pause:8 pause-leader:6 isolate-leader:10
      isolate-middle:8 isolate-tail:8 split:12 one-way:10 link:7 member:10"
  else
    weights="kill9:22 kill9-leader:15 wipe:10 pause:18 pause-leader:15 member:20"
  fi
  rand 100
  for kind in $weights; do
    w=${kind#*:}
    K=${kind%:*}
    ((R < w)) && return 0
    R=$((R - w))
  done
}
fault_round() {
  local hold
  HAVE_VIEW=0
  view && HAVE_VIEW=1
  draw_kind
  inject "$K"
  rand 4000; hold=$((1000 + R))
  # A quarter of the rounds add a process fault on some replica during the first.
  rand 4
  if [ "$R" = 0 ]; then
    rand $((hold / 2)); sleep_ms "$R"; hold=$((hold - R))
    rand 2
    if [ "$R" = 0 ]; then pick any; kill_replica "$T"; else pick any; pause_replica "$T"; fi
  fi
  sleep_ms "$hold"
  heal_round
  rand 2000
  sleep_ms $((500 + R))
}
# heal_round: the round's heals, last injected first.
heal_round() {
  local k
  for ((k = ${#HEALS[@]} - 1; k >= 0; k--)); do eval "${HEALS[k]}" || true; done
  HEALS=()
}

# alive_check: every replica the nemesis did not kill is running (else it crashed).
alive_check() {
  local i
  for ((i = 1; i <= N; i++)); do
    [ "${DOWN[$i]:-0}" = 1 ] || alive "$i" ||
      fail "replica $i (pid ${PID[$i]}) exited without being killed:" \
        "$(tail -n 5 "$WORK/replica-$i.log")"
  done
}

heal_everything() {
  local i deadline
  heal_round
  [ "$NET" = 1 ] && net_heal "$N"
  for ((i = 1; i <= N; i++)); do
    resume_replica "$i"
    restart_replica "$i"
  done
  deadline=$((SECONDS + 60))
  for ((i = 1; i <= N; i++)); do
    until add_member "$i"; do
      ((SECONDS < deadline)) || fail "replica $i could not be added back within 60 s"
      sleep 1
    done
  done
}

# --- the final checks, once everything is healed and the workload has stopped --------------
replica_states() {
  local i
  for ((i = 1; i <= N; i++)); do
    echo "replica $i: $(cli "$i" INFO replication |
      grep -E '^(membership|leader_id|chain|highest_executed|executed_digest):' | paste -sd' ')"
  done
}
all_members() {
  local i
  for ((i = 1; i <= N; i++)); do
    [ "$(info "$i" membership)" = member ] && [ "$(info "$i" members)" = "$N" ] || return 1
  done
}
write_through() { [ "$(cli "$1" SET "nemesis:probe:$1" "$SEED")" = OK ]; }
# converged: every replica shows the same keyspace digest (an idle cluster still decides a few
# no-op instances a second, so highest_executed differs by those between two INFO calls).
converged() {
  local i first="" digest
  for ((i = 1; i <= N; i++)); do
    digest=$(info "$i" executed_digest)
    [ -n "$digest" ] || return 1
    [ -z "$first" ] && first=$digest
    [ "$digest" = "$first" ] || return 1
  done
}
final_checks() {
  local i rc
  wait_until 60 all_members ||
    fail "60 s after the heal not every replica is a member of a $N-replica chain:
$(replica_states)"
  for ((i = 1; i <= N; i++)); do
    wait_until 30 write_through "$i" || fail "no write through replica $i 30 s after the heal"
  done
  wait_until 30 converged || fail "the replicas do not converge:
$(replica_states)"
  say "all $N replicas are members, took a write each and converged: $(cli 1 INFO replication |
    grep -E '^(highest_executed|executed_digest|chain):' | paste -sd' ')"
  "$RECORDER" --verify --hosts "$hosts" --out "$HISTORY" --seed "$SEED" --duration 30 \
    --keys 64 --counters 8 \
    >"$WORK/verify.out" 2>&1 || fail "final reads: $(cat "$WORK/verify.out")"
  say "final reads of every key through every replica: $(cat "$WORK/verify.out")"
  rc=0
  timeout 900 "$CHECKER" "$HISTORY" >"$WORK/check.out" 2>&1 || rc=$?
  case $rc in
    0) say "catena-check: $(head -n 1 "$WORK/check.out")" ;;
    1) fail "catena-check: NOT LINEARIZABLE:
$(head -n 60 "$WORK/check.out")" ;;
    3) fail "catena-check gave up (search budget): $(head -n 3 "$WORK/check.out")" ;;
    *) fail "catena-check failed ($rc): $(head -n 5 "$WORK/check.out")" ;;
  esac
  # Not a failure by itself (a lost link is a warning), but worth a look when there are errors.
  say "replica logs: $(cat "$WORK"/replica-*.log | grep -c ' warn ' || true) warnings," \
    "$(cat "$WORK"/replica-*.log | grep -c ' error ' || true) errors" \
    "$(grep -h ' error ' "$WORK"/replica-*.log | head -n 3 | paste -sd'|' || true)"
}
