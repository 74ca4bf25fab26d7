#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the demo.
#   pg-cluster.sh start DIR PORT   initdb (first time) and start; writes DIR/admin.dsn
#   pg-cluster.sh stop DIR         fast shutdown
#   pg-cluster.sh restart DIR
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# postgres user (created by Debian's postgresql package); otherwise to the
# caller. Connections: TCP on 127.0.0.1 only, SCRAM passwords.
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop|restart DIR [PORT]}
dir=${2:?cluster directory}
port=${3:-55432}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-cluster: PostgreSQL server binaries not found" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      printf '%s\n' "$password" > "$dir/.pwfile"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir/.pwfile"
      chmod 600 "$dir/.pwfile"
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/.pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
CONF
      if [ "${TSR_PG_FAST:-0}" = 1 ]; then
        # Tests only: durability is not what they measure.
        printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >> "$dir/data/postgresql.conf"
      fi
      printf 'host=127.0.0.1 port=%s user=postgres password=%s dbname=tessera\n' "$port" "$password" > "$dir/admin.dsn"
      chmod 600 "$dir/admin.dsn"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
    admin=$(cat "$dir/admin.dsn")
    if ! psql "${admin/dbname=tessera/dbname=postgres}" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'tessera'" | grep -q 1; then
      psql "${admin/dbname=tessera/dbname=postgres}" -qc "CREATE DATABASE tessera" >/dev/null
      # No service may create objects outside its own schema.
      psql "$admin" -qc "REVOKE ALL ON SCHEMA public FROM PUBLIC; REVOKE ALL ON DATABASE tessera FROM PUBLIC" >/dev/null
    fi
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart -l "$dir/postgres.log" >/dev/null
    ;;
  *)
    echo "usage: pg-cluster.sh start|stop|restart DIR [PORT]" >&2; exit 2 ;;
esac
