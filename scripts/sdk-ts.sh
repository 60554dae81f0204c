#!/usr/bin/env bash
# The TypeScript client, end to end:
#   1. generate sdks/typescript/generated/schema.d.ts from openapi/up42-jobs.yaml (openapi-typescript),
#   2. type-check the example that uses it with openapi-fetch (tsc --noEmit), then compile it,
#   3. start the local sandbox on a free port and run the example against its succeeding job.
# Fails when any step fails, including the example (it exits non-zero unless the job SUCCEEDED).
# The sandbox is stopped whatever happens. Settings: SANDBOX_SPEED (default 10:
# the demo job then ends in under a second, late enough to be seen RUNNING first),
# SANDBOX_START_TIMEOUT (seconds, default 30), VENV_BIN (default .venv/bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
sdk=sdks/typescript
venv_bin="${VENV_BIN:-.venv/bin}"
[[ "$venv_bin" == /* ]] || venv_bin="$root/$venv_bin"
sandbox="$venv_bin/up42-sandbox"
speed="${SANDBOX_SPEED:-10}"
start_timeout="${SANDBOX_START_TIMEOUT:-30}"

tools/npm-ci.sh "$sdk"
bin="$root/$sdk/node_modules/.bin"

tmp="$(mktemp -d)"
sandbox_pid=""
stop_sandbox() {
    if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
        kill -TERM "$sandbox_pid" 2>/dev/null || true
        for _ in $(seq 50); do  # up to 10 s for a clean stop, then no more waiting
            kill -0 "$sandbox_pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$sandbox_pid" 2>/dev/null; then
            echo "sandbox did not stop on SIGTERM within 10 s; killing it" >&2
            kill -KILL "$sandbox_pid" 2>/dev/null || true
        fi
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    sandbox_pid=""
}
cleanup() {
    local status=$?
    stop_sandbox
    if [[ $status -ne 0 && -s "$tmp/sandbox.log" ]]; then
        echo "--- sandbox output (last 40 lines) ---" >&2
        tail -n 40 "$tmp/sandbox.log" >&2
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Generate the client types into a fresh generated/ (never committed).
cd "$sdk"
rm -rf generated build
"$bin/openapi-typescript" ../../openapi/up42-jobs.yaml --output generated/schema.d.ts
# 2. Type-check, then emit the JavaScript (already checked, so no second check).
"$bin/tsc" --noEmit
"$bin/tsc" --noCheck
echo "tsc: example type-checks and compiles"
cd "$root"

# 3. The sandbox on a free port; it writes its address and credentials to the info file.
if [[ ! -x "$sandbox" ]]; then
    echo "$sandbox not found: run 'make install' first" >&2
    exit 1
fi
info="$tmp/sandbox.json"
"$sandbox" --host 127.0.0.1 --port 0 --info-file "$info" --speed "$speed" >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!

read_info() {  # prints base_url, project_id, project_api_key, jobs.succeeds, one a line
    node -e '
        const info = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
        const values = [info.base_url, info.project_id, info.project_api_key, info.jobs?.succeeds];
        if (values.some((v) => typeof v !== "string" || v === "" || v.includes("\n"))) process.exit(1);
        console.log(values.join("\n"));
    ' "$info" 2>/dev/null
}
deadline=$((SECONDS + start_timeout))
until [[ -s "$info" ]] && settings="$(read_info)"; do
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
        echo "the sandbox exited before it was ready" >&2
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "the sandbox wrote no usable $info within ${start_timeout} s" >&2
        exit 1
    fi
    sleep 0.1
done
mapfile -t values <<<"$settings"
echo "sandbox at ${values[0]} (speed $speed); tracking job ${values[3]}"

run=(node "$sdk/build/examples/track-job.js" "${values[3]}")
if command -v timeout >/dev/null; then run=(timeout 120 "${run[@]}"); fi
UP42_BASE_URL="${values[0]}" UP42_PROJECT_ID="${values[1]}" UP42_PROJECT_API_KEY="${values[2]}" \
    UP42_POLL_INTERVAL=0.2 UP42_TIMEOUT=90 "${run[@]}"

stop_sandbox
echo "sdk-ts: the TypeScript client tracked the sandbox job to the end"
