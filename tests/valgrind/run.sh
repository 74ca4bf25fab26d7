#!/usr/bin/env bash
# Runs a service's integration tests with that service under valgrind
# memcheck (tests/integration/tsrtest.py, TSR_VALGRIND_SERVICE): any invalid
# access, use of uninitialised memory or definitely lost block fails the test
# system's teardown. Needs a build WITHOUT sanitizers (valgrind and ASan do
# not mix), e.g.
#   cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug && cmake --build build-valgrind -j2
#   tests/valgrind/run.sh build-valgrind ca            # one service
#   tests/valgrind/run.sh build-valgrind all           # the seven, one at a time
# Logs: <build>/valgrind/<test dir>-<service>.valgrind.<pid>.log. Not in CI
# (a service is 10 to 50 times slower under valgrind).
set -uo pipefail

build=$(cd "${1:?usage: run.sh BUILD_DIR SERVICE|all [pytest args...]}" && pwd)
what=${2:?service name or all}
shift 2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
command -v valgrind >/dev/null || { echo "run.sh: valgrind is not installed" >&2; exit 2; }
if grep -q '^TESSERA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "run.sh: $build is a sanitizer build; valgrind needs one without" >&2
  exit 2
fi

# The test files that exercise each service most.
tests_of() {
  case "$1" in
    enrollment) echo test_enrollment.py test_operators.py ;;
    validation) echo test_validation.py ;;
    ca) echo test_ca.py test_ca_group_commit.py ;;
    perso) echo test_perso.py test_pin_unblock.py test_renewal.py test_key_recovery.py ;;
    mail) echo test_mail.py ;;
    revocation) echo test_revocation.py test_suspension.py ;;
    publisher) echo test_publisher.py ;;
    portal) echo test_portal.py ;;
    *) echo "run.sh: unknown service $1" >&2; return 1 ;;
  esac
}

if [ "$what" = all ]; then
  services="enrollment validation ca perso mail revocation publisher"
else
  services=$what
fi

failed=0
for service in $services; do
  files=$(tests_of "$service") || exit 2
  # One pytest per file, as ctest runs them (a process talks to one pcscd).
  for f in $files; do
    echo "== $service under valgrind: $f"
    TSR_VALGRIND_SERVICE=$service TSR_BUILD_DIR=$build TSR_SOURCE_DIR=$source_dir \
      PYTHONPATH=$build/gen/python:$source_dir/tests/integration \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider "$source_dir/tests/integration/$f" "$@" \
      || failed=1
  done
done
exit $failed
