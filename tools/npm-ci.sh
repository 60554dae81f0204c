#!/usr/bin/env bash
# Usage: tools/npm-ci.sh DIR
# Install DIR's npm packages exactly as DIR/package-lock.json pins them (`npm ci`), unless
# DIR/node_modules already holds that install: a stamp in node_modules records the hash of
# package.json + package-lock.json and the Node version, so repeated runs return at once.
# Concurrent runs on the same DIR (make -j) wait for each other.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir="${1:?usage: tools/npm-ci.sh DIR}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "node and npm are needed here: install Node.js 20.19 or later (https://nodejs.org)" >&2
    exit 1
fi
if [[ ! -f "$dir/package-lock.json" ]]; then
    echo "$dir/package-lock.json is missing: npm ci installs only from a lockfile" >&2
    exit 1
fi

# The stamp's content: what the install must match. Node hashes, so no sha256sum/shasum split.
# shellcheck disable=SC2016  # the ${...} inside is JavaScript's, not the shell's
want="$(node -e '
    const { createHash } = require("node:crypto");
    const { readFileSync } = require("node:fs");
    const hash = createHash("sha256");
    for (const file of process.argv.slice(1)) hash.update(readFileSync(file));
    console.log(`${hash.digest("hex")} node-${process.version}`);
' "$dir/package.json" "$dir/package-lock.json")"
stamp="$dir/node_modules/.npm-ci-stamp"

if command -v flock >/dev/null; then
    lock="${TMPDIR:-/tmp}/up42-facade-npm-ci.$(node -p 'require("node:crypto").createHash("sha256").update(process.argv[1]).digest("hex").slice(0, 16)' "$PWD/$dir").lock"
    exec 9>"$lock"
    flock 9
fi

if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
    exit 0
fi
echo "npm ci in $dir" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
printf '%s\n' "$want" >"$stamp"
