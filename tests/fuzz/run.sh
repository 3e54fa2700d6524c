#!/bin/bash
# Builds the libFuzzer targets (a separate clang tree) and runs each for a fixed time; see
# docs/fuzzing.md.
#   tests/fuzz/run.sh <seconds per target> [build dir, default build/fuzz]
#   FUZZ_TARGETS="resp chainpaxos" tests/fuzz/run.sh 300    # only some targets
# Exits non-zero if the build fails (clang or its fuzzer runtime missing included) or any target
# finds a crash, leak, timeout or out-of-memory. The input that failed is saved in
# tests/fuzz/corpus/<target>/ (crash-*, leak-*, timeout-*, oom-*): commit it, and every later
# run replays it first, as a regression test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-}
build=${2:-$root/build/fuzz}
targets=${FUZZ_TARGETS:-wal kv_snapshot resp peer_frames chainpaxos}

case "$seconds" in
  '' | *[!0-9]* | 0)
    echo "usage: $0 <seconds per target, > 0> [build dir]" >&2
    exit 2 ;;
esac

# The failing inputs libFuzzer saved in a folder, sorted.
failures() {
  for f in "$1"/crash-* "$1"/leak-* "$1"/timeout-* "$1"/oom-*; do
    [ -e "$f" ] && basename "$f"
  done | sort
}

die() {
  echo "fuzz: error: $*" >&2
  exit 1
}

command -v clang >/dev/null || die "clang is missing (scripts/install-deps installs it)"
mkdir -p "$build" || die "cannot create $build"
build=$(cd "$build" && pwd)
# The main build uses gcc: this tree is configured with clang whatever CC says.
CC=clang cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; die "configuring $build failed (see above)"; }
cmake --build "$build" -j "${JOBS:-2}" >"$build/build.log" 2>&1 ||
  { cat "$build/build.log" >&2; die "building $build failed (see above)"; }

# The WAL target makes a directory per input and calls fdatasync: a private folder, on tmpfs
# when there is one, removed at exit along with what a crashed run leaves in it.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$shm/catena-fuzz.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT

status=0
printf '%-12s %12s %10s %10s %8s  %s\n' target executions exec/s cpu_s rss_mb result
for t in $targets; do
  seeds="$here/corpus/$t"
  work="$build/corpus/$t" # what the fuzzer learns stays in the build tree
  log="$build/fuzz_$t.log"
  mkdir -p "$work" "$seeds"
  before=$(failures "$seeds")
  # -timeout: an input running 10 s is an endless loop; slow units are not saved as failures.
  TIMEFORMAT='%U %S'
  cpu=$( { time TMPDIR="$scratch" "$build/fuzz_$t" -max_total_time="$seconds" \
      -print_final_stats=1 -timeout=10 -report_slow_units=3600 -rss_limit_mb=2048 \
      -artifact_prefix="$seeds/" "$work" "$seeds" >"$log" 2>&1; echo "rc=$?" >"$log.rc"; } 2>&1 )
  rc=$(sed -n 's/^rc=//p' "$log.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cpu_s=$(echo "$cpu" | awk '{ printf "%.1f", $1 + $2 }')
  result=ok
  [ "$rc" = 0 ] || { result="FAILED (exit $rc)"; status=1; }
  printf '%-12s %12s %10s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$cpu_s" "${rss:-?}" \
    "$result"
  if [ "$rc" != 0 ]; then
    echo "---- $log (last 60 lines) ----"
    tail -n 60 "$log"
    new=$(comm -13 <(echo "$before") <(failures "$seeds") | sed '/^$/d')
    if [ -n "$new" ]; then
      echo "---- failing inputs saved as regressions (commit them; fix until run.sh passes):"
      for f in $new; do echo "  tests/fuzz/corpus/$t/$f"; done
      echo "  reproduce: $build/fuzz_$t tests/fuzz/corpus/$t/<file>"
    fi
  fi
done
exit $status
