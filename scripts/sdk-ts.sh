#!/usr/bin/env bash
# The TypeScript client, end to end:
#   1. generate sdks/typescript/generated/schema.d.ts from openapi/up42-jobs.yaml (openapi-typescript),
#   2. type-check the example that uses it with openapi-fetch (tsc --noEmit), then compile it,
#   3. start the local sandbox on a free port and run the example against its succeeding job,
#      once per answer dialect: the spec's, the real service's of 2019-2020 (classic) and a
#      newer API's (next: unknown fields, statuses and headers).
# Fails when any step fails, including the example (it exits non-zero unless the job SUCCEEDED).
# The sandbox is stopped whatever happens. Settings: SANDBOX_SPEED (default 10:
# the demo job then ends in under a second, late enough to be seen RUNNING first),
# SANDBOX_START_TIMEOUT (seconds, default 30), SANDBOX_DIALECTS (default "spec classic next"),
# VENV_BIN (default .venv/bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
sdk=sdks/typescript
venv_bin="${VENV_BIN:-.venv/bin}"
[[ "$venv_bin" == /* ]] || venv_bin="$root/$venv_bin"
sandbox="$venv_bin/up42-sandbox"
speed="${SANDBOX_SPEED:-10}"
start_timeout="${SANDBOX_START_TIMEOUT:-30}"
read -r -a dialects <<<"${SANDBOX_DIALECTS:-spec classic next}"

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

# 3. The sandbox on a free port, once per dialect; it writes its address and credentials to
# the info file.
if [[ ! -x "$sandbox" ]]; then
    echo "$sandbox not found: run 'make install' first" >&2
    exit 1
fi

read_info() {  # prints base_url, project_id, project_api_key, jobs.succeeds, one a line
    node -e '
        const info = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
        const values = [info.base_url, info.project_id, info.project_api_key, info.jobs?.succeeds];
        if (values.some((v) => typeof v !== "string" || v === "" || v.includes("\n"))) process.exit(1);
        console.log(values.join("\n"));
    ' "$1" 2>/dev/null
}

track_on() {  # the example against a fresh sandbox answering in dialect $1
    local dialect="$1" info="$tmp/sandbox-$1.json" settings deadline
    "$sandbox" --host 127.0.0.1 --port 0 --info-file "$info" --speed "$speed" --dialect "$dialect" \
        >"$tmp/sandbox.log" 2>&1 &
    sandbox_pid=$!
    deadline=$((SECONDS + start_timeout))
    until [[ -s "$info" ]] && settings="$(read_info "$info")"; do
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
    echo "sandbox at ${values[0]} (speed $speed, dialect $dialect); tracking job ${values[3]}"

    run=(node "$sdk/build/examples/track-job.js" "${values[3]}")
    if command -v timeout >/dev/null; then run=(timeout 120 "${run[@]}"); fi
    UP42_BASE_URL="${values[0]}" UP42_PROJECT_ID="${values[1]}" UP42_PROJECT_API_KEY="${values[2]}" \
        UP42_POLL_INTERVAL=0.2 UP42_TIMEOUT=90 "${run[@]}"
    stop_sandbox
}

for dialect in "${dialects[@]}"; do
    track_on "$dialect"
done
echo "sdk-ts: the TypeScript client tracked the sandbox job to the end (dialects: ${dialects[*]})"
