#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing (apt),
# builds, starts a throwaway PostgreSQL cluster, makes the CURVE keys, starts
# the seven services, checks that each answers Ping over CURVE (and that an
# unknown key gets nothing), prints their health, verifies the audit chains,
# runs the CA (ceremony, activation, issuance, revocation, CRL), then a
# card's whole life on a virtual PIV card in a private pcscd, with an SMTP
# sink and the holder portal: registration, four-eyes validation, the
# one-time password e-mail, personalisation, registered mail, the PIN mailer
# 24 h later, the holder's first login, activation, acceptance, a signature
# by the card, revocation by phone with secret questions seen by CRL and
# OCSP, and the audit chains again.
# It stops everything cleanly, also when a step fails. Artefacts go under
# var/demo/: summary.json, chain.pem, holder-auth.pem, holder-sign.pem,
# crl.der, ocsp-revoked.der, pin-mailer.pdf, mail/ (every e-mail, .eml), and
# the working folders logs/, keys/, ca/, card/, smtp/, lifecycle/.
# The lifecycle's steps are driven by scripts/demo/lifecycle.py. The holder's
# steps go through the portal over HTTP when it is built, otherwise (or with
# TSR_DEMO_HOLDER_VIA=bus) through the RPCs the portal calls, under its key.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/deps.sh

# TSR_DEMO_DIR: where the artefacts go (var/demo); TSR_DEMO_BUILD_DIR: an
# existing build to run (the tests run the demo on theirs) instead of
# building build/.
demo=${TSR_DEMO_DIR:-$root/var/demo}
shown=${demo#"$root"/}      # the artefacts' folder as printed
build=${TSR_DEMO_BUILD_DIR:-$root/build}
services=(enrollment validation ca perso mail revocation publisher)
declare -A pids=()        # every background process, stopped by the trap
declare -A passwords=()   # each service's database password, kept across restarts
declare -A extra_env=()   # each service's own settings, one NAME=VALUE a line
step_count=0
pg_dir=""
current_step=""
step_started=0
in_step=0
holder_via=portal         # or "bus" when the portal is not built
publish_port=8207
portal_port=8180

now_ms() { date +%s%3N; }

# step NAME COMMAND...: runs one step in this shell (steps set pg_dir and
# pids for later ones) with errexit in force inside it, its output kept in a
# file, then prints its progress line, its time and its output. A failing
# command ends the demo through the EXIT trap, which reports the step.
# File descriptors 5 and 6 keep the demo's own output and errors.
step() {
  local name=$1; shift
  current_step=$name
  step_started=$(now_ms)
  step_count=$((step_count + 1))
  printf '[%2d] %-62s ' "$step_count" "$name ..."
  in_step=1
  exec >"$demo/logs/step.out" 2>&1
  "$@"
  end_step ok
}

end_step() {
  local status=$1
  exec 1>&5 2>&6
  in_step=0
  local ms=$(( $(now_ms) - step_started ))
  if [ "$status" = ok ]; then printf 'ok   (%d ms)\n' "$ms"; else printf 'FAILED (%d ms)\n' "$ms"; fi
  [ -s "$demo/logs/step.out" ] && sed 's/^/    /' "$demo/logs/step.out"
  rm -f "$demo/logs/step.out"
  printf '{"step":"%s","status":"%s","duration_ms":%d}\n' "${current_step//\"/\\\"}" "$status" \
    "$ms" >> "$demo/logs/steps.jsonl"
}

# write_summary STATUS: summary.json (the steps, the serials, the
# artefacts) and the closing summary, by the lifecycle's driver; the steps
# alone if it cannot run.
write_summary() {
  local status=$1
  mkdir -p "$demo/logs"
  touch "$demo/logs/steps.jsonl"
  lc summary "$status" "$demo/logs/steps.jsonl" "$holder_via" && return 0
  local joined; joined=$(paste -sd, "$demo/logs/steps.jsonl")
  printf '{"status":"%s","holder_steps":"%s","steps":[%s]}\n' "$status" "$holder_via" "$joined" \
    > "$demo/summary.json"
}

stop_all() {
  local rc=$?
  set +e
  trap '' INT TERM            # the clean-up runs to its end
  # A step still running here failed, or was interrupted.
  if [ "$in_step" = 1 ]; then end_step failed; [ "$rc" = 0 ] && rc=1; fi
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null; done
  local bad=0
  for name in "${!pids[@]}"; do
    wait "${pids[$name]}"; local code=$?
    [ "$code" = 0 ] || { echo "$name exited with $code"; bad=1; }
  done
  [ -n "$pg_dir" ] && scripts/lib/pg-cluster.sh stop "$pg_dir"
  [ -n "$pg_dir" ] && [ -d "$pg_dir" ] && cp "$pg_dir/postgres.log" "$demo/logs/" 2>/dev/null && rm -rf "$pg_dir"
  if [ "$rc" = 0 ] && [ "$bad" = 0 ]; then
    write_summary ok
    echo "demo finished: every step passed; summary in $shown/summary.json"
  else
    write_summary failed
    echo "demo FAILED at step: ${current_step:-shutdown} (logs in $shown/logs/)" >&2
    exit 1
  fi
}

install_and_build() {
  tsr_install_deps
  if [ -n "${TSR_DEMO_BUILD_DIR:-}" ]; then
    [ -x "$build/tools/tessera" ] || { echo "no build in $build"; return 1; }
    echo "the build in $build"
    return 0
  fi
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_postgres() {
  # PostgreSQL runs as a non-root user; its throwaway data lives in /tmp so
  # that user can reach it wherever this checkout is. A port taken between
  # the check and the start is passed over.
  local port=55432 tries=0
  while :; do
    while port_busy "$port"; do port=$((port + 1)); done
    pg_dir=$(mktemp -d /tmp/tessera-demo-pg.XXXXXX)
    chmod 755 "$pg_dir"
    if scripts/lib/pg-cluster.sh start "$pg_dir" "$port"; then break; fi
    cp "$pg_dir/postgres.log" "$demo/logs/postgres-port-$port.log" 2>/dev/null || true
    scripts/lib/pg-cluster.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"; pg_dir=""
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || { echo "PostgreSQL did not start (logs/postgres-port-*.log)"; return 1; }
    port=$((port + 1))
  done
  echo "PostgreSQL on 127.0.0.1:$port"
}

make_keys() {
  # Services, the holder portal, the operators of the lifecycle (entry,
  # validation, perso, shipping, revocation), the security officer and the
  # CA key custodians.
  for name in "${services[@]}" portal operator officer alice bob carol \
              entry validator persoop shipper revoker; do
    "$build"/tools/tessera keygen --name "$name" --out "$demo/keys" >/dev/null
    cp "$demo/keys/$name.cert" "$demo/keyring/"
  done
  "$build"/tools/tessera keygen --name intruder --out "$demo/keys" >/dev/null
  echo "$(ls "$demo/keyring" | wc -l) public keys in the keyring; 'intruder' left out"
}

# The services' own settings beyond the database and the keys: where the
# publisher serves (and the URLs the CA writes into certificates), perso's
# master key and its pcscd, mail's key folder and the portal's address in
# its notices. Short timers so that the demo does not wait for schedules.
configure() {
  local port
  for port in $(seq 7101 7107) $(seq 7201 7207) $(seq 8101 8107) "$publish_port" "$portal_port"; do
    if port_busy "$port"; then echo "port $port is taken: stop what listens there"; return 1; fi
  done
  mkdir -p "$demo/perso" "$demo/publisher" "$demo/mail" "$demo/mail-keys" "$demo/portal" \
           "$demo/card" "$demo/lifecycle"
  chmod 700 "$demo/perso" "$demo/publisher" "$demo/mail-keys"
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/perso/master.key")
  local base="http://127.0.0.1:$publish_port"
  extra_env[ca]="TSR_CA_CRL_URL=$base/crl/issuing.crl
TSR_CA_DELTA_CRL_URL=$base/crl/issuing-delta.crl
TSR_CA_ISSUERS_URL=$base/ca/issuing.crt
TSR_CA_OCSP_URL=$base/ocsp"
  extra_env[publisher]="TSR_PUBLISH_PORT=$publish_port
TSR_PUBLISHER_OCSP_DIR=$demo/publisher
TSR_PUBLISHER_COALESCE_MS=1000
TSR_PUBLISHER_RETRY_S=1"
  extra_env[perso]="TSR_PERSO_MASTER_KEY_FILE=$demo/perso/master.key
PCSCLITE_CSOCK_NAME=$demo/card/pcscd/pcscd.comm
TSR_PERSO_RUNNERS=1"
  extra_env[mail]="TSR_MAIL_KEY_DIR=$demo/mail-keys
TSR_MAIL_PORTAL_URL=http://127.0.0.1:$portal_port/
TSR_SMTP_FROM=tessera <noreply@tessera.example>
TSR_MAIL_SIGNER_RETRY_MS=500
TSR_MAIL_POLL_MS=200
TSR_MAIL_RETRY_BASE_MS=1000
TSR_MAIL_RETRY_MAX_MS=5000"
  printf '{"publish_url":"%s","portal_url":"http://127.0.0.1:%s","validator_email":"%s"}\n' \
    "$base" "$portal_port" "valerie.validatrice@tessera.example" > "$demo/lifecycle/settings.json"
  for name in ca publisher perso mail; do
    printf '%s\n' "${extra_env[$name]}" | sed "s|^|$name: |; s|$demo|$shown|"
  done
  echo "perso: $shown/perso/master.key, 32 random bytes as hex (0600)"
}

# start_service NAME: one service in the background, its settings from the
# common ones and extra_env[NAME]; wait_ready NAME: until /readyz answers.
start_service() {
  local name=$1
  local admin; admin=$(cat "$pg_dir/admin.dsn")
  local port; port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$pg_dir/admin.dsn")
  [ -n "${passwords[$name]:-}" ] || passwords[$name]=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  local -a extra=()
  [ -n "${extra_env[$name]:-}" ] && mapfile -t extra <<<"${extra_env[$name]}"
  env TSR_DB_DSN="host=127.0.0.1 port=$port user=tsr_$name password=${passwords[$name]} dbname=tessera" \
    TSR_DB_ADMIN_DSN="$admin" \
    TSR_CERT="$demo/keys/$name.cert" \
    TSR_KEYRING_DIR="$demo/keyring" \
    SOFTHSM2_CONF="$demo/softhsm/softhsm2.conf" \
    TSR_CA_KEY_DIR="$demo/ca-keys" \
    TSR_ENROLLMENT_BOOTSTRAP_KEYS="$(public_key "$demo/keys/officer.cert")" \
    "${extra[@]}" \
    "$build/services/$name/tessera-$name" >>"$demo/logs/$name.log" 2>&1 5>&- 6>&- &
  pids[$name]=$!
}

service_port() {
  local offset; offset=$(( $(printf '%s\n' "${services[@]}" | grep -nx "$1" | cut -d: -f1) ))
  echo $((8100 + offset))
}

wait_ready() {
  local name=$1
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$(service_port "$name")/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${pids[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not become ready:"; tail -5 "$demo/logs/$name.log"; return 1
}

start_services() {
  for name in "${services[@]}"; do start_service "$name"; done
  for name in "${services[@]}"; do wait_ready "$name"; done
  echo "seven services ready"
}

# restart_service NAME [SETTING=VALUE]...: SIGTERM (it must exit 0), the
# settings changed, started again.
restart_service() {
  local name=$1; shift
  local setting
  for setting in "$@"; do
    extra_env[$name]=$(printf '%s\n' "${extra_env[$name]:-}" | grep -v "^${setting%%=*}=" || true)
    extra_env[$name]=$(printf '%s\n%s' "${extra_env[$name]}" "$setting" | sed '/^$/d')
  done
  kill -TERM "${pids[$name]}"
  local code=0; wait "${pids[$name]}" || code=$?
  unset "pids[$name]"
  [ "$code" = 0 ] || { echo "$name exited with $code"; return 1; }
  start_service "$name"
  wait_ready "$name"
  echo "$name restarted${*:+ with $*}" | sed "s|$demo|$shown|g"
}

cli() {
  TSR_CERT="$demo/keys/${as:-operator}.cert" TSR_KEYRING_DIR="$demo/keyring" \
  TSR_AUDIT_DSN="$(cat "$pg_dir/admin.dsn")" "$build"/tools/tessera "$@"
}

# The lifecycle's driver (scripts/demo/lifecycle.py).
lc() { TSR_DEMO_DIR="$demo" TSR_BUILD_DIR="$build" /usr/bin/python3 scripts/demo/lifecycle.py "$@"; }

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
     TSR_KEYRING_DIR="$demo/keyring" "$build"/tools/tessera ping ca 2>/dev/null; then
    echo "an unknown key was answered"; return 1
  fi
  sleep 0.2
  grep -q '"event":"bus.refused"' "$demo/logs/ca.log" || { echo "ca did not log the refusal"; return 1; }
  echo "unknown key: no reply; ca logged bus.refused"
}

health() {
  for name in "${services[@]}"; do
    local base="http://127.0.0.1:$(service_port "$name")"
    printf '%-11s healthz=%s readyz=%s metrics=%s lines\n' "$name" \
      "$(curl -fsS "$base/healthz")" "$(curl -fsS "$base/readyz")" \
      "$(curl -fsS "$base/metrics" | wc -l)"
  done
}

# --- the card's life -------------------------------------------------------------

# wait_file FILE PID NAME: until FILE exists (the daemon's ready file), while
# the daemon lives.
wait_file() {
  for _ in $(seq 1 300); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "$3 did not start:"; tail -5 "$demo/logs/$3.log"; return 1
}

start_card() {
  env TSR_DEMO_DIR="$demo" TSR_BUILD_DIR="$build" /usr/bin/python3 scripts/demo/lifecycle.py pcscd "$demo/card" \
    >>"$demo/logs/pcscd.log" 2>&1 5>&- 6>&- &
  pids[pcscd]=$!
  wait_file "$demo/card/ready.json" "${pids[pcscd]}" pcscd
  local reader; reader=$(sed -n 's/.*"reader": "\([^"]*\)".*/\1/p' "$demo/card/ready.json")
  local guid; guid=$(sed -n 's/.*"guid": "\([^"]*\)".*/\1/p' "$demo/card/ready.json")
  echo "pcscd (socket $shown/card/pcscd/pcscd.comm), vpcd reader \"$reader\""
  echo "a blank PIV card (transport keys, PIN 123456) inserted: GUID $guid"
  PCSCLITE_CSOCK_NAME="$demo/card/pcscd/pcscd.comm" opensc-tool --list-readers
}

start_smtp_sink() {
  env TSR_DEMO_DIR="$demo" TSR_BUILD_DIR="$build" /usr/bin/python3 scripts/demo/lifecycle.py smtp-sink "$demo/smtp" \
    >>"$demo/logs/smtp-sink.log" 2>&1 5>&- 6>&- &
  pids[smtp-sink]=$!
  wait_file "$demo/smtp/ready.json" "${pids[smtp-sink]}" smtp-sink
  local port; port=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' "$demo/smtp/ready.json")
  local user; user=$(sed -n 's/.*"user": "\([^"]*\)".*/\1/p' "$demo/smtp/ready.json")
  echo "SMTP sink on 127.0.0.1:$port (STARTTLS and a login required; messages in $shown/mail/)"
  restart_service mail "TSR_SMTP_URL=smtp://127.0.0.1:$port" TSR_SMTP_STARTTLS=required \
    "TSR_SMTP_CA_FILE=$demo/smtp/tls/smtp-cert.pem" "TSR_SMTP_USER=$user" \
    "TSR_SMTP_PASSWORD_FILE=$demo/smtp/smtp-password"
}

start_portal() {
  env TSR_CERT="$demo/keys/portal.cert" TSR_KEYRING_DIR="$demo/keyring" \
    TSR_PORTAL_ADDRESS=127.0.0.1 TSR_PORTAL_PORT="$portal_port" \
    TSR_PORTAL_AUDIT_FILE="$demo/portal/journal.jsonl" \
    "$build"/services/portal/tessera-portal >>"$demo/logs/portal.log" 2>&1 5>&- 6>&- &
  pids[portal]=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$portal_port/healthz" >/dev/null 2>&1; then
      echo "holder portal on http://127.0.0.1:$portal_port/ (a bus client under the key 'portal')"
      curl -sS -o /dev/null -w 'GET /login: HTTP %{http_code}\n' "http://127.0.0.1:$portal_port/login"
      return 0
    fi
    kill -0 "${pids[portal]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "the portal did not start:"; tail -5 "$demo/logs/portal.log"; return 1
}

# The operators of the registration process, added by the security officer.
add_operators() {
  : > "$demo/lifecycle/operators.jsonl"
  while read -r key name email roles; do
    local -a args=(--json operator add --name "${name//_/ }" --cert "$demo/keys/$key.cert")
    [ "$email" != - ] && args+=(--email "$email")
    for role in ${roles//,/ }; do args+=(--role "$role"); done
    local out; out=$(as=officer cli "${args[@]}")
    printf '%s\n' "$out" | sed "s/^{/{\"key\":\"$key\",/" >> "$demo/lifecycle/operators.jsonl"
    echo "$key: ${name//_/ }, roles ${roles//,/ + }: $(printf '%s' "$out" | sed -n 's/.*"operator_id":"\([^"]*\)".*/\1/p')"
  done <<'OPERATORS'
entry Olivier_Saisie - entry,validation
validator Valérie_Validatrice valerie.validatrice@tessera.example validation
persoop Paul_Perso - perso
shipper Sylvie_Expédition - shipping
revoker René_Révocation - revocation
OPERATORS
}

pin_mailer_released() {
  restart_service mail TSR_MAIL_CLOCK_OFFSET_S=90000
  lc pin-mailer
  restart_service mail TSR_MAIL_CLOCK_OFFSET_S=0
  echo "(mail back on the real clock)"
}

verify_all() {
  cli audit verify
  lc journal
}

rm -rf "$demo"
mkdir -p "$demo/keys" "$demo/keyring" "$demo/logs" "$demo/ca"
exec 5>&1 6>&2
trap stop_all EXIT
trap 'exit 130' INT TERM
echo "tessera demo: artefacts in $shown/"
step "install packages and build" install_and_build
# The holder's steps go through the portal when it is part of the build;
# otherwise (or with TSR_DEMO_HOLDER_VIA=bus) through the RPCs it calls,
# under its key.
grep -q '^add_subdirectory(portal)' services/CMakeLists.txt \
  && [ -x "$build"/services/portal/tessera-portal ] || holder_via=bus
[ "${TSR_DEMO_HOLDER_VIA:-}" = bus ] && holder_via=bus
step "start a throwaway PostgreSQL cluster" start_postgres
step "generate CURVE keys" make_keys
step "initialise the CA's token (SoftHSM2)" prepare_token
step "settings: publisher port, CA URLs, perso master key" configure
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
step "publisher: CA certificate, CRL and OCSP over HTTP" lc publisher
step "start pcscd, vpcd and a blank virtual PIV card" start_card
step "start an SMTP sink; mail restarted onto it" start_smtp_sink
if [ "$holder_via" = portal ]; then
  step "start the holder portal (HTTP)" start_portal
fi
step "operators (entry, validation, perso, shipping, revocation)" add_operators
step "register an organisation (K-bis), RL, MC, holder" lc register
step "batch: refused while incomplete, then submitted" lc batch
step "four eyes: entry operator refused, second validates" lc validate
step "one-time password e-mailed (openssl cms -verify)" lc otp-mail
step "personalise the virtual card (tessera perso)" lc perso
step "pkcs15-tool --list-certificates; OCSP: on hold" lc card-list
step "card by registered mail to the MC, posted" lc ship
step "PIN mailer refused before 24 h" lc pin-mailer-early
step "mail 25 h ahead: PIN mailer released, pdftotext" pin_mailer_released
if [ "$holder_via" = portal ]; then
  step "holder: one-time password, password, questions" lc holder-first-login
  step "holder activates the card: OCSP good" lc holder-activate
  step "holder accepts the certificates; mail keeps it" lc holder-accept
else
  step "holder (bus, portal's key): login, password, questions" lc holder-first-login --via bus
  step "holder (bus, portal's key) activates: OCSP good" lc holder-activate --via bus
  step "holder (bus, portal's key) accepts; mail keeps it" lc holder-accept --via bus
fi
step "the card signs (pkcs11-tool); openssl verifies" lc card-sign
step "revocation by phone (secret questions); CRL, OCSP" lc phone-revoke
step "verify every audit chain again" verify_all
step "artefacts for independent checks" lc artefacts
