#!/usr/bin/env bash
# bench/run.sh NAME [--files N] [--objects N] [--hosts N] [--disk memory]
#   NAME: scan | ingest | analytics | plan | tier | recall | recall-storm | restart-reads | audit | upload-abuse | job-cost | reconcile | scale. Builds in Release, generates its data (reused between runs), runs Alto's
#   real code path and a baseline in the same run, prints one JSON object as its last line and
#   appends it, with the date and the command, to bench/RESULTS.md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
[ $# -ge 1 ] || { echo "usage: bench/run.sh scan|ingest|analytics|plan|tier|recall|recall-storm|restart-reads|audit|upload-abuse|job-cost|reconcile|scale [--files N] [--objects N] [--hosts N] [--disk memory]" >&2; exit 2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

started_postgres=0
if ! scripts/services.sh status postgres >/dev/null 2>&1; then
    scripts/services.sh start postgres >/dev/null
    started_postgres=1
fi
trap '[ "$started_postgres" = 1 ] && scripts/services.sh stop postgres >/dev/null 2>&1 || true' EXIT
export ALTO_TEST_PG="Host=127.0.0.1;Port=${ALTO_PG_PORT:-55432};Username=postgres;Database=postgres"

# The recall storm's tier 2 is s3rver from npm, pinned where the tests install it.
if [ "$1" = recall-storm ] && [ ! -x tests/tier2-servers/node_modules/.bin/s3rver ]; then
    (cd tests/tier2-servers && npm ci --no-audit --no-fund --silent >/dev/null)
fi

for project in agent/Alto.Agent gateway-api/Alto.Gateway silo/Alto.Silo bench/Alto.Bench; do
    dotnet build "$project" -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null
done
# The agent as it ships: published, precompiled (scripts/package.sh publishes it the same way).
agent_published=bench/Alto.Bench/bin/agent-published
dotnet publish agent/Alto.Agent -c Release -r linux-x64 --self-contained false -nologo -clp:ErrorsOnly -v:q -o "$agent_published" >/dev/null
export ALTO_BENCH_AGENT="$PWD/$agent_published/alto-agent.dll"

result="$(dotnet bench/Alto.Bench/bin/Release/net10.0/Alto.Bench.dll "$@" | tail -n 1)"
{
    echo
    echo "### $1 — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Command: \`bench/run.sh $*\` on $(nproc) cores; $(uname -r)."
    echo
    echo '```json'
    echo "$result"
    echo '```'
} >> bench/RESULTS.md
echo "$result"
