#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing (apt),
# builds, starts a throwaway PostgreSQL cluster, makes the CURVE keys, starts
# the seven services, checks that each answers Ping over CURVE (and that an
# unknown key gets nothing), prints their health, verifies the audit chains
# and stops everything cleanly, also when a step fails. Artefacts go under
# var/demo/ (summary.json, logs/, keys/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/deps.sh

demo=$root/var/demo
services=(enrollment validation ca perso mail revocation publisher)
declare -A pids=()
steps_json=()
pg_dir=""
current_step=""

now_ms() { date +%s%3N; }

# step NAME COMMAND...: runs one step, prints its progress line and time.
step() {
  local name=$1; shift
  current_step=$name
  local started; started=$(now_ms)
  printf '%-44s ' "$name ..."
  # In this shell, not a subshell: steps set pg_dir and pids for later ones.
  local out_file="$demo/logs/step.out"
  local rc=0
  "$@" >"$out_file" 2>&1 || rc=$?
  local out; out=$(cat "$out_file"); rm -f "$out_file"
  if [ "$rc" = 0 ]; then
    local ms=$(( $(now_ms) - started ))
    printf 'ok   (%d ms)\n' "$ms"
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
    steps_json+=("{\"step\":\"$name\",\"status\":\"ok\",\"duration_ms\":$ms}")
  else
    local ms=$(( $(now_ms) - started ))
    printf 'FAILED (%d ms)\n' "$ms"
    printf '%s\n' "$out" | sed 's/^/    /'
    steps_json+=("{\"step\":\"$name\",\"status\":\"failed\",\"duration_ms\":$ms}")
    return 1
  fi
}

write_summary() {
  local status=$1
  mkdir -p "$demo"
  local joined; joined=$(IFS=,; echo "${steps_json[*]:-}")
  printf '{"status":"%s","steps":[%s]}\n' "$status" "$joined" > "$demo/summary.json"
}

stop_all() {
  local rc=$?
  set +e
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null; done
  local bad=0
  for name in "${!pids[@]}"; do
    wait "${pids[$name]}"; local code=$?
    [ "$code" = 0 ] || { echo "service $name exited with $code"; bad=1; }
  done
  [ -n "$pg_dir" ] && scripts/lib/pg-cluster.sh stop "$pg_dir"
  [ -n "$pg_dir" ] && [ -d "$pg_dir" ] && cp "$pg_dir/postgres.log" "$demo/logs/" 2>/dev/null && rm -rf "$pg_dir"
  if [ "$rc" = 0 ] && [ "$bad" = 0 ]; then
    write_summary ok
    echo "demo finished: every step passed; summary in var/demo/summary.json"
  else
    write_summary failed
    echo "demo FAILED at step: ${current_step:-shutdown} (logs in var/demo/logs/)" >&2
    exit 1
  fi
}

install_and_build() {
  tsr_install_deps
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
}

start_postgres() {
  # PostgreSQL runs as a non-root user; its throwaway data lives in /tmp so
  # that user can reach it wherever this checkout is.
  pg_dir=$(mktemp -d /tmp/tessera-demo-pg.XXXXXX)
  chmod 755 "$pg_dir"
  local port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  scripts/lib/pg-cluster.sh start "$pg_dir" "$port"
  echo "PostgreSQL on 127.0.0.1:$port"
}

make_keys() {
  for name in "${services[@]}" operator officer alice bob carol; do
    build/tools/tessera keygen --name "$name" --out "$demo/keys" >/dev/null
    cp "$demo/keys/$name.cert" "$demo/keyring/"
  done
  build/tools/tessera keygen --name intruder --out "$demo/keys" >/dev/null
  echo "$(ls "$demo/keyring" | wc -l) public keys in the keyring; 'intruder' left out"
}

start_services() {
  local admin; admin=$(cat "$pg_dir/admin.dsn")
  local port; port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$pg_dir/admin.dsn")
  for name in "${services[@]}"; do
    local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    TSR_DB_DSN="host=127.0.0.1 port=$port user=tsr_$name password=$password dbname=tessera" \
    TSR_DB_ADMIN_DSN="$admin" \
    TSR_CERT="$demo/keys/$name.cert" \
    TSR_KEYRING_DIR="$demo/keyring" \
    SOFTHSM2_CONF="$demo/softhsm/softhsm2.conf" \
    TSR_CA_KEY_DIR="$demo/ca-keys" \
    TSR_ENROLLMENT_BOOTSTRAP_KEYS="$(public_key "$demo/keys/officer.cert")" \
      "build/services/$name/tessera-$name" 2>"$demo/logs/$name.log" &
    pids[$name]=$!
  done
  for name in "${services[@]}"; do
    local offset; offset=$(( $(printf '%s\n' "${services[@]}" | grep -nx "$name" | cut -d: -f1) ))
    local ready=0
    for _ in $(seq 1 100); do
      if curl -fsS "http://127.0.0.1:$((8100 + offset))/readyz" >/dev/null 2>&1; then ready=1; break; fi
      kill -0 "${pids[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    [ "$ready" = 1 ] || { echo "$name did not become ready:"; tail -5 "$demo/logs/$name.log"; return 1; }
  done
  echo "seven services ready"
}

cli() {
  TSR_CERT="$demo/keys/${as:-operator}.cert" TSR_KEYRING_DIR="$demo/keyring" \
  TSR_AUDIT_DSN="$(cat "$pg_dir/admin.dsn")" build/tools/tessera "$@"
}

public_key() { sed -n 's/^ *public-key = "\(.*\)"/\1/p' "$1"; }

# The CA's token: SoftHSM2 in the demo, initialised with an SO PIN (kept in
# var/demo for the demo only; in production the security officer holds it).
prepare_token() {
  mkdir -p "$demo/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$demo/softhsm/tokens" > "$demo/softhsm/softhsm2.conf"
  head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/softhsm/so-pin"
  chmod 600 "$demo/softhsm/so-pin"
  SOFTHSM2_CONF="$demo/softhsm/softhsm2.conf" softhsm2-util --init-token --free \
    --label tessera-ca --so-pin "$(cat "$demo/softhsm/so-pin")" \
    --pin "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" | tail -1
}

# Operators and roles live in enrollment; the officer's key is bootstrapped
# as the first security officer, who names the CA key custodians.
add_custodians() {
  for who in alice bob carol; do
    as=officer cli operator add --name "$who" --cert "$demo/keys/$who.cert" --role custodian
  done
}

ca_ceremony() {
  as=officer cli ca ceremony --org "Tessera Demo Trust" --root-cn "Tessera Demo Root CA" \
    --issuing-cn "Tessera Demo Issuing CA" --root-alg ec-p384 --issuing-alg ec-p256 \
    --custodian "alice=$demo/keys/alice.cert" --custodian "bob=$demo/keys/bob.cert" \
    --custodian "carol=$demo/keys/carol.cert" --threshold 2 \
    --so-pin-file "$demo/softhsm/so-pin" --out "$demo/ca"
  openssl verify -CAfile "$demo/ca/root.pem" "$demo/ca/issuing.pem"
}

holder_csr() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$demo/ca/holder.key" \
    -subj "/CN=anything: the CA takes the subject from the validated request" \
    -outform DER -out "$demo/ca/holder.csr" 2>/dev/null
}

# Holders' certificates are asked by perso (a service key) in the real flow.
issue_holder() {
  as=perso cli ca issue --csr "$demo/ca/holder.csr" --use auth --level 2 \
    --card-request demo-request-1 --holder demo-holder-1 --given-name "Élodie" --surname "Dupré" \
    --org "Société Exemple" --org-id 73282932000074 --out "$demo/ca/holder.pem"
}

refuse_inactive() {
  holder_csr
  if issue_holder 2>&1; then echo "an inactive CA signed"; return 1; fi
  echo "refused as it must be: the key is inactive"
}

activate_ca() {
  as=alice cli ca activate --share "$(ls "$demo"/ca/alice/ca-*)"
  as=bob cli ca activate --share "$(ls "$demo"/ca/bob/ca-*)"
}

issue_and_verify() {
  issue_holder
  openssl verify -CAfile "$demo/ca/root.pem" -untrusted "$demo/ca/issuing.pem" "$demo/ca/holder.pem"
  openssl x509 -in "$demo/ca/holder.pem" -noout -subject -nameopt utf8,sep_comma_plus_space \
    -ext keyUsage,extendedKeyUsage,certificatePolicies
}

revoke_and_publish() {
  local serial; serial=$(openssl x509 -in "$demo/ca/holder.pem" -noout -serial | cut -d= -f2)
  as=officer cli ca revoke "$serial" --reason key-compromise
  as=officer cli ca crl --out "$demo/ca/issuing.crl"
  openssl crl -in "$demo/ca/issuing.crl" -noout -CAfile "$demo/ca/issuing.pem" 2>&1
  cat "$demo/ca/root.pem" "$demo/ca/issuing.pem" "$demo/ca/issuing.crl" > "$demo/ca/chain-crl.pem"
  if openssl verify -crl_check -CAfile "$demo/ca/chain-crl.pem" "$demo/ca/holder.pem" 2>&1; then
    echo "a revoked certificate still verifies"; return 1
  fi
  echo "openssl now refuses the holder certificate: revoked"
}

ping_all() {
  for name in "${services[@]}"; do cli ping "$name" --echo demo; done
}

intruder_refused() {
  if TSR_CERT="$demo/keys/intruder.cert" TSR_TIMEOUT_MS=500 TSR_RETRIES=0 \
     TSR_KEYRING_DIR="$demo/keyring" build/tools/tessera ping ca 2>/dev/null; then
    echo "an unknown key was answered"; return 1
  fi
  sleep 0.2
  grep -q '"event":"bus.refused"' "$demo/logs/ca.log" || { echo "ca did not log the refusal"; return 1; }
  echo "unknown key: no reply; ca logged bus.refused"
}

health() {
  for name in "${services[@]}"; do
    local offset; offset=$(( $(printf '%s\n' "${services[@]}" | grep -nx "$name" | cut -d: -f1) ))
    local base="http://127.0.0.1:$((8100 + offset))"
    printf '%-11s healthz=%s readyz=%s metrics=%s lines\n' "$name" \
      "$(curl -fsS "$base/healthz")" "$(curl -fsS "$base/readyz")" \
      "$(curl -fsS "$base/metrics" | wc -l)"
  done
}

rm -rf "$demo"
mkdir -p "$demo/keys" "$demo/keyring" "$demo/logs" "$demo/ca"
trap stop_all EXIT
echo "tessera demo: artefacts in var/demo/"
step "install packages and build" install_and_build
step "start a throwaway PostgreSQL cluster" start_postgres
step "generate CURVE keys" make_keys
step "initialise the CA's token (SoftHSM2)" prepare_token
step "start the seven services (migrations applied)" start_services
step "Ping every service over CURVE" ping_all
step "refuse a key outside the keyring" intruder_refused
step "health, readiness and metrics" health
step "verify every audit chain" cli audit verify
step "register three CA key custodians" add_custodians
step "CA key ceremony: root, issuing CA, 2-of-3 shares" ca_ceremony
step "signing refused before activation" refuse_inactive
step "two custodians activate the CA key" activate_ca
step "issue a holder certificate (openssl verifies)" issue_and_verify
step "revoke it, sign a CRL (openssl refuses it)" revoke_and_publish
step "verify every audit chain again" cli audit verify
