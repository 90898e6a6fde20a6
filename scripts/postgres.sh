#!/usr/bin/env bash
# A private PostgreSQL 17 with pgvector for the tests and benchmarks: a cluster of its own in $GENSHARP_PG_DIR
# (default /tmp/gensharp-postgres), listening on 127.0.0.1:$GENSHARP_PG_PORT (default 55432) and a socket in the same
# folder, trust authentication for the local user, database "gensharp". Set-up installs the packages; this starts/stops it.
#   scripts/postgres.sh start   # idempotent; prints the URL to pass as --store
#   scripts/postgres.sh stop
#   scripts/postgres.sh url
set -euo pipefail
dir="${GENSHARP_PG_DIR:-/tmp/gensharp-postgres}"
port="${GENSHARP_PG_PORT:-55432}"
bin=/usr/lib/postgresql/17/bin
url="postgres://postgres@127.0.0.1:$port/gensharp"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    [ -x "$bin/pg_ctl" ] || { echo "error: PostgreSQL 17 is not installed (GENSHARP_SETUP_TESTS=1 scripts/setup.sh installs it)" >&2; exit 1; }
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      chmod 700 "$dir"
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=256MB -c max_connections=50" start >/dev/null
    fi
    if ! as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'gensharp'" | grep -q 1; then
      as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE gensharp"
    fi
    echo "$url"
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
  url) echo "$url" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
