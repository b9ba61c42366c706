#!/usr/bin/env bash
# The Alto demo: starts the private PostgreSQL, the gateway with its co-hosted silo on a fresh
# demo database, signs in as the first platform admin, creates a tenant with a host and a
# tier-2 target (a local folder), and prints a summary with the URLs to look at.
#
#   scripts/demo.sh          run the demo, print the summary, stop what it started
#   scripts/demo.sh --keep   leave the gateway (and PostgreSQL) running until Ctrl-C
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
state="${ALTO_STATE_DIR:-$repo/.state}"
demo="$state/demo"
http_port="${ALTO_DEMO_HTTP_PORT:-8080}"
grpc_port="${ALTO_DEMO_GRPC_PORT:-8081}"
pg_port="${ALTO_PG_PORT:-55432}"
base="http://127.0.0.1:$http_port"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf '\033[1m%s\033[0m\n' "$*"; }
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n1; }

started_postgres=0
mounted_volume=0
gateway_pid=""
agent_pid=""
stop_agent() {
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    agent_pid=""
    rm -f "$state/demo-agent.pid"
}
cleanup() {
    stop_agent
    # The recall guard the agent started (its pid is in the agent's state folder): stopped before the volume goes.
    if [ -f "$demo/agent/recall-guard.pid" ]; then
        guard_pid="$(cat "$demo/agent/recall-guard.pid")"
        kill -TERM "$guard_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$guard_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if [ "$mounted_volume" = 1 ]; then umount "$demo/data" 2>/dev/null || umount -l "$demo/data" 2>/dev/null || true; fi
    if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
        kill -TERM "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    rm -f "$state/demo-gateway.pid"
    if [ "$started_postgres" = 1 ]; then "$repo/scripts/services.sh" stop postgres || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$repo/scripts/services.sh" status postgres >/dev/null 2>&1; then
    "$repo/scripts/services.sh" start postgres >/dev/null
    started_postgres=1
fi
say "PostgreSQL on 127.0.0.1:$pg_port"

# A fresh demo database every run, so the demo always starts from the same place.
psql_cmd() { PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_cmd -c "DROP DATABASE IF EXISTS alto_demo WITH (FORCE)" -c "CREATE DATABASE alto_demo"

say "Building the web console, the gateway and the agent..."
if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.installed-lock.json; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || (sleep 5 && cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp web/package-lock.json web/node_modules/.installed-lock.json
fi
(cd web && npm run build --silent >/dev/null 2>&1)
dotnet build gateway-api/Alto.Gateway/Alto.Gateway.csproj -nologo -clp:ErrorsOnly -v:q >/dev/null
dotnet build agent/Alto.Agent/Alto.Agent.csproj -nologo -clp:ErrorsOnly -v:q >/dev/null

rm -rf "$demo/tier2"
mkdir -p "$demo/tier2"
# A sample tree for the agent to scan: projects with old and recent files, and one name that is
# not valid UTF-8 (Latin-1), which Alto must keep byte for byte.
# The sample tree lives on a small ext4 volume of its own when the demo runs as root (a loop
# mount), so the agent's fanotify mark for recall-on-open covers that volume and nothing else.
prepare_volume() {
    local data="$demo/data"
    umount "$data" 2>/dev/null || true
    rm -rf "$data" "$demo/volume.img"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null 2>&1; then
        truncate -s 256M "$demo/volume.img"
        if mkfs.ext4 -q -F "$demo/volume.img" && mount -o loop "$demo/volume.img" "$data" 2>/dev/null; then
            mounted_volume=1
        fi
    fi
}
make_sample_tree() {
    local data="$demo/data"
    mkdir -p "$data/projects/2019-apollo" "$data/projects/2025-zephyr" "$data/media/raw" "$data/home/alice"
    local i
    # Sizes from 24 KiB: the two smallest stay below the tenant's 64 KiB minimum and are never tiered.
    for i in $(seq 1 40); do
        head -c $((i * 24 * 1024)) /dev/urandom > "$data/projects/2019-apollo/report-$i.pdf"
        touch -d "2019-0$((i % 9 + 1))-15 10:00:00Z" "$data/projects/2019-apollo/report-$i.pdf"
    done
    for i in $(seq 1 25); do
        head -c $((i * 96 * 1024)) /dev/urandom > "$data/media/raw/clip-$i.mp4"
        touch -d "2021-06-01 08:00:00Z" "$data/media/raw/clip-$i.mp4"
    done
    for i in $(seq 1 15); do
        echo "draft $i" > "$data/projects/2025-zephyr/notes-$i.md"
    done
    printf 'bonjour' > "$data/home/alice/"$'caf\xe9.txt'
    ln -sf /etc "$data/home/alice/etc-link"
    # Its checksum, for the recall check; the read moved its access time, so it goes back to 2019.
    sha256sum "$data/projects/2019-apollo/report-33.pdf" | cut -d' ' -f1 > "$demo/report-33.sha256"
    touch -d "2019-07-15 10:00:00Z" "$data/projects/2019-apollo/report-33.pdf"
}
prepare_volume
make_sample_tree
used_before="$(du -sk "$demo/data" | cut -f1)"
admin_password="demo-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)"
Alto__Database__ConnectionString="Host=127.0.0.1;Port=$pg_port;Database=alto_demo;Username=postgres" \
Alto__Keys__MasterKeyFile="$state/demo/master.key" \
Alto__Gateway__HttpUrl="$base" \
Alto__Gateway__GrpcUrl="http://127.0.0.1:$grpc_port" \
Alto__Cluster__ClusterId="alto-demo" \
Alto__Auth__BootstrapAdminPassword="$admin_password" \
Alto__Agents__HeartbeatSeconds=5 \
Alto__Agents__HeartbeatTimeoutSeconds=15 \
    dotnet gateway-api/Alto.Gateway/bin/Debug/net10.0/Alto.Gateway.dll >"$demo/gateway.log" 2>&1 &
gateway_pid=$!
echo "$gateway_pid" > "$state/demo-gateway.pid"

say "Starting gateway + silo (pid $gateway_pid, log $demo/gateway.log)..."
for _ in $(seq 1 120); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
        echo "The gateway stopped during start-up:"; tail -n 20 "$demo/gateway.log"; exit 1
    fi
    sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null || { echo "The gateway did not become ready:"; tail -n 20 "$demo/gateway.log"; exit 1; }

check() { # name url [curl credential options]
    local code name="$1" url="$2"
    shift 2
    code="$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url")"
    printf '  %-28s %s  %s\n' "$name" "$code" "$url"
    [ "$code" = 200 ]
}

say "Signing in and setting up a tenant..."
token="$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$admin_password\"}" "$base/api/v1/auth/login" | json_field accessToken)"
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
tenant_id="$(api -d '{"name":"Acme","description":"Demo tenant"}' "$base/api/v1/tenants" | json_field id)"
# A new tenant waits for a tenant admin to approve each plan and never tiers files under 64 KiB.
# The demo approves in advance (planApproval "auto") so the job goes out as soon as it is planned.
api -X PATCH -d '{"planApproval":"auto"}' "$base/api/v1/tenants/$tenant_id" >/dev/null
host_json="$(api -d "{\"name\":\"$(hostname -s)\",\"os\":\"linux\",\"volumes\":[\"$demo/data\"]}" "$base/api/v1/tenants/$tenant_id/hosts")"
host_id="$(printf '%s' "$host_json" | sed -n 's/.*"host":{"id":"\([^"]*\)".*/\1/p')"
enrollment_token="$(printf '%s' "$host_json" | json_field enrollmentToken)"
target_id="$(api -d "{\"name\":\"local tier-2\",\"kind\":\"path\",\"settings\":{\"path\":\"$demo/tier2\"}}" "$base/api/v1/tenants/$tenant_id/targets" | json_field id)"
# The default rules: keep home folders on tier 1; tier anything else nobody has read for 180 days.
api -d '{"name":"keep home folders","action":"exclude","criteria":{"pathGlobs":["home"]}}' "$base/api/v1/tenants/$tenant_id/rules" >/dev/null
api -d "{\"name\":\"untouched for 180 days\",\"targetId\":\"$target_id\",\"criteria\":{\"accessedOlderThanDays\":180}}" \
    "$base/api/v1/tenants/$tenant_id/rules" >/dev/null
tenants_total="$(api "$base/api/v1/tenants" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"

echo
say "Alto demo summary"
failures=0
check "web console" "$base/" || failures=$((failures + 1))
check "health (alive)" "$base/healthz" || failures=$((failures + 1))
check "readiness (db + cluster)" "$base/readyz" || failures=$((failures + 1))
# Only health is anonymous: the pages a browser opens take the admin's name and password, /metrics a platform admin's token.
check "Orleans dashboard" "$base/dashboard/" -u "admin:$admin_password" || failures=$((failures + 1))
check "OpenAPI document" "$base/openapi/v1.json" -u "admin:$admin_password" || failures=$((failures + 1))
check "API reference" "$base/api-reference/" -u "admin:$admin_password" || failures=$((failures + 1))
check "Prometheus metrics" "$base/metrics" -H "Authorization: Bearer $token" || failures=$((failures + 1))
echo "  gRPC (h2c) for agents         http://127.0.0.1:$grpc_port"
echo "  web console                   $base/ (sign in as the platform admin below)"
echo "  platform admin                admin / $admin_password"
echo "  tenant                        Acme ($tenant_id), $tenants_total tenant(s) in all"
echo "  host                          $(hostname -s) ($host_id), one-time enrollment token ${enrollment_token:0:20}..."
echo "  tier-2 target                 $demo/tier2 ($target_id)"
echo
agent=(dotnet agent/Alto.Agent/bin/Debug/net10.0/alto-agent.dll)
say "What the agent sees (alto-agent status)"
"${agent[@]}" status --gateway "$base" --grpc "http://127.0.0.1:$grpc_port" | sed 's/^/  /' || failures=$((failures + 1))

echo
say "Enrolling the agent and scanning $demo/data"
rm -rf "$demo/agent"
"${agent[@]}" enroll --gateway "$base" --grpc "http://127.0.0.1:$grpc_port" --token "$enrollment_token" \
    --state-dir "$demo/agent" | sed 's/^/  /' || failures=$((failures + 1))
"${agent[@]}" scan --state-dir "$demo/agent" | sed 's/^/  /' || failures=$((failures + 1))
scanned=""
for _ in $(seq 1 120); do
    host_json="$(api "$base/api/v1/tenants/$tenant_id/hosts/$host_id")"
    if printf '%s' "$host_json" | grep -q '"lastScanAt"'; then scanned=1; break; fi
    sleep 0.5
done
if [ -n "$scanned" ]; then
    file_count="$(printf '%s' "$host_json" | sed -n 's/.*"fileCount":\([0-9]*\).*/\1/p')"
    total_bytes="$(printf '%s' "$host_json" | sed -n 's/.*"totalBytes":\([0-9]*\).*/\1/p')"
    echo
    say "Inventory summary"
    echo "  host $(hostname -s): $file_count files, $total_bytes bytes, last scan $(printf '%s' "$host_json" | json_field lastScanAt)"
    psql_cmd -d alto_demo -F $'\t' -c "
        SELECT '  ' || rpad(coalesce(nullif(file_extension, ''), '(none)'), 8) || lpad(count(*)::text, 6) || ' files'
               || lpad(pg_size_pretty(sum(size_bytes)), 10)
               || '   oldest change ' || to_char(to_timestamp(min(mtime_unix)) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
        FROM alto.file_current WHERE deleted_utc IS NULL GROUP BY file_extension ORDER BY sum(size_bytes) DESC"
    echo "  names kept byte for byte: $(psql_cmd -d alto_demo -c "SELECT string_agg(full_path, ', ') FROM alto.file_current WHERE path_escaped")"

    echo
    say "Plan preview (POST /api/v1/tenants/$tenant_id/plan?dryRun=true)"
    plan_json="$(api -X POST "$base/api/v1/tenants/$tenant_id/plan?dryRun=true")"
    # psql reads the JSON (no jq needed): one line per rule in evaluation order, then the totals.
    psql_cmd -d alto_demo -v plan="$plan_json" <<'SQL'
SELECT format('  %-24s %-8s %4s files %9s   e.g. %s', r->>'ruleName', r->>'action', r->>'files',
              pg_size_pretty((r->>'bytes')::bigint), coalesce(regexp_replace(r->'samplePaths'->>0, '^.*/', ''), '-'))
FROM jsonb_array_elements(:'plan'::jsonb->'rules') r;
SELECT format('  would tier %s of %s files, saving %s on tier 1, about %s s of transfer; %s file(s) under the 64 KiB minimum stay',
              p->>'filesToTier', p->>'filesEvaluated', pg_size_pretty((p->>'bytesToTier')::bigint), p->>'estimatedTransferSeconds',
              p->>'filesBelowMinimumSize')
FROM (SELECT :'plan'::jsonb AS p) x;
SQL
    planned=""
    for _ in $(seq 1 60); do
        planned="$(psql_cmd -d alto_demo -c "SELECT count(*) || ' files in ' || count(DISTINCT job_id) || ' job(s)' FROM alto.tier_object WHERE state = 'PLANNED' HAVING count(*) > 0")"
        [ -n "$planned" ] && break
        sleep 0.5
    done
    if [ -n "$planned" ]; then
        echo "  planned for real when the scan completed: $planned, queued for tiering (the tenant approves plans automatically)"
    else
        echo "  the completed scan did not plan the host"; failures=$((failures + 1))
    fi
else
    echo "  the scan was not ingested in time"; failures=$((failures + 1))
fi

echo
say "Running the agent as a connected session (alto-agent run)"
"${agent[@]}" run --state-dir "$demo/agent" >"$demo/agent.log" 2>&1 &
agent_pid=$!
echo "$agent_pid" > "$state/demo-agent.pid"
online=""
for _ in $(seq 1 60); do
    host_json="$(api "$base/api/v1/tenants/$tenant_id/hosts/$host_id")"
    if printf '%s' "$host_json" | grep -q '"status":"online"' && printf '%s' "$host_json" | grep -q '"latestMetrics"'; then online=1; break; fi
    sleep 0.5
done
if [ -n "$online" ]; then
    armed="$(printf '%s' "$host_json" | grep -o '"recallArmed":[a-z]*' | head -n1 | cut -d: -f2)"
    echo "  recall on open armed for $demo/data: ${armed:-unknown} (only files below armed volumes are ever tiered)"
    echo "  host $(hostname -s): online via gateway $(printf '%s' "$host_json" | json_field gateway), agent $(printf '%s' "$host_json" | json_field agentVersion), last heartbeat $(printf '%s' "$host_json" | json_field lastHeartbeatAt)"
    sleep 2
    "${agent[@]}" status --gateway "$base" --grpc "http://127.0.0.1:$grpc_port" --state-dir "$demo/agent" | sed 's/^/  /' || true
else
    echo "  the agent did not come online (log: $demo/agent.log)"; failures=$((failures + 1))
fi
echo
say "Tiering: the planned job goes down the agent's session"
planned_total="$(psql_cmd -d alto_demo -c "SELECT count(*) FROM alto.tier_object")"
stubbed=0
for _ in $(seq 1 120); do
    stubbed="$(psql_cmd -d alto_demo -c "SELECT count(*) FROM alto.tier_object WHERE state = 'STUBBED'")"
    [ "$planned_total" -gt 0 ] && [ "$stubbed" -ge "$planned_total" ] && break
    sleep 0.5
done
if [ "$planned_total" -gt 0 ] && [ "$stubbed" -ge "$planned_total" ]; then
    echo "  $stubbed of $planned_total planned files are stubs now; $demo/tier2 holds $(find "$demo/tier2" -type f | wc -l) verified objects ($(du -sh "$demo/tier2" | cut -f1))"
    echo "  the sample tree used $used_before KiB on disk before, $(du -sk "$demo/data" | cut -f1) KiB now (same names, sizes and times)"
    echo "  audit: $(psql_cmd -d alto_demo -c "SELECT count(*) FROM alto.audit_log WHERE action = 'tier.stubbed'") 'tier.stubbed' entries"
else
    echo "  only $stubbed of $planned_total planned files were stubbed in time (agent log: $demo/agent.log)"; failures=$((failures + 1))
fi

echo
say "Recall on open: another program reads a stub"
sample="$demo/data/projects/2019-apollo/report-33.pdf"
if grep -q "No transparent recall" "$demo/agent.log"; then
    echo "  $(grep -o 'No transparent recall[^"]*' "$demo/agent.log" | head -n1)"
else
    # stat does not open the file, so looking at the stub does not recall it.
    blocks_before="$(stat -c %b "$sample")"
    state_before="$(psql_cmd -d alto_demo -c "SELECT state FROM alto.tier_object WHERE full_path = '$sample'")"
    started_ns="$(date +%s%N)"
    actual="$(sha256sum "$sample" | cut -d' ' -f1)"
    elapsed_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
    if [ "$state_before" = STUBBED ] && [ "$actual" = "$(cat "$demo/report-33.sha256")" ]; then
        echo "  $sample was a stub ($blocks_before blocks on disk for $(stat -c %s "$sample") bytes)"
        echo "  sha256sum read the original bytes, recalled from tier 2 in $elapsed_ms ms; now $(stat -c %b "$sample") blocks on disk"
    else
        echo "  recall check failed: state before '$state_before', checksum $actual"; failures=$((failures + 1))
    fi
fi

echo
say "Recall across an agent restart: the recall guard keeps recall alive"
sample2="$demo/data/media/raw/clip-20.mp4"
if [ "$(psql_cmd -d alto_demo -c "SELECT state FROM alto.tier_object WHERE full_path = '$sample2'")" = STUBBED ]; then
    expected2="$(psql_cmd -d alto_demo -c "SELECT hash FROM alto.tier_object WHERE full_path = '$sample2'")"
    stop_agent
    # With the agent stopped, a program opens a stub: it waits in the guard instead of reading holes.
    started_ns="$(date +%s%N)"
    sha256sum "$sample2" > "$demo/during-restart.sha256" 2>&1 &
    reader_pid=$!
    sleep 1
    "${agent[@]}" run --state-dir "$demo/agent" >>"$demo/agent.log" 2>&1 &
    agent_pid=$!
    echo "$agent_pid" > "$state/demo-agent.pid"
    wait "$reader_pid" || true
    waited_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
    if [ "$(cut -d' ' -f1 "$demo/during-restart.sha256")" = "$expected2" ]; then
        echo "  agent stopped; sha256sum opened $sample2 meanwhile and waited $waited_ms ms"
        echo "  the restarted agent took recall over from the guard: the reader got the original bytes"
    else
        echo "  the read during the restart got: $(cat "$demo/during-restart.sha256")"; failures=$((failures + 1))
    fi
fi

echo
say "Reconciliation: tier 2 checked against the records and the stubs"
# One object is deleted behind Alto's back; a deep run (listed and censused by the agent) finds it.
lost_path="$(psql_cmd -d alto_demo -c "SELECT full_path FROM alto.tier_object WHERE state = 'STUBBED' AND full_path <> '$sample2' ORDER BY full_path DESC LIMIT 1")"
lost_key="$(psql_cmd -d alto_demo -c "SELECT locator FROM alto.tier_object WHERE full_path = '$lost_path'")"
if [ -n "$lost_key" ] && [ -f "$demo/tier2/$lost_key" ]; then
    rm -f "$demo/tier2/$lost_key"
    run_id="$(api -d '{"depth":"deep","samplePercent":100}' "$base/api/v1/tenants/$tenant_id/targets/$target_id/reconcile" | json_field runId)"
    run_status=""
    for _ in $(seq 1 120); do
        run_status="$(psql_cmd -d alto_demo -c "SELECT status FROM alto.reconcile_run WHERE id = '$run_id'")"
        [ "$run_status" = completed ] || [ "$run_status" = failed ] && break
        sleep 0.5
    done
    if [ "$run_status" = completed ]; then
        echo "  run $run_id: $(psql_cmd -d alto_demo -c "SELECT objects_listed || ' objects listed and hashed again; ' || (counts->>'missing') || ' missing, ' || (counts->>'orphan') || ' orphan(s), ' || (counts->>'drift') || ' drift' FROM alto.reconcile_run WHERE id = '$run_id'")"
        echo "  $(psql_cmd -d alto_demo -c "SELECT class || '/' || kind || ': ' || path || ' -> ' || repair FROM alto.reconcile_finding WHERE run_id = '$run_id' AND class = 'missing' LIMIT 1")"
        echo "  its tier object is now $(psql_cmd -d alto_demo -c "SELECT state FROM alto.tier_object WHERE full_path = '$lost_path'") (GET /api/v1/tenants/$tenant_id/reconcile-runs/$run_id/findings)"
    else
        echo "  the reconcile run did not complete: ${run_status:-no run}"; failures=$((failures + 1))
    fi
fi

echo
say "LucidLink: the filespace's audit trail keeps access times fresh"
# The sample tree stands in for a LucidLink filespace: the host names it, and the agent tails
# the audit trail a filespace writes under .lucid_audit/<node>/<yyyy>/<mm>/ (JSON Lines).
lucid_path="$(psql_cmd -d alto_demo -c "SELECT full_path FROM alto.tier_object WHERE state = 'STUBBED' ORDER BY full_path LIMIT 1")"
if [ -n "$lucid_path" ]; then
    api -X PATCH -d "{\"lucidLink\":{\"filespaceRoot\":\"$demo/data\",\"pollSeconds\":1}}" \
        "$base/api/v1/tenants/$tenant_id/hosts/$host_id" >/dev/null
    atime_before="$(psql_cmd -d alto_demo -c "SELECT atime_unix FROM alto.file_current WHERE full_path = '$lucid_path'")"
    trail="$demo/data/.lucid_audit/node-1/$(date -u +%Y/%m)"
    mkdir -p "$trail"
    read_at=$(( $(date +%s) - 60 ))
    for offset in 0 30; do
        printf '{"timestamp":%s,"user":{"name":"ann","id":"u-1"},"device":{"hostName":"studio-mac","osName":"macOS","osVersion":"15"},"event":{"filespace":"acme","nodeId":"1","filespaceUuid":"demo"},"operation":{"action":"FileRead","entryPath":"/%s","fileId":"7"}}\n' \
            "$(( (read_at + offset) * 1000000 ))" "${lucid_path#"$demo/data/"}" >> "$trail/$(date -u +%s).log.active"
    done
    source_now=""
    for _ in $(seq 1 60); do
        source_now="$(psql_cmd -d alto_demo -c "SELECT last_accessed_source FROM alto.file_current WHERE full_path = '$lucid_path'")"
        [ "$source_now" = lucidlink_audit ] && break
        sleep 0.5
    done
    if [ "$source_now" = lucidlink_audit ]; then
        atime_after="$(psql_cmd -d alto_demo -c "SELECT atime_unix FROM alto.file_current WHERE full_path = '$lucid_path'")"
        warm="$(psql_cmd -d alto_demo -c "SELECT state || ', read ' || access_count || ' time(s) through the trail' FROM alto.tier_object WHERE full_path = '$lucid_path'")"
        echo "  $lucid_path was read twice on another LucidLink node"
        echo "  last access $(date -u -d "@$atime_before" +%F) -> $(date -u -d "@$atime_after" '+%F %T') UTC (source: lucidlink_audit)"
        echo "  its tier object warmed: $warm (at 3 reads, the tenant's default, it is recalled)"
        echo "  audit: $(psql_cmd -d alto_demo -c "SELECT count(*) FROM alto.audit_log WHERE action = 'inventory.audit_updates_applied'") batch(es) of audit-trail updates applied"
    else
        echo "  the audit trail was not applied in time (agent log: $demo/agent.log)"; failures=$((failures + 1))
    fi
fi

echo
say "A Windows file server, through the API, as a third-party scanner sends it"
# The seed's own example rows, verbatim: eight columns, Windows paths, DOMAIN\user owners.
win_json="$(api -d '{"name":"fileserver-win","os":"windows","volumes":["C:\\Data"]}' "$base/api/v1/tenants/$tenant_id/hosts")"
win_token="$(printf '%s' "$win_json" | json_field enrollmentToken)"
win_credential="$(curl -fsS -H 'Content-Type: application/json' -d "{\"token\":\"$win_token\"}" "$base/api/v1/agents/enroll" | json_field credential)"
cat > "$demo/seed-scan.csv" <<'SEED'
file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash
"C:\Data\docs\report.pdf",5242880,2025-01-15T10:30:00Z,2025-10-20T14:22:00Z,.pdf,rw-r--r--,DOMAIN\user1,sha256:abc123...
"C:\Data\images\photo.jpg",2097152,2024-11-01T08:15:00Z,2025-10-25T09:00:00Z,.jpg,rw-r--r--,DOMAIN\user2,sha256:def456...
SEED
receipt="$(curl -fsS -H "Authorization: Bearer $win_credential" -H 'Content-Type: text/csv' --data-binary @"$demo/seed-scan.csv" \
    "$base/api/v1/scan-results?scanId=$(cat /proc/sys/kernel/random/uuid)&chunk=0&final=true&format=csv&root=C%3A%5CData")"
echo "  POST /api/v1/scan-results with the seed's CSV: $receipt"
win_rows=""
for _ in $(seq 1 60); do
    win_rows="$(psql_cmd -d alto_demo -c "SELECT string_agg(f.full_path || ' in ' || d.path || ', .' || f.file_extension || ', ' || f.owner || ', ' || f.file_hash, E'\n' ORDER BY f.full_path) FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id JOIN alto.host h ON h.id = f.host_id WHERE h.name = 'fileserver-win'")"
    [ -n "$win_rows" ] && break
    sleep 0.5
done
if [ -n "$win_rows" ]; then
    printf '%s\n' "$win_rows" | sed 's/^/  /'
    win_host="$(printf '%s' "$win_json" | sed -n 's/.*"host":{"id":"\([^"]*\)".*/\1/p')"
    # The seed's audit-update shape, the path in another case: Windows does not care, nor does Alto.
    applied="$(curl -fsS -H "Authorization: Bearer $win_credential" -H 'Content-Type: application/json' \
        -d "{\"update_batch_id\":\"$(cat /proc/sys/kernel/random/uuid)\",\"customer_id\":\"$tenant_id\",\"volume_id\":\"$win_host\",\"source_type\":\"lucidlink_audit\",\"collected_at\":\"$(date -u +%FT%TZ)\",\"updates\":[{\"file_path\":\"c:\\\\data\\\\DOCS\\\\Report.PDF\",\"last_accessed\":\"$(date -u -d '-1 hour' +%FT%TZ)\",\"access_type\":\"read\",\"audit_file\":\".lucid_audit\\\\subfolder\\\\audit_20251102.active\"}]}" \
        "$base/api/v1/audit-updates")"
    echo "  audit update for c:\\data\\DOCS\\Report.PDF: $applied"
    # The gateway answers once the batch is staged; the host's inventory grain applies it right after.
    win_batch_applied=""
    case "$applied" in *'"status":"staged"'*)
        for _ in $(seq 1 60); do
            win_batch_applied="$(psql_cmd -d alto_demo -c "SELECT applied FROM alto.audit_update_batch WHERE host_id = '$win_host' AND applied_at IS NOT NULL")"
            [ -n "$win_batch_applied" ] && break
            sleep 0.5
        done ;;
    esac
    if [ "$win_batch_applied" = 1 ]; then
        echo "  applied by the host's inventory grain: $(psql_cmd -d alto_demo -c "SELECT 'last access ' || to_timestamp(atime_unix) AT TIME ZONE 'UTC' || ' UTC (source: ' || last_accessed_source || ')' FROM alto.file_current f JOIN alto.host h ON h.id = f.host_id WHERE h.name = 'fileserver-win' AND f.full_path = 'C:\Data\docs\report.pdf'")"
    else
        echo "  the audit update did not apply"; failures=$((failures + 1))
    fi
else
    echo "  the seed's rows did not reach the inventory (gateway log: $demo/gateway.log)"; failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed; gateway log: $demo/gateway.log"
    exit 1
fi

if [ "$keep" = 1 ]; then
    echo
    say "Ready. Alto keeps running until Ctrl-C:"
    echo "  API reference      $base/api-reference/   (sign in as admin / $admin_password)"
    echo "  Orleans dashboard  $base/dashboard/       (the same)"
    echo "  metrics            $base/metrics          (a platform admin's bearer token, or Alto:Metrics)"
    echo "  agent status       ${agent[*]} status --state-dir $demo/agent"
    echo "  sign in:"
    echo "    curl -s -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"$admin_password\"}' $base/api/v1/auth/login"
    echo "  then, with the accessToken from the answer:"
    echo "    curl -s -H \"Authorization: Bearer \$TOKEN\" $base/api/v1/tenants/$tenant_id/tier-objects/summary"
    wait "$gateway_pid"
fi
