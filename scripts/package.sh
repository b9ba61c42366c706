#!/usr/bin/env bash
# Publishes Alto's release artifacts into dist/ (or --out DIR): self-contained builds — no .NET
# needed on the target — of the silo and the gateway for linux-x64 and linux-arm64, and of the
# agent for linux-x64, linux-arm64 and win-x64; each an archive named
# alto-<component>-<version>-<rid>.tar.gz (.zip for Windows), with SHA256SUMS beside them.
#
#   bash scripts/package.sh                          # everything
#   bash scripts/package.sh --only agent:linux-x64   # one or more component:rid pairs, comma-separated
#
# The gateway carries the web console: it is built first (npm ci in web/; --no-web takes the one
# already built into gateway-api/Alto.Gateway/wwwroot). Dockerfiles next to each
# program (silo/, gateway-api/, agent/) build images from these archives.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/dist"
only=""
web=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-web) web=0; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

declare -A projects=(
    [silo]="silo/Alto.Silo/Alto.Silo.csproj"
    [gateway]="gateway-api/Alto.Gateway/Alto.Gateway.csproj"
    [agent]="agent/Alto.Agent/Alto.Agent.csproj"
)
all="silo:linux-x64 silo:linux-arm64 gateway:linux-x64 gateway:linux-arm64 agent:linux-x64 agent:linux-arm64 agent:win-x64"
wanted="${only//,/ }"
wanted="${wanted:-$all}"
for pair in $wanted; do
    if ! [[ " $all " == *" $pair "* ]]; then
        echo "not a release artifact: $pair (one of: $all)" >&2
        exit 2
    fi
done

version="$(cd "$repo" && dotnet msbuild silo/Alto.Silo/Alto.Silo.csproj -getProperty:Version -nologo)"
chart_version="$(sed -n 's/^appVersion: "\(.*\)"$/\1/p' "$repo/helm/alto/Chart.yaml")"
if [ "$version" != "$chart_version" ]; then
    echo "the version is $version but helm/alto/Chart.yaml says appVersion $chart_version: make them the same" >&2
    exit 1
fi

if [[ " $wanted " == *" gateway:"* ]]; then
    if [ "$web" = 1 ]; then
        echo "== web console"
        (cd "$repo/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build --silent >/dev/null 2>&1)
    elif [ ! -f "$repo/gateway-api/Alto.Gateway/wwwroot/index.html" ]; then
        echo "--no-web, but no console is built in gateway-api/Alto.Gateway/wwwroot (cd web && npm run build)" >&2
        exit 1
    fi
fi

mkdir -p "$out"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
for pair in $wanted; do
    component="${pair%%:*}"
    rid="${pair#*:}"
    name="alto-$component-$version-$rid"
    echo "== $name"
    dotnet publish "$repo/${projects[$component]}" -c Release -r "$rid" --self-contained \
        -p:Version="$version" -p:DebugType=none -p:PublishDocumentationFiles=false -p:PublishReferencesDocumentationFiles=false \
        -nologo -v quiet -o "$staging/$name"
    # The Windows agent's archive carries its install script (service, CloudTier driver, license key, uninstall).
    if [[ "$component" == agent && "$rid" == win-* ]]; then
        cp "$repo/agent/install-windows-service.ps1" "$staging/$name/"
    fi
    rm -f "$out/$name.tar.gz" "$out/$name.zip"
    if [[ "$rid" == win-* ]]; then
        (cd "$staging" && python3 -c 'import shutil,sys; shutil.make_archive(sys.argv[1], "zip", ".", sys.argv[2])' "$out/$name" "$name")
    else
        tar -C "$staging" -czf "$out/$name.tar.gz" "$name"
    fi
done

(cd "$out" && sha256sum alto-*-"$version"-*.* > SHA256SUMS)
echo "== $out"
(cd "$out" && ls -1 alto-*-"$version"-*.* SHA256SUMS)
