// Classify the changes between pairs of OpenAPI documents with api-smart-diff, the pinned copy
// in tools/node (installed by tools/npm-ci.sh). Called by scripts/spec_diff.py, which
// dereferences both documents first.
//
// stdin:  JSON [[before, after], ...]
// stdout: JSON [[{type, action, path, description}, ...], ...], one list per pair, in order.
//         type is api-smart-diff's class: breaking, non-breaking, annotation, deprecated or
//         unclassified. The changed values themselves are left out: the path locates them.
"use strict";
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");

const requireTool = createRequire(join(__dirname, "..", "tools", "node", "package.json"));
const { apiDiff } = requireTool("api-smart-diff");

const pairs = JSON.parse(readFileSync(0, "utf8"));
const results = pairs.map(([before, after]) =>
  apiDiff(before, after).map(({ type, action, path, description }) => ({
    type,
    action,
    path,
    description: description ?? "",
  })),
);
process.stdout.write(JSON.stringify(results));
