#!/usr/bin/env bash
# Render openapi/up42-jobs.yaml into build/api.html: a self-contained static HTML reference
# (Redoc, via `redocly build-docs`; scripts inlined, nothing loaded from a CDN, no telemetry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

spec=openapi/up42-jobs.yaml
out=build/api.html
tools/npm-ci.sh tools/node

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Render next to the target, then move it in place: a failed run never leaves a half-written page.
if ! tools/node/node_modules/.bin/redocly build-docs "$spec" --config redocly.yaml --lint-config error \
    --output "$tmp/api.html" --inlineBundle --openapi.disableTelemetry=true \
    --title "UP42 job API reference" >"$tmp/log" 2>&1; then
    grep -v '[║╔╚]' "$tmp/log" >&2 || true
    echo "docs-spec failed" >&2
    exit 1
fi
mv "$tmp/api.html" "$out"
echo "wrote $out ($(( $(wc -c <"$out") / 1024 )) KiB)"
