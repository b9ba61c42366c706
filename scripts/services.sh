#!/usr/bin/env bash
# Local services for Alto development, tests and the demo.
#
#   scripts/services.sh start  [postgres]   start (idempotent: a running service is left alone)
#   scripts/services.sh stop   [postgres]   stop what this script started (by recorded pid)
#   scripts/services.sh status [postgres]   say what runs and print connection strings
#   scripts/services.sh env                 print export lines for the connection strings
#
# Settings (environment): ALTO_PG_PORT (55432), ALTO_STATE_DIR (<repo>/.state).
# PostgreSQL runs as the 'postgres' user on 127.0.0.1 with trust auth for local development;
# its data directory is <state>/postgres unless the postgres user cannot reach that folder,
# in which case a private folder under /var/lib/postgresql is used and linked from <state>.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ALTO_STATE_DIR:-$repo/.state}"
pg_port="${ALTO_PG_PORT:-55432}"
pg_db="${ALTO_PG_DB:-alto}"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    return 1
}

ensure_postgres_installed() {
    if pg_bin >/dev/null; then return 0; fi
    log "PostgreSQL binaries not found: installing with apt (postgresql)..."
    [ "$(id -u)" = 0 ] || die "installing PostgreSQL needs root (apt-get install -y postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
    pg_bin >/dev/null || die "PostgreSQL still not found after apt-get install"
}

# Runs a command as the postgres user from / (the caller's folder may be closed to that user).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else (cd / && runuser -u postgres -- "$@"); fi
}

# The data directory: inside the repo's state folder when the postgres user can reach it.
pg_data_dir() {
    local wanted="$state/postgres"
    if [ -L "$wanted" ]; then readlink -f "$wanted"; return; fi
    if [ -d "$wanted" ] || as_postgres test -x "$state" 2>/dev/null; then echo "$wanted"; return; fi
    local key
    key="$(printf '%s' "$repo" | sha256sum | cut -c1-12)"
    echo "/var/lib/postgresql/alto-$key"
}

pg_running() {
    local data="$1"
    [ -f "$data/postmaster.pid" ] || return 1
    local pid
    pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

connection_string() {
    echo "Host=127.0.0.1;Port=$pg_port;Database=$pg_db;Username=postgres;Pooling=true"
}

start_postgres() {
    ensure_postgres_installed
    local bin data
    bin="$(pg_bin)"
    mkdir -p "$state"
    data="$(pg_data_dir)"
    if pg_running "$data"; then
        log "postgres: already running (pid $(head -n1 "$data/postmaster.pid"), port $pg_port)"
        return 0
    fi
    # A pid file left by a crash or a killed machine is stale: pg_ctl would refuse to start.
    if [ -f "$data/postmaster.pid" ]; then
        log "postgres: removing stale pid file"
        rm -f "$data/postmaster.pid"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        chown postgres:postgres "$data"
        chmod 700 "$data"
        as_postgres "$bin/initdb" -D "$data" --auth=trust -E UTF8 --locale=C.UTF-8 -U postgres >/dev/null
    fi
    if [ "$data" != "$state/postgres" ]; then ln -sfn "$data" "$state/postgres"; fi
    # The log lives in the data directory: the one place the postgres user can always write.
    local pg_log="$data/server.log"
    # shared_buffers: the usual guidance is a quarter of RAM; the default 128 MB held a sixth of a
    # million tier-object records, and the sanitizer then copied pages in from the OS cache part
    # after part (measured with bench/run.sh reconcile). ALTO_PG_SHARED_BUFFERS overrides it.
    # wal_compression=lz4, not pglz ("on"): an access-time batch of 10,000 reads writes some 3,400
    # full-page images, and pglz spent 150-200 ms of a 300-400 ms update compressing them.
    as_postgres "$bin/pg_ctl" -D "$data" -l "$pg_log" -w -t 60 \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $data -c max_connections=300 -c fsync=${ALTO_PG_FSYNC:-on} -c wal_compression=lz4 -c max_wal_size=4GB -c shared_buffers=${ALTO_PG_SHARED_BUFFERS:-1GB}" \
        start >/dev/null || { tail -n 20 "$pg_log" >&2; die "postgres did not start (log: $pg_log)"; }
    head -n1 "$data/postmaster.pid" > "$state/postgres.pid"
    if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '$pg_db'" | grep -q 1; then
        as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$pg_db"
    fi
    log "postgres: started (pid $(cat "$state/postgres.pid"), port $pg_port, data $data)"
}

stop_postgres() {
    local bin data
    bin="$(pg_bin)" || { log "postgres: not installed"; return 0; }
    data="$(pg_data_dir)"
    if ! pg_running "$data"; then
        log "postgres: not running"
        rm -f "$state/postgres.pid"
        return 0
    fi
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    rm -f "$state/postgres.pid"
    log "postgres: stopped"
}

status_postgres() {
    local data
    data="$(pg_data_dir)"
    if pg_running "$data"; then
        echo "postgres: running (pid $(head -n1 "$data/postmaster.pid"), port $pg_port)"
        echo "  connection string: $(connection_string)"
    else
        echo "postgres: stopped"
        return 3
    fi
}

cmd="${1:-status}"
service="${2:-all}"
case "$service" in all | postgres) ;; *) die "unknown service '$service' (known: postgres)" ;; esac

case "$cmd" in
    start)
        start_postgres
        echo "ALTO_PG=$(connection_string)"
        ;;
    stop) stop_postgres ;;
    status) status_postgres ;;
    env) echo "export ALTO_PG='$(connection_string)'" ;;
    *) die "usage: $0 start|stop|status|env [postgres]" ;;
esac
