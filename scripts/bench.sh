#!/usr/bin/env bash
# Runs tessera's benchmarks (tests/bench/) beside their peers, in one run:
# certificate issuance against cfssl's `serve` and `openssl speed`, CRL
# generation against `openssl ca -gencrl`, OCSP against `openssl ocsp -port`
# (both driven by wrk), personalisation against yubico-piv-tool on the
# virtual card. Installs what is missing (apt), builds a
# RelWithDebInfo tree in build-bench/, and writes the result tables to
# var/bench/results.txt and each benchmark's figures to var/bench/*.json.
# Not part of CI: nothing here is registered in ctest, and nothing fails on a
# figure.
#
#   scripts/bench.sh       # 1000 certificates per row; CRLs of 10k, 100k, 1M entries
#   TSR_BENCH_N=200 TSR_BENCH_R=10000 TSR_BENCH_OCSP_S=3 scripts/bench.sh   # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
# The peers, the load generator and time(1) are not needed by the tests.
TSR_PACKAGES+=(golang-cfssl wrk time)
tsr_install_deps

echo "== build (RelWithDebInfo, build-bench/)"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-bench -j"$(nproc)"

export PYTHONPATH="$PWD/build-bench/gen/python:$PWD/tests/integration"
export TSR_BUILD_DIR="$PWD/build-bench"
export TSR_SOURCE_DIR="$PWD"
# Debian's python3: the one first on PATH may not see python3-zmq & co.
python=/usr/bin/python3

mkdir -p var/bench
results=var/bench/results.txt
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  echo "tessera benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -srm)"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown);" \
       "cfssl $(cfssl version 2>/dev/null | sed -n 's/^Version: //p');" \
       "$(openssl version); $(psql --version 2>/dev/null | sed 's/^psql (PostgreSQL) /PostgreSQL /')"
  echo
} >"$tmp"

export TSR_BENCH_OUT="$PWD/var/bench"
echo "== issuance: tessera vs cfssl serve"
"$python" tests/bench/bench_issue.py | tee -a "$tmp"
echo >>"$tmp"
echo "== CRL generation: tessera vs openssl ca -gencrl"
"$python" tests/bench/bench_crl.py | tee -a "$tmp"
echo >>"$tmp"
echo "== OCSP: tessera publisher vs openssl ocsp -port, wrk"
"$python" tests/bench/bench_ocsp.py | tee -a "$tmp"
echo >>"$tmp"
echo "== personalisation: tessera perso vs yubico-piv-tool, virtual card"
"$python" tests/bench/bench_perso.py | tee -a "$tmp"

mv "$tmp" "$results"
trap - EXIT
echo "== written to $results and var/bench/{issue,crl,ocsp,perso}.json"
