#!/usr/bin/env bash
# Lint openapi/up42-jobs.yaml with Redocly CLI (pinned in tools/node) and the rules in
# redocly.yaml (Redocly's `recommended` set). Fails on any error or warning, and on any
# problem in redocly.yaml itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

spec=openapi/up42-jobs.yaml
tools/npm-ci.sh tools/node

# Redocly CLI: no usage data, no update checks; only the spec on disk is read.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
tools/node/node_modules/.bin/redocly lint "$spec" --config redocly.yaml --lint-config error \
    --format json --max-problems 10000 >"$tmp/report.json" 2>"$tmp/stderr" || status=$?

# Redocly exits 0 on warnings; the report's totals decide. Print problems like a compiler would.
if ! node - "$tmp/report.json" "$spec" <<'JS'
const { readFileSync } = require("node:fs");
const [reportFile, spec] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(reportFile, "utf8"));
} catch {
  process.exit(2);
}
for (const p of report.problems) {
  const where = p.location?.[0];
  const pos = where?.start ? `:${where.start.line}:${where.start.col}` : "";
  const severity = p.severity === "warn" ? "warning" : p.severity;
  console.log(`${spec}${pos}: ${severity} [${p.ruleId}] ${p.message}`);
  if (where?.pointer) console.log(`    at ${where.pointer}`);
}
const { errors, warnings, ignored } = report.totals;
console.log(`redocly lint ${spec}: ${errors} error(s), ${warnings} warning(s), ${ignored} ignored`);
process.exit(errors + warnings > 0 ? 1 : 0);
JS
then
    # No report, or problems in it: show what Redocly said on stderr (config problems land there).
    [[ -s "$tmp/report.json" ]] || grep -v '[║╔╚]' "$tmp/stderr" >&2 || true
    echo "lint-spec failed: fix the spec, or switch the rule off in redocly.yaml with a comment saying why" >&2
    exit 1
fi
if [[ $status -ne 0 ]]; then
    grep -v '[║╔╚]' "$tmp/stderr" >&2 || true
    echo "lint-spec failed: redocly exited with status $status" >&2
    exit 1
fi
