#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz/) with clang, libFuzzer, ASan and
# UBSan in build-fuzz/, and runs each for SECONDS on a copy of its corpus
# (tests/fuzz/corpus/<target>/; the copy takes what the run finds, the
# corpus stays as committed). Two targets run at a time. A crash, a leak or
# a sanitizer report fails the script, with the input that did it kept in
# build-fuzz/crashes/<target>/ and the end of the log shown.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   scripts/fuzz.sh 10                      # CI: every target, 10 s each
#   scripts/fuzz.sh 3600 payload_ca csr     # a long run of two targets
#
# TARGET is a name of tests/fuzz/CMakeLists.txt (csr, payload_ca, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
if [ $# -gt 0 ]; then shift; fi
build=${TSR_FUZZ_BUILD:-build-fuzz}
all=$(sed -n 's/^tsr_fuzz_target(\([a-z0-9_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
targets=${*:-$all}

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTESSERA_FUZZ=ON -DTESSERA_SANITIZE=ON >/dev/null
# shellcheck disable=SC2046
cmake --build "$build" -j"$(nproc)" $(printf -- '--target fuzz_%s ' $targets)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target: 0 when it ran its time without a finding.
run_one() {
  local target=$1 dir="$work/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$target"/* "$dir/corpus/"
  if "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
       "$dir/corpus" >"$dir/log" 2>&1; then
    printf '%-22s %4s s %10s runs, corpus %s -> %s\n' "$target" "$seconds" \
      "$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")" \
      "$(ls tests/fuzz/corpus/"$target" | wc -l)" "$(ls "$dir/corpus" | wc -l)"
    return 0
  fi
  echo "== fuzz_$target FAILED; the end of its log:"
  tail -60 "$dir/log"
  mkdir -p "$build/crashes/$target"
  cp "$dir"/artifacts/* "$build/crashes/$target/" 2>/dev/null || true
  echo "== the input is in $build/crashes/$target/ (replay: $build/tests/fuzz/fuzz_$target FILE)"
  return 1
}

failed=0
set -- $targets
while [ $# -gt 0 ]; do
  pids=()
  for target in "$1" "${2:-}"; do
    [ -n "$target" ] || continue
    run_one "$target" & pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
  done
  shift
  if [ $# -gt 0 ]; then shift; fi
done
[ "$failed" = 0 ] || { echo "fuzzing found a crash (see above)"; exit 1; }
