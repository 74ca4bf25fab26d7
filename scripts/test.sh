#!/usr/bin/env bash
# Sets up and passes tessera's tests on a fresh Debian 12 machine:
# installs what is missing (apt), builds, runs every test with ctest (unit
# and integration: real PostgreSQL, real service processes), then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the same
# tests on that build, then runs each fuzz target with libFuzzer for a few
# seconds (scripts/fuzz.sh). `scripts/test.sh --quick` skips the sanitizer
# and fuzzing passes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
tsr_install_deps

jobs=$(nproc)
sanitize=1
[ "${1:-}" = "--quick" ] && sanitize=0

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
(cd build && ctest --output-on-failure -j2)

if [ "$sanitize" = 1 ]; then
  echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON >/dev/null
  cmake --build build-sanitize -j"$jobs"
  echo "== tests under the sanitizers"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0
  (cd build-sanitize && ctest --output-on-failure -j2)
fi

if [ "$sanitize" = 1 ]; then
  echo "== fuzz targets (clang + libFuzzer, 10 s each)"
  scripts/fuzz.sh 10
fi
