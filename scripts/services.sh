#!/usr/bin/env bash
# Local services for Alto development, tests and the demo.
#
#   scripts/services.sh start  [postgres]   start (idempotent: a running service is left alone)
#   scripts/services.sh stop   [postgres]   stop what this script started (by recorded pid)
#   scripts/services.sh status [postgres]   say what runs and print connection strings
#   scripts/services.sh env                 print export lines for the connection strings
#
# Settings (environment): ALTO_PG_PORT (55432), ALTO_STATE_DIR (<repo>/.state), ALTO_PG_HUGE_PAGES
# (on: as root, reserve huge pages for its shared memory and give them back at stop; off).
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

# Huge pages for PostgreSQL's shared memory (its default huge_pages=try takes them when the
# kernel has them reserved; PostgreSQL's documentation, "Linux Huge Pages"). With 4 kB pages every
# server process faults in each shared buffer it touches for the first time, and on this kind of
# virtual machine that was most of an access-time batch's path lookups: 10,000 lookups from a new
# connection took 137-190 ms with 4 kB pages and 56-70 ms with 2 MB ones, and bench/run.sh audit's
# apply of 100,000 reads 1.26-1.33 s against 1.00-1.03 s, alternating restarts. Reserved only when
# this script runs as root and the kernel lets it, only as many as the server needs beyond the free
# ones, and given back when it stops. ALTO_PG_HUGE_PAGES=off leaves the kernel's setting alone.
reserve_huge_pages() {
    local bin="$1" data="$2"; shift 2
    [ "${ALTO_PG_HUGE_PAGES:-on}" = on ] && [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ] || return 0
    local needed unused before after
    needed="$(as_postgres "$bin/postgres" -D "$data" -C shared_memory_size_in_huge_pages "$@" 2>/dev/null)" || return 0
    [[ "$needed" =~ ^[0-9]+$ ]] && [ "$needed" -gt 0 ] || return 0
    unused="$(awk '/^HugePages_Free:/ {f=$2} /^HugePages_Rsvd:/ {r=$2} END {print f-r}' /proc/meminfo)"
    [ "$unused" -lt "$needed" ] || return 0
    before="$(cat /proc/sys/vm/nr_hugepages)"
    echo $((before + needed - unused)) 2>/dev/null > /proc/sys/vm/nr_hugepages || return 0
    after="$(cat /proc/sys/vm/nr_hugepages)"
    if [ "$after" -gt "$before" ]; then
        # Added to what an earlier start reserved, should a crashed server have left it unreleased.
        echo $((after - before + $(cat "$state/postgres.hugepages" 2>/dev/null || echo 0))) > "$state/postgres.hugepages"
        log "postgres: $((after - before)) huge pages reserved for its shared memory ($needed needed; given back at stop)"
    fi
    # Fewer than asked (memory too fragmented): PostgreSQL falls back to ordinary pages by itself.
}

release_huge_pages() {
    [ -f "$state/postgres.hugepages" ] || return 0
    local added now
    added="$(cat "$state/postgres.hugepages")"
    rm -f "$state/postgres.hugepages"
    [[ "$added" =~ ^[0-9]+$ ]] && [ -w /proc/sys/vm/nr_hugepages ] || return 0
    now="$(cat /proc/sys/vm/nr_hugepages)"
    echo $((now > added ? now - added : 0)) 2>/dev/null > /proc/sys/vm/nr_hugepages || true
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
    local settings="-c max_connections=300 -c fsync=${ALTO_PG_FSYNC:-on} -c wal_compression=lz4 -c max_wal_size=4GB -c shared_buffers=${ALTO_PG_SHARED_BUFFERS:-1GB}"
    # shellcheck disable=SC2086 # the settings are separate words on purpose
    reserve_huge_pages "$bin" "$data" $settings
    as_postgres "$bin/pg_ctl" -D "$data" -l "$pg_log" -w -t 60 \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $data $settings" \
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
        release_huge_pages
        return 0
    fi
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    rm -f "$state/postgres.pid"
    release_huge_pages
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
