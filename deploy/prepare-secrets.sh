#!/usr/bin/env bash
# Makes the files docker-compose.yml expects under var/deploy/ (once, before
# the first `docker-compose up`; docs/operations.md, "Preparing the secrets"):
#   keys/<name>.cert, keys/<name>.cert_secret   CURVE pairs of the seven services and the portal
#   keyring/<name>.cert                         their public halves, and the first officer's
#   operator/officer.cert(_secret)              the first security officer's pair
#   secrets/pgpass_<service>                    libpq password file: its role, and postgres for migrations
#   secrets/pg_roles, secrets/pg_superuser_password   for PostgreSQL's first start
#   secrets/perso-master.key                    perso's master key (hex)
#   wal-archive/                                PostgreSQL's WAL archive
# Usage: deploy/prepare-secrets.sh [DIR]   (DIR defaults to var/deploy)
# TESSERA names the CLI (default: `tessera` on PATH, e.g. build/tools/tessera).
set -euo pipefail
dir="${1:-var/deploy}"
tessera="${TESSERA:-tessera}"
services=(enrollment validation ca perso mail revocation publisher)
service_uid=10001   # the images' tessera user
postgres_uid=999    # the postgres image's postgres user

if [ -e "$dir/keys" ] || [ -e "$dir/secrets" ]; then
  echo "$dir already holds keys or secrets; not overwriting them" >&2
  exit 1
fi
umask 077
mkdir -p "$dir/keys" "$dir/keyring" "$dir/secrets" "$dir/operator" "$dir/wal-archive"

for name in "${services[@]}" portal; do
  "$tessera" keygen --name "$name" --out "$dir/keys" > /dev/null
  install -m 0444 "$dir/keys/$name.cert" "$dir/keyring/$name.cert"
done
"$tessera" keygen --name officer --out "$dir/operator" > /dev/null
install -m 0444 "$dir/operator/officer.cert" "$dir/keyring/officer.cert"

superuser_password="$(openssl rand -hex 24)"
printf '%s\n' "$superuser_password" > "$dir/secrets/pg_superuser_password"
: > "$dir/secrets/pg_roles"
for service in "${services[@]}"; do
  password="$(openssl rand -hex 24)"
  printf 'tsr_%s:%s\n' "$service" "$password" >> "$dir/secrets/pg_roles"
  printf 'postgres:5432:tessera:tsr_%s:%s\npostgres:5432:tessera:postgres:%s\n' \
         "$service" "$password" "$superuser_password" > "$dir/secrets/pgpass_$service"
done
openssl rand -hex 32 > "$dir/secrets/perso-master.key"

chmod 0400 "$dir"/keys/* "$dir"/secrets/*
if [ "$(id -u)" = 0 ]; then
  chown "$service_uid:$service_uid" "$dir"/keys/* "$dir"/secrets/pgpass_* \
        "$dir/secrets/perso-master.key" "$dir/operator" "$dir"/operator/*
  chown "$postgres_uid:$postgres_uid" "$dir/secrets/pg_roles" \
        "$dir/secrets/pg_superuser_password" "$dir/wal-archive"
else
  echo "not root: chown keys/*, secrets/pgpass_*, secrets/perso-master.key and operator/" \
       "to $service_uid, secrets/pg_* and wal-archive/ to $postgres_uid before starting" >&2
fi
chmod 0755 "$dir/keyring"
officer_key="$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$dir/operator/officer.cert")"
echo "done: $dir"
echo "officer public key (TSR_ENROLLMENT_BOOTSTRAP_KEYS in deploy/config/enrollment.env): $officer_key"
