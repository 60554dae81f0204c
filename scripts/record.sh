#!/usr/bin/env bash
# Re-record the cassettes of tests/replay, then check every cassette against the spec.
#
# Target: a local seeded sandbox, or the real API when UP42_PROJECT_ID, UP42_PROJECT_API_KEY
# and UP42_BASE_URL are set. The real API also needs the jobs to record (see JOB_KINDS in
# tests/replay/recording.py):
#   UP42_JOB_ID_SUCCEEDED  a job that SUCCEEDED, with results and quicklooks
#   UP42_JOB_ID_FAILED     a job that FAILED
#   UP42_JOB_ID_RUNNING    a job still running that will succeed (polled to the end)
#   UP42_JOB_ID_TO_CANCEL  a running job the recording cancels (a new one every time)
# Tests marked sandbox_only (expired tokens, injected 429s) are skipped against the real API
# and keep their sandbox cassettes.
#
# Usage: scripts/record.sh [pytest arguments]   e.g. scripts/record.sh -k rate_limit
# With arguments only the selected tests are re-recorded; without, every cassette.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pytest=.venv/bin/pytest
cassettes=tests/cassettes
recorded=(tests/replay --ignore=tests/replay/test_cassettes_conformance.py)

if [[ -n "${UP42_PROJECT_ID:-}${UP42_PROJECT_API_KEY:-}${UP42_BASE_URL:-}" ]]; then
    echo "recording against the real API at ${UP42_BASE_URL:-(UP42_BASE_URL not set)}" >&2
    # pytest-recording's rewrite mode replaces the cassette of each test that runs; deleting
    # everything first would also lose the sandbox-only ones.
else
    echo "recording against a local sandbox (set UP42_* to record the real API)" >&2
    if [[ $# -eq 0 ]]; then
        rm -rf "$cassettes"/test_*_replay "$cassettes/ids.json"
    fi
fi

"$pytest" "${recorded[@]}" --record-mode=rewrite -p no:cacheprovider -q "$@"
"$pytest" tests/replay/test_cassettes_conformance.py -p no:cacheprovider -q
echo "cassettes: $(find "$cassettes" -name '*.yaml' | wc -l) files, $(du -sh "$cassettes" | cut -f1)" >&2
