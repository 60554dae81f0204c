#!/usr/bin/env bash
# Generate the Python client from the spec into $1 (default: generated/up42_jobs_client).
# Generation goes to a fresh temporary folder first, so a failed run never leaves a half-written package.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-generated/up42_jobs_client}"
venv_bin="${VENV_BIN:-.venv/bin}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
PATH="$PWD/$venv_bin:$PATH" openapi-python-client generate \
    --path openapi/up42-jobs.yaml \
    --config openapi/generator.yaml \
    --output-path "$tmp/up42_jobs_client" \
    --meta none --fail-on-warning
# The generator does not write the PEP 561 marker for --meta none; the package is typed.
touch "$tmp/up42_jobs_client/py.typed"
rm -rf "$target"
mkdir -p "$(dirname "$target")"
mv "$tmp/up42_jobs_client" "$target"
