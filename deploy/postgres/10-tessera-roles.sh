#!/bin/bash
# Run once by the postgres image (docker-entrypoint-initdb.d) when the data
# directory is empty: makes each service's login role with its password from
# the pg_roles secret (lines role:password, written by
# deploy/prepare-secrets.sh beside each service's pgpass file). The services'
# migrations then make their schemas and owner roles, and keep this password,
# since their DSNs name a passfile rather than a password.
# (PG_ROLES_FILE names another file: tests/deploy runs it outside Docker.)
set -euo pipefail
roles_file="${PG_ROLES_FILE:-/run/secrets/pg_roles}"
while IFS=: read -r role password; do
  [ -n "${role:-}" ] || continue
  [[ "$role" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "pg_roles: bad role name" >&2; exit 1; }
  [ -n "${password:-}" ] || { echo "pg_roles: no password for $role" >&2; exit 1; }
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
done < "$roles_file"
# The services' migrations grant CONNECT to their own role only.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -c "REVOKE ALL ON DATABASE \"$POSTGRES_DB\" FROM PUBLIC"
